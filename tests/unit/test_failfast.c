/* Tests of failfast: which gates stop a live run, when, and which never do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "failfast.h"

#define MB 1e6

static uint64_t rng = 777;

static double gauss(void)
{
    double u, v;
    uint64_t z;
    double r[2];
    for (int k = 0; k < 2; k++) {
        z = (rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r[k] = (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
    }
    u = r[0] + 1e-12;
    v = r[1];
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static failfast *make(const char *name, const char *expr, const failfast_opts *o)
{
    failfast *f = malloc(sizeof *f);
    assert_non_null(f);
    const char *names[] = {name}, *exprs[] = {expr};
    assert_int_equal(failfast_init(f, o, names, exprs, 1), 0);
    return f;
}

static void drop(failfast *f)
{
    failfast_free(f);
    free(f);
}

static void row(double *v, double t)
{
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = NAN;
    v[STORE_COL_t] = t;
    v[STORE_COL_procs] = 1;
    v[STORE_COL_restarts] = 0;
}

typedef double (*shape_fn)(double t);
static double flat(double t)
{
    return 300 * MB + 40 * MB * fmod(t, 900) / 900 + MB * gauss();
}
static double sine6h(double t)
{
    return 300 * MB + 60 * MB * sin(2 * M_PI * t / (6 * 3600)) + MB * gauss();
}
static double slow_warmup(double t)
{
    return 200 * MB + 400 * MB * (1 - exp(-t / 1200)) + MB * gauss();
}
static double leak50(double t)
{
    return 300 * MB + 50 * MB * t / 3600 + 40 * MB * fmod(t, 900) / 900 + MB * gauss();
}
static double leak12(double t) /* borderline: just over the threshold */
{
    return 300 * MB + 12 * MB * t / 3600 + MB * gauss();
}

/* Feeds hours of samples of shape every 10 s; the elapsed seconds at the stop, or -1. */
static double replay(shape_fn fn, double hours)
{
    failfast *f = make("memory_growth", "last(memory_growth_mb_per_hour) < 10", NULL);
    double v[STORE_NCOLS], out = -1;
    for (double t = 0; t < hours * 3600; t += 10) {
        row(v, t);
        v[STORE_COL_rss_bytes] = fn(t);
        int rc = failfast_add(f, v, 0, 0);
        assert_true(rc == 0 || rc == 1);
        if (rc == 1) {
            assert_string_equal(f->gate, "memory_growth");
            out = f->elapsed_s;
            break;
        }
    }
    drop(f);
    return out;
}

static void test_clean_shapes_never_stop(void **state)
{
    (void)state;
    /* two rising halves of the cycle; the warm-up and the flat line long after they settle */
    assert_true(replay(sine6h, 12) < 0);
    assert_true(replay(slow_warmup, 8) < 0);
    assert_true(replay(flat, 6) < 0);
}

static void test_leak_stops_after_the_cycle_allowance(void **state)
{
    (void)state;
    double s = replay(leak50, 24);
    /* 128 MB at 50 MB/h is 2.6 h plus the warm-up cut and 10 confirming looks; well before 24 h */
    assert_true(s > 2.5 * 3600);
    assert_true(s < 6 * 3600);
}

static void test_borderline_leak_continues_for_hours(void **state)
{
    (void)state;
    double s = replay(leak12, 6); /* 12 MB/h: 72 MB in 6 h, which a cycle could explain */
    assert_true(s < 0);
}

static void test_confirmation_needs_consecutive_looks(void **state)
{
    (void)state;
    failfast_opts o;
    failfast_opts_default(&o);
    o.confirm = 1;
    failfast *one = make("memory_growth", "last(memory_growth_mb_per_hour) < 10", &o);
    failfast *ten = make("memory_growth", "last(memory_growth_mb_per_hour) < 10", NULL);
    double v[STORE_NCOLS], t1 = -1, t10 = -1;
    for (double t = 0; t < 12 * 3600 && t10 < 0; t += 10) {
        row(v, t);
        v[STORE_COL_rss_bytes] = leak50(t);
        if (t1 < 0 && failfast_add(one, v, 0, 0) == 1)
            t1 = one->elapsed_s;
        if (failfast_add(ten, v, 0, 0) == 1)
            t10 = ten->elapsed_s;
    }
    assert_true(t1 > 0);
    assert_true(t10 >= t1 + 9 * 60); /* a look a minute: nine more looks at least */
    drop(one);
    drop(ten);
}

