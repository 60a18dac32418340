/*
 * statewr: the writer thread of mmbot's state database (state.h). The loop enqueues writes
 * into a bounded queue and goes on; the writer thread owns the handle from statewr_start on,
 * takes what is queued (at most cfg.batch_max entries at once) and writes it in one
 * transaction (mmstate_group_begin .. mmstate_group_end: one commit per batch), so that no
 * commit, checkpoint wait or slow disk ever runs on the loop.
 *
 * Durability (what state.h promises, kept):
 * - An orderLinkId is used only after it is committed: a reservation (statewr_reserve) is
 *   reported back by a STATEWR_RESERVE result only after its batch's commit; the bot calls
 *   idpool_added from that result, never before. A create whose id is not in the pool is
 *   written with statewr_sync: the loop waits for the commit, as it did before.
 * - After kill -9, at most the entries still queued or in an uncommitted batch are lost; none
 *   of them is something a restart cannot rebuild: an unconfirmed reservation was never used
 *   (no id of it was sent); the details of a pooled create that are lost leave its row
 *   "reserved" with no symbol, which start-up looks up on the exchange by orderLinkId
 *   (idpool.h); status changes are rebuilt from the exchange (start-up reconciliation goes by
 *   its word, never by stored status); a prune is done again; a lost fill row only matters if
 *   the exchange delivered the execution again after the restart, which the private stream
 *   does not (it sends live executions only; positions come from the exchange at start).
 * - Fills: the live dedupe by execId is the engine's bounded in-memory set (loaded from the
 *   table at start-up); the table stays the truth at start-up.
 * - A clean shutdown: statewr_stop drains the queue (every entry written) before it returns,
 *   then the caller closes the handle (mmstate_close).
 *
 * Caps: at most cfg.cap entries queued (<= STATEWR_CAP_MAX) and as many results waiting. When
 * the queue is full, the enqueuing call waits on the loop thread until the writer has made
 * room (counted in full_total, the time in wait_us_max): a write is never dropped. When the
 * results are full, the writer waits for the loop to take them (statewr_poll).
 *
 * Errors: every write gives the ERR_* code and message of the mmstate_* call that made it
 * (state.h) in its result; a failed commit gives every write of the batch its code. Results
 * are delivered for every failed write, for every write enqueued with want (a confirmation),
 * and once per batch for the status changes that found no row (missing).
 *
 * Threads: statewr_start, the enqueue calls, statewr_poll, statewr_sync, statewr_flush,
 * statewr_stop and statewr_get_stats run on the loop thread (one thread); the result callback
 * runs there too, from statewr_poll, statewr_flush, statewr_sync and an enqueue that waits;
 * it must not call statewr functions. The notify callback runs on the writer thread after a
 * batch whose results wait (it must be thread-safe: uv_async_send, a pipe write). Between
 * statewr_start and statewr_stop the caller must not touch the mmstate handle, except
 * mmstate_run_id (set once at open).
 */
#ifndef MMBOT_STATEWR_H
#define MMBOT_STATEWR_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define STATEWR_CAP_MAX   4096
#define STATEWR_CAP       2048 /* the bot's queue: 20 ticks of creates, status changes, fills */
#define STATEWR_BATCH_MAX 512  /* entries per transaction, at most; also the largest reservation */
#define STATEWR_ERR_MAX   256  /* message of a result */

typedef enum statewr_kind {
    STATEWR_ORDER_NEW, /* mmstate_order_new */
    STATEWR_RESERVE,   /* mmstate_order_new_many of a reservation (all or none) */
    STATEWR_DETAILS,   /* mmstate_order_details_many of one row */
    STATEWR_UPDATE,    /* mmstate_order_update_many of one change: a missing row is counted */
    STATEWR_SET,       /* mmstate_order_update: a missing row is ERR_NOENT */
    STATEWR_FILL,      /* mmstate_fill_add */
    STATEWR_PRUNE,     /* mmstate_prune */
} statewr_kind;

typedef struct statewr_config {
    unsigned cap;       /* queue entries; default STATEWR_CAP, clamped to 1..STATEWR_CAP_MAX */
    unsigned batch_max; /* entries per transaction; default STATEWR_BATCH_MAX, 1..cap */
} statewr_config;

