/* Tests of httpd: a real server on 127.0.0.1:<ephemeral> in a uv loop on the main thread, and
 * a raw-socket client in a second thread. alarm() bounds every test. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd.h"

#define METRICS_BODY "# TYPE up gauge\nup 1\n"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define BIG_LEN      (1024 * 1024 + 17)

static void handler(void *ud, const char *path, int *status, const char **ctype, sbuf *body)
{
    int *calls = ud;
    (*calls)++;
    if (!strcmp(path, "/metrics")) {
        *ctype = METRICS_TYPE;
        sbuf_adds(body, METRICS_BODY);
    } else if (!strcmp(path, "/big")) {
        char line[64];
        for (size_t i = 0; body->len < BIG_LEN; i++) {
            int n = snprintf(line, sizeof line, "%zu\n", i);
            size_t want = BIG_LEN - body->len;
            sbuf_add(body, line, (size_t)n < want ? (size_t)n : want);
        }
    } else if (!strcmp(path, "/empty")) {
        /* 200 with no body */
    } else {
        *status = 404;
        sbuf_adds(body, "not found\n");
    }
}

/* httpd_start_ex's handler: echoes the query and the Authorization header, asks for auth. */
static char ex_seen[512];
static void handler_ex(void *ud, httpd_req *req, int *status, const char **ctype, sbuf *body)
{
    int *calls = ud;
    (*calls)++;
    snprintf(ex_seen, sizeof ex_seen, "%s|%s|%s", req->path, req->query,
             req->authorization ? req->authorization : "(none)");
    if (!req->authorization) {
        *status = 401;
        req->extra_headers = "WWW-Authenticate: Basic realm=\"t\"\r\n";
    }
    *ctype = "application/json";
    sbuf_adds(body, "{}");
}
static int use_ex; /* run_with_client starts the server with httpd_start_ex */

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request over a fresh connection; returns bytes of response read (until EOF). */
static size_t http_raw(int port, const char *req, size_t reqlen, char *resp, size_t cap)
{
    resp[0] = '\0';
    int fd = connect_to(port);
    if (fd < 0)
        return 0; /* runs in the client thread: no cmocka assert here, the caller checks */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    size_t off = 0;
    while (off < reqlen) {
        ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early on a request it refuses */
        off += (size_t)n;
    }
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = recv(fd, resp + got, cap - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    resp[got] = '\0';
    close(fd);
    return got;
}

static size_t http_get(int port, const char *method, const char *path, char *resp, size_t cap)
{
    char req[4096];
    int n =
        snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 method, path);
    if (n <= 0 || (size_t)n >= sizeof req) {
        resp[0] = '\0';
        return 0;
    }
    return http_raw(port, req, (size_t)n, resp, cap);
}

static int status_of(const char *resp)
{
    int code = 0;
    if (strncmp(resp, "HTTP/1.1 ", 9) && strncmp(resp, "HTTP/1.0 ", 9))
        return 0;
    for (const char *p = resp + 9; *p >= '0' && *p <= '9'; p++)
        code = code * 10 + (*p - '0');
    return code;
}

