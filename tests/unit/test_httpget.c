/* Tests of httpget against the real httpd on 127.0.0.1:<ephemeral>, its uv loop running in a
 * second thread. alarm() bounds the whole run. */
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
#include <unistd.h>

#include <cmocka.h>

#include "httpd.h"
#include "errcode.h"
#include "httpget.h"

#define METRICS_BODY "# TYPE up gauge\nup 1\n"
#define BIG_LEN      200000

typedef struct server {
    uv_loop_t loop;
    uv_async_t stop;
    httpd *h;
    pthread_t th;
    int port;
} server;

static server srv;

static void handler(void *ud, const char *path, int *status, const char **ctype, sbuf *body)
{
    (void)ud;
    (void)ctype;
    if (!strcmp(path, "/metrics")) {
        sbuf_adds(body, METRICS_BODY);
    } else if (!strcmp(path, "/big")) {
        while (body->len < BIG_LEN && sbuf_adds(body, "0123456789abcdef\n") == 0)
            ;
    } else if (!strcmp(path, "/fail")) {
        *status = 500;
        sbuf_adds(body, "boom\n");
    } else {
        *status = 404;
        sbuf_adds(body, "not found\n");
    }
}

static void on_stop(uv_async_t *a)
{
    server *s = a->data;
    httpd_stop(s->h);
    s->h = NULL;
    uv_close((uv_handle_t *)a, NULL);
}

static void *loop_thread(void *arg)
{
    server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    alarm(60);
    if (uv_loop_init(&srv.loop))
        return -1;
    srv.h = httpd_start(&srv.loop, "127.0.0.1:0", handler, NULL, err, sizeof err);
    if (!srv.h)
        return -1;
    srv.port = httpd_port(srv.h);
    uv_async_init(&srv.loop, &srv.stop, on_stop);
    srv.stop.data = &srv;
    return pthread_create(&srv.th, NULL, loop_thread, &srv) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_async_send(&srv.stop);
    pthread_join(srv.th, NULL);
    int rc = uv_loop_close(&srv.loop);
    alarm(0);
    return rc ? -1 : 0;
}

static void url_of(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", srv.port, path);
}

static void test_fetch_ok(void **state)
{
    (void)state;
    char url[128], err[256] = "";
    long status = -1;
    sbuf b;
    sbuf_init(&b, 1 << 20);
    url_of(url, sizeof url, "/metrics");
    assert_int_equal(httpget_fetch(url, 5000, 4096, &b, &status, err, sizeof err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(b.data, METRICS_BODY);
    /* a body exactly at the cap is fine */
    sbuf_reset(&b);
    assert_int_equal(httpget_fetch(url, 5000, strlen(METRICS_BODY), &b, &status, err, sizeof err),
                     0);
    assert_string_equal(b.data, METRICS_BODY);
    /* a large body arrives whole */
    sbuf_reset(&b);
    url_of(url, sizeof url, "/big");
    assert_int_equal(httpget_fetch(url, 5000, 1 << 20, &b, &status, err, sizeof err), 0);
    assert_true(b.len >= BIG_LEN);
    sbuf_free(&b);
}

static void test_fetch_error_status(void **state)
{
    (void)state;
    char url[128], err[256] = "";
    long status = -1;
    sbuf b;
    sbuf_init(&b, 4096);
    url_of(url, sizeof url, "/nope");
    assert_int_equal(httpget_fetch(url, 5000, 4096, &b, &status, err, sizeof err), 0);
    assert_int_equal(status, 404);
    assert_string_equal(b.data, "not found\n");
    sbuf_reset(&b);
    url_of(url, sizeof url, "/fail");
    assert_int_equal(httpget_fetch(url, 5000, 4096, &b, NULL, err, sizeof err), 0);
    assert_string_equal(b.data, "boom\n");
    sbuf_free(&b);
}

static void test_fetch_oversize(void **state)
{
    (void)state;
    char url[128], err[256] = "", want[256];
    long status = -1;
    sbuf b;
    sbuf_init(&b, 1 << 20);
    sbuf_adds(&b, "keep");
    url_of(url, sizeof url, "/big");
    /* over max_bytes (known from Content-Length) */
    assert_int_equal(httpget_fetch(url, 5000, 1000, &b, &status, err, sizeof err), ERR_FULL);
    snprintf(want, sizeof want, "cannot fetch '%s': response body larger than 1000 bytes", url);
    assert_string_equal(err, want);
    assert_string_equal(b.data, "keep");
    /* over the sbuf's own cap: caught while receiving, body left as it was */
    sbuf small;
    sbuf_init(&small, 5000);
    sbuf_adds(&small, "keep");
    assert_int_equal(httpget_fetch(url, 5000, 1 << 20, &small, &status, err, sizeof err), ERR_FULL);
    assert_int_equal(small.len, 4);
    assert_string_equal(small.data, "keep");
    sbuf_free(&small);
    sbuf_free(&b);
}

/* A port nobody listens on: bind without listen, note the port, keep it bound. */
static void test_fetch_refused(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char url[128], err[256] = "", want[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", ntohs(sa.sin_port));
    sbuf b;
    sbuf_init(&b, 4096);
    long status = -1;
    assert_int_equal(httpget_fetch(url, 5000, 4096, &b, &status, err, sizeof err), ERR_REFUSED);
    snprintf(want, sizeof want, "cannot fetch '%s': Connection refused", url);
    assert_string_equal(err, want);
    assert_int_equal(status, 0);
    assert_int_equal(b.len, 0);
    sbuf_free(&b);
    close(fd);
}

/* A listener that never accepts: the kernel completes the handshake, nobody answers. */
static void test_fetch_timeout(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char url[128], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", ntohs(sa.sin_port));
    sbuf b;
    sbuf_init(&b, 4096);
    assert_int_equal(httpget_fetch(url, 200, 4096, &b, NULL, err, sizeof err), ERR_TIMEOUT);
    assert_non_null(strstr(err, "no response within 200 ms"));
    sbuf_free(&b);
    close(fd);
}

static void test_fetch_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://x/",
                                      "127.0.0.1:80/metrics", ""};
    char err[256];
    sbuf b;
    sbuf_init(&b, 4096);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(httpget_fetch(bad[i], 1000, 4096, &b, NULL, err, sizeof err), ERR_INVAL);
        assert_non_null(strstr(err, "cannot fetch '"));
    }
    assert_int_equal(httpget_fetch("http://[::1", 1000, 4096, &b, NULL, err, sizeof err),
                     ERR_INVAL);
    assert_int_equal(b.len, 0);
    sbuf_free(&b);
}