static void test_zombies_need_the_grace(void **state)
{
    (void)state;
    failfast *f = make("zombies", "max(zombies) == 0", NULL);
    double v[STORE_NCOLS];
    for (int t = 0; t < 1000; t++) {
        row(v, t);
        /* present 0-199 s (under the 300 s grace), gone, then from 400 s on */
        v[STORE_COL_zombies] = t < 200 || t >= 400 ? 2 : 0;
        int rc = failfast_add(f, v, 0, 0);
        if (t < 700)
            assert_int_equal(rc, 0);
        if (t == 700) {
            assert_int_equal(rc, 1);
            assert_string_equal(f->gate, "zombies");
            assert_true(fabs(f->elapsed_s - 700) < 1e-9);
        }
    }
    drop(f);
}

static void test_monotone_gates_decide_at_once(void **state)
{
    (void)state;
    double v[STORE_NCOLS];
    failfast *f = make("disk", "max(artifacts_bytes) < 5GB", NULL);
    row(v, 100);
    v[STORE_COL_artifacts_bytes] = 4e9;
    assert_int_equal(failfast_add(f, v, 0, 0), 0);
    row(v, 110);
    v[STORE_COL_artifacts_bytes] = 5e9;
    assert_int_equal(failfast_add(f, v, 0, 0), 1);
    assert_string_equal(f->gate, "disk");
    assert_true(fabs(f->elapsed_s - 10) < 1e-9);
    assert_int_equal(failfast_add(f, v, 0, 0), 1); /* stays decided */
    drop(f);

    f = make("crashes", "last(crashes) == 0", NULL);
    row(v, 0);
    assert_int_equal(failfast_add(f, v, 0, 0), 0);
    row(v, 5);
    assert_int_equal(failfast_add(f, v, 1, 0), 1);
    assert_string_equal(f->gate, "crashes");
    drop(f);

    f = make("errors", "count(log_lines) < 100", NULL);
    int rc = 0, t;
    for (t = 0; t < 100 && rc == 0; t++) {
        row(v, t);
        v[STORE_COL_log_lines] = t < 50 ? 10.0 * t : 10.0 * (t - 50); /* a reset at 50 */
        rc = failfast_add(f, v, 0, 0);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(t, 11); /* 0, 10, ... 100: the count reached 100 at the 11th sample */
    drop(f);

    f = make("free", "min(disk_free_bytes) > 1GB", NULL);
    row(v, 0);
    v[STORE_COL_disk_free_bytes] = 1e9;
    assert_int_equal(failfast_add(f, v, 0, 0), 1);
    drop(f);
}

/* The duration gate, averages, percentiles and a gate that could still pass never stop. */
static void test_gates_that_could_still_pass_never_stop(void **state)
{
    (void)state;
    static const char *const names[] = {"duration", "cpu", "p99", "max_gt", "rate"};
    static const char *const exprs[] = {"last(duration_s) >= 24h", "avg(cpu_percent) < 80",
                                        "p99(cpu_percent) < 50", "max(rss_bytes) > 1GB",
                                        "rate_per_hour(ws_reconnect_attempts_total) < 10"};
    failfast *f = malloc(sizeof *f);
    assert_non_null(f);
    assert_int_equal(failfast_init(f, NULL, names, exprs, 5), 0);
    double v[STORE_NCOLS];
    for (int t = 0; t < 3600; t++) {
        row(v, t);
        v[STORE_COL_cpu_percent] = 100;
        v[STORE_COL_rss_bytes] = 1e6;
        assert_int_equal(failfast_add(f, v, 0, 0), 0);
    }
    drop(f);
}

static void test_a_sample_while_the_service_is_down_is_not_its_value(void **state)
{
    (void)state;
    failfast *f = make("zombies", "max(zombies) == 0", NULL);
    double v[STORE_NCOLS];
    for (int t = 0; t < 1000; t++) {
        row(v, t);
        v[STORE_COL_procs] = 0; /* between restarts: service columns are not read */
        v[STORE_COL_zombies] = 3;
        assert_int_equal(failfast_add(f, v, 0, 0), 0);
    }
    drop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_shapes_never_stop),
        cmocka_unit_test(test_leak_stops_after_the_cycle_allowance),
        cmocka_unit_test(test_borderline_leak_continues_for_hours),
        cmocka_unit_test(test_confirmation_needs_consecutive_looks),
        cmocka_unit_test(test_zombies_need_the_grace),
        cmocka_unit_test(test_monotone_gates_decide_at_once),
        cmocka_unit_test(test_gates_that_could_still_pass_never_stop),
        cmocka_unit_test(test_a_sample_while_the_service_is_down_is_not_its_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
