# The settings engine seen from both programs: a key given twice, a value out of range (from a
# file, --set or a flag) and a log pattern that does not compile all stop `soak run` and
# `bybit-sim` at load time with exit 2 and a message naming file:line:key (or the flag);
# --print-config prints what loads back; documented zeros (pss_interval: 0) still load.
source "$(dirname "$0")/lib.sh"
SIM="$BIN/bybit-sim"

# expect2 WHAT TEXT CMD...: CMD exits 2 and its stderr holds TEXT (a fixed string)
expect2() {
  local what=$1 text=$2 rc=0
  shift 2
  timeout 20 "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$T/err" >&2; fail "$what: exit $rc, want 2"; }
  grep -qF -- "$text" "$T/err" || { cat "$T/err" >&2; fail "$what: stderr does not say: $text"; }
}

# --- soak run ---
printf 'interval: 1s\nduration: 1m\ninterval: 2s\n' >"$T/dup.yaml"
expect2 "soak: duplicate key" "dup.yaml:3: key 'interval': given twice (first on line 1)" \
  "$SOAK" run -c "$T/dup.yaml" -- true
printf 'patterns:\n  oom: x\nduration: 1m\npatterns:\n  err: y\n' >"$T/dupmap.yaml"
expect2 "soak: mapping twice" "dupmap.yaml:4: key 'patterns': given twice (first on line 1)" \
  "$SOAK" run -c "$T/dupmap.yaml" -- true
printf 'duration: 1m\ninterval: 0\n' >"$T/zero.yaml"
expect2 "soak: interval 0" "zero.yaml:2: key 'interval': '0' is not 1ms or more" \
  "$SOAK" run -c "$T/zero.yaml" -- true
printf 'heartbeat_timeout: 0\n' >"$T/hb0.yaml"
expect2 "soak: heartbeat_timeout 0 with --print-config" \
  "hb0.yaml:1: key 'heartbeat_timeout': '0' is not 1ms or more" \
  "$SOAK" run -c "$T/hb0.yaml" --print-config
expect2 "soak: --duration 0" "--duration: key 'duration': '0' is not 1ms or more" \
  "$SOAK" run --duration 0 -- true
expect2 "soak: --set interval=0" "--set: key 'interval': '0' is not 1ms or more" \
  "$SOAK" run --set interval=0 -- true
printf 'duration: 1m\npatterns:\n  error: "ERROR(("\n' >"$T/pat.yaml"
expect2 "soak: bad pattern" "pat.yaml:3: key 'patterns.error': pattern 'error'" \
  "$SOAK" run -c "$T/pat.yaml" -- true
expect2 "soak: bad pattern in --set" "--set: key 'patterns.oom': pattern 'oom'" \
  "$SOAK" run --set 'patterns.oom=a[' -- true
expect2 "soak: bad heartbeat" "--heartbeat: key 'heartbeat': pattern 'heartbeat'" \
  "$SOAK" run --heartbeat '(' -- true
# no run was started by any of these
[ ! -e "$T/art" ] || fail "a refused configuration still created the artifacts folder"

# documented zeros load; --print-config loads back to the same text
printf 'pss_interval: 0\nstop_timeout: 0\nmin_free_disk: 0\n' >"$T/zeros.yaml"
"$SOAK" run -c "$T/zeros.yaml" --print-config >"$T/p1.yaml" || fail "pss_interval: 0 refused"
grep -q "^pss_interval: '0s'" "$T/p1.yaml" || fail "pss_interval: $(grep pss_interval "$T/p1.yaml")"
"$SOAK" run -c "$T/p1.yaml" --print-config >"$T/p2.yaml" || fail "--print-config output does not load"
cmp -s "$T/p1.yaml" "$T/p2.yaml" || { diff "$T/p1.yaml" "$T/p2.yaml" >&2; fail "print-config round trip"; }
"$SOAK" run --help-keys >"$T/keys" || fail "--help-keys exited $?"
grep -qE "^  interval +1s +.*\(1ms or more\)$" "$T/keys" || fail "--help-keys: $(grep interval "$T/keys")"

# --- bybit-sim ---
printf 'seed: 3\nseed: 4\n' >"$T/b1.yaml"
expect2 "bybit-sim: duplicate key" "b1.yaml:2: key 'seed': given twice (first on line 1)" \
  "$SIM" -c "$T/b1.yaml"
printf 'market:\n  volatility: 0.02\nmarket:\n  leverage: 5\n' >"$T/b2.yaml"
expect2 "bybit-sim: mapping twice" "b2.yaml:3: key 'market': given twice (first on line 1)" \
  "$SIM" -c "$T/b2.yaml"
printf 'book:\n  interval: 0\n' >"$T/b3.yaml"
expect2 "bybit-sim: book.interval 0" "b3.yaml:2: key 'book.interval': '0' is not from 1ms to 60s" \
  "$SIM" -c "$T/b3.yaml"
expect2 "bybit-sim: --set out of range" "--set: key 'ws.idle_timeout': '0' is not from 1s to 1d" \
  "$SIM" --set ws.idle_timeout=0
expect2 "bybit-sim: --seed" "--seed: key 'seed': 'x' is not a whole number" "$SIM" --seed x
"$SIM" -c "$SRC/examples/bybit-sim.yaml" --account other:NotShown42 --print-config >"$T/s1.yaml" ||
  fail "bybit-sim --print-config"
grep -q NotShown42 "$T/s1.yaml" && fail "bybit-sim --print-config shows a secret"
grep -q "^# accounts: (2 set, not shown)" "$T/s1.yaml" || fail "accounts: $(grep accounts "$T/s1.yaml")"
"$SIM" -c "$T/s1.yaml" --print-config >"$T/s2.yaml" || fail "bybit-sim --print-config does not load"
# the accounts are left out (secrets), everything else is the same
grep -v accounts "$T/s1.yaml" >"$T/s1b.yaml"
grep -v accounts "$T/s2.yaml" >"$T/s2b.yaml"
cmp -s "$T/s1b.yaml" "$T/s2b.yaml" || { diff "$T/s1b.yaml" "$T/s2b.yaml" >&2; fail "bybit-sim round trip"; }
"$SIM" --help-keys >"$T/keys" || fail "bybit-sim --help-keys exited $?"
grep -qE "^  book.interval +20ms +.*\(from 1ms to 60s\)$" "$T/keys" || fail "bybit-sim --help-keys"
pass "settings errors name file:line:key in soak and bybit-sim; --print-config loads back"
