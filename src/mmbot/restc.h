/*
 * restc: mmbot's REST client for the Bybit v5 API: libcurl multi driven by the caller's libuv
 * loop (curl_multi_socket_action with a uv_poll per socket and one uv_timer), a bounded pool
 * with keep-alive and a shared DNS cache, signed requests, pacing from the rate-limit headers
 * before the exchange answers 10006, and a classification of every reply that tells the
 * caller what to do next (see docs/mmbot-io.md, "restc", for the table).
 *
 * Pool: CURLMOPT_MAX_TOTAL_CONNECTIONS = cfg.limit, CURLMOPT_MAX_HOST_CONNECTIONS =
 * cfg.limit_per_host; requests past them wait inside curl for a free connection. TLS is always
 * verified for https URLs (peer and host name); there is no switch to turn it off.
 *
 * Pacing: signed requests are paced per endpoint (path) from X-Bapi-Limit,
 * X-Bapi-Limit-Status and X-Bapi-Limit-Reset-Timestamp. Until an endpoint has answered once,
 * one request of it is in flight at a time. After that a request leaves only while two bounds
 * allow it: the remaining budget of the freshest reply, less what is in flight and sent since,
 * stays above cfg.pace_reserve (past the reset time the budget is taken to come back linearly
 * over cfg.rate_window_ms, as a sliding-window counter does); and our own sends in the last
 * rolling window stay below the limit less the reserve. Held requests wait in one bounded
 * queue and leave, in order, as soon as their endpoint allows (their signature and timestamp
 * are made when they leave, so a held request never goes out stale). Unsigned (public)
 * requests are not paced. Against bybit-sim (10/s) 30 creates at once complete in 4-6 s with
 * no 10006.
 *
 * Callbacks: every accepted request gets exactly one callback, always from the loop (never
 * from inside restc_get/restc_post), also when it is cancelled by restc_close. The callback
 * may submit new requests and may call restc_close.
 *
 * Secrets: the API secret is copied into memory owned by restc, used only to sign, wiped on
 * free, and never written to a log, a message, a metric or a result.
 *
 * Threads: one; every function and every callback runs on the loop's thread.
 */
#ifndef RESTC_H
#define RESTC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sbuf.h"

#define RESTC_MAX_ENDPOINTS 32     /* paced endpoints (distinct signed paths) */
#define RESTC_MAX_URL       8192   /* base URL + path + query */
#define RESTC_RING          128    /* own sends remembered per endpoint (rolling count) */
#define RESTC_MAX_KEY       127    /* API key and secret length */
#define RESTC_BAN_MIN_MS    600000 /* an HTTP 403 stops every request for at least 10 minutes */
#define RESTC_LAT_BUCKETS   14     /* latency_ms{stage="rest"} buckets, +Inf included */

typedef struct restc_config {
    const char *base_url;        /* "http://127.0.0.1:PORT", "https://api.bybit.com"; copied */
    const char *api_key;         /* copied; NULL or "" for public requests only */
    const char *api_secret;      /* copied, wiped on free */
    const char *ca_file;         /* NULL: the system's CA store (https only) */
    unsigned recv_window_ms;     /* X-BAPI-RECV-WINDOW; default 5000 */
    unsigned limit;              /* connection_pool.limit; default 100 */
    unsigned limit_per_host;     /* connection_pool.limit_per_host; default 30 */
    unsigned request_timeout_ms; /* connection_pool.request_timeout, whole transfer; 10000 */
    size_t max_body;             /* reply body cap; past it the result is ERR_FULL; 1 MiB */
    unsigned max_queue;          /* requests accepted and not yet answered; default 1024 */
    unsigned pace_reserve;       /* budget units left unused per endpoint; default 1 */
    unsigned rate_window_ms;     /* the exchange's rolling window; default 1000 */
    unsigned pace_guard_ms;      /* extra wait past a reset time (clock error); default 10 */
    unsigned retry_max;          /* retries of a RESTC_RETRY request; default 3 */
    unsigned retry_base_ms;      /* first retry delay (then doubling, with jitter); 200 */
    unsigned retry_cap_ms;       /* retry delay cap; default 5000 */
    uint64_t seed;               /* jitter of the retry delays; 0: from the clock */
} restc_config;

/* Fills c with the defaults above (pointers NULL). restc_new also reads a zero field as its
 * default, except pace_reserve, pace_guard_ms and retry_max, where 0 means 0. */
void restc_config_default(restc_config *c);

/* What the caller should do with a reply (docs/mmbot-io.md has the full table). */
#define RESTC_CLASSES(X)                                                                           \
    X(RESTC_OK, "ok")               /* retCode 0: done */                                          \
    X(RESTC_RETRYABLE, "retryable") /* nothing happened (or a read): send it again later */        \
    X(RESTC_AMBIGUOUS, "ambiguous") /* a change may have landed: query, never resend blindly */    \
    X(RESTC_BAN, "ban")             /* HTTP 403: every request stops until ban_until_ms */         \
    X(RESTC_FATAL, "fatal")         /* 10002 clock, 10003 key, 10004 signature: stop, fix */       \
    X(RESTC_REJECTED, "rejected")   /* an answer that sending again will not change */

typedef enum restc_class {
#define RESTC_CLASS_ENUM(e, s) e,
    RESTC_CLASSES(RESTC_CLASS_ENUM)
#undef RESTC_CLASS_ENUM
        RESTC__CLASSES
} restc_class;

