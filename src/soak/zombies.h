/*
 * zombies: which zombies of the service's tree persist, as pure logic (no I/O; the time and
 * the zombies of each sample are arguments; sampler.c measures and calls it).
 *
 * A zombie is a child that exited and whose parent has not waited for it yet. A parent that
 * runs `cmd & wait` has one for the moment between the child's exit and the wait: that is
 * healthy. A zombie persists when it is seen in samples for at least grace_ms (from the first
 * sample that saw it with its parent, by pid and start time, so a reused pid is a new zombie,
 * and one reparented when its parent died — to a subreaper such as soak's shim — is the new
 * parent's, its time starting again); the runbook's
 * "0 zombie processes" gate reads that count (docs/gates.md). grace_ms 0 counts every zombie
 * at once.
 *
 * The first time a zombie of a given parent persists, the update names that parent (so the
 * run can record which process does not reap; once per parent, for up to
 * ZOMBIES_PARENTS_CAP parents; later ones are counted, not named).
 *
 * Caps: ZOMBIES_TRACK_CAP zombies followed (= PROCTREE_MAX_ZOMBIES, what a sample lists);
 * past that the rest are not followed and do not count as persistent. The object is plain
 * memory (about 8 KiB), no allocation; one per run, loop thread only.
 */
#ifndef SOAK_ZOMBIES_H
#define SOAK_ZOMBIES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proctree.h"

#define ZOMBIES_TRACK_CAP   PROCTREE_MAX_ZOMBIES
#define ZOMBIES_PARENTS_CAP 64

typedef struct zombies_ent {
    pid_t pid, ppid;
    uint64_t starttime;
    uint64_t first_ms; /* the first sample that saw it */
} zombies_ent;

typedef struct zombies {
    uint64_t grace_ms;
    zombies_ent e[ZOMBIES_TRACK_CAP];
    size_t n;
    pid_t named[ZOMBIES_PARENTS_CAP]; /* parents already named */
    size_t nnamed;
    unsigned persistent;     /* of the last update */
    unsigned persistent_max; /* over all updates */
} zombies;

/* What one update found. */
typedef struct zombies_result {
    unsigned persistent; /* zombies seen for at least grace_ms */
    pid_t new_parent;    /* > 0: this parent holds a persistent zombie for the first time */
    unsigned held;       /* how many persistent zombies new_parent holds now */
} zombies_result;

void zombies_init(zombies *z, uint64_t grace_ms);

/* The zombies of the sample at now_ms (list of n; list may be NULL when n is 0). Forgets the
 * zombies that are gone (reaped). Returns the count and updates z->persistent(_max). */
zombies_result zombies_update(zombies *z, const proctree_zombie *list, size_t n, uint64_t now_ms);

#endif
