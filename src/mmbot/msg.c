/*
 * msg: Bybit v5 message parsers (see msg.h). Two halves: a small allocation-free JSON scanner
 * for the orderbook hot path and the classifier, and cJSON-based field readers for the rest.
 */
#include "msg.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "errcode.h"

/* ================================================================== numbers */

/* Largest integer part whose fixed-point value fits in int64 (INT64_MAX / 1e8). */
#define FX_INT_MAX 92233720367LL

int msg_fx_parse(const char *s, size_t len, int64_t *out)
{
    if (!s || !out)
        return ERR_INVAL;
    const char *p = s, *e = s + len;
    int neg = 0;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    int64_t ip = 0, fp = 0;
    int digits = 0, fd = 0, over = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
        if (ip > FX_INT_MAX / 10 + 1)
            over = 1;
        else
            ip = ip * 10 + (*p - '0');
    }
    if (digits == 0)
        return ERR_PARSE;
    if (p < e && *p == '.') {
        p++;
        const char *f = p;
        for (; p < e && *p >= '0' && *p <= '9'; p++) {
            if (fd < 8) {
                fp = fp * 10 + (*p - '0');
                fd++;
            } else if (*p != '0') {
                over = 1;
            }
        }
        if (p == f)
            return ERR_PARSE;
    }
    if (p != e)
        return ERR_PARSE;
    if (over || ip > FX_INT_MAX)
        return ERR_RANGE;
    static const int64_t scale[9] = {100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1};
    int64_t v = ip * BOOK_FX_ONE + fp * scale[fd];
    *out = neg ? -v : v;
    return 0;
}

