/* wsrv: HTTP requests (GET, POST bodies, keep-alive, deferred replies, the body cap, extra
 * headers) and WebSocket connections (echo, fragments, close with a code, TCP reset, refusal)
 * against a real server on 127.0.0.1, with a blocking client thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsrv.h"

typedef struct fixture {
    uv_loop_t loop;
    uv_async_t stop;
    wsrv *srv;
    int port;
    pthread_t thread;
    int opens, closes, messages;
    wsrv_req *deferred;
    uv_timer_t timer;
} fixture;

/* ---- server side ---- */

static void timer_reply(uv_timer_t *t)
{
    fixture *f = t->data;
    if (f->deferred)
        wsrv_reply(f->deferred, 200, "text/plain", NULL, "late", 4);
    f->deferred = NULL;
}

static void on_request(void *ud, wsrv_req *r)
{
    fixture *f = ud;
    char body[4096];
    size_t blen;
    const char *b = wsrv_req_body(r, &blen);
    if (!strcmp(wsrv_req_path(r), "/defer")) {
        f->deferred = r;
        uv_timer_start(&f->timer, timer_reply, 50, 0);
        return;
    }
    const char *k = wsrv_req_header(r, "x-test-key");
    int n = snprintf(body, sizeof body, "%s %s q=[%s] key=[%s] body=%zu:%.*s", wsrv_req_method(r),
                     wsrv_req_path(r), wsrv_req_query(r), k ? k : "", blen,
                     (int)(blen > 100 ? 100 : blen), b);
    wsrv_reply(r, !strcmp(wsrv_req_path(r), "/missing") ? 404 : 200, "text/plain",
               "X-Extra: one\r\nX-Limit-Status: 9\r\n", body, (size_t)n);
}

static int on_ws_open(void *ud, wsrv_conn *c, const char *path, const char *query)
{
    fixture *f = ud;
    (void)query;
    if (!strcmp(path, "/refuse"))
        return -1;
    f->opens++;
    wsrv_conn_set_user(c, f);
    return 0;
}

static void on_ws_message(void *ud, wsrv_conn *c, const char *msg, size_t len)
{
    fixture *f = ud;
    f->messages++;
    if (len == 5 && !memcmp(msg, "close", 5))
        wsrv_close(c, 4001, "bye");
    else if (len == 5 && !memcmp(msg, "reset", 5))
        wsrv_reset(c);
    else {
        char out[70000];
        int n =
            snprintf(out, sizeof out, "echo:%zu:%.*s", len, (int)(len > 60000 ? 60000 : len), msg);
        assert_int_equal(wsrv_send(c, out, (size_t)n), 0);
    }
}

static void on_ws_close(void *ud, wsrv_conn *c)
{
    fixture *f = ud;
    assert_ptr_equal(wsrv_conn_user(c), f);
    f->closes++;
}

static void on_stop(uv_async_t *a)
{
    fixture *f = a->data;
    wsrv_stop(f->srv);
    uv_close((uv_handle_t *)&f->stop, NULL);
    uv_close((uv_handle_t *)&f->timer, NULL);
}

