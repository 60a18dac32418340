/* sim: the WebSocket side and the /sim endpoints with a fake transport — ping replies in both
 * formats, subscribe acks with a snapshot then deltas, bad topics, private auth and order
 * events, /v5/trade order entry with duplicate reqIds, idle and fault closes, maintenance
 * refusals, a slow consumer, /sim/orders, /sim/reset and /metrics. */
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
#include "sim.h"

#define KEY    "simkey"
#define SECRET "sim-secret"
#define T0     1800000000000

/* A fake connection: what was sent to it, and how it was closed. */
typedef struct fconn {
    char *msgs[4096];
    int n;
    int closed_code, reset, full;
} fconn;

static int f_send(void *h, const char *m, size_t n)
{
    fconn *c = h;
    if (c->full)
        return -1;
    if (c->n < 4096)
        c->msgs[c->n++] = strndup(m, n);
    return 0;
}
static size_t f_queued(void *h)
{
    (void)h;
    return 0;
}
static void f_close(void *h, int code, const char *r)
{
    (void)r;
    ((fconn *)h)->closed_code = code;
}
static void f_reset(void *h)
{
    ((fconn *)h)->reset = 1;
}

static void fc_clear(fconn *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->msgs[i]);
    c->n = 0;
}

/* The first message holding needle, or NULL. */
static const char *find(const fconn *c, const char *needle)
{
    for (int i = 0; i < c->n; i++)
        if (strstr(c->msgs[i], needle))
            return c->msgs[i];
    return NULL;
}

static int count(const fconn *c, const char *needle)
{
    int k = 0;
    for (int i = 0; i < c->n; i++)
        k += strstr(c->msgs[i], needle) != NULL;
    return k;
}

static faults *F;

static sim *mk(unsigned max_conns)
{
    char err[256];
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    exch_opts_default(&cfg.market);
    cfg.market.seed = 11;
    cfg.order_limit_per_s = 10;
    cfg.query_limit_per_s = 50;
    cfg.ws_idle_ms = 10000;
    cfg.ws_max_conns = max_conns;
    cfg.ws_max_topics = 4;
    cfg.ws_max_queue = 1 << 20;
    sim_io io = {f_send, f_queued, f_close, f_reset};
    F = faults_new(5, T0);
    sim *s = sim_new(&cfg, F, &io, T0, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(sim_add_account(s, KEY, SECRET, 1e6), 0);
    return s;
}

static void done(sim *s)
{
    sim_free(s);
    faults_free(F);
}

static void say(sim *s, sim_conn *c, const char *m, int64_t now)
{
    sim_ws_message(s, c, m, strlen(m), now);
}

static void test_public(void **state)
{
    (void)state;
    sim *s = mk(10);
    fconn fc = {0};
    assert_null(sim_ws_open(s, &fc, "/v5/nope", "", T0));
    sim_conn *c = sim_ws_open(s, &fc, "/v5/public/linear", "", T0);
    assert_non_null(c);
    say(s, c, "{\"req_id\":\"p1\",\"op\":\"ping\"}", T0);
    assert_non_null(find(&fc, "\"success\":true,\"ret_msg\":\"pong\""));
    assert_non_null(find(&fc, "\"req_id\":\"p1\",\"op\":\"ping\""));
    say(s, c, "{\"req_id\":\"s1\",\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT\"]}", T0);
    assert_non_null(find(&fc, "\"success\":true,\"ret_msg\":\"\""));
    const char *snap = find(&fc, "\"type\":\"snapshot\"");
    assert_non_null(snap);
    cJSON *j = cJSON_Parse(snap);
    unsigned u0 = (unsigned)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "u")->valuedouble;
    cJSON_Delete(j);
    fc_clear(&fc);
    for (int i = 1; i <= 100; i++)
        sim_tick(s, T0 + 20 * i);
    int deltas = 0;
    unsigned want = u0 + 1;
    for (int i = 0; i < fc.n; i++) {
        cJSON *m = cJSON_Parse(fc.msgs[i]);
        assert_non_null(m);
        if (!strcmp(cJSON_GetObjectItem(m, "topic")->valuestring, "orderbook.50.BTCUSDT")) {
            assert_string_equal(cJSON_GetObjectItem(m, "type")->valuestring, "delta");
            assert_int_equal(
                (unsigned)cJSON_GetObjectItem(cJSON_GetObjectItem(m, "data"), "u")->valuedouble,
                want++);
            deltas++;
        }
        cJSON_Delete(m);
    }
    assert_true(deltas > 10);
    /* a bad topic changes nothing; an unknown op and garbage get errors; the conn lives on */
    fc_clear(&fc);
    say(s, c, "{\"op\":\"subscribe\",\"args\":[\"publicTrade.BTCUSDT\",\"orderbook.7.BTCUSDT\"]}",
        T0 + 2100);
    assert_non_null(find(&fc, "\"success\":false"));
    assert_non_null(find(&fc, "orderbook.7.BTCUSDT"));
    say(s, c, "{\"op\":\"fly\"}", T0 + 2100);
    say(s, c, "garbage", T0 + 2100);
    say(s, c, "[1,2]", T0 + 2100);
    assert_int_equal(count(&fc, "\"success\":false"), 4);
    assert_int_equal(fc.closed_code, 0);
    /* too many topics on one connection (ws_max_topics 4) */
    say(s, c,
        "{\"op\":\"subscribe\",\"args\":[\"orderbook.1.BTCUSDT\",\"orderbook.200.BTCUSDT\","
        "\"orderbook.500.BTCUSDT\",\"publicTrade.BTCUSDT\"]}",
        T0 + 2100);
    assert_int_equal(count(&fc, "\"success\":false"), 5);
    /* idle: nothing from the client for ws_idle_ms */
    sim_tick(s, T0 + 2100 + 10001);
    assert_int_equal(fc.closed_code, 1000);
    sim_ws_close(s, c, T0 + 13000);
    fc_clear(&fc);
    done(s);
}

