/* statewr: the writer thread of the state database. The writer is held up deterministically
 * by a second connection that holds the database's write lock (BEGIN IMMEDIATE), so that the
 * tests see: a full queue makes the enqueuing thread wait (counted, nothing dropped); what was
 * queued meanwhile goes in one transaction; the pool of link ids is refilled only once the
 * writer confirms the reservation's commit (and a failed one refills nothing and stores
 * nothing); a write error comes back with the mmstate_* code and message; status changes that
 * find no row are counted; statewr_stop drains the queue; and after a SIGKILL with writes
 * queued, the restart finds every reserved id still to be looked up. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "errcode.h"
#include "idpool.h"
#include "state.h"
#include "statewr.h"
#include "testutil.h"

#define T0 1800000000000LL

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_file(dir, sizeof dir, "test_statewr", path, sizeof path, "mmbot.db") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static mmstate *open_db(void)
{
    mmstate_config c;
    mmstate_config_default(&c);
    c.path = path;
    c.busy_timeout_ms = 10000; /* the writer waits for the test's lock, never fails on it */
    mmstate *s;
    char err[256];
    if (mmstate_open(&s, &c, err, sizeof err))
        fail_msg("open: %s", err);
    return s;
}

static mmstate_order order(const char *link, const char *status)
{
    mmstate_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.link_id, sizeof o.link_id, "%s", link);
    snprintf(o.symbol, sizeof o.symbol, "BTCUSDT");
    snprintf(o.side, sizeof o.side, "Buy");
    snprintf(o.status, sizeof o.status, "%s", status);
    o.price = 100;
    o.qty = 0.001;
    return o;
}

/* ---- the write lock of another connection ---- */

typedef struct lock {
    sqlite3 *db;
    unsigned release_after_ms; /* 0: the test releases it */
    pthread_t th;
    int threaded;
} lock;

