/* leak-quality: the leak verdict's quality on a synthetic set, soak vs naive vs least squares.
 *
 *   leak-quality [-n NONLEAK] [-l LEAKING_PER_RATE] [-j THREADS] [-s SEED] [--dump ID FILE]
 *                [--window S] [--bucket S]   (window_s / bucket_s; --window 0: off, --bucket 0:
 * auto)
 *
 * Generates, deterministically from the seed, NONLEAK traces that do not leak and
 * LEAKING_PER_RATE traces at each of 5, 10, 20 and 50 MB/h, 24 h at 1 Hz each, with the shapes
 * of issue 3 (noise, allocator warm-up up to 300 MB in the first 30 min, GC sawtooth up to
 * 200 MB peak-to-peak with periods of 1-30 min, one step up such as a cache filling, occasional
 * restarts that reset memory to the baseline). Runs leakstat_analyze, the naive
 * (end - start) / hours and least squares on each, all against 10 MB/h, and prints the table;
 * then the hours of data a 20 MB/h leak needs before soak flags it (prefixes of 1, 2, ... h).
 * --dump writes trace ID (0-based, non-leaking first) as "t,y,seg" lines and exits;
 * --dump-hard ID FILE the same for trace ID of the hard set (rates 0, 20, 50 in turn).
 *
 *   leak-quality --hard-eor [--hard N] [-j THREADS] [-s SEED]
 *
 * The hard shapes (see make_hard), N per rate: the end-of-run verdict at 3, 6 and 24 h, with
 * restart marks (as soak's own record) and imported (restarts looked for in the series):
 * leaks, inconclusive verdicts (leakstat_result.unsure) and too little data, per shape; then
 * the restarts found in the imports against those there, per shape and length.
 * Env: LEAK_QUALITY_VERBOSE=1 prints each leak-free trace flagged, with the --hard N
 * --dump-hard ID that saves it; LEAK_QUALITY_RESTARTS=1 each 24 h import whose restarts found
 * differ from those there (the times of both). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakstat.h"
#ifndef BEFORE
#include "failfast.h"
#endif

#define HOURS      24
#define N_SAMPLES  (HOURS * 3600)
#define MB         1e6
#define THRESH_MBH 10.0
#define NRATES     5
#define NPREFIX    6

static const int prefix_h[NPREFIX] = {1, 2, 3, 6, 12, 24}; /* false positives on short runs */

static const double rates[NRATES] = {0, 5, 10, 20, 50}; /* MB/h; 0: the non-leaking set */

/* splitmix64: small, seedable, good enough for test data */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uni(uint64_t *s, double a, double b)
{
    return a + (b - a) * ((double)(next_u64(s) >> 11) / 9007199254740992.0);
}

static double gauss(uint64_t *s)
{
    double u = uni(s, 1e-12, 1), v = uni(s, 0, 1);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

typedef struct shape {
    double base, noise;                /* MB */
    double warm_mb, warm_s, warm_lin;  /* warm-up size, duration, linear (1) or exponential (0) */
    double saw_mb, saw_s, saw_phase;   /* sawtooth peak-to-peak, period, phase */
    double step_mb, step_t, step_ramp; /* step size, time (from trace start), ramp duration */
    int nrestart;
    double restart[3];
} shape;

static void make_shape(uint64_t *r, shape *s)
{
    memset(s, 0, sizeof *s);
    s->base = uni(r, 50, 500);
    s->noise = uni(r, 0.2, 5);
    s->warm_mb = uni(r, 0, 300);
    s->warm_s = uni(r, 60, 1800);
    s->warm_lin = uni(r, 0, 1) < 0.5;
    if (uni(r, 0, 1) < 0.8) {
        s->saw_mb = uni(r, 0, 200);
        s->saw_s = uni(r, 60, 1800);
        s->saw_phase = uni(r, 0, s->saw_s);
    }
    if (uni(r, 0, 1) < 0.5) {
        s->step_mb = uni(r, 10, 200);
        s->step_t = uni(r, 3600, 23 * 3600);
        s->step_ramp = uni(r, 0, 600);
    }
    if (uni(r, 0, 1) < 0.3) {
        s->nrestart = 1 + (int)uni(r, 0, 3);
        for (int i = 0; i < s->nrestart; i++)
            s->restart[i] = uni(r, 1800, (HOURS - 0.5) * 3600);
        for (int i = 1; i < s->nrestart; i++) /* sort the (at most 3) restart times */
            for (int j = i; j > 0 && s->restart[j] < s->restart[j - 1]; j--) {
                double x = s->restart[j];
                s->restart[j] = s->restart[j - 1];
                s->restart[j - 1] = x;
            }
    }
}

/* Fills t, y (bytes), seg for trace id at the given leak rate. */
static void make_trace(uint64_t seed, size_t id, double rate_mbh, double *t, double *y, int *seg,
                       shape *out_shape)
{
    uint64_t r = seed ^ (0x1000003ull * (id + 1));
    next_u64(&r);
    shape s;
    make_shape(&r, &s);
    int k = 0;
    double seg_start = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        double ti = (double)i;
        while (k < s.nrestart && ti >= s.restart[k])
            seg_start = s.restart[k++];
        double u = ti - seg_start; /* time since (re)start */
        double v = s.base + s.noise * gauss(&r);
        if (s.warm_lin)
            v += s.warm_mb * (u < s.warm_s ? u / s.warm_s : 1);
        else
            v += s.warm_mb * (1 - exp(-5 * u / s.warm_s));
        if (s.saw_s > 0)
            v += s.saw_mb * fmod(ti + s.saw_phase, s.saw_s) / s.saw_s;
        if (s.step_mb > 0 && s.step_t >= seg_start && ti >= s.step_t) {
            double d = ti - s.step_t;
            v += s.step_mb * (s.step_ramp > 0 && d < s.step_ramp ? d / s.step_ramp : 1);
        }
        v += rate_mbh * u / 3600;
        t[i] = ti;
        y[i] = v * MB;
        seg[i] = k;
    }
    if (out_shape)
        *out_shape = s;
}

