/*
 * endpoints: soak's own HTTP endpoints, served on the loop (loopback by default):
 *   GET /metrics  Prometheus text format, soak_* names in base units
 *   GET /health   JSON: state, pid, uptime, restarts, crashes, heartbeat age
 * and, once endpoints_live was called, the live view (liveapi.h: the page at / and /api/...).
 * With a credential (endpoints_live's cred) every path asks for basic auth (401 otherwise);
 * the credential itself is never sent back.
 */
#ifndef SOAK_ENDPOINTS_H
#define SOAK_ENDPOINTS_H

#include <stddef.h>
#include <uv.h>

#include "opts.h"
#include "runstate.h"
#include "sbuf.h"

typedef struct endpoints endpoints;

/* Listens on addr; the state is borrowed and must outlive the server. Returns 0 with the
 * server in *out, or with *out = NULL and a message in err: ERR_ADDR when addr is malformed
 * (a usage error), ERR_BUSY when it cannot be listened on (a port in use), ERR_NOMEM. */
int endpoints_start(uv_loop_t *loop, const char *addr, const runstate *rs, endpoints **out,
                    char *err, size_t errlen);
void endpoints_stop(endpoints *ep);

/* Adds the live view (liveapi.h) over the run folder dir with the run's options o (borrowed,
 * must outlive ep) and, when cred is not NULL or "", basic auth with cred ("user:password",
 * copied). Call before the loop runs. Returns 0, or ERR_NOMEM / ERR_INVAL (cred too long, or
 * without ':') with a message in err. */
int endpoints_live(endpoints *ep, const char *dir, const opts *o, const char *cred, char *err,
                   size_t errlen);
/* The port listened on (useful with port 0); -1 for NULL. */
int endpoints_port(const endpoints *ep);
/* 1 when addr ("ip:port") listens on loopback only (127.0.0.0/8, ::1, or ":port"), else 0. */
int endpoints_addr_is_loopback(const char *addr);
/* The basic-auth credential for --listen: the first line of file (when file is not ""), else
 * env_value (SOAK_LISTEN_AUTH; NULL when unset), copied into out. Returns 1 with a credential,
 * 0 when there is none, or ERR_IO (file unreadable) / ERR_INVAL (no ':', or longer than n - 1)
 * with a message in err that never contains the credential. */
int endpoints_read_cred(const char *file, const char *env_value, char *out, size_t n, char *err,
                        size_t errlen);

/* The bodies, exposed for tests. */
int endpoints_metrics(const runstate *rs, uint64_t now_ms, sbuf *out);
int endpoints_health(const runstate *rs, uint64_t now_ms, sbuf *out);

#endif
