/*
 * analyze: the verdict of a run. See analyze.h; formats in docs/soak-analyze.md.
 *
 * The series a gate names come from, in this order: the pseudo-series the analysis computes
 * (duration_s, memory_growth_mb_per_hour, crashes, hangs), a column of the samples table
 * (rss_bytes, zombies ...), the metrics table (scraped metrics, and pattern.NAME counters that
 * soak run stores there). Samples are read whole into memory (about 100 bytes a sample: a
 * 7-day run at 1 Hz takes some 60 MB) since the leak analysis needs the whole series.
 */
#include "analyze.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "csvseries.h"
#include "gate.h"
#include "leakstat.h"
#include "store.h"
#include "units.h"

#define MB 1048576.0

/* A growable array of doubles (bounded by the number of samples). */
typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        double *p = realloc(d->v, nc * sizeof *p);
        if (!p)
            return -1;
        d->v = p;
        d->cap = nc;
    }
    d->v[d->n++] = x;
    return 0;
}

static void dvec_free(dvec *d)
{
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

/* The columns of samples that gates may name, in table order after t. */
static const char *const sample_cols[] = {
    "rss_bytes", "pss_bytes", "cpu_percent",   "cpu_seconds",     "threads",
    "fds",       "procs",     "zombies",       "artifacts_bytes", "disk_free_bytes",
    "restarts",  "log_lines", "dropped_bytes", "heartbeat_age_s",
};
#define NCOLS (sizeof sample_cols / sizeof sample_cols[0])

/* Everything the analysis read. */
typedef struct run_data {
    sqlite3 *db;         /* NULL for a CSV import */
    const char *source;  /* "samples.db", "psrecord-csv", ... */
    dvec t;              /* sample times */
    dvec col[NCOLS];     /* NAN where NULL */
    double start, end;   /* run start and end (Unix s, or elapsed s for CSV) */
    int have_run_counts; /* crashes/hangs from the run record */
    double crashes, hangs;
    char metrics_url[OPTS_STR];
    char command[1024];
} run_data;

static int col_index(const char *name)
{
    for (size_t i = 0; i < NCOLS; i++)
        if (strcmp(sample_cols[i], name) == 0)
            return (int)i;
    return -1;
}

static void run_data_free(run_data *r)
{
    dvec_free(&r->t);
    for (size_t i = 0; i < NCOLS; i++)
        dvec_free(&r->col[i]);
    if (r->db)
        sqlite3_close(r->db);
}

static int load_db(const char *dir, run_data *r, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/samples.db", dir);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    r->db = store_open_reader(path, err, errlen);
    if (!r->db)
        return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT t, rss_bytes, pss_bytes, cpu_percent, cpu_seconds, threads, fds,"
                           " procs, zombies, artifacts_bytes, disk_free_bytes, restarts, log_lines,"
                           " dropped_bytes, heartbeat_age_s FROM samples ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "'%s' is not a soak run: %s", path, sqlite3_errmsg(r->db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double t = sqlite3_column_double(st, 0);
        if (!isfinite(t) || (r->t.n && t < r->t.v[r->t.n - 1]))
            continue; /* a clock step backwards: skip rather than confuse the fit */
        if (dvec_push(&r->t, t))
            goto oom;
        for (size_t i = 0; i < NCOLS; i++) {
            int c = (int)i + 1;
            double v =
                sqlite3_column_type(st, c) == SQLITE_NULL ? NAN : sqlite3_column_double(st, c);
            if (dvec_push(&r->col[i], v))
                goto oom;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "cannot read '%s': %s", path, sqlite3_errmsg(r->db));
        return -1;
    }
    if (r->t.n == 0) {
        snprintf(err, errlen, "no samples in '%s': the run never started", path);
        return -1;
    }
    char buf[64];
    r->start =
        store_run_value(r->db, "start_time", buf, sizeof buf) == 1 ? strtod(buf, NULL) : r->t.v[0];
    r->end = store_run_value(r->db, "end_time", buf, sizeof buf) == 1 ? strtod(buf, NULL)
                                                                      : r->t.v[r->t.n - 1];
    if (!(r->end >= r->start))
        r->end = r->t.v[r->t.n - 1];
    if (store_run_value(r->db, "crashes", buf, sizeof buf) == 1) {
        r->have_run_counts = 1;
        r->crashes = strtod(buf, NULL);
        r->hangs = store_run_value(r->db, "hangs", buf, sizeof buf) == 1 ? strtod(buf, NULL) : 0;
    }
    store_run_value(r->db, "command", r->command, sizeof r->command);
    r->source = "samples.db";
    return 0;
oom:
    sqlite3_finalize(st);
    snprintf(err, errlen, "out of memory reading '%s'", path);
    return -1;
}

