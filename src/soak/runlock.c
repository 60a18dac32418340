/* runlock: the run's lock and pid file. See runlock.h. */
#include "runlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errcode.h"
#include "proctree.h"

static void runlock_path(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static struct flock runlock_whole(short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
    return fl;
}

int runlock_take(runlock *l, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    l->fd = -1;
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    runlock_path(path, sizeof path, dir, RUNLOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        return ERR_IO;
    }
    struct flock fl = runlock_whole(F_WRLCK);
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;
        close(fd);
        if (e == EAGAIN || e == EACCES) {
            runlock_owner o;
            if (runlock_read_pid(dir, &o) == 0)
                snprintf(err, errlen, "'%s' is in use by a running soak (pid %d)", dir, (int)o.pid);
            else
                snprintf(err, errlen, "'%s' is in use by a running soak", dir);
            return ERR_BUSY;
        }
        snprintf(err, errlen, "cannot lock '%s': %s", path, strerror(e));
        return ERR_IO;
    }
    l->fd = fd;
    return 0;
}

void runlock_release(runlock *l)
{
    if (l && l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

int runlock_held(const char *dir)
{
    char path[PATH_MAX + 16];
    runlock_path(path, sizeof path, dir, RUNLOCK_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : ERR_IO;
    struct flock fl = runlock_whole(F_WRLCK);
    int rc = fcntl(fd, F_OFD_GETLK, &fl);
    close(fd);
    if (rc != 0)
        return ERR_IO;
    return fl.l_type != F_UNLCK;
}

/* /proc/PID/stat through the one parser (proctree.h). Returns 0 or an ERR_* code. */
static int runlock_stat(pid_t pid, proctree_stat *st)
{
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return ERR_IO;
    int rc = proctree_read_stat(procfd, pid, st);
    close(procfd);
    return rc;
}

uint64_t runlock_proc_start(pid_t pid)
{
    proctree_stat st;
    return pid > 0 && runlock_stat(pid, &st) == 0 ? st.starttime : 0;
}

int runlock_write_pid(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
    runlock_path(path, sizeof path, dir, RUNLOCK_PIDFILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        return ERR_IO;
    }
    pid_t me = getpid();
    fprintf(f, "%d\nstart %llu\ndir %s\n", (int)me, (unsigned long long)runlock_proc_start(me),
            dir);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return ERR_IO;
    }
    runlock_path(path, sizeof path, dir, RUNLOCK_CHILDREN);
    f = fopen(path, "w");
    if (f)
        fclose(f);
    return 0;
}

int runlock_read_pid(const char *dir, runlock_owner *out)
{
    char path[PATH_MAX + 16], line[PATH_MAX + 16];
    memset(out, 0, sizeof *out);
    runlock_path(path, sizeof path, dir, RUNLOCK_PIDFILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return ERR_NOENT;
    int ok = 0;
    if (fgets(line, sizeof line, f)) {
        char *end;
        long pid = strtol(line, &end, 10);
        if (end != line && pid > 0 && pid <= INT32_MAX) {
            out->pid = (pid_t)pid;
            ok = 1;
        }
    }
    while (ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "start ", 6))
            out->start_ticks = strtoull(line + 6, NULL, 10);
        else if (!strncmp(line, "dir ", 4))
            snprintf(out->dir, sizeof out->dir, "%s", line + 4);
    }
    fclose(f);
    return ok ? 0 : ERR_PARSE;
}

int runlock_owner_matches(const runlock_owner *o, const char *dir, uint64_t live_ticks, int held)
{
    if (!held || o->pid <= 0 || live_ticks == 0)
        return 0;
    if (o->start_ticks == 0 || o->start_ticks != live_ticks)
        return 0;
    return o->dir[0] && strcmp(o->dir, dir) == 0;
}

pid_t runlock_owner_pid(const char *dir)
{
    char abs[PATH_MAX];
    runlock_owner o;
    if (!realpath(dir, abs) || runlock_read_pid(abs, &o) != 0)
        return 0;
    int held = runlock_held(abs) == 1;
    return runlock_owner_matches(&o, abs, runlock_proc_start(o.pid), held) ? o.pid : 0;
}

int runlock_note_child(const char *dir, pid_t pid)
{
    char path[PATH_MAX + 16];
    runlock_path(path, sizeof path, dir, RUNLOCK_CHILDREN);
    FILE *f = fopen(path, "a");
    if (!f)
        return ERR_IO;
    fprintf(f, "%d %llu\n", (int)pid, (unsigned long long)runlock_proc_start(pid));
    return fclose(f) == 0 ? 0 : ERR_IO;
}

static int runlock_has(const pid_t *pids, size_t n, pid_t p)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == p)
            return 1;
    return 0;
}

size_t runlock_leftovers(const char *dir, pid_t *pids, size_t cap)
{
    char path[PATH_MAX + 16];
    runlock_path(path, sizeof path, dir, RUNLOCK_CHILDREN);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    /* the newest RUNLOCK_MAX_CHILDREN entries, in a ring */
    pid_t rec[RUNLOCK_MAX_CHILDREN];
    uint64_t ticks[RUNLOCK_MAX_CHILDREN];
    size_t nrec = 0, total = 0;
    int p;
    unsigned long long t;
    while (fscanf(f, "%d %llu", &p, &t) == 2) {
        rec[total % RUNLOCK_MAX_CHILDREN] = (pid_t)p;
        ticks[total % RUNLOCK_MAX_CHILDREN] = t;
        total++;
    }
    fclose(f);
    nrec = total < RUNLOCK_MAX_CHILDREN ? total : RUNLOCK_MAX_CHILDREN;
    size_t n = 0;
    for (size_t i = 0; i < nrec && n < cap; i++) {
        uint64_t live = runlock_proc_start(rec[i]);
        if (rec[i] > 0 && live && live == ticks[i] && !runlock_has(pids, n, rec[i]))
            pids[n++] = rec[i];
    }
    /* the rest of their groups: the service's children that outlived it */
    DIR *d = opendir("/proc");
    if (!d)
        return n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        char *end;
        long q = strtol(e->d_name, &end, 10);
        if (*end || q <= 1 || q == getpid())
            continue;
        proctree_stat st;
        if (runlock_stat((pid_t)q, &st) != 0)
            continue;
        for (size_t i = 0; i < nrec; i++) {
            if (st.pgrp != rec[i] || runlock_has(pids, n, (pid_t)q))
                continue;
            if (st.starttime >= ticks[i]) {
                pids[n++] = (pid_t)q;
                break;
            }
        }
    }
    closedir(d);
    return n;
}