static void lock_take(lock *l)
{
    assert_int_equal(sqlite3_open(path, &l->db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void lock_release(lock *l)
{
    assert_int_equal(sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(l->db);
    l->db = NULL;
}

static void *lock_main(void *arg)
{
    lock *l = arg;
    struct timespec ts = {l->release_after_ms / 1000, (long)(l->release_after_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

/* Releases the lock from another thread after ms (while this one waits in an enqueue). */
static void lock_release_later(lock *l, unsigned ms)
{
    l->release_after_ms = ms;
    l->threaded = 1;
    assert_int_equal(pthread_create(&l->th, NULL, lock_main, l), 0);
}

static void lock_join(lock *l)
{
    if (l->threaded)
        pthread_join(l->th, NULL);
    sqlite3_close(l->db);
    l->db = NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits (bounded, 5 s) until the writer has taken its first batch and so holds no entry. */
static void wait_taken(statewr *w)
{
    for (int i = 0; i < 500; i++) {
        statewr_stats st;
        statewr_get_stats(w, &st);
        if (st.depth == 0)
            return;
        sleep_ms(10);
    }
    fail_msg("the writer took nothing in 5 s");
}

/* ---- what the loop learns ---- */

typedef struct seen {
    unsigned n;
    statewr_result r[64];
    idpool *pool; /* refilled from a STATEWR_RESERVE result, as the bot does */
    int notified;
    pthread_mutex_t mu;
} seen;

static void on_result(void *ud, const statewr_result *r)
{
    seen *s = ud;
    if (s->n < 64)
        s->r[s->n++] = *r;
    if (r->kind == STATEWR_RESERVE && r->rc == 0 && s->pool)
        assert_int_equal(idpool_added(s->pool, r->tag, r->n), 0);
}

static void on_notify(void *ud)
{
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    s->notified++;
    pthread_mutex_unlock(&s->mu);
}

static statewr *start(mmstate *db, seen *s, unsigned cap)
{
    statewr_config c;
    statewr_config_default(&c);
    if (cap)
        c.cap = cap;
    statewr *w;
    assert_int_equal(statewr_start(&w, db, &c, on_result, s, on_notify, s), 0);
    return w;
}

static void init_seen(seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

/* The end of a test: the handle closed (the writer stopped before). */
static void done(mmstate *db, seen *s)
{
    mmstate_close(db);
    pthread_mutex_destroy(&s->mu);
}

/* A full queue: the enqueue waits until the writer makes room (counted, timed), and drops
 * nothing; what was queued behind the lock goes in one transaction. */
static void test_full_queue_waits_and_batches(void **state)
{
    (void)state;
    mmstate *db = open_db();
    seen s;
    init_seen(&s);
    statewr *w = start(db, &s, 8);
    lock l = {0};
    lock_take(&l);
    mmstate_order o = order("a-1", "new");
    assert_int_equal(statewr_order_new(w, &o, T0, 0, 0), 0);
    wait_taken(w); /* the writer holds a-1 and waits for the lock */
    for (int i = 2; i <= 9; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        o = order(id, "new");
        assert_int_equal(statewr_order_new(w, &o, T0, 0, 0), 0);
    }
    statewr_stats st;
    statewr_get_stats(w, &st);
    assert_int_equal(st.depth, 8);
    assert_int_equal(st.depth_max, 8);
    assert_int_equal(st.cap, 8);
    assert_int_equal(st.full, 0);
    lock_release_later(&l, 300);
    o = order("a-10", "new"); /* the queue is full: this waits for the lock to go */
    assert_int_equal(statewr_order_new(w, &o, T0, 0, 0), 0);
    statewr_get_stats(w, &st);
    assert_int_equal(st.full, 1);
    assert_true(st.wait_us_max >= 200000);
    statewr_flush(w);
    lock_join(&l);
    statewr_get_stats(w, &st);
    assert_int_equal(st.enqueued, 10);
    assert_int_equal(st.written, 10);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.depth, 0);
    /* a-1 alone, a-2..a-9 together (queued behind the lock), then a-10: at most 3 commits */
    assert_true(st.batches <= 3);
    assert_int_equal(st.batch_max_seen, 8);
    assert_true(st.batch_us_max >= 200000); /* the writer's wait, not the loop's */
    assert_int_equal(st.db.orders, 10);
    assert_int_equal(s.n, 0); /* no failure, nothing asked for */
    statewr_stop(w);
    for (int i = 1; i <= 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        mmstate_order got;
        assert_int_equal(mmstate_order_get(db, id, &got), 0);
    }
    done(db, &s);
}

static void reserve_rows(mmstate_order *rows, unsigned from, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        char id[16];
        snprintf(id, sizeof id, "r1-%u", from + k);
        rows[k] = order(id, IDPOOL_STATUS_RESERVED);
        rows[k].symbol[0] = '\0';
    }
}

/* The pool takes a reservation only once the writer confirms its commit. */
static void test_pool_refilled_after_commit(void **state)
{
    (void)state;
    mmstate *db = open_db();
    idpool pool;
    idpool_init(&pool, 8, 4);
    seen s;
    init_seen(&s);
    s.pool = &pool;
    statewr *w = start(db, &s, 0);
    uint64_t from;
    unsigned want = idpool_want(&pool, 1, &from);
    assert_int_equal(want, 8);
    assert_int_equal(from, 1);
    mmstate_order rows[8];
    reserve_rows(rows, 1, 8);
    lock l = {0};
    lock_take(&l);
    assert_int_equal(statewr_reserve(w, rows, 8, T0, from), 0);
    wait_taken(w);
    sleep_ms(50);
    assert_int_equal(statewr_poll(w), 0); /* not committed: no word, the pool stays empty */
    assert_int_equal(idpool_take(&pool, 1), 0);
    idpool_init(&pool, 8, 4); /* (the take above only proved it was not pooled) */
    lock_release(&l);
    statewr_flush(w);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].kind, STATEWR_RESERVE);
    assert_int_equal(s.r[0].rc, 0);
    assert_int_equal(s.r[0].n, 8);
    assert_int_equal(s.r[0].tag, 1);
    idpool_stats ps;
    idpool_stats_get(&pool, &ps);
    assert_int_equal(ps.avail, 8);
    assert_int_equal(idpool_take(&pool, 1), 1);

    /* a reservation that cannot be stored (r1-8 exists): ERR_DUP, nothing stored, no refill */
    mmstate_order again[4];
    for (unsigned k = 0; k < 4; k++) {
        char id[16];
        snprintf(id, sizeof id, "r1-%u", 5 + k * 1); /* r1-5 .. r1-8: all exist */
        again[k] = order(id, IDPOOL_STATUS_RESERVED);
    }
    snprintf(again[0].link_id, sizeof again[0].link_id, "r1-100"); /* new, rolled back */
    s.pool = NULL;
    assert_int_equal(statewr_reserve(w, again, 4, T0, 100), 0);
    statewr_flush(w);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[1].kind, STATEWR_RESERVE);
    assert_int_equal(s.r[1].rc, ERR_DUP);
    assert_non_null(strstr(s.r[1].err, "is already in state database"));
    idpool_stats_get(&pool, &ps);
    assert_int_equal(ps.avail, 7);
    statewr_stop(w);
    mmstate_order got;
    assert_int_equal(mmstate_order_get(db, "r1-100", &got), ERR_NOENT); /* all or none */
    assert_int_equal(mmstate_order_get(db, "r1-8", &got), 0);
    assert_string_equal(got.status, IDPOOL_STATUS_RESERVED);
    done(db, &s);
}

/* Errors come back with the code and message of the mmstate_* call; the other writes of the
 * batch are stored; a status change that finds no row is counted as missing; the notify
 * callback runs when results wait. */
static void test_errors_surface(void **state)
{
    (void)state;
    mmstate *db = open_db();
    seen s;
    init_seen(&s);
    statewr *w = start(db, &s, 0);
    lock l = {0};
    lock_take(&l);
    mmstate_order o = order("e-1", "new");
    assert_int_equal(statewr_order_new(w, &o, T0, 0, 0), 0);
    wait_taken(w);
    /* one batch behind the lock: a duplicate, a set of an unknown order, a missing update,
     * a fill, and a create that asks for its word */
    assert_int_equal(statewr_order_new(w, &o, T0, 7, 0), 0);
    assert_int_equal(statewr_set(w, "nope-1", "cancelled", 1, NULL, T0), 0);
    assert_int_equal(statewr_update(w, "nope-2", "cancelled", 1, NULL, T0), 0);
    assert_int_equal(statewr_update(w, "nope-3", "cancelled", 1, NULL, T0), 0);
    assert_int_equal(statewr_update(w, "e-1", "filled", 1, "oid-1", T0), 0);
    mmstate_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.exec_id, sizeof f.exec_id, "x-1");
    snprintf(f.link_id, sizeof f.link_id, "e-1");
    f.exec_ms = T0; /* not older than the retention: the prune below keeps it */
    assert_int_equal(statewr_fill(w, &f), 0);
    assert_int_equal(statewr_fill(w, &f), 0); /* a replay: not an error */
    mmstate_order o2 = order("e-2", "new");
    assert_int_equal(statewr_order_new(w, &o2, T0, 3, 1), 0);
    assert_int_equal(statewr_prune(w, T0), 0);
    lock_release(&l);
    statewr_flush(w);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.r[0].kind, STATEWR_ORDER_NEW);
    assert_int_equal(s.r[0].rc, ERR_DUP);
    assert_int_equal(s.r[0].tag, 7);
    assert_non_null(strstr(s.r[0].err, "order 'e-1' is already in state database"));
    assert_int_equal(s.r[1].kind, STATEWR_SET);
    assert_int_equal(s.r[1].rc, ERR_NOENT);
    assert_non_null(strstr(s.r[1].err, "order 'nope-1' is not in state database"));
    assert_int_equal(s.r[2].kind, STATEWR_ORDER_NEW);
    assert_int_equal(s.r[2].rc, 0);
    assert_int_equal(s.r[2].tag, 3);
    assert_int_equal(s.r[3].kind, STATEWR_UPDATE);
    assert_int_equal(s.r[3].rc, 0);
    assert_int_equal(s.r[3].missing, 2);
    int notified = 0; /* notify runs on the writer just after the batch: wait for it, 2 s */
    for (int i = 0; i < 200 && !notified; i++) {
        pthread_mutex_lock(&s.mu);
        notified = s.notified;
        pthread_mutex_unlock(&s.mu);
        if (!notified)
            sleep_ms(10);
    }
    assert_true(notified >= 1);
    statewr_stats st;
    statewr_get_stats(w, &st);
    assert_int_equal(st.errors, 2);
    assert_int_equal(st.db.fills, 1);
    statewr_stop(w);
    mmstate_order got;
    assert_int_equal(mmstate_order_get(db, "e-1", &got), 0);
    assert_string_equal(got.status, "filled");
    assert_string_equal(got.order_id, "oid-1");
    assert_int_equal(mmstate_order_get(db, "e-2", &got), 0);
    done(db, &s);
}

/* A transaction that cannot be had (another process holds the lock past busy_timeout) gives
 * every write of the batch the code of the failure, ERR_BUSY; a reservation among them is not
 * confirmed, so the pool is not refilled; nothing of the batch is stored. */
static void test_failed_transaction(void **state)
{
    (void)state;
    mmstate_config c;
    mmstate_config_default(&c);
    c.path = path;
    c.busy_timeout_ms = 50;
    mmstate *db;
    char err[256];
    assert_int_equal(mmstate_open(&db, &c, err, sizeof err), 0);
    idpool pool;
    idpool_init(&pool, 8, 4);
    seen s;
    init_seen(&s);
    s.pool = &pool;
    statewr *w = start(db, &s, 0);
    lock l = {0};
    lock_take(&l);
    mmstate_order o = order("b-1", "new");
    assert_int_equal(statewr_order_new(w, &o, T0, 1, 1), 0);
    mmstate_order rows[4];
    reserve_rows(rows, 1, 4);
    assert_int_equal(statewr_reserve(w, rows, 4, T0, 1), 0);
    statewr_flush(w);
    lock_release(&l);
    /* b-1 and the reservation may have gone in one batch or two: each failed on its own */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0].kind, STATEWR_ORDER_NEW);
    assert_int_equal(s.r[0].rc, ERR_BUSY);
    assert_int_equal(s.r[0].tag, 1);
    assert_non_null(strstr(s.r[0].err, "cannot write to state database"));
    assert_int_equal(s.r[1].kind, STATEWR_RESERVE);
    assert_int_equal(s.r[1].rc, ERR_BUSY);
    assert_int_equal(s.r[1].n, 4);
    idpool_stats ps;
    idpool_stats_get(&pool, &ps);
    assert_int_equal(ps.avail, 0);
    statewr_stats st;
    statewr_get_stats(w, &st);
    assert_int_equal(st.errors, 2);
    statewr_stop(w);
    mmstate_order got;
    assert_int_equal(mmstate_order_get(db, "b-1", &got), ERR_NOENT);
    assert_int_equal(mmstate_order_get(db, "r1-1", &got), ERR_NOENT);
    done(db, &s);
}