static const char *body_of(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

/* Case-insensitive search for "name: value" among the headers. */
static int has_header(const char *resp, const char *line)
{
    const char *end = strstr(resp, "\r\n\r\n");
    size_t n = strlen(line);
    for (const char *p = resp; p && end && p < end; p = strstr(p, "\r\n")) {
        p += 2;
        if (!strncasecmp(p, line, n) && (p[n] == '\r'))
            return 1;
    }
    return 0;
}

typedef struct fixture {
    int idle_fd; /* a connection the client leaves open across httpd_stop, or -1 */
    uv_loop_t loop;
    uv_async_t done;
    httpd *h;
    int port;
    int calls;
    void (*client)(struct fixture *);
    int client_ok; /* set when the client function ran to its end */
} fixture;

static void on_done(uv_async_t *a)
{
    fixture *f = a->data;
    httpd_stop(f->h);
    f->h = NULL;
    uv_close((uv_handle_t *)a, NULL);
}

static void *client_thread(void *arg)
{
    fixture *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

/* Starts the server, runs client in a thread, stops the server, checks the loop is empty. */
static void run_with_client(void (*client)(fixture *), fixture *f)
{
    char err[256] = "";
    memset(f, 0, sizeof *f);
    f->idle_fd = -1;
    alarm(60);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->h = use_ex ? httpd_start_ex(&f->loop, "127.0.0.1:0", handler_ex, &f->calls, err, sizeof err)
                  : httpd_start(&f->loop, "127.0.0.1:0", handler, &f->calls, err, sizeof err);
    assert_non_null(f->h);
    f->port = httpd_port(f->h);
    assert_true(f->port > 0 && f->port < 65536);
    f->client = client;
    uv_async_init(&f->loop, &f->done, on_done);
    f->done.data = f;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_thread, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    /* every handle of lws and of httpd is closed once uv_run has returned */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    alarm(0);
}

/* Nothing asserts in the client thread (cmocka's longjmp would cross threads): the client
 * records what it got and the main thread asserts. */
static char resp_metrics[4096], resp_404[4096], resp_head[4096], resp_post[4096], resp_empty[4096],
    resp_after[4096], resp_huge[4096];
static char *resp_big;
static size_t len_big, len_huge;

static void client_basic(fixture *f)
{
    http_get(f->port, "GET", "/metrics", resp_metrics, sizeof resp_metrics);
    http_get(f->port, "GET", "/nope?x=1", resp_404, sizeof resp_404);
    http_get(f->port, "HEAD", "/metrics", resp_head, sizeof resp_head);
    const char post[] = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                        "Connection: close\r\n\r\nabc";
    http_raw(f->port, post, sizeof post - 1, resp_post, sizeof resp_post);
    http_get(f->port, "GET", "/empty", resp_empty, sizeof resp_empty);
    resp_big = malloc(BIG_LEN + 4096);
    len_big = http_get(f->port, "GET", "/big", resp_big, BIG_LEN + 4096);
    f->client_ok = 1;
}

static void test_serve(void **state)
{
    (void)state;
    fixture f;
    run_with_client(client_basic, &f);
    assert_true(f.client_ok);

    assert_int_equal(status_of(resp_metrics), 200);
    assert_true(has_header(resp_metrics, "content-type: " METRICS_TYPE));
    assert_true(has_header(resp_metrics, "content-length: 21"));
    assert_string_equal(body_of(resp_metrics), METRICS_BODY);

    assert_int_equal(status_of(resp_404), 404);
    assert_true(has_header(resp_404, "content-type: text/plain; charset=utf-8"));
    assert_string_equal(body_of(resp_404), "not found\n");

    assert_int_equal(status_of(resp_head), 200);
    assert_true(has_header(resp_head, "content-length: 21"));
    assert_string_equal(body_of(resp_head), "");

    assert_int_equal(status_of(resp_post), 405);

    assert_int_equal(status_of(resp_empty), 200);
    assert_string_equal(body_of(resp_empty), "");

    assert_int_equal(status_of(resp_big), 200);
    const char *b = body_of(resp_big);
    assert_non_null(b);
    assert_int_equal(len_big - (size_t)(b - resp_big), BIG_LEN);
    assert_memory_equal(b, "0\n1\n2\n3\n", 8);
    free(resp_big);
}

static void client_huge(fixture *f)
{
    size_t cap = 64 * 1024;
    char *req = malloc(cap);
    size_t n = (size_t)snprintf(req, cap, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', 32 * 1024);
    n += 32 * 1024;
    memcpy(req + n, "\r\nConnection: close\r\n\r\n", 23);
    n += 23;
    len_huge = http_raw(f->port, req, n, resp_huge, sizeof resp_huge);
    free(req);
    /* the server is still alive and serves the next client */
    http_get(f->port, "GET", "/metrics", resp_after, sizeof resp_after);
    f->client_ok = 1;
}

static void test_huge_header_rejected(void **state)
{
    (void)state;
    fixture f;
    run_with_client(client_huge, &f);
    assert_true(f.client_ok);
    /* refused: either a 4xx status or the connection closed without a response */
    int st = status_of(resp_huge);
    assert_true(len_huge == 0 || (st >= 400 && st < 500));
    assert_int_equal(status_of(resp_after), 200);
    assert_string_equal(body_of(resp_after), METRICS_BODY);
}

static char resp_pipe[4096], resp_long[8192], resp_idle[256];
static ssize_t idle_rc;

static void client_pipelined(fixture *f)
{
    /* two requests in one write on a keep-alive connection; the second closes it */
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    http_raw(f->port, req, sizeof req - 1, resp_pipe, sizeof resp_pipe);
    /* a path over 1024 bytes gets 414 */
    char path[2100];
    path[0] = '/';
    memset(path + 1, 'p', 2000);
    path[2001] = '\0';
    http_get(f->port, "GET", path, resp_long, sizeof resp_long);
    /* a half-sent request stays open while the server stops */
    f->idle_fd = connect_to(f->port);
    if (f->idle_fd >= 0)
        send(f->idle_fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
    f->client_ok = 1;
}

static void test_pipelined_long_path_and_stop_with_open_connection(void **state)
{
    (void)state;
    fixture f;
    run_with_client(client_pipelined, &f);
    assert_true(f.client_ok);
    const char *second = strstr(resp_pipe + 1, "HTTP/1.1 ");
    assert_int_equal(status_of(resp_pipe), 200);
    assert_non_null(second);
    assert_int_equal(status_of(second), 404);
    assert_non_null(strstr(second, "not found\n"));
    assert_int_equal(status_of(resp_long), 414);
    /* the stop closed the half-open connection: EOF (or reset), not a timeout */
    assert_true(f.idle_fd >= 0);
    idle_rc = recv(f.idle_fd, resp_idle, sizeof resp_idle, 0);
    int e = errno;
    assert_true(idle_rc == 0 || (idle_rc < 0 && e == ECONNRESET));
    close(f.idle_fd);
    assert_int_equal(f.calls, 2);
}

static char resp_ex1[4096], resp_ex2[4096], seen_ex1[512], seen_ex2[512];
static void client_ex(fixture *f)
{
    http_get(f->port, "GET", "/api/samples?from=1&max_points=10", resp_ex1, sizeof resp_ex1);
    snprintf(seen_ex1, sizeof seen_ex1, "%s", ex_seen);
    const char req[] = "GET /api/state HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\n"
                       "Connection: close\r\n\r\n";
    http_raw(f->port, req, sizeof req - 1, resp_ex2, sizeof resp_ex2);
    snprintf(seen_ex2, sizeof seen_ex2, "%s", ex_seen);
    f->client_ok = 1;
}

/* httpd_start_ex: the handler sees the query and the Authorization header and may add headers. */
static void test_query_and_auth_header(void **state)
{
    (void)state;
    fixture f;
    use_ex = 1;
    run_with_client(client_ex, &f);
    use_ex = 0;
    assert_true(f.client_ok);
    assert_int_equal(f.calls, 2);
    assert_string_equal(seen_ex1, "/api/samples|from=1&max_points=10|(none)");
    assert_int_equal(status_of(resp_ex1), 401);
    assert_true(has_header(resp_ex1, "www-authenticate: Basic realm=\"t\""));
    assert_string_equal(seen_ex2, "/api/state||Basic dTpw");
    assert_int_equal(status_of(resp_ex2), 200);
    assert_string_equal(body_of(resp_ex2), "{}");
}

static void test_bad_address_and_port_in_use(void **state)
{
    (void)state;
    uv_loop_t loop;
    char err[256];
    int calls = 0;
    alarm(30);
    assert_int_equal(uv_loop_init(&loop), 0);
    static const char *const bad[] = {
        "", "127.0.0.1", "127.0.0.1:", "localhost:80", "127.0.0.1:70000", "[::1:5", "1.2.3.4:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_null(httpd_start(&loop, bad[i], handler, &calls, err, sizeof err));
        assert_non_null(strstr(err, "bad address"));
    }
    httpd *h = httpd_start(&loop, ":0", handler, &calls, err, sizeof err);
    assert_non_null(h);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", httpd_port(h));
    err[0] = '\0';
    assert_null(httpd_start(&loop, addr, handler, &calls, err, sizeof err));
    assert_non_null(strstr(err, addr));
    httpd_stop(h);
    httpd_stop(NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_huge_header_rejected),
        cmocka_unit_test(test_pipelined_long_path_and_stop_with_open_connection),
        cmocka_unit_test(test_bad_address_and_port_in_use),
        cmocka_unit_test(test_query_and_auth_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
