/* Tests of gate: the examples round-trip, every error names its column, units, the reductions
 * on known series, the comparisons. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "gate.h"

/* Parses a copy of text in an exactly sized heap buffer, so ASan catches any read past len. */
static int parse_n(const char *text, size_t len, gate_expr *e, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = gate_parse(copy, len, e, err, errlen);
    free(copy);
    return rc;
}

static int parse(const char *text, gate_expr *e, char *err, size_t errlen)
{
    return parse_n(text, strlen(text), e, err, errlen);
}

static gate_expr must_parse(const char *text)
{
    gate_expr e;
    char err[256] = "";
    if (parse(text, &e, err, sizeof err) != 0)
        fail_msg("'%s' did not parse: %s", text, err);
    return e;
}

/* text parses, formats to canonical, and canonical parses back to the same expr */
static void round_trip(const char *text, const char *canonical)
{
    gate_expr e = must_parse(text), e2;
    char buf[GATE_FORMAT_MAX];
    gate_format(&e, buf, sizeof buf);
    assert_string_equal(buf, canonical);
    e2 = must_parse(buf);
    assert_true(gate_equal(&e, &e2));
    assert_memory_equal(&e, &e2, sizeof e);
}

static void test_examples_round_trip(void **state)
{
    (void)state;
    round_trip("rate_per_hour(ws_reconnect_attempts_total) < 10",
               "rate_per_hour(ws_reconnect_attempts_total) < 10");
    round_trip("p99(latency_ms{stage=\"rest\"}) < 500", "p99(latency_ms{stage=\"rest\"}) < 500");
    round_trip("max(zombies) == 0", "max(zombies) == 0");
    round_trip("count(pattern.error) < 100", "count(pattern.error) < 100");
    round_trip("max(artifacts_bytes) < 5GB", "max(artifacts_bytes) < 5000000000");
    round_trip("avg(cpu_percent) < 80", "avg(cpu_percent) < 80");
    round_trip("avg(cpu_percent) < 80%", "avg(cpu_percent) < 80");
    round_trip("delta(rss_bytes) <= 10MiB", "delta(rss_bytes) <= 10485760");
    round_trip("min(disk_free_bytes) >= 1.5GiB", "min(disk_free_bytes) >= 1610612736");
    round_trip("last(heartbeat_age_s) > 2m", "last(heartbeat_age_s) > 120");
    round_trip("sum(restarts) != 0", "sum(restarts) != 0");
    round_trip("first(x) < 0.1", "first(x) < 0.1");
    round_trip("min(x) > -3.25e-7", "min(x) > -3.25e-07");
    round_trip("p50(a:b.c_d{x=\"1\",y_2=\"two\"}) < 1", "p50(a:b.c_d{x=\"1\",y_2=\"two\"}) < 1");
    round_trip("p90(q{}) < 1", "p90(q) < 1");
    round_trip("p95(q{a=\"b\",}) < 1", "p95(q{a=\"b\"}) < 1");
    round_trip("max(m{path=\"C:\\\\tmp\\\"x\\n\"}) < 1", "max(m{path=\"C:\\\\tmp\\\"x\\n\"}) < 1");
}

static void test_whitespace(void **state)
{
    (void)state;
    round_trip("  max ( zombies ) ==0 ", "max(zombies) == 0");
    round_trip("\tp99(\n latency_ms { stage = \"rest\" , b=\"c\" } )\r\n<\n500 ms\n",
               "p99(latency_ms{stage=\"rest\",b=\"c\"}) < 0.5");
    round_trip("max(artifacts_bytes)<5 GB", "max(artifacts_bytes) < 5000000000");
    /* white space inside a label value is the value's */
    gate_expr e = must_parse("max(m{a=\" x \"}) < 1");
    assert_string_equal(e.label_values[0], " x ");
}

