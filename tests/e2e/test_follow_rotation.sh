# A service that writes its heartbeat only to a log file (numbered lines) and rotates it itself:
# by rename every 2 s (as Python's RotatingFileHandler: bot.log -> bot.log.1 ..., reopen
# bot.log), then by copytruncate (copy, then truncate in place). soak follows the file
# (--follow-log): every heartbeat is in soak.log once (none lost, none twice), no hang is
# declared with a heartbeat timeout far shorter than the run, and the metric
# soak_log_lines_total{stream="file:bot.log"} counts the lines on /metrics.
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/logs"
cat >"$T/bot.sh" <<'EOF2'
#!/bin/bash
# numbered heartbeats every 50 ms; every 2 s a rotation: the first two by rename, then by
# copytruncate
cd "$1"
i=0
rot=0
last_rot=$(date +%s%N)
trap 'exit 0' TERM
while :; do
  i=$((i + 1))
  echo "$(date +%T.%N) [HB] alive $i" >>bot.log
  now=$(date +%s%N)
  if [ $((now - last_rot)) -ge 2000000000 ]; then
    last_rot=$now
    rot=$((rot + 1))
    if [ "$rot" -le 2 ]; then
      for k in 8 7 6 5 4 3 2 1; do [ -f bot.log.$k ] && mv bot.log.$k bot.log.$((k + 1)); done
      mv bot.log bot.log.1
    else
      cp bot.log "copy.$i" && : >bot.log
    fi
  fi
  sleep 0.05
done
EOF2
chmod +x "$T/bot.sh"
echo "[HB] alive 0 (written before the run: not read, the file is followed from its end)" \
  >"$T/logs/bot.log"

set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/art" --status plain --set analyze=false \
  --duration 11s --interval 200ms --heartbeat-timeout 1s --restart never --stop-timeout 2s \
  --listen 127.0.0.1:0 --follow-log "$T/logs/bot.log" -- "$T/bot.sh" "$T/logs" \
  >"$T/stdout" 2>"$T/stderr" &
spid=$!
set -e
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*live view on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/stdout")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$T/stderr" >&2; fail "no live view port"; }
sleep 3
metric=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics" |
  sed -n 's/^soak_log_lines_total{stream="file:bot.log"} \([0-9]*\)$/\1/p')
[ -n "$metric" ] && [ "$metric" -ge 20 ] ||
  fail "soak_log_lines_total{stream=\"file:bot.log\"} is '$metric' after 3 s, expected >= 20"
set +e
wait "$spid"
RC=$?
set -e
expect_rc 0

# what the service wrote: every number once, across the rotated files and the copies
written=$(cat "$T"/logs/bot.log* "$T"/logs/copy.* | sed -n 's/.*\[HB\] alive \([0-9]*\)$/\1/p' |
  sort -n | uniq | awk '$1 > 0' | tail -1)
[ "${written:-0}" -ge 100 ] || fail "the service wrote only ${written:-0} heartbeats"
ls "$T"/logs/bot.log.2 >/dev/null || fail "the service did not rotate by rename twice"
ls "$T"/logs/copy.* >/dev/null || fail "the service did not copytruncate"
grep ' file:bot.log ' "$T/art/soak.log" | sed -n 's/.*\[HB\] alive \([0-9]*\)$/\1/p' >"$T/seen"
dups=$(sort -n "$T/seen" | uniq -d | head -5 | tr '\n' ' ')
[ -z "$dups" ] || fail "heartbeats read twice: $dups"
grep -qx 0 "$T/seen" && fail "the line written before the run was read"
missing=$(seq 1 "$written" | sort | comm -23 - <(sort "$T/seen") | head -5 | tr '\n' ' ')
[ -z "$missing" ] || fail "heartbeats lost (of 1..$written): $missing"
[ "$(wc -l <"$T/seen")" -eq "$written" ] || fail "$(wc -l <"$T/seen") lines, expected $written"
hangs=$(q "select count(*) from events where kind='hang'")
[ "$hangs" -eq 0 ] || fail "a hang was declared: $(q "select detail from events where kind='hang'")"
grep -q "hangs 0" "$T/stdout" || fail "the outcome does not say hangs 0"
pass "all $written heartbeats seen once across rename rotation and copytruncate, no hang, metric $metric"
