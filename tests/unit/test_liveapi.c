/* Tests of liveapi's pure parts: query parameters, the min/max downsampling, the live gate
 * statuses (every cell of status x running), /api/gates and /api/log bodies, basic auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "errcode.h"
#include "liveapi.h"

static void test_query(void **state)
{
    (void)state;
    double v = -1;
    char b[16];
    assert_int_equal(liveapi_query_num("from=10&to=20", "to", 0, 100, &v), 1);
    assert_true(v == 20);
    assert_int_equal(liveapi_query_num("from=10&to=20", "max_points", 0, 100, &v), 0);
    assert_int_equal(liveapi_query_num("", "to", 0, 100, &v), 0);
    assert_int_equal(liveapi_query_num("to=", "to", 0, 100, &v), 0);
    assert_int_equal(liveapi_query_num("top=5", "to", 0, 100, &v), 0); /* not a prefix match */
    assert_int_equal(liveapi_query_num("to=x", "to", 0, 100, &v), ERR_PARSE);
    assert_int_equal(liveapi_query_num("to=5x", "to", 0, 100, &v), ERR_PARSE);
    assert_int_equal(liveapi_query_num("to=101", "to", 0, 100, &v), ERR_PARSE);
    assert_int_equal(liveapi_query_num("to=nan", "to", 0, 100, &v), ERR_PARSE);
    assert_int_equal(liveapi_query_num("to=inf", "to", 0, 1e300, &v), ERR_PARSE);
    assert_int_equal(liveapi_query_str("a=1&metric=pattern.error", "metric", b, sizeof b), 1);
    assert_string_equal(b, "pattern.error");
    assert_int_equal(liveapi_query_str("a=1", "metric", b, sizeof b), 0);
    assert_int_equal(liveapi_query_str("metric=0123456789abcdefXYZ", "metric", b, sizeof b), 1);
    assert_string_equal(b, "0123456789abcde"); /* cut to the buffer */
}

/* 100,000 points into max_points 10: at most 10 points, the spike and the dip kept. */
static void test_downsample(void **state)
{
    (void)state;
    liveapi_ds *d = malloc(sizeof *d);
    assert_non_null(d);
    liveapi_ds_init(d, 0, 100000, 10);
    for (int i = 0; i < 100000; i++)
        liveapi_ds_add(d, i, i == 31337 ? 1e9 : i == 77777 ? -5 : 100 + i % 10);
    liveapi_ds_add(d, -1, 5);        /* outside: ignored */
    liveapi_ds_add(d, 5, 0.0 / 0.0); /* not finite: ignored */
    assert_int_equal(d->n, 100000);
    sbuf b;
    sbuf_init(&b, 1 << 20);
    assert_int_equal(liveapi_ds_json(d, &b), 0);
    sbuf_add(&b, "", 1);
    cJSON *j = cJSON_Parse(b.data);
    assert_non_null(j);
    assert_true(cJSON_GetArraySize(j) <= 10);
    int spike = 0, dip = 0;
    double last_t = -1;
    const cJSON *p;
    cJSON_ArrayForEach(p, j)
    {
        double t = cJSON_GetArrayItem(p, 0)->valuedouble, v = cJSON_GetArrayItem(p, 1)->valuedouble;
        assert_true(t >= last_t); /* in time order */
        last_t = t;
        spike |= v == 1e9 && t == 31337;
        dip |= v == -5 && t == 77777;
    }
    assert_true(spike && dip);
    cJSON_Delete(j);
    /* one point: one pair, not two */
    liveapi_ds_init(d, 0, 10, 4000);
    liveapi_ds_add(d, 3, 7);
    sbuf_reset(&b);
    assert_int_equal(liveapi_ds_json(d, &b), 0);
    sbuf_add(&b, "", 1);
    assert_string_equal(b.data, "[[3.000,7]]");
    /* max_points out of range is clamped */
    liveapi_ds_init(d, 0, 10, 1000000);
    assert_int_equal(d->nb, LIVEAPI_MAX_POINTS / 2);
    liveapi_ds_init(d, 0, 10, 0);
    assert_int_equal(d->nb, 1);
    sbuf_free(&b);
    free(d);
}

