/*
 * shim: the small process between `soak` and the service, so that nothing of the service's
 * tree survives `soak`, even a `kill -9` of it.
 *
 * `soak run` starts `soak __shim FD SOAKPID STOP_MS LOG -- COMMAND ARGS` (its own binary
 * again), with the read ends of the service's stdout and stderr pipes on fds 4 and 5.
 * The shim is a child subreaper with PR_SET_PDEATHSIG: every orphan of the service (setsid
 * children, double-forked daemons) is reparented to the shim rather than to init, and when
 * `soak` dies the shim stops that whole tree itself: SIGTERM, then SIGKILL after STOP_MS,
 * meanwhile appending what the service still writes to LOG (soak.log) as it was written.
 * While `soak` lives the shim ignores stop signals (soak signals the tree directly) and
 * reports on FD, a pipe to `soak`, fixed-size messages: the service started (its pid), its
 * exec failed (errno), it exited (wait status), and orphans reaped (after the service exited,
 * each with its pid and wait status, for a daemon's main pid); with each exit, how many live
 * processes it leaves (counted by the shim, which knows it before any process of its own, such
 * as a sanitizer's helper at its exit, could be mistaken for the service's). It exits once the service
 * has exited and no descendant is left.
 */
#ifndef SOAK_SHIM_H
#define SOAK_SHIM_H

#include <stdint.h>

typedef enum shim_kind {
    SHIM_STARTED = 1,     /* value: pid of the service */
    SHIM_EXEC_FAILED = 2, /* value: errno of execvp */
    SHIM_EXITED = 3,      /* value: wait status of the service */
    SHIM_REAPED = 4,      /* value: orphans reaped since the last such message */
    /* after the service exited (a daemon it left behind): one orphan reaped, as a pair of
     * messages written at once, its pid and then its wait status */
    SHIM_ORPHAN_PID = 5,
    SHIM_ORPHAN_STATUS = 6,
    /* value: live processes left below the shim (forking_tree_left), sent just before each
     * SHIM_EXITED and SHIM_ORPHAN_PID, in the same write: what they leave behind */
    SHIM_LEFT = 7,
} shim_kind;

typedef struct shim_msg {
    int32_t kind;
    int32_t value;
} shim_msg;

/* The hidden subcommand; argv[0] is "__shim". Returns the exit code of the shim. */
int shim_main(int argc, char **argv);

#endif
