/* Tests of views: the JSON a client parses (order items, executions, the book feed's snapshot
 * then deltas with u and seq, publicTrade messages) from records built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "views.h"

#define T0 1700000000000LL

static void btc(market *m)
{
    market_instr in;
    assert_int_equal(market_default_instr(0, &in), 0);
    market_init(m, 0, &in, 1, 200, 5);
    market_start(m, T0);
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_order_item(void **state)
{
    (void)state;
    market m;
    btc(&m);
    exch_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "id-1");
    snprintf(o.link, sizeof o.link, "my-1");
    o.side = EXCH_BUY;
    o.type = EXCH_LIMIT;
    o.tif = EXCH_POSTONLY;
    o.px = 600005; /* 60000.5 */
    o.qty = 10;    /* 0.010 */
    o.cum = 4;
    o.value = 0.004 * 60000.5;
    o.st = EXCH_ST_PFILLED;
    o.cancel_type = EXCH_CT_UNKNOWN;
    o.reject = EXCH_REJ_NONE;
    o.created = T0;
    o.updated = T0 + 5;
    cJSON *j = views_order(&m, &o, 1);
    assert_non_null(j);
    assert_string_equal(field(j, "category"), "linear");
    assert_string_equal(field(j, "symbol"), "BTCUSDT");
    assert_string_equal(field(j, "price"), "60000.5");
    assert_string_equal(field(j, "qty"), "0.010");
    assert_string_equal(field(j, "orderStatus"), "PartiallyFilled");
    assert_string_equal(field(j, "leavesQty"), "0.006");
    assert_string_equal(field(j, "cumExecQty"), "0.004");
    assert_string_equal(field(j, "avgPrice"), "60000.5");
    assert_string_equal(field(j, "timeInForce"), "PostOnly");
    assert_string_equal(field(j, "rejectReason"), "EC_NoError");
    assert_string_equal(field(j, "updatedTime"), "1700000000005");
    cJSON_Delete(j);
    /* closed: nothing leaves; a pending one shows as New; a Market order has price 0, IOC */
    o.st = EXCH_ST_CANCELLED;
    o.cancel_type = EXCH_CT_USER;
    j = views_order(&m, &o, 0);
    assert_null(cJSON_GetObjectItem(j, "category"));
    assert_string_equal(field(j, "leavesQty"), "0.000");
    assert_string_equal(field(j, "leavesValue"), "0");
    assert_string_equal(field(j, "cancelType"), "CancelByUser");
    cJSON_Delete(j);
    o.st = EXCH_ST_PENDING;
    o.type = EXCH_MARKET;
    o.cum = 0;
    j = views_order(&m, &o, 0);
    assert_string_equal(field(j, "orderStatus"), "New");
    assert_string_equal(field(j, "price"), "0");
    assert_string_equal(field(j, "timeInForce"), "IOC");
    assert_string_equal(field(j, "avgPrice"), "0");
    cJSON_Delete(j);
}

static void test_execution_item(void **state)
{
    (void)state;
    market m;
    btc(&m);
    exch_order o;
    memset(&o, 0, sizeof o);
    o.side = EXCH_SELL;
    o.type = EXCH_LIMIT;
    o.px = 600000;
    o.qty = 2;
    o.cum = 2;
    views_fill f = {"e-1", 2, 600000, 1, 120.0, 0.024, 0.0002, 1, T0};
    cJSON *e = views_execution(&m, &o, &f);
    assert_string_equal(field(e, "execId"), "e-1");
    assert_string_equal(field(e, "execPrice"), "60000.0");
    assert_string_equal(field(e, "execQty"), "0.002");
    assert_string_equal(field(e, "execValue"), "120");
    assert_string_equal(field(e, "execFee"), "0.024");
    assert_string_equal(field(e, "feeRate"), "0.0002");
    assert_string_equal(field(e, "closedSize"), "0.001");
    assert_string_equal(field(e, "leavesQty"), "0.000");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "isMaker")));
    cJSON_Delete(e);
}

