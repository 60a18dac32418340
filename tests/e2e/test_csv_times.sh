# Issue 10 item 10: a CSV import with absurd times. Rows with times near 1e308 used to give a
# duration of "0s" that still passed the duration gate (7e307 in verdict.json). Now such rows,
# and times neither elapsed (10 years at most) nor Unix times from 1990 to a year from now, are
# skipped and counted: in analyze's output and in verdict.json; the duration is that of the
# rows kept.
source "$(dirname "$0")/lib.sh"
{
  echo "elapsed_s,rss_bytes"
  for i in $(seq 0 10 600); do echo "$i,100000000"; done
  echo "1e308,100000000"
  echo "7e307,100000000"
  echo "400000000,100000000"
} >"$T/absurd.csv"
set +e
"$SOAK" analyze --samples "$T/absurd.csv" --out "$T" --set 'gates.duration=last(duration_s) >= 1h' \
  >"$T/a.out" 2>&1
RC=$?
set -e
[ "$RC" -eq 1 ] || fail "exit $RC, expected 1 (the duration gate fails): $(cat "$T/a.out")"
grep -qF "3 rows of '$T/absurd.csv' could not be parsed and were skipped (3 of them with a time out of range)" "$T/a.out" ||
  fail "skipped rows not reported: $(cat "$T/a.out")"
python3 - "$T/verdict.json" <<'PY' || fail "verdict.json: $(cat "$T/verdict.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["rows_skipped"] == 3 and v["rows_skipped_time"] == 3, v
g = {x["name"]: x for x in v["gates"]}["duration"]
assert g["status"] == "fail" and g["value"] == 600, g
PY
# only absurd times: no usable row, bad input
printf 'elapsed_s,rss_bytes\n1e308,1\ninf,1\n' >"$T/only.csv"
set +e
"$SOAK" analyze --samples "$T/only.csv" --out "$T" >"$T/b.out" 2>&1
RC=$?
set -e
[ "$RC" -eq 2 ] || fail "only absurd rows: exit $RC, expected 2: $(cat "$T/b.out")"
grep -q "no usable row in '$T/only.csv' (2 rows skipped)" "$T/b.out" || fail "$(cat "$T/b.out")"
pass "absurd CSV times skipped and counted"
