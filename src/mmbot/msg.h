/*
 * msg: parsers of every exchange message mmbot handles (Bybit v5, see bybit-v5.md), from bytes
 * to plain C structs. Pure: no I/O, no clock, no allocation that outlives a call, no counters.
 *
 * Input is hostile: any bytes, any length, not NUL-terminated. Every parser returns 0 or a code
 * from errcode.h and never crashes:
 *   ERR_PARSE  not JSON, not the expected shape, a required field missing or of the wrong type,
 *              a number that is not a plain decimal
 *   ERR_RANGE  a fixed-size string field too long (ids, symbols: truncation is refused), a
 *              number out of range (fixed point: more than 8 non-zero decimals, > ~9.2e10)
 *   ERR_FULL   more items than the struct's cap (the message is refused whole)
 *   ERR_INVAL  a NULL argument
 * On failure *out is unspecified (partly filled); nothing is kept between calls. The caller
 * counts malformed frames.
 *
 * Numbers: prices and quantities (all on the exchange's tick and lot grids) are fixed point
 * int64 in units of 1e-8 (BOOK_FX_ONE, book.h); money amounts that are not on a grid (fees,
 * PnL, balances, averages, mark prices) are doubles. Bybit sends numbers as JSON strings; JSON
 * numbers are accepted too, and "" (Bybit's "no value") reads as 0.
 *
 * Strings: ids and symbols are refused past their caps (MSG_*_MAX, bytes without the NUL);
 * human texts (retMsg, ret_msg, per-item batch messages) are cut at MSG_TEXT_MAX on a UTF-8
 * boundary and flagged with *_truncated.
 *
 * Parsers: the orderbook path (msg_ws_kind, msg_book_update) is a hand-written scanner that
 * allocates nothing (see bench/mm_book_bench.c: a few µs for 50 changed levels a side, about
 * 3x faster than cJSON alone builds its tree of the same text); everything else goes through
 * cJSON. Optional fields that are absent read as 0 / "" / the _OTHER value of an enum; each
 * struct names its required fields (a required id or symbol must not be "").
 *
 * Threads: every function is reentrant.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"

#define MSG_SYMBOL_MAX   BOOK_SYMBOL_MAX /* 32 */
#define MSG_ORDER_ID_MAX 64
#define MSG_LINK_ID_MAX  36
#define MSG_ID_MAX       64  /* execId, trade id, req_id, conn_id, message id */
#define MSG_WORD_MAX     47  /* cancelType, rejectReason, execType, status, coin, accountType */
#define MSG_TEXT_MAX     255 /* retMsg, ret_msg: truncated, flagged */
#define MSG_CURSOR_MAX   255 /* nextPageCursor */

#define MSG_MAX_TRADES  256 /* trades per publicTrade message */
#define MSG_MAX_ITEMS   100 /* items per private WS message, per REST list (page with limit) */
#define MSG_MAX_IDS     500 /* cancel-all result list */
#define MSG_MAX_BATCH   20  /* create-batch items */
#define MSG_MAX_COINS   32  /* coins per wallet (query with coin= to narrow) */
#define MSG_MAX_WALLETS 4   /* wallets per wallet message or reply */

/* ------------------------------------------------------------------ numbers */

/* Parses a plain decimal ("30000.5", "-0.001", "12") of len bytes into fixed point (1e-8).
 * No exponent, no spaces, no '+'; at least one digit. 0; ERR_PARSE; ERR_RANGE (a non-zero digit
 * past the 8th decimal, or |value| >= ~9.2e10). "" is ERR_PARSE here. */
int msg_fx_parse(const char *s, size_t len, int64_t *out);
/* Writes v as the shortest decimal ("30000.5", "0.001", "-2", "0") with its NUL into buf.
 * Returns the length, or ERR_RANGE when n is too small (buf then holds ""), ERR_INVAL for NULL.
 * 24 bytes always suffice. */
int msg_fx_format(int64_t v, char *buf, size_t n);

/* ------------------------------------------------------------------ WebSocket */