static void test_fields(void **state)
{
    (void)state;
    gate_expr e = must_parse("p99(latency_ms{stage=\"rest\"}) <= 500");
    assert_int_equal(e.func, GATE_P99);
    assert_string_equal(e.name, "latency_ms");
    assert_int_equal(e.nlabels, 1);
    assert_string_equal(e.label_keys[0], "stage");
    assert_string_equal(e.label_values[0], "rest");
    assert_int_equal(e.op, GATE_LE);
    assert_true(e.threshold == 500);

    e = must_parse("max(m{p=\"a\\\"b\\\\c\\nd\"}) < 1");
    assert_string_equal(e.label_values[0], "a\"b\\c\nd");

    const struct {
        const char *text;
        gate_op op;
    } ops[] = {{"max(x) < 1", GATE_LT},  {"max(x) <= 1", GATE_LE}, {"max(x) > 1", GATE_GT},
               {"max(x) >= 1", GATE_GE}, {"max(x) == 1", GATE_EQ}, {"max(x) != 1", GATE_NE}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        assert_int_equal(must_parse(ops[i].text).op, ops[i].op);

    const char *funcs[] = {"rate_per_hour", "count", "max", "min", "avg", "last", "first",
                           "sum",           "delta", "p50", "p90", "p95", "p99"};
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "%s(x) < 1", funcs[i]);
        e = must_parse(text);
        assert_int_equal(e.func, (gate_func)i);
        assert_string_equal(gate_func_name(e.func), funcs[i]);
    }
    assert_string_equal(gate_func_name((gate_func)99), "?");
    assert_string_equal(gate_op_text((gate_op)99), "?");
}

static void test_units(void **state)
{
    (void)state;
    const struct {
        const char *unit;
        double value; /* of 1.5 with that unit */
    } cases[] = {
        {"", 1.5},
        {"ms", 1.5e-3},
        {"s", 1.5},
        {"m", 90},
        {"h", 5400},
        {"d", 129600},
        {"B", 1.5},
        {"KB", 1500},
        {"MB", 1.5e6},
        {"GB", 1.5e9},
        {"TB", 1.5e12},
        {"KiB", 1536},
        {"MiB", 1.5 * 1048576},
        {"GiB", 1.5 * 1073741824.0},
        {"TiB", 1.5 * 1099511627776.0},
        {"%", 1.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "max(x) < 1.5%s", cases[i].unit);
        gate_expr e = must_parse(text);
        if (e.threshold != cases[i].value)
            fail_msg("'%s' gave %.17g, expected %.17g", text, e.threshold, cases[i].value);
    }
    assert_true(must_parse("max(x) < 5GB").threshold == 5e9);
    assert_true(must_parse("max(x) < 64KiB").threshold == 65536);
    assert_true(must_parse("max(x) < 24h").threshold == 86400);
    assert_true(must_parse("max(x) < 250ms").threshold == 0.25);
    assert_true(must_parse("max(x) < .5").threshold == 0.5);
    assert_true(must_parse("max(x) < 7.").threshold == 7);
    assert_true(must_parse("max(x) < +2").threshold == 2);
    assert_true(must_parse("max(x) < 1E3").threshold == 1000);
}

/* text fails at column col with a message containing what */
static void fails_at(const char *text, size_t len, int col, const char *what)
{
    gate_expr e;
    memset(&e, 0x5a, sizeof e);
    gate_expr before = e;
    char err[256] = "";
    assert_int_equal(parse_n(text, len, &e, err, sizeof err), ERR_PARSE);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "column %d: ", col);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
        fail_msg("'%.*s': got \"%s\", expected \"%s...%s\"", (int)len, text, err, prefix, what);
    assert_memory_equal(&e, &before, sizeof e); /* untouched */
}

static void fails(const char *text, int col, const char *what)
{
    fails_at(text, strlen(text), col, what);
}

