# soak diagnose, runbook section 7: a crash after a stack of log lines: the diagnosis shows the
# exit with its code and the lines before it; a hang (no heartbeat) shows as a hang naming
# heartbeat_timeout.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"
cat >"$T/crash.sh" <<'SH'
echo "[HB] alive"
sleep 0.5
echo "processing order batch 17"
echo "Traceback (most recent call last):" >&2
echo "  File \"bot.py\", line 42, in main_loop" >&2
echo "ValueError: boom in the critical path" >&2
exit 3
SH
soak_run --duration 5s --interval 100ms --restart never -- bash "$T/crash.sh"
mv "$T/art" "$T/crash"
diagnose "$T/crash"
[ "$DRC" -eq 1 ] || fail "crash: soak diagnose exit $DRC, expected 1"
dj "$T/crash" '
s = sec(7)
assert s["severity"] == "fail", s
f = [f for f in s["findings"] if f["values"].get("kind") == "exit"][0]
assert f["finding"].startswith("crash at ") and "exited with code 3" in f["finding"], f
ev = "\n".join(f["evidence"])
assert "err ValueError: boom in the critical path" in ev and "Traceback" in ev, ev
assert "out processing order batch 17" in ev, ev
'
grep -q "^7. crash or hang: fail" "$T/crash.diag" || fail "terminal: $(cat "$T/crash.diag")"
sed -n 3p "$T/crash.diag" | grepq ": fail$" || fail "a failing section is not shown first: $(head -5 "$T/crash.diag")"

demo=$(mkdemo)
soak_run --duration 8s --interval 100ms --restart never --heartbeat-timeout 2s -- "$demo" --hb-interval 100 --hang-after 1
mv "$T/art" "$T/hang"
diagnose "$T/hang" --json
[ "$DRC" -eq 1 ] || fail "hang: soak diagnose exit $DRC, expected 1"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/hang.diag" || fail "--json does not print JSON"
dj "$T/hang" '
s = sec(7)
f = [f for f in s["findings"] if f["values"].get("kind") == "hang"][0]
assert f["severity"] == "fail" and f["finding"].startswith("hang at "), f
assert f["key"] == "heartbeat_timeout", f
assert any("[HB] alive" in e for e in f["evidence"]), f
'
pass "diagnose crash or hang: the exit and its last lines; the hang"
