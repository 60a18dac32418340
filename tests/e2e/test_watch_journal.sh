# soak watch with logs.journal_unit: journalctl is soak's own helper child, never a part of
# the target. Here soak runs inside the tree it watches (a shell that starts a service and
# then `soak watch --pid $$`): the samples count the shell, the service and soak, never the
# journalctl below soak; killing journalctl is no reaped orphan, a new one goes on after the
# last record read, and none is left after the run. The stand-in journalctl of
# tests/fixtures/journal (no systemd here) prints 5 records (6 lines), then waits.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
cp "$(command -v sleep)" "$T/sleepy"
cat >"$T/wrap.sh" <<EOF2
"$T/sleepy" 300 &
"$SOAK" watch --pid \$\$ --artifacts "$T/art" --status plain --duration 5s --interval 100ms \
  --set analyze=false --set logs.journal_unit=mmbot.service >"$T/stdout" 2>"$T/stderr"
echo "rc \$?" >"$T/rc"
EOF2
journal_kill_after 2.5 # the journalctl that runs 2.5 s after the start: SIGKILL
timeout -k 5 60 bash "$T/wrap.sh" || true
wait "$JOURNAL_KILLER" || true
[ "$(cat "$T/rc")" = "rc 0" ] || { cat "$T/stderr" >&2; fail "soak watch: $(cat "$T/rc")"; }

# the watched tree: the shell, the service and soak; never journalctl
mp=$(q "select max(procs) from samples")
[ "$mp" -eq 3 ] || fail "the samples count up to $mp processes, expected 3 (journalctl left out)"
[ "$(q "select min(procs) from samples where elapsed_s > 0.3")" -eq 3 ] ||
  fail "the samples count as few as $(q "select min(procs) from samples where elapsed_s > 0.3")"
grep -q 'orphans reaped 0$' "$T/stdout" ||
  fail "journalctl counted as a reaped orphan: $(grep orphans "$T/stdout")"
[ "$(q "select count(*) from events where kind in ('exit','restart')")" -eq 0 ] ||
  fail "the target did not exit: $(q "select kind, detail from events where kind in ('exit','restart')")"

[ "$(grep -c '^pid' "$T/stub.log")" -eq 2 ] ||
  fail "journalctl started $(grep -c '^pid' "$T/stub.log") times, expected 2: $(cat "$T/stub.log")"
grep -q -- '--after-cursor s=8f3c' "$T/stub.log" || fail "no journalctl after the last cursor"
n=$(grep -c ' journal:mmbot.service ' "$T/art/soak.log")
[ "$n" -eq 6 ] || fail "$n journal lines in soak.log, expected 6 (each once)"
journal_none_left
pkill -f "$T/sleepy" || true
pass "soak watch: journalctl is not in the watched tree nor a reaped orphan; restarted after the last cursor, gone after the run"
