/* analyze-speed: CPU time of leakstat_analyze on a long series generated in memory.
 *
 *   analyze-speed N [ROUNDS] [--env FILE] [--raw FILE COUNT]
 *
 * Generates N samples at 1 Hz (a 20 MB/h leak under warm-up, a 150 MB GC sawtooth of 20 min,
 * noise; deterministic), then runs leakstat_analyze ROUNDS times (default 5). Prints one line:
 *   n=N gen_cpu_s=... analyze_cpu_s_min=... analyze_cpu_s_median=... slope_mbh=... points=...
 * CPU times are of this process (CLOCK_PROCESS_CPUTIME_ID), generation apart from analysis.
 * --env writes the envelope points the slope is fitted on ("t,y" lines, after warm-up), so
 * another tool can be timed on the same data, and prints a second line with the CPU time of
 * leakstat_theil_sen alone on them; --raw writes the first COUNT raw samples. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakstat.h"

#define MB 1e6

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 42;

static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        u[i] = (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0] + 1e-12)) * cos(2 * M_PI * u[1]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
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

static int write_points(const char *path, const double *t, const double *y, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.3f,%.1f\n", t[i], y[i]);
    return fclose(f);
}

int main(int argc, char **argv)
{
    size_t n = 0, rounds = 5, raw_count = 0;
    const char *env_path = NULL, *raw_path = NULL;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            env_path = argv[++i];
        } else if (!strcmp(argv[i], "--raw") && i + 2 < argc) {
            raw_path = argv[++i];
            if (parse_size(argv[++i], &raw_count))
                goto usage;
        } else if (pos == 0 && !parse_size(argv[i], &n)) {
            pos++;
        } else if (pos == 1 && !parse_size(argv[i], &rounds)) {
            pos++;
        } else {
            goto usage;
        }
    }
    if (n < 2 || rounds < 1)
        goto usage;

    double c0 = cpu_now();
    double *t = malloc(n * sizeof *t), *y = malloc(n * sizeof *y);
    if (!t || !y) {
        fprintf(stderr, "analyze-speed: out of memory for %zu samples\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double s = (double)i;
        t[i] = s;
        y[i] = 300 * MB + 200 * MB * (1 - exp(-s / 300)) + 150 * MB * fmod(s, 1200) / 1200 +
               20 * MB * s / 3600 + 2 * MB * gauss();
    }
    double gen = cpu_now() - c0;

    leakstat_opts o;
    leakstat_opts_default(&o);
    leakstat_result *r = malloc(sizeof *r);
    double *times = malloc(rounds * sizeof *times);
    if (!r || !times)
        return 1;
    for (size_t k = 0; k < rounds; k++) {
        double a0 = cpu_now();
        int rc = leakstat_analyze(t, y, NULL, n, &o, r);
        times[k] = cpu_now() - a0;
        if (rc != 0) {
            fprintf(stderr, "analyze-speed: leakstat_analyze failed (%d)\n", rc);
            return 1;
        }
    }
    qsort(times, rounds, sizeof *times, cmp_double);
    printf("n=%zu gen_cpu_s=%.4f analyze_cpu_s_min=%.6f analyze_cpu_s_median=%.6f "
           "slope_mbh=%.3f lo_mbh=%.3f hi_mbh=%.3f points=%zu bucket_s=%.1f leak=%d\n",
           n, gen, times[0], times[rounds / 2], r->fit.slope * 3600 / MB, r->fit.lo * 3600 / MB,
           r->fit.hi * 3600 / MB, r->fit.points, r->bucket_s, r->leak);

    if (env_path) { /* the same points: bucket minima, rolling minimum, after the warm-up */
        double *et = malloc(2 * LEAKSTAT_MAX_POINTS * sizeof *et);
        if (!et)
            return 1;
        double *ey = et + LEAKSTAT_MAX_POINTS;
        size_t m = leakstat_envelope(t, y, n, r->bucket_s, et, ey, LEAKSTAT_MAX_POINTS);
        long k = leakstat_envelope_rolling(et, ey, m, o.window_s);
        size_t kept = 0;
        for (long i = 0; i < k; i++)
            if (et[i] >= t[0] + r->segments[0].warmup_s) {
                et[kept] = et[i];
                ey[kept++] = ey[i];
            }
        leakstat_fit f; /* the slope alone on those points, to set beside scipy's */
        double f0 = cpu_now();
        if (leakstat_theil_sen(et, ey, NULL, kept, o.conf, &f) != 0)
            return 1;
        printf("envelope_points=%zu theil_sen_cpu_s=%.5f slope_mbh=%.3f lo_mbh=%.3f "
               "hi_mbh=%.3f\n",
               kept, cpu_now() - f0, f.slope * 3600 / MB, f.lo * 3600 / MB, f.hi * 3600 / MB);
        if (kept != r->fit.points || write_points(env_path, et, ey, kept)) {
            fprintf(stderr, "analyze-speed: cannot write the envelope to '%s'\n", env_path);
            return 1;
        }
        free(et);
    }
    if (raw_path && write_points(raw_path, t, y, raw_count < n ? raw_count : n)) {
        fprintf(stderr, "analyze-speed: cannot write '%s'\n", raw_path);
        return 1;
    }
    free(times);
    free(r);
    free(t);
    free(y);
    return 0;
usage:
    fprintf(stderr, "usage: analyze-speed N [ROUNDS] [--env FILE] [--raw FILE COUNT]\n");
    return 2;
}
