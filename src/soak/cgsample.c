/* cgsample: a cgroup's counters and processes (v1 and v2). See cgsample.h. */
#include "cgsample.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errcode.h"

struct cgsample {
    int version;
    char dir[PATH_MAX];     /* v2: the cgroup; v1: the memory controller's directory */
    char cpuacct[PATH_MAX]; /* v1: the cpuacct directory, "" when there is none */
    char pids[PATH_MAX];    /* v1: the pids directory, "" when there is none */
    int64_t oom_base;       /* oom_kill at open (-1 unknown) */
    double last_cpu_s;      /* the counter at the last cgsample_tree (-1: none yet) */
    uint64_t last_ticks;    /* the processes' ticks at the last call (no counter) */
    char desc[PATH_MAX * 2 + 64];
};

/* Reads a small file into buf (NUL-terminated); bytes read, or -1. */
static ssize_t cg_read(const char *dir, const char *name, char *buf, size_t n)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static int cg_exists(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static int64_t cg_read_num(const char *dir, const char *name)
{
    char buf[64];
    if (!dir[0] || cg_read(dir, name, buf, sizeof buf) <= 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || v < 0)
        return -1;
    return v;
}

int cgsample_parse_keyed(const char *buf, size_t len, const char *key, int64_t *v)
{
    size_t kl = strlen(key), i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        const char *l = buf + i;
        if (n > kl && !memcmp(l, key, kl) && l[kl] == ' ') {
            long long x = 0;
            size_t j = kl + 1, digits = 0;
            while (j < n && l[j] >= '0' && l[j] <= '9' && digits < 19) {
                int d = l[j] - '0';
                if (x > (INT64_MAX - d) / 10)
                    return ERR_PARSE; /* past int64: no counter of a cgroup */
                x = x * 10 + d;
                j++;
                digits++;
            }
            if (!digits || (j < n && l[j] != ' ' && l[j] != '\r'))
                return ERR_PARSE;
            *v = x;
            return 0;
        }
        i += n + 1;
    }
    return ERR_NOENT;
}

static int64_t cg_keyed(const char *dir, const char *name, const char *key)
{
    char buf[8192];
    ssize_t n = dir[0] ? cg_read(dir, name, buf, sizeof buf) : -1;
    int64_t v;
    if (n <= 0 || cgsample_parse_keyed(buf, (size_t)n, key, &v))
        return -1;
    return v;
}

static int64_t cg_oom(const cgsample *cg)
{
    return cg->version == 2 ? cg_keyed(cg->dir, "memory.events", "oom_kill")
                            : cg_keyed(cg->dir, "memory.oom_control", "oom_kill");
}

/* v1: splits DIR = ROOT/CONTROLLER/REL at the component naming a v1 controller. */
static int cg_v1_split(const char *dir, char *root, size_t nr, char *rel, size_t nl)
{
    static const char *const ctls[] = {"memory", "cpuacct", "cpu,cpuacct", "pids", NULL};
    for (const char *p = dir; (p = strchr(p, '/')) != NULL; p++) {
        for (size_t i = 0; ctls[i]; i++) {
            size_t k = strlen(ctls[i]);
            if (!strncmp(p + 1, ctls[i], k) && (p[1 + k] == '/' || p[1 + k] == '\0')) {
                snprintf(root, nr, "%.*s", (int)(p - dir), dir);
                snprintf(rel, nl, "%s", p[1 + k] ? p + 1 + k : "");
                return 0;
            }
        }
    }
    return -1;
}

int cgsample_open(const char *path, cgsample **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cgroup '%s': %s", path, strerror(errno));
        return ERR_NOENT;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cgroup '%s': not a directory", path);
        return ERR_NOENT;
    }
    cgsample *cg = calloc(1, sizeof *cg);
    if (!cg) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    snprintf(cg->dir, sizeof cg->dir, "%s", path);
    size_t l = strlen(cg->dir);
    while (l > 1 && cg->dir[l - 1] == '/')
        cg->dir[--l] = '\0';
    char root[PATH_MAX], rel[PATH_MAX];
    if (cg_exists(cg->dir, "memory.current")) {
        cg->version = 2;
        snprintf(cg->desc, sizeof cg->desc, "cgroup v2 %s", cg->dir);
    } else if (cg_v1_split(cg->dir, root, sizeof root, rel, sizeof rel) == 0) {
        char d[PATH_MAX * 2 + 16];
        snprintf(d, sizeof d, "%s/memory%s", root, rel);
        if (!cg_exists(d, "memory.usage_in_bytes")) {
            snprintf(err, errlen,
                     "cgroup '%s' has no memory.usage_in_bytes in '%s': the v1 memory "
                     "controller does not hold this cgroup",
                     path, d);
            free(cg);
            return ERR_CONFIG;
        }
        cg->version = 1;
        snprintf(cg->dir, sizeof cg->dir, "%s", d);
        const char *cpu[] = {"cpuacct", "cpu,cpuacct", NULL};
        for (size_t i = 0; cpu[i] && !cg->cpuacct[0]; i++) {
            snprintf(d, sizeof d, "%s/%s%s", root, cpu[i], rel);
            if (cg_exists(d, "cpuacct.usage"))
                snprintf(cg->cpuacct, sizeof cg->cpuacct, "%s", d);
        }
        snprintf(d, sizeof d, "%s/pids%s", root, rel);
        if (cg_exists(d, "pids.current"))
            snprintf(cg->pids, sizeof cg->pids, "%s", d);
        snprintf(cg->desc, sizeof cg->desc, "cgroup v1 %s (cpuacct: %s, pids: %s)", cg->dir,
                 cg->cpuacct[0] ? "yes" : "no", cg->pids[0] ? "yes" : "no");
    } else {
        snprintf(err, errlen,
                 "cgroup '%s' has no memory.current: not a cgroup v2 directory with the memory "
                 "controller (nor a v1 controller's directory such as /sys/fs/cgroup/memory/NAME)",
                 path);
        free(cg);
        return ERR_CONFIG;
    }
    cg->oom_base = cg_oom(cg);
    cg->last_cpu_s = -1;
    *out = cg;
    return 0;
}

