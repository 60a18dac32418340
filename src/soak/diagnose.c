/* diagnose: the runbook's eight sections on a run's data. See diagnose.h. */
#include "diagnose.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "analyze.h"
#include "cntrend.h"
#include "diaglog.h"
#include "errcode.h"
#include "gate.h"
#include "leakstat.h"
#include "logscan.h"
#include "opts.h"
#include "runrec.h"
#include "store.h"
#include "units.h"

#define MB            1e6
#define RING          5   /* last lines kept per log class */
#define FIRST         3   /* first lines kept per log class */
#define MAX_DELAYS    512 /* reconnect delays kept */
#define MAX_LOGS      1024
#define MAX_CRASHES   8 /* crashes shown with their last log lines */
#define LINE_MAX_DIAG 512
#define MAX_MD        4096 /* memdetail rows used for the per-kind slopes */

static const char *const sev_names[] = {"ok", "info", "warn", "fail"};

const char *diagnose_sev_name(diagnose_sev s)
{
    return (unsigned)s <= DIAG_FAIL ? sev_names[s] : "";
}

static const char *const section_titles[DIAGNOSE_NSECTIONS + 1] = {"",
#define DIAG_TITLE(n, title) title,
                                                                   DIAGNOSE_SECTIONS(DIAG_TITLE)
#undef DIAG_TITLE
};

const char *diagnose_section_title(int n)
{
    return n >= 1 && n <= DIAGNOSE_NSECTIONS ? section_titles[n] : "";
}

int diagnose_gate_section(const char *name, const char *expr)
{
    static const struct {
        const char *series;
        int section;
    } map[] = {
        {"memory_growth_mb_per_hour", 1},
        {"rss_bytes", 1},
        {"pss_bytes", 1},
        {"fd_growth_per_hour", 1},
        {"thread_growth_per_hour", 1},
        {"fds", 1},
        {"threads", 1},
        {"ws_reconnect_attempts_total", 2},
        {"pattern.reconnect", 2},
        {"orphan_orders", 3},
        {"artifacts_bytes", 4},
        {"disk_free_bytes", 4},
        {"dropped_bytes", 4},
        {"zombies", 5},
        {"latency_ms", 6},
        {"http_pool_requests_waiting", 6},
        {"pattern.ratelimit", 6},
        {"crashes", 7},
        {"hangs", 7},
        {"restarts", 7},
        {"heartbeat_age_s", 7},
        {"security_critical_high", 8},
    };
    gate_expr g;
    char why[128];
    const char *series = NULL;
    if (expr && gate_parse(expr, strlen(expr), &g, why, sizeof why) == 0)
        series = g.name;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (series && !strcmp(series, map[i].series))
            return map[i].section;
    /* the default gates by name, when the expression says nothing we know */
    static const struct {
        const char *gate;
        int section;
    } byname[] = {{"memory_growth", 1}, {"fds", 1},           {"threads", 1},
                  {"ws_reconnects", 2}, {"orphan_orders", 3}, {"disk", 4},
                  {"zombies", 5},       {"crashes", 7},       {"security", 8}};
    for (size_t i = 0; i < sizeof byname / sizeof byname[0]; i++)
        if (name && !strcmp(name, byname[i].gate))
            return byname[i].section;
    return 0;
}

/* ---- what the logs say ------------------------------------------------------------------ */

typedef struct logclass {
    long count;
    double first_t, last_t;
    int nfirst;
    char first[FIRST][LINE_MAX_DIAG];
    int nring, ring_pos;
    char ring[RING][LINE_MAX_DIAG];
} logclass;

typedef struct logdata {
    logclass c[DIAGLOG_NCLASSES];
    long lines;
    int files, gz_files;
    /* reconnect delays, in log order */
    size_t ndelays;
    double delays[MAX_DELAYS];
    char delay_lines[4][LINE_MAX_DIAG];
    int ndelay_lines;
    /* heartbeat lines: the largest gap between two */
    double hb_last, hb_gap, hb_gap_at;
    /* the last shutdown sequence */
    long shutdowns, shutdowns_without_cancel;
    int in_shutdown, sd_cancel_all, sd_cancelled_seen;
    long sd_cancelled;
    double sd_t;
    char sd_line[LINE_MAX_DIAG];
    long sd_errors;
    char sd_error_lines[3][LINE_MAX_DIAG];
} logdata;

static void keep_line(char *dst, const char *s, size_t n)
{
    if (n >= LINE_MAX_DIAG)
        n = LINE_MAX_DIAG - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    /* control bytes would break a terminal: show them as '?' */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20 && dst[i] != '\t')
            dst[i] = '?';
}

static void class_add(logclass *c, double t, const char *line, size_t n)
{
    if (c->count++ == 0)
        c->first_t = t;
    c->last_t = t;
    if (c->nfirst < FIRST)
        keep_line(c->first[c->nfirst++], line, n);
    keep_line(c->ring[c->ring_pos], line, n);
    c->ring_pos = (c->ring_pos + 1) % RING;
    if (c->nring < RING)
        c->nring++;
}

