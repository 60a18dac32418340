/*
 * treekill: stop a process tree, one step at a time, without blocking.
 *
 * A stop lists the whole tree first (through /proc, with proctree), then sends SIGTERM to
 * root's process group, when root leads one that is not the caller's, and to every member
 * (and SIGCONT to a member in state T, so that it can act on it); later SIGKILL to what is left. Each member
 * is tracked by pid *and* start time (/proc/PID/stat field 22), and its start time is read
 * again right before every signal: a member that exited is dropped, and a new process that got
 * its pid is never signalled. The group is only signalled while a tracked member still belongs
 * to it. Processes that appear meanwhile (children of members, also those reparented to a
 * subreaper or to init) join the tree at once; in the SIGTERM phase they are not signalled (a
 * shutdown handler's cleanup command must be able to run, as systemd allows), in the SIGKILL
 * phase they get SIGKILL.
 *
 * The caller drives the stop with its own clock and timer: treekill_begin, then treekill_poll
 * (how many are left; never blocks) and treekill_kill when it decides to; or treekill_step,
 * which escalates by itself after a grace period. treekill_run is the blocking form for the
 * command line (`soak kill-tree`).
 *
 * Reaping: with reap set, members that are the caller's own children are reaped (waitpid on
 * their pid only, WNOHANG) as they exit. Without it (a caller with a SIGCHLD handler of its
 * own) a zombie child of the caller counts as gone and is left for the caller to reap. A zombie
 * that is not the caller's child counts as gone once its parent is out of the tree.
 *
 * Caps: PROCTREE_MAX_PROCS members; past that, the rest are not tracked (treekill_poll still
 * counts at most that many). One object is about 200 KiB. Not thread-safe: one object per
 * thread. Nothing here prints or exits. The check of the start time and the signal are two
 * system calls: a pid reused in the microseconds between them could still be hit (a pidfd
 * would close that window; not all kernels have it).
 */
#ifndef TREEKILL_H
#define TREEKILL_H

#include <stdint.h>
#include <sys/types.h>

#include "proctree.h"

#define TREEKILL_POLL_MS 20 /* how often treekill_step wants to be called */

typedef struct treekill treekill;

/* proc_root is normally "/proc" (tests pass a fixture folder laid out the same way; signals
 * still go to the real pids). Returns NULL on allocation failure or when proc_root cannot be
 * opened (errno says why). The caller owns it; free with treekill_free (accepts NULL). */
treekill *treekill_new(const char *proc_root, int reap);
void treekill_free(treekill *tk);
/* Processes fn names (and everything below them) are never members of a later stop: never
 * signalled, never counted as alive (proctree_skip_fn; the caller's own helper processes,
 * e.g. soak's journalctl, which soak stops itself). fn NULL (the default): none left out.
 * The group signal is not filtered: a process left out must not be in root's group (soak's
 * root is soak itself, which has no group signal). Accepts a NULL tk. */
void treekill_set_skip(treekill *tk, proctree_skip_fn fn, void *ud);

/* Starts stopping root's tree at now_ms: lists it and sends SIGTERM (root itself only when
 * include_root; never the caller, so root may be getpid()). Returns how many processes were
 * signalled (>= 0), or a negative ERR_* code (lib/errcode.h): ERR_NOENT when root does not
 * exist, ERR_INVAL when root is not a pid (<= 0). Forgets any
 * stop begun before. */
int treekill_begin(treekill *tk, pid_t root, int include_root, uint64_t now_ms);
/* SIGKILL to every member still alive (and the group); from now on newcomers get SIGKILL
 * too. Returns how many were signalled. */
int treekill_kill(treekill *tk, uint64_t now_ms);
/* Drops the members that are gone, reaps (when asked), adds and signals newcomers. Returns
 * how many members are alive (0: the tree is gone). Never blocks. */
int treekill_poll(treekill *tk);
/* How many processes got SIGKILL in this stop. */
int treekill_nkilled(const treekill *tk);

/* One step of a self-timed stop: polls; SIGKILL once grace_ms have passed since begin; after
 * that, SIGKILL again on each step. Returns 0 when the tree is gone, the milliseconds after
 * which to step again (> 0), or ERR_TIMEOUT when members survived kill_ms of SIGKILL. */
int treekill_step(treekill *tk, uint64_t now_ms, uint64_t grace_ms, uint64_t kill_ms);

/* Blocking: kills root and all its descendants: SIGTERM, SIGKILL after timeout_ms, give up
 * after another timeout_ms. Reaps the caller's own children. Returns the number of processes
 * that needed SIGKILL (>= 0), or ERR_NOENT when root does not exist, ERR_TIMEOUT when some
 * are still alive (stuck in D state), ERR_INVAL, ERR_NOMEM, ERR_SYS (/proc cannot be opened). Blocks up to 2 * timeout_ms plus one
 * poll. */
int treekill_run(pid_t root, int include_root, unsigned timeout_ms);

/* One signal to root's group (when root leads one that is not the caller's), to root (when
 * include_root) and to every descendant, without tracking. Never the caller. Returns how many
 * processes were signalled one by one (the group signal is not counted; sig 0 only checks) or
 * a negative ERR_* code: ERR_NOENT (no such root), ERR_INVAL, ERR_NOMEM, or what
 * proctree_descendants returns. Never blocks. */
int treekill_signal_tree(pid_t root, int include_root, int sig);

#endif
