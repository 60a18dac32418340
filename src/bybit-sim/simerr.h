/*
 * simerr: every error text bybit-sim sends, defined once.
 *
 * Three X-macro lists, each expanded into an enum and a table, so that a code and its text
 * cannot drift apart and no other file spells a retMsg:
 *   - SIMRC_LIST: the Bybit retCodes the simulator answers with (0 = OK);
 *   - SIMERR_LIST: every retMsg, each with its retCode (several texts share 10001, as Bybit's
 *     do). Texts are Bybit's wording where known ("API key is invalid.", "Qty invalid") and
 *     keep their case and full stops: clients and the npm SDK compare them;
 *   - SIMWS_LIST: the ret_msg of a refused WebSocket op (auth, subscribe, ...), which has no
 *     retCode;
 *   - SIMHTTP_LIST: the replies outside the v5 envelope (a proxy's or gateway's answer, a
 *     /sim/ control endpoint's error), each with its HTTP status and body form.
 * A few texts take details after them (marked "+ detail" below); the caller appends those.
 *
 * Decisions are made on the enums, never on a text. Header and table only; no state, safe
 * from any thread.
 */
#ifndef SIMERR_H
#define SIMERR_H

#include <stddef.h>

/* X(NAME, retCode) */
#define SIMRC_LIST(X)                                                                              \
    X(SIMRC_OK, 0)                                                                                 \
    X(SIMRC_PARAM, 10001)                                                                          \
    X(SIMRC_TIMESTAMP, 10002)                                                                      \
    X(SIMRC_KEY, 10003)                                                                            \
    X(SIMRC_SIGN, 10004)                                                                           \
    X(SIMRC_RATE, 10006)                                                                           \
    X(SIMRC_INTERNAL, 10016)                                                                       \
    X(SIMRC_DUP_REQID, 20006)                                                                      \
    X(SIMRC_NO_ORDER, 110001)                                                                      \
    X(SIMRC_BALANCE, 110007)                                                                       \
    X(SIMRC_FINISHED, 110008)                                                                      \
    X(SIMRC_REDUCE_ONLY, 110017)                                                                   \
    X(SIMRC_TOO_MANY, 110020)                                                                      \
    X(SIMRC_MIN_VALUE, 110094)

enum {
#define SIMRC_ENUM(name, num) name = num,
    SIMRC_LIST(SIMRC_ENUM)
#undef SIMRC_ENUM
};