/* One line of a log (as logcap wrote it). */
static void scan_line(logdata *L, const char *line, size_t n)
{
    double t;
    const char *text;
    size_t tn;
    int stamped = diaglog_split(line, n, &t, &text, &tn);
    /* soak's own notes ("TS soak KIND: ...") are events, read from samples.db */
    if (stamped && text - line >= 5 && !memcmp(text - 5, "soak ", 5))
        return;
    L->lines++;
    unsigned m = diaglog_classify(text, tn);
    for (int k = 0; k < DIAGLOG_NCLASSES; k++)
        if (m & DIAGLOG_BIT(k))
            class_add(&L->c[k], t, line, n);
    if (m & (DIAGLOG_BIT(DIAGLOG_RECONNECT) | DIAGLOG_BIT(DIAGLOG_BACKOFF))) {
        double d;
        if (diaglog_delay(text, tn, &d) && L->ndelays < MAX_DELAYS) {
            L->delays[L->ndelays++] = d;
            if (L->ndelay_lines < 4)
                keep_line(L->delay_lines[L->ndelay_lines++], line, n);
        }
    }
    if ((m & DIAGLOG_BIT(DIAGLOG_HEARTBEAT)) && t >= 0) {
        if (L->hb_last > 0 && t - L->hb_last > L->hb_gap) {
            L->hb_gap = t - L->hb_last;
            L->hb_gap_at = t;
        }
        L->hb_last = t;
    }
    /* a shutdown begins at a shutdown line that is not itself a step of one already under way
     * ("[SHUTDOWN] Cancelled 4 orders"); its steps follow it */
    unsigned steps = DIAGLOG_BIT(DIAGLOG_CANCEL_ALL) | DIAGLOG_BIT(DIAGLOG_CANCELLED);
    if ((m & DIAGLOG_BIT(DIAGLOG_SHUTDOWN)) &&
        (!L->in_shutdown || (!(m & steps) && (t < 0 || t - L->sd_t > 120)))) {
        if (L->in_shutdown && !L->sd_cancel_all)
            L->shutdowns_without_cancel++;
        L->shutdowns++;
        L->in_shutdown = 1;
        L->sd_cancel_all = L->sd_cancelled_seen = 0;
        L->sd_errors = 0;
        L->sd_t = t;
        keep_line(L->sd_line, line, n);
    }
    if (L->in_shutdown) {
        if (m & DIAGLOG_BIT(DIAGLOG_CANCEL_ALL))
            L->sd_cancel_all = 1;
        long cnt;
        if (diaglog_cancelled(text, tn, &cnt)) {
            L->sd_cancelled_seen = 1;
            L->sd_cancelled = cnt;
        }
        if (m & DIAGLOG_BIT(DIAGLOG_ERROR)) {
            if (L->sd_errors < 3)
                keep_line(L->sd_error_lines[L->sd_errors], line, n);
            L->sd_errors++;
        }
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The logs of dir, oldest first: rotated soak-*.log[.gz] by name, then soak.log. */
static void scan_logs(const char *dir, logdata *L)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[MAX_LOGS];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_LOGS) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (strncmp(nm, "soak-", 5) != 0)
            continue;
        if (!((len > 4 && !strcmp(nm + len - 4, ".log")) ||
              (len > 7 && !strcmp(nm + len - 7, ".log.gz"))))
            continue;
        names[n] = strdup(nm);
        if (names[n])
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    static char buf[8192];
    for (int i = 0; i <= n; i++) {
        const char *nm = i < n ? names[i] : "soak.log";
        /* a file both plain and .gz (being compressed): read the plain one */
        size_t len = strlen(nm);
        if (i < n && len > 3 && !strcmp(nm + len - 3, ".gz") && i > 0 &&
            !strncmp(names[i - 1], nm, len - 3) && names[i - 1][len - 3] == '\0')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        gzFile f = gzopen(path, "rb");
        if (!f)
            continue;
        L->files++;
        if (len > 3 && !strcmp(nm + len - 3, ".gz"))
            L->gz_files++;
        while (gzgets(f, buf, sizeof buf)) {
            size_t k = strlen(buf);
            int whole = k && buf[k - 1] == '\n';
            while (k && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
                k--;
            scan_line(L, buf, k);
            /* the rest of a line longer than the buffer is skipped */
            while (!whole && gzgets(f, buf, sizeof buf)) {
                size_t r = strlen(buf);
                whole = r && buf[r - 1] == '\n';
            }
        }
        gzclose(f);
    }
    if (L->in_shutdown && !L->sd_cancel_all)
        L->shutdowns_without_cancel++;
    for (int i = 0; i < n; i++)
        free(names[i]);
}

/* ---- what samples.db says ----------------------------------------------------------------- */

typedef struct evsum {
    long count[STORE_NEVENTS];
    double first_t[STORE_NEVENTS], last_t[STORE_NEVENTS];
    double max_value[STORE_NEVENTS];
    char last_detail[STORE_NEVENTS][256];
    /* stops and how long each took */
    double stop_t;
    double longest_stop_s;
    long stops_timed;
    /* crashes (exit judged a failure, hang, oom) */
    int ncrash;
    logscan_note *notes;
    int crash_sec[MAX_CRASHES];
    double restart_delays_max;
} evsum;

typedef struct samplesum {
    size_t n;
    double t0, t1;
    unsigned zombies_max;
    double zombie_s; /* seconds with zombies > 0 */
    double zprev_t;
    unsigned zprev;
    uint64_t art_first, art_last, art_max, free_last;
    double art_t0, art_t1;
    double hb_age_max;
    uint64_t dropped_last;
    leakstat_stream rss;
    int rss_seg;
    cntrend_input cnt;
    runrec_span *stops; /* while soak stopped the service: left out of the growth fits */
    size_t nstops, stop_cur;
    int failed;
} samplesum;

static int on_sample(void *ud, const store_sample *s)
{
    samplesum *S = ud;
    double t = s->t;
    if (!isfinite(t))
        return 0;
    if (S->n++ == 0)
        S->t0 = t;
    S->t1 = t;
    if (S->zprev > 0 && t > S->zprev_t)
        S->zombie_s += t - S->zprev_t;
    S->zprev = s->zombies;
    S->zprev_t = t;
    if (s->zombies > S->zombies_max)
        S->zombies_max = s->zombies;
    if (S->n == 1) {
        S->art_first = s->artifacts_bytes;
        S->art_t0 = t;
    }
    S->art_last = s->artifacts_bytes;
    S->art_t1 = t;
    if (s->artifacts_bytes > S->art_max)
        S->art_max = s->artifacts_bytes;
    S->free_last = s->disk_free_bytes;
    S->dropped_last = s->dropped_bytes;
    if (s->heartbeat_age_s > S->hb_age_max)
        S->hb_age_max = s->heartbeat_age_s;
    if (s->procs == 0 || runrec_span_in(S->stops, S->nstops, &S->stop_cur, t))
        return 0;
    int seg = (int)s->restarts;
    if (seg < S->rss_seg)
        seg = S->rss_seg;
    S->rss_seg = seg;
    if (s->rss_bytes > 0 && leakstat_stream_add(&S->rss, t, (double)s->rss_bytes, seg))
        S->failed = ERR_NOMEM;
    cntrend_input_add(&S->cnt, t, s->fds, s->threads, s->restarts);
    return 0;
}

static int on_event(void *ud, const runrec_event *e)
{
    evsum *E = ud;
    if (e->kind < 0 || e->kind >= STORE_NEVENTS)
        return 0;
    int k = e->kind;
    if (E->count[k]++ == 0)
        E->first_t[k] = e->t;
    E->last_t[k] = e->t;
    if (e->value > E->max_value[k])
        E->max_value[k] = e->value;
    snprintf(E->last_detail[k], sizeof E->last_detail[k], "%s", e->detail ? e->detail : "");
    if (k == STORE_EV_STOP && E->stop_t == 0)
        E->stop_t = e->t;
    if (k == STORE_EV_EXIT && E->stop_t > 0) {
        double took = e->t - E->stop_t;
        if (took > E->longest_stop_s)
            E->longest_stop_s = took;
        E->stops_timed++;
        E->stop_t = 0;
    }
    if (e->crash || k == STORE_EV_OOM_KILL || k == STORE_EV_OOM_SUSPECTED) {
        if (E->ncrash < MAX_CRASHES) {
            logscan_note *nt = &E->notes[E->ncrash];
            memset(nt, 0, sizeof *nt);
            nt->t = e->t;
            snprintf(nt->kind, sizeof nt->kind, "%s", e->name);
            snprintf(nt->detail, sizeof nt->detail, "%s", e->detail ? e->detail : "");
            E->ncrash++;
        }
    }
    return 0;
}

/* ---- findings ------------------------------------------------------------------------------ */

typedef struct diag {
    cJSON *root;
    cJSON *sec[DIAGNOSE_NSECTIONS + 1]; /* findings arrays */
    diagnose_sev worst[DIAGNOSE_NSECTIONS + 1];
} diag;

static cJSON *finding(diag *d, int sec, diagnose_sev sev, const char *key, const char *advice,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static cJSON *finding(diag *d, int sec, diagnose_sev sev, const char *key, const char *advice,
                      const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "severity", diagnose_sev_name(sev));
    cJSON_AddStringToObject(f, "finding", what);
    cJSON_AddItemToObject(f, "values", cJSON_CreateObject());
    cJSON_AddItemToObject(f, "evidence", cJSON_CreateArray());
    if (advice)
        cJSON_AddStringToObject(f, "advice", advice);
    if (key)
        cJSON_AddStringToObject(f, "key", key);
    cJSON_AddItemToArray(d->sec[sec], f);
    if (sev > d->worst[sec])
        d->worst[sec] = sev;
    return f;
}

static void val(cJSON *f, const char *name, double v)
{
    cJSON *vals = cJSON_GetObjectItemCaseSensitive(f, "values");
    if (isfinite(v))
        cJSON_AddNumberToObject(vals, name, v);
    else
        cJSON_AddNullToObject(vals, name);
}

static void val_str(cJSON *f, const char *name, const char *v)
{
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(f, "values"), name, v);
}

static void ev(cJSON *f, const char *line)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(f, "evidence"), cJSON_CreateString(line));
}

