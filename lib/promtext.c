/*
 * promtext: writer and parser of the Prometheus text exposition format 0.0.4.
 * See promtext.h for the contract.
 *
 * The parser works line by line on a buffer that need not be NUL-terminated. Every index is
 * checked against the end of the current line, and the name and label set are copied into
 * fixed scratch buffers on the stack (PROMTEXT_MAX_FIELD bytes each), so a hostile input can
 * cost time proportional to its length and nothing more.
 */
#include "promtext.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

#define PROMTEXT_MAX_FIELD 1024 /* longest name or label set, in bytes */

/* ---- writing ---- */

/* Undoes a partial append so that each writer call either appends whole lines or nothing. */
static int rollback(sbuf *b, size_t len, int rc)
{
    if (b->len > len) {
        b->len = len;
        b->data[len] = '\0';
    }
    return rc;
}

static int escape_into(sbuf *b, const char *s, int quote)
{
    const char *run = s;
    int rc;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '\n')
            rep = "\\n";
        else if (quote && *p == '"')
            rep = "\\\"";
        if (!rep)
            continue;
        if ((rc = sbuf_add(b, run, (size_t)(p - run))) || (rc = sbuf_add(b, rep, 2)))
            return rc;
        run = p + 1;
    }
    return sbuf_adds(b, run);
}

int promtext_escape_label(sbuf *b, const char *value)
{
    size_t len0 = b->len;
    int rc = escape_into(b, value, 1);
    return rc ? rollback(b, len0, rc) : 0;
}

int promtext_header(sbuf *b, const char *name, const char *type, const char *help)
{
    size_t len0 = b->len;
    int rc = 0;
    if (help) {
        if ((rc = sbuf_printf(b, "# HELP %s ", name)) || (rc = escape_into(b, help, 0)) ||
            (rc = sbuf_add(b, "\n", 1)))
            return rollback(b, len0, rc);
    }
    if (type && (rc = sbuf_printf(b, "# TYPE %s %s\n", name, type)))
        return rollback(b, len0, rc);
    return 0;
}

/* Formats value the way Prometheus clients do: integral values without a fraction, the
 * special values spelled NaN/+Inf/-Inf, anything else in the shortest %g form that reads
 * back to the same double (at most 17 significant digits). */
static void format_value(double v, char *out, size_t n)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: exact in a long long */
        snprintf(out, n, "%lld", (long long)v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return;
    }
}

int promtext_sample(sbuf *b, const char *name, const char *const *labels, double value)
{
    size_t len0 = b->len;
    char num[40];
    int rc;

    if ((rc = sbuf_adds(b, name)))
        return rollback(b, len0, rc);
    if (labels && labels[0]) {
        if ((rc = sbuf_add(b, "{", 1)))
            return rollback(b, len0, rc);
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            if ((i && (rc = sbuf_add(b, ",", 1))) || (rc = sbuf_adds(b, labels[i])) ||
                (rc = sbuf_add(b, "=\"", 2)) || (rc = escape_into(b, labels[i + 1], 1)) ||
                (rc = sbuf_add(b, "\"", 1)))
                return rollback(b, len0, rc);
        }
        if ((rc = sbuf_add(b, "}", 1)))
            return rollback(b, len0, rc);
    }
    format_value(value, num, sizeof num);
    if ((rc = sbuf_printf(b, " %s\n", num)))
        return rollback(b, len0, rc);
    return 0;
}

/* ---- parsing ---- */

/* A cursor over one line: [p, end). */
typedef struct cursor {
    const char *p;
    const char *end;
} cursor;

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_blanks(cursor *c)
{
    while (c->p < c->end && is_blank(*c->p))
        c->p++;
}

/* Bounded output for the scratch fields: appends fail once the field would exceed its cap. */
typedef struct field {
    char buf[PROMTEXT_MAX_FIELD + 1];
    size_t len;
} field;

static int field_add(field *f, const char *s, size_t n)
{
    if (n > PROMTEXT_MAX_FIELD - f->len)
        return ERR_FULL;
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    f->buf[f->len] = '\0';
    return 0;
}

/* Reads a name ([a-zA-Z_:][a-zA-Z0-9_:]*, colons allowed only if allow_colon) into f. */
static int read_name(cursor *c, field *f, int allow_colon)
{
    const char *s = c->p;
    if (c->p >= c->end || !is_name_start(*c->p) || (!allow_colon && *c->p == ':'))
        return ERR_PARSE;
    while (c->p < c->end && is_name_char(*c->p) && (allow_colon || *c->p != ':'))
        c->p++;
    return field_add(f, s, (size_t)(c->p - s));
}

/* Reads {k="v",...} (the opening brace already consumed) into f in canonical form. The
 * escapes \\, \" and \n are kept as written; any other escape, a raw NUL or an unterminated
 * value rejects the line. A trailing comma before } is accepted, as Prometheus does. */
