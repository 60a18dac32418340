/* rest: the request pipeline as Bybit runs it — envelope, key/time/signature checks with their
 * retCodes, rate-limit headers and 10006, routing errors, the REST faults, the IP limit — over
 * a real exchange, without sockets. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bybitsign.h"
#include "rest.h"

#define KEY    "unitkey"
#define SECRET "unit-secret"
#define T0     1800000000000

typedef struct fx {
    exch *x;
    faults *f;
    rest_ctx c;
    rest_out out;
    cJSON *j;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    exch_opts o;
    exch_opts_default(&o);
    f->x = exch_new(&o, T0);
    assert_int_equal(exch_account_add(f->x, KEY, SECRET, 1e6), 0);
    f->f = faults_new(3, T0);
    f->c.x = f->x;
    f->c.f = f->f;
    f->c.limits = ratelimit_new(1000);
    f->c.iplimits = ratelimit_new(5000);
    f->c.order_limit_per_s = 10;
    f->c.query_limit_per_s = 50;
    f->c.ip_ban_ms = 60000;
    rest_out_init(&f->out);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cJSON_Delete(f->j);
    rest_out_free(&f->out);
    ratelimit_free(f->c.limits);
    ratelimit_free(f->c.iplimits);
    faults_free(f->f);
    exch_free(f->x);
    free(f);
    return 0;
}

/* One request; signs it when key is non-NULL (ts_off shifts the timestamp, bad spoils the
 * signature). Returns the retCode (-status when not 200). */
static int req(fx *f, const char *method, const char *path, const char *query, const char *body,
               const char *key, int64_t now, int64_t ts_off, int bad)
{
    char ts[32], sign[BYBITSIGN_HEX] = "";
    snprintf(ts, sizeof ts, "%" PRId64, now + ts_off);
    int get = !strcmp(method, "GET");
    if (key)
        bybitsign_rest(SECRET, ts, key, "5000", get ? query : body, strlen(get ? query : body),
                       sign);
    if (bad)
        sign[0] = sign[0] == 'a' ? 'b' : 'a';
    rest_in in = {method,
                  path,
                  query,
                  body,
                  strlen(body),
                  "127.0.0.1",
                  key,
                  key ? ts : NULL,
                  key ? sign : NULL,
                  key ? "5000" : NULL};
    rest_out_free(&f->out);
    rest_out_init(&f->out);
    rest_handle(&f->c, &in, now, &f->out);
    cJSON_Delete(f->j);
    f->j = cJSON_Parse(f->out.body.data ? f->out.body.data : "");
    if (f->out.status != 200)
        return -f->out.status;
    assert_true(cJSON_IsObject(f->j));
    assert_non_null(cJSON_GetObjectItem(f->j, "result"));
    assert_non_null(cJSON_GetObjectItem(f->j, "retExtInfo"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(f->j, "time")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(f->j, "retMsg")));
    return cJSON_GetObjectItem(f->j, "retCode")->valueint;
}

static const char *create_body(int i, char *buf, size_t n)
{
    snprintf(buf, n,
             "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":"
             "\"Limit\",\"qty\":\"0.001\",\"price\":\"%d.0\",\"timeInForce\":\"PostOnly\","
             "\"orderLinkId\":\"u-%d\"}",
             40000 + i, i);
    return buf;
}

static void test_public_and_signed(void **state)
{
    fx *f = *state;
    char b[512];
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), 0);
    cJSON *r = cJSON_GetObjectItem(f->j, "result");
    assert_string_equal(cJSON_GetObjectItem(r, "timeSecond")->valuestring, "1800000000");
    assert_int_equal(req(f, "GET", "/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=5",
                         "", NULL, T0, 0, 0),
                     0);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(f->j, "result"), "b")), 5);
    assert_int_equal(
        req(f, "GET", "/v5/market/orderbook", "category=spot&symbol=BTCUSDT", "", NULL, T0, 0, 0),
        10001);
    /* signed create: OK, the ids, and the three rate-limit headers */
    assert_int_equal(
        req(f, "POST", "/v5/order/create", "", create_body(1, b, sizeof b), KEY, T0, 0, 0), 0);
    r = cJSON_GetObjectItem(f->j, "result");
    assert_string_equal(cJSON_GetObjectItem(r, "orderLinkId")->valuestring, "u-1");
    assert_true(strlen(cJSON_GetObjectItem(r, "orderId")->valuestring) > 8);
    assert_non_null(strstr(f->out.headers.data, "X-Bapi-Limit: 10\r\n"));
    assert_non_null(strstr(f->out.headers.data, "X-Bapi-Limit-Status: 9\r\n"));
    assert_non_null(strstr(f->out.headers.data, "X-Bapi-Limit-Reset-Timestamp: "));
    /* signed GET: the query is what is signed */
    assert_int_equal(req(f, "GET", "/v5/order/realtime", "category=linear&symbol=BTCUSDT", "", KEY,
                         T0 + 1, 0, 0),
                     0);
    r = cJSON_GetObjectItem(f->j, "result");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "list")), 1);
    assert_int_equal(
        req(f, "GET", "/v5/account/wallet-balance", "accountType=UNIFIED", "", KEY, T0 + 2, 0, 0),
        0);
    assert_int_equal(
        req(f, "GET", "/v5/position/list", "category=linear&symbol=BTCUSDT", "", KEY, T0 + 3, 0, 0),
        0);
    assert_int_equal(req(f, "POST", "/v5/order/cancel-all", "",
                         "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\"}", KEY, T0 + 4, 0, 0),
                     0);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(f->j, "result"), "list")), 1);
    assert_int_equal(req(f, "POST", "/v5/order/disconnected-cancel-all", "",
                         "{\"timeWindow\":10,\"product\":\"DERIVATIVES\"}", KEY, T0 + 5, 0, 0),
                     0);
    assert_int_equal(req(f, "POST", "/v5/order/disconnected-cancel-all", "", "{\"timeWindow\":1}",
                         KEY, T0 + 6, 0, 0),
                     10001);
}