typedef struct job {
    uint64_t seed;
    double window_s, bucket_s; /* leakstat_opts overrides; -1: the default; window -2: off */
    size_t nonleak, per_rate;
    size_t next; /* next trace to take (under lock) */
    pthread_mutex_t lock;
    /* results, [rate][method]: method 0 soak, 1 naive, 2 ols, 3 soak upper end >= threshold */
    size_t flagged[NRATES][4];
    size_t insufficient[NRATES];
    int *first_hour; /* per 20 MB/h trace: first prefix flagged (0: never) */
    double worst_fp_lo_mbh;
    size_t prefix_fp[NPREFIX], prefix_insufficient[NPREFIX];
    int restarts;               /* leakstat_opts.restarts (--restarts 0|1) */
    size_t imp_flagged[NRATES]; /* the same traces imported: no restart marks */
    size_t imp_insufficient[NRATES];
} job;

static void trace_of(const job *jb, size_t idx, int *rate_i, size_t *id)
{
    *id = idx;
    if (idx < jb->nonleak) {
        *rate_i = 0;
        return;
    }
    idx -= jb->nonleak;
    *rate_i = 1 + (int)(idx / jb->per_rate);
}

/* The next trace to work on (shared between the workers). */
static size_t take_next(pthread_mutex_t *lock, size_t *next)
{
    pthread_mutex_lock(lock);
    size_t idx = (*next)++;
    pthread_mutex_unlock(lock);
    return idx;
}

static void bufs_free(double *t, double *y, int *seg, leakstat_result *res)
{
    free(t);
    free(y);
    free(seg);
    free(res);
}

