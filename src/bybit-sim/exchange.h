/*
 * exchange: the simulated Bybit v5 linear exchange of bybit-sim, without any I/O; its order
 * engine and the API that rest.c, sim.c, the fuzz harness and the tests use.
 *
 * Holds the accounts (key, secret, USDT wallet, positions, orders), the orders and their
 * lifecycle (one function changes an order's status, through the table below), the matching of
 * account orders against the book and of synthetic taker flow against resting orders (the
 * accounts' too, so their orders fill, partially as well), fees, Disconnected Cancel All (DCP),
 * and the batching of the public feed. Per symbol, the market (instrument, random-walk mid,
 * synthetic book, taker flow) is market.h's; the JSON of every item and message is views.h's;
 * every retCode and text is simerr.h's. docs/bybit-sim-internals.md draws the whole.
 *
 * Time never comes from the clock: every call that can change state takes now_ms (Unix ms), so
 * a run is deterministic for a seed and tests can drive time.
 *
 * Output is pushed through callbacks set in exch_opts: private events per account (topics
 * "order", "execution", "position", "wallet") and public messages (topics
 * "orderbook.{1,50,200,500}.{SYMBOL}" and "publicTrade.{SYMBOL}"). Callbacks run synchronously
 * inside the exch_* call that caused them; they must not call back into the exchange.
 *
 * Numbers: prices and quantities are held as integer multiples of the instrument's tick size and
 * qty step; they are printed as JSON strings with the instrument's decimals ("30000.50" style:
 * as Bybit does, e.g. "30000.5" for tick 0.1 → one decimal).
 *
 * Limits (caps, each failing cleanly): EXCH_MAX_ACCOUNTS accounts, EXCH_MAX_ACTIVE open orders per
 * account and symbol (110020 past it), EXCH_MAX_CLOSED closed orders kept per account for
 * queries (oldest dropped first), orderLinkId uniqueness checked among open and kept closed ones.
 *
 * Threads: one; nothing here is thread-safe.
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "simerr.h"

#define EXCH_MAX_ACCOUNTS 64
#define EXCH_MAX_ACTIVE   500
#define EXCH_MAX_CLOSED   2000
#define EXCH_MAX_SYMBOLS  8
#define EXCH_MAX_LEVELS   500 /* per side in the synthetic book and in any feed */

/* Bybit retCodes the exchange answers with (0 = OK): the numbers of simerr.h's SIMRC_LIST;
 * the texts of msg come from its SIMERR_LIST. */
enum {
    EXCH_OK = SIMRC_OK,
    EXCH_ERR_PARAM = SIMRC_PARAM,
    EXCH_ERR_KEY = SIMRC_KEY, /* unknown API key */
    EXCH_ERR_INTERNAL = SIMRC_INTERNAL,
    EXCH_ERR_NO_ORDER = SIMRC_NO_ORDER,
    EXCH_ERR_BALANCE = SIMRC_BALANCE,
    EXCH_ERR_FINISHED = SIMRC_FINISHED,
    EXCH_ERR_REDUCE_ONLY = SIMRC_REDUCE_ONLY, /* reduce-only order that would not reduce */
    EXCH_ERR_TOO_MANY = SIMRC_TOO_MANY,
    EXCH_ERR_MIN_VALUE = SIMRC_MIN_VALUE, /* qty x price below the instrument's min notional */
};

typedef enum exch_side { EXCH_BUY, EXCH_SELL } exch_side;
typedef enum exch_type { EXCH_LIMIT, EXCH_MARKET } exch_type;
typedef enum exch_tif { EXCH_GTC, EXCH_IOC, EXCH_FOK, EXCH_POSTONLY } exch_tif;

/* ---- the order record and its lifecycle ----
 *
 * Every change of an order's status goes through one function of exchange.c, which looks the
 * change up in the table below (exch_status_next): an event the table refuses changes nothing
 * and is counted (exch_stats.refused_transitions; a bug if ever non-zero).
 *
 *   from \ event  LIVE   FILL      FILL_ALL  CANCEL     REJECT
 *   Pending       New    -         -         Cancelled  Rejected
 *   New           -      PFilled   Filled    Cancelled  Rejected
 *   PFilled       -      PFilled   Filled    Cancelled  -
 *   Filled, Cancelled, Rejected: final, every event refused.
 *
 * Pending is an order acknowledged and not live yet (p_ack_before_state): not matched, not
 * listed by queries, shown as "New" where it is shown. Every order is born Pending and goes
 * LIVE at once unless its acknowledgement is delayed. */

