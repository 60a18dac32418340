/*
 * helpers: soak's own helper children (journalctl for logs.journal_unit), registered in one
 * place, so that nothing mistakes one for part of the service or of its tree.
 *
 * A helper is a child soak forks for itself, not for the service. The module that starts one
 * registers its pid at once (helpers_add, in the parent right after fork); from then on:
 *   - the tree stop (treekill_set_skip), the sampler (sampler_set_skip, watch_set_skip) and
 *     every walk of soak's descendants leave it and everything below it out (helpers_skip);
 *   - the SIGCHLD handler that reaps every child hands a helper's exit here (helpers_reaped):
 *     never the service's exit, a crash or a reaped orphan; the owner's exit callback hears it;
 *   - at the end soak stops what is left itself, after the service (helpers_stop_all).
 * A pid stays registered until it is reaped, so a pid the kernel gives to another process
 * afterwards is never left out by mistake (a zombie keeps its pid).
 *
 * Caps: HELPERS_MAX helpers at a time (helpers_add: ERR_FULL). No allocation; a value the
 * caller owns (helpers_init). Threads: the loop's thread only. Nothing here prints.
 */
#ifndef SOAK_HELPERS_H
#define SOAK_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HELPERS_MAX     8
#define HELPERS_STOP_MS 1000 /* helpers_stop_all: SIGTERM, then SIGKILL after this */
#define HELPERS_REAP_MS 1000 /* ... and the wait for SIGKILL's result */

/* A helper ended: status as waitpid gives it. Called once per helper, from helpers_reaped. */
typedef void (*helpers_exit_fn)(void *ud, pid_t pid, int status);

typedef struct helpers_ent {
    pid_t pid; /* 0: a free slot */
    helpers_exit_fn on_exit;
    void *ud;
} helpers_ent;

typedef struct helpers {
    helpers_ent e[HELPERS_MAX];
    uint64_t started; /* helpers registered in all */
    uint64_t reaped;  /* helpers reaped in all */
    uint64_t killed;  /* helpers that needed SIGKILL at helpers_stop_all */
} helpers;

void helpers_init(helpers *h);
/* Registers a child of the caller (pid > 0); on_exit may be NULL. Returns 0, ERR_INVAL,
 * ERR_DUP (registered already) or ERR_FULL (HELPERS_MAX live helpers). */
int helpers_add(helpers *h, pid_t pid, helpers_exit_fn on_exit, void *ud);
/* 1 when pid is a registered helper (h may be NULL: 0). */
int helpers_has(const helpers *h, pid_t pid);
/* proctree_skip_fn over a helpers *ud: the filter given to treekill, sampler and watch. */
int helpers_skip(void *ud, pid_t pid);
/* How many helpers are registered (not reaped yet). */
size_t helpers_count(const helpers *h);
/* The caller reaped pid with status: when it is a helper, it is unregistered, its on_exit is
 * called, and 1 is returned; 0 otherwise (h may be NULL). */
int helpers_reaped(helpers *h, pid_t pid, int status);
/* waitpid(pid, WNOHANG) for a registered helper: 1 when it was reaped now (helpers_reaped
 * done) or is no longer there to reap (ECHILD: unregistered, on_exit not called), 0 while it
 * runs, ERR_NOENT when pid is not a helper. Never blocks. */
int helpers_reap(helpers *h, pid_t pid);
/* The owner of pid is going away: pid stays registered (left out, stopped by
 * helpers_stop_all) but its on_exit is no longer called. No-op for another pid. */
void helpers_disown(helpers *h, pid_t pid);
/* Stops every helper left: SIGTERM, up to HELPERS_STOP_MS for them to end, then SIGKILL and up
 * to HELPERS_REAP_MS more, reaping each (helpers_reaped). Returns how many are still there
 * (0: all gone). Blocks up to HELPERS_STOP_MS + HELPERS_REAP_MS; for the end of a run, after
 * the service is stopped and the loop no longer reaps. */
int helpers_stop_all(helpers *h);

#endif
