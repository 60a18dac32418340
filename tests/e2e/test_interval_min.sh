# Issue 10 item 9: sampling has a floor. An interval under 10ms is refused with a settings
# error naming file:line:key (or the flag), 10ms is accepted; and a run whose sampling takes
# more than 10 % of a core says so on stderr (and in soak.log), once, while a light one does not.
source "$(dirname "$0")/lib.sh"
err2() { # TEXT CMD...: exit 2 and TEXT on stderr
  local text=$1 rc=0
  shift
  timeout 20 "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$T/err" >&2; fail "exit $rc, want 2: $*"; }
  grep -qF -- "$text" "$T/err" || fail "stderr does not say '$text': $(cat "$T/err")"
}
printf 'duration: 1m\ninterval: 1ms\n' >"$T/fast.yaml"
err2 "soak: $T/fast.yaml:2: key 'interval': '1ms' is not 10ms or more" \
  "$SOAK" run -c "$T/fast.yaml" -- true
err2 "soak: --interval: key 'interval': '9ms' is not 10ms or more" "$SOAK" run --interval 9ms -- true
err2 "--set: key 'interval': '5ms' is not 10ms or more" "$SOAK" run --set interval=5ms -- true
"$SOAK" run --interval 10ms --print-config -- true >"$T/cfg" || fail "10ms refused"
grep -q "^interval: '10ms'" "$T/cfg" || fail "10ms not in force: $(grep '^interval' "$T/cfg")"

# 300 processes every 10 ms: more than 10 % of a core (10 s: forking 300 takes a while on a
# loaded machine, and each 2 s window is judged with the tree it saw)
soak_run --duration 10s --interval 10ms --heartbeat '' \
  -- sh -c 'for i in $(seq 300); do sleep 100 & done; wait'
expect_rc 0
[ "$(grep -c "sampling takes" "$T/stderr")" -eq 1 ] || fail "no single cost warning: $(cat "$T/stderr")"
grep -Eq "^soak: sampling takes [0-9]+% of a core \(.* a sample of [0-9]+ processes, every [0-9]+ms; more than 10%\): a longer interval costs less$" "$T/stderr" ||
  fail "warning: $(cat "$T/stderr")"
grep -q "sampling takes" "$T/art/soak.log" || fail "the warning is not in soak.log"

# a small tree every 100 ms: silent
rm -rf "$T/art"
soak_run --duration 3s --interval 100ms --heartbeat '' -- sleep 100
expect_rc 0
if grep -q "sampling takes" "$T/stderr"; then fail "a light run warned: $(cat "$T/stderr")"; fi
pass "interval floor and sampling cost warning"
