# mmbot end to end, more open orders than one page (Bybit answers GET /v5/order/realtime 50 at
# a time, with nextPageCursor): `mmbot orders --count` and `mmbot check` count all of them, a
# start cancels every one an ended run left, and `mmbot cancel-all` verifies none is left.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"
PLACE="$(dirname "$0")/mmbot/place.py"
place() { BYBIT_API_KEY=$KEY BYBIT_API_SECRET=$SECRET timeout -k 5 60 python3 "$PLACE" "$PORT" "$@"; }

start_sim p --seed 5 --set limits.order_per_s=100
mm_conf "$PORT"
[ "$(place 60 mmb9-)" = 60 ] || fail "could not place the ended run's 60 orders (test setup)"
[ "$(place 7 other-)" = 7 ] || fail "could not place 7 orders of another bot (test setup)"
[ "$(ours_open mmb9-)" = 60 ] || fail "the simulator holds $(ours_open mmb9-) of the 60 orders"

mmbot_cmd orders --count
[ "$MM_RC" = 0 ] && [ "$(cat "$T/cmd.out")" = 67 ] ||
  { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "orders --count said '$(cat "$T/cmd.out")' (exit $MM_RC), want 67 over two pages"; }
mmbot_cmd orders
[ "$(grep -c ' (ours)$' "$T/cmd.out")" = 60 ] || { cat "$T/cmd.out" >&2; fail "orders listed $(grep -c ' (ours)$' "$T/cmd.out") of ours, want 60"; }
mmbot_cmd check
[ "$MM_RC" = 1 ] || { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "check exited $MM_RC with 60 orders of ours open, want 1"; }
grep -q "FAIL  open orders of ours on BTCUSDT: 60 " "$T/cmd.out" || { cat "$T/cmd.out" >&2; fail "check did not count 60 orders of ours"; }
pass "67 open orders (two pages): orders --count says 67, check counts 60 of ours"

# a start cancels all 60 (not just the first page) before it quotes; the other bot's stay
start_mmbot
wait_ours 0 15 mmb9-
wait_log 'quoting starts' 15
[ "$(ours_open other-)" = 7 ] || fail "the start cancelled orders that are not ours ($(ours_open other-) of 7 left)"
pass "a start cancels the ended run's 60 orders over two pages, leaves the other 7"
stop_mmbot 0

# cancel-all: verified over every page
[ "$(place 80 mmb8-)" = 80 ] || fail "could not place 80 orders (test setup)"
mmbot_cmd orders --count
[ "$(cat "$T/cmd.out")" = 80 ] || fail "orders --count said '$(cat "$T/cmd.out")', want 80"
mmbot_cmd cancel-all
[ "$MM_RC" = 0 ] || { cat "$T/cmd.out" "$T/cmd.err" >&2; fail "cancel-all exited $MM_RC"; }
grep -qE '^cancelled 80 orders; verified: none left$' "$T/cmd.out" || { cat "$T/cmd.out" >&2; fail "cancel-all output"; }
mmbot_cmd orders --count
[ "$(cat "$T/cmd.out")" = 0 ] || fail "orders --count after cancel-all: $(cat "$T/cmd.out")"
pass "cancel-all of 80 orders (two pages) verified: none left"
mm_sanitizer_check
stop_sim p
