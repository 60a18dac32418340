/* Tests of exchange: the order lifecycle, matching, fees, the book feed, DCP and determinism that
 * bybit-sim's clients rely on. Private and public callbacks are collected and inspected. */
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

#include "exchange.h"

#define T0 1700000000000LL

/* cmocka's assert_float_equal compares floats: too coarse for USDT amounts */
#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (fabs(a_ - b_) > (eps))                                                                 \
            fail_msg("%.10f != %.10f", a_, b_);                                                    \
    } while (0)
#define KEY "key-a"
#define KB  "key-b"

/* ---- collected events ---- */

typedef struct ev {
    char key[72];
    char topic[16];
    cJSON *item; /* one item of the data array */
} ev;

typedef struct pub {
    char topic[48];
    char *msg;
} pub;

typedef struct sink {
    ev *evs;
    size_t nev, capev;
    pub *pubs;
    size_t npub, cappub;
    const char *only; /* wanted(): only this topic when set */
} sink;

static void on_private(void *ud, const char *api_key, const char *topic, cJSON *data,
                       int64_t now_ms)
{
    (void)now_ms;
    sink *s = ud;
    cJSON *it;
    cJSON_ArrayForEach(it, data)
    {
        if (s->nev == s->capev) {
            s->capev = s->capev ? s->capev * 2 : 64;
            s->evs = realloc(s->evs, s->capev * sizeof *s->evs);
            assert_non_null(s->evs);
        }
        ev *e = &s->evs[s->nev++];
        snprintf(e->key, sizeof e->key, "%s", api_key);
        snprintf(e->topic, sizeof e->topic, "%s", topic);
        e->item = cJSON_Duplicate(it, 1);
    }
    cJSON_Delete(data);
}

static void on_public(void *ud, const char *topic, const char *msg, size_t len)
{
    sink *s = ud;
    assert_int_equal(strlen(msg), len);
    if (s->npub == s->cappub) {
        s->cappub = s->cappub ? s->cappub * 2 : 64;
        s->pubs = realloc(s->pubs, s->cappub * sizeof *s->pubs);
        assert_non_null(s->pubs);
    }
    pub *p = &s->pubs[s->npub++];
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->msg = strdup(msg);
}

static int wanted_only(void *ud, const char *topic)
{
    sink *s = ud;
    return !s->only || strcmp(topic, s->only) == 0;
}

static void sink_clear(sink *s)
{
    for (size_t i = 0; i < s->nev; i++)
        cJSON_Delete(s->evs[i].item);
    for (size_t i = 0; i < s->npub; i++)
        free(s->pubs[i].msg);
    s->nev = s->npub = 0;
}

static void sink_free(sink *s)
{
    sink_clear(s);
    free(s->evs);
    free(s->pubs);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const char *s = str(o, k);
    assert_non_null(s);
    return strtod(s, NULL);
}

/* The n-th (0-based) collected private item of topic (and order id when given). */
static cJSON *find_ev(sink *s, const char *topic, const char *order_id, int n)
{
    for (size_t i = 0; i < s->nev; i++) {
        if (strcmp(s->evs[i].topic, topic) != 0)
            continue;
        if (order_id && (!str(s->evs[i].item, "orderId") ||
                         strcmp(str(s->evs[i].item, "orderId"), order_id) != 0))
            continue;
        if (n-- == 0)
            return s->evs[i].item;
    }
    return NULL;
}

static int count_ev(sink *s, const char *topic, const char *order_id)
{
    int n = 0;
    while (find_ev(s, topic, order_id, n))
        n++;
    return n;
}

static cJSON *last_ev(sink *s, const char *topic, const char *order_id)
{
    int n = count_ev(s, topic, order_id);
    return n ? find_ev(s, topic, order_id, n - 1) : NULL;
}

/* ---- fixture ---- */

typedef struct fx {
    exch *x;
    sink s;
    exch_opts o;
} fx;

static void fx_opts(fx *f)
{
    memset(f, 0, sizeof *f);
    exch_opts_default(&f->o);
    f->o.seed = 42;
    f->o.on_private = on_private;
    f->o.on_public = on_public;
    f->o.wanted = wanted_only;
    f->o.ud = &f->s;
}

static void fx_start(fx *f)
{
    f->x = exch_new(&f->o, T0);
    assert_non_null(f->x);
    assert_int_equal(exch_account_add(f->x, KEY, "secret-a", 1000000), 0);
    assert_int_equal(exch_account_add(f->x, KB, "secret-b", 1000000), 0);
}

static void fx_init(fx *f)
{
    fx_opts(f);
    fx_start(f);
}

static void fx_free(fx *f)
{
    exch_free(f->x);
    sink_free(&f->s);
}

static exch_order_req req(const char *sym, exch_side side, exch_type type, const char *qty,
                          const char *price, exch_tif tif, const char *link)
{
    exch_order_req r = {sym, side, type, qty, price, tif, link, 0};
    return r;
}

/* Best bid and ask of the REST book, in the instrument's ticks as doubles. */
static void best(exch *x, const char *sym, double *bid, double *ask)
{
    cJSON *r;
    char msg[128];
    assert_int_equal(exch_orderbook(x, sym, 1, T0, &r, msg, sizeof msg), 0);
    cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "b"), 0);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "a"), 0);
    *bid = strtod(cJSON_GetArrayItem(b, 0)->valuestring, NULL);
    *ask = strtod(cJSON_GetArrayItem(a, 0)->valuestring, NULL);
    cJSON_Delete(r);
}

static int create(fx *f, const char *key, exch_order_req r, exch_ids *ids, char *msg, size_t msglen)
{
    return exch_create(f->x, key, &r, T0, ids, msg, msglen);
}

/* ---- tests ---- */

static void test_instruments(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    cJSON *l;
    char msg[128];
    assert_int_equal(exch_instruments(f.x, NULL, &l, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(l), 2);
    cJSON_Delete(l);
    assert_int_equal(exch_instruments(f.x, "BTCUSDT", &l, msg, sizeof msg), 0);
    cJSON *b = cJSON_GetArrayItem(l, 0);
    assert_string_equal(str(b, "symbol"), "BTCUSDT");
    assert_string_equal(str(b, "contractType"), "LinearPerpetual");
    assert_string_equal(str(b, "status"), "Trading");
    assert_string_equal(str(b, "priceScale"), "1");
    cJSON *pf = cJSON_GetObjectItem(b, "priceFilter"),
          *ls = cJSON_GetObjectItem(b, "lotSizeFilter");
    assert_string_equal(str(pf, "tickSize"), "0.1");
    assert_string_equal(str(ls, "qtyStep"), "0.001");
    assert_string_equal(str(ls, "minOrderQty"), "0.001");
    assert_string_equal(str(ls, "maxOrderQty"), "100.000");
    assert_string_equal(str(ls, "minNotionalValue"), "5");
    assert_non_null(str(cJSON_GetObjectItem(b, "leverageFilter"), "maxLeverage"));
    cJSON_Delete(l);
    assert_int_equal(exch_instruments(f.x, "ETHUSDT", &l, msg, sizeof msg), 0);
    assert_string_equal(
        str(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0), "priceFilter"), "tickSize"), "0.01");
    cJSON_Delete(l);
    assert_int_equal(exch_instruments(f.x, "XRPUSDT", &l, msg, sizeof msg), EXCH_ERR_PARAM);
    assert_null(l);
    fx_free(&f);
}