/* The first and the last lines of a class as evidence (at most FIRST + RING). */
static void ev_class(cJSON *f, const logclass *c)
{
    int shown = 0;
    for (int i = 0; i < c->nfirst; i++, shown++)
        ev(f, c->first[i]);
    long rest = c->count - c->nfirst;
    int from = rest < c->nring ? c->nring - (int)rest : 0;
    if (rest > c->nring) {
        char more[64];
        snprintf(more, sizeof more, "... %ld more lines ...", rest - c->nring);
        ev(f, more);
    }
    for (int i = from; i < c->nring && rest > 0; i++) {
        int idx = (c->ring_pos - c->nring + i + RING) % RING;
        ev(f, c->ring[idx]);
    }
    (void)shown;
}

static void fmt_time(double t, char *buf, size_t n)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&s, &tm)) {
        snprintf(buf, n, "?");
        return;
    }
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- section 1: memory ----------------------------------------------------------------- */

typedef struct mdrows {
    size_t n;
    double t[MAX_MD];
    double mem[SMAPS_NKINDS][MAX_MD];
    double fd[FDSCAN_NTYPES][MAX_MD];
    unsigned zombies_max;
    long zombie_ppid;
    char zombie_parent[256];
    char first_phase[16], last_phase[16];
} mdrows;

static int on_md(void *ud, const store_memdetail *m)
{
    mdrows *R = ud;
    if (m->zombies > R->zombies_max) {
        R->zombies_max = m->zombies;
        R->zombie_ppid = m->zombie_ppid;
        snprintf(R->zombie_parent, sizeof R->zombie_parent, "%s", m->zombie_parent);
    }
    if (m->procs == 0)
        return 0; /* no smaps read: a pass for zombies, or the tree was gone */
    if (R->n >= MAX_MD)
        return 0;
    if (R->n == 0)
        snprintf(R->first_phase, sizeof R->first_phase, "%s", m->phase);
    snprintf(R->last_phase, sizeof R->last_phase, "%s", m->phase);
    R->t[R->n] = m->t;
    for (int k = 0; k < SMAPS_NKINDS; k++)
        R->mem[k][R->n] = (double)m->mem[k];
    for (int k = 0; k < FDSCAN_NTYPES; k++)
        R->fd[k][R->n] = (double)m->fd[k];
    R->n++;
    return 0;
}

/* Per hour slope of y over the rows: Theil-Sen, or the naive slope with 2 rows; NAN without. */
static double slope_ph(const mdrows *R, const double *y)
{
    if (R->n < 2 || !(R->t[R->n - 1] > R->t[0]))
        return NAN;
    leakstat_fit fit;
    if (R->n > 2 && leakstat_theil_sen(R->t, y, NULL, R->n, 0.95, &fit) == 0)
        return fit.slope * 3600.0;
    return (y[R->n - 1] - y[0]) / (R->t[R->n - 1] - R->t[0]) * 3600.0;
}

static const char *kind_advice(int k)
{
    switch (k) {
    case SMAPS_HEAP:
        return "look at small allocations that are kept: lists, maps and caches that grow and "
               "are never trimmed";
    case SMAPS_ANON:
        return "look at large allocations or a memory-mapped cache";
    case SMAPS_STACK:
        return "look at threads that are started and never joined";
    case SMAPS_FILE:
        return "look at files mapped and never unmapped";
    default:
        return "look at shared memory segments that are created and never removed";
    }
}

static double gate_threshold(const opts *o, const char *gate, double def)
{
    for (size_t i = 0; i < o->ngates; i++)
        if (!strcmp(o->gate_names[i], gate)) {
            gate_expr g;
            char why[128];
            if (gate_parse(o->gate_exprs[i], strlen(o->gate_exprs[i]), &g, why, sizeof why) == 0)
                return g.threshold;
        }
    return def;
}

