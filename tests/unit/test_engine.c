/* engine: mmbot's decisions, driven as the program drives them but without sockets: quoting
 * only when every gate holds, orders on the grid, pulls without cancel storms, unknown orders
 * queried (never re-created), fills counted once, start-up reconciliation, pacing and the kill
 * switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "errcode.h"
#include "restc.h"

#define T0 1800000000000LL /* ms */

typedef struct fx {
    mmopts o;
    engine *e;
    engine_cmd cmds[64];
    size_t n;
    int64_t now;
    int64_t u;
} fx;

static void book_msg(fx *f, const char *type, double bid, double ask)
{
    char text[512];
    snprintf(
        text, sizeof text,
        "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"%s\",\"ts\":%lld,\"data\":{\"s\":"
        "\"BTCUSDT\",\"b\":[[\"%.1f\",\"2\"],[\"%.1f\",\"3\"]],\"a\":[[\"%.1f\",\"2\"],[\"%.1f\","
        "\"3\"]],\"u\":%lld,\"seq\":1}}",
        type, (long long)f->now, bid, bid - 0.1, ask, ask + 0.1, (long long)++f->u);
    static book_update up;
    assert_int_equal(msg_book_update(text, strlen(text), &up), 0);
    int resub = 0;
    assert_int_equal(engine_book(f->e, &up, f->now, &resub), 0);
    assert_int_equal(resub, 0);
}

static void instrument(fx *f)
{
    msg_instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "BTCUSDT");
    in.trading = 1;
    in.tick = BOOK_FX_ONE / 10;       /* 0.1 */
    in.qty_step = BOOK_FX_ONE / 1000; /* 0.001 */
    in.min_qty = BOOK_FX_ONE / 1000;
    in.min_notional = 5 * BOOK_FX_ONE;
    assert_int_equal(engine_instrument(f->e, &in, f->now), 0);
}

static void tick(fx *f)
{
    engine_tick(f->e, f->now, f->cmds, 64, &f->n);
}

static size_t count(const fx *f, engine_cmd_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->cmds[i].kind == k;
    return n;
}

/* Sends every CREATE of the last tick and acknowledges it; the stream then says New. */
static void place_all(fx *f)
{
    for (size_t i = 0; i < f->n; i++) {
        engine_cmd *c = &f->cmds[i];
        if (c->kind != ENGINE_CREATE)
            continue;
        engine_sent(f->e, c, f->now);
        engine_reply(f->e, c, RESTC_OK, 0, "oid", f->now);
        msg_order m;
        memset(&m, 0, sizeof m);
        snprintf(m.link_id, sizeof m.link_id, "%s", c->link_id);
        snprintf(m.order_id, sizeof m.order_id, "oid-%s", c->link_id);
        snprintf(m.symbol, sizeof m.symbol, "BTCUSDT");
        m.side = c->side == ORDERS_SELL ? MSG_SELL : MSG_BUY;
        m.status = MSG_ST_NEW;
        m.px = c->px;
        m.qty = c->qty;
        engine_order_item(f->e, &m, f->now);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    mmopts_init(&f->o);
    f->o.strategy.bid_spread_bps = 10;
    f->o.strategy.ask_spread_bps = 10;
    f->o.strategy.order_refresh_time_ms = 1000;
    f->o.risk.max_position = 0.01;
    f->o.risk.max_orders_per_second = 10;
    f->now = T0;
    char err[256];
    f->e = engine_new(&f->o, 2, 0, err, sizeof err);
    if (!f->e)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    engine_free(f->e);
    mmopts_free(&f->o);
    free(f);
    return 0;
}

/* Ready: every gate holds. */
static void ready(fx *f)
{
    instrument(f);
    engine_reconciled(f->e);
    engine_set_private_live(f->e, 1);
    book_msg(f, "snapshot", 60000.0, 60001.0);
}

/* A new engine on f->o as it is now (run id run), ready, after its first tick. */
static void renew_ready(fx *f, uint64_t run)
{
    engine_free(f->e);
    char err[256];
    f->e = engine_new(&f->o, run, 0, err, sizeof err);
    assert_non_null(f->e);
    ready(f);
    tick(f);
}

static void test_gates_then_two_sided_quotes(void **state)
{
    fx *f = *state;
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_NO_RECON);
    engine_reconciled(f->e);
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_NO_INSTR);
    instrument(f);
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_PRIVATE);
    engine_set_private_live(f->e, 1);
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_NO_BOOK);
    tick(f);
    assert_int_equal(f->n, 0); /* nothing to quote from */
    book_msg(f, "snapshot", 60000.0, 60001.0);
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_OK);
    tick(f);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    /* mid 60000.5, 10 bps: bid 59940.4995 down to the tick, ask 60060.5005 up to it */
    int64_t bid = 0, ask = 0;
    for (size_t i = 0; i < f->n; i++) {
        assert_true(f->cmds[i].post_only);
        assert_int_equal(f->cmds[i].qty, BOOK_FX_ONE / 1000);
        assert_int_equal(strncmp(f->cmds[i].link_id, "mmb2-", 5), 0); /* prefix + run id */
        if (f->cmds[i].side == ORDERS_BUY)
            bid = f->cmds[i].px;
        else
            ask = f->cmds[i].px;
    }
    assert_int_equal(bid, 599404 * (BOOK_FX_ONE / 10));
    assert_int_equal(ask, 600606 * (BOOK_FX_ONE / 10));
    place_all(f);
    engine_stats st;
    engine_stats_get(f->e, &st);
    assert_int_equal(st.creates, 2);
    /* nothing changed: the next tick sends nothing */
    f->now += 100;
    book_msg(f, "delta", 60000.0, 60001.0);
    tick(f);
    assert_int_equal(f->n, 0);
}

