# `make soak` (scripts/soak-mmbot) end to end, short: a 2-minute soak of mmbot against the chaos
# profile (its schedules brought forward with SIM_SET: a drop every 25 s) has data for every gate
# of the runbook's table, the duration labelled as a shortened run, 0 orphans, reconnects
# through the chaos, a report, a diagnosis and the simulator's stats. No key of the account
# appears in the run folder or the output. The interrupt: test_make_soak_interrupt.sh.
source "$(dirname "$0")/make_soak_lib.sh"

mkdir -p "$T/a"
SIM_SET=$CHAOS_FAST SOAK_AUDIT=$CLEAN_AUDIT make_soak "$T/a" 2m 285
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
# each stream came back from every drop: a disconnect whose reconnect was due (its "reconnect
# attempt N in D s") 5 s or more before the bot's shutdown is followed by a connect; with a drop
# every 25 s the back-off grows (it resets after 60 s of health), so the last one may be due
# after the end. At least two drops per stream came back.
back=$(python3 - "$T/a/soak/soak.log" <<'PY'
import datetime, re, sys
ts = lambda l: datetime.datetime.strptime(l[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
ev = {"public": [], "private": []}
end = None
for l in open(sys.argv[1], errors="replace"):
    if "[SHUTDOWN]" in l and end is None:
        end = ts(l)
    m = re.search(r"ws (public|private): (connected to|disconnected from|reconnect attempt \d+ in ([0-9.]+) s)", l)
    if m:
        kind = m.group(2).split()[0]
        ev[m.group(1)].append((ts(l), kind, float(m.group(3) or 0)))
end = end or float("inf")
out = []
for s, e in ev.items():
    back = lost = 0
    for i, (t, kind, _) in enumerate(e):
        if kind != "disconnected":
            continue
        due = next((u + d for u, k, d in e[i + 1:] if k == "reconnect"), t)
        if any(k == "connected" and u > t for u, k, _ in e):
            back += 1
        elif due + 5 < end:
            lost += 1
    out.append("%s:%d:%d" % (s, back, lost))
print(" ".join(out))
PY
)
for s in public private; do
  [[ " $back" =~ \ $s:([0-9]+):([0-9]+) ]] || fail "no WebSocket lines of the $s stream in soak.log: $back"
  [ "${BASH_REMATCH[1]}" -ge 2 ] && [ "${BASH_REMATCH[2]}" = 0 ] ||
    fail "$s stream: ${BASH_REMATCH[1]} drops came back, ${BASH_REMATCH[2]} did not when due (want 2 or more, none)"
done
pass "the bot reconnected through the chaos ($rec/h public; stream:back:lost $back), no crash, /sim/stats in the run folder"
for f in report.html diagnosis.json diagnosis.txt summary.md junit.xml security.json preflight.json; do
  [ -s "$T/a/soak/$f" ] || fail "$f missing from the run folder"
done
grep -q "^report:    $T/a/soak/report.html" "$T/a.out" || fail "the output does not say where the report is"
pass "report, diagnosis, summary, junit.xml and security.json in the run folder"

pgrep -f "$T/bin/" >/dev/null && fail "a process of make soak outlived it: $(pgrep -af "$T/bin/")"
no_secret "$T/a" "$T/a.out"
pass "no key of the account in the run folder or the output; nothing left running"
