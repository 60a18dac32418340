/* state: the SQLite state database. Write-before-send durability across a kill -9 (fork,
 * write, SIGKILL, reopen), execId dedupe across reopen, sequence continuity, the start-up
 * loads and their bounds, pruning by age and by cap, and clear codes for a corrupt or an
 * unwritable file. Link ids journalled ahead (idpool.h): the reserved ids of a run killed by
 * SIGKILL loaded at the next start, looked up (found, not found, failed) and retired; the
 * tick's status changes and row details in one commit; a reservation inside a group (the
 * writer thread's batch) all or none. */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
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
#include "testutil.h"

#define T0  1800000000000LL
#define DAY (24LL * 3600 * 1000)

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_file(dir, sizeof dir, "test_state", path, sizeof path, "mmbot.db") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static mmstate *open_db(const mmstate_config *c)
{
    mmstate_config d;
    if (!c) {
        mmstate_config_default(&d);
        d.path = path;
        c = &d;
    }
    mmstate *s;
    char err[256];
    int rc = mmstate_open(&s, c, err, sizeof err);
    if (rc)
        fail_msg("open: %s", err);
    return s;
}

static mmstate_order order(const char *link, const char *side, double px)
{
    mmstate_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.link_id, sizeof o.link_id, "%s", link);
    snprintf(o.symbol, sizeof o.symbol, "BTCUSDT");
    snprintf(o.side, sizeof o.side, "%s", side);
    o.price = px;
    o.qty = 0.001;
    return o;
}

/* The child writes the order, then dies by SIGKILL without closing anything. */
static void test_write_before_send_survives_kill(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mmstate *s;
        mmstate_config c;
        mmstate_config_default(&c);
        c.path = path;
        if (mmstate_open(&s, &c, NULL, 0))
            _exit(3);
        char id[MMSTATE_LINK_ID];
        mmstate_order o = order("", "Buy", 50000.5);
        if (mmstate_next_link_id(s, "mm", id, sizeof id))
            _exit(4);
        snprintf(o.link_id, sizeof o.link_id, "%s", id);
        if (mmstate_order_new(s, &o, T0 + 5, NULL, 0))
            _exit(5);
        kill(getpid(), SIGKILL); /* the request would leave now; the process dies instead */
        _exit(6);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    mmstate *s = open_db(NULL);
    assert_int_equal(mmstate_run_id(s), 2); /* the child's run was 1 */
    mmstate_order o;
    assert_int_equal(mmstate_order_get(s, "mm1-1", &o), 0);
    assert_string_equal(o.status, "pending-new");
    assert_string_equal(o.side, "Buy");
    assert_true(o.price == 50000.5);
    assert_int_equal(o.run_id, 1);
    assert_int_equal(o.created_ms, T0 + 5);
    assert_int_equal(o.terminal, 0);
    mmstate_close(s);
}

static void test_sequence_continuity(void **state)
{
    (void)state;
    char seen[8][MMSTATE_LINK_ID];
    int n = 0;
    for (int run = 0; run < 3; run++) {
        mmstate *s = open_db(NULL);
        assert_int_equal(mmstate_run_id(s), (uint64_t)run + 1);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(mmstate_next_link_id(s, "mm", seen[n], sizeof seen[n]), 0);
            for (int j = 0; j < n; j++)
                assert_string_not_equal(seen[j], seen[n]);
            n++;
        }
        if (run < 2)
            mmstate_close(s);
        else {
            assert_string_equal(seen[4], "mm3-1");
            assert_string_equal(seen[5], "mm3-2");
            char small[4];
            assert_int_equal(mmstate_next_link_id(s, "mm", small, sizeof small), ERR_INVAL);
            assert_int_equal(mmstate_next_link_id(s, "bad prefix", seen[6], 37), ERR_INVAL);
            assert_int_equal(mmstate_next_link_id(s, "waytoolongprefix", seen[6], 37), ERR_INVAL);
            mmstate_close(s);
        }
    }
    assert_string_equal(seen[0], "mm1-1");
    assert_string_equal(seen[3], "mm2-2");
}

