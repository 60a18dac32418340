#!/usr/bin/env bash
# `soak analyze --samples FILE` on imported series whose growth the data cannot tell from a
# leak (docs/leak-verdict.md, step 10): a 4 h cycle seen for 3 h over its crest, whose growth
# slows down. It is no leak; the console,
# resources.analysis.json and verdict.json say why, in the same words. (The "last half too
# short" reason depends on where the warm-up detector ends a life, which the noise moves: its
# shape is a unit test, tests/unit/test_leakstat.c, test_restart_in_short_run_is_short.)
source "$(dirname "$0")/lib.sh"

python3 - "$T" <<'PY'
import math, random, sys
d = sys.argv[1]
random.seed(11)
MB = 1e6
def write(name, fn, hours=3, step=1):
    with open(f"{d}/{name}.csv", "w") as f:
        f.write("elapsed_s,rss_bytes\n")
        for i in range(int(hours * 3600 / step)):
            t = i * step
            f.write(f"{t},{int(fn(t) + random.gauss(0, 1e6))}\n")
# a 4 h cycle of +-50 MB, its trough half an hour in: falls, then rises ever slower
write("cycle", lambda t: 300 * MB - 50 * MB * math.cos(2 * math.pi * (t - 1800) / (4 * 3600)))
PY

check() { # NAME WORDS: the reason both files and the console give
  local name=$1 words=$2
  mkdir -p "$T/$name"
  set +e
  "$SOAK" analyze --samples "$T/$name.csv" --out "$T/$name" >"$T/$name.out" 2>&1
  local rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "$name: exit $rc, want 1 (memory_growth fails): $(cat "$T/$name.out")"
  grep -qF "memory (rss): " "$T/$name.out" || fail "$name: no memory line: $(cat "$T/$name.out")"
  grep -F "memory (rss): " "$T/$name.out" | grepq -F "no leak shown: $words" ||
    fail "$name: console does not say '$words': $(cat "$T/$name.out")"
  python3 - "$T/$name" "$words" <<'PY' || fail "$name: $(cat "$T/$name.out")"
import json, sys
d, words = sys.argv[1], sys.argv[2]
a = json.load(open(d + "/resources.analysis.json"))
assert a["memory_leak_detected"] is False, a
assert a["insufficient_data"] is False, a
assert a["inconclusive_reason"] == words, a["inconclusive_reason"]
assert a["growth_interval_mb_per_hour"][0] > 10, a["growth_interval_mb_per_hour"]
v = json.load(open(d + "/verdict.json"))
g = [g for g in v["gates"] if g["name"] == "memory_growth"]
assert len(g) == 1, v
assert g[0]["status"] == "fail", g
assert g[0]["reason"] == "memory verdict inconclusive: " + words, g
assert v["pass"] is False, v
PY
}

check cycle "still warming up (growth slowing down)"
echo "ok"
