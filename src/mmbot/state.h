/*
 * state: mmbot's state database (SQLite, WAL, synchronous=NORMAL): our orders, written
 * before the request that creates them leaves; their status as it changes; the fills keyed by
 * execId, so a restart never counts a fill twice; and the run id that makes every orderLinkId
 * unique across restarts.
 *
 * Durability: every write is one committed transaction; a function that writes returns only
 * after the commit, so the row is in the WAL file (written, not fsynced: with
 * synchronous=NORMAL it survives a crash or kill -9 of the process, and a power loss may lose
 * the last transactions; the database itself is never corrupted by either).
 *
 * Cost: a write is one prepared statement and a commit, with no fsync on the caller's thread:
 * SQLite's automatic checkpoints are off and a checkpointer thread with its own connection
 * runs a PASSIVE checkpoint (which never blocks the writer) every cfg.checkpoint_ms, so the
 * fsyncs land there. Measured by tests/unit/test_state.c (2000 order inserts, ASan build, ext4,
 * a machine shared with other builds): p50 25-40 µs, p99 0.1-4 ms, worst seen 4-15 ms (the disk
 * under load); checkpoints took up to 36 ms, off the loop. mmstate_stats reports the last
 * and the highest write time in µs so that the program can watch it.
 *
 * Memory: the page cache of each connection is capped at cfg.cache_kib and SQLite's whole heap
 * at cfg.heap_limit (soft: past it SQLite reuses cache pages rather than allocate), so that
 * SQLite's memory stops growing once the cache is full however the tables grow (seen in
 * bench/mmbot-soak --churn: with SQLite's default 2 MiB cache RSS rose for the first hours).
 *
 * Caps: at most cfg.max_orders order rows and cfg.max_fills fill rows. mmstate_prune deletes
 * terminal orders older than cfg.retention_ms and fills older than it, then the oldest
 * terminal orders and fills over the caps, at most MMSTATE_PRUNE_CHUNK rows per call (so one
 * call never stalls the loop for long). Order rows that are not terminal are never pruned:
 * when the table is full of them, mmstate_order_new fails with ERR_FULL. The loads at start-up
 * deliver at most `max` rows each.
 *
 * Errors: 0 or a negative ERR_* code, with a message naming the file in err where given:
 * ERR_IO (cannot open, read-only, disk full, I/O error), ERR_PARSE (not a database, or
 * corrupt), ERR_DUP (orderLinkId already stored), ERR_NOENT (no such order), ERR_FULL (a cap),
 * ERR_INVAL (bad argument), ERR_BUSY (locked by another process past cfg.busy_timeout_ms).
 *
 * Threads: one handle belongs to one thread (the loop's); inside, the checkpointer thread
 * touches only its own connection and its counters (under a mutex). mmstate_close joins it.
 * Strings in results live during the callback.
 */
#ifndef MMSTATE_H
#define MMSTATE_H

#include <stddef.h>
#include <stdint.h>

#define MMSTATE_LINK_ID     37    /* orderLinkId: at most 36 chars of [A-Za-z0-9_-], and a NUL */
#define MMSTATE_PREFIX_MAX  12    /* prefix of our orderLinkIds */
#define MMSTATE_PRUNE_CHUNK 10000 /* rows deleted per mmstate_prune call, at most */

typedef struct mmstate_config {
    const char *path;         /* the database file (created when missing) */
    int64_t retention_ms;     /* terminal orders and fills older than this are pruned; 7 days */
    unsigned max_orders;      /* cap of order rows; default 20000 */
    unsigned max_fills;       /* cap of fill rows; default 50000 */
    unsigned busy_timeout_ms; /* wait for another process's lock; default 1000 */
    unsigned checkpoint_ms;   /* how often the checkpointer thread runs; default 1000 */
    unsigned cache_kib;       /* page cache per connection (two connections); default 256 */
    int64_t heap_limit;       /* SQLite's soft heap limit for the whole process, bytes; default
                                 4 MiB (past it SQLite recycles cache pages instead of growing);
                                 set by mmstate_open, process-wide: one handle per process */
} mmstate_config;

