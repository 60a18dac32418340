/* repdata: the data the report draws. See repdata.h. */
#include "repdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

const store_col repdata_series_col[REPDATA_NSER] = {
    STORE_COL_rss_bytes,       STORE_COL_pss_bytes,
    STORE_COL_cpu_percent,     STORE_COL_fds,
    STORE_COL_threads,         STORE_COL_procs,
    STORE_COL_zombies,         STORE_COL_artifacts_bytes,
    STORE_COL_disk_free_bytes, STORE_COL_zombies_persistent};

int repdata_col_of(const repdata *r, double t)
{
    double c = (t - r->t0) / (r->t1 - r->t0) * REPDATA_NCOL;
    if (!(c >= 0))
        return 0;
    return c >= REPDATA_NCOL ? REPDATA_NCOL - 1 : (int)c;
}

int repdata_drawn(const store_sample *m, store_col c)
{
    if (isnan(store_sample_get(m, c)))
        return 0;
    double procs = store_sample_get(m, STORE_COL_procs);
    int no_tree = !isnan(procs) && procs <= 0;
    return !no_tree || (store_col_scope(c) == STORE_S_ALWAYS && c != STORE_COL_procs);
}

static int fold_sample(void *ud, const store_sample *m)
{
    repdata *r = ud;
    int c = repdata_col_of(r, m->t);
    for (int k = 0; k < REPDATA_NSER; k++) {
        if (!repdata_drawn(m, repdata_series_col[k]))
            continue;
        double y = store_sample_get(m, repdata_series_col[k]);
        if (isnan(r->mn[k][c]) || y < r->mn[k][c])
            r->mn[k][c] = y;
        if (isnan(r->mx[k][c]) || y > r->mx[k][c])
            r->mx[k][c] = y;
    }
    return 0;
}

/* The run's time range, then every sample folded into the columns. */
static int load_samples(repdata *r, runrec *rr, char *err, size_t errlen)
{
    double smin = 0, smax = 0;
    if (runrec_sample_range(rr, &r->nsamples, &smin, &smax))
        goto fail;
    double start = 0, end = 0;
    runrec_value_num(rr, "start_time", &start);
    runrec_value_num(rr, "end_time", &end);
    if (!(start > 0))
        start = r->nsamples ? smin : 0;
    if (r->nsamples && smin < start)
        start = smin;
    if (!(end > 0) || (r->nsamples && smax > end))
        end = r->nsamples ? smax : start;
    if (start <= 0) /* no samples and no start time: take the events' range */
        runrec_event_range(rr, &start, &end);
    if (!(end > start))
        end = start + 1;
    r->t0 = start;
    r->t1 = end;

    for (int k = 0; k < REPDATA_NSER; k++)
        for (int c = 0; c < REPDATA_NCOL; c++)
            r->mn[k][c] = r->mx[k][c] = NAN;
    uint32_t cols = 1u << STORE_COL_procs; /* repdata_drawn reads it */
    for (int k = 0; k < REPDATA_NSER; k++)
        cols |= 1u << repdata_series_col[k];
    if (runrec_sample_cols(rr, cols, 0, fold_sample, r) == 0)
        return 0;
fail:
    snprintf(err, errlen, "cannot read '%s': %s", runrec_path(rr), runrec_errmsg(rr));
    return ERR_IO;
}

static int fold_event(void *ud, const runrec_event *e)
{
    repdata *r = ud;
    if (e->lane == STORE_LANE_NONE)
        return 0; /* not drawn (an exit soak asked for is not a crash) */
    int c = repdata_col_of(r, e->t);
    r->tl[e->lane][c]++;
    if (e->kind == STORE_EV_RESTART)
        r->restart_col[c] = 1;
    return 0;
}

/* Timeline columns and restart marks, streamed over the events. */
static int load_event_columns(repdata *r, runrec *rr)
{
    return runrec_events(rr, RUNREC_EV_LANE, 0, 0, fold_event, r) < 0 ? ERR_IO : 0;
}

static int keep_crash(void *ud, const runrec_event *e)
{
    repdata *r = ud;
    if (r->ncrash >= REPDATA_CRASH_HEAD + REPDATA_CRASH_TAIL)
        return 1;
    logscan_note *c = &r->crashes[r->ncrash++];
    memset(c, 0, sizeof *c);
    c->t = e->t;
    snprintf(c->kind, sizeof c->kind, "%s", e->name);
    snprintf(c->detail, sizeof c->detail, "%s", e->detail ? e->detail : "");
    return 0;
}

/* The first REPDATA_CRASH_HEAD and last REPDATA_CRASH_TAIL crashes and hangs, as the supervisor
 * judged them (runrec.h), oldest first. */
static int load_crashes(repdata *r, runrec *rr)
{
    r->ncrash_all = runrec_event_count(rr, RUNREC_EV_CRASHES);
    if (r->ncrash_all < 0)
        return ERR_IO;
    if (r->ncrash_all == 0)
        return 0;
    r->crashes = calloc(REPDATA_CRASH_HEAD + REPDATA_CRASH_TAIL, sizeof *r->crashes);
    if (!r->crashes)
        return ERR_NOMEM;
    int64_t tail_from = r->ncrash_all - REPDATA_CRASH_TAIL;
    if (tail_from < REPDATA_CRASH_HEAD)
        tail_from = REPDATA_CRASH_HEAD;
    if (runrec_events(rr, RUNREC_EV_CRASHES, 0, REPDATA_CRASH_HEAD, keep_crash, r) < 0 ||
        runrec_events(rr, RUNREC_EV_CRASHES, tail_from, REPDATA_CRASH_TAIL, keep_crash, r) < 0)
        return ERR_IO;
    return 0;
}

int repdata_load(repdata *d, runrec *rr, const char *dir, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    int rc = load_samples(d, rr, err, errlen);
    if (rc == 0)
        rc = load_event_columns(d, rr);
    if (rc == 0)
        rc = load_crashes(d, rr);
    if (rc == ERR_NOMEM)
        snprintf(err, errlen, "cannot read '%s': out of memory", runrec_path(rr));
    else if (rc)
        snprintf(err, errlen, "cannot read '%s': %s", runrec_path(rr), runrec_errmsg(rr));
    if (rc == 0 && (rc = logscan_find(dir, d->crashes, d->ncrash)) != 0)
        snprintf(err, errlen, "cannot read the logs of '%s': out of memory", dir);
    return rc;
}

void repdata_free(repdata *d)
{
    free(d->crashes);
    d->crashes = NULL;
    d->ncrash = 0;
}