/* statewr_stop drains: every write queued before it is committed. */
static void test_drain_on_stop(void **state)
{
    (void)state;
    mmstate *db = open_db();
    seen s;
    init_seen(&s);
    statewr *w = start(db, &s, 64);
    for (int i = 1; i <= 300; i++) { /* more than the cap: some enqueues wait */
        char id[16];
        snprintf(id, sizeof id, "d-%d", i);
        mmstate_order o = order(id, "new");
        assert_int_equal(statewr_order_new(w, &o, T0, 0, 0), 0);
        assert_int_equal(statewr_update(w, id, "cancelled", 1, NULL, T0 + 1), 0);
    }
    statewr_stop(w);
    assert_int_equal(s.n, 0);
    for (int i = 1; i <= 300; i++) {
        char id[16];
        snprintf(id, sizeof id, "d-%d", i);
        mmstate_order got;
        assert_int_equal(mmstate_order_get(db, id, &got), 0);
        assert_string_equal(got.status, "cancelled");
        assert_int_equal(got.terminal, 1);
    }
    done(db, &s);
}

static void on_reserved(void *ud, const mmstate_order *o)
{
    unsigned *n = ud;
    (void)o;
    (*n)++;
}

/* SIGKILL with writes queued: the confirmed reservation survives; the details of ids "used"
 * meanwhile are lost, and the restart loads those ids among the reserved ones to look up, so
 * nothing is lost that it cannot rebuild. */