static void test_accounts(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    assert_int_equal(exch_account_add(f.x, KEY, "x", 1), -EEXIST);
    assert_int_equal(exch_account_add(f.x, "", "x", 1), -EINVAL);
    assert_int_equal(exch_account_add(f.x, "k", "", 1), -EINVAL);
    assert_string_equal(exch_account_secret(f.x, KEY), "secret-a");
    assert_null(exch_account_secret(f.x, "nope"));
    char k[16];
    int rc = 0;
    for (int i = 0; i < EXCH_MAX_ACCOUNTS && rc == 0; i++) {
        snprintf(k, sizeof k, "k%d", i);
        rc = exch_account_add(f.x, k, "s", 10);
    }
    assert_int_equal(rc, -ENOSPC);
    fx_free(&f);
}

static void test_create_cancel(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    exch_ids ids;
    char msg[128];
    assert_int_equal(
        create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.010", "50000", EXCH_GTC, "my-1"),
               &ids, msg, sizeof msg),
        0);
    assert_string_equal(ids.link_id, "my-1");
    assert_int_equal(strlen(ids.order_id), 36);
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_non_null(o);
    assert_string_equal(str(o, "orderStatus"), "New");
    assert_string_equal(str(o, "category"), "linear");
    assert_string_equal(str(o, "price"), "50000.0");
    assert_string_equal(str(o, "qty"), "0.010");
    assert_string_equal(str(o, "leavesQty"), "0.010");
    assert_string_equal(str(o, "cancelType"), "UNKNOWN");
    assert_string_equal(str(o, "rejectReason"), "EC_NoError");
    assert_string_equal(str(o, "timeInForce"), "GTC");

    cJSON *l;
    char *cur;
    assert_int_equal(
        exch_orders(f.x, KEY, "BTCUSDT", NULL, NULL, 0, 20, NULL, &l, &cur, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(l), 1);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "orderLinkId"), "my-1");
    assert_string_equal(cur, "");
    cJSON_Delete(l);
    free(cur);

    exch_ids c;
    assert_int_equal(exch_cancel(f.x, KEY, "BTCUSDT", NULL, "my-1", T0, &c, msg, sizeof msg), 0);
    assert_string_equal(c.order_id, ids.order_id);
    o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_string_equal(str(o, "cancelType"), "CancelByUser");
    assert_string_equal(str(o, "leavesQty"), "0.000");
    /* closed: 110008; unknown: 110001 */
    assert_int_equal(exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &c, msg, sizeof msg),
                     EXCH_ERR_FINISHED);
    assert_int_equal(exch_cancel(f.x, KEY, "BTCUSDT", "nope", NULL, T0, &c, msg, sizeof msg),
                     EXCH_ERR_NO_ORDER);
    assert_string_equal(msg, "Order does not exist.");
    assert_int_equal(
        exch_amend(f.x, KEY, "BTCUSDT", "nope", NULL, "0.02", NULL, T0, &c, msg, sizeof msg),
        EXCH_ERR_NO_ORDER);
    assert_int_equal(
        exch_amend(f.x, KEY, "BTCUSDT", ids.order_id, NULL, "0.02", NULL, T0, &c, msg, sizeof msg),
        EXCH_ERR_FINISHED);
    /* another account does not see it */
    assert_int_equal(exch_cancel(f.x, KB, "BTCUSDT", ids.order_id, NULL, T0, &c, msg, sizeof msg),
                     EXCH_ERR_NO_ORDER);
    /* open and closed: the closed one is listed */
    assert_int_equal(
        exch_orders(f.x, KEY, NULL, NULL, NULL, 1, 20, NULL, &l, &cur, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(l), 1);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "orderStatus"), "Cancelled");
    cJSON_Delete(l);
    free(cur);
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_int_equal(st.orders_created, 1);
    assert_int_equal(st.orders_cancelled, 1);
    assert_int_equal(st.open_orders, 0);
    fx_free(&f);
}

static void test_param_errors(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    exch_ids ids;
    char msg[128];
    static const char *bad_qty[] = {"abc",    "-1", "NaN", "1e3", "",   "0", "0.0001",
                                    "0.01.0", ".5", "5.",  " 1",  "1 ", "+1"};
    for (size_t i = 0; i < sizeof bad_qty / sizeof bad_qty[0]; i++) {
        int rc = create(&f, KEY,
                        req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, bad_qty[i], "50000", EXCH_GTC, NULL),
                        &ids, msg, sizeof msg);
        if (rc != EXCH_ERR_PARAM)
            fail_msg("qty '%s': %d", bad_qty[i], rc);
    }
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.0001", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    assert_string_equal(msg, "Qty invalid");
    assert_int_equal(
        create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "100.001", "50000", EXCH_GTC, NULL),
               &ids, msg, sizeof msg),
        EXCH_ERR_PARAM);
    assert_string_equal(msg, "The number of contracts exceeds maximum limit allowed");
    assert_int_equal(
        create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000.05", EXCH_GTC, NULL),
               &ids, msg, sizeof msg),
        EXCH_ERR_PARAM);
    assert_string_equal(msg, "Order price has too many decimals.");
    /* trailing zeros past the tick are fine */
    assert_int_equal(
        create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.0100", "50000.50", EXCH_GTC, NULL),
               &ids, msg, sizeof msg),
        0);
    static const char *bad_px[] = {"abc", "-50000", "nan", "0", "inf", "5e4", ""};
    for (size_t i = 0; i < sizeof bad_px / sizeof bad_px[0]; i++) {
        int rc =
            create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", bad_px[i], EXCH_GTC, NULL),
                   &ids, msg, sizeof msg);
        if (rc != EXCH_ERR_PARAM)
            fail_msg("price '%s': %d", bad_px[i], rc);
    }
    assert_int_equal(create(&f, KEY,
                            req("XRPUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "1", EXCH_GTC, NULL), &ids,
                            msg, sizeof msg),
                     EXCH_ERR_PARAM);
    assert_int_equal(create(&f, "nokey",
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_KEY);
    /* ETH: qty step 0.01 */
    assert_int_equal(create(&f, KEY,
                            req("ETHUSDT", EXCH_BUY, EXCH_LIMIT, "0.015", "2500", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    /* link ids: bad characters, too long, duplicate (also among closed ones) */
    assert_int_equal(
        create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "bad id"),
               &ids, msg, sizeof msg),
        EXCH_ERR_PARAM);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC,
                                "0123456789012345678901234567890123456"),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "L1"),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "L1"),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    assert_string_equal(msg, "OrderLinkedID is duplicate");
    assert_int_equal(exch_cancel(f.x, KEY, "BTCUSDT", NULL, "L1", T0, &ids, msg, sizeof msg), 0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "L1"),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    /* the other account may use the same link id */
    assert_int_equal(create(&f, KB,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "L1"),
                            &ids, msg, sizeof msg),
                     0);
    /* min notional, missing price */
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "1000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_MIN_VALUE);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", NULL, EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_PARAM);
    /* reduce-only without a position */
    exch_order_req r = req("BTCUSDT", EXCH_SELL, EXCH_LIMIT, "0.01", "70000", EXCH_GTC, NULL);
    r.reduce_only = 1;
    assert_int_equal(exch_create(f.x, KEY, &r, T0, &ids, msg, sizeof msg), EXCH_ERR_REDUCE_ONLY);
    fx_free(&f);
}

static void test_balance(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.x = exch_new(&f.o, T0);
    assert_int_equal(exch_account_add(f.x, KEY, "s", 1000), 0);
    exch_ids ids;
    char msg[128];
    /* 0.1 BTC at 50000 = 5000 USDT, margin 500 at leverage 10: fits once, not twice */
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.1", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.11", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_BALANCE);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.09", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    /* amend up past the balance */
    assert_int_equal(
        exch_amend(f.x, KEY, "BTCUSDT", ids.order_id, NULL, "0.2", NULL, T0, &ids, msg, sizeof msg),
        EXCH_ERR_BALANCE);
    fx_free(&f);
}

