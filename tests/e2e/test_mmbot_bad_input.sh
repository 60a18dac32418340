# mmbot end to end, bad input: missing or wrong keys and bad configuration exit 2 with a clear
# message (file, line, key); keys on the command line are refused; the secret never shows.
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "$0")/mmbot/mm.sh"

start_sim b --seed 17
mm_conf "$PORT"

# no keys at all
set +e
env -u BYBIT_API_KEY -u BYBIT_API_SECRET timeout 20 "$T/mmbot" run -c "$T/mmbot.yaml" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 2 ] || fail "no keys: exit $rc, want 2"
grep -q 'mmbot: no API keys: set BYBIT_API_KEY and BYBIT_API_SECRET' "$T/e" || { cat "$T/e" >&2; fail "no keys: message"; }

# a wrong secret: the exchange refuses it; exit 2 and a message that names the key's source
set +e
BYBIT_API_KEY=$KEY BYBIT_API_SECRET=wrong-secret-xyz timeout 30 "$T/mmbot" run -c "$T/mmbot.yaml" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 2 ] || { cat "$T/e" >&2; fail "wrong secret: exit $rc, want 2"; }
grep -q 'API key .*refused' "$T/e" || { cat "$T/e" >&2; fail "wrong secret: no clear message"; }
grep -q 'wrong-secret-xyz' "$T/o" "$T/e" && fail "the secret was printed"
[ "$(ours_open)" = 0 ] || fail "orders placed with a wrong key"

# a key file readable by others
printf 'api_key: %s\napi_secret: %s\n' "$KEY" "$SECRET" >"$T/keys.yaml"
chmod 644 "$T/keys.yaml"
set +e
env -u BYBIT_API_KEY -u BYBIT_API_SECRET "$T/mmbot" check -c "$T/mmbot.yaml" --set key_file="$T/keys.yaml" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "can be read by others (mode 0644): run chmod 600" "$T/e" || { cat "$T/e" >&2; fail "key file mode"; }
chmod 600 "$T/keys.yaml"
set +e
env -u BYBIT_API_KEY -u BYBIT_API_SECRET "$T/mmbot" check -c "$T/mmbot.yaml" --set key_file="$T/keys.yaml" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 0 ] || { cat "$T/o" "$T/e" >&2; fail "check with a 0600 key file: exit $rc"; }
pass "keys: missing, wrong, readable by others: exit 2 with a clear message; a 0600 file works"

# configuration errors name the file, the line and the key
printf 'websocket:\n  stale_timeout: 0\n' >"$T/bad.yaml"
set +e
"$T/mmbot" run -c "$T/bad.yaml" >"$T/o" 2>"$T/e"
rc=$?
"$T/mmbot" run --api-secret x >"$T/o2" 2>"$T/e2"
rc2=$?
"$T/mmbot" frobnicate >"$T/o3" 2>"$T/e3"
rc3=$?
set -e
[ "$rc" = 2 ] && grep -q "bad.yaml:2: key 'websocket.stale_timeout'" "$T/e" || { cat "$T/e" >&2; fail "config error: exit $rc"; }
[ "$rc2" = 2 ] && grep -q "unknown option '--api-secret'" "$T/e2" || { cat "$T/e2" >&2; fail "a key flag was not refused"; }
[ "$rc3" = 2 ] && grep -q "unknown command 'frobnicate'" "$T/e3" || fail "unknown command"
"$T/mmbot" --help | grepq 'mmbot cancel-all' || fail "--help"
"$T/mmbot" run --help-keys | grepq 'websocket.heartbeat_interval' || fail "--help-keys"
pass "configuration errors: exit 2 naming file:line:key; no key flags"
stop_sim b
