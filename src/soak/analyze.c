/*
 * analyze: the verdict of a run. See analyze.h; formats in docs/soak-analyze.md.
 *
 * The series a gate names come from, in this order: the pseudo-series the analysis computes
 * (duration_s, memory_growth_mb_per_hour, crashes, hangs, data_lost), a column of the samples table
 * (rss_bytes, zombies ...), the metrics table (scraped metrics, and pattern.NAME counters that
 * soak run stores there); columns come from STORE_SAMPLE_COLUMNS (store.h), nothing is listed
 * here again.
 *
 * One pass: the samples stream past (runrec, or csvseries_stream for an import) and each is
 * folded into fixed-size state — a gate_acc per column (the statistics of
 * resources.analysis.json) and per gate over a column, the two leak inputs (rss, pss) as
 * leakstat_streams — so memory does not grow with the run (docs/soak-record.md states what is
 * exact and what is approximated past the caps). Gates over scraped metrics stream their series
 * afterwards. Crashes and hangs are the supervisor's stored judgment (runrec_failures).
 */
#include "analyze.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "csvseries.h"
#include "ctl.h"
#include "errcode.h"
#include "gate.h"
#include "failfast.h"
#include "leakstat.h"
#include "markup.h"
#include "postcheck.h"
#include "cntrend.h"
#include "runrec.h"
#include "store.h"
#include "units.h"

#define MB 1048576.0

/* The gate's result, and while the series streams its accumulator. */
typedef struct gate_result {
    char name[64];
    char expr[OPTS_STR + 80];
    gate_expr g;
    int col;      /* the samples column it reads, or -1 */
    gate_acc acc; /* the series it reduces */
    int have_value;
    double value;
    const char *status; /* "pass", "fail", "no-data" */
    int optional;
    int passed; /* counts as passed (pass, or optional no-data) */
    int approx; /* a percentile from the sketch (see gate.h) */
    const char *unit;
    char reason[256]; /* why a post-check gave no data (postcheck.h); "" */
    /* memory_growth failed on an inconclusive memory verdict: reason says why
     * (leakstat_unsure_text), shown with any status */
    int memory_unsure;
} gate_result;

/* Everything the analysis read, folded as the samples stream past: nothing here grows with
 * the number of samples but the two leak inputs, which are capped (leakstat_stream). */
typedef struct run_data {
    runrec *rr;         /* NULL for a CSV import */
    const char *source; /* "samples.db", "psrecord-csv", ... */
    size_t nsamples;    /* samples taken (time going backwards skipped) */
    double first_t, last_t;
    gate_acc col[STORE_NCOLS]; /* every column while the service ran (procs > 0) */
    leakstat_stream mem[2];    /* rss, pss: finite, > 0, while the service ran */
    int mem_seg[2];            /* the last segment of each (restarts, never going down) */
    size_t npss;               /* PSS readings while the service ran, and their span */
    double pss_t0, pss_t1;
    gate_result *gs; /* gates over sample columns are fed here too */
    size_t ngs;
    int failed;          /* ERR_NOMEM while folding */
    double start, end;   /* run start and end (Unix s, or elapsed s for CSV) */
    int have_run_counts; /* crashes/hangs from the run record */
    double crashes, hangs;
    int have_lost; /* data_lost: rows the record lost (soak-guarantees.md) */
    double lost;
    char command[1024];
    size_t rows_skipped, rows_skipped_time; /* of a CSV import (csvseries.h) */
    cntrend_input cnt; /* fds and threads while the service ran (the fds and threads gates) */
    const opts *o;
    char stopped_by[64]; /* the gate fail-fast stopped the run for ("" none) */
    double stopped_elapsed_s;
    runrec_span *stops; /* while soak stopped the service: left out of the growth fits */
    size_t nstops, stop_cur;
} run_data;

enum { MEM_RSS, MEM_PSS };

static int run_data_init(run_data *r)
{
    memset(r, 0, sizeof *r);
    for (int c = 0; c < STORE_NCOLS; c++)
        gate_acc_init(&r->col[c], c == STORE_COL_cpu_percent, 0); /* cpu: its p95 */
    if (leakstat_stream_init(&r->mem[MEM_RSS], 0) || leakstat_stream_init(&r->mem[MEM_PSS], 0) ||
        cntrend_input_init(&r->cnt))
        return ERR_NOMEM;
    r->last_t = -INFINITY;
    return 0;
}

