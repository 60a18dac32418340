# `make soak` with a bot made to hang (mmbot's test-only fault.hang_after_s: its loop stops, no
# more "[HB] alive"): soak's heartbeat watchdog catches it within heartbeat_timeout, stops it
# and restarts it, and soak diagnose points at the runbook's section 7.
source "$(dirname "$0")/make_soak_lib.sh"
mkdir -p "$T/h"
HBT=15
MMBOT_SET=fault.hang_after_s=12 SOAK_ARGS="--set heartbeat_timeout=${HBT}s --set stop_timeout=5s" \
  make_soak "$T/h" 60s 200
[ -f "$T/h/soak/verdict.json" ] || { show "$T/h"; fail "no verdict (exit $RC)"; }
[ "$RC" = 1 ] || { show "$T/h"; fail "exit $RC, want 1"; }
q() { sqlite3 "$T/h/soak/samples.db" "$1"; }
hangs=$(q "SELECT count(*) FROM events WHERE kind='hang'")
[ "$hangs" -ge 1 ] || { show "$T/h"; fail "no hang event"; }
# caught within the heartbeat timeout (+ one sample and the heartbeat period of 10 s): the last
# heartbeat line before the hang to the hang event
gap=$(python3 - "$T/h/soak/soak.log" "$(q "SELECT min(t) FROM events WHERE kind='hang'")" <<'PY'
import sys, datetime
hang = float(sys.argv[2]); last = None
for line in open(sys.argv[1], errors="replace"):
    if "[HB] alive" in line:
        t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        if t <= hang: last = t
print(-1 if last is None else round(hang - last, 1))
PY
)
awk -v g="$gap" -v h="$HBT" 'BEGIN { exit !(g >= h - 1 && g <= h + 3) }' ||
  fail "hang caught $gap s after the last heartbeat, want within the heartbeat timeout of $HBT s"
starts=$(q "SELECT count(*) FROM events WHERE kind IN ('start','restart')")
[ "$starts" -ge 2 ] || fail "the bot was not restarted after the hang ($starts starts)"
pass "a hung bot: caught $gap s after its last heartbeat (timeout ${HBT}s), restarted ($starts starts, $hangs hangs)"
d=$(diag_section "$T/h" 7)
[ "${d%% *}" = fail ] || fail "diagnosis section 7: '$d', want fail"
grep -qi "hang" "$T/h/soak/diagnosis.txt" || fail "diagnosis.txt does not mention the hang"
pass "soak diagnose points at section 7 (crash or hang)"
no_secret "$T/h" "$T/h.out"