typedef struct idlist {
    char ids[8][MMSTATE_LINK_ID];
    int n;
} idlist;

static void collect_order(void *ud, const mmstate_order *x)
{
    idlist *g = ud;
    snprintf(g->ids[g->n++], MMSTATE_LINK_ID, "%s", x->link_id);
}

static void test_orders_and_loads(void **state)
{
    (void)state;
    mmstate *s = open_db(NULL);
    char err[256];
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "o-%d", i);
        mmstate_order o = order(id, i % 2 ? "Sell" : "Buy", 100 + i);
        assert_int_equal(mmstate_order_new(s, &o, T0 + i, err, sizeof err), 0);
    }
    mmstate_order dup = order("o-1", "Buy", 1);
    assert_int_equal(mmstate_order_new(s, &dup, T0, err, sizeof err), ERR_DUP);
    char want[300];
    snprintf(want, sizeof want, "order 'o-1' is already in state database '%s'", path);
    assert_string_equal(err, want);
    mmstate_order bad = order("has space", "Buy", 1);
    assert_int_equal(mmstate_order_new(s, &bad, T0, err, sizeof err), ERR_INVAL);
    assert_int_equal(mmstate_order_update(s, "o-1", "new", 0, "oid-1", T0 + 10, err, sizeof err),
                     0);
    assert_int_equal(mmstate_order_update(s, "o-2", "cancelled", 1, NULL, T0 + 11, err, sizeof err),
                     0);
    assert_int_equal(mmstate_order_update(s, "o-9", "new", 0, NULL, T0, err, sizeof err),
                     ERR_NOENT);
    mmstate_order o;
    assert_int_equal(mmstate_order_get(s, "o-1", &o), 0);
    assert_string_equal(o.status, "new");
    assert_string_equal(o.order_id, "oid-1");
    assert_int_equal(o.updated_ms, T0 + 10);
    /* an update without an orderId keeps the known one */
    assert_int_equal(mmstate_order_update(s, "o-1", "unknown", 0, "", T0 + 12, err, sizeof err), 0);
    assert_int_equal(mmstate_order_get(s, "o-1", &o), 0);
    assert_string_equal(o.order_id, "oid-1");
    assert_string_equal(o.status, "unknown");
    mmstate_close(s);

    /* after a restart: the non-terminal ones, oldest first, bounded */
    s = open_db(NULL);
    idlist got = {.n = 0};
    int more = -1;
    int k = mmstate_load_open_orders(s, 10, collect_order, &got, &more);
    assert_int_equal(k, 4);
    assert_int_equal(more, 0);
    assert_string_equal(got.ids[0], "o-0");
    assert_string_equal(got.ids[1], "o-1");
    assert_string_equal(got.ids[2], "o-3");
    got.n = 0;
    assert_int_equal(mmstate_load_open_orders(s, 2, collect_order, &got, &more), 2);
    assert_int_equal(more, 1);
    assert_int_equal(got.n, 2);
    mmstate_close(s);
}

