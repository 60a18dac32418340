/*
 * leakstat: does a memory series grow? A robust answer for long, noisy series.
 *
 * Method (docs/leak-verdict.md): the series is split into segments (at restarts); each segment
 * is reduced to its lower envelope in two steps: the minimum of each time bucket, then a rolling
 * minimum over a window as long as the slowest GC period to see through (30 min by default),
 * which keeps only the floor the sawtooth returns to; each segment's warm-up is left out (a
 * segment whose warm-up never ends is reported but not pooled); one or two level shifts (a
 * cache filling) split a segment into groups; a Theil-Sen slope is estimated over pairs of
 * envelope points of the same group (pooled across segments), with Sen's distribution-free
 * confidence interval. A leak is declared only when the lower end of the interval is above the
 * threshold, the last halves of the lives show it too, and the growth is steady: growth that
 * slows down (a warm-up), speeds up (the rise of a cycle longer than the run) or whose last
 * halves are too short to fit is an inconclusive verdict instead (leakstat_result.unsure).
 *
 * Cost: O(n) for bucketing plus O(m^2) for the slopes of m envelope points (selection, not a
 * sort), and m is capped (LEAKSTAT_MAX_POINTS), so the whole is O(n) in the number of samples.
 * Memory: O(m^2) doubles (at most ~4 MB) plus 40 bytes per segment, whatever n is; the input
 * is only read.
 * Nothing here prints or exits. Times in seconds, values in bytes.
 *
 * Bad input: samples whose time or value is not finite (NaN, inf) are skipped and counted, as are
 * samples whose time goes backwards within a segment; they never make a call fail.
 * Errors are the negative ERR_* codes of lib/errcode.h, as stated per function.
 */
#ifndef LEAKSTAT_H
#define LEAKSTAT_H

#include <stddef.h>

#define LEAKSTAT_MAX_POINTS   1024       /* envelope points used for the slope, all segments */
#define LEAKSTAT_MAX_SEGMENTS 256        /* segments reported one by one (more are pooled only) */
#define LEAKSTAT_MAX_PAIRS    (1u << 22) /* leakstat_theil_sen refuses more pairs (ERR_FULL): 32 MB */
#define LEAKSTAT_MIN_POINTS   10         /* fewer bucket minima after warm-up: insufficient data */
#define LEAKSTAT_MIN_SPAN_S   1800.0     /* less data after warm-up (summed over segments): same */
#define LEAKSTAT_WINDOW_S     1800.0     /* default rolling-minimum window (30 min GC periods) */

/* A robust line fit. Slopes in bytes per second. */
typedef struct leakstat_fit {
    double slope;     /* median of pairwise slopes */
    double intercept; /* median of y - slope * x */
    double lo, hi;    /* confidence interval of the slope */
    size_t points;    /* points used */
    size_t pairs;     /* pairwise slopes used */
} leakstat_fit;

/* Theil-Sen over points (x[i], y[i]); group[i] (may be NULL) restricts pairs to points of the
 * same group. Pairs with equal x, or with a non-finite coordinate, are skipped. conf is the
 * two-sided confidence (e.g. 0.95; outside (0, 1): 0.95). The interval is Sen's: with N slopes
 * sorted and C = z(1 - alpha/2) * sqrt(sum over groups of g(g-1)(2g+5)/18), lo is the slope of
 * rank floor((N - C) / 2) and hi of rank ceil((N + C) / 2) (0-based, clamped). Returns 0 and
 * fills *out; ERR_INVAL when fewer than 2 usable pairs exist; ERR_FULL past LEAKSTAT_MAX_PAIRS
 * pairs; ERR_NOMEM. *out is left untouched on failure. O(n^2) time, O(pairs) memory, freed. */
int leakstat_theil_sen(const double *x, const double *y, const int *group, size_t n, double conf,
                       leakstat_fit *out);

/* Ordinary least squares and the naive (last - first) / (t_last - t_first), for comparison.
 * Return 0, or ERR_INVAL when n < 2 or every x is equal (outputs untouched). */
