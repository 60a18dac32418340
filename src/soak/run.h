/*
 * run: `soak run`, the supervisor. Starts the service, samples its tree, captures its logs,
 * watches its heartbeat, restarts it by policy and stops it cleanly; records everything in
 * the artifacts folder.
 *
 * The decisions are the supervisor's table (supervise.h): what an exit, a hang or a stop
 * request means, when to restart, the outcome and the exit code. run.c is the mechanism that
 * feeds it and carries out its actions; see docs/soak-internals.md.
 */
#ifndef SOAK_RUN_H
#define SOAK_RUN_H

#include "opts.h"

/* Exit codes of the programs (DESIGN.md §4). */
enum {
    SOAK_EXIT_PASS = 0,  /* the run completed; no crash, no hang */
    SOAK_EXIT_FAIL = 1,  /* crashes, hangs, or the start limit was hit */
    SOAK_EXIT_USAGE = 2, /* usage or configuration error */
    SOAK_EXIT_ERROR = 3, /* the run could not be carried out (command not found, no disk) */
};

/* Runs the soak described by o (command included). Prints progress and the outcome on
 * stderr/stdout. Returns one of the exit codes above. */
int run_soak(opts *o);

/* `soak watch`: the same run over a target soak did not start (watch.h), attached by the
 * caller (watch_attach) and owned by it; the run never signals it. Same exit codes. */
struct watch;
int run_watch(opts *o, struct watch *w);

#endif
