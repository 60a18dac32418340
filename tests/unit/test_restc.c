/* restc: against bybit-sim run in-process (sim + wsrv on the test's own loop, an ephemeral
 * port): a signed create, query and cancel; pacing with no 10006; faults classified (429, 5xx,
 * latency, timeout, 403 ban, fatal codes); the pool bound; the body cap; the queue cap; close
 * with requests in flight; the classification table. The secret never shows in what the test
 * captures (bodies, metrics, messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <uv.h>

#include "errcode.h"
#include "faults.h"
#include "restc.h"
#include "sbuf.h"
#include "sim.h"
#include "simserve.h"
#include "wsrv.h"

#define KEY    "restc-key"
#define SECRET "restc-very-secret-0123456789"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the simulator on our loop (simserve, as bybit-sim serves it) ---- */

typedef struct harness {
    uv_loop_t loop;
    simserve *v;
    sim *s;
    faults *f;
    char url[64];
    sbuf captured; /* every body and metrics text the client handed us */
} harness;

/* Requests the server saw, and the high-water mark of replies the latency fault held. */
static uint64_t h_requests(const harness *h)
{
    simserve_stats st;
    simserve_stats_get(h->v, &st);
    return st.requests;
}

static unsigned h_held_max(const harness *h)
{
    simserve_stats st;
    simserve_stats_get(h->v, &st);
    return st.held_max;
}

static harness *h_start(void)
{
    char err[256];
    harness *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    h->loop.data = h;
    sbuf_init(&h->captured, 64u << 20);
    h->f = faults_new(7, now_ms());
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    exch_opts_default(&cfg.market);
    cfg.market.seed = 3;
    cfg.market.taker_per_s = 0;
    cfg.order_limit_per_s = 10;
    cfg.query_limit_per_s = 50;
    cfg.ws_idle_ms = 60000;
    cfg.ws_max_conns = 4;
    cfg.ws_max_topics = 4;
    cfg.ws_max_queue = 1 << 20;
    h->s = sim_new(&cfg, h->f, &simserve_io, now_ms(), err, sizeof err);
    assert_non_null(h->s);
    assert_int_equal(sim_add_account(h->s, KEY, SECRET, 1e6), 0);
    wsrv_opts wo = {64 * 1024, 64 * 1024, 1 << 20};
    h->v = simserve_start(&h->loop, h->s, "127.0.0.1:0", &wo, 0, err, sizeof err);
    assert_non_null(h->v);
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d", simserve_port(h->v));
    return h;
}

static void h_faults(harness *h, const char *json)
{
    char err[256];
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    int rc = faults_apply_json(h->f, j, now_ms(), err, sizeof err);
    cJSON_Delete(j);
    if (rc)
        fail_msg("faults: %s", err);
}

static void h_stop(harness *h)
{
    simserve_stop(h->v); /* answers what the latency fault holds, as bybit-sim does on stop */
    uv_run(&h->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&h->loop);
    if (rc)
        uv_print_all_handles(&h->loop, stderr);
    assert_int_equal(rc, 0);
    /* nothing the client handed over ever holds the secret */
    assert_null(strstr(h->captured.data ? h->captured.data : "", SECRET));
    sbuf_free(&h->captured);
    sim_free(h->s);
    faults_free(h->f);
    free(h);
}

/* ---- the client side ---- */

#define MAXRES 64

typedef struct got {
    restc_result r;
    char body[2048];
} got;

typedef struct ctx {
    harness *h;
    got res[MAXRES];
    int n;
    int want;
} ctx;

