# mmbot's fault injection (fault.*, for tests of a supervisor; docs/mmbot.md "Fault injection"):
# skip_cancel_on_shutdown leaves the orders behind and still exits 0, leak_bytes_per_s makes RSS
# grow, hang_after_s stops the loop with mmbot's own watchdog off, so that soak's heartbeat
# watchdog is what catches it.
# Environment from ctest: BIN (build dir with mmbot, bybit-sim and soak), SRC.
source "$(dirname "$0")/mmbot/mm.sh"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_sim f --seed 9
mm_conf "$PORT"

# 1. skip_cancel_on_shutdown: SIGTERM exits 0 and the orders stay open
start_mmbot --set fault.skip_cancel_on_shutdown=true
wait_log 'fault: skip_cancel_on_shutdown' 5
wait_sides 15
stop_mmbot 0
grep -q 'fault.skip_cancel_on_shutdown: not cancelling' "$MM_LOG" || { mmlog_show >&2; fail "no log line for the skipped cancel"; }
left=$(ours_open)
[ "$left" -gt 0 ] || fail "fault.skip_cancel_on_shutdown left no order open"
mmbot_cmd orders --count
[ "$(cat "$T/cmd.out")" = "$left" ] || fail "orders --count says '$(cat "$T/cmd.out")', the simulator $left"
mmbot_cmd cancel-all
[ "$(ours_open)" = 0 ] || fail "cancel-all after the fault left $(ours_open)"
pass "skip_cancel_on_shutdown: exit 0 with $left orders left behind (orders --count sees them)"

# 2. leak_bytes_per_s: RSS grows by about the rate
start_mmbot --set fault.leak_bytes_per_s=4000000
wait_log 'fault: leak_bytes_per_s: leaking 4000000 bytes a second' 5
sleep 1
r0=$(rss_kb "$MM_PID")
sleep 3
r1=$(rss_kb "$MM_PID")
grow=$((r1 - r0))
[ "$grow" -ge 8000 ] || fail "RSS grew $grow kB in 3 s with 4 MB/s leaking, want at least 8000 kB"
leaked=$(metric mmbot_fault_leaked_bytes)
awk -v l="$leaked" 'BEGIN { exit !(l >= 12e6) }' || fail "mmbot_fault_leaked_bytes is '$leaked' after 4 s at 4 MB/s"
stop_mmbot 0
[ "$(ours_open)" = 0 ] || fail "the leaking run left orders"
pass "leak_bytes_per_s: RSS +$grow kB in 3 s, mmbot_fault_leaked_bytes $leaked"

# 3. hang_after_s: heartbeat lines stop, /health stops answering, mmbot's watchdog (1 s here) does
#    not fire; the process stays until someone kills it
start_mmbot --set fault.hang_after_s=3 --set watchdog.timeout=1s --set log.heartbeat_interval=500ms
wait_log 'fault: hang_after_s: the loop stops now' 10
hb0=$(grep -c '\[HB\] alive' "$MM_LOG")
sleep 3
hb1=$(grep -c '\[HB\] alive' "$MM_LOG")
[ "$hb0" -gt 0 ] && [ "$hb1" = "$hb0" ] || fail "heartbeat lines went on in the hang ($hb0 then $hb1)"
kill -0 "$MM_PID" 2>/dev/null || { mmlog_show >&2; fail "the hung mmbot exited (its watchdog fired?)"; }
curl -s -m 1 "http://127.0.0.1:$MM_HTTP/health" >/dev/null && fail "/health answered in the hang"
kill -KILL "$MM_PID"
wait "$MM_PID" 2>/dev/null || true
mmbot_cmd cancel-all
pass "hang_after_s: heartbeat stopped at $hb0 lines, /health silent, still alive (watchdog off)"

# ... and soak's heartbeat watchdog catches it
set +e
BYBIT_API_KEY=$KEY BYBIT_API_SECRET=$SECRET timeout -k 5 90 "$SOAK" run --artifacts "$T/art" \
  --status plain --set analyze=false --duration 60s --interval 200ms --heartbeat '\[HB\] alive' \
  --heartbeat-timeout 3s --restart never --stop-timeout 2s -- \
  "$T/mmbot" run -c "$T/mmbot.yaml" --set fault.hang_after_s=4 --set log.heartbeat_interval=500ms \
  >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
[ "$RC" = 1 ] || { tail -20 "$T/stdout" "$T/stderr" >&2; fail "soak exited $RC on a hung mmbot, want 1"; }
[ -n "$(q "select value from events where kind='hang'")" ] || fail "soak saw no hang: $(q "select kind, detail from events")"
grep -q "hangs 1" "$T/stdout" || fail "soak's outcome does not count the hang"
alive "$T/mmbot run" | grepq -x 0 || fail "the hung mmbot survived soak"
grep -qF "$SECRET" "$T/stdout" "$T/stderr" "$T"/art/*.log 2>/dev/null && fail "the API secret appears in soak's output"
mmbot_cmd cancel-all
pass "soak's heartbeat watchdog caught the hung mmbot"
mm_sanitizer_check
stop_sim f
