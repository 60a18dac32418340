# `make soak` (scripts/soak-mmbot) end to end, short: a 2-minute soak of mmbot against the chaos
# profile (its schedules brought forward) has data for every gate of the runbook's table, the
# duration labelled as a shortened run, 0 orphans, reconnects through the chaos, a report, a
# diagnosis and the simulator's stats; then a run interrupted with SIGINT still leaves a verdict
# and an archive, a second one into the same folder meanwhile is refused before it starts a
# simulator, and the security gate without an advisory service is no-data with its reason.
# No key of the account appears in any run folder, archive or output.
source "$(dirname "$0")/make_soak_lib.sh"

# a report of the audit (npm audit v2, nothing found) so that the security gate has data
cat >"$T/npm-audit.json" <<'JSON'
{"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {"vulnerabilities":
 {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0}}}
JSON
mkdir -p "$T/a"
SIM_SET=$CHAOS_FAST SOAK_AUDIT="$T/npm-audit.json" make_soak "$T/a" 2m 330
[ -f "$T/a/soak/verdict.json" ] || { show "$T/a"; fail "no verdict.json after a 2-minute make soak (exit $RC)"; }
[ "$RC" = 1 ] || { show "$T/a"; fail "exit $RC, want 1 (a 2-minute run fails its duration gate)"; }
for g in duration memory_growth cpu disk ws_reconnects ws_reconnects_private orphan_orders zombies crashes security; do
  [ "$(gate "$T/a" "$g" value)" != None ] || { show "$T/a"; fail "gate $g has no data: $(gate "$T/a" "$g" reason)"; }
done
pass "every gate of the runbook's table has data after a 2-minute soak"
grep -qE '^\| Duration \| 2m0[0-9]s \| >= 24h \| shortened run \|$' "$T/a.out" ||
  { show "$T/a"; fail "the table does not show the duration as a shortened run"; }
grep -qE '^\| Memory growth \| -?[0-9.e+]+ MB/h \(short run: leak window 15s, minimum span 30s\) \| < 10 \| (pass|fail) \|$' "$T/a.out" ||
  { show "$T/a"; fail "the table does not show a memory verdict labelled short"; }
grep -qE '^\| Orphan orders \| 0 \| == 0 \| pass \|$' "$T/a.out" || { show "$T/a"; fail "orphan row is not '0 pass'"; }
grep -qE '^\| Security \| 0 \| == 0 \| pass \|$' "$T/a.out" || { show "$T/a"; fail "security row is not '0 pass'"; }
[ "$(grep -cE '^\| (Duration|Memory growth|CPU average|Disk usage|WS reconnections|Orphan orders|Zombie processes|Crashes|Security) \|' "$T/a.out")" = 9 ] ||
  { show "$T/a"; fail "the success table does not have the runbook's nine rows"; }
pass "the success table: nine rows, duration 'shortened run', memory labelled short, orphans 0"
rec=$(gate "$T/a" ws_reconnects value)
awk -v r="$rec" 'BEGIN { exit !(r > 0) }' || fail "public reconnects per hour '$rec': the bot did not reconnect through the chaos"
grep -q "reconnect attempt" "$T/a/soak/soak.log" || fail "no 'reconnect attempt' line in soak.log"
python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["faults_fired"]; assert f.get("ws_drop",0)>0, f' \
  "$T/a/soak/sim-stats.json" || fail "sim-stats.json does not count a ws_drop"
awk -v v="$(gate "$T/a" crashes value)" 'BEGIN { exit !(v == 0 && v != "None") }' || fail "crashes: $(gate "$T/a" crashes value)"
pass "the bot reconnected through the chaos ($rec/h public), no crash, /sim/stats in the run folder"
for f in report.html diagnosis.json diagnosis.txt summary.md junit.xml security.json preflight.json; do
  [ -s "$T/a/soak/$f" ] || fail "$f missing from the run folder"
done
grep -q "^report:    $T/a/soak/report.html" "$T/a.out" || fail "the output does not say where the report is"
pass "report, diagnosis, summary, junit.xml and security.json in the run folder"

# interrupted: SIGINT to make soak; a second make soak meanwhile is refused
mkdir -p "$T/b"
ARTIFACTS="$T/b/soak" env --default-signal=INT timeout -k 10 200 "$SRC/scripts/soak-mmbot" 10m >"$T/b.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q "soak: live view on http://127.0.0.1:[0-9]*/" "$T/b.out" && break
  kill -0 "$pid" 2>/dev/null || { show "$T/b"; fail "make soak ended before its live view"; }
  sleep 0.1
done
grep -q "soak: live view on http://127.0.0.1:" "$T/b.out" || { show "$T/b"; fail "no live view address printed"; }
set +e
ARTIFACTS="$T/b/soak" timeout -k 5 60 "$SRC/scripts/soak-mmbot" 1m >"$T/c.out" 2>&1
RC=$?
set -e
[ "$RC" = 3 ] || { cat "$T/c.out" >&2; fail "a second make soak into the same folder: exit $RC, want 3"; }
grep -qF "soak-mmbot: a make soak is already running into '$T/b/soak': wait for it to end, or stop it with 'soak stop $T/b/soak'" "$T/c.out" ||
  { cat "$T/c.out" >&2; fail "the second make soak does not say why it is refused"; }
! grep -q "bybit-sim" "$T/c.out" || fail "the refused make soak started a simulator"
pass "a second make soak into the same folder is refused before it starts anything"
sleep 20
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
[ "$RC" != 0 ] || fail "an interrupted make soak exited 0"
[ -f "$T/b/soak/verdict.json" ] || { show "$T/b"; fail "no verdict after an interrupt"; }
arch=$(ls "$T"/b/soak-artifacts-*.tar.gz 2>/dev/null | head -1)
[ -n "$arch" ] || { show "$T/b"; fail "no archive after an interrupt"; }
tar tzf "$arch" | grep -q "soak/verdict.json" || fail "the archive has no verdict.json"
tar tzf "$arch" | grep -q "soak/sim-stats.json" || fail "the archive has no sim-stats.json"
grep -q "^archive:   $arch" "$T/b.out" || { show "$T/b"; fail "the output does not say where the archive is"; }
awk -v v="$(gate "$T/b" orphan_orders value)" 'BEGIN { exit !(v == 0 && v != "None") }' || fail "orphans after an interrupt: $(gate "$T/b" orphan_orders value)"
pass "SIGINT: the bot stopped clean (0 orphans), a verdict and an archive ($(basename "$arch"))"
# offline, the profile's npm audit cannot reach its advisory service: no-data with the reason
[ "$(gate "$T/b" security status)" = no-data ] || fail "security gate offline: $(gate "$T/b" security status), want no-data"
gate "$T/b" security reason | grep -q "^audit failed: input 'cmd:cd tests/e2e/bybit-api && npm audit" ||
  fail "security gate without the audit's reason: $(gate "$T/b" security reason)"
grep -qE '^\| Security \| no data \| == 0 \| no-data: audit failed: ' "$T/b.out" || { show "$T/b"; fail "the table does not show the security reason"; }
pass "security without an advisory service: no-data, with the audit's reason, in verdict.json and the table"
pgrep -f "$T/bin/" >/dev/null && fail "a process of make soak outlived it: $(pgrep -af "$T/bin/")"
no_secret "$T/a" "$T/b" "$T/a.out" "$T/b.out" "$T/c.out" "$arch"
pass "no key of the account in the run folders, the archive or the output; nothing left running"
