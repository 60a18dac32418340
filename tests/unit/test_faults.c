/* Tests of faults: each schedule fires when and only when it should (time driven by hand),
 * probabilities, determinism per seed, edges once per activation, config keys and their
 * errors, POST /sim/faults bodies (all or nothing), counters and faults_to_json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"

#define T0 1700000000000LL /* a Unix time in ms */

static void key_ok(faults *f, const char *key, const char *value, int64_t now)
{
    char err[256] = "";
    if (faults_set_key(f, key, value, now, err, sizeof err) != 0)
        fail_msg("%s=%s refused: %s", key, value, err);
}

static void key_fails(faults *f, const char *key, const char *value, const char *want)
{
    char err[256] = "";
    assert_int_equal(faults_set_key(f, key, value, T0, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s=%s: message '%s' does not contain '%s'", key, value, err, want);
}

/* Applies a JSON text; returns the result, with the message in err. */
static int apply(faults *f, const char *json, int64_t now, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(json);
    if (!j)
        fail_msg("test JSON does not parse: %s", json);
    int rc = faults_apply_json(f, j, now, err, errlen);
    cJSON_Delete(j);
    return rc;
}

static void apply_ok(faults *f, const char *json, int64_t now)
{
    char err[256] = "";
    if (apply(f, json, now, err, sizeof err))
        fail_msg("%s refused: %s", json, err);
}

static char *dump(const faults *f, int64_t now)
{
    cJSON *j = faults_to_json(f, now);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

/* An apply that must fail with want in the message and leave everything as it was. */
static void apply_fails(faults *f, const char *json, const char *want)
{
    char err[256] = "";
    char *before = dump(f, T0);
    assert_int_equal(apply(f, json, T0 + 5, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: message '%s' does not contain '%s'", json, err, want);
    char *after = dump(f, T0);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_names(void **state)
{
    (void)state;
    for (int k = 0; k < FAULT__COUNT; k++)
        assert_int_equal(faults_kind(faults_name((fault_kind)k)), k);
    assert_string_equal(faults_name(FAULT_WS_DROP), "ws_drop");
    assert_string_equal(faults_name(FAULT_CLOCK_SKEW), "clock_skew");
    assert_int_equal(faults_kind("nope"), -1);
    assert_int_equal(faults_kind(""), -1);
    faults_free(NULL);
}

static void test_nothing_set_never_fires(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    assert_non_null(f);
    for (int k = 0; k < FAULT__COUNT; k++)
        for (int64_t t = T0; t < T0 + 5000; t += 500) {
            assert_int_equal(faults_hit(f, (fault_kind)k, t, NULL), 0);
            assert_int_equal(faults_edge(f, (fault_kind)k, t, NULL), 0);
            assert_int_equal(faults_active(f, (fault_kind)k, t, NULL), 0);
        }
    assert_int_equal(faults_hit(f, FAULT__COUNT, T0, NULL), 0);
    assert_int_equal(faults_fired(f, FAULT_WS_DROP), 0);
    faults_free(f);
}

static void test_every_with_duration(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    int64_t s = T0 + 1000; /* set a second after start: the schedule counts from here */
    key_ok(f, "ws_stall.every", "10s", s);
    key_ok(f, "ws_stall.duration", "2s", s);
    fault_params p;
    for (int64_t t = s; t < s + 10000; t += 250) {
        assert_int_equal(faults_hit(f, FAULT_WS_STALL, t, NULL), 0);
        assert_int_equal(faults_active(f, FAULT_WS_STALL, t, NULL), 0);
    }
    assert_int_equal(faults_hit(f, FAULT_WS_STALL, s + 9999, NULL), 0);
    for (int k = 1; k <= 3; k++) {
        int64_t a = s + k * 10000;
        assert_int_equal(faults_active(f, FAULT_WS_STALL, a - 1, NULL), 0);
        assert_int_equal(faults_active(f, FAULT_WS_STALL, a, &p), 1);
        assert_int_equal(p.until_ms, a + 2000);
        assert_int_equal(faults_hit(f, FAULT_WS_STALL, a + 1999, &p), 1);
        assert_int_equal(p.until_ms, a + 2000);
        assert_int_equal(faults_hit(f, FAULT_WS_STALL, a + 2000, NULL), 0);
        assert_int_equal(faults_active(f, FAULT_WS_STALL, a + 2000, NULL), 0);
    }
    faults_free(f);
}

static void test_every_edge_once_per_activation(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_ok(f, "ws_drop.every", "30s", T0);
    fault_params p;
    int fired = 0;
    /* a 20 ms server tick over 95 s: activations at 30, 60 and 90 s, one edge each */
    for (int64_t t = T0; t <= T0 + 95000; t += 20) {
        if (faults_edge(f, FAULT_WS_DROP, t, &p)) {
            fired++;
            assert_int_equal((t - T0) % 30000, 0);
            assert_int_equal(p.code, 1001);
        }
        /* duration 0: an instant that only the edge sees */
        assert_int_equal(faults_hit(f, FAULT_WS_DROP, t, NULL), 0);
    }
    assert_int_equal(fired, 3);
    assert_int_equal(faults_fired(f, FAULT_WS_DROP), 3);
    /* a server that missed two activations fires once, late */
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 155000, NULL), 1);
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 155020, NULL), 0);
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 179999, NULL), 0);
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 180000, NULL), 1);
    faults_free(f);
}

