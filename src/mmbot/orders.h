/*
 * orders: the set of mmbot's own orders, their lifecycle as an explicit state machine, the fills
 * counted once by execId, the position per symbol, and the reconciliation with the exchange's
 * list of open orders. Pure: no I/O, no clock (every call that can change state takes now_ms).
 *
 * Truth: the private "order" and "execution" streams (and a query's answer) change an order's
 * state; a REST or WS acknowledgement only records the orderId. Every change goes through one
 * table, actions[state][event] (orders.c); a cell is either a transition, a recorded no-op
 * (duplicates, late or out-of-order messages: accepted, nothing changes twice) or a refusal
 * (ERR_BADSTATE, nothing changes: the caller has a bug or sent a request it must not send, such
 * as a second create or a cancel for an order already pending-cancel). The table with every
 * cell is in docs/mmbot-internals.md.
 *
 * Caps (each fails cleanly with a code): ORDERS_MAX_TRACKED orders in the table (live ones
 * limited further by max_active, ERR_FULL past it; terminal ones are kept retention_ms for late
 * duplicates, then dropped, the oldest first when room is needed), ORDERS_MAX_FILLS execIds
 * (the oldest is forgotten when full), ORDERS_MAX_SYMBOLS positions. High-water marks of each
 * are in orders_stats. The storage for all of them (about 0.7 MiB) is allocated and touched by
 * orders_new: resident from the start, so memory does not rise as the tables fill.
 *
 * orderLinkId: prefix + run id + "-" + sequence, at most 36 chars of [A-Za-z0-9_-]. Every order
 * whose link id starts with the prefix is ours; the run id tells this run from ended ones.
 *
 * Threads: one; nothing here is thread-safe. Strings passed in are copied; pointers returned
 * are borrowed and valid until the next call that changes the set.
 */
#ifndef MMBOT_ORDERS_H
#define MMBOT_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#define ORDERS_MAX_TRACKED  512  /* hard cap of the order table */
#define ORDERS_MAX_FILLS    8192 /* execIds remembered */
#define ORDERS_MAX_SYMBOLS  16
#define ORDERS_LINK_ID_MAX  36 /* Bybit's limit, without the NUL */
#define ORDERS_PREFIX_MAX   12
#define ORDERS_RUN_ID_MAX   12
#define ORDERS_ORDER_ID_MAX 63
#define ORDERS_EXEC_ID_MAX  63
#define ORDERS_SYMBOL_MAX   23

typedef enum orders_state {
    ORDERS_PENDING_NEW,    /* created locally (link id assigned), create maybe sent, not live */
    ORDERS_NEW,            /* the stream says New */
    ORDERS_PARTIAL,        /* the stream says PartiallyFilled (or a fill arrived) */
    ORDERS_PENDING_AMEND,  /* amend sent, no answer yet */
    ORDERS_PENDING_CANCEL, /* cancel sent, no answer yet */
    ORDERS_UNKNOWN,        /* a request's outcome is in doubt: query it by orderLinkId */
    ORDERS_FILLED,         /* terminal */
    ORDERS_CANCELLED,      /* terminal (may carry executed quantity) */
    ORDERS_REJECTED,       /* terminal: never lived */
    ORDERS_NSTATES
} orders_state;

