/*
 * cgsample: what `soak watch --cgroup` (and --unit, --container) reads of a cgroup: its own
 * counters and its processes, into the same sample columns `soak run` stores.
 *
 * cgroup v2 (a directory with memory.current): memory.current, memory.stat (anon, file),
 * cpu.stat (usage_usec), pids.current, memory.events (oom_kill), cgroup.procs. cgroup v1 (a
 * directory of one controller's hierarchy, e.g. /sys/fs/cgroup/memory/x): the memory
 * controller's memory.usage_in_bytes, memory.stat (rss, cache), memory.oom_control (oom_kill,
 * kernels >= 4.13) and cgroup.procs; the cpuacct controller's cpuacct.usage (ns, in
 * ROOT/cpuacct/REL or ROOT/cpu,cpuacct/REL) and the pids controller's pids.current
 * (ROOT/pids/REL), each when it exists.
 *
 * The processes: RSS, threads, fds, zombies and (when asked) PSS summed over the processes in
 * cgroup.procs (read below proc_root, "/proc"; at most PROCTREE_MAX_PROCS of them, the rest
 * counted as truncated); CPU from the cgroup's own counter (exact: it includes processes that
 * exited between samples), or from the processes' ticks where there is no counter.
 *
 * Errors: 0 or a negative ERR_* with a message "cgroup 'PATH' ...": ERR_NOENT (no such
 * directory), ERR_CONFIG (a directory, but neither v2 with the memory controller nor a v1
 * memory controller's), ERR_NOMEM. Reads of a cgroup that was removed since give 0 processes
 * and unknown (-1) counters, never an error. Caps: paths up to PATH_MAX. One object per
 * target, the loop thread only; the caller owns it (cgsample_free accepts NULL).
 */
#ifndef SOAK_CGSAMPLE_H
#define SOAK_CGSAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proctree.h"

typedef struct cgsample cgsample;

/* A cgroup's own counters; -1 where the file is missing or unreadable. */
typedef struct cgsample_values {
    int version;          /* 1 or 2 */
    int64_t memory_bytes; /* v2 memory.current, v1 memory.usage_in_bytes */
    int64_t anon_bytes;   /* memory.stat: v2 anon, v1 rss */
    int64_t file_bytes;   /* memory.stat: v2 file, v1 cache */
    double cpu_seconds;   /* v2 cpu.stat usage_usec, v1 cpuacct.usage; < 0 unknown */
    int64_t pids;         /* pids.current */
    int64_t oom_kills;    /* v2 memory.events oom_kill, v1 memory.oom_control oom_kill */
} cgsample_values;

/* Opens the cgroup at path (a directory; trailing '/' allowed) and reads its oom_kill count as
 * the baseline. */
int cgsample_open(const char *path, cgsample **out, char *err, size_t errlen);
void cgsample_free(cgsample *cg);

/* 1 or 2. */
int cgsample_version(const cgsample *cg);
/* "cgroup v2 /sys/fs/cgroup/x" or "cgroup v1 /sys/fs/cgroup/memory/x (+cpuacct, pids)". */
const char *cgsample_describe(const cgsample *cg);

/* Reads the counters now (never fails: missing ones are -1). */
void cgsample_read(const cgsample *cg, cgsample_values *v);
/* OOM kills since cgsample_open (0 when none or unknown). */
int64_t cgsample_oom_since_open(const cgsample *cg);

/* The pids in cgroup.procs, up to max, into out; returns how many there are (may exceed max),
 * 0 when the cgroup is empty or gone. */
size_t cgsample_procs(const cgsample *cg, pid_t *out, size_t max);

/* One sample of the cgroup's processes (below proc_root) into *out (always overwritten):
 * nprocs, zombies, threads, fds, rss_bytes, pss (with_pss), cpu_seconds_delta since the last
 * call (the first call gives the counter's total so far, as proctree does for new processes).
 * Returns the number of processes (0: empty). */
size_t cgsample_tree(cgsample *cg, const char *proc_root, int with_pss, proctree_sample *out);
/* cgsample_tree, leaving out the processes skip names (soak's own helpers, when soak runs in
 * the cgroup it watches); the cgroup's own counters (cpu, pids.current, memory) still count
 * them. skip NULL: cgsample_tree. */
size_t cgsample_tree_skip(cgsample *cg, const char *proc_root, int with_pss, proctree_skip_fn skip,
                          void *ud, proctree_sample *out);

/* Parsers, exposed for tests: the value of KEY in a "KEY VALUE" file (memory.stat, cpu.stat,
 * memory.events, memory.oom_control); 0 and *v, or ERR_NOENT / ERR_PARSE. */
int cgsample_parse_keyed(const char *buf, size_t len, const char *key, int64_t *v);

#endif