typedef enum msg_kind {
    MSG_UNKNOWN,   /* an object with neither a known topic nor "op" */
    MSG_BOOK,      /* topic orderbook.* */
    MSG_TRADE,     /* topic publicTrade.* */
    MSG_ORDER,     /* topic order (or order.*) */
    MSG_EXECUTION, /* topic execution (or execution.*) */
    MSG_POSITION,  /* topic position (or position.*) */
    MSG_WALLET,    /* topic wallet */
    MSG_OP,        /* a reply to an op: pong (both formats), subscribe, auth ... */
} msg_kind;

/* What a WebSocket message is, from its first "topic" or "op" key (the rest is not checked:
 * the parser of that kind does). 0; ERR_PARSE (not an object, broken before the key). */
int msg_ws_kind(const char *buf, size_t len, msg_kind *out);

/* An orderbook message into a book update (book.h): topic "orderbook.{depth}.{symbol}", "type"
 * snapshot|delta and data "s" (must be the topic's symbol) and "u" are required; "b", "a"
 * (arrays of ["price","size"], price > 0, size >= 0), "seq", "ts", "cts" are optional.
 * ERR_FULL past BOOK_MAX_LEVELS levels a side. */
int msg_book_update(const char *buf, size_t len, book_update *out);

typedef enum msg_side { MSG_SIDE_NONE, MSG_BUY, MSG_SELL } msg_side; /* "" / "Buy" / "Sell" */

typedef struct msg_trade {
    int64_t t_ms;                    /* "T", required */
    char symbol[MSG_SYMBOL_MAX + 1]; /* "s", required */
    msg_side side;                   /* "S", required (Buy/Sell) */
    int64_t qty;                     /* "v", required, fixed point */
    int64_t px;                      /* "p", required, fixed point */
    char id[MSG_ID_MAX + 1];         /* "i" */
    int block;                       /* "BT" */
} msg_trade;

typedef struct msg_trades {
    char symbol[MSG_SYMBOL_MAX + 1]; /* from the topic */
    int64_t ts_ms;
    size_t n;
    msg_trade v[MSG_MAX_TRADES];
} msg_trades;

/* A publicTrade message: topic "publicTrade.{symbol}" and "data" (array) required. */
int msg_trades_parse(const char *buf, size_t len, msg_trades *out);

typedef enum msg_op {
    MSG_OP_OTHER,
    MSG_OP_PONG, /* public: "op":"ping" with ret_msg "pong"; private: "op":"pong" */
    MSG_OP_SUBSCRIBE,
    MSG_OP_UNSUBSCRIBE,
    MSG_OP_AUTH,
} msg_op;

typedef struct msg_op_reply {
    msg_op op;   /* "op", required */
    int success; /* "success", required but for pongs (a pong without it: 1) */
    char ret_msg[MSG_TEXT_MAX + 1];
    int ret_msg_truncated;
    char req_id[MSG_ID_MAX + 1];
    char conn_id[MSG_ID_MAX + 1];
    int64_t pong_ms; /* private pong: args[0]; else 0 */
} msg_op_reply;

/* A reply to ping, subscribe, unsubscribe or auth (public or private format). */
int msg_op_parse(const char *buf, size_t len, msg_op_reply *out);

/* ------------------------------------------------------------------ orders and fills */

typedef enum msg_status {
    MSG_ST_OTHER, /* a status this list does not know */
    MSG_ST_NEW,
    MSG_ST_PARTIALLY_FILLED,
    MSG_ST_FILLED,
    MSG_ST_CANCELLED,
    MSG_ST_REJECTED,
    MSG_ST_PARTIALLY_FILLED_CANCELED,
    MSG_ST_UNTRIGGERED,
    MSG_ST_TRIGGERED,
    MSG_ST_DEACTIVATED,
} msg_status;

typedef enum msg_otype { MSG_OT_OTHER, MSG_OT_LIMIT, MSG_OT_MARKET } msg_otype;
typedef enum msg_tif {
    MSG_TIF_OTHER,
    MSG_TIF_GTC,
    MSG_TIF_IOC,
    MSG_TIF_FOK,
    MSG_TIF_POSTONLY
} msg_tif;

/* An order, as the private "order" topic and GET /v5/order/realtime give it. Required:
 * orderId, symbol, orderStatus. */
