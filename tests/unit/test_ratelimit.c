/* ratelimit: the rolling window allows up to the limit, refuses past it, recovers as the window
 * slides, keeps keys apart, reports the headers' values, and forgets the oldest key when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_window(void **state)
{
    (void)state;
    ratelimit *r = ratelimit_new(1000);
    ratelimit_state st;
    int64_t t = 1800000000000;
    for (int i = 0; i < 10; i++) {
        assert_true(ratelimit_take(r, "k /v5/order/create", 10, t + i, &st));
        assert_int_equal(st.limit, 10);
        assert_int_equal(st.remaining, 9 - i);
        assert_int_equal(st.reset_ms, t + 1000);
    }
    assert_false(ratelimit_take(r, "k /v5/order/create", 10, t + 20, &st));
    assert_int_equal(st.remaining, 0);
    /* another key and another endpoint are separate */
    assert_true(ratelimit_take(r, "k /v5/order/cancel", 10, t + 20, NULL));
    assert_true(ratelimit_take(r, "j /v5/order/create", 10, t + 20, NULL));
    /* half a window later, the previous window still weighs half: 5 more at most */
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += ratelimit_take(r, "k /v5/order/create", 10, t + 1500, NULL);
    assert_int_equal(ok, 5);
    /* two windows later everything is free again */
    ok = 0;
    for (int i = 0; i < 20; i++)
        ok += ratelimit_take(r, "k /v5/order/create", 10, t + 3000, NULL);
    assert_int_equal(ok, 10);
    /* 0 = unlimited */
    for (int i = 0; i < 1000; i++)
        assert_true(ratelimit_take(r, "u", 0, t, NULL));
    ratelimit_free(r);
}

static void test_full_table(void **state)
{
    (void)state;
    ratelimit *r = ratelimit_new(1000);
    char k[32];
    for (int i = 0; i < 3 * RATELIMIT_MAX_KEYS; i++) {
        snprintf(k, sizeof k, "key%d", i);
        assert_true(ratelimit_take(r, k, 1, 1000, NULL));
    }
    /* the newest key is still counted */
    assert_false(ratelimit_take(r, k, 1, 1001, NULL));
    ratelimit_clear(r);
    assert_true(ratelimit_take(r, k, 1, 1001, NULL));
    ratelimit_free(r);
    assert_null(ratelimit_new(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
