# Helpers of the fault-injection tests (tests/e2e/test_faults_*.sh), on top of lib.sh: a small
# filesystem of its own for the run's folder, and the verdict's gates.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# fs_mount SIZE: a tmpfs of SIZE (e.g. 6m) at $FS, unmounted when the test ends. The run's
# folder is then $FS/art (ART). Without the right to mount, the test is skipped with the reason.
FS="$T/fs"
fs_mount() {
  mkdir -p "$FS"
  if ! mount -t tmpfs -o "size=$1" tmpfs "$FS" 2>"$T/mount.err"; then
    echo "SKIP: cannot mount a tmpfs of $1 (needs root or CAP_SYS_ADMIN): $(cat "$T/mount.err")"
    exit 0
  fi
  trap fs_cleanup EXIT
}
fs_cleanup() {
  pkill -KILL -f "$T" 2>/dev/null || true
  for _ in $(seq 20); do umount "$FS" 2>/dev/null && break; sleep 0.1; done
  mountpoint -q "$FS" && umount -l "$FS"
  rm -rf "$T"
}

# fs_fill LEAVE_KB: a filler file that leaves about LEAVE_KB KiB free on $FS
fs_fill() {
  local free_kb
  free_kb=$(df -k --output=avail "$FS" | tail -1 | tr -d ' ')
  if [ "$free_kb" -gt "$1" ]; then
    dd if=/dev/zero of="$FS/filler" bs=1k count=$((free_kb - $1)) conv=notrunc oflag=append 2>/dev/null || true
  fi
}
# fs_hog_start / fs_hog_stop: another process that keeps the disk full (it takes whatever is
# freed, every 50 ms) until stopped; its file is removed then
fs_hog_start() {
  ( while :; do dd if=/dev/zero of="$FS/filler" bs=4k conv=notrunc oflag=append 2>/dev/null; sleep 0.05; done ) &
  HOG=$!
  for _ in $(seq 50); do [ "$(fs_free_kb)" -lt 64 ] && break; sleep 0.05; done
}
fs_hog_stop() {
  kill "$HOG" 2>/dev/null || true
  wait "$HOG" 2>/dev/null || true
  rm -f "$FS/filler"
}
fs_free_kb() { df -k --output=avail "$FS" | tail -1 | tr -d ' '; }

# qa SQL: a query on the fault run's samples.db
qa() { sqlite3 "$FS/art/samples.db" "$1"; }

# gate NAME FIELD [DIR]: a field (status, value) of a gate in DIR/verdict.json (DIR: $FS/art)
gate() {
  jq -r --arg n "$1" --arg f "$2" '.gates[] | select(.name == $n) | .[$f]' "${3:-$FS/art}/verdict.json"
}

# analyze_run DIR [ARGS...]: `soak analyze ARGS DIR` into $T/analyze.out; sets ARC
analyze_run() {
  local dir=$1
  shift
  set +e
  "$SOAK" analyze "$@" "$dir" >"$T/analyze.out" 2>&1
  ARC=$?
  set -e
}

# wait_soak PID: waits (60 s at most) for a soak started in the background; sets RC
wait_soak() {
  set +e
  timeout -k 5 60 tail --pid="$1" -f /dev/null
  wait "$1"
  RC=$?
  set -e
}

# record_whole QUERY: the end of the record is there (the outcome of a run that reached its
# duration, nothing counted lost, the start, stop and end events); QUERY is q or qa
record_whole() {
  [ "$("$1" "select value from run where key='outcome'")" = "duration reached" ] ||
    fail "outcome: $("$1" "select value from run where key='outcome'")"
  [ "$("$1" "select value from run where key='data_lost'")" = "0" ] ||
    fail "data lost: $("$1" "select value from run where key='data_lost'")"
  [ "$("$1" "select count(*) from events where kind in ('start', 'stop', 'end')")" -eq 3 ] ||
    fail "lifecycle events lost: $("$1" "select kind from events")"
}

# stored_in_summary: the sample count the summary printed ("samples N" or "N stored of M")
stored_in_summary() { sed -n 's/^  samples *\([0-9]*\).*/\1/p' "$T/stdout"; }
