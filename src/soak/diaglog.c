/* diaglog: log-line parsers of soak diagnose. See diaglog.h. */
#include "diaglog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logscan.h"

static const char *const class_keys[] = {
#define DIAGLOG_KEY(name, key, sec, what) key,
    DIAGLOG_CLASSES(DIAGLOG_KEY)
#undef DIAGLOG_KEY
};
static const int class_sections[] = {
#define DIAGLOG_SEC(name, key, sec, what) sec,
    DIAGLOG_CLASSES(DIAGLOG_SEC)
#undef DIAGLOG_SEC
};

const char *diaglog_class_key(diaglog_class c)
{
    return (unsigned)c < DIAGLOG_NCLASSES ? class_keys[c] : "";
}

int diaglog_class_section(diaglog_class c)
{
    return (unsigned)c < DIAGLOG_NCLASSES ? class_sections[c] : 0;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Position of needle (lower case) in s[from..n), case-insensitive, or -1. */
static long find(const char *s, size_t n, size_t from, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return -1;
    for (size_t i = from; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && lower(s[i + j]) == needle[j])
            j++;
        if (j == k)
            return (long)i;
    }
    return -1;
}

static int has(const char *s, size_t n, const char *needle)
{
    return find(s, n, 0, needle) >= 0;
}

/* a ... b: b somewhere after a */
static int has_then(const char *s, size_t n, const char *a, const char *b)
{
    long i = find(s, n, 0, a);
    return i >= 0 && find(s, n, (size_t)i + strlen(a), b) >= 0;
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* "gc" as a word (not inside "logcat"), "429" as a number (not inside "14290") */
static int has_word(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    long i = -1;
    while ((i = find(s, n, (size_t)(i + 1), w)) >= 0) {
        size_t e = (size_t)i + k;
        if ((i == 0 || !is_alnum(s[i - 1])) && (e >= n || !is_alnum(s[e])))
            return 1;
    }
    return 0;
}

unsigned diaglog_classify(const char *s, size_t n)
{
    unsigned m = 0;
    if (!s)
        return 0;
    if (has(s, n, "memory") || has_word(s, n, "oom") || has(s, n, "allocation") ||
        has(s, n, "memoryerror") || has(s, n, "out of memory"))
        m |= DIAGLOG_BIT(DIAGLOG_MEMORY);
    if (has_word(s, n, "gc") || has(s, n, "garbage"))
        m |= DIAGLOG_BIT(DIAGLOG_GC);
    if (has(s, n, "reconnect") || has_then(s, n, "websocket", "connect"))
        m |= DIAGLOG_BIT(DIAGLOG_RECONNECT);
    if (has_then(s, n, "backoff", "delay") || has_then(s, n, "reconnect", "attempt"))
        m |= DIAGLOG_BIT(DIAGLOG_BACKOFF);
    if (has(s, n, "timeout") || has(s, n, "timed out"))
        m |= DIAGLOG_BIT(DIAGLOG_TIMEOUT);
    if (has(s, n, "connection refused") || has(s, n, "econnrefused"))
        m |= DIAGLOG_BIT(DIAGLOG_REFUSED);
    if (has(s, n, "network"))
        m |= DIAGLOG_BIT(DIAGLOG_NETWORK);
    if (has(s, n, "rate limit") || has(s, n, "ratelimit") || has(s, n, "too many") ||
        has_word(s, n, "429"))
        m |= DIAGLOG_BIT(DIAGLOG_RATELIMIT);
    if (has_word(s, n, "ping") || has_word(s, n, "pong") || has(s, n, "heartbeat") ||
        has(s, n, "[hb]"))
        m |= DIAGLOG_BIT(DIAGLOG_HEARTBEAT);
    if (has(s, n, "shutting down") || has(s, n, "stop()") || has(s, n, "[shutdown]"))
        m |= DIAGLOG_BIT(DIAGLOG_SHUTDOWN);
    if (has(s, n, "cancel_all") || has(s, n, "cancelling all") || has(s, n, "cancel all"))
        m |= DIAGLOG_BIT(DIAGLOG_CANCEL_ALL);
    long cnt;
    if (diaglog_cancelled(s, n, &cnt))
        m |= DIAGLOG_BIT(DIAGLOG_CANCELLED);
    if (has_then(s, n, "shutdown", "complete"))
        m |= DIAGLOG_BIT(DIAGLOG_SHUTDOWN_DONE);
    if (has(s, n, "traceback") || has(s, n, "exception") || has(s, n, "error"))
        m |= DIAGLOG_BIT(DIAGLOG_ERROR);
    if (has_word(s, n, "dns") || has(s, n, "getaddrinfo") || has(s, n, "name resolution"))
        m |= DIAGLOG_BIT(DIAGLOG_DNS);
    if (has_then(s, n, "pool", "limit") || has(s, n, "waiting for connection"))
        m |= DIAGLOG_BIT(DIAGLOG_POOL);
    if (has(s, n, "_cleanup_old_logs") || has(s, n, "aggressive cleanup"))
        m |= DIAGLOG_BIT(DIAGLOG_CLEANUP);
    if (has(s, n, "kill_process_tree") || has(s, n, "cleanup_zombies") || has(s, n, "defunct"))
        m |= DIAGLOG_BIT(DIAGLOG_ZOMBIE);
    return m;
}

int diaglog_split(const char *line, size_t n, double *t, const char **text, size_t *text_n)
{
    *t = -1;
    *text = line;
    *text_n = n;
    if (!line || n < 20)
        return 0;
    double v = logscan_parse_iso(line, n);
    if (v < 0)
        return 0;
    size_t i = 19;
    while (i < n && line[i] != ' ')
        i++;
    while (i < n && line[i] == ' ')
        i++;
    /* the stream name */
    size_t j = i;
    while (j < n && line[j] != ' ')
        j++;
    if (j - i > 8)
        j = i; /* not a stream name: keep it in the text */
    else
        while (j < n && line[j] == ' ')
            j++;
    *t = v;
    *text = line + j;
    *text_n = n - j;
    return 1;
}

/* A number at s[*i..n) (digits, one '.'), skipping spaces, '=', ':', '#'; up to 1e12. */
static int number_at(const char *s, size_t n, size_t *i, double *out)
{
    size_t p = *i;
    while (p < n && (s[p] == ' ' || s[p] == '=' || s[p] == ':' || s[p] == '#' || s[p] == '\t'))
        p++;
    if (p >= n || s[p] < '0' || s[p] > '9')
        return 0;
    double v = 0, scale = 0;
    int digits = 0;
    for (; p < n && digits < 15; p++) {
        if (s[p] >= '0' && s[p] <= '9') {
            v = v * 10 + (s[p] - '0');
            if (scale > 0)
                scale *= 10;
            digits++;
        } else if (s[p] == '.' && scale == 0 && p + 1 < n && s[p + 1] >= '0' && s[p + 1] <= '9')
            scale = 1;
        else
            break;
    }
    while (p < n && s[p] >= '0' && s[p] <= '9')
        p++; /* digits past 15 are not significant */
    *out = scale > 0 ? v / scale : v;
    *i = p;
    return 1;
}

int diaglog_delay(const char *s, size_t n, double *delay_s)
{
    static const char *const keys[] = {"delay",    "backoff", "retry in", "retrying in",
                                       "sleeping", "waiting", "wait"};
    if (!s)
        return 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        long at = -1;
        while ((at = find(s, n, (size_t)(at + 1), keys[k])) >= 0) {
            size_t i = (size_t)at + strlen(keys[k]);
            /* "delay_s=", "delay(s)": skip a short suffix of letters, '_', '(', ')' */
            size_t skip = 0;
            while (i < n && skip < 4 && (is_alpha(s[i]) || s[i] == '(' || s[i] == ')'))
                i++, skip++;
            double v;
            if (!number_at(s, n, &i, &v))
                continue;
            while (i < n && s[i] == ' ')
                i++;
            if (i + 1 < n && lower(s[i]) == 'm' && lower(s[i + 1]) == 's')
                v /= 1000.0;
            else if (i < n && lower(s[i]) == 'm' && (i + 1 >= n || !is_alpha(s[i + 1])))
                v *= 60.0;
            *delay_s = v;
            return 1;
        }
    }
    return 0;
}

