# soak diagnose, runbook section 5: a parent that holds zombies (forks and never waits): the
# diagnosis fails with the peak, how long, and the parent's pid and command line, recorded by
# the slow pass when the zombies appeared.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"
demo=$(mkdemo)
soak_run --duration 4s --interval 100ms --set memory_detail_interval=1h -- "$demo" --zombies 3 --hb-interval 100
pid=$(q "select value from events where kind = 'start' limit 1" | cut -d. -f1)
mv "$T/art" "$T/z"
diagnose "$T/z"
[ "$DRC" -eq 1 ] || fail "soak diagnose exit $DRC, expected 1"
dj "$T/z" "
s = sec(5)
assert s['severity'] == 'fail', s
f = s['findings'][0]
assert f['values']['zombies_max'] == 3, f
assert f['values']['parent_pid'] > 1, f
assert '$demo --zombies 3' in f['values']['parent_command'], f
assert 'held by parent pid %d ($demo --zombies 3' % f['values']['parent_pid'] in f['finding'], f
assert f['values']['zombie_seconds'] >= 2, f
"
grep -q "^5. zombies: fail" "$T/z.diag" || fail "terminal: $(cat "$T/z.diag")"
pass "diagnose zombies: the parent's pid and command"
