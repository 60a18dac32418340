/* sampler: the tree, the folder and the disk, once a sample. See sampler.h. */
#include "sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "proctree.h"
#include "units.h"
#include "zombies.h"

#define SM_WALK_DEPTH   8
#define SM_WALK_ENTRIES 100000

struct sampler {
    uv_loop_t *loop;
    proctree *pt;
    char dir[PATH_MAX];
    char db_path[PATH_MAX];
    uint64_t pss_interval_ms;
    uint64_t last_pss_ms, last_sample_ms;
    uv_timer_t walk_timer;
    int timer_init;
    uv_work_t walk_work;
    int walk_busy;
    uint64_t walk_result;   /* written by the worker, read in its done callback */
    uint64_t other_bytes;   /* the folder but soak's own files, from the last walk */
    zombies zt;             /* which zombies persist */
    char zombie_event[300]; /* a parent that does not reap, until taken ("" none) */
    pid_t zombie_parent;
    /* the cost of sampling: CPU of sampler_take over the loop time of a window */
    uint64_t cost_window_ms; /* start of the window (0: none yet) */
    double cost_cpu_s;
    unsigned cost_samples;
    int cost_warned;
    char cost_warning[200]; /* until taken ("" none) */
    /* soak watch: the tree comes from here instead of root's descendants (NULL: soak run) */
    sampler_source_fn source;
    void *source_ud;
};

sampler *sampler_new(uv_loop_t *loop, const char *artifacts_dir, const char *db_path,
                     uint64_t pss_interval_ms)
{
    sampler *sm = calloc(1, sizeof *sm);
    if (!sm)
        return NULL;
    sm->pt = proctree_new("/proc");
    if (!sm->pt) {
        free(sm);
        return NULL;
    }
    sm->loop = loop;
    snprintf(sm->dir, sizeof sm->dir, "%s", artifacts_dir);
    snprintf(sm->db_path, sizeof sm->db_path, "%s", db_path);
    sm->pss_interval_ms = pss_interval_ms;
    zombies_init(&sm->zt, SAMPLER_ZOMBIE_GRACE_MS);
    return sm;
}

/* ---- the folder --------------------------------------------------------------------------- */

/* Files whose size soak knows without a walk. */
static int sm_own_file(const char *name)
{
    return strncmp(name, "samples.db", 10) == 0 ||
           (strncmp(name, "soak", 4) == 0 && strstr(name, ".log") != NULL);
}

/* Bytes of a folder, recursively (bounded depth and count), leaving out soak's own files at
 * the top. */
static uint64_t sm_dir_bytes(int dfd, int depth, unsigned *budget)
{
    uint64_t total = 0;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) && *budget) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        (*budget)--;
        if (depth == 0 && sm_own_file(e->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        if (S_ISDIR(st.st_mode) && depth < SM_WALK_DEPTH) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                total += sm_dir_bytes(sub, depth + 1, budget);
        } else if (S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_blocks * 512;
        }
    }
    closedir(d);
    return total;
}

