/*
 * units: durations and byte sizes as people write them in flags and YAML.
 *
 * Durations: a number and a unit, "250ms", "20s", "10m", "24h", "7d", or several in a row
 * ("1h30m"); a bare number means seconds. Fractions are allowed ("1.5h").
 * Sizes: "512", "64KiB", "10MB", "5GB", "1.5GiB"; K/M/G/T are powers of 1000, Ki/Mi/Gi/Ti powers
 * of 1024, a trailing "B" is optional, case does not matter for the unit letters.
 */
#ifndef UNITS_H
#define UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and stores milliseconds, or a negative ERR_* code (lib/errcode.h): ERR_PARSE (not
 * a duration), ERR_RANGE (too large), ERR_INVAL (s is NULL); *out_ms is untouched then. */
int units_parse_duration(const char *s, uint64_t *out_ms);
/* Returns 0 and stores bytes, or ERR_PARSE (not a size), ERR_RANGE (too large), ERR_INVAL (s is
 * NULL); *out is untouched then. */
int units_parse_bytes(const char *s, uint64_t *out);

/* Formats as the shortest exact form ("250ms", "20s", "1h30m", "24h"); returns buf. */
char *units_format_duration(uint64_t ms, char *buf, size_t n);
/* Formats with one decimal and a binary unit ("1.5 GiB", "512 B"); returns buf. */
char *units_format_bytes(uint64_t bytes, char *buf, size_t n);

#endif
