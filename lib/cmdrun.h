/*
 * cmdrun: runs one shell command to its end with a time bound, and keeps what it printed.
 *
 * For the commands a user configures around a run (soak's pre-flight and post-run checks):
 * `/bin/sh -c COMMAND` in a process group of its own, stdin from /dev/null, stdout and stderr
 * each into a bounded buffer of the caller (what does not fit is read and dropped, so the
 * command never blocks on a full pipe). Past the timeout the whole group gets SIGKILL. Once
 * the shell has exited, its output is read for 200 ms more at most (a background child may
 * hold the pipes), then what is left of its group gets SIGKILL: that is not a timeout.
 * Blocking; the calling thread waits. Uses posix_spawn, so it is safe in a threaded process.
 * Reaps only its own child (waitpid on its pid), so a caller that is a subreaper keeps the
 * rest of its children to itself.
 */
#ifndef CMDRUN_H
#define CMDRUN_H

#include <stddef.h>
#include <stdint.h>

typedef struct cmdrun_result {
    int exit_code;           /* the exit status; 128 + N when killed by signal N; -1 when not run */
    int signal;              /* the signal that ended it, 0 if none */
    int timed_out;           /* 1: killed at the timeout (exit_code is then 128 + SIGKILL) */
    int spawn_errno;         /* errno when it could not be started, else 0 */
    uint64_t duration_ms;    /* from start to the end of its output and its exit */
    size_t out_len, err_len; /* bytes kept in out and errb (each NUL-terminated) */
    int out_truncated, err_truncated; /* more was printed than fit */
} cmdrun_result;

/* Runs command; out/errb (capacities outcap/errcap, each at least 1) receive stdout/stderr,
 * NUL-terminated. Returns 0 when the command ran (whatever its exit code: see r), or
 * ERR_SYS with r->spawn_errno set when it could not be started. timeout_ms 0 means 1 ms. */
int cmdrun_run(const char *command, uint64_t timeout_ms, char *out, size_t outcap, char *errb,
               size_t errcap, cmdrun_result *r);

/* How it ended, for a person: "exit 2", "killed by signal 9", "timed out", "cannot start:
 * REASON". Writes at most n bytes with the NUL; returns buf. */
char *cmdrun_describe(const cmdrun_result *r, char *buf, size_t n);

#endif
