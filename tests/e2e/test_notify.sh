# Notifications (escalation level 2): a local receiver on loopback stands in for Telegram's Bot
# API and for a webhook. A crash loop of 10 crashes gives the first crash at once and the rest
# in one summary with the run's end (the rate limit), each message says what happened, where and
# with the key numbers; the end message carries the verdict and the report's path. A receiver
# that hangs or answers 500 slows nothing: sampling goes on, the run ends on time, and the
# failures are counted. No token or webhook URL appears in any output or file.
source "$(dirname "$0")/lib.sh"
RECV="$SRC/tests/e2e/notify/receiver.py"
TOKEN="424242:AAH-SecretTokenNeverShown_0123456789"
export TELEGRAM_BOT_TOKEN="$TOKEN"

start_receiver() { # NAME MODE: starts it, sets PORT_NAME
  rm -f "$T/$1.port"
  python3 "$RECV" "$2" "$T/$1.port" "$T/$1.log" 60 &
  for _ in $(seq 100); do [ -s "$T/$1.port" ] && break; sleep 0.05; done
  [ -s "$T/$1.port" ] || fail "receiver $1 did not start"
  eval "PORT_$1=$(cat "$T/$1.port")"
}
count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. a crash loop of 10 crashes, told to Telegram and a webhook
start_receiver tg ok
start_receiver hook ok
set +e
timeout -k 5 120 "$SOAK" run --artifacts "$T/loop" --status off --duration 60s --interval 100ms \
  --heartbeat '' --set restart_delay=50ms --set restart_delay_max=100ms \
  --set start_limit_burst=10 --set start_limit_interval=1m --set leak_min_span=1h \
  --set notify.telegram.chat_id=-1001234 --set "notify.telegram.base_url=http://127.0.0.1:$PORT_tg" \
  --set "notify.webhook.url=http://127.0.0.1:$PORT_hook/hook/SecretHookPath" \
  --set notify.min_interval=1h \
  -- "$DEMO" --hb-interval 50 --crash-after 0 >"$T/loop.out" 2>"$T/loop.err"
RC=$?
set -e
[ "$RC" -eq 1 ] || { cat "$T/loop.err" >&2; fail "crash loop: exit $RC, expected 1"; }
[ "$(sqlite3 "$T/loop/samples.db" "select count(*) from events where kind='exit' and failure=1")" -eq 10 ] \
  || fail "expected 10 crashes"
python3 - "$T/tg.log" "$T/hook.log" "$TOKEN" "$T/loop" <<'PY' || { cat "$T/tg.log" "$T/hook.log" >&2; fail "messages"; }
import json, os, sys
tg = [json.loads(l) for l in open(sys.argv[1])]
hook = [json.loads(l) for l in open(sys.argv[2])]
token, run = sys.argv[3], os.path.realpath(sys.argv[4])
# the rate limit: 10 crashes and a give-up are 2 messages a channel, not 11
assert len(tg) == 2, len(tg)
assert len(hook) == 2, len(hook)
assert all(m["path"] == "/bot%s/sendMessage" % token for m in tg), tg[0]["path"]
first, end = tg[0]["body"], tg[1]["body"]
assert first["chat_id"] == "-1001234", first
assert first["text"].startswith("soak: crash on "), first["text"]
assert "exit code 1" in first["text"] or "exit" in first["text"], first["text"]
assert run in first["text"] and "report: " + run + "/report.html" in first["text"], first["text"]
assert "crashes 1" in first["text"], first["text"]
assert end["text"].startswith("soak: the run ended on "), end["text"]
assert "verdict: FAIL" in end["text"] and "crashes = 10" in end["text"], end["text"]
assert "crash x9" in end["text"] and "start_limit x1" in end["text"], end["text"]
h0, h1 = hook[0]["body"], hook[1]["body"]
assert h0["event"] == "crash" and h0["count"] == 1 and h0["numbers"]["crashes"] == 1, h0
assert h1["event"] == "end" and h1["count"] == 11 and h1["report"] == run + "/report.html", h1
assert h0["run"] == run and h0["host"], h0
PY
grep -q "notified     4 sent, 0 not delivered" "$T/loop.out" || { cat "$T/loop.out" >&2; fail "summary line"; }
pass "crash loop: 2 messages a channel, with the numbers, the verdict and the report"