static void run_data_free(run_data *r)
{
    for (int c = 0; c < STORE_NCOLS; c++)
        gate_acc_free(&r->col[c]);
    leakstat_stream_free(&r->mem[MEM_RSS]);
    leakstat_stream_free(&r->mem[MEM_PSS]);
    cntrend_input_free(&r->cnt);
    for (size_t i = 0; i < r->ngs; i++)
        gate_acc_free(&r->gs[i].acc);
    free(r->stops);
    runrec_close(r->rr);
}

static void fold_mem(run_data *r, int which, double t, double v, double restarts)
{
    if (!isfinite(v) || v <= 0)
        return;
    int seg = isfinite(restarts) && restarts >= 0 && restarts < 1e9 ? (int)restarts : 0;
    if (r->mem[which].added && seg < r->mem_seg[which])
        seg = r->mem_seg[which];
    r->mem_seg[which] = seg;
    if (leakstat_stream_add(&r->mem[which], t, v, seg))
        r->failed = ERR_NOMEM;
}

/* One sample (v: every column, NAN where NULL) into everything the analysis needs. */
static void fold(run_data *r, const double *v)
{
    double t = v[STORE_COL_t];
    if (!isfinite(t) || t < r->last_t)
        return; /* a clock step backwards: skip rather than confuse the fit */
    if (r->nsamples++ == 0)
        r->first_t = t;
    r->last_t = t;
    int svc = v[STORE_COL_procs] > 0;
    if (svc)
        for (int c = 0; c < STORE_NCOLS; c++)
            if (gate_acc_add(&r->col[c], t, v[c]))
                r->failed = ERR_NOMEM;
    for (size_t i = 0; i < r->ngs; i++) {
        gate_result *g = &r->gs[i];
        if (g->col >= 0 && (svc || store_col_scope((store_col)g->col) == STORE_S_ALWAYS) &&
            gate_acc_add(&g->acc, t, v[g->col]))
            r->failed = ERR_NOMEM;
    }
    /* a process being stopped frees its memory and closes its fds: not its steady state */
    if (!svc || runrec_span_in(r->stops, r->nstops, &r->stop_cur, t))
        return;
    double pss = v[STORE_COL_pss_bytes];
    if (isfinite(pss)) {
        if (!r->npss)
            r->pss_t0 = t;
        r->pss_t1 = t;
        r->npss++;
    }
    fold_mem(r, MEM_RSS, t, v[STORE_COL_rss_bytes], v[STORE_COL_restarts]);
    fold_mem(r, MEM_PSS, t, pss, v[STORE_COL_restarts]);
    cntrend_input_add(&r->cnt, t, v[STORE_COL_fds], v[STORE_COL_threads], v[STORE_COL_restarts]);
    if (r->cnt.failed)
        r->failed = r->cnt.failed;
}

static int fold_sample(void *ud, const store_sample *s)
{
    run_data *r = ud;
    double v[STORE_NCOLS];
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = store_sample_get(s, (store_col)c);
    fold(r, v);
    return r->failed;
}

/* A row of an imported series as the samples columns (NAN where the import has nothing). */
static void row_cols(const csvseries_row *row, double *v)
{
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = NAN;
    v[STORE_COL_t] = row->t;
    v[STORE_COL_elapsed_s] = row->t;
    v[STORE_COL_rss_bytes] = row->rss;
    v[STORE_COL_pss_bytes] = row->pss;
    v[STORE_COL_cpu_percent] = row->cpu;
    v[STORE_COL_procs] = 1; /* the process was there */
}

static int fold_row(void *ud, const csvseries_row *row)
{
    run_data *r = ud;
    double v[STORE_NCOLS];
    row_cols(row, v);
    fold(r, v);
    return r->failed;
}

