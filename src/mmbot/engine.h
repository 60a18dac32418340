/*
 * engine: mmbot's decisions, without sockets. It owns the books, the instruments, the order
 * table (orders.h), the strategy state (strategy.h) and the risk checks, and turns what the
 * exchange says (book and trade messages, private order and execution items, REST answers)
 * into commands (create, cancel, amend, query). main.c does the I/O: it persists, sends and
 * feeds the outcomes back. Time is an argument everywhere; nothing here reads a clock, a
 * socket or a file, so tests and benchmarks drive it exactly as the program does.
 *
 * When quotes are placed: every gate of engine_can_quote() holds for the symbol — the
 * instrument is known, start-up reconciliation is done, the private stream is live, the book
 * is live, uncrossed and younger than stale_timeout, no ban or pause is on and the kill switch
 * has not fired. When a gate drops, the symbol's quotes are pulled (cancelled once each) and
 * come back when it holds again. Requotes follow strategy_requote (tolerance, age, refresh
 * time, filled-order delay): no cancel storms, and a cancel is never sent for an order that is
 * already pending-cancel or terminal.
 *
 * Order flow: engine_tick() creates the order in pending-new and returns ENGINE_CREATE; the
 * caller writes it to the state db, then calls engine_sent() and sends the request (or
 * engine_send_failed() if it could not). The REST answer goes to engine_reply(). The private
 * stream (engine_order_item, engine_exec_item) is the truth. An ambiguous answer makes the
 * order unknown; engine_tick() then asks for ENGINE_QUERY by orderLinkId, at most once per
 * query_interval, and engine_query_result() resolves it. A create is never sent twice.
 *
 * Caps: ENGINE_MAX_SYMBOLS symbols; commands per tick are capped by the caller's array; order
 * requests are paced to risk.max_orders_per_second with a token bucket; the order table's own
 * caps (orders.h) bound the rest. Threads: one.
 */
#ifndef MM_ENGINE_H
#define MM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "mmopts.h"
#include "msg.h"
#include "orders.h"
#include "strategy.h"

#define ENGINE_MAX_SYMBOLS 16
#define ENGINE_QUERY_MS    2000 /* an unknown order is queried at most this often */
#define ENGINE_REASON_MAX  160

typedef enum engine_cmd_kind {
    ENGINE_CREATE, /* POST /v5/order/create */
    ENGINE_CANCEL, /* POST /v5/order/cancel by orderLinkId */
    ENGINE_AMEND,  /* POST /v5/order/amend by orderLinkId */
    ENGINE_QUERY,  /* GET /v5/order/realtime?orderLinkId= */
} engine_cmd_kind;

/* One request to make. Prices and quantities are fixed point (1e-8, book.h) on the grid. */
typedef struct engine_cmd {
    engine_cmd_kind kind;
    char link_id[ORDERS_LINK_ID_MAX + 1];
    char symbol[ORDERS_SYMBOL_MAX + 1];
    orders_side side;
    int64_t px, qty; /* CREATE, AMEND */
    int post_only;   /* CREATE */
    int tracked;     /* 0: a CANCEL of an order the table does not hold (an ended run's) */
} engine_cmd;

/* Why quoting is off, most important first (engine_gate). */
typedef enum engine_gate {
    ENGINE_GATE_OK,
    ENGINE_GATE_KILLED,   /* the kill switch fired: the bot is stopping */
    ENGINE_GATE_STOPPING, /* shutdown */
    ENGINE_GATE_BANNED,   /* HTTP 403: backing off */
    ENGINE_GATE_PAUSED,   /* maintenance or a burst of retryable errors */
    ENGINE_GATE_NO_RECON, /* start-up reconciliation not done */
    ENGINE_GATE_NO_INSTR, /* instrument info missing */
    ENGINE_GATE_PRIVATE,  /* private stream not live */
    ENGINE_GATE_NO_BOOK,  /* no live book */
    ENGINE_GATE_STALE,    /* the book is older than stale_timeout */
    ENGINE_GATE_DRY_RUN,  /* --dry-run: quotes computed and logged, never sent */
} engine_gate;

typedef struct engine_stats {
    uint64_t book_msgs, book_gaps, trades, order_items, exec_items, fills_new, fills_dup;
    uint64_t creates, cancels, amends, queries, rejects, ambiguous, paced;
    uint64_t pulls;         /* times a symbol's quotes were pulled */
    uint64_t errors_fatal;  /* non-retryable error answers */
    uint64_t unknown_items; /* stream items for orders not ours */
    size_t open_orders;     /* non-terminal orders of ours */
} engine_stats;

typedef struct engine engine;

/* A new engine for o's symbols (copied: o may go). run_id: this run's id (mmstate_run_id).
 * NULL with a message in err (a bad strategy setting names its key). */
engine *engine_new(const mmopts *o, uint64_t run_id, int dry_run, char *err, size_t errlen);
void engine_free(engine *e);

