/*
 * proctree: walk and sample a process tree through /proc. See proctree.h for the contract.
 *
 * Cost model: a sample reads, per process, its stat file, its fd folder (one getdents64 call for
 * a few hundred fds) and the children file of each of its threads; nothing is allocated per
 * sample. Files are opened relative to a descriptor of proc_root so the kernel walks only
 * "PID/stat", not "/proc/PID/stat". The fallback for kernels without children files
 * (CONFIG_PROC_CHILDREN=n) reads every /proc/PID/stat, so it is O(processes on the machine).
 */
#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "errcode.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#define PT_ROOT_MAX  256                           /* longest proc_root accepted */
#define PT_STAT_BUF  2048                          /* a stat line is ~300 bytes */
#define PT_SMAPS_BUF 4096                          /* smaps_rollup is ~1 KiB */
#define PT_TEXT_BUF  (PROCTREE_MAX_PROCS * 8 + 64) /* children file of a big parent */
#define PT_SET_CAP   (2 * PROCTREE_MAX_PROCS)      /* open addressing, load <= 1/2 */
#define PT_SCAN_MAX  65536 /* processes read by the fallback scan; the rest are ignored */
#define PT_HELD_MAX  128   /* processes whose stat and children files stay open */
#define PT_HELD_CAP  256   /* slots of the held table, a power of two */

/* ---- parsers ---------------------------------------------------------------------------- */

/* Unsigned decimal at *p (before end), optionally preceded by '-'; advances *p. */
static int parse_num(const char **p, const char *end, int *neg, uint64_t *out)
{
    const char *s = *p;
    *neg = 0;
    if (s < end && *s == '-') {
        *neg = 1;
        s++;
    }
    if (s >= end || *s < '0' || *s > '9')
        return ERR_PARSE;
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return ERR_PARSE;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int parse_u64(const char **p, const char *end, uint64_t *out)
{
    int neg;
    if (parse_num(p, end, &neg, out) || neg)
        return ERR_PARSE;
    return 0;
}

/* Fields of /proc/PID/stat, numbered as in proc(5); we need up to rss (24). */
enum {
    F_STATE = 3,
    F_PPID = 4,
    F_PGRP = 5,
    F_SESSION = 6,
    F_UTIME = 14,
    F_STIME = 15,
    F_NUM_THREADS = 20,
    F_STARTTIME = 22,
    F_RSS = 24,
    F_LAST = 24
};

int proctree_parse_stat(const char *buf, size_t len, proctree_stat *out)
{
    if (!buf || !out || len == 0)
        return ERR_PARSE;
    const char *end = buf + len;
    /* "PID (COMM) S ...": COMM may hold spaces and ')', so it ends at the last ')'. */
    const char *open = memchr(buf, '(', len);
    if (!open)
        return ERR_PARSE;
    const char *close = memrchr(open, ')', (size_t)(end - open));
    if (!close)
        return ERR_PARSE;
    const char *p = buf;
    uint64_t pid;
    if (parse_u64(&p, open, &pid) || pid == 0 || pid > INT_MAX || p + 1 != open || *p != ' ')
        return ERR_PARSE;

    p = close + 1;
    if (end - p < 2 || p[0] != ' ')
        return ERR_PARSE;
    char state = p[1];
    if (!((state >= 'A' && state <= 'Z') || (state >= 'a' && state <= 'z')))
        return ERR_PARSE;
    p += 2;

    uint64_t f[F_LAST + 1] = {0};
    int neg[F_LAST + 1] = {0};
    for (int i = F_STATE + 1; i <= F_LAST; i++) {
        if (p >= end || *p != ' ')
            return ERR_PARSE;
        p++;
        if (parse_num(&p, end, &neg[i], &f[i]))
            return ERR_PARSE;
    }
    if (p < end && *p != ' ' && *p != '\n')
        return ERR_PARSE;
    static const int nonneg[] = {F_PPID,  F_PGRP,        F_SESSION,   F_UTIME,
                                 F_STIME, F_NUM_THREADS, F_STARTTIME, F_RSS};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        if (neg[nonneg[i]])
            return ERR_PARSE;
    if (f[F_PPID] > INT_MAX || f[F_PGRP] > INT_MAX || f[F_SESSION] > INT_MAX ||
        f[F_NUM_THREADS] > LONG_MAX)
        return ERR_PARSE;

    out->pid = (pid_t)pid;
    out->ppid = (pid_t)f[F_PPID];
    out->pgrp = (pid_t)f[F_PGRP];
    out->session = (pid_t)f[F_SESSION];
    out->state = state;
    out->utime_ticks = f[F_UTIME];
    out->stime_ticks = f[F_STIME];
    out->num_threads = (long)f[F_NUM_THREADS];
    out->starttime = f[F_STARTTIME];
    out->rss_pages = f[F_RSS];
    return 0;
}

int proctree_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss_bytes)
{
    if ((!buf && len) || !pss_bytes)
        return ERR_PARSE;
    const char *p = buf, *end = buf + len;
    uint64_t sum = 0;
    int found = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (eol - p >= 4 && memcmp(p, "Pss:", 4) == 0) {
            const char *q = p + 4;
            uint64_t kb;
            while (q < eol && (*q == ' ' || *q == '\t'))
                q++;
            if (parse_u64(&q, eol, &kb))
                return ERR_PARSE;
            while (q < eol && (*q == ' ' || *q == '\t'))
                q++;
            if (eol - q < 2 || q[0] != 'k' || q[1] != 'B')
                return ERR_PARSE;
            for (q += 2; q < eol; q++)
                if (*q != ' ' && *q != '\t')
                    return ERR_PARSE;
            if (kb > UINT64_MAX / 1024 || sum > UINT64_MAX - kb * 1024)
                return ERR_PARSE;
            sum += kb * 1024;
            found = 1;
        }
        p = nl ? nl + 1 : end;
    }
    if (!found)
        return ERR_PARSE;
    *pss_bytes = sum;
    return 0;
}

