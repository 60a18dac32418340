/* orders: every cell of the state machine (impossible ones refused without a change), unknown
 * resolved both ways, duplicates and out-of-order messages, execId dedupe across a restart,
 * caps, positions, reconciliation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "errcode.h"
#include "orders.h"
#include "prng.h"
#include "testutil.h"

#define T0 1000000

static orders *mk(size_t max_active)
{
    orders_cfg c;
    orders_cfg_default(&c);
    snprintf(c.prefix, sizeof c.prefix, "mmT");
    snprintf(c.run_id, sizeof c.run_id, "r7");
    c.max_active = max_active;
    c.retention_ms = 5000;
    orders *o = NULL;
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    return o;
}

static int ev(orders *o, const char *link, orders_event e, const orders_update *u)
{
    return orders_event_apply(o, link, e, u, T0 + 10);
}

static orders_update upd(double price, double qty, double cum)
{
    orders_update u = {.order_id = "OID1", .price = price, .qty = qty, .cum_qty = cum};
    return u;
}

static int fill(orders *o, const char *exec, const char *link, orders_side side, double px,
                double qty, double fee)
{
    orders_fill f = {.exec_id = exec,
                     .link_id = link,
                     .symbol = "BTCUSDT",
                     .side = side,
                     .price = px,
                     .qty = qty,
                     .fee = fee};
    return orders_fill_apply(o, &f, T0 + 20);
}

/* Adds an order (qty 1 at 100) and drives it to state s by legal events; returns its link. */
static void reach(orders *o, orders_state s, char *link)
{
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, link, 40), 0);
    if (s == ORDERS_PENDING_NEW || s == ORDERS_UNKNOWN || s == ORDERS_REJECTED) {
        assert_int_equal(ev(o, link, ORDERS_EV_SEND, NULL), 0);
        if (s == ORDERS_UNKNOWN)
            assert_int_equal(ev(o, link, ORDERS_EV_AMBIGUOUS, NULL), 0);
        if (s == ORDERS_REJECTED)
            assert_int_equal(ev(o, link, ORDERS_EV_REJECTED, NULL), 0);
        assert_int_equal(orders_get(o, link)->state, s);
        return;
    }
    orders_update u = upd(100, 1, 0);
    assert_int_equal(ev(o, link, ORDERS_EV_SEND, NULL), 0);
    assert_int_equal(ev(o, link, ORDERS_EV_ACK, &u), 0);
    assert_int_equal(ev(o, link, ORDERS_EV_NEW, &u), 0);
    if (s == ORDERS_PARTIAL) {
        u.cum_qty = 0.4;
        assert_int_equal(ev(o, link, ORDERS_EV_PARTIAL, &u), 0);
    } else if (s == ORDERS_PENDING_AMEND) {
        orders_update a = {.price = 102};
        assert_int_equal(ev(o, link, ORDERS_EV_AMEND_SENT, &a), 0);
    } else if (s == ORDERS_PENDING_CANCEL) {
        assert_int_equal(ev(o, link, ORDERS_EV_CANCEL_SENT, NULL), 0);
    } else if (s == ORDERS_FILLED) {
        u.cum_qty = 1;
        assert_int_equal(ev(o, link, ORDERS_EV_FILLED, &u), 0);
    } else if (s == ORDERS_CANCELLED) {
        u.cum_qty = -1;
        assert_int_equal(ev(o, link, ORDERS_EV_CANCELLED, &u), 0);
    }
    assert_int_equal(orders_get(o, link)->state, s);
}

/* What a cell must do: R refused (ERR_BADSTATE, record untouched), D accepted with nothing
 * changed (a duplicate), C accepted and changed; then the state after it. */
typedef struct cell {
    char kind;
    orders_state to;
} cell;

#define PN ORDERS_PENDING_NEW
#define NW ORDERS_NEW
#define PF ORDERS_PARTIAL
#define PA ORDERS_PENDING_AMEND
#define PC ORDERS_PENDING_CANCEL
#define UK ORDERS_UNKNOWN
#define FL ORDERS_FILLED
#define CX ORDERS_CANCELLED
#define RJ ORDERS_REJECTED

/* Written from the design (docs/mmbot-internals.md), not from orders.c. Events in the order of
 * orders_event: send ack new partial filled cancelled rejected amend-sent amend-ok
 * amend-refused cancel-sent cancel-gone cancel-refused ambiguous query-found(New)
 * query-not-found missing execution(partial). */
