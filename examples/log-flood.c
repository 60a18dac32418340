/*
 * log-flood: a service that writes numbered log lines as fast as it can, for the log capture
 * tests and benchmarks. Lines look like a trading bot's (~100 bytes):
 *     2026-11-28T20:52:02.123456Z INFO [strategy] tick 123456 bid=101.2345 ask=101.2391 ...
 * Output goes through a 64 KiB stdio buffer. Every Kth line goes to stderr (--stderr-every K).
 * Stops after --bytes N, --lines N or --seconds S, whichever comes first (none: runs until
 * killed or until stdout closes) and exits 0. --report FILE writes "seconds bytes lines" at the
 * end: the service's own throughput, whatever its reader did after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char out_buf[64 * 1024];

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static double parse_secs(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return (end == s || *end || v < 0) ? -1 : v;
}

static void usage(void)
{
    fprintf(stderr, "usage: log-flood [--bytes N] [--lines N] [--stderr-every K] "
                    "[--seconds S] [--report FILE]\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t max_bytes = 0, max_lines = 0, err_every = 0;
    double seconds = 0;
    const char *report = NULL; /* --report FILE: "seconds bytes lines" written at the end */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;
        if (!bad && strcmp(a, "--bytes") == 0)
            bad = parse_u64(v, &max_bytes) != 0;
        else if (!bad && strcmp(a, "--lines") == 0)
            bad = parse_u64(v, &max_lines) != 0;
        else if (!bad && strcmp(a, "--stderr-every") == 0)
            bad = parse_u64(v, &err_every) != 0;
        else if (!bad && strcmp(a, "--report") == 0)
            report = v;
        else if (!bad && strcmp(a, "--seconds") == 0)
            bad = (seconds = parse_secs(v)) < 0;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "log-flood: bad option '%s'\n", a);
            usage();
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);

    const char *strat[] = {"strategy", "risk", "orders", "feed"};
    double start = now_s(), deadline = seconds > 0 ? start + seconds : 0;
    uint64_t bytes = 0, n = 0;
    char date[40] = "";
    time_t date_sec = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    char line[256];
    for (;; n++) {
        if ((max_lines && n >= max_lines) || (max_bytes && bytes >= max_bytes))
            break;
        struct timespec ts;
        if ((n & 1023) == 0) {
            if (deadline > 0 && now_s() >= deadline)
                break;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_sec != date_sec) {
            struct tm tm;
            gmtime_r(&ts.tv_sec, &tm);
            strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
            date_sec = ts.tv_sec;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        double mid = 100.0 + (double)(seed % 100000) / 10000.0;
        double spread = (double)(seed >> 40 & 0xff) / 10000.0 + 0.0001;
        int len =
            snprintf(line, sizeof line,
                     "%s.%06ldZ INFO [%s] tick %" PRIu64 " bid=%.4f ask=%.4f spread=%.4f pos=%d\n",
                     date, ts.tv_nsec / 1000, strat[n & 3], n, mid - spread / 2, mid + spread / 2,
                     spread, (int)(seed >> 50 & 0x3f) - 32);
        if (len < 0)
            return 1;
        size_t l = (size_t)len < sizeof line ? (size_t)len : sizeof line - 1;
        if (max_bytes && bytes + l > max_bytes) {
            /* stop exactly at the byte budget, still on a line end */
            size_t keep = (size_t)(max_bytes - bytes);
            if (keep == 0)
                break;
            line[keep - 1] = '\n';
            l = keep;
        }
        FILE *to = (err_every && (n + 1) % err_every == 0) ? stderr : stdout;
        if (fwrite(line, 1, l, to) != l) {
            if (errno == EPIPE)
                return 0; /* the reader went away */
            return 1;
        }
        bytes += l;
    }
    if (fflush(stdout) != 0 && errno != EPIPE)
        return 1;
    if (report) {
        /* the service's own view of its throughput: how long writing everything took */
        FILE *r = fopen(report, "w");
        if (!r)
            return 1;
        fprintf(r, "%.6f %" PRIu64 " %" PRIu64 "\n", now_s() - start, bytes, n);
        fclose(r);
    }
    return 0;
}
