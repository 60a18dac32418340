# Post-run checks (issue 11 §2): after the service stopped, each post-check's number becomes the
# series its gates read. One printing 3 fails the orphan gate with the value 3 (and the gate is
# no longer optional); one printing garbage, one timing out and one exiting 1 leave their gates
# no-data with the reason shown; output, exit code and duration are events.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
cat >"$T/soak.yaml" <<'YAML'
duration: 1500ms
interval: 100ms
heartbeat: ''
post_check_timeout: 1s
post_checks:
  orphan_orders: 'test -e "$SOAK_TEST_STOPPED" && echo 3'
  garbage: 'echo "3 orders"'
  slow: 'sleep 10; echo 0'
  failing: 'echo 0; exit 1'
gates:
  duration: 'last(duration_s) >= 1s'
  memory_growth: ''
  g_garbage: 'last(garbage) == 0'
  g_slow: 'last(slow) == 0'
  g_failing: 'last(failing) == 0'
YAML
# the orphan check proves it runs after the service stopped: the service leaves a file at exit
export SOAK_TEST_STOPPED="$T/stopped"
set +e
timeout -k 5 60 "$SOAK" run -c "$T/soak.yaml" --artifacts "$T/art" --status off \
  -- sh -c "trap 'touch $T/stopped; exit 0' TERM; while :; do sleep 0.05; done" >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
[ "$RC" -eq 1 ] || fail "exit $RC, expected 1 (the orphan gate fails): $(cat "$T/stdout" "$T/stderr")"
grep -Eq "^  fail +orphan_orders +last\(orphan_orders\) == 0 +3$" "$T/stdout" || fail "orphan gate: $(cat "$T/stdout")"
grep -q "post-check 'garbage': output '3 orders' is not a number" "$T/stdout" || fail "garbage reason: $(cat "$T/stdout")"
grep -q "post-check 'slow': timed out after 1s" "$T/stdout" || fail "timeout reason: $(cat "$T/stdout")"
grep -q "post-check 'failing': exit 1" "$T/stdout" || fail "exit reason: $(cat "$T/stdout")"
python3 - "$T/art/verdict.json" <<'PY' || fail "verdict.json: $(cat "$T/art/verdict.json")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["gates"]}
o = g["orphan_orders"]
assert o["status"] == "fail" and o["value"] == 3 and o["optional"] is False, o
for n, why in (("g_garbage", "is not a number"), ("g_slow", "timed out"), ("g_failing", "exit 1")):
    assert g[n]["status"] == "no-data" and g[n]["optional"] is False, g[n]
    assert why in g[n]["reason"], g[n]
PY
[ "$(q "select value from metrics where name='orphan_orders'")" = "3.0" ] || fail "series: $(q "select * from metrics where name='orphan_orders'")"
[ "$(q "select count(*) from metrics where name in ('garbage','slow','failing')")" -eq 0 ] || fail "points of failed checks"
q "select detail from events where kind='post_check'" >"$T/ev"
grep -Eq "^orphan_orders: value 3 \(exit 0, [0-9.]+m?s\): 3$" "$T/ev" || fail "events: $(cat "$T/ev")"
grep -Eq "^slow: no value: timed out after 1s \(exit 137, 1" "$T/ev" || fail "events: $(cat "$T/ev")"
grep -Eq "^failing: no value: exit 1 \(exit 1, .*\): 0$" "$T/ev" || fail "events: $(cat "$T/ev")"
[ "$(q "select value from run where key='post_check.orphan_orders'")" = ok ] || fail "run value"
grep -q "failing" "$T/art/report.html" || fail "report"
pass "post-checks: the orphan gate fails with 3; garbage, timeout and exit 1 are no-data with reasons"

# the number passing: the orphan gate passes with 0, and `soak analyze` later says the same
cat >"$T/ok.yaml" <<'YAML'
duration: 1s
interval: 100ms
heartbeat: ''
post_checks.orphan_orders: 'echo 0'
gates.duration: 'last(duration_s) >= 1s'
gates.memory_growth: ''
gates.fds: ''
gates.threads: ''
YAML
rm -rf "$T/art"
timeout -k 5 60 "$SOAK" run -c "$T/ok.yaml" --artifacts "$T/art" --status off -- sleep 30 >"$T/stdout" 2>"$T/stderr" ||
  fail "a passing post-check failed the run: $(cat "$T/stdout" "$T/stderr")"
"$SOAK" analyze "$T/art" >"$T/an" || fail "analyze: $(cat "$T/an")"
grep -Eq "^  pass +orphan_orders +last\(orphan_orders\) == 0 +0$" "$T/an" || fail "analyze: $(cat "$T/an")"
pass "a post-check printing 0 passes the orphan gate"
