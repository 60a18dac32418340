# A real daemon from Debian: nginx in its default daemon mode, on a loopback port, its pid file
# and logs in the test's folder. soak run (service_type auto) detects the fork, samples the
# master and its workers while nginx answers, and the stop leaves no nginx process.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forking_lib.sh"
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -z "$NGINX" ]; then
  echo "SKIP: nginx is not installed (scripts/install-deps installs it)"
  exit 77
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/ng"
cat >"$T/ng/nginx.conf" <<CONF
worker_processes 2;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
http {
  access_log $T/ng/access.log;
  client_body_temp_path $T/ng/body;
  proxy_temp_path $T/ng/proxy;
  fastcgi_temp_path $T/ng/fastcgi;
  uwsgi_temp_path $T/ng/uwsgi;
  scgi_temp_path $T/ng/scgi;
  server { listen 127.0.0.1:$port; location / { return 200 "soaked\n"; } }
}
CONF
soak_bg --duration 5s --interval 200ms --stop-timeout 5s --heartbeat '' \
  -- "$NGINX" -c "$T/ng/nginx.conf" -p "$T/ng"
wait_for 10 'test -s "$T/ng/nginx.pid"' || fail "nginx did not start: $(cat "$T/stderr" "$T/ng/error.log" 2>&1)"
master=$(cat "$T/ng/nginx.pid")
wait_for 5 'curl -sf -o "$T/body" "http://127.0.0.1:$port/"' || fail "nginx does not answer"
grep -q soaked "$T/body" || fail "nginx answered: $(cat "$T/body")"
soak_wait
expect_rc 0

expect_told "forking detected" "$NGINX" "$master" "the top of the adopted tree"
expect_record "forking (detected)" "$master" # the pid nginx wrote to its pid file
pass "soak detected nginx's fork (master $master, as its pid file says)"

msg=$(expect_sampled 1 10 3) # the master and 2 workers
grep -q "duration reached" "$T/stdout" || fail "outcome: $(cat "$T/stdout")"
grep -q "crashes 0" "$T/stdout" || fail "summary: $(cat "$T/stdout")"
pass "master and workers sampled ($msg), no crash"

expect_none_left "$T/ng/nginx.conf" "$master"
pass "the stop leaves no nginx process"
