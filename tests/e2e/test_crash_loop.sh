# A service that crashes at once is restarted with growing delays, then soak gives up at the
# start limit and the run fails with exit 1.
source "$(dirname "$0")/lib.sh"
soak_run --duration 60s --interval 100ms --heartbeat '' \
  --set restart_delay=200ms --set start_limit_burst=4 --set start_limit_interval=1m \
  -- "$DEMO" --hb-interval 50 --crash-after 0
expect_rc 1
grep -q "start limit" "$T/stdout" || fail "outcome does not name the start limit"
[ "$(q "select count(*) from events where kind in ('start','restart')")" -eq 4 ] ||
  fail "expected 4 starts: $(q "select kind, detail from events")"
delays=$(q "select value from events where kind='restart_scheduled' order by rowid" | tr '\n' ' ')
[ "$delays" = "0.2 0.4 0.8 1.6 " ] || fail "delays not doubling: $delays"
[ "$(q "select count(*) from events where kind='exit' and value=3")" -eq 4 ] || fail "exit codes"
[ "$(q "select count(*) from events where kind='start_limit'")" -eq 1 ] || fail "no start_limit event"
pass "crash loop: delays $delays, gave up after 4 starts"
