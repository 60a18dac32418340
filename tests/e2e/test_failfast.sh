#!/usr/bin/env bash
# --fail-fast on a live run (docs/soak-run.md, "Fail fast"): a leak proven by the sequential
# rule stops the run well before its duration, the verdict names the memory gate and when
# (verdict.json stopped_by), exit 1; a clean service and a borderline leak run to the end.
# The leak window is shrunk for a short run (leak_window 4s for 30 min: 450 times faster), and
# so is what a slow cycle can explain (fail_fast_cycle).
source "$(dirname "$0")/lib.sh"
short=(--duration 40s --interval 100ms --heartbeat-timeout 10s --fail-fast
  --set leak_window=4s --set leak_min_span=8s --set warmup=2s --set fail_fast_cycle=4MB)

run_ff() { # DIR MEMORY_GATE_MB_PER_H ARGS...
  local dir=$1 thr=$2
  shift 2
  set +e
  local t0=$SECONDS
  timeout -k 5 120 "$SOAK" run --artifacts "$dir" --status off "${short[@]}" \
    --set "gates.duration=last(duration_s) >= 35s" \
    --set "gates.memory_growth=last(memory_growth_mb_per_hour) < $thr" \
    -- "$DEMO" "$@" >"$dir.out" 2>"$dir.err"
  RC=$?
  WALL=$((SECONDS - t0))
  set -e
}

# 1 MiB/s is 3774 MB/h: five times a 750 MB/h threshold (50 MB/h against 10)
run_ff "$T/leak" 750 --hb-interval 50 --leak-kb-per-s 1024
[ "$RC" -eq 1 ] || { cat "$T/leak.out" "$T/leak.err" >&2; fail "leak: exit $RC, expected 1"; }
[ "$WALL" -lt 32 ] || fail "leak: the run took ${WALL}s of its 40s: not stopped early"
grep -q "fail-fast: gate 'memory_growth' can no longer pass" "$T/leak.err" ||
  fail "leak: no fail-fast message: $(cat "$T/leak.err")"
grep -q "stopped by fail-fast" "$T/leak.out" || fail "leak: outcome: $(cat "$T/leak.out")"
python3 - "$T/leak" <<'PY' || fail "leak verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
assert v["pass"] is False, v
sb = v["stopped_by"]
assert sb["gate"] == "memory_growth", sb
assert 8 <= sb["elapsed_s"] <= 30, sb
PY

# a clean sawing service runs to the end and passes
run_ff "$T/clean" 750 --hb-interval 50 --saw-mb 40 --saw-period-ms 2000
[ "$RC" -eq 0 ] || { cat "$T/clean.out" "$T/clean.err" >&2; fail "clean: exit $RC, expected 0"; }
[ "$WALL" -ge 38 ] || fail "clean: the run ended after ${WALL}s of its 40s"
python3 - "$T/clean" <<'PY' || fail "clean verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
assert v["pass"] is True and "stopped_by" not in v, v
PY

# borderline: the same leak against 4000 MB/h (0.94 of it): not proven, the run continues
run_ff "$T/border" 4000 --hb-interval 50 --leak-kb-per-s 1024
[ "$WALL" -ge 38 ] || { cat "$T/border.err" >&2; fail "borderline: stopped after ${WALL}s"; }
python3 - "$T/border" <<'PY' || fail "borderline verdict"
import json, sys
v = json.load(open(sys.argv[1] + "/verdict.json"))
assert "stopped_by" not in v, v
PY
! grep -q "fail-fast:" "$T/border.err" || fail "borderline: $(cat "$T/border.err")"
echo "ok"
