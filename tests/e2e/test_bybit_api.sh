# Proof that bybit-sim speaks real Bybit v5: a third-party client, the npm package bybit-api
# (tiagosiebler's SDK, pinned in tests/e2e/bybit-api/package.json), reads time and the book,
# places, sees, cancels an order over REST and both WebSockets, and follows the public book.
# The steps and the pinned version's reasons are in tests/e2e/bybit-api/sim-client.mjs.
# Environment from ctest: BIN (build dir with bybit-sim), SRC.
: "${BIN:?set BIN to the build folder}"
: "${SOAK:=$BIN/soak}" "${EXAMPLES:=$BIN}" # lib.sh wants them; this test uses neither
source "$(dirname "$0")/lib.sh"
DIR="$(cd "$(dirname "$0")" && pwd)/bybit-api"
KEY=e2e-bybitapi-key
SECRET=FAKE-e2e-secret-not-real # a made-up secret; still never printed
hide() { sed "s/$SECRET/<secret>/g"; }

[ -x "$BIN/bybit-sim" ] || fail "$BIN/bybit-sim is not built"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps installs it)"
# a clean clone has no node_modules: install the pinned packages (again when the lock changed)
if [ ! -d "$DIR/node_modules" ] || [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null || fail "npm is not installed (scripts/install-deps installs it)"
  (cd "$DIR" && timeout 180 npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1 ||
    { cat "$T/npm.log" >&2; fail "npm ci in $DIR failed"; }
fi

# a copy under $T, so lib.sh's cleanup ends it whatever happens
cp "$BIN/bybit-sim" "$T/bybit-sim"
"$T/bybit-sim" --listen 127.0.0.1:0 --seed 7 --account "$KEY:$SECRET:100000" \
  >"$T/sim.out" 2>"$T/sim.err" &
SIM=$!
simlog() { echo "--- bybit-sim stdout:"; hide <"$T/sim.out"; echo "--- bybit-sim stderr:"; hide <"$T/sim.err" | tail -50; }

# its first stdout line, within 10 s: "listening on http://127.0.0.1:PORT"
for _ in $(seq 100); do
  [ -s "$T/sim.out" ] && [ "$(wc -l <"$T/sim.out")" -ge 1 ] && break
  kill -0 "$SIM" 2>/dev/null || { simlog >&2; fail "bybit-sim exited before listening"; }
  sleep 0.1
done
line=$(head -n 1 "$T/sim.out")
[[ "$line" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] ||
  { simlog >&2; fail "no 'listening on http://127.0.0.1:PORT' line within 10 s"; }
PORT=${BASH_REMATCH[1]}

set +e
BASE="http://127.0.0.1:$PORT" WSBASE="ws://127.0.0.1:$PORT" KEY="$KEY" SECRET="$SECRET" \
  timeout -k 5 90 node "$DIR/sim-client.mjs" >"$T/client.out" 2>"$T/client.err"
client_rc=$?
set -e
hide <"$T/client.out"
hide <"$T/client.err" >&2

# SIGTERM stops it within 5 s: exit 0, or 143 when it leaves TERM's default action
kill -TERM "$SIM" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$SIM" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SIM" 2>/dev/null; then
  kill -KILL "$SIM"
  simlog >&2
  fail "bybit-sim still running 5 s after SIGTERM"
fi
sim_rc=0
wait "$SIM" || sim_rc=$?

[ "$client_rc" -eq 0 ] || { simlog >&2; fail "bybit-api client failed (exit $client_rc)"; }
[ "$sim_rc" -eq 0 ] || [ "$sim_rc" -eq 143 ] || { simlog >&2; fail "bybit-sim exited $sim_rc after SIGTERM"; }
pass "bybit-api $(node -p "require('$DIR/node_modules/bybit-api/package.json').version") trades against bybit-sim"
