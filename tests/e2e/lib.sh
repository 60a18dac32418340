# Shared helpers of the end-to-end tests. Each test sources this file, runs the real `soak`
# against examples/demo-service (or log-flood) and checks the outcome a user relies on.
# Environment from ctest: SOAK (the binary), EXAMPLES (build dir with demo-service), SRC.
set -euo pipefail
: "${SOAK:?set SOAK to the soak binary}"
: "${EXAMPLES:?set EXAMPLES to the build folder}"
DEMO="$EXAMPLES/demo-service"
FLOOD="$EXAMPLES/log-flood"
T=$(mktemp -d /tmp/soak-e2e.XXXXXX)
cleanup() {
  # nothing a test started may outlive it
  pkill -KILL -f "$T" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }
# grepq ARGS...: `grep -q ARGS` that reads all of its input. Under pipefail, `producer | grep -q`
# fails when grep quits at the first match while the producer is still writing (SIGPIPE), so a
# test would fail on a match: use `producer | grepq PATTERN` instead.
grepq() { grep "$@" >/dev/null; }

# q SQL: runs a query on the run's samples.db
q() { sqlite3 "$T/art/samples.db" "$1"; }

# soak_run [ARGS...]: runs soak with a time limit; sets RC
soak_run() {
  set +e
  # these tests check supervision; the verdict has tests of its own (test_verdict.sh)
  timeout -k 5 "${LIMIT:-120}" "$SOAK" run --artifacts "$T/art" --status plain --set analyze=false "$@" \
    >"$T/stdout" 2>"$T/stderr"
  RC=$?
  set -e
}

# copy of demo-service under a name unique to this test, so pgrep finds only our processes
mkdemo() { cp "$DEMO" "$T/demo"; echo "$T/demo"; }

expect_rc() { [ "$RC" -eq "$1" ] || { cat "$T/stderr" >&2; fail "exit code $RC, expected $1"; }; }

# alive PATTERN: how many processes have PATTERN in their command line
alive() { { pgrep -f "$1" || true; } | wc -l; }
