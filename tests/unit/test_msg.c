/* Tests of msg: the Bybit v5 parsers on real message texts (captured from bybit-sim into
 * fuzz/corpus/mmws and fuzz/corpus/mmrest, and produced live by the simulator's exchange), on
 * the numbers a gate or an order relies on, and on malformed and hostile input. Every input is
 * handed over in a buffer of exactly its length (no NUL), so ASan sees any over-read. */
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
#include "exchange.h"
#include "msg.h"
#include "sbuf.h"

#define CORPUS FIXTURES "/../../fuzz/corpus"
#define FX(x)  ((int64_t)llround((x)*1e8))

/* ---- helpers ---- */

/* A copy of n bytes without a NUL after them (freed by the caller). */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

/* A corpus file, read whole into an exact-size buffer. */
static char *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open '%s'", path);
    static char tmp[1 << 16];
    size_t n = fread(tmp, 1, sizeof tmp, f);
    fclose(f);
    *len = n;
    return exact(tmp, n);
}

typedef int (*parse_fn)(const char *buf, size_t len, void *out);

/* Runs fn over a string literal in an exact-size buffer. */
static int run(parse_fn fn, const char *text, void *out)
{
    size_t n = strlen(text);
    char *b = exact(text, n);
    int rc = fn(b, n, out);
    free(b);
    return rc;
}

/* Adapters with one shape for run(); REST ones keep the envelope in ENV. */
static msg_envelope ENV;
static int p_book(const char *b, size_t n, void *o)
{
    return msg_book_update(b, n, o);
}
static int p_trades(const char *b, size_t n, void *o)
{
    return msg_trades_parse(b, n, o);
}
static int p_op(const char *b, size_t n, void *o)
{
    return msg_op_parse(b, n, o);
}
static int p_orders(const char *b, size_t n, void *o)
{
    return msg_ws_orders(b, n, o);
}
static int p_execs(const char *b, size_t n, void *o)
{
    return msg_ws_executions(b, n, o);
}
static int p_positions(const char *b, size_t n, void *o)
{
    return msg_ws_positions(b, n, o);
}
static int p_wallets(const char *b, size_t n, void *o)
{
    return msg_ws_wallets(b, n, o);
}
static int p_kind(const char *b, size_t n, void *o)
{
    return msg_ws_kind(b, n, o);
}
static int p_env(const char *b, size_t n, void *o)
{
    return msg_rest_envelope(b, n, o);
}
static int p_time(const char *b, size_t n, void *o)
{
    return msg_rest_time(b, n, &ENV, o);
}
static int p_instr(const char *b, size_t n, void *o)
{
    return msg_rest_instruments(b, n, &ENV, o);
}
static int p_ids(const char *b, size_t n, void *o)
{
    return msg_rest_order_ids(b, n, &ENV, o);
}
static int p_cancel_all(const char *b, size_t n, void *o)
{
    return msg_rest_cancel_all(b, n, &ENV, o);
}
static int p_batch(const char *b, size_t n, void *o)
{
    return msg_rest_batch(b, n, &ENV, o);
}
static int p_rorders(const char *b, size_t n, void *o)
{
    return msg_rest_orders(b, n, &ENV, o);
}
static int p_rpositions(const char *b, size_t n, void *o)
{
    return msg_rest_positions(b, n, &ENV, o);
}
static int p_rwallet(const char *b, size_t n, void *o)
{
    return msg_rest_wallet(b, n, &ENV, o);
}

/* Big outputs live here, not on the stack. */
static book_update UP;
static msg_trades TR;
static msg_op_reply OP;
static msg_order_list OL;
static msg_exec_list XL;
static msg_position_list PL;
static msg_wallet_list WL;
static msg_instrument_list IL;
static msg_id_list IDL;
static msg_batch BA;
static msg_ids IDS;
static msg_server_time ST;

/* Runs fn over a corpus file; returns its rc. */
static int run_file(parse_fn fn, const char *rel, void *out)
{
    size_t n;
    char *b = load(rel, &n);
    int rc = fn(b, n, out);
    free(b);
    return rc;
}

/* ---- numbers ---- */

static void test_fx(void **st)
{
    (void)st;
    int64_t v;
    static const struct {
        const char *s;
        int rc;
        int64_t v;
    } cases[] = {
        {"30000.5", 0, 3000050000000LL},
        {"0.00000001", 0, 1},
        {"1.000000000", 0, 100000000},
        {"-1.5", 0, -150000000},
        {"0", 0, 0},
        {"007", 0, 700000000},
        {"92233720367.99999999", 0, 9223372036799999999LL},
        {"0.000000001", ERR_RANGE, 0},
        {"92233720368", ERR_RANGE, 0},
        {"99999999999999999999999999", ERR_RANGE, 0},
        {"", ERR_PARSE, 0},
        {"-", ERR_PARSE, 0},
        {"1e5", ERR_PARSE, 0},
        {"+1", ERR_PARSE, 0},
        {"1.", ERR_PARSE, 0},
        {".5", ERR_PARSE, 0},
        {" 1", ERR_PARSE, 0},
        {"1 ", ERR_PARSE, 0},
        {"1.2.3", ERR_PARSE, 0},
        {"0x10", ERR_PARSE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].s);
        char *b = exact(cases[i].s, n);
        v = 42;
        int rc = msg_fx_parse(b, n, &v);
        free(b);
        if (rc != cases[i].rc)
            fail_msg("'%s': %s, want %s", cases[i].s, errcode_name(rc), errcode_name(cases[i].rc));
        if (rc == 0)
            assert_int_equal(v, cases[i].v);
    }
    /* a length shorter than the text: only those bytes count */
    assert_int_equal(msg_fx_parse("30000.5\"]", 7, &v), 0);
    assert_int_equal(v, FX(30000.5));

    char buf[32];
    assert_int_equal(msg_fx_format(FX(30000.5), buf, sizeof buf), 7);
    assert_string_equal(buf, "30000.5");
    msg_fx_format(1, buf, sizeof buf);
    assert_string_equal(buf, "0.00000001");
    msg_fx_format(-200000000, buf, sizeof buf);
    assert_string_equal(buf, "-2");
    msg_fx_format(0, buf, sizeof buf);
    assert_string_equal(buf, "0");
    msg_fx_format(INT64_MIN, buf, sizeof buf);
    assert_string_equal(buf, "-92233720368.54775808");
    assert_int_equal(msg_fx_format(FX(30000.5), buf, 7), ERR_RANGE);
    assert_string_equal(buf, "");
    /* format and parse are inverse on any tick grid */
    for (int64_t x = -1000003; x < 1000003; x += 997) {
        int n = msg_fx_format(x * 10007, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(msg_fx_parse(buf, (size_t)n, &v), 0);
        assert_int_equal(v, x * 10007);
    }
}

