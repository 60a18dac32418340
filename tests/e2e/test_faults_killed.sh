# Fault: soak itself killed with SIGKILL at each stage of a run: while the service waits to be
# started again (after a crash, in the restart delay), while it runs, and while soak is stopping
# it. Each time samples.db keeps every sample up to the kill and the events so far, the outcome
# stays "running", and `soak analyze DIR` still gives a verdict from those samples, whose
# data_loss gate fails: the run's end was never recorded.
source "$(dirname "$0")/faults_lib.sh"
demo=$(mkdemo)
kill_at() { # SECONDS ARGS...: starts soak, kills it after SECONDS (or when told by $T/go)
  local after=$1
  shift
  rm -rf "$T/art"
  "$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 60s \
    --interval 100ms "$@" >"$T/stdout" 2>"$T/stderr" &
  spid=$!
  sleep "$after"
}
killed() { # STAGE: kills soak now, checks what was kept
  local stage=$1 t_kill n last
  t_kill=$(date +%s.%N)
  kill -KILL "$spid"
  wait "$spid" 2>/dev/null || true
  for _ in $(seq 50); do [ "$(alive "$demo")" -eq 0 ] && break; sleep 0.1; done
  q "pragma integrity_check" | grepq ok || fail "$stage: samples.db damaged"
  n=$(q "select count(*) from samples")
  last=$(q "select max(t) from samples")
  [ "$n" -ge 10 ] || fail "$stage: only $n samples kept"
  awk -v l="$last" -v k="$t_kill" 'BEGIN { exit !(k - l < 0.5) }' || fail "$stage: last sample $last, kill at $t_kill"
  [ "$(q "select value from run where key='outcome'")" = "running" ] || fail "$stage: outcome $(q "select value from run where key='outcome'")"
  [ "$(q "select count(*) from events where kind='start'")" -eq 1 ] || fail "$stage: the start event was lost"
  analyze_run "$T/art"
  [ "$ARC" -eq 1 ] || fail "$stage: analyze exit $ARC: $(cat "$T/analyze.out")"
  [ "$(gate data_loss status "$T/art")" = "fail" ] ||
    fail "$stage: the verdict does not say data was lost: $(cat "$T/analyze.out")"
  grep -q "fail *data_loss" "$T/analyze.out" || fail "$stage: analyze does not show the loss"
  echo "$stage: $n samples, verdict data_loss fail"
}

# waiting to start again: the service crashed, the restart is 5 s away
kill_at 2 --restart always --set restart_delay=5s -- sh -c "sleep 0.5; exit 3"
[ "$(q "select count(*) from events where kind='restart_scheduled'")" -ge 1 ] || fail "not in the restart delay"
killed "before the start"
[ "$(q "select count(*) from events where kind='exit'")" -eq 1 ] || fail "before the start: the crash was lost"
[ "$(gate crashes status "$T/art")" = "fail" ] ||
  fail "before the start: the verdict lost the crash"

# running
kill_at 2 --restart never -- "$demo" --hb-interval 100
killed "running"

# stopping: the service ignores SIGTERM, soak waits out its stop timeout
kill_at 2 --restart never --stop-timeout 20s -- "$demo" --hb-interval 100 --ignore-term
kill -TERM "$spid"
sleep 1.5
[ "$(q "select count(*) from events where kind='stop'")" -eq 1 ] || fail "stopping: no stop event"
killed "stopping"
pass "soak killed before the start, while running and while stopping: samples and verdict kept"