int msg_fx_format(int64_t v, char *buf, size_t n)
{
    if (!buf)
        return ERR_INVAL;
    char tmp[32];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = u / (uint64_t)BOOK_FX_ONE, fp = u % (uint64_t)BOOK_FX_ONE;
    char *t = tmp + sizeof tmp;
    *--t = '\0';
    if (fp) {
        int dec = 8;
        while (fp % 10 == 0) {
            fp /= 10;
            dec--;
        }
        for (; dec > 0; dec--, fp /= 10)
            *--t = (char)('0' + fp % 10);
        *--t = '.';
    }
    do {
        *--t = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (v < 0)
        *--t = '-';
    size_t len = (size_t)(tmp + sizeof tmp - 1 - t);
    if (len + 1 > n) {
        if (n)
            buf[0] = '\0';
        return ERR_RANGE;
    }
    memcpy(buf, t, len + 1);
    return (int)len;
}

/* ================================================================== scanner */

#define SCAN_DEPTH 64 /* nesting the skipper follows */

typedef struct scan {
    const char *p, *e;
} scan;

static inline void sws(scan *s)
{
    const char *p = s->p;
    while (p < s->e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    s->p = p;
}

static inline int seat(scan *s, char c)
{
    sws(s);
    if (s->p < s->e && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int hexd(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; *v, *n get its raw bytes (escapes left as they are). */
static int sstr(scan *s, const char **v, size_t *n)
{
    if (!seat(s, '"'))
        return ERR_PARSE;
    const char *p = s->p, *e = s->e, *b = p; /* locals: the loop stays in registers */
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c > '\\' || (c >= 0x20 && c != '"' && c != '\\')) {
            p++;
            continue;
        }
        if (c == '"') {
            *v = b;
            *n = (size_t)(p - b);
            s->p = p + 1;
            return 0;
        }
        if (c < 0x20 || e - p < 2)
            return ERR_PARSE;
        char x = p[1];
        if (x == 'u') {
            if (e - p < 6 || !hexd(p[2]) || !hexd(p[3]) || !hexd(p[4]) || !hexd(p[5]))
                return ERR_PARSE;
            p += 6;
            continue;
        }
        if (x == '\0' || !strchr("\"\\/bfnrt", x))
            return ERR_PARSE;
        p += 2;
    }
    return ERR_PARSE;
}

/* A JSON integer (no fraction, no exponent). */
static int sint(scan *s, int64_t *out)
{
    sws(s);
    int neg = 0;
    if (s->p < s->e && *s->p == '-') {
        neg = 1;
        s->p++;
    }
    const char *b = s->p;
    uint64_t v = 0;
    for (; s->p < s->e && *s->p >= '0' && *s->p <= '9'; s->p++) {
        if (v > (uint64_t)INT64_MAX / 10)
            return ERR_RANGE;
        v = v * 10 + (uint64_t)(*s->p - '0');
    }
    if (s->p == b)
        return ERR_PARSE;
    if (v > (uint64_t)INT64_MAX)
        return ERR_RANGE;
    if (s->p < s->e && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'))
        return ERR_PARSE;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int slit(scan *s, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(s->e - s->p) < n || memcmp(s->p, w, n) != 0)
        return ERR_PARSE;
    s->p += n;
    return 0;
}

/* Skips one value of any type, nested at most SCAN_DEPTH deep. */
static int sskip(scan *s, int depth)
{
    if (depth > SCAN_DEPTH)
        return ERR_PARSE;
    sws(s);
    if (s->p >= s->e)
        return ERR_PARSE;
    const char *v;
    size_t n;
    switch (*s->p) {
    case '"':
        return sstr(s, &v, &n);
    case '{':
        s->p++;
        if (seat(s, '}'))
            return 0;
        do {
            if (sstr(s, &v, &n) || !seat(s, ':') || sskip(s, depth + 1))
                return ERR_PARSE;
        } while (seat(s, ','));
        return seat(s, '}') ? 0 : ERR_PARSE;
    case '[':
        s->p++;
        if (seat(s, ']'))
            return 0;
        do {
            if (sskip(s, depth + 1))
                return ERR_PARSE;
        } while (seat(s, ','));
        return seat(s, ']') ? 0 : ERR_PARSE;
    case 't':
        return slit(s, "true");
    case 'f':
        return slit(s, "false");
    case 'n':
        return slit(s, "null");
    default: {
        const char *b = s->p;
        if (*s->p == '-')
            s->p++;
        if (s->p >= s->e || *s->p < '0' || *s->p > '9')
            return ERR_PARSE;
        while (s->p < s->e && strchr("0123456789.eE+-", *s->p) && *s->p)
            s->p++;
        return s->p > b ? 0 : ERR_PARSE;
    }
    }
}

static inline int keyis(const char *k, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(k, lit, m) == 0;
}

/* Copies n raw bytes into an id/symbol field of cap bytes (NUL included): refused past the cap
 * (ERR_RANGE) and when they hold an escape (ERR_PARSE: no id of Bybit's has one). */
static int raw_id(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        return ERR_RANGE;
    if (memchr(v, '\\', n))
        return ERR_PARSE;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

/* ================================================================== topics */

static int has_prefix(const char *t, size_t n, const char *pre)
{
    size_t m = strlen(pre);
    return n >= m && memcmp(t, pre, m) == 0;
}

/* "name" or "name.suffix" */
static int topic_is(const char *t, size_t n, const char *name)
{
    size_t m = strlen(name);
    return n >= m && memcmp(t, name, m) == 0 && (n == m || t[m] == '.');
}

static msg_kind topic_kind(const char *t, size_t n)
{
    if (has_prefix(t, n, "orderbook."))
        return MSG_BOOK;
    if (has_prefix(t, n, "publicTrade."))
        return MSG_TRADE;
    if (topic_is(t, n, "order"))
        return MSG_ORDER;
    if (topic_is(t, n, "execution"))
        return MSG_EXECUTION;
    if (topic_is(t, n, "position"))
        return MSG_POSITION;
    if (topic_is(t, n, "wallet"))
        return MSG_WALLET;
    return MSG_UNKNOWN;
}

int msg_ws_kind(const char *buf, size_t len, msg_kind *out)
{
    if (!buf || !out)
        return ERR_INVAL;
    scan s = {buf, buf + len};
    if (!seat(&s, '{'))
        return ERR_PARSE;
    *out = MSG_UNKNOWN;
    if (seat(&s, '}'))
        return 0;
    do {
        const char *k, *v;
        size_t kn, vn;
        if (sstr(&s, &k, &kn) || !seat(&s, ':'))
            return ERR_PARSE;
        if (keyis(k, kn, "topic") || keyis(k, kn, "op")) {
            if (sstr(&s, &v, &vn))
                return ERR_PARSE;
            *out = k[0] == 't' ? topic_kind(v, vn) : MSG_OP;
            return 0;
        }
        if (sskip(&s, 1))
            return ERR_PARSE;
    } while (seat(&s, ','));
    return seat(&s, '}') ? 0 : ERR_PARSE;
}

/* ================================================================== orderbook */

/* [["px","sz"],...] into side sd of up. */
static int book_levels_parse(scan *s, book_update *up, int sd)
{
    if (!seat(s, '['))
        return ERR_PARSE;
    up->n[sd] = 0;
    if (seat(s, ']'))
        return 0;
    do {
        const char *a, *b;
        size_t an, bn;
        if (!seat(s, '[') || sstr(s, &a, &an) || !seat(s, ',') || sstr(s, &b, &bn) || !seat(s, ']'))
            return ERR_PARSE;
        if (up->n[sd] == BOOK_MAX_LEVELS)
            return ERR_FULL;
        book_level *l = &up->lv[sd][up->n[sd]];
        int rc = msg_fx_parse(a, an, &l->px);
        if (rc == 0)
            rc = msg_fx_parse(b, bn, &l->sz);
        if (rc)
            return rc;
        if (l->px <= 0 || l->sz < 0)
            return ERR_PARSE;
        up->n[sd]++;
    } while (seat(s, ','));
    return seat(s, ']') ? 0 : ERR_PARSE;
}

static int book_data_parse(scan *s, book_update *up, int *have_s, int *have_u)
{
    if (!seat(s, '{'))
        return ERR_PARSE;
    if (seat(s, '}'))
        return 0;
    do {
        const char *k, *v;
        size_t kn, vn;
        int rc;
        if (sstr(s, &k, &kn) || !seat(s, ':'))
            return ERR_PARSE;
        if (keyis(k, kn, "b") || keyis(k, kn, "a")) {
            rc = book_levels_parse(s, up, k[0] == 'b' ? BOOK_BID : BOOK_ASK);
        } else if (keyis(k, kn, "s")) {
            rc = sstr(s, &v, &vn);
            if (rc == 0)
                rc = raw_id(up->symbol, sizeof up->symbol, v, vn);
            if (rc == 0 && vn == 0)
                rc = ERR_PARSE;
            *have_s = 1;
        } else if (keyis(k, kn, "u")) {
            rc = sint(s, &up->u);
            *have_u = 1;
        } else if (keyis(k, kn, "seq")) {
            rc = sint(s, &up->seq);
        } else {
            rc = sskip(s, 2);
        }
        if (rc)
            return rc;
    } while (seat(s, ','));
    return seat(s, '}') ? 0 : ERR_PARSE;
}

/* "orderbook.{depth}.{symbol}" */
static int book_topic(const char *t, size_t n, unsigned *depth, char *sym, size_t cap)
{
    if (!has_prefix(t, n, "orderbook."))
        return ERR_PARSE;
    const char *p = t + 10, *e = t + n;
    unsigned d = 0;
    const char *b = p;
    for (; p < e && *p >= '0' && *p <= '9' && p - b < 4; p++)
        d = d * 10 + (unsigned)(*p - '0');
    if (p == b || p >= e || *p != '.' || d == 0 || d > BOOK_DEPTH_MAX)
        return ERR_PARSE;
    p++;
    if (p == e)
        return ERR_PARSE;
    *depth = d;
    return raw_id(sym, cap, p, (size_t)(e - p));
}

int msg_book_update(const char *buf, size_t len, book_update *out)
{
    if (!buf || !out)
        return ERR_INVAL;
    scan s = {buf, buf + len};
    char tsym[BOOK_SYMBOL_MAX + 1] = "";
    int have_topic = 0, have_type = 0, have_data = 0, have_s = 0, have_u = 0;
    out->symbol[0] = '\0';
    out->n[0] = out->n[1] = 0;
    out->u = out->seq = out->ts_ms = out->cts_ms = 0;
    out->snapshot = 0;
    out->depth = 0;
    if (!seat(&s, '{'))
        return ERR_PARSE;
    if (!seat(&s, '}')) {
        do {
            const char *k, *v;
            size_t kn, vn;
            int rc;
            if (sstr(&s, &k, &kn) || !seat(&s, ':'))
                return ERR_PARSE;
            if (keyis(k, kn, "topic")) {
                rc = sstr(&s, &v, &vn);
                if (rc == 0)
                    rc = book_topic(v, vn, &out->depth, tsym, sizeof tsym);
                have_topic = 1;
            } else if (keyis(k, kn, "type")) {
                rc = sstr(&s, &v, &vn);
                if (rc == 0 && keyis(v, vn, "snapshot"))
                    out->snapshot = 1;
                else if (rc == 0 && keyis(v, vn, "delta"))
                    out->snapshot = 0;
                else
                    rc = ERR_PARSE;
                have_type = 1;
            } else if (keyis(k, kn, "ts")) {
                rc = sint(&s, &out->ts_ms);
            } else if (keyis(k, kn, "cts")) {
                rc = sint(&s, &out->cts_ms);
            } else if (keyis(k, kn, "data")) {
                rc = book_data_parse(&s, out, &have_s, &have_u);
                have_data = 1;
            } else {
                rc = sskip(&s, 1);
            }
            if (rc)
                return rc;
        } while (seat(&s, ','));
        if (!seat(&s, '}'))
            return ERR_PARSE;
    }
    sws(&s);
    if (s.p != s.e)
        return ERR_PARSE;
    if (!have_topic || !have_type || !have_data || !have_s || !have_u)
        return ERR_PARSE;
    if (strcmp(tsym, out->symbol) != 0)
        return ERR_PARSE;
    return 0;
}

/* ================================================================== cJSON field readers */

/* First error of a sequence of field reads. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* Return codes of the readers: 0, ERR_NOENT (absent or null), ERR_PARSE, ERR_RANGE. */

static const cJSON *field(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNull(j) ? NULL : j;
}

/* Required: absent is malformed. */
static int req(int rc)
{
    return rc == ERR_NOENT ? ERR_PARSE : rc;
}

/* Optional: absent is fine. */
static int opt(int rc)
{
    return rc == ERR_NOENT ? 0 : rc;
}

static int get_str(const cJSON *o, const char *k, char *dst, size_t cap)
{
    dst[0] = '\0';
    const cJSON *j = field(o, k);
    if (!j)
        return ERR_NOENT;
    if (!cJSON_IsString(j) || !j->valuestring)
        return ERR_PARSE;
    size_t n = strlen(j->valuestring);
    if (n >= cap)
        return ERR_RANGE;
    memcpy(dst, j->valuestring, n + 1);
    return 0;
}

/* A human text: cut at cap - 1 bytes on a UTF-8 boundary, *trunc says whether it was. */
static int get_text(const cJSON *o, const char *k, char *dst, size_t cap, int *trunc)
{
    dst[0] = '\0';
    *trunc = 0;
    const cJSON *j = field(o, k);
    if (!j)
        return ERR_NOENT;
    if (!cJSON_IsString(j) || !j->valuestring)
        return ERR_PARSE;
    size_t n = strlen(j->valuestring);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)j->valuestring[n] & 0xC0) == 0x80)
            n--;
        *trunc = 1;
    }
    memcpy(dst, j->valuestring, n);
    dst[n] = '\0';
    return 0;
}

static int get_fx(const cJSON *o, const char *k, int64_t *out)
{
    *out = 0;
    const cJSON *j = field(o, k);
    if (!j)
        return ERR_NOENT;
    if (cJSON_IsString(j) && j->valuestring) {
        size_t n = strlen(j->valuestring);
        return n ? msg_fx_parse(j->valuestring, n, out) : 0;
    }
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble * (double)BOOK_FX_ONE;
        if (!isfinite(v) || fabs(v) >= 9.2e18)
            return ERR_RANGE;
        *out = (int64_t)llround(v);
        return 0;
    }
    return ERR_PARSE;
}