static void test_start_once(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_ok(f, "maintenance.start", "5s", T0);
    key_ok(f, "maintenance.duration", "3s", T0);
    fault_params p;
    assert_int_equal(faults_edge(f, FAULT_MAINTENANCE, T0 + 4999, NULL), 0);
    assert_int_equal(faults_active(f, FAULT_MAINTENANCE, T0 + 4999, NULL), 0);
    assert_int_equal(faults_edge(f, FAULT_MAINTENANCE, T0 + 5000, &p), 1);
    assert_int_equal(p.until_ms, T0 + 8000);
    assert_int_equal(p.status, 0); /* retCode 10016 by default */
    assert_int_equal(faults_active(f, FAULT_MAINTENANCE, T0 + 7999, &p), 1);
    assert_int_equal(p.until_ms, T0 + 8000);
    assert_int_equal(faults_active(f, FAULT_MAINTENANCE, T0 + 8000, NULL), 0);
    for (int64_t t = T0 + 5001; t < T0 + 100000; t += 1000)
        assert_int_equal(faults_edge(f, FAULT_MAINTENANCE, t, NULL), 0);
    assert_int_equal(faults_active(f, FAULT_MAINTENANCE, T0 + 100000000, NULL), 0);
    assert_int_equal(faults_hit(f, FAULT_MAINTENANCE, T0 + 100000000, NULL), 0);
    assert_int_equal(faults_fired(f, FAULT_MAINTENANCE), 1);
    faults_free(f);
}

static void test_always(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_ok(f, "http_5xx.probability", "1", T0);
    key_ok(f, "clock_skew.skew_ms", "-2500", T0);
    key_ok(f, "book_reset.probability", "1", T0);
    fault_params p;
    for (int64_t t = T0; t < T0 + 10000; t += 100) {
        assert_int_equal(faults_hit(f, FAULT_HTTP_5XX, t, &p), 1);
        assert_int_equal(p.status, 503);
        assert_int_equal(faults_active(f, FAULT_CLOCK_SKEW, t, &p), 1);
        assert_int_equal(p.skew_ms, -2500);
        assert_int_equal(p.until_ms, INT64_MAX);
    }
    assert_int_equal(faults_fired(f, FAULT_HTTP_5XX), 100);
    assert_int_equal(faults_fired(f, FAULT_CLOCK_SKEW), 0); /* active is not counted */
    /* edge of an always-active fault: at most once per second */
    int edges = 0;
    for (int64_t t = T0; t < T0 + 10000; t += 20)
        edges += faults_edge(f, FAULT_BOOK_RESET, t, NULL);
    assert_int_equal(edges, 10);
    /* before the moment it was set: nothing */
    assert_int_equal(faults_hit(f, FAULT_HTTP_5XX, T0 - 1, NULL), 0);
    faults_free(f);
}

