# Helpers of the tests of services that fork into the background (test_forking_*.sh).
# wait_for SECONDS 'COMMAND': evaluates COMMAND every 50 ms until it succeeds; 1 on timeout
wait_for() {
  local end=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
  until eval "$2"; do
    [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
    sleep 0.05
  done
}
# gone PID...: none of the pids is a live process (a zombie counts as gone)
gone() {
  local p
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
      return 1
    fi
  done
}
# none_left MARKER: no process has MARKER in its command line
none_left() { [ "$(alive "$1")" -eq 0 ]; }
# soak_bg ARGS...: starts soak in the background like soak_run; SOAK_PID is its pid
soak_bg() {
  timeout -k 5 "${LIMIT:-120}" "$SOAK" run --artifacts "$T/art" --status plain --set analyze=false \
    "$@" >"$T/stdout" 2>"$T/stderr" &
  SOAK_PID=$!
}
# soak_wait: waits for the soak of soak_bg; sets RC
soak_wait() { set +e; wait "$SOAK_PID"; RC=$?; set -e; }
# runval KEY: a value of the run's record
runval() { q "select value from run where key='$1'"; }
