# A service whose heartbeat stops is detected as hung within timeout + one interval, stopped,
# and counted as a crash.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
soak_run --duration 60s --interval 200ms --heartbeat-timeout 2s --restart never \
  --stop-timeout 2s -- "$demo" --hb-interval 100 --hang-after 1
expect_rc 1
age=$(q "select value from events where kind='hang'")
[ -n "$age" ] || fail "no hang event: $(q "select kind, detail from events")"
awk -v a="$age" 'BEGIN { exit !(a >= 2.0 && a <= 2.0 + 0.2 + 0.15) }' ||
  fail "hang noticed after $age s, expected within 2.2 s"
# between the last heartbeat line and the hang event
[ "$(q "select count(*) from events where kind='stop'")" -ge 1 ] || fail "no stop event"
pgrep -f "$demo" >/dev/null && fail "the hung service survived"
grep -q "hangs 1" "$T/stdout" || fail "outcome does not count the hang"
pass "hang detected after $age s"