static const cell expect[ORDERS_NSTATES][ORDERS_NEVENTS] = {
    [PN] = {{'R', PN},
            {'C', PN},
            {'C', NW},
            {'C', PF},
            {'C', FL},
            {'C', CX},
            {'C', RJ},
            {'R', PN},
            {'R', PN},
            {'R', PN},
            {'C', PC},
            {'R', PN},
            {'R', PN},
            {'C', UK},
            {'C', NW},
            {'D', PN},
            {'C', UK},
            {'C', PF}},
    [NW] = {{'R', NW},
            {'D', NW},
            {'D', NW},
            {'C', PF},
            {'C', FL},
            {'C', CX},
            {'R', NW},
            {'C', PA},
            {'D', NW},
            {'D', NW},
            {'C', PC},
            {'R', NW},
            {'R', NW},
            {'D', NW},
            {'D', NW},
            {'D', NW},
            {'C', UK},
            {'C', PF}},
    [PF] = {{'R', PF},
            {'D', PF},
            {'D', PF},
            {'C', PF},
            {'C', FL},
            {'C', CX},
            {'R', PF},
            {'C', PA},
            {'D', PF},
            {'D', PF},
            {'C', PC},
            {'R', PF},
            {'R', PF},
            {'D', PF},
            {'D', PF},
            {'D', PF},
            {'C', UK},
            {'C', PF}},
    [PA] = {{'R', PA},
            {'D', PA},
            {'D', PA},
            {'C', PA},
            {'C', FL},
            {'C', CX},
            {'R', PA},
            {'R', PA},
            {'C', NW},
            {'C', NW},
            {'C', PC},
            {'R', PA},
            {'R', PA},
            {'C', UK},
            {'D', PA},
            {'D', PA},
            {'C', UK},
            {'C', PA}},
    [PC] = {{'R', PC},
            {'D', PC},
            {'D', PC},
            {'C', PC},
            {'C', FL},
            {'C', CX},
            {'R', PC},
            {'R', PC},
            {'D', PC},
            {'D', PC},
            {'R', PC},
            {'C', CX},
            {'C', NW},
            {'C', UK},
            {'D', PC},
            {'D', PC},
            {'C', UK},
            {'C', PC}},
    [UK] = {{'R', UK},
            {'C', UK},
            {'C', NW},
            {'C', PF},
            {'C', FL},
            {'C', CX},
            {'C', RJ},
            {'R', UK},
            {'D', UK},
            {'D', UK},
            {'R', UK},
            {'D', UK},
            {'D', UK},
            {'D', UK},
            {'C', NW},
            {'C', RJ},
            {'D', UK},
            {'C', UK}},
    [FL] = {{'R', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'R', FL},
            {'R', FL},
            {'D', FL},
            {'D', FL},
            {'R', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'D', FL},
            {'C', FL}},
    [CX] = {{'R', CX},
            {'D', CX},
            {'D', CX},
            {'D', CX},
            {'C', CX},
            {'D', CX},
            {'R', CX},
            {'R', CX},
            {'D', CX},
            {'D', CX},
            {'R', CX},
            {'D', CX},
            {'D', CX},
            {'D', CX},
            {'D', CX},
            {'D', CX},
            {'D', CX},
            {'C', CX}},
    [RJ] = {{'R', RJ},
            {'C', RJ},
            {'R', RJ},
            {'R', RJ},
            {'R', RJ},
            {'R', RJ},
            {'D', RJ},
            {'R', RJ},
            {'D', RJ},
            {'D', RJ},
            {'R', RJ},
            {'D', RJ},
            {'D', RJ},
            {'D', RJ},
            {'R', RJ},
            {'D', RJ},
            {'D', RJ},
            {'C', RJ}},
};

/* The standard payload of each event in the cell test. */
static orders_update payload(orders_event e)
{
    orders_update u = upd(100, 1, -1);
    switch (e) {
    case ORDERS_EV_NEW:
        u.cum_qty = 0;
        break;
    case ORDERS_EV_PARTIAL:
        u.cum_qty = 0.5;
        break;
    case ORDERS_EV_FILLED:
        u.cum_qty = 1;
        break;
    case ORDERS_EV_AMEND_SENT:
        u = (orders_update){.price = 103, .cum_qty = -1};
        break;
    case ORDERS_EV_QUERY_FOUND:
        u.status = ORDERS_ST_NEW;
        u.cum_qty = 0;
        break;
    default:
        break;
    }
    return u;
}

static void test_every_cell(void **state)
{
    (void)state;
    int checked = 0;
    for (int s = 0; s < ORDERS_NSTATES; s++) {
        for (int e = 0; e < ORDERS_NEVENTS; e++) {
            orders *o = mk(10);
            char link[40];
            reach(o, (orders_state)s, link);
            orders_order before = *orders_get(o, link);
            orders_stats st0, st1;
            orders_stats_get(o, &st0);
            int rc;
            if (e == ORDERS_EV_EXEC) {
                rc = fill(o, "E-cell", link, ORDERS_BUY, 100, 0.2, 0.01);
            } else {
                orders_update u = payload((orders_event)e);
                rc = ev(o, link, (orders_event)e, &u);
            }
            const orders_order *after = orders_get(o, link);
            orders_stats_get(o, &st1);
            const cell *c = &expect[s][e];
            char what[96];
            snprintf(what, sizeof what, "%s + %s", orders_state_name((orders_state)s),
                     orders_event_name((orders_event)e));
            if (after->state != c->to)
                fail_msg("%s: state %s, want %s", what, orders_state_name(after->state),
                         orders_state_name(c->to));
            if (c->kind == 'R') {
                if (rc != ERR_BADSTATE)
                    fail_msg("%s: rc %d, want ERR_BADSTATE", what, rc);
                if (memcmp(&before, after, sizeof before) != 0)
                    fail_msg("%s: a refused event changed the order", what);
                assert_int_equal(st1.refused, st0.refused + 1);
            } else {
                if (rc != 0)
                    fail_msg("%s: rc %d (%s), want 0", what, rc, errcode_name(rc));
                int dup = st1.duplicates == st0.duplicates + 1;
                if (c->kind == 'D' && (!dup || memcmp(&before, after, sizeof before) != 0))
                    fail_msg("%s: want a duplicate that changes nothing", what);
                if (c->kind == 'C' && dup)
                    fail_msg("%s: want a change, got a duplicate", what);
            }
            checked++;
            orders_free(o);
        }
    }
    assert_int_equal(checked, ORDERS_NSTATES * ORDERS_NEVENTS);
}

