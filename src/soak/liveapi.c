/* liveapi: the live view's page and JSON endpoints. See liveapi.h. */
#include "liveapi.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "errcode.h"
#include "repdata.h"
#include "report.h"
#include "runrec.h"
#include "store.h"
#include "web/webassets.h"

#define LIVE_VERDICT_MAX (1u << 20) /* verdict.json read back at most */

/* ---------------------------------------------------------------- pure parts */

/* The value of key: pointer into query and length, or NULL. */
static const char *query_find(const char *query, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t pl = amp ? (size_t)(amp - p) : strlen(p);
        if (pl > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            *len = pl - kl - 1;
            return p + kl + 1;
        }
        if (pl == kl && !strncmp(p, key, kl)) {
            *len = 0;
            return p + kl;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int liveapi_query_str(const char *query, const char *key, char *buf, size_t n)
{
    size_t len = 0;
    const char *v = query_find(query, key, &len);
    if (!v)
        return 0;
    if (len >= n)
        len = n - 1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return 1;
}

int liveapi_query_num(const char *query, const char *key, double lo, double hi, double *v)
{
    char buf[64];
    size_t len = 0;
    const char *s = query_find(query, key, &len);
    if (!s || len == 0)
        return 0;
    if (len >= sizeof buf)
        return ERR_PARSE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double d = strtod(buf, &end);
    if (errno || end == buf || *end || !isfinite(d) || d < lo || d > hi)
        return ERR_PARSE;
    *v = d;
    return 1;
}

void liveapi_ds_init(liveapi_ds *d, double from, double to, int max_points)
{
    d->from = from;
    d->to = to > from ? to : from + 1;
    int nb = max_points / 2;
    d->nb = nb < 1 ? 1 : nb > LIVEAPI_MAX_POINTS / 2 ? LIVEAPI_MAX_POINTS / 2 : nb;
    d->n = 0;
    for (int i = 0; i < d->nb; i++)
        d->b[i].used = 0;
}

void liveapi_ds_add(liveapi_ds *d, double t, double v)
{
    if (!isfinite(t) || !isfinite(v) || t < d->from || t > d->to)
        return;
    int i = (int)((t - d->from) / (d->to - d->from) * d->nb);
    if (i >= d->nb)
        i = d->nb - 1;
    if (i < 0)
        i = 0;
    d->n++;
    if (!d->b[i].used) {
        d->b[i].used = 1;
        d->b[i].tmin = d->b[i].tmax = t;
        d->b[i].vmin = d->b[i].vmax = v;
        return;
    }
    if (v < d->b[i].vmin) {
        d->b[i].vmin = v;
        d->b[i].tmin = t;
    }
    if (v > d->b[i].vmax) {
        d->b[i].vmax = v;
        d->b[i].tmax = t;
    }
}

int liveapi_ds_json(const liveapi_ds *d, sbuf *out)
{
    int rc = sbuf_adds(out, "[");
    int first = 1;
    for (int i = 0; i < d->nb && !rc; i++) {
        if (!d->b[i].used)
            continue;
        double t1 = d->b[i].tmin, v1 = d->b[i].vmin, t2 = d->b[i].tmax, v2 = d->b[i].vmax;
        if (t2 < t1) { /* in time order */
            double a = t1, b = v1;
            t1 = t2, v1 = v2, t2 = a, v2 = b;
        }
        rc = sbuf_printf(out, "%s[%.3f,%.17g]", first ? "" : ",", t1, v1);
        if (!rc && (t2 != t1 || v2 != v1))
            rc = sbuf_printf(out, ",[%.3f,%.17g]", t2, v2);
        first = 0;
    }
    if (!rc)
        rc = sbuf_adds(out, "]");
    return rc ? -1 : 0;
}

const char *liveapi_gate_status(const char *s, const char *expression, int running)
{
    /* the run's length is only known at its end */
    if (running && strstr(expression, "(duration_s)"))
        return "undecided";
    if (!strcmp(s, "pass"))
        return "pass";
    if (!strcmp(s, "fail"))
        return "fail";
    return running ? "undecided" : "no-data";
}

/* Appends a cJSON value unformatted. */
static int put_json(sbuf *out, const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (!t)
        return -1;
    int rc = sbuf_adds(out, t);
    cJSON_free(t);
    return rc ? -1 : 0;
}

int liveapi_gates_json(const char *verdict_json, int running, sbuf *out)
{
    cJSON *v = verdict_json ? cJSON_Parse(verdict_json) : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "gates");
    cJSON_AddBoolToObject(o, "running", running);
    cJSON_AddBoolToObject(o, "computed", v != NULL);
    const cJSON *gates = v ? cJSON_GetObjectItemCaseSensitive(v, "gates") : NULL;
    const cJSON *g;
    int pass = v != NULL, fail = 0;
    cJSON_ArrayForEach(g, gates)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(g, "expression");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "status");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(g, "value");
        const cJSON *un = cJSON_GetObjectItemCaseSensitive(g, "unit");
        const char *status =
            liveapi_gate_status(cJSON_IsString(st) ? st->valuestring : "no-data",
                                cJSON_IsString(ex) ? ex->valuestring : "", running);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", cJSON_IsString(nm) ? nm->valuestring : "?");
        cJSON_AddStringToObject(e, "expression", cJSON_IsString(ex) ? ex->valuestring : "");
        if (cJSON_IsNumber(val))
            cJSON_AddNumberToObject(e, "value", val->valuedouble);
        else
            cJSON_AddNullToObject(e, "value");
        cJSON_AddStringToObject(e, "unit", cJSON_IsString(un) ? un->valuestring : "");
        cJSON_AddStringToObject(e, "status", status);
        cJSON_AddItemToArray(arr, e);
        fail |= !strcmp(status, "fail");
        pass &= !strcmp(status, "pass");
    }
    cJSON_AddStringToObject(o, "verdict",
                            !v     ? "not computed yet"
                            : fail ? "fail"
                            : pass ? (running ? "passing so far" : "pass")
                                   : "undecided");
    int rc = put_json(out, o);
    cJSON_Delete(o);
    cJSON_Delete(v);
    return rc;
}

