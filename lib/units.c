/* units: parse and format durations and byte sizes. See units.h. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errcode.h"

/* Reads a non-negative decimal number with an optional fraction; advances *p. Returns 0 or
 * ERR_PARSE. */
static int units_number(const char **p, double *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        return ERR_PARSE;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return ERR_PARSE;
    /* strtod also takes exponents and hex; we accept only digits and one dot */
    for (const char *c = s; c < end; c++)
        if (!isdigit((unsigned char)*c) && *c != '.')
            return ERR_PARSE;
    *out = v;
    *p = end;
    return 0;
}

int units_parse_duration(const char *s, uint64_t *out_ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
    if (!s)
        return ERR_INVAL;
    if (!*s)
        return ERR_PARSE;
    const char *p = s;
    double total = 0;
    int parts = 0;
    while (*p) {
        double v;
        if (units_number(&p, &v))
            return ERR_PARSE;
        size_t ulen = 0;
        while (isalpha((unsigned char)p[ulen]))
            ulen++;
        double mult = -1;
        if (ulen == 0) {
            if (parts > 0 || p[0] != '\0')
                return ERR_PARSE; /* "1h30" is ambiguous */
            mult = 1e3;
        }
        for (size_t i = 0; ulen && i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].unit) == ulen && strncmp(p, units[i].unit, ulen) == 0)
                mult = units[i].ms;
        if (mult < 0)
            return ERR_PARSE;
        total += v * mult;
        p += ulen;
        parts++;
    }
    if (total > 9.2e18)
        return ERR_RANGE;
    *out_ms = (uint64_t)llround(total);
    return 0;
}

int units_parse_bytes(const char *s, uint64_t *out)
{
    if (!s)
        return ERR_INVAL;
    if (!*s)
        return ERR_PARSE;
    const char *p = s;
    double v;
    if (units_number(&p, &v))
        return ERR_PARSE;
    while (*p == ' ')
        p++;
    double mult = 1;
    const char *letters = "kmgtp";
    if (*p) {
        const char *l = strchr(letters, tolower((unsigned char)*p));
        if (l) {
            int binary = (p[1] == 'i' || p[1] == 'I');
            mult = pow(binary ? 1024.0 : 1000.0, (double)(l - letters) + 1);
            p += binary ? 2 : 1;
        }
        if (*p == 'b' || *p == 'B')
            p++;
        if (*p)
            return ERR_PARSE;
    }
    double total = v * mult;
    if (total > 1.8e19)
        return ERR_RANGE;
    *out = (uint64_t)round(total); /* not llround: it stops at 2^63 */
    return 0;
}

char *units_format_duration(uint64_t ms, char *buf, size_t n)
{
    if (ms == 0) {
        snprintf(buf, n, "0s");
        return buf;
    }
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && ms; i++) {
        uint64_t q = ms / units[i].ms;
        if (!q)
            continue;
        ms -= q * units[i].ms;
        int w = snprintf(buf + used, n > used ? n - used : 0, "%llu%s", (unsigned long long)q,
                         units[i].unit);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

char *units_format_bytes(uint64_t bytes, char *buf, size_t n)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t i = 0;
    while (v >= 1024 && i + 1 < sizeof names / sizeof names[0]) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, n, "%.1f %s", v, names[i]);
    return buf;
}