/* ---- WebSocket ---- */

static void test_kind(void **st)
{
    (void)st;
    static const struct {
        const char *file;
        msg_kind k;
    } cases[] = {
        {"mmws/orderbook_snapshot_1.json", MSG_BOOK},
        {"mmws/orderbook_delta_1.json", MSG_BOOK},
        {"mmws/publicTrade_snapshot_1.json", MSG_TRADE},
        {"mmws/op_ping_1.json", MSG_OP},
        {"mmws/op_pong_1.json", MSG_OP},
        {"mmws/op_subscribe_1.json", MSG_OP},
        {"mmws/op_auth_1.json", MSG_OP},
        {"mmws/order__1.json", MSG_ORDER},
        {"mmws/execution__1.json", MSG_EXECUTION},
        {"mmws/position__1.json", MSG_POSITION},
        {"mmws/wallet__1.json", MSG_WALLET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msg_kind k = MSG_UNKNOWN;
        assert_int_equal(run_file(p_kind, cases[i].file, &k), 0);
        if (k != cases[i].k)
            fail_msg("%s: %s", cases[i].file, msg_kind_name(k));
    }
    msg_kind k;
    assert_int_equal(run(p_kind, "{\"a\":[1,{\"b\":\"}\"}],\"topic\":\"order.linear\"}", &k), 0);
    assert_int_equal(k, MSG_ORDER);
    assert_int_equal(run(p_kind, "{\"topic\":\"orders\"}", &k), 0);
    assert_int_equal(k, MSG_UNKNOWN);
    assert_int_equal(run(p_kind, "{\"x\":1}", &k), 0);
    assert_int_equal(k, MSG_UNKNOWN);
    assert_int_equal(run(p_kind, "{}", &k), 0);
    assert_int_equal(k, MSG_UNKNOWN);
    assert_int_equal(run(p_kind, "[\"topic\"]", &k), ERR_PARSE);
    assert_int_equal(run(p_kind, "{\"x\":tru", &k), ERR_PARSE);
    assert_int_equal(run(p_kind, "", &k), ERR_PARSE);
    assert_string_equal(msg_kind_name(MSG_EXECUTION), "execution");
}

static void test_book_real(void **st)
{
    (void)st;
    book b;
    book_result r;
    assert_int_equal(book_init(&b, "BTCUSDT", 50), 0);
    assert_int_equal(run_file(p_book, "mmws/orderbook_snapshot_1.json", &UP), 0);
    assert_int_equal(UP.snapshot, 1);
    assert_int_equal(UP.depth, 50);
    assert_string_equal(UP.symbol, "BTCUSDT");
    assert_int_equal(UP.u, 1);
    assert_int_equal(UP.ts_ms, 1796114777420LL);
    assert_int_equal(UP.n[BOOK_BID], 50);
    assert_int_equal(UP.n[BOOK_ASK], 50);
    assert_int_equal(UP.lv[BOOK_BID][0].px, FX(60010.0));
    assert_int_equal(UP.lv[BOOK_BID][0].sz, FX(0.012));
    assert_int_equal(UP.lv[BOOK_BID][1].px, FX(60009.9));
    assert_int_equal(book_apply(&b, &UP, 1, &r), 0);
    assert_int_equal(r, BOOK_RESET);
    assert_int_equal(run_file(p_book, "mmws/orderbook_delta_1.json", &UP), 0);
    assert_int_equal(UP.snapshot, 0);
    assert_int_equal(UP.u, 2);
    /* the first delta removes 60010.0 with size "0" */
    assert_int_equal(UP.lv[BOOK_BID][0].px, FX(60010.0));
    assert_int_equal(UP.lv[BOOK_BID][0].sz, 0);
    assert_int_equal(book_apply(&b, &UP, 2, &r), 0);
    assert_int_equal(r, BOOK_APPLIED);
    assert_int_equal(run_file(p_book, "mmws/orderbook_delta_2.json", &UP), 0);
    assert_int_equal(book_apply(&b, &UP, 3, &r), 0);
    assert_int_equal(r, BOOK_APPLIED);
    assert_true(book_ready(&b));
    size_t nb, na;
    const book_level *bl = book_levels(&b, BOOK_BID, &nb), *al = book_levels(&b, BOOK_ASK, &na);
    assert_int_equal(nb, 50);
    assert_int_equal(na, 50);
    for (size_t i = 1; i < nb; i++)
        assert_true(bl[i - 1].px > bl[i].px);
    for (size_t i = 1; i < na; i++)
        assert_true(al[i - 1].px < al[i].px);
    assert_true(bl[0].px < al[0].px);
}

/* The simulator's own feed, live: parsed and applied, the book equals the stream's snapshot
 * after a few hundred deltas, and a service reset (u == 1) resyncs it. */
typedef struct feed {
    sbuf last; /* last message */
    int n;
} feed;

static void on_pub(void *ud, const char *topic, const char *msg, size_t len)
{
    feed *f = ud;
    if (strcmp(topic, "orderbook.50.BTCUSDT") != 0)
        return;
    sbuf_reset(&f->last);
    assert_int_equal(sbuf_add(&f->last, msg, len), 0);
    f->n++;
}

static int wanted(void *ud, const char *topic)
{
    (void)ud;
    return strcmp(topic, "orderbook.50.BTCUSDT") == 0;
}

static void feed_one(book *b, feed *f, book_result want)
{
    size_t n = f->last.len;
    char *m = exact(f->last.data, n);
    assert_int_equal(msg_book_update(m, n, &UP), 0);
    free(m);
    book_result r;
    assert_int_equal(book_apply(b, &UP, 0, &r), 0);
    if (r != want)
        fail_msg("got %s, want %s (u %lld)", book_result_name(r), book_result_name(want),
                 (long long)UP.u);
}

static void test_book_live_feed(void **st)
{
    (void)st;
    feed f = {.n = 0};
    sbuf_init(&f.last, 1 << 20);
    exch_opts o;
    exch_opts_default(&o);
    o.seed = 7;
    o.on_public = on_pub;
    o.wanted = wanted;
    o.ud = &f;
    int64_t t = 1700000000000LL;
    exch *x = exch_new(&o, t);
    assert_non_null(x);
    book b;
    assert_int_equal(book_init(&b, "BTCUSDT", 50), 0);
    char *snap = exch_book_snapshot_msg(x, "orderbook.50.BTCUSDT", t);
    assert_non_null(snap);
    assert_int_equal(msg_book_update(snap, strlen(snap), &UP), 0);
    free(snap);
    book_result r;
    assert_int_equal(book_apply(&b, &UP, 0, &r), 0);
    assert_int_equal(r, BOOK_RESET);
    int deltas = 0;
    for (int i = 0; i < 500; i++) {
        int before = f.n;
        exch_tick(x, t += 20);
        if (f.n > before) {
            feed_one(&b, &f, BOOK_APPLIED);
            deltas++;
        }
    }
    assert_true(deltas > 100);
    /* what the stream says the book is now */
    book ref;
    assert_int_equal(book_init(&ref, "BTCUSDT", 50), 0);
    snap = exch_book_snapshot_msg(x, "orderbook.50.BTCUSDT", t);
    assert_int_equal(msg_book_update(snap, strlen(snap), &UP), 0);
    free(snap);
    assert_int_equal(UP.u, b.u);
    assert_int_equal(book_apply(&ref, &UP, 0, &r), 0);
    for (int s = 0; s < 2; s++) {
        size_t n1, n2;
        const book_level *l1 = book_levels(&b, (book_side)s, &n1);
        const book_level *l2 = book_levels(&ref, (book_side)s, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(l1, l2, n1 * sizeof *l1);
    }
    /* a service restart: the next message is a snapshot with u == 1 */
    exch_book_reset(x);
    int before = f.n;
    for (int i = 0; i < 50 && f.n == before; i++)
        exch_tick(x, t += 20);
    assert_true(f.n > before);
    feed_one(&b, &f, BOOK_RESET);
    assert_int_equal(b.u, 1);
    /* a lost message is a gap */
    exch_tick(x, t += 20);
    before = f.n;
    for (int i = 0; i < 50 && f.n == before; i++)
        exch_tick(x, t += 20);
    feed_one(&b, &f, BOOK_GAP);
    exch_free(x);
    sbuf_free(&f.last);
}

static void test_book_malformed(void **st)
{
    (void)st;
#define BK(data)                                                                                   \
    "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"ts\":5,\"data\":" data "}"
    assert_int_equal(
        run(p_book, BK("{\"s\":\"BTCUSDT\",\"b\":[],\"a\":[[\"1.5\",\"2\"]],\"u\":9}"), &UP), 0);
    assert_int_equal(UP.n[BOOK_ASK], 1);
    assert_int_equal(UP.lv[BOOK_ASK][0].px, FX(1.5));
    /* whitespace, unknown keys of any shape, keys in any order */
    assert_int_equal(
        run(p_book,
            " {\"data\" : {\"u\" : 3 , \"x\":{\"y\":[null,true,false,-1.5e3,\"\\u00e9\"]},"
            "\"s\":\"BTCUSDT\"}, \"extra\":[[[]]], \"type\":\"snapshot\","
            "\"topic\":\"orderbook.1.BTCUSDT\"}\n",
            &UP),
        0);
    assert_int_equal(UP.snapshot, 1);
    assert_int_equal(UP.depth, 1);
    assert_int_equal(UP.u, 3);
    static const struct {
        const char *text;
        int rc;
    } bad[] = {
        {BK("{\"s\":\"ETHUSDT\",\"u\":9}"), ERR_PARSE},     /* symbol not the topic's */
        {BK("{\"s\":\"BTCUSDT\"}"), ERR_PARSE},             /* no u */
        {BK("{\"u\":9}"), ERR_PARSE},                       /* no s */
        {BK("{\"s\":\"BTCUSDT\",\"u\":\"9\"}"), ERR_PARSE}, /* u a string */
        {BK("{\"s\":\"BTCUSDT\",\"u\":9.5}"), ERR_PARSE},   /* u a fraction */
        {BK("{\"s\":\"BTCUSDT\",\"u\":99999999999999999999}"), ERR_RANGE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"1\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"1\",\"2\",\"3\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[1,2]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"-1\",\"2\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"0\",\"2\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"1\",\"-2\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"1\\u0030\",\"2\"]]}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":[[\"1.000000001\",\"2\"]]}"), ERR_RANGE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,\"b\":{}}"), ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9,}"), ERR_PARSE},
        {BK("[]"), ERR_PARSE},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\"}", ERR_PARSE}, /* no data */
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"data\":{\"s\":\"BTCUSDT\",\"u\":1}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"full\",\"data\":{}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.x.BTCUSDT\",\"type\":\"delta\",\"data\":{}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.0.BTCUSDT\",\"type\":\"delta\",\"data\":{}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.501.BTCUSDT\",\"type\":\"delta\",\"data\":{}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.50.\",\"type\":\"delta\",\"data\":{}}", ERR_PARSE},
        {"{\"topic\":\"orderbook.50.A23456789012345678901234567890123\"}", ERR_RANGE},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"delta\",\"data\":{}}", ERR_PARSE},
        {BK("{\"s\":\"BTCUSDT\",\"u\":9}") "x", ERR_PARSE}, /* trailing bytes */
        {BK("{\"s\":\"BTC\\\"USDT\",\"u\":9}"), ERR_PARSE},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"data\":{\"s\":\"BTCUSDT\","
         "\"u\":1,\"s\":\"\"}}",
         ERR_PARSE},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"x\":\"\x01\"}", ERR_PARSE},
        {"", ERR_PARSE},
        {"null", ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run(p_book, bad[i].text, &UP);
        if (rc != bad[i].rc)
            fail_msg("case %zu '%s': %s, want %s", i, bad[i].text, errcode_name(rc),
                     errcode_name(bad[i].rc));
    }
    /* nesting deeper than the skipper follows is refused, not a stack overflow */
    sbuf s;
    sbuf_init(&s, 1 << 20);
    sbuf_adds(&s, "{\"x\":");
    for (int i = 0; i < 100000; i++)
        sbuf_adds(&s, "[");
    assert_int_equal(run(p_book, s.data, &UP), ERR_PARSE);
    /* more levels than a side holds */
    sbuf_reset(&s);
    sbuf_adds(&s, "{\"topic\":\"orderbook.500.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"s\":"
                  "\"BTCUSDT\",\"u\":1,\"b\":[");
    for (int i = 0; i <= BOOK_MAX_LEVELS; i++)
        sbuf_printf(&s, "%s[\"%d\",\"1\"]", i ? "," : "", i + 1);
    sbuf_adds(&s, "]}}");
    assert_int_equal(run(p_book, s.data, &UP), ERR_FULL);
    sbuf_free(&s);