static void auth(sim *s, sim_conn *c, int64_t now, const char *secret)
{
    char sig[BYBITSIGN_HEX], m[300];
    bybitsign_ws(secret, now + 5000, sig);
    snprintf(m, sizeof m, "{\"op\":\"auth\",\"args\":[\"%s\",%" PRId64 ",\"%s\"]}", KEY, now + 5000,
             sig);
    say(s, c, m, now);
}

static void test_private_and_trade(void **state)
{
    (void)state;
    sim *s = mk(10);
    fconn pv = {0}, tr = {0};
    sim_conn *p = sim_ws_open(s, &pv, "/v5/private", "max_active_time=60s", T0);
    assert_non_null(p);
    assert_null(sim_ws_open(s, &pv, "/v5/private", "max_active_time=5s", T0));
    say(s, p, "{\"op\":\"subscribe\",\"args\":[\"order\"]}", T0);
    assert_non_null(find(&pv, "Request not authorized"));
    auth(s, p, T0, "wrong");
    assert_non_null(find(&pv, "\"success\":false,\"ret_msg\":\"Invalid sign\""));
    auth(s, p, T0, SECRET);
    assert_non_null(find(&pv, "\"success\":true,\"ret_msg\":\"\",\"conn_id\""));
    say(s, p, "{\"req_id\":\"x\",\"op\":\"ping\"}", T0);
    assert_non_null(find(&pv, "\"op\":\"pong\",\"args\":[\""));
    say(s, p, "{\"op\":\"subscribe\",\"args\":[\"order\",\"execution\",\"position\",\"wallet\"]}",
        T0);
    fc_clear(&pv);

    sim_conn *t = sim_ws_open(s, &tr, "/v5/trade", "", T0);
    assert_non_null(t);
    auth(s, t, T0, SECRET);
    const char *create = "{\"reqId\":\"r1\",\"header\":{\"X-BAPI-TIMESTAMP\":\"1800000000000\","
                         "\"X-BAPI-RECV-WINDOW\":\"8000\"},\"op\":\"order.create\",\"args\":[{"
                         "\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\","
                         "\"orderType\":\"Limit\",\"qty\":\"0.001\",\"price\":\"40000.0\","
                         "\"timeInForce\":\"PostOnly\",\"orderLinkId\":\"t-1\"}]}";
    say(s, t, create, T0 + 1);
    assert_non_null(
        find(&tr, "\"reqId\":\"r1\",\"retCode\":0,\"retMsg\":\"OK\",\"op\":\"order.create\""));
    assert_non_null(find(&tr, "\"X-Bapi-Limit\":\"10\""));
    say(s, t, create, T0 + 2);
    assert_non_null(find(&tr, "\"retCode\":20006"));
    sim_tick(s, T0 + 20);
    /* the order on the private stream */
    const char *o = find(&pv, "\"topic\":\"order\"");
    assert_non_null(o);
    assert_non_null(strstr(o, "\"orderLinkId\":\"t-1\""));
    assert_non_null(strstr(o, "\"orderStatus\":\"New\""));
    /* /sim/orders shows it; cancel over /v5/trade; then it is gone */
    rest_out out;
    rest_in in = {"GET", "/sim/orders", "account=" KEY, "", 0, "127.0.0.1", NULL, NULL, NULL, NULL};
    rest_out_init(&out);
    sim_http(s, &in, T0 + 30, &out);
    assert_int_equal(out.status, 200);
    assert_non_null(strstr(out.body.data, "\"count\":1"));
    say(s, t,
        "{\"reqId\":\"r2\",\"op\":\"order.cancel\",\"args\":[{\"category\":\"linear\","
        "\"symbol\":\"BTCUSDT\",\"orderLinkId\":\"t-1\"}]}",
        T0 + 40);
    assert_non_null(find(&tr, "\"reqId\":\"r2\",\"retCode\":0"));
    /* without a symbol: 10001 with its text (it once said "OK") */
    say(s, t,
        "{\"reqId\":\"r3\",\"op\":\"order.cancel\",\"args\":[{\"category\":\"linear\","
        "\"orderLinkId\":\"t-1\"}]}",
        T0 + 45);
    assert_non_null(find(
        &tr, "\"reqId\":\"r3\",\"retCode\":10001,\"retMsg\":\"params error: symbol invalid\""));
    sim_tick(s, T0 + 60);
    assert_non_null(find(&pv, "\"orderStatus\":\"Cancelled\""));
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &in, T0 + 70, &out);
    assert_non_null(strstr(out.body.data, "\"count\":0"));
    /* metrics and stats */
    rest_in mi = {"GET", "/metrics", "", "", 0, "127.0.0.1", NULL, NULL, NULL, NULL};
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &mi, T0 + 80, &out);
    assert_non_null(strstr(out.body.data, "bybit_sim_ws_connections{kind=\"private\"} 1\n"));
    assert_non_null(strstr(out.body.data, "# TYPE bybit_sim_orders_created_total counter"));
    assert_null(strstr(out.body.data, SECRET));
    /* /sim/stats: the orders, and no status change the lifecycle table refused */
    rest_in si = {"GET", "/sim/stats", "", "", 0, "127.0.0.1", NULL, NULL, NULL, NULL};
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &si, T0 + 90, &out);
    assert_int_equal(out.status, 200);
    assert_non_null(strstr(out.body.data, "\"created\":1,"));
    assert_non_null(strstr(out.body.data, "\"cancelled\":1,"));
    assert_non_null(strstr(out.body.data, "\"refused_transitions\":0"));
    rest_out_free(&out);
    sim_ws_close(s, p, T0 + 100);
    sim_ws_close(s, t, T0 + 100);
    fc_clear(&pv);
    fc_clear(&tr);
    done(s);
}

