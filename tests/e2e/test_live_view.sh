# The live view and the report, in a real browser (headless Chromium over its DevTools protocol,
# tests/e2e/browser/cdp.mjs). A service that leaks and crashes once runs under
# `soak run --listen 127.0.0.1:0`; the page at / must draw every chart with points, show the
# crash in the gate table, update without a reload and log no console error. Then report.html
# of the finished run must read the verdict and the crash count of verdict.json, list the planned
# stop as no crash and draw the memory chart. Screenshots: BIN/screenshots/{live-view,report}.png.
# Also: bad parameters get 400 with a JSON error; basic auth from SOAK_LISTEN_AUTH, the
# password never served back; a non-loopback address prints a warning.
source "$(dirname "$0")/lib.sh"
: "${BIN:?set BIN to the build folder}"
CDP="$(cd "$(dirname "$0")" && pwd)/browser/cdp.mjs"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps installs it)"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps installs it)"
mkdir -p "$BIN/screenshots"
DEMO_T=$(mkdemo)
# live_url FILE: the URL of soak's "soak: live view on URL" line, within 10 s; "" if none
live_url() {
  local u=""
  for _ in $(seq 1 100); do
    u=$(sed -n 's|^soak: live view on \(http://127\.0\.0\.1:[0-9]*/\)$|\1|p' "$1")
    [ -n "$u" ] && break
    sleep 0.1
  done
  echo "$u"
}

# the first start crashes after 3 s, the second runs to the planned stop
cat >"$T/svc.sh" <<EOF
#!/bin/sh
if [ -e "$T/crashed" ]; then exec "$DEMO_T" --leak-kb-per-s 400; fi
touch "$T/crashed"
exec "$DEMO_T" --crash-after 3 --leak-kb-per-s 400
EOF
chmod +x "$T/svc.sh"

timeout -k 5 120 "$SOAK" run --artifacts "$T/art" --status off --listen 127.0.0.1:0 \
  --duration 30s --interval 1s --set restart_delay=500ms -- "$T/svc.sh" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
url=$(live_url "$T/run.out")
[ -n "$url" ] || { cat "$T/run.out" "$T/run.err" >&2; fail "no 'soak: live view on http://127.0.0.1:PORT/' line"; }

# the JSON endpoints: bad parameters are refused with a JSON error
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' "${url}api/samples?max_points=zero")
[ "$code" = 400 ] && grep -q '"error":"max_points' "$T/bad.json" || fail "bad max_points: $code $(cat "$T/bad.json")"
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' "${url}api/log?tail=100000")
[ "$code" = 400 ] && grep -q '"error"' "$T/bad.json" || fail "bad tail: $code $(cat "$T/bad.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "${url}api/nope")
[ "$code" = 404 ] || fail "unknown endpoint: $code"
pass "bad parameters get 400 with a JSON error"

node --experimental-websocket "$CDP" live "$url" "$BIN/screenshots/live-view.png" >"$T/live.txt" 2>&1 ||
  { cat "$T/live.txt" >&2; cat "$T/run.err" >&2; fail "the live page (see above)"; }
cat "$T/live.txt"
# downsampled on the server: at most max_points points, min and max per bucket
pts=$(curl -s "${url}api/samples?series=rss_bytes&max_points=4" | grep -o '\],\[' | wc -l)
[ "$pts" -le 3 ] || fail "api/samples gave more than max_points points"
pass "the live page"

wait "$RUN" || true
[ -s "$T/art/report.html" ] || { cat "$T/run.out" "$T/run.err" >&2; fail "no report.html"; }
[ -s "$T/art/verdict.json" ] || fail "no verdict.json"
[ ! -e "$T/art/live" ] || fail "the live verdict's folder is left behind: $(ls "$T/art/live")"
node --experimental-websocket "$CDP" report "file://$T/art/report.html" "$BIN/screenshots/report.png" \
  "$T/art/verdict.json" >"$T/report.txt" 2>&1 || { cat "$T/report.txt" >&2; fail "the report (see above)"; }
cat "$T/report.txt"
pass "the report"

# basic auth from the environment, on an address other machines reach: a warning, 401 without
# the password, and the password nowhere in what is served
PW=FAKE-e2e-pw-not-real
SOAK_LISTEN_AUTH="viewer:$PW" timeout -k 5 60 "$SOAK" run --artifacts "$T/auth" --status off \
  --listen 0.0.0.0:0 --duration 8s --set analyze=false -- sleep 30 >"$T/auth.out" 2>"$T/auth.err" &
AUTH=$!
url=$(live_url "$T/auth.out")
[ -n "$url" ] || fail "no live view line with auth: $(cat "$T/auth.out" "$T/auth.err")"
port=${url#http://127.0.0.1:}
port=${port%/}
grep -qx "soak: warning: the live view on '0.0.0.0:0' is reachable from other machines" "$T/auth.err" ||
  fail "no warning for a non-loopback address: $(cat "$T/auth.err")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u "viewer:$PW" "http://127.0.0.1:$port/api/state")" = 200 ] || fail "no 200 with the password"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/state")" = 401 ] || fail "no 401 without the password"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u "viewer:wrong" "http://127.0.0.1:$port/")" = 401 ] || fail "no 401 with a wrong password"
for p in / api/state api/gates api/log metrics health; do
  curl -s -u "viewer:$PW" "http://127.0.0.1:$port/$p" >"$T/page" || fail "GET /$p with the password"
  ! grep -q "$PW" "$T/page" || fail "/$p serves the password"
done
wait "$AUTH" || true
! grep -q "$PW" "$T/auth.out" "$T/auth.err" "$T/auth/soak.log" || fail "the password is printed"
! sqlite3 "$T/auth/samples.db" "select * from run" | grepq "$PW" || fail "the password is in samples.db"
pass "basic auth and the non-loopback warning"