/* A gate that drops pulls the quotes with one cancel each, never again for the same order. */
static void test_pull_without_cancel_storm(void **state)
{
    fx *f = *state;
    ready(f);
    tick(f);
    place_all(f);
    engine_set_private_live(f->e, 0);
    f->now += 100;
    tick(f);
    assert_int_equal(count(f, ENGINE_CANCEL), 2);
    for (int i = 0; i < 5; i++) {
        f->now += 100;
        tick(f);
        assert_int_equal(f->n, 0); /* pending-cancel: never cancelled again */
    }
    engine_stats st;
    engine_stats_get(f->e, &st);
    assert_int_equal(st.cancels, 2);
    assert_int_equal(st.pulls, 1);
}

/* An ambiguous create makes the order unknown: it is queried (at most every 2 s), never sent
 * again; a query that does not find it resolves it. */
static void test_unknown_is_queried_not_resent(void **state)
{
    fx *f = *state;
    ready(f);
    tick(f);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    engine_cmd a = f->cmds[0], b = f->cmds[1];
    engine_sent(f->e, &a, f->now);
    engine_sent(f->e, &b, f->now);
    engine_reply(f->e, &a, RESTC_AMBIGUOUS, 10016, NULL, f->now);
    engine_reply(f->e, &b, RESTC_OK, 0, "ob", f->now);
    int terminal;
    assert_string_equal(engine_order_status(f->e, a.link_id, &terminal), "unknown");
    f->now += 10;
    tick(f);
    assert_int_equal(count(f, ENGINE_QUERY), 1);
    assert_string_equal(f->cmds[0].link_id, a.link_id);
    for (size_t i = 0; i < f->n; i++)
        assert_false(f->cmds[i].kind == ENGINE_CREATE && !strcmp(f->cmds[i].link_id, a.link_id));
    f->now += 500;
    tick(f);
    assert_int_equal(count(f, ENGINE_QUERY), 0); /* not again within 2 s */
    f->now += ENGINE_QUERY_MS;
    tick(f);
    assert_int_equal(count(f, ENGINE_QUERY), 1);
    engine_query_result(f->e, a.link_id, NULL, f->now);
    const char *st = engine_order_status(f->e, a.link_id, &terminal);
    assert_true(terminal);
    assert_string_equal(st, "rejected");
}

static void test_fills_counted_once(void **state)
{
    fx *f = *state;
    ready(f);
    tick(f);
    place_all(f);
    msg_exec x;
    memset(&x, 0, sizeof x);
    snprintf(x.exec_id, sizeof x.exec_id, "exec-1");
    snprintf(x.symbol, sizeof x.symbol, "BTCUSDT");
    snprintf(x.link_id, sizeof x.link_id, "%s", f->cmds[0].link_id);
    x.side = f->cmds[0].side == ORDERS_SELL ? MSG_SELL : MSG_BUY;
    x.exec_px = f->cmds[0].px;
    x.exec_qty = BOOK_FX_ONE / 1000;
    assert_int_equal(engine_exec_item(f->e, &x, f->now), 1);
    assert_int_equal(engine_exec_item(f->e, &x, f->now), 0); /* a replay */
    engine_fill_seen(f->e, "exec-before-restart");
    snprintf(x.exec_id, sizeof x.exec_id, "exec-before-restart");
    assert_int_equal(engine_exec_item(f->e, &x, f->now), 0);
    const orders_position *p = orders_position_get(engine_orders(f->e), "BTCUSDT");
    assert_non_null(p);
    assert_true(p->size == (x.side == MSG_SELL ? -0.001 : 0.001));
    engine_stats st;
    engine_stats_get(f->e, &st);
    assert_int_equal(st.fills_new, 1);
    assert_int_equal(st.fills_dup, 2);
}

