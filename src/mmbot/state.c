/* state: the SQLite state database of mmbot. See state.h for the contract. */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "errcode.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS orders(link_id TEXT PRIMARY KEY, symbol TEXT NOT NULL,"
    " side TEXT NOT NULL, price REAL NOT NULL, qty REAL NOT NULL, status TEXT NOT NULL,"
    " terminal INTEGER NOT NULL DEFAULT 0, order_id TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_id INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS orders_age ON orders(terminal, updated_ms);"
    "CREATE TABLE IF NOT EXISTS fills(exec_id TEXT PRIMARY KEY, link_id TEXT NOT NULL,"
    " order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, price REAL NOT NULL,"
    " qty REAL NOT NULL, fee REAL NOT NULL, is_maker INTEGER NOT NULL,"
    " exec_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS fills_age ON fills(exec_ms);";

/* The prepared statements, one per kind of write or read. */
enum {
    Q_RUN,
    Q_ORDER_NEW,
    Q_ORDER_UPDATE,
    Q_ORDER_GET,
    Q_FILL_ADD,
    Q_LOAD_EXEC,
    Q_LOAD_OPEN,
    Q_PRUNE_ORDERS_OLD,
    Q_PRUNE_FILLS_OLD,
    Q_PRUNE_ORDERS_OVER,
    Q_PRUNE_FILLS_OVER,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_ORDER_DETAILS,
    Q_LOAD_RESERVED,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q__COUNT
};

static const char *const sql[Q__COUNT] = {
    [Q_RUN] = "INSERT INTO meta(key, value) VALUES('run_id', 1) ON CONFLICT(key) DO UPDATE SET"
              " value = value + 1 RETURNING value",
    [Q_ORDER_NEW] = "INSERT INTO orders(link_id, symbol, side, price, qty, status, terminal,"
                    " order_id, created_ms, updated_ms, run_id) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [Q_ORDER_UPDATE] = "UPDATE orders SET status = ?2, terminal = ?3, updated_ms = ?4,"
                       " order_id = CASE WHEN ?5 = '' THEN order_id ELSE ?5 END"
                       " WHERE link_id = ?1",
    [Q_ORDER_GET] = "SELECT link_id, symbol, side, price, qty, status, terminal, order_id,"
                    " created_ms, updated_ms, run_id FROM orders WHERE link_id = ?",
    [Q_FILL_ADD] =
        "INSERT INTO fills(exec_id, link_id, order_id, symbol, side, price, qty, fee,"
        " is_maker, exec_ms) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(exec_id) DO NOTHING",
    [Q_LOAD_EXEC] = "SELECT exec_id FROM fills ORDER BY exec_ms DESC LIMIT ?",
    [Q_LOAD_OPEN] = "SELECT link_id, symbol, side, price, qty, status, terminal, order_id,"
                    " created_ms, updated_ms, run_id FROM orders WHERE terminal = 0"
                    " ORDER BY created_ms LIMIT ?",
    [Q_PRUNE_ORDERS_OLD] = "DELETE FROM orders WHERE link_id IN (SELECT link_id FROM orders"
                           " WHERE terminal = 1 AND updated_ms < ? ORDER BY updated_ms LIMIT ?)",
    [Q_PRUNE_FILLS_OLD] = "DELETE FROM fills WHERE exec_id IN (SELECT exec_id FROM fills"
                          " WHERE exec_ms < ? ORDER BY exec_ms LIMIT ?)",
    [Q_PRUNE_ORDERS_OVER] = "DELETE FROM orders WHERE link_id IN (SELECT link_id FROM orders"
                            " WHERE terminal = 1 ORDER BY updated_ms LIMIT ?)",
    [Q_PRUNE_FILLS_OVER] = "DELETE FROM fills WHERE exec_id IN (SELECT exec_id FROM fills"
                           " ORDER BY exec_ms LIMIT ?)",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_ORDER_DETAILS] = "UPDATE orders SET symbol = ?2, side = ?3, price = ?4, qty = ?5,"
                        " created_ms = ?6, updated_ms = ?6,"
                        " status = CASE WHEN status = ?7 THEN ?8 ELSE status END"
                        " WHERE link_id = ?1",
    [Q_LOAD_RESERVED] = "SELECT link_id, symbol, side, price, qty, status, terminal, order_id,"
                        " created_ms, updated_ms, run_id FROM orders WHERE terminal = 0"
                        " AND run_id < ?2 AND (status = ?3 OR symbol = '')"
                        " ORDER BY created_ms, link_id LIMIT ?1",
    [Q_SAVEPOINT] = "SAVEPOINT many",
    [Q_RELEASE] = "RELEASE many",
    [Q_ROLLBACK_TO] = "ROLLBACK TO many",
};

