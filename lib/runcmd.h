/*
 * runcmd: runs one shell command with a time limit and captures its standard output, for the
 * commands a user configures around a run (audit inputs "cmd:...", checks).
 *
 * The command runs as `/bin/sh -c CMD` in a process group of its own, with standard input and
 * standard error on /dev/null and the caller's environment. At the deadline, or once the
 * command has exited, the whole group is sent SIGKILL, so that nothing it started outlives it.
 * Output past max_out bytes is read and dropped (truncated is set), so a chatty command can
 * neither block on a full pipe nor grow memory without bound.
 *
 * Blocking: returns when the command has exited or the deadline has passed (at most
 * timeout_ms, plus the time to reap it). Safe from any thread; it touches no signal
 * disposition, and reaps only its own child.
 */
#ifndef RUNCMD_H
#define RUNCMD_H

#include <stddef.h>
#include <stdint.h>

typedef struct runcmd_result {
    int exit_code;   /* 0-255 when it exited; -1 otherwise */
    int term_signal; /* the signal that ended it, or 0 */
    int timed_out;   /* killed at the deadline */
    char *out;       /* malloc'd standard output, NUL-terminated (may hold NULs); the caller frees
                      * it with runcmd_result_free */
    size_t len;      /* bytes in out, without the NUL */
    int truncated;   /* output past max_out was dropped */
    double seconds;  /* wall time it ran */
} runcmd_result;

/* Runs cmd. Returns 0 when it ran (whatever its exit code; r says how it ended) or an ERR_*
 * code with the reason in err when it could not be started (ERR_SYS) or memory ran out
 * (ERR_NOMEM); then r holds no output. */
int runcmd_capture(const char *cmd, uint64_t timeout_ms, size_t max_out, runcmd_result *r,
                   char *err, size_t errlen);

/* Frees r's output; safe twice. */
void runcmd_result_free(runcmd_result *r);

/* How it ended, for a person: "exit 0", "exit 3", "killed by signal 9", "timed out after 5s". */
void runcmd_describe(const runcmd_result *r, uint64_t timeout_ms, char *buf, size_t n);

#endif