static void test_stream_snapshot_then_deltas(void **state)
{
    (void)state;
    market m;
    btc(&m);
    views_stream st;
    assert_int_equal(views_stream_init(&st, 50, "BTCUSDT"), 0);
    assert_string_equal(st.topic, "orderbook.50.BTCUSDT");
    sbuf s;
    sbuf_init(&s, 1 << 20);
    market_level b[3] = {{100, 1}, {99, 2}, {98, 3}}, a[2] = {{101, 4}, {102, 5}};
    market_level db[8], da[8];
    assert_int_equal(views_stream_publish(&st, &m, b, 3, a, 2, db, da, T0, &s), 1);
    assert_non_null(strstr(s.data, "\"type\":\"snapshot\""));
    assert_non_null(strstr(s.data, "\"b\":[[\"10.0\",\"0.001\"],[\"9.9\",\"0.002\"]"));
    assert_non_null(strstr(s.data, "\"u\":1,"));
    /* the same book: nothing to send */
    assert_int_equal(views_stream_publish(&st, &m, b, 3, a, 2, db, da, T0 + 20, &s), 0);
    /* a changed size, a removed level and a new one */
    market_level b2[3] = {{100, 7}, {99, 2}, {97, 1}};
    assert_int_equal(views_stream_publish(&st, &m, b2, 3, a, 2, db, da, T0 + 40, &s), 1);
    assert_non_null(strstr(s.data, "\"type\":\"delta\""));
    assert_non_null(strstr(
        s.data, "\"b\":[[\"10.0\",\"0.007\"],[\"9.8\",\"0\"],[\"9.7\",\"0.001\"]],\"a\":[]"));
    assert_non_null(strstr(s.data, "\"u\":2,"));
    /* a late subscriber gets the last published book with its u */
    assert_int_equal(views_stream_snapshot(&st, &m, T0 + 60, &s), 0);
    assert_non_null(strstr(s.data, "\"type\":\"snapshot\""));
    assert_non_null(strstr(s.data, "[\"10.0\",\"0.007\"]"));
    assert_non_null(strstr(s.data, "\"u\":2,"));
    /* a reset: the next message is a snapshot with u 1 */
    views_stream_reset(&st, 1);
    assert_int_equal(views_stream_publish(&st, &m, b, 3, a, 2, db, da, T0 + 80, &s), 1);
    assert_non_null(strstr(s.data, "\"type\":\"snapshot\""));
    assert_non_null(strstr(s.data, "\"u\":1,"));
    sbuf_free(&s);
    views_stream_free(&st);
}

static void test_trades_msg(void **state)
{
    (void)state;
    market m;
    btc(&m);
    sbuf s;
    sbuf_init(&s, 4096);
    views_trade t[2] = {{600000, 3, 1, "PlusTick", "t-1"}, {599999, 1, 0, "MinusTick", "t-2"}};
    assert_int_equal(views_trades_msg(&s, &m, "publicTrade.BTCUSDT", t, 2, T0), 0);
    cJSON *j = cJSON_Parse(s.data);
    assert_non_null(j);
    assert_string_equal(field(j, "topic"), "publicTrade.BTCUSDT");
    cJSON *d = cJSON_GetObjectItem(j, "data");
    assert_int_equal(cJSON_GetArraySize(d), 2);
    cJSON *t0 = cJSON_GetArrayItem(d, 0), *t1 = cJSON_GetArrayItem(d, 1);
    assert_string_equal(field(t0, "S"), "Buy");
    assert_string_equal(field(t0, "p"), "60000.0");
    assert_string_equal(field(t0, "v"), "0.003");
    assert_string_equal(field(t1, "L"), "MinusTick");
    assert_string_equal(field(t1, "S"), "Sell");
    cJSON_Delete(j);
    sbuf_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_item),
        cmocka_unit_test(test_execution_item),
        cmocka_unit_test(test_stream_snapshot_then_deltas),
        cmocka_unit_test(test_trades_msg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
