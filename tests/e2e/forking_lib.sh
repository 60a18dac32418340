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
# expect_told KIND CMD PID HOW: the console named the fork once ("forking detected" or
# "forking service"), with the main pid and how it was found, and gave the hint
expect_told() {
  grep -qF "soak: $1: '$2' exited 0 and left pid $3 ($4) running in the background; soak follows it as the service" "$T/stderr" \
    || fail "the console does not name the fork ($1, pid $3): $(cat "$T/stderr")"
  [ "$(grep -c "soak: $1:" "$T/stderr")" -eq 1 ] || fail "the console told it more than once"
  grep -qF "soak: hint: run the service in the foreground where it can (e.g. nginx -g 'daemon off;'" "$T/stderr" \
    || fail "no hint to run the service in the foreground: $(cat "$T/stderr")"
}
# expect_sampled MIN_RSS MIN_SAMPLES MIN_PROCS: that many samples hold the daemon's RSS, and its
# whole tree was seen
expect_sampled() {
  local big procs
  big=$(q "select count(*) from samples where rss_bytes >= $1")
  [ "$big" -ge "$2" ] || fail "$big samples with RSS >= $1, want $2: $(q "select rss_bytes from samples" | tr '\n' ' ')"
  procs=$(q "select max(procs) from samples")
  [ "$procs" -ge "$3" ] || fail "max procs $procs, want $3 or more"
  echo "$big samples with RSS >= $1, up to $procs processes"
}
# expect_exit FAILURE DETAIL: one exit event judged FAILURE (1 crash, 0 not) whose detail is
# like DETAIL (SQL LIKE)
expect_exit() {
  [ "$(q "select count(*) from events where kind='exit' and failure=$1 and detail like '$2'")" -eq 1 ] \
    || fail "no exit event (failure $1) like '$2': $(q "select kind, failure, detail from events" | tr '\n' ' ')"
}
# expect_none_left MARKER PID...: within 5 s no process has MARKER in its command line, and
# none of the pids is alive
expect_none_left() {
  local marker=$1
  shift
  wait_for 5 'none_left "$marker"' || { pgrep -af "$marker" >&2; fail "processes of the service survived the run"; }
  gone "$@" || fail "a pid of $* is still alive"
}
# expect_record TYPE PID: the run record's service_type and main_pid
expect_record() {
  [ "$(runval service_type)" = "$1" ] || fail "run record service_type '$(runval service_type)', want '$1'"
  [ "$(runval main_pid)" = "$2" ] || fail "run record main_pid '$(runval main_pid)', want $2"
}
