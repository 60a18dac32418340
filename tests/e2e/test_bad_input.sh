# Bad configuration and unknown flags: exit 2 with a message naming the problem.
# A command that does not exist: exit 3.
source "$(dirname "$0")/lib.sh"
printf 'duration: 1m\nintreval: 1s\n' >"$T/a.yaml"
soak_run -c "$T/a.yaml" -- true
expect_rc 2
grep -q "a.yaml:2: key 'intreval': unknown key" "$T/stderr" || fail "unknown key: $(cat "$T/stderr")"

printf 'duration: 1m\nrestart: sometimes\n' >"$T/b.yaml"
soak_run -c "$T/b.yaml" -- true
expect_rc 2
grep -q "b.yaml:2: key 'restart': 'sometimes' is not one of never, on-failure, always" "$T/stderr" ||
  fail "bad enum: $(cat "$T/stderr")"

printf 'patterns:\n  error: "ERROR(("\n' >"$T/c.yaml"
soak_run -c "$T/c.yaml" -- true
expect_rc 2
grep -q "pattern 'error'" "$T/stderr" || fail "bad regex: $(cat "$T/stderr")"

printf 'duration: [1m\n' >"$T/d.yaml"
soak_run -c "$T/d.yaml" -- true
expect_rc 2
grep -q "d.yaml:" "$T/stderr" || fail "yaml syntax: $(cat "$T/stderr")"

soak_run -c "$T/missing.yaml" -- true
expect_rc 2
grep -q "cannot open '$T/missing.yaml'" "$T/stderr" || fail "missing file: $(cat "$T/stderr")"

soak_run --no-such-flag -- true
expect_rc 2
grep -q "unknown option '--no-such-flag'" "$T/stderr" || fail "unknown flag: $(cat "$T/stderr")"

soak_run --duration soon -- true
expect_rc 2
grep -q "duration.*'soon' is not a duration" "$T/stderr" || fail "bad duration: $(cat "$T/stderr")"

soak_run --set nope=1 -- true
expect_rc 2
grep -q "'nope': unknown key" "$T/stderr" || fail "--set unknown: $(cat "$T/stderr")"

soak_run
expect_rc 2
grep -q "no command to run" "$T/stderr" || fail "no command: $(cat "$T/stderr")"

soak_run --duration 5s -- "$T/does-not-exist" --flag
expect_rc 3
grep -q "cannot run '$T/does-not-exist': No such file or directory" "$T/stderr" ||
  fail "missing command: $(cat "$T/stderr")"
[ "$(q "select count(*) from events where kind='start_failed'")" -eq 1 ] || fail "no start_failed event"

set +e; "$SOAK" frobnicate >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "unknown command: exit $rc"
"$SOAK" run --help | grepq -- "--heartbeat-timeout" || fail "run --help"
pass "bad input"