static void test_create_never_sent_twice(void **state)
{
    (void)state;
    orders *o = mk(10);
    char link[40];
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_SELL, 100, 1, T0, link, sizeof link), 0);
    /* not sent yet: nothing can be in doubt, nothing can be cancelled */
    assert_int_equal(ev(o, link, ORDERS_EV_AMBIGUOUS, NULL), ERR_BADSTATE);
    assert_int_equal(ev(o, link, ORDERS_EV_CANCEL_SENT, NULL), ERR_BADSTATE);
    assert_int_equal(ev(o, link, ORDERS_EV_SEND, NULL), 0);
    assert_int_equal(orders_get(o, link)->sent_ms, T0 + 10);
    assert_true(orders_get(o, link)->flags & ORDERS_F_SENT);
    assert_int_equal(ev(o, link, ORDERS_EV_SEND, NULL), ERR_BADSTATE);
    assert_int_equal(ev(o, link, ORDERS_EV_AMBIGUOUS, NULL), 0);
    /* unknown: queried, never re-sent */
    assert_int_equal(ev(o, link, ORDERS_EV_SEND, NULL), ERR_BADSTATE);
    assert_int_equal(orders_get(o, link)->state, ORDERS_UNKNOWN);
    assert_int_equal(ev(o, "nope", ORDERS_EV_SEND, NULL), ERR_NOENT);
    assert_int_equal(ev(o, link, ORDERS_EV_EXEC, NULL), ERR_INVAL);
    assert_int_equal(ev(o, link, ORDERS_EV_QUERY_FOUND, NULL), ERR_INVAL);
    orders_free(o);
}

static void test_unknown_resolved_both_ways(void **state)
{
    (void)state;
    orders *o = mk(10);
    char a[40], b[40], c[40], d[40];
    /* a create in doubt, found live */
    reach(o, ORDERS_UNKNOWN, a);
    orders_update q = upd(100, 1, 0);
    q.status = ORDERS_ST_NEW;
    assert_int_equal(ev(o, a, ORDERS_EV_QUERY_FOUND, &q), 0);
    assert_int_equal(orders_get(o, a)->state, ORDERS_NEW);
    assert_string_equal(orders_get(o, a)->order_id, "OID1");
    /* a create in doubt, not found: it never lived */
    reach(o, ORDERS_UNKNOWN, b);
    assert_int_equal(ev(o, b, ORDERS_EV_QUERY_NOTFOUND, NULL), 0);
    assert_int_equal(orders_get(o, b)->state, ORDERS_REJECTED);
    assert_true(orders_get(o, b)->flags & ORDERS_F_INFERRED);
    /* ... until the stream says otherwise (acknowledged before it was live) */
    orders_update n = upd(100, 1, 0);
    assert_int_equal(ev(o, b, ORDERS_EV_NEW, &n), 0);
    assert_int_equal(orders_get(o, b)->state, ORDERS_NEW);
    assert_false(orders_get(o, b)->flags & ORDERS_F_INFERRED);
    /* a live order whose cancel is in doubt, not found: cancelled */
    reach(o, ORDERS_PENDING_CANCEL, c);
    assert_int_equal(ev(o, c, ORDERS_EV_AMBIGUOUS, NULL), 0);
    assert_int_equal(orders_get(o, c)->state, ORDERS_UNKNOWN);
    assert_int_equal(orders_get(o, c)->prev, ORDERS_PENDING_CANCEL);
    assert_int_equal(ev(o, c, ORDERS_EV_QUERY_NOTFOUND, NULL), 0);
    assert_int_equal(orders_get(o, c)->state, ORDERS_CANCELLED);
    /* an amend in doubt, found filled */
    reach(o, ORDERS_PENDING_AMEND, d);
    assert_int_equal(ev(o, d, ORDERS_EV_AMBIGUOUS, NULL), 0);
    q.status = ORDERS_ST_FILLED;
    q.cum_qty = 1;
    assert_int_equal(ev(o, d, ORDERS_EV_QUERY_FOUND, &q), 0);
    assert_int_equal(orders_get(o, d)->state, ORDERS_FILLED);
    assert_true(orders_get(o, d)->cum_qty == 1);
    orders_free(o);
}