static int load_csv(const char *file, run_data *r, char *err, size_t errlen)
{
    csvseries cs;
    if (csvseries_load(file, &cs, err, errlen))
        return -1;
    int ri = col_index("rss_bytes"), pi = col_index("pss_bytes"), ci = col_index("cpu_percent");
    for (size_t k = 0; k < cs.n; k++) {
        if (dvec_push(&r->t, cs.t[k]))
            goto oom;
        for (size_t i = 0; i < NCOLS; i++) {
            double v = NAN;
            if ((int)i == ri)
                v = cs.rss[k];
            else if ((int)i == pi && cs.has_pss)
                v = cs.pss[k];
            else if ((int)i == ci && cs.has_cpu)
                v = cs.cpu[k];
            else if ((int)i == col_index("procs"))
                v = 1; /* the process was there */
            if (dvec_push(&r->col[i], v))
                goto oom;
        }
    }
    r->start = r->t.v[0];
    r->end = r->t.v[r->t.n - 1];
    r->source = cs.format == CSV_PSRECORD_CSV   ? "psrecord-csv"
                : cs.format == CSV_PSRECORD_LOG ? "psrecord-log"
                                                : "csv";
    if (cs.skipped)
        fprintf(stderr, "soak: %zu rows of '%s' could not be parsed and were skipped\n", cs.skipped,
                file);
    snprintf(r->command, sizeof r->command, "imported from %s", file);
    csvseries_free(&cs);
    return 0;
oom:
    csvseries_free(&cs);
    snprintf(err, errlen, "out of memory reading '%s'", file);
    return -1;
}

/* ---- statistics ----------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double avg, p95, max, min, first, last;
    size_t n;
} stats;

/* Over the finite values of v where the service ran (procs > 0); p95 only with want_p95
 * (it sorts a copy). */
static void col_stats_p(const run_data *r, int c, stats *s, int want_p95)
{
    memset(s, 0, sizeof *s);
    const dvec *v = &r->col[c], *procs = &r->col[col_index("procs")];
    double *copy = want_p95 ? malloc((v->n ? v->n : 1) * sizeof *copy) : NULL;
    double sum = 0;
    for (size_t i = 0; i < v->n; i++) {
        double x = v->v[i];
        if (!isfinite(x) || !(procs->v[i] > 0))
            continue;
        if (s->n == 0)
            s->first = s->min = s->max = x;
        s->last = x;
        s->min = x < s->min ? x : s->min;
        s->max = x > s->max ? x : s->max;
        sum += x;
        if (copy)
            copy[s->n] = x;
        s->n++;
    }
    if (s->n) {
        s->avg = sum / (double)s->n;
        if (copy) {
            qsort(copy, s->n, sizeof *copy, cmp_double);
            size_t k = (size_t)ceil(0.95 * (double)s->n);
            s->p95 = copy[k ? k - 1 : 0];
        }
    }
    free(copy);
}

static void col_stats(const run_data *r, int c, stats *s)
{
    col_stats_p(r, c, s, 0);
}

/* ---- the leak verdict ----------------------------------------------------------------- */

typedef struct leak {
    leakstat_result res;
    const char *series; /* "pss" or "rss" */
    double threshold_mbh;
    const char *rule; /* leak_rule, as configured */
    int ok;           /* analysis ran */
} leak;

