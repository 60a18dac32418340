# A service that forks a setsid() grandchild and a double-forked daemon, and ignores SIGTERM:
# after the run, nothing of its tree is left.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
soak_run --duration 2s --interval 100ms --stop-timeout 1s \
  -- "$demo" --hb-interval 100 --setsid-child --daemon --ignore-term
expect_rc 0
maxp=$(q "select max(procs) from samples")
[ "$maxp" -ge 4 ] || fail "tree not fully seen: max procs $maxp (want >= 4)"
sleep 0.2
left=$(alive "$demo")
[ "$left" -eq 0 ] || { ps -ef | grep "$demo" >&2; fail "$left processes survived the run"; }
[ "$(q "select count(*) from events where kind='stop_kill'")" -ge 1 ] ||
  fail "SIGTERM-ignoring tree should have needed SIGKILL"
pass "tree of $maxp processes gone after stop"

# soak kill-tree does the same for any PID
"$demo" --hb-interval 100 --setsid-child --daemon --ignore-term >/dev/null &
pid=$!
sleep 0.5
# the daemon escaped to init; the rest is a tree under $pid
timeout 20 "$SOAK" kill-tree "$pid" --timeout 500ms >"$T/kt" || fail "kill-tree failed"
wait "$pid" 2>/dev/null || true
sleep 0.1
kids=$({ pgrep -P "$pid" || true; } | wc -l)
[ "$kids" -eq 0 ] || fail "kill-tree left children of $pid"
grep -q "is gone" "$T/kt" || fail "kill-tree output: $(cat "$T/kt")"
pkill -KILL -f "$demo" || true
pass "kill-tree"
