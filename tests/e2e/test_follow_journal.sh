# logs.journal_unit: a unit's journal through `journalctl -f -o json -u UNIT -n 0`. There is no
# systemd on the test machines: a stand-in journalctl first on PATH
# (tests/fixtures/journal/journalctl) checks its arguments and prints records in the form of
# `journalctl -o json` (a MESSAGE as a string, as an array of bytes, with a newline). Their
# lines reach soak.log as "journal:UNIT", the patterns count them, and the child is gone when
# soak ends.
source "$(dirname "$0")/lib.sh"
export PATH="$SRC/tests/fixtures/journal:$PATH"
export JOURNAL_STUB_LOG="$T/stub.log" JOURNAL_STUB_DELAY=0.2
soak_run --duration 4s --interval 200ms --heartbeat '' --restart never --stop-timeout 1s \
  --set logs.journal_unit=mmbot.service -- sleep 30
expect_rc 0
grep -q ' journal:mmbot.service \[HB\] alive 1$' "$T/art/soak.log" ||
  fail "the journal's first line is not in soak.log: $(grep journal "$T/art/soak.log" | head -3)"
grep -q ' journal:mmbot.service \[HB\] alive 2 ' "$T/art/soak.log" ||
  fail "a MESSAGE given as bytes is not in soak.log"
grep -q ' journal:mmbot.service   File "cli/run_bot.py", line 12' "$T/art/soak.log" ||
  fail "the second line of a multi-line MESSAGE is not in soak.log"
errors=$(q "select count(*) from events where kind='pattern' and detail like 'error: %'")
[ "$errors" -eq 2 ] || fail "the error pattern matched $errors journal lines, expected 2"
args=$(sed -n 's/^pid [0-9]* args //p' "$T/stub.log")
[ "$args" = "-f -o json -u mmbot.service -n 0" ] || fail "journalctl was called with '$args'"
pid=$(sed -n 's/^pid \([0-9]*\) .*/\1/p' "$T/stub.log")
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "journalctl ($pid) outlived soak"

# a restart of the service stops its tree, never journalctl: soak's own helper, not a part of
# the service (helpers.h), goes on across the restart, so every line is there once (when a
# journalctl dies, a new one goes on after the last record read: test_journal_helper.sh)
rm -rf "$T/art" "$T/stub.log"
export JOURNAL_STUB_DELAY=0.5
cat >"$T/svc.sh" <<EOF2
#!/bin/sh
if [ -f "$T/once" ]; then exec sleep 30; fi
touch "$T/once"; sleep 1.2; exit 1
EOF2
chmod +x "$T/svc.sh"
soak_run --duration 5s --interval 200ms --heartbeat '' --restart on-failure --set restart_delay=200ms \
  --stop-timeout 1s --set logs.journal_unit=mmbot.service -- "$T/svc.sh"
[ "$(q "select count(*) from events where kind='restart'")" -eq 1 ] ||
  fail "the service was not restarted: $(q "select kind, detail from events")"
[ "$(grep -c '^pid' "$T/stub.log")" -eq 1 ] ||
  fail "the service's restart stopped journalctl: $(cat "$T/stub.log")"
n=$(grep -c ' journal:mmbot.service ' "$T/art/soak.log")
[ "$n" -eq 6 ] || fail "$n journal lines in soak.log across the restart, expected 6 (each once)"
pass "the journal's lines in soak.log and the patterns; journalctl stopped with soak; a restart of the service leaves it running and loses and repeats nothing"