int liveapi_state_json(const runstate *rs, uint64_t now_ms, uint64_t duration_ms, int report,
                       const liveapi_stats *st, sbuf *out)
{
    uint64_t end = rs->end_ms ? rs->end_ms : now_ms;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", runstate_state_name(rs->state));
    cJSON_AddStringToObject(o, "command", rs->command);
    cJSON_AddNumberToObject(o, "pid", (double)rs->child_pid);
    cJSON_AddNumberToObject(o, "elapsed_s", (double)(end - rs->start_ms) / 1000.0);
    cJSON_AddNumberToObject(o, "planned_s", (double)duration_ms / 1000.0);
    cJSON_AddNumberToObject(o, "samples", (double)rs->samples);
    cJSON_AddNumberToObject(o, "starts", rs->starts);
    cJSON_AddNumberToObject(o, "restarts", rs->restarts);
    cJSON_AddNumberToObject(o, "crashes", rs->crashes);
    cJSON_AddNumberToObject(o, "hangs", rs->hangs);
    cJSON_AddNumberToObject(o, "rss_bytes", (double)rs->tree.rss_bytes);
    cJSON_AddNumberToObject(o, "pss_bytes", (double)rs->pss_last);
    cJSON_AddNumberToObject(o, "cpu_percent", rs->cpu_percent);
    cJSON_AddNumberToObject(o, "fds", rs->tree.fds);
    cJSON_AddNumberToObject(o, "threads", rs->tree.threads);
    cJSON_AddNumberToObject(o, "processes", rs->tree.nprocs);
    cJSON_AddNumberToObject(o, "zombies", rs->tree.zombies);
    cJSON_AddNumberToObject(o, "artifacts_bytes", (double)rs->artifacts_bytes);
    cJSON_AddNumberToObject(o, "disk_free_bytes", (double)rs->disk_free_bytes);
    cJSON_AddBoolToObject(o, "report", report);
    if (st) {
        cJSON_AddNumberToObject(o, "refreshes", (double)st->refreshes);
        cJSON_AddNumberToObject(o, "refresh_ms", st->refresh_ms);
        cJSON_AddNumberToObject(o, "refresh_period_ms", (double)st->period_ms);
    }
    int rc = put_json(out, o);
    cJSON_Delete(o);
    return rc;
}