static int analyze_leak(const run_data *r, const opts *o, double threshold_mbh, leak *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->threshold_mbh = threshold_mbh;
    out->rule = o->leak_rule == OPTS_LEAK_NOT_SHOWN_BELOW ? "not_shown_below" : "interval_above";
    int pc = col_index("pss_bytes"), rc = col_index("rss_bytes"), procs = col_index("procs"),
        rs = col_index("restarts");
    /* PSS when the run has enough of it (it is read less often than RSS) */
    size_t npss = 0;
    double pss_t0 = NAN, pss_t1 = NAN;
    for (size_t i = 0; i < r->t.n; i++)
        if (isfinite(r->col[pc].v[i]) && r->col[procs].v[i] > 0) {
            if (!npss)
                pss_t0 = r->t.v[i];
            pss_t1 = r->t.v[i];
            npss++;
        }
    int c = npss >= 30 && pss_t1 - pss_t0 >= 1800 ? pc : rc;
    out->series = c == pc ? "pss" : "rss";
    double *t = malloc(r->t.n * sizeof *t), *y = malloc(r->t.n * sizeof *y);
    int *seg = malloc(r->t.n * sizeof *seg);
    if (!t || !y || !seg) {
        free(t);
        free(y);
        free(seg);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->t.n; i++) {
        double v = r->col[c].v[i];
        if (!isfinite(v) || !(r->col[procs].v[i] > 0) || v <= 0)
            continue;
        t[n] = r->t.v[i];
        y[n] = v;
        double restarts = r->col[rs].v[i];
        seg[n] = isfinite(restarts) && restarts >= 0 && restarts < 1e9 ? (int)restarts : 0;
        if (n && seg[n] < seg[n - 1])
            seg[n] = seg[n - 1];
        n++;
    }
    leakstat_opts lo;
    leakstat_opts_default(&lo);
    lo.threshold_bps = threshold_mbh * MB / 3600.0;
    lo.window_s = (double)o->leak_window_ms / 1000.0;
    lo.min_span_s = (double)o->leak_min_span_ms / 1000.0;
    uint64_t wms;
    if (strcmp(o->warmup, "auto") != 0 && units_parse_duration(o->warmup, &wms) == 0)
        lo.warmup_s = (double)wms / 1000.0;
    int rcode = n ? leakstat_analyze(t, y, seg, n, &lo, &out->res) : 0;
    if (!n)
        out->res.insufficient = 1;
    free(t);
    free(y);
    free(seg);
    if (rcode) {
        snprintf(err, errlen, "leak analysis failed: %s", strerror(-rcode));
        return -1;
    }
    out->ok = 1;
    /* the decision rule (docs/leak-verdict.md): by default a leak needs the whole interval
     * above the threshold; "not_shown_below" flags any growth not shown to be under it */
    if (o->leak_rule == OPTS_LEAK_NOT_SHOWN_BELOW && !out->res.insufficient)
        out->res.leak = !out->res.below;
    return 0;
}

static double mbh(double bps)
{
    return bps * 3600.0 / MB;
}

/* The memory outcome in words: a leak, growth shown under the threshold, or neither. */
static const char *leak_words(const leak *lk)
{
    if (lk->res.insufficient)
        return "too little data";
    if (lk->res.leak)
        return "LEAK";
    return lk->res.below ? "no leak"
                         : "no leak shown, but growth not shown to be under the threshold";
}

/* ---- gates ---------------------------------------------------------------------------- */

typedef struct gate_result {
    char name[64];
    char expr[OPTS_STR + 80];
    gate_expr g;
    int have_value;
    double value;
    const char *status; /* "pass", "fail", "no-data" */
    int optional;
    int passed; /* counts as passed (pass, or optional no-data) */
    const char *unit;
} gate_result;

static int is_optional(const opts *o, const char *name)
{
    const char *p = o->optional_gates;
    size_t len = strlen(name);
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t w = strcspn(p, ", ");
        if (w == len && strncmp(p, name, len) == 0)
            return 1;
        p += w;
    }
    return 0;
}