/* X(NAME, orderStatus on the wire, open) */
#define EXCH_STATUS_LIST(X)                                                                        \
    X(EXCH_ST_PENDING, "New", 1)                                                                   \
    X(EXCH_ST_NEW, "New", 1)                                                                       \
    X(EXCH_ST_PFILLED, "PartiallyFilled", 1)                                                       \
    X(EXCH_ST_FILLED, "Filled", 0)                                                                 \
    X(EXCH_ST_CANCELLED, "Cancelled", 0)                                                           \
    X(EXCH_ST_REJECTED, "Rejected", 0)

typedef enum exch_status {
#define EXCH_STATUS_ENUM(name, wire, open) name,
    EXCH_STATUS_LIST(EXCH_STATUS_ENUM)
#undef EXCH_STATUS_ENUM
        EXCH_ST__COUNT
} exch_status;

typedef enum exch_event {
    EXCH_EV_LIVE,     /* an acknowledged order goes live */
    EXCH_EV_FILL,     /* a fill that leaves a quantity */
    EXCH_EV_FILL_ALL, /* the fill of the whole remaining quantity */
    EXCH_EV_CANCEL,   /* cancelled: by the user, DCP, reduce-only, IOC/FOK/PostOnly rules */
    EXCH_EV_REJECT,
    EXCH_EV__COUNT
} exch_event;

/* X(NAME, cancelType on the wire) */
#define EXCH_CANCEL_LIST(X)                                                                        \
    X(EXCH_CT_UNKNOWN, "UNKNOWN")                                                                  \
    X(EXCH_CT_USER, "CancelByUser")                                                                \
    X(EXCH_CT_DCP, "CancelByDCP")                                                                  \
    X(EXCH_CT_REDUCE_ONLY, "CancelByReduceOnly")

typedef enum exch_cancel_type {
#define EXCH_CT_ENUM(name, wire) name,
    EXCH_CANCEL_LIST(EXCH_CT_ENUM)
#undef EXCH_CT_ENUM
        EXCH_CT__COUNT
} exch_cancel_type;

/* X(NAME, rejectReason on the wire) */
#define EXCH_REJECT_LIST(X)                                                                        \
    X(EXCH_REJ_NONE, "EC_NoError")                                                                 \
    X(EXCH_REJ_POSTONLY, "EC_PostOnlyWillTakeLiquidity")                                           \
    X(EXCH_REJ_FOK, "EC_CancelForNoFullFill")

typedef enum exch_reject {
#define EXCH_REJ_ENUM(name, wire) name,
    EXCH_REJECT_LIST(EXCH_REJ_ENUM)
#undef EXCH_REJ_ENUM
        EXCH_REJ__COUNT
} exch_reject;

/* The status an event leads to from a status, or -1 when the table refuses it (also for
 * values out of range). Pure. */
int exch_status_next(exch_status from, exch_event ev);
/* Wire names (static storage; "" out of range) and whether a status is open. */
const char *exch_status_name(exch_status st);
int exch_status_open(exch_status st);
const char *exch_cancel_type_name(exch_cancel_type ct);
const char *exch_reject_name(exch_reject r);

/* An order as the engine holds it; the views read it (views.h). Only exchange.c writes it. */
typedef struct exch_order {
    char id[40], link[40];
    unsigned acct, sym; /* indices of the account and the symbol */
    exch_side side;
    exch_type type;
    exch_tif tif;
    int reduce_only;
    int64_t px;        /* ticks; 0 for Market */
    int64_t qty, cum;  /* steps */
    double value, fee; /* cumExecValue, cumExecFee in USDT */
    exch_status st;
    exch_cancel_type cancel_type;
    exch_reject reject;
    int64_t created, updated;
    uint64_t prio;  /* time priority; renewed by a price change or a qty increase */
    uint64_t birth; /* creation sequence: "newest first" in queries */
    size_t ai, si;  /* indices in the account's and the symbol's arrays */
} exch_order;

/* A position of an account in a symbol. */
typedef struct exch_position {
    int64_t size; /* steps, signed: > 0 long */
    double entry; /* average entry price */
    double realised;
    int64_t updated;
} exch_position;

/* Private event: data is a cJSON array of items as Bybit sends in the "data" field of the
 * topic (order items carry "category":"linear"); ownership passes to the callee. */
typedef void (*exch_private_fn)(void *ud, const char *api_key, const char *topic, cJSON *data,
                                int64_t now_ms);
/* Public message: the whole message text, NUL-terminated, e.g.
 * {"topic":"orderbook.50.BTCUSDT","type":"delta","ts":..,"data":{"s":..,"b":..,"a":..,"u":..,"seq":..},"cts":..}
 * Borrowed: valid during the call only. */
typedef void (*exch_public_fn)(void *ud, const char *topic, const char *msg, size_t len);
/* Whether anyone listens to a public topic; the feed is only computed for those (may be NULL:
 * everything is computed). */
