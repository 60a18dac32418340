/* leakstat: the leak verdict's statistics (envelope, warm-up, Theil-Sen with Sen's interval).
 * See leakstat.h for the contract and docs/leak-verdict.md for the method and its limits. */
#include "leakstat.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

#define MB_PER_H      (1e6 / 3600.0) /* bytes/s in 1 MB/h */
#define ROLLING_STEPS 4 /* rolling-minimum windows start every window / ROLLING_STEPS */

/* Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9). */
static double inv_normal(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double plow = 0.02425;
    if (p <= plow) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p >= 1 - plow) {
        double q = sqrt(-2 * log(1 - p));
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static void swapd(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Places the k-th smallest of v[0..n) at v[k], smaller ones before, larger after (Hoare
 * quickselect, median-of-three pivot): O(n) expected. */
static double select_k(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swapd(&v[mid], &v[lo]);
        if (v[hi] < v[lo])
            swapd(&v[hi], &v[lo]);
        if (v[hi] < v[mid])
            swapd(&v[hi], &v[mid]);
        double pivot = v[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swapd(&v[i], &v[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

/* Median of v[0..n) (reorders v); n > 0. */
static double median(double *v, size_t n)
{
    double m = select_k(v, n, n / 2);
    if (n % 2)
        return m;
    double below = v[0]; /* largest of v[0..n/2) */
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > below)
            below = v[i];
    return (m + below) / 2;
}

int leakstat_theil_sen(const double *x, const double *y, const int *group, size_t n, double conf,
                       leakstat_fit *out)
{
    if (!x || !y || !out || n < 2)
        return ERR_INVAL;
    if (!(conf > 0 && conf < 1))
        conf = 0.95;
    /* count the pairs first: the allocation is exact and bounded */
    size_t pairs = 0, points = 0;
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        points++;
        int first = 1; /* first usable point of its group: adds the group's variance term */
        for (size_t j = 0; j < i && first; j++)
            if (isfinite(x[j]) && isfinite(y[j]) && (!group || group[j] == group[i]))
                first = 0;
        size_t g = 1;
        for (size_t j = i + 1; j < n; j++) {
            if (!isfinite(x[j]) || !isfinite(y[j]) || (group && group[j] != group[i]))
                continue;
            g++;
            if (x[j] != x[i] && isfinite((y[j] - y[i]) / (x[j] - x[i])))
                pairs++; /* an overflowing slope (|y| near DBL_MAX) is not a pair */
        }
        if (pairs > LEAKSTAT_MAX_PAIRS)
            return ERR_FULL;
        if (first)
            var += (double)g * (double)(g - 1) * (2.0 * (double)g + 5) / 18.0;
    }
    if (pairs < 2)
        return ERR_INVAL;
    double *s = malloc(pairs * sizeof *s);
    double *r = malloc(points * sizeof *r);
    if (!s || !r) {
        free(s);
        free(r);
        return ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (!isfinite(x[j]) || !isfinite(y[j]) || x[j] == x[i] ||
                (group && group[j] != group[i]))
                continue;
            double sl = (y[j] - y[i]) / (x[j] - x[i]);
            if (isfinite(sl))
                s[k++] = sl;
        }
    }
    double c = inv_normal(1 - (1 - conf) / 2) * sqrt(var);
    double nlo = floor((pairs - c) / 2), nhi = ceil((pairs + c) / 2);
    size_t ilo = nlo < 0 ? 0 : (size_t)nlo, ihi = nhi > pairs - 1 ? pairs - 1 : (size_t)nhi;
    if (ilo > pairs - 1)
        ilo = pairs - 1;
    /* three selections, each in what the one before left above its rank (ilo <= mid <= ihi):
     * after a selection of rank k every element before k is no larger and every one after no
     * smaller, so the next rank is found among the elements after k */
    double lo = select_k(s, pairs, ilo);
    size_t mid = pairs / 2;
    double slope = mid > ilo ? select_k(s + ilo + 1, pairs - ilo - 1, mid - ilo - 1) : s[ilo];
    if (pairs % 2 == 0) { /* the even case: the mean with the largest of s[0..mid) */
        double below = s[0];
        for (size_t i = 1; i < mid; i++)
            if (s[i] > below)
                below = s[i];
        slope = (slope + below) / 2;
    }
    double hi = ihi > mid ? select_k(s + mid + 1, pairs - mid - 1, ihi - mid - 1) : s[mid];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]) && isfinite(y[i] - slope * x[i]))
            r[m++] = y[i] - slope * x[i];
    out->slope = slope;
    out->intercept = m ? median(r, m) : 0;
    out->lo = lo < slope ? lo : slope;
    out->hi = hi > slope ? hi : slope;
    out->points = points;
    out->pairs = pairs;
    free(s);
    free(r);
    return 0;
}

int leakstat_ols(const double *x, const double *y, size_t n, double *slope, double *intercept)
{
    if (!x || !y || n < 2)
        return ERR_INVAL;
    double mx = 0, my = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            mx += x[i];
            my += y[i];
            m++;
        }
    if (m < 2)
        return ERR_INVAL;
    mx /= (double)m;
    my /= (double)m;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
        }
    if (!(sxx > 0))
        return ERR_INVAL;
    if (slope)
        *slope = sxy / sxx;
    if (intercept)
        *intercept = my - sxy / sxx * mx;
    return 0;
}

