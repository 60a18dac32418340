/*
 * forking: where the main pid of a service that forked into the background is, for `soak run`
 * (run.c; the supervisor's FORKING state, supervise.h). Reads /proc and the pid file; decides
 * nothing: the table judges what an exit means.
 *
 * The daemon of a service that double-forks is re-parented to the shim (a child subreaper,
 * shim.h), so "the tree" here is the processes below the shim. Its top is the oldest live
 * (not zombie) child of the shim: the daemon, or for a moment the middle process of a double
 * fork, which then hands over (supervise.h). A process of the tree that exits during a walk
 * does not hide its children: a walk that found none alive but met a zombie is taken again (up
 * to 3 walks), for every function below that looks at the tree.
 *
 * Caps: a pid file is read up to 64 bytes; a tree is walked up to PROCTREE_MAX_PROCS processes
 * (lib/proctree.h; about 200 KiB allocated for the call). Errors: 0 or a negative ERR_* code
 * (lib/errcode.h), with a message in the caller's buffer where one is taken. Not thread-safe
 * only in that the caller's buffers are written; no state is kept.
 */
#ifndef SOAK_FORKING_H
#define SOAK_FORKING_H

#include <stddef.h>
#include <sys/types.h>

/* Parses the text of a pid file: a decimal pid > 0, then optional white space. Returns 0 and
 * *pid, or ERR_PARSE (empty, not a number, trailing text, out of range). */
int forking_parse_pid(const char *buf, size_t len, pid_t *pid);

/* Reads a pid file. Returns 0 and *pid, ERR_NOENT (no such file yet), ERR_PARSE (not a pid:
 * also an empty file, which a daemon may have created and not written yet) or ERR_IO. */
int forking_read_pid_file(const char *path, pid_t *pid);

/* Live (not zombie) descendants of root, `exclude` not counted (0: none excluded). Returns the
 * count, or a negative ERR_* code (ERR_NOENT: no such root). */
int forking_tree_left(const char *proc_root, pid_t root, pid_t exclude);

/* The top of the tree: the oldest live child of root (by start time, then pid). Returns its
 * pid, or 0 when root has no live child. */
pid_t forking_tree_top(const char *proc_root, pid_t root);

/* Whether pid is a live descendant of root: 1 yes, 0 no. */
int forking_in_tree(const char *proc_root, pid_t root, pid_t pid);

/* The main pid of the daemon below root: the pid file's when pid_file is not empty (it must
 * name a live process of the tree), else the top of the tree. Returns 0 and *pid, or ERR_NOENT
 * with why in msg ("pid file 'F' not there yet", "'F' names pid N, not a process of the
 * service", "no process left") so that the caller can try again. */
int forking_find_main(const char *proc_root, pid_t root, const char *pid_file, pid_t *pid,
                      char *msg, size_t msglen);

#endif
