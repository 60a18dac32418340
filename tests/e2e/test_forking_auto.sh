# A service that double-forks into the background and exits 0 at once (examples/forking-service
# running demo-service as its daemon), with the default service_type (auto): soak detects the
# fork, says so with the hint, follows the daemon (its memory and its children are sampled, its
# heartbeat read), counts a SIGSEGV of the daemon as a crash, restarts the command (which forks
# again), and the stop at the end leaves no process.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forking_lib.sh"
ulimit -c 0
demo=$(mkdemo)
oldest() { pgrep -o -f "^$demo" || true; } # the daemon: its children are younger
soak_bg --duration 7s --interval 200ms --stop-timeout 2s --set restart_delay=300ms \
  --heartbeat-timeout 3s -- "$EXAMPLES/forking-service" --pid-file-delay 0 \
  -- "$demo" --hb-interval 200 --setsid-child
wait_for 10 'grep -q "forking detected" "$T/stderr"' || fail "no fork detected: $(cat "$T/stderr")"
wait_for 5 'test -n "$(oldest)"' || fail "the daemon does not run"
d1=$(oldest)
sleep 1.5
kill -SEGV "$d1"
soak_wait
expect_rc 1 # a crash fails the run
d2=$(runval main_pid) # the daemon of the restart
[ -n "$d2" ] && [ "$d2" != "$d1" ] || fail "the daemon was not started again: main_pid '$d2'; events: $(q "select kind, detail from events" | tr '\n' ' ')"

expect_told "forking detected" "$EXAMPLES/forking-service" "$d1" "the top of the adopted tree"
pass "the console names the detected forking, with the hint"

[ "$(runval service_type)" = "forking (detected)" ] || fail "run record service_type: $(runval service_type)"
[ "$(q "select count(*) from events where kind='daemonized' and detail like 'forking detected:%'")" -eq 2 ] \
  || fail "daemonized events: $(q "select detail from events where kind='daemonized'")"
[ "$(q "select count(*) from events where kind='daemonized' and detail like '%left pid $d2 %'")" -eq 1 ] \
  || fail "the restart's daemon $d2 is not in the events"
pass "the run record and its events say forking was detected (twice: the restart forked again)"

# memory: demo-service's 8 MiB ballast, not the few hundred KiB of a command that is gone
msg=$(expect_sampled $((8 << 20)) 5 3)
[ "$(q "select count(*) from events where kind='hang'")" -eq 0 ] || fail "a hang: the daemon's heartbeat was not read"
pass "the daemon is sampled ($msg) and its heartbeat read"

expect_exit 1 "pid $d1 killed by signal 11%"
[ "$(runval crashes)" = 1 ] || fail "crashes $(runval crashes), want 1"
[ "$(runval restarts)" = 1 ] || fail "restarts $(runval restarts), want 1"
grep -q "restarts     1, crashes 1" "$T/stdout" || fail "summary: $(cat "$T/stdout")"
pass "a SIGSEGV of the daemon is counted as a crash, and the command restarted"

# the stop at the end: the daemon's exit on SIGTERM is the stop, and nothing is left
expect_exit 0 "pid $d2 exited with code 0%"
grep -q "duration reached" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
expect_none_left "$demo" "$d1" "$d2"
pass "the stop leaves no process"