static void test_always_with_duration_follows_edge(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_ok(f, "http_403_ban.duration", "3s", T0);
    fault_params p;
    assert_int_equal(faults_active(f, FAULT_HTTP_403_BAN, T0, NULL), 0);
    assert_int_equal(faults_edge(f, FAULT_HTTP_403_BAN, T0 + 10, &p), 1);
    assert_int_equal(p.until_ms, T0 + 3010);
    assert_int_equal(faults_active(f, FAULT_HTTP_403_BAN, T0 + 3009, &p), 1);
    assert_int_equal(p.until_ms, T0 + 3010);
    assert_int_equal(faults_active(f, FAULT_HTTP_403_BAN, T0 + 3010, NULL), 0);
    faults_free(f);
}

static void test_probability_bounds_and_rate(void **state)
{
    (void)state;
    faults *f = faults_new(42, T0);
    key_ok(f, "http_429.probability", "0", T0);
    key_ok(f, "retcode_10006.probability", "1", T0);
    key_ok(f, "retcode_10016.probability", "0.3", T0);
    key_ok(f, "ws_reset.probability", "0", T0);
    int n = 100000, hits = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(faults_hit(f, FAULT_HTTP_429, T0 + i, NULL), 0);
        assert_int_equal(faults_hit(f, FAULT_RETCODE_10006, T0 + i, NULL), 1);
        hits += faults_hit(f, FAULT_RETCODE_10016, T0 + i, NULL);
        assert_int_equal(faults_edge(f, FAULT_WS_RESET, T0 + i * 1000LL, NULL), 0);
    }
    double rate = (double)hits / n;
    if (rate < 0.29 || rate > 0.31)
        fail_msg("probability 0.3 fired at %.4f", rate);
    assert_int_equal(faults_fired(f, FAULT_RETCODE_10016), (uint64_t)hits);
    faults_free(f);
}

static void test_edge_probability_skips_activation(void **state)
{
    (void)state;
    faults *f = faults_new(7, T0);
    key_ok(f, "ws_stall.every", "10s", T0);
    key_ok(f, "ws_stall.duration", "5s", T0);
    key_ok(f, "ws_stall.probability", "0.5", T0);
    int fired = 0, skipped = 0;
    for (int k = 1; k <= 200; k++) {
        int64_t a = T0 + k * 10000LL;
        int e = faults_edge(f, FAULT_WS_STALL, a, NULL);
        /* a drawn-out activation is not active; a fired one is */
        assert_int_equal(faults_active(f, FAULT_WS_STALL, a + 100, NULL), e);
        fired += e;
        skipped += !e;
    }
    assert_true(fired > 60 && skipped > 60);
    faults_free(f);
}

static uint64_t sequence(uint64_t seed, int n)
{
    faults *f = faults_new(seed, T0);
    key_ok(f, "http_5xx.probability", "0.5", T0);
    key_ok(f, "malformed.probability", "0.5", T0);
    uint64_t bits = 0;
    for (int i = 0; i < n; i++)
        bits = bits * 3 + (uint64_t)faults_hit(f, FAULT_HTTP_5XX, T0 + i, NULL) * 2 +
               (uint64_t)faults_hit(f, FAULT_MALFORMED, T0 + i, NULL);
    faults_free(f);
    return bits;
}

