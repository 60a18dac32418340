#!/usr/bin/env bash
# A leak stays a leak when the service takes its time to stop: samples taken while soak stops
# it (its memory falling as it frees, then what it leaves behind) are not its steady state and
# stay out of the growth fit (runrec_stop_spans). Before, the teardown's low samples fell in
# the last envelope window and the verdict read "no leak shown: still warming up".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"

# 1 MiB a second, kept; on SIGTERM it frees 45 % of it and exits 0.6 s later
cat >"$T/leaky.py" <<'PY'
import signal, sys, time
keep = []
def term(*_):
    del keep[int(len(keep) * 0.55):]
    time.sleep(0.6)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
i = 0
while True:
    keep.append(bytearray(1 << 20))
    b = keep[-1]
    b[::4096] = b"x" * len(b[::4096])  # touch every page: resident
    i += 1
    print("[HB] alive", i, flush=True)
    time.sleep(1)
PY
diag_run "$T/run" --duration 30s --set "gates.memory_growth=last(memory_growth_mb_per_hour) < 1500" \
  -- python3 "$T/leaky.py"
[ "$RC" -eq 1 ] || { cat "$T/run.out" "$T/run.err" >&2; fail "exit $RC, expected 1 (the memory gate)"; }
# the teardown was sampled: RSS fell by a quarter or more after the stop, with the process there
fell=$(sqlite3 "$T/run/samples.db" "select count(*) from samples where procs > 0 and
  t > (select t from events where kind='stop') and
  rss_bytes < (select max(rss_bytes) from samples) * 0.75 and rss_bytes > 0")
[ "$fell" -gt 0 ] || fail "no sample of the teardown: the test did not test anything"
grep -E '^  memory \(rss\): \+[0-9.]+ MB/h, 95% interval .*: LEAK$' "$T/run.out" >/dev/null ||
  fail "the verdict is not LEAK: $(grep 'memory (rss)' "$T/run.out")"
python3 - "$T/run/verdict.json" <<'PY' || fail "memory gate: $(grep memory_growth "$T/run.out")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["gates"]}
assert g["memory_growth"]["status"] == "fail", g["memory_growth"]
PY
# soak diagnose reads the same series: section 1 fails
diagnose "$T/run" --section 1
grep -q "^1. memory: fail" "$T/run.diag" || fail "diagnose: $(cat "$T/run.diag")"
pass "a slow teardown is left out of the leak fit: LEAK, the memory gate fails, diagnose agrees"
