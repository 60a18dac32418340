# mmbot through 60 s of examples/chaos.yaml (WS drops, resets and stalls, 10006/429/5xx, REST
# latency jitter, a maintenance window, book resets and the exchange's races): bybit-sim
# accepts the profile, mmbot keeps running, reconnects, and after SIGTERM leaves zero orders.
# The schedules are brought forward with --set so that every kind fires within the minute.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"
CHAOS="$SRC/examples/chaos.yaml"

# the profile loads (a bad key or value would stop bybit-sim with exit 2 and file:line:key)
start_sim c -c "$CHAOS" --set faults.ws_drop.every=12s --set faults.ws_reset.every=25s \
  --set faults.ws_stall.every=20s --set faults.ws_stall.duration=4s \
  --set faults.maintenance.start=30s --set faults.maintenance.duration=6s \
  --set faults.book_reset.every=15s
faults=$(curl -s "http://127.0.0.1:$PORT/sim/faults")
for k in ws_drop ws_reset ws_stall rest_latency retcode_10006 http_429 http_5xx maintenance book_reset malformed; do
  grep -q "\"$k\"" <<<"$faults" || fail "bybit-sim did not take fault '$k' from chaos.yaml: $faults"
done
pass "bybit-sim accepts examples/chaos.yaml with its ten fault kinds"

mm_conf "$PORT"
cat >>"$T/mmbot.yaml" <<'YAML'
websocket:
  stale_timeout: 3s
  max_reconnect_delay: 4s
strategy:
  order_refresh_time: 2s
YAML
start_mmbot
wait_sides 20
t_end=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$t_end" ]; do
  kill -0 "$MM_PID" 2>/dev/null || { mmlog_show >&2; fail "mmbot died in the chaos"; }
  sleep 1
done
stats=$(curl -s "http://127.0.0.1:$PORT/sim/stats")
fired=$(python3 -c 'import json,sys; f=json.loads(sys.argv[1])["faults_fired"]; print(" ".join(k for k,v in sorted(f.items()) if v)) ' "$stats")
for k in ws_drop ws_stall maintenance book_reset; do
  grep -qw "$k" <<<"$fired" || fail "fault $k did not fire in 60 s (fired: $fired)"
done
rec=$(metric 'ws_reconnect_attempts_total{stream="public"}')
awk -v r="$rec" 'BEGIN { exit !(r >= 2) }' || fail "public WS reconnect attempts '$rec' after drops and stalls, want at least 2"
grep -qE 'reconnect attempt [0-9]+ in [0-9.]+ s' "$MM_LOG" || fail "no 'reconnect attempt N in D s' line"
pass "60 s of chaos (fired: $fired): alive, $rec public reconnects"

stop_mmbot 0
[ "$(ours_open)" = 0 ] || fail "$(ours_open) orders of ours left after SIGTERM in the chaos"
grep -q '\[SHUTDOWN\] verified: no open order left' "$MM_LOG" || { mmlog_show >&2; fail "shutdown not verified"; }
pass "SIGTERM in the chaos: verified, zero orders left"
mm_sanitizer_check
stop_sim c