/* Reads a series of the metrics table (scraped, or pattern counters). */
static int metric_series(sqlite3 *db, const char *name, const char *labels, dvec *t, dvec *v)
{
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(db,
                                  "SELECT t, value FROM metrics WHERE name=? AND "
                                  "coalesce(labels,'')=? ORDER BY t",
                                  -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
    int rc = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        if (dvec_push(t, sqlite3_column_double(st, 0)) ||
            dvec_push(v, sqlite3_column_double(st, 1))) {
            rc = -1;
            break;
        }
    sqlite3_finalize(st);
    return rc;
}

static int metric_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(db, "SELECT 1 FROM metrics WHERE name=? LIMIT 1", -1, &st,
                                  NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const char *unit_of(const char *name)
{
    if (ends_with(name, "_bytes"))
        return "bytes";
    if (ends_with(name, "_percent"))
        return "%";
    if (ends_with(name, "_s"))
        return "s";
    if (ends_with(name, "_mb_per_hour"))
        return "MB/h";
    return "";
}

/* The series an imported CSV can give. */
static int imported_series(const char *name)
{
    static const char *const names[] = {"duration_s", "memory_growth_mb_per_hour", "rss_bytes",
                                        "pss_bytes", "cpu_percent"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* A gate `last|max|...(memory_growth_mb_per_hour) < N` is the leak verdict against N MB/h. */
static int is_leak_gate(const gate_expr *e)
{
    return strcmp(e->name, "memory_growth_mb_per_hour") == 0 && e->nlabels == 0 &&
           (e->op == GATE_LT || e->op == GATE_LE);
}

static void eval_gate(const run_data *r, const leak *lk, gate_result *g)
{
    dvec t = {0}, v = {0};
    const gate_expr *e = &g->g;
    int have = 0;
    g->unit = unit_of(e->name);
    if (strcmp(g->name, "memory_growth") == 0 &&
        strcmp(e->name, "memory_growth_mb_per_hour") == 0) {
        /* the runbook's success metric "growth < N MB/h" passes when the growth is shown to be
         * under N (the interval's upper end below it); a leak is only declared when the lower
         * end is above N; in between the gate fails without a leak (docs/leak-verdict.md) */
        if (lk->ok && !lk->res.insufficient) {
            g->have_value = 1;
            g->value = mbh(lk->res.fit.slope);
            g->status = lk->res.below && !lk->res.leak ? "pass" : "fail";
        } else {
            g->status = "no-data";
        }
        g->passed = !strcmp(g->status, "pass") || (g->optional && !strcmp(g->status, "no-data"));
        return;
    }
    if (strcmp(e->name, "duration_s") == 0) {
        dvec_push(&t, r->end);
        dvec_push(&v, r->end - r->start);
        have = 1;
    } else if (strcmp(e->name, "crashes") == 0 || strcmp(e->name, "hangs") == 0) {
        if (r->have_run_counts) {
            dvec_push(&t, r->end);
            dvec_push(&v, e->name[0] == 'c' ? r->crashes : r->hangs);
            have = 1;
        }
    } else if (strcmp(e->name, "memory_growth_mb_per_hour") == 0) {
        if (lk->ok && !lk->res.insufficient) {
            dvec_push(&t, r->end);
            dvec_push(&v, mbh(lk->res.fit.slope));
            have = 1;
        }
    } else if (col_index(e->name) >= 0 && e->nlabels == 0) {
        const dvec *c = &r->col[col_index(e->name)], *procs = &r->col[col_index("procs")];
        int all = strcmp(e->name, "artifacts_bytes") == 0 ||
                  strcmp(e->name, "disk_free_bytes") == 0 || strcmp(e->name, "procs") == 0 ||
                  strcmp(e->name, "restarts") == 0;
        for (size_t i = 0; i < c->n; i++)
            if (isfinite(c->v[i]) && (all || procs->v[i] > 0)) {
                dvec_push(&t, r->t.v[i]);
                dvec_push(&v, c->v[i]);
            }
        have = 1;
    } else {
        char labels[1024];
        gate_labels_text(e, labels, sizeof labels);
        metric_series(r->db, e->name, labels, &t, &v);
        have = 1;
    }
    double value;
    if (have && v.n && gate_reduce(e->func, t.v, v.v, v.n, &value) == 0) {
        g->have_value = 1;
        g->value = value;
        g->status = gate_compare(e->op, value, e->threshold) ? "pass" : "fail";
    } else {
        g->status = "no-data";
    }
    g->passed = !strcmp(g->status, "pass") || (g->optional && !strcmp(g->status, "no-data"));
    dvec_free(&t);
    dvec_free(&v);
}

/* ---- outputs -------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int bad = !f;
    if (f) {
        bad = fputs(text, f) < 0;
        bad |= fclose(f) != 0;
    }
    if (bad) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static cJSON *num_or_null(int have, double v)
{
    return have && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static char *analysis_json(const run_data *r, const leak *lk)
{
    stats rss, cpu, st;
    col_stats(r, col_index("rss_bytes"), &rss);
    col_stats_p(r, col_index("cpu_percent"), &cpu, 1);
    cJSON *j = cJSON_CreateObject();
    int sufficient = lk->ok && !lk->res.insufficient;
    cJSON_AddBoolToObject(j, "memory_leak_detected", sufficient && lk->res.leak);
    cJSON_AddItemToObject(j, "memory_growth_mb_per_hour",
                          num_or_null(sufficient, mbh(lk->res.fit.slope)));
    cJSON *ms = cJSON_AddObjectToObject(j, "memory_stats");
    cJSON_AddItemToObject(ms, "rss_start_mb", num_or_null(rss.n > 0, rss.first / MB));
    cJSON_AddItemToObject(ms, "rss_end_mb", num_or_null(rss.n > 0, rss.last / MB));
    cJSON_AddItemToObject(ms, "rss_max_mb", num_or_null(rss.n > 0, rss.max / MB));
    cJSON_AddStringToObject(j, "memory_series", lk->series ? lk->series : "rss");
    cJSON *iv = cJSON_AddArrayToObject(j, "growth_interval_mb_per_hour");
    cJSON_AddItemToArray(iv, num_or_null(sufficient, mbh(lk->res.fit.lo)));
    cJSON_AddItemToArray(iv, num_or_null(sufficient, mbh(lk->res.fit.hi)));
    cJSON_AddNumberToObject(j, "confidence", 0.95);
    cJSON_AddStringToObject(j, "leak_rule", lk->rule);
    cJSON_AddNumberToObject(j, "threshold_mb_per_hour", lk->threshold_mbh);
    /* the success metric: growth shown to be under the threshold (the gate's pass condition) */
    cJSON_AddBoolToObject(j, "growth_shown_below_threshold", sufficient && lk->res.below);
    cJSON_AddBoolToObject(j, "insufficient_data", !sufficient);
    cJSON_AddStringToObject(j, "method",
                            "lower envelope, pooled Theil-Sen slope within segments, Sen's "
                            "interval; leak when the interval's lower end is above the "
                            "threshold (docs/leak-verdict.md)");
    cJSON_AddNumberToObject(j, "envelope_bucket_s", lk->res.bucket_s);
    cJSON_AddNumberToObject(j, "samples", (double)r->t.n);
    cJSON_AddNumberToObject(j, "samples_used", (double)lk->res.samples_used);
    double warm = 0;
    cJSON *segs = cJSON_AddArrayToObject(j, "segments");
    for (size_t i = 0; i < lk->res.nsegments && i < LEAKSTAT_MAX_SEGMENTS; i++) {
        const leakstat_segment *sg = &lk->res.segments[i];
        warm += sg->warmup_s;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "start", sg->t0);
        cJSON_AddNumberToObject(o, "end", sg->t1);
        cJSON_AddNumberToObject(o, "warmup_s", sg->warmup_s);
        cJSON_AddNumberToObject(o, "samples", (double)sg->samples);
        int fitted = sg->fit.pairs > 0;
        cJSON_AddItemToObject(o, "slope_mb_per_hour", num_or_null(fitted, mbh(sg->fit.slope)));
        cJSON *si = cJSON_AddArrayToObject(o, "interval_mb_per_hour");
        cJSON_AddItemToArray(si, num_or_null(fitted, mbh(sg->fit.lo)));
        cJSON_AddItemToArray(si, num_or_null(fitted, mbh(sg->fit.hi)));
        if (fitted) {
            /* the fitted line over the analysed part, for drawing */
            double t0 = sg->t0 + sg->warmup_s, t1 = sg->t1;
            cJSON *tr = cJSON_AddObjectToObject(o, "trend");
            cJSON_AddNumberToObject(tr, "t0", t0);
            cJSON_AddNumberToObject(tr, "y0", sg->fit.intercept + sg->fit.slope * t0);
            cJSON_AddNumberToObject(tr, "t1", t1);
            cJSON_AddNumberToObject(tr, "y1", sg->fit.intercept + sg->fit.slope * t1);
        }
        cJSON_AddItemToArray(segs, o);
    }
    cJSON_AddNumberToObject(j, "warmup_s", warm);
    cJSON *c = cJSON_AddObjectToObject(j, "cpu");
    cJSON_AddItemToObject(c, "avg_percent", num_or_null(cpu.n > 0, cpu.avg));
    cJSON_AddItemToObject(c, "p95_percent", num_or_null(cpu.n > 0, cpu.p95));
    cJSON *pk = cJSON_AddObjectToObject(j, "peaks");
    static const char *const peak_cols[] = {"fds", "threads", "procs", "zombies",
                                            "artifacts_bytes"};
    for (size_t i = 0; i < sizeof peak_cols / sizeof peak_cols[0]; i++) {
        col_stats(r, col_index(peak_cols[i]), &st);
        cJSON_AddItemToObject(pk, peak_cols[i], num_or_null(st.n > 0, st.max));
    }
    col_stats(r, col_index("disk_free_bytes"), &st);
    cJSON_AddItemToObject(pk, "disk_free_min_bytes", num_or_null(st.n > 0, st.min));
    cJSON_AddNumberToObject(j, "duration_s", r->end - r->start);
    col_stats(r, col_index("restarts"), &st);
    cJSON_AddNumberToObject(j, "restarts", st.max);
    cJSON_AddStringToObject(j, "source", r->source);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

static void fmt_value(const gate_result *g, char *buf, size_t n)
{
    if (!g->have_value) {
        snprintf(buf, n, "no data");
        return;
    }
    char tmp[32];
    if (!strcmp(g->unit, "bytes"))
        snprintf(buf, n, "%s",
                 units_format_bytes((uint64_t)(g->value < 0 ? 0 : g->value), tmp, sizeof tmp));
    else if (!strcmp(g->unit, "s") && g->value >= 60)
        snprintf(buf, n, "%s", units_format_duration((uint64_t)(g->value * 1000), tmp, sizeof tmp));
    else
        snprintf(buf, n, "%.4g%s%s", g->value, *g->unit ? " " : "", g->unit);
}

static char *verdict_json(const gate_result *gs, size_t n, int pass)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "pass", pass);
    cJSON *arr = cJSON_AddArrayToObject(j, "gates");
    for (size_t i = 0; i < n; i++) {
        const gate_result *g = &gs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", g->name);
        cJSON_AddStringToObject(o, "expression", g->expr);
        cJSON_AddItemToObject(o, "value", num_or_null(g->have_value, g->value));
        cJSON_AddNumberToObject(o, "threshold", g->g.threshold);
        cJSON_AddStringToObject(o, "op", gate_op_text(g->g.op));
        cJSON_AddStringToObject(o, "unit", g->unit);
        cJSON_AddStringToObject(o, "status", g->status);
        cJSON_AddBoolToObject(o, "optional", g->optional);
        cJSON_AddItemToArray(arr, o);
    }
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(j, "generated_at", ts);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

/* Appends text with XML's five characters escaped. */
static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            /* XML 1.0 has no place for control characters: U+FFFD instead */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                fputs("\xEF\xBF\xBD", f);
            else
                fputc(*s, f);
        }
}