static void test_duplicates_and_out_of_order(void **state)
{
    (void)state;
    orders *o = mk(10);
    char a[40], b[40], c[40];
    orders_stats st;
    /* a cancel racing a fill: Filled on the stream, then 110008, then Filled again */
    reach(o, ORDERS_NEW, a);
    assert_int_equal(ev(o, a, ORDERS_EV_CANCEL_SENT, NULL), 0);
    orders_update f = upd(100, 1, 1);
    assert_int_equal(ev(o, a, ORDERS_EV_FILLED, &f), 0);
    assert_int_equal(ev(o, a, ORDERS_EV_CANCEL_GONE, NULL), 0);
    orders_stats_get(o, &st);
    uint64_t dups = st.duplicates;
    assert_int_equal(ev(o, a, ORDERS_EV_FILLED, &f), 0);
    orders_stats_get(o, &st);
    assert_int_equal(st.duplicates, dups + 1);
    assert_int_equal(orders_get(o, a)->state, ORDERS_FILLED);
    /* the reply first: cancelled by inference, then the stream's Filled is the truth */
    reach(o, ORDERS_NEW, b);
    assert_int_equal(ev(o, b, ORDERS_EV_CANCEL_SENT, NULL), 0);
    assert_int_equal(ev(o, b, ORDERS_EV_CANCEL_GONE, NULL), 0);
    assert_int_equal(orders_get(o, b)->state, ORDERS_CANCELLED);
    assert_true(orders_get(o, b)->flags & ORDERS_F_INFERRED);
    assert_int_equal(ev(o, b, ORDERS_EV_FILLED, &f), 0);
    assert_int_equal(orders_get(o, b)->state, ORDERS_FILLED);
    assert_true(orders_get(o, b)->cum_qty == 1);
    /* New after PartiallyFilled; a PartiallyFilled with a smaller cumExecQty */
    reach(o, ORDERS_PARTIAL, c);
    orders_update n = upd(100, 1, 0);
    assert_int_equal(ev(o, c, ORDERS_EV_NEW, &n), 0);
    assert_int_equal(orders_get(o, c)->state, ORDERS_PARTIAL);
    assert_true(orders_get(o, c)->cum_qty == 0.4);
    orders_update p = upd(100, 1, 0.2);
    assert_int_equal(ev(o, c, ORDERS_EV_PARTIAL, &p), 0);
    assert_true(orders_get(o, c)->cum_qty == 0.4);
    /* a cancel gone for an order never seen live: in doubt, not cancelled */
    char d[40];
    reach(o, ORDERS_PENDING_NEW, d);
    assert_int_equal(ev(o, d, ORDERS_EV_CANCEL_SENT, NULL), 0);
    assert_int_equal(ev(o, d, ORDERS_EV_CANCEL_GONE, NULL), 0);
    assert_int_equal(orders_get(o, d)->state, ORDERS_UNKNOWN);
    orders_free(o);
}

static void test_amend_paths(void **state)
{
    (void)state;
    orders *o = mk(10);
    char a[40], b[40], c[40];
    /* the stream confirms the amend with the new price */
    reach(o, ORDERS_PENDING_AMEND, a);
    orders_update n = upd(102, 1, 0);
    assert_int_equal(ev(o, a, ORDERS_EV_NEW, &n), 0);
    assert_int_equal(orders_get(o, a)->state, ORDERS_NEW);
    assert_true(orders_get(o, a)->price == 102);
    assert_int_equal(ev(o, a, ORDERS_EV_AMEND_OK, NULL), 0); /* the late reply: nothing */
    assert_true(orders_get(o, a)->price == 102);
    /* refused: the old price stays */
    reach(o, ORDERS_PENDING_AMEND, b);
    assert_int_equal(ev(o, b, ORDERS_EV_AMEND_REFUSED, NULL), 0);
    assert_int_equal(orders_get(o, b)->state, ORDERS_NEW);
    assert_true(orders_get(o, b)->price == 100);
    orders_update none = {.cum_qty = -1};
    assert_int_equal(ev(o, b, ORDERS_EV_AMEND_SENT, &none), ERR_INVAL);
    /* a cancel while the amend is out, then the amend's answer, then the cancel refused */
    reach(o, ORDERS_PENDING_AMEND, c);
    assert_int_equal(ev(o, c, ORDERS_EV_CANCEL_SENT, NULL), 0);
    assert_int_equal(orders_get(o, c)->prev, ORDERS_PENDING_AMEND);
    assert_int_equal(ev(o, c, ORDERS_EV_AMEND_OK, NULL), 0);
    assert_int_equal(ev(o, c, ORDERS_EV_CANCEL_REFUSED, NULL), 0);
    assert_int_equal(orders_get(o, c)->state, ORDERS_NEW);
    assert_true(orders_get(o, c)->price == 102);
    orders_free(o);
}

static void test_fills_once_across_restart(void **state)
{
    (void)state;
    orders *o = mk(10);
    char a[40];
    reach(o, ORDERS_NEW, a);
    assert_int_equal(fill(o, "E1", a, ORDERS_BUY, 100, 0.5, 0.01), 0);
    assert_int_equal(fill(o, "E1", a, ORDERS_BUY, 100, 0.5, 0.01), ERR_DUP);
    assert_int_equal(orders_get(o, a)->state, ORDERS_PARTIAL);
    assert_int_equal(fill(o, "E2", a, ORDERS_BUY, 100, 0.5, 0.01), 0);
    assert_int_equal(orders_get(o, a)->state, ORDERS_FILLED);
    const orders_position *p = orders_position_get(o, "BTCUSDT");
    assert_non_null(p);
    assert_true(p->size == 1.0);
    assert_int_equal(p->fills, 2);
    orders_stats st;
    orders_stats_get(o, &st);
    assert_int_equal(st.fills, 2);
    assert_int_equal(st.fill_dups, 1);
    orders_free(o);

    /* restart: the state db gives back the execIds and the position; the stream replays */
    o = mk(10);
    assert_false(orders_fill_seen(o, "E1"));
    assert_int_equal(orders_fill_seen_add(o, "E1"), 0);
    assert_int_equal(orders_fill_seen_add(o, "E2"), 0);
    assert_int_equal(orders_fill_seen_add(o, "E2"), ERR_DUP);
    assert_int_equal(orders_fill_seen_add(o, ""), ERR_INVAL);
    orders_position saved = {.symbol = "BTCUSDT", .size = 1, .avg_price = 100, .fees = 0.02};
    assert_int_equal(orders_position_set(o, &saved), 0);
    assert_int_equal(fill(o, "E1", NULL, ORDERS_BUY, 100, 0.5, 0.01), ERR_DUP);
    assert_int_equal(fill(o, "E2", NULL, ORDERS_BUY, 100, 0.5, 0.01), ERR_DUP);
    p = orders_position_get(o, "BTCUSDT");
    assert_true(p->size == 1.0);
    assert_true(p->fees == 0.02);
    assert_int_equal(fill(o, "E3", NULL, ORDERS_SELL, 110, 1, 0.01), 0);
    assert_true(p->size == 0);
    assert_true(p->realised_pnl == 10.0);
    orders_free(o);
}

