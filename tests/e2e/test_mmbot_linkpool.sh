# mmbot end to end, orderLinkIds journalled ahead (src/mmbot/idpool.h): creates take their id
# from the pool (no state db write before the request), the reserved rows are in the state db;
# after SIGKILL a restart looks every reserved id of the ended run up on the exchange by
# orderLinkId and retires it: one that was sent (here: a row put back to "reserved" as if the
# crash came before its details were written) is "found" with the exchange's orderId, the rest
# "unsent"; a clean stop retires its unused ids at once.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"
db() { sqlite3 "$T/state.db" "$1"; }

start_sim lp --seed 5
mm_conf "$PORT"
start_mmbot
wait_sides 15
taken=$(metric mmbot_link_id_pool_taken_total)
fallback=$(metric mmbot_link_id_pool_fallback_total)
avail=$(metric mmbot_link_id_pool_available)
[ "${taken:-0}" -gt 0 ] || fail "no create took a pooled link id (taken '$taken', fallback '$fallback')"
[ "${fallback:-1}" -le "$taken" ] || fail "more creates fell back to a write ($fallback) than took a pooled id ($taken)"
[ "${avail:-0}" -gt 0 ] || fail "the pool is empty while quoting ($avail)"
pass "creates take pooled link ids ($taken taken, $fallback written on the path, $avail in the pool)"

kill -KILL "$MM_PID"
wait "$MM_PID" 2>/dev/null || true
reserved=$(db "select count(*) from orders where run_id = 1 and status = 'reserved'")
[ "$reserved" -ge 16 ] || fail "only $reserved reserved rows of run 1 after SIGKILL (the pool refills to 32, below 16)"
# one order that is open on the exchange: as if the crash came after its request left and
# before the tick wrote its row's details
sent=$(sim_ours mmb1- | awk 'NR == 1 { print $1 }')
[ -n "$sent" ] || fail "no open order of run 1 on the exchange (test setup)"
db "update orders set status = 'reserved', symbol = '', side = '', order_id = '' where link_id = '$sent'"
reserved=$((reserved + 1))
pass "SIGKILL leaves $reserved reserved link ids of run 1 ($sent among them, sent)"

start_mmbot
wait_log "recover: looking up $reserved link ids reserved by an ended run" 10
wait_log "recover: link id $sent reserved by an ended run was sent: BTCUSDT (open|closed) on the exchange" 10
for _ in $(seq 100); do
  [ "$(db "select count(*) from orders where run_id = 1 and status = 'reserved'")" = 0 ] && break
  sleep 0.1
done
left=$(db "select count(*) from orders where run_id = 1 and status = 'reserved'")
[ "$left" = 0 ] || { mmlog_show >&2; fail "$left reserved link ids of run 1 left 10 s after the restart"; }
row=$(db "select status, terminal, symbol, order_id != '' from orders where link_id = '$sent'")
[ "$row" = "found|1|BTCUSDT|1" ] || fail "the sent one's row is '$row', want found|1|BTCUSDT|1"
unsent=$(db "select count(*) from orders where run_id = 1 and status = 'unsent' and terminal = 1")
[ "$unsent" = $((reserved - 1)) ] || fail "$unsent of run 1's reserved ids retired as unsent, want $((reserved - 1))"
[ "$(metric 'mmbot_link_id_recovered_total{outcome="found"}')" = 1 ] || fail "recovered found: $(metric 'mmbot_link_id_recovered_total{outcome="found"}')"
[ "$(metric 'mmbot_link_id_recovered_total{outcome="unsent"}')" = "$unsent" ] || fail "recovered unsent metric"
wait_ours 0 10 mmb1-
wait_sides 15
pass "restart: $sent found on the exchange (cancelled by reconciliation), $unsent retired as never sent"

stop_mmbot 0
[ "$(db "select count(*) from orders where status = 'reserved'")" = 0 ] || fail "a clean stop left reserved link ids: $(db "select link_id from orders where status = 'reserved'")"
[ "$(db "select count(*) from orders where run_id = 2 and status = 'unsent'")" -gt 0 ] || fail "a clean stop retired none of its unused link ids"
pass "a clean stop retires its unused link ids"
mm_sanitizer_check
stop_sim lp
