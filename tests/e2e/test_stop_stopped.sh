# Issue 10 item 5: a service in SIGSTOP cannot run its SIGTERM handler until it is continued.
# soak's stop sends SIGCONT after SIGTERM to every stopped member (as systemd does), so the
# service's handler runs and the stop takes well under the stop timeout (20 s here), and no
# SIGKILL is needed.
source "$(dirname "$0")/lib.sh"
t0=$(date +%s.%N)
soak_run --duration 2s --interval 100ms --heartbeat '' --stop-timeout 20s \
  -- sh -c 'trap "echo handler ran; exit 0" TERM; kill -STOP $$; while :; do sleep 0.1; done'
t1=$(date +%s.%N)
expect_rc 0
state=$(q "select count(*) from events where kind = 'stop'")
[ "$state" -eq 1 ] || fail "no stop event: $(q "select kind, detail from events")"
took=$(q "select (select max(t) from events where kind = 'exit') - (select t from events where kind = 'stop')")
python3 -c "import sys; sys.exit(0 if float('$took') < 2.0 else 1)" ||
  fail "the stop of a stopped service took ${took}s (stop timeout 20s)"
[ "$(q "select count(*) from events where kind = 'stop_kill'")" -eq 0 ] || fail "SIGKILL was needed"
grep -q "handler ran" "$T/art/soak.log" || fail "the service's SIGTERM handler did not run"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 10 else 1)" || fail "soak run took $(python3 -c "print($t1 - $t0)")s"
pass "a stopped service stops in ${took}s"