static void test_kill_with_writes_queued(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mmstate *db = open_db();
        seen s;
        init_seen(&s);
        idpool pool;
        idpool_init(&pool, 8, 4);
        s.pool = &pool;
        statewr *w = start(db, &s, 0);
        mmstate_order rows[8];
        reserve_rows(rows, 1, 8);
        if (statewr_reserve(w, rows, 8, T0, 1) != 0)
            _exit(3);
        statewr_flush(w);
        if (idpool_take(&pool, 1) != 1 || idpool_take(&pool, 2) != 1)
            _exit(4);
        lock l = {0};
        lock_take(&l); /* the details below stay queued */
        for (unsigned k = 1; k <= 2; k++) {
            mmstate_order d = order(rows[k - 1].link_id, "new");
            statewr_details(w, &d, IDPOOL_STATUS_RESERVED, T0 + 5);
        }
        sleep_ms(100);
        kill(getpid(), SIGKILL);
        _exit(5);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    mmstate *db = open_db();
    mmstate_order got;
    assert_int_equal(mmstate_order_get(db, "r1-1", &got), 0);
    assert_string_equal(got.status, IDPOOL_STATUS_RESERVED); /* its details were lost */
    unsigned n = 0;
    int more = 0;
    assert_int_equal(mmstate_load_reserved(db, IDPOOL_STATUS_RESERVED, 64, on_reserved, &n, &more),
                     8);
    assert_int_equal(n, 8); /* r1-1 and r1-2 among them: start-up looks them up */
    assert_int_equal(more, 0);
    mmstate_close(db);
}

