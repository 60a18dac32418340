# Free disk below the threshold: a disk_low event, and rotated logs go first, oldest first. On a
# 16 MiB filesystem of its own, with min_free_disk=12MiB and uncompressed logs of 1 MiB (the disk's
# sixteenth), a log flood brings the free disk under the minimum. A min_free_disk larger than the disk (1000TB) is a warning at the start and
# deletes nothing.
source "$(dirname "$0")/faults_lib.sh"
fs_mount 16m
mkdir -p "$FS/art"
LIMIT=60 soak_run --artifacts "$FS/art" --duration 60s --interval 100ms --heartbeat '' --restart never \
  --set max_log_size=2MB --set max_log_files=5 --set min_free_disk=12MiB --set gzip_level=0 \
  -- sh -c "'$FLOOD' --bytes 20000000; sleep 1"
expect_rc 0
[ "$(qa "select count(*) from events where kind='disk_low'")" -ge 1 ] ||
  fail "expected a disk_low event: $(qa "select kind, detail from events where kind like 'disk%'")"
[ "$(qa "select count(*) from events where kind='cleanup' and detail like '%(cleanup)'")" -ge 1 ] ||
  fail "no cleanup of rotated logs: $(qa "select kind, detail from events where kind='cleanup'")"
qa "select detail from events where kind='cleanup' and detail like '%(cleanup)' order by rowid" |
  sed -e "s/ (.*//" -e "s/\.gz$//" -e "s/Z\.log$/Z-0.log/" >"$T/deleted"
LC_ALL=C sort -c "$T/deleted" 2>"$T/sort.err" || fail "not oldest first: $(cat "$T/sort.err")"
# fewer than max_log_files are left: the rest went for the free disk
left=$(ls "$FS/art" | grep -c '^soak-' || true)
[ "$left" -le 3 ] || fail "$left rotated files left while disk is low"
grep -q "warning: min_free_disk" "$T/stderr" && fail "a warning for a minimum the disk can meet"

# larger than the disk: a warning, and no deletion spree
rm -rf "$FS/art"
mkdir -p "$FS/art"
LIMIT=60 soak_run --artifacts "$FS/art" --duration 60s --interval 100ms --heartbeat '' --restart never \
  --set max_log_size=1MB --set max_log_files=5 --set min_free_disk=1000TB \
  -- sh -c "'$FLOOD' --bytes 4000000; sleep 1"
expect_rc 0
grep -q "soak: warning: min_free_disk 909.5 TiB is larger than the disk of '.*' (16.0 MiB): using 1.0 MiB" "$T/stderr" ||
  fail "no warning: $(cat "$T/stderr")"
[ "$(qa "select count(*) from events where kind='cleanup' and detail like '%(cleanup)'")" -eq 0 ] ||
  fail "rotated logs deleted for a minimum larger than the disk"
kept=$(ls "$FS/art" | grep -c '^soak-' || true)
[ "$kept" -ge 3 ] || fail "only $kept rotated files kept"
pass "disk low: cleanup done, $left rotated files left; a minimum larger than the disk warned, $kept kept"
