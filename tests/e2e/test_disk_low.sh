# Free disk below the threshold: a disk_low event, and rotated logs go first, oldest first.
# (The threshold is set above the disk's size, so the condition holds on any machine.)
source "$(dirname "$0")/lib.sh"
soak_run --duration 60s --interval 100ms --heartbeat '' --restart never \
  --set max_log_size=2MB --set max_log_files=5 --set min_free_disk=1000TB \
  -- sh -c "'$FLOOD' --bytes 20000000; sleep 1"
expect_rc 0
[ "$(q "select count(*) from events where kind='disk_low'")" -eq 1 ] ||
  fail "expected one disk_low event: $(q "select kind, detail from events where kind like 'disk%'")"
[ "$(q "select count(*) from events where kind='cleanup' and detail like '%(cleanup)'")" -ge 1 ] ||
  fail "no cleanup of rotated logs: $(q "select kind, detail from events where kind='cleanup'")"
left=$(ls "$T/art" | grep -c '^soak-' || true)
[ "$left" -le 1 ] || fail "$left rotated files left while disk is low"
pass "disk low: cleanup done, $left rotated files left"
