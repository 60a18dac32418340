# A cgroup of the test's own for the watch tests (sourced after lib.sh): cgroup v2 where
# /sys/fs/cgroup holds the memory controller, else cgroup v1 (memory, plus cpuacct and pids
# where mounted). mkcg NAME sets CG (the path soak watch is given), CG_DIRS (every directory
# made) and CG_KIND (v1 or v2), or exits 77 ("did not run", ctest shows it as skipped) when the
# machine does not let the test create one. cg_enter_cmd prints the shell command that moves
# the shell running it ($$) into every directory. Removed at the end (rmdir: a cgroup with
# processes left is not removed; lib.sh's cleanup kills them first).
CG_DIRS=()
rmcg() {
  pkill -KILL -f "$T" 2>/dev/null || true
  local d
  for d in "${CG_DIRS[@]}"; do
    for _ in $(seq 50); do # bounded: 5 s for the killed processes to leave
      rmdir "$d" 2>/dev/null && break
      sleep 0.1
    done
  done
  rm -rf "$T"
}
trap rmcg EXIT

skip() {
  echo "did not run: $*"
  exit 77
}

mkcg() {
  local name=$1
  if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    CG_KIND=v2
    CG=/sys/fs/cgroup/$name
    mkdir "$CG" 2>/dev/null || skip "cannot create cgroup v2 '$CG' (not root, or not delegated)"
    CG_DIRS=("$CG")
    [ -e "$CG/memory.current" ] || skip "cgroup v2 '$CG' has no memory controller (subtree_control)"
    return
  fi
  [ -d /sys/fs/cgroup/memory ] || skip "no cgroup v2 with the memory controller, no v1 memory controller"
  CG_KIND=v1
  CG=/sys/fs/cgroup/memory/$name
  mkdir "$CG" 2>/dev/null || skip "cannot create cgroup v1 '$CG' (not root, or read-only)"
  CG_DIRS=("$CG")
  local c
  for c in cpuacct pids; do
    if [ -d "/sys/fs/cgroup/$c" ] && mkdir "/sys/fs/cgroup/$c/$name" 2>/dev/null; then
      CG_DIRS+=("/sys/fs/cgroup/$c/$name")
    fi
  done
}

cg_enter_cmd() {
  local d cmd=""
  for d in "${CG_DIRS[@]}"; do
    cmd+="echo \$\$ >'$d/cgroup.procs' && "
  done
  printf '%s' "${cmd}true"
}
