# Pre-flight (issue 11 §1): a failing user check stops `soak run` before the service starts
# (the marker the service would write is absent), exit 3 with the failing check printed and
# its output redacted; a warning lets the run start; preflight.json and the report keep the
# results; `soak preflight` prints the table; processes left by an earlier run of the folder
# are found; --skip-preflight skips it all.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
marker="$T/marker"
export PF_API_SECRET=hush-hush-1234
cat >"$T/bad.yaml" <<YAML
preflight:
  timeout: 2s
  checks:
    fine: 'echo all good'
    shaky: 'echo shaky; exit 1'
    exchange: 'echo "cannot reach the exchange with \$PF_API_SECRET" >&2; exit 2'
YAML
soak_run -c "$T/bad.yaml" --duration 5s --interval 100ms -- sh -c "touch '$marker'; exec '$demo' --hb-interval 100"
expect_rc 3
[ ! -e "$marker" ] || fail "the service started although the pre-flight failed"
grep -q "pre-flight failed, the service was not started" "$T/stderr" || fail "no refusal: $(cat "$T/stderr")"
grep -Eq "^  fail +user.exchange +exit 2$" "$T/stderr" || fail "failing check not printed: $(cat "$T/stderr")"
grep -Eq "^  warn +user.shaky" "$T/stderr" || fail "warning not printed: $(cat "$T/stderr")"
grep -q "cannot reach the exchange with \*\*\*" "$T/stderr" || fail "output not shown: $(cat "$T/stderr")"
if grep -rq hush-hush-1234 "$T/art" "$T/stdout" "$T/stderr"; then fail "a secret leaked"; fi
# the refusal is the run's record: its outcome and the failed check, no start, no sample
[ "$(q "select value from run where key='outcome'")" = "refused by the pre-flight" ] || fail "outcome"
[ "$(q "select count(*) from samples")" -eq 0 ] || fail "a refused run has samples"
[ "$(q "select count(*) from events where kind in ('start','restart')")" -eq 0 ] || fail "a start was recorded"
[ "$(q "select count(*) from events where kind='preflight' and detail='fail user.exchange: exit 2'")" -eq 1 ] ||
  fail "events: $(q "select detail from events")"
python3 - "$T/art/preflight.json" <<'PY' || fail "preflight.json: $(cat "$T/art/preflight.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["name"]: x for x in d["checks"]}
assert d["ok"] is False and d["fail"] == 1, d
assert c["user.exchange"]["status"] == "fail" and c["user.exchange"]["exit_code"] == 2
assert c["user.shaky"]["status"] == "warn" and c["user.fine"]["status"] == "pass"
assert c["user.fine"]["output"] == "all good"
assert c["lock"]["status"] == "pass" and c["folder"]["status"] == "pass"
PY
pass "a failing check refuses the run before the service starts"

# --skip-preflight: the same configuration runs
soak_run -c "$T/bad.yaml" --skip-preflight --duration 1s --interval 100ms -- sh -c "touch '$marker'; exec '$demo' --hb-interval 100"
expect_rc 0
[ -e "$marker" ] || fail "--skip-preflight: the service did not start"
rm -f "$marker"
pass "--skip-preflight"

# warnings only: the run starts, and the report shows the pre-flight
rm -rf "$T/art"
cat >"$T/warn.yaml" <<YAML
preflight.checks.shaky: 'echo shaky; exit 1'
YAML
set +e
timeout -k 5 60 "$SOAK" run -c "$T/warn.yaml" --artifacts "$T/art" --status off --duration 1500ms \
  --interval 100ms -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
[ "$RC" -le 1 ] || fail "a warning stopped the run: rc $RC: $(cat "$T/stderr")"
grep -Eq "^  warn +user.shaky" "$T/stderr" || fail "warning not printed: $(cat "$T/stderr")"
[ "$(q "select count(*) from samples")" -ge 5 ] || fail "the run did not run"
grep -q "Pre-flight" "$T/art/report.html" || fail "no pre-flight section in the report"
grep -q "user.shaky" "$T/art/report.html" || fail "the report does not list the check"
pass "warnings let the run start; the report shows them"

# soak preflight: the same checks, standalone; a missing command fails
set +e
"$SOAK" preflight --artifacts "$T/new/art" -- "$T/no-such-service" >"$T/pf" 2>&1
RC=$?
set -e
[ "$RC" -eq 3 ] || fail "soak preflight exit $RC: $(cat "$T/pf")"
grep -Eq "^  fail +command +cannot run '$T/no-such-service'" "$T/pf" || fail "table: $(cat "$T/pf")"
grep -Eq "^  pass +folder +'$T/new/art' can be created" "$T/pf" || fail "table: $(cat "$T/pf")"
[ ! -e "$T/new" ] || fail "soak preflight created the folder"
"$SOAK" preflight --artifacts "$T/art" -- "$demo" >"$T/pf" 2>&1 || fail "soak preflight: $(cat "$T/pf")"
grep -Eq "^  (pass|warn) +disk " "$T/pf" || fail "no disk check: $(cat "$T/pf")"
grep -Eq "^  (pass|warn) +clock " "$T/pf" || fail "no clock check: $(cat "$T/pf")"
grep -Eq "^  (pass|warn) +limits.nofile " "$T/pf" || fail "no limit check: $(cat "$T/pf")"
pass "soak preflight"

# processes left by an earlier run: soak SIGKILLed while its service ignores the shim's
# SIGTERM in a group of its own... simplest: a recorded service pid still alive
rm -rf "$T/art"
"$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 60s --interval 100ms \
  -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
for _ in $(seq 50); do [ -s "$T/art/soak.children" ] && break; sleep 0.1; done
[ -s "$T/art/soak.children" ] || fail "no soak.children"
# a stand-in for a survivor: a process of ours recorded as if the service had left it
sleep 60 &
left=$!
timeout 30 "$SOAK" stop "$T/art" >/dev/null 2>&1 || fail "soak stop"
wait "$spid" || true
echo "$left $(awk '{print $22}' /proc/$left/stat)" >>"$T/art/soak.children"
"$SOAK" preflight --artifacts "$T/art" -- "$demo" >"$T/pf" 2>&1 || fail "leftovers must only warn: $(cat "$T/pf")"
grep -Eq "^  warn +leftovers +1 process left from an earlier run of this folder: pid $left " "$T/pf" ||
  fail "leftover not found: $(cat "$T/pf")"
kill "$left"
wait "$left" 2>/dev/null || true
"$SOAK" preflight --artifacts "$T/art" -- "$demo" >"$T/pf" 2>&1 || true
grep -Eq "^  pass +leftovers " "$T/pf" || fail "a dead pid counted as left: $(cat "$T/pf")"
pass "leftover processes of an earlier run are found"