void cgsample_free(cgsample *cg)
{
    free(cg);
}

int cgsample_version(const cgsample *cg)
{
    return cg->version;
}

const char *cgsample_describe(const cgsample *cg)
{
    return cg->desc;
}

void cgsample_read(const cgsample *cg, cgsample_values *v)
{
    v->version = cg->version;
    if (cg->version == 2) {
        v->memory_bytes = cg_read_num(cg->dir, "memory.current");
        v->anon_bytes = cg_keyed(cg->dir, "memory.stat", "anon");
        v->file_bytes = cg_keyed(cg->dir, "memory.stat", "file");
        int64_t us = cg_keyed(cg->dir, "cpu.stat", "usage_usec");
        v->cpu_seconds = us < 0 ? -1 : (double)us / 1e6;
        v->pids = cg_read_num(cg->dir, "pids.current");
    } else {
        v->memory_bytes = cg_read_num(cg->dir, "memory.usage_in_bytes");
        v->anon_bytes = cg_keyed(cg->dir, "memory.stat", "rss");
        v->file_bytes = cg_keyed(cg->dir, "memory.stat", "cache");
        int64_t ns = cg_read_num(cg->cpuacct, "cpuacct.usage");
        v->cpu_seconds = ns < 0 ? -1 : (double)ns / 1e9;
        v->pids = cg_read_num(cg->pids, "pids.current");
    }
    v->oom_kills = cg_oom(cg);
}

int64_t cgsample_oom_since_open(const cgsample *cg)
{
    int64_t now = cg_oom(cg);
    if (now < 0 || cg->oom_base < 0 || now < cg->oom_base)
        return 0;
    return now - cg->oom_base;
}

size_t cgsample_procs(const cgsample *cg, pid_t *out, size_t max)
{
    static char buf[PROCTREE_MAX_PROCS * 12];
    ssize_t n = cg_read(cg->dir, "cgroup.procs", buf, sizeof buf);
    if (n <= 0)
        return 0;
    size_t count = 0;
    for (char *p = buf; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v > 0) {
            if (count < max)
                out[count] = (pid_t)v;
            count++;
        }
        p = end;
        while (*p == '\n' || *p == ' ')
            p++;
    }
    return count;
}

/* Open descriptors of one process (0 when they cannot be listed). */
static unsigned cg_fds(const char *proc_root, pid_t pid)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d/fd", proc_root, (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 1u << 20)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

size_t cgsample_tree(cgsample *cg, const char *proc_root, int with_pss, proctree_sample *out)
{
    return cgsample_tree_skip(cg, proc_root, with_pss, NULL, NULL, out);
}

size_t cgsample_tree_skip(cgsample *cg, const char *proc_root, int with_pss, proctree_skip_fn skip,
                          void *ud, proctree_sample *out)
{
    static pid_t pids[PROCTREE_MAX_PROCS];
    memset(out, 0, sizeof *out);
    size_t total = cgsample_procs(cg, pids, PROCTREE_MAX_PROCS);
    size_t n = total > PROCTREE_MAX_PROCS ? PROCTREE_MAX_PROCS : total;
    out->truncated = total > n;
    long page = sysconf(_SC_PAGESIZE);
    long hz = sysconf(_SC_CLK_TCK);
    if (page <= 0)
        page = 4096;
    if (hz <= 0)
        hz = 100;
    out->pss_valid = with_pss && n > 0;
    char buf[4096], dir[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        if (skip && skip(ud, pids[i]))
            continue; /* the caller's own helper, not the target */
        snprintf(dir, sizeof dir, "%s/%d", proc_root, (int)pids[i]);
        ssize_t len = cg_read(dir, "stat", buf, sizeof buf);
        proctree_stat ps;
        if (len <= 0 || proctree_parse_stat(buf, (size_t)len, &ps) != 0)
            continue; /* gone since the list was read */
        out->nprocs++;
        if (ps.state == 'Z') {
            out->zombies++;
            continue;
        }
        out->threads += ps.num_threads > 0 ? (unsigned)ps.num_threads : 0;
        out->rss_bytes += ps.rss_pages * (uint64_t)page;
        out->cpu_ticks += ps.utime_ticks + ps.stime_ticks;
        out->fds += cg_fds(proc_root, pids[i]);
        if (with_pss) {
            uint64_t pss;
            len = cg_read(dir, "smaps_rollup", buf, sizeof buf);
            if (len > 0 && proctree_parse_smaps_rollup(buf, (size_t)len, &pss) == 0)
                out->pss_bytes += pss;
            else
                out->pss_valid = 0;
        }
    }
    cgsample_values v;
    cgsample_read(cg, &v);
    if (v.cpu_seconds >= 0) {
        double d = cg->last_cpu_s < 0 ? v.cpu_seconds : v.cpu_seconds - cg->last_cpu_s;
        out->cpu_seconds_delta = d > 0 ? d : 0;
        cg->last_cpu_s = v.cpu_seconds;
    } else {
        uint64_t t = out->cpu_ticks;
        out->cpu_seconds_delta = t > cg->last_ticks ? (double)(t - cg->last_ticks) / (double)hz : 0;
        cg->last_ticks = t;
    }
    return out->nprocs;
}