static int load_db(const char *dir, run_data *r, char *err, size_t errlen)
{
    int rc = runrec_open(dir, &r->rr, err, errlen);
    if (rc)
        return rc;
    rc = runrec_stop_spans(r->rr, &r->stops, &r->nstops);
    if (rc == 0)
        rc = runrec_samples(r->rr, 0, fold_sample, r);
    if (rc == ERR_NOMEM) {
        snprintf(err, errlen, "out of memory reading '%s'", runrec_path(r->rr));
        return rc;
    }
    if (rc) {
        snprintf(err, errlen, "cannot read '%s': %s", runrec_path(r->rr), runrec_errmsg(r->rr));
        return ERR_IO;
    }
    if (r->nsamples == 0) {
        snprintf(err, errlen, "no samples in '%s': the run never started", runrec_path(r->rr));
        return ERR_NODATA;
    }
    r->start = r->first_t;
    r->end = r->last_t;
    runrec_value_num(r->rr, "start_time", &r->start);
    runrec_value_num(r->rr, "end_time", &r->end);
    if (!(r->end >= r->start))
        r->end = r->last_t;
    /* crashes and hangs as the supervisor judged each event when it happened */
    int64_t crashes, hangs;
    if (runrec_failures(r->rr, &crashes, &hangs) == 0) {
        r->have_run_counts = 1;
        r->crashes = (double)crashes;
        r->hangs = (double)hangs;
    }
    runrec_value(r->rr, "command", r->command, sizeof r->command);
    /* what the record lost: counted by soak at the end; without an end (soak killed, or no
     * room left for it) the outcome itself is lost, unless the run is still going */
    double end_t;
    r->have_lost = 1;
    r->lost = 0;
    if (runrec_value_num(r->rr, "end_time", &end_t) == 1)
        runrec_value_num(r->rr, "data_lost", &r->lost);
    else if (ctl_running_pid(dir) <= 0)
        r->lost = 1;
    /* --fail-fast's stop (run.c): runrec_value and runrec_value_num return 1 when found */
    if (runrec_value(r->rr, "stopped_by_gate", r->stopped_by, sizeof r->stopped_by) != 1)
        r->stopped_by[0] = '\0';
    if (r->stopped_by[0] &&
        runrec_value_num(r->rr, "stopped_by_elapsed_s", &r->stopped_elapsed_s) != 1)
        r->stopped_elapsed_s = 0;
    r->source = "samples.db";
    return 0;
}

static int load_csv(const char *file, run_data *r, char *err, size_t errlen)
{
    csvseries_info info;
    int rc = csvseries_stream(file, fold_row, r, &info, err, errlen);
    if (rc == ERR_NOMEM) {
        snprintf(err, errlen, "out of memory reading '%s'", file);
        return rc;
    }
    /* an input that cannot be read is bad input (exit 2) like one that does not parse, not an
     * output that cannot be written (ERR_IO, exit 3) */
    if (rc)
        return rc == ERR_NOENT || rc == ERR_NODATA ? rc : ERR_PARSE;
    r->start = r->first_t;
    r->end = r->last_t;
    r->source = info.format == CSV_PSRECORD_CSV   ? "psrecord-csv"
                : info.format == CSV_PSRECORD_LOG ? "psrecord-log"
                                                  : "csv";
    r->rows_skipped = info.skipped;
    r->rows_skipped_time = info.skipped_time;
    if (info.skipped && info.skipped_time)
        fprintf(stderr,
                "soak: %zu rows of '%s' could not be parsed and were skipped (%zu of them with a "
                "time out of range)\n",
                info.skipped, file, info.skipped_time);
    else if (info.skipped)
        fprintf(stderr, "soak: %zu rows of '%s' could not be parsed and were skipped\n",
                info.skipped, file);
    snprintf(r->command, sizeof r->command, "imported from %s", file);
    return 0;
}

/* ---- statistics ----------------------------------------------------------------------- */

typedef struct stats {
    double avg, p95, max, min, first, last;
    size_t n;
} stats;

/* Over the finite values of a column while the service ran (procs > 0). */
static void col_stats(run_data *r, store_col c, stats *s)
{
    memset(s, 0, sizeof *s);
    gate_acc *a = &r->col[c];
    s->n = a->finite;
    if (!s->n)
        return;
    gate_acc_value(a, GATE_AVG, &s->avg);
    gate_acc_value(a, GATE_MAX, &s->max);
    gate_acc_value(a, GATE_MIN, &s->min);
    gate_acc_value(a, GATE_FIRST, &s->first);
    gate_acc_value(a, GATE_LAST, &s->last);
    if (a->percentiles)
        gate_acc_value(a, GATE_P95, &s->p95);
}

/* ---- the leak verdict ----------------------------------------------------------------- */

typedef struct leak {
    leakstat_result res;
    const char *series; /* "pss" or "rss" */
    double threshold_mbh;
    const char *rule;      /* leak_rule, as configured */
    int ok;                /* analysis ran */
    double input_bucket_s; /* 0: every sample analysed; else the stream's bucket width */
} leak;

