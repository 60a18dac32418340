# The archive (issue 11 §3): a run stopped by SIGINT writes soak-artifacts-*.tar.gz beside its
# folder after its verdict, holding samples.db (integrity check passes on the extracted copy),
# verdict.json and the logs; a run that reaches its duration writes none (on-interrupt);
# `soak archive DIR -o FILE` works on a live run; and a soak SIGKILLed mid-run is recovered
# with `soak analyze DIR && soak archive DIR`, the archive holding every sample up to the kill.
source "$(dirname "$0")/lib.sh"
demo=$(mkdemo)
mkdir -p "$T/runs"
"$SOAK" run --artifacts "$T/runs/int" --status off --duration 60s --interval 100ms \
  --set leak_min_span=0 -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
# samples(DIR): how many samples the run in DIR has stored so far
samples() { sqlite3 "$1/samples.db" "select count(*) from samples" 2>/dev/null || echo 0; }
for _ in $(seq 300); do [ "$(samples "$T/runs/int")" -ge 15 ] && break; sleep 0.1; done
# a live run: soak archive gives a consistent copy meanwhile
"$SOAK" archive "$T/runs/int" -o "$T/live.tar.gz" >"$T/o" 2>&1 || fail "soak archive of a live run: $(cat "$T/o")"
grep -q "soak: wrote $T/live.tar.gz" "$T/o" || fail "message: $(cat "$T/o")"
mkdir "$T/xl" && tar xzf "$T/live.tar.gz" -C "$T/xl" || fail "tar xzf of the live archive"
[ "$(sqlite3 "$T/xl/int/samples.db" "pragma integrity_check")" = ok ] || fail "live copy damaged"
[ "$(sqlite3 "$T/xl/int/samples.db" "select count(*) from samples")" -ge 10 ] || fail "live copy: too few samples"
kill -INT "$spid"
set +e
wait "$spid"
rc=$?
set -e
[ "$rc" -le 1 ] || fail "soak exit $rc: $(cat "$T/stderr")"
n=$(ls "$T/runs" | grep -c '^soak-artifacts-[0-9]\{8\}-[0-9]\{6\}\.tar\.gz$' || true)
[ "$n" -eq 1 ] || fail "archives beside the folder: $(ls "$T/runs")"
arc="$T/runs/$(ls "$T/runs" | grep '^soak-artifacts-')"
grep -q "  archive      $arc" "$T/stdout" || fail "archive not announced: $(cat "$T/stdout")"
mkdir "$T/x" && tar xzf "$arc" -C "$T/x" || fail "tar xzf"
[ "$(sqlite3 "$T/x/int/samples.db" "pragma integrity_check")" = ok ] || fail "extracted samples.db damaged"
[ "$(sqlite3 "$T/x/int/samples.db" "select count(*) from samples")" -eq \
  "$(sqlite3 "$T/runs/int/samples.db" "select count(*) from samples")" ] || fail "samples differ"
sqlite3 "$T/x/int/samples.db" "select value from run where key='outcome'" | grepq "stopped by SIGINT" ||
  fail "the archive was written before the outcome"
python3 -c "import json,sys; json.load(open(sys.argv[1]))['pass']" "$T/x/int/verdict.json" || fail "verdict.json"
grep -q "HB" "$T/x/int/soak.log" || fail "soak.log not in the archive"
for f in soak.lock samples.db-wal samples.db-shm; do [ ! -e "$T/x/int/$f" ] || fail "$f archived"; done
pass "SIGINT: the archive holds samples.db, verdict.json and the logs"

# the duration reached: on-interrupt writes nothing; always does
"$SOAK" run --artifacts "$T/runs/done" --status off --set analyze=false --duration 500ms --interval 100ms \
  -- "$demo" --hb-interval 100 >"$T/stdout" 2>&1 || fail "run: $(cat "$T/stdout")"
[ "$(ls "$T/runs" | grep -c '^soak-artifacts-')" -eq 1 ] || fail "a completed run wrote an archive"
sleep 1 # the archive's name has the second in it
"$SOAK" run --artifacts "$T/runs/done" --status off --set analyze=false --set archive=always \
  --duration 500ms --interval 100ms -- "$demo" --hb-interval 100 >"$T/stdout" 2>&1 || fail "run: $(cat "$T/stdout")"
[ "$(ls "$T/runs" | grep -c "^soak-artifacts-")" -eq 2 ] || fail "archive=always wrote none: $(ls "$T/runs"; cat "$T/stdout")"
pass "on-interrupt and always"

# a start limit is an interruption too: the crash loop leaves its archive
mkdir -p "$T/sl"
set +e
timeout -k 5 60 "$SOAK" run --artifacts "$T/sl/run" --status off --set analyze=false --duration 60s \
  --interval 100ms --heartbeat '' --set restart_delay=100ms --set start_limit_burst=2 \
  -- "$demo" --crash-after 0 >"$T/stdout" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "start limit" "$T/stdout" || fail "start limit run: rc $rc $(cat "$T/stdout")"
[ "$(ls "$T/sl" | grep -c '^soak-artifacts-.*\.tar\.gz$')" -eq 1 ] || fail "no archive after the start limit: $(ls "$T/sl")"
pass "a start limit writes the archive"

# SIGKILL, then recover
"$SOAK" run --artifacts "$T/runs/killed" --status off --set analyze=false --duration 60s --interval 100ms \
  --set leak_min_span=0 -- "$demo" --hb-interval 100 >"$T/stdout" 2>"$T/stderr" &
spid=$!
for _ in $(seq 300); do [ "$(samples "$T/runs/killed")" -ge 25 ] && break; sleep 0.1; done
kill -KILL "$spid"
wait "$spid" 2>/dev/null || true
before=$(sqlite3 "$T/runs/killed/samples.db" "select count(*) from samples")
[ "$before" -ge 20 ] || fail "only $before samples before the kill"
set +e
"$SOAK" analyze --set duration=1s "$T/runs/killed" >"$T/an" 2>&1
rc=$?
set -e
[ "$rc" -le 1 ] || fail "soak analyze after SIGKILL: exit $rc: $(cat "$T/an")"
[ -s "$T/runs/killed/verdict.json" ] || fail "no verdict after SIGKILL"
"$SOAK" archive "$T/runs/killed" -o "$T/killed.tar.gz" >"$T/o" 2>&1 || fail "soak archive: $(cat "$T/o")"
mkdir "$T/xk" && tar xzf "$T/killed.tar.gz" -C "$T/xk"
[ "$(sqlite3 "$T/xk/killed/samples.db" "pragma integrity_check")" = ok ] || fail "recovered copy damaged"
after=$(sqlite3 "$T/xk/killed/samples.db" "select count(*) from samples")
[ "$after" -eq "$before" ] || fail "the archive holds $after samples, the run had $before"
[ -s "$T/xk/killed/verdict.json" ] || fail "verdict.json not in the recovered archive"
pass "SIGKILL then analyze and archive: $after samples, all of them"

# errors: no folder is a usage error
set +e
"$SOAK" archive "$T/nope" >"$T/o" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "soak: cannot archive '$T/nope'" "$T/o" || fail "missing folder: rc $rc $(cat "$T/o")"
pass "soak archive of a missing folder"
