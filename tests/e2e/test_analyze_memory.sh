# `soak analyze` streams: its peak memory does not grow with the number of samples (a 7-day run
# at 100 ms is 6 million of them; bench/README.md has that figure, 930 MiB before, 26 MiB now).
# Runs of 200,000 and 700,000 samples (both past the exact caps of the leak input and of the
# percentiles, so both are bounded) with a scraped series and percentile gates must peak within
# 24 MiB of each other: 48 bytes per added sample, where keeping the samples took 150 (and the
# sanitizer build adds a little per second of run time of its own; the release build peaks at
# the same RSS for both).
source "$(dirname "$0")/lib.sh"

# mkrun DIR N: a run of N samples at 100 ms (a 20 MB/h leak under a sawtooth) and a scraped
# series every 10 s, with soak's schema (built by SQL: fast)
mkrun() {
  mkdir -p "$1"
  sqlite3 "$1/samples.db" <<EOF
CREATE TABLE run(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE samples(t REAL NOT NULL, elapsed_s REAL, rss_bytes INTEGER, pss_bytes INTEGER,
 cpu_percent REAL, cpu_seconds REAL, threads INTEGER, fds INTEGER, procs INTEGER, zombies INTEGER,
 artifacts_bytes INTEGER, disk_free_bytes INTEGER, restarts INTEGER, log_lines INTEGER,
 dropped_bytes INTEGER, heartbeat_age_s REAL);
CREATE TABLE events(t REAL NOT NULL, kind TEXT NOT NULL, detail TEXT, value REAL, failure INTEGER);
CREATE TABLE metrics(t REAL NOT NULL, name TEXT NOT NULL, labels TEXT, value REAL);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $2 - 1)
INSERT INTO samples SELECT 1.7e9 + i * 0.1, i * 0.1,
  CAST(300e6 + 20 * 1048576 * (i * 0.1) / 3600 + 150e6 * ((i % 12000) / 12000.0)
       + abs(random() % 2000000) AS INTEGER),
  NULL, abs(random() % 1000) / 100.0, i * 0.005, 12, 40, 1, 0, 50000000, 80000000000, 0, i, 0, 1.0
FROM c;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $2 / 100 - 1)
INSERT INTO metrics SELECT 1.7e9 + i * 10, 'latency_ms', '', abs(random() % 10000) / 100.0 FROM c;
INSERT INTO run VALUES('start_time', '1.7e9'), ('end_time', 1.7e9 + $2 * 0.1),
  ('command', 'synthetic'), ('config', '');
EOF
}

cat >"$T/soak.yaml" <<'EOF'
gates:
  p99_cpu: p99(cpu_percent) < 90
  p95_latency: p95(latency_ms) < 1000
EOF

# peak DIR [ARGS...]: max RSS in KiB of `soak analyze ARGS`
peak() {
  /usr/bin/time -f "%M" -o "$T/time" "$SOAK" analyze "$@" >"$T/out" 2>&1 || true
  grep -q "soak: verdict" "$T/out" || fail "analyze $*: $(cat "$T/out")"
  tail -n 1 "$T/time"
}

mkrun "$T/small" 200000
mkrun "$T/large" 700000
s=$(peak -c "$T/soak.yaml" "$T/small")
l=$(peak -c "$T/soak.yaml" "$T/large")
grep -q '"samples":	700000' "$T/large/resources.analysis.json" ||
  fail "large: $(grep samples "$T/large/resources.analysis.json")"
grep -q '"memory_leak_detected":	true' "$T/large/resources.analysis.json" || fail "large: no leak found"
grep -q '"name":	"p95_latency"' "$T/large/verdict.json" || fail "large: the metric gate is missing"
echo "samples.db: 200k samples peak $((s / 1024)) MiB, 700k samples peak $((l / 1024)) MiB"
[ $((l - s)) -lt $((24 * 1024)) ] || fail "memory grows with the samples: $s KiB -> $l KiB"
pass "analyze memory does not grow with the samples ($((s / 1024)) -> $((l / 1024)) MiB)"