typedef int (*exch_wanted_fn)(void *ud, const char *topic);

typedef struct exch_opts {
    uint64_t seed;             /* everything random comes from it */
    double volatility;         /* of the mid price, relative, per sqrt(hour); default 0.01 */
    double taker_per_s;        /* synthetic taker trades per second per symbol; default 5 */
    double taker_qty_mean;     /* in multiples of min qty; default 5 */
    double maker_fee;          /* fraction of value; default 0.0002 */
    double taker_fee;          /* default 0.00055 */
    double leverage;           /* for the balance check of new orders; default 10 */
    unsigned book_levels;      /* synthetic levels per side; default 200, at most EXCH_MAX_LEVELS */
    double p_ack_before_state; /* chance a create is acknowledged before it is live: the order
                                * appears (private "order" New) on a later exch_tick; 0.0 */
    double p_dup_filled;       /* chance a cancel racing a fill gets a second Filled message */
    double p_cancel_with_exec; /* chance a cancel lands after a partial fill of the order */
    exch_private_fn on_private;
    exch_public_fn on_public;
    exch_wanted_fn wanted;
    /* Whether an account's private topic has a listener; items are only built for those
     * (NULL: always built). */
    int (*private_wanted)(void *ud, const char *api_key, const char *topic);
    void *ud;
} exch_opts;

typedef struct exch exch;

/* Sets the defaults above (no callbacks). */
void exch_opts_default(exch_opts *o);

/* New exchange with the default instruments BTCUSDT (tick 0.1, qty step 0.001, min qty 0.001,
 * max qty 100 (limit), min notional 5, start price 60000) and ETHUSDT (tick 0.01, qty step 0.01,
 * min qty 0.01, max qty 1000, min notional 5, start price 3000). opts is copied (book_levels 0
 * means the default, above EXCH_MAX_LEVELS is clamped). NULL on allocation failure. */
exch *exch_new(const exch_opts *o, int64_t now_ms);
/* Frees everything. Accepts NULL. */
void exch_free(exch *x);

/* Adds an account; 0, -EEXIST (same key), -ENOSPC (EXCH_MAX_ACCOUNTS), -EINVAL (empty key or
 * secret, key or secret over 64 bytes). The balance is in USDT. */
int exch_account_add(exch *x, const char *api_key, const char *secret, double usdt);
/* The secret of a key, or NULL for an unknown key. Borrowed. */
const char *exch_account_secret(const exch *x, const char *api_key);

/* Advances the market to now_ms: random walk, synthetic book refresh, synthetic taker flow
 * (fills of resting orders and their private events, publicTrade messages), delayed
 * acknowledgements, DCP expiries, and one feed message (snapshot for a new or reset stream,
 * else a delta, only when something changed) per wanted orderbook topic. Called every 20 ms by
 * the server. */
void exch_tick(exch *x, int64_t now_ms);

/* The snapshot message for a new subscriber of an orderbook topic: the book as the stream last
 * published it, with that message's u and seq, so that the stream's next delta follows it.
 * A stream that never published, or was reset, publishes its snapshot first (through on_public
 * too, so that existing subscribers see the same u) and returns that.
 * Returns a malloc'd NUL-terminated message text (caller frees), or NULL for an unknown topic
 * (bad depth or symbol) or on allocation failure. */
char *exch_book_snapshot_msg(exch *x, const char *topic, int64_t now_ms);
/* Resets every book stream of every symbol: the next message of each wanted stream is a
 * snapshot with u == 1 (Bybit after a service restart). */
void exch_book_reset(exch *x);
/* Whether a public topic exists ("orderbook.50.BTCUSDT", "publicTrade.ETHUSDT"). */
int exch_topic_valid(const exch *x, const char *topic);

/* ---- REST-level operations; each returns a retCode and, on error, a message in msg ----
 * (Bybit's texts where known: "Qty invalid", "Order price has too many decimals.",
 * "OrderLinkedID is duplicate", "Order does not exist." …). An unknown api_key gets 10003;
 * an unknown symbol 10001. */

typedef struct exch_order_req {
    const char *symbol;
    exch_side side;
    exch_type type;
    const char *qty;   /* decimal strings as sent; must be multiples of the step/tick */
    const char *price; /* NULL or "" for Market */
    exch_tif tif;
    const char *link_id; /* NULL or "": none; else <= 36 chars of [A-Za-z0-9_-], unique */
    int reduce_only;
} exch_order_req;

/* Order id and link id of an acknowledged request. */
typedef struct exch_ids {
    char order_id[40];
    char link_id[40];
} exch_ids;