static int analyze_leak(run_data *r, const opts *o, double threshold_mbh, leak *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->threshold_mbh = threshold_mbh;
    out->rule = o->leak_rule == OPTS_LEAK_NOT_SHOWN_BELOW ? "not_shown_below" : "interval_above";
    /* PSS when the run has enough of it (it is read less often than RSS) */
    int which = r->npss >= 30 && r->pss_t1 - r->pss_t0 >= 1800 ? MEM_PSS : MEM_RSS;
    out->series = which == MEM_PSS ? "pss" : "rss";
    const leakstat_stream *ls = &r->mem[which];
    out->input_bucket_s = ls->width_s;
    leakstat_opts lo;
    cntrend_leak_opts(o, threshold_mbh * MB / 3600.0, &lo);
    /* a series imported from another tool has no restart marks: a restart shows only as a
     * fall (docs/leak-verdict.md); soak's own record marks every restart */
    lo.restarts = r->rr == NULL;
    int rcode = ls->n ? leakstat_analyze(ls->t, ls->y, ls->seg, ls->n, &lo, &out->res) : 0;
    if (!ls->n)
        out->res.insufficient = 1;
    if (rcode) {
        snprintf(err, errlen, "leak analysis failed: %s", errcode_str(rcode));
        return rcode == ERR_NOMEM ? ERR_NOMEM : ERR_INVAL;
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

/* An inconclusive memory verdict (leakstat.h, LEAKSTAT_UNSURE_*) that leaves the growth not
 * shown under the threshold: the reason in words, or NULL. */
static const char *leak_unsure(const leak *lk)
{
    if (!lk->ok || lk->res.insufficient || lk->res.leak || lk->res.below ||
        lk->res.unsure == LEAKSTAT_UNSURE_NONE)
        return NULL;
    return leakstat_unsure_text(lk->res.unsure);
}

/* The memory outcome in words: a leak, growth shown under the threshold, or neither (and why,
 * when the data cannot tell). Into buf (n bytes); returns buf. */
static const char *leak_words(const leak *lk, char *buf, size_t n)
{
    const char *why = leak_unsure(lk);
    if (lk->res.insufficient)
        snprintf(buf, n, "too little data");
    else if (lk->res.leak)
        snprintf(buf, n, "LEAK");
    else if (lk->res.warming && lk->res.below)
        snprintf(buf, n, "no leak: a warm-up that slowed down, now under the threshold");
    else if (why)
        snprintf(buf, n, "no leak shown: %s", why);
    else
        snprintf(buf, n, "%s",
                 lk->res.below ? "no leak"
                               : "no leak shown, but growth not shown to be under the threshold");
    return buf;
}

/* ---- gates ---------------------------------------------------------------------------- */

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
    if (ends_with(name, "_per_hour"))
        return "/h";
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

/* The samples column a gate reduces, or -1 (a pseudo-series, or a metric). */
static int gate_column(const gate_expr *e)
{
    static const char *const pseudo[] = {"duration_s", "crashes", "hangs",
                                         "memory_growth_mb_per_hour", "data_lost"};
    for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++)
        if (!strcmp(e->name, pseudo[i]))
            return -1;
    int c = store_col_index(e->name);
    return c > STORE_COL_t && e->nlabels == 0 ? c : -1;
}

static int add_metric_point(void *ud, double t, double v)
{
    return gate_acc_add(ud, t, v) ? ERR_NOMEM : 0;
}

/* A gate over fd_growth_per_hour or thread_growth_per_hour (cntrend.h): with < or <= it passes
 * when the growth is shown to be under the threshold, as memory_growth does; with another
 * operator it compares the slope. */
static void eval_count_gate(run_data *r, gate_result *g)
{
    const gate_expr *e = &g->g;
    cntrend ct;
    int w = cntrend_series_index(e->name);
    g->unit = unit_of(e->name);
    g->status = "no-data";
    if (r->rr && r->o && cntrend_eval(&r->cnt, (cntrend_which)w, r->o, e->threshold, &ct) == 0 &&
        !ct.insufficient) {
        g->have_value = 1;
        g->value = ct.slope_ph;
        if (e->op == GATE_LT || e->op == GATE_LE)
            g->status = ct.below && !ct.leak ? "pass" : "fail";
        else
            g->status = gate_compare(e->op, ct.slope_ph, e->threshold) ? "pass" : "fail";
    }
    g->passed = !strcmp(g->status, "pass") || (g->optional && !strcmp(g->status, "no-data"));
}

static void eval_gate(run_data *r, const leak *lk, gate_result *g)
{
    if (cntrend_series_index(g->g.name) >= 0 && g->g.nlabels == 0) {
        eval_count_gate(r, g);
        return;
    }
    const gate_expr *e = &g->g;
    gate_acc *a = &g->acc;
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
            const char *why = leak_unsure(lk);
            if (why) {
                snprintf(g->reason, sizeof g->reason, "memory verdict inconclusive: %s", why);
                g->memory_unsure = 1;
            }
        } else {
            g->status = "no-data";
        }
        g->passed = !strcmp(g->status, "pass") || (g->optional && !strcmp(g->status, "no-data"));
        return;
    }
    if (g->col >= 0) {
        have = 1; /* folded while the samples streamed */
    } else if (strcmp(e->name, "duration_s") == 0) {
        gate_acc_add(a, r->end, r->end - r->start);
        have = 1;
    } else if (strcmp(e->name, "crashes") == 0 || strcmp(e->name, "hangs") == 0) {
        if (r->have_run_counts) {
            gate_acc_add(a, r->end, e->name[0] == 'c' ? r->crashes : r->hangs);
            have = 1;
        }
    } else if (strcmp(e->name, "data_lost") == 0) {
        if (r->have_lost) {
            gate_acc_add(a, r->end, r->lost);
            have = 1;
        }
    } else if (strcmp(e->name, "memory_growth_mb_per_hour") == 0) {
        if (lk->ok && !lk->res.insufficient) {
            gate_acc_add(a, r->end, mbh(lk->res.fit.slope));
            have = 1;
        }
    } else if (r->rr) {
        char labels[1024];
        gate_labels_text(e, labels, sizeof labels);
        runrec_metric(r->rr, e->name, labels, 0, add_metric_point, a);
        have = 1;
    }
    double value;
    if (have && gate_acc_value(a, e->func, &value) == 0) {
        g->have_value = 1;
        g->value = value;
        g->approx = gate_acc_approx(a);
        g->status = gate_compare(e->op, value, e->threshold) ? "pass" : "fail";
    } else {
        g->status = "no-data";
    }
    g->passed = !strcmp(g->status, "pass") || (g->optional && !strcmp(g->status, "no-data"));
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

