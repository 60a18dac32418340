# soak diagnose, runbook section 4: a log flood that rotates: the diagnosis says rotation and
# compression ran and how often, reads the rotated .gz logs, lists the largest files of the run
# folder and sets the artifacts peak against the quota.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diagnose_lib.sh"
soak_run --duration 20s --interval 200ms --heartbeat '' --restart never \
  --set max_log_size=256KiB --set max_log_files=3 -- "$FLOOD" --bytes 4000000
mv "$T/art" "$T/flood"
ls "$T/flood"/soak-*.log.gz >/dev/null 2>&1 || fail "no rotated .gz log: $(ls "$T/flood")"
diagnose "$T/flood" --section 4
dj "$T/flood" '
s = sec(4)
r = [f for f in s["findings"] if "rotations" in f["values"]][0]
assert r["values"]["rotations"] >= 3 and r["values"]["compressed"] >= 1, r
assert r["finding"].startswith("rotation ran %d times (every" % r["values"]["rotations"]), r
import re
m = re.search(r"(\d+) log files read \((\d+) gzipped\)", r["finding"])
assert m and int(m.group(2)) >= 1, r
big = [f for f in s["findings"] if f["finding"] == "the largest files of the run folder"][0]
assert any("soak" in e for e in big["evidence"]), big
q = [f for f in s["findings"] if "artifacts_peak_bytes" in f["values"]][0]
assert 0 < q["values"]["artifacts_peak_bytes"] < q["values"]["artifacts_quota_bytes"], q
assert "quota" in q["finding"], q
'
grep -q "rotation ran" "$T/flood.diag" || fail "terminal: $(cat "$T/flood.diag")"
pass "diagnose disk: rotation and compression ran, .gz logs read"
