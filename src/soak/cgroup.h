/*
 * cgroup: confirm OOM kills through cgroup v2 memory.events.
 *
 * At start, soak tries to create a child cgroup next to its own (delegated cgroup v2 with the
 * memory controller) and puts the service in it; failing that it watches its own cgroup, whose
 * memory.events counts OOM kills of the whole subtree, the service included. Where neither is
 * possible (cgroup v1, no memory controller), cgroup_oom_kills says why it cannot confirm.
 */
#ifndef SOAK_CGROUP_H
#define SOAK_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

typedef struct cgroup cgroup;

/* Never fails: returns an object that may only be able to say "cannot confirm".
 * Returns NULL only when out of memory (every function accepts NULL). */
cgroup *cgroup_new(pid_t self);
void cgroup_free(cgroup *cg);

/* In the forked child, before exec: joins the service cgroup when there is one.
 * Async-signal-safe. */
void cgroup_enter_child(const cgroup *cg);

/* OOM kills since cgroup_new (> 0: confirmed), 0 when none were counted, -1 when this cannot
 * be known; why says which file was read or why none could be. */
int cgroup_oom_kills(cgroup *cg, char *why, size_t n);

/* A line for the run record: "cgroup v2 /sys/fs/cgroup/x/soak-123 (service)" or the reason
 * why there is none. */
const char *cgroup_describe(const cgroup *cg);

#endif
