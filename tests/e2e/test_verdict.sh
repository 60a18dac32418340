# The verdict of real runs: a service that leaks on purpose fails the memory gate, one that only
# saws (GC-like: memory rises and falls) passes; the outputs are there and well-formed; and
# soak analyze refuses bad input with exit 2. Short runs, so the leak settings are scaled down:
# a 4 s envelope window (the sawtooth period is 2 s), 10 s of data at least, and a threshold of
# 1500 MB/h: 30 s cannot show growth to be under 10 MB/h (the gate's pass condition), but it can
# show it to be under 1500 (the saw's upper end is 100-500; the leak below grows at 3600).
source "$(dirname "$0")/lib.sh"
short=(--duration 30s --interval 100ms --heartbeat-timeout 10s
  --set leak_window=4s --set leak_min_span=10s --set warmup=2s
  --set "gates.duration=last(duration_s) >= 25s"
  --set "gates.memory_growth=last(memory_growth_mb_per_hour) < 1500")

run_verdict() { # DIR ARGS... : soak run with the analysis on
  local dir=$1
  shift
  set +e
  timeout -k 5 120 "$SOAK" run --artifacts "$dir" --status off "${short[@]}" -- "$DEMO" "$@" \
    >"$dir.out" 2>"$dir.err"
  RC=$?
  set -e
}

# the sawtooth: 40 MiB up and down every 2 s, no leak
run_verdict "$T/saw" --hb-interval 50 --saw-mb 40 --saw-period-ms 2000
[ "$RC" -eq 0 ] || { cat "$T/saw.out" "$T/saw.err" >&2; fail "sawing service: exit $RC, expected 0 (pass)"; }
python3 - "$T/saw" <<'PY' || fail "saw outputs"
import json, sys, xml.dom.minidom
d = sys.argv[1]
a = json.load(open(d + "/resources.analysis.json"))
assert a["memory_leak_detected"] is False, a
assert a["growth_shown_below_threshold"] is True, a
assert not a["insufficient_data"], a
for k in ("rss_start_mb", "rss_end_mb", "rss_max_mb"):
    assert a["memory_stats"][k] > 0, a["memory_stats"]
assert a["memory_stats"]["rss_max_mb"] - a["memory_stats"]["rss_start_mb"] > 20, "no sawtooth seen"
v = json.load(open(d + "/verdict.json"))
assert v["pass"] is True, v
g = {x["name"]: x for x in v["gates"]}
assert g["memory_growth"]["status"] == "pass", g["memory_growth"]
assert g["crashes"]["status"] == "pass" and g["crashes"]["value"] == 0, g["crashes"]
assert g["orphan_orders"]["status"] == "no-data" and g["orphan_orders"]["optional"], g["orphan_orders"]
xml.dom.minidom.parse(d + "/junit.xml")
md = open(d + "/summary.md").read()
assert "| memory_growth |" in md and "PASS" in md, md
h = open(d + "/report.html").read()
assert h.startswith("<!DOCTYPE html>") and "memory_growth" in h, h[:200]
PY
grep -q "verdict PASS" "$T/saw.out" || fail "no verdict line: $(cat "$T/saw.out")"

# the leak: 1 MiB/s that is never freed
run_verdict "$T/leak" --hb-interval 50 --leak-kb-per-s 1024
[ "$RC" -eq 1 ] || { cat "$T/leak.out" "$T/leak.err" >&2; fail "leaking service: exit $RC, expected 1 (fail)"; }
python3 - "$T/leak" <<'PY' || fail "leak outputs"
import json, sys
d = sys.argv[1]
a = json.load(open(d + "/resources.analysis.json"))
assert a["memory_leak_detected"] is True, a
lo, hi = a["growth_interval_mb_per_hour"]
assert 2000 < a["memory_growth_mb_per_hour"] < 5000 and lo > 1500, a  # 1 MiB/s = 3600 MiB/h
v = json.load(open(d + "/verdict.json"))
assert v["pass"] is False and {x["name"]: x for x in v["gates"]}["memory_growth"]["status"] == "fail", v
PY
grep -q "memory_growth" "$T/leak/junit.xml" && grep -q "<failure" "$T/leak/junit.xml" || fail "junit has no failure"

# soak analyze again on the finished run, with the settings it recorded: same verdict
set +e; "$SOAK" analyze "$T/leak" >"$T/a.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 1 ] || fail "re-analysis: exit $rc: $(cat "$T/a.out")"
# a gate over a pattern counter, set on the command line
set +e; "$SOAK" analyze "$T/saw" --set 'gates.errors=count(pattern.error) < 1' >"$T/b.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "pattern gate: exit $rc: $(cat "$T/b.out")"

# a series from another tool: psrecord's CSV, a flat one and a leaking one
python3 - "$T" <<'PY'
import sys, random
d = sys.argv[1]
random.seed(1)
with open(d + "/flat.csv", "w") as f, open(d + "/leak.csv", "w") as g:
    for out in (f, g):
        out.write("elapsed_time,nproc,cpu,mem_real,mem_virtual\n")
    for i in range(0, 3 * 3600, 5):
        saw = 40 * ((i % 600) / 600)
        f.write(f"{i},1,3.0,{200 + saw + random.random():.3f},900\n")
        g.write(f"{i},1,3.0,{200 + saw + 50 * i / 3600 + random.random():.3f},900\n")
    f.write("garbage,row\n")