int proctree_parse_children(const char *buf, size_t len, pid_t *out, size_t max)
{
    if (!buf && len)
        return ERR_PARSE;
    const char *p = buf, *end = buf + len;
    size_t n = 0;
    while (p < end) {
        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        uint64_t v;
        if (parse_u64(&p, end, &v) || v == 0 || v > INT_MAX)
            return ERR_PARSE;
        if (p < end && *p != ' ' && *p != '\n')
            return ERR_PARSE;
        if (out && n < max)
            out[n] = (pid_t)v;
        if (++n == INT_MAX)
            return ERR_PARSE;
    }
    return (int)n;
}

/* ---- file helpers --------------------------------------------------------------------------- */

/* Reads up to cap bytes of dirfd/path. A /proc file gives all it has in one read, so a short
 * read ends it; a full buffer means the file may be longer (callers that care check n == cap).
 * Returns the length or a negative errno. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t cap)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            return e;
        }
        n += (size_t)r;
        if (r == 0 || (size_t)r < cap - (n - (size_t)r))
            break;
    }
    close(fd);
    return (ssize_t)n;
}

/* read_at for a file kept open: reads from offset 0, so procfs regenerates the text. */
static ssize_t pread_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = pread(fd, buf + n, cap - n, (off_t)n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        n += (size_t)r;
        if (r == 0 || (size_t)r < cap - (n - (size_t)r))
            break;
    }
    return (ssize_t)n;
}

/* The public functions return ERR_* codes (lib/errcode.h); inside, a failure is a negative
 * errno, mapped once on the way out: the two ranges overlap (-ESRCH is ERR_IO) and must not
 * meet. */
static int pt_code(long neg_errno)
{
    switch (-neg_errno) {
    case ENOENT:
    case ESRCH:
        return ERR_NOENT;
    case ENOMEM:
        return ERR_NOMEM;
    case EINVAL:
        return ERR_PARSE;
    default:
        return ERR_IO;
    }
}

