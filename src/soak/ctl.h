/*
 * ctl: the commands that act on a run from outside: `soak status DIR`, `soak stop DIR`,
 * `soak kill-tree PID`. Each returns a process exit code and prints its own messages.
 */
#ifndef SOAK_CTL_H
#define SOAK_CTL_H

#include <stdint.h>
#include <sys/types.h>

/* The pid of the soak running with its artifacts in dir: the holder of the folder's lock whose
 * pid, start time and folder DIR/soak.pid records (runlock_owner_pid), or 0 when none is. */
pid_t ctl_running_pid(const char *dir);

/* Prints the current picture of the run in dir and its last events. */
int ctl_status(const char *dir, int nevents);
/* Asks the soak running in dir (ctl_running_pid: never a process a copied pid file names) to
 * stop (SIGTERM) and waits up to timeout_ms for it to end;
 * past that, stops soak and its whole tree by force (lib/treekill) and returns an error. */
int ctl_stop(const char *dir, uint64_t timeout_ms);
/* Kills pid and all its descendants (lib/treekill): SIGTERM, then SIGKILL after timeout_ms. */
int ctl_kill_tree(pid_t pid, uint64_t timeout_ms);

#endif
