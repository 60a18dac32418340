# soak audit (runbook §8): the four tools' reports (fixtures shaped like their real output) are
# read by content, merged across tools, counted by severity into security.json; an ignore list
# from a policy file, with an expired entry; cmd: inputs; clear errors (exit 2) for unknown and
# truncated JSON; and in a run, one HIGH finding fails the security gate while a clean report
# passes it, and an input that cannot be read leaves the gate without data (never a pass).
source "$(dirname "$0")/lib.sh"
FX="$SRC/tests/fixtures/audit"

audit() { # ARGS... : sets RC, output in $T/out and $T/err
  set +e
  (cd "$T" && timeout -k 5 60 "$SOAK" audit "$@" >"$T/out" 2>"$T/err")
  RC=$?
  set -e
}

# all four; the npm report under a name that says nothing: the format comes from the content
cp "$FX/npm-audit.json" "$T/report.txt"
audit "$FX/pip-audit.json" "$FX/cargo-audit.json" "$T/report.txt" "$FX/osv-scanner.json"
[ "$RC" -eq 1 ] || { cat "$T/out" "$T/err" >&2; fail "four reports: exit $RC, expected 1 (CRITICAL/HIGH found)"; }
grep -q "critical 2, high 3, medium 2, low 0, none 0; ignored 0; 7 findings from 4 reports" "$T/out" \
  || { cat "$T/out" >&2; fail "the counts line"; }
grep -q "^CRITICAL  9.8   RUSTSEC-2021-0003" "$T/out" || { cat "$T/out" >&2; fail "table: smallvec's computed 9.8"; }
python3 - "$T/security.json" <<'PY' || fail "security.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["security_critical_high"] == 5, s["security_critical_high"]
assert s["counts"] == {"critical": 2, "high": 3, "medium": 2, "low": 0, "none": 0}, s["counts"]
assert s["policy"]["unscored"] == "HIGH", s["policy"]
fmts = sorted(i["format"] for i in s["inputs"])
assert fmts == ["cargo-audit", "npm-audit", "osv-scanner", "pip-audit"], fmts
f = {x["id"]: x for x in s["findings"]}
j = f["GHSA-h5c8-rqwp-cp95"]                  # pip-audit + osv-scanner: one finding
assert j["severity"] == "MEDIUM" and j["severity_from"] == "report", j
assert len(j["sources"]) == 2, j["sources"]
assert f["GHSA-9wx4-h78v-vm56"]["severity_from"] == "policy"
assert f["RUSTSEC-2020-0071"]["score"] == 5.9 and f["RUSTSEC-2020-0071"]["severity"] == "MEDIUM"
assert "CVE-2020-26235" in f["RUSTSEC-2020-0071"]["aliases"]
for x in s["findings"]:
    for k in ("package", "version", "ecosystem", "id", "aliases", "severity", "score", "fixed_versions", "sources"):
        assert k in x, (k, x)
PY
pass "four formats, dedup, counts"

# the ignore list from a policy file: one entry in force, one expired, one bad
cat >"$T/policy.yaml" <<'Y'
audit:
  unscored: medium
  ignore:
    - "GHSA-xvch-5gv4-984h: minimist only parses our own fixed argv"
    - "RUSTSEC-2021-0003: insert_many is never called; until 2020-01-31"
Y
audit --policy "$T/policy.yaml" -o "$T/pol.json" "$FX/npm-audit.json" "$FX/cargo-audit.json"
[ "$RC" -eq 1 ] || { cat "$T/err" >&2; fail "policy: exit $RC"; }
python3 - "$T/pol.json" <<'PY' || fail "ignore list"
import json, sys
s = json.load(open(sys.argv[1]))
f = {x["id"]: x for x in s["findings"]}
assert f["GHSA-xvch-5gv4-984h"]["ignored"] is True
assert "fixed argv" in f["GHSA-xvch-5gv4-984h"]["ignore_reason"]
assert f["RUSTSEC-2021-0003"]["ignored"] is False, "an expired ignore must count again"
assert "expired on 2020-01-31" in f["RUSTSEC-2021-0003"]["ignore_note"]
assert f["RUSTSEC-2023-0044"]["severity"] == "MEDIUM"   # unscored: medium
assert s["ignored"] == 1 and s["security_critical_high"] == 2, s   # smallvec, lodash
PY
printf 'audit:\n  ignore:\n    - "GHSA-1: why; until 2027-13-01"\n' >"$T/badpol.yaml"
audit --policy "$T/badpol.yaml" "$FX/npm-audit.json"
[ "$RC" -eq 2 ] || fail "bad ignore entry: exit $RC, expected 2"
grep -q "badpol.yaml:3: key 'audit.ignore'" "$T/err" || { cat "$T/err" >&2; fail "bad ignore: file:line:key"; }
pass "ignore list with reasons and expiry"

