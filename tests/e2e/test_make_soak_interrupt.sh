# `make soak` (scripts/soak-mmbot) interrupted: once the bot has orders resting on the simulator,
# SIGINT to make soak still leaves a verdict and an archive that holds the simulator's stats
# (saved by the profile's post-check, before soak writes the archive) and the diagnosis; the bot
# cancelled its orders (0 orphans). A second make soak into the same folder meanwhile is refused
# before it starts a simulator, and the security gate without an advisory service is no-data
# with its reason. No key of the account appears in the run folder, the archive or the output.
source "$(dirname "$0")/make_soak_lib.sh"

mkdir -p "$T/b"
make_soak_bg "$T/b" 10m 280
for _ in $(seq 1200); do
  grep -q "soak: live view on http://127.0.0.1:[0-9]*/" "$T/b.out" && break
  kill -0 "$PID" 2>/dev/null || { show "$T/b"; fail "make soak ended before its live view"; }
  sleep 0.1
done
grep -q "soak: live view on http://127.0.0.1:" "$T/b.out" || { show "$T/b"; fail "no live view address printed"; }
set +e
ARTIFACTS="$T/b/soak" timeout -k 5 60 "$SRC/scripts/soak-mmbot" 1m >"$T/c.out" 2>&1
RC=$?
set -e
[ "$RC" = 3 ] || { cat "$T/c.out" >&2; fail "a second make soak into the same folder: exit $RC, want 3"; }
grep -qF "soak-mmbot: a make soak is already running into '$T/b/soak': wait for it to end, or stop it with 'soak stop $T/b/soak'" "$T/c.out" ||
  { cat "$T/c.out" >&2; fail "the second make soak does not say why it is refused"; }
! grep -q "bybit-sim" "$T/c.out" || fail "the refused make soak started a simulator"
pass "a second make soak into the same folder is refused before it starts anything"

# the interrupt comes when the bot quotes (a loaded machine may take a minute to get there)
wait_orders 1 120 || { show "$T/b"; fail "the bot had no order resting within 120 s (last count $ORDERS)"; }
interrupt
wait_ended
[ "$RC" != 0 ] || fail "an interrupted make soak exited 0"
[ -f "$T/b/soak/verdict.json" ] || { show "$T/b"; fail "no verdict after an interrupt"; }
arch=$(ls "$T"/b/soak-artifacts-*.tar.gz 2>/dev/null | head -1)
[ -n "$arch" ] || { show "$T/b"; fail "no archive after an interrupt"; }
[ "$(ls "$T"/b/soak-artifacts-*.tar.gz | wc -l)" = 1 ] || fail "more than one archive: $(ls "$T"/b)"
# listed into a file: `tar | grep -q` under pipefail fails when grep quits before tar's last line
tar tzf "$arch" >"$T/b.list"
for f in verdict.json sim-stats.json diagnosis.txt samples.db; do
  grep -qx "soak/$f" "$T/b.list" || fail "the archive has no $f: $(tr '\n' ' ' <"$T/b.list")"
done
tar xzf "$arch" -C "$T" soak/sim-stats.json --transform 's,^soak,arch,'
python3 -c 'import json,sys; json.load(open(sys.argv[1]))["faults_fired"]' "$T/arch/sim-stats.json" ||
  fail "the archive's sim-stats.json is not the simulator's /sim/stats"
grep -q "^archive:   $arch" "$T/b.out" || { show "$T/b"; fail "the output does not say where the archive is"; }
grep -q "post-check sim_faults_fired: [0-9]" "$T/b.out" || { show "$T/b"; fail "no post-check sim_faults_fired"; }
awk -v v="$(gate "$T/b" orphan_orders value)" 'BEGIN { exit !(v == 0 && v != "None") }' || fail "orphans after an interrupt: $(gate "$T/b" orphan_orders value)"
pass "SIGINT with $ORDERS orders resting: the bot stopped clean (0 orphans), a verdict and an archive with sim-stats.json ($(basename "$arch"))"
# offline, the profile's npm audit cannot reach its advisory service: no-data with the reason
[ "$(gate "$T/b" security status)" = no-data ] || fail "security gate offline: $(gate "$T/b" security status), want no-data"
gate "$T/b" security reason | grepq "^audit failed: input 'cmd:cd tests/e2e/bybit-api && npm audit" ||
  fail "security gate without the audit's reason: $(gate "$T/b" security reason)"
grep -qE '^\| Security \| no data \| == 0 \| no-data: audit failed: ' "$T/b.out" || { show "$T/b"; fail "the table does not show the security reason"; }
pass "security without an advisory service: no-data, with the audit's reason, in verdict.json and the table"
pgrep -f "$T/bin/" >/dev/null && fail "a process of make soak outlived it: $(pgrep -af "$T/bin/")"
no_secret "$T/b" "$T/b.out" "$T/c.out" "$arch"
pass "no key of the account in the run folder, the archive or the output; nothing left running"