PY
ana() { set +e; "$SOAK" analyze --samples "$1" --out "$T" --set 'gates.duration=last(duration_s) >= 2h' \
  --set optional_gates=orphan_orders,security,ws_reconnects,zombies,crashes,disk >"$T/c.out" 2>&1; RC=$?; set -e; }
ana "$T/flat.csv"
[ "$RC" -eq 0 ] || fail "flat psrecord CSV: exit $RC: $(cat "$T/c.out")"
grep -q "1 rows of" "$T/c.out" || fail "skipped garbage row not reported: $(cat "$T/c.out")"
ana "$T/leak.csv"
[ "$RC" -eq 1 ] || fail "leaking psrecord CSV: exit $RC: $(cat "$T/c.out")"

# a leak right at the threshold (10 MB/h): the default rule (interval above the threshold) does
# not declare a leak, but the memory_growth gate still fails, since the growth is not shown to be
# under 10 MB/h; leak_rule=not_shown_below also declares it a leak
ramp() { # ramp FILE SEED MB_PER_H: 6 h at 0.2 Hz, a 40 MB sawtooth of 10 min, plus the ramp
  python3 - "$@" <<'PY'
import sys, random
random.seed(int(sys.argv[2]))
rate = float(sys.argv[3])
with open(sys.argv[1], "w") as g:
    g.write("elapsed_time,nproc,cpu,mem_real,mem_virtual\n")
    for i in range(0, 6 * 3600, 5):
        g.write(f"{i},1,3.0,{200 + 40 * ((i % 600) / 600) + rate * i / 3600 + random.random():.3f},900\n")
PY
}
ramp "$T/ten.csv" 1 10
ana "$T/ten.csv"
[ "$RC" -eq 1 ] || fail "10 MB/h, default rule: exit $RC: $(cat "$T/c.out")"
grep -q "not shown to be under" "$T/c.out" || fail "10 MB/h: no 'not shown' wording: $(cat "$T/c.out")"
grep -q '"memory_leak_detected":[[:space:]]*false' "$T/resources.analysis.json" || fail "10 MB/h declared a leak"
grep -q '"growth_shown_below_threshold":[[:space:]]*false' "$T/resources.analysis.json" || fail "10 MB/h shown below"
set +e; "$SOAK" analyze --samples "$T/ten.csv" --out "$T" --set leak_rule=not_shown_below \
  --set 'gates.duration=last(duration_s) >= 2h' >"$T/c.out" 2>&1; RC=$?; set -e
[ "$RC" -eq 1 ] && grep -q LEAK "$T/c.out" || fail "10 MB/h, not_shown_below: exit $RC: $(cat "$T/c.out")"
grep -q '"leak_rule":.*"not_shown_below"' "$T/resources.analysis.json" || fail "leak_rule not recorded"
# 5 MB/h over 6 h: growth shown to be under the threshold, the gate passes
ramp "$T/five.csv" 2 5
ana "$T/five.csv"
[ "$RC" -eq 0 ] || fail "5 MB/h: exit $RC: $(cat "$T/c.out")"
grep -q '"growth_shown_below_threshold":[[:space:]]*true' "$T/resources.analysis.json" || fail "5 MB/h not shown below"

# bad input: exit 2 with a message
printf 'not,a,known,header\n1,2,3,4\n' >"$T/bad.csv"
ana "$T/bad.csv"
[ "$RC" -eq 2 ] || fail "unknown CSV: exit $RC"
mkdir -p "$T/foreign" "$T/empty"
printf 'SQLite format 3\0garbage' >"$T/foreign/samples.db"
for d in "$T/foreign" "$T/empty" "$T/nowhere"; do
  set +e; "$SOAK" analyze "$d" >"$T/d.out" 2>&1; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "analyze $d: exit $rc: $(cat "$T/d.out")"
  grep -q "soak: " "$T/d.out" || fail "no message for $d"
done
head -c 5000 "$T/saw/samples.db" >"$T/empty/samples.db"   # truncated
set +e; "$SOAK" analyze "$T/empty" >"$T/d.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "truncated samples.db: exit $rc: $(cat "$T/d.out")"
set +e; "$SOAK" analyze "$T/saw" --set 'gates.x=frobnicate(rss_bytes) < 1' >"$T/d.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "bad gate: exit $rc"
# the leak threshold is MB/h: a unit there is refused, not read as bytes
set +e; "$SOAK" analyze "$T/leak" --set 'gates.memory_growth=last(memory_growth_mb_per_hour) < 10MB' \
  >"$T/d.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "without a unit" "$T/d.out" || fail "unit on the leak gate: exit $rc: $(cat "$T/d.out")"
# outputs that cannot be written: exit 3
set +e; "$SOAK" analyze "$T/saw" --out "$T/nowhere/at/all" >"$T/d.out" 2>&1; rc=$?; set -e
[ "$rc" -eq 3 ] || fail "unwritable --out: exit $rc: $(cat "$T/d.out")"
# junit.xml stays well-formed with control characters in a gate's labels
set +e; "$SOAK" analyze "$T/saw" --set "gates.odd=max(lat_ms{k=\"a$(printf '\001')b\"}) < 1" >/dev/null 2>&1; set -e
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$T/saw/junit.xml" ||
  fail "junit.xml not well-formed with a control character in a label"
pass "verdicts: saw passes, leak fails; CSV import; bad input refused"