/* PID/stat into *st: 0, or a negative errno (-EINVAL: malformed or not that pid). */
static int read_stat(int procfd, pid_t pid, proctree_stat *st)
{
    char path[32], buf[PT_STAT_BUF];
    snprintf(path, sizeof path, "%d/stat", (int)pid);
    ssize_t n = read_at(procfd, path, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    if (proctree_parse_stat(buf, (size_t)n, st) || st->pid != pid)
        return -EINVAL;
    return 0;
}

int proctree_read_stat(int procfd, pid_t pid, proctree_stat *st)
{
    int rc = read_stat(procfd, pid, st);
    return rc ? pt_code(rc) : 0;
}

/* Calls fn(ctx, name) for each entry of the open folder fd but "." and ".."; fn returns
 * nonzero to stop. Returns the number of entries seen or a negative errno.
 * procfs: procfs fills the buffer until the next entry does not fit, so a batch that leaves
 * room for a few more entries is the last one and the final empty getdents64 is skipped. */
static long for_each_entry(int fd, int procfs, int (*fn)(void *ctx, const char *name), void *ctx)
{
    _Alignas(8) char buf[4096];
    long n = 0;
    for (;;) {
        ssize_t r = getdents64(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return n;
        for (ssize_t off = 0; off < r;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *s = d->d_name;
            if (s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0')))
                continue;
            n++;
            if (fn && fn(ctx, s))
                return n;
        }
        if (procfs && (size_t)r + 1024 <= sizeof buf)
            return n;
    }
}

/* Entries in dirfd/path (works for /proc/PID/fd and for fixture folders of plain files). */
static long count_entries(int dirfd, const char *path, int procfs)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    long n = for_each_entry(fd, procfs, NULL, NULL);
    close(fd);
    return n;
}

static int parse_pid_name(const char *s, pid_t *pid)
{
    const char *p = s, *end = s + strnlen(s, 16);
    uint64_t v;
    if (parse_u64(&p, end, &v) || p != end || v == 0 || v > INT_MAX)
        return -EINVAL;
    *pid = (pid_t)v;
    return 0;
}

/* ---- the walker: breadth-first over children files, or over a scan of every stat ------------ */

typedef struct scan_ent {
    pid_t pid, ppid;
} scan_ent;

typedef struct set_ent {
    pid_t pid;
    uint32_t gen; /* valid when equal to the set's gen; no clearing between walks */
} set_ent;

/* Files of one process kept open between samples: pread on an open /proc file costs less than
 * half of openat+read+close. An open /proc/PID file belongs to one process, not to a pid
 * number: once that process is reaped it fails with ESRCH, so a reused pid is never misread. */
typedef struct held {
    pid_t pid;     /* 0: empty slot */
    int stat_fd;   /* PID/stat, or -1 */
    int kids_fd;   /* PID/task/PID/children, or -1 */
    int fddir_fd;  /* PID/fd, or -1; only where /proc/PID/fd has no size (Linux < 6.2) */
    uint32_t seen; /* the walk that last used it */
} held;

typedef struct walker {
    int procfd;
    int is_procfs;  /* proc_root is a real procfs, not a fixture folder */
    int no_fd_size; /* /proc/PID/fd reports size 0 with fds open: Linux < 6.2 */
    int scan_mode;  /* 1: no children files, use the scan */
    int scan_built; /* scan is current for this walk */
    int truncated;  /* set by the walk when something did not fit */
    scan_ent *scan; /* sorted by ppid; up to PT_SCAN_MAX */
    size_t nscan;
    pid_t queue[PROCTREE_MAX_PROCS];
    size_t qlen;
    pid_t kids[PROCTREE_MAX_PROCS];
    size_t nkids;
    set_ent set[PT_SET_CAP];
    uint32_t setgen;
    held *held; /* NULL: open every file each time (one-shot walks) */
    size_t nheld;
    proctree_skip_fn skip; /* NULL: nothing left out */
    void *skip_ud;
    uint32_t walkgen;
    char text[PT_TEXT_BUF];
} walker;

static uint32_t hash_pid(pid_t pid)
{
    return ((uint32_t)pid * 2654435761u) >> 7;
}

static void set_clear(walker *w)
{
    if (++w->setgen == 0) {
        memset(w->set, 0, sizeof w->set);
        w->setgen = 1;
    }
}

/* Returns 1 when pid was added, 0 when it was there already or the set is full. */
static int set_add(walker *w, pid_t pid)
{
    uint32_t mask = PT_SET_CAP - 1;
    for (uint32_t i = hash_pid(pid) & mask, k = 0; k < PT_SET_CAP; i = (i + 1) & mask, k++) {
        if (w->set[i].gen != w->setgen) {
            w->set[i].pid = pid;
            w->set[i].gen = w->setgen;
            return 1;
        }
        if (w->set[i].pid == pid)
            return 0;
    }
    return 0;
}

static walker *walker_new(const char *proc_root)
{
    walker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->procfd < 0) {
        free(w);
        return NULL;
    }
    struct statfs sf;
    w->is_procfs = fstatfs(w->procfd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
    return w;
}

static void held_close(held *h)
{
    if (h->stat_fd >= 0)
        close(h->stat_fd);
    if (h->kids_fd >= 0)
        close(h->kids_fd);
    if (h->fddir_fd >= 0)
        close(h->fddir_fd);
    h->stat_fd = h->kids_fd = h->fddir_fd = -1;
}

/* The slot of pid, or with add, a new one (NULL when PT_HELD_MAX are held). */
static held *held_slot(walker *w, pid_t pid, int add)
{
    uint32_t mask = PT_HELD_CAP - 1;
    for (uint32_t i = hash_pid(pid) & mask, k = 0; k < PT_HELD_CAP; i = (i + 1) & mask, k++) {
        held *h = &w->held[i];
        if (h->pid == pid)
            return h;
        if (h->pid == 0) {
            if (!add || w->nheld >= PT_HELD_MAX)
                return NULL;
            *h = (held){.pid = pid, .stat_fd = -1, .kids_fd = -1, .fddir_fd = -1};
            w->nheld++;
            return h;
        }
    }
    return NULL;
}

/* After a walk: closes the files of processes it did not see, then rehashes the rest (linear
 * probing cannot just empty a slot). O(PT_HELD_CAP). */
static void held_sweep(walker *w)
{
    held keep[PT_HELD_MAX];
    size_t n = 0;
    for (size_t i = 0; i < PT_HELD_CAP; i++) {
        held *h = &w->held[i];
        if (h->pid == 0)
            continue;
        if (h->seen == w->walkgen && h->stat_fd >= 0 && n < PT_HELD_MAX)
            keep[n++] = *h;
        else
            held_close(h);
        h->pid = 0;
    }
    w->nheld = 0;
    for (size_t i = 0; i < n; i++) {
        held *h = held_slot(w, keep[i].pid, 1);
        *h = keep[i];
    }
}

/* read_stat through the held files; opens and keeps the file when there is room. */
static int read_stat_w(walker *w, pid_t pid, proctree_stat *st)
{
    if (!w->held)
        return read_stat(w->procfd, pid, st);
    char buf[PT_STAT_BUF];
    held *h = held_slot(w, pid, 1);
    if (h && h->stat_fd >= 0) {
        ssize_t n = pread_all(h->stat_fd, buf, sizeof buf);
        if (n > 0 && proctree_parse_stat(buf, (size_t)n, st) == 0 && st->pid == pid) {
            h->seen = w->walkgen;
            return 0;
        }
        held_close(h); /* that process is gone; pid may be another one now */
    }
    char path[32];
    snprintf(path, sizeof path, "%d/stat", (int)pid);
    int fd = openat(w->procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    ssize_t n = pread_all(fd, buf, sizeof buf);
    if (n < 0 || proctree_parse_stat(buf, (size_t)n, st) || st->pid != pid) {
        close(fd);
        return n < 0 ? (int)n : -EINVAL;
    }
    if (h) {
        h->stat_fd = fd;
        h->seen = w->walkgen;
    } else {
        close(fd);
    }
    return 0;
}

/* Open fds of pid. Linux >= 6.2 reports their number as the size of /proc/PID/fd: one fstatat.
 * Otherwise the entries are counted, through a PID/fd kept open when pid's files are held
 * (lseek back and getdents64 instead of openat, getdents64, close). */
static long count_fds_w(walker *w, pid_t pid)
{
    char path[32];
    snprintf(path, sizeof path, "%d/fd", (int)pid);
    if (w->is_procfs && !w->no_fd_size) {
        struct stat sb;
        if (fstatat(w->procfd, path, &sb, 0) < 0)
            return -errno;
        if (sb.st_size > 0)
            return sb.st_size > LONG_MAX ? LONG_MAX : (long)sb.st_size;
    }
    held *h = w->held ? held_slot(w, pid, 0) : NULL;
    long n;
    if (h && h->stat_fd >= 0 && h->seen == w->walkgen) {
        if (h->fddir_fd < 0) {
            h->fddir_fd = openat(w->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (h->fddir_fd < 0)
                return -errno;
        } else if (lseek(h->fddir_fd, 0, SEEK_SET) < 0) {
            return -errno;
        }
        n = for_each_entry(h->fddir_fd, w->is_procfs, NULL, NULL);
    } else {
        n = count_entries(w->procfd, path, w->is_procfs);
    }
    if (n > 0 && w->is_procfs)
        w->no_fd_size = 1; /* size 0 with fds open: an old kernel, stop asking */
    return n;
}

static void walker_free(walker *w)
{
    if (!w)
        return;
    if (w->held) {
        for (size_t i = 0; i < PT_HELD_CAP; i++)
            if (w->held[i].pid)
                held_close(&w->held[i]);
        free(w->held);
    }
    close(w->procfd);
    free(w->scan);
    free(w);
}

static void add_kid(walker *w, pid_t pid)
{
    if (w->nkids < PROCTREE_MAX_PROCS)
        w->kids[w->nkids++] = pid;
    else
        w->truncated = 1;
}

/* Appends the pids of one children file to w->kids. Returns 0 or a negative errno. */
static void add_children_text(walker *w, size_t len);

static int read_children_file(walker *w, const char *path)
{
    ssize_t n = read_at(w->procfd, path, w->text, sizeof w->text);
    if (n < 0)
        return (int)n;
    add_children_text(w, (size_t)n);
    return 0;
}

/* The children file of a single-threaded process, through the held files. */
static int read_children_w(walker *w, pid_t pid, const char *path)
{
    held *h = w->held ? held_slot(w, pid, 0) : NULL;
    if (!h || h->stat_fd < 0 || h->seen != w->walkgen)
        return read_children_file(w, path);
    if (h->kids_fd < 0) {
        h->kids_fd = openat(w->procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (h->kids_fd < 0)
            return -errno;
    }
    ssize_t n = pread_all(h->kids_fd, w->text, sizeof w->text);
    if (n < 0)
        return (int)n;
    add_children_text(w, (size_t)n);
    return 0;
}

/* Appends the pids in w->text[0..len) to w->kids. */
static void add_children_text(walker *w, size_t len)
{
    if (len == sizeof w->text) { /* cut at the last separator; the rest is lost */
        w->truncated = 1;
        while (len > 0 && w->text[len - 1] != ' ' && w->text[len - 1] != '\n')
            len--;
    }
    size_t room = PROCTREE_MAX_PROCS - w->nkids;
    int found = proctree_parse_children(w->text, len, w->kids + w->nkids, room);
    if (found < 0)
        return; /* not what the kernel writes; ignore the file */
    if ((size_t)found > room) {
        w->truncated = 1;
        found = (int)room;
    }
    w->nkids += (size_t)found;
}

typedef struct task_ctx {
    walker *w;
    pid_t pid;
} task_ctx;

static int task_children(void *ctx, const char *name)
{
    task_ctx *t = ctx;
    pid_t tid;
    char path[64];
    if (parse_pid_name(name, &tid))
        return 0;
    snprintf(path, sizeof path, "%d/task/%d/children", (int)t->pid, (int)tid);
    read_children_file(t->w, path); /* a thread that just exited has no file: skip it */
    return 0;
}

static int scan_one(void *ctx, const char *name)
{
    walker *w = ctx;
    pid_t pid;
    proctree_stat st;
    if (parse_pid_name(name, &pid) || read_stat(w->procfd, pid, &st))
        return 0;
    if (w->nscan == PT_SCAN_MAX) {
        w->truncated = 1;
        return 1;
    }
    w->scan[w->nscan].pid = pid;
    w->scan[w->nscan].ppid = st.ppid;
    w->nscan++;
    return 0;
}

static int cmp_ppid(const void *a, const void *b)
{
    const scan_ent *x = a, *y = b;
    if (x->ppid != y->ppid)
        return x->ppid < y->ppid ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int build_scan(walker *w)
{
    if (!w->scan) {
        w->scan = malloc(PT_SCAN_MAX * sizeof *w->scan);
        if (!w->scan)
            return -ENOMEM;
    }
    w->nscan = 0;
    if (lseek(w->procfd, 0, SEEK_SET) < 0)
        return -errno;
    long r = for_each_entry(w->procfd, w->is_procfs, scan_one, w);
    if (r < 0)
        return (int)r;
    qsort(w->scan, w->nscan, sizeof *w->scan, cmp_ppid);
    w->scan_built = 1;
    return 0;
}

/* Fills w->kids with the children of pid (a process with nthreads threads). Returns 0, or
 * -ENOENT from the first call of a walk when the kernel has no children files. */
static int children_of(walker *w, pid_t pid, long nthreads)
{
    w->nkids = 0;
    if (!w->scan_mode) {
        char path[64];
        if (nthreads <= 1) {
            snprintf(path, sizeof path, "%d/task/%d/children", (int)pid, (int)pid);
            return read_children_w(w, pid, path);
        }
        snprintf(path, sizeof path, "%d/task", (int)pid);
        int fd = openat(w->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        task_ctx t = {w, pid};
        long r = for_each_entry(fd, w->is_procfs, task_children, &t);
        close(fd);
        return r < 0 ? (int)r : 0;
    }
    if (!w->scan_built) {
        int rc = build_scan(w);
        if (rc)
            return rc;
    }
    size_t lo = 0, hi = w->nscan;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->scan[mid].ppid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < w->nscan && w->scan[lo].ppid == pid; lo++)
        add_kid(w, w->scan[lo].pid);
    return 0;
}

/* Decides, from root's own children file, whether this kernel has children files. */
static int detect_mode(walker *w, pid_t root, const proctree_stat *st)
{
    char path[64];
    snprintf(path, sizeof path, "%d/task/%d/children", (int)root, (int)root);
    if (faccessat(w->procfd, path, F_OK, 0) == 0)
        w->scan_mode = 0;
    else if (errno == ENOENT && st->state != 'Z')
        w->scan_mode = 1;
    return 0;
}

typedef void (*visit_fn)(void *ctx, const proctree_stat *st);

/* Walks the tree of root; calls visit for root (when include_root) and each descendant, parents
 * before children. Returns the number of descendants found (not capped at the queue size), or
 * -ESRCH when root does not exist. */
static long walk(walker *w, pid_t root, int include_root, visit_fn visit, void *ctx)
{
    proctree_stat st;
    if (++w->walkgen == 0)
        w->walkgen = 1;
    int rc = read_stat_w(w, root, &st);
    if (rc)
        return rc == -ENOENT || rc == -EINVAL || rc == -ESRCH ? -ESRCH : rc;
    w->truncated = 0;
    w->scan_built = 0;
    detect_mode(w, root, &st);
    set_clear(w);
    set_add(w, root);
    w->qlen = 0;
    w->queue[w->qlen++] = root;
    long found = 0;
    for (size_t head = 0; head < w->qlen; head++) {
        pid_t pid = w->queue[head];
        if (head > 0 && read_stat_w(w, pid, &st))
            continue; /* gone since its parent listed it */
        if (visit && (head > 0 || include_root))
            visit(ctx, &st);
        if (st.state == 'Z' || children_of(w, pid, st.num_threads))
            continue;
        for (size_t i = 0; i < w->nkids; i++) {
            if (w->skip && w->skip(w->skip_ud, w->kids[i]))
                continue; /* not part of the tree, nor is anything below it */
            if (!set_add(w, w->kids[i]))
                continue;
            found++;
            if (w->qlen < PROCTREE_MAX_PROCS)
                w->queue[w->qlen++] = w->kids[i];
            else
                w->truncated = 1;
        }
    }
    return found;
}

/* ---- sampling ------------------------------------------------------------------------------- */

typedef struct cpu_ent {
    pid_t pid;
    uint32_t gen;
    uint64_t start;
    uint64_t ticks;
} cpu_ent;

/* Per-process CPU ticks of one sample, keyed by (pid, starttime) so a reused pid is new. */
typedef struct cpu_tab {
    uint32_t gen; /* 0: never filled */
    cpu_ent e[PT_SET_CAP];
} cpu_tab;

struct proctree {
    walker *w;
    cpu_tab tabs[2];
    int cur;
    uint64_t page_size;
    double clk_tck;
    proctree_zombie zombies[PROCTREE_MAX_ZOMBIES]; /* of the last sample */
    size_t nzombies;
};

static cpu_ent *cpu_slot(cpu_tab *t, pid_t pid, uint64_t start, int insert)
{
    uint32_t mask = PT_SET_CAP - 1;
    uint32_t h = hash_pid(pid) ^ (uint32_t)(start * 40503u);
    for (uint32_t i = h & mask, k = 0; k < PT_SET_CAP; i = (i + 1) & mask, k++) {
        cpu_ent *e = &t->e[i];
        if (t->gen == 0 || e->gen != t->gen)
            return insert ? e : NULL;
        if (e->pid == pid && e->start == start)
            return e;
    }
    return NULL;
}

proctree *proctree_new(const char *proc_root)
{
    if (!proc_root || strlen(proc_root) >= PT_ROOT_MAX) {
        errno = proc_root ? ENAMETOOLONG : EINVAL;
        return NULL;
    }
    proctree *pt = calloc(1, sizeof *pt);
    if (!pt)
        return NULL;
    pt->w = walker_new(proc_root);
    if (!pt->w) {
        free(pt);
        return NULL;
    }
    pt->w->held = calloc(PT_HELD_CAP, sizeof *pt->w->held);
    if (!pt->w->held) {
        walker_free(pt->w);
        free(pt);
        return NULL;
    }
    long ps = sysconf(_SC_PAGESIZE);
    long tck = sysconf(_SC_CLK_TCK);
    pt->page_size = ps > 0 ? (uint64_t)ps : 4096;
    pt->clk_tck = tck > 0 ? (double)tck : 100.0;
    return pt;
}

void proctree_free(proctree *pt)
{
    if (!pt)
        return;
    walker_free(pt->w);
    free(pt);
}

typedef struct sample_ctx {
    proctree *pt;
    int with_pss;
    proctree_sample *out;
    uint64_t delta_ticks;
} sample_ctx;

static void sample_one(void *ctx, const proctree_stat *st)
{
    sample_ctx *c = ctx;
    proctree *pt = c->pt;
    proctree_sample *s = c->out;
    char path[48];

    if (s->nprocs == UINT_MAX)
        return;
    s->nprocs++;
    if (st->num_threads > 0)
        s->threads += (unsigned)st->num_threads;
    s->rss_bytes += st->rss_pages * pt->page_size;
    uint64_t ticks = st->utime_ticks + st->stime_ticks;
    s->cpu_ticks += ticks;

    cpu_ent *prev = cpu_slot(&pt->tabs[!pt->cur], st->pid, st->starttime, 0);
    if (!prev)
        c->delta_ticks += ticks;
    else if (ticks > prev->ticks)
        c->delta_ticks += ticks - prev->ticks;
    cpu_ent *e = cpu_slot(&pt->tabs[pt->cur], st->pid, st->starttime, 1);
    if (e) {
        e->pid = st->pid;
        e->start = st->starttime;
        e->ticks = ticks;
        e->gen = pt->tabs[pt->cur].gen;
    }

    if (st->state == 'Z') {
        s->zombies++;
        if (pt->nzombies < PROCTREE_MAX_ZOMBIES)
            pt->zombies[pt->nzombies++] =
                (proctree_zombie){.pid = st->pid, .ppid = st->ppid, .starttime = st->starttime};
        return;
    }
    long nfd = count_fds_w(pt->w, st->pid);
    if (nfd > 0)
        s->fds += (unsigned)nfd;
    if (c->with_pss) {
        char buf[PT_SMAPS_BUF];
        uint64_t pss;
        snprintf(path, sizeof path, "%d/smaps_rollup", (int)st->pid);
        ssize_t n = read_at(pt->w->procfd, path, buf, sizeof buf);
        if (n > 0 && proctree_parse_smaps_rollup(buf, (size_t)n, &pss) == 0)
            s->pss_bytes += pss;
    }
}

int proctree_sample_tree(proctree *pt, pid_t root, int include_root, int with_pss,
                         proctree_sample *out)
{
    if (!pt || !out || root <= 0)
        return ERR_INVAL;
    memset(out, 0, sizeof *out);
    cpu_tab *t = &pt->tabs[!pt->cur]; /* becomes current; the other one holds the last sample */
    pt->cur = !pt->cur;
    if (++t->gen == 0) {
        memset(t->e, 0, sizeof t->e);
        t->gen = 1;
    }
    sample_ctx c = {pt, with_pss, out, 0};
    pt->nzombies = 0;
    long found = walk(pt->w, root, include_root, sample_one, &c);
    held_sweep(pt->w);
    if (found < 0) {
        t->gen = 0; /* so the next sample does not diff against an empty one */
        return pt_code(found);
    }
    out->pss_valid = with_pss ? 1 : 0;
    out->cpu_seconds_delta = (double)c.delta_ticks / pt->clk_tck;
    out->truncated = pt->w->truncated;
    return 0;
}

size_t proctree_zombies(const proctree *pt, const proctree_zombie **out)
{
    if (!pt) {
        if (out)
            *out = NULL;
        return 0;
    }
    if (out)
        *out = pt->zombies;
    return pt->nzombies;
}

/* ---- listing and signalling ------------------------------------------------------------------ */

void proctree_set_skip(proctree *pt, proctree_skip_fn fn, void *ud)
{
    if (!pt)
        return;
    pt->w->skip = fn;
    pt->w->skip_ud = ud;
}

int proctree_descendants(const char *proc_root, pid_t root, pid_t *out, size_t max)
{
    return proctree_descendants_skip(proc_root, root, NULL, NULL, out, max);
}

int proctree_descendants_skip(const char *proc_root, pid_t root, proctree_skip_fn fn, void *ud,
                              pid_t *out, size_t max)
{
    if (!proc_root || root <= 0 || (!out && max))
        return ERR_INVAL;
    walker *w = walker_new(proc_root);
    if (!w)
        return errno && errno != ENOMEM ? ERR_SYS : ERR_NOMEM;
    w->skip = fn;
    w->skip_ud = ud;
    long found = walk(w, root, 0, NULL, NULL);
    if (found >= 0) {
        size_t n = w->qlen - 1 < max ? w->qlen - 1 : max; /* queue[0] is root */
        if (n)
            memcpy(out, w->queue + 1, n * sizeof *out);
    }
    walker_free(w);
    if (found < 0)
        return pt_code(found);
    return found > INT_MAX ? INT_MAX : (int)found;
}
