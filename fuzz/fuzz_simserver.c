/* libFuzzer target for the whole bybit-sim server: arbitrary byte streams (pipelined HTTP
 * requests, chunked bodies, WebSocket upgrades followed by frames, garbage) written into one end
 * of a socketpair whose other end the real server (simserve, wsrv, lws) serves as if it had
 * accepted it, on a libuv loop, under ASan. The input is written, the write side shut down, and
 * the loop run until the server closes the connection (bounded: FUZZ_LOOP_MS of loop time).
 * Checks: the server closes it within the bound (no hang: a pipelined POST spun lws 4.1 forever),
 * every answer starts as a status line, and nothing leaks (ASan at exit). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "simharness.h"
#include "simserve.h"

#define FUZZ_LOOP_MS 3000 /* the server must have closed the connection by then */

static uv_loop_t LOOP;
static simserve *V;

static void setup(void)
{
    char err[256];
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&LOOP))
        abort();
    sim *s = simharness_new_io(5, NULL, &simserve_io, FUZZ_T0);
    wsrv_opts wo = {4096, 4096, 1 << 16};
    /* loopback, an ephemeral port; no tick: the market stands still */
    V = simserve_start(&LOOP, s, "127.0.0.1:0", &wo, 0, err, sizeof err);
    if (!V) {
        fprintf(stderr, "fuzz_simserver: %s\n", err);
        abort();
    }
    simserve_set_http_limits(V, 1000, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!V)
        setup();
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp))
        abort();
    if (simserve_adopt(V, sp[0])) {
        close(sp[0]);
        close(sp[1]);
        return 0;
    }
    size_t off = 0, got = 0;
    int shut = 0, eof = 0;
    char head[16];
    uint64_t t0 = uv_now(&LOOP);
    while (!eof) {
        if (off < size) {
            ssize_t n = send(sp[1], data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                off = size; /* the server closed already */
        }
        if (off >= size && !shut) {
            shutdown(sp[1], SHUT_WR);
            shut = 1;
        }
        uv_run(&LOOP, UV_RUN_NOWAIT);
        char buf[65536];
        for (;;) {
            ssize_t n = read(sp[1], buf, sizeof buf);
            if (n > 0) {
                for (ssize_t i = 0; i < n && got < sizeof head; i++)
                    head[got++] = buf[i];
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                eof = 1;
            break;
        }
        uv_update_time(&LOOP);
        if (!eof && uv_now(&LOOP) - t0 > FUZZ_LOOP_MS) {
            fprintf(stderr,
                    "fuzz_simserver: the server did not close the connection within %d ms\n",
                    FUZZ_LOOP_MS);
            abort();
        }
        if (!eof)
            usleep(100);
    }
    /* whatever came back starts as a status line: wsrv's HTTP/1.1, or a 101 or a refused
     * handshake of lws (whose 403 says HTTP/1.0) */
    if (got >= 9 && memcmp(head, "HTTP/1.1 ", 9) && memcmp(head, "HTTP/1.0 ", 9)) {
        fprintf(stderr, "fuzz_simserver: the answer does not start with a status line: '%.*s'\n",
                (int)got, head);
        abort();
    }
    close(sp[1]);
    /* let the server finish closing its side */
    for (int i = 0; i < 4; i++)
        uv_run(&LOOP, UV_RUN_NOWAIT);
    return 0;
}