static int get_dbl(const cJSON *o, const char *k, double *out)
{
    *out = 0;
    const cJSON *j = field(o, k);
    if (!j)
        return ERR_NOENT;
    if (cJSON_IsNumber(j)) {
        *out = j->valuedouble;
        return isfinite(*out) ? 0 : ERR_RANGE;
    }
    if (!cJSON_IsString(j) || !j->valuestring)
        return ERR_PARSE;
    const char *s = j->valuestring;
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (n > 63)
        return ERR_RANGE;
    /* strtod would take spaces, hex, inf and nan: only a plain decimal with an exponent */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.-+eE", s[i]))
            return ERR_PARSE;
    char *end;
    double v = strtod(s, &end);
    if (end != s + n)
        return ERR_PARSE;
    if (!isfinite(v))
        return ERR_RANGE;
    *out = v;
    return 0;
}

/* An integer from a JSON number (integral, |v| <= 2^53) or a decimal string ("" is 0). */
static int val_i64(const cJSON *j, int64_t *out)
{
    *out = 0;
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (!isfinite(v) || fabs(v) > 9007199254740992.0)
            return ERR_RANGE;
        if (v != floor(v))
            return ERR_PARSE;
        *out = (int64_t)v;
        return 0;
    }
    if (!cJSON_IsString(j) || !j->valuestring)
        return ERR_PARSE;
    const char *s = j->valuestring;
    if (!*s)
        return 0;
    scan sc = {s, s + strlen(s)};
    if (*s == ' ')
        return ERR_PARSE;
    TRY(sint(&sc, out));
    return sc.p == sc.e ? 0 : ERR_PARSE;
}

