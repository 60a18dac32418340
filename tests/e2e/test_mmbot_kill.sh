# mmbot end to end, killed: after SIGKILL a restart cancels the ended run's orders before it
# quotes (zero orphans within 10 s of the start); after SIGKILL `mmbot cancel-all` leaves zero;
# `mmbot orders --count` and `mmbot check` tell what is open. The state database is written by
# a writer thread (src/mmbot/statewr.h): every order open on the exchange after the SIGKILL has
# its row (its id was committed before it was used), and a clean stop drains the queue before
# the database is closed (no reserved id left, every order of the run terminal).
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

db() { sqlite3 "$T/state.db" "$1"; }
start_sim k --seed 3
mm_conf "$PORT"
start_mmbot
wait_sides 15
[ "$(metric mmbot_state_queue_capacity)" = 2048 ] || fail "state queue capacity '$(metric mmbot_state_queue_capacity)', want 2048"
[ "$(metric mmbot_state_db_batches_total)" -gt 0 ] || fail "the writer thread committed no batch"
[ "$(metric mmbot_state_queue_full_total)" = 0 ] || fail "the state queue was full $(metric mmbot_state_queue_full_total) times while quoting"
kill -KILL "$MM_PID"
wait "$MM_PID" 2>/dev/null || true
left=$(ours_open mmb1-)
[ "$left" -gt 0 ] || fail "the killed run left no order to clean up (test setup)"
ids=$(sim_ours mmb1- | awk '{ print $1 }')
for id in $ids; do
  [ "$(db "select count(*) from orders where link_id = '$id'")" = 1 ] || fail "order $id is open on the exchange and has no row in the state db after SIGKILL"
done
pass "SIGKILL: each of the $left orders open on the exchange has its row in the state db"
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

# a clean stop drains the writer's queue before the database closes: the unused ids are
# retired (written after the loop ended) and every order of the run has its final status
start_mmbot
wait_sides 15
stop_mmbot 0
[ "$(ours_open)" = 0 ] || fail "a clean stop left $(ours_open) orders open"
[ "$(db "select count(*) from orders where run_id = 3 and status = 'reserved'")" = 0 ] || fail "a clean stop left reserved ids: $(db "select link_id from orders where run_id = 3 and status = 'reserved'")"
[ "$(db "select count(*) from orders where run_id = 3 and status = 'unsent'")" -gt 0 ] || fail "a clean stop retired none of its unused ids"
open3=$(db "select count(*) from orders where run_id = 3 and terminal = 0")
[ "$open3" = 0 ] || fail "after a clean stop $open3 orders of run 3 are not terminal in the state db: $(db "select link_id, status from orders where run_id = 3 and terminal = 0")"
pass "a clean stop drains the state queue: no reserved id left, every order of the run terminal"
mm_sanitizer_check
stop_sim k