static void test_amend(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    exch_ids ids, a;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("ETHUSDT", EXCH_SELL, EXCH_LIMIT, "0.10", "3500", EXCH_GTC, "e1"),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(
        exch_amend(f.x, KEY, "ETHUSDT", NULL, "e1", "0.2", "3400.55", T0 + 5, &a, msg, sizeof msg),
        0);
    assert_string_equal(a.order_id, ids.order_id);
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "New");
    assert_string_equal(str(o, "qty"), "0.20");
    assert_string_equal(str(o, "price"), "3400.55");
    assert_string_equal(str(o, "updatedTime"), "1700000000005");
    assert_string_equal(str(o, "createdTime"), "1700000000000");
    assert_int_equal(
        exch_amend(f.x, KEY, "ETHUSDT", ids.order_id, NULL, "0.20", NULL, T0, &a, msg, sizeof msg),
        EXCH_ERR_PARAM);
    assert_int_equal(exch_amend(f.x, KEY, "ETHUSDT", ids.order_id, NULL, NULL, "3400.555", T0, &a,
                                msg, sizeof msg),
                     EXCH_ERR_PARAM);
    assert_string_equal(msg, "Order price has too many decimals.");
    /* amend to a crossing price fills it as a taker */
    double bid, ask;
    best(f.x, "ETHUSDT", &bid, &ask);
    char px[32];
    snprintf(px, sizeof px, "%.2f", bid - 5);
    assert_int_equal(
        exch_amend(f.x, KEY, "ETHUSDT", ids.order_id, NULL, NULL, px, T0, &a, msg, sizeof msg), 0);
    cJSON *e = last_ev(&f.s, "execution", ids.order_id);
    assert_non_null(e);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
    fx_free(&f);
}

static void test_postonly_cross(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    double bid, ask;
    best(f.x, "BTCUSDT", &bid, &ask);
    assert_true(ask > bid);
    char px[32];
    snprintf(px, sizeof px, "%.1f", ask);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", px, EXCH_POSTONLY, NULL),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(count_ev(&f.s, "order", ids.order_id), 1);
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_string_equal(str(o, "rejectReason"), "EC_PostOnlyWillTakeLiquidity");
    assert_string_equal(str(o, "cumExecQty"), "0.000");
    assert_int_equal(count_ev(&f.s, "execution", NULL), 0);
    /* a non-crossing PostOnly rests */
    snprintf(px, sizeof px, "%.1f", bid);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", px, EXCH_POSTONLY, NULL),
                            &ids, msg, sizeof msg),
                     0);
    assert_string_equal(str(last_ev(&f.s, "order", ids.order_id), "orderStatus"), "New");
    assert_string_equal(str(last_ev(&f.s, "order", ids.order_id), "timeInForce"), "PostOnly");
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_int_equal(st.orders_rejected, 1);
    assert_int_equal(st.open_orders, 1);
    fx_free(&f);
}

static void test_market_fill_position_wallet(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_MARKET, "0.010", NULL, EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Filled");
    assert_string_equal(str(o, "cumExecQty"), "0.010");
    assert_string_equal(str(o, "orderType"), "Market");
    double qty = 0, value = 0, fee = 0;
    cJSON *e;
    for (int i = 0; (e = find_ev(&f.s, "execution", ids.order_id, i)) != NULL; i++) {
        assert_false(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
        assert_string_equal(str(e, "execType"), "Trade");
        qty += num(e, "execQty");
        value += num(e, "execQty") * num(e, "execPrice");
        fee += num(e, "execFee");
        assert_near(num(e, "execFee"), num(e, "execQty") * num(e, "execPrice") * 0.00055, 1e-6);
    }
    assert_near(qty, 0.01, 1e-9);
    assert_near(num(o, "cumExecFee"), fee, 1e-6);
    cJSON *p = last_ev(&f.s, "position", NULL);
    assert_string_equal(str(p, "side"), "Buy");
    assert_string_equal(str(p, "size"), "0.010");
    assert_near(num(p, "entryPrice"), value / qty, 0.1);
    cJSON *w = last_ev(&f.s, "wallet", NULL);
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "coin"), 0);
    assert_near(num(c, "walletBalance"), 1000000 - fee, 1e-6);
    /* REST agrees */
    cJSON *l;
    assert_int_equal(exch_positions(f.x, KEY, "BTCUSDT", &l, msg, sizeof msg), 0);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "size"), "0.010");
    cJSON_Delete(l);
    cJSON *res;
    assert_int_equal(exch_wallet(f.x, KEY, &res, msg, sizeof msg), 0);
    cJSON *acct = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "list"), 0);
    assert_near(num(acct, "totalWalletBalance"), 1000000 - fee, 1e-6);
    cJSON_Delete(res);

    /* sell it back: flat, realised pnl = sell value - buy value, fees paid twice */
    sink_clear(&f.s);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_SELL, EXCH_MARKET, "0.01", NULL, EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    double sval = 0, sfee = 0;
    for (int i = 0; (e = find_ev(&f.s, "execution", ids.order_id, i)) != NULL; i++) {
        sval += num(e, "execQty") * num(e, "execPrice");
        sfee += num(e, "execFee");
    }
    p = last_ev(&f.s, "position", NULL);
    assert_string_equal(str(p, "side"), "");
    assert_string_equal(str(p, "size"), "0.000");
    assert_near(num(p, "cumRealisedPnl"), sval - value - fee - sfee, 1e-6);
    w = last_ev(&f.s, "wallet", NULL);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "coin"), 0);
    assert_near(num(c, "walletBalance"), 1000000 + sval - value - fee - sfee, 1e-6);
    assert_true(sval < value); /* crossed the spread twice */
    fx_free(&f);
}

static void test_ioc_fok(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    double bid, ask;
    best(f.x, "BTCUSDT", &bid, &ask);
    char px[32];
    snprintf(px, sizeof px, "%.1f", ask);
    exch_ids ids;
    char msg[128];
    /* FOK larger than the best level: cancelled, nothing filled */
    assert_int_equal(create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "50", px, EXCH_FOK, NULL),
                            &ids, msg, sizeof msg),
                     0);
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_string_equal(str(o, "cumExecQty"), "0.000");
    assert_int_equal(count_ev(&f.s, "execution", NULL), 0);
    /* IOC at the best ask: partial fill, rest cancelled */
    assert_int_equal(create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "50", px, EXCH_IOC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_true(num(o, "cumExecQty") > 0 && num(o, "cumExecQty") < 50);
    assert_int_equal(count_ev(&f.s, "order", ids.order_id), 2); /* PartiallyFilled, Cancelled */
    assert_string_equal(str(find_ev(&f.s, "order", ids.order_id, 0), "orderStatus"),
                        "PartiallyFilled");
    /* the best ask was taken: the book moved up */
    double bid2, ask2;
    best(f.x, "BTCUSDT", &bid2, &ask2);
    assert_true(ask2 > ask);
    /* a crossing GTC partially fills and rests as PartiallyFilled */
    snprintf(px, sizeof px, "%.1f", ask2);
    assert_int_equal(create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "50", px, EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "PartiallyFilled");
    cJSON *l = exch_open_orders_all(f.x, KEY);
    assert_int_equal(cJSON_GetArraySize(l), 1);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "account"), KEY);
    cJSON_Delete(l);
    /* it is now the best bid of the book */
    best(f.x, "BTCUSDT", &bid2, &ask2);
    assert_near(bid2, strtod(px, NULL), 1e-9);
    fx_free(&f);
}