/* X(NAME, retCode name, retMsg) */
#define SIMERR_LIST(X)                                                                             \
    X(SIMERR_OK, SIMRC_OK, "OK")                                                                   \
    /* 10001: parameters */                                                                        \
    X(SIMERR_PARAMS, SIMRC_PARAM, "params error")                                                  \
    X(SIMERR_SYMBOL, SIMRC_PARAM, "params error: symbol invalid")                                  \
    X(SIMERR_SIDE, SIMRC_PARAM, "params error: side invalid")                                      \
    X(SIMERR_ORDER_TYPE, SIMRC_PARAM, "params error: orderType invalid")                           \
    X(SIMERR_QTY_MISSING, SIMRC_PARAM, "params error: qty invalid")                                \
    X(SIMERR_PRICE_MISSING, SIMRC_PARAM, "params error: price invalid")                            \
    X(SIMERR_TIF, SIMRC_PARAM, "params error: timeInForce invalid")                                \
    X(SIMERR_ENUMS, SIMRC_PARAM, "params error: side, orderType or timeInForce")                   \
    X(SIMERR_LINK_INVALID, SIMRC_PARAM, "params error: orderLinkId invalid")                       \
    X(SIMERR_IDS_MISSING, SIMRC_PARAM, "params error: orderId or orderLinkId is required")         \
    X(SIMERR_IDS_REQUIRED, SIMRC_PARAM, "orderId or orderLinkId is required")                      \
    X(SIMERR_LIMIT, SIMRC_PARAM, "params error: limit invalid")                                    \
    X(SIMERR_LIMIT_ORDERS, SIMRC_PARAM, "params error: limit must be 1..50")                       \
    X(SIMERR_LIMIT_BOOK, SIMRC_PARAM, "params error: limit must be 1..200")                        \
    X(SIMERR_CURSOR, SIMRC_PARAM, "params error: cursor invalid")                                  \
    X(SIMERR_OPEN_ONLY, SIMRC_PARAM, "params error: openOnly invalid")                             \
    X(SIMERR_CATEGORY, SIMRC_PARAM, "category only support linear")                                \
    X(SIMERR_CATEGORY_EMPTY, SIMRC_PARAM, "params error: category is empty")                       \
    X(SIMERR_BATCH_SIZE, SIMRC_PARAM, "params error: request must hold 1 to 10 orders")            \
    X(SIMERR_BATCH_ITEM, SIMRC_PARAM, "params error: order must be an object")                     \
    X(SIMERR_SYMBOL_OR_SETTLE, SIMRC_PARAM, "params error: symbol or settleCoin is required")      \
    X(SIMERR_ACCOUNT_TYPE, SIMRC_PARAM, "accountType only support UNIFIED")                        \
    X(SIMERR_PRODUCT, SIMRC_PARAM, "params error: product invalid")                                \
    X(SIMERR_WINDOW, SIMRC_PARAM, "params error: timeWindow invalid")                              \
    X(SIMERR_WINDOW_RANGE, SIMRC_PARAM, "params error: timeWindow must be 3..300")                 \
    X(SIMERR_BODY, SIMRC_PARAM, "params error: request body is not a JSON object")                 \
    X(SIMERR_WS_ARGS, SIMRC_PARAM, "params error: args must hold one order")                       \
    X(SIMERR_WS_OP, SIMRC_PARAM, "Invalid op:") /* + detail: " op" */                              \
    X(SIMERR_WS_NOT_JSON, SIMRC_PARAM, "Invalid request: not a JSON object with op")               \
    X(SIMERR_METHOD, SIMRC_PARAM, "method not allowed")                                            \
    X(SIMERR_PATH, SIMRC_PARAM, "path not found")                                                  \
    X(SIMERR_QTY, SIMRC_PARAM, "Qty invalid")                                                      \
    X(SIMERR_QTY_MAX, SIMRC_PARAM, "The number of contracts exceeds maximum limit allowed")        \
    X(SIMERR_QTY_MIN, SIMRC_PARAM, "The number of contracts exceeds minimum limit allowed")        \
    X(SIMERR_PRICE, SIMRC_PARAM, "Price invalid")                                                  \
    X(SIMERR_PRICE_DECIMALS, SIMRC_PARAM, "Order price has too many decimals.")                    \
    X(SIMERR_PRICE_RANGE, SIMRC_PARAM, "Order price is out of permissible range")                  \
    X(SIMERR_PRICE_REQUIRED, SIMRC_PARAM,                                                          \
      "Missing some parameters that must be filled in, symbol or price")                           \
    X(SIMERR_LINK_DUP, SIMRC_PARAM, "OrderLinkedID is duplicate")                                  \
    X(SIMERR_UNCHANGED, SIMRC_PARAM,                                                               \
      "The order remains unchanged as the parameters entered match the existing ones.")            \
    X(SIMERR_NUL, SIMRC_PARAM, "params error: a string holds a NUL character (\\u0000)")           \
    X(SIMERR_RECV_WINDOW, SIMRC_PARAM, "params error: recv_window must be 1..60000 ms")            \
    /* 10002..10006: the request itself */                                                         \
    X(SIMERR_TIMESTAMP, SIMRC_TIMESTAMP,                                                           \
      "invalid request, please check your timestamp and recv_window param")                        \
    X(SIMERR_TIMESTAMP_WINDOW, SIMRC_TIMESTAMP,                                                    \
      "invalid request, please check your server timestamp or recv_window param.")                 \
    /* + detail: " req_timestamp[..],server_timestamp[..],recv_window[..]" */                      \
    X(SIMERR_WS_TIMESTAMP, SIMRC_TIMESTAMP, "invalid request, please check your timestamp")        \
    X(SIMERR_KEY, SIMRC_KEY, "API key is invalid.")                                                \
    X(SIMERR_NOT_AUTHORIZED, SIMRC_KEY, "Request not authorized")                                  \
    X(SIMERR_SIGN, SIMRC_SIGN, "error sign! please check your signature")                          \
    X(SIMERR_RATE, SIMRC_RATE, "Too many visits. Exceeded the API Rate Limit.")                    \
    /* 10016: the server */                                                                        \
    X(SIMERR_INTERNAL, SIMRC_INTERNAL, "Internal error.")                                          \
    X(SIMERR_SYSTEM, SIMRC_INTERNAL, "Internal System Error.")                                     \
    X(SIMERR_MAINTENANCE, SIMRC_INTERNAL, "System is under maintenance, please try again later.")  \
    X(SIMERR_UNAVAILABLE, SIMRC_INTERNAL, "Service Unavailable")                                   \
    X(SIMERR_TOO_LARGE, SIMRC_INTERNAL, "reply too large")                                         \
    /* the trade WebSocket */                                                                      \
    X(SIMERR_DUP_REQID, SIMRC_DUP_REQID, "reqId is duplicated")                                    \
    /* 110xxx: orders */                                                                           \
    X(SIMERR_NO_ORDER, SIMRC_NO_ORDER, "Order does not exist.")                                    \
    X(SIMERR_BALANCE, SIMRC_BALANCE, "ab not enough for new order")                                \
    X(SIMERR_FINISHED, SIMRC_FINISHED, "Order has been filled or canceled")                        \
    X(SIMERR_REDUCE_ONLY, SIMRC_REDUCE_ONLY,                                                       \
      "current position is zero, cannot fix reduce-only order qty")                                \
    X(SIMERR_TOO_MANY, SIMRC_TOO_MANY, "The number of active orders exceeds the upper limit")      \
    X(SIMERR_MIN_VALUE, SIMRC_MIN_VALUE, "Order does not meet minimum order value 5USDT")