static void section_memory(diag *d, const opts *o, samplesum *S, const mdrows *R, const logdata *L)
{
    diagnose_sev mem_sev = DIAG_INFO;
    double thr = gate_threshold(o, "memory_growth", 10);
    leakstat_opts lo;
    cntrend_leak_opts(o, thr * MB / 3600.0, &lo);
    leakstat_result *res = calloc(1, sizeof *res);
    int have = 0;
    if (res && S->rss.n &&
        leakstat_analyze(S->rss.t, S->rss.y, S->rss.seg, S->rss.n, &lo, res) == 0)
        have = !res->insufficient;
    cJSON *f;
    if (!have) {
        f = finding(d, 1, DIAG_INFO, "leak_min_span", "run longer, or lower leak_min_span",
                    "too little memory data for a growth verdict (%zu samples)", S->rss.n);
    } else {
        double s = res->fit.slope * 3600 / MB, lo_ = res->fit.lo * 3600 / MB,
               hi = res->fit.hi * 3600 / MB;
        int leak = res->leak || (o->leak_rule == OPTS_LEAK_NOT_SHOWN_BELOW && !res->below);
        double start = NAN;
        for (size_t i = 0; i < res->nsegments; i++)
            if (res->segments[i].pooled) {
                start = res->segments[i].t0 + res->segments[i].warmup_s;
                break;
            }
        char ts[32];
        fmt_time(start, ts, sizeof ts);
        diagnose_sev sev = leak ? DIAG_FAIL : res->below ? DIAG_OK : DIAG_WARN;
        mem_sev = sev;
        f = finding(d, 1, sev, "gates.memory_growth",
                    leak         ? "find what grows (the kinds below), then bound it"
                    : res->below ? NULL
                                 : "run longer to show the growth under the threshold",
                    "memory (rss) grows %+.2f MB/h, 95%% interval %+.2f to %+.2f, from %s "
                    "(threshold %g MB/h): %s",
                    s, lo_, hi, ts, thr,
                    leak         ? "a leak"
                    : res->below ? "no leak"
                                 : "growth not shown to be under the threshold");
        val(f, "growth_mb_per_hour", s);
        val(f, "interval_lo", lo_);
        val(f, "interval_hi", hi);
        val(f, "threshold_mb_per_hour", thr);
        val(f, "growth_start", start);
    }
    free(res);
    /* which kind of memory grew */
    if (R->n >= 2) {
        double sl[SMAPS_NKINDS], best = 0;
        int bk = -1;
        char text[768];
        size_t k = 0;
        for (int i = 0; i < SMAPS_NKINDS; i++) {
            sl[i] = slope_ph(R, R->mem[i]) / MB;
            if (isfinite(sl[i]) && sl[i] > best) {
                best = sl[i];
                bk = i;
            }
        }
        /* grew: at least 1 MB/h and 1 MB more at the end, or the noise of a short run of a
         * small service would read as growth */
        double total0 = 0;
        for (int i = 0; i < SMAPS_NKINDS; i++)
            total0 += R->mem[i][0];
        int grew_k[SMAPS_NKINDS];
        for (int i = 0; i < SMAPS_NKINDS; i++) {
            double rise = R->mem[i][R->n - 1] - R->mem[i][0];
            grew_k[i] = isfinite(sl[i]) && sl[i] >= 1.0 && rise >= 1e6 && rise >= 0.05 * total0;
        }
        if (bk >= 0 && !grew_k[bk])
            bk = -1;
        for (int i = 0; i < SMAPS_NKINDS && k < sizeof text; i++) {
            const char *sep = k ? ", " : "", *label = smaps_kind_label((smaps_kind)i);
            if (grew_k[i])
                k += (size_t)snprintf(text + k, sizeof text - k, "%s%s %+.1f MB/h", sep, label,
                                      sl[i]);
            else
                k += (size_t)snprintf(text + k, sizeof text - k, "%s%s flat", sep, label);
        }
        int grew = bk >= 0;
        /* which kind grew matters when memory grows: otherwise it is the start of a short run */
        f = finding(d, 1,
                    !grew                  ? DIAG_OK
                    : mem_sev >= DIAG_WARN ? DIAG_WARN
                                           : DIAG_INFO,
                    grew ? "memory_detail" : NULL, grew ? kind_advice(bk) : NULL, "%s%s%s", text,
                    grew ? ": " : "", grew ? kind_advice(bk) : "");
        val_str(f, "grew_most", grew ? smaps_kind_label((smaps_kind)bk) : "none");
        for (int i = 0; i < SMAPS_NKINDS; i++) {
            char nm[64];
            snprintf(nm, sizeof nm, "%s_mb_per_hour", smaps_kind_key((smaps_kind)i));
            val(f, nm, sl[i]);
        }
        val(f, "slow_passes", (double)R->n);
    } else {
        finding(d, 1, DIAG_INFO, "memory_detail_interval",
                "lower memory_detail_interval to see which kind of memory grows",
                "fewer than 2 smaps readings (%zu): the kind of memory that grew is not known",
                R->n);
    }
    /* fds and threads */
    static const char *const gate_of[CNTREND_N] = {"fds", "threads"};
    static const double def_thr[CNTREND_N] = {10, 5};
    for (int w = 0; w < CNTREND_N; w++) {
        cntrend ct;
        double t = gate_threshold(o, gate_of[w], def_thr[w]);
        const char *what = w == CNTREND_FDS ? "open fds" : "threads";
        char key[64];
        snprintf(key, sizeof key, "gates.%s", gate_of[w]);
        if (cntrend_eval(&S->cnt, (cntrend_which)w, o, t, &ct) || ct.insufficient) {
            finding(d, 1, DIAG_INFO, "leak_min_span", NULL, "too little data for a %s verdict",
                    what);
            continue;
        }
        diagnose_sev sev = ct.leak || !ct.below ? (ct.leak ? DIAG_FAIL : DIAG_WARN) : DIAG_OK;
        char types[256] = "";
        if (w == CNTREND_FDS && R->n >= 2) {
            double best = 0;
            int bt = -1;
            for (int i = 0; i < FDSCAN_NTYPES; i++) {
                double s = slope_ph(R, R->fd[i]);
                if (isfinite(s) && s > best) {
                    best = s;
                    bt = i;
                }
            }
            if (bt >= 0 && best > 0)
                snprintf(types, sizeof types, "; %s grew most (%+.0f/h, %g at the last reading)",
                         fdscan_type_label((fdscan_type)bt), best, R->fd[bt][R->n - 1]);
        }
        cJSON *g = finding(
            d, 1, sev, key,
            sev == DIAG_OK ? NULL
            : w == CNTREND_FDS
                ? "close what is opened, in error paths too (a with-block, a defer, a cleanup)"
                : "join or reuse threads (a bounded pool)",
            "%s %s %+.1f/h (95%% interval %+.1f to %+.1f, threshold %g/h), %g at first, %g at "
            "most%s",
            what, ct.leak ? "leak:" : "grow", ct.slope_ph, ct.lo_ph, ct.hi_ph, t, ct.first, ct.max,
            types);
        val(g, "growth_per_hour", ct.slope_ph);
        val(g, "first", ct.first);
        val(g, "max", ct.max);
    }
    if (R->n >= 1) {
        char text[256];
        size_t k = 0;
        for (int i = 0; i < FDSCAN_NTYPES && k < sizeof text; i++)
            k += (size_t)snprintf(text + k, sizeof text - k, "%s%s %g", i ? ", " : "",
                                  fdscan_type_label((fdscan_type)i), R->fd[i][R->n - 1]);
        cJSON *g =
            finding(d, 1, DIAG_INFO, NULL, NULL, "fds by type at the last reading: %s", text);
        for (int i = 0; i < FDSCAN_NTYPES; i++)
            val(g, fdscan_type_key((fdscan_type)i), R->fd[i][R->n - 1]);
    }
    const logclass *c = &L->c[DIAGLOG_MEMORY];
    if (c->count) {
        cJSON *g =
            finding(d, 1, DIAG_WARN, NULL,
                    "read them: an allocation that failed, an OOM, a service's own "
                    "memory warning",
                    "%ld log lines about memory (memory|oom|allocation|MemoryError)", c->count);
        ev_class(g, c);
        val(g, "lines", (double)c->count);
    }
}

/* ---- section 2: websocket ------------------------------------------------------------------ */

typedef struct mseries {
    size_t n;
    double t0, v0, t1, v1, max;
    double *vals; /* NULL: not kept */
    size_t cap;
} mseries;

static int on_metric(void *ud, double t, double v)
{
    mseries *m = ud;
    if (!isfinite(v))
        return 0;
    if (m->n == 0) {
        m->t0 = t;
        m->v0 = v;
        m->max = v;
    }
    m->t1 = t;
    m->v1 = v;
    if (v > m->max)
        m->max = v;
    if (m->vals && m->n < m->cap)
        m->vals[m->n] = v;
    m->n++;
    return 0;
}

static void section_ws(diag *d, runrec *rr, const opts *o, const samplesum *S, const logdata *L)
{
    (void)o;
    mseries m = {0};
    double hours = S->t1 > S->t0 ? (S->t1 - S->t0) / 3600.0 : 0;
    runrec_metric(rr, "ws_reconnect_attempts_total", "", 0, on_metric, &m);
    const logclass *rc = &L->c[DIAGLOG_RECONNECT];
    double rate = NAN;
    const char *src = NULL;
    if (m.n >= 2 && m.t1 > m.t0) {
        rate = (m.v1 - m.v0) / ((m.t1 - m.t0) / 3600.0);
        src = "ws_reconnect_attempts_total";
    } else if (rc->count && hours > 0) {
        rate = (double)rc->count / hours;
        src = "reconnect log lines";
    }
    if (src) {
        cJSON *f =
            finding(d, 2,
                    rate >= 10 ? DIAG_FAIL
                    : rate > 0 ? DIAG_INFO
                               : DIAG_OK,
                    rate >= 10 ? "gates.ws_reconnects" : NULL,
                    rate >= 10 ? "find why connections drop (timeouts, refusals, rate "
                                 "limits below); raise the service's max_reconnect_delay "
                                 "when it reconnects too fast"
                               : NULL,
                    "%.1f reconnects per hour (from %s; the runbook's bar is 10)", rate, src);
        val(f, "reconnects_per_hour", rate);
        val_str(f, "source", src);
        if (rc->count)
            ev_class(f, rc);
    } else {
        finding(d, 2, DIAG_OK, NULL, NULL, "no reconnects (nothing scraped, no reconnect line)");
    }
    if (L->ndelays >= 3) {
        double growth, cap;
        diaglog_backoff b = diaglog_backoff_check(L->delays, L->ndelays, &growth, &cap);
        char list[256];
        size_t k = 0;
        for (size_t i = 0; i < L->ndelays && i < 10 && k < sizeof list; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%g", i ? ", " : "", L->delays[i]);
        cJSON *f;
        if (b == DIAGLOG_BACKOFF_EXPONENTIAL)
            f = finding(d, 2, DIAG_OK, NULL, NULL,
                        "backoff followed: delays %s%s s grow x%.1f, up to %g s", list,
                        L->ndelays > 10 ? " ..." : "", growth, cap);
        else
            f = finding(d, 2, DIAG_WARN, "max_reconnect_delay",
                        "reconnect with exponential backoff and jitter (1, 2, 4 ... s) capped at "
                        "the service's max_reconnect_delay",
                        "backoff not followed: the delays are %s (%s%s s)", diaglog_backoff_name(b),
                        list, L->ndelays > 10 ? " ..." : "");
        val_str(f, "backoff", diaglog_backoff_name(b));
        val(f, "delays", (double)L->ndelays);
        val(f, "growth", growth);
        val(f, "max_delay_s", cap);
        for (int i = 0; i < L->ndelay_lines; i++)
            ev(f, L->delay_lines[i]);
    }
    static const struct {
        int cls;
        const char *what, *key, *advice;
    } around[] = {
        {DIAGLOG_TIMEOUT, "timeout", "heartbeat_interval",
         "a keepalive that times out: lower the service's heartbeat_interval"},
        {DIAGLOG_REFUSED, "connection refused", NULL, "the far end was down or not listening"},
        {DIAGLOG_RATELIMIT, "rate-limit", NULL, "too many connections or requests: slow down"},
        {DIAGLOG_NETWORK, "network", NULL, "network instability (ISP, firewall, proxy)"},
    };
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
        const logclass *c = &L->c[around[i].cls];
        if (!c->count)
            continue;
        cJSON *f = finding(d, 2, rc->count ? DIAG_WARN : DIAG_INFO, around[i].key, around[i].advice,
                           "%ld %s lines", c->count, around[i].what);
        ev_class(f, c);
    }
    if (L->c[DIAGLOG_HEARTBEAT].count >= 2) {
        char ts[32];
        fmt_time(L->hb_gap_at, ts, sizeof ts);
        cJSON *f = finding(d, 2, L->hb_gap > 60 ? DIAG_WARN : DIAG_OK,
                           L->hb_gap > 60 ? "heartbeat_interval" : NULL,
                           L->hb_gap > 60 ? "no message for over 60 s: lower the service's "
                                            "heartbeat_interval, reconnect on a stale stream"
                                          : NULL,
                           "ping/pong/heartbeat lines: %ld, largest gap %.1f s (ending %s)",
                           L->c[DIAGLOG_HEARTBEAT].count, L->hb_gap, ts);
        val(f, "largest_gap_s", L->hb_gap);
    }
}

