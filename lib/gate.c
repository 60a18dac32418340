/*
 * gate: parser, printer and evaluator of gate expressions. See gate.h for the language.
 *
 * The parser is recursive descent over a cursor (text, len, pos); each rule either consumes its
 * tokens or fails with the column of the first byte it could not accept. It never reads past
 * len and allocates nothing; the output is a fixed-size struct. gate_reduce is gate_acc over an
 * array with an exact cap of n: it allocates one sorted copy for percentiles, nothing otherwise.
 */
#include "gate.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

static const char *const func_names[] = {
    [GATE_RATE_PER_HOUR] = "rate_per_hour",
    [GATE_COUNT] = "count",
    [GATE_MAX] = "max",
    [GATE_MIN] = "min",
    [GATE_AVG] = "avg",
    [GATE_LAST] = "last",
    [GATE_FIRST] = "first",
    [GATE_SUM] = "sum",
    [GATE_DELTA] = "delta",
    [GATE_P50] = "p50",
    [GATE_P90] = "p90",
    [GATE_P95] = "p95",
    [GATE_P99] = "p99",
};
#define NFUNCS (sizeof func_names / sizeof func_names[0])

static const char *const op_texts[] = {
    [GATE_LT] = "<",  [GATE_LE] = "<=", [GATE_GT] = ">",
    [GATE_GE] = ">=", [GATE_EQ] = "==", [GATE_NE] = "!=",
};
#define NOPS (sizeof op_texts / sizeof op_texts[0])

/* Units of the threshold; matched exactly (case matters: m is minutes, M is not a unit). */
static const struct {
    const char *text;
    double factor;
} units[] = {
    {"ms", 1e-3},
    {"s", 1},
    {"m", 60},
    {"h", 3600},
    {"d", 86400},
    {"B", 1},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"KiB", 1024.0},
    {"MiB", 1024.0 * 1024},
    {"GiB", 1024.0 * 1024 * 1024},
    {"TiB", 1024.0 * 1024 * 1024 * 1024},
    {"%", 1},
};
#define NUNITS (sizeof units / sizeof units[0])

const char *gate_func_name(gate_func f)
{
    return (unsigned)f < NFUNCS ? func_names[f] : "?";
}

const char *gate_op_text(gate_op op)
{
    return (unsigned)op < NOPS ? op_texts[op] : "?";
}

/* ---- parser ---- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
} parser;

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static int is_alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Current byte, or -1 at the end. */
static int peek(const parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && is_space((unsigned char)p->s[p->pos]))
        p->pos++;
}

__attribute__((format(printf, 3, 4))) static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        int k = snprintf(p->err, p->errlen, "column %zu: ", pos + 1);
        if (k >= 0 && (size_t)k < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return ERR_PARSE;
}

/* Describes the byte at pos for a message: "end of text", "'x'" or "byte 0x01". */
static const char *found(const parser *p, size_t pos, char *buf, size_t n)
{
    if (pos >= p->len) {
        snprintf(buf, n, "end of text");
    } else {
        unsigned char c = (unsigned char)p->s[pos];
        if (c >= 0x20 && c < 0x7f)
            snprintf(buf, n, "'%c'", c);
        else
            snprintf(buf, n, "byte 0x%02x", c);
    }
    return buf;
}

/* Expects the byte c after optional white space. */
static int expect(parser *p, char c, const char *what)
{
    skip_space(p);
    if (peek(p) != (unsigned char)c) {
        char f[32];
        return fail(p, p->pos, "expected %s, found %s", what, found(p, p->pos, f, sizeof f));
    }
    p->pos++;
    return 0;
}

