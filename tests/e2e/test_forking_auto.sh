# A service that double-forks into the background and exits 0 at once, run with the default
# service_type (auto): soak detects the fork, says so with the hint, follows the daemon (its
# memory and its workers are sampled), counts a SIGSEGV of the daemon as a crash, restarts the
# command (which forks again), and its stop at the end leaves no process.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forking_lib.sh"
ulimit -c 0
cp "$EXAMPLES/forking-service" "$T/fsvc"
soak_bg --duration 7s --interval 200ms --stop-timeout 2s --set restart_delay=300ms \
  --heartbeat-timeout 5s -- "$T/fsvc" --workers 2 --mem-mb 16
oldest() { pgrep -o -f "^$T/fsvc" || true; } # the daemon, not soak's own command line
wait_for 10 'grep -q "forking detected" "$T/stderr"' || fail "no forking detected: $(cat "$T/stderr")"
d1=$(oldest) # the command and its middle process are gone: the oldest left is the daemon
sleep 1.5
kill -SEGV "$d1"
soak_wait
d2=$(runval main_pid) # the daemon of the restart
[ -n "$d2" ] && [ "$d2" != "$d1" ] || fail "the daemon was not started again: main_pid '$d2'"
expect_rc 1 # a crash fails the run

grep -q "soak: forking detected: '$T/fsvc' exited 0 and left pid $d1 (the top of the adopted tree) running in the background; soak follows it as the service" "$T/stderr" \
  || fail "the console does not name the detected forking: $(cat "$T/stderr")"
grep -qF "soak: hint: run the service in the foreground where it can (e.g. nginx -g 'daemon off;'" "$T/stderr" \
  || fail "no hint to run it in the foreground: $(cat "$T/stderr")"
[ "$(grep -c "forking detected" "$T/stderr")" -eq 1 ] || fail "the console told it more than once"
pass "the console names the detected forking, with the hint"

[ "$(runval service_type)" = "forking (detected)" ] || fail "run record service_type: $(runval service_type)"
[ "$(q "select count(*) from events where kind='daemonized' and detail like '%left pid $d2 %'")" -eq 1 ] \
  || fail "the restart's daemon $d2 is not in the events"
[ "$(q "select count(*) from events where kind='daemonized' and detail like 'forking detected:%'")" -eq 2 ] \
  || fail "daemonized events: $(q "select detail from events where kind='daemonized'")"
pass "the run record and its events say forking was detected (twice: the restart forked again)"

# memory: the daemon's 16 MiB, not the few hundred KiB of a command that is gone
big=$(q "select count(*) from samples where rss_bytes >= 16*1048576")
[ "$big" -ge 5 ] || fail "only $big samples hold the daemon's RSS: $(q "select rss_bytes from samples")"
[ "$(q "select max(procs) from samples")" -ge 3 ] || fail "the daemon's workers were not sampled"
pass "the daemon's memory (>= 16 MiB in $big samples) and its workers are sampled"

[ "$(q "select count(*) from events where kind='exit' and failure=1 and detail like 'pid $d1 killed by signal 11%'")" -eq 1 ] \
  || fail "the daemon's SIGSEGV is not a failing exit: $(q "select kind, failure, detail from events")"
[ "$(runval crashes)" = 1 ] || fail "crashes $(runval crashes), want 1"
[ "$(runval restarts)" = 1 ] || fail "restarts $(runval restarts), want 1"
grep -q "restarts     1, crashes 1" "$T/stdout" || fail "summary: $(cat "$T/stdout")"
pass "a SIGSEGV of the daemon is counted as a crash, and the command restarted"

# the stop at the end: the daemon's SIGTERM exit is the stop, and nothing is left
[ "$(q "select count(*) from events where kind='exit' and failure=0 and detail like 'pid $d2 exited with code 0%'")" -eq 1 ] \
  || fail "the stop of the daemon is not recorded: $(q "select kind, failure, detail from events")"
grep -q "duration reached" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
wait_for 3 'none_left "$T/fsvc"' || { ps -ef | grep "$T/fsvc" >&2; fail "processes of the service survived the run"; }
gone "$d1" "$d2" || fail "a daemon pid is still alive"
pass "the stop leaves no process"
