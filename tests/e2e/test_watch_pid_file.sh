# soak watch --pid-file: the test's own little supervisor starts the service, writes its pid
# file, and 2 s later replaces it by a new process with a new pid (as a deploy script or a
# supervisor soak does not know would). The watch follows the new pid and counts a restart in
# the samples, the run record and the verdict's analysis; the old process's exit is recorded
# with the code "unknown", which counts as a crash. Nothing is signalled.
source "$(dirname "$0")/lib.sh"

cp "$(command -v sleep)" "$T/sleepy"
cat >"$T/super.sh" <<'SH'
# the service: first for 2 s, then a new process for good; the pid file is replaced atomically
T=$1
"$T/sleepy" 2 &
echo $! >"$T/svc.pid.tmp" && mv "$T/svc.pid.tmp" "$T/svc.pid"
wait
"$T/sleepy" 300 &
echo $! >"$T/svc.pid.tmp" && mv "$T/svc.pid.tmp" "$T/svc.pid"
wait
SH
bash "$T/super.sh" "$T" &
SUPER=$!
for _ in $(seq 100); do # bounded: 10 s
  [ -s "$T/svc.pid" ] && break
  sleep 0.1
done
[ -s "$T/svc.pid" ] || fail "the pid file was not written"
FIRST=$(cat "$T/svc.pid")

set +e
timeout -k 5 60 "$SOAK" watch --pid-file "$T/svc.pid" --artifacts "$T/art" --status plain \
  --duration 5s --interval 200ms --set "gates.duration=last(duration_s) >= 4s" \
  --set optional_gates=orphan_orders,security,memory_growth,fds,threads >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
SECOND=$(cat "$T/svc.pid")
[ "$SECOND" != "$FIRST" ] || fail "the supervisor did not replace the service"
expect_rc 1 # the first process's exit: its code is unknown, a crash
grep -q "restarts     1, crashes 1" "$T/stdout" || fail "console: $(cat "$T/stdout")"

[ "$(q "SELECT value FROM run WHERE key='restarts'")" -eq 1 ] || fail "run record: restarts $(q "SELECT value FROM run WHERE key='restarts'")"
[ "$(q "SELECT value FROM run WHERE key='crashes'")" -eq 1 ] || fail "run record: crashes"
[ "$(q "SELECT value FROM run WHERE key='watch_kind'")" = pid-file ] || fail "run record: watch_kind"
[ "$(q "SELECT max(restarts) FROM samples")" -eq 1 ] || fail "samples: restarts"
[ "$(q "SELECT count(*) FROM events WHERE kind='restart' AND value=$SECOND AND detail LIKE 'pid $SECOND in the place of pid $FIRST:%'")" -eq 1 ] ||
  fail "no restart event naming both pids: $(q "SELECT kind, detail FROM events")"
[ "$(q "SELECT count(*) FROM events WHERE kind='exit' AND failure=1 AND value IS NULL AND detail LIKE 'pid $FIRST exited after %(exit code unknown: soak is not its parent)'")" -eq 1 ] ||
  fail "no exit with an unknown code: $(q "SELECT kind, detail, value FROM events")"
# the new process was sampled after the replacement
[ "$(q "SELECT count(*) FROM samples WHERE restarts=1 AND procs=1 AND rss_bytes > 0")" -gt 3 ] ||
  fail "the new process was not sampled"
python3 - "$T/art" <<'PY' || fail "verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
g = {x["name"]: x for x in v["gates"]}
assert v["pass"] is False, v
assert g["crashes"]["status"] == "fail" and g["crashes"]["value"] == 1, g["crashes"]
a = json.load(open(sys.argv[1] + "/resources.analysis.json"))
assert a["restarts"] == 1, a["restarts"]
PY
kill -0 "$SECOND" 2>/dev/null || fail "the new service process is gone"
kill -0 "$SUPER" 2>/dev/null || fail "the test's supervisor is gone"
kill "$SUPER" "$SECOND" 2>/dev/null || true
pass "watch --pid-file: the replacement $FIRST -> $SECOND followed, 1 restart"
