/* orders: the counts of tracked and active orders are kept as events happen (no scan of the
 * table), and orders_expire skips its scan until the oldest terminal order can expire. A random
 * run of creates, stream events, replies, fills and expiries checks, after every step, the
 * counts against a scan of the table, and that no terminal order past its retention is left
 * after orders_expire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "orders.h"

#define T0 1800000000000LL

static void scan(const orders *o, size_t *tracked, size_t *active)
{
    *tracked = *active = 0;
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        const orders_order *r = orders_at(o, i);
        if (!r)
            continue;
        ++*tracked;
        if (!orders_state_terminal(r->state))
            ++*active;
    }
}

static void test_counts_follow_the_table(void **state)
{
    (void)state;
    orders_cfg c;
    orders_cfg_default(&c);
    c.max_active = 40;
    c.retention_ms = 3000;
    orders *o;
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    char links[4096][ORDERS_LINK_ID_MAX + 1];
    size_t nlinks = 0;
    unsigned rnd = 7;
    int64_t now = T0;
    size_t max_tracked = 0, max_active = 0, expired = 0;
    for (int step = 0; step < 60000; step++) {
        rnd = rnd * 1103515245u + 12345u;
        unsigned r = rnd >> 8;
        now += r % 3;
        unsigned what = r % 10;
        if (what < 3 && nlinks < 4096) {
            if (orders_add(o, "BTCUSDT", r & 1 ? ORDERS_SELL : ORDERS_BUY, 100 + r % 7, 1, now,
                           links[nlinks], sizeof links[0]) == 0)
                nlinks++;
        } else if (what < 8 && nlinks) {
            const char *id = links[(r >> 4) % nlinks];
            orders_event ev = (orders_event)((r >> 12) % ORDERS_EV_EXEC);
            orders_update u = {.order_id = "x",
                               .price = 101,
                               .qty = 1,
                               .cum_qty = -1,
                               .status = (orders_status)((r >> 16) % 5)};
            orders_event_apply(o, id, ev, &u, now);
        } else if (what == 8 && nlinks) {
            char ex[32];
            snprintf(ex, sizeof ex, "e%d", step);
            orders_fill f = {.exec_id = ex,
                             .link_id = links[(r >> 4) % nlinks],
                             .symbol = "BTCUSDT",
                             .side = ORDERS_BUY,
                             .price = 100,
                             .qty = 0.5};
            orders_fill_apply(o, &f, now);
        } else {
            expired += orders_expire(o, now);
            for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
                const orders_order *q = orders_at(o, i);
                if (q && orders_state_terminal(q->state))
                    assert_true(now - q->terminal_ms < c.retention_ms);
            }
        }
        size_t tracked, active;
        scan(o, &tracked, &active);
        orders_stats st;
        orders_stats_get(o, &st);
        assert_int_equal(st.tracked, tracked);
        assert_int_equal(st.active, active);
        if (tracked > max_tracked)
            max_tracked = tracked;
        if (active > max_active)
            max_active = active;
        assert_int_equal(st.tracked_hwm, max_tracked);
        assert_int_equal(st.active_hwm, max_active);
    }
    assert_true(expired > 0);       /* the run did expire orders */
    assert_true(max_active == 40);  /* and hit the cap of live ones */
    assert_true(max_tracked > 100); /* with terminal ones kept */
    orders_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_follow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