int leakstat_ols(const double *x, const double *y, size_t n, double *slope, double *intercept);
int leakstat_naive(const double *x, const double *y, size_t n, double *slope);

/* Lower envelope: the minimum of y in each bucket of bucket_s seconds, buckets aligned on the
 * first usable sample (time of the bucket: the time of its minimum). t ascending; non-finite
 * samples are skipped. Writes at most max points; returns how many (0 when bucket_s <= 0). */
size_t leakstat_envelope(const double *t, const double *y, size_t n, double bucket_s, double *out_t,
                         double *out_y, size_t max);

/* Second envelope step, a rolling minimum: windows of window_s start every window_s / 4 from
 * t[0], the last one ending at t[n-1]; the lowest point of each window is kept (the earliest on
 * ties), the others (a rising GC edge, a spike) are dropped. A series shorter than window_s is
 * one window. window_s <= 0 keeps every point. t ascending (e.g. bucket minima). Compacts t and
 * y in place (order kept); returns how many are kept. O(n) time, O(n) scratch; nothing changed on failure: ERR_NOMEM
 * when that cannot be allocated, ERR_INVAL when t or y is NULL. */
long leakstat_envelope_rolling(double *t, double *y, size_t n, double window_s);

/* Warm-up detection on envelope points (t ascending, as left by leakstat_envelope_rolling;
 * span t[0] .. t[n-1]): take out the trend of the last half (median slope between neighbours);
 * the warm-up ends at the first point of the first third that is no lower than the lowest point
 * from 30 min later on, less 3 robust sigmas of the noise (docs/leak-verdict.md, step 6).
 * Returns the seconds from t[0] to leave out: 0 when there is no warm-up or too few points to
 * tell (< 6, < 4 after the first third, < 3 in the last half); a third of the span when the
 * series never settles (leakstat_analyze then leaves the segment out of the pooled fit). */
double leakstat_warmup_env(const double *t, const double *y, size_t n);

/* Warm-up detection on a raw series (one segment): the envelope as leakstat_analyze builds it
 * (automatic bucket, 30 min rolling window), then as leakstat_warmup_env over the span of the
 * usable samples; seconds from the first usable sample. 0 on failure. */
double leakstat_detect_warmup(const double *t, const double *y, size_t n);

typedef struct leakstat_opts {
    double threshold_bps; /* leak when the interval's lower end is above this (bytes/s) */
    double warmup_s;      /* < 0: detect per segment; else left out of each segment */
    double bucket_s;      /* envelope bucket; <= 0: chosen from the data (see below) */
    double conf;          /* confidence, default 0.95 */
    double window_s;      /* rolling-minimum window: the longest GC period to see through;
                             0: LEAKSTAT_WINDOW_S; < 0: off (bucket minima only) */
    double min_span_s;    /* less data after warm-up than this: insufficient (default
                             LEAKSTAT_MIN_SPAN_S; short test runs lower it) */
    int restarts;         /* 1: also start a segment at every restart found in the series
                             itself (leakstat_find_restarts); 0 (the default): seg only */
} leakstat_opts;

typedef struct leakstat_segment {
    double t0, t1;    /* first and last usable sample time (NaN: none usable) */
    double warmup_s;  /* left out at the start */
    size_t samples;   /* samples in the segment */
    size_t used;      /* envelope points used */
    size_t steps;     /* level shifts the segment was split at (pairs across them unused) */
    int pooled;       /* 1: in the pooled fit; 0: warm-up never ended, or covers the segment */
    leakstat_fit fit; /* this segment alone (all 0 with fewer than 2 pairs) */
} leakstat_segment;