static void test_fill_set_is_bounded(void **state)
{
    (void)state;
    orders *o = mk(10);
    char id[32];
    for (int i = 0; i <= ORDERS_MAX_FILLS; i++) {
        snprintf(id, sizeof id, "X%d", i);
        assert_int_equal(orders_fill_seen_add(o, id), 0);
    }
    orders_stats st;
    orders_stats_get(o, &st);
    assert_int_equal(st.fills_seen, ORDERS_MAX_FILLS);
    assert_int_equal(st.fills_hwm, ORDERS_MAX_FILLS);
    assert_int_equal(st.fills_forgotten, 1);
    assert_false(orders_fill_seen(o, "X0")); /* the oldest is forgotten */
    for (int i = 1; i <= ORDERS_MAX_FILLS; i++) {
        snprintf(id, sizeof id, "X%d", i);
        if (!orders_fill_seen(o, id))
            fail_msg("lost %s", id);
    }
    char longid[ORDERS_EXEC_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    assert_int_equal(orders_fill_seen_add(o, longid), ERR_INVAL);
    orders_free(o);
}

/* The storage is resident from orders_new: filling the execId ring (512 KiB of ids) does not
 * raise RSS, so a soak of the bot sees a flat line, not hours of growth up to the cap. */
static void test_storage_resident_from_the_start(void **state)
{
    (void)state;
    orders *o = mk(10);
    long before = tu_resident_bytes();
    assert_true(before > 0);
    char id[ORDERS_EXEC_ID_MAX + 1];
    for (int i = 0; i < ORDERS_MAX_FILLS; i++) {
        snprintf(id, sizeof id, "%063d", i); /* the longest id: every byte of the ring */
        assert_int_equal(orders_fill_seen_add(o, id), 0);
    }
    long grew = tu_resident_bytes() - before;
    if (grew > 128 * 1024)
        fail_msg("RSS grew %ld kB while the execId ring filled", grew / 1024);
    orders_free(o);
}

static void test_position_math(void **state)
{
    (void)state;
    orders *o = mk(10);
    /* buy 1 @ 100, buy 1 @ 110: long 2 @ 105 */
    assert_int_equal(fill(o, "P1", NULL, ORDERS_BUY, 100, 1, 0.02), 0);
    assert_int_equal(fill(o, "P2", NULL, ORDERS_BUY, 110, 1, 0.02), 0);
    const orders_position *p = orders_position_get(o, "BTCUSDT");
    assert_true(p->size == 2 && p->avg_price == 105);
    /* sell 3 @ 120: 2 close at +15 each = 30 realised; short 1 opened @ 120 */
    assert_int_equal(fill(o, "P3", NULL, ORDERS_SELL, 120, 3, -0.01), 0);
    assert_true(p->size == -1 && p->avg_price == 120);
    assert_true(p->realised_pnl == 30);
    assert_true(p->fees > 0.0299 && p->fees < 0.0301);
    /* buy 1 @ 125 closes the short at -5 */
    assert_int_equal(fill(o, "P4", NULL, ORDERS_BUY, 125, 1, 0), 0);
    assert_true(p->size == 0 && p->avg_price == 0);
    assert_true(p->realised_pnl == 25);
    orders_fill bad = {.exec_id = "P5", .symbol = "BTCUSDT", .qty = 0};
    assert_int_equal(orders_fill_apply(o, &bad, T0), ERR_INVAL);
    orders_free(o);
}

static void test_symbols_capped(void **state)
{
    (void)state;
    orders *o = mk(10);
    char sym[16], id[16];
    for (int i = 0; i < ORDERS_MAX_SYMBOLS; i++) {
        snprintf(sym, sizeof sym, "S%dUSDT", i);
        snprintf(id, sizeof id, "e%d", i);
        orders_fill f = {.exec_id = id, .symbol = sym, .price = 1, .qty = 1};
        assert_int_equal(orders_fill_apply(o, &f, T0), 0);
    }
    orders_fill f = {.exec_id = "over", .symbol = "ZZUSDT", .price = 1, .qty = 1};
    assert_int_equal(orders_fill_apply(o, &f, T0), ERR_FULL);
    assert_false(orders_fill_seen(o, "over")); /* nothing recorded: it can come again */
    orders_free(o);
}

static void test_link_ids(void **state)
{
    (void)state;
    orders *o = mk(10);
    char l1[40], l2[40];
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, l1, sizeof l1), 0);
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, l2, sizeof l2), 0);
    assert_string_equal(l1, "mmTr7-1");
    assert_string_equal(l2, "mmTr7-2");
    assert_true(orders_is_ours(o, l1));
    assert_true(orders_is_this_run(o, l1));
    assert_true(orders_is_ours(o, "mmTr6-9"));
    assert_false(orders_is_this_run(o, "mmTr6-9"));
    assert_false(orders_is_this_run(o, "mmTr77-9"));
    assert_false(orders_is_ours(o, "other-1"));
    assert_false(orders_is_ours(o, NULL));
    char small[4];
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, small, sizeof small),
                     ERR_INVAL);
    assert_int_equal(orders_add(o, "", ORDERS_BUY, 100, 1, T0, NULL, 0), ERR_INVAL);
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 0, T0, NULL, 0), ERR_INVAL);
    orders_free(o);

    /* the longest prefix and run id still leave room for the sequence within 36 chars */
    orders_cfg c;
    orders_cfg_default(&c);
    snprintf(c.prefix, sizeof c.prefix, "ABCDEFGHIJKL");
    snprintf(c.run_id, sizeof c.run_id, "123456789012");
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    char l[40];
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 1, 1, T0, l, sizeof l), 0);
    assert_string_equal(l, "ABCDEFGHIJKL123456789012-1");
    assert_true(strlen(l) <= ORDERS_LINK_ID_MAX);
    orders_free(o);

    char msg[128];
    snprintf(c.prefix, sizeof c.prefix, "bad.prefix");
    assert_int_equal(orders_new(&c, &o, msg, sizeof msg), ERR_INVAL);
    assert_string_equal(msg, "orders: bad prefix: invalid argument");
    snprintf(c.prefix, sizeof c.prefix, "mm");
    snprintf(c.run_id, sizeof c.run_id, "a-b");
    assert_int_equal(orders_new(&c, &o, msg, sizeof msg), ERR_INVAL);
    assert_string_equal(msg, "orders: bad run id: invalid argument");
}

