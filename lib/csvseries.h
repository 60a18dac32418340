/*
 * csvseries: read a memory series recorded by another tool, to analyze it like a soak run.
 *
 * Formats, detected from the first line:
 *   - psrecord CSV (`psrecord --log-format csv`): header `elapsed_time,nproc,cpu,mem_real,
 *     mem_virtual`, memory in MB (MiB as psutil reports it: 1048576 bytes);
 *   - psrecord plain log: a header line starting with `# Elapsed time`, then whitespace-separated
 *     columns elapsed time, CPU (%), real (MB), virtual (MB);
 *   - plain CSV with a header: `elapsed_s,rss_bytes` and optionally `cpu_percent`, `pss_bytes`
 *     (any order; other columns ignored).
 * Rows that cannot be parsed are skipped and counted. Untrusted input: bounded (lines of at most
 * 64 KiB, at most CSVSERIES_MAX_ROWS rows), never reads past the end.
 */
#ifndef CSVSERIES_H
#define CSVSERIES_H

#include <stddef.h>

#define CSVSERIES_MAX_ROWS 20000000

typedef enum csvseries_format { CSV_PSRECORD_CSV, CSV_PSRECORD_LOG, CSV_PLAIN } csvseries_format;

typedef struct csvseries {
    size_t n;            /* rows kept */
    double *t;           /* elapsed seconds */
    double *rss;         /* bytes */
    double *cpu;         /* percent; NAN where absent */
    double *pss;         /* bytes; NAN where absent */
    int has_cpu, has_pss;
    size_t skipped;      /* rows that could not be parsed */
    csvseries_format format;
} csvseries;

/* Parses text (need not be NUL-terminated). Returns 0 (even with skipped rows), or -1 with a
 * message in err: unknown header, no usable row, out of memory. Free with csvseries_free. */
int csvseries_parse(const char *text, size_t len, csvseries *out, char *err, size_t errlen);
/* Reads and parses a file. */
int csvseries_load(const char *path, csvseries *out, char *err, size_t errlen);
void csvseries_free(csvseries *s);

#endif