/* ---- section 3: orphan orders ------------------------------------------------------------- */

static void section_orders(diag *d, runrec *rr, const opts *o, const evsum *E, const logdata *L)
{
    mseries m = {0};
    runrec_metric(rr, "orphan_orders", "", 0, on_metric, &m);
    if (m.n) {
        cJSON *f = finding(d, 3, m.v1 > 0 ? DIAG_FAIL : DIAG_OK, m.v1 > 0 ? "stop_timeout" : NULL,
                           m.v1 > 0 ? "cancel the leftovers now (e.g. mmbot cancel-all); make "
                                      "shutdown cancel all orders with retries, and give it "
                                      "time (stop_timeout)"
                                    : NULL,
                           "the post-check found %g open orders after the run", m.v1);
        val(f, "orphan_orders", m.v1);
    } else {
        finding(d, 3, DIAG_INFO, "gates.orphan_orders", NULL,
                "no orphan_orders post-check recorded: what is left on the exchange is not known");
    }
    double stop_s = (double)o->stop_timeout_ms / 1000.0;
    if (L->shutdowns) {
        cJSON *f;
        if (!L->sd_cancel_all)
            f = finding(d, 3, DIAG_WARN, NULL,
                        "the shutdown must call cancel_all before it exits (with retries)",
                        "shutdown began but no cancel_all line followed it");
        else
            f = finding(d, 3, DIAG_OK, NULL, NULL, "shutdown lines found, then cancel_all%s",
                        L->sd_cancelled_seen ? " and Cancelled N" : "");
        ev(f, L->sd_line);
        if (L->sd_cancelled_seen)
            val(f, "cancelled", (double)L->sd_cancelled);
        val(f, "shutdowns", (double)L->shutdowns);
        val(f, "shutdowns_without_cancel_all", (double)L->shutdowns_without_cancel);
    } else if (E->count[STORE_EV_STOP]) {
        finding(d, 3, DIAG_WARN, NULL,
                "log the shutdown ('Shutting down', 'cancel_all', 'Cancelled N orders'); without "
                "those lines a clean stop cannot be told from a killed one",
                "soak stopped the service %ld times but no shutdown line appeared "
                "(Shutting down|stop()), nor cancel_all",
                E->count[STORE_EV_STOP]);
    }
    if (E->stops_timed) {
        int killed = E->count[STORE_EV_STOP_KILL] > 0;
        cJSON *f = finding(d, 3, killed ? DIAG_WARN : DIAG_OK, killed ? "stop_timeout" : NULL,
                           killed ? "the service was killed before it finished: raise "
                                    "stop_timeout or make the shutdown faster"
                                  : NULL,
                           "the longest shutdown took %.1f s (stop_timeout %.0f s)%s",
                           E->longest_stop_s, stop_s, killed ? "; SIGKILL followed" : "");
        val(f, "shutdown_s", E->longest_stop_s);
        val(f, "stop_timeout_s", stop_s);
    }
    if (L->sd_errors) {
        cJSON *f = finding(d, 3, DIAG_WARN, NULL,
                           "an exception in cancel_all leaves orders open: retry it",
                           "%ld error lines during shutdown", L->sd_errors);
        for (long i = 0; i < L->sd_errors && i < 3; i++)
            ev(f, L->sd_error_lines[i]);
    }
}

/* ---- section 4: disk ----------------------------------------------------------------------- */

typedef struct bigfile {
    char name[256];
    long long size;
} bigfile;

static void largest(const char *dir, const char *rel, bigfile *top, int ntop, int depth)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *dd = opendir(path);
    if (!dd)
        return;
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(dd)) != NULL && seen++ < 10000) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char r2[256], p2[PATH_MAX + 256];
        snprintf(r2, sizeof r2, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(p2, sizeof p2, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p2, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 3)
                largest(dir, r2, top, ntop, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        for (int i = 0; i < ntop; i++)
            if ((long long)st.st_size > top[i].size) {
                memmove(&top[i + 1], &top[i], sizeof top[0] * (size_t)(ntop - i - 1));
                snprintf(top[i].name, sizeof top[i].name, "%s", r2);
                top[i].size = (long long)st.st_size;
                break;
            }
    }
    closedir(dd);
}