typedef struct msg_order {
    char order_id[MSG_ORDER_ID_MAX + 1];
    char link_id[MSG_LINK_ID_MAX + 1]; /* "orderLinkId" ("" when none) */
    char symbol[MSG_SYMBOL_MAX + 1];
    msg_side side;
    msg_otype type;
    msg_tif tif;
    msg_status status;
    int64_t px, qty, leaves_qty, cum_exec_qty; /* fixed point */
    double avg_px, cum_exec_value, cum_exec_fee;
    char cancel_type[MSG_WORD_MAX + 1];
    char reject_reason[MSG_WORD_MAX + 1];
    int reduce_only;
    int64_t created_ms, updated_ms;
} msg_order;

typedef struct msg_order_list {
    int64_t ts_ms; /* WS: "creationTime"; REST: the envelope's time */
    size_t n;
    msg_order v[MSG_MAX_ITEMS];
    char next_cursor[MSG_CURSOR_MAX + 1]; /* REST "nextPageCursor" ("" at the end) */
} msg_order_list;

/* An execution (fill). Required: execId, orderId, symbol, execPrice, execQty. */
typedef struct msg_exec {
    char exec_id[MSG_ID_MAX + 1];
    char order_id[MSG_ORDER_ID_MAX + 1];
    char link_id[MSG_LINK_ID_MAX + 1];
    char symbol[MSG_SYMBOL_MAX + 1];
    msg_side side;
    int64_t order_px, order_qty, leaves_qty, exec_px, exec_qty; /* fixed point */
    double exec_fee, exec_value;
    char exec_type[MSG_WORD_MAX + 1]; /* "Trade", "Funding" ... */
    int64_t exec_ms;
    int is_maker;
} msg_exec;

typedef struct msg_exec_list {
    int64_t ts_ms;
    size_t n;
    msg_exec v[MSG_MAX_ITEMS];
} msg_exec_list;

/* A position. Required: symbol, size. side is MSG_SIDE_NONE when flat. entry_px is
 * "entryPrice" (WS) or else "avgPrice" (REST). */
typedef struct msg_position {
    char symbol[MSG_SYMBOL_MAX + 1];
    msg_side side;
    int64_t size; /* fixed point, >= 0 */
    double entry_px, mark_px, position_value, unrealised_pnl, cum_realised_pnl;
    int position_idx;
    int64_t updated_ms;
} msg_position;

typedef struct msg_position_list {
    int64_t ts_ms;
    size_t n;
    msg_position v[MSG_MAX_ITEMS];
    char next_cursor[MSG_CURSOR_MAX + 1];
} msg_position_list;

typedef struct msg_coin {
    char coin[MSG_WORD_MAX + 1]; /* required */
    double wallet_balance, equity, unrealised_pnl, cum_realised_pnl;
} msg_coin;

/* A wallet (account). Required: accountType. */
typedef struct msg_wallet {
    char account_type[MSG_WORD_MAX + 1];
    double total_equity, total_wallet_balance, total_available_balance;
    size_t ncoins;
    msg_coin coins[MSG_MAX_COINS];
} msg_wallet;

typedef struct msg_wallet_list {
    int64_t ts_ms;
    size_t n;
    msg_wallet v[MSG_MAX_WALLETS];
} msg_wallet_list;

/* Private topic messages {"id","topic","creationTime","data":[items]}: the topic must be the
 * parser's ("order", "execution", "position", "wallet", or one of them + ".suffix"); "data"
 * is required. */
int msg_ws_orders(const char *buf, size_t len, msg_order_list *out);
int msg_ws_executions(const char *buf, size_t len, msg_exec_list *out);
int msg_ws_positions(const char *buf, size_t len, msg_position_list *out);
int msg_ws_wallets(const char *buf, size_t len, msg_wallet_list *out);

/* ------------------------------------------------------------------ REST */

/* {"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":ms}: retCode required. */
typedef struct msg_envelope {
    int64_t ret_code;
    char ret_msg[MSG_TEXT_MAX + 1];
    int ret_msg_truncated;
    int64_t time_ms; /* 0 when absent */
} msg_envelope;

/* The envelope alone. */
int msg_rest_envelope(const char *buf, size_t len, msg_envelope *env);

/* Each parser below fills *env and, when env->ret_code is 0, *out from "result" (required
 * then); with another retCode *out is left empty (zero counts, "" strings) and 0 is
 * returned: the retCode is the answer. */