static void on_result(void *ud, const restc_result *res)
{
    ctx *c = ud;
    assert_true(c->n < MAXRES);
    got *g = &c->res[c->n++];
    g->r = *res;
    snprintf(g->body, sizeof g->body, "%.*s", (int)res->body_len, res->body);
    g->r.body = g->body;
    sbuf_add(&c->h->captured, res->body, res->body_len);
    if (c->n >= c->want)
        uv_stop(&c->h->loop);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop until c->want results arrived or ms passed. */
static void run_for(ctx *c, int want, uint64_t ms)
{
    c->want = want;
    uv_timer_t t;
    uv_timer_init(&c->h->loop, &t);
    uv_timer_start(&t, on_deadline, ms, 0);
    if (c->n < want)
        uv_run(&c->h->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&c->h->loop, UV_RUN_NOWAIT);
    assert_int_equal(c->n, want);
}

static restc *client(harness *h, restc_config *cfg)
{
    char err[256];
    restc_config d;
    if (!cfg) {
        restc_config_default(&d);
        cfg = &d;
    }
    cfg->base_url = h->url;
    if (!cfg->api_key) {
        cfg->api_key = KEY;
        cfg->api_secret = SECRET;
    }
    cfg->seed = 5;
    restc *r = restc_new(&h->loop, cfg, err, sizeof err);
    if (!r)
        fail_msg("restc_new: %s", err);
    return r;
}

static void done_client(harness *h, restc *r)
{
    sbuf m;
    sbuf_init(&m, 1 << 20);
    assert_int_equal(restc_metrics(r, &m, 1), 0);
    sbuf_add(&h->captured, m.data, m.len);
    sbuf_free(&m);
    restc_close(r);
    uv_run(&h->loop, UV_RUN_NOWAIT);
}

static void create_body(char *out, size_t n, const char *link, const char *price)
{
    snprintf(out, n,
             "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":"
             "\"Limit\",\"qty\":\"0.001\",\"price\":\"%s\",\"timeInForce\":\"PostOnly\","
             "\"orderLinkId\":\"%s\"}",
             price, link);
}

static void test_round_trip(void **state)
{
    (void)state;
    harness *h = h_start();
    restc *r = client(h, NULL);
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "mm-1-1", "50000.0");
    uint64_t id;
    assert_int_equal(
        restc_post(r, "/v5/order/create", body, RESTC_SIGNED | RESTC_MUTATES, on_result, &c, &id),
        0);
    assert_int_equal(c.n, 0); /* never called back from inside the submit */
    run_for(&c, 1, 5000);
    restc_result *x = &c.res[0].r;
    assert_int_equal(x->id, id);
    assert_int_equal(x->cls, RESTC_OK);
    assert_int_equal(x->http_status, 200);
    assert_int_equal(x->ret_code, 0);
    assert_int_equal(x->err, 0);
    assert_int_equal(x->sent, 1);
    assert_int_equal(x->limit, 10);
    assert_int_equal(x->limit_status, 9);
    assert_true(x->limit_reset_ms > now_ms() - 2000);
    assert_non_null(strstr(x->body, "\"orderLinkId\":\"mm-1-1\""));

    /* the query carries the order; the signed GET signs the query as sent */
    assert_int_equal(restc_get(r, "/v5/order/realtime",
                               "category=linear&symbol=BTCUSDT&orderLinkId=mm-1-1", RESTC_SIGNED,
                               on_result, &c, NULL),
                     0);
    run_for(&c, 2, 5000);
    assert_int_equal(c.res[1].r.cls, RESTC_OK);
    assert_non_null(strstr(c.res[1].body, "\"orderLinkId\":\"mm-1-1\""));
    assert_non_null(strstr(c.res[1].body, "\"orderStatus\":\"New\""));

    assert_int_equal(
        restc_post(r, "/v5/order/cancel",
                   "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"orderLinkId\":\"mm-1-1\"}",
                   RESTC_SIGNED | RESTC_MUTATES, on_result, &c, NULL),
        0);
    /* a public request: no signature, not paced */
    assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, &c, NULL), 0);
    run_for(&c, 4, 5000);
    for (int i = 2; i < 4; i++)
        assert_int_equal(c.res[i].r.cls, RESTC_OK);
    /* cancelling it again: the exchange says no: rejected, not retried */
    assert_int_equal(
        restc_post(r, "/v5/order/cancel",
                   "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"orderLinkId\":\"mm-1-1\"}",
                   RESTC_SIGNED | RESTC_MUTATES | RESTC_RETRY, on_result, &c, NULL),
        0);
    run_for(&c, 5, 5000);
    assert_int_equal(c.res[4].r.cls, RESTC_REJECTED);
    assert_int_equal(c.res[4].r.ret_code, 110008); /* already cancelled */
    assert_int_equal(c.res[4].r.attempts, 1);

    restc_stats st;
    restc_get_stats(r, &st);
    assert_int_equal(st.lat_count, 5);
    assert_int_equal(st.by_class[RESTC_OK], 4);
    assert_int_equal(st.waiting, 0);
    sbuf m;
    sbuf_init(&m, 1 << 16);
    assert_int_equal(restc_metrics(r, &m, 1), 0);
    assert_non_null(strstr(m.data, "# TYPE latency_ms histogram\n"));
    assert_non_null(strstr(m.data, "latency_ms_count{stage=\"rest\"} 5\n"));
    assert_non_null(strstr(m.data, "latency_ms_bucket{stage=\"rest\",le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(m.data, "\nhttp_pool_requests_waiting 0\n"));
    assert_non_null(strstr(m.data, "rest_requests_total{class=\"rejected\"} 1\n"));
    sbuf_free(&m);
    done_client(h, r);
    h_stop(h);
}

/* 30 creates at once against a limit of 10/s: held, never answered 10006, all done. */
static void test_pacing(void **state)
{
    (void)state;
    harness *h = h_start();
    restc *r = client(h, NULL);
    ctx c = {.h = h};
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 30; i++) {
        char body[512], link[32], price[32];
        snprintf(link, sizeof link, "pace-%d", i);
        snprintf(price, sizeof price, "%d.0", 50000 - i);
        create_body(body, sizeof body, link, price);
        assert_int_equal(restc_post(r, "/v5/order/create", body, RESTC_SIGNED | RESTC_MUTATES,
                                    on_result, &c, NULL),
                         0);
    }
    restc_stats st;
    restc_get_stats(r, &st);
    assert_int_equal(st.waiting, 30);
    run_for(&c, 30, 20000);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    int n10006 = 0, ok = 0;
    for (int i = 0; i < 30; i++) {
        n10006 += c.res[i].r.ret_code == 10006;
        ok += c.res[i].r.cls == RESTC_OK;
    }
    assert_int_equal(n10006, 0);
    assert_int_equal(ok, 30);
    assert_true(secs > 1.5); /* 30 at 10/s cannot be faster than two windows */
    restc_get_stats(r, &st);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.waiting_max, 30);
    print_message("pacing: 30 creates in %.2f s, no 10006\n", secs);
    done_client(h, r);
    h_stop(h);
}