/* Start-up: our orders of an ended run are cancelled; other bots' orders are left alone; only
 * then quoting begins. */
static void test_startup_reconciliation(void **state)
{
    fx *f = *state;
    instrument(f);
    static msg_order_list open;
    memset(&open, 0, sizeof open);
    const char *links[] = {"mmb1-7", "mmb1-8", "otherbot-1"};
    for (size_t i = 0; i < 3; i++) {
        msg_order *m = &open.v[open.n++];
        snprintf(m->link_id, sizeof m->link_id, "%s", links[i]);
        snprintf(m->order_id, sizeof m->order_id, "o%zu", i);
        snprintf(m->symbol, sizeof m->symbol, "BTCUSDT");
        m->status = MSG_ST_NEW;
        m->px = 50000 * BOOK_FX_ONE;
        m->qty = BOOK_FX_ONE / 1000;
    }
    engine_cmd cmds[16];
    size_t n = 0;
    engine_reconcile(f->e, &open, "BTCUSDT", 1, f->now, cmds, 16, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cmds[i].kind, ENGINE_CANCEL);
        assert_int_equal(cmds[i].tracked, 0);
        assert_int_equal(strncmp(cmds[i].link_id, "mmb1-", 5), 0);
    }
    engine_set_private_live(f->e, 1);
    book_msg(f, "snapshot", 60000.0, 60001.0);
    tick(f);
    assert_int_equal(f->n, 0); /* not reconciled yet: no quote */
    engine_reconciled(f->e);
    tick(f);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
}

/* Past order_refresh_time, the market moves 300 up, and the engine ticks. */
static void move_and_tick(fx *f)
{
    f->now += 1500;
    book_msg(f, "snapshot", 60300.0, 60301.0);
    tick(f);
}

/* A requote moves both quotes: cancel two, create two. With room under max_open_orders (and in
 * the pacing bucket) the creates go first, so that a new quote does not wait behind the cancel
 * it replaces; without room the cancels go first. */
static size_t requote_order(fx *f, unsigned max_open, engine_cmd_kind *kinds)
{
    f->o.risk.max_open_orders = max_open;
    renew_ready(f, 2);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    place_all(f);
    move_and_tick(f);
    for (size_t i = 0; i < f->n; i++)
        kinds[i] = f->cmds[i].kind;
    return f->n;
}

static void test_create_before_cancel_when_room(void **state)
{
    fx *f = *state;
    engine_cmd_kind k[64];
    assert_int_equal(requote_order(f, 20, k), 4);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    assert_int_equal(count(f, ENGINE_CANCEL), 2);
    assert_int_equal(k[0], ENGINE_CREATE);
    assert_int_equal(k[1], ENGINE_CREATE);
    assert_int_equal(k[2], ENGINE_CANCEL);
    assert_int_equal(k[3], ENGINE_CANCEL);
    /* 2 live + 2 new is over a cap of 3: the cancels first, and only one create fits */
    size_t n = requote_order(f, 3, k);
    assert_true(n >= 3);
    assert_int_equal(k[0], ENGINE_CANCEL);
    assert_int_equal(k[1], ENGINE_CANCEL);
    assert_int_equal(count(f, ENGINE_CREATE), 1);
}

/* strategy.amend_orders: a mispriced order confirmed by the stream moves with one amend, on the
 * new price's grid, and no cancel or create is sent; an order the stream has not confirmed
 * cannot be amended, and is replaced as before. */
