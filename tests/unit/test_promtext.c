/* Tests of promtext: escaping, value formatting, and each case of the parser. */
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
#include "promtext.h"

#define MAX_SEEN 16

typedef struct seen {
    int n;
    char name[MAX_SEEN][1100];
    char labels[MAX_SEEN][1100];
    double value[MAX_SEEN];
    int has_ts[MAX_SEEN];
    int64_t ts[MAX_SEEN];
    int stop_after; /* 0: never stop */
} seen;

static int collect(void *ud, const promtext_parsed *s)
{
    seen *sn = ud;
    if (sn->n < MAX_SEEN) {
        snprintf(sn->name[sn->n], sizeof sn->name[0], "%s", s->name);
        snprintf(sn->labels[sn->n], sizeof sn->labels[0], "%s", s->labels);
        sn->value[sn->n] = s->value;
        sn->has_ts[sn->n] = s->has_timestamp;
        sn->ts[sn->n] = s->timestamp_ms;
    }
    sn->n++;
    return sn->stop_after && sn->n >= sn->stop_after;
}

/* Parses a copy of text in an exactly sized heap buffer, so ASan catches any read past len. */
static promtext_parse_stats parse(const char *text, size_t len, seen *sn)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    promtext_parse_stats st;
    memset(sn, 0, sizeof *sn);
    int rc = promtext_parse(copy, len, collect, sn, &st);
    assert_int_equal(rc, 0);
    free(copy);
    return st;
}

static promtext_parse_stats parse_str(const char *text, seen *sn)
{
    return parse(text, strlen(text), sn);
}

/* ---- writer ---- */

static void test_escape_label(void **state)
{
    (void)state;
    sbuf b;
    sbuf_init(&b, 1024);
    assert_int_equal(promtext_escape_label(&b, "a\\b\"c\nd"), 0);
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
    sbuf_reset(&b);
    assert_int_equal(promtext_escape_label(&b, "plain"), 0);
    assert_string_equal(b.data, "plain");
    sbuf_free(&b);
}

static void test_header(void **state)
{
    (void)state;
    sbuf b;
    sbuf_init(&b, 1024);
    assert_int_equal(
        promtext_header(&b, "soak_restarts_total", "counter", "Restarts of \"svc\"\\ by\nreason"),
        0);
    /* HELP escapes only backslash and newline; the double quote stays as is */
    assert_string_equal(b.data, "# HELP soak_restarts_total Restarts of \"svc\"\\\\ by\\nreason\n"
                                "# TYPE soak_restarts_total counter\n");
    sbuf_free(&b);
}

static void test_sample_values(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-7, "-7"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {1e300, "1e+300"},
        {1e-7, "1e-07"},
        {1700000000000.0, "1700000000000"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf b;
        sbuf_init(&b, 256);
        assert_int_equal(promtext_sample(&b, "m", NULL, cases[i].v), 0);
        char want[64];
        snprintf(want, sizeof want, "m %s\n", cases[i].text);
        assert_string_equal(b.data, want);
        sbuf_free(&b);
    }
}

static void test_sample_labels(void **state)
{
    (void)state;
    sbuf b;
    sbuf_init(&b, 1024);
    const char *labels[] = {"svc", "mm\"bot\"", "path", "C:\\x\ny", NULL};
    assert_int_equal(promtext_sample(&b, "soak_up", labels, 1), 0);
    assert_string_equal(b.data, "soak_up{svc=\"mm\\\"bot\\\"\",path=\"C:\\\\x\\ny\"} 1\n");
    sbuf_free(&b);
}

static void test_sample_full_buffer_appends_nothing(void **state)
{
    (void)state;
    sbuf b;
    sbuf_init(&b, 20);
    assert_int_equal(sbuf_adds(&b, "x\n"), 0);
    const char *labels[] = {"k", "a long enough label value", NULL};
    assert_int_equal(promtext_sample(&b, "name", labels, 1), ERR_FULL);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "x\n");
    assert_int_equal(promtext_header(&b, "name", "gauge", "too long help text here"), ERR_FULL);
    assert_string_equal(b.data, "x\n");
    sbuf_free(&b);
}