# 2. a receiver that hangs and one that answers 500 slow nothing down
start_receiver slow hang
start_receiver bad fail
t0=$(date +%s.%N)
set +e
timeout -k 5 120 "$SOAK" run --artifacts "$T/slow" --status off --duration 4s --interval 100ms \
  --heartbeat '' --set restart_delay=100ms --set start_limit_burst=20 --set leak_min_span=1h \
  --set notify.telegram.chat_id=7 --set "notify.telegram.base_url=http://127.0.0.1:$PORT_bad" \
  --set "notify.webhook.url=http://127.0.0.1:$PORT_slow/hook/SecretHookPath" \
  --set notify.timeout=1s --set notify.retries=1 --set notify.min_interval=0 \
  -- "$DEMO" --hb-interval 50 --crash-after 1 >"$T/slow.out" 2>"$T/slow.err"
RC=$?
set -e
t1=$(date +%s.%N)
[ "$RC" -eq 1 ] || { cat "$T/slow.err" >&2; fail "slow receivers: exit $RC, expected 1 (a crash)"; }
# the run is 4 s (crashing every second); the end waits two timeouts at most: 4 + 2*1 + slack
python3 -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); assert d < 10, d" "$t0" "$t1" \
  || fail "the run took too long with a hung receiver"
n=$(sqlite3 "$T/slow/samples.db" "select count(*) from samples")
[ "$n" -ge 30 ] || fail "sampling was delayed by the notifications: $n samples in 4 s at 100 ms"
[ "$(count "$T/bad.log")" -ge 3 ] || fail "the 500 receiver should have been retried: $(count "$T/bad.log") tries"
[ "$(sqlite3 "$T/slow/samples.db" "select count(*) from events where kind='notify_failed'")" -ge 1 ] \
  || fail "a failed notification is an event"
grep -q "soak: notify: telegram: message not delivered: HTTP 500" "$T/slow.err" \
  || { cat "$T/slow.err" >&2; fail "the failure is logged with its reason"; }
grep -Eq "notified     [0-9]+ sent, [1-9][0-9]* not delivered" "$T/slow.out" || fail "failures counted"
pass "a hung and a failing receiver: run on time, sampling unharmed, failures counted"

# 3. the metric, live
start_receiver bad2 fail
port=$(freeport)
set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/live" --status off --duration 6s --interval 200ms \
  --heartbeat '' --set restart_delay=100ms --set start_limit_burst=20 --listen "127.0.0.1:$port" \
  --set leak_min_span=1h \
  --set notify.telegram.chat_id=7 --set "notify.telegram.base_url=http://127.0.0.1:$PORT_bad2" \
  --set notify.timeout=500ms --set notify.retries=0 \
  -- "$DEMO" --hb-interval 50 --crash-after 1 >"$T/live.out" 2>"$T/live.err" &
pid=$!
set -e
got=""
for _ in $(seq 80); do
  got=$({ curl -s "http://127.0.0.1:$port/metrics" || true; } | awk '/^soak_notifications_failed_total/ {print $2}')
  [ "${got:-0}" != "0" ] && break
  sleep 0.1
done
wait $pid || true
[ "${got:-0}" -ge 1 ] 2>/dev/null || fail "soak_notifications_failed_total stayed ${got:-absent}"
pass "soak_notifications_failed_total on /metrics"

# 4. no secret anywhere: outputs, run folders (the database included), the archive if any
for f in "$T"/*.out "$T"/*.err; do
  ! grep -aq -e "SecretToken" -e "SecretHookPath" "$f" || fail "a secret in $f"
done
! grep -raq -e "SecretToken" -e "SecretHookPath" "$T/loop" "$T/slow" "$T/live" || fail "a secret in a run folder"
pass "no token or webhook URL in any output or file"
