/* openord: the open-orders listing goes through every page (nextPageCursor), so that a count
 * over 50 orders is right; it is bounded, and a cut listing is an error, never a short count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errcode.h"
#include "openord.h"

static openord p;

/* A reply page of n orders (link ids prefix + from..from+n-1; every third one Filled) and a
 * cursor ("" at the end). */
static size_t page(char *buf, size_t cap, const char *prefix, int from, int n, const char *cursor)
{
    size_t at =
        (size_t)snprintf(buf, cap, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"list\":[");
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, cap - at,
                               "%s{\"orderId\":\"o%d\",\"orderLinkId\":\"%s%d\",\"symbol\":"
                               "\"BTCUSDT\",\"side\":\"Buy\",\"price\":\"100\",\"qty\":\"1\","
                               "\"orderStatus\":\"%s\"}",
                               i ? "," : "", from + i, prefix, from + i,
                               (from + i) % 3 == 2 ? "Filled" : "New");
    at += (size_t)snprintf(buf + at, cap - at, "],\"nextPageCursor\":\"%s\"},\"time\":1}", cursor);
    return at;
}

static void test_query(void **state)
{
    (void)state;
    char q[256];
    openord_begin(&p, "BTCUSDT");
    assert_int_equal(openord_query(&p, q, sizeof q), 0);
    assert_string_equal(q, "category=linear&symbol=BTCUSDT&openOnly=0&limit=50");
    snprintf(p.cursor, sizeof p.cursor, "page_token%%3D5&x=a b");
    assert_int_equal(openord_query(&p, q, sizeof q), 0);
    assert_string_equal(q, "category=linear&symbol=BTCUSDT&openOnly=0&limit=50"
                           "&cursor=page_token%3D5%26x%3Da%20b");
    assert_int_equal(openord_query(&p, q, 40), ERR_FULL);
    assert_int_equal(openord_query(&p, q, 60), ERR_FULL); /* the cursor does not fit */
}

static void test_pages(void **state)
{
    (void)state;
    static char buf[64 * 1024];
    openord_begin(&p, "BTCUSDT");
    size_t len = page(buf, sizeof buf, "mmb", 0, 50, "50");
    assert_int_equal(openord_take(&p, buf, len, NULL, NULL, 0), 1);
    assert_string_equal(p.cursor, "50");
    char q[256];
    assert_int_equal(openord_query(&p, q, sizeof q), 0);
    assert_non_null(strstr(q, "&cursor=50"));
    len = page(buf, sizeof buf, "mmb", 50, 50, "100");
    assert_int_equal(openord_take(&p, buf, len, NULL, NULL, 0), 1);
    len = page(buf, sizeof buf, "other", 100, 20, "");
    assert_int_equal(openord_take(&p, buf, len, NULL, NULL, 0), 0);
    assert_int_equal(p.n, 120);
    assert_int_equal(p.pages, 3);
    size_t ours = 0;
    /* of 0..119 the ones with i % 3 == 2 are filled: 40; ours are 0..99, 33 of them filled */
    assert_int_equal(openord_count(&p, "mmb", &ours), 80);
    assert_int_equal(ours, 67);
    assert_int_equal(openord_count(&p, NULL, &ours), 80);
    assert_int_equal(ours, 0);
    /* an empty page ends a listing whatever its cursor */
    openord_begin(&p, "BTCUSDT");
    len = page(buf, sizeof buf, "mmb", 0, 0, "7");
    assert_int_equal(openord_take(&p, buf, len, NULL, NULL, 0), 0);
    assert_int_equal(p.n, 0);
}

static void test_errors(void **state)
{
    (void)state;
    static char buf[64 * 1024];
    char why[200];
    long rc = 0;
    openord_begin(&p, "BTCUSDT");
    const char *refused = "{\"retCode\":10006,\"retMsg\":\"Too many visits\",\"result\":{}}";
    assert_int_equal(openord_take(&p, refused, strlen(refused), &rc, why, sizeof why), ERR_REFUSED);
    assert_int_equal(rc, 10006);
    assert_string_equal(why, "open orders of BTCUSDT: Too many visits (retCode 10006)");
    assert_int_equal(openord_take(&p, "{\"retCode\":", 11, &rc, why, sizeof why), ERR_PARSE);
    assert_string_equal(why, "open orders of BTCUSDT: cannot parse the reply");
    /* a listing that never ends is cut at OPENORD_MAX_PAGES pages */
    openord_begin(&p, "BTCUSDT");
    int r = 1;
    unsigned pages = 0;
    while (r == 1 && pages < 100) {
        size_t len = page(buf, sizeof buf, "mmb", (int)pages * 50, 50, "more");
        r = openord_take(&p, buf, len, NULL, why, sizeof why);
        pages++;
    }
    assert_int_equal(r, ERR_FULL);
    assert_int_equal(pages, OPENORD_MAX_PAGES);
    assert_int_equal(p.n, OPENORD_MAX);
    assert_string_equal(why,
                        "open orders of BTCUSDT: more than 10 pages: only the first 500 listed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