/* func := one of func_names. */
static int parse_func(parser *p, gate_func *out)
{
    skip_space(p);
    size_t start = p->pos;
    while (p->pos < p->len &&
           (is_alpha_((unsigned char)p->s[p->pos]) || is_digit((unsigned char)p->s[p->pos])))
        p->pos++;
    size_t n = p->pos - start;
    if (n == 0) {
        char f[32];
        return fail(p, start, "expected a function name, found %s", found(p, start, f, sizeof f));
    }
    for (size_t i = 0; i < NFUNCS; i++) {
        if (strlen(func_names[i]) == n && memcmp(func_names[i], p->s + start, n) == 0) {
            *out = (gate_func)i;
            return 0;
        }
    }
    return fail(p, start,
                "unknown function '%.*s'; expected rate_per_hour, count, max, min, avg, last, "
                "first, sum, delta, p50, p90, p95 or p99",
                n > 40 ? 40 : (int)n, p->s + start);
}

/* name := [A-Za-z_:][A-Za-z0-9_:.]* */
static int parse_name(parser *p, char *out)
{
    skip_space(p);
    size_t start = p->pos;
    int c = peek(p);
    if (c < 0 || !(is_alpha_(c) || c == ':')) {
        char f[32];
        return fail(p, start, "expected a series name, found %s", found(p, start, f, sizeof f));
    }
    while ((c = peek(p)) >= 0 && (is_alpha_(c) || is_digit(c) || c == ':' || c == '.'))
        p->pos++;
    size_t n = p->pos - start;
    if (n >= GATE_MAX_NAME)
        return fail(p, start, "series name longer than %d characters", GATE_MAX_NAME - 1);
    memcpy(out, p->s + start, n);
    out[n] = '\0';
    return 0;
}

/* label := key '=' '"' value '"'; key := [A-Za-z_][A-Za-z0-9_]*; value escapes \" \\ \n. */
static int parse_label(parser *p, gate_expr *e)
{
    size_t start = p->pos;
    if (e->nlabels >= GATE_MAX_LABELS)
        return fail(p, start, "more than %d labels", GATE_MAX_LABELS);
    char *key = e->label_keys[e->nlabels];
    char *val = e->label_values[e->nlabels];
    size_t keycap = sizeof e->label_keys[0], valcap = sizeof e->label_values[0];

    int c;
    while ((c = peek(p)) >= 0 && (is_alpha_(c) || (p->pos > start && is_digit(c))))
        p->pos++;
    size_t n = p->pos - start;
    if (n >= keycap)
        return fail(p, start, "label name longer than %zu characters", keycap - 1);
    memcpy(key, p->s + start, n);
    key[n] = '\0';
    for (size_t i = 0; i < e->nlabels; i++)
        if (strcmp(e->label_keys[i], key) == 0)
            return fail(p, start, "duplicate label '%s'", key);

    if (expect(p, '=', "'='") || expect(p, '"', "'\"'"))
        return ERR_PARSE;
    size_t vstart = p->pos, k = 0;
    for (;;) {
        c = peek(p);
        if (c < 0)
            return fail(p, vstart - 1, "unterminated label value");
        if (c == '"')
            break;
        if (c == '\n' || c == '\0')
            return fail(p, p->pos, "%s in label value (write \\n)", c ? "newline" : "NUL byte");
        if (c == '\\') {
            int e2 = p->pos + 1 < p->len ? (unsigned char)p->s[p->pos + 1] : -1;
            if (e2 == '"' || e2 == '\\')
                c = e2;
            else if (e2 == 'n')
                c = '\n';
            else
                return fail(p, p->pos, "unknown escape in label value; expected \\\", \\\\ or \\n");
            p->pos++;
        }
        if (k + 1 >= valcap)
            return fail(p, vstart, "label value longer than %zu bytes", valcap - 1);
        val[k++] = (char)c;
        p->pos++;
    }
    val[k] = '\0';
    p->pos++; /* closing quote */
    e->nlabels++;
    return 0;
}