static void test_cross_accounts(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    double bid, ask;
    best(f.x, "BTCUSDT", &bid, &ask);
    char px[32];
    snprintf(px, sizeof px, "%.1f", ask);
    exch_ids mk, tk;
    char msg[128];
    assert_int_equal(create(&f, KB,
                            req("BTCUSDT", EXCH_SELL, EXCH_LIMIT, "0.005", px, EXCH_GTC, NULL), &mk,
                            msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_MARKET, "0.003", NULL, EXCH_GTC, NULL),
                            &tk, msg, sizeof msg),
                     0);
    cJSON *e = last_ev(&f.s, "execution", mk.order_id);
    assert_non_null(e);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
    assert_string_equal(str(e, "execQty"), "0.003");
    assert_string_equal(str(e, "execPrice"), px);
    assert_near(num(e, "execFee"), 0.003 * strtod(px, NULL) * 0.0002, 1e-9);
    assert_string_equal(str(last_ev(&f.s, "order", mk.order_id), "orderStatus"), "PartiallyFilled");
    assert_string_equal(str(last_ev(&f.s, "order", mk.order_id), "leavesQty"), "0.002");
    assert_string_equal(str(last_ev(&f.s, "order", tk.order_id), "orderStatus"), "Filled");
    /* the maker's position is short */
    cJSON *l;
    assert_int_equal(exch_positions(f.x, KB, "BTCUSDT", &l, msg, sizeof msg), 0);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "side"), "Sell");
    cJSON_Delete(l);
    fx_free(&f);
}

static void test_taker_flow_fills_resting(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.volatility = 0; /* the mid stays: only taker flow can fill */
    f.o.taker_per_s = 50;
    fx_start(&f);
    double bid, ask;
    best(f.x, "BTCUSDT", &bid, &ask);
    char px[32];
    snprintf(px, sizeof px, "%.1f", bid);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.100", px, EXCH_GTC, NULL), &ids,
                            msg, sizeof msg),
                     0);
    int64_t t = T0;
    int filled = 0, partial = 0, trades = 0;
    for (int i = 0; i < 3000 && !filled; i++) {
        t += 20;
        exch_tick(f.x, t);
        cJSON *o = last_ev(&f.s, "order", ids.order_id);
        if (strcmp(str(o, "orderStatus"), "PartiallyFilled") == 0)
            partial = 1;
        filled = strcmp(str(o, "orderStatus"), "Filled") == 0;
    }
    assert_true(partial);
    assert_true(filled);
    cJSON *e;
    double q = 0;
    for (int i = 0; (e = find_ev(&f.s, "execution", ids.order_id, i)) != NULL; i++) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
        assert_string_equal(str(e, "execPrice"), px);
        q += num(e, "execQty");
    }
    assert_near(q, 0.1, 1e-9);
    for (size_t i = 0; i < f.s.npub; i++)
        if (strcmp(f.s.pubs[i].topic, "publicTrade.BTCUSDT") == 0) {
            cJSON *m = cJSON_Parse(f.s.pubs[i].msg);
            assert_non_null(m);
            assert_string_equal(str(m, "type"), "snapshot");
            cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "data"), 0);
            assert_string_equal(str(d, "s"), "BTCUSDT");
            assert_non_null(str(d, "S"));
            assert_non_null(str(d, "v"));
            assert_non_null(str(d, "p"));
            assert_non_null(str(d, "i"));
            assert_non_null(str(d, "L"));
            assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "BT")));
            cJSON_Delete(m);
            trades++;
        }
    assert_true(trades > 0);
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_true(st.public_trades > 0);
    assert_int_equal(st.orders_filled, 1);
    fx_free(&f);
}

static void test_mid_moves_through_order(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.volatility = 0.5;
    f.o.taker_per_s = 0; /* only the random walk can fill */
    fx_start(&f);
    double bid, ask;
    best(f.x, "ETHUSDT", &bid, &ask);
    char pb[32], ps[32];
    snprintf(pb, sizeof pb, "%.2f", bid - 0.5);
    snprintf(ps, sizeof ps, "%.2f", ask + 0.5);
    exch_ids b, s;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("ETHUSDT", EXCH_BUY, EXCH_LIMIT, "0.05", pb, EXCH_GTC, NULL), &b,
                            msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KEY,
                            req("ETHUSDT", EXCH_SELL, EXCH_LIMIT, "0.05", ps, EXCH_GTC, NULL), &s,
                            msg, sizeof msg),
                     0);
    int64_t t = T0;
    for (int i = 0; i < 30000 && (!last_ev(&f.s, "execution", b.order_id) ||
                                  !last_ev(&f.s, "execution", s.order_id));
         i++) {
        t += 20;
        exch_tick(f.x, t);
    }
    cJSON *e = last_ev(&f.s, "execution", b.order_id);
    assert_non_null(e);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
    assert_string_equal(str(e, "execPrice"), pb);
    e = last_ev(&f.s, "execution", s.order_id);
    assert_non_null(e);
    assert_string_equal(str(e, "execPrice"), ps);
    fx_free(&f);
}

/* ---- feed ---- */

typedef struct lbook {
    double px[2][1200], sz[2][1200];
    int n[2];
} lbook;