#undef BK
}

static void test_trades(void **st)
{
    (void)st;
    assert_int_equal(run_file(p_trades, "mmws/publicTrade_snapshot_1.json", &TR), 0);
    assert_string_equal(TR.symbol, "BTCUSDT");
    assert_int_equal(TR.n, 1);
    assert_int_equal(TR.v[0].t_ms, 1796114777556LL);
    assert_int_equal(TR.v[0].side, MSG_BUY);
    assert_int_equal(TR.v[0].qty, FX(0.001));
    assert_int_equal(TR.v[0].px, FX(60012.8));
    assert_string_equal(TR.v[0].id, "1d0b14e4-db01-4fed-b75f-04cbb5a1a1dd");
    assert_int_equal(TR.v[0].block, 0);
#define TT(item)                                                                                   \
    "{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":[" item "]}"
    assert_int_equal(run(p_trades, TT("{\"T\":1,\"s\":\"BTCUSDT\",\"v\":\"1\",\"p\":\"2\"}"), &TR),
                     ERR_PARSE); /* no side */
    assert_int_equal(
        run(p_trades, TT("{\"T\":1,\"s\":\"BTCUSDT\",\"S\":\"Up\",\"v\":\"1\",\"p\":\"2\"}"), &TR),
        ERR_PARSE);
    assert_int_equal(run(p_trades, TT("1"), &TR), ERR_PARSE);
    assert_int_equal(run(p_trades, "{\"topic\":\"orderbook.1.X\",\"data\":[]}", &TR), ERR_PARSE);
    assert_int_equal(run(p_trades, TT(""), &TR), 0);
    assert_int_equal(TR.n, 0);
    sbuf s;
    sbuf_init(&s, 1 << 20);
    sbuf_adds(&s, "{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[");
    for (int i = 0; i <= MSG_MAX_TRADES; i++)
        sbuf_printf(&s, "%s{\"T\":1,\"s\":\"BTCUSDT\",\"S\":\"Sell\",\"v\":\"1\",\"p\":\"2\"}",
                    i ? "," : "");
    sbuf_adds(&s, "]}");
    assert_int_equal(run(p_trades, s.data, &TR), ERR_FULL);
    sbuf_free(&s);
