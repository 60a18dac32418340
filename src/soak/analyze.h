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
    int silent; /* 1: print nothing at all, even a failing verdict (the live view, liveapi.h) */
} analyze_args;

#define ANALYZE_PASS 0 /* every gate passes */
#define ANALYZE_FAIL 1 /* a gate fails */

/* Analyzes and writes the outputs. Returns ANALYZE_PASS, ANALYZE_FAIL, or a negative ERR_*
 * (lib/errcode.h) with its message printed: ERR_NOENT, ERR_PARSE, ERR_NODATA, ERR_CONFIG bad
 * input (no run there, not a soak run, no samples, a gate that does not parse); ERR_IO an
 * output that cannot be written; ERR_NOMEM. Memory is bounded whatever the number of samples
 * (docs/soak-record.md: what is exact and what is approximated past the caps). */
int analyze_run(const analyze_args *a);
/* The exit code of `soak analyze` for analyze_run's result: 0 pass, 1 a gate fails, 2 bad
 * input, 3 the analysis could not be carried out (an output not written, no memory). */
int analyze_exit_code(int rc);
/* analyze_exit_code(analyze_run(a)). */
int analyze_main(const analyze_args *a);

/* `soak analyze --replay-fail-fast`: feeds the samples (a->samples_file, or a->run_dir's
 * samples.db) to failfast.h as the live run does and prints, as its last line, `never` or
 * `ELAPSED GATE` (seconds from the first sample, the gate's name). Writes no file. Returns
 * ANALYZE_PASS (never), ANALYZE_FAIL (it would stop), or a negative ERR_* as analyze_run. */
int analyze_replay_fail_fast(const analyze_args *a);

/* Loads the configuration a run recorded (run.config in samples.db) into o, over defaults;
 * keys this soak does not know (a newer or older record) are left out. Returns 0, or
 * ERR_NOENT / ERR_PARSE (not a soak run, no recorded configuration) / ERR_CONFIG (a value
 * this soak refuses) / ERR_NOMEM with a message in err. */
int analyze_load_run_config(const char *run_dir, opts *o, char *err, size_t errlen);

#endif
