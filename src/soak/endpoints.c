/* endpoints: /metrics and /health of a running soak. See endpoints.h. */
#include "endpoints.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "follow.h"
#include "httpd.h"
#include "liveapi.h"
#include "wsrv.h"
#include "promtext.h"

#define EP_CRED_MAX 512

struct endpoints {
    httpd *http;
    const runstate *rs;
    uv_loop_t *loop;
    liveapi *live;          /* NULL until endpoints_live */
    char cred[EP_CRED_MAX]; /* "" : no auth */
};

/* One gauge or counter with no labels. */
static int ep_one(sbuf *b, const char *name, const char *type, const char *help, double v)
{
    int rc = promtext_header(b, name, type, help);
    return rc ? rc : promtext_sample(b, name, NULL, v);
}

int endpoints_metrics(const runstate *rs, uint64_t now_ms, sbuf *b)
{
    const proctree_sample *t = &rs->tree;
    int rc = 0;
    rc |= ep_one(b, "soak_up", "gauge", "1 while the service runs", rs->state == RS_RUNNING);
    rc |= ep_one(b, "soak_uptime_seconds", "gauge", "seconds since soak started",
                 (double)(now_ms - rs->start_ms) / 1000.0);
    rc |= ep_one(b, "soak_resident_memory_bytes", "gauge", "RSS summed over the service tree",
                 (double)t->rss_bytes);
    rc |= ep_one(b, "soak_proportional_memory_bytes", "gauge",
                 "PSS summed over the service tree (last read)", (double)rs->pss_last);
    rc |= ep_one(b, "soak_cpu_seconds_total", "counter", "CPU time used by the service tree",
                 rs->cpu_seconds);
    rc |= ep_one(b, "soak_threads", "gauge", "threads in the service tree", t->threads);
    rc |= ep_one(b, "soak_open_fds", "gauge", "open file descriptors in the service tree", t->fds);
    rc |= ep_one(b, "soak_processes", "gauge", "processes in the service tree", t->nprocs);
    rc |= ep_one(b, "soak_zombies", "gauge", "zombie processes in the service tree", t->zombies);
    rc |= ep_one(b, "soak_restarts_total", "counter", "restarts of the service", rs->restarts);
    rc |= ep_one(b, "soak_crashes_total", "counter", "failed exits and hangs", rs->crashes);
    rc |= ep_one(b, "soak_hangs_total", "counter", "heartbeat timeouts", rs->hangs);
    rc |= promtext_header(b, "soak_log_lines_total", "counter", "log lines by stream");
    const char *out[] = {"stream", "stdout", NULL}, *err[] = {"stream", "stderr", NULL};
    rc |= promtext_sample(b, "soak_log_lines_total", out, (double)rs->log.lines[0]);
    rc |= promtext_sample(b, "soak_log_lines_total", err, (double)rs->log.lines[1]);
    rc |= follow_metrics(rs->follow, b); /* {stream="file:NAME"}: followed log files */
    rc |= ep_one(b, "soak_log_dropped_bytes_total", "counter",
                 "log bytes dropped because the disk could not keep up or the quota was full",
                 (double)rs->log.dropped_bytes);
    rc |= ep_one(b, "soak_log_queue_high_water_bytes", "gauge",
                 "most log bytes ever waiting for the disk", (double)rs->log.queue_high_water);
    rc |= ep_one(b, "soak_log_rotations_total", "counter", "log rotations",
                 (double)rs->log.rotations);
    rc |= promtext_header(b, "soak_pattern_matches_total", "counter",
                          "log lines matching each pattern");
    for (size_t i = 0; rs->pat && i < patterns_count(rs->pat); i++) {
        const char *l[] = {"pattern", patterns_name(rs->pat, i), NULL};
        rc |= promtext_sample(b, "soak_pattern_matches_total", l, (double)rs->pattern_hits[i]);
    }
    if (rs->heartbeat_age_s >= 0)
        rc |= ep_one(b, "soak_heartbeat_age_seconds", "gauge", "seconds since the last heartbeat",
                     rs->heartbeat_age_s);
    rc |= ep_one(b, "soak_artifacts_bytes", "gauge", "size of the artifacts folder",
                 (double)rs->artifacts_bytes);
    rc |= ep_one(b, "soak_disk_free_bytes", "gauge", "free space where the artifacts are",
                 (double)rs->disk_free_bytes);
    rc |= ep_one(b, "soak_scrapes_total", "counter", "scrapes of the service's metrics",
                 (double)rs->scrapes);
    rc |= ep_one(b, "soak_scrape_errors_total", "counter", "failed scrapes",
                 (double)rs->scrape_errors);
    rc |= ep_one(b, "soak_artifacts_quota_bytes", "gauge", "the artifacts folder's quota",
                 (double)rs->artifacts_quota);
    rc |= ep_one(b, "soak_notifications_sent_total", "counter",
                 "notifications delivered (notify.*)", (double)rs->notify_sent);
    rc |= ep_one(b, "soak_notifications_failed_total", "counter",
                 "notifications not delivered after every try, or dropped",
                 (double)rs->notify_failed);
    return rc ? -1 : 0;
}

