/* failfast: the decision to stop a live run early. Contract: failfast.h; the memory rule and
 * what it was measured on: docs/leak-verdict.md ("Repeated looks"). */
#include "failfast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "opts.h"
#include "units.h"

#define MB 1e6

enum { FF_NEVER, FF_MEMORY, FF_MAX, FF_MIN, FF_COUNT, FF_COUNTER, FF_ZOMBIE };

void failfast_opts_default(failfast_opts *o)
{
    o->window_s = LEAKSTAT_WINDOW_S;
    o->min_span_s = LEAKSTAT_MIN_SPAN_S;
    o->warmup_s = -1;
    o->cycle_bytes = 128 * MB;
    o->conf = 0.999;
    o->confirm = 10;
    o->look_s = 0;
    o->zombie_grace_s = 300;
    o->find_restarts = 0;
}

/* past: a value the gate can never come back from (the series only grows). */
static int past_upper(gate_op op, double v, double thr)
{
    return (op == GATE_LT && v >= thr) || ((op == GATE_LE || op == GATE_EQ) && v > thr);
}

static int past_lower(gate_op op, double v, double thr)
{
    return (op == GATE_GT && v <= thr) || ((op == GATE_GE || op == GATE_EQ) && v < thr);
}

static int classify(failfast_gate *g)
{
    const gate_expr *e = &g->e;
    gate_op op = e->op;
    int upper = op == GATE_LT || op == GATE_LE || op == GATE_EQ;
    int lower = op == GATE_GT || op == GATE_GE || op == GATE_EQ;
    g->col = -1;
    if (e->nlabels)
        return FF_NEVER;
    if (!strcmp(e->name, "memory_growth_mb_per_hour"))
        return (op == GATE_LT || op == GATE_LE) ? FF_MEMORY : FF_NEVER;
    if (!strcmp(e->name, "crashes") || !strcmp(e->name, "hangs"))
        return (e->func == GATE_LAST || e->func == GATE_MAX) && upper ? FF_COUNTER : FF_NEVER;
    int c = store_col_index(e->name);
    if (c <= STORE_COL_t || c == STORE_COL_elapsed_s)
        return FF_NEVER; /* duration_s, metrics: never decided early */
    g->col = c;
    if (e->func == GATE_MAX && upper)
        return c == STORE_COL_zombies ? FF_ZOMBIE : FF_MAX;
    if (e->func == GATE_MIN && lower)
        return FF_MIN;
    if (e->func == GATE_COUNT && (op == GATE_LT || op == GATE_LE))
        return FF_COUNT;
    return FF_NEVER;
}

int failfast_init(failfast *f, const failfast_opts *o, const char *const *names,
                  const char *const *exprs, size_t n)
{
    memset(f, 0, sizeof *f);
    if (o)
        f->o = *o;
    else
        failfast_opts_default(&f->o);
    if (!(f->o.window_s > 0))
        f->o.window_s = LEAKSTAT_WINDOW_S;
    if (!(f->o.look_s > 0))
        f->o.look_s = f->o.window_s / 30 < 60 ? f->o.window_s / 30 : 60;
    if (!(f->o.conf > 0 && f->o.conf < 1))
        f->o.conf = 0.999;
    if (f->o.confirm < 1)
        f->o.confirm = 1;
    for (size_t i = 0; i < n && f->ngates < FAILFAST_MAX_GATES; i++) {
        failfast_gate *g = &f->g[f->ngates];
        memset(g, 0, sizeof *g);
        if (!exprs[i] || gate_parse(exprs[i], strlen(exprs[i]), &g->e, NULL, 0) != 0)
            continue;
        snprintf(g->name, sizeof g->name, "%s", names && names[i] ? names[i] : g->e.name);
        g->kind = classify(g);
        g->since = NAN;
        if (g->kind == FF_MEMORY && f->threshold_bps <= 0)
            f->threshold_bps = g->e.threshold * MB / 3600.0;
        else if (g->kind == FF_MEMORY)
            g->kind = FF_NEVER; /* one memory rule: the first gate's threshold */
        if (g->kind != FF_NEVER)
            f->ngates++;
    }
    f->t0 = NAN;
    f->last_look = -INFINITY;
    if (f->threshold_bps > 0) {
        f->res = malloc(sizeof *f->res);
        if (!f->res || leakstat_stream_init(&f->mem, FAILFAST_STREAM_CAP)) {
            free(f->res);
            f->res = NULL;
            return ERR_NOMEM;
        }
    }
    return 0;
}

