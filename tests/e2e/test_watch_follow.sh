# soak watch --pid with a followed log file (docs/soak-watch.md, "A Python bot that logs to a
# file"): a service started outside soak writes its numbered heartbeat only to bot.log, then
# stops writing but stays alive. The heartbeats are seen in the followed file (counted in
# soak.log), the silence is recorded as a hang, --on-hang runs once with SOAK_WATCH_PID, and
# the service is never signalled: it is still running after the watch.
source "$(dirname "$0")/lib.sh"

cp "$(command -v sleep)" "$T/sleepy" # our processes carry $T in their command line
cat >"$T/bot.sh" <<SH
i=0
while [ \$i -lt 15 ]; do # 15 heartbeats, 200 ms apart, then silence
  i=\$((i + 1))
  echo "\$(date +%T) [HB] alive \$i" >>"$T/bot.log"
  "$T/sleepy" 0.2
done
exec "$T/sleepy" 300
SH
: >"$T/bot.log"
bash "$T/bot.sh" &
SVC=$!

set +e
timeout -k 5 60 "$SOAK" watch --pid "$SVC" --artifacts "$T/art" --status off --duration 9s \
  --interval 200ms --heartbeat-timeout 2s --follow-log "$T/bot.log" \
  --on-hang "echo \"hung \$SOAK_WATCH_PID\" >>'$T/on-hang.txt'" \
  --set optional_gates=orphan_orders,security,memory_growth,fds,threads >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
expect_rc 1 # the hang fails the verdict
grep -q "on-hang command ran" "$T/stderr" || fail "the console does not say --on-hang ran: $(cat "$T/stderr")"
[ -f "$T/on-hang.txt" ] || fail "--on-hang did not run"
[ "$(cat "$T/on-hang.txt")" = "hung $SVC" ] || fail "--on-hang: '$(cat "$T/on-hang.txt")', want 'hung $SVC' once"
[ "$(q "SELECT count(*) FROM events WHERE kind='hang' AND detail LIKE '%recorded, not acted on%'")" -eq 1 ] ||
  fail "hang events: $(q "SELECT kind, detail FROM events")"
# the file existed before the watch, so it is read from its end (as tail -F -n0): from the
# first heartbeat seen on, every one reached soak.log, each once
first=$(grep -o "file:bot.log .*\[HB\] alive [0-9]*\$" "$T/art/soak.log" | head -1 | grep -o '[0-9]*$' || true)
[ -n "$first" ] && [ "$first" -le 12 ] || fail "the followed heartbeats start at '$first': $(grep file: "$T/art/soak.log" | head -3)"
for i in $(seq "$first" 15); do
  n=$(grep -c "file:bot.log .*\[HB\] alive $i\$" "$T/art/soak.log" || true)
  [ "$n" -eq 1 ] || fail "heartbeat $i is in soak.log $n times"
done
python3 - "$T/art" <<'PY' || fail "verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
assert v["pass"] is False, v
PY
kill -0 "$SVC" 2>/dev/null || fail "the watched service was signalled or is gone"
kill "$SVC" 2>/dev/null || true
pkill -f "$T/sleepy" 2>/dev/null || true
pass "watch --pid with a followed log: every heartbeat after the attach seen once, the hang recorded, --on-hang ran once, the service untouched"