/* The checkpointer: a thread with its own connection that moves the WAL into the database
 * (PASSIVE: it never blocks the writer), so that the fsyncs of a checkpoint never run on the
 * caller's loop. */
typedef struct ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db;
    unsigned interval_ms;
    int started, stop;
    uint64_t runs, errors;
    unsigned last_us, max_us;
} ckpt;

struct mmstate {
    sqlite3 *db;
    ckpt ck;
    sqlite3_stmt *st[Q__COUNT];
    mmstate_config cfg;
    char path[512];
    uint64_t run_id, seq;
    mmstate_stats stats;
    int in_group; /* between mmstate_group_begin and mmstate_group_end */
};

void mmstate_config_default(mmstate_config *c)
{
    memset(c, 0, sizeof *c);
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->max_orders = 20000;
    c->max_fills = 50000;
    c->busy_timeout_ms = 1000;
    c->checkpoint_ms = 1000;
    c->cache_kib = 256;
    c->heap_limit = 4LL << 20;
}

/* The ERR_* code of an SQLite result code. */
static int code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return ERR_PARSE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ERR_BUSY;
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    case SQLITE_CONSTRAINT:
        return ERR_DUP;
    default: /* CANTOPEN, IOERR, READONLY, FULL, PERM, ... */
        return ERR_IO;
    }
}

/* Fills err ("what 'path': sqlite's reason") and returns the code of rc. */
static int fail(mmstate *s, int rc, const char *what, char *err, size_t n)
{
    if (err && n)
        snprintf(err, n, "%s '%s': %s", what, s->path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return code_of(rc);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void timed(mmstate *s, uint64_t t0)
{
    uint64_t us = mono_us() - t0;
    unsigned u = us > 0xffffffffu ? 0xffffffffu : (unsigned)us;
    s->stats.writes++;
    s->stats.last_write_us = u;
    if (u > s->stats.max_write_us)
        s->stats.max_write_us = u;
}

static void rows(mmstate *s, int dorders, int dfills)
{
    s->stats.orders = (unsigned)((int)s->stats.orders + dorders);
    s->stats.fills = (unsigned)((int)s->stats.fills + dfills);
    if (s->stats.orders > s->stats.orders_max)
        s->stats.orders_max = s->stats.orders;
    if (s->stats.fills > s->stats.fills_max)
        s->stats.fills_max = s->stats.fills;
}

/* Runs a statement that returns nothing (or ignores its rows); leaves it reset. */
static int step_done(sqlite3_stmt *q)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        ;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int count_rows(mmstate *s, const char *table, unsigned *out)
{
    char q[64];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM %s", table);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (unsigned)sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

void mmstate_background_thread(void)
{
    int policy;
    struct sched_param sp;
    if (pthread_getschedparam(pthread_self(), &policy, &sp) == 0 &&
        (policy == SCHED_FIFO || policy == SCHED_RR)) {
        sp.sched_priority = 0;
        (void)pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
    }
}

static void *ckpt_main(void *arg)
{
    ckpt *c = arg;
    mmstate_background_thread();
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += c->interval_ms / 1000;
        until.tv_nsec += (long)(c->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!c->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->mu);
        uint64_t t0 = mono_us();
        int crc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        uint64_t us = mono_us() - t0;
        pthread_mutex_lock(&c->mu);
        c->runs++;
        c->errors += crc != SQLITE_OK && crc != SQLITE_BUSY;
        c->last_us = us > 0xffffffffu ? 0xffffffffu : (unsigned)us;
        if (c->last_us > c->max_us)
            c->max_us = c->last_us;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static int ckpt_start(mmstate *s)
{
    ckpt *c = &s->ck;
    c->interval_ms = s->cfg.checkpoint_ms;
    int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_busy_timeout(c->db, (int)s->cfg.busy_timeout_ms);
    /* a connection sees the WAL only once it has read the database */
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-%u; SELECT count(*) FROM meta;",
             s->cfg.cache_kib);
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, ckpt_main, c)) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        return SQLITE_NOMEM;
    }
    c->started = 1;
    return SQLITE_OK;
}

