# Helpers of the tests of soak's journalctl helper (test_journal_helper.sh,
# test_watch_journal.sh): the stand-in journalctl of tests/fixtures/journal first on PATH,
# logging its calls to $T/stub.log (one "pid PID args ARGS" line a start).
export PATH="$SRC/tests/fixtures/journal:$PATH"
export JOURNAL_STUB_LOG="$T/stub.log" JOURNAL_STUB_DELAY=0.1
# journal_pids: the pids of every stand-in journalctl started, in order
journal_pids() { sed -n 's/^pid \([0-9]*\) .*/\1/p' "$T/stub.log"; }
# journal_kill_after SECONDS: in the background, SECONDS after the first journalctl started,
# SIGKILLs the one that runs then (it dies as a crash would); sets JOURNAL_KILLER
journal_kill_after() {
  (
    for _ in $(seq 80); do [ -s "$T/stub.log" ] && break; sleep 0.05; done
    sleep "$1"
    pid=$(journal_pids | tail -1)
    [ -n "$pid" ] && kill -KILL "$pid"
  ) &
  JOURNAL_KILLER=$!
}
# journal_none_left: fails the test when a journalctl outlived soak
journal_none_left() {
  local pid
  for pid in $(journal_pids); do
    kill -0 "$pid" 2>/dev/null && fail "journalctl ($pid) outlived soak"
  done
  return 0
}
