/* bybitsign: known HMAC-SHA256 vectors (computed with Python's hmac module). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bybitsign.h"
#include "errcode.h"

static void test_rest_get(void **state)
{
    (void)state;
    char out[BYBITSIGN_HEX];
    const char *q = "category=linear&symbol=BTCUSDT";
    assert_int_equal(bybitsign_rest("secret", "1700000000000", "KEY", "5000", q, strlen(q), out),
                     0);
    assert_string_equal(out, "076f1710bdbbb08d80fb8b2648995f0a3a3d5f7ef8c1103ea94433ef04f7a422");
}

static void test_rest_long_body(void **state)
{
    (void)state;
    char out[BYBITSIGN_HEX], body[5000];
    memset(body, 'x', sizeof body);
    assert_int_equal(
        bybitsign_rest("secret", "1700000000000", "KEY", "5000", body, sizeof body, out), 0);
    assert_string_equal(out, "4d59ddf7487bc83411796582de0cde8d7eb02078c726162ca195dcc406495709");
}

static void test_ws(void **state)
{
    (void)state;
    char out[BYBITSIGN_HEX];
    assert_int_equal(bybitsign_ws("secret", 1700000005000, out), 0);
    assert_string_equal(out, "870a92b7592554e69a02b26e07d3cd0f25689e17ef588149eaf04b9c1358a6fa");
}

static void test_equal_and_limits(void **state)
{
    (void)state;
    char out[BYBITSIGN_HEX], big[200];
    assert_true(bybitsign_equal("abc", "abc"));
    assert_false(bybitsign_equal("abc", "abd"));
    assert_false(bybitsign_equal("abc", "ab"));
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(bybitsign_rest("s", big, "K", "5000", "", 0, out), ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rest_get),
        cmocka_unit_test(test_rest_long_body),
        cmocka_unit_test(test_ws),
        cmocka_unit_test(test_equal_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
