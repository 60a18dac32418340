# soak itself killed with SIGKILL: the service dies too, and so do the processes it left behind
# (a setsid() grandchild and a double-forked daemon; the shim between soak and the service
# outlives soak just long enough to stop them), and samples.db holds every sample up to the kill.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
"$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 60s --interval 100ms \
  --stop-timeout 1s -- "$demo" --hb-interval 100 --setsid-child --daemon >"$T/stdout" 2>"$T/stderr" &
spid=$!
sleep 3
[ "$(alive "$demo")" -ge 4 ] || fail "the service tree did not start: $(alive "$demo") processes"
start=$(date +%s.%N)
kill -KILL "$spid"
wait "$spid" 2>/dev/null || true
for _ in $(seq 50); do [ "$(alive "$demo")" -eq 0 ] && break; sleep 0.1; done
[ "$(alive "$demo")" -eq 0 ] || { ps -eo pid,ppid,stat,args | grep "$demo" >&2; fail "processes of the service survived soak's SIGKILL"; }
# the service's shutdown lines, written after soak died, reached the log through the shim
grep -q "soak is gone" "$T/art/soak.log" || fail "no note of the shim in soak.log"
grep -q "SHUTDOWN" "$T/art/soak.log" || fail "the service's last lines were lost: $(tail -3 "$T/art/soak.log")"
n=$(q "select count(*) from samples")
last=$(q "select max(t) from samples")
# samples every 100 ms for ~3 s: nearly all of them are there, the last within 0.3 s of the kill
[ "$n" -ge 25 ] || fail "only $n samples survived"
awk -v l="$last" -v k="$start" 'BEGIN { exit !(k - l < 0.3) }' || fail "last sample $last, kill at $start"
q "pragma integrity_check" | grepq ok || fail "samples.db damaged"
pass "$n samples kept, the whole service tree gone"