/* The creates of one tick in one commit: all stored, or none (a duplicate among them). */
static void test_orders_in_one_commit(void **state)
{
    (void)state;
    mmstate *s = open_db(NULL);
    char err[256];
    mmstate_order v[3] = {order("b-1", "Buy", 100), order("b-2", "Sell", 101),
                          order("b-3", "Buy", 99)};
    assert_int_equal(mmstate_order_new_many(s, v, 3, T0, err, sizeof err), 0);
    mmstate_stats st;
    mmstate_get_stats(s, &st);
    assert_int_equal(st.orders, 3);
    mmstate_order o;
    assert_int_equal(mmstate_order_get(s, "b-2", &o), 0);
    assert_string_equal(o.status, "pending-new");
    assert_string_equal(o.side, "Sell");
    /* b-5 is new, b-1 a duplicate: neither is stored */
    mmstate_order w[2] = {order("b-5", "Buy", 98), order("b-1", "Buy", 97)};
    assert_int_equal(mmstate_order_new_many(s, w, 2, T0 + 1, err, sizeof err), ERR_DUP);
    char want[300];
    snprintf(want, sizeof want, "order 'b-1' is already in state database '%s'", path);
    assert_string_equal(err, want);
    assert_int_equal(mmstate_order_get(s, "b-5", &o), ERR_NOENT);
    mmstate_get_stats(s, &st);
    assert_int_equal(st.orders, 3);
    /* the handle still works after the rollback, and the rows survive a reopen */
    assert_int_equal(mmstate_order_new(s, &w[0], T0 + 2, err, sizeof err), 0);
    assert_int_equal(mmstate_order_new_many(s, NULL, 0, T0, err, sizeof err), 0);
    mmstate_close(s);
    s = open_db(NULL);
    assert_int_equal(mmstate_order_get(s, "b-3", &o), 0);
    assert_int_equal(mmstate_order_get(s, "b-5", &o), 0);
    mmstate_get_stats(s, &st);
    assert_int_equal(st.orders, 4);
    mmstate_close(s);
}

static mmstate_fill fill(const char *exec, int64_t t)
{
    mmstate_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.exec_id, sizeof f.exec_id, "%s", exec);
    snprintf(f.link_id, sizeof f.link_id, "o-1");
    snprintf(f.symbol, sizeof f.symbol, "BTCUSDT");
    snprintf(f.side, sizeof f.side, "Buy");
    f.price = 100;
    f.qty = 0.001;
    f.fee = 0.00002;
    f.is_maker = 1;
    f.exec_ms = t;
    return f;
}

static void collect_exec(void *ud, const char *id)
{
    char *buf = ud; /* 200 bytes */
    size_t l = strlen(buf);
    snprintf(buf + l, 200 - l, "%s,", id);
}

static void test_exec_dedupe_across_reopen(void **state)
{
    (void)state;
    mmstate *s = open_db(NULL);
    char err[256];
    mmstate_fill a = fill("e-1", T0), b = fill("e-2", T0 + 1);
    assert_int_equal(mmstate_fill_add(s, &a, err, sizeof err), 0);
    assert_int_equal(mmstate_fill_add(s, &a, err, sizeof err), 1);
    assert_int_equal(mmstate_fill_add(s, &b, err, sizeof err), 0);
    mmstate_close(s);
    s = open_db(NULL);
    assert_int_equal(mmstate_fill_add(s, &a, err, sizeof err), 1); /* a restart counts it once */
    mmstate_stats st;
    mmstate_get_stats(s, &st);
    assert_int_equal(st.fills, 2);
    char ids[200] = "";
    int more;
    assert_int_equal(mmstate_load_exec_ids(s, 10, collect_exec, ids, &more), 2);
    assert_string_equal(ids, "e-2,e-1,");
    assert_int_equal(more, 0);
    ids[0] = '\0';
    assert_int_equal(mmstate_load_exec_ids(s, 1, collect_exec, ids, &more), 1);
    assert_string_equal(ids, "e-2,");
    assert_int_equal(more, 1);
    mmstate_close(s);
}

