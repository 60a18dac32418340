/*
 * rest: the Bybit v5 REST endpoints of bybit-sim (../shared/bybit-v5.md), as a function from a
 * request to a reply, without any I/O: the server hands requests in and sends what comes out,
 * the fuzz target and the unit tests call it directly.
 *
 * What it does per request, in Bybit's order: IP limit and ban (HTTP 403 "access too
 * frequent"); the faults that hit REST (maintenance, 403 ban, 429, 5xx, retCode 10006/10016,
 * latency, clock skew); routing (unknown path: HTTP 404; wrong method: HTTP 405); for signed
 * endpoints the API key (10003), the timestamp against recv_window (10002) and the signature
 * (10004), then the per-account, per-endpoint rolling limit (10006) with the X-Bapi-Limit*
 * headers on every signed reply; then the endpoint over the exchange. Every reply that gets
 * that far is HTTP 200 with Bybit's envelope {"retCode","retMsg","result","retExtInfo","time"}.
 *
 * Secrets: the secret of an account is only used to compute the expected signature; no reply
 * or counter contains it.
 */
#ifndef REST_H
#define REST_H

#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "faults.h"
#include "ratelimit.h"
#include "sbuf.h"

#define REST_MAX_BANS  64
#define REST_MAX_REPLY (4u * 1024 * 1024)

typedef struct rest_ctx {
    exch *x;                    /* borrowed */
    faults *f;                  /* borrowed; NULL: no faults */
    ratelimit *limits;          /* per account + endpoint, 1 s; owned by the caller */
    ratelimit *iplimits;        /* per IP, 5 s; owned by the caller (may be NULL: no IP limit) */
    unsigned order_limit_per_s; /* create, amend, cancel, cancel-all, create-batch */
    unsigned query_limit_per_s; /* the signed GET endpoints */
    unsigned ip_limit_per_5s;   /* 0: off */
    int64_t ip_ban_ms;
    struct {
        char ip[48];
        int64_t until_ms;
    } bans[REST_MAX_BANS];
    /* counters, for /sim/stats and /metrics */
    uint64_t requests, signed_ok, sig_errors, limited, faulted, not_found;
} rest_ctx;

typedef struct rest_in {
    const char *method, *path, *query; /* query without '?', "" when none */
    const char *body;                  /* may be NULL when body_len is 0 */
    size_t body_len;
    const char *peer; /* client IP */
    /* the X-BAPI-* headers, NULL when absent */
    const char *api_key, *timestamp, *sign, *recv_window;
} rest_in;

typedef struct rest_out {
    int status;   /* HTTP status */
    sbuf body;    /* the reply body (JSON), capped at REST_MAX_REPLY */
    sbuf headers; /* extra header lines "Name: value\r\n" */
    int delay_ms; /* answer this much later (the rest_latency fault) */
} rest_out;

/* Sets up out (empty buffers); release with rest_out_free. */
void rest_out_init(rest_out *out);
void rest_out_free(rest_out *out);

/* Handles one request at now_ms (the true clock; clock skew is applied inside). Always fills
 * out (status and body), also for garbage input. */
/* 1 when the JSON text (n bytes) holds a NUL: a raw zero byte, or a \u0000 escape inside a
 * string (which cJSON would keep as a C string cut short); 0 otherwise. Pure. */
int rest_json_nul(const char *s, size_t n);
/* The value of s when it is 1..maxd (at most 18) decimal digits and nothing else (no sign, no
 * blank); -1 otherwise, NULL included. For timestamps and windows: no overflow, no clamping. */
long long rest_digits(const char *s, int maxd);
/* The largest X-BAPI-RECV-WINDOW accepted, in ms (a larger one is 10001). */
#define REST_RECV_WINDOW_MAX 60000
void rest_handle(rest_ctx *c, const rest_in *in, int64_t now_ms, rest_out *out);

/* The server clock as clients see it: now_ms plus an active clock_skew fault. */
int64_t rest_server_time(const rest_ctx *c, int64_t now_ms);

/* The fields of an order create (a REST body, a create-batch item, a /v5/trade arg) into r;
 * its strings point into bufs. 0, or 10001 with Bybit's message in msg. */
int rest_order_req(const cJSON *o, exch_order_req *r, char bufs[7][64], char *msg, size_t msglen);

/* Writes the Bybit envelope into out->body (result and ext are consumed; NULL gives {}). */
void rest_envelope(rest_out *out, int ret_code, const char *ret_msg, cJSON *result, cJSON *ext,
                   int64_t time_ms);

#endif
