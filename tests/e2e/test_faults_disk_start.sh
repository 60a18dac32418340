# Fault: the disk is full when the run starts (a 6 MiB filesystem, default keys). min_free_disk
# (1 GiB) larger than the disk is a warning, never a deletion spree.
#   no room at all      soak refuses to start, naming samples.db; no service is started
#   under the reserve   the record comes first: every sample, the events and the outcome are
#                       kept; the logs get nothing (dropped and counted), and a gate on them
#                       says so in the verdict
#   not even the record the rows that cannot be written are counted as lost, the summary never
#                       claims more samples than were stored, and the run fails
source "$(dirname "$0")/faults_lib.sh"
fs_mount 6m
demo=$(mkdemo)
flood() { echo "sh -c '$FLOOD --bytes 50000000 --seconds 4; exec $demo --hb-interval 100'"; }
run_full() { # LEAVE_KB: fill the disk to that, run 4 s, empty it again
  rm -rf "$FS/art"
  mkdir -p "$FS/art"
  fs_fill "$1"
  set +e
  timeout -k 5 60 "$SOAK" run --artifacts "$FS/art" --status off --set analyze=false \
    --duration 4s --interval 100ms --restart never -- sh -c "$(flood)" >"$T/stdout" 2>"$T/stderr"
  RC=$?
  set -e
  rm -f "$FS/filler"
}

# no room at all: a clear refusal, nothing started
run_full 0
[ "$RC" -eq 3 ] || fail "full disk: exit code $RC, expected 3: $(cat "$T/stderr")"
# the pre-flight finds the folder unwritable first (or, without it, samples.db cannot open)
grep -Eq "soak: cannot open '.*samples.db': database or disk is full|fail +folder +cannot write in '.*': No space left on device" "$T/stderr" ||
  fail "full disk: no clear message: $(cat "$T/stderr")"
[ "$(alive "$demo")" -eq 0 ] || fail "full disk: the service was started"

# under the reserve (1 MiB on this disk): the record is whole, the logs are dropped
run_full 300
expect_rc 0
grep -q "warning: min_free_disk 1.0 GiB is larger than the disk" "$T/stderr" ||
  fail "no warning about min_free_disk: $(cat "$T/stderr")"
n=$(qa "select count(*) from samples")
[ "$n" -ge 30 ] || fail "only $n samples kept"
[ "$(stored_in_summary)" = "$n" ] || fail "the summary claims $(stored_in_summary) samples, $n stored"
record_whole qa
[ "$(qa "select count(*) from events where kind='log_dropped'")" -ge 1 ] || fail "no log_dropped event"
[ "$(qa "select max(dropped_bytes) from samples")" -gt 1000000 ] || fail "dropped log bytes not counted"
[ "$(qa "select count(*) from events where kind='cleanup' and detail like '%(cleanup)'")" -eq 0 ] ||
  fail "rotated logs deleted for min_free_disk: $(qa "select detail from events where kind='cleanup'")"
analyze_run "$FS/art" --set 'gates.logs_kept=count(dropped_bytes) == 0'
[ "$ARC" -eq 1 ] || fail "analyze exit $ARC: $(cat "$T/analyze.out")"
[ "$(gate data_loss status)" = "pass" ] || fail "data_loss gate: $(gate data_loss status)"
[ "$(gate logs_kept status)" = "fail" ] || fail "the verdict does not say the logs were lost"

# less than the record needs: refused before the service starts (the pre-flight, the lock and
# the pid file take what little there is), or, when it got that far, counted as lost, never
# claimed, and the run fails
run_full 100
lost=0
if [ "$RC" -eq 3 ]; then
  grep -q "No space left on device\|database or disk is full" "$T/stderr" ||
    fail "refused without saying why: $(cat "$T/stderr")"
  [ "$(alive "$demo")" -eq 0 ] || fail "refused, but the service was started"
else
  [ "$RC" -eq 1 ] || fail "record lost: exit code $RC, expected 1 or 3: $(cat "$T/stdout" "$T/stderr")"
  grep -q "soak: cannot write '.*samples.db': database or disk is full" "$T/stderr" ||
    fail "the failed writes were silent: $(cat "$T/stderr")"
  grep -q "supervision  failed: the run lost data" "$T/stdout" || fail "no word of the loss: $(cat "$T/stdout")"
  lost=$(sed -n 's/^  record .* \([0-9]*\) rows lost$/\1/p' "$T/stdout")
  [ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "the summary does not count the lost rows: $(cat "$T/stdout")"
  stored=$(qa "select count(*) from samples" 2>/dev/null || echo 0)
  [ "$(stored_in_summary)" = "$stored" ] || fail "the summary claims $(stored_in_summary) samples, $stored stored"
fi
pass "disk full at start: refused when empty; $n samples and the outcome kept under the reserve; $lost rows counted lost"