static void test_determinism(void **state)
{
    (void)state;
    assert_int_equal(sequence(1, 40), sequence(1, 40));
    assert_int_equal(sequence(99, 40), sequence(99, 40));
    assert_true(sequence(1, 40) != sequence(2, 40));
    /* the kinds draw from different streams */
    faults *f = faults_new(5, T0);
    key_ok(f, "http_5xx.probability", "0.5", T0);
    key_ok(f, "malformed.probability", "0.5", T0);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += faults_hit(f, FAULT_HTTP_5XX, T0, NULL) == faults_hit(f, FAULT_MALFORMED, T0, NULL);
    assert_true(same < 64);
    /* reseeding gives the stream of a new set with that seed */
    faults *g = faults_new(1, T0);
    faults *h = faults_new(2, T0);
    faults_reseed(g, 2);
    key_ok(g, "http_429.probability", "0.5", T0);
    key_ok(h, "http_429.probability", "0.5", T0);
    for (int i = 0; i < 64; i++)
        assert_int_equal(faults_hit(g, FAULT_HTTP_429, T0, NULL),
                         faults_hit(h, FAULT_HTTP_429, T0, NULL));
    faults_free(f);
    faults_free(g);
    faults_free(h);
}

static void test_latency_jitter(void **state)
{
    (void)state;
    faults *f = faults_new(3, T0);
    key_ok(f, "rest_latency.latency_ms", "200", T0);
    key_ok(f, "rest_latency.jitter_ms", "50", T0);
    fault_params p;
    int lo = 1000, hi = 0;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(faults_hit(f, FAULT_REST_LATENCY, T0 + i, &p), 1);
        assert_int_equal(p.jitter_ms, 50);
        lo = p.latency_ms < lo ? p.latency_ms : lo;
        hi = p.latency_ms > hi ? p.latency_ms : hi;
    }
    assert_int_equal(lo, 200);
    assert_int_equal(hi, 250);
    faults_free(f);
}

static void test_set_key_errors(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_fails(f, "nope.every", "1s", "unknown fault kind 'nope'");
    key_fails(f, "ws_drop", "1s", "faults.ws_drop.KEY");
    key_fails(f, "ws_drop.often", "1s", "unknown fault key 'often'");
    key_fails(f, "ws_drop.every", "soon", "'soon' is not a duration");
    key_fails(f, "ws_drop.every", "0s", "more than 0");
    key_fails(f, "ws_drop.every", "400d", "longer than 365 days");
    key_fails(f, "ws_drop.probability", "1.5", "not from 0 to 1");
    key_fails(f, "ws_drop.probability", "-0.1", "not from 0 to 1");
    key_fails(f, "ws_drop.probability", "half", "not a number");
    key_fails(f, "ws_drop.probability", "nan", "finite");
    key_fails(f, "ws_drop.code", "999", "not from 1000 to 4999");
    key_fails(f, "ws_drop.code", "5000", "not from 1000 to 4999");
    key_fails(f, "ws_drop.code", "1001.5", "whole number");
    key_fails(f, "http_5xx.status", "499", "not from 500 to 599");
    key_fails(f, "http_5xx.status", "600", "not from 500 to 599");
    key_fails(f, "rest_latency.latency_ms", "60001", "not from 0 to 60000");
    key_fails(f, "rest_latency.jitter_ms", "-1", "not from 0 to 60000");
    key_fails(f, "clock_skew.skew_ms", "86400001", "not from -86400000 to 86400000");
    key_fails(f, "clock_skew.skew_ms", "-86400001", "not from -86400000 to 86400000");
    key_fails(f, "ws_drop.status", "503", "'status' does not apply to ws_drop");
    key_fails(f, "http_429.latency_ms", "5", "does not apply to http_429");
    /* nothing was created by the failures */
    char *s = dump(f, T0);
    assert_non_null(strstr(s, "\"faults\":{}"));
    free(s);
    key_ok(f, "ws_drop.start", "5s", T0);
    key_fails(f, "ws_drop.every", "5s", "exclude each other");
    key_ok(f, "clock_skew.skew_ms", "-86400000", T0);
    key_ok(f, "http_5xx.status", "599", T0);
    key_ok(f, "maintenance.status", "503", T0);
    faults_free(f);
}

