# examples/github-actions-soak.yml: valid YAML (python3-yaml), a workflow_dispatch with a
# duration input that runs the README's `make soak DURATION=...`, appends summary.md to the job
# summary and uploads the archive and junit.xml with `if: always()`; and every path and command
# it names exists in the project (the make target, the script it runs, the binary it calls, the
# run folder and the files soak writes there).
source "$(dirname "$0")/lib.sh"
: "${SRC:?set SRC to the source folder}"
WF="$SRC/examples/github-actions-soak.yml"
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (scripts/install-deps installs it)"
python3 - "$WF" >"$T/paths" <<'PY' || fail "the workflow's structure is wrong (above)"
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
def need(cond, what):
    if not cond:
        print("workflow: " + what, file=sys.stderr); sys.exit(1)
need(isinstance(on, dict) and "workflow_dispatch" in on, "no workflow_dispatch trigger")
inp = (on["workflow_dispatch"] or {}).get("inputs", {})
need("duration" in inp, "no duration input")
steps = [s for j in wf["jobs"].values() for s in j["steps"]]
runs = "\n".join(s.get("run", "") for s in steps)
uses = [s.get("uses", "") for s in steps]
need(any(u.startswith("actions/checkout@") for u in uses), "no checkout step")
need('make soak DURATION="${{ inputs.duration }}"' in runs, "no `make soak DURATION=` of the input")
need(any("summary.md" in s.get("run", "") and "$GITHUB_STEP_SUMMARY" in s.get("run", "") and
         s.get("if") == "always()" for s in steps), "no always() step appending summary.md to $GITHUB_STEP_SUMMARY")
up = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
need(up and up[0].get("if") == "always()", "no upload with if: always()")
paths = up[0]["with"]["path"].split()
need(any("soak-artifacts-" in p for p in paths) and any(p.endswith("junit.xml") for p in paths),
     "the upload misses the archive or junit.xml")
need(all("continue-on-error" not in s for s in steps), "a step hides its exit code (continue-on-error)")
# what the workflow names, for the shell to check
for p in paths: print("upload " + p)
import re
for m in re.findall(r"(build/release/\w+|artifacts/soak/[\w.]+|scripts/[\w-]+)", runs): print("named " + m)
PY
pass "the workflow is valid YAML: dispatch with a duration, make soak, summary, upload if: always()"

# every path and command it names exists in the project
grep -qE '^soak: build$' "$SRC/Makefile" || fail "the Makefile has no 'soak: build' target"
grep -qE '^REL_DIR +\?= build/release$' "$SRC/Makefile" || fail "make build does not build into build/release"
grep -qE 'scripts/soak-mmbot \$\(DURATION\)' "$SRC/Makefile" || fail "make soak does not run scripts/soak-mmbot with DURATION"
[ -x "$SRC/scripts/soak-mmbot" ] || fail "scripts/soak-mmbot is not there or not executable"
grep -qE '^artifacts: artifacts/soak$' "$SRC/examples/soak-mmbot.yaml" || fail "the make-soak profile does not write into artifacts/soak"
grep -q 'add_executable(soak ' "$SRC/CMakeLists.txt" || fail "no soak program in CMakeLists.txt"
while read -r kind p; do
  case $p in
  build/release/soak) { "$SOAK" 2>&1 || true; } | grepq -E '^  archive DIR' || fail "soak has no archive command (named: $p)" ;;
  scripts/*) [ -x "$SRC/$p" ] || fail "$p named by the workflow does not exist" ;;
  artifacts/soak/summary.md | artifacts/soak/junit.xml)
    grep -q "\"$(basename "$p")\"" "$SRC/src/soak/analyze.c" || fail "soak does not write $(basename "$p")" ;;
  artifacts/soak-artifacts-*.tar.gz)
    grep -q 'soak-artifacts-' "$SRC/src/soak/archive.c" || fail "soak archive does not name its file soak-artifacts-*" ;;
  artifacts/soak/*) fail "the workflow names $p, which soak does not write" ;;
  *) fail "the workflow names '$p': unknown to this test" ;;
  esac
done <"$T/paths"
pass "every path and command the workflow names exists: $(awk '{print $2}' "$T/paths" | sort -u | tr '\n' ' ')"
