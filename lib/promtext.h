/*
 * promtext: the Prometheus text exposition format (version 0.0.4), both ways.
 *
 * Writing: helpers that append correctly escaped HELP/TYPE lines and samples to an sbuf.
 * Reading: a parser for what a service serves at /metrics, used to scrape it. The parser
 * takes untrusted input: it never reads past len, never allocates more than the sample it is
 * reporting, skips lines it cannot parse (counting them) and never fails as a whole.
 */
#ifndef PROMTEXT_H
#define PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

/* Appends "# HELP name help\n# TYPE name type\n" (help escaped: \\ and \n). */
int promtext_header(sbuf *b, const char *name, const char *type, const char *help);
/* Appends one sample line: name{labels} value\n. labels is NULL or a NULL-terminated array of
 * key, value, key, value ... ; values are escaped (\\, \", \n). Value formatting: integers
 * without a fraction, NaN/+Inf/-Inf as Prometheus spells them, otherwise %.17g trimmed. */
int promtext_sample(sbuf *b, const char *name, const char *const *labels, double value);
/* Escapes a label value into b (without quotes). */
int promtext_escape_label(sbuf *b, const char *value);

/* One parsed sample. name and labels point into a scratch buffer valid during the callback.
 * labels: the label set in canonical text form, `key="value",key2="v2"` sorted as written
 * (escapes kept as in the source), "" when there are none. */
typedef struct promtext_sample_t {
    const char *name;
    const char *labels;
    double value;
    int has_timestamp;
    int64_t timestamp_ms;
} promtext_parsed;

/* Callback per sample; return nonzero to stop parsing. */
typedef int (*promtext_sample_fn)(void *ud, const promtext_parsed *s);

typedef struct promtext_parse_stats {
    unsigned samples; /* samples reported */
    unsigned skipped; /* lines that were not comments, blank or valid samples */
} promtext_parse_stats;

/* Parses buf[0..len). Names and label sets longer than 1024 bytes are skipped lines.
 * Returns 0 (also when lines were skipped), or 1 when the callback stopped it. */
int promtext_parse(const char *buf, size_t len, promtext_sample_fn cb, void *ud,
                   promtext_parse_stats *stats);

#endif
