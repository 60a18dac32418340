/* Tests of leakstat's inconclusive verdicts (leakstat_result.unsure): growth the data cannot
 * tell from a leak is never one, and says why in words. Each shape is one that the rule was
 * made for and that ec44071..9611dea called a leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leakstat.h"

#define MB 1e6
#define H  3600.0

static uint64_t rng;

static double uni(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    double u = uni() + 1e-12, v = uni();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

typedef struct series {
    double *t, *y;
    int *seg;
    size_t n;
} series;

static void series_alloc(series *s, size_t n)
{
    s->t = malloc(n * sizeof *s->t);
    s->y = malloc(n * sizeof *s->y);
    s->seg = malloc(n * sizeof *s->seg);
    s->n = n;
    assert_non_null(s->t);
    assert_non_null(s->y);
    assert_non_null(s->seg);
}

static void series_free(series *s)
{
    free(s->t);
    free(s->y);
    free(s->seg);
}

/* 1 Hz: 300 MB + a saturating warm-up (wmb, tau) since the last restart + a 60 MB sawtooth of
 * 10 min + noise (1 MB) + leak_mbh since the last restart; restart_at < 0: none. */
static void restart_shape(series *s, double wmb, double tau, double restart_at, double leak_mbh)
{
    rng = 12345;
    for (size_t i = 0; i < s->n; i++) {
        double ti = (double)i;
        int after = restart_at >= 0 && ti >= restart_at;
        double u = ti - (after ? restart_at : 0);
        s->t[i] = ti;
        s->seg[i] = after;
        s->y[i] = (300 + wmb * (1 - exp(-u / tau)) + 60 * fmod(ti, 600) / 600 + gauss() +
                   leak_mbh * u / H) *
                  MB;
    }
}

/* 1 Hz: 300 MB + a slow cycle of period_h whose trough is at trough_s, amplitude amp_mb (so
 * 2 amp_mb from trough to crest) + noise (1 MB). */
static void cycle_shape(series *s, double period_h, double trough_s, double amp_mb)
{
    rng = 777;
    for (size_t i = 0; i < s->n; i++) {
        double ti = (double)i;
        s->t[i] = ti;
        s->seg[i] = 0;
        s->y[i] = (300 - amp_mb * cos(2 * M_PI * (ti - trough_s) / (period_h * H)) + gauss()) * MB;
    }
}

static void analyze(const series *s, int marks, leakstat_result *r)
{
    leakstat_opts o;
    leakstat_opts_default(&o);
    o.restarts = !marks; /* as soak analyze: falls looked for in an import only */
    assert_int_equal(leakstat_analyze(s->t, s->y, marks ? s->seg : NULL, s->n, &o, r), 0);
}

/* The hard set's "one restart at 1-2 h, long warm-ups, 3 h run": the first life is pooled but
 * ends in its warm-up's tail, the second never settles. The pooled fit alone reads 250 MB/h;
 * its last half holds too few points to show the growth goes on. */
static void test_restart_in_short_run_is_short(void **state)
{
    (void)state;
    series s;
    series_alloc(&s, (size_t)(3 * H));
    restart_shape(&s, 400, 900, 5700, 0);
    leakstat_result *r = malloc(sizeof *r);
    assert_non_null(r);
    for (int marks = 0; marks < 2; marks++) {
        analyze(&s, marks, r);
        assert_int_equal(r->insufficient, 0);
        assert_int_equal(r->leak, 0);
        assert_int_equal(r->unsure, LEAKSTAT_UNSURE_SHORT);
        assert_true(r->fit.lo > 10 * MB / H); /* what used to be called a leak */
        assert_int_equal(r->restarts_found, marks ? 0 : 1);
    }
    free(r);
    series_free(&s);
}

/* A 6 h cycle seen for 3 h from 1 h before its trough: falls, then rises ever faster. The
 * pooled slope (about 24 MB/h, lower end 15) was a leak; the first half grows under half as
 * fast as the second: "speeding up". */