static void section_disk(diag *d, const char *dir, const opts *o, const samplesum *S,
                         const evsum *E, const logdata *L)
{
    bigfile top[5];
    memset(top, 0, sizeof top);
    for (int i = 0; i < 5; i++)
        top[i].size = -1;
    largest(dir, "", top, 5, 0);
    cJSON *f = finding(d, 4, DIAG_INFO, NULL, NULL, "the largest files of the run folder");
    for (int i = 0; i < 5 && top[i].size >= 0; i++) {
        char line[400], sz[32];
        units_format_bytes((uint64_t)top[i].size, sz, sizeof sz);
        snprintf(line, sizeof line, "%10s  %s", sz, top[i].name);
        ev(f, line);
    }
    long rot = E->count[STORE_EV_ROTATION], gz = E->count[STORE_EV_COMPRESSED],
         cl = E->count[STORE_EV_CLEANUP];
    /* compression can end after the last event was stored (at the end of the run): the .gz
     * files in the folder count too */
    if (L->gz_files > gz)
        gz = L->gz_files;
    double span_h = E->last_t[STORE_EV_ROTATION] - E->first_t[STORE_EV_ROTATION];
    char every[64] = "";
    if (rot > 1)
        snprintf(every, sizeof every, " (every %.1f s on average)", span_h / (double)(rot - 1));
    f = finding(d, 4, DIAG_OK, NULL, NULL,
                "rotation ran %ld times%s, compression %ld, cleanup %ld; %d log files read (%d "
                "gzipped)",
                rot, every, gz, cl, L->files, L->gz_files);
    val(f, "rotations", (double)rot);
    val(f, "compressed", (double)gz);
    val(f, "cleanups", (double)cl);
    if (L->c[DIAGLOG_CLEANUP].count)
        ev_class(f, &L->c[DIAGLOG_CLEANUP]);
    double quota = (double)o->artifacts_quota;
    double peak = (double)S->art_max;
    char a[32], b[32];
    units_format_bytes(S->art_max, a, sizeof a);
    units_format_bytes(o->artifacts_quota, b, sizeof b);
    f = finding(d, 4,
                peak >= quota         ? DIAG_FAIL
                : peak >= 0.8 * quota ? DIAG_WARN
                                      : DIAG_OK,
                peak >= 0.8 * quota ? "max_log_files" : NULL,
                peak >= 0.8 * quota ? "lower max_log_files or max_log_size, or raise "
                                      "artifacts_quota"
                                    : NULL,
                "artifacts peaked at %s (quota %s, %.0f%%)", a, b,
                quota > 0 ? 100 * peak / quota : 0);
    val(f, "artifacts_peak_bytes", peak);
    val(f, "artifacts_quota_bytes", quota);
    double rate = S->art_t1 > S->art_t0 ? ((double)S->art_last - (double)S->art_first) /
                                              ((S->art_t1 - S->art_t0) / 3600.0)
                                        : 0;
    if (rate > 0 && S->free_last > 0) {
        double h = (double)S->free_last / rate;
        units_format_bytes((uint64_t)rate, a, sizeof a);
        f = finding(d, 4, h < 24 ? DIAG_WARN : DIAG_OK, h < 24 ? "artifacts_quota" : NULL,
                    h < 24 ? "the disk fills within a day: cap the folder (artifacts_quota, "
                             "min_free_disk)"
                           : NULL,
                    "the artifacts grew %s/h: the free disk lasts %.1f h at that rate", a, h);
        val(f, "growth_bytes_per_hour", rate);
        val(f, "hours_to_full", h);
    } else {
        finding(d, 4, DIAG_OK, NULL, NULL, "the artifacts folder did not grow at the end");
    }
    if (E->count[STORE_EV_DISK_LOW] || E->count[STORE_EV_DB_CAPPED] ||
        E->count[STORE_EV_LOG_DROPPED]) {
        f = finding(d, 4, DIAG_WARN, "min_free_disk",
                    "free space ran low or the quota was reached: logs were cut or dropped",
                    "disk low %ld times, samples.db capped %ld times, log bytes dropped %ld "
                    "times",
                    E->count[STORE_EV_DISK_LOW], E->count[STORE_EV_DB_CAPPED],
                    E->count[STORE_EV_LOG_DROPPED]);
        if (E->count[STORE_EV_DISK_LOW])
            ev(f, E->last_detail[STORE_EV_DISK_LOW]);
    }
}

/* ---- section 5: zombies -------------------------------------------------------------------- */

static void section_zombies(diag *d, const samplesum *S, const mdrows *R, const logdata *L)
{
    if (!S->zombies_max && !R->zombies_max) {
        finding(d, 5, DIAG_OK, NULL, NULL, "no zombie seen");
        return;
    }
    unsigned peak = S->zombies_max > R->zombies_max ? S->zombies_max : R->zombies_max;
    cJSON *f;
    if (R->zombie_ppid > 0)
        f = finding(d, 5, DIAG_FAIL, "gates.zombies",
                    "the parent must wait() for its children (subprocess.Popen without wait(), "
                    "a SIGCHLD handler that reaps them)",
                    "up to %u zombies for %.0f s, held by parent pid %ld (%s)", peak, S->zombie_s,
                    R->zombie_ppid, R->zombie_parent);
    else
        f = finding(d, 5, DIAG_FAIL, "memory_detail_interval",
                    "the parent must wait() for its children; lower memory_detail_interval to "
                    "record which parent held them",
                    "up to %u zombies for %.0f s; their parent was not recorded", peak,
                    S->zombie_s);
    val(f, "zombies_max", peak);
    val(f, "zombie_seconds", S->zombie_s);
    val(f, "parent_pid", (double)R->zombie_ppid);
    val_str(f, "parent_command", R->zombie_parent);
    if (L->c[DIAGLOG_ZOMBIE].count)
        ev_class(f, &L->c[DIAGLOG_ZOMBIE]);
}

/* ---- section 6: REST latency -------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void section_rest(diag *d, runrec *rr, const logdata *L)
{
    mseries m = {0};
    m.cap = DIAGNOSE_MAX_POINTS;
    m.vals = malloc(m.cap * sizeof *m.vals);
    gate_expr g;
    char why[64], labels[512];
    const char *ge = "p99(latency_ms{stage=\"rest\"}) < 1";
    if (m.vals && gate_parse(ge, strlen(ge), &g, why, sizeof why) == 0) {
        gate_labels_text(&g, labels, sizeof labels);
        runrec_metric(rr, "latency_ms", labels, 0, on_metric, &m);
    }
    if (m.n && m.vals) {
        size_t n = m.n < m.cap ? m.n : m.cap;
        qsort(m.vals, n, sizeof *m.vals, cmp_dbl);
        double p50 = m.vals[n / 2], p95 = m.vals[(size_t)(0.95 * (double)(n - 1))],
               p99 = m.vals[(size_t)(0.99 * (double)(n - 1))];
        cJSON *f = finding(
            d, 6, p99 > 500 ? DIAG_WARN : DIAG_OK, p99 > 500 ? "connection_pool.limit" : NULL,
            p99 > 500 ? "calls over 500 ms: see the pool and rate limits below" : NULL,
            "latency_ms{stage=\"rest\"}: p50 %g, p95 %g, p99 %g ms (%zu points)", p50, p95, p99,
            m.n);
        val(f, "p50_ms", p50);
        val(f, "p95_ms", p95);
        val(f, "p99_ms", p99);
    } else {
        finding(d, 6, DIAG_INFO, "metrics_url", "scrape the service's /metrics (metrics_url)",
                "latency_ms{stage=\"rest\"} was not scraped");
    }
    free(m.vals);
    mseries w = {0};
    runrec_metric(rr, "http_pool_requests_waiting", "", 0, on_metric, &w);
    if (w.n) {
        cJSON *f = finding(d, 6, w.max > 0 ? DIAG_WARN : DIAG_OK,
                           w.max > 0 ? "connection_pool.limit" : NULL,
                           w.max > 0 ? "requests waited for a connection: raise the service's "
                                       "connection_pool.limit and limit_per_host"
                                     : NULL,
                           "http_pool_requests_waiting peaked at %g", w.max);
        val(f, "waiting_max", w.max);
    }
    if (L->c[DIAGLOG_POOL].count) {
        cJSON *f = finding(d, 6, DIAG_WARN, "connection_pool.limit", NULL, "%ld pool-limit lines",
                           L->c[DIAGLOG_POOL].count);
        ev_class(f, &L->c[DIAGLOG_POOL]);
    }
    if (L->c[DIAGLOG_RATELIMIT].count) {
        cJSON *f = finding(d, 6, DIAG_WARN, NULL,
                           "pace requests from the rate-limit headers; batch where possible",
                           "%ld 429 or rate-limit lines", L->c[DIAGLOG_RATELIMIT].count);
        ev_class(f, &L->c[DIAGLOG_RATELIMIT]);
    }
    if (L->c[DIAGLOG_DNS].count) {
        cJSON *f = finding(d, 6, DIAG_INFO, NULL, "slow or failing name resolution: cache it",
                           "%ld DNS lines", L->c[DIAGLOG_DNS].count);
        ev_class(f, &L->c[DIAGLOG_DNS]);
    }
}

/* ---- section 7: crash or hang --------------------------------------------------------------- */

