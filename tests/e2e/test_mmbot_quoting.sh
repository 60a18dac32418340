# mmbot end to end, quoting: quotes appear on both sides and follow the price; fills change the
# position; --dry-run sends nothing; SIGTERM leaves zero open orders, with the runbook's lines;
# /health and /metrics say what a person checks.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

# a busy market: taker flow that fills our quotes often. The mid moves at the default volatility:
# at 0.2 per sqrt(hour) it jumps ~200 USD a second, every quote 2 bps away is crossed within
# milliseconds, and both sides are almost never open at the same instant (0 of 60 samples here),
# so "both sides quoted" could only pass by luck.
start_sim q --seed 7 --set market.taker_per_s=40 --set market.volatility=0.01
mm_conf "$PORT"
cat >>"$T/mmbot.yaml" <<'YAML'
strategy:
  bid_spread: 2
  ask_spread: 2
  order_refresh_time: 1s
  order_refresh_tolerance_pct: 0
  filled_order_delay: 1s
risk:
  max_position: 0.01
YAML

# --dry-run: quotes are logged, no order reaches the exchange, and it needs no keys
set +e
timeout -k 5 4 "$T/mmbot" run -c "$T/mmbot.yaml" --dry-run >"$T/dry.log" 2>&1
set -e
grep -qE 'dry run: quotes BTCUSDT ref [0-9.]+: Buy 0.001 @ [0-9.]+ Sell 0.001 @ [0-9.]+' "$T/dry.log" ||
  { cat "$T/dry.log" >&2; fail "--dry-run logged no two-sided quote"; }
[ "$(ours_open)" = 0 ] || fail "--dry-run placed orders"
pass "--dry-run logs both sides and sends nothing"

start_mmbot
wait_log 'quoting starts' 15
wait_sides 15
pass "quotes on both sides"

# they follow the price: the prices quoted change as the market moves (refresh every second)
prices() {
  curl -s "http://127.0.0.1:$PORT/sim/orders?account=$KEY" |
    python3 -c 'import json,sys; print(" ".join(sorted(o["price"] for o in json.load(sys.stdin)["list"])))'
}
p1=""
for _ in $(seq 50); do p1=$(prices); [ -n "$p1" ] && break; sleep 0.1; done
p2=$p1
for _ in $(seq 100); do
  sleep 0.2
  p2=$(prices)
  [ -n "$p2" ] && [ "$p2" != "$p1" ] && break
done
[ -n "$p2" ] && [ "$p2" != "$p1" ] || { mmlog_show >&2; fail "quotes did not follow the price in 20 s ($p1)"; }
pass "quotes follow the price ($p1 -> $p2)"

# fills come in, are counted once and move the position
for _ in $(seq 300); do
  f=$(metric mmbot_fills_total)
  [ -n "$f" ] && [ "${f%.*}" -gt 0 ] && break
  sleep 0.1
done
[ "${f:-0}" != 0 ] || { mmlog_show >&2; fail "no fill counted in 30 s"; }
pos=$(metric 'mmbot_position{symbol="BTCUSDT"}')
[ -n "$pos" ] || fail "no mmbot_position metric"
grep -qE 'fill BTCUSDT (Buy|Sell) ' "$MM_LOG" || fail "no fill line in the log"
pass "fills counted ($f) and the position follows ($pos)"

# what a person checks: /health, the runbook's metric names, the heartbeat line
h=$(health)
echo "$h" | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h["status"] in ("ok","degraded"), h; assert h["ws_public"]=="live" and h["ws_private"]=="live", h; assert isinstance(h["open_orders"], int); assert "last_heartbeat" in h and "reason" in h' ||
  fail "/health: $h"
m=$(curl -s "http://127.0.0.1:$MM_HTTP/metrics")
for name in 'ws_reconnect_attempts_total{stream="public"}' 'latency_ms_bucket{stage="rest"' \
  'latency_ms_bucket{stage="tick_to_order"' http_pool_requests_waiting process_resident_memory_bytes \
  mmbot_orders_created_total 'bybit_ratelimit_remaining{endpoint="/v5/order/create"}'; do
  grep -qF "$name" <<<"$m" || fail "/metrics has no $name"
done
wait_log '\[HB\] alive uptime=' 5
pass "/health, /metrics and [HB] lines"

# SIGTERM: cancel everything, verify, exit 0, within the shutdown timeout
stop_mmbot 0
for line in '\[SHUTDOWN\] Cancelling all active orders\.\.\.' '\[SHUTDOWN\] Cancelled [0-9]+ orders' 'shutdown complete'; do
  grep -qE "$line" "$MM_LOG" || { mmlog_show >&2; fail "no '$line' line at shutdown"; }
done
[ "$(ours_open)" = 0 ] || fail "$(ours_open) of our orders left open after SIGTERM"
pass "SIGTERM leaves zero open orders"
stop_sim q
