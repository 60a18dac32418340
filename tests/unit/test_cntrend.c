/* Tests of cntrend: fd and thread counts judged with the memory method and the memory keys: a
 * count that grows by one a second fails a threshold of 10/h, a flat one is shown under it, too
 * little data is no verdict, and the gate series names map to their counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cntrend.h"
#include "errcode.h"

static void short_keys(opts *o)
{
    char err[128];
    opts_init(o);
    assert_int_equal(opts_set(o, "leak_window", "4s", err, sizeof err), 0);
    assert_int_equal(opts_set(o, "leak_min_span", "10s", err, sizeof err), 0);
    assert_int_equal(opts_set(o, "warmup", "2s", err, sizeof err), 0);
}

static void test_growth_and_flat(void **state)
{
    (void)state;
    static opts o;
    short_keys(&o);
    cntrend_input in;
    assert_int_equal(cntrend_input_init(&in), 0);
    for (int i = 0; i < 400; i++) /* 40 s at 100 ms: fds +1/s, threads flat at 3 */
        cntrend_input_add(&in, 1000.0 + i * 0.1, 5 + i / 10, 3, 0);
    cntrend fd, th;
    assert_int_equal(cntrend_eval(&in, CNTREND_FDS, &o, 10, &fd), 0);
    assert_false(fd.insufficient);
    assert_true(fd.leak);
    assert_false(fd.below);
    assert_true(fd.slope_ph > 3000 && fd.slope_ph < 4200);
    assert_true(fd.max == 44);
    assert_int_equal(cntrend_eval(&in, CNTREND_THREADS, &o, 5, &th), 0);
    assert_false(th.leak);
    assert_true(th.below);
    assert_true(th.slope_ph == 0);
    cntrend_input_free(&in);
    opts_free(&o);
}

static void test_too_little(void **state)
{
    (void)state;
    static opts o;
    opts_init(&o); /* the defaults want 30 minutes */
    cntrend_input in;
    assert_int_equal(cntrend_input_init(&in), 0);
    cntrend fd;
    assert_int_equal(cntrend_eval(&in, CNTREND_FDS, &o, 10, &fd), 0);
    assert_true(fd.insufficient);
    for (int i = 0; i < 100; i++)
        cntrend_input_add(&in, 1000.0 + i, 5 + i, 1, 0);
    assert_int_equal(cntrend_eval(&in, CNTREND_FDS, &o, 10, &fd), 0);
    assert_true(fd.insufficient);
    assert_false(fd.leak);
    assert_int_equal(cntrend_eval(&in, CNTREND_N, &o, 10, &fd), ERR_INVAL);
    cntrend_input_free(&in);
    opts_free(&o);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(cntrend_series_name(CNTREND_FDS), "fd_growth_per_hour");
    assert_string_equal(cntrend_series_name(CNTREND_THREADS), "thread_growth_per_hour");
    assert_string_equal(cntrend_series_name(CNTREND_N), "");
    assert_int_equal(cntrend_series_index("thread_growth_per_hour"), CNTREND_THREADS);
    assert_int_equal(cntrend_series_index("fds"), -1);
    assert_int_equal(cntrend_series_index(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_and_flat),
        cmocka_unit_test(test_too_little),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
