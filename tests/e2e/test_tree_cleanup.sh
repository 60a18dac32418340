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

# soak kill-tree does the same for any PID: every process of the tree is gone afterwards
# (all 3 ignore SIGTERM: the ignore is inherited by fork, so all 3 need SIGKILL)
"$demo" --hb-interval 100 --setsid-child --ignore-term >/dev/null &
pid=$!
sleep 0.5
tree=$(pgrep -f "$demo" | tr '\n' ' ')
[ "$(wc -w <<<"$tree")" -ge 3 ] || fail "tree not started: $tree"
timeout 20 "$SOAK" kill-tree "$pid" --timeout 500ms >"$T/kt" || fail "kill-tree failed"
wait "$pid" 2>/dev/null || true
grep -q "is gone (3 needed SIGKILL)" "$T/kt" || fail "kill-tree output: $(cat "$T/kt")"
for p in $tree; do
  if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
    fail "pid $p of the tree survived kill-tree"
  fi
done
pass "kill-tree: $(wc -w <<<"$tree") processes gone"