int failfast_init_opts(failfast *f, const opts *o, int find_restarts)
{
    failfast_opts fo;
    failfast_opts_default(&fo);
    fo.window_s = (double)o->leak_window_ms / 1000.0;
    fo.min_span_s = (double)o->leak_min_span_ms / 1000.0;
    fo.zombie_grace_s = (double)o->fail_fast_zombie_grace_ms / 1000.0;
    fo.cycle_bytes = (double)o->fail_fast_cycle;
    fo.find_restarts = find_restarts;
    uint64_t wms;
    if (strcmp(o->warmup, "auto") != 0 && units_parse_duration(o->warmup, &wms) == 0)
        fo.warmup_s = (double)wms / 1000.0;
    const char *names[OPTS_MAX_GATES], *exprs[OPTS_MAX_GATES];
    for (size_t i = 0; i < o->ngates && i < OPTS_MAX_GATES; i++) {
        names[i] = o->gate_names[i];
        exprs[i] = o->gate_exprs[i];
    }
    return failfast_init(f, &fo, names, exprs, o->ngates);
}

void failfast_free(failfast *f)
{
    if (f->res)
        leakstat_stream_free(&f->mem);
    free(f->res);
    f->res = NULL;
}

static int decide(failfast *f, const char *name, double t)
{
    f->decided = 1;
    snprintf(f->gate, sizeof f->gate, "%s", name);
    f->elapsed_s = t - f->t0;
    return 1;
}

/* The sequential memory rule at one look: 1 when this look proves a leak. */
static int memory_look(failfast *f, int *err)
{
    *err = 0;
    if (f->mem.n < 2)
        return 0;
    leakstat_opts lo;
    leakstat_opts_default(&lo);
    lo.threshold_bps = f->threshold_bps;
    lo.window_s = f->o.window_s;
    lo.min_span_s = f->o.min_span_s;
    lo.warmup_s = f->o.warmup_s;
    lo.conf = f->o.conf;
    lo.restarts = f->o.find_restarts;
    leakstat_result *r = f->res;
    int rc = leakstat_analyze(f->mem.t, f->mem.y, f->mem.seg, f->mem.n, &lo, r);
    if (rc == ERR_NOMEM) {
        *err = rc;
        return 0;
    }
    if (rc || r->insufficient || !r->leak || r->warming)
        return 0;
    double span = 0; /* seconds the pooled fit covers */
    for (size_t i = 0; i < r->nsegments; i++)
        if (r->segments[i].pooled)
            span += r->segments[i].t1 - r->segments[i].t0 - r->segments[i].warmup_s;
    return r->fit.lo * span > f->o.cycle_bytes;
}

int failfast_add(failfast *f, const double *v, double crashes, double hangs)
{
    if (f->decided)
        return 1;
    double t = v[STORE_COL_t];
    if (!isfinite(t))
        return 0;
    if (!isfinite(f->t0))
        f->t0 = t;
    f->nsamples++;
    int svc = v[STORE_COL_procs] > 0 || !isfinite(v[STORE_COL_procs]);
    for (size_t i = 0; i < f->ngates; i++) {
        failfast_gate *g = &f->g[i];
        const gate_expr *e = &g->e;
        double x = g->col >= 0 ? v[g->col] : NAN;
        if (g->col >= 0 &&
            (!isfinite(x) || (!svc && store_col_scope((store_col)g->col) != STORE_S_ALWAYS)))
            continue;
        switch (g->kind) {
        case FF_MAX:
            if (past_upper(e->op, x, e->threshold))
                return decide(f, g->name, t);
            break;
        case FF_MIN:
            if (past_lower(e->op, x, e->threshold))
                return decide(f, g->name, t);
            break;
        case FF_COUNT:
            if (g->have)
                g->acc += x >= g->first ? x - g->first : x; /* a decrease: a reset */
            g->first = x;
            g->have = 1;
            if (past_upper(e->op, g->acc, e->threshold))
                return decide(f, g->name, t);
            break;
        case FF_COUNTER: {
            double c = !strcmp(e->name, "crashes") ? crashes : hangs;
            if (isfinite(c) && past_upper(e->op, c, e->threshold))
                return decide(f, g->name, t);
            break;
        }
        case FF_ZOMBIE:
            if (!past_upper(e->op, x, e->threshold)) {
                g->since = NAN;
                break;
            }
            if (!isfinite(g->since))
                g->since = t;
            if (t - g->since >= f->o.zombie_grace_s)
                return decide(f, g->name, t);
            break;
        default:
            break;
        }
    }
    if (!(f->threshold_bps > 0))
        return 0;
    double rss = v[STORE_COL_rss_bytes], rs = v[STORE_COL_restarts];
    if (svc && isfinite(rss) && rss > 0) {
        int seg = isfinite(rs) && rs >= 0 && rs < 1e9 ? (int)rs : 0;
        if (f->mem.added && seg < f->mem.cur_seg)
            seg = f->mem.cur_seg;
        if (leakstat_stream_add(&f->mem, t, rss, seg))
            return ERR_NOMEM;
    }
    if (t - f->last_look < f->o.look_s)
        return 0;
    f->last_look = t;
    f->looks++;
    int err;
    int pos = memory_look(f, &err);
    if (err)
        return err;
    f->streak = pos ? f->streak + 1 : 0;
    if (f->streak >= f->o.confirm) {
        for (size_t i = 0; i < f->ngates; i++)
            if (f->g[i].kind == FF_MEMORY)
                return decide(f, f->g[i].name, t);
    }
    return 0;
}