/* Several threads fetch at once (curl's global init runs once). */
static void *fetch_thread(void *arg)
{
    int *ok = arg;
    char url[128], err[256];
    url_of(url, sizeof url, "/metrics");
    for (int i = 0; i < 10; i++) {
        sbuf b;
        sbuf_init(&b, 4096);
        long status = 0;
        if (httpget_fetch(url, 5000, 4096, &b, &status, err, sizeof err) == 0 && status == 200 &&
            !strcmp(b.data, METRICS_BODY))
            (*ok)++;
        sbuf_free(&b);
    }
    return NULL;
}

static void test_fetch_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    int ok[4] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fetch_thread, &ok[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ok[i], 10);
    }
}

static void test_redact_url(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(httpget_redact_url("http://u:pw@h:1/m", out, sizeof out),
                        "http://***@h:1/m");
    assert_string_equal(httpget_redact_url("https://tok@h/m?a=b@c", out, sizeof out),
                        "https://***@h/m?a=b@c");
    assert_string_equal(httpget_redact_url("http://a:b@c@h/m", out, sizeof out), "http://***@h/m");
    assert_string_equal(httpget_redact_url("http://h:9/m", out, sizeof out), "http://h:9/m");
    assert_string_equal(httpget_redact_url("", out, sizeof out), "");
}

/* issue 10 item 8: secrets in query strings are redacted wherever the URL is shown */
static void test_redact_query_secrets(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(httpget_redact_url("http://h/m?token=abc&limit=5", out, sizeof out),
                        "http://h/m?token=***&limit=5");
    assert_string_equal(
        httpget_redact_url("http://h/m?api_key=k1&Access_Token=t1&X-Amz-Signature=s1", out,
                           sizeof out),
        "http://h/m?api_key=***&Access_Token=***&X-Amz-Signature=***");
    assert_string_equal(
        httpget_redact_url("http://h/m?a=1;PASSWORD=p;client_secret=c#auth=x", out, sizeof out),
        "http://h/m?a=1;PASSWORD=***;client_secret=***#auth=***");
    assert_string_equal(httpget_redact_url("http://u:p@h/m?secret=s&page=2", out, sizeof out),
                        "http://***@h/m?secret=***&page=2");
    /* names that are not secrets, and parameters without a value, stay */
    assert_string_equal(httpget_redact_url("http://h/m?name=token&flag&x=", out, sizeof out),
                        "http://h/m?name=token&flag&x=");
    assert_string_equal(httpget_redact_url("http://h/token/key", out, sizeof out),
                        "http://h/token/key");
    /* cut to the buffer, never past it */
    char small[16];
    assert_string_equal(httpget_redact_url("http://h/m?token=abcdefgh", small, sizeof small),
                        "http://h/m?toke");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_ok),
        cmocka_unit_test(test_fetch_error_status),
        cmocka_unit_test(test_fetch_oversize),
        cmocka_unit_test(test_fetch_refused),
        cmocka_unit_test(test_fetch_timeout),
        cmocka_unit_test(test_fetch_bad_urls),
        cmocka_unit_test(test_fetch_threads),
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_redact_query_secrets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