static void test_json_apply(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    apply_ok(f,
             "{\"ws_drop\":{\"every\":\"30s\",\"code\":4000},"
             "\"ws_stall\":{\"every\":1.5,\"duration\":\"250ms\",\"probability\":1},"
             "\"rest_latency\":{\"latency_ms\":100,\"jitter_ms\":0}}",
             T0);
    fault_params p;
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 30000, &p), 1);
    assert_int_equal(p.code, 4000);
    /* a number of seconds: every 1.5 s */
    assert_int_equal(faults_active(f, FAULT_WS_STALL, T0 + 1499, NULL), 0);
    assert_int_equal(faults_active(f, FAULT_WS_STALL, T0 + 1500, &p), 1);
    assert_int_equal(p.until_ms, T0 + 1750);
    assert_int_equal(faults_hit(f, FAULT_REST_LATENCY, T0, &p), 1);
    assert_int_equal(p.latency_ms, 100);
    /* setting a kind again replaces it whole, and its schedule counts from now */
    apply_ok(f, "{\"ws_drop\":{\"start\":\"1s\"}}", T0 + 100000);
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 100999, NULL), 0);
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 101000, &p), 1);
    assert_int_equal(p.code, 1001);
    /* null removes one */
    apply_ok(f, "{\"rest_latency\":null}", T0);
    assert_int_equal(faults_hit(f, FAULT_REST_LATENCY, T0, NULL), 0);
    assert_int_equal(faults_active(f, FAULT_WS_STALL, T0 + 1500, NULL), 1);
    /* clear removes all first, then the body's kinds apply */
    apply_ok(f, "{\"http_429\":{},\"clear\":true}", T0);
    assert_int_equal(faults_active(f, FAULT_WS_STALL, T0 + 1500, NULL), 0);
    assert_int_equal(faults_hit(f, FAULT_HTTP_429, T0, NULL), 1);
    apply_ok(f, "{\"clear\":false}", T0);
    assert_int_equal(faults_hit(f, FAULT_HTTP_429, T0, NULL), 1);
    apply_ok(f, "{\"clear\":true}", T0);
    assert_int_equal(faults_hit(f, FAULT_HTTP_429, T0, NULL), 0);
    apply_ok(f, "{}", T0);
    faults_free(f);
}

static void test_json_errors_change_nothing(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    apply_ok(f, "{\"ws_drop\":{\"every\":\"30s\"},\"http_5xx\":{\"probability\":0.1}}", T0);
    apply_fails(f, "[1,2]", "must be a JSON object");
    apply_fails(f, "{\"clear\":true,\"ws_reset\":{},\"nope\":{}}", "unknown fault kind 'nope'");
    apply_fails(f, "{\"ws_drop\":null,\"http_5xx\":{\"status\":700}}",
                "http_5xx.status: 700 is not from 500 to 599");
    apply_fails(f, "{\"ws_drop\":5}", "ws_drop: must be an object");
    apply_fails(f, "{\"ws_drop\":{\"every\":true}}", "ws_drop.every: must be a number or a string");
    apply_fails(f, "{\"ws_drop\":{\"every\":-1}}", "ws_drop.every: -1 is not a duration");
    apply_fails(f, "{\"ws_drop\":{\"every\":\"1s\",\"start\":\"1s\"}}", "exclude each other");
    apply_fails(f, "{\"ws_drop\":{\"code\":1001.5}}", "whole number");
    apply_fails(f, "{\"ws_drop\":{\"probability\":2}}", "ws_drop.probability");
    apply_fails(f, "{\"clear\":1}", "clear: must be true or false");
    apply_fails(f, "{\"clock_skew\":{\"skew_ms\":1e12}}", "clock_skew.skew_ms");
    faults_free(f);
}