static void test_amend_orders_moves_with_one_request(void **state)
{
    fx *f = *state;
    f->o.strategy.amend_orders = 1;
    renew_ready(f, 2);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    engine_cmd first[2];
    memcpy(first, f->cmds, sizeof first);
    place_all(f);
    move_and_tick(f);
    assert_int_equal(f->n, 2);
    assert_int_equal(count(f, ENGINE_AMEND), 2);
    for (size_t i = 0; i < 2; i++) {
        const engine_cmd *c = &f->cmds[i];
        int same = !strcmp(c->link_id, first[0].link_id) || !strcmp(c->link_id, first[1].link_id);
        assert_true(same);                               /* the live orders themselves */
        assert_int_equal(c->px % (BOOK_FX_ONE / 10), 0); /* on the 0.1 tick */
        if (c->side == ORDERS_BUY)
            assert_true(c->px < (int64_t)60300 * BOOK_FX_ONE);
        else
            assert_true(c->px > (int64_t)60301 * BOOK_FX_ONE);
    }
    /* created but not yet confirmed by the private stream: replaced, not amended */
    renew_ready(f, 2);
    for (size_t i = 0; i < f->n; i++) {
        engine_sent(f->e, &f->cmds[i], f->now);
        engine_reply(f->e, &f->cmds[i], RESTC_OK, 0, "oid", f->now);
    }
    move_and_tick(f);
    assert_int_equal(count(f, ENGINE_AMEND), 0);
    assert_int_equal(count(f, ENGINE_CREATE), 2);
    assert_int_equal(count(f, ENGINE_CANCEL), 2);
}

static void test_stale_pulls_and_kill(void **state)
{
    fx *f = *state;
    ready(f);
    tick(f);
    place_all(f);
    f->now += f->o.websocket.stale_timeout_ms + 1;
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_STALE);
    tick(f);
    assert_int_equal(count(f, ENGINE_CANCEL), 2);
    assert_false(engine_killed(f->e, NULL, 0)); /* a stall pulls quotes, it does not kill */
    f->now += f->o.risk.stale_kill_ms;
    tick(f);
    char why[ENGINE_REASON_MAX];
    assert_true(engine_killed(f->e, why, sizeof why));
    assert_non_null(strstr(why, "market data stale"));
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_KILLED);
}

static void test_position_breach_kills(void **state)
{
    fx *f = *state;
    ready(f);
    msg_position p;
    memset(&p, 0, sizeof p);
    snprintf(p.symbol, sizeof p.symbol, "BTCUSDT");
    p.side = MSG_BUY;
    p.size = BOOK_FX_ONE / 50; /* 0.02 > 0.01 x 1.5 */
    engine_position(f->e, &p);
    tick(f);
    char why[ENGINE_REASON_MAX];
    assert_true(engine_killed(f->e, why, sizeof why));
    assert_non_null(strstr(why, "past max_position"));
}

/* Non-retryable errors count toward the kill switch; retryable ones and 'already gone' do not. */
static void test_error_rate_kill(void **state)
{
    fx *f = *state;
    ready(f);
    engine_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = ENGINE_CANCEL;
    c.tracked = 0;
    for (unsigned i = 0; i < 100; i++) {
        engine_reply(f->e, &c, RESTC_RETRYABLE, 10006, NULL, f->now);
        engine_reply(f->e, &c, RESTC_REJECTED, 110001, NULL, f->now);
    }
    assert_false(engine_killed(f->e, NULL, 0));
    for (unsigned i = 0; i <= f->o.risk.max_errors_per_min; i++)
        engine_reply(f->e, &c, RESTC_REJECTED, 10001, NULL, f->now);
    assert_true(engine_killed(f->e, NULL, 0));
}

static void test_pacing(void **state)
{
    fx *f = *state;
    f->o.risk.max_orders_per_second = 1;
    renew_ready(f, 3);
    assert_int_equal(count(f, ENGINE_CREATE), 1); /* the bucket holds one */
    place_all(f);
    f->now += 200;
    tick(f);
    assert_int_equal(count(f, ENGINE_CREATE), 0);
    f->now += 900;
    tick(f);
    assert_int_equal(count(f, ENGINE_CREATE), 1);
    engine_stats st;
    engine_stats_get(f->e, &st);
    assert_true(st.paced >= 1);
}

static void test_dry_run_sends_nothing(void **state)
{
    fx *f = *state;
    engine_free(f->e);
    char err[256];
    f->e = engine_new(&f->o, 4, 1, err, sizeof err);
    instrument(f);
    book_msg(f, "snapshot", 60000.0, 60001.0);
    assert_int_equal(engine_can_quote(f->e, 0, f->now), ENGINE_GATE_DRY_RUN);
    tick(f);
    assert_int_equal(f->n, 0);
    const strategy_quotes *q = engine_quotes(f->e, 0);
    assert_int_equal(q->n, 2); /* computed all the same, for the log */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gates_then_two_sided_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_without_cancel_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_is_queried_not_resent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fills_counted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_reconciliation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_pulls_and_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_position_breach_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_rate_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_before_cancel_when_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amend_orders_moves_with_one_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_sends_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
