# bybit-sim end to end, part 1: the command line (listening line, --help, config errors with
# file:line:key, -c examples/bybit-sim.yaml, SIGTERM with open connections), the REST API
# (tests/e2e/bybit-sim/rest.mjs) and bad input of every kind (bybit-sim/badinput.mjs).
# Environment from ctest: BIN (build dir with bybit-sim), SRC.
source "$(dirname "$0")/bybit-sim/sim.sh"
: "${SRC:=$(cd "$E2E/../.." && pwd)}"

# --- CLI ---
"$T/bybit-sim" --help >"$T/help.out" 2>&1 || fail "--help exited $?"
grep -q -- '--listen' "$T/help.out" && grep -q 'listening on' "$T/help.out" || { cat "$T/help.out" >&2; fail "--help does not describe --listen"; }

expect_exit2() { # WHAT PATTERN ARGS...: bybit-sim ARGS must exit 2 with PATTERN on stderr
  local what=$1 pat=$2 rc=0
  shift 2
  timeout 10 "$T/bybit-sim" "$@" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
  [ "$rc" -eq 2 ] || { hide <"$T/bad.err" >&2; fail "$what: exit $rc, want 2"; }
  grep -qE -e "$pat" "$T/bad.err" || { hide <"$T/bad.err" >&2; fail "$what: stderr does not match /$pat/"; }
  grep -q "$SECRET" "$T/bad.err" && fail "$what: the secret is on stderr"
  grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/bad.err" && { cat "$T/bad.err" >&2; fail "$what: sanitizer report"; }
  return 0
}
printf 'seed: 3\nmarket:\n  taker_per_s: 5\n  bogus_key: 1\n' >"$T/bad1.yaml"
expect_exit2 "unknown key in a file" "bad1\.yaml:4.*bogus_key" -c "$T/bad1.yaml"
printf 'seed: 3\nws:\n  idle_timeout: forever\n' >"$T/bad2.yaml"
expect_exit2 "bad duration in a file" "bad2\.yaml:3.*idle_timeout" -c "$T/bad2.yaml"
printf 'faults:\n  ws_drop:\n    every: 10s\n    status: 503\n' >"$T/bad3.yaml"
expect_exit2 "fault key of another kind" "bad3\.yaml:4.*status" -c "$T/bad3.yaml"
expect_exit2 "missing config file" "nope\.yaml" -c "$T/nope.yaml"
expect_exit2 "unknown flag" "--frobnicate" --frobnicate 1
expect_exit2 "bad --set key" "no\.such" --set no.such=1
expect_exit2 "bad --set value" "taker_per_s" --set market.taker_per_s=-5
expect_exit2 "bad account" "account" --account "nocolon"
expect_exit2 "flag without value" "--seed" --seed
pass "CLI: --help, exit 2 with file:line:key"

# -c examples/bybit-sim.yaml works (and its account)
start_sim example -c "$SRC/examples/bybit-sim.yaml"
r=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/v5/market/time")
[[ "$r" == *'"retCode":0'* ]] || fail "-c examples/bybit-sim.yaml: /v5/market/time answered '$r'"
stop_sim example
[ "$(wc -l <"$T/example.out")" -eq 1 ] || { hide <"$T/example.out" >&2; fail "stdout must be the one 'listening on' line"; }
pass "-c examples/bybit-sim.yaml serves and stops"

# --- REST ---
# no synthetic taker flow: it eats levels, and the book test wants exactly `limit` of them
start_sim rest --seed 11 --set market.taker_per_s=0
node_run rest rest.mjs 80
node_run rest badinput.mjs 60
# SIGTERM with open WebSocket connections: exit 0 within 5 s
env BASE="http://127.0.0.1:$PORT" WSBASE="ws://127.0.0.1:$PORT" KEY="$KEY" SECRET="$SECRET" \
  timeout -k 2 30 node "$SIMDIR/hold.mjs" >"$T/hold.out" 2>&1 &
HOLD=$!
for _ in $(seq 50); do grep -q '^holding' "$T/hold.out" && break; sleep 0.1; done
grep -q '^holding' "$T/hold.out" || { hide <"$T/hold.out" >&2; fail "hold.mjs did not open its connections"; }
stop_sim rest
wait "$HOLD" || true
grep -q '^closed' "$T/hold.out" || { hide <"$T/hold.out" >&2; fail "the held WebSocket connections were not closed by SIGTERM"; }
pass "bybit-sim REST, bad input, SIGTERM with open connections"

# A client that closes in the middle of a POST body, on a simulator of its own: it keeps serving,
# and at exit no sanitizer reports anything (the half-read request is freed with its connection).
start_sim halfpost
P=$PORT node -e '
const net = require("net");
const s = net.connect(+process.env.P, "127.0.0.1");
s.on("error", () => {});
s.on("connect", () => {
  s.write("POST /v5/order/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":");
  setTimeout(() => s.destroy(), 200);
});' || fail "half-POST client failed"
sleep 0.3
r=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/v5/market/time")
[[ "$r" == *'"retCode":0'* ]] || { simlog halfpost >&2; fail "not serving after a half POST body: '$r'"; }
pid=${SIM_PID[halfpost]}
kill -TERM "$pid"
rc=0
timeout 10 tail --pid="$pid" -f /dev/null || { kill -KILL "$pid"; fail "bybit-sim halfpost still running 10 s after SIGTERM"; }
wait "$pid" || rc=$?
sanitizer_check halfpost
[ "$rc" -eq 0 ] || { simlog halfpost >&2; fail "bybit-sim halfpost exited $rc after SIGTERM"; }
pass "a half POST body does not stop the simulator"