typedef enum orders_event {
    ORDERS_EV_SEND,           /* the create request leaves (once: a create is never re-sent) */
    ORDERS_EV_ACK,            /* REST/WS acknowledgement: records orderId, state unchanged */
    ORDERS_EV_NEW,            /* private order stream: New */
    ORDERS_EV_PARTIAL,        /* private order stream: PartiallyFilled */
    ORDERS_EV_FILLED,         /* private order stream: Filled */
    ORDERS_EV_CANCELLED,      /* private order stream: Cancelled */
    ORDERS_EV_REJECTED,       /* private order stream: Rejected, or a definitive error answer
                                 to the create (10001, 110007, 110094 ...; not 110072) */
    ORDERS_EV_AMEND_SENT,     /* an amend request leaves (price and/or qty in the update) */
    ORDERS_EV_AMEND_OK,       /* the amend was acknowledged */
    ORDERS_EV_AMEND_REFUSED,  /* the amend got a definitive error */
    ORDERS_EV_CANCEL_SENT,    /* a cancel request leaves */
    ORDERS_EV_CANCEL_GONE,    /* the cancel got 110001 or 110008: the order is already gone */
    ORDERS_EV_CANCEL_REFUSED, /* the cancel got another definitive error (e.g. 110079) */
    ORDERS_EV_AMBIGUOUS,      /* timeout, transport error, 10006/10016/10019/429/5xx after send */
    ORDERS_EV_QUERY_FOUND,    /* a query by orderLinkId found it; its status is in the update */
    ORDERS_EV_QUERY_NOTFOUND, /* a query by orderLinkId says it does not exist */
    ORDERS_EV_MISSING,        /* reconciliation: not in the exchange's open orders */
    ORDERS_EV_EXEC,           /* an execution of the order (through orders_fill_apply only) */
    ORDERS_NEVENTS
} orders_event;

/* An order's status as Bybit names it (orderStatus). */
typedef enum orders_status {
    ORDERS_ST_NEW,
    ORDERS_ST_PARTIAL,
    ORDERS_ST_FILLED,
    ORDERS_ST_CANCELLED,
    ORDERS_ST_REJECTED
} orders_status;

typedef enum orders_side { ORDERS_BUY, ORDERS_SELL } orders_side;

/* Flags of an order. */
enum {
    ORDERS_F_SENT = 1,     /* the create left */
    ORDERS_F_LIVE = 2,     /* the stream (or a query) has shown it live at least once */
    ORDERS_F_INFERRED = 4, /* terminal state inferred from a reply, not seen on the stream */
    ORDERS_F_ADOPTED = 8,  /* found on the exchange, not created by this table */
};

typedef struct orders_order {
    char link_id[ORDERS_LINK_ID_MAX + 1];
    char order_id[ORDERS_ORDER_ID_MAX + 1]; /* "" until acknowledged or seen on the stream */
    char symbol[ORDERS_SYMBOL_MAX + 1];
    orders_side side;
    double price, qty;  /* as placed (or as last amended and confirmed) */
    double cum_qty;     /* executed so far (stream's cumExecQty or our fills): never decreases */
    double exec_qty;    /* sum of the fills counted here */
    double amend_price; /* while pending-amend: the requested values (0: unchanged) */
    double amend_qty;
    orders_state state;
    orders_state prev; /* the state before a pending-amend / pending-cancel / unknown */
    unsigned flags;    /* ORDERS_F_* */
    int64_t created_ms, sent_ms, updated_ms, terminal_ms;
} orders_order;

/* The payload of an event; every field optional (0 / NULL / negative: absent). */
typedef struct orders_update {
    const char *order_id; /* ACK, stream, QUERY_FOUND */
    double price, qty;    /* AMEND_SENT: requested; stream/QUERY_FOUND: the order's current */
    double cum_qty;       /* stream/QUERY_FOUND: cumExecQty; < 0: absent */
    orders_status status; /* QUERY_FOUND: the status found */
} orders_update;

/* One execution (private "execution" stream, or read back from the state db). */
typedef struct orders_fill {
    const char *exec_id; /* required, <= ORDERS_EXEC_ID_MAX chars */
    const char *link_id; /* may be NULL or "" (a fill of an order not ours) */
    const char *symbol;  /* required */
    orders_side side;
    double price, qty; /* qty > 0 */
    double fee;        /* execFee in quote: positive paid, negative rebate */
} orders_fill;

/* Position of one symbol, from the fills counted here. */
typedef struct orders_position {
    char symbol[ORDERS_SYMBOL_MAX + 1];
    double size;         /* signed: > 0 long, < 0 short (base units) */
    double avg_price;    /* average entry price of the open size; 0 when flat */
    double realised_pnl; /* quote, before fees */
    double fees;         /* quote, sum of execFee */
    uint64_t fills;
} orders_position;

typedef struct orders_stats {
    size_t tracked, tracked_hwm; /* orders in the table */
    size_t active, active_hwm;   /* non-terminal ones */
    size_t fills_seen, fills_hwm;
    uint64_t events, duplicates, refused; /* duplicates: accepted events that changed nothing */
    uint64_t fills, fill_dups, full_refusals, dropped_terminal, fills_forgotten;
} orders_stats;