static void lb_apply(lbook *b, int side, cJSON *levels, int snapshot)
{
    if (snapshot)
        b->n[side] = 0;
    cJSON *l;
    cJSON_ArrayForEach(l, levels)
    {
        double p = strtod(cJSON_GetArrayItem(l, 0)->valuestring, NULL);
        const char *ss = cJSON_GetArrayItem(l, 1)->valuestring;
        double s = strtod(ss, NULL);
        int k;
        for (k = 0; k < b->n[side] && b->px[side][k] != p; k++)
            ;
        if (strcmp(ss, "0") == 0) {
            assert_true(k < b->n[side]); /* removing a level the book has */
            b->px[side][k] = b->px[side][b->n[side] - 1];
            b->sz[side][k] = b->sz[side][b->n[side] - 1];
            b->n[side]--;
            continue;
        }
        assert_true(s > 0);
        if (k == b->n[side]) {
            assert_true(b->n[side] < 1200);
            b->n[side]++;
        }
        b->px[side][k] = p;
        b->sz[side][k] = s;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Compares the local book with the REST book (top depth levels of each side). */
static void lb_check(lbook *b, exch *x, const char *sym, int depth)
{
    cJSON *r;
    char msg[128];
    assert_int_equal(exch_orderbook(x, sym, depth, T0, &r, msg, sizeof msg), 0);
    for (int side = 0; side < 2; side++) {
        cJSON *lv = cJSON_GetObjectItem(r, side ? "a" : "b");
        assert_int_equal(b->n[side], cJSON_GetArraySize(lv));
        /* sort local levels best first */
        double pairs[1200][2];
        for (int i = 0; i < b->n[side]; i++) {
            pairs[i][0] = side ? -b->px[side][i] : b->px[side][i];
            pairs[i][1] = b->sz[side][i];
        }
        qsort(pairs, (size_t)b->n[side], sizeof pairs[0], cmp_desc);
        int i = 0;
        cJSON *l;
        cJSON_ArrayForEach(l, lv)
        {
            double p = strtod(cJSON_GetArrayItem(l, 0)->valuestring, NULL);
            double s = strtod(cJSON_GetArrayItem(l, 1)->valuestring, NULL);
            assert_near(side ? -pairs[i][0] : pairs[i][0], p, 1e-9);
            assert_near(pairs[i][1], s, 1e-9);
            i++;
        }
    }
    cJSON_Delete(r);
}

static void test_feed_snapshot_delta(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.volatility = 0.05;
    f.s.only = "orderbook.50.BTCUSDT";
    fx_start(&f);
    lbook *b = calloc(1, sizeof *b);
    assert_non_null(b);
    int64_t t = T0;
    uint64_t last_u = 0;
    int deltas = 0, removals = 0;
    exch_ids ids;
    char msg[128];
    for (int i = 0; i < 400; i++) {
        t += 20;
        if (i % 37 == 5) { /* account orders join the book and leave it */
            double bid, ask;
            best(f.x, "BTCUSDT", &bid, &ask);
            char px[32];
            snprintf(px, sizeof px, "%.1f", bid - (i % 3));
            assert_int_equal(create(&f, KEY,
                                    req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.5", px, EXCH_GTC, NULL),
                                    &ids, msg, sizeof msg),
                             0);
        }
        if (i % 37 == 20)
            exch_cancel_all(f.x, KEY, "BTCUSDT", t, NULL, msg, sizeof msg);
        size_t before = f.s.npub;
        exch_tick(f.x, t);
        for (size_t k = before; k < f.s.npub; k++) {
            assert_string_equal(f.s.pubs[k].topic, "orderbook.50.BTCUSDT");
            cJSON *m = cJSON_Parse(f.s.pubs[k].msg);
            assert_non_null(m);
            assert_string_equal(str(m, "topic"), "orderbook.50.BTCUSDT");
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(m, "ts")));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(m, "cts")));
            cJSON *d = cJSON_GetObjectItem(m, "data");
            assert_string_equal(str(d, "s"), "BTCUSDT");
            uint64_t u = (uint64_t)cJSON_GetObjectItem(d, "u")->valuedouble;
            int snap = strcmp(str(m, "type"), "snapshot") == 0;
            if (last_u == 0) {
                assert_true(snap);
                assert_int_equal(u, 1);
            } else {
                assert_false(snap);
                assert_int_equal(u, last_u + 1);
                deltas++;
            }
            last_u = u;
            cJSON *l;
            cJSON_ArrayForEach(l, cJSON_GetObjectItem(d, "b")) removals +=
                strcmp(cJSON_GetArrayItem(l, 1)->valuestring, "0") == 0;
            lb_apply(b, 0, cJSON_GetObjectItem(d, "b"), snap);
            lb_apply(b, 1, cJSON_GetObjectItem(d, "a"), snap);
            cJSON_Delete(m);
        }
        assert_true(f.s.npub - before <= 1); /* at most one message per tick and stream */
        lb_check(b, f.x, "BTCUSDT", 50);
        sink_clear(&f.s);
    }
    assert_true(deltas > 100);
    assert_true(removals > 0);

    /* a new subscriber's snapshot is the last published state, with its u */
    char *snap = exch_book_snapshot_msg(f.x, "orderbook.50.BTCUSDT", t);
    assert_non_null(snap);
    cJSON *m = cJSON_Parse(snap);
    assert_string_equal(str(m, "type"), "snapshot");
    cJSON *d = cJSON_GetObjectItem(m, "data");
    assert_int_equal((uint64_t)cJSON_GetObjectItem(d, "u")->valuedouble, last_u);
    lbook *c = calloc(1, sizeof *c);
    lb_apply(c, 0, cJSON_GetObjectItem(d, "b"), 1);
    lb_apply(c, 1, cJSON_GetObjectItem(d, "a"), 1);
    lb_check(c, f.x, "BTCUSDT", 50);
    cJSON_Delete(m);
    free(snap);
    free(c);

    /* reset: the next message is a snapshot with u == 1 */
    exch_book_reset(f.x);
    t += 20;
    exch_tick(f.x, t);
    assert_int_equal(f.s.npub, 1);
    m = cJSON_Parse(f.s.pubs[0].msg);
    assert_string_equal(str(m, "type"), "snapshot");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "data"), "u")->valueint, 1);
    cJSON_Delete(m);
    free(b);
    fx_free(&f);
}

static void test_feed_topics(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.s.only = "none";
    fx_start(&f);
    assert_true(exch_topic_valid(f.x, "orderbook.1.BTCUSDT"));
    assert_true(exch_topic_valid(f.x, "orderbook.500.ETHUSDT"));
    assert_true(exch_topic_valid(f.x, "publicTrade.ETHUSDT"));
    assert_false(exch_topic_valid(f.x, "orderbook.7.BTCUSDT"));
    assert_false(exch_topic_valid(f.x, "orderbook.50.XRPUSDT"));
    assert_false(exch_topic_valid(f.x, "orderbook.50.BTCUSDTx"));
    assert_false(exch_topic_valid(f.x, "orderbook.050.BTCUSDT"));
    assert_false(exch_topic_valid(f.x, "publicTrade.BTC"));
    assert_null(exch_book_snapshot_msg(f.x, "orderbook.7.BTCUSDT", T0));
    /* nobody wants anything: ticks publish nothing */
    for (int i = 1; i <= 50; i++)
        exch_tick(f.x, T0 + 20 * i);
    assert_int_equal(f.s.npub, 0);
    /* a never-published stream publishes its first snapshot, u == 1, depth levels */
    char *s = exch_book_snapshot_msg(f.x, "orderbook.1.ETHUSDT", T0 + 1000);
    assert_non_null(s);
    cJSON *m = cJSON_Parse(s);
    cJSON *d = cJSON_GetObjectItem(m, "data");
    assert_int_equal(cJSON_GetObjectItem(d, "u")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "b")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "a")), 1);
    assert_int_equal(f.s.npub, 1);
    assert_string_equal(f.s.pubs[0].msg, s);
    cJSON_Delete(m);
    free(s);
    /* the 200-level snapshot has 200 levels a side, bids high to low */
    s = exch_book_snapshot_msg(f.x, "orderbook.200.BTCUSDT", T0 + 1000);
    m = cJSON_Parse(s);
    d = cJSON_GetObjectItem(m, "data");
    cJSON *bids = cJSON_GetObjectItem(d, "b"), *asks = cJSON_GetObjectItem(d, "a");
    /* 200 synthetic levels a side, less the ones taker flow emptied until they refresh */
    assert_in_range(cJSON_GetArraySize(bids), 190, 200);
    assert_in_range(cJSON_GetArraySize(asks), 190, 200);
    double prev = 1e18;
    cJSON *l;
    cJSON_ArrayForEach(l, bids)
    {
        double p = strtod(cJSON_GetArrayItem(l, 0)->valuestring, NULL);
        assert_true(p < prev);
        prev = p;
    }
    assert_true(strtod(cJSON_GetArrayItem(cJSON_GetArrayItem(asks, 0), 0)->valuestring, NULL) >
                strtod(cJSON_GetArrayItem(cJSON_GetArrayItem(bids, 0), 0)->valuestring, NULL));
    cJSON_Delete(m);
    free(s);
    fx_free(&f);
}

/* ---- DCP ---- */

static void test_dcp(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    char msg[128];
    exch_ids a, b;
    assert_int_equal(exch_dcp_arm(f.x, KEY, 2, msg, sizeof msg), EXCH_ERR_PARAM);
    assert_int_equal(exch_dcp_arm(f.x, KEY, 301, msg, sizeof msg), EXCH_ERR_PARAM);
    assert_int_equal(exch_dcp_arm(f.x, KEY, 10, msg, sizeof msg), 0);
    assert_int_equal(exch_dcp_arm(f.x, KB, 10, msg, sizeof msg), 0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &a, msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KB,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &b, msg, sizeof msg),
                     0);
    exch_dcp_conn(f.x, KEY, +1, T0);
    exch_dcp_conn(f.x, KB, +1, T0);
    exch_dcp_conn(f.x, KB, +1, T0);
    exch_dcp_conn(f.x, KEY, -1, T0 + 1000);
    exch_dcp_conn(f.x, KB, -1, T0 + 1000); /* B keeps one connection */
    exch_tick(f.x, T0 + 1000 + 9999);
    assert_string_equal(str(last_ev(&f.s, "order", a.order_id), "orderStatus"), "New");
    exch_tick(f.x, T0 + 1000 + 10000);
    cJSON *o = last_ev(&f.s, "order", a.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_string_equal(str(o, "cancelType"), "CancelByDCP");
    exch_tick(f.x, T0 + 100000);
    assert_string_equal(str(last_ev(&f.s, "order", b.order_id), "orderStatus"), "New");
    /* reconnecting within the window keeps the orders */
    exch_dcp_conn(f.x, KB, -1, T0 + 100000);
    exch_dcp_conn(f.x, KB, +1, T0 + 105000);
    exch_tick(f.x, T0 + 200000);
    assert_string_equal(str(last_ev(&f.s, "order", b.order_id), "orderStatus"), "New");
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_int_equal(st.open_orders, 1);
    fx_free(&f);
}

