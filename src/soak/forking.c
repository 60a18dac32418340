/* forking: the main pid of a daemonized service. See forking.h. */
#include "forking.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errcode.h"
#include "proctree.h"

#define FORKING_PIDFILE_MAX 64 /* bytes of a pid file read at most */

int forking_parse_pid(const char *buf, size_t len, pid_t *pid)
{
    char tmp[FORKING_PIDFILE_MAX + 1];
    if (len == 0 || len > FORKING_PIDFILE_MAX)
        return ERR_PARSE;
    memcpy(tmp, buf, len);
    tmp[len] = '\0';
    if (tmp[0] < '0' || tmp[0] > '9')
        return ERR_PARSE;
    errno = 0;
    char *end;
    long v = strtol(tmp, &end, 10);
    if (errno || v <= 0 || v > INT32_MAX)
        return ERR_PARSE;
    for (; *end; end++)
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
            return ERR_PARSE;
    *pid = (pid_t)v;
    return 0;
}

int forking_read_pid_file(const char *path, pid_t *pid)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOENT : ERR_IO;
    char buf[FORKING_PIDFILE_MAX + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0)
        return ERR_IO;
    if ((size_t)n > FORKING_PIDFILE_MAX)
        return ERR_PARSE;
    return forking_parse_pid(buf, (size_t)n, pid);
}

#define FORKING_WALK_MAX   1024 /* processes of the tree looked at (the top is found early) */
#define FORKING_WALK_TRIES 3    /* walks that found none alive but met a zombie, at most */

/* One walk: the descendants of root that are alive, into out (up to max), and how many of the
 * walk were zombies. Returns the count or ERR_*. */
static int forking_walk(const char *proc_root, pid_t root, pid_t *out, size_t max,
                        proctree_stat *stats, int *zombies)
{
    *zombies = 0;
    int n = proctree_descendants(proc_root, root, out, max);
    if (n < 0)
        return n;
    if ((size_t)n > max)
        n = (int)max;
    int procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return ERR_SYS;
    int k = 0;
    for (int i = 0; i < n; i++) {
        proctree_stat st;
        if (proctree_read_stat(procfd, out[i], &st) != 0)
            continue;
        if (st.state == 'Z' || st.state == 'X') {
            ++*zombies;
            continue;
        }
        out[k] = out[i];
        if (stats)
            stats[k] = st;
        k++;
    }
    close(procfd);
    return k;
}

/* The descendants of root that are alive, into out (up to max). Returns the count or ERR_*.
 * A process hands its children to the subreaper (root) before it turns zombie. A walk that
 * listed root's children before such a hand-over, and then found the process a zombie, missed
 * its children: the middle process of a double fork exiting while the shim counts would hide
 * the daemon. A walk after the zombie was seen lists them, so a walk that found none alive but
 * met a zombie is taken again. */
static int forking_live(const char *proc_root, pid_t root, pid_t *out, size_t max,
                        proctree_stat *stats)
{
    int n, zombies, tries = 0;
    do
        n = forking_walk(proc_root, root, out, max, stats, &zombies);
    while (n == 0 && zombies > 0 && ++tries < FORKING_WALK_TRIES);
    return n;
}

int forking_tree_left(const char *proc_root, pid_t root, pid_t exclude)
{
    pid_t *pids = malloc(FORKING_WALK_MAX * sizeof *pids);
    if (!pids)
        return ERR_NOMEM;
    int n = forking_live(proc_root, root, pids, FORKING_WALK_MAX, NULL);
    int left = 0;
    for (int i = 0; i < n; i++)
        if (pids[i] != exclude)
            left++;
    free(pids);
    return n < 0 ? n : left;
}

pid_t forking_tree_top(const char *proc_root, pid_t root)
{
    pid_t *pids = malloc(FORKING_WALK_MAX * sizeof *pids);
    proctree_stat *st = malloc(FORKING_WALK_MAX * sizeof *st);
    pid_t top = 0;
    uint64_t top_start = 0;
    int n = pids && st ? forking_live(proc_root, root, pids, FORKING_WALK_MAX, st) : 0;
    for (int i = 0; i < n; i++) {
        if (st[i].ppid != root)
            continue;
        if (!top || st[i].starttime < top_start ||
            (st[i].starttime == top_start && st[i].pid < top)) {
            top = st[i].pid;
            top_start = st[i].starttime;
        }
    }
    free(pids);
    free(st);
    return top;
}

int forking_in_tree(const char *proc_root, pid_t root, pid_t pid)
{
    pid_t *pids = malloc(FORKING_WALK_MAX * sizeof *pids);
    if (!pids)
        return 0;
    int n = forking_live(proc_root, root, pids, FORKING_WALK_MAX, NULL);
    int found = 0;
    for (int i = 0; i < n && !found; i++)
        found = pids[i] == pid;
    free(pids);
    return found;
}

int forking_find_main(const char *proc_root, pid_t root, const char *pid_file, pid_t *pid,
                      char *msg, size_t msglen)
{
    if (pid_file && pid_file[0]) {
        pid_t p = 0;
        int rc = forking_read_pid_file(pid_file, &p);
        if (rc == ERR_NOENT) {
            snprintf(msg, msglen, "the pid file '%s' is not there", pid_file);
            return ERR_NOENT;
        }
        if (rc != 0) {
            snprintf(msg, msglen, "the pid file '%s' holds no pid", pid_file);
            return ERR_NOENT;
        }
        if (!forking_in_tree(proc_root, root, p)) {
            snprintf(msg, msglen,
                     "the pid file '%s' names pid %d, not a live process of the service", pid_file,
                     (int)p);
            return ERR_NOENT;
        }
        *pid = p;
        return 0;
    }
    pid_t top = forking_tree_top(proc_root, root);
    if (!top) {
        snprintf(msg, msglen, "no process of the service is left");
        return ERR_NOENT;
    }
    *pid = top;
    return 0;
}