typedef enum simerr {
#define SIMERR_ENUM(name, rc, text) name,
    SIMERR_LIST(SIMERR_ENUM)
#undef SIMERR_ENUM
        SIMERR__COUNT
} simerr;

/* X(NAME, ret_msg) of a refused WebSocket op ({"success":false,"ret_msg":...}) */
#define SIMWS_LIST(X)                                                                              \
    X(SIMWS_REPEAT_AUTH, "Repeat auth")                                                            \
    X(SIMWS_PARAMS, "Params Error")                                                                \
    X(SIMWS_BAD_KEY, "Invalid apikey")                                                             \
    X(SIMWS_EXPIRED, "Request expired")                                                            \
    X(SIMWS_BAD_SIGN, "Invalid sign")                                                              \
    X(SIMWS_NOT_AUTHORIZED, "Request not authorized")                                              \
    X(SIMWS_TOO_MANY_TOPICS, "too many topics on one connection")                                  \
    X(SIMWS_SUBSCRIBED, "error:already subscribed")                                                \
    X(SIMWS_NO_HANDLER, "error:handler not found,topic:") /* + detail: the topic */                \
    X(SIMWS_NOT_JSON, "error:invalid request, not a JSON object with op")                          \
    X(SIMWS_UNKNOWN_OP, "error:unknown op") /* + detail: " op" */

typedef enum simws {
#define SIMWS_ENUM(name, text) name,
    SIMWS_LIST(SIMWS_ENUM)
#undef SIMWS_ENUM
        SIMWS__COUNT
} simws;

/* Body forms of an HTTP reply outside the envelope */
enum {
    SIMHTTP_TEXT,    /* the text, as is */
    SIMHTTP_STATUS,  /* "<status> <text>" ("503 Server Error") */
    SIMHTTP_RETCODE, /* {"retCode":N,"retMsg":"<text>"} of the SIMERR entry */
    SIMHTTP_ERROR,   /* {"error":"<text>"} (the /sim/ control endpoints) */
};