static void test_fired_counters_survive_clear(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    key_ok(f, "malformed.probability", "1", T0);
    for (int i = 0; i < 7; i++)
        faults_hit(f, FAULT_MALFORMED, T0, NULL);
    key_ok(f, "book_reset.every", "1s", T0);
    faults_edge(f, FAULT_BOOK_RESET, T0 + 1000, NULL);
    faults_edge(f, FAULT_BOOK_RESET, T0 + 2000, NULL);
    assert_int_equal(faults_fired(f, FAULT_MALFORMED), 7);
    assert_int_equal(faults_fired(f, FAULT_BOOK_RESET), 2);
    faults_clear(f);
    assert_int_equal(faults_hit(f, FAULT_MALFORMED, T0, NULL), 0);
    assert_int_equal(faults_fired(f, FAULT_MALFORMED), 7);
    assert_int_equal(faults_fired(f, FAULT_BOOK_RESET), 2);
    assert_int_equal(faults_fired(f, FAULT__COUNT), 0);
    faults_free(f);
}

static void test_to_json(void **state)
{
    (void)state;
    faults *f = faults_new(1, T0);
    apply_ok(f,
             "{\"ws_stall\":{\"every\":\"1m\",\"duration\":\"10s\",\"probability\":0.5},"
             "\"http_5xx\":{\"status\":502},\"clock_skew\":{\"skew_ms\":-300},"
             "\"maintenance\":{\"start\":\"1h30m\"}}",
             T0);
    faults_hit(f, FAULT_HTTP_5XX, T0, NULL);
    cJSON *j = faults_to_json(f, T0 + 60000);
    assert_non_null(j);
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(j, "faults");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(set, "ws_stall");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "every")->valuestring, "1m");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "duration")->valuestring, "10s");
    assert_true(cJSON_GetObjectItemCaseSensitive(st, "probability")->valuedouble == 0.5);
    assert_null(cJSON_GetObjectItemCaseSensitive(st, "code")); /* not a ws_stall parameter */
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(set, "http_5xx");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(h, "status")->valueint, 502);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "maintenance");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "start")->valuestring, "1h30m");
    assert_null(cJSON_GetObjectItemCaseSensitive(m, "status"));
    assert_null(cJSON_GetObjectItemCaseSensitive(set, "ws_drop"));
    const cJSON *fired = cJSON_GetObjectItemCaseSensitive(j, "fired");
    assert_int_equal(cJSON_GetArraySize(fired), FAULT__COUNT);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(fired, "http_5xx")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(fired, "ws_drop")->valueint, 0);
    /* at 60 s: ws_stall (first activation), http_5xx and clock_skew are active */
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(j, "active");
    assert_int_equal(cJSON_GetArraySize(active), 3);
    /* the "faults" object is a body POST /sim/faults takes, and gives the same settings */
    faults *g = faults_new(1, T0);
    char err[256] = "";
    assert_int_equal(faults_apply_json(g, set, T0, err, sizeof err), 0);
    char *a = dump(f, T0), *b = dump(g, T0);
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(ja, "faults"),
                              cJSON_GetObjectItemCaseSensitive(jb, "faults"), 1));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(a);
    free(b);
    cJSON_Delete(j);
    faults_free(f);
    faults_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_nothing_set_never_fires),
        cmocka_unit_test(test_every_with_duration),
        cmocka_unit_test(test_every_edge_once_per_activation),
        cmocka_unit_test(test_start_once),
        cmocka_unit_test(test_always),
        cmocka_unit_test(test_always_with_duration_follows_edge),
        cmocka_unit_test(test_probability_bounds_and_rate),
        cmocka_unit_test(test_edge_probability_skips_activation),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_latency_jitter),
        cmocka_unit_test(test_set_key_errors),
        cmocka_unit_test(test_json_apply),
        cmocka_unit_test(test_json_errors_change_nothing),
        cmocka_unit_test(test_fired_counters_survive_clear),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
