/* idpool: orderLinkIds journalled ahead. The refill (when, from where, how many), a drained pool
 * falling back to a write (counted), an id never used twice over a long run with refills and
 * fallbacks, the ids the pool reserves being the ones the order table assigns, and the
 * recovery of reserved ids after a kill -9: loaded at the next start, looked up (found, not
 * found, lookup failed) and retired in the state database; the tick's status changes in one
 * commit. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "idpool.h"
#include "orders.h"
#include "state.h"

#define T0 1800000000000LL

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_mmidpool.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/mmbot.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

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

static mmstate *open_db(void)
{
    mmstate_config c;
    mmstate_config_default(&c);
    c.path = path;
    mmstate *s;
    char err[256];
    if (mmstate_open(&s, &c, err, sizeof err))
        fail_msg("open: %s", err);
    return s;
}

/* What the bot stores: reserved rows with only their link id, in one commit. */
static void reserve(mmstate *s, const orders *o, uint64_t from, unsigned n)
{
    mmstate_order rows[16];
    assert_true(n <= 16);
    memset(rows, 0, sizeof rows);
    for (unsigned k = 0; k < n; k++) {
        assert_int_equal(orders_link_id_of(o, from + k, rows[k].link_id, sizeof rows[k].link_id),
                         0);
        snprintf(rows[k].status, sizeof rows[k].status, IDPOOL_STATUS_RESERVED);
    }
    assert_int_equal(mmstate_order_new_many(s, rows, n, T0, NULL, 0), 0);
}

static mmstate_order details(const char *link, const char *side, double px)
{
    mmstate_order so;
    memset(&so, 0, sizeof so);
    snprintf(so.link_id, sizeof so.link_id, "%s", link);
    snprintf(so.symbol, sizeof so.symbol, "BTCUSDT");
    snprintf(so.side, sizeof so.side, "%s", side);
    snprintf(so.status, sizeof so.status, "pending-new");
    so.price = px;
    so.qty = 0.001;
    return so;
}

typedef struct got {
    char id[16][MMSTATE_LINK_ID];
    int n;
} got;

static void collect(void *ud, const mmstate_order *o)
{
    got *g = ud;
    if (g->n < 16)
        snprintf(g->id[g->n++], MMSTATE_LINK_ID, "%s", o->link_id);
}

/* Run 1 reserves mm1-1..8, sends 1..3 (the details of 1 and 2 are written at its tick, 3's are
 * not yet, and 2's order stream said New), then dies by SIGKILL. Run 2 finds 3..8 in doubt,
 * looks them up on two symbols and retires them; one lookup that failed stays for run 3. */
static void test_recovery_after_kill(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mmstate *s = open_db();
        orders_cfg c;
        orders_cfg_default(&c);
        snprintf(c.run_id, sizeof c.run_id, "%llu", (unsigned long long)mmstate_run_id(s));
        orders *o;
        if (orders_new(&c, &o, NULL, 0))
            _exit(3);
        reserve(s, o, 1, 8);
        idpool p;
        idpool_init(&p, 8, 4);
        if (idpool_added(&p, 1, 8))
            _exit(4);
        char link[ORDERS_LINK_ID_MAX + 1];
        mmstate_order d[2];
        for (int k = 0; k < 3; k++) {
            uint64_t seq;
            if (orders_add(o, "BTCUSDT", ORDERS_BUY, 100, 1, T0, link, sizeof link) ||
                orders_link_seq(o, link, &seq) || idpool_take(&p, seq) != 1)
                _exit(5); /* pooled: no write before "sending" */
            if (k < 2)
                d[k] = details(link, k ? "Sell" : "Buy", 50000 + k);
        }
        if (mmstate_order_update(s, "mm1-2", "new", 0, "ex-2", T0 + 1, NULL, 0))
            _exit(6); /* the stream's word came before the tick */
        if (mmstate_order_details_many(s, d, 2, IDPOOL_STATUS_RESERVED, T0 + 2, NULL, 0))
            _exit(7); /* the tick */
        kill(getpid(), SIGKILL);
        _exit(8);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    mmstate *s = open_db();
    assert_int_equal(mmstate_run_id(s), 2);
    mmstate_order row;
    assert_int_equal(mmstate_order_get(s, "mm1-1", &row), 0);
    assert_string_equal(row.status, "pending-new"); /* details written: status moved on */
    assert_string_equal(row.symbol, "BTCUSDT");
    assert_true(row.price == 50000);
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), 0);
    assert_string_equal(row.status, "new"); /* the stream's status is kept */
    assert_string_equal(row.side, "Sell");
    assert_string_equal(row.order_id, "ex-2");
    assert_int_equal(mmstate_order_get(s, "mm1-3", &row), 0);
    assert_string_equal(row.status, IDPOOL_STATUS_RESERVED);
    assert_string_equal(row.symbol, "");

    got g = {0};
    int more = 1;
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 16, collect, &g, &more), 6);
    assert_int_equal(more, 0);
    for (int k = 0; k < 6; k++) {
        char want[16];
        snprintf(want, sizeof want, "mm1-%d", k + 3);
        assert_string_equal(g.id[k], want);
    }
    /* the lookups, two symbols each: mm1-3 was sent (the second symbol has it), mm1-4 and
     * later were not, the lookup of mm1-8 failed on one symbol */
    for (int k = 0; k < 6; k++) {
        idpool_rec r;
        idpool_rec_begin(&r, 2);
        idpool_outcome oc;
        if (k == 0) {
            assert_int_equal(idpool_rec_answer(&r, 0, 0), IDPOOL_PENDING);
            oc = idpool_rec_answer(&r, 1, 0);
            assert_int_equal(oc, IDPOOL_FOUND);
            assert_int_equal(idpool_rec_answer(&r, 0, 0), IDPOOL_PENDING); /* decided */
            mmstate_order so = details(g.id[k], "Buy", 49999);
            assert_int_equal(mmstate_order_details_many(s, &so, 1, "", T0 + 10, NULL, 0), 0);
            assert_int_equal(
                mmstate_order_update(s, g.id[k], IDPOOL_STATUS_FOUND, 1, "ex-3", T0 + 10, NULL, 0),
                0);
        } else if (k < 5) {
            assert_int_equal(idpool_rec_answer(&r, 0, 0), IDPOOL_PENDING);
            oc = idpool_rec_answer(&r, 0, 0);
            assert_int_equal(oc, IDPOOL_UNSENT);
            assert_int_equal(
                mmstate_order_update(s, g.id[k], IDPOOL_STATUS_UNSENT, 1, NULL, T0 + 10, NULL, 0),
                0);
        } else {
            assert_int_equal(idpool_rec_answer(&r, 0, 1), IDPOOL_PENDING);
            assert_int_equal(idpool_rec_answer(&r, 0, 0), IDPOOL_FAILED); /* left reserved */
        }
    }
    assert_int_equal(mmstate_order_get(s, "mm1-3", &row), 0);
    assert_string_equal(row.status, IDPOOL_STATUS_FOUND);
    assert_int_equal(row.terminal, 1);
    assert_string_equal(row.symbol, "BTCUSDT");
    assert_string_equal(row.order_id, "ex-3");
    assert_true(row.price == 49999);
    assert_int_equal(mmstate_order_get(s, "mm1-4", &row), 0);
    assert_string_equal(row.status, IDPOOL_STATUS_UNSENT);
    assert_int_equal(row.terminal, 1);
    /* run 2's own reservation is not an ended run's */
    orders_cfg c;
    orders_cfg_default(&c);
    snprintf(c.run_id, sizeof c.run_id, "2");
    orders *o;
    assert_int_equal(orders_new(&c, &o, NULL, 0), 0);
    reserve(s, o, 1, 2);
    memset(&g, 0, sizeof g);
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 16, collect, &g, NULL), 1);
    assert_string_equal(g.id[0], "mm1-8");
    mmstate_close(s);

    /* run 3: what is left is mm1-8 and run 2's two unused ones (run 2 "crashed" too) */
    s = open_db();
    memset(&g, 0, sizeof g);
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 2, collect, &g, &more), 2);
    assert_int_equal(more, 1); /* bounded by max */
    assert_string_equal(g.id[0], "mm1-8");
    assert_string_equal(g.id[1], "mm2-1");
    mmstate_close(s);
    orders_free(o);
}

