# `make soak` with a bot made to leave its orders behind (mmbot's test-only
# fault.skip_cancel_on_shutdown): the orphan gate fails with the number of orders the bot left
# (its own shutdown line says how many; the simulator without taker flow, so that none fills),
# the table shows it, and soak diagnose points at the runbook's section 3.
source "$(dirname "$0")/make_soak_lib.sh"
mkdir -p "$T/o"
# no taker flow: nothing fills the orders the bot leaves, so their number is known; a still
# market and no races: the bot keeps its quotes instead of replacing them, so that no cancel or
# create is in flight when it stops (one would make the bot's count and the exchange's differ);
# no REST faults: a 429/5xx burst at the end would pull the quotes, and there would be none to
# leave. The run is stopped (`soak stop`, as the script says to) once the bot has orders
# resting, not after a fixed time: a loaded machine may take a minute before the first quote.
SIM_SET="market.taker_per_s=0 market.volatility=0 behaviour.p_ack_before_state=0
behaviour.p_dup_filled=0 behaviour.p_cancel_with_exec=0 faults.retcode_10006.probability=0
faults.http_429.probability=0 faults.http_5xx.probability=0 faults.rest_latency.probability=0" \
  MMBOT_SET=fault.skip_cancel_on_shutdown=true \
  make_soak_bg "$T/o" 10m 280
wait_orders 2 120 || { show "$T/o"; fail "the bot had no quotes resting within 120 s (last count $ORDERS)"; }
"$T/bin/soak" stop "$T/o/soak" --timeout 150s >"$T/stop.out" 2>&1 || { cat "$T/stop.out" >&2; fail "soak stop failed"; }
wait_ended
[ -f "$T/o/soak/verdict.json" ] || { show "$T/o"; fail "no verdict (exit $RC)"; }
[ "$RC" = 1 ] || { show "$T/o"; fail "exit $RC, want 1"; }
left=$(grep -oE 'not cancelling, [0-9]+ orders left open' "$T/o/soak/soak.log" | grep -oE '[0-9]+' | tail -1)
[ -n "$left" ] && [ "$left" -gt 0 ] || { show "$T/o"; fail "the bot did not log the orders it left (got '$left')"; }
[ "$(gate "$T/o" orphan_orders status)" = fail ] || fail "orphan gate: $(gate "$T/o" orphan_orders status), want fail"
v=$(gate "$T/o" orphan_orders value)
awk -v v="$v" -v l="$left" 'BEGIN { exit !(v == l) }' || fail "orphan gate value $v, the bot left $left"
grep -qE "^\| Orphan orders \| $left \| == 0 \| fail \|$" "$T/o.out" || { show "$T/o"; fail "the table does not show $left orphans failing"; }
pass "orders left behind: the orphan gate fails with $left, as many as the bot left"
d=$(diag_section "$T/o" 3)
[ "$d" = "fail gates=orphan_orders" ] || fail "diagnosis section 3: '$d', want 'fail gates=orphan_orders'"
grep -q "^3\. orphan orders: fail" "$T/o/soak/diagnosis.txt" || fail "diagnosis.txt does not fail section 3"
pass "soak diagnose points at section 3 (orphan orders)"
no_secret "$T/o" "$T/o.out"
