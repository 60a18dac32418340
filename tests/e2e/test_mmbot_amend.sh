# mmbot end to end, strategy.amend_orders: a requote moves each live order with one amend (the
# same orderLinkId stays open on the exchange at a new price) instead of a cancel and a create;
# SIGTERM still leaves zero open orders.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

# no taker flow (no fill replaces an order), and a mid that moves a few ticks a second, so that
# every refresh finds both quotes off their wanted price
start_sim a --seed 11 --set market.taker_per_s=0 --set market.volatility=0.01
mm_conf "$PORT"
cat >>"$T/mmbot.yaml" <<'YAML'
strategy:
  bid_spread: 5
  ask_spread: 5
  order_refresh_time: 1s
  order_refresh_tolerance_pct: 0
  amend_orders: true
risk:
  max_position: 0.01
YAML

# "linkId=price" of each of our open orders on the exchange
book_of_ours() { sim_ours | awk '{ print $1 "=" $3 }' | paste -sd ' ' -; }

start_mmbot
wait_log 'quoting starts' 15
wait_sides 15
s1=$(book_of_ours)
[ -n "$s1" ] || fail "no open order of ours"

# within 20 s: three refreshes' worth of amends are sent, and an order of s1 is still open under
# its own link id at another price (a cancel + create would have given it a new link id)
moved=""
for _ in $(seq 100); do
  sleep 0.2
  s2=$(book_of_ours)
  moved=$(python3 -c '
import sys
a = dict(x.split("=") for x in sys.argv[1].split())
b = dict(x.split("=") for x in sys.argv[2].split())
print(" ".join(k for k in a if k in b and a[k] != b[k]))' "$s1" "$s2")
  am=$(metric mmbot_orders_amended_total)
  am=${am:-0}
  [ -n "$moved" ] && [ "${am%.*}" -ge 6 ] && break
done
[ -n "$moved" ] || { mmlog_show >&2; fail "no order moved under its own link id in 20 s ($s1 -> $s2)"; }
am=$(metric mmbot_orders_amended_total)
cr=$(metric mmbot_orders_created_total)
am=${am:-0} cr=${cr:-0}
[ "${am%.*}" -ge 6 ] || { mmlog_show >&2; fail "mmbot_orders_amended_total is $am after 20 s"; }
pass "requotes amend in place ($moved: $s1 -> $s2; amends $am)"

# the requotes were amends, not replacements: creates stay at the first two (a few more only if
# an amend was refused and the order replaced)
[ "${cr%.*}" -lt "${am%.*}" ] || fail "more creates ($cr) than amends ($am): requotes replaced orders"
pass "creates $cr < amends $am"

stop_mmbot 0
[ "$(ours_open)" = 0 ] || fail "$(ours_open) of our orders left open after SIGTERM"
pass "SIGTERM leaves zero open orders"
stop_sim a