static void ckpt_stop(ckpt *c)
{
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        c->started = 0;
    }
    sqlite3_close(c->db);
    c->db = NULL;
}

int mmstate_open(mmstate **out, const mmstate_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->path || !cfg->path[0]) {
        if (err && errlen)
            snprintf(err, errlen, "state database: no path");
        return ERR_INVAL;
    }
    mmstate *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "state database '%s': out of memory", cfg->path);
        return ERR_NOMEM;
    }
    mmstate_config d;
    mmstate_config_default(&d);
    s->cfg = *cfg;
    if (!s->cfg.retention_ms)
        s->cfg.retention_ms = d.retention_ms;
    if (!s->cfg.max_orders)
        s->cfg.max_orders = d.max_orders;
    if (!s->cfg.max_fills)
        s->cfg.max_fills = d.max_fills;
    if (!s->cfg.busy_timeout_ms)
        s->cfg.busy_timeout_ms = d.busy_timeout_ms;
    if (!s->cfg.checkpoint_ms)
        s->cfg.checkpoint_ms = d.checkpoint_ms;
    if (!s->cfg.cache_kib)
        s->cfg.cache_kib = d.cache_kib;
    if (s->cfg.heap_limit <= 0)
        s->cfg.heap_limit = d.heap_limit;
    sqlite3_soft_heap_limit64(s->cfg.heap_limit);
    s->stats.orders_cap = s->cfg.max_orders;
    s->stats.fills_cap = s->cfg.max_fills;
    s->stats.cache_cap_bytes = (uint64_t)s->cfg.cache_kib * 1024u;
    s->stats.heap_limit = (uint64_t)s->cfg.heap_limit;
    snprintf(s->path, sizeof s->path, "%s", cfg->path);
    s->cfg.path = s->path;
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    const char *what = "cannot open state database";
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, (int)s->cfg.busy_timeout_ms);
        what = "cannot set up state database";
        char pragmas[200];
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
                 " PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-%u;",
                 s->cfg.cache_kib);
        rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        /* a file that opened in another journal mode (read-only media) stays in it: refuse */
        sqlite3_stmt *jm;
        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &jm, NULL);
        if (rc == SQLITE_OK && sqlite3_step(jm) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(jm, 0), "wal"))
            rc = SQLITE_READONLY;
        sqlite3_finalize(jm);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
    for (int i = 0; rc == SQLITE_OK && i < Q__COUNT; i++)
        rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc == SQLITE_OK)
        rc = ckpt_start(s);
    if (rc == SQLITE_OK)
        rc = count_rows(s, "orders", &s->stats.orders);
    if (rc == SQLITE_OK)
        rc = count_rows(s, "fills", &s->stats.fills);
    if (rc == SQLITE_OK) {
        what = "cannot start a run in state database";
        rc = sqlite3_step(s->st[Q_RUN]);
        if (rc == SQLITE_ROW) {
            s->run_id = (uint64_t)sqlite3_column_int64(s->st[Q_RUN], 0);
            rc = step_done(s->st[Q_RUN]);
        } else {
            sqlite3_reset(s->st[Q_RUN]);
        }
    }
    if (rc != SQLITE_OK) {
        int code = fail(s, rc, what, err, errlen);
        mmstate_close(s);
        return code;
    }
    s->stats.orders_max = s->stats.orders;
    s->stats.fills_max = s->stats.fills;
    *out = s;
    return 0;
}