int leakstat_naive(const double *x, const double *y, size_t n, double *slope)
{
    if (!x || !y || n < 2)
        return ERR_INVAL;
    size_t a = 0, b = n;
    while (a < n && !(isfinite(x[a]) && isfinite(y[a])))
        a++;
    while (b > a && !(isfinite(x[b - 1]) && isfinite(y[b - 1])))
        b--;
    if (b == 0 || a >= b - 1 || x[b - 1] == x[a])
        return ERR_INVAL;
    if (slope)
        *slope = (y[b - 1] - y[a]) / (x[b - 1] - x[a]);
    return 0;
}

size_t leakstat_envelope(const double *t, const double *y, size_t n, double bucket_s, double *out_t,
                         double *out_y, size_t max)
{
    if (!t || !y || !out_t || !out_y || !(bucket_s > 0))
        return 0;
    size_t m = 0;
    double start = 0, last = 0, bt = 0, by = 0;
    double cur = -1; /* bucket being filled (its index, as a double: no overflow), -1: none */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]))
            continue;
        if (cur < 0) {
            start = t[i];
        } else if (t[i] < last) {
            continue; /* time going backwards: skipped */
        }
        last = t[i];
        double b = floor((t[i] - start) / bucket_s);
        if (b != cur) {
            if (cur >= 0) {
                if (m == max)
                    return m;
                out_t[m] = bt;
                out_y[m++] = by;
            }
            cur = b;
            bt = t[i];
            by = y[i];
        } else if (y[i] < by) {
            bt = t[i];
            by = y[i];
        }
    }
    if (cur >= 0 && m < max) {
        out_t[m] = bt;
        out_y[m++] = by;
    }
    return m;
}

long leakstat_envelope_rolling(double *t, double *y, size_t n, double window_s)
{
    if (!t || !y)
        return ERR_INVAL;
    if (n < 3 || !(window_s > 0))
        return (long)n;
    double span = t[n - 1] - t[0];
    double w = span < window_s ? span : window_s;
    double step = w / ROLLING_STEPS;
    double eps = 1e-9 * (fabs(t[0]) + fabs(t[n - 1]) + 1);
    size_t *dq = malloc(n * sizeof *dq);
    unsigned char *keep = calloc(n, 1);
    if (!dq || !keep) {
        free(dq);
        free(keep);
        return ERR_NOMEM;
    }
    /* windows [s, s + w] on a grid of w / ROLLING_STEPS, the last one ending at t[n-1]; the
     * deque holds the indices of the window by increasing value (earliest first on ties) */
    size_t head = 0, tail = 0, next = 0;
    for (long k = 0;; k++) {
        double s0 = t[0] + (double)k * step;
        int last = s0 + w >= t[n - 1] - eps;
        if (last)
            s0 = t[n - 1] - w;
        while (next < n && t[next] <= s0 + w + eps) {
            while (tail > head && y[dq[tail - 1]] > y[next])
                tail--;
            dq[tail++] = next++;
        }
        while (head < tail && t[dq[head]] < s0 - eps)
            head++;
        if (head < tail)
            keep[dq[head]] = 1;
        if (last)
            break;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            t[m] = t[i];
            y[m++] = y[i];
        }
    free(dq);
    free(keep);
    return (long)m;
}

/* The trend of envelope points as the median slope between neighbours, which a few jumps (a
 * step, a ramp) do not move, and the robust sigma (1.4826 MAD) of the differences between
 * neighbours once that trend is taken out; *mid their median. d: scratch of n doubles. */
static void neighbour_trend(const double *t, const double *y, size_t n, double *d, double *b,
                            double *mid, double *sigma)
{
    size_t nd = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (t[i + 1] > t[i])
            d[nd++] = (y[i + 1] - y[i]) / (t[i + 1] - t[i]);
    *b = nd ? median(d, nd) : 0;
    *mid = 0;
    *sigma = 0;
    if (n < 2)
        return;
    for (size_t i = 0; i + 1 < n; i++)
        d[i] = (y[i + 1] - y[i]) - *b * (t[i + 1] - t[i]);
    *mid = median(d, n - 1);
    for (size_t i = 0; i + 1 < n; i++)
        d[i] = fabs((y[i + 1] - y[i]) - *b * (t[i + 1] - t[i]) - *mid);
    *sigma = 1.4826 * median(d, n - 1);
}

/* Share of the trend's growth over the look-ahead that a point may sit below the floor ahead
 * and still count as settled: the trend is estimated from the last half, and a few per cent
 * off it (a leak whose rate drifts) puts a steady series' early points that far below */
#define WARMUP_TREND_TOL 0.1

/* leakstat_warmup_env; *settled = 0 when no point of the first third has reached the floor
 * that the rest of the series keeps to. */