static int get_i64(const cJSON *o, const char *k, int64_t *out)
{
    *out = 0;
    const cJSON *j = field(o, k);
    return j ? val_i64(j, out) : ERR_NOENT;
}

static int get_bool(const cJSON *o, const char *k, int *out)
{
    *out = 0;
    const cJSON *j = field(o, k);
    if (!j)
        return ERR_NOENT;
    if (!cJSON_IsBool(j))
        return ERR_PARSE;
    *out = cJSON_IsTrue(j) ? 1 : 0;
    return 0;
}

/* An enum from a string field: index in names (NULL-terminated), else other_value. */
static int get_enum(const cJSON *o, const char *k, const char *const *names, int other, int *out)
{
    char w[MSG_WORD_MAX + 1];
    *out = other;
    int rc = get_str(o, k, w, sizeof w);
    if (rc == ERR_RANGE)
        return 0; /* a word longer than any known one: unknown */
    if (rc)
        return rc;
    for (int i = 0; names[i]; i++)
        if (strcmp(w, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return 0;
}

static int get_side(const cJSON *o, const char *k, msg_side *out)
{
    static const char *const names[] = {"", "Buy", "Sell", NULL};
    int v, rc = get_enum(o, k, names, -1, &v);
    *out = MSG_SIDE_NONE;
    if (rc)
        return rc;
    if (v < 0)
        return ERR_PARSE;
    *out = (msg_side)v;
    return 0;
}

static cJSON *parse_obj(const char *buf, size_t len)
{
    if (!buf || len == 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* An array field with at most cap items: *arr and *n. */
static int get_list(const cJSON *o, const char *k, size_t cap, const cJSON **arr, size_t *n)
{
    const cJSON *a = field(o, k);
    *arr = NULL;
    *n = 0;
    if (!a)
        return ERR_NOENT;
    if (!cJSON_IsArray(a))
        return ERR_PARSE;
    size_t c = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsObject(it))
            return ERR_PARSE;
        if (++c > cap)
            return ERR_FULL;
    }
    *arr = a;
    *n = c;
    return 0;
}

/* ================================================================== items */

/* An item parser: one object of a list into *dst (a zeroed msg_* struct). */
typedef int (*item_fn)(const cJSON *j, void *dst);

/* The fields of each struct, defined once: key, type, whether required, where it goes. */
typedef enum ftype { F_ID, F_FX, F_DBL, F_I64, F_BOOL, F_SIDE, F_ENUM } ftype;

typedef struct fdesc {
    const char *key;
    ftype type;
    int required;
    size_t off, size;         /* the member; size is the cap of an F_ID */
    const char *const *names; /* F_ENUM: index 0 ("") is the enum's _OTHER (0) */
    const char *sub;          /* the key of the sub-object holding it, or NULL */
} fdesc;

#define FLD(T, key, type, required, m)                                                             \
    {                                                                                              \
        key, type, required, offsetof(T, m), sizeof(((T *)0)->m), NULL, NULL                       \
    }
#define FENUM(T, key, required, m, names)                                                          \
    {                                                                                              \
        key, F_ENUM, required, offsetof(T, m), sizeof(((T *)0)->m), names, NULL                    \
    }
#define FSUB(T, sub, key, required, m)                                                             \
    {                                                                                              \
        key, F_FX, required, offsetof(T, m), sizeof(((T *)0)->m), NULL, sub                        \
    }
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

_Static_assert(sizeof(msg_status) == sizeof(int) && sizeof(msg_otype) == sizeof(int) &&
                   sizeof(msg_tif) == sizeof(int),
               "enums are stored as int");

static int read_field(const cJSON *j, const fdesc *f, char *base)
{
    const cJSON *o = f->sub ? field(j, f->sub) : j;
    void *p = base + f->off;
    int rc, v;
    switch (f->type) {
    case F_ID:
        rc = get_str(o, f->key, p, f->size);
        if (rc == 0 && f->required && *(char *)p == '\0')
            rc = ERR_PARSE; /* a required id or symbol is never "" */
        break;
    case F_FX:
        rc = get_fx(o, f->key, p);
        break;
    case F_DBL:
        rc = get_dbl(o, f->key, p);
        break;
    case F_I64:
        rc = get_i64(o, f->key, p);
        break;
    case F_BOOL:
        rc = get_bool(o, f->key, p);
        break;
    case F_SIDE:
        rc = get_side(o, f->key, p);
        break;
    default:
        rc = get_enum(o, f->key, f->names, 0, &v);
        if (rc == 0)
            memcpy(p, &v, sizeof v);
        break;
    }
    return f->required ? req(rc) : opt(rc);
}

static int read_fields(const cJSON *j, const fdesc *f, size_t n, void *dst)
{
    for (size_t i = 0; i < n; i++)
        TRY(read_field(j, &f[i], dst));
    return 0;
}

static const char *const status_names[] = {"",
                                           "New",
                                           "PartiallyFilled",
                                           "Filled",
                                           "Cancelled",
                                           "Rejected",
                                           "PartiallyFilledCanceled",
                                           "Untriggered",
                                           "Triggered",
                                           "Deactivated",
                                           NULL};
static const char *const otype_names[] = {"", "Limit", "Market", NULL};
static const char *const tif_names[] = {"", "GTC", "IOC", "FOK", "PostOnly", NULL};

static const fdesc order_fields[] = {
    FLD(msg_order, "orderId", F_ID, 1, order_id),
    FLD(msg_order, "orderLinkId", F_ID, 0, link_id),
    FLD(msg_order, "symbol", F_ID, 1, symbol),
    FENUM(msg_order, "orderStatus", 1, status, status_names),
    FLD(msg_order, "side", F_SIDE, 0, side),
    FENUM(msg_order, "orderType", 0, type, otype_names),
    FENUM(msg_order, "timeInForce", 0, tif, tif_names),
    FLD(msg_order, "price", F_FX, 0, px),
    FLD(msg_order, "qty", F_FX, 0, qty),
    FLD(msg_order, "leavesQty", F_FX, 0, leaves_qty),
    FLD(msg_order, "cumExecQty", F_FX, 0, cum_exec_qty),
    FLD(msg_order, "avgPrice", F_DBL, 0, avg_px),
    FLD(msg_order, "cumExecValue", F_DBL, 0, cum_exec_value),
    FLD(msg_order, "cumExecFee", F_DBL, 0, cum_exec_fee),
    FLD(msg_order, "cancelType", F_ID, 0, cancel_type),
    FLD(msg_order, "rejectReason", F_ID, 0, reject_reason),
    FLD(msg_order, "reduceOnly", F_BOOL, 0, reduce_only),
    FLD(msg_order, "createdTime", F_I64, 0, created_ms),
    FLD(msg_order, "updatedTime", F_I64, 0, updated_ms),
};

static const fdesc exec_fields[] = {
    FLD(msg_exec, "execId", F_ID, 1, exec_id),
    FLD(msg_exec, "orderId", F_ID, 1, order_id),
    FLD(msg_exec, "orderLinkId", F_ID, 0, link_id),
    FLD(msg_exec, "symbol", F_ID, 1, symbol),
    FLD(msg_exec, "execPrice", F_FX, 1, exec_px),
    FLD(msg_exec, "execQty", F_FX, 1, exec_qty),
    FLD(msg_exec, "side", F_SIDE, 0, side),
    FLD(msg_exec, "orderPrice", F_FX, 0, order_px),
    FLD(msg_exec, "orderQty", F_FX, 0, order_qty),
    FLD(msg_exec, "leavesQty", F_FX, 0, leaves_qty),
    FLD(msg_exec, "execFee", F_DBL, 0, exec_fee),
    FLD(msg_exec, "execValue", F_DBL, 0, exec_value),
    FLD(msg_exec, "execType", F_ID, 0, exec_type),
    FLD(msg_exec, "execTime", F_I64, 0, exec_ms),
    FLD(msg_exec, "isMaker", F_BOOL, 0, is_maker),
};

static const fdesc position_fields[] = {
    FLD(msg_position, "symbol", F_ID, 1, symbol),
    FLD(msg_position, "size", F_FX, 1, size),
    FLD(msg_position, "side", F_SIDE, 0, side),
    FLD(msg_position, "avgPrice", F_DBL, 0, entry_px), /* entryPrice below wins */
    FLD(msg_position, "markPrice", F_DBL, 0, mark_px),
    FLD(msg_position, "positionValue", F_DBL, 0, position_value),
    FLD(msg_position, "unrealisedPnl", F_DBL, 0, unrealised_pnl),
    FLD(msg_position, "cumRealisedPnl", F_DBL, 0, cum_realised_pnl),
    FLD(msg_position, "updatedTime", F_I64, 0, updated_ms),
};

static const fdesc wallet_fields[] = {
    FLD(msg_wallet, "accountType", F_ID, 1, account_type),
    FLD(msg_wallet, "totalEquity", F_DBL, 0, total_equity),
    FLD(msg_wallet, "totalWalletBalance", F_DBL, 0, total_wallet_balance),
    FLD(msg_wallet, "totalAvailableBalance", F_DBL, 0, total_available_balance),
};

static const fdesc coin_fields[] = {
    FLD(msg_coin, "coin", F_ID, 1, coin),
    FLD(msg_coin, "walletBalance", F_DBL, 0, wallet_balance),
    FLD(msg_coin, "equity", F_DBL, 0, equity),
    FLD(msg_coin, "unrealisedPnl", F_DBL, 0, unrealised_pnl),
    FLD(msg_coin, "cumRealisedPnl", F_DBL, 0, cum_realised_pnl),
};

static const fdesc ids_fields[] = {
    FLD(msg_ids, "orderId", F_ID, 0, order_id),
    FLD(msg_ids, "orderLinkId", F_ID, 0, link_id),
};

static const fdesc instrument_fields[] = {
    FLD(msg_instrument, "symbol", F_ID, 1, symbol),
    FLD(msg_instrument, "status", F_ID, 0, status),
    FSUB(msg_instrument, "priceFilter", "tickSize", 1, tick),
    FSUB(msg_instrument, "priceFilter", "minPrice", 0, min_px),
    FSUB(msg_instrument, "priceFilter", "maxPrice", 0, max_px),
    FSUB(msg_instrument, "lotSizeFilter", "qtyStep", 1, qty_step),
    FSUB(msg_instrument, "lotSizeFilter", "minOrderQty", 1, min_qty),
    FSUB(msg_instrument, "lotSizeFilter", "maxOrderQty", 0, max_qty),
    FSUB(msg_instrument, "lotSizeFilter", "minNotionalValue", 0, min_notional),
};

static const fdesc trade_fields[] = {
    FLD(msg_trade, "T", F_I64, 1, t_ms),    FLD(msg_trade, "s", F_ID, 1, symbol),
    FLD(msg_trade, "S", F_SIDE, 1, side),   FLD(msg_trade, "v", F_FX, 1, qty),
    FLD(msg_trade, "p", F_FX, 1, px),       FLD(msg_trade, "i", F_ID, 0, id),
    FLD(msg_trade, "BT", F_BOOL, 0, block),
};

static int order_item(const cJSON *j, void *dst)
{
    return read_fields(j, order_fields, NFIELDS(order_fields), dst);
}

static int exec_item(const cJSON *j, void *dst)
{
    return read_fields(j, exec_fields, NFIELDS(exec_fields), dst);
}

static int position_item(const cJSON *j, void *dst)
{
    msg_position *p = dst;
    int64_t idx;
    TRY(read_fields(j, position_fields, NFIELDS(position_fields), dst));
    if (p->size < 0)
        return ERR_PARSE;
    if (field(j, "entryPrice"))
        TRY(get_dbl(j, "entryPrice", &p->entry_px));
    TRY(opt(get_i64(j, "positionIdx", &idx)));
    if (idx < 0 || idx > 2)
        return ERR_RANGE;
    p->position_idx = (int)idx;
    return 0;
}

static int coin_item(const cJSON *j, void *dst)
{
    return read_fields(j, coin_fields, NFIELDS(coin_fields), dst);
}

static int items(const cJSON *arr, void *v, size_t size, item_fn fn);

static int wallet_item(const cJSON *j, void *dst)
{
    msg_wallet *w = dst;
    const cJSON *arr;
    TRY(read_fields(j, wallet_fields, NFIELDS(wallet_fields), dst));
    TRY(opt(get_list(j, "coin", MSG_MAX_COINS, &arr, &w->ncoins)));
    return items(arr, w->coins, sizeof w->coins[0], coin_item);
}

static int ids_item(const cJSON *j, void *dst)
{
    return read_fields(j, ids_fields, NFIELDS(ids_fields), dst);
}

static int instrument_item(const cJSON *j, void *dst)
{
    msg_instrument *in = dst;
    TRY(read_fields(j, instrument_fields, NFIELDS(instrument_fields), dst));
    in->trading = strcmp(in->status, "Trading") == 0;
    if (in->tick <= 0 || in->qty_step <= 0 || in->min_qty < 0)
        return ERR_PARSE;
    return 0;
}

static int trade_item(const cJSON *j, void *dst)
{
    msg_trade *t = dst;
    TRY(read_fields(j, trade_fields, NFIELDS(trade_fields), dst));
    if (t->side == MSG_SIDE_NONE || t->px <= 0 || t->qty < 0)
        return ERR_PARSE;
    return 0;
}

/* ================================================================== WebSocket (cJSON) */

/* A whole-list walker: each object item of arr through fn into v[i] (stride size). */

static int items(const cJSON *arr, void *v, size_t size, item_fn fn)
{
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        void *dst = (char *)v + i++ * size;
        memset(dst, 0, size);
        TRY(fn(it, dst));
    }
    return 0;
}

/* {"topic":<kind>,"creationTime":ms,"data":[items]} into a list (n, v of size, cap). */
static int ws_private(const char *buf, size_t len, msg_kind kind, int64_t *ts, size_t *n, void *v,
                      size_t size, size_t cap, item_fn fn)
{
    if (!buf || !ts || !n || !v)
        return ERR_INVAL;
    *n = 0;
    *ts = 0;
    cJSON *j = parse_obj(buf, len);
    if (!j)
        return ERR_PARSE;
    const cJSON *t = field(j, "topic"), *arr;
    int rc = cJSON_IsString(t) && topic_kind(t->valuestring, strlen(t->valuestring)) == kind
                 ? 0
                 : ERR_PARSE;
    if (rc == 0)
        rc = opt(get_i64(j, "creationTime", ts));
    if (rc == 0)
        rc = req(get_list(j, "data", cap, &arr, n));
    if (rc == 0)
        rc = items(arr, v, size, fn);
    cJSON_Delete(j);
    return rc;
}

int msg_ws_orders(const char *buf, size_t len, msg_order_list *out)
{
    if (!out)
        return ERR_INVAL;
    out->next_cursor[0] = '\0';
    return ws_private(buf, len, MSG_ORDER, &out->ts_ms, &out->n, out->v, sizeof out->v[0],
                      MSG_MAX_ITEMS, order_item);
}

int msg_ws_executions(const char *buf, size_t len, msg_exec_list *out)
{
    if (!out)
        return ERR_INVAL;
    return ws_private(buf, len, MSG_EXECUTION, &out->ts_ms, &out->n, out->v, sizeof out->v[0],
                      MSG_MAX_ITEMS, exec_item);
}

int msg_ws_positions(const char *buf, size_t len, msg_position_list *out)
{
    if (!out)
        return ERR_INVAL;
    out->next_cursor[0] = '\0';
    return ws_private(buf, len, MSG_POSITION, &out->ts_ms, &out->n, out->v, sizeof out->v[0],
                      MSG_MAX_ITEMS, position_item);
}

int msg_ws_wallets(const char *buf, size_t len, msg_wallet_list *out)
{
    if (!out)
        return ERR_INVAL;
    return ws_private(buf, len, MSG_WALLET, &out->ts_ms, &out->n, out->v, sizeof out->v[0],
                      MSG_MAX_WALLETS, wallet_item);
}

static int trades_body(const cJSON *j, msg_trades *out)
{
    const cJSON *t = field(j, "topic"), *arr;
    if (!cJSON_IsString(t) || strncmp(t->valuestring, "publicTrade.", 12) != 0)
        return ERR_PARSE;
    const char *sym = t->valuestring + 12;
    size_t sn = strlen(sym);
    if (sn == 0)
        return ERR_PARSE;
    if (sn >= sizeof out->symbol)
        return ERR_RANGE;
    memcpy(out->symbol, sym, sn + 1);
    TRY(opt(get_i64(j, "ts", &out->ts_ms)));
    TRY(req(get_list(j, "data", MSG_MAX_TRADES, &arr, &out->n)));
    return items(arr, out->v, sizeof out->v[0], trade_item);
}

int msg_trades_parse(const char *buf, size_t len, msg_trades *out)
{
    if (!buf || !out)
        return ERR_INVAL;
    out->n = 0;
    out->symbol[0] = '\0';
    out->ts_ms = 0;
    cJSON *j = parse_obj(buf, len);
    if (!j)
        return ERR_PARSE;
    int rc = trades_body(j, out);
    cJSON_Delete(j);
    return rc;
}

static int op_body(const cJSON *j, msg_op_reply *out)
{
    /* the public pong answers "op":"ping", the private one "op":"pong" */
    static const char *const ops[] = {"", "ping", "subscribe", "unsubscribe", "auth", "pong", NULL};
    static const msg_op map[] = {MSG_OP_OTHER,       MSG_OP_PONG, MSG_OP_SUBSCRIBE,
                                 MSG_OP_UNSUBSCRIBE, MSG_OP_AUTH, MSG_OP_PONG};
    int v;
    TRY(req(get_enum(j, "op", ops, 0, &v)));
    out->op = map[v];
    int rc = get_bool(j, "success", &out->success);
    if (rc == ERR_NOENT && out->op == MSG_OP_PONG)
        out->success = 1;
    else
        TRY(req(rc));
    TRY(opt(get_text(j, "ret_msg", out->ret_msg, sizeof out->ret_msg, &out->ret_msg_truncated)));
    TRY(opt(get_str(j, "req_id", out->req_id, sizeof out->req_id)));
    TRY(opt(get_str(j, "conn_id", out->conn_id, sizeof out->conn_id)));
    const cJSON *args = field(j, "args");
    if (out->op == MSG_OP_PONG && cJSON_IsArray(args) && cJSON_GetArraySize(args) > 0)
        TRY(val_i64(cJSON_GetArrayItem(args, 0), &out->pong_ms));
    return 0;
}

int msg_op_parse(const char *buf, size_t len, msg_op_reply *out)
{
    if (!buf || !out)
        return ERR_INVAL;
    memset(out, 0, sizeof *out);
    cJSON *j = parse_obj(buf, len);
    if (!j)
        return ERR_PARSE;
    int rc = op_body(j, out);
    cJSON_Delete(j);
    return rc;
}

/* ================================================================== REST */

static int envelope(const cJSON *j, msg_envelope *env)
{
    memset(env, 0, sizeof *env);
    TRY(req(get_i64(j, "retCode", &env->ret_code)));
    TRY(opt(get_text(j, "retMsg", env->ret_msg, sizeof env->ret_msg, &env->ret_msg_truncated)));
    TRY(opt(get_i64(j, "time", &env->time_ms)));
    return 0;
}

int msg_rest_envelope(const char *buf, size_t len, msg_envelope *env)
{
    if (!buf || !env)
        return ERR_INVAL;
    cJSON *j = parse_obj(buf, len);
    if (!j)
        return ERR_PARSE;
    int rc = envelope(j, env);
    cJSON_Delete(j);
    return rc;
}

/* The result body of one endpoint: r is "result" (an object), j the whole reply. */
typedef int (*result_fn)(const cJSON *j, const cJSON *r, void *out);

static int rest(const char *buf, size_t len, msg_envelope *env, void *out, result_fn fn)
{
    if (!buf || !env || !out)
        return ERR_INVAL;
    cJSON *j = parse_obj(buf, len);
    if (!j)
        return ERR_PARSE;
    int rc = envelope(j, env);
    if (rc == 0 && env->ret_code == 0) {
        const cJSON *r = field(j, "result");
        rc = cJSON_IsObject(r) ? fn(j, r, out) : ERR_PARSE;
    }
    cJSON_Delete(j);
    return rc;
}

static int time_fn(const cJSON *j, const cJSON *r, void *out)
{
    (void)j;
    msg_server_time *t = out;
    TRY(req(get_i64(r, "timeSecond", &t->sec)));
    TRY(opt(get_i64(r, "timeNano", &t->nano)));
    return 0;
}

int msg_rest_time(const char *buf, size_t len, msg_envelope *env, msg_server_time *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    return rest(buf, len, env, out, time_fn);
}

/* result.list (cap items through fn) and optionally nextPageCursor. */
static int list_result(const cJSON *r, size_t *n, void *v, size_t size, size_t cap, item_fn fn,
                       char *cursor)
{
    const cJSON *arr;
    TRY(req(get_list(r, "list", cap, &arr, n)));
    TRY(items(arr, v, size, fn));
    if (cursor)
        TRY(opt(get_str(r, "nextPageCursor", cursor, MSG_CURSOR_MAX + 1)));
    return 0;
}

static int order_ids_fn(const cJSON *j, const cJSON *r, void *out)
{
    (void)j;
    msg_ids *d = out;
    TRY(req(get_str(r, "orderId", d->order_id, sizeof d->order_id)));
    if (!d->order_id[0])
        return ERR_PARSE;
    TRY(opt(get_str(r, "orderLinkId", d->link_id, sizeof d->link_id)));
    return 0;
}

int msg_rest_order_ids(const char *buf, size_t len, msg_envelope *env, msg_ids *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    return rest(buf, len, env, out, order_ids_fn);
}

static int batch_fn(const cJSON *j, const cJSON *r, void *out)
{
    msg_batch *b = out;
    const cJSON *arr, *ext = field(j, "retExtInfo"), *earr, *it;
    size_t en;
    TRY(req(get_list(r, "list", MSG_MAX_BATCH, &arr, &b->n)));
    if (!cJSON_IsObject(ext))
        return ERR_PARSE;
    TRY(req(get_list(ext, "list", MSG_MAX_BATCH, &earr, &en)));
    if (en != b->n)
        return ERR_PARSE;
    size_t i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        msg_batch_item *bi = &b->v[i++];
        memset(bi, 0, sizeof *bi);
        TRY(ids_item(it, &bi->ids));
    }
    i = 0;
    cJSON_ArrayForEach(it, earr)
    {
        msg_batch_item *bi = &b->v[i++];
        TRY(req(get_i64(it, "code", &bi->code)));
        TRY(opt(get_text(it, "msg", bi->msg, sizeof bi->msg, &bi->msg_truncated)));
    }
    return 0;
}

