/* Tests of patterns: the default patterns on sample lines, ERE features, errors, lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "patterns.h"

/* The heartbeat and the three default patterns of soak (opts.c). */
static const char *const def_names[] = {"heartbeat", "reconnect", "error", "ratelimit"};
static const char *const def_exprs[] = {"\\[HB\\] alive", "reconnect", "ERROR|Traceback|Exception",
                                        "429|rate limit|too many"};

/* Matches a copy in an exactly sized heap buffer, so ASan sees any read past len. */
static uint64_t match(patterns *p, const char *line)
{
    size_t len = strlen(line);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, line, len);
    uint64_t m = patterns_match(p, copy, len);
    free(copy);
    return m;
}

static patterns *compile(const char *const *names, const char *const *exprs, size_t n)
{
    char err[256] = "";
    patterns *p = patterns_new(names, exprs, n, err, sizeof err);
    if (!p)
        fail_msg("compile failed: %s", err);
    return p;
}

static void test_default_patterns(void **state)
{
    (void)state;
    patterns *p = compile(def_names, def_exprs, 4);
    assert_int_equal(patterns_count(p), 4);
    assert_int_equal(match(p, "[HB] alive beat=3"), 1u << 0);
    assert_int_equal(match(p, "ws: reconnect attempt 2"), 1u << 1);
    assert_int_equal(match(p, "Traceback (most recent call last)"), 1u << 2);
    assert_int_equal(match(p, "2026-01-01 ERROR boom"), 1u << 2);
    assert_int_equal(match(p, "ValueError: Exception raised"), 1u << 2);
    assert_int_equal(match(p, "HTTP 429 Too Many"), 1u << 3);
    assert_int_equal(match(p, "hit the rate limit"), 1u << 3);
    assert_int_equal(match(p, "order placed id=17 qty=2"), 0);
    assert_int_equal(match(p, ""), 0);
    /* [HB] is literal brackets, not a class */
    assert_int_equal(match(p, "H alive"), 0);
    assert_int_equal(match(p, "HB alive"), 0);
    /* matching is case-sensitive, as in grep -E */
    assert_int_equal(match(p, "error: lower case"), 0);
    patterns_free(p);
}

static void test_mask_per_pattern(void **state)
{
    (void)state;
    patterns *p = compile(def_names, def_exprs, 4);
    assert_int_equal(match(p, "[HB] alive ERROR reconnect 429"), 0xf);
    assert_int_equal(match(p, "ERROR after reconnect"), (1u << 1) | (1u << 2));
    /* several matches of one pattern still set one bit */
    assert_int_equal(match(p, "429 429 429 too many"), 1u << 3);
    patterns_free(p);

    /* bit 63 for the 64th pattern */
    const char *names[PATTERNS_MAX], *exprs[PATTERNS_MAX];
    char nb[PATTERNS_MAX][16], eb[PATTERNS_MAX][16];
    for (int i = 0; i < PATTERNS_MAX; i++) {
        snprintf(nb[i], sizeof nb[i], "p%d", i);
        snprintf(eb[i], sizeof eb[i], "<%d>", i);
        names[i] = nb[i];
        exprs[i] = eb[i];
    }
    p = compile(names, exprs, PATTERNS_MAX);
    assert_int_equal(match(p, "x <63> y"), (uint64_t)1 << 63);
    assert_int_equal(match(p, "<0><5>"), (1u << 0) | (1u << 5));
    assert_int_equal(patterns_find(p, "p63"), 63);
    patterns_free(p);
}

static void test_names_and_find(void **state)
{
    (void)state;
    patterns *p = compile(def_names, def_exprs, 4);
    assert_string_equal(patterns_name(p, 2), "error");
    assert_string_equal(patterns_expr(p, 2), "ERROR|Traceback|Exception");
    assert_null(patterns_name(p, 4));
    assert_int_equal(patterns_find(p, "ratelimit"), 3);
    assert_int_equal(patterns_find(p, "nope"), ERR_NOENT);
    patterns_free(p);
}