static void *worker(void *arg)
{
    job *jb = arg;
    double *t = malloc(N_SAMPLES * sizeof *t), *y = malloc(N_SAMPLES * sizeof *y);
    int *seg = malloc(N_SAMPLES * sizeof *seg);
    leakstat_result *res = malloc(sizeof *res);
    if (!t || !y || !seg || !res) {
        fprintf(stderr, "leak-quality: out of memory\n");
        exit(1);
    }
    leakstat_opts o;
    leakstat_opts_default(&o);
    if (jb->window_s != -1)
        o.window_s = jb->window_s;
    if (jb->bucket_s >= 0)
        o.bucket_s = jb->bucket_s;
#ifndef BEFORE
    o.restarts = jb->restarts;
#endif
    size_t total = jb->nonleak + jb->per_rate * (NRATES - 1);
    for (;;) {
        size_t idx = take_next(&jb->lock, &jb->next);
        if (idx >= total)
            break;
        int ri;
        size_t id;
        trace_of(jb, idx, &ri, &id);
        make_trace(jb->seed, id, rates[ri], t, y, seg, NULL);
        int f[4] = {0, 0, 0, 0};
        double s;
        if (leakstat_analyze(t, y, seg, N_SAMPLES, &o, res) != 0) {
            fprintf(stderr, "leak-quality: analyze failed on trace %zu\n", idx);
            exit(1);
        }
        f[0] = res->leak;
        f[3] = !res->insufficient && !res->below;
        if (leakstat_analyze(t, y, NULL, N_SAMPLES, &o, res) != 0) {
            fprintf(stderr, "leak-quality: analyze failed on trace %zu\n", idx);
            exit(1);
        }
        int fimp = res->leak, fimp_ins = res->insufficient;
        if (leakstat_analyze(t, y, seg, N_SAMPLES, &o, res) != 0)
            exit(1);
        if (leakstat_naive(t, y, N_SAMPLES, &s) == 0)
            f[1] = s > o.threshold_bps;
        if (leakstat_ols(t, y, N_SAMPLES, &s, NULL) == 0)
            f[2] = s > o.threshold_bps;
        if (getenv("LEAK_QUALITY_VERBOSE") &&
            (f[0] != (rates[ri] > THRESH_MBH) || res->insufficient ||
             (ri == 0 && res->fit.lo * 0.0036 > 3))) {
            shape sh;
            make_trace(jb->seed, id, rates[ri], t, y, seg, &sh);
            fprintf(stderr,
                    "trace %zu rate %.0f: leak %d insufficient %d slope %.2f [%.2f, %.2f] "
                    "points %zu segs %zu | noise %.1f warm %.0f/%.0fs saw %.0f/%.0fs step %.0f "
                    "at %.0fs restarts %d",
                    idx, rates[ri], res->leak, res->insufficient, res->fit.slope * 0.0036,
                    res->fit.lo * 0.0036, res->fit.hi * 0.0036, res->fit.points, res->nsegments,
                    sh.noise, sh.warm_mb, sh.warm_s, sh.saw_mb, sh.saw_s, sh.step_mb, sh.step_t,
                    sh.nrestart);
            for (size_t q = 0; q < res->nsegments; q++)
                fprintf(stderr, " [seg %.0f-%.0f warm %.0f used %zu steps %zu slope %.2f]",
                        res->segments[q].t0, res->segments[q].t1, res->segments[q].warmup_s,
                        res->segments[q].used, res->segments[q].steps,
                        res->segments[q].fit.slope * 0.0036);
            fprintf(stderr, "\n");
        }
        int pfp[NPREFIX] = {0}, pins[NPREFIX] = {0};
        if (ri == 0) { /* non-leaking prefixes: does a short run cry wolf? */
            for (int q = 0; q < NPREFIX; q++) {
                leakstat_result *p = malloc(sizeof *p);
                if (!p || leakstat_analyze(t, y, seg, (size_t)prefix_h[q] * 3600, &o, p) != 0) {
                    fprintf(stderr, "leak-quality: prefix analyze failed\n");
                    exit(1);
                }
                pfp[q] = p->leak;
                pins[q] = p->insufficient;
                free(p);
            }
        }
        int first = 0;
        if (rates[ri] == 20) { /* growing prefixes: the first hour at which soak flags it */
            for (int h = 1; h <= HOURS && !first; h++) {
                leakstat_result *p = malloc(sizeof *p);
                if (!p || leakstat_analyze(t, y, seg, (size_t)h * 3600, &o, p) != 0) {
                    fprintf(stderr, "leak-quality: prefix analyze failed\n");
                    exit(1);
                }
                if (p->leak)
                    first = h;
                free(p);
            }
        }
        pthread_mutex_lock(&jb->lock);
        for (int m = 0; m < 4; m++)
            jb->flagged[ri][m] += (size_t)f[m];
        jb->imp_flagged[ri] += (size_t)fimp;
        jb->imp_insufficient[ri] += (size_t)fimp_ins;
        jb->insufficient[ri] += (size_t)res->insufficient;
        for (int q = 0; q < NPREFIX; q++) {
            jb->prefix_fp[q] += (size_t)pfp[q];
            jb->prefix_insufficient[q] += (size_t)pins[q];
        }
        if (ri == 0 && res->fit.lo / (MB / 3600) > jb->worst_fp_lo_mbh)
            jb->worst_fp_lo_mbh = res->fit.lo / (MB / 3600);
        if (rates[ri] == 20)
            jb->first_hour[idx - jb->nonleak - 2 * jb->per_rate] = first;
        pthread_mutex_unlock(&jb->lock);
    }
    bufs_free(t, y, seg, res);
    return NULL;
}

#ifndef BEFORE
/* ---- the hard shapes (issue 11 part 4, issue 12 part 4) and fail-fast ---- */

#define NKINDS 5
static const char *const kind_name[NKINDS] = {
    "slow cycle (sine, 2-6 h, +-20-60 MB)", "long saturating warm-up (95 % in 30-60 min)",
    "restarts, each with a long warm-up", "one-time step (cache grows once)",
    "one restart at 1-2 h, long warm-ups (3 h run)"};

/* Trace id of the hard set, kind id % NKINDS, at rate_mbh (growth since the last restart). */
static void make_hard(uint64_t seed, size_t id, double rate_mbh, double *t, double *y, int *seg)
{
    uint64_t r = seed ^ (0x2000003ull * (id + 7));
    next_u64(&r);
    int kind = (int)(id % NKINDS);
    double base = uni(&r, 50, 500), noise = uni(&r, 0.2, 5);
    double amp = uni(&r, 20, 60), per = uni(&r, 2, 6) * 3600, ph = uni(&r, 0, 2 * M_PI);
    double wmb = uni(&r, 100, 500), tau = uni(&r, 600, 1200);
    double saw_mb = uni(&r, 0, 1) < 0.5 ? uni(&r, 0, 100) : 0, saw_s = uni(&r, 60, 1800);
    double step_mb = uni(&r, 20, 200), step_t = uni(&r, 3600, 20 * 3600), ramp = uni(&r, 0, 1800);
    double rst[3];
    int nr = 0;
    if (kind == 2) {
        nr = 1 + (int)uni(&r, 0, 3);
        for (int i = 0; i < nr; i++)
            rst[i] = uni(&r, 3600, 22 * 3600);
        for (int i = 1; i < nr; i++)
            for (int j = i; j > 0 && rst[j] < rst[j - 1]; j--) {
                double x = rst[j];
                rst[j] = rst[j - 1];
                rst[j - 1] = x;
            }
    } else if (kind == 4) {
        nr = 1;
        rst[0] = uni(&r, 3600, 7200);
    }
    if (kind != 1 && kind != 2 && kind != 4) {
        wmb = uni(&r, 0, 100);
        tau = uni(&r, 60, 600);
    }
    int k = 0;
    double s0 = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        double ti = (double)i;
        while (k < nr && ti >= rst[k])
            s0 = rst[k++];
        double u = ti - s0;
        double v = base + noise * gauss(&r) + wmb * (1 - exp(-u / tau));
        if (kind == 0)
            v += amp * sin(2 * M_PI * ti / per + ph);
        if (kind == 3 && ti >= step_t)
            v += step_mb * (ramp > 0 && ti - step_t < ramp ? (ti - step_t) / ramp : 1);
        if (saw_mb > 0)
            v += saw_mb * fmod(ti, saw_s) / saw_s;
        v += rate_mbh * u / 3600;
        t[i] = ti;
        y[i] = v * MB;
        seg[i] = k;
    }
}