#undef TT
}

static void test_op(void **st)
{
    (void)st;
    assert_int_equal(run_file(p_op, "mmws/op_ping_1.json", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_PONG); /* the public pong is "op":"ping" */
    assert_int_equal(OP.success, 1);
    assert_string_equal(OP.ret_msg, "pong");
    assert_string_equal(OP.req_id, "p1");
    assert_int_equal(run_file(p_op, "mmws/op_pong_1.json", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_PONG);
    assert_int_equal(OP.success, 1);
    assert_int_equal(OP.pong_ms, 1796114777632LL);
    assert_string_equal(OP.conn_id, "sim00000002-8549-v");
    assert_int_equal(run_file(p_op, "mmws/op_subscribe_1.json", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_SUBSCRIBE);
    assert_int_equal(OP.success, 1);
    assert_int_equal(run_file(p_op, "mmws/op_subscribe_fail.json", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_SUBSCRIBE);
    assert_int_equal(OP.success, 0);
    assert_string_equal(OP.ret_msg, "error:handler not found,topic:orderbook.50.NOPE");
    assert_int_equal(run_file(p_op, "mmws/op_auth_1.json", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_AUTH);
    assert_int_equal(OP.success, 1);
    assert_int_equal(
        run(p_op, "{\"success\":false,\"ret_msg\":\"Params Error\",\"op\":\"auth\"}", &OP), 0);
    assert_int_equal(OP.success, 0);
    assert_int_equal(run(p_op, "{\"op\":\"subscribe\"}", &OP), ERR_PARSE); /* no success */
    assert_int_equal(run(p_op, "{\"success\":true}", &OP), ERR_PARSE);     /* no op */
    assert_int_equal(run(p_op, "{\"op\":\"subscribe\",\"success\":1}", &OP), ERR_PARSE);
    assert_int_equal(run(p_op, "{\"op\":\"pong\",\"args\":[\"x\"]}", &OP), ERR_PARSE);
    assert_int_equal(run(p_op, "{\"op\":\"order.create\",\"success\":true}", &OP), 0);
    assert_int_equal(OP.op, MSG_OP_OTHER);
    /* a long text is cut and flagged, a long id refused */
    char big[600];
    snprintf(big, sizeof big, "{\"op\":\"auth\",\"success\":false,\"ret_msg\":\"%0400d\"}", 7);
    assert_int_equal(run(p_op, big, &OP), 0);
    assert_int_equal(strlen(OP.ret_msg), MSG_TEXT_MAX);
    assert_int_equal(OP.ret_msg_truncated, 1);
    snprintf(big, sizeof big, "{\"op\":\"auth\",\"success\":true,\"conn_id\":\"%065d\"}", 7);
    assert_int_equal(run(p_op, big, &OP), ERR_RANGE);
}

static void test_private(void **st)
{
    (void)st;
    assert_int_equal(run_file(p_orders, "mmws/order__1.json", &OL), 0);
    assert_int_equal(OL.ts_ms, 1796114779293LL);
    assert_int_equal(OL.n, 1);
    msg_order *o = &OL.v[0];
    assert_string_equal(o->order_id, "06ca0a95-b7e8-45c7-9491-ff89aac68f9b");
    assert_string_equal(o->link_id, "mm-1-000001");
    assert_string_equal(o->symbol, "BTCUSDT");
    assert_int_equal(o->status, MSG_ST_NEW);
    assert_int_equal(o->side, MSG_BUY);
    assert_int_equal(o->type, MSG_OT_LIMIT);
    assert_int_equal(o->tif, MSG_TIF_POSTONLY);
    assert_int_equal(o->px, FX(50000.0));
    assert_int_equal(o->qty, FX(0.01));
    assert_int_equal(o->leaves_qty, FX(0.01));
    assert_int_equal(o->cum_exec_qty, 0);
    assert_string_equal(o->reject_reason, "EC_NoError");
    assert_int_equal(o->created_ms, 1796114779293LL);

    assert_int_equal(run_file(p_execs, "mmws/execution__1.json", &XL), 0);
    assert_int_equal(XL.n, 1);
    msg_exec *x = &XL.v[0];
    assert_string_equal(x->exec_id, "a208c12c-f0c7-4709-8abf-bb1d86fc26bb");
    assert_string_equal(x->link_id, "mm-1-000009");
    assert_int_equal(x->exec_px, FX(60012.5));
    assert_int_equal(x->exec_qty, FX(0.01));
    assert_true(fabs(x->exec_fee - 0.33006875) < 1e-12);
    assert_string_equal(x->exec_type, "Trade");
    assert_int_equal(x->is_maker, 0);
    assert_int_equal(x->exec_ms, 1796114779329LL);

    assert_int_equal(run_file(p_positions, "mmws/position__1.json", &PL), 0);
    assert_int_equal(PL.n, 1);
    assert_int_equal(PL.v[0].side, MSG_BUY);
    assert_int_equal(PL.v[0].size, FX(0.01));
    assert_true(fabs(PL.v[0].entry_px - 60012.5) < 1e-9);
    assert_true(fabs(PL.v[0].cum_realised_pnl + 0.33006875) < 1e-12);

    assert_int_equal(run_file(p_wallets, "mmws/wallet__1.json", &WL), 0);
    assert_int_equal(WL.n, 1);
    assert_string_equal(WL.v[0].account_type, "UNIFIED");
    assert_true(fabs(WL.v[0].total_equity - 99999.66913488) < 1e-6);
    assert_int_equal(WL.v[0].ncoins, 1);
    assert_string_equal(WL.v[0].coins[0].coin, "USDT");

    /* each parser takes its own topic only */
    assert_int_equal(run_file(p_orders, "mmws/execution__1.json", &OL), ERR_PARSE);
    assert_int_equal(run_file(p_execs, "mmws/order__1.json", &XL), ERR_PARSE);
    assert_int_equal(run_file(p_positions, "mmws/wallet__1.json", &PL), ERR_PARSE);
    assert_int_equal(run_file(p_wallets, "mmws/position__1.json", &WL), ERR_PARSE);

#define OT(item) "{\"topic\":\"order\",\"data\":[" item "]}"
    /* ids past their caps are refused, not cut */
    assert_int_equal(run(p_orders,
                         OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"New\","
                            "\"orderLinkId\":\"0123456789012345678901234567890123456\"}"),
                         &OL),
                     ERR_RANGE);
    assert_int_equal(run(p_orders,
                         OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"New\","
                            "\"orderLinkId\":\"012345678901234567890123456789012345\"}"),
                         &OL),
                     0);
    assert_int_equal(strlen(OL.v[0].link_id), MSG_LINK_ID_MAX);
    char big[256];
    snprintf(big, sizeof big,
             OT("{\"orderId\":\"%065d\",\"symbol\":\"X\",\"orderStatus\":\"New\"}"), 1);
    assert_int_equal(run(p_orders, big, &OL), ERR_RANGE);
    /* required fields, types; an unknown status is kept as "other" */
    assert_int_equal(run(p_orders, OT("{\"symbol\":\"X\",\"orderStatus\":\"New\"}"), &OL),
                     ERR_PARSE);
    assert_int_equal(run(p_orders, OT("{\"orderId\":\"a\",\"symbol\":\"X\"}"), &OL), ERR_PARSE);
    assert_int_equal(
        run(p_orders, OT("{\"orderId\":\"\",\"symbol\":\"X\",\"orderStatus\":\"New\"}"), &OL),
        ERR_PARSE);
    assert_int_equal(
        run(p_orders, OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"Weird\"}"), &OL),
        0);
    assert_int_equal(OL.v[0].status, MSG_ST_OTHER);
    assert_int_equal(run(p_orders,
                         OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"New\","
                            "\"price\":\"1e3\"}"),
                         &OL),
                     ERR_PARSE);
    assert_int_equal(run(p_orders,
                         OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"New\","
                            "\"cumExecFee\":\"nan\"}"),
                         &OL),
                     ERR_PARSE);
    assert_int_equal(run(p_orders,
                         OT("{\"orderId\":\"a\",\"symbol\":\"X\",\"orderStatus\":\"Filled\","
                            "\"price\":30000.5,\"avgPrice\":\"\",\"reduceOnly\":true}"),
                         &OL),
                     0);
    assert_int_equal(OL.v[0].px, FX(30000.5));
    assert_int_equal(OL.v[0].status, MSG_ST_FILLED);
    assert_int_equal(OL.v[0].reduce_only, 1);
    assert_int_equal(run(p_orders, "{\"topic\":\"order\",\"data\":{}}", &OL), ERR_PARSE);
    assert_int_equal(run(p_orders, "{\"topic\":\"order\"}", &OL), ERR_PARSE);
    assert_int_equal(run(p_orders, "{\"topic\":\"order\",\"data\":[1]}", &OL), ERR_PARSE);
    sbuf s;
    sbuf_init(&s, 1 << 20);
    sbuf_adds(&s, "{\"topic\":\"order\",\"data\":[");
    for (int i = 0; i <= MSG_MAX_ITEMS; i++)
        sbuf_printf(&s, "%s{\"orderId\":\"%d\",\"symbol\":\"X\",\"orderStatus\":\"New\"}",
                    i ? "," : "", i);
    sbuf_adds(&s, "]}");
    assert_int_equal(run(p_orders, s.data, &OL), ERR_FULL);
    sbuf_free(&s);
    assert_int_equal(run(p_execs,
                         "{\"topic\":\"execution\",\"data\":[{\"execId\":\"e\",\"orderId\":\"o\","
                         "\"symbol\":\"X\",\"execPrice\":\"1\"}]}",
                         &XL),
                     ERR_PARSE); /* no execQty */
    assert_int_equal(run(p_positions,
                         "{\"topic\":\"position\",\"data\":[{\"symbol\":\"X\",\"size\":\"-1\"}]}",
                         &PL),
                     ERR_PARSE);
    assert_int_equal(
        run(p_positions,
            "{\"topic\":\"position\",\"data\":[{\"symbol\":\"X\",\"size\":\"0\",\"side\":\"\"}]}",
            &PL),
        0);
    assert_int_equal(PL.v[0].side, MSG_SIDE_NONE);
#undef OT
}

