/*
 * book: the local L2 order book of one symbol, as Bybit's public `orderbook.{depth}.{symbol}`
 * topic drives it. Pure: no I/O, no clock (time is an argument), no allocation.
 *
 * Rules (bybit-v5.md): a snapshot replaces the whole book (u == 1 too: the service restarted);
 * in a delta a level of size 0 is removed and any other level is inserted or replaces the one
 * at its price; `u` goes up by one per message. A delta that does not follow (a gap), or that
 * comes before any snapshot, is not applied: the book waits for a snapshot and the caller
 * resubscribes. Bids are kept high to low, asks low to high; each side holds at most the
 * book's depth (surplus levels are trimmed from the far end).
 *
 * Numbers: prices and sizes are fixed point, int64 in units of 1e-8 (BOOK_FX_ONE == 1.0), so
 * every price on any tick grid of Bybit (tick >= 1e-8) is exact and levels compare with ==.
 * msg_fx_parse() (msg.h) turns the exchange's decimal strings into this form.
 *
 * The sequence rules are a state machine (book_state x book_event, see book_next()); every
 * update goes through its table.
 *
 * Speed: a level is found by binary search and inserted with one memmove; applying a delta
 * that changes all 50 levels of both sides takes about a microsecond (bench/mm_book_bench.c).
 *
 * Threads: none; a book belongs to one thread.
 */
#ifndef BOOK_H
#define BOOK_H

#include <stddef.h>
#include <stdint.h>

#define BOOK_FX_ONE     100000000LL /* 1.0 in fixed point (1e8) */
#define BOOK_MAX_LEVELS 500         /* per side: the deepest linear topic (orderbook.500) */
#define BOOK_SYMBOL_MAX 32          /* longest symbol, in bytes, without the NUL */
#define BOOK_DEPTH_MAX  BOOK_MAX_LEVELS

/* Fixed point to double (for strategy math; the book itself never uses doubles). */
static inline double book_fx_double(int64_t v)
{
    return (double)v / (double)BOOK_FX_ONE;
}

typedef struct book_level {
    int64_t px; /* fixed point, > 0 */
    int64_t sz; /* fixed point, >= 0; 0 in a delta removes the level */
} book_level;

typedef enum book_side { BOOK_BID = 0, BOOK_ASK = 1 } book_side;

/* One orderbook message, as msg_book_update() (msg.h) fills it. Levels are in message order;
 * a snapshot's levels need not be sorted and may repeat a price (the last one wins). */
typedef struct book_update {
    char symbol[BOOK_SYMBOL_MAX + 1];
    int snapshot;   /* 1 "snapshot", 0 "delta" */
    unsigned depth; /* from the topic: 1, 50, 200, 500 */
    int64_t u;      /* update id */
    int64_t seq;    /* cross sequence (0 when absent) */
    int64_t ts_ms;  /* "ts": when the exchange produced it */
    int64_t cts_ms; /* "cts": matching engine time (0 when absent) */
    size_t n[2];    /* levels in lv[BOOK_BID] and lv[BOOK_ASK] */
    book_level lv[2][BOOK_MAX_LEVELS];
} book_update;

/* Where the book is in the sequence of its stream. */
typedef enum book_state {
    BOOK_EMPTY,  /* no snapshot yet */
    BOOK_LIVE,   /* following the stream */
    BOOK_RESYNC, /* a gap or an early delta was seen: waiting for a snapshot */
    BOOK_NSTATES
} book_state;

/* What an update is, relative to the book (book_classify()). */
typedef enum book_event {
    BOOK_EV_SNAPSHOT,  /* any snapshot */
    BOOK_EV_DELTA,     /* a delta with u == last u + 1 (in BOOK_EMPTY: any delta) */
    BOOK_EV_DELTA_GAP, /* a delta with any other u (never in BOOK_EMPTY: no last u) */
    BOOK_NEVENTS
} book_event;

/* The outcome of book_apply(), for the caller to act on. */
typedef enum book_result {
    BOOK_APPLIED,     /* delta applied */
    BOOK_RESET,       /* snapshot applied: the book was replaced */
    BOOK_GAP,         /* u did not follow: book cleared, resubscribe (reported once per gap) */
    BOOK_NO_SNAPSHOT, /* a delta before any snapshot: resubscribe */
    BOOK_IGNORED,     /* a delta while waiting for a snapshot (resubscribe already asked) */
    BOOK_NRESULTS
} book_result;

