# soak watch --cgroup: the test creates a cgroup (v2 where /sys/fs/cgroup has the memory
# controller, v1 otherwise: /sys/fs/cgroup/memory + cpuacct + pids), moves a service into it
# (the service moves itself before it allocates, so the memory is charged to the cgroup), and
# watches it. The cgroup's own memory is sampled (metrics cgroup_memory_bytes), the processes'
# RSS too, and the service's exit is recorded (code unknown: soak is not its parent). Exit 77
# when this machine does not let the test create a cgroup: ctest reports it as skipped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cgroup_lib.sh"
mkcg "soak-e2e-watch-$$"

cat >"$T/svc.py" <<'PY'
import sys, time
buf = bytearray(48 << 20)  # 48 MiB, touched
for i in range(0, len(buf), 4096):
    buf[i] = 1
time.sleep(float(sys.argv[1]))
sys.exit(3)
PY
bash -c "$(cg_enter_cmd) && exec python3 '$T/svc.py' 3" &
SVC=$!
for _ in $(seq 100); do # bounded: 10 s for the service to be in the cgroup
  grep -qx "$SVC" "$CG/cgroup.procs" 2>/dev/null && break
  sleep 0.1
done
grep -qx "$SVC" "$CG/cgroup.procs" || fail "the service did not enter '$CG'"
sleep 0.5 # its allocation

set +e
timeout -k 5 60 "$SOAK" watch --cgroup "$CG" --artifacts "$T/art" --status plain --duration 5s \
  --interval 200ms --set analyze=false >"$T/stdout" 2>"$T/stderr"
RC=$?
set -e
expect_rc 1 # the exit, code unknown: a crash
grep -q "^soak: watching cgroup $CG_KIND $CG" "$T/stdout" || fail "no 'watching' line: $(cat "$T/stdout")"
grep -q "duration reached" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"

mib=$((1 << 20))
cgmem=$(q "SELECT max(value) FROM metrics WHERE name='cgroup_memory_bytes'")
[ -n "$cgmem" ] || fail "no cgroup_memory_bytes series"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 48*2**20 else 1)" "$cgmem" ||
  fail "the cgroup's memory peaked at $cgmem, the service holds 48 MiB"
rss=$(q "SELECT max(rss_bytes) FROM samples")
[ "$rss" -ge $((48 * mib)) ] || fail "RSS of the cgroup's processes peaked at $rss"
[ "$(q "SELECT max(procs) FROM samples")" -eq 1 ] || fail "processes: $(q "SELECT max(procs) FROM samples")"
if [ "$CG_KIND" = v2 ] || printf '%s\n' "${CG_DIRS[@]}" | grepq '^/sys/fs/cgroup/cpuacct/'; then
  [ "$(q "SELECT count(*) FROM metrics WHERE name='cgroup_cpu_seconds' AND value > 0")" -gt 0 ] ||
    fail "no CPU from the cgroup's counter"
fi
[ "$(q "SELECT count(*) FROM events WHERE kind='exit' AND failure=1 AND detail LIKE 'pid $SVC exited after %(exit code unknown: soak is not its parent)'")" -eq 1 ] ||
  fail "no exit recorded: $(q "SELECT kind, detail FROM events")"
# after the exit the cgroup is empty: samples with no process, the run goes on to its end
[ "$(q "SELECT count(*) FROM samples WHERE procs=0")" -gt 2 ] || fail "no samples of the empty cgroup"
[ "$(q "SELECT value FROM run WHERE key='watch_kind'")" = cgroup ] || fail "run record: watch_kind"
[ "$(q "SELECT value FROM run WHERE key='outcome'")" = "duration reached" ] || fail "run record: outcome"

# what a user reads for a path that is not a cgroup
set +e
"$SOAK" watch --cgroup "$T" --artifacts "$T/art2" >"$T/out2" 2>"$T/err2"
RC=$?
set -e
expect_rc 3
grep -q "^soak: cgroup '$T' has no memory.current: not a cgroup v2 directory" "$T/err2" ||
  fail "not a cgroup: $(cat "$T/err2")"
pass "watch --cgroup ($CG_KIND, ${#CG_DIRS[@]} controllers): cgroup memory $cgmem, exit recorded"
