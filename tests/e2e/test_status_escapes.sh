# Issue 10 item 7: a service cannot write to the operator's terminal through soak. Its log
# lines reach `soak status` in pattern events; a window-title sequence (ESC ] 0 ; ... BEL), a
# colour code and an 8-bit CSI in them, and in its command, are shown escaped: no control byte
# reaches the terminal, and the text stays readable.
source "$(dirname "$0")/lib.sh"
soak_run --duration 2s --interval 100ms --heartbeat '' \
  -- sh -c 'printf "ERROR \033]0;pwned\007 \033[31mred\033[0m \233""2J end\n"; exec sleep 100' "$(printf 'x\033[2Jy')"
expect_rc 0
"$SOAK" status "$T/art" >"$T/status.out"
grep -q "pattern" "$T/status.out" || fail "no pattern event in status: $(cat "$T/status.out")"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f\x80-\x9f]' "$T/status.out"; then
  fail "control bytes reach the terminal: $(od -c "$T/status.out" | head -20)"
fi
grep -qF 'ERROR \x1b]0;pwned\x07 \x1b[31mred\x1b[0m \x9b2J end' "$T/status.out" \
  || fail "the line is not shown escaped: $(cat "$T/status.out")"
grep -qF 'x\x1b[2Jy' "$T/status.out" || fail "the command is not shown escaped"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f\x80-\x9f]' "$T/stdout"; then
  fail "control bytes in the run's summary: $(od -c "$T/stdout" | head)"
fi
pass "status escapes the service's control characters"