/* Writes samples with awkward label values and values, parses them back. */
static void test_round_trip(void **state)
{
    (void)state;
    static const char *const values[] = {"",          "plain",     "back\\slash", "quo\"te",
                                         "new\nline", "\\\"\n\\n", "ünïcødé"};
    static const double nums[] = {0, 1.5, -2, 1e-300, 123456789.125, INFINITY, -INFINITY, NAN};
    sbuf b;
    sbuf_init(&b, 1 << 16);
    assert_int_equal(promtext_header(&b, "rt:metric", "gauge", "help \\ with\nnewline"), 0);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        const char *labels[] = {"v", values[i], "i", "x", NULL};
        assert_int_equal(promtext_sample(&b, "rt:metric", labels, nums[i % 8]), 0);
    }
    seen sn;
    promtext_parse_stats st = parse(b.data, b.len, &sn);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.samples, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(sn.name[i], "rt:metric");
        sbuf want;
        sbuf_init(&want, 1024);
        assert_int_equal(sbuf_adds(&want, "v=\""), 0);
        assert_int_equal(promtext_escape_label(&want, values[i]), 0);
        assert_int_equal(sbuf_adds(&want, "\",i=\"x\""), 0);
        assert_string_equal(sn.labels[i], want.data);
        sbuf_free(&want);
        double v = nums[i % 8];
        if (isnan(v))
            assert_true(isnan(sn.value[i]));
        else
            assert_true(sn.value[i] == v);
    }
    sbuf_free(&b);
}

/* ---- parser ---- */

static void test_parse_basic(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse_str("# HELP x The x.\n"
                                        "# TYPE x gauge\n"
                                        "\n"
                                        "x 3\n"
                                        "name{a=\"b\",c=\"d\\\"e\"} 1.5 1700000000000\n"
                                        "   \t\n"
                                        "# a free comment\n"
                                        "y{} 2\n",
                                        &sn);
    assert_int_equal(st.samples, 3);
    assert_int_equal(st.skipped, 0);
    assert_string_equal(sn.name[0], "x");
    assert_string_equal(sn.labels[0], "");
    assert_true(sn.value[0] == 3);
    assert_int_equal(sn.has_ts[0], 0);
    assert_string_equal(sn.name[1], "name");
    assert_string_equal(sn.labels[1], "a=\"b\",c=\"d\\\"e\"");
    assert_true(sn.value[1] == 1.5);
    assert_int_equal(sn.has_ts[1], 1);
    assert_true(sn.ts[1] == INT64_C(1700000000000));
    assert_string_equal(sn.name[2], "y");
    assert_string_equal(sn.labels[2], "");
}

static void test_parse_special_values(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st =
        parse_str("a NaN\nb +Inf\nc -Inf\nd 1e3\ne -0.5\nf 0x10\ng Inf\n", &sn);
    assert_int_equal(st.samples, 7);
    assert_true(isnan(sn.value[0]));
    assert_true(isinf(sn.value[1]) && sn.value[1] > 0);
    assert_true(isinf(sn.value[2]) && sn.value[2] < 0);
    assert_true(sn.value[3] == 1000);
    assert_true(sn.value[4] == -0.5);
    assert_true(sn.value[5] == 16);
    assert_true(isinf(sn.value[6]) && sn.value[6] > 0);
}

static void test_parse_no_trailing_newline(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse_str("a 1\nb{x=\"y\"} 2 -5", &sn);
    assert_int_equal(st.samples, 2);
    assert_string_equal(sn.name[1], "b");
    assert_true(sn.value[1] == 2);
    assert_int_equal(sn.has_ts[1], 1);
    assert_true(sn.ts[1] == -5);
    /* cut in the middle of a label value: the last line is garbage, not an overread */
    const char *t = "a 1\nb{x=\"yyy\"} 2\n";
    st = parse(t, strlen(t) - 8, &sn);
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.skipped, 1);
}

static void test_parse_crlf(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse_str("# TYPE a counter\r\na 1\r\n\r\nb{k=\"v\"} 2 17\r\n", &sn);
    assert_int_equal(st.samples, 2);
    assert_int_equal(st.skipped, 0);
    assert_true(sn.value[0] == 1);
    assert_true(sn.ts[1] == 17);
    assert_string_equal(sn.labels[1], "k=\"v\"");
}