static void sm_walk_work(uv_work_t *w)
{
    sampler *sm = w->data;
    unsigned budget = SM_WALK_ENTRIES;
    int dfd = open(sm->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sm->walk_result = dfd >= 0 ? sm_dir_bytes(dfd, 0, &budget) : 0;
}

static void sm_walk_done(uv_work_t *w, int status)
{
    sampler *sm = w->data;
    if (status == 0)
        sm->other_bytes = sm->walk_result;
    sm->walk_busy = 0;
}

static void sm_walk_tick(uv_timer_t *t)
{
    sampler *sm = t->data;
    if (sm->walk_busy)
        return;
    sm->walk_work.data = sm;
    if (uv_queue_work(sm->loop, &sm->walk_work, sm_walk_work, sm_walk_done) == 0)
        sm->walk_busy = 1;
}

void sampler_start(sampler *sm, uint64_t walk_ms)
{
    uv_timer_init(sm->loop, &sm->walk_timer);
    sm->walk_timer.data = sm;
    sm->timer_init = 1;
    uv_timer_start(&sm->walk_timer, sm_walk_tick, 0, walk_ms);
}

void sampler_close(sampler *sm)
{
    if (sm && sm->timer_init && !uv_is_closing((uv_handle_t *)&sm->walk_timer))
        uv_close((uv_handle_t *)&sm->walk_timer, NULL);
}

void sampler_free(sampler *sm)
{
    if (!sm)
        return;
    proctree_free(sm->pt);
    free(sm);
}

static uint64_t sm_file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* The folder's size now: the logs, samples.db and its side files, and the rest. */
static uint64_t sm_artifacts_bytes(const sampler *sm, const logcap_stats *ls)
{
    char p[PATH_MAX + 16];
    uint64_t db = sm_file_bytes(sm->db_path);
    snprintf(p, sizeof p, "%s-wal", sm->db_path);
    db += sm_file_bytes(p);
    snprintf(p, sizeof p, "%s-shm", sm->db_path);
    db += sm_file_bytes(p);
    snprintf(p, sizeof p, "%s-reserve", sm->db_path); /* store_reserve: soak's too */
    db += sm_file_bytes(p);
    return sm->other_bytes + ls->log_bytes + db;
}

/* ---- zombies ----------------------------------------------------------------------------- */

void sampler_set_zombie_grace(sampler *sm, uint64_t grace_ms)
{
    zombies_init(&sm->zt, grace_ms);
}

/* The command line of pid, NULs as spaces, into buf ("?" when it cannot be read). */
static void sm_cmdline(pid_t pid, char *buf, size_t n)
{
    char path[48];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf, n - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (got <= 0) {
        snprintf(buf, n, "?");
        return;
    }
    while (got > 0 && buf[got - 1] == '\0')
        got--;
    for (ssize_t i = 0; i < got; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[got] = '\0';
}

static void sm_zombies(sampler *sm, uint64_t now_ms, runstate *rs)
{
    const proctree_zombie *zl;
    size_t nz = proctree_zombies(sm->pt, &zl);
    zombies_result zr = zombies_update(&sm->zt, zl, nz, now_ms);
    rs->zombies_persistent = zr.persistent;
    if (zr.persistent > rs->zombies_persistent_max)
        rs->zombies_persistent_max = zr.persistent;
    if (zr.new_parent > 0 && !sm->zombie_event[0]) {
        char cmd[200];
        char grace[32];
        sm_cmdline(zr.new_parent, cmd, sizeof cmd);
        snprintf(sm->zombie_event, sizeof sm->zombie_event,
                 "pid %d (%s) has not reaped %u zombies for %s", (int)zr.new_parent, cmd, zr.held,
                 units_format_duration(sm->zt.grace_ms, grace, sizeof grace));
        sm->zombie_parent = zr.new_parent;
    }
}

int sampler_zombie_event(sampler *sm, char *detail, size_t n, pid_t *parent)
{
    if (!sm->zombie_event[0])
        return 0;
    snprintf(detail, n, "%s", sm->zombie_event);
    *parent = sm->zombie_parent;
    sm->zombie_event[0] = '\0';
    return 1;
}

/* ---- the cost of sampling ------------------------------------------------------------------ */

static double sm_thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sampler_cost_over(double cpu_s, double wall_s)
{
    return wall_s > 0 && cpu_s > SAMPLER_COST_MAX_SHARE * wall_s;
}

/* Adds one sample's CPU; once a window of SAMPLER_COST_WINDOW_MS holds at least 5 samples,
 * judges it and starts the next. Warns once a run. */
static void sm_cost(sampler *sm, uint64_t now_ms, double cpu_s, unsigned nprocs)
{
    if (sm->cost_warned)
        return;
    if (sm->cost_window_ms == 0) {
        sm->cost_window_ms = now_ms; /* the first sample opens the window, uncounted */
        return;
    }
    sm->cost_cpu_s += cpu_s;
    sm->cost_samples++;
    uint64_t span = now_ms - sm->cost_window_ms;
    if (span < SAMPLER_COST_WINDOW_MS || sm->cost_samples < 5)
        return;
    double wall = (double)span / 1000.0;
    if (sampler_cost_over(sm->cost_cpu_s, wall)) {
        char each[32], every[32];
        units_format_duration((uint64_t)(sm->cost_cpu_s * 1e6 / sm->cost_samples) / 1000, each,
                              sizeof each);
        units_format_duration(span / sm->cost_samples, every, sizeof every);
        snprintf(sm->cost_warning, sizeof sm->cost_warning,
                 "sampling takes %.0f%% of a core (%s of CPU a sample of %u processes, every %s; "
                 "more than %.0f%%): a longer interval costs less",
                 100.0 * sm->cost_cpu_s / wall, each, nprocs, every,
                 100.0 * SAMPLER_COST_MAX_SHARE);
        sm->cost_warned = 1;
    }
    sm->cost_window_ms = now_ms;
    sm->cost_cpu_s = 0;
    sm->cost_samples = 0;
}

int sampler_cost_warning(sampler *sm, char *msg, size_t n)
{
    if (!sm->cost_warning[0])
        return 0;
    snprintf(msg, n, "%s", sm->cost_warning);
    sm->cost_warning[0] = '\0';
    return 1;
}

/* ---- one sample --------------------------------------------------------------------------- */

void sampler_take(sampler *sm, pid_t root, int running, uint64_t now_ms, const logcap_stats *ls,
                  runstate *rs)
{
    int with_pss = sm->pss_interval_ms > 0 &&
                   (sm->last_pss_ms == 0 || now_ms - sm->last_pss_ms >= sm->pss_interval_ms);
    double cpu0 = sm_thread_cpu_s();
    proctree_sample ps;
    memset(&ps, 0, sizeof ps);
    if (sm->source) {
        if (sm->source(sm->source_ud, sm->pt, with_pss, &ps) == 0 && with_pss)
            sm->last_pss_ms = now_ms;
    } else if (proctree_sample_tree(sm->pt, root, 0, with_pss, &ps) == 0 && with_pss)
        sm->last_pss_ms = now_ms;

    double dt = sm->last_sample_ms ? (double)(now_ms - sm->last_sample_ms) / 1000.0 : 0;
    sm->last_sample_ms = now_ms;
    rs->cpu_seconds += ps.cpu_seconds_delta;
    rs->cpu_percent = dt > 0 ? 100.0 * ps.cpu_seconds_delta / dt : 0;
    rs->tree = ps;
    if (ps.pss_valid)
        rs->pss_last = ps.pss_bytes;
    if (running && ps.rss_bytes > 0) {
        if (rs->rss_first == 0)
            rs->rss_first = ps.rss_bytes;
        rs->rss_last = ps.rss_bytes;
    }
    if (ps.rss_bytes > rs->rss_max)
        rs->rss_max = ps.rss_bytes;
    if (ps.zombies > rs->zombies_max)
        rs->zombies_max = ps.zombies;
    sm_zombies(sm, now_ms, rs);

    rs->log = *ls;
    rs->artifacts_bytes = sm_artifacts_bytes(sm, ls);
    struct statvfs vfs;
    if (statvfs(sm->dir, &vfs) == 0)
        rs->disk_free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    sm_cost(sm, now_ms, sm_thread_cpu_s() - cpu0, ps.nprocs);
}

void sampler_set_skip(sampler *sm, proctree_skip_fn fn, void *ud)
{
    proctree_set_skip(sm->pt, fn, ud);
}

void sampler_set_source(sampler *sm, sampler_source_fn fn, void *ud)
{
    sm->source = fn;
    sm->source_ud = ud;
}

store_sample sampler_row(const runstate *rs, double t, uint64_t now_ms)
{
    const proctree_sample *ps = &rs->tree;
    return (store_sample){
        .t = t,
        .elapsed_s = (double)(now_ms - rs->start_ms) / 1000.0,
        .rss_bytes = ps->rss_bytes,
        .pss_bytes = ps->pss_valid ? (int64_t)ps->pss_bytes : -1,
        .cpu_percent = rs->cpu_percent,
        .cpu_seconds = rs->cpu_seconds,
        .threads = ps->threads,
        .fds = ps->fds,
        .procs = ps->nprocs,
        .zombies = ps->zombies,
        .artifacts_bytes = rs->artifacts_bytes,
        .disk_free_bytes = rs->disk_free_bytes,
        .restarts = rs->restarts,
        .log_lines = rs->log.lines[0] + rs->log.lines[1],
        .dropped_bytes = rs->log.dropped_bytes,
        .heartbeat_age_s = rs->heartbeat_age_s,
        .zombies_persistent = rs->zombies_persistent,
    };
}