/* ---- REST ---- */

static void test_rest(void **st)
{
    (void)st;
    assert_int_equal(run_file(p_time, "mmrest/time.json", &ST), 0);
    assert_int_equal(ENV.ret_code, 0);
    assert_string_equal(ENV.ret_msg, "OK");
    assert_int_equal(ENV.time_ms, 1796114778246LL);
    assert_int_equal(ST.sec, 1796114778LL);
    assert_int_equal(ST.nano, 1796114778246000000LL);

    assert_int_equal(run_file(p_instr, "mmrest/instruments.json", &IL), 0);
    assert_int_equal(IL.n, 1);
    msg_instrument *in = &IL.v[0];
    assert_string_equal(in->symbol, "BTCUSDT");
    assert_string_equal(in->status, "Trading");
    assert_int_equal(in->trading, 1);
    assert_int_equal(in->tick, FX(0.1));
    assert_int_equal(in->min_px, FX(0.1));
    assert_int_equal(in->max_px, FX(1999999.8));
    assert_int_equal(in->qty_step, FX(0.001));
    assert_int_equal(in->min_qty, FX(0.001));
    assert_int_equal(in->max_qty, FX(100));
    assert_int_equal(in->min_notional, FX(5));
    /* an error reply: the code is the answer, the result is empty */
    assert_int_equal(run_file(p_instr, "mmrest/instruments_bad.json", &IL), 0);
    assert_int_equal(ENV.ret_code, 10001);
    assert_string_equal(ENV.ret_msg, "params error: symbol invalid");
    assert_int_equal(IL.n, 0);

    assert_int_equal(run_file(p_ids, "mmrest/create.json", &IDS), 0);
    assert_string_equal(IDS.order_id, "06ca0a95-b7e8-45c7-9491-ff89aac68f9b");
    assert_string_equal(IDS.link_id, "mm-1-000001");
    assert_int_equal(run_file(p_ids, "mmrest/amend.json", &IDS), 0);
    assert_string_equal(IDS.link_id, "mm-1-000001");
    assert_int_equal(run_file(p_ids, "mmrest/create_dup.json", &IDS), 0);
    assert_int_equal(ENV.ret_code, 10001);
    assert_string_equal(IDS.order_id, "");
    assert_int_equal(run_file(p_ids, "mmrest/cancel_gone.json", &IDS), 0);
    assert_int_equal(ENV.ret_code, 110008);

    assert_int_equal(run_file(p_cancel_all, "mmrest/cancel_all.json", &IDL), 0);
    assert_int_equal(IDL.n, 1);
    assert_string_equal(IDL.v[0].link_id, "mm-1-000001");

    assert_int_equal(run_file(p_batch, "mmrest/batch.json", &BA), 0);
    assert_int_equal(BA.n, 2);
    assert_int_equal(BA.v[0].code, 0);
    assert_string_equal(BA.v[0].ids.link_id, "mm-1-000002");
    assert_string_equal(BA.v[0].ids.order_id, "2c0e0fed-be22-48a8-80fa-6149d1ee0cb7");
    assert_int_equal(BA.v[1].code, 10001);
    assert_string_equal(BA.v[1].msg, "OrderLinkedID is duplicate");
    assert_string_equal(BA.v[1].ids.order_id, "");

    assert_int_equal(run_file(p_rorders, "mmrest/realtime.json", &OL), 0);
    assert_int_equal(OL.n, 1);
    assert_string_equal(OL.v[0].link_id, "mm-1-000002");
    assert_int_equal(OL.v[0].side, MSG_SELL);
    assert_int_equal(OL.v[0].px, FX(90000.0));
    assert_true(strlen(OL.next_cursor) > 0); /* limit=1 with two open orders: another page */

    assert_int_equal(run_file(p_rpositions, "mmrest/positions.json", &PL), 0);
    assert_int_equal(PL.n, 1);
    assert_int_equal(PL.v[0].size, FX(0.01));
    assert_true(fabs(PL.v[0].mark_px - 60013.9) < 1e-9);
    assert_string_equal(PL.next_cursor, "");

    assert_int_equal(run_file(p_rwallet, "mmrest/wallet.json", &WL), 0);
    assert_int_equal(WL.n, 1);
    assert_true(fabs(WL.v[0].total_available_balance - 99939.67651407) < 1e-6);
    assert_true(fabs(WL.v[0].coins[0].wallet_balance - 99999.66993125) < 1e-6);

    assert_int_equal(run_file(p_env, "mmrest/cancel_gone.json", &ENV), 0);
    assert_int_equal(ENV.ret_code, 110008);
}

