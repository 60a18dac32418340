# soak watch --pid: a service started outside soak (a shell with a child shell and a setsid
# grandchild) is watched for a short run: the samples cover the whole tree (process count and
# summed RSS), the verdict is written, and the service is still running afterwards. Also the
# errors a user reads: no such process, no target, and the help.
source "$(dirname "$0")/lib.sh"

cp "$(command -v sleep)" "$T/sleepy" # our processes carry $T in their command line
printf 'setsid "%s/sleepy" 301 &\nwait\n' "$T" >"$T/child.sh"
printf 'bash "%s/child.sh" &\nwait\n' "$T" >"$T/svc.sh"
bash "$T/svc.sh" &
SVC=$!
for _ in $(seq 100); do # bounded: 10 s
  [ "$(alive "$T/sleepy 301")" -eq 1 ] && break
  sleep 0.1
done
[ "$(alive "$T/sleepy 301")" -eq 1 ] || fail "the service's grandchild did not start"
GRAND=$(pgrep -f "$T/sleepy 301")
CHILD=$(pgrep -f "bash $T/child.sh")
[ "$(ps -o sid= -p "$GRAND" | tr -d ' ')" = "$GRAND" ] || fail "the grandchild is not in a session of its own"

set +e
timeout -k 5 60 "$SOAK" watch --pid "$SVC" --artifacts "$T/art" --status plain --duration 3s \
  --interval 200ms --set "gates.duration=last(duration_s) >= 2s" \
  --set optional_gates=orphan_orders,security,memory_growth,fds,threads >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
expect_rc 0
grep -q "^soak: watching pid $SVC and its descendants" "$T/stdout" || fail "no 'watching' line: $(cat "$T/stdout")"
grep -q "duration reached" "$T/stdout" || fail "outcome not printed: $(cat "$T/stdout")"

# the whole tree: the shell, its child shell and the setsid grandchild
procs=$(q "SELECT max(procs) FROM samples")
[ "$procs" -eq 3 ] || fail "samples count $procs processes, expected 3"
want=0
for p in "$SVC" "$CHILD" "$GRAND"; do
  want=$((want + $(ps -o rss= -p "$p") * 1024))
done
got=$(q "SELECT rss_bytes FROM samples ORDER BY rowid DESC LIMIT 1")
python3 -c "import sys; g,w=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if abs(g-w) <= w*0.2 else 1)" "$got" "$want" ||
  fail "summed RSS $got in samples.db, the tree's is $want"
[ "$(q "SELECT value FROM run WHERE key='mode'")" = watch ] || fail "run record: mode"
[ "$(q "SELECT value FROM run WHERE key='watch_target'")" = "pid $SVC" ] || fail "run record: watch_target"
[ "$(q "SELECT count(*) FROM events WHERE kind='start' AND detail LIKE 'watching pid $SVC%'")" -eq 1 ] ||
  fail "no start event for the watch"
[ "$(q "SELECT count(*) FROM events WHERE kind IN ('stop','stop_kill','exit')")" -eq 0 ] ||
  fail "a watch stopped or saw an exit: $(q "SELECT kind, detail FROM events")"
python3 - "$T/art" <<'PY' || fail "verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
g = {x["name"]: x for x in v["gates"]}
assert v["pass"] is True, v
assert g["crashes"]["status"] == "pass" and g["crashes"]["value"] == 0, g["crashes"]
PY
[ -f "$T/art/report.html" ] || fail "no report"

# never signalled: every process of the tree is still running
kill -0 "$SVC" 2>/dev/null || fail "the watched service is gone"
kill -0 "$CHILD" 2>/dev/null || fail "the child is gone"
kill -0 "$GRAND" 2>/dev/null || fail "the setsid grandchild is gone"
pass "watch --pid: 3 processes sampled, verdict written, service still running"

# SIGINT ends the watch (and only the watch): analysed, the service untouched
timeout -k 5 60 "$SOAK" watch --pid "$SVC" --artifacts "$T/int" --status off --duration 1h \
  --interval 200ms >"$T/int.out" 2>"$T/int.err" &
W=$!
for _ in $(seq 100); do # bounded: 10 s
  [ "$(sqlite3 "$T/int/samples.db" "SELECT count(*) FROM samples" 2>/dev/null || echo 0)" -ge 3 ] && break
  sleep 0.1
done
kill -INT "$W"
set +e
wait "$W"
RC=$?
set -e
[ "$RC" -eq 1 ] || { cat "$T/int.out" "$T/int.err" >&2; fail "SIGINT: exit $RC, expected 1 (the duration gate fails)"; }
grep -q "^soak: ended after .*: stopped by SIGINT" "$T/int.out" || fail "SIGINT: $(cat "$T/int.out")"
[ -f "$T/int/verdict.json" ] || fail "SIGINT: no verdict"
[ "$(sqlite3 "$T/int/samples.db" "SELECT value FROM run WHERE key='outcome'")" = "stopped by SIGINT" ] ||
  fail "SIGINT: run record outcome"
kill -0 "$SVC" 2>/dev/null && kill -0 "$CHILD" 2>/dev/null && kill -0 "$GRAND" 2>/dev/null ||
  fail "SIGINT to soak watch reached the watched tree"
kill "$SVC" "$CHILD" "$GRAND" 2>/dev/null || true
pass "watch --pid: SIGINT stops watching and analyses, the service untouched"

# errors a user reads
set +e
"$SOAK" watch --pid 4194000 --artifacts "$T/art2" >"$T/out2" 2>"$T/err2"
RC=$?
set -e
expect_rc 3
grep -qx "soak: no such process 4194000" "$T/err2" || fail "no such process: $(cat "$T/err2")"
[ ! -e "$T/art2/samples.db" ] || fail "a run record for a target that is not there"
set +e
"$SOAK" watch --artifacts "$T/art2" >"$T/out2" 2>"$T/err2"
RC=$?
"$SOAK" watch --pid 1 --unit x.service >"$T/out3" 2>"$T/err3"
RC3=$?
"$SOAK" watch --unit 'x;id' >"$T/out4" 2>"$T/err4"
RC4=$?
set -e
expect_rc 2
[ "$RC3" -eq 2 ] || fail "two targets: exit $RC3"
[ "$RC4" -eq 2 ] || fail "a unit name with a ';': exit $RC4"
grep -q "no target: give --pid" "$T/err2" || fail "no target: $(cat "$T/err2")"
grep -q "give one target" "$T/err3" || fail "two targets: $(cat "$T/err3")"
grep -q "invalid --unit 'x;id'" "$T/err4" || fail "bad unit name: $(cat "$T/err4")"
"$SOAK" watch --help | grepq -- "--pid-file FILE" || fail "soak watch --help"
"$SOAK" --help | grepq "^  watch " || fail "soak --help does not list watch"
pass "watch errors and help"
