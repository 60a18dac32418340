# soak watch --unit and --container, against RECORDED output only: there is no systemd and no
# Docker engine here, so stub `systemctl` and `docker` scripts first on PATH print the recorded
# output of the real tools (tests/fixtures/watch: `systemctl show`, `docker inspect`) with the
# cgroup and the pid of the test's own service put in. The service runs in a cgroup the test
# creates (cgroup_lib.sh; exit 77 where none can be made). Checks: the unit's cgroup and the
# container's pid and cgroup are found, sampled, and the exit is recorded with what the unit's
# state (ExecMainStatus 3) and the inspect output (ExitCode 137, OOMKilled) say.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cgroup_lib.sh"
NAME="soak-e2e-unit-$$"
mkcg "$NAME"
FIX="$SRC/tests/fixtures/watch"
mkdir "$T/bin"

cat >"$T/bin/systemctl" <<'SH'
#!/bin/bash
# stub: `systemctl show -p ... UNIT` prints the recorded output, running or exited
echo "$*" >>"$T/systemctl.log"
[ "$1" = show ] && [ "${!#}" = bot.service ] || { echo "stub systemctl: unexpected '$*'" >&2; exit 1; }
pid=$(cat "$T/svc.pid")
if kill -0 "$pid" 2>/dev/null; then
  sed -e "s|^ControlGroup=.*|ControlGroup=/$NAME|" -e "s|^MainPID=.*|MainPID=$pid|" "$FIX/systemctl-show-running.txt"
else
  sed -e "s|^ControlGroup=.*|ControlGroup=/$NAME|" "$FIX/systemctl-show-exited.txt"
fi
SH
cat >"$T/bin/docker" <<'SH'
#!/bin/bash
# stub: `docker inspect ID` prints the recorded output, running or OOM-killed
echo "$*" >>"$T/docker.log"
[ "$1" = inspect ] && [ "$2" = 4f1c2b7a9d3e ] || { echo "Error: No such object: $2" >&2; exit 1; }
pid=$(cat "$T/svc.pid")
if kill -0 "$pid" 2>/dev/null; then
  sed -e "s|\"Pid\": 12345|\"Pid\": $pid|" "$FIX/docker-inspect-running.json"
else
  cat "$FIX/docker-inspect-oom.json"
fi
SH
chmod +x "$T/bin/systemctl" "$T/bin/docker"
export T NAME FIX PATH="$T/bin:$PATH"

cat >"$T/svc.py" <<'PY'
import sys, time
buf = bytearray(32 << 20)
for i in range(0, len(buf), 4096):
    buf[i] = 1
time.sleep(float(sys.argv[1]))
sys.exit(3)
PY

# start_svc: the service in the test's cgroup, its pid in $T/svc.pid
start_svc() {
  rm -f "$T/svc.pid"
  bash -c "$(cg_enter_cmd) && echo \$\$ >'$T/svc.pid' && exec python3 '$T/svc.py' 2.5" &
  for _ in $(seq 100); do # bounded: 10 s
    [ -s "$T/svc.pid" ] && grep -qx "$(cat "$T/svc.pid")" "$CG/cgroup.procs" && break
    sleep 0.1
  done
  grep -qx "$(cat "$T/svc.pid")" "$CG/cgroup.procs" || fail "the service did not enter '$CG'"
  sleep 0.3
}

watch_run() { # DIR ARGS...
  local dir=$1
  shift
  set +e
  timeout -k 5 60 "$SOAK" watch "$@" --artifacts "$dir" --status plain --duration 4s \
    --interval 200ms --set analyze=false >"$dir.out" 2>"$dir.err"
  RC=$?
  set -e
}
qd() { sqlite3 "$1/samples.db" "$2"; }

# --unit
start_svc
PID=$(cat "$T/svc.pid")
watch_run "$T/unit" --unit bot.service
[ "$RC" -eq 1 ] || { cat "$T/unit.out" "$T/unit.err" >&2; fail "unit: exit $RC, expected 1"; }
grep -q "^soak: watching unit bot.service (cgroup $CG_KIND $CG" "$T/unit.out" || fail "unit: $(cat "$T/unit.out")"
grep -q "^show -p Id,ControlGroup,MainPID,.* bot.service$" "$T/systemctl.log" || fail "systemctl called as: $(cat "$T/systemctl.log")"
[ "$(qd "$T/unit" "SELECT max(rss_bytes) >= 32*1048576 FROM samples")" -eq 1 ] || fail "unit: the service's memory not sampled"
[ "$(qd "$T/unit" "SELECT count(*) FROM metrics WHERE name='cgroup_memory_bytes' AND value >= 32*1048576")" -gt 0 ] ||
  fail "unit: the cgroup's memory not sampled"
[ "$(qd "$T/unit" "SELECT count(*) FROM events WHERE kind='exit' AND failure=1 AND value=3 AND detail LIKE 'pid $PID exited with code 3 after %(unit Result=exit-code ExecMainCode=1 ExecMainStatus=3)'")" -eq 1 ] ||
  fail "unit: exit not recorded from the unit's state: $(qd "$T/unit" "SELECT kind, detail, value FROM events")"
[ "$(qd "$T/unit" "SELECT value FROM run WHERE key='watch_target'")" = "unit bot.service" ] || fail "unit: run record"
pass "watch --unit (recorded systemctl output): cgroup found, exit code 3 from ExecMainStatus"

# --container
start_svc
PID=$(cat "$T/svc.pid")
watch_run "$T/ctr" --container 4f1c2b7a9d3e
[ "$RC" -eq 1 ] || { cat "$T/ctr.out" "$T/ctr.err" >&2; fail "container: exit $RC, expected 1"; }
grep -q "^soak: watching container 4f1c2b7a9d3e (pid $PID, cgroup $CG_KIND $CG" "$T/ctr.out" || fail "container: $(cat "$T/ctr.out")"
[ "$(qd "$T/ctr" "SELECT max(rss_bytes) >= 32*1048576 FROM samples")" -eq 1 ] || fail "container: memory not sampled"
[ "$(qd "$T/ctr" "SELECT count(*) FROM events WHERE kind='exit' AND failure=1 AND value=137 AND detail LIKE 'pid $PID exited with code 137 after %(container State.ExitCode 137, OOMKilled true)'")" -eq 1 ] ||
  fail "container: exit not recorded from inspect: $(qd "$T/ctr" "SELECT kind, detail, value FROM events")"
[ "$(qd "$T/ctr" "SELECT count(*) FROM events WHERE kind='oom_kill' AND failure=1")" -eq 1 ] || fail "container: no oom_kill event"
grep -q "oom kills 1" "$T/ctr.out" || fail "container: console: $(cat "$T/ctr.out")"

# a container the runtime does not know: its message, exit 3
set +e
"$SOAK" watch --container nope --artifacts "$T/ctr2" >"$T/ctr2.out" 2>"$T/ctr2.err"
RC=$?
set -e
expect_rc 3
grep -q "^soak: 'docker inspect nope' failed: exit 1: Error: No such object: nope" "$T/ctr2.err" || fail "unknown container: $(cat "$T/ctr2.err")"
pass "watch --container (recorded docker inspect output): pid and cgroup found, ExitCode 137 and OOMKilled recorded"