static void one(harness *h, restc *r, ctx *c, int post, const char *path, const char *data,
                unsigned flags)
{
    int n = c->n;
    int rc = post ? restc_post(r, path, data, flags, on_result, c, NULL)
                  : restc_get(r, path, data, flags, on_result, c, NULL);
    assert_int_equal(rc, 0);
    run_for(c, n + 1, 10000);
    (void)h;
}

#define CREATE_FLAGS (RESTC_SIGNED | RESTC_MUTATES)
#define REALTIME     "category=linear&symbol=BTCUSDT"

static void test_faults(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.retry_base_ms = 20;
    cfg.retry_cap_ms = 40;
    restc *r = client(h, &cfg);
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "f-1", "50000.0");

    h_faults(h, "{\"http_429\":{}}");
    one(h, r, &c, 0, "/v5/order/realtime", REALTIME, RESTC_SIGNED);
    assert_int_equal(c.res[0].r.http_status, 429);
    assert_int_equal(c.res[0].r.cls, RESTC_RETRYABLE);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[1].r.cls, RESTC_AMBIGUOUS);
    /* retried with backoff: 1 + retry_max attempts, then handed back */
    uint64_t before = h_requests(h);
    one(h, r, &c, 0, "/v5/market/time", NULL, RESTC_RETRY);
    assert_int_equal(c.res[2].r.cls, RESTC_RETRYABLE);
    assert_int_equal(c.res[2].r.attempts, 4);
    assert_int_equal(h_requests(h) - before, 4);
    /* an ambiguous create is never retried, whatever the flag says */
    before = h_requests(h);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS | RESTC_RETRY);
    assert_int_equal(c.res[3].r.cls, RESTC_AMBIGUOUS);
    assert_int_equal(c.res[3].r.attempts, 1);
    assert_int_equal(h_requests(h) - before, 1);

    h_faults(h, "{\"clear\":true,\"http_5xx\":{\"status\":502}}");
    one(h, r, &c, 0, "/v5/market/time", NULL, 0);
    assert_int_equal(c.res[4].r.http_status, 502);
    assert_int_equal(c.res[4].r.cls, RESTC_RETRYABLE);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[5].r.cls, RESTC_AMBIGUOUS);

    h_faults(h, "{\"clear\":true,\"retcode_10016\":{}}");
    one(h, r, &c, 0, "/v5/order/realtime", REALTIME, RESTC_SIGNED);
    assert_int_equal(c.res[6].r.ret_code, 10016);
    assert_int_equal(c.res[6].r.cls, RESTC_RETRYABLE);

    /* latency: answered, and the elapsed time shows it */
    h_faults(h, "{\"clear\":true,\"rest_latency\":{\"latency_ms\":300}}");
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[7].r.cls, RESTC_OK);
    assert_true(c.res[7].r.elapsed_ms >= 290);

    /* without faults a retryable request is answered at its first attempt */
    h_faults(h, "{\"clear\":true}");
    one(h, r, &c, 0, "/v5/market/time", NULL, RESTC_RETRY);
    assert_int_equal(c.res[8].r.cls, RESTC_OK);
    assert_int_equal(c.res[8].r.attempts, 1);
    done_client(h, r);
    h_stop(h);
}

