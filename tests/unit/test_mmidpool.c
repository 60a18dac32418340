/* idpool: orderLinkIds journalled ahead. The refill (when, from where, how many), a drained pool
 * falling back to a write (counted), an id never used twice over a long run with refills and
 * fallbacks, the ids the pool reserves being the ones the order table assigns, and the
 * recovery of reserved ids after a kill -9: loaded at the next start, looked up (found, not
 * found, lookup failed) and retired in the state database; the tick's status changes in one
 * commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "idpool.h"
#include "orders.h"

#define T0 1800000000000LL

static void test_refill(void **state)
{
    (void)state;
    idpool p;
    idpool_init(&p, 8, 4);
    uint64_t from = 0;
    assert_int_equal(idpool_want(&p, 1, &from), 8); /* empty: a whole pool from the next id */
    assert_int_equal(from, 1);
    assert_int_equal(idpool_added(&p, 1, 8), 0);
    assert_int_equal(idpool_want(&p, 1, &from), 0);
    for (uint64_t s = 1; s <= 4; s++)
        assert_int_equal(idpool_take(&p, s), 1);
    idpool_stats st;
    idpool_stats_get(&p, &st);
    assert_int_equal(st.avail, 4);
    assert_int_equal(idpool_want(&p, 5, &from), 0); /* at the watermark: not yet */
    assert_int_equal(idpool_take(&p, 5), 1);
    assert_int_equal(idpool_want(&p, 6, &from), 5); /* below it: back to cap */
    assert_int_equal(from, 9);                      /* continuing the pool */
    /* a refill that does not continue the pool, or passes cap, is refused */
    assert_int_equal(idpool_added(&p, 10, 5), ERR_INVAL);
    assert_int_equal(idpool_added(&p, 9, 6), ERR_INVAL);
    assert_int_equal(idpool_added(&p, 9, 5), 0);
    idpool_stats_get(&p, &st);
    assert_int_equal(st.avail, 8);
    assert_int_equal(st.avail_min, 3);
    assert_int_equal(st.refills, 2);
    assert_int_equal(st.reserved, 13);
    assert_int_equal(st.taken, 5);
    assert_int_equal(st.fallbacks, 0);
    uint64_t lo;
    assert_int_equal(idpool_unused(&p, &lo), 8);
    assert_int_equal(lo, 6);
    /* caps are clamped */
    idpool_init(&p, 100000, 500000);
    assert_int_equal(p.cap, IDPOOL_CAP_MAX);
    assert_int_equal(p.low_water, IDPOOL_CAP_MAX);
}

static void test_drain_fallback(void **state)
{
    (void)state;
    idpool p;
    idpool_init(&p, 4, 2);
    /* never filled: every create falls back to a write */
    assert_int_equal(idpool_take(&p, 1), 0);
    assert_int_equal(idpool_take(&p, 2), 0);
    uint64_t from;
    assert_int_equal(idpool_want(&p, 3, &from), 4);
    assert_int_equal(from, 3);
    assert_int_equal(idpool_added(&p, 3, 4), 0); /* 3..6 */
    for (uint64_t s = 3; s <= 6; s++)
        assert_int_equal(idpool_take(&p, s), 1);
    /* drained before the next tick: written synchronously, counted */
    assert_int_equal(idpool_take(&p, 7), 0);
    assert_int_equal(idpool_take(&p, 8), 0);
    idpool_stats st;
    idpool_stats_get(&p, &st);
    assert_int_equal(st.fallbacks, 4);
    assert_int_equal(st.taken, 4);
    assert_int_equal(st.avail, 0);
    assert_int_equal(st.avail_min, 0);
    /* the refill starts past what was used */
    assert_int_equal(idpool_want(&p, 9, &from), 4);
    assert_int_equal(from, 9);
    assert_int_equal(idpool_added(&p, 5, 4), ERR_INVAL); /* ids already used */
    assert_int_equal(idpool_added(&p, 9, 4), 0);         /* 9..12 */
    /* the table ran past part of the pool (ids assigned and not sent): passed over */
    assert_int_equal(idpool_take(&p, 11), 1);
    /* and past all of it */
    assert_int_equal(idpool_take(&p, 20), 0);
    idpool_stats_get(&p, &st);
    assert_int_equal(st.skipped, 3); /* 9, 10, 12: left reserved for recovery */
    assert_int_equal(st.avail, 0);
}