static void test_errors(void **state)
{
    (void)state;
    fails("", 1, "expected a function name, found end of text");
    fails("   ", 4, "expected a function name");
    fails("(x) < 1", 1, "expected a function name, found '('");
    fails("foo(x) < 1", 1, "unknown function 'foo'; expected rate_per_hour");
    fails("p98(x) < 1", 1, "unknown function 'p98'");
    fails("max zombies) < 1", 5, "expected '(', found 'z'");
    fails("max", 4, "expected '(', found end of text");
    fails("max(1x) < 1", 5, "expected a series name, found '1'");
    fails("max() < 1", 5, "expected a series name, found ')'");
    fails("max(zombies < 1", 13, "expected ')', found '<'");
    fails("max(zombies) 0", 14, "expected '<', '<=', '>', '>=', '==' or '!='");
    fails("max(zombies) = 0", 14, "expected '<', '<=', '>', '>=', '==' or '!='");
    fails("max(zombies) ! 0", 14, "expected '<'");
    fails("max(zombies)", 13, "expected '<'");
    fails("max(zombies) < ", 16, "expected a number");
    fails("max(zombies) < GB", 16, "expected a number");
    fails("max(zombies) < -", 16, "expected a number");
    fails("max(zombies) < nan", 16, "expected a number");
    fails("max(zombies) < inf", 16, "expected a number");
    fails("max(zombies) < 0x10", 17, "unknown unit 'x'");
    fails("max(zombies) < 5XB", 17, "unknown unit 'XB'; expected ms, s, m, h, d");
    fails("max(zombies) < 5gb", 17, "unknown unit 'gb'");
    fails("max(zombies) < 1e", 17, "unknown unit 'e'");
    fails("max(zombies) < 1e999", 16, "number out of range");
    fails("max(zombies) < 1e300TiB", 21, "number out of range");
    fails("max(zombies) < 5 6", 18, "unexpected '6' after the threshold");
    fails("max(zombies) < 5GB GB", 20, "unexpected 'G' after the threshold");
    fails("max(zombies) < 1 && max(x) < 2", 18, "unexpected '&'");
    fails("max(zombies) < 1\x01", 17, "unexpected byte 0x01");
    fails_at("max(zom\0bies) < 1", 17, 8, "expected ')', found byte 0x00");
    fails("max(zombies) < 00000000000000000000000000000000000000000000000000000000000000001", 16,
          "number longer than");

    /* selectors and labels */
    fails("p99(l{stage=\"rest}) < 1", 13, "unterminated label value");
    fails("p99(l{stage=rest}) < 1", 13, "expected '\"', found 'r'");
    fails("p99(l{stage\"rest\"}) < 1", 12, "expected '=', found '\"'");
    fails("p99(l{a=\"1\" b=\"2\"}) < 1", 13, "expected ',' or '}', found 'b'");
    fails("p99(l{a=\"1\",,}) < 1", 13, "expected a label name or '}', found ','");
    fails("p99(l{1=\"1\"}) < 1", 7, "expected a label name or '}', found '1'");
    fails("p99(l{a=\"1\"", 12, "expected ',' or '}', found end of text");
    fails("p99(l{a=\"x\\ty\"}) < 1", 11, "unknown escape in label value");
    fails("p99(l{a=\"x\\", 11, "unknown escape");
    fails("p99(l{a=\"x\ny\"}) < 1", 11, "newline in label value");
    fails_at("p99(l{a=\"x\0y\"}) < 1", 19, 11, "NUL byte in label value");
    fails("p99(l{a=\"1\",a=\"2\"}) < 1", 13, "duplicate label 'a'");
    fails("p99(l{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\"}) < 1", 55,
          "more than 8 labels");

    char text[600];
    snprintf(text, sizeof text, "max(%0128d) < 1", 0);
    text[4] = 'x';
    fails(text, 5, "series name longer than 127 characters");
    snprintf(text, sizeof text, "max(%0127d) < 1", 0);
    text[4] = 'x';
    assert_int_equal(strlen(must_parse(text).name), 127);
    snprintf(text, sizeof text, "max(x{k%063d=\"1\"}) < 1", 0);
    fails(text, 7, "label name longer than 63 characters");
    snprintf(text, sizeof text, "max(x{k%062d=\"1\"}) < 1", 0);
    must_parse(text);
    snprintf(text, sizeof text, "max(x{k=\"%0128d\"}) < 1", 0);
    fails(text, 10, "label value longer than 127 bytes");
    snprintf(text, sizeof text, "max(x{k=\"%0127d\"}) < 1", 0);
    must_parse(text);

    /* a NULL or tiny err buffer is fine */
    gate_expr e;
    assert_int_equal(gate_parse("max(", 4, &e, NULL, 0), ERR_PARSE);
    char small[8];
    assert_int_equal(gate_parse("max(", 4, &e, small, sizeof small), ERR_PARSE);
    assert_string_equal(small, "column ");
    assert_int_equal(gate_parse(NULL, 0, &e, small, sizeof small), ERR_PARSE);
}

