# Shared helpers of tests/e2e/test_make_soak*.sh: runs scripts/soak-mmbot (what `make soak`
# runs) with the test build's soak, mmbot and bybit-sim copied under $T (so lib.sh's cleanup
# ends whatever is left), a made-up account and a time limit, and reads its verdict.
# Environment from ctest: SOAK, BIN, EXAMPLES, SRC.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${BIN:?set BIN to the build folder}" "${SRC:?set SRC to the source folder}"
for p in soak mmbot bybit-sim; do
  [ -x "$BIN/$p" ] || fail "$BIN/$p is not built"
done
mkdir -p "$T/bin"
cp "$BIN/soak" "$BIN/mmbot" "$BIN/bybit-sim" "$T/bin/"
export SOAK_BIN_DIR="$T/bin" TMPDIR="$T"
# made up for the test; they must never appear in the run folder, the archive or the output
export BYBIT_API_KEY=mksoak-e2e-key-4711 BYBIT_API_SECRET=mksoakE2EsecretNOTreal9f3a
# the chaos profile's schedules brought forward, so that a short run sees the faults
CHAOS_FAST="faults.ws_drop.every=25s faults.ws_reset.every=50s faults.ws_stall.every=40s
faults.ws_stall.duration=4s faults.maintenance.start=60s faults.maintenance.duration=5s
faults.book_reset.every=20s"
# a report of the audit (npm audit v2, nothing found), for SOAK_AUDIT: the security gate has data
CLEAN_AUDIT=$T/npm-audit.json
cat >"$CLEAN_AUDIT" <<'JSON'
{"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {"vulnerabilities":
 {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0}}}
JSON

# make_soak DIR DURATION [LIMIT_S]: scripts/soak-mmbot into DIR/soak; sets RC, output in
# DIR.out (stdout and stderr)
make_soak() {
  local dir=$1 dur=$2 limit=${3:-300}
  set +e
  ARTIFACTS="$dir/soak" timeout -k 10 "$limit" "$SRC/scripts/soak-mmbot" "$dur" >"$dir.out" 2>&1
  RC=$?
  set -e
}

# gate DIR NAME FIELD: a field of a gate of DIR/soak/verdict.json ("None" when missing)
gate() {
  python3 -c 'import json,sys
v={g["name"]:g for g in json.load(open(sys.argv[1]))["gates"]}
print(v.get(sys.argv[2],{}).get(sys.argv[3]))' "$1/soak/verdict.json" "$2" "$3"
}

# diag_section DIR N: the severity of runbook section N in DIR/soak/diagnosis.json, and
# whether a failing gate points there ("fail gates=orphan_orders")
diag_section() {
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); n=int(sys.argv[2])
s=[x["severity"] for x in d["sections"] if x["number"]==n]
g=[x["name"] for x in d.get("failing_gates",[]) if x.get("section")==n]
print((s[0] if s else "none")+" gates="+",".join(g))' "$1/soak/diagnosis.json" "$2"
}

# no_secret PATH...: neither made-up key appears in the files (archives unpacked)
no_secret() {
  local f hits
  for f in "$@"; do
    case $f in
    *.tar.gz)
      mkdir -p "$T/unpack"
      tar xzf "$f" -C "$T/unpack"
      hits=$(grep -rlaF -e "$BYBIT_API_SECRET" -e "$BYBIT_API_KEY" "$T/unpack" || true)
      rm -rf "$T/unpack"
      ;;
    *) hits=$(grep -rlaF -e "$BYBIT_API_SECRET" -e "$BYBIT_API_KEY" "$f" || true) ;;
    esac
    [ -z "$hits" ] || fail "a key of the account appears in: $hits"
  done
}

show() { tail -40 "$1.out" >&2; }

# make_soak_bg DIR DURATION [LIMIT_S]: make_soak in the background; sets PID (of its time limit)
make_soak_bg() {
  local dir=$1 dur=$2 limit=${3:-300}
  ARTIFACTS="$dir/soak" env --default-signal=INT timeout -k 10 "$limit" "$SRC/scripts/soak-mmbot" "$dur" \
    >"$dir.out" 2>&1 &
  PID=$!
}

# interrupt: SIGINT to the script of make_soak_bg, as Ctrl-C gives it; not to its time limit,
# which would pass it on and, for its -k, SIGKILL the script 10 s later, in the middle of its end
interrupt() {
  local p
  p=$(pgrep -P "$PID" | head -1 || true)
  [ -n "$p" ] || fail "make soak is not running"
  kill -INT "$p"
}

# wait_orders MIN LIMIT_S: waits, at most LIMIT_S seconds, until the bot of the make soak started
# by make_soak_bg has at least MIN orders resting on the simulator (`mmbot orders --count` with
# the script's config, as the post-check asks); ORDERS is the last count. Returns 1 when the time
# is up or the make soak ended first. A loaded machine may take a minute before the first quote.
wait_orders() {
  local min=$1 end=$(($(date +%s) + $2)) conf n
  ORDERS=0
  while [ "$(date +%s)" -lt "$end" ]; do
    kill -0 "$PID" 2>/dev/null || return 1
    conf=$(ls "$T"/soak-mmbot.*/mmbot.yaml 2>/dev/null | head -1 || true)
    if [ -n "$conf" ]; then
      n=$(timeout 20 "$T/bin/mmbot" orders --count -c "$conf" 2>/dev/null || true)
      [[ $n =~ ^[0-9]+$ ]] && ORDERS=$n
      [ "$ORDERS" -lt "$min" ] || return 0
    fi
    sleep 1
  done
  return 1
}

# wait_ended: waits for the make soak of make_soak_bg (bounded by its time limit); sets RC
wait_ended() {
  set +e
  wait "$PID"
  RC=$?
  set -e
}
