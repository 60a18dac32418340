# bybit-sim against hostile clients (issue 10, items 11-13, 16; tests/e2e/bybit-sim/hostile.mjs):
# every pipeline of up to 4 requests, chunked and smuggling bodies, WebSocket protocol errors,
# then 120 half-open connections past a cap of 50. After each, the simulator must still exit 0
# on SIGTERM within 5 s (stop_sim) with no sanitizer report.
# Environment from ctest: BIN (build dir with bybit-sim), SRC.
source "$(dirname "$0")/bybit-sim/sim.sh"

start_sim hostile --seed 5
node_run hostile hostile.mjs 60
stop_sim hostile
pass "pipelines, framing and WebSocket protocol errors; SIGTERM after them"

start_sim exhaust --set http.max_connections=50 --set http.head_timeout=2s
node_run exhaust hostile.mjs 30 PHASE=exhaust
stop_sim exhaust
pass "connection exhaustion: a reserve for new clients, slow heads closed"
