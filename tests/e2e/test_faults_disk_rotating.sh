# Fault: the disk fills while the log rotates: a log flood (about 100 MB) into a 6 MiB
# filesystem with the default keys. soak.log rotates at a size the disk can hold (a sixteenth of
# it), rotated files are compressed and deleted oldest first within max_log_files and the room
# the disk has, and the logs always leave the reserve to the record: every sample, the events
# and the outcome are kept, and the verdict's data_loss gate passes with 0.
source "$(dirname "$0")/faults_lib.sh"
fs_mount 6m
mkdir -p "$FS/art"
set +e
timeout -k 5 90 "$SOAK" run --artifacts "$FS/art" --status off --set analyze=false \
  --duration 8s --interval 100ms --heartbeat '' --restart never \
  -- sh -c "'$FLOOD' --bytes 100000000 --seconds 7; sleep 30" >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
expect_rc 0
grep -q "warning: min_free_disk 1.0 GiB is larger than the disk" "$T/stderr" || fail "no min_free_disk warning"
rot=$(qa "select count(*) from events where kind='rotation'")
[ "$rot" -ge 5 ] || fail "soak.log rotated $rot times"
# rotated at 384 KiB, at most max_log_files (5) rotated files kept
big=$(qa "select max(value) from events where kind='rotation'")
[ "${big%.*}" -le $((384 * 1024)) ] || fail "a rotated file of $big bytes on a 6 MiB disk"
kept=$(ls "$FS/art" | grep -c '^soak-' || true)
[ "$kept" -le 5 ] || fail "$kept rotated files kept"
[ "$(stat -c %s "$FS/art/soak.log")" -le $((384 * 1024)) ] || fail "soak.log passed its size"
# the record is whole
n=$(qa "select count(*) from samples")
[ "$(stored_in_summary)" = "$n" ] || fail "the summary claims $(stored_in_summary) samples, $n stored"
[ "$n" -ge 40 ] || fail "only $n samples kept"
record_whole qa
min_free=$(qa "select min(disk_free_bytes) from samples")
[ "$min_free" -gt $((256 * 1024)) ] || fail "the logs left only $min_free bytes free"
# a minimum the disk cannot meet deletes nothing
[ "$(qa "select count(*) from events where kind='cleanup' and detail like '%(cleanup)'")" -eq 0 ] ||
  fail "rotated logs deleted for min_free_disk"
# the logs made room by deleting rotated files, oldest first
qa "select detail from events where kind='cleanup' order by rowid" | sed -e "s/ (.*//" -e "s/\.gz$//" -e "s/Z\.log$/Z-0.log/" >"$T/deleted"
[ "$(wc -l <"$T/deleted")" -ge 1 ] || fail "no rotated file was deleted"
LC_ALL=C sort -c "$T/deleted" 2>"$T/sort.err" || fail "rotated files not deleted oldest first: $(cat "$T/sort.err")"
analyze_run "$FS/art"
[ "$(gate data_loss status)" = "pass" ] || fail "data_loss gate: $(gate data_loss status)"
[ "$(gate data_loss value)" = "0" ] || fail "data_loss value: $(gate data_loss value)"
pass "disk full while rotating: $rot rotations, $kept files kept, $n samples, at least $min_free bytes free"