/* Writes text as one Markdown code span that survives backticks, | and newlines in it. */
static void md_code(FILE *f, const char *text)
{
    size_t run = 0, longest = 0;
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    for (size_t i = 0; i <= longest; i++)
        fputc('`', f);
    fputc(' ', f);
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputs("\\|", f);
        else
            fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
    }
    fputc(' ', f);
    for (size_t i = 0; i <= longest; i++)
        fputc('`', f);
}

static char *summary_md(const run_data *r, const leak *lk, const gate_result *gs, size_t n,
                        int pass)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "## Soak verdict: %s\n\n", pass ? "PASS" : "FAIL");
    md_code(f, r->command);
    fputs("\n\n", f);
    fprintf(f, "| Metric | Target | Actual | Status |\n|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        char v[64];
        fmt_value(&gs[i], v, sizeof v);
        const char *mark = !strcmp(gs[i].status, "pass")   ? "✅ pass"
                           : !strcmp(gs[i].status, "fail") ? "❌ fail"
                           : gs[i].passed                  ? "➖ no data (optional)"
                                                           : "❌ no data";
        fprintf(f, "| %s | ", gs[i].name);
        md_code(f, gs[i].expr);
        fprintf(f, " | %s | %s |\n", v, mark);
    }
    if (lk->ok) {
        fprintf(f, "\nMemory (%s): ", lk->series);
        if (lk->res.insufficient)
            fprintf(f, "too little data for a leak verdict.\n");
        else
            fprintf(f, "%+.2f MB/h (%.0f%% interval %+.2f to %+.2f), threshold %.1f MB/h: %s.\n",
                    mbh(lk->res.fit.slope), 95.0, mbh(lk->res.fit.lo), mbh(lk->res.fit.hi),
                    lk->threshold_mbh, leak_words(lk));
    }
    fclose(f);
    return buf;
}