int msg_rest_batch(const char *buf, size_t len, msg_envelope *env, msg_batch *out)
{
    if (out)
        out->n = 0;
    return rest(buf, len, env, out, batch_fn);
}

/* A reply whose result is a list: where its items go. */
typedef struct list_spec {
    size_t *n;
    void *v;
    size_t size, cap;
    item_fn fn;
    char *cursor; /* nextPageCursor, or NULL */
    int64_t *ts;  /* gets the envelope's time, or NULL */
} list_spec;

static int list_fn(const cJSON *j, const cJSON *r, void *out)
{
    (void)j;
    const list_spec *l = out;
    return list_result(r, l->n, l->v, l->size, l->cap, l->fn, l->cursor);
}

static int rest_list(const char *buf, size_t len, msg_envelope *env, list_spec l)
{
    *l.n = 0;
    if (l.cursor)
        l.cursor[0] = '\0';
    if (l.ts)
        *l.ts = 0;
    int rc = rest(buf, len, env, &l, list_fn);
    if (rc == 0 && l.ts)
        *l.ts = env->time_ms;
    return rc;
}

int msg_rest_instruments(const char *buf, size_t len, msg_envelope *env, msg_instrument_list *out)
{
    if (!out)
        return ERR_INVAL;
    return rest_list(buf, len, env,
                     (list_spec){&out->n, out->v, sizeof out->v[0], MSG_MAX_ITEMS, instrument_item,
                                 out->next_cursor, NULL});
}

