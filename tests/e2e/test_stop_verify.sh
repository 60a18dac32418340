# `soak stop DIR` stops only the run of DIR (issue 10 item 6): a live run's pid file copied
# into another folder makes `soak stop` there refuse and stop nothing; the run's own folder,
# named by any path, stops it.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
"$SOAK" run --artifacts "$T/art" --status off --set analyze=false --duration 60s --interval 100ms \
  -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
for _ in $(seq 50); do [ -s "$T/art/soak.children" ] && break; sleep 0.1; done
[ -s "$T/art/soak.pid" ] || fail "no soak.pid"
mkdir -p "$T/other"
cp "$T/art/soak.pid" "$T/other/soak.pid"
set +e
timeout 30 "$SOAK" stop "$T/other" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "soak stop of the copy: exit $rc"
grep -q "soak: no soak is running in '$T/other': its pid file names pid $spid, which is not the run of this folder; nothing was stopped" "$T/e" ||
  fail "message: $(cat "$T/e")"
sleep 0.5
kill -0 "$spid" 2>/dev/null || fail "the live run was stopped through a copied pid file"
[ "$(alive "^$demo")" -ge 1 ] || fail "the service was stopped"
# the copy over the pid file of another live run (whose folder's lock is held): still refused,
# and neither run is stopped
"$SOAK" run --artifacts "$T/b" --status off --set analyze=false --duration 60s --interval 100ms \
  -- sleep 60 >"$T/stdout.b" 2>"$T/stderr.b" &
bpid=$!
for _ in $(seq 50); do [ -s "$T/b/soak.children" ] && break; sleep 0.1; done
cp "$T/art/soak.pid" "$T/b/soak.pid"
set +e
timeout 30 "$SOAK" stop "$T/b" >/dev/null 2>"$T/e"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "soak stop of the other run's folder: exit $rc"
grep -q "which is not the run of this folder" "$T/e" || fail "message: $(cat "$T/e")"
sleep 0.3
kill -0 "$spid" 2>/dev/null || fail "the live run was stopped through a pid file copied over another run's"
kill -0 "$bpid" 2>/dev/null || fail "the other run was stopped"
kill -TERM "$bpid"
wait "$bpid" || true
# a stale pid file whose process is gone
printf '999999999\nstart 1\ndir %s\n' "$T/other" >"$T/other/soak.pid"
set +e
timeout 30 "$SOAK" stop "$T/other" >/dev/null 2>"$T/e"
rc=$?
set -e
[ "$rc" -eq 3 ] && grep -q "soak: no soak is running in '$T/other'$" "$T/e" || fail "stale: rc $rc $(cat "$T/e")"
pass "a copied pid file stops nothing"
# the run's own folder, through a path with '..' and a trailing slash
(cd "$T/other" && timeout 60 "$SOAK" stop ../art/) >"$T/o" 2>"$T/e" || fail "soak stop: $(cat "$T/e")"
wait "$spid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "soak exited $rc after stop"
grep -q "stopped by SIGTERM" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
pass "soak stop of the run's own folder stops it"