static void test_prune(void **state)
{
    (void)state;
    mmstate_config c;
    mmstate_config_default(&c);
    c.path = path;
    c.retention_ms = DAY;
    c.max_orders = 10;
    c.max_fills = 5;
    mmstate *s = open_db(&c);
    char err[256];
    /* 6 old terminal orders, 2 old open ones, 2 recent terminal ones */
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "p-%d", i);
        mmstate_order o = order(id, "Buy", 1);
        int64_t t = i < 8 ? T0 : T0 + 2 * DAY + i;
        assert_int_equal(mmstate_order_new(s, &o, t, err, sizeof err), 0);
        if (i < 6 || i >= 8)
            assert_int_equal(mmstate_order_update(s, id, "filled", 1, NULL, t, err, sizeof err), 0);
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "f-%d", i);
        mmstate_fill f = fill(id, i < 3 ? T0 : T0 + 2 * DAY);
        assert_int_equal(mmstate_fill_add(s, &f, err, sizeof err), 0);
    }
    /* at the cap: a new order first makes room by dropping the oldest terminal ones */
    mmstate_order o = order("p-new", "Sell", 2);
    assert_int_equal(mmstate_order_new(s, &o, T0 + 2 * DAY, err, sizeof err), 0);
    mmstate_stats st;
    mmstate_get_stats(s, &st);
    assert_true(st.orders <= 10);
    assert_int_equal(st.orders_max, 10);
    /* a fill over the cap drops the oldest fill */
    mmstate_fill f = fill("f-5", T0 + 2 * DAY);
    assert_int_equal(mmstate_fill_add(s, &f, err, sizeof err), 0);
    mmstate_get_stats(s, &st);
    assert_int_equal(st.fills, 5);
    /* by age: terminal orders and fills older than a day go; open orders stay */
    int del = mmstate_prune(s, T0 + 2 * DAY, err, sizeof err);
    assert_true(del > 0);
    mmstate_get_stats(s, &st);
    assert_int_equal(st.fills, 3); /* f-3, f-4, f-5 */
    mmstate_order g;
    assert_int_equal(mmstate_order_get(s, "p-0", &g), ERR_NOENT);
    assert_int_equal(mmstate_order_get(s, "p-5", &g), ERR_NOENT);
    assert_int_equal(mmstate_order_get(s, "p-6", &g), 0); /* open: never pruned */
    assert_int_equal(mmstate_order_get(s, "p-7", &g), 0);
    assert_int_equal(mmstate_order_get(s, "p-8", &g), 0); /* recent */
    assert_int_equal(st.orders, 5);                       /* p-6 p-7 p-8 p-9 p-new */
    assert_int_equal(mmstate_prune(s, T0 + 2 * DAY, err, sizeof err), 0);
    mmstate_close(s);

    /* a table full of open orders: a new one is refused with ERR_FULL, not dropped */
    c.max_orders = 5;
    s = open_db(&c);
    mmstate_order x = order("p-x", "Buy", 1);
    assert_int_equal(mmstate_order_new(s, &x, T0 + 3 * DAY, err, sizeof err), 0); /* p-8 went */
    mmstate_order y = order("p-y", "Buy", 1);
    assert_int_equal(mmstate_order_update(s, "p-9", "new", 0, NULL, T0, err, sizeof err), 0);
    assert_int_equal(mmstate_order_new(s, &y, T0 + 3 * DAY, err, sizeof err), ERR_FULL);
    assert_non_null(strstr(err, "open orders stored, the cap"));
    mmstate_close(s);
}