/* What became of one write (or, kind STATEWR_UPDATE with rc 0, of a batch's status changes
 * that found no row: missing). Valid during the callback. */
typedef struct statewr_result {
    statewr_kind kind;
    uint64_t tag; /* the caller's, as enqueued */
    int rc;       /* 0, or the negative ERR_* code of the mmstate_* call (or of the commit) */
    unsigned n;   /* STATEWR_RESERVE: rows; STATEWR_PRUNE: rows deleted (rc 0) */
    size_t missing;
    char err[STATEWR_ERR_MAX];
} statewr_result;

typedef void (*statewr_result_fn)(void *ud, const statewr_result *r);
typedef void (*statewr_notify_fn)(void *ud);

typedef struct statewr_stats {
    unsigned depth, depth_max, cap;       /* entries queued now, high-water mark, cap */
    uint64_t enqueued, written;           /* entries ever queued, written (committed or failed) */
    uint64_t batches, errors;             /* transactions; writes that failed */
    uint64_t full;                        /* enqueues that found the queue full and waited */
    uint64_t syncs;                       /* statewr_sync calls (the loop waited for a commit) */
    unsigned wait_us_max;                 /* the loop's longest wait (queue full, or a sync) */
    unsigned batch_us_last, batch_us_max; /* one transaction, begin to commit, writer thread */
    unsigned batch_max_seen;              /* most entries in one transaction */
    mmstate_stats db;                     /* the handle's stats after the last batch */
} statewr_stats;

typedef struct statewr statewr;

/* Fills c with the defaults above. */
void statewr_config_default(statewr_config *c);

/* Starts the writer thread on db (which it then owns until statewr_stop; not closed by it).
 * cfg NULL: defaults. on_result (required) and notify (may be NULL) as in Threads above. 0 and
 * *out, or ERR_NOMEM / ERR_IO (thread not started: *out NULL, db still the caller's). */
int statewr_start(statewr **out, mmstate *db, const statewr_config *cfg,
                  statewr_result_fn on_result, void *result_ud, statewr_notify_fn notify,
                  void *notify_ud);

/* Drains the queue (every entry written), delivers the last results, joins the thread and
 * frees. db is the caller's again (close it with mmstate_close). Accepts NULL. */
void statewr_stop(statewr *w);

/* Enqueue calls: the entry is copied (strings cut to their field sizes); they return at once,
 * or after a wait when the queue is full; the write happens on the writer thread. tag and want
 * come back in the result (want 1: a result even on success). 0, or ERR_INVAL (bad argument,
 * a reservation over batch_max rows). now_ms is the time the rows are stamped with. */
int statewr_order_new(statewr *w, const mmstate_order *o, int64_t now_ms, uint64_t tag, int want);
/* n rows in one all-or-none write; one result (kind STATEWR_RESERVE) after the commit, always. */
int statewr_reserve(statewr *w, const mmstate_order *o, unsigned n, int64_t now_ms, uint64_t tag);
int statewr_details(statewr *w, const mmstate_order *o, const char *if_status, int64_t now_ms);
int statewr_update(statewr *w, const char *link_id, const char *status, int terminal,
                   const char *order_id, int64_t now_ms);
int statewr_set(statewr *w, const char *link_id, const char *status, int terminal,
                const char *order_id, int64_t now_ms);
int statewr_fill(statewr *w, const mmstate_fill *f);
int statewr_prune(statewr *w, int64_t now_ms);

/* Delivers the results that wait (on_result, oldest first); never blocks. Returns how many. */
size_t statewr_poll(statewr *w);

/* Waits until every entry enqueued so far is written, delivering results meanwhile (the loop
 * blocks: for a create whose id must be committed before it leaves). statewr_sync counts the
 * wait in syncs and wait_us_max; statewr_flush is the same, uncounted (start-up, shutdown). */
void statewr_sync(statewr *w);
void statewr_flush(statewr *w);

/* 1 when entries are queued or being written. */
int statewr_busy(const statewr *w);

void statewr_get_stats(statewr *w, statewr_stats *st);

#endif
