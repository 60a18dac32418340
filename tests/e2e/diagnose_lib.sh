# Helpers of the test_diagnose_*.sh tests (sourced after lib.sh): a short soak run with the
# analysis on and the leak settings scaled down, and checks on diagnosis.json.
# Short runs: a 4 s envelope window, 10 s of data at least, the slow pass every 5 s.
short=(--interval 100ms --heartbeat-timeout 10s --status off
  --set leak_window=4s --set leak_min_span=10s --set warmup=2s
  --set memory_detail_interval=5s)

# diag_run DIR ARGS... : soak run with the analysis on (the verdict, the diagnosis when it fails)
diag_run() {
  local dir=$1
  shift
  set +e
  timeout -k 5 "${LIMIT:-120}" "$SOAK" run --artifacts "$dir" "${short[@]}" "$@" \
    >"$dir.out" 2>"$dir.err"
  RC=$?
  set -e
}

# diagnose DIR [ARGS...]: soak diagnose; sets DRC, output in DIR.diag
diagnose() {
  local dir=$1
  shift
  set +e
  "$SOAK" diagnose "$dir" "$@" >"$dir.diag" 2>&1
  DRC=$?
  set -e
}

# dj DIR PYTHON: runs PYTHON with d = diagnosis.json, sec(n) = section n, text(n) = its
# findings and evidence as one string; fails the test when it raises
dj() {
  python3 - "$1/diagnosis.json" "$2" <<'PY' || { cat "$1.diag" "$1.out" 2>/dev/null | head -80 >&2; fail "diagnosis of $1: $2"; }
import json, sys
d = json.load(open(sys.argv[1]))
def sec(n):
    return [s for s in d["sections"] if s["number"] == n][0]
def text(n):
    out = []
    for f in sec(n)["findings"]:
        out.append(f["finding"])
        out.extend(f["evidence"])
        out.append(f.get("advice", ""))
        out.append(f.get("key", ""))
    return "\n".join(out)
exec(sys.argv[2])
PY
}