# cmd: inputs; audit tools exit 1 when they find something, the report is what counts
audit -o "$T/cmd.json" "cmd:cat '$FX/osv-scanner.json'; exit 1"
[ "$RC" -eq 1 ] || { cat "$T/err" >&2; fail "cmd input: exit $RC"; }
python3 -c "import json,sys; assert json.load(open(sys.argv[1]))['security_critical_high'] == 1" "$T/cmd.json" \
  || fail "cmd input counts"
audit "cmd:sleep 20" --set audit.timeout=500ms
[ "$RC" -eq 2 ] && grep -q "timed out after 0.5s" "$T/err" || { cat "$T/err" >&2; fail "cmd timeout"; }
pass "cmd: inputs, with a timeout"

# bad input: a clear error naming the input, exit 2, nothing written
head -c 300 "$FX/cargo-audit.json" >"$T/trunc.json"
echo '{"scanner": "something else", "results": 3}' >"$T/other.json"
for f in trunc other; do
  rm -f "$T/security.json"
  audit "$FX/pip-audit.json" "$T/$f.json"
  [ "$RC" -eq 2 ] || fail "$f: exit $RC, expected 2"
  grep -q "input '$T/$f.json': " "$T/err" || { cat "$T/err" >&2; fail "$f: message names the input"; }
  [ ! -e "$T/security.json" ] || fail "$f: security.json written from part of the inputs"
done
grep -q "not a report of pip-audit" "$T/err" || fail "unknown JSON: says what was expected"
audit "$T/missing.json"
[ "$RC" -eq 2 ] && grep -q "cannot open" "$T/err" || fail "missing file"
audit
[ "$RC" -eq 2 ] && grep -q "no input" "$T/err" || fail "no input"
pass "bad input refused clearly"

# in a run: one HIGH fails the security gate; a clean report passes it; a failed audit: no-data
python3 - "$FX/osv-scanner.json" "$T/one-high.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["results"] = [r for r in s["results"] if "package-lock" in r["source"]["path"]]
json.dump(s, open(sys.argv[2], "w"))
PY
echo '{"dependencies": [{"name": "certifi", "version": "2024.7.4", "vulns": []}], "fixes": []}' >"$T/clean.json"
run_audited() { # DIR INPUT
  set +e
  timeout -k 5 120 "$SOAK" run --artifacts "$1" --status off --duration 3s --interval 200ms \
    --set leak_min_span=1h --set "audit.inputs=$2" -- "$DEMO" --hb-interval 100 >"$1.out" 2>"$1.err"
  RC=$?
  set -e
}
gate() { # DIR NAME: status and value of a gate
  python3 -c "import json,sys; g={x['name']:x for x in json.load(open(sys.argv[1]+'/verdict.json'))['gates']}[sys.argv[2]]; print(g['status'], g.get('value'))" "$1" "$2"
}
run_audited "$T/high" "$T/one-high.json"
[ "$(gate "$T/high" security)" = "fail 1" ] || { cat "$T/high.err" >&2; gate "$T/high" security; fail "one HIGH: the security gate must fail with 1"; }
[ "$RC" -eq 1 ] || fail "one HIGH: exit $RC, expected 1"
[ -s "$T/high/security.json" ] || fail "security.json in the run folder"
[ "$(sqlite3 "$T/high/samples.db" "select count(*) from events where kind='audit'")" = 1 ] || fail "audit event"
run_audited "$T/clean" "$T/clean.json"
[ "$(gate "$T/clean" security)" = "pass 0" ] || { gate "$T/clean" security; fail "clean report: security gate must pass with 0"; }
run_audited "$T/broken" "$T/trunc.json"
st=$(gate "$T/broken" security)
[ "${st%% *}" = "no-data" ] || fail "unreadable input: security gate '$st', expected no-data"
python3 -c "import json,sys; v=json.load(open(sys.argv[1]+'/verdict.json')); assert v['pass'] is False" "$T/broken" \
  || fail "an audit that failed must not pass the run"
grep -q "audit failed: input" "$T/broken.err" || fail "the reason is printed"
pass "run: HIGH fails the gate, clean passes, failed audit is no-data"