static char *analysis_json(run_data *r, const leak *lk)
{
    stats rss, cpu, st;
    col_stats(r, STORE_COL_rss_bytes, &rss);
    col_stats(r, STORE_COL_cpu_percent, &cpu);
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
    cJSON_AddBoolToObject(j, "still_warming_up", sufficient && lk->res.warming);
    cJSON_AddNumberToObject(j, "restarts_found_in_series", (double)lk->res.restarts_found);
    const char *why = leak_unsure(lk);
    if (why)
        cJSON_AddStringToObject(j, "inconclusive_reason", why);
    else
        cJSON_AddNullToObject(j, "inconclusive_reason");
    cJSON_AddStringToObject(j, "method",
                            "lower envelope, pooled Theil-Sen slope within segments, Sen's "
                            "interval; leak when the interval's lower end is above the "
                            "threshold (docs/leak-verdict.md)");
    cJSON_AddNumberToObject(j, "envelope_bucket_s", lk->res.bucket_s);
    cJSON_AddNumberToObject(j, "samples", (double)r->nsamples);
    /* a run too long to keep whole: the leak fit saw bucket minima of this width (leakstat.h) */
    cJSON_AddNumberToObject(j, "leak_input_bucket_s", lk->input_bucket_s);
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
    static const store_col peak_cols[] = {
        STORE_COL_fds,     STORE_COL_threads,         STORE_COL_procs,
        STORE_COL_zombies, STORE_COL_artifacts_bytes, STORE_COL_zombies_persistent};
    for (size_t i = 0; i < sizeof peak_cols / sizeof peak_cols[0]; i++) {
        col_stats(r, peak_cols[i], &st);
        cJSON_AddItemToObject(pk, store_col_name(peak_cols[i]), num_or_null(st.n > 0, st.max));
    }
    col_stats(r, STORE_COL_disk_free_bytes, &st);
    cJSON_AddItemToObject(pk, "disk_free_min_bytes", num_or_null(st.n > 0, st.min));
    cJSON_AddNumberToObject(j, "duration_s", r->end - r->start);
    col_stats(r, STORE_COL_restarts, &st);
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

static char *verdict_json(const run_data *r, const gate_result *gs, size_t n, int pass)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "pass", pass);
    if (r->stopped_by[0]) { /* --fail-fast stopped the run: which gate, when */
        cJSON *sb = cJSON_AddObjectToObject(j, "stopped_by");
        cJSON_AddStringToObject(sb, "gate", r->stopped_by);
        cJSON_AddNumberToObject(sb, "elapsed_s", r->stopped_elapsed_s);
    }
    cJSON_AddNumberToObject(j, "rows_skipped", (double)r->rows_skipped);
    cJSON_AddNumberToObject(j, "rows_skipped_time", (double)r->rows_skipped_time);
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
        if (g->reason[0] && (strcmp(g->status, "no-data") == 0 || g->memory_unsure))
            cJSON_AddStringToObject(o, "reason", g->reason);
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
        char words[320];
        fprintf(f, "\nMemory (%s): ", lk->series);
        if (lk->res.insufficient)
            fprintf(f, "too little data for a leak verdict.\n");
        else
            fprintf(f, "%+.2f MB/h (%.0f%% interval %+.2f to %+.2f), threshold %.1f MB/h: %s.\n",
                    mbh(lk->res.fit.slope), 95.0, mbh(lk->res.fit.lo), mbh(lk->res.fit.hi),
                    lk->threshold_mbh, leak_words(lk, words, sizeof words));
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
        markup_escape(f, gs[i].name);
        fprintf(f, "\">");
        if (!gs[i].passed) {
            fprintf(f, "\n    <failure message=\"");
            markup_escape(f, gs[i].expr);
            fprintf(f, ": ");
            markup_escape(f, v);
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

typedef struct key_find {
    const char *key;
    int found;
} key_find;

static void key_seen(void *ud, const char *key, const char *value, const char *help)
{
    key_find *k = ud;
    (void)value;
    (void)help;
    k->found |= strcmp(k->key, key) == 0;
}

/* A key this soak knows: one of opts' table, or a pattern or gate of the maps. */
static int known_key(const opts *o, const char *key)
{
    if (!strncmp(key, "patterns.", 9) || !strncmp(key, "gates.", 6))
        return 1;
    key_find k = {key, 0};
    opts_each(o, key_seen, &k);
    return k.found;
}

static int on_cfg(void *ud, const char *key, const char *value, int line, char *err, size_t errlen)
{
    cfg_ctx *c = ud;
    (void)line;
    /* keys of a newer or older soak are not an error when reading a record; a value this soak
     * refuses is (the record would otherwise be misread) */
    if (strcmp(key, "command[]") == 0 || !known_key(c->o, key))
        return 0;
    return opts_set(c->o, key, value, err, errlen) != 0 ? -1 : 0;
}

int analyze_load_run_config(const char *run_dir, opts *o, char *err, size_t errlen)
{
    runrec *rr;
    int rc = runrec_open(run_dir, &rr, err, errlen);
    if (rc)
        return rc;
    char *cfg = malloc(OPTS_DUMP_MAX);
    if (!cfg) {
        snprintf(err, errlen, "out of memory reading '%s'", runrec_path(rr));
        rc = ERR_NOMEM;
    } else if (runrec_value(rr, "config", cfg, OPTS_DUMP_MAX) == 1) {
        cfg_ctx c = {o};
        rc = config_parse_yaml(cfg, strlen(cfg), runrec_path(rr), on_cfg, &c, err, errlen)
                 ? ERR_CONFIG
                 : 0;
    } else {
        snprintf(err, errlen, "'%s' is not a soak run (no recorded configuration)",
                 runrec_path(rr));
        rc = ERR_PARSE;
    }
    free(cfg);
    runrec_close(rr);
    return rc;
}

/* Parses the gates into r->gs; the leak threshold is that of the first memory_growth gate. */
static int parse_gates(const analyze_args *a, run_data *r, double *threshold)
{
    const opts *o = a->o;
    char err[512];
    r->gs = calloc(o->ngates ? o->ngates : 1, sizeof *r->gs);
    if (!r->gs) {
        fprintf(stderr, "soak: out of memory\n");
        return ERR_NOMEM;
    }
    int leak_gate_seen = 0;
    *threshold = 10;
    for (size_t i = 0; i < o->ngates; i++) {
        gate_result *g = &r->gs[i];
        snprintf(g->name, sizeof g->name, "%s", o->gate_names[i]);
        if (gate_parse(o->gate_exprs[i], strlen(o->gate_exprs[i]), &g->g, err, sizeof err)) {
            fprintf(stderr, "soak: gate '%s': %s\n", g->name, err);
            return ERR_CONFIG;
        }
        gate_acc_init(&g->acc, gate_func_is_percentile(g->g.func), 0);
        r->ngs = i + 1;
        g->col = gate_column(&g->g);
        snprintf(g->expr, sizeof g->expr, "%s", o->gate_exprs[i]); /* as written: 5GB, 24h */
        g->optional = is_optional(o, g->name);
        /* a series recorded by another tool has memory, CPU and time, nothing else: the
         * gates over what only a soak run records cannot have data, and do not fail for it */
        if (a->samples_file && !imported_series(g->g.name))
            g->optional = 1;
        /* audit inputs configured: the security gate must have its data */
        else if (o->audit_ninputs && strncmp(g->g.name, "security_", 9) == 0)
            g->optional = 0;
        if (is_leak_gate(&g->g)) {
            /* MB/h, a plain number: a unit here (10MB) would be read as bytes */
            const char *op = strpbrk(o->gate_exprs[i], "<>=!");
            for (const char *c = op ? op : ""; *c; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '%') {
                    fprintf(stderr,
                            "soak: gate '%s': the threshold of memory_growth_mb_per_hour is "
                            "a plain number of MB/h, without a unit\n",
                            g->name);
                    return ERR_CONFIG;
                }
            if (!leak_gate_seen)
                *threshold = g->g.threshold;
            leak_gate_seen = 1;
        }
    }
    return 0;
}

/* Writes the four outputs; ERR_IO with the message printed when one cannot be written. */
static int write_outputs(run_data *r, const leak *lk, const char *out_dir, int pass)
{
    char err[512];
    int rc = 0;
    char *aj = analysis_json(r, lk);
    char *vj = verdict_json(r, r->gs, r->ngs, pass);
    char *md = summary_md(r, lk, r->gs, r->ngs, pass);
    char *ju = junit_xml(r->gs, r->ngs);
    if (!aj || !vj || !md || !ju) {
        fprintf(stderr, "soak: out of memory\n");
        rc = ERR_NOMEM;
    } else if (write_file(out_dir, "resources.analysis.json", aj, err, sizeof err) ||
               write_file(out_dir, "verdict.json", vj, err, sizeof err) ||
               write_file(out_dir, "summary.md", md, err, sizeof err) ||
               write_file(out_dir, "junit.xml", ju, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        rc = ERR_IO;
    }
    free(aj);
    free(vj);
    free(md);
    free(ju);
    return rc;
}

int analyze_run(const analyze_args *a)
{
    run_data r;
    char err[512];
    const opts *o = a->o;
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
    int rc = run_data_init(&r);
    r.o = o;
    double threshold = 10;
    if (rc) {
        fprintf(stderr, "soak: out of memory\n");
        goto out;
    }
    /* the gates first: those over sample columns are folded as the samples stream past */
    if ((rc = parse_gates(a, &r, &threshold)) != 0)
        goto out;
    rc = a->samples_file ? load_csv(a->samples_file, &r, err, sizeof err)
                         : load_db(a->run_dir, &r, err, sizeof err);
    if (rc) {
        if (!a->silent)
            fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    /* without a scraped reconnect counter, the default reconnect gate reads the log pattern */
    for (size_t i = 0; i < r.ngs && r.rr; i++) {
        gate_result *g = &r.gs[i];
        if (!strcmp(g->g.name, "ws_reconnect_attempts_total") &&
            !runrec_metric_exists(r.rr, "ws_reconnect_attempts_total") &&
            runrec_metric_exists(r.rr, "pattern.reconnect")) {
            snprintf(g->g.name, sizeof g->g.name, "pattern.reconnect");
            char e2[OPTS_STR + 80];
            gate_format(&g->g, e2, sizeof e2);
            snprintf(g->expr, sizeof g->expr, "%s", e2);
        }
    }
    /* a series a post-check was asked for is no longer optional; its failure is the reason */
    for (size_t i = 0; i < r.ngs && r.rr; i++)
        if (postcheck_provides(r.rr, r.gs[i].g.name, r.gs[i].reason, sizeof r.gs[i].reason))
            r.gs[i].optional = 0;
    /* an audit that failed: the security gates have no data, and say why (auditcmd_run) */
    for (size_t i = 0; i < r.ngs && r.rr; i++) {
        char why[200];
        if (!strncmp(r.gs[i].g.name, "security_", 9) && !r.gs[i].reason[0] &&
            runrec_value(r.rr, "audit_error", why, sizeof why) == 1)
            snprintf(r.gs[i].reason, sizeof r.gs[i].reason, "audit failed: %s", why);
    }
    leak lk;
    if ((rc = analyze_leak(&r, o, threshold, &lk, err, sizeof err)) != 0) {
        if (!a->silent)
            fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    int pass = 1;
    for (size_t i = 0; i < r.ngs; i++) {
        eval_gate(&r, &lk, &r.gs[i]);
        pass &= r.gs[i].passed;
    }
    if (r.stopped_by[0])
        pass = 0; /* a gate was decided while the run was live */
    if ((rc = write_outputs(&r, &lk, out_dir, pass)) != 0)
        goto out;
    if (!a->silent && (!a->quiet || !pass)) {
        printf("soak: verdict %s (%s)\n", pass ? "PASS" : "FAIL", out_dir);
        if (r.stopped_by[0])
            printf("  stopped by fail-fast: gate %s after %.0f s\n", r.stopped_by,
                   r.stopped_elapsed_s);
        for (size_t i = 0; i < r.ngs; i++) {
            char v[64];
            fmt_value(&r.gs[i], v, sizeof v);
            printf("  %-8s %-15s %-48s %s\n",
                   !strcmp(r.gs[i].status, "pass") ? "pass"
                   : r.gs[i].passed                ? "optional"
                                                   : r.gs[i].status,
                   r.gs[i].name, r.gs[i].expr, v);
            if (r.gs[i].reason[0] && !strcmp(r.gs[i].status, "no-data"))
                printf("  %-8s %-15s %s\n", "", "", r.gs[i].reason);
        }
        char words[320];
        if (lk.ok && !lk.res.insufficient)
            printf("  memory (%s): %+.2f MB/h, 95%% interval %+.2f to %+.2f: %s\n", lk.series,
                   mbh(lk.res.fit.slope), mbh(lk.res.fit.lo), mbh(lk.res.fit.hi),
                   leak_words(&lk, words, sizeof words));
    }
    rc = pass ? ANALYZE_PASS : ANALYZE_FAIL;
out:
    run_data_free(&r);
    free(r.gs);
    return rc;
}

/* ---- fail-fast replay ------------------------------------------------------------------ */

typedef struct replay {
    failfast *ff;
    size_t n;
    int rc; /* ERR_NOMEM */
} replay;

static int replay_one(replay *rp, const double *v)
{
    rp->n++;
    int r = failfast_add(rp->ff, v, NAN, NAN);
    if (r < 0)
        rp->rc = r;
    return r != 0; /* decided (or no memory): the rest is not needed */
}

static int replay_row(void *ud, const csvseries_row *row)
{
    double v[STORE_NCOLS];
    row_cols(row, v);
    return replay_one(ud, v);
}

static int replay_sample(void *ud, const store_sample *s)
{
    double v[STORE_NCOLS];
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = store_sample_get(s, (store_col)c);
    return replay_one(ud, v);
}

int analyze_replay_fail_fast(const analyze_args *a)
{
    replay rp = {.ff = malloc(sizeof(failfast))};
    /* an import has no restart marks: they are looked for in the series */
    if (!rp.ff || failfast_init_opts(rp.ff, a->o, a->samples_file != NULL)) {
        free(rp.ff);
        fprintf(stderr, "soak: out of memory\n");
        return ERR_NOMEM;
    }
    char err[512] = "";
    int rc;
    runrec *rr = NULL;
    if (a->samples_file) {
        rc = csvseries_stream(a->samples_file, replay_row, &rp, NULL, err, sizeof err);
        if (rc < 0 && rc != ERR_NOMEM)
            rc = rc == ERR_NOENT || rc == ERR_NODATA ? rc : ERR_PARSE;
    } else if ((rc = runrec_open(a->run_dir, &rr, err, sizeof err)) == 0) {
        rc = runrec_samples(rr, 0, replay_sample, &rp);
        if (rc < 0 && rc != ERR_NOMEM) {
            snprintf(err, sizeof err, "cannot read '%s': %s", runrec_path(rr), runrec_errmsg(rr));
            rc = ERR_IO;
        }
    }
    runrec_close(rr);
    if (rp.rc)
        rc = rp.rc;
    if (rc < 0) {
        fprintf(stderr, "soak: %s\n", rc == ERR_NOMEM ? "out of memory" : err);
    } else {
        printf("soak: fail-fast replay: %zu samples, %zu memory looks\n", rp.n, rp.ff->looks);
        if (rp.ff->decided)
            printf("%.0f %s\n", rp.ff->elapsed_s, rp.ff->gate);
        else
            printf("never\n");
        rc = rp.ff->decided ? ANALYZE_FAIL : ANALYZE_PASS;
    }
    failfast_free(rp.ff);
    free(rp.ff);
    return rc;
}

int analyze_exit_code(int rc)
{
    if (rc == ANALYZE_PASS || rc == ANALYZE_FAIL)
        return rc;
    /* outputs that cannot be written, or no memory: the analysis was not carried out */
    return rc == ERR_IO || rc == ERR_NOMEM ? 3 : 2;
}

int analyze_main(const analyze_args *a)
{
    return analyze_exit_code(analyze_run(a));
}
