/*
 * runlock: one soak per artifacts folder, and knowing which process that soak is.
 *
 * The lock is DIR/soak.lock, locked with an open-file-description lock (fcntl F_OFD_SETLK,
 * Linux's flock-like lock: it belongs to the open file, not to the process, and is released
 * by the kernel when soak ends, however it ends). It is taken atomically before anything of
 * the run is written and held for the whole run. The descriptor is close-on-exec and the
 * service's start closes every descriptor above 5, so the service never holds it. Unlike
 * flock, the lock can be tested without being taken (F_OFD_GETLK), so `soak status`, `soak
 * stop` and `soak preflight` never make a starting run fail.
 *
 * DIR/soak.pid says which process holds it, in three lines:
 *   PID                 (first, alone: what older readers parse)
 *   start TICKS         the process's start time (/proc/PID/stat field 22)
 *   dir ABSOLUTE_PATH   the folder it runs into
 * and DIR/soak.children lists the service's processes of this run ("PID TICKS" per start),
 * which pre-flight reads to find processes left by an earlier run of the folder.
 *
 * Functions return 0 or a negative ERR_* code with a message in err (when given). Single
 * thread; no state outside the runlock value.
 */
#ifndef SOAK_RUNLOCK_H
#define SOAK_RUNLOCK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNLOCK_FILE         "soak.lock"
#define RUNLOCK_PIDFILE      "soak.pid"
#define RUNLOCK_CHILDREN     "soak.children"
#define RUNLOCK_MAX_CHILDREN 64 /* entries of soak.children read back (the newest are kept) */

typedef struct runlock {
    int fd; /* -1: not held */
    char dir[PATH_MAX];
} runlock;

/* What DIR/soak.pid recorded. */
typedef struct runlock_owner {
    pid_t pid;
    uint64_t start_ticks; /* 0: not recorded (a file from an older soak) */
    char dir[PATH_MAX];   /* "" when not recorded */
} runlock_owner;

/* Takes the lock of the folder dir (an absolute path, existing). ERR_BUSY when another
 * process holds it (err names the folder and the holder's pid when known); ERR_IO when the
 * lock file cannot be created. The caller keeps l until the run ends. */
int runlock_take(runlock *l, const char *dir, char *err, size_t errlen);
/* Releases the lock (closing its descriptor); safe when not held. */
void runlock_release(runlock *l);

/* Whether another process holds the lock of dir: 1 held, 0 free (or no lock file), ERR_IO
 * when it cannot be tested. Never takes the lock. */
int runlock_held(const char *dir);

/* Writes dir/soak.pid for this process (pid, start time, dir) and empties dir/soak.children. */
int runlock_write_pid(const char *dir, char *err, size_t errlen);
/* Reads dir/soak.pid. ERR_NOENT when absent, ERR_PARSE when it holds no pid. */
int runlock_read_pid(const char *dir, runlock_owner *out);
/* The start time of pid in clock ticks since boot (/proc/PID/stat field 22), 0 when the
 * process does not exist. */
uint64_t runlock_proc_start(pid_t pid);

/* Pure: does the record o describe the soak of folder dir whose process, now, has start
 * time live_ticks (0: no such process) and whose lock is held (held)? A record from another
 * folder (a copied pid file), a pid reused by another process (other start time), or a
 * folder whose lock nobody holds all say no. Returns 1 or 0. */
int runlock_owner_matches(const runlock_owner *o, const char *dir, uint64_t live_ticks, int held);
/* The pid of the soak that runs into dir now (the holder of its lock, as soak.pid records
 * it and /proc confirms it), or 0 when none is. dir may be relative. */
pid_t runlock_owner_pid(const char *dir);

/* Appends "PID TICKS" of a service process of this run to dir/soak.children (emptied by
 * runlock_write_pid, so it lists the current run's only: pre-flight reads it before). */
int runlock_note_child(const char *dir, pid_t pid);
/* Processes recorded in dir/soak.children that still live with their recorded start time,
 * or that are in the process group of one of them and started after it. Writes up to cap
 * pids into pids and returns their count (0 when none or no file). */
size_t runlock_leftovers(const char *dir, pid_t *pids, size_t cap);

#endif
