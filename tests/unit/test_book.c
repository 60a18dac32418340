/* Tests of book: the local L2 book as Bybit's orderbook topic drives it (snapshot, deltas,
 * removal, insertion order, trimming at the depth, u gaps, u == 1 resets, deltas before a
 * snapshot, crossed books, microprice, staleness) and every cell of its transition table. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book.h"
#include "errcode.h"

#define FX(x) ((int64_t)llround((x)*1e8))

static book B;
static book_update U;

/* An update of BTCUSDT: bids then asks as (px, sz) pairs, nb and na of them. */
static book_update *upd(int snapshot, int64_t u, int nb, int na, ...)
{
    va_list ap;
    memset(&U, 0, sizeof U);
    snprintf(U.symbol, sizeof U.symbol, "BTCUSDT");
    U.snapshot = snapshot;
    U.depth = 50;
    U.u = u;
    U.ts_ms = 1000 + u;
    va_start(ap, na);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < (s ? na : nb); i++) {
            double px = va_arg(ap, double), sz = va_arg(ap, double);
            U.lv[s][U.n[s]++] = (book_level){FX(px), FX(sz)};
        }
    va_end(ap);
    return &U;
}

static book_result apply(book_update *up, int64_t now)
{
    book_result r = BOOK_NRESULTS;
    assert_int_equal(book_apply(&B, up, now, &r), 0);
    return r;
}