/* Fail-fast replayed on a trace, a look every minute as live: the elapsed seconds at the
 * stop, or -1 when it never stops. marks: 0 imports the series without restart marks. */
static double ff_replay(const double *t, const double *y, const int *seg, size_t n, int marks)
{
    static const char *const names[] = {"memory_growth"};
    static const char *const exprs[] = {"last(memory_growth_mb_per_hour) < 10"};
    failfast_opts fo;
    failfast_opts_default(&fo);
    fo.find_restarts = !marks; /* as soak analyze --replay-fail-fast on an import */
    failfast *f = malloc(sizeof *f);
    if (!f || failfast_init(f, &fo, names, exprs, 1)) {
        fprintf(stderr, "leak-quality: out of memory\n");
        exit(1);
    }
    double v[STORE_NCOLS];
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = NAN;
    v[STORE_COL_procs] = 1;
    double out = -1;
    for (size_t i = 0; i < n; i++) {
        v[STORE_COL_t] = t[i];
        v[STORE_COL_rss_bytes] = y[i];
        v[STORE_COL_restarts] = marks ? seg[i] : 0;
        int rc = failfast_add(f, v, 0, 0);
        if (rc < 0) {
            fprintf(stderr, "leak-quality: fail-fast failed\n");
            exit(1);
        }
        if (rc == 1) {
            out = f->elapsed_s;
            break;
        }
    }
    failfast_free(f);
    free(f);
    return out;
}

typedef struct ffjob {
    uint64_t seed;
    size_t hard, main_n; /* hard traces per rate; main-set traces per rate */
    size_t next;
    pthread_mutex_t lock;
    /* hard set: [rate 0,20,50][kind]: traces, end-of-run flagged at 3 h / 24 h (marks, imported),
       fail-fast stops (marks, imported) */
    size_t h_n[3][NKINDS], h_eor[3][NKINDS][4], h_ff[3][NKINDS][2];
    /* main set: [rate 0,20,50]: traces, fail-fast stops (marks) and the elapsed times */
    size_t m_n[3], m_ff[3], m_ffi[3];
    double *stop_s[3]; /* elapsed at stop of leaking traces (main and hard, marked) */
    size_t nstop[3];
} ffjob;

static const double ff_rates[3] = {0, 20, 50};

/* A worker's buffers, one 24 h trace and a result, and the default options; exits without
 * memory. */
static void hard_bufs(double **t, double **y, int **seg, leakstat_result **res, leakstat_opts *o)
{
    leakstat_opts_default(o);
    *t = malloc(N_SAMPLES * sizeof **t);
    *y = malloc(N_SAMPLES * sizeof **y);
    *seg = malloc(N_SAMPLES * sizeof **seg);
    *res = malloc(sizeof **res);
    if (!*t || !*y || !*seg || !*res) {
        fprintf(stderr, "leak-quality: out of memory\n");
        exit(1);
    }
}