int liveapi_log_json(const char *text, size_t len, int tail, sbuf *out)
{
    /* back from the end to the tail-th newline (a final newline ends the last line) */
    size_t end = len;
    if (end > 0 && text[end - 1] == '\n')
        end--;
    size_t start = end;
    int n = 0;
    while (tail > 0 && start > 0) {
        if (text[start - 1] == '\n' && ++n == tail)
            break;
        start--;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "lines");
    for (size_t p = start; tail > 0 && p < end;) {
        const char *nl = memchr(text + p, '\n', end - p);
        size_t l = nl ? (size_t)(nl - (text + p)) : end - p;
        char *line = malloc(l + 1);
        if (line) {
            memcpy(line, text + p, l);
            line[l] = '\0';
            cJSON_AddItemToArray(arr, cJSON_CreateString(line));
            free(line);
        }
        p += l + 1;
    }
    int rc = put_json(out, o);
    cJSON_Delete(o);
    return rc;
}

static void b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

int liveapi_auth_ok(const char *cred, const char *authorization)
{
    if (!cred || !cred[0])
        return 1;
    if (!authorization || strncmp(authorization, "Basic ", 6))
        return 0;
    char want[1500];
    b64((const unsigned char *)cred, strlen(cred), want, sizeof want);
    const char *got = authorization + 6;
    size_t wl = strlen(want), gl = strlen(got);
    unsigned diff = wl != gl;
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
    return diff == 0;
}

/* ---------------------------------------------------------------- the server part */

struct liveapi {
    uv_loop_t *loop;
    const opts *o;
    const runstate *rs;
    char dir[4096], live_dir[4200];
    /* the cache, written by the refresh's after-work on the loop */
    char *verdict; /* text of the live verdict.json, or NULL */
    char *charts;  /* report_charts' HTML, or NULL */
    size_t charts_len;
    uint64_t refresh_start_ms; /* loop clock of the last refresh's start (0: never) */
    uint64_t period_ms;        /* the refresh period (liveapi.h) */
    uint64_t refreshes;
    double last_ms; /* the last refresh's CPU time */
    int busy, closing;
    cJSON *events;         /* the newest LIVEAPI_MAX_EVENTS timeline events, or NULL */
    int64_t events_from;   /* the index of its first */
    char *names;           /* the /api/metrics body, or NULL */
    char metric_want[256]; /* the scraped series a page asked for last */
    char metric_name[256]; /* the one metric_html draws */
    char *metric_html;
    size_t metric_len;
    uv_work_t work;
    /* the refresh's results, written by the worker thread */
    char *w_verdict, *w_charts, *w_metric;
    size_t w_charts_len, w_metric_len;
    char w_metric_name[256]; /* set before the work is queued */
    cJSON *w_events;
    int64_t w_events_from;
    char *w_names;
    double w_seconds;
};

/* CPU time of the calling thread: what a refresh costs the run (its wall time also holds the
 * waits for the disk, which cost no CPU). */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads a whole small file (at most cap bytes), NUL-terminated; NULL when it cannot. */
