# Shell helpers of the mmbot end-to-end tests (sourced by tests/e2e/test_mmbot_*.sh): a
# bybit-sim on a free port (bybit-sim/sim.sh), mmbot pointed at it with the test account's keys
# in the environment, and queries of what the exchange holds (GET /sim/orders).
# Environment from ctest: BIN (build dir with mmbot and bybit-sim), SRC.
source "$(dirname "${BASH_SOURCE[0]}")/../bybit-sim/sim.sh"
[ -x "$BIN/mmbot" ] || fail "$BIN/mmbot is not built"
cp "$BIN/mmbot" "$T/mmbot"
MM_LOG="$T/mmbot.log"

# mm_conf PORT: a config pointing at the simulator on PORT, with short timings for tests
mm_conf() {
  cat >"$T/mmbot.yaml" <<YAML
exchange:
  rest_url: http://127.0.0.1:$1
  ws_public_url: ws://127.0.0.1:$1/v5/public/linear
  ws_private_url: ws://127.0.0.1:$1/v5/private
symbols: [BTCUSDT]
state_db: $T/state.db
http:
  listen: 127.0.0.1:0
log:
  heartbeat_interval: 2s
YAML
}

# mmbot_cmd ARGS...: runs an mmbot subcommand against the simulator; sets MM_RC, output in
# $T/cmd.out and $T/cmd.err
mmbot_cmd() {
  set +e
  BYBIT_API_KEY=$KEY BYBIT_API_SECRET=$SECRET timeout -k 5 60 "$T/mmbot" "$@" -c "$T/mmbot.yaml" \
    >"$T/cmd.out" 2>"$T/cmd.err"
  MM_RC=$?
  set -e
}

# start_mmbot ARGS...: starts `mmbot run` in the background; sets MM_PID and MM_HTTP (its port)
start_mmbot() {
  : >"$MM_LOG"
  BYBIT_API_KEY=$KEY BYBIT_API_SECRET=$SECRET "$T/mmbot" run -c "$T/mmbot.yaml" "$@" \
    >>"$MM_LOG" 2>&1 &
  MM_PID=$!
  MM_HTTP=""
  for _ in $(seq 100); do
    MM_HTTP=$(mm_http_port)
    [ -n "$MM_HTTP" ] && break
    kill -0 "$MM_PID" 2>/dev/null || { mmlog_show; fail "mmbot exited at start"; }
    sleep 0.1
  done
}

# The port mmbot's /health listens on, from its log line.
mm_http_port() {
  { grep -oE 'http: /health and /metrics on http://127\.0\.0\.1:[0-9]+' "$MM_LOG" || true; } |
    head -1 | sed 's/.*://'
}

mmlog_show() { echo "--- mmbot log (last 60 lines):"; hide <"$MM_LOG" | tail -60; }

# wait_log REGEX [SECONDS]: waits for a line of mmbot's log
wait_log() {
  local re=$1 limit=${2:-20}
  for _ in $(seq $((limit * 10))); do
    grep -qE -- "$re" "$MM_LOG" && return 0
    sleep 0.1
  done
  mmlog_show >&2
  fail "no log line matching '$re' within ${limit}s"
}

# sim_ours [PREFIX]: our open orders on the exchange (orderLinkId starting with PREFIX, mmb by
# default), one per line: "orderLinkId side price", sorted by orderLinkId
sim_ours() {
  curl -s "http://127.0.0.1:$PORT/sim/orders?account=$KEY" |
    python3 -c 'import json,sys
p = sys.argv[1]
for o in sorted(json.load(sys.stdin)["list"], key=lambda o: o.get("orderLinkId", "")):
    if o.get("orderLinkId", "").startswith(p):
        print(o["orderLinkId"], o["side"], o["price"])' "${1:-mmb}"
}
# ours_open [PREFIX]: how many of our orders are open (sim_ours)
ours_open() { sim_ours "${1:-mmb}" | wc -l | tr -d ' '; }
# sides_open: "Buy Sell" when both sides are quoted
sides_open() { sim_ours | awk '{ print $2 }' | sort -u | paste -sd ' ' -; }
# wait_ours N [SECONDS] [PREFIX]: waits until exactly N of our orders are open
wait_ours() {
  local want=$1 limit=${2:-20} got
  for _ in $(seq $((limit * 10))); do
    got=$(ours_open "${3:-mmb}")
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  mmlog_show >&2
  fail "$got of our orders open after ${limit}s, want $want"
}
# wait_sides [SECONDS]: waits until both sides are quoted
wait_sides() {
  for _ in $(seq $((${1:-20} * 10))); do
    [ "$(sides_open)" = "Buy Sell" ] && return 0
    sleep 0.1
  done
  mmlog_show >&2
  fail "quotes on both sides did not appear within ${1:-20}s (sides: '$(sides_open)')"
}

# metric NAME[{labels}]: the value of one sample of mmbot's /metrics
metric() {
  local body
  body=$(curl -s "http://127.0.0.1:$MM_HTTP/metrics" || true) # (no pipe: awk's early exit
  awk -v n="$1" '$1 == n { print $2; exit }' <<<"$body"         #  would fail curl's write)
}
health() { curl -s "http://127.0.0.1:$MM_HTTP/health"; }

fault() { curl -s -XPOST "http://127.0.0.1:$PORT/sim/faults" -d "$1" >/dev/null; }

# stop_mmbot [WANT_RC]: SIGTERM, waits for the exit within the shutdown timeout + 5 s; checks the
# exit code (default 0) and that there is no sanitizer report
stop_mmbot() {
  local want=${1:-0} rc=0
  kill -TERM "$MM_PID" 2>/dev/null || true
  for _ in $(seq 350); do kill -0 "$MM_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$MM_PID" 2>/dev/null && { mmlog_show >&2; kill -KILL "$MM_PID"; fail "mmbot still running 35 s after SIGTERM"; }
  wait "$MM_PID" || rc=$?
  mm_sanitizer_check
  [ "$rc" -eq "$want" ] || { mmlog_show >&2; fail "mmbot exited $rc after SIGTERM, want $want"; }
}
mm_sanitizer_check() {
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MM_LOG"; then
    mmlog_show >&2
    fail "sanitizer report in mmbot's output"
  fi
  if grep -qF "$SECRET" "$MM_LOG" "$T"/*.out 2>/dev/null; then
    fail "the API secret appears in mmbot's output"
  fi
}