static void *ff_worker(void *arg)
{
    ffjob *jb = arg;
    double *t, *y;
    int *seg;
    leakstat_result *res;
    leakstat_opts o;
    hard_bufs(&t, &y, &seg, &res, &o);
    o.restarts = 1;
    size_t per = jb->hard + jb->main_n, total = 3 * per;
    for (;;) {
        size_t idx = take_next(&jb->lock, &jb->next);
        if (idx >= total)
            break;
        int ri = (int)(idx / per);
        size_t j = idx % per;
        int hard = j < jb->hard;
        int kind = hard ? (int)(j % NKINDS) : -1;
        if (hard)
            make_hard(jb->seed, j, ff_rates[ri], t, y, seg);
        else
            make_trace(jb->seed, j - jb->hard, ff_rates[ri], t, y, seg, NULL);
        int eor[4] = {0, 0, 0, 0};
        if (hard) {
            for (int q = 0; q < 4; q++) {
                size_t n = q < 2 ? 3 * 3600 : N_SAMPLES;
                if (leakstat_analyze(t, y, q % 2 ? NULL : seg, n, &o, res) != 0)
                    exit(1);
                eor[q] = res->leak;
            }
        }
        double st = ff_replay(t, y, seg, N_SAMPLES, 1);
        double sti = ff_replay(t, y, seg, N_SAMPLES, 0);
        pthread_mutex_lock(&jb->lock);
        if (hard) {
            jb->h_n[ri][kind]++;
            for (int q = 0; q < 4; q++)
                jb->h_eor[ri][kind][q] += (size_t)eor[q];
            jb->h_ff[ri][kind][0] += st >= 0;
            jb->h_ff[ri][kind][1] += sti >= 0;
        } else {
            jb->m_n[ri]++;
            jb->m_ff[ri] += st >= 0;
            jb->m_ffi[ri] += sti >= 0;
        }
        if (st >= 0 && ri > 0)
            jb->stop_s[ri][jb->nstop[ri]++] = st;
        if (getenv("LEAK_QUALITY_VERBOSE") && ri == 0 && (st >= 0 || sti >= 0))
            fprintf(stderr, "fail-fast stops clean trace %s %zu at %.0f s (imported %.0f s)\n",
                    hard ? "hard" : "main", hard ? j : j - jb->hard, st, sti);
        pthread_mutex_unlock(&jb->lock);
    }
    bufs_free(t, y, seg, res);
    return NULL;
}

/* The end-of-run verdict on the hard shapes, at 3, 6 and 24 h, with marks and imported: leak,
 * inconclusive (still warming up, or a slow cycle: leakstat_result.unsure) and too little data.
 * No fail-fast replay, so it takes seconds. */
#define NDUR 3
static const int dur_h[NDUR] = {3, 6, 24};

typedef struct eorjob {
    uint64_t seed;
    size_t hard; /* traces per rate */
    size_t next;
    pthread_mutex_t lock;
    /* [rate 0,20,50][kind][duration][marks 0, imported 1] */
    size_t n[3][NKINDS], leak[3][NKINDS][NDUR][2], unsure[3][NKINDS][NDUR][2],
        ins[3][NKINDS][NDUR][2];
    /* imported, restarts looked for: [kind][duration] restarts in the trace, found, traces
       with more found than there are (spurious), with fewer (missed); all rates */
    size_t rs_true[NKINDS][NDUR], rs_found[NKINDS][NDUR], rs_extra[NKINDS][NDUR],
        rs_missed[NKINDS][NDUR];
} eorjob;

static int res_unsure(const leakstat_result *r)
{
#ifdef LEAKSTAT_UNSURE_NONE
    return !r->insufficient && !r->leak && r->unsure != LEAKSTAT_UNSURE_NONE;
#else
    return !r->insufficient && !r->leak && r->warming;
#endif
}

static void *eor_worker(void *arg)
{
    eorjob *jb = arg;
    double *t, *y;
    int *seg;
    leakstat_result *res;
    leakstat_opts o;
    hard_bufs(&t, &y, &seg, &res, &o);
    size_t total = 3 * jb->hard;
    for (;;) {
        size_t idx = take_next(&jb->lock, &jb->next);
        if (idx >= total)
            break;
        int ri = (int)(idx / jb->hard);
        size_t j = idx % jb->hard;
        int kind = (int)(j % NKINDS);
        make_hard(jb->seed, j, ff_rates[ri], t, y, seg);
        int lk[NDUR][2], un[NDUR][2], in[NDUR][2];
        size_t rtrue[NDUR], rfound[NDUR];
        for (int d = 0; d < NDUR; d++)
            for (int m = 0; m < 2; m++) {
                size_t n = (size_t)dur_h[d] * 3600;
                o.restarts = m; /* as soak analyze: falls looked for in imports only */
                if (leakstat_analyze(t, y, m ? NULL : seg, n, &o, res) != 0)
                    exit(1);
                rtrue[d] = (size_t)seg[n - 1];
                if (m)
                    rfound[d] = res->restarts_found;
                if (getenv("LEAK_QUALITY_RESTARTS") && m && rfound[d] != rtrue[d] &&
                    d == NDUR - 1) {
                    fprintf(stderr, "restarts of hard %zu (rate %.0f, %s): there", j, ff_rates[ri],
                            kind_name[kind]);
                    for (size_t q = 1; q < n; q++)
                        if (seg[q] != seg[q - 1])
                            fprintf(stderr, " %zu", q);
                    fprintf(stderr, "; found");
                    for (size_t q = 1; q < res->nsegments; q++)
                        fprintf(stderr, " %.0f", res->segments[q].t0);
                    fprintf(stderr, " (--hard %zu --dump-hard %zu FILE)\n", jb->hard,
                            (size_t)ri * jb->hard + j);
                }
                lk[d][m] = res->leak;
                un[d][m] = res_unsure(res);
                in[d][m] = res->insufficient;
                if (getenv("LEAK_QUALITY_VERBOSE") && ri == 0 && res->leak)
                    fprintf(stderr,
                            "hard %zu (%s) %d h %s: slope %.2f [%.2f, %.2f] late %.2f [%.2f, "
                            "%.2f] early %.2f segs %zu restarts found %zu (dump: --hard %zu "
                            "--dump-hard %zu FILE)\n",
                            j, kind_name[kind], dur_h[d], m ? "imported" : "marks",
                            res->fit.slope * 0.0036, res->fit.lo * 0.0036, res->fit.hi * 0.0036,
                            res->late.slope * 0.0036, res->late.lo * 0.0036, res->late.hi * 0.0036,
                            res->early.slope * 0.0036, res->nsegments, res->restarts_found,
                            jb->hard, (size_t)ri * jb->hard + j);
                if (getenv("LEAK_QUALITY_VERBOSE") && ri == 0 && res->leak)
                    for (size_t q = 0; q < res->nsegments; q++)
                        fprintf(stderr,
                                "  seg %.0f-%.0f warm %.0f used %zu steps %zu pooled %d slope "
                                "%.2f [%.2f, %.2f]\n",
                                res->segments[q].t0, res->segments[q].t1, res->segments[q].warmup_s,
                                res->segments[q].used, res->segments[q].steps,
                                res->segments[q].pooled, res->segments[q].fit.slope * 0.0036,
                                res->segments[q].fit.lo * 0.0036, res->segments[q].fit.hi * 0.0036);
            }
        pthread_mutex_lock(&jb->lock);
        jb->n[ri][kind]++;
        for (int d = 0; d < NDUR; d++) {
            jb->rs_true[kind][d] += rtrue[d];
            jb->rs_found[kind][d] += rfound[d];
            jb->rs_extra[kind][d] += rfound[d] > rtrue[d];
            jb->rs_missed[kind][d] += rfound[d] < rtrue[d];
        }
        for (int d = 0; d < NDUR; d++)
            for (int m = 0; m < 2; m++) {
                jb->leak[ri][kind][d][m] += (size_t)lk[d][m];
                jb->unsure[ri][kind][d][m] += (size_t)un[d][m];
                jb->ins[ri][kind][d][m] += (size_t)in[d][m];
            }
        pthread_mutex_unlock(&jb->lock);
    }
    bufs_free(t, y, seg, res);
    return NULL;
}

