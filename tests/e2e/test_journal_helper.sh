# journalctl (logs.journal_unit) is soak's own helper child, never a part of the service: the
# service's process count leaves it out (also while the service waits for its restart and
# soak's own tree holds nothing else), a service's restart does not stop it, killing it is no
# crash, no exit and no reaped orphan of the service, and a new journalctl goes on after the
# last record read; after the run no journalctl is left. A stand-in journalctl first on PATH
# (tests/fixtures/journal/journalctl: no systemd here) prints 5 records (6 lines), then waits.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
# the service: exits 0 after 0.8 s (restart: always, after 2 s), then runs to the end
cat >"$T/svc.sh" <<EOF2
#!/bin/sh
if [ -f "$T/once" ]; then exec sleep 30; fi
touch "$T/once"; sleep 0.8; exit 0
EOF2
chmod +x "$T/svc.sh"
journal_kill_after 4 # the journalctl that runs 4 s after the start: SIGKILL
soak_run --duration 7s --interval 100ms --heartbeat '' --restart always --set restart_delay=2s \
  --stop-timeout 1s --set logs.journal_unit=mmbot.service -- "$T/svc.sh"
wait "$JOURNAL_KILLER" || true
expect_rc 0

# the service exited once by itself and once at the end's stop, and was restarted once; the
# journalctl's death is none of these
[ "$(q "select count(*) from events where kind='exit'")" -eq 2 ] ||
  fail "exits recorded: $(q "select kind, detail from events where kind in ('exit','restart')")"
[ "$(q "select count(*) from events where kind='restart'")" -eq 1 ] ||
  fail "restarts recorded: $(q "select kind, detail from events where kind='restart'")"
[ "$(q "select value from run where key='crashes'")" = 0 ] ||
  fail "crashes: $(q "select value from run where key='crashes'")"
grep -q 'restarts     1, crashes 0' "$T/stdout" || fail "the summary: $(grep restarts "$T/stdout")"
grep -q 'orphans reaped 0$' "$T/stdout" ||
  fail "journalctl counted as a reaped orphan of the service: $(grep orphans "$T/stdout")"

# while the service waits for its restart nothing of it runs: 0 processes, journalctl or not
since=$(q "select t from events where kind='restart_scheduled'")
until=$(q "select t from events where kind='restart'")
nb=$(q "select count(*) from samples where t > $since + 0.15 and t < $until - 0.15")
[ "$nb" -ge 10 ] || fail "only $nb samples while the service waited for its restart"
mp=$(q "select max(procs) from samples where t > $since + 0.15 and t < $until - 0.15")
[ "$mp" -eq 0 ] || fail "the service's process count while it was not running: $mp (journalctl?)"
[ "$(q "select procs from samples order by t desc limit 1")" -eq 0 ] ||
  fail "the last sample counts processes: $(q "select procs from samples order by t desc limit 1")"

# one journalctl across the service's restart; after the kill, a new one after the last cursor
[ "$(grep -c '^pid' "$T/stub.log")" -eq 2 ] ||
  fail "journalctl started $(grep -c '^pid' "$T/stub.log") times, expected 2: $(cat "$T/stub.log")"
args1=$(sed -n '1s/^pid [0-9]* args //p' "$T/stub.log")
[ "$args1" = "-f -o json -u mmbot.service -n 0" ] || fail "the first journalctl: '$args1'"
last=$(sed -n '5s/^{"__CURSOR":"\([^"]*\)".*/\1/p' "$SRC/tests/fixtures/journal/mmbot.json")
args2=$(sed -n '2s/^pid [0-9]* args //p' "$T/stub.log")
[ "$args2" = "-f -o json -u mmbot.service --after-cursor $last" ] ||
  fail "the journalctl after the kill: '$args2'"
n=$(grep -c ' journal:mmbot.service ' "$T/art/soak.log")
[ "$n" -eq 6 ] || fail "$n journal lines in soak.log, expected 6 (each once)"

# stopped by soak at the end: no journalctl outlives the run
journal_none_left
pass "journalctl is soak's helper: not in the service's count, not stopped by its restart, its death no crash; restarted after the last cursor, gone after the run"
