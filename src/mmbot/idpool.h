/*
 * idpool: orderLinkIds journalled ahead of time, so that a create on the hot path needs no
 * state database write. The bot reserves the next sequence numbers of the order table
 * (orders_next_seq) in the state database from its 100 ms tick, in one transaction (a
 * reservation queued to the writer thread, statewr_reserve), and records them here with
 * idpool_added only once the writer confirms the commit; a create whose sequence number is in
 * the pool is already durable and leaves at once (its row's details follow from the next
 * tick); one that is not (the pool drained) is written first, the loop waiting for the
 * writer's commit (statewr_sync), and counted as a fallback. The rule "an order's id is durable before the request leaves" holds
 * either way.
 *
 * The pool is one range lo..hi of committed, unused sequence numbers (sequence numbers only grow,
 * so the ids are taken in order). Caps: at most cfg.cap ids (<= IDPOOL_CAP_MAX); a refill is due
 * when fewer than cfg.low_water are left, and brings the pool back to cap.
 *
 * After a crash, every reserved id whose row never got its details may have been sent: start-up
 * looks each up on the exchange by orderLinkId (idpool_rec tracks the answers) and then retires
 * it (statewr_set); an id found there is recorded with what the exchange says, one not found
 * as never sent. Unused ids of a clean shutdown are retired at once.
 *
 * Pure: no I/O, no clock. Threads: one. Nothing is allocated.
 */
#ifndef MMBOT_IDPOOL_H
#define MMBOT_IDPOOL_H

#include <stddef.h>
#include <stdint.h>

#define IDPOOL_CAP_MAX         256
#define IDPOOL_CAP             32 /* the bot's pool: a few ticks of creates at 100 orders/s */
#define IDPOOL_LOW_WATER       16 /* refill below this many */
#define IDPOOL_RECOVER_MAX     64 /* reserved ids of ended runs looked up per start (the rest: next) */
#define IDPOOL_STATUS_RESERVED "reserved" /* state db status of a reserved, unused id */
#define IDPOOL_STATUS_UNSENT   "unsent"   /* retired: never reached the exchange */
#define IDPOOL_STATUS_FOUND    "found"    /* retired: the exchange had it (row has its details) */

typedef struct idpool_stats {
    uint64_t taken;            /* creates that found their id in the pool (no write on the path) */
    uint64_t fallbacks;        /* creates whose id was not in the pool: written synchronously */
    uint64_t refills;          /* idpool_added calls */
    uint64_t reserved;         /* ids ever added */
    uint64_t skipped;          /* reserved ids passed over (left for recovery) */
    uint64_t refused;          /* takes of an id already used (never: a bug if it counts) */
    unsigned avail, avail_min; /* ids in the pool now; the lowest seen after the first refill */
} idpool_stats;

typedef struct idpool {
    unsigned cap, low_water;
    uint64_t lo, hi;  /* lo..hi are committed and unused; empty when lo > hi */
    uint64_t used_hi; /* the highest sequence number taken (or passed) so far */
    int filled;       /* a refill happened: avail_min counts from then */
    idpool_stats st;
} idpool;

/* An empty pool. cap is clamped to 1..IDPOOL_CAP_MAX, low_water to 0..cap. */
void idpool_init(idpool *p, unsigned cap, unsigned low_water);

/* How many ids to reserve now (0: none is due), starting at *from; next_seq is the sequence
 * number the order table assigns next. Due when fewer than low_water ids are left. */
unsigned idpool_want(const idpool *p, uint64_t next_seq, uint64_t *from);

/* Records that ids from..from+n-1 are committed (after the writer confirmed the
 * reservation's commit). 0, or
 * ERR_INVAL when they do not continue the pool (from must be past every id used or pooled) or
 * would pass cap. */
int idpool_added(idpool *p, uint64_t from, unsigned n);

/* The hot path: the create of sequence number seq is about to leave. 1: its id is in the pool
 * (already durable, taken out; any lower pooled ids are passed over and counted as skipped);
 * 0: it is not (the caller writes it first; counted as a fallback); ERR_DUP: seq was already
 * taken or passed (an id is never used twice: the caller must not send). */
int idpool_take(idpool *p, uint64_t seq);

/* 1 when seq is in the pool (committed and unused), else 0. Changes nothing. */
int idpool_has(const idpool *p, uint64_t seq);

/* The unused range, for retiring at shutdown: 0 when empty, else the count and *lo. */
unsigned idpool_unused(const idpool *p, uint64_t *lo);

void idpool_stats_get(const idpool *p, idpool_stats *out);

/* ---- recovery of the reserved ids of an ended run ---- */

typedef enum idpool_outcome {
    IDPOOL_PENDING, /* answers still out */
    IDPOOL_FOUND,   /* the exchange knows it: it was sent; retire it with what was found */
    IDPOOL_UNSENT,  /* no answer found it: never sent; retire it as unsent */
    IDPOOL_FAILED,  /* a lookup failed: leave it reserved for the next start */
} idpool_outcome;

/* One reserved id being looked up, once per symbol (the lookup needs a symbol). */
typedef struct idpool_rec {
    unsigned pending; /* lookups still out */
    int found, failed;
} idpool_rec;

/* Starts the lookups of one id: n_lookups (one per symbol, >= 1). */
void idpool_rec_begin(idpool_rec *r, unsigned n_lookups);

/* One answer: found (1: the exchange has an order with this orderLinkId, 0: it has none) or
 * failed (the lookup did not get an answer). Returns the outcome once every lookup answered
 * (FOUND as soon as one found it), else PENDING; after the outcome, further answers change
 * nothing and return PENDING. */
idpool_outcome idpool_rec_answer(idpool_rec *r, int found, int failed);

#endif