/* The transition of one table cell: where the book goes and what the caller is told. */
typedef struct book_transition {
    book_state next;
    book_result result;
} book_transition;

typedef struct book_stats {
    uint64_t snapshots; /* applied */
    uint64_t deltas;    /* applied */
    uint64_t gaps;      /* BOOK_GAP and BOOK_NO_SNAPSHOT results */
    uint64_t ignored;   /* BOOK_IGNORED results */
    uint64_t trimmed;   /* levels dropped past the depth */
    uint64_t crossed;   /* updates after which the book was crossed */
} book_stats;

typedef struct book {
    char symbol[BOOK_SYMBOL_MAX + 1];
    unsigned depth; /* cap per side, 1..BOOK_MAX_LEVELS */
    book_state state;
    int crossed;        /* best bid >= best ask after the last applied update */
    int64_t u, seq;     /* of the last applied update */
    int64_t ts_ms;      /* exchange time of the last applied update */
    int64_t updated_ms; /* local time (now_ms) of the last applied update; 0: never */
    size_t n[2];
    book_level lv[2][BOOK_MAX_LEVELS]; /* lv[BOOK_BID] high->low, lv[BOOK_ASK] low->high */
    book_stats stats;
} book;

/* Sets up an empty book (BOOK_EMPTY) for symbol with depth levels per side. 0, or ERR_INVAL
 * (NULL, empty symbol or longer than BOOK_SYMBOL_MAX, depth 0 or above BOOK_MAX_LEVELS); the
 * book is not usable after a failure. Allocates nothing: there is no book_free. */
int book_init(book *b, const char *symbol, unsigned depth);

/* The table: the transition of state s on event e. Every pair has one (the "impossible" pair
 * EMPTY x DELTA_GAP behaves as EMPTY x DELTA). Out-of-range arguments give {BOOK_RESYNC,
 * BOOK_IGNORED}. */
book_transition book_next(book_state s, book_event e);

/* What up is for b, by type and u. */
book_event book_classify(const book *b, const book_update *up);

/* Applies one update at local time now_ms through the table and stores the outcome in *res.
 * Returns 0, or ERR_INVAL (NULL argument, a symbol other than the book's, more levels than
 * BOOK_MAX_LEVELS, a level with px <= 0 or sz < 0) with the book and *res unchanged.
 * After a snapshot or applied delta, book_crossed() says whether best bid >= best ask. */
int book_apply(book *b, const book_update *up, int64_t now_ms, book_result *res);

/* Queries. A price or size query on a book that is not BOOK_LIVE, or with an empty side it
 * needs, returns ERR_NODATA; mid, microprice and spread of a crossed book return ERR_BADSTATE.
 * Results are fixed point; nothing is changed on failure. */
int book_best(const book *b, book_side side, book_level *out);
/* (best bid + best ask) / 2, rounded down to 1e-8. */
int book_mid(const book *b, int64_t *out);
/* Top-of-book size-weighted price: (bid_px * ask_sz + ask_px * bid_sz) / (bid_sz + ask_sz),
 * rounded to nearest 1e-8; it leans towards the side with less size (where the price is
 * likelier to move). Sizes 0 on both sides: the mid. */
int book_microprice(const book *b, int64_t *out);
/* best ask - best bid (> 0 on an uncrossed book). */
int book_spread(const book *b, int64_t *out);

/* Milliseconds since the last applied update (snapshot or delta) at local time now_ms; a book
 * never updated, or not BOOK_LIVE, is INT64_MAX old. Negative differences (a clock that went
 * back) count as 0. */
int64_t book_age(const book *b, int64_t now_ms);

/* The levels of one side, best first; *n gets their count. Borrowed: valid until the next
 * book_apply or book_init. An empty or not live book gives *n == 0. */
const book_level *book_levels(const book *b, book_side side, size_t *n);

/* Whether best bid >= best ask after the last applied update (0 for a book not live). */
int book_crossed(const book *b);

/* Whether the book is BOOK_LIVE with both sides non-empty and not crossed: fit to quote from. */
int book_ready(const book *b);

/* Names for logs and tests ("live", "gap" ...); never NULL. */
const char *book_state_name(book_state s);
const char *book_result_name(book_result r);

#endif
