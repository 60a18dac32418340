/*
 * gate: a small expression language for pass/fail gates over what a run recorded.
 * The reference for users is docs/gates.md.
 *
 *   gate     := func '(' selector ')' op number [unit]
 *   func     := rate_per_hour | count | max | min | avg | last | first | sum | delta
 *             | p50 | p90 | p95 | p99
 *   selector := name [ '{' [ label { ',' label } [','] ] '}' ]
 *   label    := key '=' '"' value '"'      key := [A-Za-z_][A-Za-z0-9_]*   (at most 63 bytes)
 *   name     := [A-Za-z_:][A-Za-z0-9_:.]*      (e.g. ws_reconnect_attempts_total,
 *                                                pattern.error, rss_bytes, zombies)
 *   op       := '<' | '<=' | '>' | '>=' | '==' | '!='
 *   number   := ['+'|'-'] decimal [exponent]   (no hex, inf or nan)
 *   unit     := ms s m h d (to seconds), B KB MB GB TB (1000^k bytes), KiB MiB GiB TiB
 *               (1024^k bytes), % (as is); case matters; white space before it is allowed
 * White space (space, tab, CR, LF) is allowed between any two tokens. Label values take the
 * escapes \" \\ and \n (as in the Prometheus text format); a raw newline or NUL is refused.
 * Examples: `rate_per_hour(ws_reconnect_attempts_total) < 10`,
 * `p99(latency_ms{stage="rest"}) < 500`, `max(zombies) == 0`, `count(pattern.error) < 100`,
 * `max(artifacts_bytes) < 5GB`.
 *
 * Semantics: the selector names a time series (time, value) that the caller provides.
 * Non-finite values (NaN, inf) in it are ignored, as if the sample were missing.
 * count: the increase of a counter: the sum of v[i] - v[i-1] over consecutive values, where a
 * decrease counts as a reset and adds v[i] (the counter restarted from 0); 0 for one point.
 * For a pattern counter that is the number of matches during the series.
 * rate_per_hour: count / ((t_last - t_first) / 3600); needs 2 points and a positive span.
 * delta: last - first (negative when it fell). sum, avg, min, max, first, last: over values.
 * pNN: nearest rank, the ceil(NN/100 * N)-th smallest value (always one of the values).
 *
 * The parser takes untrusted text (configuration files): bounded, never reads past the end,
 * allocates nothing, clear messages with the column. Nothing here prints or exits.
 */
#ifndef GATE_H
#define GATE_H

#include <stddef.h>

#define GATE_MAX_NAME   128
#define GATE_MAX_LABELS 8

typedef enum gate_func {
    GATE_RATE_PER_HOUR,
    GATE_COUNT,
    GATE_MAX,
    GATE_MIN,
    GATE_AVG,
    GATE_LAST,
    GATE_FIRST,
    GATE_SUM,
    GATE_DELTA,
    GATE_P50,
    GATE_P90,
    GATE_P95,
    GATE_P99
} gate_func;

typedef enum gate_op { GATE_LT, GATE_LE, GATE_GT, GATE_GE, GATE_EQ, GATE_NE } gate_op;

typedef struct gate_expr {
    gate_func func;
    char name[GATE_MAX_NAME];
    size_t nlabels;
    char label_keys[GATE_MAX_LABELS][64];
    char label_values[GATE_MAX_LABELS][128]; /* unescaped: `\"` is stored as `"` */
    gate_op op;
    double threshold; /* after unit conversion */
} gate_expr;

/* Parses text[0..len) (need not be NUL-terminated; a NUL byte is an error). Returns 0 and fills
 * *out (unused bytes zeroed, so two parses of one text compare equal with memcmp), or ERR_PARSE
 * (lib/errcode.h) with a message in err such as "column 14: expected '<', '<=', '>', '>=', '==' or '!='" (columns
 * count bytes from 1); *out is untouched on failure. err may be NULL. */
int gate_parse(const char *text, size_t len, gate_expr *out, char *err, size_t errlen);