/* The name of a class ("ambiguous"); static, never NULL. */
const char *restc_class_name(restc_class c);

/* Request flags. */
#define RESTC_SIGNED  1u /* add the X-BAPI-* headers; paced per endpoint */
#define RESTC_MUTATES 2u /* create/amend/cancel: a failure after the request left is ambiguous */
#define RESTC_RETRY   4u /* retry retryable outcomes with backoff (never ambiguous ones) */

/* The outcome of one request, valid during the callback only (copy what you keep). */
typedef struct restc_result {
    uint64_t id;            /* as returned by restc_get/restc_post */
    restc_class cls;        /* what to do */
    int err;                /* 0, or ERR_TIMEOUT, ERR_IO (transport), ERR_FULL (body over the cap),
                             ERR_PARSE (HTTP 200 without an envelope), ERR_BUSY (banned: not
                             sent), ERR_BADSTATE (cancelled by restc_close) */
    int curl_code;          /* CURLcode of the transfer (0 when it completed) */
    int sent;               /* 1 when the request may have reached the exchange */
    long http_status;       /* 0 when there was no reply */
    long ret_code;          /* the envelope's retCode; -1 when there was none */
    const char *body;       /* the reply body, NUL-terminated ("" when none) */
    size_t body_len;        /* at most cfg.max_body */
    long limit;             /* X-Bapi-Limit, -1 when absent */
    long limit_status;      /* X-Bapi-Limit-Status, -1 when absent */
    int64_t limit_reset_ms; /* X-Bapi-Limit-Reset-Timestamp, -1 when absent */
    double elapsed_ms;      /* the last attempt, from leaving the queue to its end */
    unsigned attempts;      /* 1 + retries */
    int64_t ban_until_ms;   /* for RESTC_BAN: wall-clock ms until which nothing is sent */
} restc_result;

typedef void (*restc_cb)(void *ud, const restc_result *res);

/* Counters and gauges (all since restc_new). */
typedef struct restc_stats {
    unsigned waiting;       /* http_pool_requests_waiting: held + waiting for a connection */
    unsigned waiting_max;   /* its high-water mark */
    unsigned pending;       /* accepted and not yet answered (cap cfg.max_queue) */
    unsigned pending_max;   /* its high-water mark */
    unsigned in_flight;     /* handed to curl */
    unsigned in_flight_max; /* its high-water mark */
    uint64_t by_class[RESTC__CLASSES];
    uint64_t retries;
    uint64_t refused_full;                   /* submits refused with ERR_FULL */
    uint64_t lat_buckets[RESTC_LAT_BUCKETS]; /* cumulative counts per bucket, as Prometheus */
    uint64_t lat_count;
    double lat_sum_ms;
} restc_stats;

/* Upper bounds (ms) of the latency buckets; the last is +Inf. */
extern const double restc_lat_bounds[RESTC_LAT_BUCKETS];

typedef struct restc restc;

/* A client on loop. cfg is copied (strings too). NULL with a message in err on failure (bad
 * URL, key or secret too long, curl cannot start); the message never holds the secret. */
restc *restc_new(uv_loop_t *loop, const restc_config *cfg, char *err, size_t errlen);

/* Server time minus local time in ms, as the caller measured it from /v5/market/time; added
 * to every X-BAPI-TIMESTAMP and used to read reset timestamps. Default 0. */
void restc_set_clock_offset(restc *r, int64_t offset_ms);

/* Submits GET base_url + path [+ "?" + query] (query as sent and signed; may be NULL) or POST
 * base_url + path with a JSON body (copied). On 0, *id (may be NULL) is set and cb will run
 * exactly once. Fails without a callback: ERR_INVAL (bad path, RESTC_SIGNED without a key),
 * ERR_RANGE (URL too long), ERR_FULL (cfg.max_queue requests pending), ERR_BADSTATE (closing),
 * ERR_NOMEM. */
int restc_get(restc *r, const char *path, const char *query, unsigned flags, restc_cb cb, void *ud,
              uint64_t *id);
int restc_post(restc *r, const char *path, const char *json, unsigned flags, restc_cb cb, void *ud,
               uint64_t *id);

/* Whether an HTTP 403 ban is on at now_ms (wall clock): 1 with *until_ms and a reason such as
 * "http 403 on /v5/order/create: access too frequent" (for /health), else 0. until/reason may
 * be NULL. */
int restc_banned(const restc *r, int64_t now_ms, int64_t *until_ms, char *reason, size_t n);

/* A copy of the counters. */
void restc_get_stats(const restc *r, restc_stats *st);

/* Appends Prometheus text: the latency_ms{stage="rest"} histogram samples (with its HELP/TYPE
 * lines when latency_header, so that another module can add stages to the same family),
 * http_pool_requests_waiting, its high-water mark and per-class counters. 0, or ERR_FULL
 * (lib/errcode.h) when b is full or cannot grow. */
int restc_metrics(const restc *r, sbuf *b, int latency_header);

/* The pure classification (exposed for tests): transport_err is 0 or an ERR_* code of the
 * transfer, sent whether the request may have left, mutates RESTC_MUTATES. */
restc_class restc_classify(int transport_err, int sent, long http_status, long ret_code,
                           int mutates);

/* Cancels everything (each pending request gets its callback with ERR_BADSTATE, before this
 * returns), then closes the handles asynchronously and frees r once they are closed: the loop
 * must run on. Safe from inside a callback. Accepts NULL. */
void restc_close(restc *r);

#endif
