# Issue 10 item 8: secrets in a metrics URL's query string (and its user:password@) are stored
# and shown redacted: not in samples.db (the recorded config, scrape_failed events), the log,
# the output or `soak status`; the other parameters stay readable.
source "$(dirname "$0")/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://u:pw-hunter5@127.0.0.1:$port/metrics?token=hunter1&api_key=hunter2&X-Amz-Signature=hunter3&Password=hunter4&page=2"
soak_run --duration 3s --interval 100ms --heartbeat '' --set scrape_interval=500ms \
  --metrics-url "$url" -- sleep 100
expect_rc 0
"$SOAK" status "$T/art" >"$T/status.out"
if grep -rq hunter "$T/art" "$T/stdout" "$T/stderr" "$T/status.out"; then
  fail "a secret of the URL leaked: $(grep -rh hunter "$T/art" "$T/stdout" "$T/stderr" "$T/status.out" | head -3)"
fi
shown="http://***@127.0.0.1:$port/metrics?token=***&api_key=***&X-Amz-Signature=***&Password=***&page=2"
q "select value from run where key='config'" | grepq -F "$shown" ||
  fail "metrics_url not recorded redacted: $(q "select value from run where key='config'" | grep metrics)"
[ "$(q "select count(*) from events where kind='scrape_failed'")" -ge 1 ] || fail "no scrape_failed event"
q "select detail from events where kind='scrape_failed'" | grepq -F "page=2" ||
  fail "the scrape error does not show the URL: $(q "select detail from events where kind='scrape_failed'")"
pass "metrics URL secrets redacted"
