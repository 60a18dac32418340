/*
 * endpoints: soak's own HTTP endpoints, served on the loop (loopback by default):
 *   GET /metrics  Prometheus text format, soak_* names in base units
 *   GET /health   JSON: state, pid, uptime, restarts, crashes, heartbeat age
 */
#ifndef SOAK_ENDPOINTS_H
#define SOAK_ENDPOINTS_H

#include <stddef.h>
#include <uv.h>

#include "runstate.h"
#include "sbuf.h"

typedef struct endpoints endpoints;

/* Listens on addr; the state is borrowed and must outlive the server. Returns 0 with the
 * server in *out, or with *out = NULL and a message in err: ERR_ADDR when addr is malformed
 * (a usage error), ERR_BUSY when it cannot be listened on (a port in use), ERR_NOMEM. */
int endpoints_start(uv_loop_t *loop, const char *addr, const runstate *rs, endpoints **out,
                    char *err, size_t errlen);
void endpoints_stop(endpoints *ep);

/* The bodies, exposed for tests. */
int endpoints_metrics(const runstate *rs, uint64_t now_ms, sbuf *out);
int endpoints_health(const runstate *rs, uint64_t now_ms, sbuf *out);

#endif