static int read_labels(cursor *c, field *f)
{
    int first = 1;
    for (;;) {
        skip_blanks(c);
        if (c->p >= c->end)
            return ERR_PARSE;
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        if (!first && field_add(f, ",", 1))
            return ERR_PARSE;
        if (read_name(c, f, 0))
            return ERR_PARSE;
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '=')
            return ERR_PARSE;
        c->p++;
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '"')
            return ERR_PARSE;
        c->p++;
        const char *s = c->p;
        for (;;) {
            if (c->p >= c->end || *c->p == '\0')
                return ERR_PARSE;
            if (*c->p == '"')
                break;
            if (*c->p == '\\') {
                if (c->end - c->p < 2)
                    return ERR_PARSE;
                char e = c->p[1];
                if (e != '\\' && e != '"' && e != 'n')
                    return ERR_PARSE;
                c->p += 2;
                continue;
            }
            c->p++;
        }
        if (field_add(f, "=\"", 2) || field_add(f, s, (size_t)(c->p - s)) || field_add(f, "\"", 1))
            return ERR_PARSE;
        c->p++; /* closing quote */
        skip_blanks(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
        } else if (c->p < c->end && *c->p != '}') {
            return ERR_PARSE;
        }
        first = 0;
    }
}

/* Copies the next blank-delimited token into tok (NUL-terminated); ERR_PARSE if empty or too
 * long. */
static int read_token(cursor *c, char *tok, size_t n)
{
    const char *s = c->p;
    while (c->p < c->end && !is_blank(*c->p))
        c->p++;
    size_t len = (size_t)(c->p - s);
    if (len == 0 || len >= n || memchr(s, '\0', len))
        return ERR_PARSE;
    memcpy(tok, s, len);
    tok[len] = '\0';
    return 0;
}

static int parse_value(const char *tok, double *out)
{
    /* The spellings Prometheus writes; strtod would accept them too, but case-sensitively
     * only in some libcs, so they are matched first. */
    if (!strcmp(tok, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(tok, "+Inf") || !strcmp(tok, "Inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(tok, "-Inf")) {
        *out = -INFINITY;
        return 0;
    }
    char *endp;
    errno = 0;
    double v = strtod(tok, &endp);
    if (endp == tok || *endp != '\0')
        return ERR_PARSE;
    *out = v; /* ERANGE keeps strtod's +-HUGE_VAL or the denormal: still a number */
    return 0;
}

static int parse_timestamp(const char *tok, int64_t *out)
{
    const char *p = tok;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!*p)
        return ERR_PARSE;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_PARSE;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_C(9223372036854775808) - d) / 10)
            return ERR_PARSE;
        v = v * 10 + d;
    }
    if (!neg && v > INT64_MAX)
        return ERR_PARSE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Parses one sample line. Returns 0 and fills s (pointing into name/labels), ERR_PARSE or
 * ERR_FULL (a field past PROMTEXT_MAX_FIELD) if it is not a valid sample: skipped. */
static int parse_sample(cursor *c, field *name, field *labels, promtext_parsed *s)
{
    char tok[64];

    name->len = labels->len = 0;
    name->buf[0] = labels->buf[0] = '\0';
    if (read_name(c, name, 1))
        return ERR_PARSE;
    skip_blanks(c);
    if (c->p < c->end && *c->p == '{') {
        c->p++;
        if (read_labels(c, labels))
            return ERR_PARSE;
        skip_blanks(c);
    }
    if (read_token(c, tok, sizeof tok) || parse_value(tok, &s->value))
        return ERR_PARSE;
    skip_blanks(c);
    s->has_timestamp = 0;
    s->timestamp_ms = 0;
    if (c->p < c->end) {
        if (read_token(c, tok, sizeof tok) || parse_timestamp(tok, &s->timestamp_ms))
            return ERR_PARSE;
        s->has_timestamp = 1;
        skip_blanks(c);
        if (c->p < c->end)
            return ERR_PARSE;
    }
    s->name = name->buf;
    s->labels = labels->buf;
    return 0;
}

int promtext_parse(const char *buf, size_t len, promtext_sample_fn cb, void *ud,
                   promtext_parse_stats *stats)
{
    field name, labels;
    promtext_parse_stats st = {0, 0};
    const char *p = buf, *end = buf + len;
    int rc = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        cursor c = {p, eol};
        p = nl ? nl + 1 : end;

        if (c.end > c.p && c.end[-1] == '\r')
            c.end--;
        skip_blanks(&c);
        if (c.p == c.end || *c.p == '#')
            continue;

        promtext_parsed s;
        if (parse_sample(&c, &name, &labels, &s)) {
            st.skipped++;
            continue;
        }
        st.samples++;
        if (cb && cb(ud, &s)) {
            rc = 1;
            break;
        }
    }
    if (stats)
        *stats = st;
    return rc;
}