/* Places an order (acknowledged: ids filled). A PostOnly that would cross is accepted and then
 * cancelled with rejectReason EC_PostOnlyWillTakeLiquidity (as Bybit: the ack is OK, the
 * private stream says Cancelled). Limit/Market crossing the book fill against it at once. */
int exch_create(exch *x, const char *api_key, const exch_order_req *r, int64_t now_ms,
                exch_ids *out, char *msg, size_t msglen);
/* Amends qty and/or price (NULL or "": unchanged) of an open order found by order_id or
 * link_id (either may be NULL/""). */
int exch_amend(exch *x, const char *api_key, const char *symbol, const char *order_id,
               const char *link_id, const char *qty, const char *price, int64_t now_ms,
               exch_ids *out, char *msg, size_t msglen);
/* Cancels one open order (cancelType CancelByUser). 110001 unknown, 110008 already closed.
 * With p_cancel_with_exec the order first gets a partial fill (execution before the Cancelled
 * order); with p_dup_filled the fill wins the race: the order fills completely, its Filled
 * message is sent twice, and the cancel answers 110008. An order not live yet (delayed ack) is
 * cancelled without having been announced as New. */
int exch_cancel(exch *x, const char *api_key, const char *symbol, const char *order_id,
                const char *link_id, int64_t now_ms, exch_ids *out, char *msg, size_t msglen);
/* Cancels every open order of the account in symbol (NULL or "": all symbols). *list gets a
 * new cJSON array of {orderId, orderLinkId} (caller frees). */
int exch_cancel_all(exch *x, const char *api_key, const char *symbol, int64_t now_ms, cJSON **list,
                    char *msg, size_t msglen);

/* Orders for GET /v5/order/realtime, as Bybit: open_only 0 = open orders only, 1 or 2 = open
 * and recently closed ones (kept ones, EXCH_MAX_CLOSED), newest first, filtered by symbol
 * (NULL: all), order_id, link_id; at most limit (1..50; 0: 20) from cursor (NULL/"": start;
 * else an opaque string returned as next_cursor). Orders not live yet are not listed.
 * *list gets a new cJSON array of order objects, *next_cursor a malloc'd string ("" at the end).
 * Caller frees both. */
int exch_orders(exch *x, const char *api_key, const char *symbol, const char *order_id,
                const char *link_id, int open_only, int limit, const char *cursor, cJSON **list,
                char **next_cursor, char *msg, size_t msglen);
/* Position list items for symbol (NULL: every symbol), as GET /v5/position/list. */
int exch_positions(exch *x, const char *api_key, const char *symbol, cJSON **list, char *msg,
                   size_t msglen);
/* The result object of GET /v5/account/wallet-balance (with "list":[{...}]). */
int exch_wallet(exch *x, const char *api_key, cJSON **result, char *msg, size_t msglen);
/* GET /v5/market/instruments-info: list items for symbol (NULL: all). 0, or 10001 unknown. */
int exch_instruments(exch *x, const char *symbol, cJSON **list, char *msg, size_t msglen);
/* GET /v5/market/orderbook: the result object {s,b,a,ts,u,seq,cts} with limit levels
 * (1..200; 0: 25) of the current book (accounts' orders included). 10001 for an unknown symbol
 * or limit. */
int exch_orderbook(exch *x, const char *symbol, int limit, int64_t now_ms, cJSON **result,
                   char *msg, size_t msglen);

/* ---- Disconnected Cancel All ---- */

/* Arms DCP for the account with a window of 3..300 s (10001 otherwise; 10003 unknown key). */
int exch_dcp_arm(exch *x, const char *api_key, int window_s, char *msg, size_t msglen);
/* A private connection of the account subscribed to dcp.future (+1) or went away (-1). When an
 * armed account's count drops to 0 and stays 0 for the window, exch_tick cancels all its open
 * orders with cancelType CancelByDCP. */
void exch_dcp_conn(exch *x, const char *api_key, int delta, int64_t now_ms);

/* ---- for tests and the soak gate ---- */

/* Every open order, of one account (api_key) or all (NULL): a JSON array of order objects,
 * each with an extra "account" holding the API key. Caller frees. NULL on allocation failure. */
cJSON *exch_open_orders_all(exch *x, const char *api_key);

typedef struct exch_stats {
    uint64_t orders_created, orders_cancelled, orders_rejected, orders_filled, fills, public_trades,
        book_messages, refused_transitions;
    unsigned open_orders, accounts;
} exch_stats;
void exch_get_stats(const exch *x, exch_stats *s);

/* Back to the start: every order removed (without events), positions flat, wallets at their
 * initial balance, prices and feeds as at exch_new (seeded again). Accounts are kept. */
void exch_reset(exch *x, int64_t now_ms);

#endif