static double warmup_find(const double *t, const double *y, size_t n, double t_start, double t_end,
                          double lag, int *settled)
{
    *settled = 0; /* until shown: too few points cannot show a warm-up is over */
    if (!t || !y || n < 6)
        return 0;
    double cap = (t_end - t_start) / 3; /* of the segment, not of the points kept */
    size_t r0 = 0;                      /* first point of the remainder */
    while (r0 < n && t[r0] - t_start < cap)
        r0++;
    if (n - r0 < 4)
        return 0;
    if (r0 == 0) {
        *settled = 1;
        return 0;
    }
    double *z = malloc(n * sizeof *z); /* detrended, then scratch */
    double *d = malloc(n * sizeof *d);
    if (!z || !d) {
        free(z);
        free(d);
        return 0;
    }
    /* the trend and noise of the last half (where a long warm-up's tail no longer is, and
     * the points kept are not crowded onto its ramp), robust to a step in it */
    size_t h0 = r0;
    while (h0 < n && t[h0] - t_start < (t_end - t_start) / 2)
        h0++;
    if (n - h0 < 3) {
        free(z);
        free(d);
        return 0; /* unsettled: too few points to know the trend the warm-up settles into */
    }
    double b, mid, sdiff;
    neighbour_trend(t + h0, y + h0, n - h0, d, &b, &mid, &sdiff);
    for (size_t i = 0; i < n; i++)
        z[i] = y[i] - b * t[i];
    double sigma = sdiff / sqrt(2.0); /* differences of two points: sqrt(2) sigmas */
    for (size_t i = r0; i < n; i++)
        d[i - r0] = fabs(y[i]);
    double level = median(d, n - r0);
    /* Below the floor ahead by more than the noise, and by more than the uncertainty of the
     * trend over the look-ahead: on a warm-up's ramp. Without the second term, a steady leak
     * whose early points sat a hair under the floor ahead (0.3 MB in a 190 MB rise, past 3
     * sigma of so smooth a series) was called unsettled and read "no data"
     * (test_steady_leak_is_settled: an 80 s make soak run with a bot leaking 2 MB/s). */
    double tol = 3 * sigma;
    if (tol < 1e-6 * level)
        tol = 1e-6 * level;
    if (tol < WARMUP_TREND_TOL * fabs(b) * lag)
        tol = WARMUP_TREND_TOL * fabs(b) * lag;
    /* d[j]: the lowest detrended value from point j on */
    d[n - 1] = z[n - 1];
    for (size_t j = n - 1; j-- > 0;)
        d[j] = z[j] < d[j + 1] ? z[j] : d[j + 1];
    double w = cap;
    size_t j = 0;
    for (size_t i = 0; i < r0; i++) {
        /* the floor the series keeps to from lag seconds later on: a point still on the
         * warm-up ramp is below it; a point before a later step is not */
        while (j < n && t[j] < t[i] + lag)
            j++;
        if (j == n)
            break;
        if (z[i] >= d[j] - tol) {
            w = t[i] - t_start;
            *settled = 1;
            break;
        }
    }
    free(z);
    free(d);
    return w;
}

double leakstat_warmup_env(const double *t, const double *y, size_t n)
{
    int settled;
    return n ? warmup_find(t, y, n, t[0], t[n - 1], LEAKSTAT_WINDOW_S, &settled) : 0;
}

void leakstat_opts_default(leakstat_opts *o)
{
    if (!o)
        return;
    o->threshold_bps = 10 * MB_PER_H;
    o->warmup_s = -1;
    o->bucket_s = 0;
    o->conf = 0.95;
    o->window_s = LEAKSTAT_WINDOW_S;
    o->min_span_s = LEAKSTAT_MIN_SPAN_S;
    o->restarts = 0; /* left unset, a caller's stack garbage turned falls into restarts */
}

/* Restarts without marks. A GC sawtooth falls back to the floor it keeps to; a restart falls
 * to the baseline, below the floor the warm-up built: so a fall is measured against the lowest
 * sample of the window before it (a monotonic queue of indices, reset at each restart found),
 * with a margin of 10 robust sigmas of the sample noise or 5 % of that floor, the larger; and
 * the floor does not sink on at that pace: after it nothing in the next window falls more than
 * max(half the margin, FALL_AHEAD_SHARE of the fall) below it (a new life warms up from its
 * baseline; the falling half of a slow cycle keeps going down, while a second restart soon
 * after falls back to about the same baseline), and the window before the floor's window was
 * not higher by as much (the trough of a cycle: it sank before too). A fall refused in the
 * last window / ROLLING_STEPS is the same fall going on (a restart at the top of a GC cycle
 * that collects a minute later): the look back does not count then. Within a window of a
 * restart found, no other is (hard trace 167 of bench/leak-quality --hard 500 had its first
 * restart refused for the second, 29 min later, and each warm-up read as growth). */
