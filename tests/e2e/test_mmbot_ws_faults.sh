# mmbot end to end, WebSocket faults: a drop leads to reconnects whose delays grow as configured,
# a stall is detected within stale_timeout and reconnected, a book reset (u == 1) resyncs, and
# malformed frames are counted and ignored; quoting comes back after each.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

start_sim w --seed 11
mm_conf "$PORT"
cat >>"$T/mmbot.yaml" <<'YAML'
websocket:
  heartbeat_interval: 1s
  stale_timeout: 2s
  initial_reconnect_delay: 200ms
  max_reconnect_delay: 1s
YAML
start_mmbot
wait_sides 15

# drops every 300 ms for 3 s: the attempts' delays grow 0.2, 0.4, 0.8 ... capped at 1 s
fault '{"ws_drop":{"every":"300ms"}}'
wait_log 'reconnect attempt 3 in ' 15
fault '{"clear":true}'
d=$(grep -oE 'ws public: reconnect attempt [0-9]+ in [0-9.]+ s' "$MM_LOG" | awk 'NR <= 4 { printf "%s ", $7 }')
python3 - "$d" <<'PY' || { mmlog_show >&2; fail "reconnect delays '$d' do not grow within the jitter"; }
import sys
d = [float(x) for x in sys.argv[1].split()]
assert len(d) >= 3, d
want = [0.2, 0.4, 0.8, 1.0]
for got, w in zip(d, want):
    assert w * 0.75 <= got <= w + 1e-9, (got, w)   # jitter 0.2 of the delay, downwards
PY
wait_sides 20
r=$(metric 'ws_reconnect_attempts_total{stream="public"}')
[ "${r%.*}" -ge 3 ] || fail "ws_reconnect_attempts_total{stream=\"public\"} is $r"
pass "ws drop: reconnect delays $d(s), $r attempts counted, quoting back"

# a stall: nothing arrives; detected within stale_timeout (2 s) plus a tick, then reconnected
n0=$(grep -c 'reconnect attempt' "$MM_LOG" || true)
fault '{"ws_stall":{"start":"0s","duration":"4s"}}'
t0=$(date +%s%N)
for _ in $(seq 100); do
  [ "$(grep -c 'reconnect attempt' "$MM_LOG" || true)" -gt "$n0" ] && break
  sleep 0.1
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$(grep -c 'reconnect attempt' "$MM_LOG" || true)" -gt "$n0" ] || { mmlog_show >&2; fail "a stall was not detected in 10 s"; }
[ "$ms" -le 3500 ] || fail "a stall took $ms ms to detect (stale_timeout 2 s)"
fault '{"clear":true}'
wait_sides 20
pass "ws stall detected in $ms ms and reconnected"

# book reset: every book restarts with a snapshot u == 1; the book takes it as a reset
fault '{"book_reset":{"start":"0s"}}'
sleep 1
fault '{"clear":true}'
wait_sides 10
pass "book reset: resynced and quoting"

# malformed frames (cut in half): counted, ignored, no crash
fault '{"malformed":{"start":"0s","duration":"2s","probability":0.5}}'
sleep 2.5
fault '{"clear":true}'
m=$(metric 'mmbot_malformed_messages_total{stream="public"}')
[ "${m%.*}" -gt 0 ] || fail "malformed frames were not counted ($m)"
kill -0 "$MM_PID" || fail "mmbot died on malformed frames"
wait_sides 20
pass "malformed frames: $m counted and ignored"

stop_mmbot 0
[ "$(ours_open)" = 0 ] || fail "orders left after SIGTERM"
stop_sim w
