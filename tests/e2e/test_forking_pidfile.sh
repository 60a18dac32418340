# service_type forking with a pid file: the daemon the pid file names is the service; the pid
# file is written after the command exited (a bounded wait) and re-read after a restart (the
# stale one names a dead pid); a daemon that exits 3 is a crash; the stop leaves no process.
# A forking command that fails, or whose pid file never appears, is a failed start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forking_lib.sh"
cp "$EXAMPLES/forking-service" "$T/fsvc"
pidf="$T/fsvc.pid"
soak_bg --duration 7s --interval 200ms --stop-timeout 2s --set restart_delay=300ms \
  --service-type forking --pid-file "$pidf" \
  -- "$T/fsvc" --pid-file "$pidf" --pid-file-delay 400 --crash-file "$T/crash" --mem-mb 16
readpid() { cat "$pidf" 2>/dev/null || true; }
wait_for 10 'test -n "$(readpid)"' || fail "no pid file: $(cat "$T/stderr")"
d1=$(readpid)
sleep 1.5
touch "$T/crash"
wait_for 10 'gone "$d1"' || fail "the daemon did not exit on the crash file"
rm -f "$T/crash"
wait_for 10 'test -n "$(readpid)" -a "$(readpid)" != "$d1"' || fail "no new daemon in the pid file"
d2=$(readpid)
soak_wait
expect_rc 1

grep -q "soak: forking service: '$T/fsvc' exited 0 and left pid $d1 (named by '$pidf') running in the background; soak follows it as the service" "$T/stderr" \
  || fail "the console does not name the forking: $(cat "$T/stderr")"
grep -qF "soak: hint: run the service in the foreground where it can" "$T/stderr" || fail "no hint"
[ "$(runval service_type)" = "forking" ] || fail "service_type $(runval service_type)"
[ "$(runval main_pid)" = "$d2" ] || fail "main_pid $(runval main_pid), want $d2 (the pid file re-read)"
pass "the console and the record name the forking service and its pid from the pid file"

big=$(q "select count(*) from samples where rss_bytes >= 16*1048576")
[ "$big" -ge 5 ] || fail "only $big samples hold the daemon's RSS"
pass "the daemon's memory is sampled ($big samples >= 16 MiB)"

[ "$(q "select count(*) from events where kind='exit' and failure=1 and detail like 'pid $d1 exited with code 3%'")" -eq 1 ] \
  || fail "the daemon's exit 3 is not a crash: $(q "select kind, failure, detail from events")"
[ "$(runval crashes)" = 1 ] || fail "crashes $(runval crashes)"
[ "$(runval restarts)" = 1 ] || fail "restarts $(runval restarts)"
pass "the daemon's exit 3 is a crash; the restart forked again and the pid file was re-read"

wait_for 3 'none_left "$T/fsvc"' || { ps -ef | grep "$T/fsvc" >&2; fail "processes survived the run"; }
gone "$d1" "$d2" || fail "a daemon pid is still alive"
pass "the stop leaves no process"

# a forking command that exits non-zero: a failed start, not a crash, and no restart
rm -rf "$T/art"
soak_run --duration 5s --restart always --service-type forking -- "$T/fsvc" --fail 4
expect_rc 3 # the run could not be carried out
grep -q "soak: cannot start '$T/fsvc': the forking command exited with code 4" "$T/stderr" \
  || fail "failed start: $(cat "$T/stderr")"
grep -q "cannot start the service" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
[ "$(q "select count(*) from events where kind='start'")" -eq 1 ] || fail "it was started again"
[ "$(runval crashes)" = 0 ] || fail "a failed start counted as a crash"
pass "a forking command that exits 4 is a failed start"

# the pid file never appears: the start fails after forking_timeout and the daemon is stopped
rm -rf "$T/art"
soak_run --duration 20s --service-type forking --pid-file "$T/never.pid" \
  --set forking_timeout=1s -- "$T/fsvc" --mem-mb 1
expect_rc 3 # the run could not be carried out
grep -q "soak: cannot start '$T/fsvc': no main pid within 1s: the pid file '$T/never.pid' is not there" "$T/stderr" \
  || fail "timeout: $(cat "$T/stderr")"
wait_for 3 'none_left "$T/fsvc"' || fail "the daemon of a failed start survived"
pass "no pid file within forking_timeout: a failed start, its daemon stopped"