#define FALL_SIGMAS      10.0
#define FALL_FRAC        0.05
#define FALL_AHEAD_SHARE 0.25
long leakstat_find_restarts(const double *t, const double *y, size_t n, double window_s,
                            unsigned char *mark)
{
    if (!t || !y || !mark)
        return ERR_INVAL;
    if (!(window_s > 0))
        window_s = LEAKSTAT_WINDOW_S;
    double *d = malloc((n ? n : 1) * sizeof *d);
    size_t *q = malloc((n ? n : 1) * 3 * sizeof *q);
    if (!d || !q) {
        free(d);
        free(q);
        return ERR_NOMEM;
    }
    size_t *q2 = q + (n ? n : 1), *acc = q2 + (n ? n : 1);
    size_t nd = 0;
    double prev = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]))
            continue;
        if (isfinite(prev))
            d[nd++] = y[i] - prev;
        prev = y[i];
    }
    double sigma = 0;
    if (nd > 1) {
        double mid = median(d, nd);
        for (size_t i = 0; i < nd; i++)
            d[i] = fabs(d[i] - mid);
        sigma = 1.4826 * median(d, nd) / sqrt(2.0);
    }
    /* d[i]: the lowest sample in (t[i], t[i] + window_s]: after a restart memory only rises
     * (its warm-up), so nothing ahead is far below the fall; a floor that keeps sinking (the
     * falling half of a slow cycle under a sawtooth) goes on below it */
    size_t qa = 0, qb = 0; /* queue q[qa..qb): indices, y ascending (front: the lowest) */
    for (size_t k = n; k-- > 0;) {
        d[k] = INFINITY;
        if (!isfinite(t[k]) || !isfinite(y[k]))
            continue;
        while (qa < qb && t[q[qa]] > t[k] + window_s)
            qa++;
        if (qa < qb)
            d[k] = y[q[qa]];
        while (qb > qa && y[q[qb - 1]] >= y[k])
            qb--;
        q[qb++] = k; /* each index once: qb <= n */
    }
    memset(mark, 0, n);
    qa = qb = 0;
    /* q2[ra..rb): the samples of the window before the window before, [t - 2w, t - w), of the
     * current life (y ascending); acc[0..na): the samples taken, in order; pa: the next of them
     * to enter q2 */
    size_t ra = 0, rb = 0, na = 0, pa = 0;
    long found = 0;
    double last_t = -INFINITY, last_found = -INFINITY, last_fall = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]) || t[i] < last_t)
            continue;
        last_t = t[i];
        acc[na++] = i;
        while (qa < qb && t[q[qa]] < t[i] - window_s)
            qa++;
        while (pa < na && t[acc[pa]] < t[i] - window_s) {
            size_t k = acc[pa++];
            while (rb > ra && y[q2[rb - 1]] >= y[k])
                rb--;
            q2[rb++] = k;
        }
        while (ra < rb && t[q2[ra]] < t[i] - 2 * window_s)
            ra++;
        if (qa < qb) {
            double floor_y = y[q[qa]];
            double margin = FALL_SIGMAS * sigma;
            if (margin < FALL_FRAC * fabs(floor_y))
                margin = FALL_FRAC * fabs(floor_y);
            /* lower still ahead: by half the margin, and by a share of this fall (a cycle
             * keeps sinking at about the pace it fell; a second restart soon after the first
             * falls back to the same baseline, a little lower at most) */
            double still = margin / 2;
            if (still < FALL_AHEAD_SHARE * (floor_y - y[i]))
                still = FALL_AHEAD_SHARE * (floor_y - y[i]);
            /* and the floor did not sink at that pace before (the window before the window
             * before was not higher by as much; unless a fall was refused just before: this
             * is that fall going on, a restart at the top of a GC cycle that then collects):
             * the trough of a cycle under a sawtooth falls below the last floor, but the one
             * before was higher still. Within a window of a restart found, a lower sample is
             * the same fall going on (a GC of the old heap, the new life's first minutes). */
            int fall = y[i] < floor_y - margin;
            int sinking = ra < rb && y[q2[ra]] > floor_y + still &&
                          t[i] - last_fall >= window_s / ROLLING_STEPS;
            if (fall && !(d[i] < y[i] - still) && !sinking && t[i] - last_found > window_s) {
                mark[i] = 1;
                found++;
                last_found = t[i];
                qa = qb = 0; /* a new life: its floor starts here */
                ra = rb = 0;
                pa = na; /* nothing of the old life enters q2 */
            } else if (fall) {
                last_fall = t[i];
            }
        }
        while (qb > qa && y[q[qb - 1]] >= y[i])
            qb--;
        q[qb++] = i;
    }
    free(d);
    free(q);
    return found;
}

/* A segment of the input: raw index range and its usable samples. */
typedef struct seg_span {
    size_t a, b;   /* samples [a, b) */
    double t0, t1; /* first and last usable time */
    size_t usable;
} seg_span;

static int usable(const double *t, const double *y, size_t i)
{
    return isfinite(t[i]) && isfinite(y[i]);
}

/* One pass: segment ranges and their usable samples (time going backwards is not usable). */
static size_t scan_segments(const double *t, const double *y, const int *seg, size_t n,
                            seg_span *sp, size_t *skipped)
{
    size_t ns = 0;
    *skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || (seg && seg[i] != seg[i - 1])) {
            sp[ns] = (seg_span){.a = i, .b = i, .t0 = NAN, .t1 = NAN, .usable = 0};
            ns++;
        }
        seg_span *s = &sp[ns - 1];
        s->b = i + 1;
        if (!usable(t, y, i) || (s->usable && t[i] < s->t1)) {
            (*skipped)++;
            continue;
        }
        if (!s->usable)
            s->t0 = t[i];
        s->t1 = t[i];
        s->usable++;
    }
    return ns;
}

