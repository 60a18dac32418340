# soak diagnose, runbook section 3: a run whose post-check leaves orders (the service's scraped
# orphan_orders > 0) fails with the count; a service that stops without any shutdown line is a
# warning (without a post-check nothing is worse than warn); a clean shutdown (Shutting down,
# cancel_all, Cancelled N) is ok.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/bot.py" <<'PY'
import http.server, signal, sys, threading, time
port, left = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("orphan_orders %s\n" % left).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
def stop(*a):
    print("[SHUTDOWN] Shutting down", flush=True)
    print("[SHUTDOWN] Cancelling all active orders... cancel_all", flush=True)
    print("[SHUTDOWN] Cancelled 4 orders", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    print("[HB] alive", flush=True)
    time.sleep(0.2)
PY
soak_run --duration 4s --interval 100ms --metrics-url "http://127.0.0.1:$port/metrics" \
  --set scrape_interval=500ms -- python3 "$T/bot.py" "$port" 2
mv "$T/art" "$T/left"
diagnose "$T/left"
[ "$DRC" -eq 1 ] || fail "orders left: soak diagnose exit $DRC, expected 1"
dj "$T/left" '
s = sec(3)
assert s["severity"] == "fail", s
f = [f for f in s["findings"] if "orphan_orders" in f["values"]][0]
assert f["finding"] == "the post-check found 2 open orders after the run", f
assert f["values"]["orphan_orders"] == 2, f
c = [f for f in s["findings"] if f["finding"].startswith("shutdown lines found")][0]
assert c["severity"] == "ok" and c["values"]["cancelled"] == 4, c
assert "Shutting down" in c["evidence"][0], c
'

# no shutdown line at all, no post-check
soak_run --duration 3s --interval 100ms -- sh -c 'while :; do echo "[HB] alive"; sleep 0.2; done'
mv "$T/art" "$T/mute"
diagnose "$T/mute" --section 3
dj "$T/mute" '
s = sec(3)
assert s["severity"] == "warn", s
f = [f for f in s["findings"] if "no shutdown line appeared" in f["finding"]][0]
assert f["severity"] == "warn", f
p = [f for f in s["findings"] if "post-check" in f["finding"]][0]
assert p["severity"] == "info" and "no orphan_orders post-check" in p["finding"], p
'
grep -q "^3. orphan orders: warn" "$T/mute.diag" || fail "terminal: $(cat "$T/mute.diag")"
pass "diagnose orphan orders: orders left fail, missing shutdown lines warn"
