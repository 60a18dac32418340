/* cntrend: fd and thread leak verdicts. See cntrend.h. */
#include "cntrend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "units.h"

static const char *const series_names[] = {
#define CNTREND_NAME(name, series, label) series,
    CNTREND_SERIES(CNTREND_NAME)
#undef CNTREND_NAME
};

const char *cntrend_series_name(cntrend_which w)
{
    return (unsigned)w < CNTREND_N ? series_names[w] : "";
}

int cntrend_series_index(const char *name)
{
    for (int i = 0; i < CNTREND_N; i++)
        if (name && !strcmp(name, series_names[i]))
            return i;
    return -1;
}

void cntrend_leak_opts(const opts *o, double threshold_per_s, leakstat_opts *lo)
{
    leakstat_opts_default(lo);
    lo->threshold_bps = threshold_per_s;
    lo->window_s = (double)o->leak_window_ms / 1000.0;
    lo->min_span_s = (double)o->leak_min_span_ms / 1000.0;
    uint64_t wms;
    if (strcmp(o->warmup, "auto") != 0 && units_parse_duration(o->warmup, &wms) == 0)
        lo->warmup_s = (double)wms / 1000.0;
}

int cntrend_input_init(cntrend_input *in)
{
    memset(in, 0, sizeof *in);
    for (int i = 0; i < CNTREND_N; i++)
        if (leakstat_stream_init(&in->s[i], 0)) {
            cntrend_input_free(in);
            return ERR_NOMEM;
        }
    return 0;
}

void cntrend_input_free(cntrend_input *in)
{
    for (int i = 0; i < CNTREND_N; i++)
        leakstat_stream_free(&in->s[i]);
}

static void add_one(cntrend_input *in, int w, double t, double v, double restarts)
{
    if (!isfinite(v) || v <= 0)
        return;
    int seg = isfinite(restarts) && restarts >= 0 && restarts < 1e9 ? (int)restarts : 0;
    if (in->s[w].added && seg < in->seg[w])
        seg = in->seg[w];
    in->seg[w] = seg;
    if (leakstat_stream_add(&in->s[w], t, v, seg))
        in->failed = ERR_NOMEM;
}

void cntrend_input_add(cntrend_input *in, double t, double fds, double threads, double restarts)
{
    add_one(in, CNTREND_FDS, t, fds, restarts);
    add_one(in, CNTREND_THREADS, t, threads, restarts);
}

int cntrend_eval(const cntrend_input *in, cntrend_which w, const opts *o, double threshold_ph,
                 cntrend *out)
{
    memset(out, 0, sizeof *out);
    out->threshold_ph = threshold_ph;
    if ((unsigned)w >= CNTREND_N)
        return ERR_INVAL;
    const leakstat_stream *ls = &in->s[w];
    if (!ls->n) {
        out->ok = 1;
        out->insufficient = 1;
        return 0;
    }
    out->first = ls->y[0];
    out->last = ls->y[ls->n - 1];
    out->max = out->first;
    for (size_t i = 1; i < ls->n; i++)
        if (ls->y[i] > out->max)
            out->max = ls->y[i];
    leakstat_opts lo;
    cntrend_leak_opts(o, threshold_ph / 3600.0, &lo);
    leakstat_result *r = malloc(sizeof *r);
    if (!r)
        return ERR_NOMEM;
    int rc = leakstat_analyze(ls->t, ls->y, ls->seg, ls->n, &lo, r);
    if (rc) {
        free(r);
        return rc == ERR_NOMEM ? ERR_NOMEM : ERR_INVAL;
    }
    out->ok = 1;
    out->insufficient = r->insufficient;
    out->leak = r->leak;
    out->below = r->below;
    if (o->leak_rule == OPTS_LEAK_NOT_SHOWN_BELOW && !r->insufficient)
        out->leak = !r->below;
    out->slope_ph = r->fit.slope * 3600.0;
    out->lo_ph = r->fit.lo * 3600.0;
    out->hi_ph = r->fit.hi * 3600.0;
    free(r);
    return 0;
}
