# bybit-sim end to end, part 3: every fault kind set at runtime (POST /sim/faults) and seen from
# a client (tests/e2e/bybit-sim/faults.mjs); faults from --set and from a YAML file, and their
# determinism for a seed (bybit-sim/determinism.mjs).
# Environment from ctest: BIN (build dir with bybit-sim), SRC.
source "$(dirname "$0")/bybit-sim/sim.sh"

start_sim faults --seed 31
FAULTS="--set faults.http_5xx.probability=0.2 --set faults.http_5xx.status=502 --set faults.retcode_10016.probability=0.2"
# shellcheck disable=SC2086
start_sim a --seed 5 $FAULTS --set faults.ws_drop.every=1s --set faults.ws_drop.code=4001
# shellcheck disable=SC2086
start_sim b --seed 5 $FAULTS --set faults.ws_drop.every=1s --set faults.ws_drop.code=4001
cat >"$T/c.yaml" <<'YAML'
seed: 6
faults:
  http_5xx:
    probability: 0.2
    status: 502
  retcode_10016:
    probability: 0.2
YAML
start_sim c -c "$T/c.yaml"

node_run a determinism.mjs 50 BASE_A="http://127.0.0.1:${SIM_PORT[a]}" BASE_B="http://127.0.0.1:${SIM_PORT[b]}" \
  BASE_C="http://127.0.0.1:${SIM_PORT[c]}" WSBASE_A="ws://127.0.0.1:${SIM_PORT[a]}"
node_run faults faults.mjs 80
for s in faults a b c; do stop_sim "$s"; done
pass "bybit-sim faults: every kind at runtime, from the configuration, deterministic for a seed"
