# A SIGKILL that soak did not send is reported as a likely OOM kill (confirmed through cgroup v2
# memory.events where possible, otherwise said to be unconfirmed), counted as a crash.
source "$(dirname "$0")/lib.sh"
soak_run --duration 30s --interval 100ms --heartbeat '' --restart never \
  -- sh -c 'echo about to die; kill -KILL $$'
expect_rc 1
[ "$(q "select value from events where kind='exit'")" = "-9.0" ] || fail "exit: $(q "select detail from events where kind='exit'")"
n=$(q "select count(*) from events where kind in ('oom_suspected', 'oom_kill')")
[ "$n" -eq 1 ] || fail "no OOM report: $(q "select kind, detail from events")"
q "select detail from events where kind in ('oom_suspected', 'oom_kill')"
grep -q "crashes 1" "$T/stdout" || fail "crash not counted"
pass "SIGKILL reported as a likely OOM kill"