/* Fills c with the defaults above (path NULL). */
void mmstate_config_default(mmstate_config *c);

/* Called first thing by a thread that only writes the database (the checkpointer, statewr's
 * writer): when the process runs in a real-time class (chrt -f, inherited by every thread),
 * this thread leaves it for SCHED_OTHER, so that a commit never holds one of the CPUs that the
 * loop and the exchange's sockets are waiting for (bench/mm-latency under chrt: three FIFO
 * threads on two vCPUs). Does nothing otherwise; failure is ignored (the thread keeps its
 * class). Calling thread only. */
void mmstate_background_thread(void);

/* One of our orders as stored. Strings are NUL-terminated and cut to their size. */
typedef struct mmstate_order {
    char link_id[MMSTATE_LINK_ID];
    char symbol[24];
    char side[8];      /* "Buy" / "Sell" */
    char status[24];   /* the caller's state name ("pending-new", "new", "unknown", ...) */
    char order_id[64]; /* the exchange's orderId, "" until known */
    double price, qty;
    int terminal; /* 1: filled, cancelled or rejected: may be pruned */
    int64_t created_ms, updated_ms;
    uint64_t run_id;
} mmstate_order;

typedef struct mmstate_fill {
    char exec_id[64];
    char link_id[MMSTATE_LINK_ID];
    char order_id[64];
    char symbol[24];
    char side[8];
    double price, qty, fee;
    int is_maker;
    int64_t exec_ms;
} mmstate_fill;

typedef struct mmstate_stats {
    uint64_t writes;
    unsigned last_write_us, max_write_us;
    unsigned orders, fills;         /* rows now */
    unsigned orders_max, fills_max; /* high-water marks of the row counts */
    uint64_t pruned;
    uint64_t checkpoints, checkpoint_errors; /* of the checkpointer thread */
    unsigned last_checkpoint_us, max_checkpoint_us;
    unsigned orders_cap, fills_cap; /* cfg.max_orders, cfg.max_fills */
    uint64_t cache_cap_bytes,
        heap_limit; /* cfg.cache_kib in bytes (per connection), cfg.heap_limit */
} mmstate_stats;

typedef struct mmstate mmstate;

/* Opens (creating when missing) the database of cfg->path, sets WAL and synchronous=NORMAL,
 * creates the tables, and starts a new run: the stored run id plus one, committed before this
 * returns. *out is set on 0; on failure *out is NULL and err says what and why, naming the
 * file: ERR_IO, ERR_PARSE (not a database or corrupt), ERR_BUSY, ERR_NOMEM, ERR_INVAL. */
int mmstate_open(mmstate **out, const mmstate_config *cfg, char *err, size_t errlen);
/* Closes (checkpointing the WAL). Accepts NULL. */
void mmstate_close(mmstate *s);

/* This run's id (1 for the first run of a database). */
uint64_t mmstate_run_id(const mmstate *s);

/* The next orderLinkId of this run: prefix + run id + "-" + sequence, e.g. "mm7-42"; never
 * the same twice for one database (the run id is durable before any id is made). prefix: at
 * most MMSTATE_PREFIX_MAX chars of [A-Za-z0-9_-]. 0, or ERR_INVAL (bad prefix, n too small). */
int mmstate_next_link_id(mmstate *s, const char *prefix, char *out, size_t n);

/* Stores a new order (o->run_id is set to this run; created/updated to now_ms) before its
 * request leaves: returns after the commit. ERR_DUP when its link id is known; ERR_FULL when
 * cfg.max_orders rows are stored and pruning terminal ones freed none; ERR_INVAL (empty or
 * over-long link id). */
int mmstate_order_new(mmstate *s, const mmstate_order *o, int64_t now_ms, char *err, size_t n);

/* The same for n orders in one transaction (one commit, so the cost of one write on the path
 * of the first order's request): all are stored, or none (then the code and message of the
 * first that failed, as mmstate_order_new gives them; the caller may store them one by one).
 * n 0 is 0. */
int mmstate_order_new_many(mmstate *s, const mmstate_order *o, size_t n_orders, int64_t now_ms,
                           char *err, size_t n);