static double auto_bucket(const seg_span *sp, size_t ns)
{
    double span = 0;
    size_t used = 0, live = 0;
    for (size_t i = 0; i < ns; i++)
        if (sp[i].usable) {
            span += sp[i].t1 - sp[i].t0;
            used += sp[i].usable;
            live++;
        }
    size_t room =
        live < LEAKSTAT_MAX_POINTS / 2 ? LEAKSTAT_MAX_POINTS - live : LEAKSTAT_MAX_POINTS / 2;
    double b = span / (double)room;
    double floor_s = 60;
    if (span < 7200) {
        double dt = used > live ? span / (double)(used - live) : 1;
        floor_s = 10 * dt < 1 ? 1 : 10 * dt;
        if (floor_s > 60)
            floor_s = 60;
    }
    return b > floor_s ? b : floor_s;
}

double leakstat_detect_warmup(const double *t, const double *y, size_t n)
{
    if (!t || !y || n < 2)
        return 0;
    size_t skipped;
    seg_span sp;
    scan_segments(t, y, NULL, n, &sp, &skipped);
    if (sp.usable < 2)
        return 0;
    double bucket = auto_bucket(&sp, 1);
    double *et = malloc(2 * LEAKSTAT_MAX_POINTS * sizeof *et);
    if (!et)
        return 0;
    double *ey = et + LEAKSTAT_MAX_POINTS;
    size_t m = leakstat_envelope(t, y, n, bucket, et, ey, LEAKSTAT_MAX_POINTS);
    long k = leakstat_envelope_rolling(et, ey, m, LEAKSTAT_WINDOW_S);
    int settled;
    double w =
        k < 1 ? 0 : warmup_find(et, ey, (size_t)k, sp.t0, sp.t1, LEAKSTAT_WINDOW_S, &settled);
    free(et);
    return w;
}

/* Level shifts. After taking out the trend (the median slope between neighbours), the rise
 * from each point to the first point lag seconds later (lag: the rolling window) is computed;
 * a step is a run of points whose rise is beyond max(10 robust sigmas of those rises, one hour
 * of growth at the threshold), in either direction. A step and the GC edge before it look
 * like a ramp of up to lag seconds on the envelope, hence a lag rather than neighbours. With
 * 1 to STEPS_MAX steps, the points of each run become groups of their own (one point each, so
 * they pair with nothing) and the points between runs one group each: pairs across a one-off
 * level shift (a cache filling) do not count as growth. With more, the steps are the growth
 * (a leak in bursts) and nothing is split. Writes grp[0..n) with ids from *gid on; returns
 * the steps split at (0 when none), ERR_NOMEM without memory. */
#define STEPS_MAX 2
static int split_steps(const double *t, const double *y, size_t n, double lag, double thr_bps,
                       int *grp, int *gid)
{
    for (size_t i = 0; i < n; i++)
        grp[i] = *gid;
    if (n < 6 || !(lag > 0)) {
        (*gid)++;
        return 0;
    }
    double *d = malloc(2 * n * sizeof *d);
    if (!d)
        return ERR_NOMEM;
    double *rise = d + n;
    double b, mid, sigma;
    neighbour_trend(t, y, n, d, &b, &mid, &sigma);
    size_t nr = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < n && t[j] < t[i] + lag)
            j++;
        if (j == n)
            break;
        rise[nr++] = (y[j] - y[i]) - b * (t[j] - t[i]);
    }
    if (nr < 4) {
        free(d);
        (*gid)++;
        return 0;
    }
    memcpy(d, rise, nr * sizeof *d);
    mid = median(d, nr);
    for (size_t i = 0; i < nr; i++)
        d[i] = fabs(rise[i] - mid);
    sigma = 1.4826 * median(d, nr);
    double jump = 10 * sigma;
    if (jump < thr_bps * 3600)
        jump = thr_bps * 3600;
    int steps = 0, in_run = 0;
    for (size_t i = 0; i < nr; i++) {
        int r = fabs(rise[i] - mid) > jump;
        steps += r && !in_run;
        in_run = r;
    }
    if (steps == 0 || steps > STEPS_MAX) {
        free(d);
        (*gid)++;
        return 0;
    }
    int g = *gid;
    in_run = 0;
    for (size_t i = 0; i < n; i++) {
        int r = i < nr && fabs(rise[i] - mid) > jump;
        if (r || in_run)
            g++; /* a point of a run, or the first after one: a new group */
        grp[i] = g;
        in_run = r;
    }
    *gid = g + 1;
    free(d);
    return steps;
}

/* Raw samples of segment s at or after time from. */
static size_t count_from(const double *t, const double *y, const seg_span *s, double from)
{
    size_t c = 0;
    double last = -INFINITY;
    for (size_t i = s->a; i < s->b; i++) {
        if (!usable(t, y, i) || t[i] < last)
            continue;
        last = t[i];
        if (t[i] >= from)
            c++;
    }
    return c;
}