static void test_rest_malformed(void **st)
{
    (void)st;
    assert_int_equal(run(p_env, "{\"retMsg\":\"OK\"}", &ENV), ERR_PARSE);
    assert_int_equal(run(p_env, "{\"retCode\":\"0\"}", &ENV), 0); /* a string is read too */
    assert_int_equal(run(p_env, "{\"retCode\":0.5}", &ENV), ERR_PARSE);
    assert_int_equal(run(p_env, "<html>502 Bad Gateway</html>", &ENV), ERR_PARSE);
    assert_int_equal(run(p_env, "[0]", &ENV), ERR_PARSE);
    assert_int_equal(run(p_env, "", &ENV), ERR_PARSE);
    /* retCode 0 needs a result */
    assert_int_equal(run(p_ids, "{\"retCode\":0,\"retMsg\":\"OK\"}", &IDS), ERR_PARSE);
    assert_int_equal(run(p_ids, "{\"retCode\":0,\"result\":{}}", &IDS), ERR_PARSE);
    assert_int_equal(run(p_ids, "{\"retCode\":0,\"result\":{\"orderId\":\"\"}}", &IDS), ERR_PARSE);
    assert_int_equal(run(p_ids, "{\"retCode\":10006,\"retMsg\":\"Too many visits!\"}", &IDS), 0);
    assert_int_equal(ENV.ret_code, 10006);
    assert_string_equal(ENV.ret_msg, "Too many visits!");
    /* batch: per-item codes must match the items */
    assert_int_equal(run(p_batch,
                         "{\"retCode\":0,\"result\":{\"list\":[{\"orderId\":\"a\"}]},"
                         "\"retExtInfo\":{\"list\":[]}}",
                         &BA),
                     ERR_PARSE);
    assert_int_equal(run(p_batch, "{\"retCode\":0,\"result\":{\"list\":[]}}", &BA), ERR_PARSE);
    assert_int_equal(
        run(p_instr,
            "{\"retCode\":0,\"result\":{\"list\":[{\"symbol\":\"X\",\"priceFilter\":{\"tickSize\":"
            "\"0\"},\"lotSizeFilter\":{\"qtyStep\":\"1\",\"minOrderQty\":\"1\"}}]}}",
            &IL),
        ERR_PARSE); /* a zero tick would divide by zero downstream */
    assert_int_equal(run(p_instr,
                         "{\"retCode\":0,\"result\":{\"list\":[{\"symbol\":\"X\",\"priceFilter\":{"
                         "\"tickSize\":\"0.5\"}}]}}",
                         &IL),
                     ERR_PARSE);
    assert_int_equal(run(p_time, "{\"retCode\":0,\"result\":{\"timeSecond\":\"12a\"}}", &ST),
                     ERR_PARSE);
    sbuf s;
    sbuf_init(&s, 1 << 20);
    sbuf_adds(&s, "{\"retCode\":0,\"result\":{\"list\":[");
    for (int i = 0; i <= MSG_MAX_IDS; i++)
        sbuf_printf(&s, "%s{\"orderId\":\"%d\"}", i ? "," : "", i);
    sbuf_adds(&s, "]}}");
    assert_int_equal(run(p_cancel_all, s.data, &IDL), ERR_FULL);
    sbuf_free(&s);
    /* NULL arguments */
    assert_int_equal(msg_rest_envelope(NULL, 0, &ENV), ERR_INVAL);
    assert_int_equal(msg_rest_orders("{}", 2, NULL, &OL), ERR_INVAL);
    assert_int_equal(msg_book_update("{}", 2, NULL), ERR_INVAL);
}

