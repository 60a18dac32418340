# soak itself killed with SIGKILL: the service dies too (PR_SET_PDEATHSIG), and samples.db
# holds every sample up to the kill.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
"$SOAK" run --artifacts "$T/art" --status off --duration 60s --interval 100ms \
  -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
sleep 3
start=$(date +%s.%N)
kill -KILL "$spid"
wait "$spid" 2>/dev/null || true
for _ in $(seq 50); do pgrep -f "$demo" >/dev/null || break; sleep 0.1; done
pgrep -f "$demo" >/dev/null && fail "the service survived soak's SIGKILL"
n=$(q "select count(*) from samples")
last=$(q "select max(t) from samples")
# samples every 100 ms for ~3 s: nearly all of them are there, the last within 0.3 s of the kill
[ "$n" -ge 25 ] || fail "only $n samples survived"
awk -v l="$last" -v k="$start" 'BEGIN { exit !(k - l < 0.3) }' || fail "last sample $last, kill at $start"
q "pragma integrity_check" | grep -q ok || fail "samples.db damaged"
pass "$n samples kept, service gone"
