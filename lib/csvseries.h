/*
 * csvseries: read a memory series recorded by another tool, to analyze it like a soak run.
 *
 * Formats, detected from the first non-empty line (a UTF-8 byte order mark is skipped):
 *   - psrecord CSV (`psrecord --log-format csv`): header `elapsed_time,nproc,cpu,mem_real,
 *     mem_virtual` (newer versions add mem_swap, I/O and directory columns; columns are found
 *     by name, elapsed_time and mem_real required), memory in MB (MiB as psutil reports it:
 *     1048576 bytes);
 *   - psrecord plain log: a header line starting with `# Elapsed time`, then whitespace-separated
 *     columns elapsed time, CPU (%), real (MB), virtual (MB), and more columns when the header
 *     names them (Swap (MB), USS (MB), Read count ...: psrecord's titles are counted);
 *   - plain CSV with a header: `elapsed_s,rss_bytes` and optionally `cpu_percent`, `pss_bytes`
 *     (any order; other columns ignored; an empty cpu_percent or pss_bytes cell is NAN).
 * Fields are trimmed of white space and of one pair of double quotes (no quoted commas); CRLF
 * line ends are fine; blank lines are ignored. A row is skipped and counted when its number of
 * fields differs from the header's, a needed value is not a finite decimal number (NaN, inf,
 * hex and text are refused), memory or CPU is negative, or its time is before the previous kept
 * row's (equal times are kept), or its time is out of range (csvseries_time_ok: more than
CSVSERIES_MAX_SPAN_S, 10 years, after the first kept row, or a time that is neither elapsed
seconds of at most 10 years nor a Unix time from 1990 to a year from now; also counted in
skipped_time). Untrusted input: bounded (lines of at most 64 KiB before
 * trimming, longer ones are skipped rows; at most CSVSERIES_MAX_ROWS rows kept, the rest counted as skipped; files
 * of at most CSVSERIES_MAX_FILE bytes), never reads past the end.
 */
#ifndef CSVSERIES_H
#define CSVSERIES_H

#include <stddef.h>

#define CSVSERIES_MAX_ROWS    20000000
#define CSVSERIES_MAX_FILE    ((size_t)2 << 30)       /* csvseries_load refuses larger files */
#define CSVSERIES_MAX_SPAN_S  (10.0 * 365.25 * 86400) /* the longest run, and elapsed time */
#define CSVSERIES_EPOCH_MIN_S 631152000.0             /* 1990-01-01T00:00:00Z */
#define CSVSERIES_FUTURE_S    (365.25 * 86400)        /* a Unix time at most this far ahead */

typedef enum csvseries_format { CSV_PSRECORD_CSV, CSV_PSRECORD_LOG, CSV_PLAIN } csvseries_format;

typedef struct csvseries {
    size_t n;             /* rows kept, >= 1 after a successful parse */
    double *t;            /* elapsed seconds, non-decreasing */
    double *rss;          /* bytes */
    double *cpu;          /* percent; NAN where absent (always allocated, n entries) */
    double *pss;          /* bytes; NAN where absent (always allocated, n entries) */
    int has_cpu, has_pss; /* 1 when at least one kept row has the value */
    size_t skipped;       /* rows that could not be parsed */
    size_t skipped_time;  /* of those, rows whose time was out of range */
    csvseries_format format;
} csvseries;

/* Parses text[0..len) (need not be NUL-terminated). Returns 0 (even with skipped rows; the
 * caller owns the arrays and releases them with csvseries_free), or a negative ERR_* code
 * (lib/errcode.h) with a message in err (may be NULL): ERR_PARSE "unknown header: ...",
 * "missing column 'rss_bytes': ..."; ERR_NODATA "no usable row (N rows skipped)", "no usable
 * row (the input is empty)"; ERR_NOMEM "out of memory ...". On failure *out holds no memory
 * (its skipped count is still set). */
int csvseries_parse(const char *text, size_t len, csvseries *out, char *err, size_t errlen);
/* Like csvseries_parse, with name quoted in the messages: "no usable row in 'NAME' (3 rows
 * skipped)". name may be NULL. */
int csvseries_parse_named(const char *text, size_t len, const char *name, csvseries *out, char *err,
                          size_t errlen);
/* Reads the file at path whole (at most CSVSERIES_MAX_FILE bytes; pipes work too) and parses it
 * with its path as the name. Returns 0, or with a message: ERR_NOENT "cannot open 'PATH': No
 * such file or directory"; ERR_IO "cannot open 'PATH': ...", "cannot read 'PATH': ..." (also a
 * folder); ERR_FULL "cannot read 'PATH': larger than N bytes"; ERR_NOMEM; or one of
 * csvseries_parse's. */
int csvseries_load(const char *path, csvseries *out, char *err, size_t errlen);
/* The same parse, streamed: the file at path is read in 1 MiB pieces (a buffer of about
 * 1.1 MiB, whatever the file's size; pipes work too) and each kept row is handed to row() as
 * it is parsed, so memory does not grow with the rows. row() returns 0 to go on, non-zero to
 * stop (csvseries_stream then returns that value). The same rules as csvseries_parse (header,
 * skipped rows, CSVSERIES_MAX_ROWS rows at most); the file size is not capped. Returns 0 with
 * *info filled (may be NULL); a negative ERR_* with a message, the same codes and messages as
 * csvseries_load's (ERR_FULL aside); or row()'s non-zero value as it is, with no message. */
typedef struct csvseries_row {
    double t, rss, cpu, pss; /* cpu, pss: NAN where absent */
} csvseries_row;
typedef struct csvseries_info {
    size_t n, skipped, skipped_time; /* skipped_time: of skipped, times out of range */
    int has_cpu, has_pss;
    csvseries_format format;
} csvseries_info;
int csvseries_stream(const char *path, int (*row)(void *ud, const csvseries_row *r), void *ud,
                     csvseries_info *info, char *err, size_t errlen);
/* The time rule of a row: t (seconds) with first_t, the first kept row's time (t itself for
 * the first row), and now_s, the wall clock (Unix seconds; the parse reads it once when it
 * begins). 1 when t is finite, at most CSVSERIES_MAX_SPAN_S from first_t, and either elapsed
 * time (|t| <= CSVSERIES_MAX_SPAN_S) or a Unix time from CSVSERIES_EPOCH_MIN_S to now_s +
 * CSVSERIES_FUTURE_S; 0 otherwise. Pure. */
int csvseries_time_ok(double t, double first_t, double now_s);
/* Releases the arrays and zeroes *s; NULL and an already freed series are fine. */
void csvseries_free(csvseries *s);

#endif