int msg_rest_cancel_all(const char *buf, size_t len, msg_envelope *env, msg_id_list *out)
{
    if (!out)
        return ERR_INVAL;
    return rest_list(
        buf, len, env,
        (list_spec){&out->n, out->v, sizeof out->v[0], MSG_MAX_IDS, ids_item, NULL, NULL});
}

int msg_rest_orders(const char *buf, size_t len, msg_envelope *env, msg_order_list *out)
{
    if (!out)
        return ERR_INVAL;
    return rest_list(buf, len, env,
                     (list_spec){&out->n, out->v, sizeof out->v[0], MSG_MAX_ITEMS, order_item,
                                 out->next_cursor, &out->ts_ms});
}

int msg_rest_positions(const char *buf, size_t len, msg_envelope *env, msg_position_list *out)
{
    if (!out)
        return ERR_INVAL;
    return rest_list(buf, len, env,
                     (list_spec){&out->n, out->v, sizeof out->v[0], MSG_MAX_ITEMS, position_item,
                                 out->next_cursor, &out->ts_ms});
}

int msg_rest_wallet(const char *buf, size_t len, msg_envelope *env, msg_wallet_list *out)
{
    if (!out)
        return ERR_INVAL;
    return rest_list(buf, len, env,
                     (list_spec){&out->n, out->v, sizeof out->v[0], MSG_MAX_WALLETS, wallet_item,
                                 NULL, &out->ts_ms});
}