static void test_timeout_ambiguous(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.request_timeout_ms = 200;
    restc *r = client(h, &cfg);
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "t-1", "50000.0");
    h_faults(h, "{\"rest_latency\":{\"latency_ms\":1000}}");
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[0].r.err, ERR_TIMEOUT);
    assert_int_equal(c.res[0].r.sent, 1);
    assert_int_equal(c.res[0].r.http_status, 0);
    assert_int_equal(c.res[0].r.cls, RESTC_AMBIGUOUS);
    one(h, r, &c, 0, "/v5/order/realtime", REALTIME, RESTC_SIGNED);
    assert_int_equal(c.res[1].r.err, ERR_TIMEOUT);
    assert_int_equal(c.res[1].r.cls, RESTC_RETRYABLE);
    done_client(h, r);
    h_stop(h);
}

static void test_ban(void **state)
{
    (void)state;
    harness *h = h_start();
    restc *r = client(h, NULL);
    ctx c = {.h = h};
    h_faults(h, "{\"http_403_ban\":{\"start\":\"0s\",\"duration\":\"30s\"}}");
    int64_t t = now_ms();
    one(h, r, &c, 0, "/v5/order/realtime", REALTIME, RESTC_SIGNED);
    assert_int_equal(c.res[0].r.http_status, 403);
    assert_int_equal(c.res[0].r.cls, RESTC_BAN);
    assert_true(c.res[0].r.ban_until_ms >= t + 600000);
    int64_t until;
    char why[200];
    assert_int_equal(restc_banned(r, now_ms(), &until, why, sizeof why), 1);
    assert_int_equal(until, c.res[0].r.ban_until_ms);
    assert_string_equal(why, "http 403 on /v5/order/realtime: access too frequent");
    /* while banned nothing leaves: the next request fails at once, unsent */
    uint64_t before = h_requests(h);
    one(h, r, &c, 0, "/v5/market/time", NULL, RESTC_RETRY);
    assert_int_equal(c.res[1].r.cls, RESTC_BAN);
    assert_int_equal(c.res[1].r.err, ERR_BUSY);
    assert_int_equal(c.res[1].r.sent, 0);
    assert_int_equal(h_requests(h), before);
    assert_int_equal(restc_banned(r, until, NULL, NULL, 0), 0);
    done_client(h, r);
    h_stop(h);
}

/* limit_per_host 2 with slow replies: never more than 2 at the server, the rest wait. */
static void test_pool_bound(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.limit_per_host = 2;
    restc *r = client(h, &cfg);
    ctx c = {.h = h};
    h_faults(h, "{\"rest_latency\":{\"latency_ms\":200}}");
    for (int i = 0; i < 8; i++)
        assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, &c, NULL), 0);
    uint64_t t0 = uv_hrtime();
    run_for(&c, 8, 10000);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    for (int i = 0; i < 8; i++)
        assert_int_equal(c.res[i].r.cls, RESTC_OK);
    assert_int_equal(h_held_max(h), 2);
    restc_stats st;
    restc_get_stats(r, &st);
    assert_true(st.waiting_max >= 6);
    assert_int_equal(st.in_flight_max, 8); /* handed to curl, which holds them for a connection */
    assert_true(secs >= 0.75);             /* four rounds of 200 ms */
    done_client(h, r);
    h_stop(h);
}

static void test_body_cap(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.max_body = 512;
    restc *r = client(h, &cfg);
    ctx c = {.h = h};
    one(h, r, &c, 0, "/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=200", 0);
    assert_int_equal(c.res[0].r.err, ERR_FULL);
    assert_int_equal(c.res[0].r.cls, RESTC_REJECTED);
    assert_int_equal(c.res[0].r.http_status, 200);
    assert_true(c.res[0].r.body_len <= 512);
    one(h, r, &c, 0, "/v5/market/time", NULL, 0); /* a small one still fits */
    assert_int_equal(c.res[1].r.cls, RESTC_OK);
    done_client(h, r);
    h_stop(h);
}