/* Writes the canonical text of e ("p99(latency_ms{stage=\"rest\"}) < 500"): one space around
 * the operator, none elsewhere, the threshold after unit conversion: an integer in full
 * ("5000000000" for 5GB), any other number in the shortest %g form that reads back exactly.
 * gate_parse of it gives an expr gate_equal to e. Truncates to n - 1 bytes (NUL-terminated) when
 * buf is too small; GATE_FORMAT_MAX bytes always suffice. Returns buf. */
char *gate_format(const gate_expr *e, char *buf, size_t n);

/* The labels of e in the text form the metrics store uses (promtext's canonical label text):
 * `key="value"` pairs joined by ',' in the order written, values escaped (\\, \", \n) exactly
 * as they were written in the gate: `stage="rest"`; "" without labels. Truncates like
 * gate_format. Returns buf. */
char *gate_labels_text(const gate_expr *e, char *buf, size_t n);

/* Buffer size that holds any gate_format or gate_labels_text output. */
#define GATE_FORMAT_MAX (GATE_MAX_NAME + 32 + GATE_MAX_LABELS * (64 + 4 + 2 * 128))

/* 1 when a and b are the same gate (name, labels in order, function, operator, threshold). */
int gate_equal(const gate_expr *a, const gate_expr *b);

/* Reduces a series to the value the gate compares: returns 0 and sets *value, or ERR_NODATA
 * (lib/errcode.h) when the series has no finite value (or, for a rate, fewer than 2 points or no
 * time span), or ERR_NOMEM when the copy a percentile sorts (n doubles) cannot be allocated. t ascending,
 * seconds; t may be NULL except for rate_per_hour. Reads n elements of t and v. */
int gate_reduce(gate_func f, const double *t, const double *v, size_t n, double *value);

/* A streaming reducer: the value gate_reduce would give over the values added, without
 * keeping them; bounded memory whatever the series' length. Percentiles (only with
 * percentiles = 1 at init) are exact while at most exact_cap values were added (0:
 * GATE_ACC_EXACT; 8 bytes each); past that, every value goes into a sketch of logarithmic
 * buckets (about 100 KB) and a percentile is the representative of the bucket that holds the
 * nearest-rank value: within GATE_ACC_REL_ERR (0.5 %) of it relative to its magnitude, clamped
 * to [min, max]; magnitudes under 1e-9 read as 0, above 1e18 within the top bucket.
 * gate_acc_approx says whether that happened. Non-finite values are ignored, as in
 * gate_reduce; t is NAN when the series has no time. gate_acc_add returns 0 or ERR_NOMEM (the
 * accumulator then stays valid without that value); gate_acc_value returns 0, ERR_NODATA (no
 * finite value, or a rate without 2 points and a span) or ERR_INVAL (a percentile asked of an
 * accumulator made without them); it may reorder the kept values, nothing else. Not
 * thread-safe per accumulator. */
#define GATE_ACC_EXACT   (1u << 18)
#define GATE_ACC_REL_ERR 0.005
typedef struct gate_acc {
    size_t finite, timed;
    double sum, comp, mn, mx, first, last, increase, t_first, t_last;
    int percentiles;
    size_t exact_cap;
    double *vals; /* exact values, while they fit */
    size_t nvals, capvals;
    unsigned long long *sk, sk_zero; /* the sketch, once they do not */
} gate_acc;
void gate_acc_init(gate_acc *a, int percentiles, size_t exact_cap);
int gate_acc_add(gate_acc *a, double t, double v);
int gate_acc_value(gate_acc *a, gate_func f, double *value);
int gate_acc_approx(const gate_acc *a);
void gate_acc_free(gate_acc *a);
/* 1 for p50, p90, p95, p99. */
int gate_func_is_percentile(gate_func f);

/* value op threshold: 1 or 0. Plain IEEE comparison: == and != are exact (no tolerance), and
 * a NaN value compares false except with !=. */
int gate_compare(gate_op op, double value, double threshold);

/* Static names ("p99", "<="); "?" for a value outside the enum. */
const char *gate_func_name(gate_func f);
const char *gate_op_text(gate_op op);

#endif