typedef struct leakstat_result {
    int leak;         /* 1: lower end of the interval above the threshold */
    leakstat_fit fit; /* pooled over segments */
    double bucket_s;
    size_t samples;      /* samples in the input */
    size_t samples_used; /* after warm-up, in the pooled segments */
    size_t nsegments;    /* reported in segments[]: min(segments_total, LEAKSTAT_MAX_SEGMENTS) */
    leakstat_segment segments[LEAKSTAT_MAX_SEGMENTS];
    int insufficient;       /* 1: too little data for a verdict (no leak declared) */
    int below;              /* 1: interval's upper end below the threshold (growth shown to be
                               under it); 0 with insufficient data */
    size_t samples_skipped; /* non-finite, or time going backwards */
    size_t segments_total;  /* segments seen; only the first LEAKSTAT_MAX_SEGMENTS reported */
    size_t points_dropped;  /* about how many bucket minima did not fit LEAKSTAT_MAX_POINTS
                               (thousands of tiny segments); segments left with no point are not
                               pooled */
    size_t restarts_found;  /* with opts.restarts: segments started at a fall in the series */
    int warming;            /* 1: growth that slows down (the last half of each pooled segment
                               grows less than half as fast): a saturating warm-up still going
                               on; leak = 0 and below = 1 when the pooled fit or the last half
                               is under the threshold. A leak also needs late.lo above it */
    leakstat_fit late;      /* the fit of those last halves (all 0 when not computed) */
    int unsure;             /* LEAKSTAT_UNSURE_*: why the growth is not a leak (leak = 0):
                               WARMUP whenever warming is set, SHORT only where the pooled
                               fit alone would call a leak; NONE otherwise. Words
                               for a person: leakstat_unsure_text */
    leakstat_fit early;     /* the fit of the first halves (all 0 when not computed) */
} leakstat_result;

/* Inconclusive memory verdicts: the series grows, but the data cannot separate a leak from a
 * curve that stops (docs/leak-verdict.md, steps 10 and 11). Never a leak; with insufficient
 * = 0 (insufficient data is its own verdict).
 *   WARMUP:  growth slowing down (last half under half the pooled slope): a saturating
 *            warm-up still going on (also sets warming);
 *   (2, "growth speeding up", is not used: a first half growing under half as fast as the
 *            last is the rise of a slow cycle, but also a leak that started late, which must
 *            stay a leak; such a cycle seen for less than its period is called a leak);
 *   SHORT:   the series restarted and the last halves of the pooled lives hold too few
 *            points to fit, where the pooled fit alone would call a leak (a short life that
 *            ended in its warm-up's tail, then a restart); a single life keeps the pooled
 *            fit's verdict. */
#define LEAKSTAT_UNSURE_NONE   0
#define LEAKSTAT_UNSURE_WARMUP 1
#define LEAKSTAT_UNSURE_SHORT  3

/* The reason in words, lower case, no full stop ("" for NONE or an unknown value); static
 * storage, never NULL. The one wording soak's outputs use. */
const char *leakstat_unsure_text(int unsure);

/* Restarts in a series that carries no restart marks (an import): a sample more than
 * margin = max(10 robust sigmas of the noise, 5 % of the floor) below the floor, the lowest
 * sample of the window_s seconds before it (window_s <= 0: LEAKSTAT_WINDOW_S), starts a new
 * life, unless the floor sinks on at that pace: a sample of the window_s after it is lower
 * still by more than max(margin / 2, a quarter of the fall), or the floor of the window_s
 * before the floor's window was higher by as much (not counted when a fall was refused in
 * the last window_s / 4: that fall going on). Nor within window_s of the last restart found
 * (the same fall going on; a second restart that soon falls back to the same baseline and is
 * not told from a GC). A GC sawtooth falls back to its floor, not below it; a restart falls
 * to the baseline, below the floor the warm-up built; a slow cycle's floor sinks window
 * after window. Sigma: 1.4826 MAD of neighbour differences / sqrt(2). Writes
 * mark[i] = 1 where a new life starts (else 0; non-finite samples 0); returns how many, or
 * ERR_INVAL (NULL input) / ERR_NOMEM (mark untouched). O(n) time and scratch. */