static void test_rate_headers(void **st)
{
    (void)st;
    size_t n;
    char *h = load("mmrest/headers.txt", &n);
    msg_ratelimit rl = {0};
    int ours = 0;
    for (char *p = h, *e = h + n; p < e;) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t ln = nl ? (size_t)(nl - p + 1) : (size_t)(e - p);
        char *line = exact(p, ln);
        int rc = msg_rate_header(line, ln, &rl);
        free(line);
        assert_true(rc == 0 || rc == ERR_NOENT);
        ours += rc == 0;
        p += ln;
    }
    free(h);
    assert_int_equal(ours, 3);
    assert_true(rl.has_limit && rl.has_status && rl.has_reset);
    assert_int_equal(rl.limit, 10);
    assert_int_equal(rl.status, 9);
    assert_int_equal(rl.reset_ms, 1796114780000LL);

    memset(&rl, 0, sizeof rl);
    assert_int_equal(msg_rate_header("x-bapi-limit-status:  0", 23, &rl), 0);
    assert_int_equal(rl.has_status, 1);
    assert_int_equal(rl.status, 0);
    assert_int_equal(rl.has_limit, 0);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: abc\r\n", 26, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: -1\r\n", 25, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: \r-1\r\n", 27, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: 1.5\r\n", 26, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: \r\n", 23, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit-Status: 1 2\r\n", 26, &rl), ERR_PARSE);
    assert_int_equal(msg_rate_header("X-Bapi-Limit: 99999999999999999999\r\n", 36, &rl), ERR_RANGE);
    assert_int_equal(msg_rate_header("X-Bapi-Limits: 5\r\n", 18, &rl), ERR_NOENT);
    assert_int_equal(msg_rate_header("HTTP/1.1 200 OK\r\n", 17, &rl), ERR_NOENT);
    assert_int_equal(msg_rate_header("\r\n", 2, &rl), ERR_NOENT);
    assert_int_equal(rl.status, 0); /* failures left it alone */
}