/* ---- races and delayed acknowledgement ---- */

static void test_ack_before_state(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.p_ack_before_state = 1.0;
    fx_start(&f);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, "p1"),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(count_ev(&f.s, "order", NULL), 0);
    cJSON *l;
    char *cur;
    assert_int_equal(
        exch_orders(f.x, KEY, NULL, NULL, NULL, 1, 20, NULL, &l, &cur, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(l), 0);
    cJSON_Delete(l);
    free(cur);
    exch_tick(f.x, T0 + 20);
    assert_string_equal(str(last_ev(&f.s, "order", ids.order_id), "orderStatus"), "New");
    assert_int_equal(
        exch_orders(f.x, KEY, NULL, NULL, "p1", 0, 20, NULL, &l, &cur, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(l), 1);
    cJSON_Delete(l);
    free(cur);
    fx_free(&f);
}

static void test_cancel_with_exec(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.p_cancel_with_exec = 1.0;
    fx_start(&f);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    sink_clear(&f.s);
    assert_int_equal(
        exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg), 0);
    assert_string_equal(f.s.evs[0].topic, "execution"); /* the execution comes first */
    cJSON *o = last_ev(&f.s, "order", ids.order_id);
    assert_string_equal(str(o, "orderStatus"), "Cancelled");
    assert_true(num(o, "cumExecQty") > 0 && num(o, "cumExecQty") < 0.01);
    assert_string_equal(str(last_ev(&f.s, "execution", ids.order_id), "execPrice"), "50000.0");
    fx_free(&f);
}

static void test_dup_filled(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.p_dup_filled = 1.0;
    fx_start(&f);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    sink_clear(&f.s);
    assert_int_equal(
        exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg),
        EXCH_ERR_FINISHED);
    assert_int_equal(count_ev(&f.s, "order", ids.order_id), 2);
    assert_string_equal(str(find_ev(&f.s, "order", ids.order_id, 0), "orderStatus"), "Filled");
    assert_string_equal(str(find_ev(&f.s, "order", ids.order_id, 1), "orderStatus"), "Filled");
    assert_int_equal(count_ev(&f.s, "execution", ids.order_id), 1);
    fx_free(&f);
}

/* ---- caps, reset, determinism ---- */

static void test_too_many_active(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    exch_ids ids;
    char msg[128];
    for (int i = 0; i < EXCH_MAX_ACTIVE; i++) {
        char px[32];
        snprintf(px, sizeof px, "%d", 40000 + i);
        assert_int_equal(create(&f, KEY,
                                req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", px, EXCH_GTC, NULL),
                                &ids, msg, sizeof msg),
                         0);
    }
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     EXCH_ERR_TOO_MANY);
    /* per symbol and per account */
    assert_int_equal(create(&f, KEY,
                            req("ETHUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "2000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KB,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    /* pagination: 50 per page, newest first, cursor to the end */
    cJSON *l;
    char *cur = NULL;
    int pages = 0, total = 0;
    do {
        char c[32];
        snprintf(c, sizeof c, "%s", cur ? cur : "");
        free(cur);
        assert_int_equal(
            exch_orders(f.x, KEY, "BTCUSDT", NULL, NULL, 0, 50, c, &l, &cur, msg, sizeof msg), 0);
        if (pages == 0)
            assert_string_equal(str(cJSON_GetArrayItem(l, 0), "price"), "40499.0");
        total += cJSON_GetArraySize(l);
        pages++;
        cJSON_Delete(l);
    } while (*cur);
    free(cur);
    assert_int_equal(total, EXCH_MAX_ACTIVE);
    assert_int_equal(pages, 10);
    assert_int_equal(
        exch_orders(f.x, KEY, NULL, NULL, NULL, 0, 51, NULL, &l, &cur, msg, sizeof msg),
        EXCH_ERR_PARAM);
    /* cancel-all frees the slots */
    cJSON *cl;
    assert_int_equal(exch_cancel_all(f.x, KEY, "BTCUSDT", T0, &cl, msg, sizeof msg), 0);
    assert_int_equal(cJSON_GetArraySize(cl), EXCH_MAX_ACTIVE);
    cJSON_Delete(cl);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_int_equal(st.open_orders, 3);
    fx_free(&f);
}

static void test_closed_ring_bounded(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.on_private = NULL;
    fx_start(&f);
    exch_ids first, ids;
    char msg[128];
    for (int i = 0; i < EXCH_MAX_CLOSED + 10; i++) {
        char link[16];
        snprintf(link, sizeof link, "r%d", i);
        assert_int_equal(
            create(&f, KEY, req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, link),
                   &ids, msg, sizeof msg),
            0);
        if (i == 0)
            first = ids;
        assert_int_equal(
            exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg), 0);
    }
    /* the oldest was dropped: unknown now, and its link id is free again */
    assert_int_equal(
        exch_cancel(f.x, KEY, "BTCUSDT", first.order_id, NULL, T0, &ids, msg, sizeof msg),
        EXCH_ERR_NO_ORDER);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, "r0"),
                            &ids, msg, sizeof msg),
                     0);
    fx_free(&f);
}

/* Many more orders than the closed ring keeps (the link-id set rebuilds itself on the way):
 * the ids of the last EXCH_MAX_CLOSED closed orders and of open ones stay refused, older ones
 * are free again. */
static void test_link_ids_many(void **state)
{
    (void)state;
    fx f;
    fx_opts(&f);
    f.o.on_private = NULL;
    fx_start(&f);
    exch_ids ids;
    char msg[128], link[16];
    const int n = 7 * EXCH_MAX_CLOSED + 123;
    for (int i = 0; i < n; i++) {
        snprintf(link, sizeof link, "m%d", i);
        exch_order_req r = req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, link);
        assert_int_equal(create(&f, KEY, r, &ids, msg, sizeof msg), 0);
        assert_int_equal(
            exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg), 0);
    }
    exch_order_req o1 = req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, "open1");
    assert_int_equal(create(&f, KEY, o1, &ids, msg, sizeof msg), 0);
    /* refused ones first: they change nothing, while each accepted one pushes an old id out */
    for (int i = n - 1; i >= 0; i -= 97) {
        snprintf(link, sizeof link, "m%d", i);
        exch_order_req r = req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.001", "40000", EXCH_GTC, link);
        int rc = create(&f, KEY, r, &ids, msg, sizeof msg);
        if (i >= n - EXCH_MAX_CLOSED) {
            assert_int_equal(rc, EXCH_ERR_PARAM);
            assert_string_equal(msg, "OrderLinkedID is duplicate");
            continue;
        }
        if (rc != 0)
            fail_msg("id %s (of %d) refused: %s", link, n, msg);
        assert_int_equal(
            exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg), 0);
    }
    assert_int_equal(create(&f, KEY, o1, &ids, msg, sizeof msg), EXCH_ERR_PARAM);
    fx_free(&f);
}

