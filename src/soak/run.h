/*
 * run: `soak run`, the supervisor. Starts the service, samples its tree, captures its logs,
 * watches its heartbeat, restarts it by policy and stops it cleanly; records everything in
 * the artifacts folder.
 *
 * The supervisor is a state machine (see the table in run.c):
 *   RUNNING --exit/hang--> STOPPING --tree empty--> BACKOFF --timer--> RUNNING
 *   any --duration over / SIGINT / SIGTERM / `soak stop`--> STOPPING(final) --> DONE
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

#endif
