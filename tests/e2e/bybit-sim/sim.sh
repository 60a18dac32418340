# Shell helpers of the bybit-sim end-to-end tests (sourced by tests/e2e/test_bybit_sim*.sh):
# start a simulator on a free port, run a Node script against it, stop it with SIGTERM and fail
# on any sanitizer report. Environment from ctest: BIN (build dir with bybit-sim), SRC.
: "${BIN:?set BIN to the build folder}"
: "${SOAK:=$BIN/soak}" "${EXAMPLES:=$BIN}" # lib.sh wants them; these tests use neither
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIMDIR="$E2E/bybit-sim"
NODEDIR="$E2E/bybit-api"
KEY=e2e-sim-key
SECRET=FAKE-e2e-sim-secret-not-real # made up; still never printed
KEY2=e2e-sim-key2
SECRET2=FAKE-e2e-sim-secret2-not-real
hide() { sed -e "s/$SECRET2/<secret>/g" -e "s/$SECRET/<secret>/g"; }

[ -x "$BIN/bybit-sim" ] || fail "$BIN/bybit-sim is not built"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps installs it)"
if [ ! -d "$NODEDIR/node_modules/ws" ] || [ "$NODEDIR/package-lock.json" -nt "$NODEDIR/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null || fail "npm is not installed"
  (cd "$NODEDIR" && timeout 180 npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1 ||
    { cat "$T/npm.log" >&2; fail "npm ci in $NODEDIR failed"; }
fi
# a copy under $T, so lib.sh's cleanup ends whatever we started
cp "$BIN/bybit-sim" "$T/bybit-sim"

declare -A SIM_PID SIM_PORT
SIMS=()

simlog() { # NAME
  echo "--- bybit-sim $1 stdout:"; hide <"$T/$1.out" | tail -20
  echo "--- bybit-sim $1 stderr:"; hide <"$T/$1.err" | tail -60
}
sanitizer_check() { # NAME
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/$1.err"; then
    simlog "$1" >&2
    fail "sanitizer report on the stderr of bybit-sim $1"
  fi
}

# start_sim NAME [ARGS...]: starts bybit-sim with the test accounts; sets SIM_PORT[NAME], PORT
start_sim() {
  local name=$1
  shift
  "$T/bybit-sim" --listen 127.0.0.1:0 --account "$KEY:$SECRET:100000" --account "$KEY2:$SECRET2:50000" \
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
  SIM_PID[$name]=$!
  SIMS+=("$name")
  for _ in $(seq 100); do
    [ -s "$T/$name.out" ] && break
    kill -0 "${SIM_PID[$name]}" 2>/dev/null || { simlog "$name" >&2; fail "bybit-sim $name exited before listening"; }
    sleep 0.1
  done
  local line
  line=$(head -n 1 "$T/$name.out")
  [[ "$line" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] ||
    { simlog "$name" >&2; fail "bybit-sim $name: no 'listening on http://127.0.0.1:PORT' line within 10 s (got '$line')"; }
  SIM_PORT[$name]=${BASH_REMATCH[1]}
  PORT=${BASH_REMATCH[1]}
}

# stop_sim NAME: SIGTERM; it must exit 0 within 5 s, without sanitizer reports
stop_sim() {
  local name=$1 pid=${SIM_PID[$1]} rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    simlog "$name" >&2
    fail "bybit-sim $name still running 5 s after SIGTERM"
  fi
  wait "$pid" || rc=$?
  sanitizer_check "$name"
  [ "$rc" -eq 0 ] || { simlog "$name" >&2; fail "bybit-sim $name exited $rc after SIGTERM, want 0"; }
}

# node_run NAME SCRIPT [LIMIT_S] [VAR=VALUE...]: runs a script of bybit-sim/ against the simulator
# NAME; fails with its output (secrets hidden) and the simulator's log when it fails.
node_run() {
  local name=$1 script=$2 limit=${3:-85} rc=0
  shift 3 || shift $#
  local port=${SIM_PORT[$name]}
  env "$@" BASE="http://127.0.0.1:$port" WSBASE="ws://127.0.0.1:$port" KEY="$KEY" SECRET="$SECRET" \
    KEY2="$KEY2" SECRET2="$SECRET2" SECRETS="$SECRET2" OVERALL_MS=$(((limit - 3) * 1000)) \
    timeout -k 5 "$limit" node "$SIMDIR/$script" >"$T/$script.out" 2>"$T/$script.err" || rc=$?
  hide <"$T/$script.out"
  hide <"$T/$script.err" >&2
  sanitizer_check "$name"
  if [ "$rc" -ne 0 ]; then
    simlog "$name" >&2
    fail "$script against bybit-sim $name failed (exit $rc)"
  fi
  if grep -q '^KNOWN BUG:' "$T/$script.out"; then
    echo "NOTE: $script reported known bugs (see KNOWN BUG lines above)"
  fi
}