static void test_errors(void **state)
{
    (void)state;
    char p[160], err[512];
    mmstate *s = (mmstate *)1;
    mmstate_config c;
    mmstate_config_default(&c);
    /* not a database */
    snprintf(p, sizeof p, "%s/garbage.db", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc('x' + i % 3, f);
    fclose(f);
    c.path = p;
    assert_int_equal(mmstate_open(&s, &c, err, sizeof err), ERR_PARSE);
    assert_null(s);
    char want[300];
    snprintf(want, sizeof want, "cannot set up state database '%s': file is not a database", p);
    assert_string_equal(err, want);
    /* a path that cannot be created (its directory is a file) */
    snprintf(p, sizeof p, "%s/garbage.db/x.db", dir);
    assert_int_equal(mmstate_open(&s, &c, err, sizeof err), ERR_IO);
    snprintf(want, sizeof want, "cannot open state database '%s': unable to open database file", p);
    assert_string_equal(err, want);
    c.path = "";
    assert_int_equal(mmstate_open(&s, &c, err, sizeof err), ERR_INVAL);
    mmstate_close(NULL);
}

static int cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* The cost of a write, as the header states it; the checkpoints run on their own thread. */
static void test_write_cost(void **state)
{
    (void)state;
    mmstate_config c;
    mmstate_config_default(&c);
    c.path = path;
    c.checkpoint_ms = 50;
    mmstate *s = open_db(&c);
    char err[256];
    static unsigned us[2000];
    for (int i = 0; i < 2000; i++) {
        char id[MMSTATE_LINK_ID];
        assert_int_equal(mmstate_next_link_id(s, "w", id, sizeof id), 0);
        mmstate_order o = order(id, "Buy", 100);
        assert_int_equal(mmstate_order_new(s, &o, T0 + i, err, sizeof err), 0);
        mmstate_stats st;
        mmstate_get_stats(s, &st);
        us[i] = st.last_write_us;
        if (i % 200 == 0)
            usleep(60 * 1000); /* let the checkpointer run meanwhile */
    }
    mmstate_stats st;
    mmstate_get_stats(s, &st);
    assert_int_equal(st.writes, 2000);
    assert_int_equal(st.orders, 2000);
    assert_true(st.checkpoints > 0);
    assert_int_equal(st.checkpoint_errors, 0);
    qsort(us, 2000, sizeof us[0], cmp_u);
    print_message("state: order write p50 %u us, p99 %u us, max %u us; checkpoint max %u us "
                  "(off the loop)\n",
                  us[1000], us[1980], us[1999], st.max_checkpoint_us);
    mmstate_close(s);
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

/* A create's row as the tick writes its details. */
static mmstate_order details(const char *link, const char *side, double px)
{
    mmstate_order so = order(link, side, px);
    snprintf(so.status, sizeof so.status, "pending-new");
    return so;
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
        mmstate *s = open_db(NULL);
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

    mmstate *s = open_db(NULL);
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

    idlist g = {0};
    int more = 1;
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 8, collect_order, &g, &more),
                     6);
    assert_int_equal(more, 0);
    for (int k = 0; k < 6; k++) {
        char want[16];
        snprintf(want, sizeof want, "mm1-%d", k + 3);
        assert_string_equal(g.ids[k], want);
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
            mmstate_order so = details(g.ids[k], "Buy", 49999);
            assert_int_equal(mmstate_order_details_many(s, &so, 1, "", T0 + 10, NULL, 0), 0);
            assert_int_equal(
                mmstate_order_update(s, g.ids[k], IDPOOL_STATUS_FOUND, 1, "ex-3", T0 + 10, NULL, 0),
                0);
        } else if (k < 5) {
            assert_int_equal(idpool_rec_answer(&r, 0, 0), IDPOOL_PENDING);
            oc = idpool_rec_answer(&r, 0, 0);
            assert_int_equal(oc, IDPOOL_UNSENT);
            assert_int_equal(
                mmstate_order_update(s, g.ids[k], IDPOOL_STATUS_UNSENT, 1, NULL, T0 + 10, NULL, 0),
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
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 8, collect_order, &g, NULL),
                     1);
    assert_string_equal(g.ids[0], "mm1-8");
    mmstate_close(s);

    /* run 3: what is left is mm1-8 and run 2's two unused ones (run 2 "crashed" too) */
    s = open_db(NULL);
    memset(&g, 0, sizeof g);
    assert_int_equal(mmstate_load_reserved(s, IDPOOL_STATUS_RESERVED, 2, collect_order, &g, &more),
                     2);
    assert_int_equal(more, 1); /* bounded by max */
    assert_string_equal(g.ids[0], "mm1-8");
    assert_string_equal(g.ids[1], "mm2-1");
    mmstate_close(s);
    orders_free(o);
}

/* The tick's status changes in one commit: each row gets its own status, a row not stored is
 * counted, not fatal. */
static void test_status_batch(void **state)
{
    (void)state;
    mmstate *s = open_db(NULL);
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
    s = open_db(NULL);
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), 0);
    assert_string_equal(row.status, "filled");
    mmstate_close(s);
}

/* Inside a group (the writer thread's batch, statewr.h) every write joins the one
 * transaction; a reservation (mmstate_order_new_many) stays all or none there: one that fails
 * leaves nothing of itself and keeps the group's other writes; and the group's row counts
 * follow a group whose commit is rolled back. */
