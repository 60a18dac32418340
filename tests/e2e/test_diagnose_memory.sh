# soak diagnose, runbook section 1: a service that leaks memory fails the memory gate and the
# diagnosis says which kind grew (heap or anonymous mappings); one that opens a file every
# second and never closes it fails the fds gate and the diagnosis says "regular files". soak run
# wrote diagnosis.json itself (the verdict failed) and report.html has the Diagnosis section,
# linked from the failing gates.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"

# 1 MiB/s in 50 KiB pieces (malloc's heap), 30 s
diag_run "$T/leak" --duration 30s --set "gates.memory_growth=last(memory_growth_mb_per_hour) < 1500" \
  --set memory_detail=on-leak -- "$DEMO" --hb-interval 50 --leak-kb-per-s 1024
[ "$RC" -eq 1 ] || { cat "$T/leak.out" "$T/leak.err" >&2; fail "leak: exit $RC, expected 1"; }
[ -f "$T/leak/diagnosis.json" ] || fail "soak run wrote no diagnosis.json for a failed verdict"
# memory_detail: on-leak keeps the largest process's smaps at start and stop, to diff
for p in start stop; do
  grep -q '^Rss:' "$T/leak/smaps-$p.txt" 2>/dev/null || fail "on-leak: no smaps-$p.txt: $(ls "$T/leak")"
done
[ "$(sqlite3 "$T/leak/samples.db" "select count(*) from memdetail where phase in ('start','stop')")" -eq 2 ] ||
  fail "memdetail: no start and stop rows: $(sqlite3 "$T/leak/samples.db" 'select phase from memdetail')"
grep -q "diagnosis    $T/leak/diagnosis.json" "$T/leak.out" || fail "no diagnosis line: $(cat "$T/leak.out")"
dj "$T/leak" '
s = sec(1)
assert s["severity"] == "fail", s
f = [f for f in s["findings"] if "grows" in f["finding"] and "memory" in f["finding"]][0]
assert f["severity"] == "fail" and f["values"]["growth_mb_per_hour"] > 1500, f
k = [f for f in s["findings"] if "grew_most" in f["values"]][0]
assert k["values"]["grew_most"] in ("heap", "anonymous mappings"), k
assert "heap +" in k["finding"] or "anonymous mappings +" in k["finding"], k
assert "look at" in k["advice"], k
'
# the report: the Diagnosis section, and the failing memory gate links to it
grep -q '<h2 id="diagnosis">Diagnosis</h2>' "$T/leak/report.html" || fail "no Diagnosis section in report.html"
grep -q '<h3 id="diag-1">1. memory: <span class="fail">fail' "$T/leak/report.html" || fail "report: section 1 not failing"
grep -q 'href="#diag-1">diagnosis</a>' "$T/leak/report.html" || fail "report: the memory gate does not link to the diagnosis"
grep -Eq '(heap|anonymous mappings) \+[0-9.]+ MB/h' "$T/leak/report.html" || fail "report: which kind grew is missing"
# the terminal: failing sections first, the memory one among them
diagnose "$T/leak"
[ "$DRC" -eq 1 ] || fail "soak diagnose: exit $DRC, expected 1"
head -3 "$T/leak.diag" | grepq "fail" || fail "the first section shown is not failing: $(head -5 "$T/leak.diag")"
grep -q "^1. memory: fail" "$T/leak.diag" || fail "no memory section: $(cat "$T/leak.diag")"

# a file opened every second, never closed (a window of the 15-minute bar scaled down)
cat >"$T/fdleak.py" <<PY
import time
keep = []
i = 0
while True:
    keep.append(open("$T/f%d" % i, "a"))
    i += 1
    print("[HB] alive", i, flush=True)
    time.sleep(1)
PY
diag_run "$T/fd" --duration 40s -- python3 "$T/fdleak.py"
# memory_detail off (the default): no copies
ls "$T/fd"/smaps-*.txt >/dev/null 2>&1 && fail "memory_detail off kept smaps copies"
[ "$RC" -eq 1 ] || { cat "$T/fd.out" "$T/fd.err" >&2; fail "fd leak: exit $RC, expected 1"; }
python3 - "$T/fd/verdict.json" <<'PY' || fail "fds gate: $(cat "$T/fd.out")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["gates"]}
assert g["fds"]["status"] == "fail" and g["fds"]["value"] > 1000, g["fds"]
assert g["threads"]["status"] == "pass", g["threads"]
PY
dj "$T/fd" '
s = sec(1)
assert s["severity"] == "fail", s
f = [f for f in s["findings"] if f["finding"].startswith("open fds")][0]
assert f["severity"] == "fail" and f["key"] == "gates.fds", f
assert "regular files grew most" in f["finding"], f
last = [f for f in s["findings"] if f["finding"].startswith("fds by type")][0]
assert last["values"]["files"] >= 20, last
'
diagnose "$T/fd" --section 1
grep -q "regular files" "$T/fd.diag" || fail "soak diagnose --section 1 does not say regular files: $(cat "$T/fd.diag")"
grep -q "^2\. " "$T/fd.diag" && fail "--section 1 printed another section"
pass "diagnose memory: the kind that grew; fds: regular files"