/* ================================================================== headers */

int msg_rate_header(const char *line, size_t len, msg_ratelimit *rl)
{
    if (!line || !rl)
        return ERR_INVAL;
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return ERR_NOENT;
    size_t nn = (size_t)(colon - line);
    static const char *const names[] = {"X-Bapi-Limit", "X-Bapi-Limit-Status",
                                        "X-Bapi-Limit-Reset-Timestamp"};
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (nn == strlen(names[i]) && strncasecmp(line, names[i], nn) == 0)
            which = i;
    if (which < 0)
        return ERR_NOENT;
    const char *v = colon + 1, *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (v == e)
        return ERR_PARSE;
    int64_t x = 0;
    for (const char *q = v; q < e; q++) {
        if (*q < '0' || *q > '9')
            return ERR_PARSE;
        if (x > (INT64_MAX - (*q - '0')) / 10)
            return ERR_RANGE;
        x = x * 10 + (*q - '0');
    }
    switch (which) {
    case 0:
        rl->limit = x;
        rl->has_limit = 1;
        break;
    case 1:
        rl->status = x;
        rl->has_status = 1;
        break;
    default:
        rl->reset_ms = x;
        rl->has_reset = 1;
        break;
    }
    return 0;
}

int msg_order_open(const msg_order *m)
{
    return m->status == MSG_ST_NEW || m->status == MSG_ST_PARTIALLY_FILLED;
}

int64_t msg_server_time_ms(const msg_server_time *t)
{
    return t->nano > 0 ? t->nano / 1000000 : t->sec * 1000;
}

const char *msg_kind_name(msg_kind k)
{
    static const char *const names[] = {"unknown",   "orderbook", "publicTrade", "order",
                                        "execution", "position",  "wallet",      "op"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}