static void test_labels_text(void **state)
{
    (void)state;
    char buf[GATE_FORMAT_MAX];
    gate_expr e = must_parse("p99(latency_ms{stage=\"rest\"}) < 500");
    assert_string_equal(gate_labels_text(&e, buf, sizeof buf), "stage=\"rest\"");
    e = must_parse("p99(latency_ms{z=\"1\", a=\"2\"}) < 500");
    assert_string_equal(gate_labels_text(&e, buf, sizeof buf), "z=\"1\",a=\"2\""); /* as written */
    e = must_parse("max(m{svc=\"mm\\\"bot\\\"\",path=\"C:\\\\tmp\\nx\"}) < 1");
    /* the same text promtext gives for `m{svc="mm\"bot\"",path="C:\\tmp\nx"}` */
    assert_string_equal(gate_labels_text(&e, buf, sizeof buf),
                        "svc=\"mm\\\"bot\\\"\",path=\"C:\\\\tmp\\nx\"");
    e = must_parse("max(zombies) == 0");
    assert_string_equal(gate_labels_text(&e, buf, sizeof buf), "");

    /* truncation: NUL-terminated, never past n */
    e = must_parse("p99(latency_ms{stage=\"rest\"}) < 500");
    char small[6];
    memset(small, 'X', sizeof small);
    assert_string_equal(gate_labels_text(&e, small, 5), "stag");
    assert_int_equal(small[5], 'X');
    assert_string_equal(gate_format(&e, small, 5), "p99(");
    assert_int_equal(small[5], 'X');
    assert_string_equal(gate_format(&e, small, 1), "");
    assert_ptr_equal(gate_format(&e, small, 0), small);
}

static void test_equal(void **state)
{
    (void)state;
    gate_expr a = must_parse("max(x{a=\"1\"}) < 1"), b;
    b = a;
    assert_true(gate_equal(&a, &b));
    b.threshold = 2;
    assert_false(gate_equal(&a, &b));
    b = a;
    b.op = GATE_LE;
    assert_false(gate_equal(&a, &b));
    b = must_parse("max(x{a=\"2\"}) < 1");
    assert_false(gate_equal(&a, &b));
    b = must_parse("max(x) < 1");
    assert_false(gate_equal(&a, &b));
    b = must_parse("min(x{a=\"1\"}) < 1");
    assert_false(gate_equal(&a, &b));
}

static double reduce(gate_func f, const double *t, const double *v, size_t n)
{
    double out = -12345;
    int rc = gate_reduce(f, t, v, n, &out);
    if (rc != 0)
        fail_msg("%s: rc %d", gate_func_name(f), rc);
    return out;
}

static void test_reduce_counter(void **state)
{
    (void)state;
    /* a counter that resets once (process restart) between 10 and 2 */
    double t[] = {0, 3600, 7200, 10800, 14400};
    double v[] = {0, 5, 10, 2, 7};
    assert_true(reduce(GATE_COUNT, t, v, 5) == 5 + 5 + 2 + 5);
    assert_true(reduce(GATE_RATE_PER_HOUR, t, v, 5) == 17.0 / 4);
    assert_true(reduce(GATE_DELTA, t, v, 5) == 7);
    assert_true(reduce(GATE_FIRST, t, v, 5) == 0);
    assert_true(reduce(GATE_LAST, t, v, 5) == 7);
    assert_true(reduce(GATE_MAX, t, v, 5) == 10);
    assert_true(reduce(GATE_MIN, t, v, 5) == 0);
    assert_true(reduce(GATE_SUM, t, v, 5) == 24);
    assert_true(reduce(GATE_AVG, t, v, 5) == 24.0 / 5);

    /* a counter that starts above 0: only the increase during the series counts */
    double v2[] = {100, 100, 130};
    assert_true(reduce(GATE_COUNT, t, v2, 3) == 30);
    assert_true(reduce(GATE_RATE_PER_HOUR, t, v2, 3) == 15);

    /* half an hour of data, 3 events: 6 per hour */
    double t3[] = {0, 900, 1800};
    double v3[] = {0, 1, 3};
    assert_true(reduce(GATE_RATE_PER_HOUR, t3, v3, 3) == 6);

    /* one point: count 0, no rate; a zero span: no rate */
    double out;
    assert_true(reduce(GATE_COUNT, t, v2, 1) == 0);
    assert_int_equal(gate_reduce(GATE_RATE_PER_HOUR, t, v2, 1, &out), ERR_NODATA);
    double tsame[] = {5, 5};
    assert_int_equal(gate_reduce(GATE_RATE_PER_HOUR, tsame, v2, 2, &out), ERR_NODATA);
    assert_int_equal(gate_reduce(GATE_RATE_PER_HOUR, NULL, v2, 2, &out), ERR_NODATA);
    assert_true(reduce(GATE_COUNT, NULL, v2, 3) == 30); /* count needs no times */
}