/* Growth that is not steady. The points of each pooled segment are split at the middle of its
 * used span (mid[i]); each half is fitted alone (pooled across segments). A leak grows as fast
 * late as early. A saturating warm-up that the warm-up detector took for settled (its tail
 * within the noise of the floor ahead) grows ever less: late slope under WARMING_RATIO times
 * the pooled one, "still warming up" (warming, LEAKSTAT_UNSURE_WARMUP; below from the pooled
 * or the late fit). (The rise of a cycle longer than the window grows ever more, as does a leak that
 * started late: growth speeding up says nothing, and the early fit is only reported.) A leak
 * must also show in the last half (its lower end above
 * the threshold); with a restart, a last half too short to fit (a life that ended in its
 * warm-up's tail) cannot show it: LEAKSTAT_UNSURE_SHORT when the pooled fit would call a leak.
 * Without one the pooled fit decides, as before: a short test run read at few points keeps
 * its leak. Every unsure case sets leak = 0. Returns 0 or ERR_NOMEM. */
#define WARMING_RATIO 0.5
static int half_fit(const double *t, const double *y, const int *g, const double *mid, size_t n,
                    int late, double conf, double *lt, int *lg, leakstat_fit *f)
{
    double *ly = lt + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((t[i] >= mid[i]) == late) {
            lt[m] = t[i];
            ly[m] = y[i];
            lg[m] = g[i];
            m++;
        }
    return leakstat_theil_sen(lt, ly, lg, m, conf, f);
}

static int check_warming(const double *t, const double *y, const int *g, const double *mid,
                         size_t n, double conf, double thr, leakstat_result *out)
{
    double *lt = malloc((n ? n : 1) * 2 * sizeof *lt);
    int *lg = malloc((n ? n : 1) * sizeof *lg);
    if (!lt || !lg) {
        free(lt);
        free(lg);
        return ERR_NOMEM;
    }
    leakstat_fit f, e;
    int r = half_fit(t, y, g, mid, n, 1, conf, lt, lg, &f);
    int re = r == ERR_NOMEM ? r : half_fit(t, y, g, mid, n, 0, conf, lt, lg, &e);
    free(lt);
    free(lg);
    if (r == ERR_NOMEM || re == ERR_NOMEM)
        return ERR_NOMEM;
    int candidate = out->leak; /* the pooled fit alone would call a leak */
    if (r != 0) {
        if (candidate && out->segments_total > 1) {
            out->unsure = LEAKSTAT_UNSURE_SHORT;
            out->leak = 0;
        }
        return 0;
    }
    out->late = f;
    if (re == 0)
        out->early = e;
    if (f.slope < WARMING_RATIO * out->fit.slope) {
        out->warming = 1;
        out->unsure = LEAKSTAT_UNSURE_WARMUP;
        out->leak = 0;
        /* growth that slows down grows less late than on average: shown under the threshold
         * by the pooled fit, it is under it late too; else the last half may show it */
        out->below = out->below || f.hi < thr;
    }
    /* No "speeding up" rule: an early half slower than the late one is also a leak that started
     * late (test_late_starting_leak_is_a_leak), which must stay a leak. */
    if (f.lo <= thr)
        out->leak = 0; /* a leak grows in the last half too: it must show there as well */
    return 0;
}

const char *leakstat_unsure_text(int unsure)
{
    switch (unsure) {
    case LEAKSTAT_UNSURE_WARMUP:
        return "still warming up (growth slowing down)";
    case LEAKSTAT_UNSURE_SHORT:
        return "inconclusive, the last half of the run's lives is too short to show the "
               "growth goes on (a warm-up may still be going on)";
    default:
        return "";
    }
}