int endpoints_health(const runstate *rs, uint64_t now_ms, sbuf *b)
{
    int ok = rs->state == RS_RUNNING;
    int rc =
        sbuf_printf(b,
                    "{\"status\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"uptime_s\":%.3f,"
                    "\"restarts\":%u,\"crashes\":%u,\"hangs\":%u,\"heartbeat_age_s\":",
                    ok ? "ok" : "degraded", runstate_state_name(rs->state), (int)rs->child_pid,
                    (double)(now_ms - rs->start_ms) / 1000.0, rs->restarts, rs->crashes, rs->hangs);
    if (!rc)
        rc = rs->heartbeat_age_s >= 0 ? sbuf_printf(b, "%.3f}\n", rs->heartbeat_age_s)
                                      : sbuf_adds(b, "null}\n");
    return rc ? -1 : 0;
}

static void ep_handle(void *ud, const char *path, int *status, const char **ctype, sbuf *body)
{
    endpoints *ep = ud;
    uint64_t now = uv_now(ep->loop);
    if (strcmp(path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        if (endpoints_metrics(ep->rs, now, body))
            *status = 500;
    } else if (strcmp(path, "/health") == 0) {
        *ctype = "application/json";
        if (endpoints_health(ep->rs, now, body))
            *status = 500;
        else if (ep->rs->state != RS_RUNNING)
            *status = 503;
    } else {
        *status = 404;
        sbuf_adds(body, "not found: try /, /metrics or /health\n");
    }
}

/* Every request: the credential first, then the live view, then /metrics and /health. */
static void ep_handle_ex(void *ud, httpd_req *req, int *status, const char **ctype, sbuf *body)
{
    endpoints *ep = ud;
    if (!liveapi_auth_ok(ep->cred, req->authorization)) {
        *status = 401;
        req->extra_headers = "WWW-Authenticate: Basic realm=\"soak\"\r\n";
        sbuf_adds(body, "authentication required\n");
        return;
    }
    if (ep->live && liveapi_handle(ep->live, req, status, ctype, body))
        return;
    ep_handle(ud, req->path, status, ctype, body);
}

int endpoints_live(endpoints *ep, const char *dir, const opts *o, const char *cred, char *err,
                   size_t errlen)
{
    if (cred && cred[0]) {
        if (strlen(cred) >= sizeof ep->cred || !strchr(cred, ':')) {
            snprintf(err, errlen,
                     "basic auth: the credential must be user:password (at most %d "
                     "bytes)",
                     EP_CRED_MAX - 1);
            return ERR_INVAL;
        }
        snprintf(ep->cred, sizeof ep->cred, "%s", cred);
    }
    ep->live = liveapi_new(ep->loop, dir, o, ep->rs);
    if (!ep->live) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    return 0;
}

int endpoints_port(const endpoints *ep)
{
    return ep ? httpd_port(ep->http) : -1;
}

int endpoints_addr_is_loopback(const char *addr)
{
    char ip[64];
    int port, v6;
    if (wsrv_parse_addr(addr, ip, sizeof ip, &port, &v6) != 0)
        return 0;
    if (addr[0] == ':' || !ip[0])
        return 1; /* ":port" means loopback (httpd.h) */
    return v6 ? !strcmp(ip, "::1") : !strncmp(ip, "127.", 4);
}

int endpoints_read_cred(const char *file, const char *env_value, char *out, size_t n, char *err,
                        size_t errlen)
{
    out[0] = '\0';
    char line[EP_CRED_MAX + 2] = "";
    const char *src = env_value, *what = "SOAK_LISTEN_AUTH";
    if (file && file[0]) {
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read '%s': %s", file, strerror(errno));
            return ERR_IO;
        }
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        src = line;
        what = file;
    }
    if (!src || !src[0])
        return 0;
    if (!strchr(src, ':') || strlen(src) >= n || strlen(src) >= EP_CRED_MAX) {
        snprintf(err, errlen, "basic auth from '%s': want user:password on one line", what);
        return ERR_INVAL;
    }
    snprintf(out, n, "%s", src);
    return 1;
}

int endpoints_start(uv_loop_t *loop, const char *addr, const runstate *rs, endpoints **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    char ip[64];
    int port, v6;
    if (wsrv_parse_addr(addr, ip, sizeof ip, &port, &v6) != 0) {
        snprintf(err, errlen, "cannot listen on '%s': %s (want ip:port)", addr ? addr : "",
                 errcode_str(ERR_ADDR));
        return ERR_ADDR;
    }
    endpoints *ep = calloc(1, sizeof *ep);
    if (!ep) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    ep->rs = rs;
    ep->loop = loop;
    ep->http = httpd_start_ex(loop, addr, ep_handle_ex, ep, err, errlen);
    if (!ep->http) {
        free(ep);
        return ERR_BUSY; /* a well-formed address that cannot be listened on */
    }
    *out = ep;
    return 0;
}

void endpoints_stop(endpoints *ep)
{
    if (!ep)
        return;
    httpd_stop(ep->http);
    liveapi_free(ep->live);
    free(ep);
}
