# mmbot end to end, killed: after SIGKILL a restart cancels the ended run's orders before it
# quotes (zero orphans within 10 s of the start); after SIGKILL `mmbot cancel-all` leaves zero;
# `mmbot orders --count` and `mmbot check` tell what is open.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

start_sim k --seed 3
mm_conf "$PORT"
start_mmbot
wait_sides 15
kill -KILL "$MM_PID"
wait "$MM_PID" 2>/dev/null || true
left=$(ours_open mmb1-)
[ "$left" -gt 0 ] || fail "the killed run left no order to clean up (test setup)"
mmbot_cmd check
[ "$MM_RC" = 1 ] || { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "check exited $MM_RC with orders of ours open, want 1"; }
grep -q "FAIL  open orders of ours on BTCUSDT: $left" "$T/cmd.out" || { cat "$T/cmd.out" >&2; fail "check did not name the $left open orders"; }
mmbot_cmd orders --count
[ "$MM_RC" = 0 ] && [ "$(cat "$T/cmd.out")" = "$left" ] || { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "orders --count said '$(cat "$T/cmd.out")', want $left"; }
pass "a SIGKILL leaves $left orders; check and orders --count see them"

# restart: the ended run's orders are cancelled within 10 s, then quoting starts afresh
t0=$(date +%s%N)
start_mmbot
wait_ours 0 10 mmb1-
t1=$(date +%s%N)
wait_log 'quoting starts' 10
wait_sides 15
pass "restart: the ended run's $left orders cancelled in $(((t1 - t0) / 1000000)) ms, quoting again"

# SIGKILL again, then the emergency command
kill -KILL "$MM_PID"
wait "$MM_PID" 2>/dev/null || true
[ "$(ours_open)" -gt 0 ] || fail "the second run left nothing open (test setup)"
mmbot_cmd cancel-all
[ "$MM_RC" = 0 ] || { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "cancel-all exited $MM_RC"; }
grep -qE '^cancelled [0-9]+ orders; verified: none left$' "$T/cmd.out" || { cat "$T/cmd.out" >&2; fail "cancel-all output"; }
[ "$(ours_open)" = 0 ] || fail "cancel-all left $(ours_open) orders"
mmbot_cmd orders --count
[ "$(cat "$T/cmd.out")" = 0 ] || fail "orders --count after cancel-all: $(cat "$T/cmd.out")"
mmbot_cmd check
[ "$MM_RC" = 0 ] || { cat "$T/cmd.out" >&2; fail "check exited $MM_RC on a clean account"; }
pass "SIGKILL then cancel-all leaves zero; check passes"
mm_sanitizer_check
stop_sim k
