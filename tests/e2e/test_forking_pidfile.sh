# service_type forking with a pid file: the daemon the pid file names is the service; the pid
# file is written after the command exited (a bounded wait) and re-read after a restart (the
# stale one names a dead pid); a daemon that exits 3 is a crash; the stop leaves no process.
# A forking command that fails, or whose pid file never appears, is a failed start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forking_lib.sh"
demo=$(mkdemo)
pidf="$T/demo.pid"
fsvc="$EXAMPLES/forking-service"
# the first daemon exits 3 after 4 s; the restart's daemon would only after the run's end
soak_bg --duration 6s --interval 200ms --stop-timeout 2s --set restart_delay=100ms \
  --service-type forking --pid-file "$pidf" \
  -- "$fsvc" --pid-file "$pidf" --pid-file-delay 200 -- "$demo" --hb-interval 200 --crash-after 4
readpid() { cat "$pidf" 2>/dev/null || true; }
wait_for 10 'test -n "$(readpid)"' || fail "no pid file: $(cat "$T/stderr")"
d1=$(readpid)
wait_for 10 'test -n "$(readpid)" -a "$(readpid)" != "$d1"' || fail "no new daemon in the pid file"
d2=$(readpid)
soak_wait
expect_rc 1

expect_told "forking service" "$fsvc" "$d1" "named by '$pidf'"
expect_record forking "$d2" # the pid file re-read after the restart
pass "the console and the record name the forking service and its pid from the pid file"

msg=$(expect_sampled $((8 << 20)) 5 1)
pass "the daemon is sampled ($msg)"

expect_exit 1 "pid $d1 exited with code 3%"
[ "$(runval crashes)" = 1 ] || fail "crashes $(runval crashes)"
[ "$(runval restarts)" = 1 ] || fail "restarts $(runval restarts)"
pass "the daemon's exit 3 is a crash; the restart forked again and the pid file was re-read"

expect_exit 0 "pid $d2 exited with code 0%"
expect_none_left "$demo" "$d1" "$d2"
pass "the stop leaves no process"

# a forking command that exits non-zero: a failed start, not a crash, and no restart
rm -rf "$T/art"
soak_run --duration 5s --restart always --service-type forking -- "$fsvc" --fail 4 -- "$demo"
expect_rc 3 # the run could not be carried out
grep -q "soak: cannot start '$fsvc': the forking command exited with code 4" "$T/stderr" \
  || fail "failed start: $(cat "$T/stderr")"
grep -q "cannot start the service" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
[ "$(q "select count(*) from events where kind='start'")" -eq 1 ] || fail "it was started again"
[ "$(runval crashes)" = 0 ] || fail "a failed start counted as a crash"
pass "a forking command that exits 4 is a failed start"

# the pid file never appears: the start fails after forking_timeout and the daemon is stopped
rm -rf "$T/art"
soak_run --duration 20s --service-type forking --pid-file "$T/never.pid" \
  --set forking_timeout=1s -- "$fsvc" -- "$demo" --hb-interval 200
expect_rc 3
grep -q "soak: cannot start '$fsvc': no main pid within 1s: the pid file '$T/never.pid' is not there" "$T/stderr" \
  || fail "timeout: $(cat "$T/stderr")"
grep -q "cannot start the service" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
expect_none_left "$demo"
pass "no pid file within forking_timeout: a failed start, its daemon stopped"
