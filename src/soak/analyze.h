/*
 * analyze: `soak analyze`, the verdict of a run. Reads a run's samples.db (or a series recorded
 * by another tool), decides whether memory leaks (lib/leakstat), evaluates the gates (the
 * runbook's Success Metrics table plus the user's, lib/gate) and writes into the output folder:
 *   resources.analysis.json  the runbook's fields and what a reader needs to trust them
 *   verdict.json             every gate: expression, value, threshold, status
 *   summary.md               the Success Metrics table filled in, for a CI step summary
 *   junit.xml                one test case per gate
 * Formats: docs/soak-analyze.md.
 */
#ifndef SOAK_ANALYZE_H
#define SOAK_ANALYZE_H

#include "opts.h"

typedef struct analyze_args {
    const char *run_dir;      /* a run folder with samples.db; NULL with samples_file */
    const char *samples_file; /* CSV of psrecord or plain (see lib/csvseries.h); or NULL */
    const char *out_dir;      /* where the outputs go; NULL: run_dir, or the CSV's folder */
    const opts *o;            /* gates, warm-up, patterns (from -c, or the run's record) */
    int quiet;                /* 1: print nothing on success (soak run prints its own) */
} analyze_args;

/* Returns an exit code: 0 every gate passes, 1 a gate fails, 2 bad input (message printed). */
int analyze_main(const analyze_args *a);

/* Loads the configuration a run recorded (run.config in samples.db) into o, over defaults.
 * Returns 0, or -1 with a message in err (not a soak run, unreadable record). */
int analyze_load_run_config(const char *run_dir, opts *o, char *err, size_t errlen);

#endif