static void test_never_used_twice(void **state)
{
    (void)state;
    enum { N = 20000 };
    static unsigned char reserved[N + 300], used[N + 300];
    memset(reserved, 0, sizeof reserved);
    memset(used, 0, sizeof used);
    idpool p;
    idpool_init(&p, 32, 16);
    uint64_t next = 1, hits = 0, falls = 0;
    unsigned r = 12345;
    while (next <= N) {
        r = r * 1103515245u + 12345u;
        if ((r >> 16) % 7 == 0) { /* the tick: refill when due */
            uint64_t from;
            unsigned k = idpool_want(&p, next, &from);
            if (k && (r >> 20) % 5) { /* sometimes the refill write fails: nothing added */
                assert_true(from >= next);
                for (unsigned j = 0; j < k; j++) {
                    assert_int_equal(reserved[from + j], 0); /* reserved once */
                    reserved[from + j] = 1;
                }
                assert_int_equal(idpool_added(&p, from, k), 0);
            }
            continue;
        }
        uint64_t seq = next++;
        if ((r >> 18) % 50 == 0)
            seq = next++; /* an id assigned and never sent: passed over */
        int t = idpool_take(&p, seq);
        assert_true(t == 0 || t == 1);
        assert_int_equal(used[seq], 0);
        used[seq] = 1;
        if (t == 1) {
            assert_int_equal(reserved[seq], 1); /* a pooled id was journalled */
            hits++;
        } else {
            falls++;
        }
        /* the same id again, or an older one, is refused */
        assert_int_equal(idpool_take(&p, seq), ERR_DUP);
        assert_int_equal(idpool_take(&p, seq - 1 ? seq - 1 : seq), ERR_DUP);
    }
    idpool_stats st;
    idpool_stats_get(&p, &st);
    assert_int_equal(st.taken, hits);
    assert_int_equal(st.fallbacks, falls);
    assert_true(hits > falls); /* the pool does its job */
    assert_true(st.refused > 0);
}

/* The ids the pool reserves are the ones orders_add assigns, and read back to their number. */
static void test_ids_are_the_tables(void **state)
{
    (void)state;
    orders_cfg c;
    orders_cfg_default(&c);
    snprintf(c.prefix, sizeof c.prefix, "mmb");
    snprintf(c.run_id, sizeof c.run_id, "7");
    orders *o;
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    assert_int_equal(orders_next_seq(o), 1);
    char want[ORDERS_LINK_ID_MAX + 1], got[ORDERS_LINK_ID_MAX + 1];
    for (uint64_t s = 1; s <= 3; s++) {
        assert_int_equal(orders_link_id_of(o, s, want, sizeof want), 0);
        assert_int_equal(orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, got, sizeof got), 0);
        assert_string_equal(got, want);
        uint64_t back;
        assert_int_equal(orders_link_seq(o, got, &back), 0);
        assert_int_equal(back, s);
    }
    assert_string_equal(got, "mmb7-3");
    assert_int_equal(orders_next_seq(o), 4);
    uint64_t v;
    assert_int_equal(orders_link_seq(o, "mmb6-3", &v), ERR_INVAL); /* another run */
    assert_int_equal(orders_link_seq(o, "mmb7-", &v), ERR_INVAL);
    assert_int_equal(orders_link_seq(o, "mmb7-3x", &v), ERR_INVAL);
    assert_int_equal(orders_link_seq(o, "mmb7-03", &v), ERR_INVAL);
    assert_int_equal(orders_link_id_of(o, 0, want, sizeof want), ERR_RANGE);
    assert_int_equal(orders_link_id_of(o, 5, want, 4), ERR_INVAL);
    orders_free(o);
}

/* idpool_has: what the bot asks before it waits for a reservation in flight (statewr.h): in
 * the pool, or not (below it, taken, past it); it changes nothing. */
static void test_has(void **state)
{
    (void)state;
    idpool p;
    idpool_init(&p, 8, 4);
    assert_int_equal(idpool_has(&p, 1), 0);      /* empty */
    assert_int_equal(idpool_added(&p, 5, 4), 0); /* 5..8 */
    assert_int_equal(idpool_has(&p, 4), 0);
    assert_int_equal(idpool_has(&p, 5), 1);
    assert_int_equal(idpool_has(&p, 8), 1);
    assert_int_equal(idpool_has(&p, 9), 0);
    idpool_stats st;
    idpool_stats_get(&p, &st);
    assert_int_equal(st.avail, 4);
    assert_int_equal(st.taken, 0);
    assert_int_equal(idpool_take(&p, 6), 1); /* 5 passed over, 6 taken */
    assert_int_equal(idpool_has(&p, 5), 0);
    assert_int_equal(idpool_has(&p, 6), 0);
    assert_int_equal(idpool_has(&p, 7), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_drain_fallback),
        cmocka_unit_test(test_never_used_twice),
        cmocka_unit_test(test_ids_are_the_tables),
        cmocka_unit_test(test_has),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