static void test_reduce_percentiles(void **state)
{
    (void)state;
    /* 1..100 shuffled: nearest rank gives the value itself */
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (double)((i * 37) % 100 + 1);
    double copy[100];
    memcpy(copy, v, sizeof v);
    assert_true(reduce(GATE_P50, NULL, v, 100) == 50);
    assert_true(reduce(GATE_P90, NULL, v, 100) == 90);
    assert_true(reduce(GATE_P95, NULL, v, 100) == 95);
    assert_true(reduce(GATE_P99, NULL, v, 100) == 99);
    assert_memory_equal(v, copy, sizeof v); /* the input is not sorted in place */
    assert_true(reduce(GATE_AVG, NULL, v, 100) == 50.5);
    assert_true(reduce(GATE_SUM, NULL, v, 100) == 5050);

    /* small series: ceil(p * n) */
    double w[] = {3, 1, 2};
    assert_true(reduce(GATE_P50, NULL, w, 3) == 2);
    assert_true(reduce(GATE_P90, NULL, w, 3) == 3);
    assert_true(reduce(GATE_P99, NULL, w, 1) == 3);
    double w10[] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    assert_true(reduce(GATE_P50, NULL, w10, 10) == 5);
    assert_true(reduce(GATE_P90, NULL, w10, 10) == 9);
    assert_true(reduce(GATE_P95, NULL, w10, 10) == 10);
}

static void test_reduce_missing(void **state)
{
    (void)state;
    double out = 42;
    for (gate_func f = GATE_RATE_PER_HOUR; f <= GATE_P99; f++) {
        assert_int_equal(gate_reduce(f, NULL, NULL, 0, &out), ERR_NODATA);
        double nan1[] = {NAN, INFINITY};
        double t[] = {0, 1};
        assert_int_equal(gate_reduce(f, t, nan1, 2, &out), ERR_NODATA);
    }
    assert_true(out == 42);
    /* NaN samples are skipped, as if missing */
    double t[] = {0, 1800, 3600, 5400};
    double v[] = {NAN, 1, NAN, 4};
    assert_true(reduce(GATE_COUNT, t, v, 4) == 3);
    assert_true(reduce(GATE_RATE_PER_HOUR, t, v, 4) == 3);
    assert_true(reduce(GATE_AVG, t, v, 4) == 2.5);
    assert_true(reduce(GATE_FIRST, t, v, 4) == 1);
    assert_true(reduce(GATE_P50, t, v, 4) == 1);
    assert_true(reduce(GATE_MIN, t, v, 4) == 1);
}

static void test_reduce_large(void **state)
{
    (void)state;
    size_t n = 1000000;
    double *v = malloc(n * sizeof *v), *t = malloc(n * sizeof *t);
    assert_non_null(v);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        t[i] = (double)i;
        v[i] = 0.1;
    }
    assert_true(fabs(reduce(GATE_SUM, t, v, n) - 100000) < 1e-9);
    assert_true(fabs(reduce(GATE_AVG, t, v, n) - 0.1) < 1e-15);
    assert_true(reduce(GATE_P99, t, v, n) == 0.1);
    free(v);
    free(t);
}