/* The tick's status changes in one commit: each row gets its own status, a row not stored is
 * counted, not fatal. */
static void test_status_batch(void **state)
{
    (void)state;
    mmstate *s = open_db();
    mmstate_order rows[2] = {details("mm1-1", "Buy", 100), details("mm1-2", "Sell", 101)};
    assert_int_equal(mmstate_order_new_many(s, rows, 2, T0, NULL, 0), 0);
    mmstate_update u[3] = {
        {.link_id = "mm1-1", .status = "new", .order_id = "ex-1"},
        {.link_id = "mm1-9", .status = "new"},
        {.link_id = "mm1-2", .status = "cancelled", .terminal = 1},
    };
    size_t missing = 9;
    assert_int_equal(mmstate_order_update_many(s, u, 3, T0 + 5, &missing, NULL, 0), 0);
    assert_int_equal(missing, 1);
    mmstate_order row;
    assert_int_equal(mmstate_order_get(s, "mm1-1", &row), 0);
    assert_string_equal(row.status, "new");
    assert_string_equal(row.order_id, "ex-1");
    assert_int_equal(row.terminal, 0);
    assert_int_equal(row.updated_ms, T0 + 5);
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), 0);
    assert_string_equal(row.status, "cancelled");
    assert_int_equal(row.terminal, 1);
    assert_int_equal(mmstate_order_update_many(s, u, 0, T0, &missing, NULL, 0), 0);
    assert_int_equal(missing, 0);
    /* a tick's details and status changes in one group: one commit */
    mmstate_stats before, after;
    mmstate_get_stats(s, &before);
    assert_int_equal(mmstate_group_end(s, NULL, 0), ERR_BADSTATE);
    assert_int_equal(mmstate_group_begin(s, NULL, 0), 0);
    assert_int_equal(mmstate_group_begin(s, NULL, 0), ERR_BADSTATE);
    mmstate_order d = details("mm1-1", "Buy", 99);
    assert_int_equal(mmstate_order_details_many(s, &d, 1, "new", T0 + 6, NULL, 0), 0);
    mmstate_update v = {.link_id = "mm1-2", .status = "filled", .terminal = 1};
    assert_int_equal(mmstate_order_update_many(s, &v, 1, T0 + 6, &missing, NULL, 0), 0);
    assert_int_equal(mmstate_group_end(s, NULL, 0), 0);
    mmstate_get_stats(s, &after);
    assert_int_equal(after.writes, before.writes + 3); /* two statements and the one commit */
    assert_int_equal(mmstate_order_get(s, "mm1-1", &row), 0);
    assert_string_equal(row.status, "pending-new"); /* was "new": the details set it */
    assert_true(row.price == 99);
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), 0);
    assert_string_equal(row.status, "filled");
    mmstate_close(s);
    /* what a group wrote is durable after its end */
    s = open_db();
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), 0);
    assert_string_equal(row.status, "filled");
    mmstate_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_drain_fallback),
        cmocka_unit_test(test_never_used_twice),
        cmocka_unit_test(test_ids_are_the_tables),
        cmocka_unit_test_setup_teardown(test_recovery_after_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
