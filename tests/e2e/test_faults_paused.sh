# Fault: soak itself paused (SIGSTOP for 10 s, as when a CI VM is paused or a laptop sleeps),
# with a healthy service whose heartbeats wait in the pipe. The heartbeats written meanwhile are
# read before the watchdog judges, the pause is recorded as a soak_paused event, no hang is
# declared, the service is not killed, and the run passes.
source "$(dirname "$0")/faults_lib.sh"
demo=$(mkdemo)
"$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 18s --interval 200ms \
  --heartbeat-timeout 5s --restart never -- "$demo" --hb-interval 200 >"$T/stdout" 2>"$T/stderr" &
spid=$!
sleep 3
before=$(q "select count(*) from samples")
pid_before=$(q "select value from events where kind='start'")
kill -STOP "$spid"
sleep 10
kill -CONT "$spid"
wait_soak "$spid"
expect_rc 0
[ "$(q "select count(*) from events where kind='hang'")" -eq 0 ] ||
  fail "a hang was declared: $(q "select detail from events where kind='hang'")"
grep -q "hangs 0" "$T/stdout" || fail "the outcome counts a hang: $(cat "$T/stdout")"
[ "$(q "select count(*) from events where kind in ('restart', 'stop_kill')")" -eq 0 ] ||
  fail "the service was restarted or killed: $(q "select kind, detail from events")"
[ "$(q "select count(*) from events where kind='start'")" -eq 1 ] || fail "more than one start"
# the pause itself is on record, with its length
gap=$(q "select value from events where kind='soak_paused'")
[ -n "$gap" ] || fail "no soak_paused event: $(q "select kind, detail from events")"
awk -v g="$gap" 'BEGIN { exit !(g >= 9.5 && g <= 12) }' || fail "pause recorded as $gap s, expected ~10"
q "select detail from events where kind='soak_paused'" | grepq "not counted as a hang" ||
  fail "the pause event does not say what it means: $(q "select detail from events where kind='soak_paused'")"
# samples before the pause are kept, and sampling goes on after it
after=$(q "select count(*) from samples where t > (select t from events where kind='soak_paused')")
[ "$before" -ge 10 ] || fail "only $before samples before the pause"
[ "$after" -ge 10 ] || fail "only $after samples after the pause"
record_whole q
# the heartbeats written during the pause were read (the service was alive all along)
[ "$(grep -c '\[HB\] alive' "$T/art/soak.log")" -ge 70 ] || fail "heartbeats lost: $(grep -c '\[HB\] alive' "$T/art/soak.log")"
pass "paused 10 s: soak_paused ($gap s) recorded, no hang, $before + $after samples, pid $pid_before kept"
