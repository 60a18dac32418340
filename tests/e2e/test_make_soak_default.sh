# `make soak` with the shipped profiles as they are (examples/chaos.yaml with no schedule brought
# forward, examples/soak-mmbot.yaml), 2 minutes: every gate of the runbook's table but the
# duration ("shortened run") and memory (below) passes, the WebSocket reconnections included (the
# chaos profile is paced under the runbook's 10 an hour), with the REST faults firing. The security
# gate reads a clean audit report (this machine has no advisory service: test_make_soak_interrupt
# shows the no-data). The memory gate has its verdict but its status is not asserted here: in
# 2 minutes of the ASan build the allocator is still warming up (with its quarantine off too:
# 0 MB/h in one run, 9.9 MB/h "still warming up" in the next); the release-build runs of
# docs/soak-example.md (10 and 60 minutes) show that gate passing.
source "$(dirname "$0")/make_soak_lib.sh"
mkdir -p "$T/d"
SOAK_AUDIT=$CLEAN_AUDIT make_soak "$T/d" 2m 285
[ -f "$T/d/soak/verdict.json" ] || { show "$T/d"; fail "no verdict.json after a 2-minute make soak (exit $RC)"; }
[ "$RC" = 1 ] || { show "$T/d"; fail "exit $RC, want 1 (a 2-minute run fails its duration gate)"; }
[ "$(gate "$T/d" duration status)" = fail ] || fail "duration gate: $(gate "$T/d" duration status), want fail"
grep -qE '^\| Duration \| 2m0[0-9]s \| >= 24h \| shortened run \|$' "$T/d.out" ||
  { show "$T/d"; fail "the table does not show the duration as a shortened run"; }
for g in cpu disk ws_reconnects ws_reconnects_private orphan_orders zombies crashes security; do
  [ "$(gate "$T/d" "$g" status)" = pass ] ||
    { show "$T/d"; fail "gate $g: $(gate "$T/d" "$g" status) ($(gate "$T/d" "$g" value) $(gate "$T/d" "$g" reason)), want pass"; }
done
for row in 'CPU average' 'Disk usage' 'WS reconnections' 'Orphan orders' 'Zombie processes' 'Crashes' 'Security'; do
  grep -qE "^\| $row \| [^|]+ \| [^|]+ \| pass \|\$" "$T/d.out" || { show "$T/d"; fail "the table's row '$row' is not pass"; }
done
grep -qE '^\| WS reconnections \| public 0, private 0 \| < 10 \| pass \|$' "$T/d.out" ||
  { show "$T/d"; fail "the shipped chaos profile made the bot reconnect within 2 minutes"; }
# the memory gate has a verdict, labelled short
grep -qE '^\| Memory growth \| -?[0-9.e+]+ MB/h \(short run: leak window 15s, minimum span 30s\) \| < 10 \| (pass|fail) \|$' "$T/d.out" ||
  { show "$T/d"; fail "the table does not show a memory verdict labelled short"; }
# no other gate of the profile fails
others=$(python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
print(" ".join(g["name"] for g in v["gates"] if g["status"]=="fail" and g["name"] not in ("duration", "memory_growth")))' "$T/d/soak/verdict.json")
[ -z "$others" ] || { show "$T/d"; fail "gates failing besides the duration: $others"; }
pass "the shipped profiles, 2 minutes: every gate of the table but the duration (and memory, judged in release runs) passes; 0 reconnects"
fired=$(python3 -c 'import json,sys
f=json.load(open(sys.argv[1]))["faults_fired"]
print(sum(f.get(k,0) for k in ("rest_latency","retcode_10006","http_429","http_5xx")), f)' "$T/d/soak/sim-stats.json")
[ "${fired%% *}" -gt 0 ] || fail "no REST fault of the chaos profile fired in 2 minutes: $fired"
pass "the chaos fired (${fired%% *} REST faults): ${fired#* }"
no_secret "$T/d" "$T/d.out"