static char *read_small(const char *path, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int event_json(void *ud, const runrec_event *e)
{
    cJSON *arr = ud, *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", e->t);
    cJSON_AddStringToObject(o, "kind", e->name);
    cJSON_AddStringToObject(o, "detail", e->detail ? e->detail : "");
    cJSON_AddNumberToObject(o, "value", isfinite(e->value) ? e->value : 0);
    cJSON_AddBoolToObject(o, "failure", e->failure);
    cJSON_AddBoolToObject(o, "crash", e->crash);
    cJSON_AddItemToArray(arr, o);
    return 0;
}

static int name_json(void *ud, const char *name)
{
    cJSON_AddItemToArray(ud, cJSON_CreateString(name));
    return 0;
}

/* The timeline's newest events and the scraped series' names, for /api/events and /api/metrics
 * (so that no request opens the database). */
static void refresh_lists(liveapi *l)
{
    runrec *rr = NULL;
    char err[256];
    l->w_events = NULL;
    l->w_names = NULL;
    if (runrec_open(l->dir, &rr, err, sizeof err) != 0)
        return;
    int64_t n = runrec_event_count(rr, RUNREC_EV_LANE);
    l->w_events_from = n > LIVEAPI_MAX_EVENTS ? n - LIVEAPI_MAX_EVENTS : 0;
    l->w_events = cJSON_CreateArray();
    if (n < 0 || !l->w_events ||
        runrec_events(rr, RUNREC_EV_LANE, l->w_events_from, LIVEAPI_MAX_EVENTS, event_json,
                      l->w_events) < 0) {
        cJSON_Delete(l->w_events);
        l->w_events = NULL;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "names");
    if (runrec_metric_names(rr, LIVEAPI_MAX_NAMES, name_json, arr) == 0)
        l->w_names = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    runrec_close(rr);
}

/* The worker thread: the live verdict (analyze over the live samples.db, silent) then the
 * charts, which draw the verdict's trend and warm-up. */
static void refresh_work(uv_work_t *w)
{
    liveapi *l = w->data;
    double t0 = thread_cpu_s();
    l->w_verdict = l->w_charts = NULL;
    if (mkdir(l->live_dir, 0755) == 0 || errno == EEXIST) {
        analyze_args aa = {
            .run_dir = l->dir, .out_dir = l->live_dir, .o = l->o, .quiet = 1, .silent = 1};
        int rc = analyze_run(&aa);
        if (rc == ANALYZE_PASS || rc == ANALYZE_FAIL) {
            char p[4300];
            snprintf(p, sizeof p, "%s/verdict.json", l->live_dir);
            l->w_verdict = read_small(p, LIVE_VERDICT_MAX, NULL);
        }
    }
    char err[256];
    if (report_charts(l->dir, l->live_dir, &l->w_charts, &l->w_charts_len, err, sizeof err))
        l->w_charts = NULL;
    l->w_metric = NULL;
    if (l->w_metric_name[0] && report_metric_chart(l->dir, l->w_metric_name, &l->w_metric,
                                                   &l->w_metric_len, err, sizeof err))
        l->w_metric = NULL;
    refresh_lists(l);
    l->w_seconds = thread_cpu_s() - t0;
}

static void refresh_done(uv_work_t *w, int status)
{
    liveapi *l = w->data;
    (void)status;
    l->busy = 0;
    if (l->closing) {
        free(l->w_verdict);
        free(l->w_charts);
        free(l->w_metric);
        cJSON_Delete(l->w_events);
        cJSON_free(l->w_names);
        liveapi_free(l);
        return;
    }
    if (l->w_verdict) {
        free(l->verdict);
        l->verdict = l->w_verdict;
    }
    if (l->w_charts) {
        free(l->charts);
        l->charts = l->w_charts;
        l->charts_len = l->w_charts_len;
    }
    if (l->w_metric) {
        free(l->metric_html);
        l->metric_html = l->w_metric;
        l->metric_len = l->w_metric_len;
        snprintf(l->metric_name, sizeof l->metric_name, "%s", l->w_metric_name);
    }
    if (l->w_events) {
        cJSON_Delete(l->events);
        l->events = l->w_events;
        l->events_from = l->w_events_from;
    }
    if (l->w_names) {
        cJSON_free(l->names);
        l->names = l->w_names;
    }
    l->w_events = NULL;
    l->w_names = NULL;
    l->w_verdict = l->w_charts = l->w_metric = NULL;
    l->last_ms = l->w_seconds * 1000.0;
    uint64_t p = (uint64_t)(l->w_seconds * 1000.0 * 100.0);
    l->period_ms = p > LIVEAPI_REFRESH_MS ? p : LIVEAPI_REFRESH_MS;
    l->refreshes++;
}

/* Starts a refresh when the cache is older than the period and none runs. */
static void maybe_refresh(liveapi *l)
{
    uint64_t now = uv_now(l->loop);
    if (l->busy || l->closing || l->rs->samples == 0)
        return;
    if (l->refresh_start_ms && now - l->refresh_start_ms < l->period_ms)
        return;
    l->work.data = l;
    snprintf(l->w_metric_name, sizeof l->w_metric_name, "%s", l->metric_want);
    if (uv_queue_work(l->loop, &l->work, refresh_work, refresh_done) == 0) {
        l->busy = 1;
        l->refresh_start_ms = now ? now : 1;
    }
}

liveapi *liveapi_new(uv_loop_t *loop, const char *dir, const opts *o, const runstate *rs)
{
    liveapi *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    l->o = o;
    l->rs = rs;
    l->period_ms = LIVEAPI_REFRESH_MS;
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    snprintf(l->live_dir, sizeof l->live_dir, "%s/live", dir);
    return l;
}

/* The live verdict's folder is the live view's own: gone with it (the run's verdict is
 * written by the analysis at the end, into DIR). */
static void live_dir_remove(const liveapi *l)
{
    DIR *d = opendir(l->live_dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4500];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", l->live_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(l->live_dir);
}

void liveapi_free(liveapi *l)
{
    if (!l)
        return;
    if (l->busy) { /* refresh_done frees it */
        l->closing = 1;
        return;
    }
    live_dir_remove(l);
    free(l->verdict);
    free(l->charts);
    free(l->metric_html);
    cJSON_Delete(l->events);
    cJSON_free(l->names);
    free(l);
}

static void bad_request(sbuf *body, int *status, const char **ctype, const char *what)
{
    *status = 400;
    *ctype = "application/json";
    sbuf_reset(body);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", what);
    put_json(body, o);
    cJSON_Delete(o);
}

typedef struct samples_ctx {
    liveapi_ds *ds;
    int col;
} samples_ctx;

static int samples_row(void *ud, const store_sample *m)
{
    samples_ctx *c = ud;
    if (repdata_drawn(m, (store_col)c->col)) /* as the report draws them */
        liveapi_ds_add(c->ds, m->t, store_sample_get(m, (store_col)c->col));
    return 0;
}

static int metric_point(void *ud, double t, double v)
{
    liveapi_ds_add(ud, t, v);
    return 0;
}

/* /api/samples?from=&to=&max_points=&series=|metric= */
static void api_samples(liveapi *l, const char *q, int *status, const char **ctype, sbuf *body)
{
    double from = 0, to = 4e9, mp = LIVEAPI_DEF_POINTS;
    char series[64] = "rss_bytes", metric[256] = "";
    int has_from = liveapi_query_num(q, "from", 0, 1e11, &from);
    int has_to = liveapi_query_num(q, "to", 0, 1e11, &to);
    if (has_from < 0 || has_to < 0) {
        bad_request(body, status, ctype, "from and to are Unix times in seconds");
        return;
    }
    if (liveapi_query_num(q, "max_points", 2, LIVEAPI_MAX_POINTS, &mp) < 0) {
        bad_request(body, status, ctype, "max_points is a number from 2 to 4000");
        return;
    }
    if (to <= from) {
        bad_request(body, status, ctype, "to must be after from");
        return;
    }
    liveapi_query_str(q, "series", series, sizeof series);
    liveapi_query_str(q, "metric", metric, sizeof metric);
    int col = -1;
    for (int c = 0; !metric[0] && c < STORE_NCOLS; c++)
        if (!strcmp(store_col_name((store_col)c), series))
            col = c;
    if (!metric[0] && col < 0) {
        bad_request(body, status, ctype, "unknown series (see the samples columns)");
        return;
    }
    runrec *rr = NULL;
    char err[256];
    liveapi_ds *ds = malloc(sizeof *ds);
    if (!ds || runrec_open(l->dir, &rr, err, sizeof err) != 0) {
        free(ds);
        *status = 503;
        sbuf_adds(body, "{\"error\":\"no samples yet\"}");
        *ctype = "application/json";
        return;
    }
    /* the range not given: the run's samples so far */
    int64_t ns = 0;
    double tmin = 0, tmax = 0;
    if (runrec_sample_range(rr, &ns, &tmin, &tmax) == 0 && ns > 0) {
        if (!has_from)
            from = tmin;
        if (!has_to)
            to = tmax > from ? tmax : from + 1;
    }
    liveapi_ds_init(ds, from, to, (int)mp);
    int rc;
    if (metric[0]) {
        rc = runrec_metric(rr, metric, NULL, 0, metric_point, ds);
    } else {
        samples_ctx c = {ds, col};
        rc = runrec_sample_cols(rr, 1u << col | 1u << STORE_COL_procs, 0, samples_row, &c);
    }
    runrec_close(rr);
    *ctype = "application/json";
    cJSON *name = cJSON_CreateString(metric[0] ? metric : series);
    char *nm = cJSON_PrintUnformatted(name);
    cJSON_Delete(name);
    if (rc != 0 || !nm ||
        sbuf_printf(body, "{\"series\":%s,\"n\":%lld,\"points\":", nm, (long long)ds->n) ||
        liveapi_ds_json(ds, body) || sbuf_adds(body, "}")) {
        sbuf_reset(body);
        *status = 500;
        sbuf_adds(body, "{\"error\":\"cannot read samples.db\"}");
    }
    cJSON_free(nm);
    free(ds);
}

/* /api/events?since=N from the cache of the last refresh. */
static void api_events(liveapi *l, const char *q, int *status, const char **ctype, sbuf *body)
{
    double since = 0;
    *ctype = "application/json";
    if (liveapi_query_num(q, "since", 0, 1e15, &since) < 0 || since != floor(since)) {
        bad_request(body, status, ctype, "since is an event index (0 or more)");
        return;
    }
    maybe_refresh(l);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "events");
    int64_t n = l->events ? l->events_from + cJSON_GetArraySize(l->events) : 0;
    int64_t i = (int64_t)since > l->events_from ? (int64_t)since : l->events_from;
    for (; l->events && i < n; i++)
        cJSON_AddItemToArray(
            arr, cJSON_Duplicate(cJSON_GetArrayItem(l->events, (int)(i - l->events_from)), 1));
    cJSON_AddNumberToObject(o, "next", (double)(n > (int64_t)since ? n : (int64_t)since));
    put_json(body, o);
    cJSON_Delete(o);
}