/* selector := name [ '{' [ label { ',' label } [','] ] '}' ] */
static int parse_selector(parser *p, gate_expr *e)
{
    if (parse_name(p, e->name))
        return ERR_PARSE;
    skip_space(p);
    if (peek(p) != '{')
        return 0;
    p->pos++;
    for (;;) {
        skip_space(p);
        int c = peek(p);
        if (c == '}') {
            p->pos++;
            return 0;
        }
        if (c < 0 || !is_alpha_(c)) {
            char f[32];
            return fail(p, p->pos, "expected a label name or '}', found %s",
                        found(p, p->pos, f, sizeof f));
        }
        if (parse_label(p, e))
            return ERR_PARSE;
        skip_space(p);
        c = peek(p);
        if (c == ',') {
            p->pos++;
        } else if (c != '}') {
            char f[32];
            return fail(p, p->pos, "expected ',' or '}', found %s", found(p, p->pos, f, sizeof f));
        }
    }
}

/* op := '<' | '<=' | '>' | '>=' | '==' | '!=' */
static int parse_op(parser *p, gate_op *out)
{
    skip_space(p);
    int c = peek(p);
    int c2 = p->pos + 1 < p->len ? (unsigned char)p->s[p->pos + 1] : -1;
    if (c == '<' || c == '>') {
        int eq = c2 == '=';
        *out = c == '<' ? (eq ? GATE_LE : GATE_LT) : (eq ? GATE_GE : GATE_GT);
        p->pos += 1 + (size_t)eq;
        return 0;
    }
    if ((c == '=' || c == '!') && c2 == '=') {
        *out = c == '=' ? GATE_EQ : GATE_NE;
        p->pos += 2;
        return 0;
    }
    return fail(p, p->pos, "expected '<', '<=', '>', '>=', '==' or '!='");
}

/* number := ['+'|'-'] digits ['.' digits*] | ['+'|'-'] '.' digits, then [e|E ['+'|'-'] digits].
 * Scanned here, converted by strtod on a bounded copy (so no hex, inf or nan gets through). */