static void test_fatal(void **state)
{
    (void)state;
    harness *h = h_start();
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "x-1", "50000.0");
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.api_key = KEY;
    cfg.api_secret = "not-the-secret";
    restc *r = client(h, &cfg);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS | RESTC_RETRY);
    assert_int_equal(c.res[0].r.ret_code, 10004);
    assert_int_equal(c.res[0].r.cls, RESTC_FATAL);
    done_client(h, r);

    restc_config_default(&cfg);
    cfg.api_key = "nobody";
    cfg.api_secret = SECRET;
    r = client(h, &cfg);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[1].r.ret_code, 10003);
    assert_int_equal(c.res[1].r.cls, RESTC_FATAL);
    done_client(h, r);

    r = client(h, NULL);
    restc_set_clock_offset(r, -60000); /* a clock a minute behind: outside recv_window */
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[2].r.ret_code, 10002);
    assert_int_equal(c.res[2].r.cls, RESTC_FATAL);
    restc_set_clock_offset(r, 0);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[3].r.cls, RESTC_OK);
    done_client(h, r);

    /* construction errors name the problem and never the secret */
    char err[256];
    restc_config_default(&cfg);
    cfg.base_url = "ftp://x";
    assert_null(restc_new(&h->loop, &cfg, err, sizeof err));
    assert_string_equal(err, "bad base url 'ftp://x': want http://HOST[:PORT] or https://...");
    cfg.base_url = h->url;
    cfg.api_key = KEY;
    cfg.api_secret = NULL;
    assert_null(restc_new(&h->loop, &cfg, err, sizeof err));
    assert_string_equal(err, "an api key without a secret");
    h_stop(h);
}

static restc *closing_client;

/* The first answer closes the client from inside its callback. */
static void on_result_close(void *ud, const restc_result *res)
{
    on_result(ud, res);
    if (closing_client) {
        restc *r = closing_client;
        closing_client = NULL;
        assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, ud, NULL), 0);
        restc_close(r);
        assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, ud, NULL),
                         ERR_BADSTATE);
    }
}

static void test_close_from_callback(void **state)
{
    (void)state;
    harness *h = h_start();
    restc *r = client(h, NULL);
    ctx c = {.h = h};
    closing_client = r;
    for (int i = 0; i < 4; i++)
        assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result_close, &c, NULL), 0);
    run_for(&c, 5, 5000); /* 4 + the one submitted from the callback before the close */
    int cancelled = 0;
    for (int i = 0; i < 5; i++)
        cancelled += c.res[i].r.err == ERR_BADSTATE;
    assert_true(cancelled >= 1);
    assert_int_equal(c.res[0].r.cls, RESTC_OK);
    h_stop(h);
}

/* nothing listens, or TLS fails: the create never left, so it is retryable, not ambiguous */
static void test_refused(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.api_key = KEY;
    cfg.api_secret = SECRET;
    char err[256];
    cfg.base_url = "http://127.0.0.1:1";
    restc *r = restc_new(&h->loop, &cfg, err, sizeof err);
    assert_non_null(r);
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "r-1", "50000.0");
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[0].r.err, ERR_IO);
    assert_int_equal(c.res[0].r.sent, 0);
    assert_int_equal(c.res[0].r.cls, RESTC_RETRYABLE);
    assert_int_equal(c.res[0].r.curl_code, 7); /* CURLE_COULDNT_CONNECT */
    done_client(h, r);
    /* https to a plain-HTTP server: TLS is attempted and fails, nothing is sent in clear */
    char url[80];
    snprintf(url, sizeof url, "https%s", h->url + 4);
    cfg.base_url = url;
    r = restc_new(&h->loop, &cfg, err, sizeof err);
    assert_non_null(r);
    one(h, r, &c, 1, "/v5/order/create", body, CREATE_FLAGS);
    assert_int_equal(c.res[1].r.err, ERR_IO);
    assert_int_equal(c.res[1].r.sent, 0);
    assert_int_equal(c.res[1].r.cls, RESTC_RETRYABLE);
    assert_int_equal(c.res[1].r.curl_code, 35); /* CURLE_SSL_CONNECT_ERROR */
    done_client(h, r);
    h_stop(h);
}