static void api_metrics(liveapi *l, const char **ctype, sbuf *body)
{
    *ctype = "application/json";
    maybe_refresh(l);
    sbuf_adds(body, l->names ? l->names : "{\"names\":[]}");
}

static void api_log(liveapi *l, const char *q, int *status, const char **ctype, sbuf *body)
{
    double tail = 50;
    *ctype = "application/json";
    if (liveapi_query_num(q, "tail", 0, LIVEAPI_MAX_TAIL, &tail) < 0 || tail != floor(tail)) {
        bad_request(body, status, ctype, "tail is a number of lines from 0 to 500");
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/soak.log", l->dir);
    char *buf = malloc(LIVEAPI_LOG_WINDOW);
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (buf && fd >= 0) {
        /* about 1 KiB a line is enough for the page's tail; LIVEAPI_LOG_WINDOW at most */
        off_t win = (off_t)tail * 1024 < 4096 ? 4096 : (off_t)tail * 1024;
        if (win > LIVEAPI_LOG_WINDOW)
            win = LIVEAPI_LOG_WINDOW;
        off_t size = lseek(fd, 0, SEEK_END);
        off_t from = size > win ? size - win : 0;
        ssize_t r = size > 0 ? pread(fd, buf, (size_t)(size - from), from) : 0;
        n = r > 0 ? (size_t)r : 0;
    }
    if (fd >= 0)
        close(fd);
    liveapi_log_json(buf ? buf : "", n, (int)tail, body);
    free(buf);
}

int liveapi_handle(liveapi *l, const httpd_req *req, int *status, const char **ctype, sbuf *body)
{
    const char *p = req->path, *q = req->query ? req->query : "";
    int running = l->rs->state != RS_DONE;
    char name[256];
    if (!strcmp(p, "/") || !strcmp(p, "/index.html")) {
        /* the page, with the report's style sheet in place of its marker: one file, no asset */
        static const char mark[] = "<!--report-style-->";
        const char *m = strstr(webassets_live_html, mark);
        size_t head = m ? (size_t)(m - webassets_live_html) : webassets_live_html_len;
        *ctype = "text/html; charset=utf-8";
        sbuf_add(body, webassets_live_html, head);
        if (m) {
            sbuf_adds(body, "<style>");
            sbuf_adds(body, report_style());
            sbuf_adds(body, "</style>");
            sbuf_adds(body, m + sizeof mark - 1);
        }
    } else if (!strcmp(p, "/api/state")) {
        maybe_refresh(l); /* a page is watching: keep its verdict and charts fresh */
        char rp[4200];
        snprintf(rp, sizeof rp, "%s/report.html", l->dir);
        *ctype = "application/json";
        liveapi_stats st = {l->refreshes, l->last_ms, l->period_ms};
        liveapi_state_json(l->rs, uv_now(l->loop), l->o->duration_ms, access(rp, R_OK) == 0, &st,
                           body);
    } else if (!strcmp(p, "/api/gates")) {
        maybe_refresh(l);
        *ctype = "application/json";
        liveapi_gates_json(l->verdict, running, body);
    } else if (!strcmp(p, "/api/charts") && liveapi_query_str(q, "metric", name, sizeof name)) {
        /* one scraped series: drawn in the next refresh when another one was shown */
        *ctype = "text/html; charset=utf-8";
        if (strcmp(name, l->metric_want)) {
            snprintf(l->metric_want, sizeof l->metric_want, "%s", name);
            l->refresh_start_ms = 0; /* the next refresh starts when the current one ends */
        }
        maybe_refresh(l);
        if (l->metric_html && !strcmp(name, l->metric_name))
            sbuf_add(body, l->metric_html, l->metric_len);
        else
            sbuf_adds(body, "<p class=\"na\">drawing&hellip;</p>\n");
    } else if (!strcmp(p, "/api/charts")) {
        maybe_refresh(l);
        *ctype = "text/html; charset=utf-8";
        if (l->charts)
            sbuf_add(body, l->charts, l->charts_len);
        else
            sbuf_adds(body, "<p class=\"na\">no samples yet</p>\n");
    } else if (!strcmp(p, "/api/samples")) {
        api_samples(l, q, status, ctype, body);
    } else if (!strcmp(p, "/api/events")) {
        api_events(l, q, status, ctype, body);
    } else if (!strcmp(p, "/api/metrics")) {
        api_metrics(l, ctype, body);
    } else if (!strcmp(p, "/api/log")) {
        api_log(l, q, status, ctype, body);
    } else if (!strcmp(p, "/report.html")) {
        char rp[4200];
        size_t n = 0;
        snprintf(rp, sizeof rp, "%s/report.html", l->dir);
        char *t = read_small(rp, HTTPD_MAX_BODY - 1, &n);
        if (!t) {
            *status = 404;
            sbuf_adds(body, "no report yet: it is written when the run ends\n");
        } else {
            *ctype = "text/html; charset=utf-8";
            sbuf_add(body, t, n);
            free(t);
        }
    } else if (!strncmp(p, "/api/", 5)) {
        *status = 404;
        *ctype = "application/json";
        sbuf_adds(body, "{\"error\":\"no such endpoint\"}");
    } else {
        return 0;
    }
    return 1;
}
