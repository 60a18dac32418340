# monitoring/: the rules and configs are valid and every alert rule has a passing promtool unit
# test; then a real Prometheus (short windows, evaluation every second) scrapes a short soak of
# a leaking service, the memory-growth alert reaches "firing" (read from Prometheus's API) and
# goes through a real Alertmanager to a local webhook receiver; a real Pushgateway receives the
# run's live gauges and, at the end, its verdict, and `soak push --delete` removes the group.
# Every server binds 127.0.0.1 on a free port and stops by itself (timeout).
source "$(dirname "$0")/lib.sh"
M="$SRC/monitoring"
for tool in promtool amtool prometheus prometheus-alertmanager prometheus-pushgateway; do
  command -v "$tool" >/dev/null || fail "$tool is missing: scripts/install-deps installs it"
done

# 1. static checks and the rule unit tests
promtool check rules "$M"/rules/*.yml >"$T/check" 2>&1 || { cat "$T/check" >&2; fail "promtool check rules"; }
(cd "$M" && promtool check config --syntax-only prometheus.yml) >"$T/check" 2>&1 \
  || { cat "$T/check" >&2; fail "promtool check config"; }
amtool check-config "$M/alertmanager.yml" >"$T/check" 2>&1 || { cat "$T/check" >&2; fail "amtool check-config"; }
promtool test rules "$M/tests/rules.test.yml" >"$T/check" 2>&1 || { cat "$T/check" >&2; fail "promtool test rules"; }
# every alert rule has a test
for a in $(awk '/- alert:/ {print $3}' "$M/rules/soak-alerts.yml"); do
  grep -q "alertname: $a\$" "$M/tests/rules.test.yml" || fail "alert $a has no promtool test"
done
pass "rules valid, every alert tested by promtool"

# 2. the real stack
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AP=$(freeport); GP=$(freeport); PP=$(freeport); SP=$(freeport)
python3 "$SRC/tests/e2e/notify/receiver.py" ok "$T/hook.port" "$T/hook.log" 170 &
for _ in $(seq 100); do [ -s "$T/hook.port" ] && break; sleep 0.05; done
WP=$(cat "$T/hook.port")
cat >"$T/am.yml" <<Y
route:
  receiver: hook
  group_by: ['run', 'alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: 'http://127.0.0.1:$WP/alerts'
Y
timeout -k 2 170 prometheus-alertmanager --config.file="$T/am.yml" --storage.path="$T/am" \
  --web.listen-address="127.0.0.1:$AP" --cluster.listen-address= >"$T/am.log" 2>&1 &
timeout -k 2 170 prometheus-pushgateway --web.listen-address="127.0.0.1:$GP" >"$T/pg.log" 2>&1 &
# the shipped rules, with their windows scaled from hours to seconds
mkdir -p "$T/rules"
sed -e 's/\[30m\]/[15s]/g' -e 's/for: 15m/for: 2s/' "$M/rules/soak-alerts.yml" >"$T/rules/soak-alerts.yml"
cat >"$T/prom.yml" <<Y
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['$T/rules/soak-alerts.yml']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$AP']}]
scrape_configs:
  - job_name: soak
    static_configs: [{targets: ['127.0.0.1:$SP'], labels: {run: e2e-leak}}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:$GP']}]
Y
timeout -k 2 170 prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
  --web.listen-address="127.0.0.1:$PP" >"$T/prom.log" 2>&1 &
# a service that leaks 1 MB a second, soaked with soak's /metrics and the pushgateway
timeout -k 5 150 "$SOAK" run --artifacts "$T/run" --status off --duration 120s --interval 200ms \
  --heartbeat '' --listen "127.0.0.1:$SP" --pushgateway "http://127.0.0.1:$GP" \
  --set push_interval=2s --set run_name=e2e-leak --set leak_min_span=1h \
  -- "$DEMO" --hb-interval 100 --leak-kb-per-s 1000 >"$T/soak.out" 2>"$T/soak.err" &
soakpid=$!

get() { curl -s --max-time 2 "$1" || true; }
firing=""
for _ in $(seq 120); do
  firing=$(get "http://127.0.0.1:$PP/api/v1/alerts" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for a in d["data"]["alerts"]:
    if a["labels"]["alertname"] == "SoakMemoryGrowth" and a["state"] == "firing":
        print(a["labels"]["run"], a["annotations"]["summary"])
' 2>/dev/null)
  [ -n "$firing" ] && break
  sleep 0.5
done
[ -n "$firing" ] || { tail -5 "$T/prom.log" >&2; get "http://127.0.0.1:$PP/api/v1/alerts" >&2; fail "SoakMemoryGrowth never fired"; }
case "$firing" in "e2e-leak memory of run e2e-leak grows "*) ;; *) fail "alert: $firing" ;; esac
pass "Prometheus: SoakMemoryGrowth firing ($firing)"

got=""
for _ in $(seq 80); do
  got=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(line)["body"]
    for a in b.get("alerts", []):
        if a["labels"].get("alertname") == "SoakMemoryGrowth" and a["status"] == "firing":
            print(a["labels"]["run"])
' "$T/hook.log" 2>/dev/null | head -1) || true
  [ -n "$got" ] && break
  sleep 0.5
done
[ "$got" = "e2e-leak" ] || { tail -5 "$T/am.log" >&2; fail "the alert did not reach the webhook through Alertmanager"; }
pass "Alertmanager delivered SoakMemoryGrowth to the webhook"

live=""
for _ in $(seq 40); do
  live=$(get "http://127.0.0.1:$GP/metrics" | grep '^soak_resident_memory_bytes{' | grep 'job="soak"' | grep 'run="e2e-leak"') || true
  [ -n "$live" ] && break
  sleep 0.5
done
[ -n "$live" ] || fail "no live gauge on the pushgateway"
pass "Pushgateway: live gauges ($live)"

"$SOAK" stop "$T/run" --timeout 30s >/dev/null 2>&1 || true
wait "$soakpid" || true
grep -q "pushed       the verdict to the pushgateway" "$T/soak.out" || { cat "$T/soak.out" "$T/soak.err" >&2; fail "the verdict was not pushed"; }
m=$(get "http://127.0.0.1:$GP/metrics")
echo "$m" | grepq '^soak_verdict_pass{.*run="e2e-leak".*} 0' || { echo "$m" | grep soak_ >&2; fail "soak_verdict_pass"; }
echo "$m" | grepq '^soak_gate_passed{gate="crashes",.*run="e2e-leak".*} 1' || fail "soak_gate_passed{gate=crashes}"
echo "$m" | grepq '^soak_gate_value{gate="duration",' || fail "soak_gate_value{gate=duration}"
"$SOAK" push "$T/run" --pushgateway "http://127.0.0.1:$GP" --run e2e-leak --delete >"$T/del" 2>&1 \
  || { cat "$T/del" >&2; fail "soak push --delete"; }
! get "http://127.0.0.1:$GP/metrics" | grepq 'run="e2e-leak"' || fail "the group is still there after --delete"
"$SOAK" push "$T/run" --pushgateway "http://127.0.0.1:$GP" --run e2e-leak >"$T/push" 2>&1 || fail "soak push"
get "http://127.0.0.1:$GP/metrics" | grepq '^soak_verdict_pass{.*run="e2e-leak"' || fail "soak push of a finished run"
pass "Pushgateway: the verdict at the end, soak push, soak push --delete"
