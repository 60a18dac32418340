/*
 * diagnose: `soak diagnose RUN_DIR`, the runbook's eight troubleshooting sections done on a
 * run's own data (samples.db: samples, events, metrics, memdetail; the logs, rotated .gz
 * included; verdict.json; security.json when an audit wrote one). Each section gets findings:
 * a severity (ok, info, warn, fail), evidence (values, log lines with their timestamps) and
 * advice naming the key to change. Writes DIR/diagnosis.json (format: docs/soak-diagnose.md)
 * and prints the text, failing sections first.
 *
 * Memory is bounded whatever the run's length: the count and memory series go through
 * leakstat_streams, metric series are capped (DIAGNOSE_MAX_POINTS), log lines are kept per
 * class in small rings. Reads only but diagnosis.json; one call per thread.
 */
#ifndef SOAK_DIAGNOSE_H
#define SOAK_DIAGNOSE_H

#include <stdio.h>

#define DIAGNOSE_MAX_POINTS 200000 /* points of one metric read for percentiles */
#define DIAGNOSE_NSECTIONS  8

/* The runbook's sections, defined once: X(number, "title"). */
#define DIAGNOSE_SECTIONS(X)                                                                       \
    X(1, "memory")                                                                                 \
    X(2, "websocket")                                                                              \
    X(3, "orphan orders")                                                                          \
    X(4, "disk")                                                                                   \
    X(5, "zombies")                                                                                \
    X(6, "rest latency")                                                                           \
    X(7, "crash or hang")                                                                          \
    X(8, "security")

/* The severities, lowest first. */
typedef enum diagnose_sev { DIAG_OK, DIAG_INFO, DIAG_WARN, DIAG_FAIL } diagnose_sev;
/* "ok", "info", "warn", "fail". Static. */
const char *diagnose_sev_name(diagnose_sev s);
/* The title of section n (1-8), "" otherwise. Static. */
const char *diagnose_section_title(int n);

/* The section a gate points at, from the series its expression reads (a gate name of the
 * defaults when the expression does not parse): 1-8, or 0 for none (duration, cpu). */
int diagnose_gate_section(const char *name, const char *expr);

/* 1 when DIR/verdict.json has gate name with status fail, 0 when not, -1 without a verdict. */
int diagnose_gate_failed(const char *dir, const char *name);

typedef struct diagnose_args {
    const char *run_dir;
    int json;    /* 1: print diagnosis.json instead of the text */
    int section; /* 1-8: only that section in the output (the file has all); 0: all */
    int quiet;   /* 1: print only a pointer to the file (soak run at the end) */
} diagnose_args;

/* Diagnoses, writes DIR/diagnosis.json and prints. Returns 0 when nothing is at warn or worse,
 * 1 otherwise, or a negative ERR_* with the message printed: ERR_NOENT / ERR_PARSE (no run
 * there), ERR_IO (diagnosis.json not written), ERR_NOMEM. */
int diagnose_run(const diagnose_args *a);
/* `soak diagnose` from its arguments (argv[0] is "diagnose"): the exit code (0, 1, 2 usage or
 * no run, 3 the file not written). */
int diagnose_main(int argc, char **argv);

#endif
