# soak diagnose, runbook section 2: a service that logs reconnects with growing delays follows
# an exponential backoff; one whose delays stay the same does not, and the diagnosis says so
# with the lines, naming max_reconnect_delay. Both reconnect fast: the rate fails the runbook's
# bar of 10 an hour.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"

# svc DELAYS...: logs one reconnect a delay, scaled down (0.1 s a line), then idles
svc() {
  local f=$T/ws-$1.sh
  shift
  {
    echo 'n=0'
    echo "for d in $*; do n=\$((n+1)); echo \"[ERROR] WebSocket disconnected: timeout\"; echo \"[WS] reconnect attempt \$n, backoff delay \${d}s\"; sleep 0.1; done"
    echo 'while :; do echo "[HB] alive"; sleep 0.2; done'
  } >"$f"
  echo "$f"
}
grow=$(svc grow 1 2 4 8 16 32 60 60 60)
flat=$(svc flat 5 5 5 5 5 5 5 5)

soak_run --duration 4s --interval 100ms -- bash "$grow"
mv "$T/art" "$T/grow"
diagnose "$T/grow"
[ "$DRC" -eq 1 ] || fail "grow: soak diagnose exit $DRC, expected 1 (the reconnect rate)"
dj "$T/grow" '
t = text(2)
b = [f for f in sec(2)["findings"] if "backoff" in f["values"]][0]
assert b["values"]["backoff"] == "exponential" and b["severity"] == "ok", b
assert "backoff followed: delays 1, 2, 4, 8, 16, 32, 60, 60, 60 s grow x2.0, up to 60 s" in b["finding"], b
assert any("reconnect attempt 1, backoff delay 1s" in e for e in b["evidence"]), b
r = [f for f in sec(2)["findings"] if "reconnects_per_hour" in f["values"]][0]
assert r["severity"] == "fail" and r["values"]["source"] == "reconnect log lines", r
assert "timeout lines" in t, t
'

soak_run --duration 4s --interval 100ms -- bash "$flat"
mv "$T/art" "$T/flat"
diagnose "$T/flat" --section 2
[ "$DRC" -eq 1 ] || fail "flat: soak diagnose exit $DRC, expected 1"
dj "$T/flat" '
b = [f for f in sec(2)["findings"] if "backoff" in f["values"]][0]
assert b["values"]["backoff"] == "constant" and b["severity"] == "warn", b
assert b["finding"].startswith("backoff not followed: the delays are constant (5, 5, 5"), b
assert b["key"] == "max_reconnect_delay", b
'
grep -q "backoff not followed" "$T/flat.diag" || fail "terminal text: $(cat "$T/flat.diag")"
grep -q "key: max_reconnect_delay" "$T/flat.diag" || fail "terminal text names no key: $(cat "$T/flat.diag")"
pass "diagnose websocket: backoff followed, and not"