static void test_parse_garbage_skipped(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse_str("good 1\n"
                                        "9bad 1\n"                     /* name starts with digit */
                                        "bad{a=\"b\" 1\n"              /* unterminated labels */
                                        "bad{a=\"b} 1\n"               /* unterminated value */
                                        "bad{a=b} 1\n"                 /* unquoted value */
                                        "bad{a:b=\"c\"} 1\n"           /* colon in label name */
                                        "bad{a=\"\\x\"} 1\n"           /* unknown escape */
                                        "bad 1 2 3\n"                  /* too many fields */
                                        "bad 1 1.5\n"                  /* fractional timestamp */
                                        "bad one\n"                    /* not a number */
                                        "bad\n"                        /* no value */
                                        "bad 1 99999999999999999999\n" /* timestamp overflow */
                                        "{a=\"b\"} 1\n"                /* no name */
                                        "good2 2\n",
                                        &sn);
    assert_int_equal(st.samples, 2);
    assert_int_equal(st.skipped, 12);
    assert_string_equal(sn.name[0], "good");
    assert_string_equal(sn.name[1], "good2");
}

static void test_parse_names_and_spacing(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse_str("job:http_requests:rate5m 3\n"
                                        "  indented 4\n"
                                        "spaced { a = \"1\" , b=\"2\", } \t 5 \t 6 \n"
                                        "__name__ 7\n",
                                        &sn);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.samples, 4);
    assert_string_equal(sn.name[0], "job:http_requests:rate5m");
    assert_string_equal(sn.name[1], "indented");
    assert_string_equal(sn.name[2], "spaced");
    assert_string_equal(sn.labels[2], "a=\"1\",b=\"2\"");
    assert_true(sn.value[2] == 5);
    assert_true(sn.ts[2] == 6);
}

static void test_parse_length_limits(void **state)
{
    (void)state;
    seen sn;
    char text[4000];
    /* a 1024-byte name is accepted, 1025 is skipped */
    memset(text, 'n', 1024);
    memcpy(text + 1024, " 1\n", 3);
    memset(text + 1027, 'm', 1025);
    memcpy(text + 2052, " 2\n", 3);
    promtext_parse_stats st = parse(text, 2055, &sn);
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(strlen(sn.name[0]), 1024);
    /* label sets longer than 1024 bytes are skipped */
    size_t n = 0;
    n += (size_t)snprintf(text, sizeof text, "m{k=\"");
    memset(text + n, 'v', 1100);
    n += 1100;
    memcpy(text + n, "\"} 1\n", 5);
    n += 5;
    st = parse(text, n, &sn);
    assert_int_equal(st.samples, 0);
    assert_int_equal(st.skipped, 1);
}

static void test_parse_nul_and_empty(void **state)
{
    (void)state;
    seen sn;
    promtext_parse_stats st = parse("", 0, &sn);
    assert_int_equal(st.samples, 0);
    assert_int_equal(st.skipped, 0);
    static const char withnul[] = "a{k=\"x\0y\"} 1\nb 2\0\nc 3";
    st = parse(withnul, sizeof withnul - 1, &sn);
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.skipped, 2);
    assert_string_equal(sn.name[0], "c");
}

static void test_parse_stop(void **state)
{
    (void)state;
    seen sn;
    memset(&sn, 0, sizeof sn);
    sn.stop_after = 2;
    promtext_parse_stats st;
    const char *t = "a 1\nb 2\nc 3\n";
    assert_int_equal(promtext_parse(t, strlen(t), collect, &sn, &st), 1);
    assert_int_equal(sn.n, 2);
    assert_int_equal(st.samples, 2);
    /* NULL callback and NULL stats are accepted */
    assert_int_equal(promtext_parse(t, strlen(t), NULL, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_label),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_sample_values),
        cmocka_unit_test(test_sample_labels),
        cmocka_unit_test(test_sample_full_buffer_appends_nothing),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_special_values),
        cmocka_unit_test(test_parse_no_trailing_newline),
        cmocka_unit_test(test_parse_crlf),
        cmocka_unit_test(test_parse_garbage_skipped),
        cmocka_unit_test(test_parse_names_and_spacing),
        cmocka_unit_test(test_parse_length_limits),
        cmocka_unit_test(test_parse_nul_and_empty),
        cmocka_unit_test(test_parse_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