static void section_crash(diag *d, const char *dir, const opts *o, const evsum *E,
                          const samplesum *S, const logdata *L)
{
    if (E->ncrash)
        logscan_find(dir, E->notes, E->ncrash);
    for (int i = 0; i < E->ncrash; i++) {
        const logscan_note *nt = &E->notes[i];
        char ts[32];
        fmt_time(nt->t, ts, sizeof ts);
        int hang = !strcmp(nt->kind, "hang");
        int oom = !strcmp(nt->kind, "oom_kill"), oom_s = !strcmp(nt->kind, "oom_suspected");
        cJSON *f = finding(
            d, 7, DIAG_FAIL,
            hang           ? "heartbeat_timeout"
            : oom || oom_s ? "gates.memory_growth"
                           : "restart",
            hang    ? "the service stopped printing its heartbeat: a deadlock or a loop without "
                      "progress; add a watchdog, or raise heartbeat_timeout if it is only slow"
            : oom   ? "the kernel killed it for memory: see section 1, or give it more memory"
            : oom_s ? "a SIGKILL soak did not send: likely the OOM killer (section 1)"
                    : "read the last lines below: an unhandled exception in a critical path",
            "%s at %s: %s%s",
            hang    ? "hang"
            : oom   ? "OOM kill (confirmed)"
            : oom_s ? "OOM kill (suspected)"
                    : "crash",
            ts, nt->detail, nt->found ? "" : " (no log line found around it)");
        val_str(f, "kind", nt->kind);
        val(f, "t", nt->t);
        for (int k = 0; k < nt->nlines; k++)
            ev(f, nt->lines[k]);
    }
    if (E->count[STORE_EV_RESTART]) {
        cJSON *f = finding(d, 7, DIAG_INFO, "restart_delay_max", NULL,
                           "%ld restarts; the longest backoff before one was %.1f s "
                           "(restart_delay_max %.0f s)",
                           E->count[STORE_EV_RESTART], E->max_value[STORE_EV_RESTART_SCHEDULED],
                           (double)o->restart_delay_max_ms / 1000.0);
        val(f, "restarts", (double)E->count[STORE_EV_RESTART]);
    }
    if (E->count[STORE_EV_START_LIMIT])
        ev(finding(d, 7, DIAG_FAIL, "start_limit_burst", "fix the crash first",
                   "soak gave up restarting it (start limit)"),
           E->last_detail[STORE_EV_START_LIMIT]);
    if (S->hb_age_max > 0) {
        double to = (double)o->heartbeat_timeout_ms / 1000.0;
        cJSON *f = finding(
            d, 7, S->hb_age_max > to / 2 && !E->count[STORE_EV_HANG] ? DIAG_WARN : DIAG_OK,
            S->hb_age_max > to / 2 ? "heartbeat_timeout" : NULL, NULL,
            "the longest heartbeat gap was %.1f s (heartbeat_timeout %.0f s)", S->hb_age_max, to);
        val(f, "heartbeat_gap_s", S->hb_age_max);
    }
    if (!E->ncrash && L->c[DIAGLOG_ERROR].count) {
        cJSON *f = finding(d, 7, DIAG_INFO, NULL, NULL, "%ld error or exception lines",
                           L->c[DIAGLOG_ERROR].count);
        ev_class(f, &L->c[DIAGLOG_ERROR]);
    }
    if (!E->ncrash && !E->count[STORE_EV_START_LIMIT])
        finding(d, 7, DIAG_OK, NULL, NULL, "no crash, no hang");
}

/* ---- section 8: security ---------------------------------------------------------------- */

static cJSON *read_json_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 22);
    size_t n = buf ? fread(buf, 1, (1 << 22) - 1, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

static void section_security(diag *d, const char *dir)
{
    cJSON *j = read_json_file(dir, "security.json");
    if (!j) {
        finding(d, 8, DIAG_INFO, "gates.security", "run an audit (soak audit) into the run folder",
                "no data: no security.json in the run folder");
        return;
    }
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "security_critical_high");
    double n = cJSON_IsNumber(ch) ? ch->valuedouble : NAN;
    char what[96];
    if (isfinite(n))
        snprintf(what, sizeof what, "%.0f critical or high vulnerabilities", n);
    else
        snprintf(what, sizeof what, "security.json has no security_critical_high");
    cJSON *f = finding(d, 8,
                       !isfinite(n) ? DIAG_INFO
                       : n > 0      ? DIAG_FAIL
                                    : DIAG_OK,
                       n > 0 ? "gates.security" : NULL,
                       n > 0 ? "upgrade the packages named (pip-audit --fix, cargo update); "
                               "ignore a false positive by its id, sparingly"
                             : NULL,
                       "%s", what);
    val(f, "security_critical_high", n);
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(j, "counts");
    const cJSON *c;
    cJSON_ArrayForEach(c, counts)
    {
        if (cJSON_IsNumber(c) && c->string)
            val(f, c->string, c->valuedouble);
    }
    cJSON_Delete(j);
}

int diagnose_gate_failed(const char *dir, const char *name)
{
    cJSON *v = read_json_file(dir, "verdict.json");
    if (!v)
        return -1;
    int failed = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(v, "gates"))
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "status");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(g, "name");
        if (cJSON_IsString(nm) && cJSON_IsString(st) && !strcmp(nm->valuestring, name) &&
            !strcmp(st->valuestring, "fail"))
            failed = 1;
    }
    cJSON_Delete(v);
    return failed;
}

/* ---- gates ------------------------------------------------------------------------------- */

static void link_gates(diag *d, const char *dir)
{
    cJSON *v = read_json_file(dir, "verdict.json");
    if (!v)
        return;
    const cJSON *g;
    cJSON *arr = cJSON_AddArrayToObject(d->root, "failing_gates");
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(v, "gates"))
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "status");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(g, "expression");
        const cJSON *optional = cJSON_GetObjectItemCaseSensitive(g, "optional");
        if (!cJSON_IsString(st) || !cJSON_IsString(nm) || !strcmp(st->valuestring, "pass") ||
            (cJSON_IsTrue(optional) && !strcmp(st->valuestring, "no-data")))
            continue;
        int sec = diagnose_gate_section(nm->valuestring, cJSON_IsString(ex) ? ex->valuestring : "");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", nm->valuestring);
        cJSON_AddStringToObject(o, "status", st->valuestring);
        cJSON_AddNumberToObject(o, "section", sec);
        cJSON_AddItemToArray(arr, o);
        if (sec > 0) {
            cJSON *f = finding(d, sec, DIAG_INFO, NULL, NULL, "gate '%s' %s: %s", nm->valuestring,
                               !strcmp(st->valuestring, "fail") ? "failed" : "has no data",
                               cJSON_IsString(ex) ? ex->valuestring : "");
            val_str(f, "gate", nm->valuestring);
        }
    }
    cJSON_Delete(v);
}

/* ---- output --------------------------------------------------------------------------- */

static void print_text(const diag *d, const char *dir, int only)
{
    int order[DIAGNOSE_NSECTIONS], n = 0;
    for (int s = DIAG_FAIL; s >= DIAG_OK; s--)
        for (int i = 1; i <= DIAGNOSE_NSECTIONS; i++)
            if ((int)d->worst[i] == s && (!only || only == i))
                order[n++] = i;
    int bad = 0;
    for (int i = 1; i <= DIAGNOSE_NSECTIONS; i++)
        bad += d->worst[i] >= DIAG_WARN;
    printf("soak: diagnosis of %s: %d of 8 sections at warn or worse (%s/diagnosis.json)\n", dir,
           bad, dir);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        printf("\n%d. %s: %s\n", i, diagnose_section_title(i), diagnose_sev_name(d->worst[i]));
        const cJSON *f;
        cJSON_ArrayForEach(f, d->sec[i])
        {
            const char *sev = cJSON_GetObjectItemCaseSensitive(f, "severity")->valuestring;
            printf("  %-4s  %s\n", sev,
                   cJSON_GetObjectItemCaseSensitive(f, "finding")->valuestring);
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence"))
            {
                printf("        | %s\n", e->valuestring);
            }
            const cJSON *adv = cJSON_GetObjectItemCaseSensitive(f, "advice");
            const cJSON *key = cJSON_GetObjectItemCaseSensitive(f, "key");
            if (cJSON_IsString(adv))
                printf("        advice: %s%s%s%s\n", adv->valuestring,
                       cJSON_IsString(key) ? " (key: " : "",
                       cJSON_IsString(key) ? key->valuestring : "", cJSON_IsString(key) ? ")" : "");
        }
    }
}