static void test_compare(void **state)
{
    (void)state;
    assert_true(gate_compare(GATE_LT, 1, 2));
    assert_false(gate_compare(GATE_LT, 2, 2));
    assert_true(gate_compare(GATE_LE, 2, 2));
    assert_false(gate_compare(GATE_LE, 3, 2));
    assert_true(gate_compare(GATE_GT, 3, 2));
    assert_false(gate_compare(GATE_GT, 2, 2));
    assert_true(gate_compare(GATE_GE, 2, 2));
    assert_false(gate_compare(GATE_GE, 1, 2));
    assert_true(gate_compare(GATE_EQ, 0, 0));
    assert_true(gate_compare(GATE_EQ, -0.0, 0));
    assert_false(gate_compare(GATE_EQ, 1e-300, 0));
    assert_true(gate_compare(GATE_NE, 1e-300, 0));
    volatile double a = 0.1, b = 0.2;
    assert_false(gate_compare(GATE_EQ, a + b, 0.3)); /* exact: no tolerance */
    assert_true(gate_compare(GATE_NE, a + b, 0.3));
    assert_false(gate_compare(GATE_LT, NAN, 1));
    assert_false(gate_compare(GATE_GE, NAN, 1));
    assert_false(gate_compare(GATE_EQ, NAN, NAN));
    assert_true(gate_compare(GATE_NE, NAN, 1));
    assert_false(gate_compare((gate_op)99, 1, 2));

    /* end to end: the runbook's zombie gate on a series */
    gate_expr e = must_parse("max(zombies) == 0");
    double z[] = {0, 0, 1, 0}, value;
    assert_int_equal(gate_reduce(e.func, NULL, z, 4, &value), 0);
    assert_false(gate_compare(e.op, value, e.threshold));
    assert_int_equal(gate_reduce(e.func, NULL, z, 2, &value), 0);
    assert_true(gate_compare(e.op, value, e.threshold));
}

/* The streaming reducer gives gate_reduce's answer, exact percentiles while they fit, and past
 * its exact cap a percentile within the stated relative error. */
static void test_acc_matches_reduce(void **state)
{
    (void)state;
    enum { N = 5000 };
    double *t = malloc(N * sizeof *t), *v = malloc(N * sizeof *v);
    assert_non_null(t);
    assert_non_null(v);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        t[i] = 100 + i;
        v[i] = (i % 97 == 0) ? NAN : (double)(x >> 8) / 1000.0 - 3000; /* negatives too */
    }
    for (int f = GATE_RATE_PER_HOUR; f <= GATE_P99; f++) {
        double want, got;
        gate_acc a;
        gate_acc_init(&a, gate_func_is_percentile((gate_func)f), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(gate_acc_add(&a, t[i], v[i]), 0);
        assert_int_equal(gate_reduce((gate_func)f, t, v, N, &want), 0);
        assert_int_equal(gate_acc_value(&a, (gate_func)f, &got), 0);
        assert_true(got == want);
        assert_int_equal(gate_acc_approx(&a), 0);
        gate_acc_free(&a);
    }
    gate_acc a;
    gate_acc_init(&a, 0, 0);
    double got;
    assert_int_equal(gate_acc_value(&a, GATE_MAX, &got), ERR_NODATA);
    assert_int_equal(gate_acc_add(&a, 1, 5), 0);
    assert_int_equal(gate_acc_value(&a, GATE_P99, &got), ERR_INVAL); /* made without them */
    assert_int_equal(gate_acc_value(&a, GATE_RATE_PER_HOUR, &got), ERR_NODATA);
    gate_acc_free(&a);
    free(t);
    free(v);
}

static void test_acc_sketch_error(void **state)
{
    (void)state;
    enum { N = 200000, CAP = 1000 };
    gate_acc a;
    gate_acc_init(&a, 1, CAP);
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    unsigned x = 7;
    for (int i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        v[i] = i % 10 == 0 ? 0 : 1e3 + (double)(x >> 4); /* zeros and a wide range */
        assert_int_equal(gate_acc_add(&a, i, v[i]), 0);
    }
    assert_int_equal(gate_acc_approx(&a), 1);
    for (int f = GATE_P50; f <= GATE_P99; f++) {
        double want, got;
        assert_int_equal(gate_reduce((gate_func)f, NULL, v, N, &want), 0);
        assert_int_equal(gate_acc_value(&a, (gate_func)f, &got), 0);
        assert_true(fabs(got - want) <= GATE_ACC_REL_ERR * fabs(want) + 1e-9);
    }
    double mx;
    assert_int_equal(gate_acc_value(&a, GATE_MAX, &mx), 0); /* the rest stays exact */
    double want_max;
    assert_int_equal(gate_reduce(GATE_MAX, NULL, v, N, &want_max), 0);
    assert_true(mx == want_max);
    gate_acc_free(&a);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_round_trip),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_labels_text),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_reduce_counter),
        cmocka_unit_test(test_reduce_percentiles),
        cmocka_unit_test(test_reduce_missing),
        cmocka_unit_test(test_reduce_large),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_acc_matches_reduce),
        cmocka_unit_test(test_acc_sketch_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