/* X(NAME, default status, form, SIMERR entry (SIMHTTP_RETCODE) or SIMERR_OK, text) */
#define SIMHTTP_LIST(X)                                                                            \
    X(SIMHTTP_BANNED, 403, SIMHTTP_TEXT, SIMERR_OK, "access too frequent")                         \
    X(SIMHTTP_THROTTLED, 429, SIMHTTP_TEXT, SIMERR_OK, "Too Many Requests")                        \
    X(SIMHTTP_SERVER_ERROR, 503, SIMHTTP_STATUS, SIMERR_OK, "Server Error")                        \
    X(SIMHTTP_UNAVAILABLE, 503, SIMHTTP_RETCODE, SIMERR_UNAVAILABLE, "")                           \
    X(SIMHTTP_METHOD, 405, SIMHTTP_RETCODE, SIMERR_METHOD, "")                                     \
    X(SIMHTTP_NOT_FOUND, 404, SIMHTTP_RETCODE, SIMERR_PATH, "")                                    \
    X(SIMHTTP_TOO_LARGE, 200, SIMHTTP_RETCODE, SIMERR_TOO_LARGE, "")                               \
    X(SIMHTTP_CTL_TOO_LARGE, 500, SIMHTTP_ERROR, SIMERR_OK, "reply too large")                     \
    X(SIMHTTP_CTL_NOMEM, 500, SIMHTTP_ERROR, SIMERR_OK, "out of memory")                           \
    X(SIMHTTP_CTL_NO_FAULTS, 404, SIMHTTP_ERROR, SIMERR_OK, "faults are not enabled")              \
    X(SIMHTTP_CTL_NOT_OBJECT, 400, SIMHTTP_ERROR, SIMERR_OK, "body must be a JSON object")         \
    X(SIMHTTP_CTL_BAD_FAULTS, 400, SIMHTTP_ERROR, SIMERR_OK, "") /* the text: faults' reason */    \
    X(SIMHTTP_CTL_GET_POST, 405, SIMHTTP_ERROR, SIMERR_OK, "use GET or POST")                      \
    X(SIMHTTP_CTL_POST, 405, SIMHTTP_ERROR, SIMERR_OK, "use POST")                                 \
    X(SIMHTTP_CTL_UNKNOWN, 404, SIMHTTP_ERROR, SIMERR_OK,                                          \
      "unknown /sim endpoint (orders, stats, faults, reset)")

typedef enum simhttp {
#define SIMHTTP_ENUM(name, status, form, err, text) name,
    SIMHTTP_LIST(SIMHTTP_ENUM)
#undef SIMHTTP_ENUM
        SIMHTTP__COUNT
} simhttp;

/* The retCode of an entry (0 for SIMERR_OK; SIMRC_PARAM for an out-of-range value). */
int simerr_code(simerr e);
/* The retMsg of an entry; never NULL, static storage ("params error" out of range). */
const char *simerr_msg(simerr e);
/* The first entry of a retCode (the generic text: "params error" for 10001), or -1 when the
 * code is not in SIMRC_LIST. */
int simerr_of_code(int code);
/* Whether code is in SIMRC_LIST. */
int simerr_code_known(int code);

/* msg when it is not empty, else the generic text of code (simerr_of_code; "params error" for
 * a code not in the list): what an answer says when a callee left no text. */
const char *simerr_msg_or(int code, const char *msg);

/* Writes the text of e into msg (when msg and msglen) and returns e's retCode: the one line a
 * module writes to answer with an error. */
int simerr_set(char *msg, size_t msglen, simerr e);

/* The ret_msg of a refused WebSocket op; never NULL, static storage. */
const char *simws_msg(simws w);

/* The default status of an HTTP reply, and its body: text (or, for SIMHTTP_RETCODE, the
 * entry's retMsg) in its form, NUL-terminated in buf (cut to buflen - 1, always terminated
 * when buflen > 0). status 0 means the default; it is the number a SIMHTTP_STATUS body shows.
 * detail, when not NULL, replaces an entry's empty text (SIMHTTP_CTL_BAD_FAULTS). Returns the
 * status to send. */
int simhttp_status(simhttp h);
int simhttp_body(simhttp h, int status, const char *detail, char *buf, size_t buflen);

#endif
