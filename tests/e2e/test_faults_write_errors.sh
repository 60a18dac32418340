# Fault: writes fail for another reason than a full disk: soak's file size limit (RLIMIT_FSIZE,
# set on the running soak with prlimit; SIGXFSZ ignored) drops to 16 KiB, so that samples.db,
# its WAL and soak.log cannot grow (EFBIG).
#   for 3 s, then lifted  the rows are kept in memory and written late: every sample is there,
#                         the failure and the recovery are events, nothing of the record is lost
#   until the end         what could not be written is counted as lost, the run fails, and
#                         `soak analyze` (its outcome never written) says data was lost
source "$(dirname "$0")/faults_lib.sh"
command -v prlimit >/dev/null || { echo "SKIP: prlimit (util-linux) is not installed"; exit 0; }
demo=$(mkdemo)
start_soak() { # DURATION
  rm -rf "$T/art"
  ( trap '' XFSZ; exec "$SOAK" run --artifacts "$T/art" --status off --set analyze=false \
      --duration "$1" --interval 100ms --restart never -- "$demo" --hb-interval 10 ) \
    >"$T/stdout" 2>"$T/stderr" &
  spid=$!
}

# for 3 s, then lifted
start_soak 8s
sleep 2
prlimit --pid "$spid" --fsize=16384:unlimited
sleep 3
prlimit --pid "$spid" --fsize=unlimited:unlimited
wait_soak "$spid"
expect_rc 0
grep -q "soak: cannot write '.*samples.db'" "$T/stderr" || fail "the failed writes were silent: $(cat "$T/stderr")"
[ "$(q "select count(*) from events where kind='write_failed'")" -ge 1 ] || fail "no write_failed event"
late=$(q "select value from events where kind='write_ok' limit 1")
[ -n "$late" ] && [ "${late%.*}" -ge 10 ] || fail "no write_ok event with the rows written late: '$late'"
n=$(q "select count(*) from samples")
[ "$(stored_in_summary)" = "$n" ] || fail "the summary claims $(stored_in_summary) samples, $n stored"
[ "$n" -ge 50 ] || fail "only $n samples kept"
gap=$(q "select max(b.t - a.t) from samples a join samples b on b.rowid = a.rowid + 1")
awk -v g="$gap" 'BEGIN { exit !(g < 1.0) }' || fail "a gap of $gap s in the samples"
record_whole q
q "select detail from events where kind='log_error'" | grepq "File too large" ||
  fail "the log's write error is not an event: $(q "select detail from events where kind='log_error'")"

# until the end: lost, counted, and the verdict says so
start_soak 4s
sleep 2
prlimit --pid "$spid" --fsize=16384:unlimited
wait_soak "$spid"
[ "$RC" -eq 1 ] || fail "exit code $RC: a run that lost data must fail: $(cat "$T/stderr")"
lost=$(sed -n 's/^  record .* \([0-9]*\) rows lost$/\1/p' "$T/stdout")
[ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "the summary does not count the lost rows: $(cat "$T/stdout")"
n=$(q "select count(*) from samples")
[ "$(stored_in_summary)" = "$n" ] || fail "the summary claims $(stored_in_summary) samples, $n stored"
[ "$n" -ge 10 ] || fail "the samples before the fault were lost: $n"
[ "$(q "select value from run where key='outcome'")" = "running" ] || fail "outcome: $(q "select value from run where key='outcome'")"
analyze_run "$T/art"
[ "$ARC" -eq 1 ] || fail "analyze exit $ARC: $(cat "$T/analyze.out")"
[ "$(gate data_loss status "$T/art")" = "fail" ] || fail "the verdict's data_loss gate does not fail"
pass "write errors: rows written late ($late) when lifted; $lost rows counted lost and a failing verdict when not"