static void test_faults_and_limits(void **state)
{
    (void)state;
    sim *s = mk(2);
    fconn a = {0}, b = {0}, c3 = {0};
    sim_conn *ca = sim_ws_open(s, &a, "/v5/public/linear", "", T0);
    sim_conn *cb = sim_ws_open(s, &b, "/v5/public/linear", "", T0);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_null(sim_ws_open(s, &c3, "/v5/public/linear", "", T0)); /* ws_max_conns 2 */
    /* a drop fault every second closes both with its code */
    rest_in in = {"POST", "/sim/faults", "",   "{\"ws_drop\":{\"every\":\"1s\",\"code\":4000}}",
                  0,      "127.0.0.1",   NULL, NULL,
                  NULL,   NULL};
    in.body_len = strlen(in.body);
    rest_out out;
    rest_out_init(&out);
    sim_http(s, &in, T0, &out);
    assert_int_equal(out.status, 200);
    for (int i = 1; i <= 60; i++)
        sim_tick(s, T0 + 20 * i);
    assert_int_equal(a.closed_code, 4000);
    assert_int_equal(b.closed_code, 4000);
    sim_ws_close(s, ca, T0 + 1300);
    sim_ws_close(s, cb, T0 + 1300);
    /* maintenance refuses new connections */
    in.body = "{\"clear\":true,\"maintenance\":{}}";
    in.body_len = strlen(in.body);
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &in, T0 + 1300, &out);
    assert_int_equal(out.status, 200);
    assert_null(sim_ws_open(s, &a, "/v5/public/linear", "", T0 + 1400));
    /* a bad fault body is refused with 400 and changes nothing */
    in.body = "{\"ws_drop\":{\"every\":\"soon\"}}";
    in.body_len = strlen(in.body);
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &in, T0 + 1400, &out);
    assert_int_equal(out.status, 400);
    /* reset clears faults: connections are accepted again */
    rest_in rs = {"POST", "/sim/reset", "", "", 0, "127.0.0.1", NULL, NULL, NULL, NULL};
    rest_out_free(&out);
    rest_out_init(&out);
    sim_http(s, &rs, T0 + 1500, &out);
    assert_int_equal(out.status, 200);
    ca = sim_ws_open(s, &a, "/v5/public/linear", "", T0 + 1600);
    assert_non_null(ca);
    /* a slow consumer: its queue refuses, the sim closes it with 1008 */
    a.full = 1;
    say(s, ca, "{\"op\":\"ping\"}", T0 + 1600);
    assert_int_equal(a.closed_code, 1008);
    sim_ws_close(s, ca, T0 + 1700);
    rest_out_free(&out);
    fc_clear(&a);
    fc_clear(&b);
    done(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_private_and_trade),
        cmocka_unit_test(test_faults_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