static void test_reset(void **state)
{
    (void)state;
    fx f;
    fx_init(&f);
    double bid0, ask0;
    best(f.x, "BTCUSDT", &bid0, &ask0);
    exch_ids ids;
    char msg[128];
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_MARKET, "0.5", NULL, EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    assert_int_equal(create(&f, KEY,
                            req("BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "50000", EXCH_GTC, NULL),
                            &ids, msg, sizeof msg),
                     0);
    for (int i = 1; i <= 100; i++)
        exch_tick(f.x, T0 + 20 * i);
    exch_reset(f.x, T0);
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_int_equal(st.open_orders, 0);
    assert_int_equal(st.accounts, 2);
    assert_int_equal(st.orders_created, 0);
    cJSON *l;
    assert_int_equal(exch_positions(f.x, KEY, "BTCUSDT", &l, msg, sizeof msg), 0);
    assert_string_equal(str(cJSON_GetArrayItem(l, 0), "size"), "0.000");
    cJSON_Delete(l);
    cJSON *r;
    assert_int_equal(exch_wallet(f.x, KEY, &r, msg, sizeof msg), 0);
    assert_near(num(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "list"), 0), "totalWalletBalance"),
                1000000, 1e-9);
    cJSON_Delete(r);
    double bid1, ask1;
    best(f.x, "BTCUSDT", &bid1, &ask1);
    assert_near(bid0, bid1, 1e-9);
    assert_near(ask0, ask1, 1e-9);
    assert_int_equal(
        exch_cancel(f.x, KEY, "BTCUSDT", ids.order_id, NULL, T0, &ids, msg, sizeof msg),
        EXCH_ERR_NO_ORDER);
    /* feeds start over */
    sink_clear(&f.s);
    f.s.only = "orderbook.1.BTCUSDT";
    exch_tick(f.x, T0 + 20);
    assert_int_equal(f.s.npub, 1);
    cJSON *m = cJSON_Parse(f.s.pubs[0].msg);
    assert_string_equal(str(m, "type"), "snapshot");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "data"), "u")->valueint, 1);
    cJSON_Delete(m);
    fx_free(&f);
}

/* Runs a scripted session and returns every output as one string. */
static char *script(uint64_t seed)
{
    fx f;
    fx_opts(&f);
    f.o.seed = seed;
    f.o.p_ack_before_state = 0.3;
    f.o.p_dup_filled = 0.2;
    f.o.p_cancel_with_exec = 0.3;
    f.o.volatility = 0.2;
    fx_start(&f);
    exch_ids ids;
    char msg[128];
    int64_t t = T0;
    for (int i = 0; i < 300; i++) {
        t += 20;
        if (i % 10 == 0) {
            double bid, ask;
            best(f.x, "ETHUSDT", &bid, &ask);
            char px[32];
            snprintf(px, sizeof px, "%.2f", i % 20 ? bid - 0.01 * (i % 7) : ask + 0.01 * (i % 5));
            create(&f, i % 3 ? KEY : KB,
                   req("ETHUSDT", i % 20 ? EXCH_BUY : EXCH_SELL, EXCH_LIMIT, "0.30", px, EXCH_GTC,
                       NULL),
                   &ids, msg, sizeof msg);
        }
        if (i % 10 == 7)
            exch_cancel(f.x, i % 3 ? KEY : KB, NULL, ids.order_id, NULL, t, &ids, msg, sizeof msg);
        if (i % 50 == 25)
            create(&f, KEY, req("BTCUSDT", EXCH_SELL, EXCH_MARKET, "0.02", NULL, EXCH_GTC, NULL),
                   &ids, msg, sizeof msg);
        exch_tick(f.x, t);
    }
    size_t n = 0;
    for (size_t i = 0; i < f.s.nev; i++) {
        char *j = cJSON_PrintUnformatted(f.s.evs[i].item);
        n += strlen(j) + strlen(f.s.evs[i].key) + strlen(f.s.evs[i].topic) + 3;
        free(j);
    }
    for (size_t i = 0; i < f.s.npub; i++)
        n += strlen(f.s.pubs[i].msg) + 1;
    char *out = malloc(n + 1), *p = out;
    assert_non_null(out);
    for (size_t i = 0; i < f.s.nev; i++) {
        char *j = cJSON_PrintUnformatted(f.s.evs[i].item);
        p += snprintf(p, n + 1 - (size_t)(p - out), "%s %s %s\n", f.s.evs[i].key, f.s.evs[i].topic,
                      j);
        free(j);
    }
    for (size_t i = 0; i < f.s.npub; i++)
        p += snprintf(p, n + 1 - (size_t)(p - out), "%s\n", f.s.pubs[i].msg);
    *p = '\0';
    assert_true(f.s.nev > 20);
    fx_free(&f);
    return out;
}

static void test_determinism(void **state)
{
    (void)state;
    char *a = script(7), *b = script(7), *c = script(8);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
}

/* Random operations of two accounts over many ticks: nothing crashes (ASan/UBSan), the book is
 * never crossed, and the open-order count of the stats matches the orders listed. */
/* The setup of the busy runs: a fast market and every race switched on. */
static void fx_busy(fx *f, const char *only)
{
    fx_opts(f);
    f->o.volatility = 0.3;
    f->o.taker_per_s = 20;
    f->o.p_ack_before_state = 0.2;
    f->o.p_dup_filled = 0.1;
    f->o.p_cancel_with_exec = 0.2;
    f->s.only = only;
    fx_start(f);
}

/* One random operation of a busy run from the LCG state *r at time t: a create (3 in 8), a
 * cancel, an amend, a cancel-all (rarely) or nothing, on the ids of recent orders. */
static void random_op(fx *f, uint64_t *r, int64_t t, exch_ids ids[16])
{
    char msg[128];
    static const exch_tif tifs[] = {EXCH_GTC, EXCH_IOC, EXCH_FOK, EXCH_POSTONLY};
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned v = (unsigned)(*r >> 33);
    const char *key = v & 1 ? KEY : KB, *sym = v & 2 ? "ETHUSDT" : "BTCUSDT";
    double bid, ask;
    best(f->x, sym, &bid, &ask);
    assert_true(bid < ask);
    char px[32], q[32];
    double off = ((int)(v >> 8 & 15) - 4) * (v & 2 ? 0.01 : 0.1);
    exch_side side = v & 4 ? EXCH_BUY : EXCH_SELL;
    snprintf(px, sizeof px, v & 2 ? "%.2f" : "%.1f", side == EXCH_BUY ? bid - off : ask + off);
    snprintf(q, sizeof q, v & 2 ? "%.2f" : "%.3f", (v & 2 ? 0.01 : 0.001) * (1 + (v >> 12 & 31)));
    switch (v >> 20 & 7) {
    case 0:
    case 1:
    case 2:
        create(
            f, key,
            req(sym, side, v >> 23 & 1 ? EXCH_LIMIT : EXCH_MARKET, q, px, tifs[v >> 24 & 3], NULL),
            &ids[v >> 26 & 15], msg, sizeof msg);
        break;
    case 3:
        exch_cancel(f->x, key, NULL, ids[v >> 26 & 15].order_id, NULL, t, NULL, msg, sizeof msg);
        break;
    case 4:
        exch_amend(f->x, key, sym, ids[v >> 26 & 15].order_id, NULL, v >> 25 & 1 ? q : NULL, px, t,
                   NULL, msg, sizeof msg);
        break;
    case 5:
        if ((v >> 26 & 15) == 0)
            exch_cancel_all(f->x, key, NULL, t, NULL, msg, sizeof msg);
        break;
    default:
        break;
    }
}

/* The statuses a bot sees on the private "order" stream, per order. */
enum { TRACK_MAX = 4096 };
typedef struct track {
    char id[TRACK_MAX][40];
    int last[TRACK_MAX];
    int n, transitions;
} track;