/* Bad arguments are refused at once. */
static void test_bad_arguments(void **state)
{
    (void)state;
    mmstate *db = open_db();
    seen s;
    init_seen(&s);
    statewr *w;
    assert_int_equal(statewr_start(&w, NULL, NULL, on_result, &s, NULL, NULL), ERR_INVAL);
    assert_null(w);
    assert_int_equal(statewr_start(&w, db, NULL, NULL, &s, NULL, NULL), ERR_INVAL);
    w = start(db, &s, 4);
    mmstate_order rows[8];
    reserve_rows(rows, 1, 8);
    assert_int_equal(statewr_reserve(w, rows, 5, T0, 1), ERR_INVAL); /* over batch_max (= cap) */
    assert_int_equal(statewr_reserve(w, rows, 0, T0, 1), ERR_INVAL);
    assert_int_equal(statewr_order_new(w, NULL, T0, 0, 0), ERR_INVAL);
    assert_int_equal(statewr_set(w, NULL, "x", 0, NULL, T0), ERR_INVAL);
    assert_int_equal(statewr_details(w, &rows[0], NULL, T0), ERR_INVAL);
    assert_int_equal(statewr_busy(w), 0);
    statewr_stop(w);
    statewr_stop(NULL);
    done(db, &s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_queue_waits_and_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_refilled_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_surface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_on_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_with_writes_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