typedef struct orders_cfg {
    char prefix[ORDERS_PREFIX_MAX + 1]; /* 1..12 chars of [A-Za-z0-9_-] */
    char run_id[ORDERS_RUN_ID_MAX + 1]; /* 1..12 chars of [A-Za-z0-9_] (no '-') */
    size_t max_active;                  /* 1..ORDERS_MAX_TRACKED-1 (the rest holds terminal ones) */
    int64_t retention_ms;               /* terminal orders kept this long; default 60000 */
} orders_cfg;

typedef struct orders orders;

/* Defaults: prefix "mm", run id "0", max_active 100, retention 60 s. */
void orders_cfg_default(orders_cfg *c);

/* New table. Returns 0 and *out (caller frees with orders_free), ERR_INVAL for a bad prefix,
 * run id or max_active (message in msg if msg_cap > 0), ERR_NOMEM. */
int orders_new(const orders_cfg *c, orders **out, char *msg, size_t msg_cap);
/* Accepts NULL. */
void orders_free(orders *o);

/* The name of a state ("pending-new", "partially-filled", "unknown" ...), of an event
 * ("send", "stream-new" ...), of a status ("PartiallyFilled" ...): static storage, never NULL. */
const char *orders_state_name(orders_state s);
const char *orders_event_name(orders_event e);
const char *orders_status_name(orders_status s);
/* Parses Bybit's orderStatus ("New", "PartiallyFilled", "Filled", "Cancelled", "Rejected";
 * "PartiallyFilledCanceled" is Cancelled). 0, or ERR_PARSE for another status. */
int orders_status_parse(const char *name, orders_status *out);
/* The stream event of a status (ORDERS_EV_NEW ...). */
orders_event orders_status_event(orders_status s);
/* Whether a state is terminal (filled, cancelled, rejected). */
int orders_state_terminal(orders_state s);

/* Whether link_id carries our prefix (NULL: no). */
int orders_is_ours(const orders *o, const char *link_id);
/* Whether link_id carries our prefix and this run's id. */
int orders_is_this_run(const orders *o, const char *link_id);

/* Creates an order in pending-new with the next orderLinkId, before anything is sent (the
 * caller persists the link id, then sends, then applies ORDERS_EV_SEND). Fills *link (at least
 * ORDERS_LINK_ID_MAX+1 bytes) when link is not NULL. Returns 0; ERR_FULL when max_active orders
 * are live or the table holds no terminal order to drop; ERR_INVAL (empty or long symbol,
 * price < 0, qty <= 0, link_cap too small); ERR_RANGE (the sequence no longer fits in 36
 * chars). Nothing is consumed on failure. */
int orders_add(orders *o, const char *symbol, orders_side side, double price, double qty,
               int64_t now_ms, char *link, size_t link_cap);

/* The sequence number the next orders_add will use (1 for a new table); the link id of a
 * sequence number (the one orders_add gives it: 0, ERR_RANGE when it does not fit 36 chars or
 * seq is 0, ERR_INVAL when cap is too small); and the sequence number of a link id of this run
 * (0, ERR_INVAL when it is not one). Pure: nothing is consumed; used to journal link ids ahead
 * of time (idpool.h). */
uint64_t orders_next_seq(const orders *o);
int orders_link_id_of(const orders *o, uint64_t seq, char *out, size_t cap);
int orders_link_seq(const orders *o, const char *link_id, uint64_t *seq);

/* Tracks an order found on the exchange (reconciliation's ADOPT): its state follows status.
 * 0; ERR_DUP (already tracked), ERR_FULL, ERR_INVAL (not ours, bad strings). */
int orders_adopt(orders *o, const char *link_id, const char *order_id, const char *symbol,
                 orders_side side, double price, double qty, double cum_qty, orders_status status,
                 int64_t now_ms);