int leakstat_analyze(const double *t, const double *y, const int *seg, size_t n,
                     const leakstat_opts *o, leakstat_result *out)
{
    if (!t || !y || !out || n == 0)
        return ERR_INVAL;
    leakstat_opts def;
    if (!o) {
        leakstat_opts_default(&def);
        o = &def;
    }
    memset(out, 0, sizeof *out);
    out->samples = n;
    int *seg2 = NULL; /* seg with the restarts found in the series added */
    if (o->restarts) {
        unsigned char *mark = malloc(n);
        seg2 = malloc(n * sizeof *seg2);
        long f = mark && seg2 ? leakstat_find_restarts(t, y, n, o->window_s, mark) : ERR_NOMEM;
        if (f < 0) {
            free(mark);
            free(seg2);
            return (int)f;
        }
        int cur = 0;
        for (size_t i = 0; i < n; i++) {
            cur += i > 0 && ((seg && seg[i] != seg[i - 1]) || mark[i]);
            seg2[i] = cur;
        }
        out->restarts_found = (size_t)f;
        free(mark);
        seg = seg2;
    }
    size_t nseg = 1; /* count first: the table is as large as the segments, not the samples */
    for (size_t i = 1; seg && i < n; i++)
        nseg += seg[i] != seg[i - 1];
    seg_span *sp = malloc(nseg * sizeof *sp);
    if (!sp) {
        free(seg2);
        return ERR_NOMEM;
    }
    size_t ns = scan_segments(t, y, seg, n, sp, &out->samples_skipped);
    if (out->samples_skipped == n) {
        free(sp);
        free(seg2);
        return ERR_INVAL;
    }
    out->segments_total = ns;
    out->bucket_s = o->bucket_s > 0 ? o->bucket_s : auto_bucket(sp, ns);
    double conf = o->conf > 0 && o->conf < 1 ? o->conf : 0.95;
    /* window_s 0 (a zeroed opts) is the default, not "off": off must be asked for (< 0) */
    double window = o->window_s == 0 ? LEAKSTAT_WINDOW_S : o->window_s;
    double lag = window > 0 ? window : 10 * out->bucket_s; /* warm-up look-ahead */

    /* envelope points of every segment, then the pooled points (a subset, in place) */
    size_t cap = LEAKSTAT_MAX_POINTS;
    double *et = calloc(3 * cap, sizeof *et); /* calloc: gcc cannot see every point is set */
    int *eg = calloc(cap, sizeof *eg);
    if (!et || !eg) {
        free(sp);
        free(et);
        free(eg);
        free(seg2);
        return ERR_NOMEM;
    }
    double *emid = et + 2 * cap; /* per pooled point: the middle of its segment's used span */
    double *ey = et + cap;
    size_t used = 0;               /* pooled points so far */
    int gid = 0;                   /* next group id: one per segment, more where a step splits it */
    size_t buckets = 0;            /* bucket minima after warm-up, pooled segments */
    double span_used = 0;          /* seconds after warm-up, pooled segments */
    size_t npooled = 0;            /* pooled segments */
    leakstat_segment *only = NULL; /* the last pooled one (reported) */
    int rc = 0;
    for (size_t si = 0; si < ns; si++) {
        seg_span *s = &sp[si];
        leakstat_segment *rep = si < LEAKSTAT_MAX_SEGMENTS ? &out->segments[si] : NULL;
        if (rep) {
            rep->t0 = s->t0;
            rep->t1 = s->t1;
            rep->samples = s->b - s->a;
        }
        if (!s->usable)
            continue;
        size_t m = leakstat_envelope(t + s->a, y + s->a, s->b - s->a, out->bucket_s, et + used,
                                     ey + used, cap - used);
        if (used + m == cap) { /* cut short: about how many bucket minima were lost */
            double want = floor((s->t1 - s->t0) / out->bucket_s) + 1;
            if (want > (double)m)
                out->points_dropped += (size_t)(want - (double)m);
        }
        /* bucket minima: kept aside to count them after the warm-up is known */
        double *bt = malloc(m ? m * sizeof *bt : 1);
        if (!bt) {
            rc = ERR_NOMEM;
            break;
        }
        if (m)
            memcpy(bt, et + used, m * sizeof *bt);
        long k = leakstat_envelope_rolling(et + used, ey + used, m, window);
        if (k < 0) {
            free(bt);
            rc = ERR_NOMEM;
            break;
        }
        int settled = 1;
        double from = s->t0;
        if (o->warmup_s >= 0) {
            from = s->t0 + o->warmup_s;
        } else if (k > 0) {
            from =
                s->t0 + warmup_find(et + used, ey + used, (size_t)k, s->t0, s->t1, lag, &settled);
        }
        double warm = from - s->t0;
        size_t kept = 0;
        for (long i = 0; i < k; i++)
            if (et[used + i] >= from) {
                et[used + kept] = et[used + i];
                ey[used + kept] = ey[used + i];
                kept++;
            }
        int nsteps =
            split_steps(et + used, ey + used, kept, lag, o->threshold_bps, eg + used, &gid);
        if (nsteps < 0) {
            free(bt);
            rc = ERR_NOMEM;
            break;
        }
        size_t nb = 0;
        for (size_t i = 0; i < m; i++)
            nb += bt[i] >= from;
        free(bt);
        if (rep) {
            rep->warmup_s = warm;
            rep->used = kept;
            rep->steps = (size_t)nsteps;
            int fr = kept < 2 ? ERR_INVAL
                              : leakstat_theil_sen(et + used, ey + used, eg + used, kept, conf,
                                                   &rep->fit);
            if (fr == ERR_NOMEM) {
                rc = fr;
                break;
            }
            if (fr != 0)
                memset(&rep->fit, 0, sizeof rep->fit);
            rep->fit.points = kept;
        }
        if (!settled || from > s->t1 || m == 0)
            continue; /* reported, not pooled */
        if (rep)
            rep->pooled = 1;
        npooled++;
        only = rep;
        for (size_t i = 0; i < kept; i++)
            emid[used + i] = (from + s->t1) / 2;
        used += kept;
        buckets += nb;
        span_used += s->t1 - from;
        out->samples_used += count_from(t, y, s, from);
    }
    out->nsegments = ns < LEAKSTAT_MAX_SEGMENTS ? ns : LEAKSTAT_MAX_SEGMENTS;
    if (rc == 0) {
        /* one pooled segment: its own fit is the pooled one (same points, same groups) */
        int r = npooled == 1 && only ? (only->fit.pairs >= 2 ? 0 : ERR_INVAL)
                                     : leakstat_theil_sen(et, ey, eg, used, conf, &out->fit);
        if (npooled == 1 && only && r == 0)
            out->fit = only->fit;
        if (r == ERR_NOMEM)
            rc = r;
        else if (r != 0)
            out->insufficient = 1;
        out->fit.points = used;
        if (buckets < LEAKSTAT_MIN_POINTS || span_used < o->min_span_s)
            out->insufficient = 1;
        if (!out->insufficient) {
            out->leak = out->fit.lo > o->threshold_bps;
            out->below = out->fit.hi < o->threshold_bps;
        }
        if (rc == 0 && !out->insufficient && out->fit.slope > 0)
            rc = check_warming(et, ey, eg, emid, used, conf, o->threshold_bps, out);
    }
    free(sp);
    free(seg2);
    free(et);
    free(eg);
    return rc;
}