static void *loop_thread(void *arg)
{
    fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    uv_loop_init(&f->loop);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    uv_timer_init(&f->loop, &f->timer);
    f->timer.data = f;
    wsrv_callbacks cb = {on_request, on_ws_open, on_ws_message, on_ws_close};
    wsrv_opts o = {.max_body = 1000, .max_msg = 65536, .max_queue = 1 << 20};
    f->srv = wsrv_start(&f->loop, "127.0.0.1:0", &o, &cb, f, err, sizeof err);
    if (!f->srv)
        fail_msg("%s", err);
    f->port = wsrv_port(f->srv);
    pthread_create(&f->thread, NULL, loop_thread, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    uv_async_send(&f->stop);
    pthread_join(f->thread, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* ---- client side ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Reads until the buffer holds a full HTTP response (headers + Content-Length body). */
static size_t read_response(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            fail_msg("no response; got %zu bytes: %.*s", n, (int)n, buf);
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = strcasestr(buf, "content-length:");
            size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if ((size_t)(buf + n - (end + 4)) >= want)
                break;
        }
    }
    buf[n] = '\0';
    return n;
}

static void test_http(void **state)
{
    fixture *f = *state;
    char buf[8192];
    int fd = dial(f->port);
    const char *get = "GET /v5/market/time?category=linear&symbol=BTCUSDT HTTP/1.1\r\nHost: x\r\n"
                      "X-Test-Key: k1\r\n\r\n";
    assert_true(write(fd, get, strlen(get)) > 0);
    read_response(fd, buf, sizeof buf);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strcasestr(buf, "x-extra: one"));
    assert_non_null(strcasestr(buf, "x-limit-status: 9"));
    assert_non_null(strstr(buf, "GET /v5/market/time q=[category=linear&symbol=BTCUSDT] key=[k1]"));
    /* keep-alive: a POST with a body on the same connection */
    const char *post =
        "POST /v5/order/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 13\r\n\r\n{\"qty\":\"0.1\"}";
    assert_true(write(fd, post, strlen(post)) > 0);
    read_response(fd, buf, sizeof buf);
    assert_non_null(strstr(buf, "POST /v5/order/create q=[] key=[] body=13:{\"qty\":\"0.1\"}"));
    /* 404 from the handler, then a deferred reply */
    const char *miss = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(write(fd, miss, strlen(miss)) > 0);
    read_response(fd, buf, sizeof buf);
    assert_non_null(strstr(buf, "HTTP/1.1 404"));
    const char *def = "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(write(fd, def, strlen(def)) > 0);
    read_response(fd, buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\nlate"));
    close(fd);

    /* a body over the cap: 413 and the connection closes */
    fd = dial(f->port);
    char big[3000];
    int n =
        snprintf(big, sizeof big, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
    memset(big + n, 'a', 2000);
    assert_true(write(fd, big, (size_t)n + 2000) > 0);
    read_response(fd, buf, sizeof buf);
    if (!strstr(buf, "HTTP/1.1 413"))
        fail_msg("got: %s", buf);
    close(fd);

    /* a client that goes away before a deferred reply */
    fd = dial(f->port);
    assert_true(write(fd, def, strlen(def)) > 0);
    usleep(10000);
    close(fd);
    usleep(100000);
}

static int ws_dial(int port, const char *path)
{
    int fd = dial(port);
    char req[512], buf[2048] = "";
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path);
    assert_true(write(fd, req, (size_t)n) == n);
    size_t got = 0;
    while (!strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            break;
        ssize_t r = read(fd, buf + got, 1); /* byte by byte: leave frames in the socket */
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    if (!strstr(buf, "101")) {
        close(fd);
        return -1;
    }
    return fd;
}

static void ws_frame(int fd, int opcode, int fin, const char *data, size_t len)
{
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126)
        h[hl++] = (unsigned char)(0x80 | len);
    else {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(len >> 8);
        h[hl++] = (unsigned char)len;
    }
    unsigned char mask[4] = {1, 2, 3, 4};
    memcpy(h + hl, mask, 4);
    hl += 4;
    unsigned char *out = malloc(hl + len);
    memcpy(out, h, hl);
    for (size_t i = 0; i < len; i++)
        out[hl + i] = (unsigned char)data[i] ^ mask[i % 4];
    assert_true(write(fd, out, hl + len) == (ssize_t)(hl + len));
    free(out);
}

static int read_full(int fd, unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            return -1;
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0)
            return r == 0 ? 0 : -errno;
        got += (size_t)r;
    }
    return 1;
}

/* One frame: returns its opcode, fills data; -1 on timeout/EOF, -ECONNRESET on a reset. */
static int ws_read(int fd, char *data, size_t cap, size_t *len)
{
    unsigned char h[2];
    int rc = read_full(fd, h, 2);
    if (rc <= 0)
        return rc == 0 ? -1 : rc;
    size_t l = h[1] & 0x7f;
    if (l == 126) {
        unsigned char e[2];
        read_full(fd, e, 2);
        l = (size_t)e[0] << 8 | e[1];
    } else if (l == 127) {
        unsigned char e[8];
        read_full(fd, e, 8);
        l = 0;
        for (int i = 0; i < 8; i++)
            l = l << 8 | e[i];
    }
    assert_true(l < cap);
    if (l && read_full(fd, (unsigned char *)data, l) <= 0)
        return -1;
    data[l] = '\0';
    *len = l;
    return h[0] & 0x0f;
}

