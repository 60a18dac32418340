/* cgroup: OOM-kill confirmation from cgroup v2 memory.events. See cgroup.h. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cgroup {
    char dir[PATH_MAX];        /* the cgroup whose memory.events we read; "" if none */
    char procs[PATH_MAX + 16]; /* cgroup.procs of the service cgroup; "" if not created */
    int created;               /* we made dir and must remove it */
    long baseline;             /* oom_kill at start */
    char desc[PATH_MAX + 64];
};

/* Finds the cgroup2 mount point in /proc/self/mountinfo. */
static int cgroup_mount(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return -1;
    char line[4096];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - ");
        if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
            continue;
        /* field 5 is the mount point */
        char *p = line;
        for (int i = 0; i < 4 && p; i++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (!p)
            continue;
        char *end = strchr(p, ' ');
        if (!end)
            continue;
        snprintf(out, n, "%.*s", (int)(end - p), p);
        found = 0;
        break;
    }
    fclose(f);
    return found;
}

static long cgroup_read_oom(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/memory.events", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "oom_kill ", 9) == 0)
            v = strtol(line + 9, NULL, 10);
    fclose(f);
    return v;
}

cgroup *cgroup_new(pid_t self)
{
    cgroup *cg = calloc(1, sizeof *cg);
    if (!cg)
        return NULL;
    char mnt[PATH_MAX / 2], own[PATH_MAX / 2] = "";
    if (cgroup_mount(mnt, sizeof mnt)) {
        snprintf(cg->desc, sizeof cg->desc, "no cgroup v2 mount");
        return cg;
    }
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        char line[PATH_MAX];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "0::", 3) == 0) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(own, sizeof own, "%.*s", (int)(sizeof own - 1), line + 3);
            }
        fclose(f);
    }
    char owndir[PATH_MAX];
    snprintf(owndir, sizeof owndir, "%s%s", mnt, strcmp(own, "/") ? own : "");
    /* a cgroup of the service's own, when delegation and the memory controller allow it */
    char child[PATH_MAX];
    int w = snprintf(child, sizeof child, "%s/soak-%d", owndir, (int)self);
    if (w > 0 && (size_t)w < sizeof child && mkdir(child, 0755) == 0) {
        if (cgroup_read_oom(child) >= 0) {
            snprintf(cg->dir, sizeof cg->dir, "%s", child);
            snprintf(cg->procs, sizeof cg->procs, "%s/cgroup.procs", child);
            cg->created = 1;
        } else {
            rmdir(child);
        }
    }
    if (!cg->dir[0] && cgroup_read_oom(owndir) >= 0)
        snprintf(cg->dir, sizeof cg->dir, "%s", owndir);
    if (!cg->dir[0]) {
        snprintf(cg->desc, sizeof cg->desc, "no memory.events in cgroup v2 '%s'", owndir);
        return cg;
    }
    cg->baseline = cgroup_read_oom(cg->dir);
    snprintf(cg->desc, sizeof cg->desc, "cgroup v2 '%s'%s", cg->dir,
             cg->created ? " (the service's own)" : " (soak's, covers the service)");
    return cg;
}

void cgroup_free(cgroup *cg)
{
    if (!cg)
        return;
    if (cg->created)
        rmdir(cg->dir); /* fails harmlessly while a process is still in it */
    free(cg);
}

void cgroup_enter_child(const cgroup *cg)
{
    if (!cg || !cg->procs[0])
        return;
    int fd = open(cg->procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t w = write(fd, "0", 1);
    (void)w;
    close(fd);
}

int cgroup_oom_kills(cgroup *cg, char *why, size_t n)
{
    if (!cg || !cg->dir[0]) {
        snprintf(why, n, "cannot be confirmed: %s", cg ? cg->desc : "no cgroup");
        return -1;
    }
    long v = cgroup_read_oom(cg->dir);
    if (v < 0) {
        snprintf(why, n, "cannot be confirmed: cannot read '%s/memory.events'", cg->dir);
        return -1;
    }
    long d = v - cg->baseline;
    snprintf(why, n, "oom_kill went from %ld to %ld in '%s/memory.events'", cg->baseline, v,
             cg->dir);
    if (d > 0)
        cg->baseline = v;
    else
        snprintf(why, n, "not confirmed: oom_kill unchanged in '%s/memory.events'", cg->dir);
    return d > 0 ? (int)d : 0;
}

const char *cgroup_describe(const cgroup *cg)
{
    return cg ? cg->desc : "none";
}
