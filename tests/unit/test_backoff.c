/* Tests of backoff: the restart delays and the start limit a supervisor relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"
#include "errcode.h"

#define SHORT_UP 100 /* a run that crashed quickly */

static void test_delays_double_to_cap(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, 60000, 60000, 5, 600000);
    static const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(backoff_next(&b, SHORT_UP), want[i]);
    for (int i = 0; i < 200; i++) /* stays at the cap however long it fails */
        assert_int_equal(backoff_next(&b, SHORT_UP), 60000);
}

static void test_reset_after_long_uptime(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, 60000, 60000, 5, 600000);
    for (int i = 0; i < 5; i++)
        backoff_next(&b, SHORT_UP);
    assert_int_equal(backoff_next(&b, SHORT_UP), 32000);
    /* stayed up long enough: back to the first delay, then doubling again */
    assert_int_equal(backoff_next(&b, 60000), 1000);
    assert_int_equal(backoff_next(&b, SHORT_UP), 2000);
    assert_int_equal(backoff_next(&b, 59999), 4000); /* just short of the reset */
    assert_int_equal(backoff_next(&b, 3600000), 1000);
}

static void test_huge_cap_never_wraps(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, UINT64_MAX, UINT64_MAX, 5, 600000);
    uint64_t prev = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t d = backoff_next(&b, SHORT_UP);
        if (d < prev)
            fail_msg("failure %d: delay %llu after %llu", i, (unsigned long long)d,
                     (unsigned long long)prev);
        prev = d;
    }
    assert_int_equal(prev, UINT64_MAX);
}

static void test_max_below_initial(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 5000, 1000, 60000, 5, 600000);
    assert_int_equal(backoff_next(&b, SHORT_UP), 5000);
    assert_int_equal(backoff_next(&b, SHORT_UP), 5000);
}

static void test_start_limit(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, 60000, 60000, 5, 10000);
    for (uint64_t t = 0; t < 5; t++)
        assert_int_equal(backoff_start(&b, 1000 + t), 0);
    assert_int_equal(backoff_start(&b, 1005), ERR_FULL);
    assert_int_equal(backoff_start(&b, 10999), ERR_FULL); /* first start still inside the window */
    /* refused starts are not recorded: the window is counted from the first start */
    assert_int_equal(backoff_start(&b, 11000), 0);
    assert_int_equal(backoff_start(&b, 11000), ERR_FULL); /* second start (1001) still inside */
    assert_int_equal(backoff_start(&b, 11001), 0);
}

static void test_start_limit_steady_rate(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, 60000, 60000, 5, 10000);
    /* one start every 2 s: five per 10 s window at most, always allowed */
    for (uint64_t t = 0; t < 1000; t++)
        assert_int_equal(backoff_start(&b, t * 2000), 0);
    /* one start every 1.999 s: the sixth within a window is refused */
    backoff_init(&b, 1000, 60000, 60000, 5, 10000);
    for (uint64_t t = 0; t < 5; t++)
        assert_int_equal(backoff_start(&b, t * 1999), 0);
    assert_int_equal(backoff_start(&b, 5 * 1999), ERR_FULL);
}

static void test_burst_clamped(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 1000, 60000, 60000, 0, 10000);
    assert_int_equal(b.burst, 1);
    assert_int_equal(backoff_start(&b, 0), 0);
    assert_int_equal(backoff_start(&b, 1), ERR_FULL);
    assert_int_equal(backoff_start(&b, 10000), 0);

    backoff_init(&b, 1000, 60000, 60000, 1000, 10000);
    assert_int_equal(b.burst, BACKOFF_MAX_BURST);
    for (uint64_t t = 0; t < BACKOFF_MAX_BURST; t++)
        assert_int_equal(backoff_start(&b, t), 0);
    assert_int_equal(backoff_start(&b, BACKOFF_MAX_BURST), ERR_FULL);
    assert_int_equal(backoff_start(&b, 10000), 0);
    assert_int_equal(backoff_start(&b, 10000), ERR_FULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_to_cap), cmocka_unit_test(test_reset_after_long_uptime),
        cmocka_unit_test(test_huge_cap_never_wraps), cmocka_unit_test(test_max_below_initial),
        cmocka_unit_test(test_start_limit),          cmocka_unit_test(test_start_limit_steady_rate),
        cmocka_unit_test(test_burst_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
