# "Crash" means one thing everywhere: a run that ends by its duration, by `soak stop` or by
# SIGINT reports 0 crashes in verdict.json, summary.md, report.html and `soak status` (the
# signal was soak's own planned stop); a real crash and a real hang are reported as such in
# all of them. (The console's own count is checked by the supervisor's tests.)
source "$(dirname "$0")/lib.sh"

# run_bg NAME ARGS...: soak run (analyze on) in the background into $T/NAME; sets SPID
run_bg() {
  local name=$1
  shift
  timeout -k 5 90 "$SOAK" run --artifacts "$T/$name" --status off "$@" \
    >"$T/$name.stdout" 2>"$T/$name.stderr" &
  SPID=$!
}

# wait_samples NAME: until the run has a sample (the service is up), at most 20 s
wait_samples() {
  for _ in $(seq 200); do
    [ "$(sqlite3 "$T/$1/samples.db" 'select count(*) from samples' 2>/dev/null || echo 0)" -ge 1 ] &&
      return 0
    sleep 0.1
  done
  fail "$1: no sample after 20 s: $(cat "$T/$1.stderr")"
}

# gate_value NAME GATE: the value of a gate in verdict.json
gate_value() {
  python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
print(*[g["value"] for g in v["gates"] if g["name"] == sys.argv[2]])' "$T/$1/verdict.json" "$2"
}

# check NAME CRASHES HANGS: what every output says about crashes and hangs
check() {
  local name=$1 crashes=$2 hangs=$3 dir="$T/$1" total=$(($2))
  [ -f "$dir/verdict.json" ] || fail "$name: no verdict.json: $(cat "$T/$name.stderr")"
  [ "$(gate_value "$name" crashes)" = "$crashes" ] ||
    fail "$name: verdict.json crashes $(gate_value "$name" crashes), expected $crashes"
  grep -q "^| crashes | \` last(crashes) == 0 \` | $crashes | " "$dir/summary.md" ||
    fail "$name: summary.md: $(grep crashes "$dir/summary.md")"
  # report.html: the headline count, the crash section, the timeline and the event rows
  grep -q "crashes and hangs: $total<" "$dir/report.html" ||
    fail "$name: report.html says $(grep -o 'crashes and hangs: [0-9]*' "$dir/report.html")"
  local n_crash n_hang
  n_crash=$(grep -c '<h3 id="crash-[0-9]*">Crash at' "$dir/report.html" || true)
  n_hang=$(grep -c '<h3 id="crash-[0-9]*">Hang at' "$dir/report.html" || true)
  [ "$n_crash" -eq $((crashes - hangs)) ] || fail "$name: report.html shows $n_crash crashes"
  [ "$n_hang" -eq "$hangs" ] || fail "$name: report.html shows $n_hang hangs"
  "$SOAK" status "$dir" >"$T/$name.status" || fail "$name: soak status failed"
  grep -q "^failures  crashes $crashes, hangs $hangs$" "$T/$name.status" ||
    fail "$name: soak status: $(grep failures "$T/$name.status")"
  if [ "$total" -eq 0 ]; then
    grep -q '<h2 id="crashes">Crashes and hangs</h2>' "$dir/report.html" || fail "$name: no section"
    grep -A1 '<h2 id="crashes">Crashes and hangs</h2>' "$dir/report.html" | grepq '<p>none</p>' ||
      fail "$name: the crash section is not empty"
    grep -q 'class="crash"' "$dir/report.html" && fail "$name: an event row is marked as a crash"
    grep -q '<title>crash: ' "$dir/report.html" && fail "$name: a crash on the timeline"
  else
    grep -q 'class="crash"' "$dir/report.html" || fail "$name: no event row marked as a crash"
  fi
  return 0
}

# 1. by its duration: soak stops the service with SIGTERM, which is not a crash
run_bg duration --duration 2s --interval 200ms --heartbeat '' -- sleep 100
wait "$SPID" || true
check duration 0 0
grep -q '<td>exit</td><td>pid [0-9]* killed by signal 15' "$T/duration/report.html" ||
  fail "duration: the planned stop's exit is not listed"
pass "ended by its duration: 0 crashes everywhere"

# 2. by soak stop
run_bg stopped --duration 60s --interval 200ms --heartbeat '' -- sleep 100
wait_samples stopped
timeout 30 "$SOAK" stop "$T/stopped" >/dev/null || fail "soak stop failed"
wait "$SPID" || true
check stopped 0 0
pass "ended by soak stop: 0 crashes everywhere"

# 3. by SIGINT (Ctrl-C)
run_bg interrupted --duration 60s --interval 200ms --heartbeat '' -- sleep 100
wait_samples interrupted
kill -INT "$SPID"
wait "$SPID" || true
check interrupted 0 0
pass "ended by SIGINT: 0 crashes everywhere"

# 4. a real crash: exit code 3, not restarted
run_bg crashed --duration 60s --interval 200ms --heartbeat '' --restart never -- \
  sh -c 'echo working; sleep 1; echo about to fail; exit 3'
wait "$SPID" || true
check crashed 1 0
grep -q 'about to fail' "$T/crashed/report.html" || fail "crashed: the last log lines are missing"
pass "a real crash: reported in all three"

# 5. a real hang: the heartbeat stops
demo=$(mkdemo)
run_bg hung --duration 60s --interval 200ms --heartbeat-timeout 2s --restart never \
  --stop-timeout 2s -- "$demo" --hb-interval 100 --hang-after 1
wait "$SPID" || true
check hung 1 1
pass "a real hang: reported in all three"
