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
 * --dump writes trace ID (0-based, non-leaking first) as "t,y,seg" lines and exits. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakstat.h"

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
    size_t total = jb->nonleak + jb->per_rate * (NRATES - 1);
    for (;;) {
        pthread_mutex_lock(&jb->lock);
        size_t idx = jb->next++;
        pthread_mutex_unlock(&jb->lock);
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
    free(t);
    free(y);
    free(seg);
    free(res);
    return NULL;
}

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
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        size_t *dst = NULL;
        if (!strcmp(argv[i], "-n"))
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
        } else if (!strcmp(argv[i], "--dump") && i + 2 < argc) {
            if (parse_size(argv[++i], &dump_id))
                goto usage;
            dump = argv[++i];
            continue;
        }
        if (!dst || i + 1 >= argc || parse_size(argv[++i], dst))
            goto usage;
    }
    jb.seed = seed;
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
                    "[--dump ID FILE] [--window S] [--bucket S]\n");
    return 2;
}
