/* termsafe: escape what a terminal would act on. See termsafe.h. */
#include "termsafe.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (2-4), or 0 when it is not one. */
static size_t ts_utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, past Unicode, or a surrogate */
    if (cp >= 0x80 && cp <= 0x9f)
        return 0; /* a C1 control */
    return n;
}

/* Appends piece (k bytes) when it fits whole; counts it anyway. */
static void ts_put(char *out, size_t n, size_t *used, size_t *need, int *cut, const char *piece,
                   size_t k)
{
    if (!*cut && *used + k < n) {
        memcpy(out + *used, piece, k);
        *used += k;
    } else {
        *cut = 1;
    }
    *need += k;
}

size_t termsafe_escape(const char *in, size_t len, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t used = 0, need = 0;
    int cut = n == 0;
    if (!in)
        len = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        char esc[4];
        size_t k;
        if (c == '\\') {
            ts_put(out, n, &used, &need, &cut, "\\\\", 2);
        } else if (c == '\t' || c == '\n' || c == '\r') {
            esc[0] = '\\';
            esc[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
            ts_put(out, n, &used, &need, &cut, esc, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            ts_put(out, n, &used, &need, &cut, (const char *)&p[i], 1);
        } else if (c >= 0x80 && (k = ts_utf8_len(p + i, len - i)) > 0) {
            ts_put(out, n, &used, &need, &cut, (const char *)&p[i], k);
            i += k;
            continue;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            ts_put(out, n, &used, &need, &cut, esc, 4);
        }
        i++;
    }
    if (n > 0)
        out[used] = '\0';
    return need;
}

size_t termsafe_str(const char *in, char *out, size_t n)
{
    return termsafe_escape(in ? in : "", in ? strlen(in) : 0, out, n);
}
