# A stop that soak or the user asked for is no crash: runs that end by their duration, by
# `soak stop` and by SIGINT say "crashes 0" on the console, store their exit events with
# failure=0 and a `crashes` run value of 0, and pass. A real crash and a real hang are
# failures: failure=1 on their events, the counts on the console and in the run values.
source "$(dirname "$0")/lib.sh"

# planned_ok NAME: what every planned stop must show (stdout in $T/NAME.out, run in $T/NAME)
planned_ok() {
  local name=$1
  local db="$T/$name/samples.db"
  grep -q "crashes 0, hangs 0" "$T/$name.out" || fail "$name: console: $(cat "$T/$name.out")"
  grep -q "supervision  ok: no crash, no hang" "$T/$name.out" || fail "$name: supervision line"
  [ "$(sqlite3 "$db" "select count(*) from events where kind='exit'")" -ge 1 ] ||
    fail "$name: no exit event: $(sqlite3 "$db" "select kind, detail from events")"
  [ "$(sqlite3 "$db" "select count(*) from events where kind='exit' and failure is not 0")" -eq 0 ] ||
    fail "$name: exit judged a failure: $(sqlite3 "$db" "select kind, failure, detail from events")"
  [ "$(sqlite3 "$db" "select count(*) from events where failure=1")" -eq 0 ] ||
    fail "$name: failures stored: $(sqlite3 "$db" "select kind, detail from events where failure=1")"
  [ "$(sqlite3 "$db" "select value from run where key='crashes'")" = 0 ] || fail "$name: crashes run value"
  [ "$(sqlite3 "$db" "select value from run where key='hangs'")" = 0 ] || fail "$name: hangs run value"
}

# live NAME ARGS...: soak in the background, stdout in $T/NAME.out; sets PID
live() {
  local name=$1
  shift
  timeout -k 5 60 "$SOAK" run --artifacts "$T/$name" --status off --set analyze=false "$@" \
    >"$T/$name.out" 2>"$T/$name.err" &
  PID=$!
  for _ in $(seq 1 100); do # until the service runs
    [ "$(sqlite3 "$T/$name/samples.db" "select count(*) from events where kind='start'" 2>/dev/null || echo 0)" -ge 1 ] && break
    sleep 0.05
  done
  sleep 0.5
}

# 1. the duration ends it: the service dies of soak's own SIGTERM (the user-visible bug)
set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/duration" --status off --set analyze=false \
  --duration 2s --heartbeat '' -- sleep 100 >"$T/duration.out" 2>"$T/duration.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "duration: exit $rc: $(cat "$T/duration.err")"
grep -q "completed after .*: duration reached" "$T/duration.out" || fail "duration: $(cat "$T/duration.out")"
planned_ok duration
[ "$(sqlite3 "$T/duration/samples.db" "select value from events where kind='exit'")" = "-15.0" ] ||
  fail "duration: not the SIGTERM exit: $(sqlite3 "$T/duration/samples.db" "select * from events")"

# 2. `soak stop`
live ctlstop --duration 60s --heartbeat '' -- sleep 100
timeout 30 "$SOAK" stop "$T/ctlstop" 2>/dev/null || fail "soak stop failed"
wait "$PID" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "soak stop: exit $rc: $(cat "$T/ctlstop.err")"
grep -q "stopped by SIGTERM" "$T/ctlstop.out" || fail "soak stop: $(cat "$T/ctlstop.out")"
planned_ok ctlstop

# 3. SIGINT (Ctrl-C), to a service that exits 0 on its own when told to
live sigint --duration 60s --heartbeat '' -- sh -c 'trap "exit 0" INT TERM; while :; do sleep 0.1; done'
kill -INT "$PID"
wait "$PID" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "SIGINT: exit $rc: $(cat "$T/sigint.err")"
grep -q "stopped by SIGINT" "$T/sigint.out" || fail "SIGINT: $(cat "$T/sigint.out")"
planned_ok sigint

# 4. a real crash: exit code 3, soak sent nothing
set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/crash" --status off --set analyze=false \
  --duration 60s --heartbeat '' --restart never -- "$DEMO" --hb-interval 50 --crash-after 1 \
  >"$T/crash.out" 2>"$T/crash.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "crash: exit $rc, expected 1"
grep -q "crashes 1, hangs 0" "$T/crash.out" || fail "crash: console: $(cat "$T/crash.out")"
db="$T/crash/samples.db"
[ "$(sqlite3 "$db" "select failure from events where kind='exit'")" = 1 ] ||
  fail "crash: exit not a failure: $(sqlite3 "$db" "select kind, failure, detail from events")"
[ "$(sqlite3 "$db" "select value from run where key='crashes'")" = 1 ] || fail "crash: crashes run value"

# 5. a real hang: the hang is the failure; the exit at the end of the stop it caused is not
# a second one
set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/hang" --status off --set analyze=false \
  --duration 60s --interval 200ms --heartbeat-timeout 1s --stop-timeout 2s --restart never \
  -- "$DEMO" --hb-interval 100 --hang-after 1 >"$T/hang.out" 2>"$T/hang.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "hang: exit $rc, expected 1"
grep -q "crashes 1, hangs 1" "$T/hang.out" || fail "hang: console: $(cat "$T/hang.out")"
db="$T/hang/samples.db"
[ "$(sqlite3 "$db" "select failure from events where kind='hang'")" = 1 ] || fail "hang: not a failure"
[ "$(sqlite3 "$db" "select count(*) from events where kind='exit' and failure=1")" -eq 0 ] ||
  fail "hang: the stop's exit counted again: $(sqlite3 "$db" "select kind, failure, detail from events")"
[ "$(sqlite3 "$db" "select value from run where key='hangs'")" = 1 ] || fail "hang: hangs run value"
[ "$(sqlite3 "$db" "select value from run where key='crashes'")" = 1 ] || fail "hang: crashes run value"
pass "planned stops: 0 crashes; a real crash and a real hang: failures"
