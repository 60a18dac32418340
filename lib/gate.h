/*
 * gate: a small expression language for pass/fail gates over what a run recorded.
 *
 *   gate     := func '(' selector ')' op number [unit]
 *   func     := rate_per_hour | count | max | min | avg | last | first | sum | delta
 *             | p50 | p90 | p95 | p99
 *   selector := name [ '{' label '=' '"' value '"' { ',' label '=' '"' value '"' } '}' ]
 *   name     := [A-Za-z_:][A-Za-z0-9_:.]*      (e.g. ws_reconnect_attempts_total,
 *                                                pattern.error, rss_bytes, zombies)
 *   op       := '<' | '<=' | '>' | '>=' | '==' | '!='
 *   number   := decimal, optionally with a unit: ms s m h d (to seconds), KB MB GB KiB MiB GiB
 *               (to bytes), % (as is)
 * Examples: `rate_per_hour(ws_reconnect_attempts_total) < 10`,
 * `p99(latency_ms{stage="rest"}) < 500`, `max(zombies) == 0`, `count(pattern.error) < 100`,
 * `max(artifacts_bytes) < 5GB`.
 *
 * Semantics: the selector names a time series (time, value) that the caller provides.
 * count: for a counter-like series, its increase (last - first, adding resets); for a pattern,
 * the number of matches. rate_per_hour: that increase divided by the series' span in hours.
 * delta: last - first. The others are order statistics over the values.
 *
 * The parser takes untrusted text (configuration files): bounded, never reads past the end,
 * clear messages with the column. Nothing here prints or exits.
 */
#ifndef GATE_H
#define GATE_H

#include <stddef.h>

#define GATE_MAX_NAME   128
#define GATE_MAX_LABELS 8

typedef enum gate_func {
    GATE_RATE_PER_HOUR, GATE_COUNT, GATE_MAX, GATE_MIN, GATE_AVG, GATE_LAST, GATE_FIRST, GATE_SUM,
    GATE_DELTA, GATE_P50, GATE_P90, GATE_P95, GATE_P99
} gate_func;

typedef enum gate_op { GATE_LT, GATE_LE, GATE_GT, GATE_GE, GATE_EQ, GATE_NE } gate_op;

typedef struct gate_expr {
    gate_func func;
    char name[GATE_MAX_NAME];
    size_t nlabels;
    char label_keys[GATE_MAX_LABELS][64];
    char label_values[GATE_MAX_LABELS][128];
    gate_op op;
    double threshold;   /* after unit conversion */
} gate_expr;

/* Parses text. Returns 0, or -1 with a message in err such as
 * "column 14: expected '<', '<=', '>', '>=', '==' or '!='". */
int gate_parse(const char *text, size_t len, gate_expr *out, char *err, size_t errlen);

/* Writes the canonical text of e ("p99(latency_ms{stage=\"rest\"}) < 500"). Returns buf. */
char *gate_format(const gate_expr *e, char *buf, size_t n);

/* The labels of e in the text form the store uses: `stage="rest"` (sorted as written),
 * "" without labels. Returns buf. */
char *gate_labels_text(const gate_expr *e, char *buf, size_t n);

/* Reduces a series to the value the gate compares: returns 0 and sets *value, or -ENODATA when
 * the series is empty (or has too few points for a rate). t ascending, seconds. */
int gate_reduce(gate_func f, const double *t, const double *v, size_t n, double *value);

/* value op threshold. */
int gate_compare(gate_op op, double value, double threshold);

const char *gate_func_name(gate_func f);
const char *gate_op_text(gate_op op);

#endif
