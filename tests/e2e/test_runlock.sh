# One run per folder (issue 10 item 2): runs into one folder started at the same instant —
# exactly one runs, the others are refused with exit 3 and a clear message, and their samples
# and log lines never interleave; the lock is not inherited by the service; soak.pid records
# pid, start time and folder.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
for trial in 1 2 3 4; do
  art="$T/art$trial"
  # started together: each waits on the same barrier file, then execs soak
  go="$T/go$trial"
  pids=()
  for k in 1 2 3; do
    (while [ ! -e "$go" ]; do sleep 0.005; done
     exec timeout -k 5 60 "$SOAK" run --artifacts "$art" --status off --set analyze=false \
       --duration 2s --interval 100ms -- "$demo" --hb-interval 100) \
      >"$T/out$trial.$k" 2>"$T/err$trial.$k" &
    pids+=($!)
  done
  sleep 0.3
  touch "$go"
  ok=0 refused=0
  for k in 1 2 3; do
    set +e
    wait "${pids[$((k - 1))]}"
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      ok=$((ok + 1))
    elif [ "$rc" -eq 3 ] && grep -q "soak: '$art' is in use by a running soak" "$T/err$trial.$k"; then
      refused=$((refused + 1))
    else
      fail "trial $trial run $k: exit $rc: $(cat "$T/err$trial.$k")"
    fi
  done
  [ "$ok" -eq 1 ] && [ "$refused" -eq 2 ] || fail "trial $trial: $ok ran, $refused refused"
  # one service only: one start event in the record
  [ "$(sqlite3 "$art/samples.db" "select count(*) from events where kind='start'")" -eq 1 ] ||
    fail "trial $trial: $(sqlite3 "$art/samples.db" "select * from events where kind='start'")"
done
pass "4 trials of 3 simultaneous runs: exactly one ran each time"

# while a run is live: its lock is held by soak only (not by the service), soak.pid says who
art="$T/live"
"$SOAK" run --artifacts "$art" --status off --set analyze=false --duration 30s --interval 100ms \
  -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
for _ in $(seq 50); do [ -s "$art/soak.children" ] && break; sleep 0.1; done
[ -n "$(pgrep -f "^$demo")" ] || fail "no service"
[ "$(sed -n 1p "$art/soak.pid")" = "$spid" ] || fail "soak.pid: $(cat "$art/soak.pid")"
[ "$(sed -n 2p "$art/soak.pid")" = "start $(awk '{print $22}' /proc/$spid/stat)" ] ||
  fail "start time: $(cat "$art/soak.pid")"
[ "$(sed -n 3p "$art/soak.pid")" = "dir $(realpath "$art")" ] || fail "dir: $(cat "$art/soak.pid")"
for p in $(pgrep -f "$demo"); do
  [ "$p" = "$spid" ] && continue # soak's own command line names the service
  if ls -l /proc/$p/fd 2>/dev/null | grepq soak.lock; then fail "the service (pid $p) holds soak.lock"; fi
done
ls -l /proc/$spid/fd | grepq soak.lock || fail "soak does not hold soak.lock"
set +e
timeout 30 "$SOAK" run --artifacts "$art" --status off -- "$demo" >"$T/o2" 2>"$T/e2"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "second run: exit $rc"
grep -q "soak: '$(realpath "$art")' is in use by a running soak (pid $spid)" "$T/e2" || fail "message: $(cat "$T/e2")"
# soak status does not take the lock: the run keeps it
"$SOAK" status "$art" | grepq "running (soak pid $spid)" || fail "status"
kill -TERM "$spid"
wait "$spid" || true
# after the run the folder is free again
soak_run --artifacts "$art" --duration 500ms --interval 100ms -- "$demo" --hb-interval 100
expect_rc 0
pass "the lock is soak's, for the whole run, and free after it"