/* ---- hostile input over every corpus file ---- */

static const struct {
    const char *file;
    parse_fn fn;
    void *out;
} files[] = {
    {"mmws/orderbook_snapshot_1.json", p_book, &UP},
    {"mmws/orderbook_delta_1.json", p_book, &UP},
    {"mmws/publicTrade_snapshot_1.json", p_trades, &TR},
    {"mmws/op_ping_1.json", p_op, &OP},
    {"mmws/op_pong_1.json", p_op, &OP},
    {"mmws/op_subscribe_fail.json", p_op, &OP},
    {"mmws/op_auth_1.json", p_op, &OP},
    {"mmws/order__1.json", p_orders, &OL},
    {"mmws/execution__1.json", p_execs, &XL},
    {"mmws/position__1.json", p_positions, &PL},
    {"mmws/wallet__1.json", p_wallets, &WL},
    {"mmrest/time.json", p_time, &ST},
    {"mmrest/instruments.json", p_instr, &IL},
    {"mmrest/create.json", p_ids, &IDS},
    {"mmrest/cancel_all.json", p_cancel_all, &IDL},
    {"mmrest/batch.json", p_batch, &BA},
    {"mmrest/realtime.json", p_rorders, &OL},
    {"mmrest/positions.json", p_rpositions, &PL},
    {"mmrest/wallet.json", p_rwallet, &WL},
};

/* Every strict prefix of a real message is refused (none is a whole JSON value), every byte
 * flipped to a quote, a brace, a NUL or 0xff parses or fails cleanly. */
static void test_hostile(void **st)
{
    (void)st;
    uint64_t seed = 88172645463325252ULL;
    static const char junk[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '\0', '\xff', '0', '-'};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t n;
        char *full = load(files[f].file, &n);
        assert_int_equal(files[f].fn(full, n, files[f].out), 0);
        for (size_t k = 0; k < n; k++) {
            char *b = exact(full, k);
            int rc = files[f].fn(b, k, files[f].out);
            free(b);
            if (rc == 0)
                fail_msg("%s: prefix of %zu bytes accepted", files[f].file, k);
        }
        for (int i = 0; i < 2000; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            char *b = exact(full, n);
            b[seed % n] = junk[(seed >> 32) % sizeof junk];
            int rc = files[f].fn(b, n, files[f].out);
            assert_true(rc == 0 || rc == ERR_PARSE || rc == ERR_RANGE || rc == ERR_FULL);
            msg_kind k;
            msg_ws_kind(b, n, &k);
            free(b);
        }
        free(full);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fx),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_book_real),
        cmocka_unit_test(test_book_live_feed),
        cmocka_unit_test(test_book_malformed),
        cmocka_unit_test(test_trades),
        cmocka_unit_test(test_op),
        cmocka_unit_test(test_private),
        cmocka_unit_test(test_rest),
        cmocka_unit_test(test_rest_malformed),
        cmocka_unit_test(test_rate_headers),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
