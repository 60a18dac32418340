# `make soak` with a bot made to leak (mmbot's test-only fault.leak_bytes_per_s, 2 MB/s): the
# memory gate fails, the table shows it, and soak diagnose points at the runbook's section 1.
source "$(dirname "$0")/make_soak_lib.sh"
mkdir -p "$T/l"
MMBOT_SET=fault.leak_bytes_per_s=2000000 make_soak "$T/l" 80s 220
[ -f "$T/l/soak/verdict.json" ] || { show "$T/l"; fail "no verdict (exit $RC)"; }
[ "$RC" = 1 ] || { show "$T/l"; fail "exit $RC, want 1"; }
[ "$(gate "$T/l" memory_growth status)" = fail ] || { show "$T/l"; fail "memory gate: $(gate "$T/l" memory_growth status), want fail"; }
v=$(gate "$T/l" memory_growth value)
awk -v v="$v" 'BEGIN { exit !(v > 1000) }' || fail "memory growth $v MB/h, want more than 1000 (2 MB/s is 7200 MB/h)"
grep -qE '^\| Memory growth \| [0-9.e+]+ MB/h \(short run: .*\) \| < 10 \| fail \|$' "$T/l.out" || { show "$T/l"; fail "the table does not show the memory gate failing"; }
pass "a leaking bot: the memory gate fails ($v MB/h)"
d=$(diag_section "$T/l" 1)
[ "${d%% *}" = fail ] && grep -q "memory_growth" <<<"$d" || fail "diagnosis section 1: '$d', want fail with memory_growth"
pass "soak diagnose points at section 1 (memory)"
no_secret "$T/l" "$T/l.out"
