/* zombies: transient or persistent. See zombies.h. */
#include "zombies.h"

#include <string.h>

void zombies_init(zombies *z, uint64_t grace_ms)
{
    memset(z, 0, sizeof *z);
    z->grace_ms = grace_ms;
}

static const zombies_ent *zombies_find(const zombies *z, const proctree_zombie *p)
{
    for (size_t i = 0; i < z->n; i++)
        if (z->e[i].pid == p->pid && z->e[i].starttime == p->starttime)
            return &z->e[i];
    return NULL;
}

static int zombies_was_named(const zombies *z, pid_t ppid)
{
    for (size_t i = 0; i < z->nnamed; i++)
        if (z->named[i] == ppid)
            return 1;
    return 0;
}

zombies_result zombies_update(zombies *z, const proctree_zombie *list, size_t n, uint64_t now_ms)
{
    zombies_result r = {0, 0, 0};
    zombies_ent next[ZOMBIES_TRACK_CAP];
    size_t nn = 0;
    if (!list)
        n = 0;
    for (size_t i = 0; i < n && nn < ZOMBIES_TRACK_CAP; i++) {
        const zombies_ent *old = zombies_find(z, &list[i]);
        /* a zombie whose parent died is the new parent's (a subreaper, soak's shim) to reap:
         * its time starts again, or the shim reaping what sleep left at the stop was named */
        next[nn] = (zombies_ent){list[i].pid, list[i].ppid, list[i].starttime,
                                 old && old->ppid == list[i].ppid ? old->first_ms : now_ms};
        if (now_ms - next[nn].first_ms >= z->grace_ms) {
            r.persistent++;
            if (!r.new_parent && !zombies_was_named(z, list[i].ppid) &&
                z->nnamed < ZOMBIES_PARENTS_CAP)
                r.new_parent = list[i].ppid;
        }
        nn++;
    }
    if (r.new_parent) {
        z->named[z->nnamed++] = r.new_parent;
        for (size_t i = 0; i < nn; i++)
            if (next[i].ppid == r.new_parent && now_ms - next[i].first_ms >= z->grace_ms)
                r.held++;
    }
    memcpy(z->e, next, nn * sizeof next[0]);
    z->n = nn;
    z->persistent = r.persistent;
    if (r.persistent > z->persistent_max)
        z->persistent_max = r.persistent;
    return r;
}