static int parse_number(parser *p, double *out)
{
    skip_space(p);
    size_t start = p->pos, i = p->pos;
    if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
        i++;
    size_t digits = 0;
    while (i < p->len && is_digit((unsigned char)p->s[i]))
        i++, digits++;
    if (i < p->len && p->s[i] == '.') {
        i++;
        while (i < p->len && is_digit((unsigned char)p->s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return fail(p, start, "expected a number");
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (p->s[j] == '+' || p->s[j] == '-'))
            j++;
        if (j < p->len && is_digit((unsigned char)p->s[j])) {
            while (j < p->len && is_digit((unsigned char)p->s[j]))
                j++;
            i = j;
        }
        /* else: not an exponent; 'e' is left for the unit check to reject */
    }
    char buf[64];
    if (i - start >= sizeof buf)
        return fail(p, start, "number longer than %zu characters", sizeof buf - 1);
    memcpy(buf, p->s + start, i - start);
    buf[i - start] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(p, start, "number out of range");
    *out = v;
    p->pos = i;
    return 0;
}

/* unit := one of units, directly after the number or after white space. */
static int parse_unit(parser *p, double *v)
{
    skip_space(p);
    size_t start = p->pos;
    int c;
    if (peek(p) == '%') {
        p->pos++;
    } else {
        while ((c = peek(p)) >= 0 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            p->pos++;
    }
    size_t n = p->pos - start;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < NUNITS; i++) {
        if (strlen(units[i].text) == n && memcmp(units[i].text, p->s + start, n) == 0) {
            double r = *v * units[i].factor;
            if (!isfinite(r))
                return fail(p, start, "number out of range");
            *v = r;
            return 0;
        }
    }
    return fail(p, start,
                "unknown unit '%.*s'; expected ms, s, m, h, d, B, KB, MB, GB, TB, KiB, MiB, GiB, "
                "TiB or %%",
                n > 20 ? 20 : (int)n, p->s + start);
}

/* gate := func '(' selector ')' op number [unit] */
int gate_parse(const char *text, size_t len, gate_expr *out, char *err, size_t errlen)
{
    parser p = {.s = text ? text : "", .len = text ? len : 0, .err = err, .errlen = errlen};
    gate_expr e;
    memset(&e, 0, sizeof e);
    if (err && errlen)
        err[0] = '\0';
    if (parse_func(&p, &e.func) || expect(&p, '(', "'('") || parse_selector(&p, &e) ||
        expect(&p, ')', "')'") || parse_op(&p, &e.op) || parse_number(&p, &e.threshold) ||
        parse_unit(&p, &e.threshold))
        return ERR_PARSE;
    skip_space(&p);
    if (p.pos < p.len) {
        char f[32];
        return fail(&p, p.pos, "unexpected %s after the threshold", found(&p, p.pos, f, sizeof f));
    }
    *out = e;
    return 0;
}

/* ---- printer ---- */

/* A bounded appender: keeps the first n-1 bytes, always NUL-terminated when n > 0. */
typedef struct outbuf {
    char *buf;
    size_t n, len;
} outbuf;

static void put(outbuf *o, const char *s, size_t k)
{
    for (size_t i = 0; i < k; i++, o->len++)
        if (o->len + 1 < o->n)
            o->buf[o->len] = s[i];
    if (o->n)
        o->buf[o->len + 1 < o->n ? o->len : o->n - 1] = '\0';
}

static void puts_(outbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_labels(outbuf *o, const gate_expr *e)
{
    for (size_t i = 0; i < e->nlabels && i < GATE_MAX_LABELS; i++) {
        if (i)
            put(o, ",", 1);
        put(o, e->label_keys[i], strnlen(e->label_keys[i], sizeof e->label_keys[i]));
        put(o, "=\"", 2);
        const char *v = e->label_values[i];
        size_t vn = strnlen(v, sizeof e->label_values[i]);
        for (size_t j = 0; j < vn; j++) {
            if (v[j] == '\\')
                put(o, "\\\\", 2);
            else if (v[j] == '"')
                put(o, "\\\"", 2);
            else if (v[j] == '\n')
                put(o, "\\n", 2);
            else
                put(o, v + j, 1);
        }
        put(o, "\"", 1);
    }
}

char *gate_labels_text(const gate_expr *e, char *buf, size_t n)
{
    outbuf o = {buf, n, 0};
    if (n)
        buf[0] = '\0';
    put_labels(&o, e);
    return buf;
}

/* Integers as integers (5GB is 5000000000); others in the shortest %g form that reads back as
 * exactly v. */
static void format_number(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e16) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

char *gate_format(const gate_expr *e, char *buf, size_t n)
{
    outbuf o = {buf, n, 0};
    if (n)
        buf[0] = '\0';
    puts_(&o, gate_func_name(e->func));
    put(&o, "(", 1);
    put(&o, e->name, strnlen(e->name, sizeof e->name));
    if (e->nlabels) {
        put(&o, "{", 1);
        put_labels(&o, e);
        put(&o, "}", 1);
    }
    put(&o, ") ", 2);
    puts_(&o, gate_op_text(e->op));
    put(&o, " ", 1);
    char num[40];
    format_number(e->threshold, num, sizeof num);
    puts_(&o, num);
    return buf;
}

int gate_equal(const gate_expr *a, const gate_expr *b)
{
    if (a->func != b->func || a->op != b->op || a->nlabels != b->nlabels ||
        a->threshold != b->threshold || strcmp(a->name, b->name) != 0)
        return 0;
    for (size_t i = 0; i < a->nlabels && i < GATE_MAX_LABELS; i++)
        if (strcmp(a->label_keys[i], b->label_keys[i]) != 0 ||
            strcmp(a->label_values[i], b->label_values[i]) != 0)
            return 0;
    return 1;
}

/* ---- evaluation ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ceil(pct * k / 100) in integers, without overflow and without rounding surprises; 1..k */
static size_t nearest_rank(size_t k, size_t pct)
{
    size_t rank = k / 100 * pct + (k % 100 * pct + 99) / 100;
    if (rank < 1)
        rank = 1;
    return rank > k ? k : rank;
}

/* The sketch: |v| in log buckets of ratio G = (1 + e) / (1 - e), e = GATE_ACC_REL_ERR; bucket i
 * holds G^(i-1) < |v| <= G^i and stands for 2 G^i / (G + 1), within e of every value in it.
 * Magnitudes under SK_TINY count as 0; above G^(SK_HI) they share the top bucket. */
#define SK_TINY 1e-9
#define SK_LO   (-2100) /* G^-2100 < 1e-9 at e = 0.005 */
#define SK_HI   4200    /* G^4200 > 1e18 */
#define SK_N    (SK_HI - SK_LO + 1)

static double sk_gamma(void)
{
    return (1 + GATE_ACC_REL_ERR) / (1 - GATE_ACC_REL_ERR);
}

static int sk_index(double mag)
{
    double i = ceil(log(mag) / log(sk_gamma()));
    if (i < SK_LO)
        i = SK_LO;
    if (i > SK_HI)
        i = SK_HI;
    return (int)i - SK_LO;
}

static double sk_value(int idx)
{
    double g = sk_gamma();
    return 2 * pow(g, idx + SK_LO) / (g + 1);
}

static void sk_add(gate_acc *a, double x)
{
    double mag = fabs(x);
    if (mag < SK_TINY)
        a->sk_zero++;
    else
        a->sk[(x < 0 ? SK_N : 0) + sk_index(mag)]++;
}

void gate_acc_init(gate_acc *a, int percentiles, size_t exact_cap)
{
    memset(a, 0, sizeof *a);
    a->mn = INFINITY;
    a->mx = -INFINITY;
    a->percentiles = percentiles != 0;
    a->exact_cap = exact_cap ? exact_cap : GATE_ACC_EXACT;
}

void gate_acc_free(gate_acc *a)
{
    free(a->vals);
    free(a->sk);
    a->vals = NULL;
    a->sk = NULL;
    a->nvals = a->capvals = 0;
}

int gate_acc_add(gate_acc *a, double t, double x)
{
    if (!isfinite(x))
        return 0;
    if (a->percentiles) {
        if (!a->sk && a->nvals == a->capvals && a->capvals < a->exact_cap) {
            size_t nc = a->capvals ? a->capvals * 2 : 1024;
            if (nc > a->exact_cap)
                nc = a->exact_cap;
            double *p = realloc(a->vals, nc * sizeof *p);
            if (!p)
                return ERR_NOMEM;
            a->vals = p;
            a->capvals = nc;
        }
        if (!a->sk && a->nvals < a->capvals) {
            a->vals[a->nvals++] = x;
        } else {
            if (!a->sk) { /* past the exact cap: every value so far into the sketch */
                a->sk = calloc(2 * SK_N, sizeof *a->sk);
                if (!a->sk)
                    return ERR_NOMEM;
                for (size_t i = 0; i < a->nvals; i++)
                    sk_add(a, a->vals[i]);
                free(a->vals);
                a->vals = NULL;
                a->nvals = a->capvals = 0;
            }
            sk_add(a, x);
        }
    }
    /* Neumaier summation: avg and sum stay exact enough over millions of samples */
    double s2 = a->sum + x;
    a->comp += fabs(a->sum) >= fabs(x) ? (a->sum - s2) + x : (x - s2) + a->sum;
    a->sum = s2;
    a->mn = x < a->mn ? x : a->mn;
    a->mx = x > a->mx ? x : a->mx;
    if (a->finite == 0)
        a->first = x;
    else
        a->increase += x >= a->last ? x - a->last : x; /* a decrease is a counter reset */
    a->last = x;
    a->finite++;
    if (isfinite(t)) {
        if (a->timed == 0)
            a->t_first = t;
        a->t_last = t;
        a->timed++;
    }
    return 0;
}

int gate_acc_approx(const gate_acc *a)
{
    return a->sk != NULL;
}

static int acc_percentile(gate_acc *a, size_t pct, double *value)
{
    if (!a->percentiles)
        return ERR_INVAL;
    if (!a->sk) {
        qsort(a->vals, a->nvals, sizeof *a->vals, cmp_double);
        *value = a->vals[nearest_rank(a->nvals, pct) - 1];
        return 0;
    }
    size_t rank = nearest_rank(a->finite, pct), seen = 0;
    double v = a->mx;
    int found = 0;
    for (int i = SK_N - 1; i >= 0 && !found; i--) /* negatives, most negative first */
        if ((seen += a->sk[SK_N + i]) >= rank)
            v = -sk_value(i), found = 1;
    if (!found && (seen += a->sk_zero) >= rank)
        v = 0, found = 1;
    for (int i = 0; i < SK_N && !found; i++)
        if ((seen += a->sk[i]) >= rank)
            v = sk_value(i), found = 1;
    *value = v < a->mn ? a->mn : v > a->mx ? a->mx : v;
    return 0;
}

int gate_acc_value(gate_acc *a, gate_func f, double *value)
{
    if (a->finite == 0)
        return ERR_NODATA;
    double sum = a->sum + a->comp;
    switch (f) {
    case GATE_COUNT:
        *value = a->increase;
        return 0;
    case GATE_RATE_PER_HOUR:
        if (a->finite < 2 || a->timed < 2 || !(a->t_last - a->t_first > 0))
            return ERR_NODATA;
        *value = a->increase / ((a->t_last - a->t_first) / 3600.0);
        return 0;
    case GATE_MAX:
        *value = a->mx;
        return 0;
    case GATE_MIN:
        *value = a->mn;
        return 0;
    case GATE_AVG:
        *value = sum / (double)a->finite;
        return 0;
    case GATE_SUM:
        *value = sum;
        return 0;
    case GATE_FIRST:
        *value = a->first;
        return 0;
    case GATE_LAST:
        *value = a->last;
        return 0;
    case GATE_DELTA:
        *value = a->last - a->first;
        return 0;
    case GATE_P50:
        return acc_percentile(a, 50, value);
    case GATE_P90:
        return acc_percentile(a, 90, value);
    case GATE_P95:
        return acc_percentile(a, 95, value);
    case GATE_P99:
        return acc_percentile(a, 99, value);
    }
    return ERR_INVAL;
}

int gate_func_is_percentile(gate_func f)
{
    return f == GATE_P50 || f == GATE_P90 || f == GATE_P95 || f == GATE_P99;
}

int gate_reduce(gate_func f, const double *t, const double *v, size_t n, double *value)
{
    if (!v || n == 0)
        return ERR_NODATA;
    gate_acc a;
    int pct = gate_func_is_percentile(f);
    if (pct && n > SIZE_MAX / sizeof(double))
        return ERR_NOMEM;
    /* exact: the copy a percentile sorts holds every value */
    gate_acc_init(&a, pct, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = gate_acc_add(&a, t ? t[i] : NAN, v[i]);
    if (rc == 0)
        rc = gate_acc_value(&a, f, value);
    gate_acc_free(&a);
    return rc;
}

int gate_compare(gate_op op, double value, double threshold)
{
    switch (op) {
    case GATE_LT:
        return value < threshold;
    case GATE_LE:
        return value <= threshold;
    case GATE_GT:
        return value > threshold;
    case GATE_GE:
        return value >= threshold;
    case GATE_EQ:
        return value == threshold;
    case GATE_NE:
        return value != threshold;
    }
    return 0;
}
