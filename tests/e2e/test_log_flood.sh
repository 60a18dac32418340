# A log flood of 200 MB with 10 MB rotation and 3 files: the folder stays under its quota,
# no line is split across files, every .gz decompresses, and the numbers add up.
source "$(dirname "$0")/lib.sh"
quota=$((60 * 1000 * 1000))
soak_run --duration 120s --interval 200ms --heartbeat '' --restart never \
  --set max_log_size=10MB --set max_log_files=3 --set artifacts_quota=$quota \
  -- "$FLOOD" --bytes 200000000 --stderr-every 100
expect_rc 0
cd "$T/art"
ls -la >&2
used=$(du -sb . | cut -f1)
[ "$used" -le "$quota" ] || fail "artifacts folder $used bytes > quota $quota"
n=$(ls soak-*.log.gz 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "$n rotated files, expected 1..3"
[ "$(q "select count(*) from events where kind='rotation'")" -ge 15 ] || fail "too few rotations"
[ "$(q "select count(*) from events where kind='cleanup'")" -ge 1 ] || fail "no cleanup events"
for f in soak-*.log.gz; do
  gzip -t "$f" || fail "$f does not decompress"
  # whole lines only: every line starts with a timestamp and a stream, the last ends with \n
  zcat "$f" | tail -c 1 | od -An -c | grepq '\\n' || fail "$f ends mid-line"
  bad=$(zcat "$f" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z (out|err|soak)\+? ' || true)
  [ "$bad" -eq 0 ] || fail "$f has $bad lines without the prefix (a split line?)"
  sz=$(zcat "$f" | wc -c)
  [ "$sz" -le 10000000 ] || fail "$f holds $sz bytes, more than max_log_size"
done
tail -c 1 soak.log | od -An -c | grepq '\\n' || fail "soak.log ends mid-line"
# line numbers of the flood are consecutive inside each file, so no line was split or lost
for f in soak-*.log.gz; do
  zcat "$f" | grep -oE ' out .* tick [0-9]+' | grep -oE '[0-9]+$' |
    awk 'NR > 1 && $1 != prev + 1 && $1 != prev + 2 { print "gap after " prev; exit 1 } { prev = $1 }' ||
    fail "$f: lines missing in the middle"
done
dropped=$(q "select max(dropped_bytes) from samples")
lines=$(q "select max(log_lines) from samples")
[ "$lines" -ge 1900000 ] || fail "only $lines lines counted"
pass "200 MB flood: $n rotated files, $used bytes used, $lines lines, $dropped bytes dropped"