/* Index of a wire orderStatus in the lifecycle (New stands for Pending too). */
static int wire_status(const char *s)
{
    static const char *const names[] = {"New", "PartiallyFilled", "Filled", "Cancelled",
                                        "Rejected"};
    static const exch_status sts[] = {EXCH_ST_NEW, EXCH_ST_PFILLED, EXCH_ST_FILLED,
                                      EXCH_ST_CANCELLED, EXCH_ST_REJECTED};
    for (int i = 0; i < 5; i++)
        if (s && strcmp(s, names[i]) == 0)
            return (int)sts[i];
    return -1;
}

/* Whether some event of the table leads from one status to the other. */
static int reachable(int from, int to)
{
    for (int e = 0; e < EXCH_EV__COUNT; e++)
        if (exch_status_next((exch_status)from, (exch_event)e) == to)
            return 1;
    return 0;
}

/* Each "order" message of the sink is a status the lifecycle table reaches from the order's
 * previous one: a first message may follow LIVE from Pending; an amend repeats New; the only
 * repeat of a final status is the documented duplicate Filled (p_dup_filled). */
static void track_statuses(track *tr, const sink *s)
{
    for (size_t k = 0; k < s->nev; k++) {
        if (strcmp(s->evs[k].topic, "order") != 0)
            continue;
        const char *id = str(s->evs[k].item, "orderId");
        int st = wire_status(str(s->evs[k].item, "orderStatus"));
        assert_true(st >= 0);
        int j = 0;
        while (j < tr->n && strcmp(tr->id[j], id) != 0)
            j++;
        if (j == tr->n) {
            assert_true(tr->n < TRACK_MAX);
            snprintf(tr->id[tr->n++], sizeof tr->id[0], "%s", id);
            tr->last[j] = EXCH_ST_PENDING; /* every order is born pending */
        }
        int prev = tr->last[j];
        if (st == prev && st == EXCH_ST_FILLED)
            continue;
        int ok = reachable(prev, st) || (prev == EXCH_ST_PENDING && reachable(EXCH_ST_NEW, st)) ||
                 (st == prev && st == EXCH_ST_NEW);
        if (!ok)
            fail_msg("order %s: %s after %s", id, exch_status_name((exch_status)st),
                     exch_status_name((exch_status)prev));
        tr->last[j] = st;
        tr->transitions++;
    }
}

static void test_random_ops_invariants(void **state)
{
    (void)state;
    fx f;
    fx_busy(&f, "orderbook.500.ETHUSDT");
    uint64_t r = 12345;
    int64_t t = T0;
    exch_ids ids[16];
    memset(ids, 0, sizeof ids);
    static track tr; /* and the order stream follows the lifecycle table */
    memset(&tr, 0, sizeof tr);
    for (int i = 0; i < 3000; i++) {
        random_op(&f, &r, t, ids);
        t += 20;
        exch_tick(f.x, t);
        if (i % 100 == 0) {
            exch_stats st;
            exch_get_stats(f.x, &st);
            cJSON *all = exch_open_orders_all(f.x, NULL);
            assert_int_equal(cJSON_GetArraySize(all), st.open_orders);
            cJSON_Delete(all);
            track_statuses(&tr, &f.s);
            sink_clear(&f.s);
        }
    }
    exch_stats st;
    exch_get_stats(f.x, &st);
    assert_true(st.fills > 0);
    assert_true(st.book_messages > 0);
    track_statuses(&tr, &f.s);
    assert_true(tr.transitions > 500);
    assert_int_equal(st.refused_transitions, 0);
    fx_free(&f);
}

/* ---- the order lifecycle table: every cell ---- */

static void test_status_table(void **state)
{
    (void)state;
    enum { P = EXCH_ST_PENDING, N = EXCH_ST_NEW, PF = EXCH_ST_PFILLED, F = EXCH_ST_FILLED };
    enum { C = EXCH_ST_CANCELLED, R = EXCH_ST_REJECTED, NO = -1 };
    /* rows: from; columns: LIVE, FILL, FILL_ALL, CANCEL, REJECT */
    static const int want[EXCH_ST__COUNT][EXCH_EV__COUNT] = {
        [EXCH_ST_PENDING] = {N, NO, NO, C, R},      [EXCH_ST_NEW] = {NO, PF, F, C, R},
        [EXCH_ST_PFILLED] = {NO, PF, F, C, NO},     [EXCH_ST_FILLED] = {NO, NO, NO, NO, NO},
        [EXCH_ST_CANCELLED] = {NO, NO, NO, NO, NO}, [EXCH_ST_REJECTED] = {NO, NO, NO, NO, NO},
    };
    (void)P;
    for (int st = 0; st < EXCH_ST__COUNT; st++)
        for (int e = 0; e < EXCH_EV__COUNT; e++)
            if (exch_status_next((exch_status)st, (exch_event)e) != want[st][e])
                fail_msg("status %d event %d: %d, want %d", st, e,
                         exch_status_next((exch_status)st, (exch_event)e), want[st][e]);
    /* out of range: refused */
    assert_int_equal(exch_status_next(EXCH_ST__COUNT, EXCH_EV_LIVE), -1);
    assert_int_equal(exch_status_next(EXCH_ST_NEW, EXCH_EV__COUNT), -1);
    assert_int_equal(exch_status_next((exch_status)-1, EXCH_EV_FILL), -1);
}

static void test_status_names(void **state)
{
    (void)state;
    /* Bybit's orderStatus; a pending (not yet live) order shows as New */
    assert_string_equal(exch_status_name(EXCH_ST_PENDING), "New");
    assert_string_equal(exch_status_name(EXCH_ST_NEW), "New");
    assert_string_equal(exch_status_name(EXCH_ST_PFILLED), "PartiallyFilled");
    assert_string_equal(exch_status_name(EXCH_ST_FILLED), "Filled");
    assert_string_equal(exch_status_name(EXCH_ST_CANCELLED), "Cancelled");
    assert_string_equal(exch_status_name(EXCH_ST_REJECTED), "Rejected");
    assert_string_equal(exch_status_name(EXCH_ST__COUNT), "");
    int open[] = {1, 1, 1, 0, 0, 0};
    for (int st = 0; st < EXCH_ST__COUNT; st++)
        assert_int_equal(exch_status_open((exch_status)st), open[st]);
    assert_string_equal(exch_cancel_type_name(EXCH_CT_USER), "CancelByUser");
    assert_string_equal(exch_cancel_type_name(EXCH_CT_DCP), "CancelByDCP");
    assert_string_equal(exch_cancel_type_name(EXCH_CT_REDUCE_ONLY), "CancelByReduceOnly");
    assert_string_equal(exch_cancel_type_name(EXCH_CT_UNKNOWN), "UNKNOWN");
    assert_string_equal(exch_reject_name(EXCH_REJ_NONE), "EC_NoError");
    assert_string_equal(exch_reject_name(EXCH_REJ_POSTONLY), "EC_PostOnlyWillTakeLiquidity");
    assert_string_equal(exch_reject_name(EXCH_REJ_FOK), "EC_CancelForNoFullFill");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instruments),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_create_cancel),
        cmocka_unit_test(test_param_errors),
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_amend),
        cmocka_unit_test(test_postonly_cross),
        cmocka_unit_test(test_market_fill_position_wallet),
        cmocka_unit_test(test_ioc_fok),
        cmocka_unit_test(test_cross_accounts),
        cmocka_unit_test(test_taker_flow_fills_resting),
        cmocka_unit_test(test_mid_moves_through_order),
        cmocka_unit_test(test_feed_snapshot_delta),
        cmocka_unit_test(test_feed_topics),
        cmocka_unit_test(test_dcp),
        cmocka_unit_test(test_ack_before_state),
        cmocka_unit_test(test_cancel_with_exec),
        cmocka_unit_test(test_dup_filled),
        cmocka_unit_test(test_too_many_active),
        cmocka_unit_test(test_closed_ring_bounded),
        cmocka_unit_test(test_link_ids_many),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_random_ops_invariants),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