/* Every cell: analyze's status (pass, fail, no-data, anything else) x running x a duration gate. */
static void test_gate_status(void **state)
{
    (void)state;
    static const struct {
        const char *st, *expr;
        int running;
        const char *want;
    } c[] = {
        {"pass", "max(zombies) == 0", 1, "pass"},
        {"pass", "max(zombies) == 0", 0, "pass"},
        {"fail", "last(crashes) == 0", 1, "fail"},
        {"fail", "last(crashes) == 0", 0, "fail"},
        {"no-data", "last(orphan_orders) == 0", 1, "undecided"},
        {"no-data", "last(orphan_orders) == 0", 0, "no-data"},
        {"weird", "max(x) < 1", 1, "undecided"},
        {"weird", "max(x) < 1", 0, "no-data"},
        {"fail", "last(duration_s) >= 24h", 1, "undecided"}, /* not over yet */
        {"fail", "last(duration_s) >= 24h", 0, "fail"},
        {"pass", "last(duration_s) >= 1s", 1, "undecided"},
        {"pass", "last(duration_s) >= 1s", 0, "pass"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_string_equal(liveapi_gate_status(c[i].st, c[i].expr, c[i].running), c[i].want);
}

static void test_gates_json(void **state)
{
    (void)state;
    sbuf b;
    sbuf_init(&b, 1 << 16);
    assert_int_equal(liveapi_gates_json(NULL, 1, &b), 0);
    sbuf_add(&b, "", 1);
    assert_non_null(strstr(b.data, "\"verdict\":\"not computed yet\""));
    assert_non_null(strstr(b.data, "\"gates\":[]"));
    const char *v = "{\"pass\":false,\"gates\":[{\"name\":\"crashes\",\"expression\":"
                    "\"last(crashes) == 0\",\"value\":1,\"unit\":\"\",\"status\":\"fail\"},"
                    "{\"name\":\"cpu\",\"expression\":\"avg(cpu_percent) < 80\",\"value\":3.5,"
                    "\"unit\":\"%\",\"status\":\"pass\"},{\"name\":\"orphans\",\"expression\":"
                    "\"last(orphan_orders) == 0\",\"value\":null,\"status\":\"no-data\"}]}";
    sbuf_reset(&b);
    assert_int_equal(liveapi_gates_json(v, 1, &b), 0);
    sbuf_add(&b, "", 1);
    cJSON *j = cJSON_Parse(b.data);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring, "fail");
    const cJSON *g = cJSON_GetObjectItem(j, "gates");
    assert_int_equal(cJSON_GetArraySize(g), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "status")->valuestring,
                        "fail");
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "value")->valuedouble == 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "unit")->valuestring, "%");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 2), "status")->valuestring,
                        "undecided");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 2), "value")));
    cJSON_Delete(j);
    /* all passing while running: "passing so far", not yet "pass" */
    const char *ok = "{\"gates\":[{\"name\":\"cpu\",\"expression\":\"avg(cpu_percent) < 80\","
                     "\"value\":3,\"status\":\"pass\"}]}";
    sbuf_reset(&b);
    assert_int_equal(liveapi_gates_json(ok, 1, &b), 0);
    sbuf_add(&b, "", 1);
    assert_non_null(strstr(b.data, "\"verdict\":\"passing so far\""));
    sbuf_reset(&b);
    assert_int_equal(liveapi_gates_json(ok, 0, &b), 0);
    sbuf_add(&b, "", 1);
    assert_non_null(strstr(b.data, "\"verdict\":\"pass\""));
    sbuf_free(&b);
}

static char *log_of(const char *text, int tail)
{
    sbuf b;
    sbuf_init(&b, 1 << 16);
    assert_int_equal(liveapi_log_json(text, strlen(text), tail, &b), 0);
    sbuf_add(&b, "", 1);
    return b.data;
}

static void test_log(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int tail;
        const char *want;
    } c[] = {
        {"a\nb\nc\n", 2, "{\"lines\":[\"b\",\"c\"]}"},
        {"a\nb\nc", 2, "{\"lines\":[\"b\",\"c\"]}"},
        {"a\nb\nc\n", 10, "{\"lines\":[\"a\",\"b\",\"c\"]}"},
        {"a\nb\nc\n", 0, "{\"lines\":[]}"},
        {"", 5, "{\"lines\":[]}"},
        {"x", 1, "{\"lines\":[\"x\"]}"},
        {"q\"uote\\\n", 1, "{\"lines\":[\"q\\\"uote\\\\\"]}"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *got = log_of(c[i].text, c[i].tail);
        assert_string_equal(got, c[i].want);
        free(got);
    }
}

static void test_auth(void **state)
{
    (void)state;
    /* "viewer:pw1" in base64 is dmlld2VyOnB3MQ== */
    assert_int_equal(liveapi_auth_ok("viewer:pw1", "Basic dmlld2VyOnB3MQ=="), 1);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", "Basic dmlld2VyOnB3Mg=="), 0);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", "Basic dmlld2VyOnB3MQ"), 0);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", "Basic dmlld2VyOnB3MQ==x"), 0);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", "Bearer dmlld2VyOnB3MQ=="), 0);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", ""), 0);
    assert_int_equal(liveapi_auth_ok("viewer:pw1", NULL), 0);
    assert_int_equal(liveapi_auth_ok("ab:c", "Basic YWI6Yw=="), 1);  /* padding of 2 */
    assert_int_equal(liveapi_auth_ok("ab:cd", "Basic YWI6Y2Q="), 1); /* padding of 1 */
    assert_int_equal(liveapi_auth_ok(NULL, NULL), 1);                /* no auth configured */
    assert_int_equal(liveapi_auth_ok("", "anything"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),       cmocka_unit_test(test_downsample),
        cmocka_unit_test(test_gate_status), cmocka_unit_test(test_gates_json),
        cmocka_unit_test(test_log),         cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
