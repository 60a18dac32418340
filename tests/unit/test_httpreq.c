/* httpreq: request heads (complete or not, keep-alive, upgrade), Content-Length rules (two
 * equal ones taken, two different ones refused: request smuggling), Transfer-Encoding, chunked
 * bodies, and the status a server answers for each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "httpreq.h"

static int parse(const char *s, httpreq_head *h, int *status)
{
    *status = 0;
    return httpreq_parse_head(s, strlen(s), 8192, h, status);
}

static void test_head(void **state)
{
    (void)state;
    httpreq_head h;
    int st;
    const char *get = "GET /v5/market/time?a=1 HTTP/1.1\r\nHost: x\r\nX-Test:  v v \r\n\r\nNEXT";
    assert_int_equal(parse(get, &h, &st), 0);
    assert_string_equal(h.method, "GET");
    assert_int_equal(h.target_len, strlen("/v5/market/time?a=1"));
    assert_memory_equal(h.target, "/v5/market/time?a=1", h.target_len);
    assert_int_equal(h.head_len, strlen(get) - 4); /* NEXT is the next request's */
    assert_int_equal(h.clen, -1);
    assert_true(h.keep_alive);
    const httpreq_hdr *x = httpreq_find(&h, "x-test");
    assert_non_null(x);
    assert_int_equal(x->vlen, 3); /* blanks around the value removed */
    assert_memory_equal(x->val, "v v", 3);
    /* incomplete: more is needed */
    assert_int_equal(httpreq_parse_head(get, 20, 8192, &h, &st), ERR_NODATA);
    /* HTTP/1.0 closes unless keep-alive; Connection: close closes */
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &st), 0);
    assert_false(h.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &h, &st), 0);
    assert_false(h.keep_alive);
    /* an upgrade */
    assert_int_equal(
        parse("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
              &h, &st),
        0);
    assert_true(h.upgrade_ws);
}

static void test_refused(void **state)
{
    (void)state;
    httpreq_head h;
    int st;
    assert_int_equal(parse("GET /\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(st, 400);
    assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(parse("GET / HTTP/1.1\nHost: x\r\n\r\n", &h, &st), ERR_PARSE); /* bare LF */
    assert_int_equal(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(parse("GET / HTTP/1.1\r\n folded\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(httpreq_parse_head("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24, 8192, &h, &st),
                     ERR_PARSE); /* a NUL */
    /* a head over the cap */
    char big[9000];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(httpreq_parse_head(big, sizeof big, 8192, &h, &st), ERR_FULL);
    assert_int_equal(st, 431);
    assert_string_equal(h.why, "request head too large");
}

static void test_content_length(void **state)
{
    (void)state;
    httpreq_head h;
    int st;
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 14\r\n\r\n", &h, &st), 0);
    assert_int_equal(h.clen, 14);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nContent-Length: 14\r\ncontent-length: 14\r\n\r\n", &h, &st), 0);
    assert_int_equal(h.clen, 14);
    /* smuggling: two different lengths, a length with a coding */
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nContent-Length: 14\r\nContent-Length: 2\r\n\r\n", &h, &st),
        ERR_PARSE);
    assert_int_equal(st, 400);
    assert_string_equal(h.why, "conflicting content-length headers");
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: "
                           "chunked\r\n\r\n",
                           &h, &st),
                     ERR_PARSE);
    assert_int_equal(st, 400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", &h, &st), ERR_PARSE);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", &h, &st),
        ERR_PARSE); /* 19 digits: refused, not saturated */
    assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &h, &st),
                     ERR_RANGE);
    assert_int_equal(st, 501);
    assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &st), 0);
    assert_true(h.chunked);
}

static void test_chunked(void **state)
{
    (void)state;
    char out[64];
    size_t used = 0, blen = 0;
    int st = 0;
    const char *b = "5\r\n{\"cle\r\n9;ext=1\r\nar\":true}\r\n0\r\n\r\nGET";
    assert_int_equal(httpreq_chunked(b, strlen(b), 64, out, sizeof out, &used, &blen, &st), 0);
    assert_int_equal(blen, 14);
    assert_memory_equal(out, "{\"clear\":true}", 14);
    assert_int_equal(used, strlen(b) - 3);
    /* trailers */
    const char *t = "1\r\nx\r\n0\r\nX-T: 1\r\n\r\n";
    assert_int_equal(httpreq_chunked(t, strlen(t), 64, out, sizeof out, &used, &blen, &st), 0);
    assert_int_equal(used, strlen(t));
    /* incomplete at every cut */
    for (size_t n = 0; n < strlen(b) - 3; n++)
        assert_int_equal(httpreq_chunked(b, n, 64, out, sizeof out, &used, &blen, &st), ERR_NODATA);
    /* malformed, too big */
    assert_int_equal(httpreq_chunked("zz\r\n", 4, 64, out, sizeof out, &used, &blen, &st),
                     ERR_PARSE);
    assert_int_equal(st, 400);
    assert_int_equal(httpreq_chunked("2\r\nabc\r\n", 8, 64, out, sizeof out, &used, &blen, &st),
                     ERR_PARSE);
    assert_int_equal(httpreq_chunked("41\r\n", 4, 64, out, sizeof out, &used, &blen, &st),
                     ERR_FULL);
    assert_int_equal(st, 413);
    assert_int_equal(httpreq_chunked("fffffffff\r\n", 11, 64, out, sizeof out, &used, &blen, &st),
                     ERR_FULL);
}

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(httpreq_reason(200), "OK");
    assert_string_equal(httpreq_reason(431), "Request Header Fields Too Large");
    assert_string_equal(httpreq_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),           cmocka_unit_test(test_refused),
        cmocka_unit_test(test_content_length), cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
