/*
 * fuzz_diaglog: a service's log lines are outside input. Runs every log-line parser that soak
 * diagnose adds (diaglog.h: the line's timestamp and text, its classes, the delay, attempt and
 * cancelled numbers) on arbitrary bytes, then the backoff check on the delays found in the
 * input cut into lines, and smaps_parse (smaps.h) on the same bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaglog.h"
#include "smaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    double delays[64];
    size_t nd = 0, i = 0;
    while (i < size) {
        const char *nl = memchr(s + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (s + i)) : size - i;
        const char *line = s + i, *text;
        size_t tn;
        double t, d;
        long a;
        diaglog_split(line, n, &t, &text, &tn);
        if (text < line || text + tn > line + n)
            abort();
        (void)diaglog_classify(text, tn);
        if (diaglog_delay(text, tn, &d)) {
            if (!(d >= 0) || !isfinite(d))
                abort();
            if (nd < 64)
                delays[nd++] = d;
        }
        if (diaglog_attempt(text, tn, &a) && a < 0)
            abort();
        if (diaglog_cancelled(text, tn, &a) && a < 0)
            abort();
        i += n + (nl ? 1 : 0);
    }
    double g, cap;
    diaglog_backoff b = diaglog_backoff_check(delays, nd, &g, &cap);
    if (b > DIAGLOG_BACKOFF_IRREGULAR)
        abort();
    smaps_sums sm;
    memset(&sm, 0, sizeof sm);
    (void)smaps_parse(s, size, &sm);
    return 0;
}