/* ---- the bounded input ---- */

#define BK_FIRST (-1LL)    /* a segment's first sample: never merged */
#define BK_LAST  LLONG_MAX /* a segment's latest sample: never merged */

int leakstat_stream_init(leakstat_stream *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->cap = cap >= 16 ? cap : LEAKSTAT_STREAM_CAP;
    s->t = malloc(s->cap * sizeof *s->t);
    s->y = malloc(s->cap * sizeof *s->y);
    s->seg = malloc(s->cap * sizeof *s->seg);
    s->bk = malloc(s->cap * sizeof *s->bk);
    if (!s->t || !s->y || !s->seg || !s->bk) {
        leakstat_stream_free(s);
        return ERR_NOMEM;
    }
    return 0;
}

void leakstat_stream_free(leakstat_stream *s)
{
    free(s->t);
    free(s->y);
    free(s->seg);
    free(s->bk);
    s->t = s->y = NULL;
    s->seg = NULL;
    s->bk = NULL;
    s->n = 0;
}

static int pinned(long long b)
{
    return b == BK_FIRST || b == BK_LAST;
}

/* Bucket minima at a width twice the last (or, the first time, from the span so far), until
 * half the room is free or nothing more merges. */
static void stream_compact(leakstat_stream *s)
{
    for (int round = 0; round < 64; round++) {
        if (s->width_s == 0) {
            double span = s->t[s->n - 1] - s->t[0];
            s->width_s = span / (double)(s->cap / 4);
            if (!(s->width_s > 1e-6))
                s->width_s = 1e-6;
            double origin = 0;
            for (size_t i = 0; i < s->n; i++) {
                if (s->bk[i] == BK_FIRST)
                    origin = s->t[i];
                else if (s->bk[i] != BK_LAST)
                    s->bk[i] = (long long)floor((s->t[i] - origin) / s->width_s);
            }
        } else {
            s->width_s *= 2;
            for (size_t i = 0; i < s->n; i++)
                if (!pinned(s->bk[i]))
                    s->bk[i] >>= 1; /* buckets nest: floor(b / 2) */
        }
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (m > 0 && !pinned(s->bk[i]) && s->bk[m - 1] == s->bk[i] &&
                s->seg[m - 1] == s->seg[i]) {
                if (s->y[i] < s->y[m - 1]) {
                    s->t[m - 1] = s->t[i];
                    s->y[m - 1] = s->y[i];
                }
                continue;
            }
            s->t[m] = s->t[i];
            s->y[m] = s->y[i];
            s->seg[m] = s->seg[i];
            s->bk[m] = s->bk[i];
            m++;
        }
        int merged = m < s->n;
        s->n = m;
        if (s->n <= s->cap / 2)
            return;
        if (!merged && round > 8)
            break;
    }
    s->full = s->n == s->cap;
}

/* Appends a point; compacts when there is no room. Returns 0, or 1 when it was dropped. */
static int stream_push(leakstat_stream *s, double t, double y, int seg, long long b)
{
    if (s->n == s->cap && !s->full)
        stream_compact(s);
    if (s->n == s->cap) {
        s->dropped++;
        return 1;
    }
    if (s->width_s > 0 && !pinned(b) && s->n > 0 && s->bk[s->n - 1] == b &&
        s->seg[s->n - 1] == seg) {
        if (y < s->y[s->n - 1]) {
            s->t[s->n - 1] = t;
            s->y[s->n - 1] = y;
        }
        return 0;
    }
    s->t[s->n] = t;
    s->y[s->n] = y;
    s->seg[s->n] = seg;
    s->bk[s->n] = b;
    s->n++;
    return 0;
}

/* A sample of the current segment that is no longer its latest: into its bucket. */
static void stream_settle(leakstat_stream *s, double t, double y)
{
    long long b = s->width_s > 0 ? (long long)floor((t - s->origin) / s->width_s) : 0;
    stream_push(s, t, y, s->cur_seg, b);
}

int leakstat_stream_add(leakstat_stream *s, double t, double y, int seg)
{
    if (!s->t)
        return ERR_NOMEM;
    if (!isfinite(t) || !isfinite(y)) {
        s->skipped++;
        return 0;
    }
    if (s->added == 0 || seg != s->cur_seg) {
        s->cur_seg = seg;
        s->origin = t;
        s->tail = 0;
        s->added++;
        stream_push(s, t, y, seg, BK_FIRST);
        return 0;
    }
    double last = s->n ? s->t[s->n - 1] : s->origin;
    if (t < last || t < s->origin) {
        s->skipped++;
        return 0;
    }
    s->added++;
    if (s->tail) {
        double pt = s->t[s->n - 1], py = s->y[s->n - 1];
        s->n--; /* the old latest sample: settled in its bucket */
        stream_settle(s, pt, py);
    }
    s->tail = stream_push(s, t, y, seg, BK_LAST) == 0;
    return 0;
}