static void test_caps_and_retention(void **state)
{
    (void)state;
    orders *o = mk(3);
    char l[4][40];
    for (int i = 0; i < 3; i++)
        reach(o, ORDERS_NEW, l[i]);
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 1, 1, T0, NULL, 0), ERR_FULL);
    orders_stats st;
    orders_stats_get(o, &st);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.active, 3);
    assert_int_equal(st.active_hwm, 3);
    /* one ends: room again; the terminal one stays for the retention */
    orders_update f = upd(100, 1, 1);
    assert_int_equal(orders_event_apply(o, l[0], ORDERS_EV_FILLED, &f, T0 + 100), 0);
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 1, 1, T0 + 200, l[3], 40), 0);
    assert_non_null(orders_get(o, l[0]));
    assert_int_equal(orders_expire(o, T0 + 100 + 4999), 0);
    assert_int_equal(orders_expire(o, T0 + 100 + 5000), 1);
    assert_null(orders_get(o, l[0]));
    /* a late duplicate after the drop is simply not ours to track any more */
    assert_int_equal(orders_event_apply(o, l[0], ORDERS_EV_FILLED, &f, T0 + 6000), ERR_NOENT);
    orders_stats_get(o, &st);
    assert_int_equal(st.tracked, 3);
    assert_int_equal(st.tracked_hwm, 4);
    assert_int_equal(st.dropped_terminal, 1);
    orders_free(o);
}

static void test_full_table_drops_oldest_terminal(void **state)
{
    (void)state;
    orders_cfg c;
    orders_cfg_default(&c);
    c.max_active = ORDERS_MAX_TRACKED - 1;
    c.retention_ms = 1000000;
    orders *o;
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    char first[40], l[40];
    orders_update r = {.cum_qty = -1};
    for (int i = 0; i < ORDERS_MAX_TRACKED; i++) {
        assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 1, 1, T0 + i, l, sizeof l), 0);
        assert_int_equal(orders_event_apply(o, l, ORDERS_EV_SEND, NULL, T0 + i), 0);
        assert_int_equal(orders_event_apply(o, l, ORDERS_EV_REJECTED, &r, T0 + i), 0);
        if (i == 0)
            snprintf(first, sizeof first, "%s", l);
    }
    assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 1, 1, T0 + 9999, l, sizeof l), 0);
    assert_null(orders_get(o, first));
    assert_non_null(orders_get(o, l));
    orders_stats st;
    orders_stats_get(o, &st);
    assert_int_equal(st.tracked, ORDERS_MAX_TRACKED);
    assert_int_equal(st.tracked_hwm, ORDERS_MAX_TRACKED);
    orders_free(o);
}

static const orders_recon *find_rc(const orders_recon *rc, size_t n, const char *link)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rc[i].link_id, link) == 0)
            return &rc[i];
    return NULL;
}