static void test_cycle_from_before_its_trough_is_speedup(void **state)
{
    (void)state;
    series s;
    series_alloc(&s, (size_t)(3 * H));
    leakstat_result *r = malloc(sizeof *r);
    assert_non_null(r);
    const double trough[] = {3600, 2700};
    const double period[] = {6, 5};
    for (int k = 0; k < 2; k++) {
        cycle_shape(&s, period[k], trough[k], 50);
        analyze(&s, 0, r);
        assert_int_equal(r->insufficient, 0);
        assert_int_equal(r->leak, 0);
        assert_int_equal(r->unsure, LEAKSTAT_UNSURE_SPEEDUP);
        assert_int_equal(r->warming, 0);
        assert_true(r->fit.lo > 10 * MB / H);
        assert_true(r->early.slope < 0.5 * r->late.slope);
    }
    free(r);
    series_free(&s);
}

/* A 4 h cycle seen for 3 h from half an hour after its trough: rises, crests, falls. Growth
 * that slows down: "still warming up", as a saturating warm-up. */
static void test_cycle_over_its_crest_is_warmup(void **state)
{
    (void)state;
    series s;
    series_alloc(&s, (size_t)(3 * H));
    cycle_shape(&s, 4, 1800, 50);
    leakstat_result *r = malloc(sizeof *r);
    assert_non_null(r);
    analyze(&s, 0, r);
    assert_int_equal(r->leak, 0);
    assert_int_equal(r->unsure, LEAKSTAT_UNSURE_WARMUP);
    assert_int_equal(r->warming, 1);
    free(r);
    series_free(&s);
}

/* A steady leak is still one, with nothing unsure: 20 MB/h for 6 h and 50 MB/h for 3 h, a
 * warm-up and a sawtooth on top, with and without marks; with a restart at 4 h of 8. */
static void test_steady_leak_is_still_a_leak(void **state)
{
    (void)state;
    leakstat_result *r = malloc(sizeof *r);
    assert_non_null(r);
    const double hours[] = {6, 3, 8};
    const double rate[] = {20, 50, 20};
    const double restart[] = {-1, -1, 4 * H};
    for (int k = 0; k < 3; k++) {
        series s;
        series_alloc(&s, (size_t)(hours[k] * H));
        restart_shape(&s, 100, 120, restart[k], rate[k]);
        for (int marks = 0; marks < 2; marks++) {
            analyze(&s, marks, r);
            assert_int_equal(r->leak, 1);
            assert_int_equal(r->unsure, LEAKSTAT_UNSURE_NONE);
            assert_true(r->fit.slope > 0.7 * rate[k] * MB / H);
            assert_true(r->fit.slope < 1.3 * rate[k] * MB / H);
        }
        series_free(&s);
    }
    free(r);
}

/* No growth: nothing to be unsure about. */
static void test_flat_is_not_unsure(void **state)
{
    (void)state;
    series s;
    series_alloc(&s, (size_t)(6 * H));
    restart_shape(&s, 100, 120, -1, 0);
    leakstat_result *r = malloc(sizeof *r);
    assert_non_null(r);
    analyze(&s, 1, r);
    assert_int_equal(r->leak, 0);
    assert_int_equal(r->unsure, LEAKSTAT_UNSURE_NONE);
    assert_int_equal(r->below, 1);
    free(r);
    series_free(&s);
}

/* The words a person reads, one per reason; none for NONE or an unknown value. */
static void test_unsure_text(void **state)
{
    (void)state;
    assert_string_equal(leakstat_unsure_text(LEAKSTAT_UNSURE_NONE), "");
    assert_string_equal(leakstat_unsure_text(-1), "");
    assert_string_equal(leakstat_unsure_text(99), "");
    assert_string_equal(leakstat_unsure_text(LEAKSTAT_UNSURE_WARMUP),
                        "still warming up (growth slowing down)");
    assert_non_null(
        strstr(leakstat_unsure_text(LEAKSTAT_UNSURE_SPEEDUP), "cycle longer than the run"));
    assert_non_null(strstr(leakstat_unsure_text(LEAKSTAT_UNSURE_SHORT), "too short"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_in_short_run_is_short),
        cmocka_unit_test(test_cycle_from_before_its_trough_is_speedup),
        cmocka_unit_test(test_cycle_over_its_crest_is_warmup),
        cmocka_unit_test(test_steady_leak_is_still_a_leak),
        cmocka_unit_test(test_flat_is_not_unsure),
        cmocka_unit_test(test_unsure_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