static void test_ere_features(void **state)
{
    (void)state;
    static const char *const names[] = {"alt", "digits", "start", "end", "rep", "group"};
    static const char *const exprs[] = {"foo|bar", "code=[[:digit:]]+", "^begin",
                                        "finish$", "^a{2,3}$",          "(ab)+c"};
    patterns *p = compile(names, exprs, 6);
    assert_int_equal(match(p, "x bar y"), 1u << 0);
    assert_int_equal(match(p, "foo"), 1u << 0);
    assert_int_equal(match(p, "code=42"), 1u << 1);
    assert_int_equal(match(p, "code=x42"), 0);
    assert_int_equal(match(p, "begin here"), 1u << 2);
    assert_int_equal(match(p, "we begin"), 0);
    assert_int_equal(match(p, "we finish"), 1u << 3);
    assert_int_equal(match(p, "finish now"), 0);
    assert_int_equal(match(p, "a"), 0);
    assert_int_equal(match(p, "aa"), 1u << 4);
    assert_int_equal(match(p, "aaa"), 1u << 4);
    assert_int_equal(match(p, "aaaa"), 0);
    assert_int_equal(match(p, "xababcx"), 1u << 5);
    assert_int_equal(match(p, "xacx"), 0);
    patterns_free(p);
}

static void test_bad_pattern_named(void **state)
{
    (void)state;
    static const char *const names[] = {"good", "broken", "fine"};
    static const char *const exprs[] = {"ok", "(unclosed", "x"};
    char err[256] = "";
    assert_null(patterns_new(names, exprs, 3, err, sizeof err));
    if (!strstr(err, "pattern 'broken'"))
        fail_msg("message '%s' does not name the pattern", err);

    static const char *const names2[] = {"b2"};
    static const char *const exprs2[] = {"[abc"};
    assert_null(patterns_new(names2, exprs2, 1, err, sizeof err));
    assert_non_null(strstr(err, "pattern 'b2'"));

    const char *many[PATTERNS_MAX + 1];
    for (int i = 0; i <= PATTERNS_MAX; i++)
        many[i] = "x";
    assert_null(patterns_new(many, many, PATTERNS_MAX + 1, err, sizeof err));
    assert_non_null(strstr(err, "too many"));
}

static void test_zero_patterns(void **state)
{
    (void)state;
    char err[64];
    patterns *p = patterns_new(NULL, NULL, 0, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(patterns_count(p), 0);
    assert_int_equal(patterns_find(p, "error"), ERR_NOENT);
    assert_int_equal(match(p, "ERROR everything"), 0);
    patterns_free(p);
    patterns_free(NULL);
    assert_int_equal(patterns_match(NULL, "x", 1), 0);
}

static void test_length_respected(void **state)
{
    (void)state;
    patterns *p = compile(def_names, def_exprs, 4);
    static const char buf[] = "plain text then ERROR and 429";
    /* only "plain text then " is the line */
    assert_int_equal(patterns_match(p, buf, 16), 0);
    assert_int_equal(patterns_match(p, buf, 21), 1u << 2);
    assert_int_equal(patterns_match(p, buf, sizeof buf - 1), (1u << 2) | (1u << 3));
    assert_int_equal(patterns_match(p, buf, 0), 0);
    /* a match cut by the length does not count */
    assert_int_equal(patterns_match(p, buf, 19), 0); /* "ERR" */
    patterns_free(p);

    /* $ anchors at the given length, not at the NUL */
    static const char *const names[] = {"end"};
    static const char *const exprs[] = {"abc$"};
    p = compile(names, exprs, 1);
    static const char line[] = "xxabcyy";
    assert_int_equal(patterns_match(p, line, 5), 1);
    assert_int_equal(patterns_match(p, line, 7), 0);
    patterns_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_patterns),  cmocka_unit_test(test_mask_per_pattern),
        cmocka_unit_test(test_names_and_find),    cmocka_unit_test(test_ere_features),
        cmocka_unit_test(test_bad_pattern_named), cmocka_unit_test(test_zero_patterns),
        cmocka_unit_test(test_length_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