static void test_many_in_group(void **state)
{
    (void)state;
    mmstate *s = open_db(NULL);
    mmstate_order a = details("mm1-1", "Buy", 100);
    assert_int_equal(mmstate_group_begin(s, NULL, 0), 0);
    assert_int_equal(mmstate_order_new(s, &a, T0, NULL, 0), 0);
    mmstate_order res[3] = {details("mm1-2", "Buy", 1), details("mm1-3", "Buy", 1),
                            details("mm1-1", "Buy", 1)}; /* the last is a duplicate */
    char err[256] = "";
    assert_int_equal(mmstate_order_new_many(s, res, 3, T0, err, sizeof err), ERR_DUP);
    assert_non_null(strstr(err, "order 'mm1-1' is already in state database"));
    mmstate_order ok[2] = {details("mm1-4", "Sell", 2), details("mm1-5", "Sell", 2)};
    assert_int_equal(mmstate_order_new_many(s, ok, 2, T0, NULL, 0), 0);
    mmstate_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.exec_id, sizeof f.exec_id, "x-1");
    f.exec_ms = T0;
    assert_int_equal(mmstate_fill_add(s, &f, NULL, 0), 0);
    assert_int_equal(mmstate_order_update(s, "mm1-1", "new", 0, "ex-1", T0 + 1, NULL, 0), 0);
    assert_int_equal(mmstate_group_end(s, NULL, 0), 0);
    mmstate_close(s);
    s = open_db(NULL);
    mmstate_order row;
    assert_int_equal(mmstate_order_get(s, "mm1-1", &row), 0);
    assert_string_equal(row.status, "new");
    assert_int_equal(mmstate_order_get(s, "mm1-2", &row), ERR_NOENT);
    assert_int_equal(mmstate_order_get(s, "mm1-3", &row), ERR_NOENT);
    assert_int_equal(mmstate_order_get(s, "mm1-4", &row), 0);
    assert_int_equal(mmstate_order_get(s, "mm1-5", &row), 0);
    mmstate_stats st;
    mmstate_get_stats(s, &st);
    assert_int_equal(st.orders, 3);
    assert_int_equal(st.fills, 1);
    assert_int_equal(mmstate_fill_add(s, &f, NULL, 0), 1); /* stored by the group */
    mmstate_close(s);
}

/* The scheduling policy of thread tid of this process (a /proc/self/task name), or -1:
 * sched_getscheduler takes a thread id on Linux. */
static int task_policy(const char *tid)
{
    return sched_getscheduler((pid_t)strtol(tid, NULL, 10));
}

/* Under chrt -f (every thread inherits SCHED_FIFO) the checkpointer leaves the real-time class:
 * a commit must never hold a CPU the loop waits for. Skipped where FIFO is refused. */
static void test_background_thread_leaves_fifo(void **state)
{
    (void)state;
    struct sched_param sp = {.sched_priority = 1};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        skip(); /* not root, no CAP_SYS_NICE */
    mmstate *s = open_db(NULL);
    struct timespec ms = {0, 50 * 1000 * 1000};
    nanosleep(&ms, NULL); /* the checkpointer has started */
    char self[32];
    snprintf(self, sizeof self, "%ld", (long)syscall(SYS_gettid));
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int others = 0, fifo_others = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, self))
            continue;
        others++;
        fifo_others += task_policy(e->d_name) == SCHED_FIFO;
    }
    closedir(d);
    assert_int_equal(task_policy(self), SCHED_FIFO);
    sp.sched_priority = 0;
    assert_int_equal(pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp), 0);
    mmstate_close(s);
    assert_true(others >= 1);         /* the checkpointer */
    assert_int_equal(fifo_others, 0); /* none kept the real-time class */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_before_send_survives_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_continuity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orders_and_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_thread_leaves_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orders_in_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_dedupe_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_cost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_after_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_in_group, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
