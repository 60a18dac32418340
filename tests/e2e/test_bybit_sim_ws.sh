# bybit-sim end to end, part 2: the WebSockets (public books and trades, private auth and topics,
# /v5/trade order entry), a moving market filling resting orders, PostOnly, DCP
# (tests/e2e/bybit-sim/ws.mjs), and idle disconnects (bybit-sim/idle.mjs, ws.idle_timeout=2s).
# Environment from ctest: BIN (build dir with bybit-sim), SRC.
source "$(dirname "$0")/bybit-sim/sim.sh"

start_sim ws --seed 21 --set market.taker_per_s=50
start_sim idle --seed 22 --set ws.idle_timeout=2s
# the two run side by side: idle.mjs mostly waits
node_run idle idle.mjs 70 >"$T/idle.log" 2>&1 &
IDLE=$!
node_run ws ws.mjs 70
idle_rc=0
wait "$IDLE" || idle_rc=$?
cat "$T/idle.log"
[ "$idle_rc" -eq 0 ] || fail "idle.mjs failed"
stop_sim ws
stop_sim idle
pass "bybit-sim WebSockets, moving market, DCP, idle timeouts"