long leakstat_find_restarts(const double *t, const double *y, size_t n, double window_s,
                            unsigned char *mark);

/* threshold 10 MB/h, detect warm-up, automatic bucket, 0.95, 30 min rolling window */
void leakstat_opts_default(leakstat_opts *o);

/* Analyzes a series: t ascending (seconds), y (bytes), seg[i] the segment of sample i (a new
 * segment starts wherever seg changes; NULL: one segment). o NULL: the defaults.
 * Automatic bucket: the summed span D of the segments over (LEAKSTAT_MAX_POINTS - segments),
 * at least 60 s, or for D < 2 h at least 10 mean sample intervals (1 s to 60 s).
 * insufficient = 1 (then leak = 0, below = 0) when the pooled segments hold fewer than
 * LEAKSTAT_MIN_POINTS bucket minima or less than LEAKSTAT_MIN_SPAN_S after warm-up.
 * With o->restarts, falls found by leakstat_find_restarts start segments too (restarts_found);
 * growth that slows down sets warming and never a leak (see leakstat_result.warming); growth
 * that speeds up, or last halves too short to fit, set unsure and never a leak.
 * Returns 0 and fills *out; ERR_INVAL when n == 0, t, y or out is NULL, or no sample is usable;
 * ERR_NOMEM (out then partly filled: do not use it). The input is not modified. The caller owns
 * *out (about 27 KB: allocate it rather than put it on a small stack). */
int leakstat_analyze(const double *t, const double *y, const int *seg, size_t n,
                     const leakstat_opts *o, leakstat_result *out);

/* A bounded input for leakstat_analyze, built one sample at a time (a series too long to keep,
 * read from a database or a file). Up to cap samples (0: LEAKSTAT_STREAM_CAP) it keeps every
 * one, so the analysis is exactly that of the arrays. Past cap it keeps, per segment, the first
 * and the last sample and the minimum of each bucket of width_s seconds aligned on the
 * segment's first sample (the time of a minimum kept with it; the earliest on ties); width_s
 * starts at the span so far / (cap / 4) and doubles whenever the buffer fills again, so buckets
 * nest and a minimum of minima is the minimum of the samples. Error (docs/soak-record.md): the
 * analysis' own buckets (60 s at least) then see every sample but those of a width_s bucket
 * that straddles their edge, which count on the side of its minimum: an envelope point is the
 * minimum of its bucket widened by at most width_s at each edge, at a time within width_s.
 * Segment spans are exact. The counts leakstat_analyze reports (samples, samples_used,
 * segment samples) are then of kept points, not samples: use leakstat_stream.added.
 * A run with more segments than cap / 2 fills the buffer with segment ends: samples that find
 * no room then are dropped and counted (dropped). Memory: 28 bytes a kept sample (7 MB at the
 * default cap). t ascending within a segment, finite t and y (others are skipped, counted).
 * leakstat_stream_init returns 0 or ERR_NOMEM (nothing then held); leakstat_stream_add returns
 * 0 or ERR_NOMEM (the sample is then lost, the stream stays valid). */
#define LEAKSTAT_STREAM_CAP (1u << 18)
typedef struct leakstat_stream {
    double *t, *y;     /* kept points, n of them: the input of leakstat_analyze */
    int *seg;          /* their segment */
    long long *bk;     /* their bucket (internal) */
    size_t n, cap;     /* kept, room */
    double width_s;    /* 0: every sample kept; else the bucket width */
    double origin;     /* first sample of the current segment */
    int cur_seg, tail; /* current segment; 1: the last point is its latest sample */
    size_t added;      /* samples given (usable) */
    size_t skipped;    /* not finite, or time going backwards within a segment */
    size_t dropped;    /* no room (see above) */
    int full;          /* compacting no longer frees room */
} leakstat_stream;
int leakstat_stream_init(leakstat_stream *s, size_t cap);
int leakstat_stream_add(leakstat_stream *s, double t, double y, int seg);
void leakstat_stream_free(leakstat_stream *s);

#endif
