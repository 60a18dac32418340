# Files that are not there at the start: a log file that appears 5 s after the start is
# followed (its heartbeat keeps the watchdog quiet), and so is a new match of a glob, both from
# their first line; a file a glob matched at the start is read from its end. The keys come
# from a YAML file (logs.follow); a bad key value names file:line:key.
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/logs"
echo "old line: before the run" >"$T/logs/a.log"
cat >"$T/bot.sh" <<'EOF2'
#!/bin/bash
# heartbeats on stdout for 5 s, then only into late.log; at 6 s a new match of the glob
cd "$1"
trap 'exit 0' TERM
for i in $(seq 1 25); do echo "[HB] alive $i"; sleep 0.2; done
for i in $(seq 26 10000); do
  echo "[HB] alive $i" >>late.log
  [ "$i" -eq 30 ] && echo "glob line 1" >>logs/b.log
  [ "$i" -eq 31 ] && echo "glob line 2" >>logs/a.log
  sleep 0.2
done
EOF2
chmod +x "$T/bot.sh"
cat >"$T/soak.yaml" <<EOF2
heartbeat_timeout: 2s
logs:
  follow: [$T/late.log, "$T/logs/*.log"]
EOF2
soak_run -c "$T/soak.yaml" --duration 10s --interval 200ms --restart never --stop-timeout 2s \
  -- "$T/bot.sh" "$T"
expect_rc 0
[ "$(q "select count(*) from events where kind='hang'")" -eq 0 ] ||
  fail "a hang was declared: $(q "select detail from events where kind='hang'")"
first=$(grep -m1 ' file:late.log ' "$T/art/soak.log" | sed 's/.*alive //')
[ "$first" = 26 ] || fail "late.log's first line in soak.log is '$first', expected 26"
n=$(grep -c ' file:late.log \[HB\] alive' "$T/art/soak.log")
[ "$n" -ge 15 ] || fail "only $n heartbeats of late.log in soak.log"
grep -q ' file:b.log glob line 1$' "$T/art/soak.log" || fail "the new glob match b.log was not followed"
grep -q ' file:a.log glob line 2$' "$T/art/soak.log" || fail "a.log's new line was not followed"
grep -q 'old line' "$T/art/soak.log" && fail "a.log was read from its start, not its end"

# a bad value names file:line:key
cat >"$T/bad.yaml" <<'EOF2'
logs:
  follow: [bot.log]
  journal_unit: --all
EOF2
soak_run -c "$T/bad.yaml" --duration 1s -- true
expect_rc 2
grep -q "bad.yaml:3: key 'logs.journal_unit': '--all' is not a systemd unit name" "$T/stderr" ||
  fail "the message does not name file:line:key: $(cat "$T/stderr")"
pass "a file 5 s late and a new glob match followed from their start ($n heartbeats), no hang"