/* Applies an event to the order with link_id, through the table. u may be NULL.
 * Returns 0 (applied, or accepted as a no-op: see stats.duplicates), ERR_NOENT (not tracked),
 * ERR_BADSTATE (the table refuses this event in this state: nothing changed), ERR_INVAL (the
 * event needs a payload it lacks, or ORDERS_EV_EXEC: use orders_fill). */
int orders_event_apply(orders *o, const char *link_id, orders_event ev, const orders_update *u,
                       int64_t now_ms);

/* Counts an execution once: a known execId changes nothing and returns ERR_DUP. Otherwise the
 * position of the symbol is updated and, when the link id is tracked, the order's executed
 * quantity too (ORDERS_EV_EXEC through the table). Returns 0; ERR_DUP; ERR_FULL (a new symbol
 * past ORDERS_MAX_SYMBOLS: nothing recorded); ERR_INVAL (missing exec id or symbol, qty <= 0,
 * exec id too long). */
int orders_fill_apply(orders *o, const orders_fill *f, int64_t now_ms);

/* Pre-loads an execId already counted (e.g. read from the state db after a restart), without
 * touching any position. 0; ERR_DUP (already known); ERR_INVAL. */
int orders_fill_seen_add(orders *o, const char *exec_id);
/* Whether an execId is known. */
int orders_fill_seen(const orders *o, const char *exec_id);
/* Sets a symbol's position (e.g. from the state db or the exchange's position list at start).
 * 0; ERR_FULL; ERR_INVAL. */
int orders_position_set(orders *o, const orders_position *p);

/* Drops terminal orders older than retention_ms. Returns how many were dropped. */
size_t orders_expire(orders *o, int64_t now_ms);

/* The tracked order with link_id, or NULL. Borrowed. */
const orders_order *orders_get(const orders *o, const char *link_id);
/* Iteration over the table: i in 0..ORDERS_MAX_TRACKED-1; NULL for an empty slot. */
const orders_order *orders_at(const orders *o, size_t i);
/* Position of a symbol, or NULL when it never had one. Borrowed. */
const orders_position *orders_position_get(const orders *o, const char *symbol);
void orders_stats_get(const orders *o, orders_stats *out);

/* ---- reconciliation ---- */

/* One open order as the exchange reports it (GET /v5/order/realtime, openOnly). */
typedef struct orders_open {
    const char *link_id; /* may be NULL or "" */
    const char *order_id;
    const char *symbol;
    orders_status status; /* New or PartiallyFilled */
} orders_open;

typedef enum orders_recon_kind {
    ORDERS_RC_CANCEL_ENDED,    /* ours, from an ended run (or any untracked one at start-up):
                               record its fills, then cancel it */
    ORDERS_RC_CANCEL_UNWANTED, /* ours, tracked, but terminal locally: cancel it */
    ORDERS_RC_ADOPT,           /* ours, this run, untracked (lost): orders_adopt it */
    ORDERS_RC_UPDATE,          /* tracked as pending-new or unknown, open on the exchange: apply
                          ORDERS_EV_QUERY_FOUND with its status */
    ORDERS_RC_MISSING, /* tracked as live but not open on the exchange: apply ORDERS_EV_MISSING,
                          then query it by orderLinkId */
} orders_recon_kind;

typedef struct orders_recon {
    orders_recon_kind kind;
    const char *link_id;  /* borrowed from the open list or the table */
    const char *order_id; /* borrowed; may be NULL */
    const char *symbol;   /* borrowed */
    orders_status status; /* for ADOPT / UPDATE: as reported */
} orders_recon;

/* Compares the exchange's open orders of `symbol` (NULL: the list covers every symbol) with the
 * table and writes the actions to take into out (at most cap; *n_out is the number written).
 * startup != 0: every untracked open order of ours is CANCEL_ENDED, whatever its run id.
 * Pending-new orders sent less than grace_ms ago are never MISSING (Bybit may acknowledge a
 * create before the order is live). Orders without our prefix are never touched. Does not
 * change the table. Returns 0, or ERR_FULL when cap was too small (the first cap are written). */
int orders_reconcile(const orders *o, const orders_open *open, size_t n_open, const char *symbol,
                     int startup, int64_t grace_ms, int64_t now_ms, orders_recon *out, size_t cap,
                     size_t *n_out);

#endif