static void test_auth_errors(void **state)
{
    fx *f = *state;
    char b[512];
    create_body(2, b, sizeof b);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, NULL, T0, 0, 0), 10003);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, "nosuchkey", T0, 0, 0), 10003);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, KEY, T0, -6000, 0), 10002);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, KEY, T0, +1000, 0), 10002);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, KEY, T0, -4999, 0), 0);
    assert_int_equal(req(f, "POST", "/v5/order/create", "", b, KEY, T0, 0, 1), 10004);
    /* a signature over another body does not pass */
    assert_int_equal(req(f, "POST", "/v5/order/create", "", "{not json", KEY, T0, 0, 0), 10001);
    assert_int_equal(req(f, "GET", "/v5/order/create", "", "", NULL, T0, 0, 0), -405);
    assert_int_equal(req(f, "GET", "/v5/nope", "", "", NULL, T0, 0, 0), -404);
    /* secrets never appear in replies */
    assert_null(strstr(f->out.body.data, SECRET));
}

static void test_rate_limit(void **state)
{
    fx *f = *state;
    char b[512];
    for (int i = 0; i < 10; i++)
        assert_int_equal(req(f, "POST", "/v5/order/create", "", create_body(10 + i, b, sizeof b),
                             KEY, T0 + i, 0, 0),
                         0);
    assert_int_equal(
        req(f, "POST", "/v5/order/create", "", create_body(30, b, sizeof b), KEY, T0 + 20, 0, 0),
        10006);
    assert_non_null(strstr(f->out.headers.data, "X-Bapi-Limit-Status: 0\r\n"));
    /* another endpoint has its own budget */
    assert_int_equal(req(f, "POST", "/v5/order/cancel-all", "",
                         "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\"}", KEY, T0 + 21, 0, 0),
                     0);
    /* two seconds later the window has rolled */
    assert_int_equal(
        req(f, "POST", "/v5/order/create", "", create_body(31, b, sizeof b), KEY, T0 + 2100, 0, 0),
        0);
}

static void test_batch(void **state)
{
    fx *f = *state;
    const char *batch = "{\"category\":\"linear\",\"request\":["
                        "{\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":\"Limit\","
                        "\"qty\":\"0.001\",\"price\":\"40000.0\",\"orderLinkId\":\"b1\"},"
                        "{\"symbol\":\"BTCUSDT\",\"side\":\"Up\",\"orderType\":\"Limit\","
                        "\"qty\":\"0.001\",\"price\":\"40000.0\"}]}";
    assert_int_equal(req(f, "POST", "/v5/order/create-batch", "", batch, KEY, T0, 0, 0), 0);
    cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(f->j, "result"), "list");
    cJSON *ext = cJSON_GetObjectItem(cJSON_GetObjectItem(f->j, "retExtInfo"), "list");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_int_equal(cJSON_GetArraySize(ext), 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ext, 0), "code")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ext, 1), "code")->valueint, 10001);
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"category\":\"linear\",\"request\":[");
    for (int i = 0; i < 11; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"symbol\":\"BTCUSDT\"}", i ? "," : "");
    snprintf(big + n, sizeof big - n, "]}");
    assert_int_equal(req(f, "POST", "/v5/order/create-batch", "", big, KEY, T0 + 1, 0, 0), 10001);
}

static void set_fault(fx *f, const char *json)
{
    char err[256];
    cJSON *j = cJSON_Parse(json);
    if (faults_apply_json(f->f, j, T0, err, sizeof err))
        fail_msg("%s: %s", json, err);
    cJSON_Delete(j);
}

static void test_faults(void **state)
{
    fx *f = *state;
    char b[512];
    set_fault(f, "{\"http_429\":{}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), -429);
    set_fault(f, "{\"clear\":true,\"http_5xx\":{\"status\":502}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), -502);
    set_fault(f, "{\"clear\":true,\"retcode_10016\":{}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), 10016);
    set_fault(f, "{\"clear\":true,\"retcode_10006\":{}}");
    assert_int_equal(
        req(f, "POST", "/v5/order/create", "", create_body(40, b, sizeof b), KEY, T0, 0, 0), 10006);
    set_fault(f, "{\"clear\":true,\"maintenance\":{}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), 10016);
    set_fault(f, "{\"clear\":true,\"http_403_ban\":{}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), -403);
    set_fault(f, "{\"clear\":true,\"rest_latency\":{\"latency_ms\":250}}");
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), 0);
    assert_int_equal(f->out.delay_ms, 250);
    /* clock skew: the server is an hour ahead, a correct client's timestamp is too old */
    set_fault(f, "{\"clear\":true,\"clock_skew\":{\"skew_ms\":3600000}}");
    assert_int_equal(
        req(f, "POST", "/v5/order/create", "", create_body(41, b, sizeof b), KEY, T0, 0, 0), 10002);
    faults_clear(f->f);
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0, 0, 0), 0);
}

static void test_ip_limit(void **state)
{
    fx *f = *state;
    f->c.ip_limit_per_5s = 5;
    for (int i = 0; i < 5; i++)
        assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0 + i, 0, 0), 0);
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0 + 10, 0, 0), -403);
    assert_string_equal(f->out.body.data, "access too frequent");
    /* banned for ip_ban_ms, even once the window has passed */
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0 + 30000, 0, 0), -403);
    assert_int_equal(req(f, "GET", "/v5/market/time", "", "", NULL, T0 + 61000, 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_public_and_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
