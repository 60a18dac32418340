# Issue 10 item 4: the zombies gate counts only zombies that persist. A shell that runs
# `cmd & ... wait` has a zombie for a moment after each child exits, until it waits: healthy,
# so the gate passes, though the samples saw zombies. A parent that never reaps (the shell
# leaves two children and execs into sleep, which never waits) fails it; the run names that
# parent in a zombie_persistent event; the summary and `soak status` show both counts.
source "$(dirname "$0")/lib.sh"
gate_run() { # DIR SCRIPT
  set +e
  timeout -k 5 60 "$SOAK" run --artifacts "$1" --status off --duration 4s --interval 20ms \
    --heartbeat '' --set zombie_grace=1s --set "gates.duration=last(duration_s) >= 1s" \
    -- sh -c "$2" >"$1.out" 2>"$1.err"
  RC=$?
  set -e
}
gate_of() { # DIR: status and value of the zombies gate
  python3 -c '
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1] + "/verdict.json"))["gates"]}["zombies"]
print(g["status"], g["value"], g["expr"] if "expr" in g else "")' "$1"
}

# healthy: five children at a time, reaped 50 ms after they exit
gate_run "$T/reaps" 'while :; do for i in 1 2 3 4 5; do true & done; sleep 0.05; wait; done'
seen=$(sqlite3 "$T/reaps/samples.db" "select max(zombies) from samples")
[ "$seen" -ge 1 ] || fail "the shell loop showed no transient zombie (max $seen): the case is not tested"
pers=$(sqlite3 "$T/reaps/samples.db" "select max(zombies_persistent) from samples")
[ "$pers" -eq 0 ] || fail "transient zombies counted as persistent: $pers"
read -r st val _ <<<"$(gate_of "$T/reaps")"
[ "$st" = pass ] || { cat "$T/reaps.out" >&2; fail "zombies gate of a reaping shell: $st ($val), expected pass"; }
grep -q "zombies      max $seen," "$T/reaps.out" || fail "summary lacks the zombie peak: $(cat "$T/reaps.out")"
grep -q "persistent   max 0 zombies (seen for 1s or more)" "$T/reaps.out" || fail "summary lacks the persistent count"

# a parent that never reaps
gate_run "$T/keeps" 'true & true & exec sleep 100'
read -r st val _ <<<"$(gate_of "$T/keeps")"
[ "$st" = fail ] || fail "zombies gate of a parent that never reaps: $st ($val), expected fail"
[ "${val%.*}" -eq 2 ] || fail "persistent zombies: $val, expected 2"
[ "$RC" -ne 0 ] || fail "a run with persistent zombies passed"
ev=$(sqlite3 "$T/keeps/samples.db" "select detail from events where kind = 'zombie_persistent'")
# the count is the parent's persistent zombies at that moment: the second child may exit a
# sample after the first
[[ "$ev" =~ ^pid\ [0-9]+\ \(sleep\ 100\)\ has\ not\ reaped\ [12]\ zombies\ for\ 1s$ ]] ||
  fail "event names no parent: '$ev'"
[ "$(sqlite3 "$T/keeps/samples.db" "select count(*) from events where kind = 'zombie_persistent'")" -eq 1 ] ||
  fail "the parent was named more than once"
grep -q "persistent   max 2 zombies (seen for 1s or more)" "$T/keeps.out" || fail "summary lacks the persistent count: $(cat "$T/keeps.out")"
"$SOAK" status "$T/keeps" >"$T/status.out"
grep -Eq "^processes [0-9]+ \(zombies [0-9]+, persistent [0-9]+\)" "$T/status.out" || fail "status: $(cat "$T/status.out")"
pass "zombies gate: transient $seen pass, 2 kept fail and named"