static void test_ws(void **state)
{
    fixture *f = *state;
    char buf[70000];
    size_t len;
    int fd = ws_dial(f->port, "/v5/public/linear");
    assert_true(fd >= 0);
    ws_frame(fd, 1, 1, "hello", 5);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 1);
    assert_string_equal(buf, "echo:5:hello");
    /* a message in two fragments, and a long one */
    ws_frame(fd, 1, 0, "ab", 2);
    ws_frame(fd, 0, 1, "cd", 2);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 1);
    assert_string_equal(buf, "echo:4:abcd");
    char *longmsg = malloc(40000);
    memset(longmsg, 'z', 40000);
    ws_frame(fd, 1, 1, longmsg, 40000);
    free(longmsg);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 1);
    assert_int_equal(len, strlen("echo:40000:") + 40000);
    /* close with a code */
    ws_frame(fd, 1, 1, "close", 5);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 8);
    assert_true(len >= 2);
    assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 4001);
    close(fd);

    /* reset: the client sees ECONNRESET or EOF without a close frame */
    fd = ws_dial(f->port, "/v5/private");
    assert_true(fd >= 0);
    ws_frame(fd, 1, 1, "reset", 5);
    int rc = ws_read(fd, buf, sizeof buf, &len);
    assert_true(rc == -ECONNRESET || rc == -1);
    close(fd);

    /* refused by on_ws_open */
    assert_int_equal(ws_dial(f->port, "/refuse"), -1);
    usleep(100000);
    assert_int_equal(f->opens, 2);
    assert_int_equal(f->closes, 2);
}

/* RFC 6455 on the wire: the accept key of the RFC's example, a frame sent with the upgrade
 * request, a ping answered, a client's close echoed, and an unmasked frame closed with 1002. */
static void test_ws_protocol(void **state)
{
    fixture *f = *state;
    char buf[70000];
    size_t len;
    int fd = dial(f->port);
    /* the upgrade and a masked "hello" in one write */
    static const char up[] = "GET /v5/public/linear HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n"
                             "\x81\x85\x01\x02\x03\x04"
                             "\x69\x67\x6f\x68\x6e"; /* "hello" ^ 01 02 03 04 */
    assert_true(write(fd, up, sizeof up - 1) == (ssize_t)(sizeof up - 1));
    size_t got = 0;
    buf[0] = '\0';
    while (!strstr(buf, "\r\n\r\n") && got < 1000) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(read(fd, buf + got, 1), 1);
        buf[++got] = '\0';
    }
    assert_non_null(strstr(buf, "HTTP/1.1 101 "));
    assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 1);
    assert_string_equal(buf, "echo:5:hello");
    /* a ping: a pong with its payload */
    ws_frame(fd, 9, 1, "hi", 2);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 10);
    assert_string_equal(buf, "hi");
    /* the client closes with 1000: the same code back, then EOF */
    ws_frame(fd, 8, 1, "\x03\xe8", 2);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 8);
    assert_int_equal(len, 2);
    assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 1000);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), -1);
    close(fd);

    /* an unmasked frame (RFC 6455 5.1): close 1002, no message, then EOF */
    fd = ws_dial(f->port, "/v5/public/linear");
    assert_true(fd >= 0);
    static const char unmasked[] = "\x81\x05hello";
    assert_true(write(fd, unmasked, 7) == 7);
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), 8);
    assert_true(len >= 2);
    assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 1002);
    assert_string_equal(buf + 2, "protocol error");
    assert_int_equal(ws_read(fd, buf, sizeof buf, &len), -1);
    close(fd);
    usleep(100000);
    assert_int_equal(f->messages, 1);
    assert_int_equal(f->opens, 2);
    assert_int_equal(f->closes, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_protocol, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
