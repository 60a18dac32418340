/*
 * sim: the simulator as a whole, without sockets: the exchange, the faults, the REST layer,
 * the WebSocket connections and their topics, the /sim/... endpoints and /metrics.
 *
 * The server (main.c) owns the sockets and the clock: it hands in HTTP requests (sim_http),
 * WebSocket opens, messages and closes (sim_ws_*), and calls sim_tick every book interval.
 * Output to WebSocket clients goes through the sim_io callbacks, with the server's handle of
 * the connection. The unit tests and fuzz targets drive it the same way with fake I/O.
 *
 * WebSocket paths: /v5/public/linear (orderbook.{1,50,200,500}.SYMBOL, publicTrade.SYMBOL),
 * /v5/private (auth, order, execution, position, wallet, dcp.future), /v5/trade (auth,
 * order.create, order.amend, order.cancel). Other paths are refused.
 *
 * Limits: at most cfg.ws_max_conns connections (more are refused), cfg.ws_max_topics topics
 * per connection, cfg.ws_max_queue bytes queued for a slow client (past it the connection is
 * closed with 1008 and counted), REST_MAX_REPLY per HTTP reply, SIM_MAX_REQIDS remembered
 * reqIds per /v5/trade connection.
 *
 * Threads: one.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "faults.h"
#include "rest.h"

#define SIM_MAX_REQIDS 256

typedef struct sim_config {
    exch_opts market;           /* callbacks are set by sim */
    unsigned order_limit_per_s; /* per account and endpoint */
    unsigned query_limit_per_s;
    unsigned ip_limit_per_5s; /* 0: off */
    int64_t ip_ban_ms;
    int64_t ws_idle_ms; /* public idle disconnect; private default when no max_active_time */
    unsigned ws_max_conns;
    unsigned ws_max_topics;
    size_t ws_max_queue;
} sim_config;

/* What the server does for sim on a connection h (its own handle). */
typedef struct sim_io {
    /* queue a text message; nonzero when it cannot (queue full, closing) */
    int (*send)(void *h, const char *msg, size_t len);
    /* bytes queued and not yet written */
    size_t (*queued)(void *h);
    void (*close)(void *h, int code, const char *reason);
    void (*reset)(void *h);
} sim_io;

typedef struct sim sim;
typedef struct sim_conn sim_conn;

/* A simulator over faults f (borrowed; may be NULL). cfg and io are copied. NULL with a
 * message in err on failure. */
sim *sim_new(const sim_config *cfg, faults *f, const sim_io *io, int64_t now_ms, char *err,
             size_t errlen);
/* Frees everything; the connections must have been closed (sim_ws_close) before. Accepts NULL. */
void sim_free(sim *s);
/* An account (see exch_account_add). */
int sim_add_account(sim *s, const char *key, const char *secret, double usdt);

/* The market moves, feeds go out, idle and faulted connections are dropped. */
void sim_tick(sim *s, int64_t now_ms);

/* One HTTP request: /sim/..., /metrics, /health, or the Bybit REST API (rest_handle). */
void sim_http(sim *s, const rest_in *in, int64_t now_ms, rest_out *out);

/* A WebSocket upgrade on path; NULL when refused (unknown path, maintenance, too many). */
sim_conn *sim_ws_open(sim *s, void *h, const char *path, const char *query, int64_t now_ms);
void sim_ws_message(sim *s, sim_conn *c, const char *msg, size_t len, int64_t now_ms);
/* The connection is gone (whoever closed it); c is freed. */
void sim_ws_close(sim *s, sim_conn *c, int64_t now_ms);

/* The exchange, for tests. */
exch *sim_exchange(sim *s);

#endif