size_t engine_nsymbols(const engine *e);
const char *engine_symbol(const engine *e, size_t i);
/* The index of a symbol, or -1. */
int engine_symbol_index(const engine *e, const char *symbol);

/* ---- inputs ---- */

/* Instrument info of a symbol (tick, lot, min qty, min notional). 0 or ERR_NOENT/ERR_INVAL. */
int engine_instrument(engine *e, const msg_instrument *in, int64_t now_ms);
/* Whether the instrument of symbol i is older than instruments_ttl (or missing). */
int engine_instrument_due(const engine *e, size_t i, int64_t now_ms);
/* Applies a book message. *resub is set to 1 when the caller must resubscribe the book (a gap
 * in u, a delta before a snapshot). 0, or ERR_NOENT (not our symbol), ERR_INVAL. */
int engine_book(engine *e, const book_update *up, int64_t now_ms, int *resub);
void engine_trades(engine *e, const msg_trades *t, int64_t now_ms);
/* Private order item: the truth about an order. An untracked one of ours from this run is
 * adopted; others are counted and left for reconciliation. */
void engine_order_item(engine *e, const msg_order *m, int64_t now_ms);
/* An execution: 1 when it is new (the caller stores it: mmstate_fill_add), 0 when its execId
 * was already counted, or a negative code. */
int engine_exec_item(engine *e, const msg_exec *x, int64_t now_ms);
/* An execId counted before a restart (from the state db). */
void engine_fill_seen(engine *e, const char *exec_id);
/* The position of a symbol as the exchange reports it (start-up). */
void engine_position(engine *e, const msg_position *p);
/* The account's equity in quote (for the skew and the loss kill switch). */
void engine_equity(engine *e, double equity, int64_t now_ms);

/* Gates the caller knows about. */
void engine_set_private_live(engine *e, int live);
void engine_set_banned(engine *e, int banned);
/* Pauses quoting until until_ms (maintenance, 10016, 5xx bursts); 0 lifts it. */
void engine_pause(engine *e, int64_t until_ms, const char *reason);
void engine_set_stopping(engine *e);

/* ---- start-up and periodic reconciliation ---- */

/* The open orders of one symbol (or all, symbol NULL) as GET /v5/order/realtime gave them.
 * startup: every open order of ours that the table does not track is an ended run's and is
 * cancelled. Writes the commands into out (at most cap, *n). After a startup call for every
 * symbol, engine_reconciled() lets quoting begin. */
int engine_reconcile(engine *e, const msg_order_list *open, const char *symbol, int startup,
                     int64_t now_ms, engine_cmd *out, size_t cap, size_t *n);
/* The same over an array of open orders (a listing of several pages, see openord.h): at most
 * ENGINE_RECON_MAX of them (ERR_FULL and nothing done beyond). */
#define ENGINE_RECON_MAX 512
int engine_reconcile_orders(engine *e, const msg_order *open, size_t nopen, const char *symbol,
                            int startup, int64_t now_ms, engine_cmd *out, size_t cap, size_t *n);
void engine_reconciled(engine *e);

/* ---- the loop ---- */

/* What to do now: pulls, requotes, queries of unknown orders. Commands go into out (at most
 * cap; *n written). A CREATE's order already exists in pending-new. */
void engine_tick(engine *e, int64_t now_ms, engine_cmd *out, size_t cap, size_t *n);

/* The caller wrote the CREATE to the state db and is sending it now. */
void engine_sent(engine *e, const engine_cmd *c, int64_t now_ms);
/* The CREATE could not be stored or submitted: the order never left. */
void engine_send_failed(engine *e, const engine_cmd *c, int64_t now_ms);

/* The answer to a command: cls is restc's class (as an int: RESTC_OK ...), ret_code the
 * envelope's retCode (-1: none), order_id from the reply ("" or NULL when none). */
void engine_reply(engine *e, const engine_cmd *c, int cls, long ret_code, const char *order_id,
                  int64_t now_ms);
/* The answer to an ENGINE_QUERY: found with the order, or not found. */
void engine_query_result(engine *e, const char *link_id, const msg_order *found, int64_t now_ms);

/* ---- reading ---- */

/* Why symbol i is not quoted (ENGINE_GATE_OK when it is), with a reason for /health. */
engine_gate engine_can_quote(const engine *e, size_t i, int64_t now_ms);
const char *engine_gate_name(engine_gate g);
/* The kill switch: 1 with a reason when it fired (the caller cancels all and exits). */
int engine_killed(const engine *e, char *reason, size_t n);
/* The last quotes computed for symbol i (also in --dry-run). Borrowed. */
const strategy_quotes *engine_quotes(const engine *e, size_t i);
const book *engine_book_of(const engine *e, size_t i);
const orders *engine_orders(const engine *e);
void engine_stats_get(const engine *e, engine_stats *st);
/* The state name of an order for the state db ("pending-new" ...), and whether it is final. */
const char *engine_order_status(const engine *e, const char *link_id, int *terminal);

#endif
