/*
 * liveapi: the live view of a running soak (served by endpoints.c under `soak run --listen`):
 *   GET /                 the page (src/soak/web/live.html, embedded at build time)
 *   GET /api/state        JSON: state, command, elapsed and planned seconds, counters, the last
 *                         sample, whether DIR/report.html exists
 *   GET /api/gates        JSON: the live verdict, each gate pass / fail / no-data / undecided
 *                         with its value, from `soak analyze` run over the live samples.db
 *   GET /api/charts       HTML: the report's charts (report_charts, report.h) of the run so far;
 *                         ?metric=NAME: one scraped series (report_metric_chart)
 *   GET /api/samples?from=&to=&max_points=&metric=   JSON, downsampled (liveapi_ds)
 *   GET /api/metrics      JSON: the scraped series' names (the page's picker)
 *   GET /api/events?since=N   JSON: timeline events from the N-th on, of the newest
 *                         LIVEAPI_MAX_EVENTS; "next" is the index after the last
 *   GET /api/log?tail=N   JSON: the last N lines of DIR/soak.log (N <= LIVEAPI_MAX_TAIL)
 *   GET /report.html      DIR/report.html once it exists
 * Bad parameters get 400 with {"error":"..."}; every body is capped (httpd's cap, and the
 * LIVEAPI_* caps below).
 *
 * Cost: the gates, the charts, the events and the names (everything that reads samples.db) are
 * computed in one worker thread (uv_queue_work), never on the loop, at most once per
 * refresh period whatever the number of pages: max(LIVEAPI_REFRESH_MS, 100 x the CPU time of the
 * last refresh), so they cost the run 1 % of a core at most, and only while someone asks. So sampling is not delayed and ten pages cost what
 * one does. The other endpoints answer from memory or small reads on the loop.
 *
 * Threads: everything but the refresh work runs on the loop thread.
 */
#ifndef SOAK_LIVEAPI_H
#define SOAK_LIVEAPI_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "httpd.h"
#include "opts.h"
#include "runstate.h"
#include "sbuf.h"

#define LIVEAPI_MAX_POINTS 4000 /* /api/samples: max_points at most (min and max: 2 a bucket) */
#define LIVEAPI_DEF_POINTS 1000 /* /api/samples: max_points when not given */
#define LIVEAPI_MAX_EVENTS 500  /* /api/events: events per answer */
#define LIVEAPI_MAX_TAIL   500  /* /api/log: lines at most */
#define LIVEAPI_LOG_WINDOW                                                                         \
    262144                      /* /api/log: bytes read from the end of soak.log at most
                                     (1 KiB a line asked, at least 4 KiB) */
#define LIVEAPI_MAX_NAMES  500  /* /api/metrics: names listed */
#define LIVEAPI_REFRESH_MS 5000 /* the gates, charts, events are recomputed at most this often */

/* ---- pure parts (tested alone) ---- */

/* The value of key in a query string ("a=1&b=2"), parsed as a finite number in [lo, hi].
 * Returns 1 with *v, 0 when key is absent (or empty), ERR_PARSE when it is not such a number. */
int liveapi_query_num(const char *query, const char *key, double lo, double hi, double *v);
/* The raw value of key, copied into buf (truncated to n - 1). Returns 1, or 0 when absent. */
int liveapi_query_str(const char *query, const char *key, char *buf, size_t n);

/* Downsampling that keeps spikes: the range [from, to) in nb buckets (nb <= LIVEAPI_MAX_POINTS/2),
 * each keeping the (t, v) of its smallest and of its largest value. */
typedef struct liveapi_ds {
    double from, to;
    int nb;
    int64_t n; /* points added inside the range */
    struct {
        double tmin, vmin, tmax, vmax;
        int used;
    } b[LIVEAPI_MAX_POINTS / 2];
} liveapi_ds;
void liveapi_ds_init(liveapi_ds *d, double from, double to, int max_points);
/* Adds a point; outside [from, to] or not finite: ignored. */
void liveapi_ds_add(liveapi_ds *d, double t, double v);
/* Appends "[[t,v],...]": per bucket its min and max in time order (one point when they are the
 * same sample); at most max_points points. Returns 0 or -1 (body cap). */
int liveapi_ds_json(const liveapi_ds *d, sbuf *out);

/* The live status of a gate from analyze's status ("pass", "fail", "no-data") and its
 * expression: while the run goes on (running 1) a gate without data yet, and one over the run's
 * length (duration_s), are "undecided"; after it, as analyze said. Static strings. */
const char *liveapi_gate_status(const char *analyze_status, const char *expression, int running);
/* /api/gates from the text of a verdict.json (NULL: not computed yet): {"running":..,
 * "pass":..,"gates":[{"name","expression","value","unit","status"}]}. Returns 0 or -1. */
int liveapi_gates_json(const char *verdict_json, int running, sbuf *out);
/* What the refreshes cost (in /api/state, for bench/live-view). */
typedef struct liveapi_stats {
    uint64_t refreshes; /* done so far */
    double refresh_ms;  /* the last one's CPU time in the worker thread */
    uint64_t period_ms; /* the period it set */
} liveapi_stats;
/* /api/state. duration_ms: the planned duration; report: DIR/report.html exists; st may be NULL. */
int liveapi_state_json(const runstate *rs, uint64_t now_ms, uint64_t duration_ms, int report,
                       const liveapi_stats *st, sbuf *out);
/* /api/log from the last bytes of a log (text, len): the last tail lines, the first of them
 * possibly cut. Returns 0 or -1. */
int liveapi_log_json(const char *text, size_t len, int tail, sbuf *out);
/* 1 when the Authorization header value is "Basic " + base64(cred), else 0 (constant time in
 * the credential's length). cred NULL or "": no auth, always 1. */
int liveapi_auth_ok(const char *cred, const char *authorization);

/* ---- the server part ---- */

typedef struct liveapi liveapi;

/* dir: the artifacts folder (samples.db, soak.log; the live verdict goes to DIR/live/);
 * o: the run's options (gates), borrowed, must outlive the liveapi; rs: borrowed likewise.
 * Returns NULL on no memory. */
liveapi *liveapi_new(uv_loop_t *loop, const char *dir, const opts *o, const runstate *rs);
/* Answers req if its path is one of the live view's. Returns 1 when answered (status, type and
 * body set), 0 when the path is not the live view's (nothing touched). */
int liveapi_handle(liveapi *l, const httpd_req *req, int *status, const char **ctype, sbuf *body);
/* Frees l; a refresh in flight finishes first (the loop must run on, as for httpd_stop).
 * Accepts NULL. */
void liveapi_free(liveapi *l);

#endif