/* Fills in the details of n stored orders (symbol, side, price, qty; created_ms and
 * updated_ms become now_ms), one transaction, and sets each row's status to o[i].status where
 * the stored status is still if_status (a row whose status moved on keeps it): the second half
 * of an order stored ahead of time with only its link id (idpool.h). Rows that are not stored
 * are skipped. 0, or the code of the first failure (then nothing changed); ERR_INVAL. */
int mmstate_order_details_many(mmstate *s, const mmstate_order *o, size_t n_orders,
                               const char *if_status, int64_t now_ms, char *err, size_t n);

/* A group of writes in one transaction (one commit for a batch of the writer thread,
 * statewr.h): between mmstate_group_begin and mmstate_group_end every write joins the group's
 * transaction instead of committing its own (a failure of one leaves the group's other writes
 * in place); mmstate_order_new_many stays all or none inside a group (a savepoint). begin: 0,
 * ERR_BADSTATE (a group is open), or the code of the BEGIN. end: 0 after the commit,
 * ERR_BADSTATE (no group), or the code of the failed commit (then nothing of the group is
 * stored), or ERR_IO when SQLite rolled the transaction back by itself on an earlier error (an
 * I/O error, disk full: the writes before it are not stored, those after it were committed
 * one by one). */
int mmstate_group_begin(mmstate *s, char *err, size_t n);
int mmstate_group_end(mmstate *s, char *err, size_t n);

/* Updates status, terminal and (when order_id is neither NULL nor "") the orderId of the order
 * link_id. ERR_NOENT when it is not stored. */
int mmstate_order_update(mmstate *s, const char *link_id, const char *status, int terminal,
                         const char *order_id, int64_t now_ms, char *err, size_t n);

/* One status change for mmstate_order_update_many. */
typedef struct mmstate_update {
    const char *link_id, *status, *order_id; /* order_id NULL or "": unchanged */
    int terminal;
} mmstate_update;

/* The same as mmstate_order_update for n orders in one transaction (one commit: the status
 * changes of a tick together). Rows that are not stored are skipped and counted in *missing
 * (may be NULL). 0, or the code of the first failure (then nothing changed); ERR_INVAL. */
int mmstate_order_update_many(mmstate *s, const mmstate_update *u, size_t n_updates, int64_t now_ms,
                              size_t *missing, char *err, size_t n);

/* Reads one order. 0, ERR_NOENT. */
int mmstate_order_get(mmstate *s, const char *link_id, mmstate_order *o);

/* Stores a fill: 0 when new, 1 when its execId was already stored (nothing changes: a
 * duplicate or replayed execution), or a negative ERR_* code. */
int mmstate_fill_add(mmstate *s, const mmstate_fill *f, char *err, size_t n);

/* At start-up: the stored execIds (newest first), and the orders that are not terminal (oldest
 * first), each at most max. Returns how many were delivered (>= 0) or a negative code; *more
 * (may be NULL) says whether rows were left out by max. */
int mmstate_load_exec_ids(mmstate *s, unsigned max, void (*cb)(void *ud, const char *exec_id),
                          void *ud, int *more);
int mmstate_load_open_orders(mmstate *s, unsigned max, void (*cb)(void *ud, const mmstate_order *o),
                             void *ud, int *more);

/* At start-up: the orders of ended runs (run id below this one's) that are not terminal and
 * either still have `status` or were never given their details (empty symbol): the ids stored
 * ahead of time whose fate is unknown (idpool.h), oldest first, at most max. Returns how many
 * were delivered or a negative code; *more as above. */
int mmstate_load_reserved(mmstate *s, const char *status, unsigned max,
                          void (*cb)(void *ud, const mmstate_order *o), void *ud, int *more);

/* Deletes at most MMSTATE_PRUNE_CHUNK rows: terminal orders and fills older than the
 * retention, then the oldest terminal orders and fills over the caps. Returns the rows deleted
 * (call again while it returns MMSTATE_PRUNE_CHUNK), or a negative code. */
int mmstate_prune(mmstate *s, int64_t now_ms, char *err, size_t n);

void mmstate_get_stats(const mmstate *s, mmstate_stats *st);

#endif
