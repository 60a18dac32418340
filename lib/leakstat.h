/*
 * leakstat: does a memory series grow? A robust answer for long, noisy series.
 *
 * Method (docs/leak-verdict.md): the series is split into segments (at restarts); each
 * segment's warm-up is left out; the rest is reduced to its lower envelope (the minimum of each
 * time bucket), which sees through allocator and GC sawtooth; a Theil-Sen slope is estimated
 * over pairs of envelope points of the same segment (pooled across segments), with Sen's
 * distribution-free confidence interval. A leak is declared only when the lower end of the
 * interval is above the threshold.
 *
 * Cost: O(n) for bucketing plus O(m^2 log m) for the slopes of m envelope points, and m is
 * capped (LEAKSTAT_MAX_POINTS), so the whole is O(n) in the number of samples.
 * Nothing here allocates more than O(n + m^2) or prints. Times in seconds, values in bytes.
 */
#ifndef LEAKSTAT_H
#define LEAKSTAT_H

#include <stddef.h>

#define LEAKSTAT_MAX_POINTS 1024   /* envelope points used for the slope, all segments */
#define LEAKSTAT_MAX_SEGMENTS 256  /* segments reported one by one (more are pooled only) */

/* A robust line fit. Slopes in bytes per second. */
typedef struct leakstat_fit {
    double slope;      /* median of pairwise slopes */
    double intercept;  /* median of y - slope * x */
    double lo, hi;     /* confidence interval of the slope */
    size_t points;     /* points used */
    size_t pairs;      /* pairwise slopes used */
} leakstat_fit;

/* Theil-Sen over points (x[i], y[i]); group[i] (may be NULL) restricts pairs to points of the
 * same group. conf is the two-sided confidence (e.g. 0.95). Returns 0, or -EINVAL when fewer
 * than 2 usable pairs exist, -ENOMEM. */
int leakstat_theil_sen(const double *x, const double *y, const int *group, size_t n, double conf,
                       leakstat_fit *out);

/* Ordinary least squares and the naive (last - first) / (t_last - t_first), for comparison. */
int leakstat_ols(const double *x, const double *y, size_t n, double *slope, double *intercept);
int leakstat_naive(const double *x, const double *y, size_t n, double *slope);

/* Lower envelope: the minimum of y in each bucket of bucket_s seconds (time of the bucket: the
 * time of its minimum). Writes at most max points; returns how many. */
size_t leakstat_envelope(const double *t, const double *y, size_t n, double bucket_s, double *out_t,
                         double *out_y, size_t max);

/* Warm-up detection: the time (seconds from t[0]) after which the series has settled: the
 * first bucket from which the lower envelope of the first half-hour no longer rises faster than
 * it does over the rest of the segment. Returns 0 when there is no warm-up to leave out. */
double leakstat_detect_warmup(const double *t, const double *y, size_t n);

typedef struct leakstat_opts {
    double threshold_bps;  /* leak when the interval's lower end is above this (bytes/s) */
    double warmup_s;       /* < 0: detect per segment; else left out of each segment */
    double bucket_s;       /* envelope bucket; <= 0: chosen from the data (>= 60 s) */
    double conf;           /* confidence, default 0.95 */
} leakstat_opts;

typedef struct leakstat_segment {
    double t0, t1;         /* first and last sample time */
    double warmup_s;       /* left out at the start */
    size_t samples;        /* samples in the segment */
    size_t used;           /* envelope points used */
    leakstat_fit fit;      /* this segment alone (slope 0 with points < 2) */
} leakstat_segment;

typedef struct leakstat_result {
    int leak;              /* 1: lower end of the interval above the threshold */
    leakstat_fit fit;      /* pooled over segments */
    double bucket_s;
    size_t samples;        /* samples in the input */
    size_t samples_used;   /* after warm-up */
    size_t nsegments;
    leakstat_segment segments[LEAKSTAT_MAX_SEGMENTS];
    int insufficient;      /* 1: too little data for a verdict (no leak declared) */
} leakstat_result;

void leakstat_opts_default(leakstat_opts *o);  /* threshold 10 MB/h, detect warm-up, 0.95 */

/* Analyzes a series: t ascending (seconds), y (bytes), seg[i] the segment of sample i
 * (non-decreasing; NULL: one segment). Returns 0 or -ENOMEM/-EINVAL (n == 0). */
int leakstat_analyze(const double *t, const double *y, const int *seg, size_t n,
                     const leakstat_opts *o, leakstat_result *out);

#endif
