/* loadgen: argument parsing and histogram percentiles of the bench load clients. */
#include "loadgen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int loadgen_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = s && *s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int loadgen_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

uint64_t loadgen_pct(const uint64_t *h, size_t nbins, uint64_t total, double p)
{
    if (!total || !nbins)
        return 0;
    uint64_t want = (uint64_t)(p * (double)total), acc = 0;
    if (want >= total)
        want = total - 1;
    for (size_t i = 0; i < nbins; i++) {
        acc += h[i];
        if (acc > want)
            return i;
    }
    return nbins - 1;
}