int diagnose_run(const diagnose_args *a)
{
    static opts o;
    char err[512];
    int rc;
    runrec *rr = NULL;
    diag d;
    memset(&d, 0, sizeof d);
    samplesum *S = calloc(1, sizeof *S);
    evsum *E = calloc(1, sizeof *E);
    logdata *L = calloc(1, sizeof *L);
    mdrows *R = calloc(1, sizeof *R);
    logscan_note *notes = calloc(MAX_CRASHES, sizeof *notes);
    opts_init(&o);
    if (!S || !E || !L || !R || !notes || leakstat_stream_init(&S->rss, 0) ||
        cntrend_input_init(&S->cnt)) {
        fprintf(stderr, "soak: out of memory\n");
        rc = ERR_NOMEM;
        goto out;
    }
    E->notes = notes;
    if ((rc = runrec_open(a->run_dir, &rr, err, sizeof err)) != 0) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    if (analyze_load_run_config(a->run_dir, &o, err, sizeof err) != 0) {
        /* the defaults, said once */
        fprintf(stderr, "soak: %s (diagnosing with the default settings)\n", err);
    }
    if (runrec_stop_spans(rr, &S->stops, &S->nstops) || runrec_samples(rr, 0, on_sample, S) ||
        runrec_events(rr, RUNREC_EV_ALL, 0, 0, on_event, E)) {
        fprintf(stderr, "soak: cannot read '%s': %s\n", runrec_path(rr), runrec_errmsg(rr));
        rc = ERR_IO;
        goto out;
    }
    {
        sqlite3 *db = store_open_reader(runrec_path(rr), err, sizeof err);
        if (db) {
            store_memdetail_each(db, 0, on_md, R);
            sqlite3_close(db);
        }
    }
    scan_logs(a->run_dir, L);
    d.root = cJSON_CreateObject();
    cJSON_AddStringToObject(d.root, "run_dir", a->run_dir);
    char now[32];
    fmt_time((double)time(NULL), now, sizeof now);
    cJSON_AddStringToObject(d.root, "generated_at", now);
    cJSON_AddNumberToObject(d.root, "samples", (double)S->n);
    cJSON_AddNumberToObject(d.root, "log_lines", (double)L->lines);
    cJSON *secs = cJSON_AddArrayToObject(d.root, "sections");
    cJSON *sobj[DIAGNOSE_NSECTIONS + 1];
    for (int i = 1; i <= DIAGNOSE_NSECTIONS; i++) {
        sobj[i] = cJSON_CreateObject();
        cJSON_AddNumberToObject(sobj[i], "number", i);
        cJSON_AddStringToObject(sobj[i], "title", diagnose_section_title(i));
        d.sec[i] = cJSON_CreateArray();
        cJSON_AddItemToArray(secs, sobj[i]);
    }
    section_memory(&d, &o, S, R, L);
    section_ws(&d, rr, &o, S, L);
    section_orders(&d, rr, &o, E, L);
    section_disk(&d, a->run_dir, &o, S, E, L);
    section_zombies(&d, S, R, L);
    section_rest(&d, rr, L);
    section_crash(&d, a->run_dir, &o, E, S, L);
    section_security(&d, a->run_dir);
    link_gates(&d, a->run_dir);
    diagnose_sev worst = DIAG_OK;
    for (int i = 1; i <= DIAGNOSE_NSECTIONS; i++) {
        cJSON_AddStringToObject(sobj[i], "severity", diagnose_sev_name(d.worst[i]));
        cJSON_AddItemToObject(sobj[i], "findings", d.sec[i]);
        if (d.worst[i] > worst)
            worst = d.worst[i];
    }
    cJSON_AddStringToObject(d.root, "severity", diagnose_sev_name(worst));
    char *text = cJSON_Print(d.root);
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/diagnosis.json", a->run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = text ? fopen(tmp, "we") : NULL;
    int werr = !f || fputs(text, f) == EOF || fputc('\n', f) == EOF;
    if (f && fclose(f))
        werr = 1;
    if (werr || rename(tmp, path)) {
        fprintf(stderr, "soak: cannot write '%s': %s\n", path,
                text ? strerror(errno) : "out of memory");
        unlink(tmp);
        free(text);
        rc = text ? ERR_IO : ERR_NOMEM;
        goto out;
    }
    if (a->quiet) {
        printf("  diagnosis    %s/diagnosis.json (soak diagnose %s)\n", a->run_dir, a->run_dir);
    } else if (a->json) {
        if (a->section) {
            char *one = cJSON_Print(sobj[a->section]);
            if (one)
                puts(one);
            free(one);
        } else {
            puts(text);
        }
    } else {
        print_text(&d, a->run_dir, a->section);
    }
    free(text);
    rc = worst >= DIAG_WARN ? 1 : 0;
out:
    cJSON_Delete(d.root);
    runrec_close(rr);
    if (S) {
        leakstat_stream_free(&S->rss);
        cntrend_input_free(&S->cnt);
        free(S->stops);
    }
    free(S);
    free(E);
    free(L);
    free(R);
    free(notes);
    opts_free(&o);
    return rc;
}

static const char usage[] =
    "usage: soak diagnose RUN_DIR [--json] [--section N]\n"
    "\n"
    "The runbook's eight troubleshooting sections done on a run's data: memory (and which\n"
    "kind grew; fds, threads), websocket, orphan orders, disk, zombies, REST latency, crash or\n"
    "hang, security. Each finding has a severity, evidence and advice naming the key to\n"
    "change. Writes RUN_DIR/diagnosis.json; prints the failing sections first.\n"
    "  --json        print diagnosis.json instead of the text\n"
    "  --section N   only section N (1-8) in the output\n"
    "exit: 0 nothing at warn or worse, 1 something is, 2 usage or no run there, 3 the file\n"
    "cannot be written\n";

int diagnose_main(int argc, char **argv)
{
    diagnose_args a = {0};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(s, "--json"))
            a.json = 1;
        else if (!strcmp(s, "--section") || !strncmp(s, "--section=", 10)) {
            const char *v = s[9] == '=' ? s + 10 : i + 1 < argc ? argv[++i] : NULL;
            char *end;
            long n = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || n < 1 || n > DIAGNOSE_NSECTIONS) {
                fprintf(stderr, "soak: invalid section '%s': give 1 to 8\n", v ? v : "");
                return 2;
            }
            a.section = (int)n;
        } else if (s[0] == '-') {
            fprintf(stderr, "soak: unknown option '%s' (see 'soak diagnose --help')\n", s);
            return 2;
        } else if (!a.run_dir)
            a.run_dir = s;
        else {
            fprintf(stderr, "soak: unexpected '%s'\n", s);
            return 2;
        }
    }
    if (!a.run_dir) {
        fprintf(stderr, "soak: give a run folder\n\n%s", usage);
        return 2;
    }
    int rc = diagnose_run(&a);
    if (rc == 0 || rc == 1)
        return rc;
    return rc == ERR_IO || rc == ERR_NOMEM ? 3 : 2;
}