static char *junit_xml(const gate_result *gs, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    size_t failures = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        failures += !gs[i].passed;
        skipped += gs[i].passed && strcmp(gs[i].status, "pass") != 0;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuite name=\"soak\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", n,
            failures, skipped);
    for (size_t i = 0; i < n; i++) {
        char v[64];
        fmt_value(&gs[i], v, sizeof v);
        fprintf(f, "  <testcase classname=\"soak.gates\" name=\"");
        xml_escape(f, gs[i].name);
        fprintf(f, "\">");
        if (!gs[i].passed) {
            fprintf(f, "\n    <failure message=\"");
            xml_escape(f, gs[i].expr);
            fprintf(f, ": ");
            xml_escape(f, v);
            fprintf(f, "\">%s</failure>\n  ", gs[i].status);
        } else if (strcmp(gs[i].status, "pass") != 0) {
            fprintf(f, "<skipped message=\"no data (optional gate)\"/>");
        }
        fprintf(f, "</testcase>\n");
    }
    fprintf(f, "</testsuite>\n");
    fclose(f);
    return buf;
}

/* ---- the command ---------------------------------------------------------------------- */

typedef struct cfg_ctx {
    opts *o;
} cfg_ctx;

static int on_cfg(void *ud, const char *key, const char *value, int line, char *err, size_t errlen)
{
    cfg_ctx *c = ud;
    (void)line;
    if (strcmp(key, "command[]") == 0)
        return 0;
    /* keys of a newer or older soak are not an error when reading a record; a value this soak
     * refuses is (the record would otherwise be misread) */
    if (opts_set(c->o, key, value, err, errlen) != 0 && !strstr(err, "unknown key"))
        return -1;
    return 0;
}

