# A child that leaves zombies and then exits: its zombies come back to soak (subreaper) and
# are reaped at once, so the zombie count returns to 0. The parent crashes 2 s after it starts;
# the last 1.5 s of a 6 s run must show none (a margin for a loaded CI machine, where a start
# can lag by a second).
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
soak_run --duration 6s --interval 100ms \
  -- sh -c "( '$demo' --zombies 5 --hb-interval 100 --crash-after 2 & ); exec '$demo' --hb-interval 100"
expect_rc 0
maxz=$(q "select max(zombies) from samples")
[ "$maxz" -ge 5 ] || fail "zombies not seen: max $maxz"
lastz=$(q "select max(zombies) from samples where elapsed_s > 4.5")
[ "$lastz" -eq 0 ] || fail "zombies not reaped: $lastz left after the parent exited"
grep -q "orphans reaped [1-9]" "$T/stdout" || fail "no orphans reaped: $(cat "$T/stdout")"
pass "zombies: max $maxz, then 0"