int diaglog_attempt(const char *s, size_t n, long *attempt)
{
    if (!s)
        return 0;
    long at = -1;
    while ((at = find(s, n, (size_t)(at + 1), "attempt")) >= 0) {
        size_t i = (size_t)at + 7;
        if (i < n && lower(s[i]) == 's')
            i++;
        double v;
        if (number_at(s, n, &i, &v) && v < 1e9) {
            *attempt = (long)v;
            return 1;
        }
    }
    return 0;
}

int diaglog_cancelled(const char *s, size_t n, long *count)
{
    if (!s)
        return 0;
    long at = -1;
    while ((at = find(s, n, (size_t)(at + 1), "cancelled")) >= 0) {
        size_t i = (size_t)at + 9;
        double v;
        if (number_at(s, n, &i, &v) && v < 1e9) {
            *count = (long)v;
            return 1;
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

diaglog_backoff diaglog_backoff_check(const double *d, size_t n, double *growth, double *cap)
{
    double ratios[64];
    size_t nr = 0, grow = 0, same = 0, other = 0, capped = 0;
    double mx = 0;
    *growth = 1;
    for (size_t i = 0; i < n; i++)
        if (isfinite(d[i]) && d[i] > mx)
            mx = d[i];
    *cap = mx;
    if (n < 3)
        return DIAGLOG_BACKOFF_UNKNOWN;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = d[i], b = d[i + 1];
        if (!isfinite(a) || !isfinite(b) || a < 0 || b < 0)
            continue;
        if (a <= 0) {
            other++;
            continue;
        }
        double r = b / a;
        if (r >= 1.5 && r <= 3.2) {
            grow++;
            if (nr < sizeof ratios / sizeof ratios[0])
                ratios[nr++] = r;
        } else if (r > 0.9 && r < 1.1) {
            /* staying at the cap after growing is backoff; staying from the start is not */
            if (grow > 0 && a >= mx * 0.9)
                capped++;
            else
                same++;
        } else if (r < 0.6) {
            /* a reset (a connection held for a while) starts a new run of delays */
        } else {
            other++;
        }
    }
    if (nr) {
        qsort(ratios, nr, sizeof ratios[0], cmp_double);
        *growth = ratios[nr / 2];
    }
    if (grow >= 2 && grow + capped >= 2 * (same + other))
        return DIAGLOG_BACKOFF_EXPONENTIAL;
    if (grow == 0 && same >= 2 && same >= 2 * other)
        return DIAGLOG_BACKOFF_CONSTANT;
    return DIAGLOG_BACKOFF_IRREGULAR;
}

const char *diaglog_backoff_name(diaglog_backoff b)
{
    switch (b) {
    case DIAGLOG_BACKOFF_EXPONENTIAL:
        return "exponential";
    case DIAGLOG_BACKOFF_CONSTANT:
        return "constant";
    case DIAGLOG_BACKOFF_IRREGULAR:
        return "irregular";
    default:
        return "unknown";
    }
}
