# Fault: the disk fills in the middle of a run (another process takes all of it for 6 s, and what
# is freed meanwhile), with
# the default keys on a 6 MiB filesystem and a service that logs steadily. The reserve soak kept
# is released for the record, and what still cannot be written waits in memory: every sample,
# the events and the outcome are kept with no gap;
# the failure is on record (write_failed), the logs wait (dropped and counted) and come back
# when there is room, and a gate on the logs says in the verdict that log lines were lost.
source "$(dirname "$0")/faults_lib.sh"
fs_mount 6m
mkdir -p "$FS/art"
demo=$(mkdemo)
"$SOAK" run --artifacts "$FS/art" --status off --set analyze=false --duration 12s --interval 50ms \
  --restart never -- "$demo" --hb-interval 20 >"$T/stdout" 2>"$T/stderr" &
spid=$!
sleep 3
[ -f "$FS/art/samples.db-reserve" ] || fail "no reserve was kept: $(ls -la "$FS/art")"
t_full=$(date +%s.%N)
fs_hog_start
[ "$(fs_free_kb)" -lt 64 ] || fail "the filler left $(fs_free_kb) KiB"
sleep 6
fs_hog_stop
t_room=$(date +%s.%N)
wait_soak "$spid"
expect_rc 0
grep -q "reserve .* was released for the record" "$T/stderr" || fail "the full disk was silent: $(cat "$T/stderr")"
# the record: samples all through the full disk, with no gap
n=$(qa "select count(*) from samples")
[ "$(stored_in_summary)" = "$n" ] || fail "the summary claims $(stored_in_summary) samples, $n stored"
[ "$n" -ge 100 ] || fail "only $n samples kept"
during=$(qa "select count(*) from samples where t > $t_full + 0.3 and t < $t_room")
[ "$during" -ge 40 ] || fail "only $during samples while the disk was full"
gap=$(qa "select max(b.t - a.t) from samples a join samples b on b.rowid = a.rowid + 1")
awk -v g="$gap" 'BEGIN { exit !(g < 1.0) }' || fail "a gap of $gap s in the samples"
qa "select detail from events where kind='write_failed'" | grepq "reserve" ||
  fail "no write_failed event: $(qa "select kind, detail from events where kind like 'write%'")"
record_whole qa
# the logs: dropped while full, counted, and written again afterwards
[ "$(qa "select count(*) from events where kind='log_dropped'")" -ge 1 ] || fail "no log_dropped event"
[ "$(qa "select max(dropped_bytes) from samples")" -gt 0 ] || fail "dropped log bytes not counted"
last_log=$(tail -1 "$FS/art/soak.log" | cut -c1-19)
hb_after=$(grep -c "\[HB\] alive" "$FS/art/soak.log" || true)
[ "$hb_after" -ge 50 ] || fail "the logs did not come back: $hb_after heartbeats in soak.log (last $last_log)"
analyze_run "$FS/art" --set 'gates.logs_kept=count(dropped_bytes) == 0'
[ "$(gate data_loss status)" = "pass" ] || fail "data_loss gate: $(gate data_loss status)"
[ "$(gate logs_kept status)" = "fail" ] || fail "the verdict does not say log lines were lost"
pass "disk full mid-run: $n samples ($during while full, largest gap $gap s), outcome kept, logs dropped and counted"
