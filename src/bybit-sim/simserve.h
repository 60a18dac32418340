/*
 * simserve: a simulator on a socket. The glue between wsrv (HTTP and WebSocket on one port) and
 * sim (the exchange, no I/O): REST requests go to sim_http, and a reply that the rest_latency
 * fault holds back waits on a timer of its own; WebSocket opens, messages and closes go to
 * sim_ws_*; a timer runs sim_tick every tick_ms. bybit-sim's main and the tests that want a
 * real exchange on loopback (mmbot's REST and WebSocket clients) use it the same way.
 *
 * Ownership: the caller creates the sim with simserve_io as its I/O (sim_new(..., &simserve_io,
 * ...)), keeps it, and frees it after simserve_stop has completed (the loop ran dry, or ran
 * until every connection closed). Caps: at most SIMSERVE_MAX_DELAYED held replies; more are
 * answered at once. Threads: one, the loop's.
 */
#ifndef SIMSERVE_H
#define SIMSERVE_H

#include <stdint.h>

#include <uv.h>

#include "sim.h"
#include "wsrv.h"

#define SIMSERVE_MAX_DELAYED 10000

/* The I/O of a sim served by simserve (wsrv_send, wsrv_queued, wsrv_close, wsrv_reset). */
extern const sim_io simserve_io;

typedef struct simserve simserve;

typedef struct simserve_stats {
    uint64_t requests; /* HTTP requests handed to sim_http */
    unsigned held;     /* replies waiting on the latency fault now */
    unsigned held_max; /* their high-water mark */
} simserve_stats;

/* Listens on addr (IP:PORT, port 0: any) with wsrv options wo and starts the market tick
 * (tick_ms 0: no tick, the market stands still).
 * Returns NULL with a message in err (a bad address, a port in use, no memory). */
simserve *simserve_start(uv_loop_t *loop, sim *s, const char *addr, const wsrv_opts *wo,
                         uint64_t tick_ms, char *err, size_t errlen);
/* The port bound. */
int simserve_port(const simserve *v);
/* Serves a connected stream socket as if accepted (wsrv_adopt): for fuzzing. */
int simserve_adopt(simserve *v, int fd);
/* The HTTP bounds on slow and idle clients (wsrv_set_limits). */
void simserve_set_http_limits(simserve *v, unsigned head_timeout_ms, size_t max_conns);
void simserve_stats_get(const simserve *v, simserve_stats *st);
/* Answers every held reply, stops the tick and the server; v is freed once its handles are
 * closed (the loop must run on). Safe twice and with NULL. */
void simserve_stop(simserve *v);

#endif
