/*
 * patterns: named regular expressions matched against log lines, all at once.
 *
 * The expressions are compiled together into one Vectorscan (Hyperscan) database, so a line
 * is scanned once whatever the number of patterns. Syntax: POSIX ERE as written in grep -E
 * (alternation, groups, bracket expressions with [:classes:], repetition, anchors); Perl
 * extras such as \d and (?i) also work. Back-references are not supported.
 *
 * At most PATTERNS_MAX patterns. An object is used by one thread at a time.
 */
#ifndef PATTERNS_H
#define PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#define PATTERNS_MAX 64

typedef struct patterns patterns;

/* Compiles n patterns (n may be 0). Returns NULL with a message in err naming the pattern
 * ("pattern 'error': missing closing parenthesis") on failure. Names and expressions are
 * copied. Free with patterns_free (accepts NULL). */
patterns *patterns_new(const char *const *names, const char *const *exprs, size_t n, char *err,
                       size_t errlen);
void patterns_free(patterns *p);

size_t patterns_count(const patterns *p);
const char *patterns_name(const patterns *p, size_t i);
const char *patterns_expr(const patterns *p, size_t i);
/* Index of the pattern with this name (>= 0), or ERR_NOENT (lib/errcode.h) when none has it. */
int patterns_find(const patterns *p, const char *name);

/* Returns a bit mask of the patterns that match somewhere in line[0..len) (bit i for pattern
 * i). The line need not be NUL-terminated. */
uint64_t patterns_match(patterns *p, const char *line, size_t len);

#endif