typedef struct msg_server_time {
    int64_t sec;  /* "timeSecond", required */
    int64_t nano; /* "timeNano" */
} msg_server_time;
int msg_rest_time(const char *buf, size_t len, msg_envelope *env, msg_server_time *out);

typedef struct msg_instrument {
    char symbol[MSG_SYMBOL_MAX + 1];    /* required */
    char status[MSG_WORD_MAX + 1];      /* "Trading", "PreLaunch", "Settling" ... */
    int trading;                        /* status == "Trading" */
    int64_t tick, min_px, max_px;       /* priceFilter, fixed point; tickSize required */
    int64_t qty_step, min_qty, max_qty; /* lotSizeFilter; qtyStep and minOrderQty required */
    int64_t min_notional;               /* lotSizeFilter.minNotionalValue (0 when absent) */
} msg_instrument;

typedef struct msg_instrument_list {
    size_t n;
    msg_instrument v[MSG_MAX_ITEMS];
    char next_cursor[MSG_CURSOR_MAX + 1];
} msg_instrument_list;
int msg_rest_instruments(const char *buf, size_t len, msg_envelope *env, msg_instrument_list *out);

/* The ids of create, amend and cancel (and of cancel-all's and batch's items). orderId is
 * required in create/amend/cancel replies; either may be "" in list items. */
typedef struct msg_ids {
    char order_id[MSG_ORDER_ID_MAX + 1];
    char link_id[MSG_LINK_ID_MAX + 1];
} msg_ids;
int msg_rest_order_ids(const char *buf, size_t len, msg_envelope *env, msg_ids *out);

typedef struct msg_id_list {
    size_t n;
    msg_ids v[MSG_MAX_IDS];
} msg_id_list;
/* POST /v5/order/cancel-all: result.list required. */
int msg_rest_cancel_all(const char *buf, size_t len, msg_envelope *env, msg_id_list *out);

typedef struct msg_batch_item {
    msg_ids ids;
    int64_t code; /* retExtInfo.list[i].code: 0 placed, else Bybit's retCode for this item */
    char msg[MSG_TEXT_MAX + 1];
    int msg_truncated;
} msg_batch_item;

typedef struct msg_batch {
    size_t n;
    msg_batch_item v[MSG_MAX_BATCH];
} msg_batch;
/* POST /v5/order/create-batch: result.list and retExtInfo.list (same length) required. */
int msg_rest_batch(const char *buf, size_t len, msg_envelope *env, msg_batch *out);

/* GET /v5/order/realtime: result.list required, nextPageCursor optional. */
int msg_rest_orders(const char *buf, size_t len, msg_envelope *env, msg_order_list *out);
/* GET /v5/position/list: result.list required. */
int msg_rest_positions(const char *buf, size_t len, msg_envelope *env, msg_position_list *out);
/* GET /v5/account/wallet-balance: result.list required. */
int msg_rest_wallet(const char *buf, size_t len, msg_envelope *env, msg_wallet_list *out);

/* Rate-limit headers of a signed reply. */
typedef struct msg_ratelimit {
    int has_limit, has_status, has_reset;
    int64_t limit;    /* X-Bapi-Limit: requests per window of this endpoint */
    int64_t status;   /* X-Bapi-Limit-Status: requests left in the window */
    int64_t reset_ms; /* X-Bapi-Limit-Reset-Timestamp: when the window resets (Unix ms) */
} msg_ratelimit;

/* One header line as libcurl's header callback gives it ("X-Bapi-Limit-Status: 9\r\n"; the name
 * in any case, spaces around the value, CR/LF optional). 0 when it is one of the three and was
 * stored in *rl; ERR_NOENT for any other line (left alone); ERR_PARSE when the value of one of
 * ours is not a non-negative integer; ERR_RANGE when it overflows int64. */
int msg_rate_header(const char *line, size_t len, msg_ratelimit *rl);

/* Whether an order is open on the exchange: New or PartiallyFilled. */
int msg_order_open(const msg_order *m);
/* The server's clock in Unix ms: timeNano when given, else timeSecond. */
int64_t msg_server_time_ms(const msg_server_time *t);

/* Names for logs and tests; never NULL. */
const char *msg_kind_name(msg_kind k);

#endif
