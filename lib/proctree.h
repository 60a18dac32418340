/*
 * proctree: find every descendant of a process by walking /proc, sample the whole tree, and
 * kill it.
 *
 * Descendants are found from /proc/PID/task/TID/children (every thread of a process, since a
 * child belongs to the thread that forked it), falling back to a scan of every /proc/PID/stat
 * when the kernel has no children files. Walking parent links rather than process groups means
 * children that called setsid() are still found; orphans only stay in the tree when the caller
 * is a child subreaper (PR_SET_CHILD_SUBREAPER), which is what `soak` does.
 *
 * Limits: a tree is at most PROCTREE_MAX_PROCS processes; past that the rest are not counted and
 * the sample says so (truncated = 1). Nothing here prints or exits.
 */
#ifndef PROCTREE_H
#define PROCTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCTREE_MAX_PROCS 4096

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
    double cpu_seconds_delta; /* CPU used since the previous sample, by processes alive in
                                 either sample (new processes count whole); never negative */
    int truncated;            /* 1 when the tree had more than PROCTREE_MAX_PROCS processes */
} proctree_sample;

/* Parsers, exposed for tests and fuzzing. Each takes the text of one /proc file (not
 * necessarily NUL-terminated) and returns 0, or -EINVAL when the text is malformed. */
int proctree_parse_stat(const char *buf, size_t len, proctree_stat *out);
/* Sum of the "Pss:" line of smaps_rollup, in bytes. */
int proctree_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss_bytes);
/* Parses a children file: a space-separated list of pids. Stores up to max pids in out and
 * returns how many it found in total (may exceed max), or -EINVAL. */
int proctree_parse_children(const char *buf, size_t len, pid_t *out, size_t max);

/* The object keeps the previous sample's per-process CPU ticks, to compute deltas. */
typedef struct proctree proctree;

/* proc_root is normally "/proc" (tests pass a fixture folder laid out the same way).
 * Returns NULL on allocation failure. Free with proctree_free (accepts NULL). */
proctree *proctree_new(const char *proc_root);
void proctree_free(proctree *pt);

/* Samples every descendant of root (root itself included when include_root is set).
 * with_pss: also read smaps_rollup of each process (slow: it stalls the target).
 * Processes that vanish while being read are skipped. Returns 0, or a negative errno when
 * proc_root cannot be read at all. */
int proctree_sample_tree(proctree *pt, pid_t root, int include_root, int with_pss,
                         proctree_sample *out);

/* Lists the descendants of root (not root itself) into out, up to max; returns the number
 * found (may exceed max) or a negative errno. Order: parents before their children. */
int proctree_descendants(const char *proc_root, pid_t root, pid_t *out, size_t max);

/* Sends sig to root's process group (when root leads one), to root (when include_root) and to
 * every descendant. Returns how many processes were signalled (>= 0) or a negative errno.
 * Never blocks. */
int proctree_signal_tree(pid_t root, int include_root, int sig);

/* Kills a process and all its descendants: SIGTERM to root's process group (when root leads
 * one) and to every descendant, waits up to timeout_ms for them to go, then SIGKILL to whatever
 * is left, repeated until none is left or another timeout_ms has passed. Processes that are
 * our own children are reaped (waitpid) as they exit. Returns the number of processes that
 * needed SIGKILL (>= 0), or a negative errno. include_root: also signal root itself. */
int proctree_kill_tree(pid_t root, int include_root, unsigned timeout_ms);

#endif