static void test_caps_and_close(void **state)
{
    (void)state;
    harness *h = h_start();
    restc_config cfg;
    restc_config_default(&cfg);
    cfg.max_queue = 4;
    restc *r = client(h, &cfg);
    ctx c = {.h = h};
    char body[512];
    create_body(body, sizeof body, "c-1", "50000.0");
    h_faults(h, "{\"rest_latency\":{\"latency_ms\":2000}}");
    for (int i = 0; i < 2; i++)
        assert_int_equal(restc_post(r, "/v5/order/create", body, CREATE_FLAGS, on_result, &c, NULL),
                         0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, &c, NULL), 0);
    assert_int_equal(restc_get(r, "/v5/market/time", NULL, 0, on_result, &c, NULL), ERR_FULL);
    assert_int_equal(restc_get(r, "v5/market/time", NULL, 0, on_result, &c, NULL), ERR_INVAL);
    /* let them leave (the create is paced: one probe, the other held), then close */
    uv_timer_t t;
    uv_timer_init(&h->loop, &t);
    uv_timer_start(&t, on_deadline, 300, 0);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    assert_int_equal(c.n, 0);
    c.want = 100; /* no uv_stop from these callbacks */
    restc_close(r);
    assert_int_equal(c.n, 4); /* every one called back, before close returns */
    int ambiguous = 0, retryable = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c.res[i].r.err, ERR_BADSTATE);
        ambiguous += c.res[i].r.cls == RESTC_AMBIGUOUS;
        retryable += c.res[i].r.cls == RESTC_RETRYABLE;
    }
    assert_int_equal(ambiguous, 1); /* the create that had left */
    assert_int_equal(retryable, 3);
    h_stop(h);
}

static void test_classify(void **state)
{
    (void)state;
    /* transport failures: before sending retryable; after, ambiguous for a change only */
    assert_int_equal(restc_classify(ERR_IO, 0, 0, -1, 1), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(ERR_IO, 1, 0, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(ERR_IO, 1, 0, -1, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(ERR_TIMEOUT, 1, 0, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(ERR_TIMEOUT, 1, 0, -1, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(ERR_BADSTATE, 0, 0, -1, 1), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(ERR_FULL, 1, 200, -1, 0), RESTC_REJECTED);
    assert_int_equal(restc_classify(ERR_FULL, 1, 200, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(ERR_BUSY, 0, 0, -1, 1), RESTC_BAN);
    /* HTTP statuses */
    assert_int_equal(restc_classify(0, 1, 403, -1, 0), RESTC_BAN);
    assert_int_equal(restc_classify(0, 1, 429, -1, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(0, 1, 429, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(0, 1, 500, -1, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(0, 1, 599, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(0, 1, 404, -1, 0), RESTC_REJECTED);
    assert_int_equal(restc_classify(0, 1, 413, -1, 1), RESTC_REJECTED);
    /* retCodes */
    assert_int_equal(restc_classify(0, 1, 200, 0, 1), RESTC_OK);
    assert_int_equal(restc_classify(0, 1, 200, 10002, 0), RESTC_FATAL);
    assert_int_equal(restc_classify(0, 1, 200, 10003, 1), RESTC_FATAL);
    assert_int_equal(restc_classify(0, 1, 200, 10004, 1), RESTC_FATAL);
    assert_int_equal(restc_classify(0, 1, 200, 10006, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(0, 1, 200, 10006, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(0, 1, 200, 10016, 0), RESTC_RETRYABLE);
    assert_int_equal(restc_classify(0, 1, 200, 10016, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(0, 1, 200, -1, 1), RESTC_AMBIGUOUS);
    assert_int_equal(restc_classify(0, 1, 200, 110001, 1), RESTC_REJECTED);
    assert_int_equal(restc_classify(0, 1, 200, 110072, 1), RESTC_REJECTED);
    assert_int_equal(restc_classify(0, 1, 200, 10001, 0), RESTC_REJECTED);
    assert_string_equal(restc_class_name(RESTC_AMBIGUOUS), "ambiguous");
    assert_string_equal(restc_class_name(RESTC__CLASSES), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_pacing),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_timeout_ambiguous),
        cmocka_unit_test(test_ban),
        cmocka_unit_test(test_pool_bound),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_fatal),
        cmocka_unit_test(test_caps_and_close),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_close_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