static int eor_main(uint64_t seed, size_t hard, size_t threads)
{
    eorjob jb = {.seed = seed, .hard = hard};
    pthread_t th[64];
    if (hard < 1 || pthread_mutex_init(&jb.lock, NULL))
        return 1;
    for (size_t i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, eor_worker, &jb))
            return 1;
    for (size_t i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("hard shapes, end-of-run verdict: %zu traces per rate (%d kinds); seed %llu; each "
           "cell: leak / inconclusive / too little data, marks then imported\n\n",
           hard, NKINDS, (unsigned long long)seed);
    printf("| shape | rate MB/h | traces |");
    for (int d = 0; d < NDUR; d++)
        printf(" %d h marks | %d h imported |", dur_h[d], dur_h[d]);
    printf("\n|---|---|---|");
    for (int d = 0; d < NDUR; d++)
        printf("---|---|");
    printf("\n");
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < NKINDS; k++) {
            printf("| %s | %.0f | %zu |", kind_name[k], ff_rates[r], jb.n[r][k]);
            for (int d = 0; d < NDUR; d++)
                for (int m = 0; m < 2; m++)
                    printf(" %zu / %zu / %zu |", jb.leak[r][k][d][m], jb.unsure[r][k][d][m],
                           jb.ins[r][k][d][m]);
            printf("\n");
        }
    printf("\nrestarts found in the imported series (all rates): restarts there / found; traces "
           "with more found than there are, with fewer\n\n| shape |");
    for (int d = 0; d < NDUR; d++)
        printf(" %d h |", dur_h[d]);
    printf("\n|---|");
    for (int d = 0; d < NDUR; d++)
        printf("---|");
    printf("\n");
    for (int k = 0; k < NKINDS; k++) {
        printf("| %s |", kind_name[k]);
        for (int d = 0; d < NDUR; d++)
            printf(" %zu / %zu; %zu, %zu |", jb.rs_true[k][d], jb.rs_found[k][d], jb.rs_extra[k][d],
                   jb.rs_missed[k][d]);
        printf("\n");
    }
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int ff_main(uint64_t seed, size_t hard, size_t main_n, size_t threads)
{
    ffjob jb = {.seed = seed, .hard = hard, .main_n = main_n};
    pthread_t th[64];
    if (pthread_mutex_init(&jb.lock, NULL))
        return 1;
    for (int r = 0; r < 3; r++)
        if (!(jb.stop_s[r] = calloc(hard + main_n + 1, sizeof(double))))
            return 1;
    for (size_t i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, ff_worker, &jb))
            return 1;
    for (size_t i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("hard shapes: %zu traces per rate (%d kinds), main set: %zu per rate; 24 h at 1 Hz; "
           "seed %llu\n\n",
           hard, NKINDS, main_n, (unsigned long long)seed);
    printf("| shape | rate MB/h | traces | end of run 3 h: leak (marks / imported) | 24 h: leak "
           "(marks / imported) | fail-fast stops (marks / imported) |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < NKINDS; k++)
            printf("| %s | %.0f | %zu | %zu / %zu | %zu / %zu | %zu / %zu |\n", kind_name[k],
                   ff_rates[r], jb.h_n[r][k], jb.h_eor[r][k][0], jb.h_eor[r][k][1],
                   jb.h_eor[r][k][2], jb.h_eor[r][k][3], jb.h_ff[r][k][0], jb.h_ff[r][k][1]);
    for (int r = 0; r < 3; r++)
        printf("| main set | %.0f | %zu | | | %zu / %zu |\n", ff_rates[r], jb.m_n[r], jb.m_ff[r],
               jb.m_ffi[r]);
    for (int r = 1; r < 3; r++) {
        size_t n = jb.nstop[r], all = jb.m_n[r];
        for (int k = 0; k < NKINDS; k++)
            all += jb.h_n[r][k];
        qsort(jb.stop_s[r], n, sizeof(double), cmp_dbl);
        printf("\nfail-fast, %.0f MB/h (marks): stopped %zu of %zu (%.1f %%) before the end",
               ff_rates[r], n, all, all ? 100.0 * (double)n / (double)all : 0);
        if (n)
            printf("; time to stop: median %.1f h, worst %.1f h", jb.stop_s[r][n / 2] / 3600,
                   jb.stop_s[r][n - 1] / 3600);
        printf("\n");
        free(jb.stop_s[r]);
    }
    free(jb.stop_s[0]);
    return 0;
}
#endif

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = (size_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    job jb = {.seed = 20261128, .nonleak = 500, .per_rate = 200, .window_s = -1, .bucket_s = -1};
    size_t threads = 2, dump_id = 0, seed = 20261128;
    int dump_hard = 0; /* --dump-hard: trace ID of the hard set (rate 0, 20, 50 in turn) */
    const char *dump = NULL;
    size_t ff = 0, ff_hard = 100, ff_main_n = 50, restarts = 1;
    for (int i = 1; i < argc; i++) {
        size_t *dst = NULL;
        if (!strcmp(argv[i], "--fail-fast")) {
            ff = 1;
            continue;
        }
        if (!strcmp(argv[i], "--hard-eor")) {
            ff = 2;
            continue;
        }
        if (!strcmp(argv[i], "--hard"))
            dst = &ff_hard;
        else if (!strcmp(argv[i], "--main"))
            dst = &ff_main_n;
        else if (!strcmp(argv[i], "--restarts"))
            dst = &restarts;
        else if (!strcmp(argv[i], "-n"))
            dst = &jb.nonleak;
        else if (!strcmp(argv[i], "-l"))
            dst = &jb.per_rate;
        else if (!strcmp(argv[i], "-j"))
            dst = &threads;
        else if (!strcmp(argv[i], "-s"))
            dst = &seed;
        else if ((!strcmp(argv[i], "--window") || !strcmp(argv[i], "--bucket")) && i + 1 < argc) {
            size_t v;
            if (parse_size(argv[i + 1], &v))
                goto usage;
            if (!strcmp(argv[i], "--window"))
                jb.window_s = v ? (double)v : -2; /* leakstat: < 0 is off */
            else
                jb.bucket_s = (double)v;
            i++;
            continue;
        } else if ((!strcmp(argv[i], "--dump") || !strcmp(argv[i], "--dump-hard")) &&
                   i + 2 < argc) {
            dump_hard = !strcmp(argv[i], "--dump-hard");
            if (parse_size(argv[++i], &dump_id))
                goto usage;
            dump = argv[++i];
            continue;
        }
        if (!dst || i + 1 >= argc || parse_size(argv[++i], dst))
            goto usage;
    }
    jb.seed = seed;
    jb.restarts = restarts != 0;
#ifndef BEFORE
    if (ff == 2)
        return eor_main(seed, ff_hard, threads < 64 ? threads : 64);
    if (ff)
        return ff_main(seed, ff_hard, ff_main_n, threads < 64 ? threads : 64);
#else
    (void)ff;
#endif
    if (threads < 1 || threads > 64 || jb.per_rate < 1)
        goto usage;
    if (dump) {
        double *t = malloc(N_SAMPLES * sizeof *t), *y = malloc(N_SAMPLES * sizeof *y);
        int *seg = malloc(N_SAMPLES * sizeof *seg);
        int ri;
        size_t id;
        trace_of(&jb, dump_id, &ri, &id);
        FILE *f = fopen(dump, "w");
        if (!t || !y || !seg || !f) {
            fprintf(stderr, "leak-quality: cannot write '%s'\n", dump);
            return 1;
        }
        shape s;
        memset(&s, 0, sizeof s);
#ifndef BEFORE
        if (dump_hard)
            make_hard(jb.seed, dump_id % ff_hard, ff_rates[dump_id / ff_hard % 3], t, y, seg);
        else
#endif
            make_trace(jb.seed, id, rates[ri], t, y, seg, &s);
        fprintf(f,
                "# rate %.0f MB/h base %.0f noise %.1f warm %.0f MB/%.0fs saw %.0f MB/%.0fs "
                "step %.0f MB at %.0fs restarts %d\n",
                rates[ri], s.base, s.noise, s.warm_mb, s.warm_s, s.saw_mb, s.saw_s, s.step_mb,
                s.step_t, s.nrestart);
        for (size_t i = 0; i < N_SAMPLES; i++)
            fprintf(f, "%.0f,%.0f,%d\n", t[i], y[i], seg[i]);
        fclose(f);
        free(t);
        free(y);
        free(seg);
        return 0;
    }
    jb.first_hour = calloc(jb.per_rate, sizeof *jb.first_hour);
    pthread_t th[64];
    if (!jb.first_hour || pthread_mutex_init(&jb.lock, NULL))
        return 1;
    for (size_t i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, &jb)) {
            fprintf(stderr, "leak-quality: cannot start a thread\n");
            return 1;
        }
    for (size_t i = 0; i < threads; i++)
        pthread_join(th[i], NULL);

    char wbuf[32], bbuf[32];
    snprintf(wbuf, sizeof wbuf, "%.0f", jb.window_s < 0 ? 0 : jb.window_s);
    snprintf(bbuf, sizeof bbuf, "%.0f", jb.bucket_s);
    printf("traces: %zu non-leaking, %zu per leak rate; 24 h at 1 Hz; threshold %.0f MB/h; "
           "seed %zu; rolling window %s s, bucket %s s\n\n",
           jb.nonleak, jb.per_rate, THRESH_MBH, seed, jb.window_s != -1 ? wbuf : "1800 (default)",
           jb.bucket_s >= 0 ? bbuf : "auto");
    printf(
        "| traces                   | soak (lower end > 10) | naive (end-start) | least squares |"
        " soak upper end >= 10 |\n");
    printf(
        "|--------------------------|-----------------------|-------------------|---------------|"
        "----------------------|\n");
    for (int ri = 0; ri < NRATES; ri++) {
        size_t cnt = ri == 0 ? jb.nonleak : jb.per_rate;
        char label[64];
        if (ri == 0)
            snprintf(label, sizeof label, "no leak: false positives");
        else
            snprintf(label, sizeof label, "%.0f MB/h: detected", rates[ri]);
        printf("| %-24s |", label);
        for (int m = 0; m < 4; m++) {
            int m2 = m; /* columns: soak, naive, ols, soak upper */
            char cell[64];
            snprintf(cell, sizeof cell, "%zu/%zu (%.1f%%)", jb.flagged[ri][m2], cnt,
                     100.0 * (double)jb.flagged[ri][m2] / (double)cnt);
            printf(" %*s |", m == 0 ? 21 : m == 1 ? 17 : m == 2 ? 13 : 20, cell);
        }
        printf("\n");
    }
    printf("\nthe same traces imported (no restart marks; restarts found in the series: %s):\n",
           jb.restarts ? "on" : "off");
    for (int ri = 0; ri < NRATES; ri++) {
        size_t cnt = ri == 0 ? jb.nonleak : jb.per_rate;
        printf("  %s %.0f MB/h: leak %zu/%zu, insufficient %zu\n", ri ? "leaking" : "no leak",
               rates[ri], jb.imp_flagged[ri], cnt, jb.imp_insufficient[ri]);
    }
    size_t ins = 0;
    for (int ri = 0; ri < NRATES; ri++)
        ins += jb.insufficient[ri];
    printf("\nsoak: insufficient-data verdicts on the 24 h traces: %zu; highest lower end on a "
           "non-leaking trace: %.2f MB/h\n",
           ins, jb.worst_fp_lo_mbh);
    printf("non-leaking traces cut short: false positives (insufficient-data verdicts) by "
           "hours of data:");
    for (int q = 0; q < NPREFIX; q++)
        printf(" %d h: %zu (%zu);", prefix_h[q], jb.prefix_fp[q], jb.prefix_insufficient[q]);
    printf("\n");
    int *fh = jb.first_hour;
    size_t never = 0, k = 0;
    int *sorted = malloc(jb.per_rate * sizeof *sorted);
    if (!sorted)
        return 1;
    for (size_t i = 0; i < jb.per_rate; i++) {
        if (fh[i] == 0)
            never++;
        else
            sorted[k++] = fh[i];
    }
    qsort(sorted, k, sizeof *sorted, cmp_int);
    if (k)
        printf("20 MB/h: hours of data before soak flags it (prefixes of 1, 2, ... 24 h): "
               "median %d h, worst %d h, never within 24 h: %zu of %zu\n",
               sorted[k / 2], sorted[k - 1], never, jb.per_rate);
    else
        printf("20 MB/h: never flagged within 24 h\n");
    free(sorted);
    free(jb.first_hour);
    return 0;
usage:
    fprintf(stderr, "usage: leak-quality [-n NONLEAK] [-l PER_RATE] [-j THREADS] [-s SEED] "
                    "[--dump ID FILE] [--window S] [--bucket S] [--restarts 0|1]\n"
                    "       leak-quality --fail-fast [--hard N] [--main N] [-j THREADS] [-s SEED]\n"
                    "       leak-quality --hard-eor [--hard N] [-j THREADS] [-s SEED]\n");
    return 2;
}
