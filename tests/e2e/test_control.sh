# A live run: `soak status` reads it, soak's /metrics and /health answer, the service's
# metrics are scraped into samples.db, and `soak stop` ends it cleanly.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# the service's own metrics endpoint: a static exposition served by python's http.server
mkdir -p "$T/www"
printf '# TYPE ws_reconnect_attempts_total counter\nws_reconnect_attempts_total 3\nlatency_ms{stage="rest"} 42.5\n' >"$T/www/metrics"
mport=$(port)
(cd "$T/www" && exec timeout 60 python3 -m http.server "$mport" --bind 127.0.0.1) >/dev/null 2>&1 &
www=$!
trap 'kill "$www" 2>/dev/null || true; cleanup' EXIT
lport=$(port)
"$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 60s --interval 100ms \
  --listen "127.0.0.1:$lport" --metrics-url "http://scraper:hunter2@127.0.0.1:$mport/metrics" \
  --set scrape_interval=300ms -- "$demo" --hb-interval 100 --errors-every 5 \
  >"$T/stdout" 2>"$T/stderr" &
spid=$!
sleep 2.5
"$SOAK" status "$T/art" >"$T/status" || fail "status failed"
grep -q "state     running" "$T/status" || fail "status: $(cat "$T/status")"
grep -q "restarts  0" "$T/status" || fail "status: $(cat "$T/status")"
curl -sf "http://127.0.0.1:$lport/metrics" >"$T/metrics" || fail "no /metrics"
grep -q '^soak_resident_memory_bytes [1-9]' "$T/metrics" || fail "metrics: $(head "$T/metrics")"
grep -q '^soak_pattern_matches_total{pattern="error"} [1-9]' "$T/metrics" || fail "pattern metric"
grep -q '^soak_processes 1$' "$T/metrics" || fail "processes metric"
curl -sf "http://127.0.0.1:$lport/health" | grepq '"status":"ok"' || fail "health"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lport/nope")" = 404 ] || fail "404"
timeout 60 "$SOAK" stop "$T/art" || fail "soak stop failed"
wait "$spid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "soak exited $rc after stop: $(cat "$T/stderr")"
pgrep -f "$demo" >/dev/null && fail "service survived soak stop"
grep -q "SHUTDOWN" "$T/art/soak.log" || fail "the service's shutdown lines were not captured"
[ "$(q "select count(*) from metrics where name='ws_reconnect_attempts_total' and value=3")" -ge 2 ] ||
  fail "scraped metrics: $(q "select * from metrics limit 5")"
[ "$(q "select count(*) from metrics where name='latency_ms' and labels='stage=\"rest\"'")" -ge 1 ] ||
  fail "labels: $(q "select distinct labels from metrics")"
[ "$(q "select count(*) from events where kind='pattern' and detail like 'error: %'")" -ge 1 ] || fail "pattern events"
grep -q "stopped by SIGTERM" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
"$SOAK" status "$T/art" | grepq "not running; outcome: stopped by SIGTERM" || fail "status after"
# the password of the metrics URL is nowhere: not in the record, the log, the output
if grep -rq hunter2 "$T/art" "$T/stdout" "$T/stderr" "$T/status" "$T/metrics"; then
  fail "the metrics URL's password leaked: $(grep -rl hunter2 "$T/art" "$T/stdout" "$T/stderr")"
fi
q "select value from run where key='config'" | grepq 'scraper:\*\*\*\|\*\*\*@127.0.0.1' ||
  fail "metrics_url not recorded in redacted form"
pass "status, endpoints, scrape and stop"