/* Side s holds exactly the n prices given (best first), each with its size. */
static void expect_side(book_side s, int n, ...)
{
    size_t got;
    const book_level *l = book_levels(&B, s, &got);
    assert_int_equal(got, (size_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        double px = va_arg(ap, double), sz = va_arg(ap, double);
        assert_int_equal(l[i].px, FX(px));
        assert_int_equal(l[i].sz, FX(sz));
    }
    va_end(ap);
}

static int setup(void **st)
{
    (void)st;
    return book_init(&B, "BTCUSDT", 50);
}

static void test_init(void **st)
{
    (void)st;
    book b;
    assert_int_equal(book_init(&b, "BTCUSDT", 0), ERR_INVAL);
    assert_int_equal(book_init(&b, "BTCUSDT", BOOK_MAX_LEVELS + 1), ERR_INVAL);
    assert_int_equal(book_init(&b, "", 50), ERR_INVAL);
    assert_int_equal(book_init(&b, "A23456789012345678901234567890123", 50), ERR_INVAL);
    assert_int_equal(book_init(&b, "A2345678901234567890123456789012", BOOK_MAX_LEVELS), 0);
    assert_int_equal(b.state, BOOK_EMPTY);
    assert_int_equal(book_ready(&b), 0);
    book_level l;
    assert_int_equal(book_best(&b, BOOK_BID, &l), ERR_NODATA);
}

static void test_snapshot(void **st)
{
    (void)st;
    /* unsorted on purpose, one repeated price (the last wins), one size-0 level (skipped) */
    assert_int_equal(apply(upd(1, 100, 4, 3, 30000.0, 1.0, 30000.5, 2.0, 29999.5, 3.0, 30000.0, 1.5,
                               30001.0, 1.0, 30002.0, 0.0, 30001.5, 0.25),
                           5000),
                     BOOK_RESET);
    assert_int_equal(B.state, BOOK_LIVE);
    expect_side(BOOK_BID, 3, 30000.5, 2.0, 30000.0, 1.5, 29999.5, 3.0);
    expect_side(BOOK_ASK, 2, 30001.0, 1.0, 30001.5, 0.25);
    book_level l;
    assert_int_equal(book_best(&B, BOOK_BID, &l), 0);
    assert_int_equal(l.px, FX(30000.5));
    assert_int_equal(book_best(&B, BOOK_ASK, &l), 0);
    assert_int_equal(l.px, FX(30001.0));
    assert_int_equal(B.u, 100);
    assert_int_equal(B.ts_ms, 1100);
    assert_true(book_ready(&B));
    assert_int_equal(B.stats.snapshots, 1);
    /* a second snapshot replaces everything */
    assert_int_equal(apply(upd(1, 101, 1, 1, 100.0, 1.0, 101.0, 1.0), 5001), BOOK_RESET);
    expect_side(BOOK_BID, 1, 100.0, 1.0);
    expect_side(BOOK_ASK, 1, 101.0, 1.0);
}

static void test_delta_insert_replace_remove(void **st)
{
    (void)st;
    apply(upd(1, 1, 3, 3, 100.0, 1.0, 99.0, 1.0, 97.0, 1.0, 101.0, 1.0, 102.0, 1.0, 104.0, 1.0), 0);
    /* insert in the middle of each side, at the top of each side, replace one, remove one,
     * remove a price that is not there (nothing happens) */
    assert_int_equal(apply(upd(0, 2, 4, 4, 98.0, 5.0, 100.5, 2.0, 99.0, 7.0, 95.0, 0.0, 103.0, 5.0,
                               100.75, 2.0, 102.0, 0.0, 101.0, 9.0),
                           10),
                     BOOK_APPLIED);
    expect_side(BOOK_BID, 5, 100.5, 2.0, 100.0, 1.0, 99.0, 7.0, 98.0, 5.0, 97.0, 1.0);
    expect_side(BOOK_ASK, 4, 100.75, 2.0, 101.0, 9.0, 103.0, 5.0, 104.0, 1.0);
    assert_int_equal(B.u, 2);
    assert_int_equal(B.stats.deltas, 1);
    /* removing every level empties the side: not ready, mid has no data */
    apply(upd(0, 3, 5, 0, 100.5, 0.0, 100.0, 0.0, 99.0, 0.0, 98.0, 0.0, 97.0, 0.0), 20);
    expect_side(BOOK_BID, 0);
    assert_false(book_ready(&B));
    int64_t m;
    assert_int_equal(book_mid(&B, &m), ERR_NODATA);
    book_level l;
    assert_int_equal(book_best(&B, BOOK_BID, &l), ERR_NODATA);
    assert_int_equal(book_best(&B, BOOK_ASK, &l), 0);
}

static void test_trim(void **st)
{
    (void)st;
    assert_int_equal(book_init(&B, "BTCUSDT", 3), 0);
    /* a snapshot deeper than the book keeps the best 3 a side */
    apply(upd(1, 1, 5, 5, 96.0, 1.0, 100.0, 1.0, 98.0, 1.0, 99.0, 1.0, 97.0, 1.0, 105.0, 1.0, 101.0,
              1.0, 103.0, 1.0, 102.0, 1.0, 104.0, 1.0),
          0);
    expect_side(BOOK_BID, 3, 100.0, 1.0, 99.0, 1.0, 98.0, 1.0);
    expect_side(BOOK_ASK, 3, 101.0, 1.0, 102.0, 1.0, 103.0, 1.0);
    assert_int_equal(B.stats.trimmed, 4);
    /* a better level pushes the far end out; a level past the far end is dropped */
    apply(upd(0, 2, 2, 2, 100.5, 2.0, 90.0, 1.0, 100.75, 2.0, 110.0, 1.0), 1);
    expect_side(BOOK_BID, 3, 100.5, 2.0, 100.0, 1.0, 99.0, 1.0);
    expect_side(BOOK_ASK, 3, 100.75, 2.0, 101.0, 1.0, 102.0, 1.0);
    assert_int_equal(B.stats.trimmed, 8);
    /* after a removal the exchange sends the new far level: it fits again */
    apply(upd(0, 3, 2, 0, 100.5, 0.0, 98.0, 4.0), 2);
    expect_side(BOOK_BID, 3, 100.0, 1.0, 99.0, 1.0, 98.0, 4.0);
}

static void test_gap(void **st)
{
    (void)st;
    apply(upd(1, 10, 1, 1, 100.0, 1.0, 101.0, 1.0), 0);
    assert_int_equal(apply(upd(0, 11, 1, 0, 100.0, 2.0), 1), BOOK_APPLIED);
    /* u 13 after 11: one message lost */
    assert_int_equal(apply(upd(0, 13, 1, 0, 100.0, 3.0), 2), BOOK_GAP);
    assert_int_equal(B.state, BOOK_RESYNC);
    assert_int_equal(B.stats.gaps, 1);
    assert_false(book_ready(&B));
    int64_t v;
    assert_int_equal(book_mid(&B, &v), ERR_NODATA);
    assert_int_equal(book_age(&B, 3), INT64_MAX);
    size_t n = 9;
    book_levels(&B, BOOK_BID, &n);
    assert_int_equal(n, 0);
    /* further deltas (even "in sequence" with the lost one) wait for the snapshot */
    assert_int_equal(apply(upd(0, 14, 1, 0, 100.0, 4.0), 3), BOOK_IGNORED);
    assert_int_equal(apply(upd(0, 12, 1, 0, 100.0, 4.0), 3), BOOK_IGNORED);
    assert_int_equal(B.stats.ignored, 2);
    /* a duplicate (u equal to the last) is a gap too */
    assert_int_equal(apply(upd(1, 20, 1, 1, 100.0, 1.0, 101.0, 1.0), 4), BOOK_RESET);
    assert_int_equal(apply(upd(0, 20, 1, 0, 100.0, 9.0), 5), BOOK_GAP);
}

static void test_u1_reset(void **st)
{
    (void)st;
    apply(upd(1, 5000, 2, 1, 100.0, 1.0, 99.0, 1.0, 101.0, 1.0), 0);
    apply(upd(0, 5001, 1, 0, 98.0, 1.0), 1);
    /* the service restarted: snapshot with u == 1 replaces the book, then u 2 follows */
    assert_int_equal(apply(upd(1, 1, 1, 1, 200.0, 1.0, 201.0, 1.0), 2), BOOK_RESET);
    expect_side(BOOK_BID, 1, 200.0, 1.0);
    assert_int_equal(B.u, 1);
    assert_int_equal(apply(upd(0, 2, 1, 0, 199.0, 1.0), 3), BOOK_APPLIED);
    expect_side(BOOK_BID, 2, 200.0, 1.0, 199.0, 1.0);
}

static void test_delta_before_snapshot(void **st)
{
    (void)st;
    assert_int_equal(apply(upd(0, 1, 1, 0, 100.0, 1.0), 0), BOOK_NO_SNAPSHOT);
    assert_int_equal(B.state, BOOK_RESYNC);
    expect_side(BOOK_BID, 0);
    assert_int_equal(apply(upd(0, 2, 1, 0, 100.0, 1.0), 0), BOOK_IGNORED);
    assert_int_equal(apply(upd(1, 7, 1, 1, 100.0, 1.0, 101.0, 1.0), 0), BOOK_RESET);
    assert_true(book_ready(&B));
}

static void test_crossed(void **st)
{
    (void)st;
    apply(upd(1, 1, 1, 2, 100.0, 1.0, 101.0, 1.0, 102.0, 1.0), 0);
    assert_false(book_crossed(&B));
    /* a bid at the best ask: locked counts as crossed */
    apply(upd(0, 2, 1, 0, 101.0, 1.0), 1);
    assert_true(book_crossed(&B));
    assert_false(book_ready(&B));
    assert_int_equal(B.stats.crossed, 1);
    int64_t v;
    assert_int_equal(book_mid(&B, &v), ERR_BADSTATE);
    assert_int_equal(book_microprice(&B, &v), ERR_BADSTATE);
    assert_int_equal(book_spread(&B, &v), ERR_BADSTATE);
    book_level l;
    assert_int_equal(book_best(&B, BOOK_BID, &l), 0);
    assert_int_equal(l.px, FX(101.0));
    /* the ask is taken: uncrossed again */
    apply(upd(0, 3, 0, 1, 101.0, 0.0), 2);
    assert_false(book_crossed(&B));
    assert_true(book_ready(&B));
    assert_int_equal(book_spread(&B, &v), 0);
    assert_int_equal(v, FX(1.0));
}

static void test_microprice(void **st)
{
    (void)st;
    /* bid 100.0 x 3, ask 101.0 x 1: micro = (100 * 1 + 101 * 3) / 4 = 100.75, towards the
     * thin ask; mid 100.5; spread 1.0 */
    apply(upd(1, 1, 2, 2, 100.0, 3.0, 99.0, 50.0, 101.0, 1.0, 102.0, 50.0), 0);
    int64_t v;
    assert_int_equal(book_microprice(&B, &v), 0);
    assert_int_equal(v, FX(100.75));
    assert_int_equal(book_mid(&B, &v), 0);
    assert_int_equal(v, FX(100.5));
    assert_int_equal(book_spread(&B, &v), 0);
    assert_int_equal(v, FX(1.0));
    /* rounding to the nearest 1e-8: bid 1 x 1, ask 2 x 2 -> (1*2 + 2*1) / 3 = 1.333333333.. */
    apply(upd(1, 2, 1, 1, 1.0, 1.0, 2.0, 2.0), 0);
    assert_int_equal(book_microprice(&B, &v), 0);
    assert_int_equal(v, 133333333);
    /* large prices and sizes do not overflow */
    apply(upd(1, 3, 1, 1, 1000000.0, 1e9, 1000001.0, 1e9), 0);
    assert_int_equal(book_microprice(&B, &v), 0);
    assert_int_equal(v, FX(1000000.5));
    book_level bid = {FX(100.0), 0};
    B.lv[BOOK_BID][0] = bid; /* sizes 0 on both sides: the mid */
    B.lv[BOOK_ASK][0] = (book_level){FX(101.0), 0};
    assert_int_equal(book_microprice(&B, &v), 0);
    assert_int_equal(v, FX(100.5));
}

static void test_staleness(void **st)
{
    (void)st;
    assert_int_equal(book_age(&B, 1000), INT64_MAX);
    apply(upd(1, 1, 1, 1, 100.0, 1.0, 101.0, 1.0), 1000);
    assert_int_equal(book_age(&B, 1000), 0);
    assert_int_equal(book_age(&B, 61000), 60000);
    apply(upd(0, 2, 1, 0, 100.0, 2.0), 2000);
    assert_int_equal(book_age(&B, 2500), 500);
    assert_int_equal(book_age(&B, 1500), 0); /* the clock went back */
    assert_int_equal(B.updated_ms, 2000);
    /* an ignored delta does not freshen the book */
    apply(upd(0, 9, 1, 0, 100.0, 2.0), 3000);
    apply(upd(0, 10, 1, 0, 100.0, 2.0), 4000);
    assert_int_equal(book_age(&B, 5000), INT64_MAX);
}

static void test_invalid(void **st)
{
    (void)st;
    apply(upd(1, 1, 1, 1, 100.0, 1.0, 101.0, 1.0), 0);
    book_result r = BOOK_NRESULTS;
    book_update *up = upd(0, 2, 1, 0, 99.0, 1.0);
    snprintf(up->symbol, sizeof up->symbol, "ETHUSDT");
    assert_int_equal(book_apply(&B, up, 1, &r), ERR_INVAL);
    assert_int_equal(r, BOOK_NRESULTS);
    up = upd(0, 2, 1, 0, 99.0, -1.0);
    assert_int_equal(book_apply(&B, up, 1, &r), ERR_INVAL);
    up = upd(0, 2, 1, 0, 0.0, 1.0);
    assert_int_equal(book_apply(&B, up, 1, &r), ERR_INVAL);
    up = upd(0, 2, 0, 0);
    up->n[BOOK_ASK] = BOOK_MAX_LEVELS + 1;
    assert_int_equal(book_apply(&B, up, 1, &r), ERR_INVAL);
    assert_int_equal(book_apply(NULL, up, 1, &r), ERR_INVAL);
    assert_int_equal(book_apply(&B, NULL, 1, &r), ERR_INVAL);
    assert_int_equal(book_apply(&B, up, 1, NULL), ERR_INVAL);
    /* nothing changed: u 2 still follows */
    assert_int_equal(B.u, 1);
    assert_int_equal(apply(upd(0, 2, 1, 0, 99.0, 1.0), 1), BOOK_APPLIED);
    int64_t v;
    assert_int_equal(book_mid(NULL, &v), ERR_INVAL);
    assert_int_equal(book_mid(&B, NULL), ERR_INVAL);
    assert_int_equal(book_age(NULL, 0), INT64_MAX);
}

/* Every cell of the table, by value and as book_apply reaches it. */
static void test_table(void **st)
{
    (void)st;
    static const struct {
        book_state s;
        book_event e;
        book_state next;
        book_result res;
    } cells[] = {
        {BOOK_EMPTY, BOOK_EV_SNAPSHOT, BOOK_LIVE, BOOK_RESET},
        {BOOK_EMPTY, BOOK_EV_DELTA, BOOK_RESYNC, BOOK_NO_SNAPSHOT},
        {BOOK_EMPTY, BOOK_EV_DELTA_GAP, BOOK_RESYNC, BOOK_NO_SNAPSHOT}, /* impossible */
        {BOOK_LIVE, BOOK_EV_SNAPSHOT, BOOK_LIVE, BOOK_RESET},
        {BOOK_LIVE, BOOK_EV_DELTA, BOOK_LIVE, BOOK_APPLIED},
        {BOOK_LIVE, BOOK_EV_DELTA_GAP, BOOK_RESYNC, BOOK_GAP},
        {BOOK_RESYNC, BOOK_EV_SNAPSHOT, BOOK_LIVE, BOOK_RESET},
        {BOOK_RESYNC, BOOK_EV_DELTA, BOOK_RESYNC, BOOK_IGNORED},
        {BOOK_RESYNC, BOOK_EV_DELTA_GAP, BOOK_RESYNC, BOOK_IGNORED},
    };
    assert_int_equal(sizeof cells / sizeof cells[0], BOOK_NSTATES * BOOK_NEVENTS);
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        book_transition t = book_next(cells[i].s, cells[i].e);
        assert_int_equal(t.next, cells[i].next);
        assert_int_equal(t.result, cells[i].res);
        /* drive a book into state s, then give it an update of event e */
        assert_int_equal(book_init(&B, "BTCUSDT", 50), 0);
        if (cells[i].s != BOOK_EMPTY)
            apply(upd(1, 10, 1, 1, 100.0, 1.0, 101.0, 1.0), 0);
        if (cells[i].s == BOOK_RESYNC)
            apply(upd(0, 99, 0, 0), 0);
        assert_int_equal(B.state, cells[i].s);
        int64_t u = cells[i].e == BOOK_EV_DELTA ? B.u + 1 : B.u + 5;
        book_update *up = upd(cells[i].e == BOOK_EV_SNAPSHOT, u, 1, 0, 99.0, 1.0);
        if (cells[i].s == BOOK_EMPTY && cells[i].e == BOOK_EV_DELTA_GAP)
            assert_int_equal(book_classify(&B, up), BOOK_EV_DELTA); /* never classified */
        else
            assert_int_equal(book_classify(&B, up), cells[i].e);
        assert_int_equal(apply(up, 1), cells[i].res);
        assert_int_equal(B.state, cells[i].next);
    }
    book_transition t = book_next(BOOK_NSTATES, BOOK_EV_DELTA);
    assert_int_equal(t.next, BOOK_RESYNC);
    assert_int_equal(t.result, BOOK_IGNORED);
    t = book_next(BOOK_LIVE, BOOK_NEVENTS);
    assert_int_equal(t.result, BOOK_IGNORED);
    assert_string_equal(book_state_name(BOOK_RESYNC), "resync");
    assert_string_equal(book_result_name(BOOK_GAP), "gap");
    assert_string_equal(book_result_name(BOOK_NRESULTS), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test_setup(test_snapshot, setup),
        cmocka_unit_test_setup(test_delta_insert_replace_remove, setup),
        cmocka_unit_test_setup(test_trim, setup),
        cmocka_unit_test_setup(test_gap, setup),
        cmocka_unit_test_setup(test_u1_reset, setup),
        cmocka_unit_test_setup(test_delta_before_snapshot, setup),
        cmocka_unit_test_setup(test_crossed, setup),
        cmocka_unit_test_setup(test_microprice, setup),
        cmocka_unit_test_setup(test_staleness, setup),
        cmocka_unit_test_setup(test_invalid, setup),
        cmocka_unit_test_setup(test_table, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