int analyze_load_run_config(const char *run_dir, opts *o, char *err, size_t errlen)
{
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/samples.db", run_dir);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    db = store_open_reader(path, err, errlen);
    if (!db)
        return -1;
    char *cfg = malloc(OPTS_DUMP_MAX);
    int rc = -1;
    if (cfg && store_run_value(db, "config", cfg, OPTS_DUMP_MAX) == 1) {
        cfg_ctx c = {o};
        rc = config_parse_yaml(cfg, strlen(cfg), path, on_cfg, &c, err, errlen);
    } else {
        snprintf(err, errlen, "'%s' is not a soak run (no recorded configuration)", path);
    }
    free(cfg);
    sqlite3_close(db);
    return rc;
}

int analyze_main(const analyze_args *a)
{
    run_data r;
    memset(&r, 0, sizeof r);
    char err[512];
    const opts *o = a->o;
    int code = 2;
    gate_result *gs = NULL;
    char *aj = NULL, *vj = NULL, *md = NULL, *ju = NULL;
    char out_dir[PATH_MAX];
    if (a->out_dir)
        snprintf(out_dir, sizeof out_dir, "%s", a->out_dir);
    else if (a->run_dir)
        snprintf(out_dir, sizeof out_dir, "%s", a->run_dir);
    else {
        snprintf(out_dir, sizeof out_dir, "%s", a->samples_file);
        char *slash = strrchr(out_dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(out_dir, sizeof out_dir, ".");
    }
    if (a->samples_file ? load_csv(a->samples_file, &r, err, sizeof err)
                        : load_db(a->run_dir, &r, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }

    /* gates: parse each; the memory_growth threshold is the leak threshold */
    gs = calloc(o->ngates ? o->ngates : 1, sizeof *gs);
    if (!gs) {
        fprintf(stderr, "soak: out of memory\n");
        goto out;
    }
    double threshold = 10;
    int leak_gate_seen = 0;
    for (size_t i = 0; i < o->ngates; i++) {
        gate_result *g = &gs[i];
        snprintf(g->name, sizeof g->name, "%s", o->gate_names[i]);
        if (gate_parse(o->gate_exprs[i], strlen(o->gate_exprs[i]), &g->g, err, sizeof err)) {
            fprintf(stderr, "soak: gate '%s': %s\n", g->name, err);
            goto out;
        }
        snprintf(g->expr, sizeof g->expr, "%s", o->gate_exprs[i]); /* as written: 5GB, 24h */
        g->optional = is_optional(o, g->name);
        /* a series recorded by another tool has memory, CPU and time, nothing else: the
         * gates over what only a soak run records cannot have data, and do not fail for it */
        if (a->samples_file && !imported_series(g->g.name))
            g->optional = 1;
        if (is_leak_gate(&g->g)) {
            /* MB/h, a plain number: a unit here (10MB) would be read as bytes */
            const char *op = strpbrk(o->gate_exprs[i], "<>=!");
            for (const char *c = op ? op : ""; *c; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '%') {
                    fprintf(stderr,
                            "soak: gate '%s': the threshold of memory_growth_mb_per_hour is "
                            "a plain number of MB/h, without a unit\n",
                            g->name);
                    goto out;
                }
            if (!leak_gate_seen)
                threshold = g->g.threshold;
            leak_gate_seen = 1;
        }
    }
    /* without a scraped reconnect counter, the default reconnect gate reads the log pattern */
    for (size_t i = 0; i < o->ngates; i++) {
        gate_result *g = &gs[i];
        if (!strcmp(g->g.name, "ws_reconnect_attempts_total") &&
            !metric_exists(r.db, "ws_reconnect_attempts_total") &&
            metric_exists(r.db, "pattern.reconnect")) {
            snprintf(g->g.name, sizeof g->g.name, "pattern.reconnect");
            char e2[OPTS_STR + 80];
            gate_format(&g->g, e2, sizeof e2);
            snprintf(g->expr, sizeof g->expr, "%s", e2);
        }
    }
    leak lk;
    if (analyze_leak(&r, o, threshold, &lk, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    int pass = 1;
    for (size_t i = 0; i < o->ngates; i++) {
        eval_gate(&r, &lk, &gs[i]);
        pass &= gs[i].passed;
    }
    aj = analysis_json(&r, &lk);
    vj = verdict_json(gs, o->ngates, pass);
    md = summary_md(&r, &lk, gs, o->ngates, pass);
    ju = junit_xml(gs, o->ngates);
    if (!aj || !vj || !md || !ju) {
        fprintf(stderr, "soak: out of memory\n");
        goto out;
    }
    if (write_file(out_dir, "resources.analysis.json", aj, err, sizeof err) ||
        write_file(out_dir, "verdict.json", vj, err, sizeof err) ||
        write_file(out_dir, "summary.md", md, err, sizeof err) ||
        write_file(out_dir, "junit.xml", ju, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        code = 3;
        goto out;
    }
    if (!a->quiet || !pass) {
        printf("soak: verdict %s (%s)\n", pass ? "PASS" : "FAIL", out_dir);
        for (size_t i = 0; i < o->ngates; i++) {
            char v[64];
            fmt_value(&gs[i], v, sizeof v);
            printf("  %-8s %-15s %-48s %s\n",
                   !strcmp(gs[i].status, "pass") ? "pass"
                   : gs[i].passed                ? "optional"
                                                 : gs[i].status,
                   gs[i].name, gs[i].expr, v);
        }
        if (lk.ok && !lk.res.insufficient)
            printf("  memory (%s): %+.2f MB/h, 95%% interval %+.2f to %+.2f: %s\n", lk.series,
                   mbh(lk.res.fit.slope), mbh(lk.res.fit.lo), mbh(lk.res.fit.hi), leak_words(&lk));
    }
    code = pass ? 0 : 1;
out:
    free(aj);
    free(vj);
    free(md);
    free(ju);
    free(gs);
    run_data_free(&r);
    return code;
}