void mmstate_close(mmstate *s)
{
    if (!s)
        return;
    ckpt_stop(&s->ck);
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

uint64_t mmstate_run_id(const mmstate *s)
{
    return s->run_id;
}

static int valid_id_chars(const char *p)
{
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int mmstate_next_link_id(mmstate *s, const char *prefix, char *out, size_t n)
{
    if (!prefix || strlen(prefix) > MMSTATE_PREFIX_MAX || !valid_id_chars(prefix))
        return ERR_INVAL;
    char id[64];
    int len = snprintf(id, sizeof id, "%s%" PRIu64 "-%" PRIu64, prefix, s->run_id, s->seq + 1);
    if (len < 0 || len >= MMSTATE_LINK_ID || (size_t)len >= n)
        return ERR_INVAL;
    s->seq++;
    memcpy(out, id, (size_t)len + 1);
    return 0;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    sqlite3_bind_text(q, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* Deletes up to limit rows with statement k (bound: ?1 = limit, or ?1 = cutoff, ?2 = limit);
 * returns the rows deleted or a negative code. */
static int prune_step(mmstate *s, int k, int64_t cutoff, int limit, int is_orders, char *err,
                      size_t n)
{
    if (limit <= 0)
        return 0;
    sqlite3_stmt *q = s->st[k];
    if (k == Q_PRUNE_ORDERS_OLD || k == Q_PRUNE_FILLS_OLD) {
        sqlite3_bind_int64(q, 1, cutoff);
        sqlite3_bind_int(q, 2, limit);
    } else {
        sqlite3_bind_int(q, 1, limit);
    }
    uint64_t t0 = mono_us();
    int rc = step_done(q);
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot prune state database", err, n);
    timed(s, t0);
    int del = sqlite3_changes(s->db);
    rows(s, is_orders ? -del : 0, is_orders ? 0 : -del);
    s->stats.pruned += (uint64_t)del;
    return del;
}

int mmstate_order_new(mmstate *s, const mmstate_order *o, int64_t now_ms, char *err, size_t n)
{
    if (!o || !o->link_id[0] || strlen(o->link_id) >= MMSTATE_LINK_ID ||
        !valid_id_chars(o->link_id)) {
        if (err && n)
            snprintf(err, n, "order without a valid orderLinkId");
        return ERR_INVAL;
    }
    if (s->stats.orders >= s->cfg.max_orders) {
        /* make room for 1% of the cap at once, so that this is not paid on every insert */
        unsigned room = s->cfg.max_orders / 100 ? s->cfg.max_orders / 100 : 1;
        int del = prune_step(s, Q_PRUNE_ORDERS_OVER, 0,
                             (int)(s->stats.orders - s->cfg.max_orders + room), 1, err, n);
        if (del < 0)
            return del;
        if (s->stats.orders >= s->cfg.max_orders) {
            if (err && n)
                snprintf(err, n, "state database '%s': %u open orders stored, the cap", s->path,
                         s->stats.orders);
            return ERR_FULL;
        }
    }
    sqlite3_stmt *q = s->st[Q_ORDER_NEW];
    bind_text(q, 1, o->link_id);
    bind_text(q, 2, o->symbol);
    bind_text(q, 3, o->side);
    sqlite3_bind_double(q, 4, o->price);
    sqlite3_bind_double(q, 5, o->qty);
    bind_text(q, 6, o->status[0] ? o->status : "pending-new");
    sqlite3_bind_int(q, 7, o->terminal ? 1 : 0);
    bind_text(q, 8, o->order_id);
    sqlite3_bind_int64(q, 9, now_ms);
    sqlite3_bind_int64(q, 10, now_ms);
    sqlite3_bind_int64(q, 11, (sqlite3_int64)s->run_id);
    uint64_t t0 = mono_us();
    int rc = step_done(q);
    if (rc != SQLITE_OK) {
        int code = fail(s, rc, "cannot store order in state database", err, n);
        if (code == ERR_DUP && err && n)
            snprintf(err, n, "order '%s' is already in state database '%s'", o->link_id, s->path);
        return code;
    }
    timed(s, t0);
    rows(s, 1, 0);
    return 0;
}

int mmstate_order_new_many(mmstate *s, const mmstate_order *o, size_t n_orders, int64_t now_ms,
                           char *err, size_t n)
{
    if (n_orders == 0)
        return 0;
    if (n_orders == 1)
        return mmstate_order_new(s, o, now_ms, err, n);
    uint64_t t0 = mono_us();
    /* in a group, a savepoint inside the group's transaction keeps it all or none */
    int sp = s->in_group;
    int rc = step_done(s->st[sp ? Q_SAVEPOINT : Q_BEGIN]);
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot store orders in state database", err, n);
    int code = 0;
    for (size_t i = 0; i < n_orders && code == 0; i++)
        code = mmstate_order_new(s, &o[i], now_ms, err, n);
    if (code == 0) {
        rc = step_done(s->st[sp ? Q_RELEASE : Q_COMMIT]);
        if (rc != SQLITE_OK)
            code = fail(s, rc, "cannot store orders in state database", err, n);
    }
    if (code != 0) {
        if (!sqlite3_get_autocommit(s->db)) {
            if (sp) {
                step_done(s->st[Q_ROLLBACK_TO]);
                step_done(s->st[Q_RELEASE]);
            } else {
                step_done(s->st[Q_ROLLBACK]);
            }
        }
        count_rows(s, "orders", &s->stats.orders); /* what the rollback undid */
        return code;
    }
    timed(s, t0);
    return 0;
}

/* Ends the transaction of a batch of writes (begun: one was begun): a commit when rc is
 * SQLITE_OK, else a rollback; 0, or the code and message of the failure. */
static int batch_end(mmstate *s, int rc, int begun, const char *what, char *err, size_t n)
{
    if (rc == SQLITE_OK && begun)
        rc = step_done(s->st[Q_COMMIT]);
    if (rc == SQLITE_OK)
        return 0;
    int code = fail(s, rc, what, err, n);
    if (begun && !sqlite3_get_autocommit(s->db))
        step_done(s->st[Q_ROLLBACK]);
    return code;
}

int mmstate_group_begin(mmstate *s, char *err, size_t n)
{
    if (s->in_group)
        return ERR_BADSTATE;
    int rc = step_done(s->st[Q_BEGIN]);
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot write to state database", err, n);
    s->in_group = 1;
    return 0;
}

int mmstate_group_end(mmstate *s, char *err, size_t n)
{
    if (!s->in_group)
        return ERR_BADSTATE;
    s->in_group = 0;
    uint64_t t0 = mono_us();
    int code;
    if (sqlite3_get_autocommit(s->db)) { /* SQLite rolled it back on an earlier error */
        if (err && n)
            snprintf(err, n, "cannot write to state database '%s': transaction rolled back",
                     s->path);
        code = ERR_IO;
    } else {
        code = batch_end(s, SQLITE_OK, 1, "cannot write to state database", err, n);
    }
    if (code == 0) {
        timed(s, t0);
    } else { /* what the rollback undid */
        count_rows(s, "orders", &s->stats.orders);
        count_rows(s, "fills", &s->stats.fills);
    }
    return code;
}

int mmstate_order_details_many(mmstate *s, const mmstate_order *o, size_t n_orders,
                               const char *if_status, int64_t now_ms, char *err, size_t n)
{
    if (n_orders == 0)
        return 0;
    if (!o || !if_status)
        return ERR_INVAL;
    uint64_t t0 = mono_us();
    int own = n_orders > 1 && !s->in_group; /* in a group, its transaction is ours */
    int rc = own ? step_done(s->st[Q_BEGIN]) : SQLITE_OK;
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot update orders in state database", err, n);
    sqlite3_stmt *q = s->st[Q_ORDER_DETAILS];
    for (size_t i = 0; i < n_orders && rc == SQLITE_OK; i++) {
        bind_text(q, 1, o[i].link_id);
        bind_text(q, 2, o[i].symbol);
        bind_text(q, 3, o[i].side);
        sqlite3_bind_double(q, 4, o[i].price);
        sqlite3_bind_double(q, 5, o[i].qty);
        sqlite3_bind_int64(q, 6, now_ms);
        bind_text(q, 7, if_status);
        bind_text(q, 8, o[i].status);
        rc = step_done(q);
    }
    int code = batch_end(s, rc, own, "cannot update orders in state database", err, n);
    if (code == 0)
        timed(s, t0);
    return code;
}

int mmstate_order_update(mmstate *s, const char *link_id, const char *status, int terminal,
                         const char *order_id, int64_t now_ms, char *err, size_t n)
{
    if (!link_id || !status)
        return ERR_INVAL;
    sqlite3_stmt *q = s->st[Q_ORDER_UPDATE];
    bind_text(q, 1, link_id);
    bind_text(q, 2, status);
    sqlite3_bind_int(q, 3, terminal ? 1 : 0);
    sqlite3_bind_int64(q, 4, now_ms);
    bind_text(q, 5, order_id);
    uint64_t t0 = mono_us();
    int rc = step_done(q);
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot update order in state database", err, n);
    timed(s, t0);
    if (sqlite3_changes(s->db) == 0) {
        if (err && n)
            snprintf(err, n, "order '%s' is not in state database '%s'", link_id, s->path);
        return ERR_NOENT;
    }
    return 0;
}

int mmstate_order_update_many(mmstate *s, const mmstate_update *u, size_t n_updates, int64_t now_ms,
                              size_t *missing, char *err, size_t n)
{
    if (missing)
        *missing = 0;
    if (n_updates == 0)
        return 0;
    if (!u)
        return ERR_INVAL;
    uint64_t t0 = mono_us();
    int own = !s->in_group;
    int rc = own ? step_done(s->st[Q_BEGIN]) : SQLITE_OK;
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot update orders in state database", err, n);
    sqlite3_stmt *q = s->st[Q_ORDER_UPDATE];
    size_t gone = 0;
    for (size_t i = 0; i < n_updates && rc == SQLITE_OK; i++) {
        if (!u[i].link_id || !u[i].status) {
            gone++;
            continue;
        }
        bind_text(q, 1, u[i].link_id);
        bind_text(q, 2, u[i].status);
        sqlite3_bind_int(q, 3, u[i].terminal ? 1 : 0);
        sqlite3_bind_int64(q, 4, now_ms);
        bind_text(q, 5, u[i].order_id);
        rc = step_done(q);
        if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0)
            gone++;
    }
    int code = batch_end(s, rc, own, "cannot update orders in state database", err, n);
    if (code != 0)
        return code;
    timed(s, t0);
    if (missing)
        *missing = gone;
    return 0;
}

static void copy_col(sqlite3_stmt *q, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static void read_order(sqlite3_stmt *q, mmstate_order *o)
{
    memset(o, 0, sizeof *o);
    copy_col(q, 0, o->link_id, sizeof o->link_id);
    copy_col(q, 1, o->symbol, sizeof o->symbol);
    copy_col(q, 2, o->side, sizeof o->side);
    o->price = sqlite3_column_double(q, 3);
    o->qty = sqlite3_column_double(q, 4);
    copy_col(q, 5, o->status, sizeof o->status);
    o->terminal = sqlite3_column_int(q, 6);
    copy_col(q, 7, o->order_id, sizeof o->order_id);
    o->created_ms = sqlite3_column_int64(q, 8);
    o->updated_ms = sqlite3_column_int64(q, 9);
    o->run_id = (uint64_t)sqlite3_column_int64(q, 10);
}

int mmstate_order_get(mmstate *s, const char *link_id, mmstate_order *o)
{
    sqlite3_stmt *q = s->st[Q_ORDER_GET];
    bind_text(q, 1, link_id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_order(q, o);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOENT : code_of(rc);
}

int mmstate_fill_add(mmstate *s, const mmstate_fill *f, char *err, size_t n)
{
    if (!f || !f->exec_id[0])
        return ERR_INVAL;
    sqlite3_stmt *q = s->st[Q_FILL_ADD];
    bind_text(q, 1, f->exec_id);
    bind_text(q, 2, f->link_id);
    bind_text(q, 3, f->order_id);
    bind_text(q, 4, f->symbol);
    bind_text(q, 5, f->side);
    sqlite3_bind_double(q, 6, f->price);
    sqlite3_bind_double(q, 7, f->qty);
    sqlite3_bind_double(q, 8, f->fee);
    sqlite3_bind_int(q, 9, f->is_maker ? 1 : 0);
    sqlite3_bind_int64(q, 10, f->exec_ms);
    uint64_t t0 = mono_us();
    int rc = step_done(q);
    if (rc != SQLITE_OK)
        return fail(s, rc, "cannot store fill in state database", err, n);
    timed(s, t0);
    if (sqlite3_changes(s->db) == 0)
        return 1; /* a known execId: nothing changed */
    rows(s, 0, 1);
    if (s->stats.fills > s->cfg.max_fills) {
        int del = prune_step(s, Q_PRUNE_FILLS_OVER, 0, (int)(s->stats.fills - s->cfg.max_fills), 0,
                             err, n);
        if (del < 0)
            return del;
    }
    return 0;
}

/* The caller's callback of a load, one of the two kinds. */
typedef struct loader {
    void (*exec)(void *ud, const char *exec_id);
    void (*order)(void *ud, const mmstate_order *o);
    void *ud;
} loader;

/* Steps the load statement k (bound to max + 1 rows) and hands each of at most max rows to
 * row(q, l); *more says whether a row was left out. */
static int load(mmstate *s, int k, unsigned max, void (*row)(sqlite3_stmt *q, const loader *l),
                const loader *l, int *more)
{
    sqlite3_stmt *q = s->st[k];
    sqlite3_bind_int64(q, 1, (sqlite3_int64)max + 1);
    int n = 0, rc;
    if (more)
        *more = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((unsigned)n == max) {
            if (more)
                *more = 1;
            break;
        }
        row(q, l);
        n++;
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : code_of(rc);
}

static void exec_row(sqlite3_stmt *q, const loader *l)
{
    l->exec(l->ud, (const char *)sqlite3_column_text(q, 0));
}

static void order_row(sqlite3_stmt *q, const loader *l)
{
    mmstate_order o;
    read_order(q, &o);
    l->order(l->ud, &o);
}

int mmstate_load_exec_ids(mmstate *s, unsigned max, void (*cb)(void *ud, const char *exec_id),
                          void *ud, int *more)
{
    loader l = {cb, NULL, ud};
    return load(s, Q_LOAD_EXEC, max, exec_row, &l, more);
}

int mmstate_load_open_orders(mmstate *s, unsigned max, void (*cb)(void *ud, const mmstate_order *o),
                             void *ud, int *more)
{
    loader l = {NULL, cb, ud};
    return load(s, Q_LOAD_OPEN, max, order_row, &l, more);
}

int mmstate_load_reserved(mmstate *s, const char *status, unsigned max,
                          void (*cb)(void *ud, const mmstate_order *o), void *ud, int *more)
{
    if (!status || !cb)
        return ERR_INVAL;
    loader l = {NULL, cb, ud};
    sqlite3_bind_int64(s->st[Q_LOAD_RESERVED], 2, (sqlite3_int64)s->run_id);
    bind_text(s->st[Q_LOAD_RESERVED], 3, status);
    return load(s, Q_LOAD_RESERVED, max, order_row, &l, more);
}

int mmstate_prune(mmstate *s, int64_t now_ms, char *err, size_t n)
{
    int64_t cutoff = now_ms - s->cfg.retention_ms;
    int left = MMSTATE_PRUNE_CHUNK, total = 0, del;
    del = prune_step(s, Q_PRUNE_ORDERS_OLD, cutoff, left, 1, err, n);
    if (del < 0)
        return del;
    total += del, left -= del;
    del = prune_step(s, Q_PRUNE_FILLS_OLD, cutoff, left, 0, err, n);
    if (del < 0)
        return del;
    total += del, left -= del;
    if (s->stats.orders > s->cfg.max_orders) {
        unsigned over = s->stats.orders - s->cfg.max_orders;
        del = prune_step(s, Q_PRUNE_ORDERS_OVER, 0, over < (unsigned)left ? (int)over : left, 1,
                         err, n);
        if (del < 0)
            return del;
        total += del, left -= del;
    }
    if (s->stats.fills > s->cfg.max_fills) {
        unsigned over = s->stats.fills - s->cfg.max_fills;
        del = prune_step(s, Q_PRUNE_FILLS_OVER, 0, over < (unsigned)left ? (int)over : left, 0, err,
                         n);
        if (del < 0)
            return del;
        total += del;
    }
    return total;
}

void mmstate_get_stats(const mmstate *s, mmstate_stats *st)
{
    *st = s->stats;
    ckpt *c = (ckpt *)&s->ck;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        st->checkpoints = c->runs;
        st->checkpoint_errors = c->errors;
        st->last_checkpoint_us = c->last_us;
        st->max_checkpoint_us = c->max_us;
        pthread_mutex_unlock(&c->mu);
    }
}
