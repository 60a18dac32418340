/*
 * proctree: find every descendant of a process by walking /proc and sample the whole tree.
 * Stopping a tree is lib/treekill's job.
 *
 * Descendants are found from /proc/PID/task/TID/children (every thread of a process, since a
 * child belongs to the thread that forked it), falling back to a scan of every /proc/PID/stat
 * when the kernel has no children files. Walking parent links rather than process groups means
 * children that called setsid() are still found; orphans only stay in the tree when the caller
 * is a child subreaper (PR_SET_CHILD_SUBREAPER), which is what `soak` does.
 *
 * Limits: a tree is at most PROCTREE_MAX_PROCS processes; past that the rest are not counted and
 * the sample says so (truncated = 1). The fallback scan reads at most 65536 processes. Nothing
 * here prints or exits.
 *
 * Cost: a sample opens nothing for a process it saw in the previous sample: a proctree object
 * keeps the stat and children files of up to 128 processes open (at most 256 descriptors,
 * O_CLOEXEC), and closes those of processes that left the tree at the end of each sample.
 * Reading an open /proc/PID file of a process that has been reaped fails, so a reused pid is
 * never mistaken for the old process.
 */
#ifndef PROCTREE_H
#define PROCTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCTREE_MAX_PROCS   4096
#define PROCTREE_MAX_ZOMBIES 256 /* zombies listed per sample (all are counted) */

/* What /proc/PID/stat says of one process (the fields we use). */
typedef struct proctree_stat {
    pid_t pid;
    pid_t ppid;
    pid_t pgrp;
    pid_t session;
    char state;           /* R S D Z T t X I ... */
    uint64_t utime_ticks; /* clock ticks (sysconf(_SC_CLK_TCK)) */
    uint64_t stime_ticks;
    long num_threads;
    uint64_t starttime; /* ticks after boot; with pid, identifies a process */
    uint64_t rss_pages;
} proctree_stat;

/* Sums over the tree. */
typedef struct proctree_sample {
    unsigned nprocs;          /* processes in the tree, zombies included */
    unsigned zombies;         /* state Z */
    unsigned threads;         /* sum of num_threads */
    unsigned fds;             /* open file descriptors, sum over processes */
    uint64_t rss_bytes;       /* sum of RSS (shared pages counted more than once) */
    uint64_t pss_bytes;       /* sum of Pss from smaps_rollup; only when pss_valid */
    int pss_valid;            /* 1 when PSS was read in this sample */
    uint64_t cpu_ticks;       /* utime+stime summed over the tree's current processes */
    double cpu_seconds_delta; /* CPU used since the previous sample by the processes of this
                                 one (new ones count whole, so the first sample gives their
                                 total); a process that exited in between adds nothing for
                                 its last interval. Never negative */
    int truncated;            /* 1 when the tree had more than PROCTREE_MAX_PROCS processes */
} proctree_sample;

/* Parsers, exposed for tests and fuzzing. Each takes the text of one /proc file (not
 * necessarily NUL-terminated, never read past len) and returns 0, or ERR_PARSE (lib/errcode.h)
 * when the text is malformed; out is only written on success. proctree_parse_stat finds the end of comm at the
 * last ')', so a comm holding spaces or ')' is parsed right. */
int proctree_parse_stat(const char *buf, size_t len, proctree_stat *out);
/* Sum of the "Pss:" line of smaps_rollup, in bytes ("Pss_Anon:" and the like are ignored;
 * ERR_PARSE when there is no "Pss: N kB" line). */
int proctree_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss_bytes);
/* Parses a children file: a space-separated list of pids. Stores up to max pids in out and
 * returns how many it found in total (may exceed max), or ERR_PARSE. */
int proctree_parse_children(const char *buf, size_t len, pid_t *out, size_t max);

/* The object keeps the previous sample's per-process CPU ticks, to compute deltas. */
typedef struct proctree proctree;

/* proc_root is normally "/proc" (tests pass a fixture folder laid out the same way); it is
 * opened once and not kept, at most 255 bytes. Returns NULL on allocation failure or when
 * proc_root cannot be opened (errno says why). The caller owns the object and the descriptors it
 * keeps open; free it with proctree_free (accepts NULL), which closes them. Not thread-safe: one
 * object per sampling thread. */
proctree *proctree_new(const char *proc_root);
void proctree_free(proctree *pt);

/* Samples every descendant of root (root itself included when include_root is set) into *out
 * (always overwritten). with_pss: also read smaps_rollup of each process (slow: it takes the
 * target's mmap lock). Processes that vanish while being read are skipped; fds of processes we
 * may not look at count 0. Returns 0, ERR_NOENT when root does not exist or its stat is not
 * that of a process (the next sample then counts every process as new), ERR_INVAL (no pt or
 * out, root <= 0), ERR_IO (root's stat cannot be read for another reason). */
int proctree_sample_tree(proctree *pt, pid_t root, int include_root, int with_pss,
                         proctree_sample *out);

/* One zombie of a sample: with pid, starttime identifies it across samples (a reused pid has
 * another start time); ppid is the parent that has not reaped it. */
typedef struct proctree_zombie {
    pid_t pid;
    pid_t ppid;
    uint64_t starttime; /* ticks after boot */
} proctree_zombie;

/* The zombies of the last proctree_sample_tree (the first PROCTREE_MAX_ZOMBIES of them, in
 * the order the walk met them): *out points into pt (valid until the next sample; may be
 * NULL). Returns how many (0 for a NULL pt). */
size_t proctree_zombies(const proctree *pt, const proctree_zombie **out);

/* Lists the descendants of root (not root itself) into out (caller's array), up to max; returns
 * the number found (may exceed max; past PROCTREE_MAX_PROCS it is a lower bound) or a negative
 * ERR_* code: ERR_NOENT (no such root), ERR_INVAL, ERR_NOMEM, ERR_SYS (proc_root cannot be
 * opened), ERR_IO (as proctree_sample_tree). Order: parents before
 * their children. Allocates about 200 KiB for the call. */
int proctree_descendants(const char *proc_root, pid_t root, pid_t *out, size_t max);

/* A filter of the walk: returns 1 when pid is not part of the tree, so that neither it nor
 * anything below it is sampled, listed or counted (a caller's own helper processes, such as
 * soak's journalctl). Asked once per process per walk, on the caller's thread; root itself is
 * never asked. */
typedef int (*proctree_skip_fn)(void *ud, pid_t pid);
/* Every later proctree_sample_tree of pt leaves out what fn names; fn NULL (the default):
 * nothing is left out. ud is the caller's and must outlive the setting. Accepts a NULL pt. */
void proctree_set_skip(proctree *pt, proctree_skip_fn fn, void *ud);
/* proctree_descendants, leaving out what fn names (fn NULL: nothing); same returns. */
int proctree_descendants_skip(const char *proc_root, pid_t root, proctree_skip_fn fn, void *ud,
                              pid_t *out, size_t max);

/* Reads PID/stat below an open proc_root folder (procfd) into *out. Returns 0, or ERR_NOENT (no
 * such process), ERR_PARSE (malformed, or not that pid), ERR_IO (cannot be read otherwise). For treekill, which
 * checks a process's start time before each signal. */
int proctree_read_stat(int procfd, pid_t pid, proctree_stat *out);

#endif