static void test_reconcile_startup(void **state)
{
    (void)state;
    orders *o = mk(10);
    orders_open open[] = {
        {.link_id = "mmTr6-4", .order_id = "a", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = "mmTr7-1", .order_id = "b", .symbol = "BTCUSDT", .status = ORDERS_ST_PARTIAL},
        {.link_id = "manual-1", .order_id = "c", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = NULL, .order_id = "d", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
    };
    orders_recon rc[8];
    size_t n;
    assert_int_equal(orders_reconcile(o, open, 4, "BTCUSDT", 1, 2000, T0, rc, 8, &n), 0);
    assert_int_equal(n, 2); /* never another's order */
    assert_int_equal(find_rc(rc, n, "mmTr6-4")->kind, ORDERS_RC_CANCEL_ENDED);
    assert_int_equal(find_rc(rc, n, "mmTr7-1")->kind, ORDERS_RC_CANCEL_ENDED);
    assert_string_equal(find_rc(rc, n, "mmTr7-1")->order_id, "b");
    assert_int_equal(orders_reconcile(o, open, 4, "BTCUSDT", 1, 2000, T0, rc, 1, &n), ERR_FULL);
    assert_int_equal(n, 1);
    orders_free(o);
}

static void test_reconcile_periodic(void **state)
{
    (void)state;
    orders *o = mk(20);
    char live[40], gone[40], young[40], old[40], unk[40], eth[40], cxl[40];
    reach(o, ORDERS_NEW, live);           /* open on both sides: nothing */
    reach(o, ORDERS_CANCELLED, gone);     /* open there, terminal here: cancel */
    reach(o, ORDERS_PENDING_NEW, young);  /* sent at T0+10, not open yet: within grace */
    reach(o, ORDERS_PENDING_NEW, old);    /* open there: update from the list */
    reach(o, ORDERS_UNKNOWN, unk);        /* not open: query */
    reach(o, ORDERS_PENDING_CANCEL, cxl); /* not open: missing, query */
    assert_int_equal(orders_add(o, "ETHUSDT", ORDERS_SELL, 10, 1, T0, eth, 40), 0);
    assert_int_equal(orders_event_apply(o, eth, ORDERS_EV_SEND, NULL, T0), 0);
    orders_update n = upd(10, 1, 0);
    assert_int_equal(orders_event_apply(o, eth, ORDERS_EV_NEW, &n, T0), 0);
    orders_open open[] = {
        {.link_id = live, .order_id = "1", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = gone, .order_id = "2", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = old, .order_id = "3", .symbol = "BTCUSDT", .status = ORDERS_ST_PARTIAL},
        {.link_id = "mmTr7-99", .order_id = "4", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = "mmTr5-3", .order_id = "5", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
        {.link_id = "x-1", .order_id = "6", .symbol = "BTCUSDT", .status = ORDERS_ST_NEW},
    };
    orders_recon rc[16];
    size_t cnt;
    assert_int_equal(orders_reconcile(o, open, 6, "BTCUSDT", 0, 2000, T0 + 1000, rc, 16, &cnt), 0);
    assert_null(find_rc(rc, cnt, live));
    assert_int_equal(find_rc(rc, cnt, gone)->kind, ORDERS_RC_CANCEL_UNWANTED);
    assert_int_equal(find_rc(rc, cnt, old)->kind, ORDERS_RC_UPDATE);
    assert_int_equal(find_rc(rc, cnt, old)->status, ORDERS_ST_PARTIAL);
    assert_int_equal(find_rc(rc, cnt, "mmTr7-99")->kind, ORDERS_RC_ADOPT);
    assert_int_equal(find_rc(rc, cnt, "mmTr5-3")->kind, ORDERS_RC_CANCEL_ENDED);
    assert_null(find_rc(rc, cnt, "x-1"));
    assert_null(find_rc(rc, cnt, young)); /* within grace */
    assert_int_equal(find_rc(rc, cnt, unk)->kind, ORDERS_RC_MISSING);
    assert_int_equal(find_rc(rc, cnt, cxl)->kind, ORDERS_RC_MISSING);
    assert_null(find_rc(rc, cnt, eth)); /* the list covers BTCUSDT only */
    assert_int_equal(cnt, 6);
    /* past the grace the young one is missing too */
    assert_int_equal(orders_reconcile(o, open, 6, "BTCUSDT", 0, 2000, T0 + 2010, rc, 16, &cnt), 0);
    assert_int_equal(find_rc(rc, cnt, young)->kind, ORDERS_RC_MISSING);

    /* applying the actions: adopt, update, missing -> unknown */
    assert_int_equal(orders_adopt(o, "mmTr7-99", "4", "BTCUSDT", ORDERS_BUY, 99, 1, 0.3,
                                  ORDERS_ST_PARTIAL, T0 + 2000),
                     0);
    const orders_order *ad = orders_get(o, "mmTr7-99");
    assert_int_equal(ad->state, ORDERS_PARTIAL);
    assert_true(ad->flags & ORDERS_F_ADOPTED);
    assert_int_equal(orders_adopt(o, "mmTr7-99", "4", "BTCUSDT", ORDERS_BUY, 99, 1, 0.3,
                                  ORDERS_ST_NEW, T0 + 2000),
                     ERR_DUP);
    assert_int_equal(
        orders_adopt(o, "x-1", "6", "BTCUSDT", ORDERS_BUY, 99, 1, 0, ORDERS_ST_NEW, T0 + 2000),
        ERR_INVAL);
    orders_update q = {.order_id = "3", .cum_qty = 0.1, .status = ORDERS_ST_PARTIAL};
    assert_int_equal(orders_event_apply(o, old, ORDERS_EV_QUERY_FOUND, &q, T0 + 2000), 0);
    assert_int_equal(orders_get(o, old)->state, ORDERS_PARTIAL);
    assert_int_equal(orders_event_apply(o, cxl, ORDERS_EV_MISSING, NULL, T0 + 2000), 0);
    assert_int_equal(orders_get(o, cxl)->state, ORDERS_UNKNOWN);
    /* the whole account's list (symbol NULL) finds the ETHUSDT order missing too */
    assert_int_equal(orders_reconcile(o, open, 6, NULL, 0, 2000, T0 + 3000, rc, 16, &cnt), 0);
    assert_int_equal(find_rc(rc, cnt, eth)->kind, ORDERS_RC_MISSING);
    orders_free(o);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(orders_state_name(ORDERS_PENDING_NEW), "pending-new");
    assert_string_equal(orders_state_name(ORDERS_PARTIAL), "partially-filled");
    assert_string_equal(orders_state_name(ORDERS_UNKNOWN), "unknown");
    assert_string_equal(orders_state_name(ORDERS_NSTATES), "invalid");
    assert_string_equal(orders_event_name(ORDERS_EV_CANCEL_GONE), "cancel-gone");
    assert_string_equal(orders_event_name(ORDERS_EV_EXEC), "execution");
    orders_status s;
    assert_int_equal(orders_status_parse("PartiallyFilled", &s), 0);
    assert_int_equal(s, ORDERS_ST_PARTIAL);
    assert_int_equal(orders_status_parse("PartiallyFilledCanceled", &s), 0);
    assert_int_equal(s, ORDERS_ST_CANCELLED);
    assert_int_equal(orders_status_parse("Untriggered", &s), ERR_PARSE);
    assert_string_equal(orders_status_name(ORDERS_ST_REJECTED), "Rejected");
    assert_int_equal(orders_status_event(ORDERS_ST_FILLED), ORDERS_EV_FILLED);
    for (int i = 0; i < ORDERS_NSTATES; i++)
        assert_int_equal(orders_state_terminal((orders_state)i),
                         i == ORDERS_FILLED || i == ORDERS_CANCELLED || i == ORDERS_REJECTED);
}

/* Random sequences of every event with random payloads, the way a hostile network would
 * deliver them: whatever comes, cumExecQty never decreases, a refusal changes nothing, a create
 * is sent at most once, a terminal state said by the stream never turns live again, and the
 * caps hold. */
static void test_random_sequences(void **state)
{
    (void)state;
    prng rg;
    prng_seed(&rg, 42);
    static const orders_status sts[] = {ORDERS_ST_NEW, ORDERS_ST_PARTIAL, ORDERS_ST_FILLED,
                                        ORDERS_ST_CANCELLED, ORDERS_ST_REJECTED};
    for (int run = 0; run < 400; run++) {
        orders *o = mk(4);
        char link[4][40];
        int nlink = 0;
        unsigned sends[4] = {0};
        char exec[32];
        for (int step = 0; step < 60; step++) {
            if (nlink < 4 && prng_unit(&rg) < 0.1) {
                int rc = orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0 + step, link[nlink], 40);
                assert_int_equal(rc, 0);
                nlink++;
                continue;
            }
            if (nlink == 0)
                continue;
            int w = (int)(prng_next(&rg) % (uint64_t)nlink);
            const orders_order *r = orders_get(o, link[w]);
            if (!r)
                continue; /* dropped after its retention */
            orders_order before = *r;
            orders_event e = (orders_event)(prng_next(&rg) % ORDERS_NEVENTS);
            orders_update u = {.order_id = prng_unit(&rg) < 0.5 ? "OIDx" : NULL,
                               .price =
                                   prng_unit(&rg) < 0.5 ? 100 + (double)(prng_next(&rg) % 3) : 0,
                               .qty = prng_unit(&rg) < 0.3 ? 1 : 0,
                               .cum_qty = prng_unit(&rg) < 0.5 ? prng_unit(&rg) : -1,
                               .status = sts[prng_next(&rg) % 5]};
            int rc;
            if (e == ORDERS_EV_EXEC) {
                snprintf(exec, sizeof exec, "e%d", (int)(prng_next(&rg) % 50));
                rc = fill(o, exec, link[w], ORDERS_BUY, 100, 0.1 + 0.3 * prng_unit(&rg), 0);
                assert_true(rc == 0 || rc == ERR_DUP);
            } else {
                rc = orders_event_apply(o, link[w], e, &u, T0 + step);
                assert_true(rc == 0 || rc == ERR_BADSTATE || rc == ERR_INVAL);
            }
            const orders_order *a = orders_get(o, link[w]);
            assert_non_null(a);
            if (rc < 0 || rc == ERR_DUP)
                assert_memory_equal(&before, a, sizeof before);
            assert_true(a->cum_qty >= before.cum_qty);
            if (e == ORDERS_EV_SEND && rc == 0)
                sends[w]++;
            assert_true(sends[w] <= 1);
            if (orders_state_terminal(before.state) && !(before.flags & ORDERS_F_INFERRED))
                assert_true(orders_state_terminal(a->state));
            orders_stats st;
            orders_stats_get(o, &st);
            assert_true(st.active <= 4);
            assert_true(st.tracked <= ORDERS_MAX_TRACKED);
        }
        orders_free(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),
        cmocka_unit_test(test_create_never_sent_twice),
        cmocka_unit_test(test_unknown_resolved_both_ways),
        cmocka_unit_test(test_duplicates_and_out_of_order),
        cmocka_unit_test(test_amend_paths),
        cmocka_unit_test(test_fills_once_across_restart),
        cmocka_unit_test(test_fill_set_is_bounded),
        cmocka_unit_test(test_storage_resident_from_the_start),
        cmocka_unit_test(test_position_math),
        cmocka_unit_test(test_symbols_capped),
        cmocka_unit_test(test_link_ids),
        cmocka_unit_test(test_caps_and_retention),
        cmocka_unit_test(test_full_table_drops_oldest_terminal),
        cmocka_unit_test(test_reconcile_startup),
        cmocka_unit_test(test_reconcile_periodic),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
