/*
 * run: the `soak run` supervisor's mechanism. One libuv loop drives everything:
 *   - the service, started by fork/exec of the shim (shim.h) in its own process group, with
 *     PR_SET_PDEATHSIG, stdin from /dev/null, stdout and stderr into pipes read by the loop;
 *   - SIGCHLD: soak is a child subreaper, so orphans come back to it; every child, ours or
 *     adopted, is reaped as soon as the signal arrives; soak's own helpers (helpers.h: the
 *     journal's journalctl) are handed to their owner there, and the tree's stop and samples
 *     leave them out (treekill_set_skip, sampler_set_skip): they are never the service;
 *   - the sample timer: a sample (sampler.h: process tree, folder, disk), then the policies
 *     (policy.h: watchdog, quota, low disk) from one place, the row, the status line;
 *   - the supervisor (supervise.h), a pure table that decides what an exit, a hang or a stop
 *     request means. run.c tells it what happened and performs the actions it returns.
 *
 * What happens, what the table hears, and where run.c carries out the answer:
 *
 *   what happens (mechanism)               | fed to the table            | actions done in
 *   ---------------------------------------+-----------------------------+------------------
 *   run_soak begins                        | sup_start                   | sv_apply
 *   the shim says: started / exec failed   | sup_spawned / _spawn_failed | sv_on_status
 *   the shim says: the service exited      | sup_exited                  | sv_on_status
 *   SIGCHLD: the shim itself ended         | sup_exited                  | sv_on_sigchld
 *   sample: no heartbeat for too long      | sup_hang                    | sv_policies
 *   stop poll: nothing of the tree is left | sup_tree_empty              | sv_stop_poll
 *   the supervisor's deadline passed       | sup_timer                   | sv_on_deadline
 *   duration over / SIGINT SIGTERM SIGHUP  | sup_stop                    | sv_on_end, _signal
 *   forking: the first process exited      | sup_child_exited (tree left)| sv_status_msg
 *   forking: the main pid is found         | sup_main_pid                | sv_fork_try
 *   forking: the shim reaped the main pid  | sup_main_exited             | sv_orphan_exited
 *
 *   action (SUP_A_*)    | mechanism
 *   --------------------+---------------------------------------------------------------
 *   SPAWN               | fork the shim, open its pipes (sv_spawn); never waits for it
 *   REC_START/EXIT/HANG | events start/restart, exit (+core_dump, oom_*), hang
 *   TERM / KILL / AGAIN | treekill_begin / treekill_kill (events stop, stop_kill, stop_stuck)
 *   SCHEDULE            | event restart_scheduled; the deadline timer fires the restart
 *   START_FAILED/LIMIT  | events start_failed / start_limit
 *   GIVE_UP / FINISH    | survivors noted / pipes drained, timers stopped, loop stopped
 *   FIND_MAIN / REC_MAIN| poll for the main pid (forking.h) / event daemonized, console once
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "analyze.h"
#include "diagnose.h"
#include "slowpass.h"
#include "auditcmd.h"
#include "notify.h"
#include "pushgw.h"
#include "cgroup.h"
#include "ctl.h"
#include "endpoints.h"
#include "failfast.h"
#include "forking.h"
#include "follow.h"
#include "helpers.h"
#include "errcode.h"
#include "logcap.h"
#include "patterns.h"
#include "policy.h"
#include "postcheck.h"
#include "preflight.h"
#include "sampler.h"
#include "report.h"
#include "runlock.h"
#include "archive.h"
#include "runstate.h"
#include "scrape.h"
#include "shim.h"
#include "statusline.h"
#include "store.h"
#include "termsafe.h"
#include "supervise.h"
#include "treekill.h"
#include "units.h"
#include "watch.h"
#include "watchsm.h"

#define SV_STOP_POLL_MS 50    /* how often a stop looks at what is left of the tree */
#define SV_WALK_MS      10000 /* the full walk of the artifacts folder (sampler.h) */

/* Everything the loop owns. One per `soak run`. */
typedef struct sv {
    runstate rs; /* counters shared with the endpoints and the status line */
    sup sup;     /* the supervisor's state and records */
    opts *o;
    uv_loop_t *loop;
    store *db;
    logcap *lc;
    patterns *pat;
    sampler *sm;
    treekill *tk;
    endpoints *ep;
    scrape *sc;
    statusline *sl;
    cgroup *cg;
    notifier *nt; /* NULL: no channel configured */
    pushgw *pg;   /* NULL: no pushgateway */
    int hb_index; /* pattern index of the heartbeat, -1 without one */

    uv_signal_t sig_chld, sig_int, sig_term, sig_hup;
    uv_timer_t sample_timer, stop_timer, deadline_timer, end_timer, ckpt_timer;
    uv_work_t ckpt_work;
    int ckpt_busy;
    char db_path[PATH_MAX + 16];
    uv_pipe_t pipes[LOGCAP_NSTREAMS];
    int pipe_open[LOGCAP_NSTREAMS];
    struct sv_pipe_ctx {
        struct sv *s;
        int stream;
    } pipe_ctx[LOGCAP_NSTREAMS];

    pid_t child;           /* the direct child, the shim (see shim.h); 0 when none */
    int shim_alive;        /* not reaped yet */
    pid_t service_pid;     /* the service, the shim's child */
    uv_pipe_t status_pipe; /* messages from the shim */
    int status_open;
    char status_buf[64];
    size_t status_len;
    char self_exe[PATH_MAX];
    int start_errno;      /* why the last start failed */
    char start_what[600]; /* what failed: "cannot run 'CMD'", "cannot fork" */
    double hang_age_s;    /* the heartbeat's age when the watchdog fired */
    int survivors;        /* processes left when soak gave up stopping them */
    int db_capped;        /* policy: the folder reached its quota */
    int disk_tight; /* free disk under the reserve: optional rows wait, the record goes first */
    int64_t stored_samples; /* read back from samples.db at the end (-1: unknown) */
    uint64_t data_lost;     /* samples, events and run values not written, at the end */
    int disk_low;           /* policy: free disk is low */
    uint64_t disk_bytes;    /* the size of the artifacts' filesystem (0: unknown) */
    uint64_t min_free;      /* the minimum free disk used (policy_min_free_check) */
    uint64_t reserve;       /* free disk the logs leave to the record (policy_record_reserve) */
    int store_failing;      /* a write_failed event was recorded, no write_ok yet */
    int reserve_told;       /* the reserve's release was recorded; not made again yet */
    uint64_t reserve_releases_seen;      /* store_stats.reserve_releases already recorded */
    uint64_t store_lost_seen;            /* lost rows already told in a data_lost event */
    uint64_t last_mono_ms, last_boot_ms; /* the clocks at the previous sample (0: none yet) */
    uint64_t pauses;                     /* soak itself not scheduled (soak_paused events) */
    uint64_t last_pat_store_ms;
    char artifacts_dir[PATH_MAX];
    char pid_path[PATH_MAX];
    /* rate limit of pattern events per pattern per minute */
    uint64_t pat_window_ms;
    unsigned pat_recorded[PATTERNS_MAX];
    uint64_t pat_suppressed[PATTERNS_MAX];
    runlock lock; /* the folder's, held for the whole run (runlock.h) */
    /* the slow pass (slowpass.h): smaps by kind, fds by type, zombie parents */
    int slow_started;
    uint64_t slow_last_ms;
    unsigned slow_zombies;   /* the peak of zombies seen: a higher count triggers a pass */
    uint64_t slow_zombie_ms; /* the last pass for zombies (at most one per 10 s) */
    failfast *ff;            /* --fail-fast: the gates checked live; NULL when off */
    /* soak watch (watch.h): the target and its table (watchsm.h); w NULL for soak run */
    watch *w;
    wsm wsm;
    /* a service that forked into the background (forking.h, supervise.h) */
    uv_timer_t fork_timer; /* FORKING: looks for the main pid */
    int orphan_pid;        /* SHIM_ORPHAN_PID, until its SHIM_ORPHAN_STATUS */
    int shim_left;         /* SHIM_LEFT: live processes the next exit leaves behind */
    int main_unknown;      /* the main pid is gone, not soak's to reap: its status unknown */
    int fork_told;         /* the console was told of the forking */
    pid_t fork_candidate;  /* the top of the tree at the last poll (FORKING, no pid file) */
    char fork_why[400];    /* why the main pid was not found yet */
    follow *fw;            /* log files and a journal followed (follow.h); NULL: none */
    helpers helpers;       /* soak's own children (journalctl): never the service's tree */
} sv;

static void sv_sample(uv_timer_t *t);
static void sv_ckpt_tick(uv_timer_t *t);
static void sv_stop_poll(uv_timer_t *t);
static void sv_on_deadline(uv_timer_t *t);
static void sv_store_pattern_counts(sv *s);
static void sv_request_stop(sv *s, sup_cause c, uint64_t now);
static void sv_watch_poll(sv *s, uint64_t now);
static void sv_watch_hang(sv *s, int hang, uint64_t now);

static uint64_t now_ms(sv *s)
{
    uv_update_time(s->loop);
    return uv_now(s->loop);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records an event in samples.db and in the log, so both tell the same story. */
static void sv_event_rec(sv *s, store_evkind kind, int failure, double value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void sv_event_rec(sv *s, store_evkind kind, int failure, double value, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (s->db)
        store_event(s->db, wall_now(), kind, failure, detail, value);
    if (s->lc) {
        char line[1100];
        snprintf(line, sizeof line, "%s: %s", store_event_name(kind), detail);
        logcap_note(s->lc, "soak", line);
    }
    notifier_event(s->nt, kind, failure, detail);
}

/* A notification that was not delivered: counted, logged and recorded (never its URL). */
static void sv_on_notify(void *ud, notify_chan ch, int ok, const char *why)
{
    sv *s = ud;
    if (ok) {
        s->rs.notify_sent++;
        return;
    }
    s->rs.notify_failed++;
    fprintf(stderr, "soak: notify: %s: message not delivered: %s\n", notify_chan_name(ch), why);
    if (s->db)
        store_event(s->db, wall_now(), STORE_EV_NOTIFY_FAILED, 0, notify_chan_name(ch), 1);
}

/* ---- log capture ---------------------------------------------------------------------- */

static void sv_on_line(void *ud, int stream, const char *line, size_t len, int cont)
{
    sv *s = ud;
    (void)stream;
    (void)cont;
    uint64_t mask = patterns_match(s->pat, line, len);
    if (!mask)
        return;
    uint64_t now = uv_now(s->loop);
    if (now - s->pat_window_ms >= 60000) {
        for (size_t i = 0; i < patterns_count(s->pat); i++) {
            if (s->pat_suppressed[i])
                sv_event_rec(s, STORE_EV_PATTERN_SUPPRESSED, 0, (double)s->pat_suppressed[i],
                             "%s: %llu more matches in the last minute were counted only",
                             patterns_name(s->pat, i), (unsigned long long)s->pat_suppressed[i]);
            s->pat_suppressed[i] = 0;
            s->pat_recorded[i] = 0;
        }
        s->pat_window_ms = now;
    }
    for (size_t i = 0; mask; i++, mask >>= 1) {
        if (!(mask & 1))
            continue;
        s->rs.pattern_hits[i]++;
        if ((int)i == s->hb_index) {
            s->rs.last_heartbeat_ms = now;
            continue; /* heartbeats are sampled as an age, not recorded one by one */
        }
        if (s->pat_recorded[i] < s->o->pattern_events_per_min && !s->db_capped && !s->disk_tight) {
            s->pat_recorded[i]++;
            char detail[600];
            snprintf(detail, sizeof detail, "%s: %.*s", patterns_name(s->pat, i),
                     (int)(len > 500 ? 500 : len), line);
            if (s->db)
                store_event(s->db, wall_now(), STORE_EV_PATTERN, 0, detail,
                            (double)s->rs.pattern_hits[i]);
        } else {
            s->pat_suppressed[i]++;
        }
    }
}

/* Reads are handled at once, so one buffer serves both pipes. */
static void sv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];
    (void)h;
    (void)suggested;
    buf->base = slab;
    buf->len = sizeof slab;
}

static sv *sv_of_pipe(uv_stream_t *st, int *stream)
{
    struct sv_pipe_ctx *c = st->data;
    *stream = c->stream;
    return c->s;
}

static void sv_pipe_closed(uv_handle_t *h)
{
    (void)h;
}

static void sv_close_pipe(sv *s, int stream)
{
    if (!s->pipe_open[stream])
        return;
    s->pipe_open[stream] = 0;
    logcap_flush(s->lc, stream, sv_on_line, s);
    uv_close((uv_handle_t *)&s->pipes[stream], sv_pipe_closed);
}

static void sv_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    int stream;
    sv *s = sv_of_pipe(st, &stream);
    if (n > 0) {
        logcap_feed(s->lc, stream, buf->base, (size_t)n, sv_on_line, s);
    } else if (n < 0) {
        sv_close_pipe(s, stream);
    }
}

/* Reads what is left in a pipe whose writers are all gone, then closes it. */
static void sv_drain_pipe(sv *s, int stream)
{
    if (!s->pipe_open[stream])
        return;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&s->pipes[stream], &fd) == 0) {
        char buf[65536];
        for (int i = 0; i < 4096; i++) { /* bounded: 256 MiB at most */
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            logcap_feed(s->lc, stream, buf, (size_t)n, sv_on_line, s);
        }
    }
    sv_close_pipe(s, stream);
}

/* Reads what is waiting in the service's pipes now (never blocks; at most 4 MiB a pipe), so
 * that lines written while soak was not scheduled are seen before the heartbeat is judged. */
static void sv_read_waiting(sv *s)
{
    for (int stream = 0; stream < LOGCAP_NSTREAMS; stream++) {
        uv_os_fd_t fd;
        if (!s->pipe_open[stream] || uv_fileno((uv_handle_t *)&s->pipes[stream], &fd) != 0)
            continue;
        char buf[65536];
        for (int i = 0; i < 64; i++) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break; /* EAGAIN, or EOF: the loop's read callback closes it */
            logcap_feed(s->lc, stream, buf, (size_t)n, sv_on_line, s);
        }
    }
}

/* ---- starting the service ------------------------------------------------------------- */

/* Makes fd number `to` refer to `from`, without close-on-exec. Async-signal-safe. */
static void sv_move_fd(int from, int to)
{
    if (from == to)
        fcntl(to, F_SETFD, 0);
    else
        dup2(from, to);
}

/* Handles the complete messages in status_buf and keeps a partial one. */
static void sv_status_msg(sv *s, const shim_msg *m);
static void sv_status_parse(sv *s)
{
    while (s->status_len >= sizeof(shim_msg)) {
        shim_msg m;
        memcpy(&m, s->status_buf, sizeof m);
        memmove(s->status_buf, s->status_buf + sizeof m, s->status_len - sizeof m);
        s->status_len -= sizeof m;
        sv_status_msg(s, &m);
    }
}

/* Reads the shim's messages that are waiting in the status pipe now (never blocks). */
static void sv_status_drain(sv *s)
{
    uv_os_fd_t fd;
    if (!s->status_open || uv_fileno((uv_handle_t *)&s->status_pipe, &fd) != 0)
        return;
    for (int i = 0; i < 1024; i++) {
        ssize_t n = read(fd, s->status_buf + s->status_len, sizeof s->status_buf - s->status_len);
        if (n <= 0)
            break;
        s->status_len += (size_t)n;
        sv_status_parse(s);
    }
}

static void sv_status_closed(uv_handle_t *h)
{
    (void)h;
}

static void sv_close_status(sv *s)
{
    if (!s->status_open)
        return;
    sv_status_drain(s);
    s->status_open = 0;
    uv_close((uv_handle_t *)&s->status_pipe, sv_status_closed);
}

static void sv_status_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sv *s = h->data;
    (void)suggested;
    buf->base = s->status_buf + s->status_len;
    buf->len = sizeof s->status_buf - s->status_len;
}

static void sv_on_status(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    sv *s = st->data;
    (void)buf;
    if (n < 0) {
        uv_read_stop(st); /* EOF: the shim is gone; SIGCHLD tells the rest */
        return;
    }
    s->status_len += (size_t)n;
    sv_status_parse(s);
}

/* ---- starting the service ------------------------------------------------------------- */

/* Starts the shim, which starts the service (see shim.h). Never waits: the shim's first
 * message (started, or exec failed) arrives on the status pipe. Returns 0, or -1 with
 * start_errno and start_what set when the shim could not be started at all. */
static int sv_spawn(sv *s)
{
    s->start_errno = 0;
    snprintf(s->start_what, sizeof s->start_what, "cannot run '%s'", s->o->argv[0]);
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, statp[2] = {-1, -1};
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(statp, O_CLOEXEC)) {
        s->start_errno = errno;
        snprintf(s->start_what, sizeof s->start_what, "cannot create pipes");
        goto fail;
    }
    /* room for bursts while the loop is busy elsewhere (best effort) */
    fcntl(outp[0], F_SETPIPE_SZ, 1 << 20);
    fcntl(errp[0], F_SETPIPE_SZ, 1 << 20);

    char soakpid[16], stopms[24], logpath[PATH_MAX + 16];
    snprintf(logpath, sizeof logpath, "%s/soak.log", s->artifacts_dir);
    snprintf(soakpid, sizeof soakpid, "%d", (int)getpid());
    snprintf(stopms, sizeof stopms, "%llu", (unsigned long long)s->o->stop_timeout_ms);
    char *argv[OPTS_MAX_ARGS + 8];
    size_t k = 0;
    argv[k++] = "soak";
    argv[k++] = "__shim";
    argv[k++] = "3";
    argv[k++] = soakpid;
    argv[k++] = stopms;
    argv[k++] = logpath;
    argv[k++] = "--";
    for (size_t i = 0; i < s->o->argc; i++)
        argv[k++] = s->o->argv[i];
    argv[k] = NULL;

    /* no signal handler of ours may run in the child before exec */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* child: async-signal-safe calls only until exec */
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* soak died between fork and prctl */
        cgroup_enter_child(s->cg);
        /* lift the three ends above 3..9 first, so no dup2 below overwrites another */
        int o = fcntl(outp[1], F_DUPFD, 10), e = fcntl(errp[1], F_DUPFD, 10);
        int st = fcntl(statp[1], F_DUPFD, 10);
        int ro = fcntl(outp[0], F_DUPFD, 10), re = fcntl(errp[0], F_DUPFD, 10);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            sv_move_fd(devnull, 0);
        sv_move_fd(o, 1);
        sv_move_fd(e, 2);
        sv_move_fd(st, 3);
        sv_move_fd(ro, 4); /* the shim holds the read ends, for when soak is gone */
        sv_move_fd(re, 5);
        if (syscall(SYS_close_range, 6u, ~0u, 0u) != 0)
            for (int fd = 6; fd < 65536; fd++)
                close(fd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execv(s->self_exe, argv);
        shim_msg m = {SHIM_EXEC_FAILED, errno};
        ssize_t w = write(3, &m, sizeof m);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        s->start_errno = fork_errno;
        snprintf(s->start_what, sizeof s->start_what, "cannot fork");
        goto fail;
    }
    close(outp[1]);
    close(errp[1]);
    close(statp[1]);
    int fds[2] = {outp[0], errp[0]};
    for (int i = 0; i < LOGCAP_NSTREAMS; i++) {
        uv_pipe_init(s->loop, &s->pipes[i], 0);
        s->pipe_ctx[i].s = s;
        s->pipe_ctx[i].stream = i;
        s->pipes[i].data = &s->pipe_ctx[i];
        uv_pipe_open(&s->pipes[i], fds[i]);
        uv_read_start((uv_stream_t *)&s->pipes[i], sv_alloc, sv_on_read);
        s->pipe_open[i] = 1;
    }
    uv_pipe_init(s->loop, &s->status_pipe, 0);
    s->status_pipe.data = s;
    uv_pipe_open(&s->status_pipe, statp[0]);
    uv_read_start((uv_stream_t *)&s->status_pipe, sv_status_alloc, sv_on_status);
    s->status_open = 1;
    s->status_len = 0;
    s->child = pid;
    s->shim_alive = 1;
    s->service_pid = 0;
    s->shim_left = 0;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (statp[i] >= 0)
            close(statp[i]);
    }
    if (!s->start_errno)
        s->start_errno = EIO;
    return -1;
}

/* ---- the supervisor: events in, actions out ----------------------------------------------- */

static void sv_apply(sv *s, unsigned acts);

/* The picture's state and counters, from whichever table drives the run (the supervisor's
 * for soak run, the watch's for soak watch): written here only. */
static void sv_sync_counts(sv *s, rs_state state, unsigned starts, unsigned restarts,
                           unsigned crashes, unsigned hangs, sup_cause cause)
{
    s->rs.state = state;
    s->rs.starts = starts;
    s->rs.restarts = restarts;
    s->rs.crashes = crashes;
    s->rs.hangs = hangs;
    s->rs.completed = cause == SUP_CAUSE_DURATION;
}

/* The run's picture follows the table: rs.state and the counters through sv_sync_counts. */
static void sv_sync(sv *s)
{
    static const rs_state view[SUP_NSTATES] = {
        [SUP_INIT] = RS_STARTING,      [SUP_STARTING] = RS_STARTING,  [SUP_RUNNING] = RS_RUNNING,
        [SUP_STOP_TERM] = RS_STOPPING, [SUP_STOP_KILL] = RS_STOPPING, [SUP_STUCK] = RS_STOPPING,
        [SUP_BACKOFF] = RS_BACKOFF,    [SUP_DONE] = RS_DONE,          [SUP_FORKING] = RS_STARTING,
    };
    sv_sync_counts(s, view[s->sup.state], s->sup.starts, s->sup.restarts, s->sup.crashes,
                   s->sup.hangs, s->sup.cause);
    uint64_t now = now_ms(s);
    uint64_t due = sup_deadline(&s->sup);
    if (s->sup.state == SUP_DONE || !due)
        uv_timer_stop(&s->deadline_timer);
    else
        uv_timer_start(&s->deadline_timer, sv_on_deadline, due > now ? due - now : 0, 0);
    int stopping = s->rs.state == RS_STOPPING;
    if (stopping && !uv_is_active((uv_handle_t *)&s->stop_timer))
        uv_timer_start(&s->stop_timer, sv_stop_poll, 0, SV_STOP_POLL_MS);
    else if (!stopping)
        uv_timer_stop(&s->stop_timer);
}

/* Records how the service ended, as the table judged it. */
static void sv_rec_exit(sv *s)
{
    const sup_cycle *c = sup_last_cycle(&s->sup);
    double up_s = (double)(now_ms(s) - c->start_ms) / 1000.0;
    int pid = c->main_pid ? c->main_pid : (int)s->service_pid; /* a daemon's: its main pid */
    if (s->main_unknown && c->main_exited) {
        s->rs.last_exit_code = -1;
        s->rs.last_exit_signal = 0;
        sv_event_rec(s, STORE_EV_EXIT, 0, 0,
                     "pid %d is gone after %.1fs (not soak's to reap: exit status unknown)", pid,
                     up_s);
        return;
    }
    if (c->signal == 0) {
        s->rs.last_exit_code = c->exit_code;
        s->rs.last_exit_signal = 0;
        sv_event_rec(s, STORE_EV_EXIT, c->exit_failure, c->exit_code,
                     "pid %d exited with code %d after %.1fs", pid, c->exit_code, up_s);
        return;
    }
    s->rs.last_exit_code = -1;
    s->rs.last_exit_signal = c->signal;
    sv_event_rec(s, STORE_EV_EXIT, c->exit_failure, -c->signal,
                 "pid %d killed by signal %d (%s)%s after %.1fs", pid, c->signal,
                 strsignal(c->signal), c->core ? " (core dumped)" : "", up_s);
    if (c->core)
        sv_event_rec(s, STORE_EV_CORE_DUMP, 1, c->signal, "pid %d dumped core", pid);
    if (c->unexpected_kill) {
        char why[256];
        int oom = cgroup_oom_kills(s->cg, why, sizeof why);
        if (oom > 0) {
            s->rs.oom_kills++;
            sv_event_rec(s, STORE_EV_OOM_KILL, 1, oom, "SIGKILL by the kernel OOM killer: %s", why);
        } else {
            sv_event_rec(s, STORE_EV_OOM_SUSPECTED, 1, 0,
                         "SIGKILL that soak did not send: likely an OOM kill (%s)", why);
        }
    }
}

/* The slow pass over the service's tree into samples.db's memdetail (slowpass.h); phase
 * "start", "interval", "zombies" or "stop". At start and stop the largest process's smaps is
 * copied when memory_detail asks for it. */
static void sv_slow_pass(sv *s, uint64_t now, const char *phase)
{
    if (!(s->child > 0 && s->shim_alive) || !s->db)
        return;
    char copy[PATH_MAX + 32];
    const char *cp = NULL;
    if (s->o->memory_detail != OPTS_MEMDETAIL_OFF &&
        (!strcmp(phase, "start") || !strcmp(phase, "stop"))) {
        snprintf(copy, sizeof copy, "%s/smaps-%s.txt", s->artifacts_dir, phase);
        cp = copy;
    }
    store_memdetail m;
    /* a pass for zombies (the count rose) reads no smaps: it must not stall the target */
    int zombies_only = !strcmp(phase, "zombies");
    if (slowpass_take("/proc", s->child, wall_now(), phase, !zombies_only, cp, &m) == 0 &&
        store_memdetail_add(s->db, &m) != 0)
        s->rs.store_errors++;
    if (zombies_only)
        s->slow_zombie_ms = now;
    else
        s->slow_last_ms = now;
    s->slow_started = 1;
    if (s->rs.tree.zombies > s->slow_zombies)
        s->slow_zombies = s->rs.tree.zombies; /* the peak seen: only a higher one triggers */
}

/* SIGTERM to the shim's group and every descendant of soak; the stop poll follows it. */
static void sv_term(sv *s)
{
    if (s->rs.state == RS_RUNNING)
        sv_slow_pass(s, now_ms(s), "stop");
    const char *why = sup_last_cycle(&s->sup)->why == SUP_WHY_HANG ? "hang"
                      : s->sup.stops > 0                           ? sup_cause_text(s->sup.cause)
                                         : "service exited; stopping what is left of its tree";
    int n = treekill_begin(s->tk, getpid(), 0, now_ms(s));
    sv_event_rec(s, STORE_EV_STOP, 0, n < 0 ? 0 : n, "%s: SIGTERM to %d processes", why,
                 n < 0 ? 0 : n);
}

static void sv_kill(sv *s)
{
    treekill_poll(s->tk);
    int n = treekill_kill(s->tk, now_ms(s));
    char d[32];
    if (s->sup.stops > 1)
        sv_event_rec(s, STORE_EV_STOP_KILL, 0, n, "stop requested again: SIGKILL to %d processes",
                     n);
    else
        sv_event_rec(s, STORE_EV_STOP_KILL, 0, n, "%d processes still there after %s: SIGKILL", n,
                     units_format_duration(s->o->stop_timeout_ms, d, sizeof d));
}

static void sv_kill_again(sv *s)
{
    treekill_poll(s->tk);
    int n = treekill_kill(s->tk, now_ms(s));
    s->survivors = n;
    sv_event_rec(s, STORE_EV_STOP_STUCK, 0, n, "%d processes survive SIGKILL (state D?)", n);
}

/* ---- services that fork into the background (forking.h; Forking in supervise.h) ---------- */

#define SV_FORK_POLL_MS 50 /* how often FORKING looks for the main pid */

/* Whether processes of the cycle's tree are left, as the shim said with the exit it reports
 * (SHIM_LEFT; below the shim, while it lives). */
static int sv_tree_left(sv *s)
{
    return s->child > 0 && s->shim_alive && s->shim_left > 0;
}

static void sv_fork_poll(uv_timer_t *t);

/* FORKING: the main pid, from the pid file or the top of the tree; polled until found (the
 * supervisor's deadline ends the wait). The top of the tree counts once two polls agree: the
 * middle process of a double fork is gone by then. */
static void sv_fork_try(sv *s, int first)
{
    pid_t pid = 0;
    if (s->sup.state != SUP_FORKING) {
        uv_timer_stop(&s->fork_timer);
        return;
    }
    if (first)
        s->fork_candidate = 0;
    int found = s->child > 0 && s->shim_alive &&
                forking_find_main("/proc", s->child, s->o->pid_file, &pid, s->fork_why,
                                  sizeof s->fork_why) == 0;
    if (found && !s->o->pid_file[0] && pid != s->fork_candidate) {
        s->fork_candidate = pid; /* seen once: the next poll decides */
        found = 0;
    }
    if (found) {
        uv_timer_stop(&s->fork_timer);
        sv_apply(s, sup_main_pid(&s->sup, pid, now_ms(s)));
        return;
    }
    if (!uv_is_active((uv_handle_t *)&s->fork_timer))
        uv_timer_start(&s->fork_timer, sv_fork_poll, SV_FORK_POLL_MS, SV_FORK_POLL_MS);
}

static void sv_fork_poll(uv_timer_t *t)
{
    sv_fork_try(t->data, 0);
}

/* MAIN_PID: the daemon is the service from now on; told once a run on the console. */
static void sv_rec_main(sv *s)
{
    const sup_cycle *c = sup_last_cycle(&s->sup);
    uint64_t now = now_ms(s);
    s->rs.child_pid = c->main_pid;
    s->rs.last_heartbeat_ms = now; /* the heartbeat's clock starts with the daemon */
    runlock_note_child(s->artifacts_dir, c->main_pid);
    char how[OPTS_STR + 40];
    if (s->o->pid_file[0])
        snprintf(how, sizeof how, "named by '%s'", s->o->pid_file);
    else
        snprintf(how, sizeof how, "the top of the adopted tree");
    if (c->daemonized > 1) {
        sv_event_rec(s, STORE_EV_DAEMONIZED, 0, c->main_pid,
                     "the main pid exited 0 and left its tree: the main pid is now %d (%s)",
                     c->main_pid, how);
        return;
    }
    const char *what = c->detected ? "forking detected" : "forking service";
    sv_event_rec(s, STORE_EV_DAEMONIZED, 0, c->main_pid,
                 "%s: '%s' exited 0 and left pid %d (%s) in the background; soak follows it as "
                 "the service",
                 what, s->o->argv[0], c->main_pid, how);
    if (s->db) {
        char n[32];
        snprintf(n, sizeof n, "%d", c->main_pid);
        store_set_run(s->db, "service_type", c->detected ? "forking (detected)" : "forking");
        store_set_run(s->db, "main_pid", n);
    }
    if (s->fork_told++)
        return;
    fprintf(stderr,
            "soak: %s: '%s' exited 0 and left pid %d (%s) running in the background; soak "
            "follows it as the service\n",
            what, s->o->argv[0], c->main_pid, how);
    fprintf(stderr, "soak: hint: run the service in the foreground where it can (e.g. nginx -g "
                    "'daemon off;', redis daemonize no): soak then sees its exit and its output "
                    "directly\n");
}

/* A reaped orphan (after the service's first process exited): the main pid's exit? */
static void sv_orphan_exited(sv *s, int pid, int status)
{
    const sup_cycle *c = sup_last_cycle(&s->sup);
    if (!c->main_pid || pid != c->main_pid || c->main_exited)
        return;
    sv_apply(s, sup_main_exited(&s->sup, status, sv_tree_left(s), now_ms(s)));
}

/* The shim ended after the first process: the daemon is gone, its exit unseen when it was
 * not the shim's child (or it was never found). */
static void sv_main_gone(sv *s)
{
    const sup_cycle *c = sup_last_cycle(&s->sup);
    if (!c->daemonized || c->main_exited)
        return;
    s->main_unknown = c->main_pid != 0;
    sv_apply(s, sup_main_exited(&s->sup, 0, 0, now_ms(s)));
    s->main_unknown = 0;
}

/* A forking start that failed (FORK_FAILED, FORK_TIMEOUT, MAIN_EXITED in FORKING): said and
 * recorded; the table stops what is left of the tree. */
static void sv_fork_failed(sv *s)
{
    const sup_cycle *c = sup_last_cycle(&s->sup);
    char why[600], d[32];
    if (!c->daemonized && c->signal)
        snprintf(why, sizeof why, "the forking command was killed by signal %d (%s)", c->signal,
                 strsignal(c->signal));
    else if (!c->daemonized)
        snprintf(why, sizeof why, "the forking command exited with code %d", c->exit_code);
    else if (!(s->child > 0 && s->shim_alive))
        snprintf(why, sizeof why, "the daemon ended before its main pid was found");
    else
        snprintf(why, sizeof why, "no main pid within %s: %s",
                 units_format_duration(s->sup.cfg.forking_timeout_ms, d, sizeof d), s->fork_why);
    fprintf(stderr, "soak: cannot start '%s': %s\n", s->o->argv[0], why);
    sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "cannot start '%s': %s", s->o->argv[0], why);
}

/* The cycle is over: what the service wrote is read to the end. */
static void sv_cycle_over(sv *s)
{
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        sv_drain_pipe(s, i);
    sv_close_status(s);
    s->child = 0;
    s->rs.child_pid = 0;
}

static void sv_finish(sv *s)
{
    sv_cycle_over(s);
    uv_timer_stop(&s->sample_timer);
    uv_timer_stop(&s->stop_timer);
    uv_timer_stop(&s->deadline_timer);
    uv_timer_stop(&s->end_timer);
    uv_timer_stop(&s->ckpt_timer);
    uv_timer_stop(&s->fork_timer);
    uv_signal_stop(&s->sig_int);
    uv_signal_stop(&s->sig_term);
    uv_signal_stop(&s->sig_hup);
    uv_stop(s->loop);
}

/* Performs the actions of one transition, in the order of supervise.h. */
static void sv_apply(sv *s, unsigned acts)
{
    if (acts & SUP_A_REC_START) {
        s->rs.child_pid = s->service_pid;
        s->rs.child_start_ms = now_ms(s);
        s->rs.last_heartbeat_ms = s->rs.child_start_ms;
        sv_event_rec(s, s->sup.starts > 1 ? STORE_EV_RESTART : STORE_EV_START, 0,
                     (double)s->service_pid, "pid %d: %s", (int)s->service_pid, s->rs.command);
        runlock_note_child(s->artifacts_dir, s->child); /* for a later pre-flight's leftovers */
        runlock_note_child(s->artifacts_dir, s->service_pid);
    }
    if (acts & SUP_A_REC_EXIT)
        sv_rec_exit(s);
    if (acts & SUP_A_REC_MAIN)
        sv_rec_main(s);
    if (acts & SUP_A_REC_HANG) {
        char d[32], t[32];
        sv_event_rec(s, STORE_EV_HANG, 1, s->hang_age_s, "no heartbeat for %s (timeout %s)",
                     units_format_duration((uint64_t)(s->hang_age_s * 1000), d, sizeof d),
                     units_format_duration(s->o->heartbeat_timeout_ms, t, sizeof t));
    }
    if (acts & SUP_A_TERM)
        sv_term(s);
    if (acts & SUP_A_KILL)
        sv_kill(s);
    if (acts & SUP_A_KILL_AGAIN)
        sv_kill_again(s);
    if (acts & SUP_A_SCHEDULE) {
        sv_cycle_over(s);
        char d[32];
        sv_event_rec(s, STORE_EV_RESTART_SCHEDULED, 0, (double)s->sup.delay_ms / 1000.0,
                     "restart in %s", units_format_duration(s->sup.delay_ms, d, sizeof d));
        s->rs.next_start_ms = now_ms(s) + s->sup.delay_ms;
    }
    if ((acts & SUP_A_START_FAILED) && sup_last_cycle(&s->sup)->exited) {
        sv_fork_failed(s); /* a forking start: the command ran */
    } else if (acts & SUP_A_START_FAILED) {
        int e = s->start_errno ? s->start_errno : EIO;
        fprintf(stderr, "soak: cannot run '%s': %s\n", s->o->argv[0], strerror(e));
        sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "%s: %s", s->start_what, strerror(e));
        if (s->child > 0 && s->shim_alive) { /* a shim that never answered */
            kill(s->child, SIGKILL);
            if (waitpid(s->child, NULL, 0) == s->child)
                s->shim_alive = 0;
        }
    }
    if (acts & SUP_A_START_LIMIT) {
        char w[32];
        sv_event_rec(s, STORE_EV_START_LIMIT, 0, s->o->start_limit_burst,
                     "%u starts within %s: giving up", s->o->start_limit_burst,
                     units_format_duration(s->o->start_limit_interval_ms, w, sizeof w));
    }
    if (acts & SUP_A_FINISH)
        sv_finish(s);
    sv_sync(s);
    if (acts & SUP_A_FIND_MAIN)
        sv_fork_try(s, 1);
    if ((acts & SUP_A_SPAWN) && sv_spawn(s) != 0) /* last: its failure is a transition too */
        sv_apply(s, sup_spawn_failed(&s->sup, now_ms(s)));
}

/* While the tree is being stopped: is anything of it left? */
static void sv_stop_poll(uv_timer_t *t)
{
    sv *s = t->data;
    int alive = treekill_poll(s->tk);
    /* the shim's end must be reaped (and its status read) before the cycle can end */
    if (alive == 0 && !s->shim_alive)
        sv_apply(s, sup_tree_empty(&s->sup, now_ms(s)));
}

static void sv_on_deadline(uv_timer_t *t)
{
    sv *s = t->data;
    sv_apply(s, sup_timer(&s->sup, now_ms(s)));
}

static void sv_status_msg(sv *s, const shim_msg *m)
{
    switch (m->kind) {
    case SHIM_STARTED:
        s->service_pid = (pid_t)m->value;
        sv_apply(s, sup_spawned(&s->sup, now_ms(s)));
        break;
    case SHIM_EXEC_FAILED:
        s->start_errno = m->value;
        snprintf(s->start_what, sizeof s->start_what, "cannot run '%s'", s->o->argv[0]);
        sv_apply(s, sup_spawn_failed(&s->sup, now_ms(s)));
        break;
    case SHIM_EXITED:
        sv_apply(s, sup_child_exited(&s->sup, m->value, sv_tree_left(s), now_ms(s)));
        break;
    case SHIM_ORPHAN_PID:
        s->orphan_pid = m->value;
        break;
    case SHIM_LEFT:
        s->shim_left = m->value;
        break;
    case SHIM_ORPHAN_STATUS:
        sv_orphan_exited(s, s->orphan_pid, m->value);
        break;
    case SHIM_REAPED:
        if (m->value > 0)
            s->rs.reaped_orphans += (uint64_t)m->value;
        break;
    }
}

static void sv_on_sigchld(uv_signal_t *h, int signum)
{
    sv *s = h->data;
    (void)signum;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p <= 0)
            break;
        if (p != s->child && helpers_reaped(&s->helpers, p, st))
            continue; /* soak's own helper (journalctl): its owner hears it, nobody else */
        if (p == s->child && s->shim_alive) {
            s->shim_alive = 0;
            sv_status_drain(s); /* the service's exit, reported just before the shim ended */
            /* the shim's own end stands for the service's when it did not report one (the
             * table refuses a second exit in a cycle) */
            if (!sup_last_cycle(&s->sup)->exited)
                sv_apply(s, sup_exited(&s->sup, st, now_ms(s)));
            else
                sv_main_gone(s); /* a daemon's tree is gone */
        } else {
            s->rs.reaped_orphans++;
        }
    }
}

static void sv_on_stop_signal(uv_signal_t *h, int signum)
{
    sv *s = h->data;
    sup_cause c = signum == SIGINT   ? SUP_CAUSE_SIGINT
                  : signum == SIGHUP ? SUP_CAUSE_SIGHUP
                                     : SUP_CAUSE_SIGTERM;
    sv_request_stop(s, c, now_ms(s));
}

static void sv_on_end(uv_timer_t *t)
{
    sv *s = t->data;
    sv_request_stop(s, SUP_CAUSE_DURATION, now_ms(s));
}

/* ---- records ------------------------------------------------------------------------- */

/* The pattern counters as series pattern.NAME in the metrics table, once a minute, so gates
 * such as count(pattern.error) < 100 can read them (exact, unlike the rate-limited events). */
static void sv_store_pattern_counts(sv *s)
{
    double t = wall_now();
    char name[80];
    s->last_pat_store_ms = uv_now(s->loop);
    store_begin(s->db);
    for (size_t i = 0; i < patterns_count(s->pat); i++) {
        snprintf(name, sizeof name, "pattern.%s", patterns_name(s->pat, i));
        store_metric(s->db, t, name, "", (double)s->rs.pattern_hits[i]);
    }
    store_commit(s->db);
}

static void sv_logcap_events(sv *s)
{
    logcap_event evs[64];
    size_t n;
    while ((n = logcap_take_events(s->lc, evs, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const logcap_event *e = &evs[i];
            double t = wall_now();
            switch (e->kind) {
            case LOGCAP_EV_ROTATED:
                store_event(s->db, t, STORE_EV_ROTATION, 0, e->path, (double)e->bytes);
                break;
            case LOGCAP_EV_COMPRESSED:
                store_event(s->db, t, STORE_EV_COMPRESSED, 0, e->path, (double)e->bytes);
                break;
            case LOGCAP_EV_DELETED: {
                char d[400];
                snprintf(d, sizeof d, "%s (%s)", e->path, e->detail);
                store_event(s->db, t, STORE_EV_CLEANUP, 0, d, (double)e->bytes);
                break;
            }
            case LOGCAP_EV_DROPPED:
                store_event(s->db, t, STORE_EV_LOG_DROPPED, 0, e->detail, (double)e->bytes);
                break;
            case LOGCAP_EV_ERROR: {
                char d[400];
                snprintf(d, sizeof d, "%s: %s", e->path, e->detail);
                store_event(s->db, t, STORE_EV_LOG_ERROR, 0, d, 0);
                break;
            }
            }
        }
        if (n < 64)
            break;
    }
}

/* ---- the policies, from one place ------------------------------------------------------- */

/* Runs the watchdog, the quota and the low-disk policies on the sample just taken. */
static void sv_policies(sv *s, uint64_t now)
{
    policy_quota q = policy_quota_check(s->rs.artifacts_bytes, s->rs.log.log_bytes,
                                        s->o->artifacts_quota, s->db_capped);
    if (q.changed) {
        char a[32], b[32];
        sv_event_rec(s, q.capped ? STORE_EV_DB_CAPPED : STORE_EV_DB_UNCAPPED, 0,
                     (double)s->rs.artifacts_bytes,
                     q.capped
                         ? "artifacts at %s of %s: scraped metrics and pattern events are no "
                           "longer stored (they are still counted)"
                         : "artifacts back to %s of %s: storing metrics and pattern events again",
                     units_format_bytes(s->rs.artifacts_bytes, a, sizeof a),
                     units_format_bytes(s->o->artifacts_quota, b, sizeof b));
        s->db_capped = q.capped;
    }
    s->disk_tight = s->rs.disk_free_bytes < s->reserve;
    s->rs.db_capped = s->db_capped || s->disk_tight; /* scraped metrics wait too */
    /* the record before the logs: they leave the reserve free */
    uint64_t room = policy_log_room(s->rs.log.log_bytes, s->rs.disk_free_bytes, s->reserve);
    logcap_set_quota(s->lc, room < q.log_quota ? room : q.log_quota);

    policy_disk d = policy_disk_check(s->rs.disk_free_bytes, s->min_free, s->disk_low);
    if (d.entered) {
        char f[32], m[32];
        sv_event_rec(s, STORE_EV_DISK_LOW, 0, (double)s->rs.disk_free_bytes,
                     "%s free below %s: deleting rotated logs, oldest first",
                     units_format_bytes(s->rs.disk_free_bytes, f, sizeof f),
                     units_format_bytes(s->min_free, m, sizeof m));
    }
    s->disk_low = d.low;
    if (d.cleanup_bytes)
        logcap_cleanup(s->lc, d.cleanup_bytes);
    sv_logcap_events(s);

    double age;
    int hang = policy_watchdog(s->hb_index >= 0, s->rs.state == RS_RUNNING, now,
                               s->rs.last_heartbeat_ms, s->o->heartbeat_timeout_ms, &age);
    s->rs.heartbeat_age_s = age;
    if (hang)
        s->hang_age_s = age;
    if (s->w)
        sv_watch_hang(s, hang, now); /* recorded, not acted on */
    else if (hang)
        sv_apply(s, sup_hang(&s->sup, now));
}

/* ---- sampling ----------------------------------------------------------------------------- */

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Soak itself not scheduled since the last sample (SIGSTOP, a paused VM, a suspend): an event,
 * and the heartbeat's clock starts again, since the service was not the one that was silent. */
static void sv_check_pause(sv *s, uint64_t now)
{
    uint64_t mono = clock_ms(CLOCK_MONOTONIC), boot = clock_ms(CLOCK_BOOTTIME);
    uint64_t gap = 0;
    int paused = s->last_mono_ms && policy_paused(mono - s->last_mono_ms, boot - s->last_boot_ms,
                                                  s->o->interval_ms, &gap);
    s->last_mono_ms = mono;
    s->last_boot_ms = boot;
    if (!paused)
        return;
    char g[32], i[32];
    s->pauses++;
    sv_event_rec(s, STORE_EV_SOAK_PAUSED, 0, (double)gap / 1000.0,
                 "soak was not scheduled for %s (sampling every %s): not counted as a hang; "
                 "the heartbeat's clock starts again",
                 units_format_duration(gap, g, sizeof g),
                 units_format_duration(s->o->interval_ms, i, sizeof i));
    if (s->rs.last_heartbeat_ms < now)
        s->rs.last_heartbeat_ms = now;
}

/* The reserve file's size (store_reserve): half the reserve, at most STORE_RESERVE_MAX. */
static uint64_t sv_reserve_file_bytes(const sv *s)
{
    return s->reserve / 2 < STORE_RESERVE_MAX ? s->reserve / 2 : STORE_RESERVE_MAX;
}

/* Failed writes of samples.db are events (written when there is room again), never silent. */
static void sv_check_store(sv *s)
{
    store_stats st;
    store_stats_get(s->db, &st);
    s->rs.store_errors = st.write_errors;
    if (st.failing && !s->store_failing) {
        s->store_failing = 1;
        fprintf(stderr,
                "soak: cannot write '%s': %s: keeping samples and events in memory "
                "until there is room (at most %d)\n",
                s->db_path, st.last_error, STORE_PENDING_MAX);
        sv_event_rec(s, STORE_EV_WRITE_FAILED, 0, (double)st.write_errors,
                     "%s: %s: samples and events kept in memory until there is room%s", s->db_path,
                     st.last_error, st.reserve_releases ? " (the reserve was released)" : "");
        store_stats_get(s->db, &st);
    }
    if (st.reserve_releases > s->reserve_releases_seen) {
        s->reserve_releases_seen = st.reserve_releases;
        /* a write failed and the reserve made room for it: nothing lost yet, but on record */
        s->reserve_told = 1;
        char r[32];
        units_format_bytes(sv_reserve_file_bytes(s), r, sizeof r);
        fprintf(stderr,
                "soak: the disk of '%s' is full: its reserve (%s) was released for the "
                "record; the logs wait for room\n",
                s->artifacts_dir, r);
        sv_event_rec(s, STORE_EV_WRITE_FAILED, 0, (double)st.write_errors,
                     "%s: %s: the reserve (%s) was released for the record", s->db_path,
                     st.last_error, r);
        store_stats_get(s->db, &st);
    }
    /* room again: the reserve, too, when the disk has twice that free */
    if (s->reserve_told && !st.failing && !store_reserve_bytes(s->db) &&
        s->rs.disk_free_bytes > 2 * s->reserve &&
        store_reserve(s->db, sv_reserve_file_bytes(s)) == 0)
        s->reserve_told = 0;
    if (!st.failing && s->store_failing) {
        s->store_failing = 0;
        sv_event_rec(s, STORE_EV_WRITE_OK, 0, (double)st.late_rows,
                     "writes of samples.db work again: %llu rows written late, %llu writes "
                     "failed so far",
                     (unsigned long long)st.late_rows, (unsigned long long)st.write_errors);
    }
    uint64_t lost = store_lost(s->db);
    if (lost > s->store_lost_seen) {
        sv_event_rec(s, STORE_EV_DATA_LOST, 0, (double)(lost - s->store_lost_seen),
                     "%llu rows lost (%llu samples, %llu events, %llu run values in all): "
                     "more than %d kept in memory while writes failed",
                     (unsigned long long)(lost - s->store_lost_seen),
                     (unsigned long long)st.lost_samples, (unsigned long long)st.lost_events,
                     (unsigned long long)st.lost_run, STORE_PENDING_MAX);
        s->store_lost_seen = lost;
    }
}

/* At the end of an analysed run: the diagnosis when the verdict fails, and the smaps copies of
 * memory_detail: on-leak kept only when the memory gate failed. */
static void sv_diagnose_at_end(sv *s, const opts *o, int verdict)
{
    if (verdict == 1) {
        diagnose_args da = {.run_dir = s->artifacts_dir, .quiet = 1};
        diagnose_run(&da);
    }
    if (o->memory_detail == OPTS_MEMDETAIL_ON_LEAK) {
        int mem_failed = diagnose_gate_failed(s->artifacts_dir, "memory_growth") == 1;
        char path[PATH_MAX + 32];
        if (!mem_failed)
            for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof path, "%s/smaps-%s.txt", s->artifacts_dir,
                         i ? "stop" : "start");
                unlink(path);
            }
    }
}

/* ---- fail-fast (failfast.h): every sample goes in; a decided gate stops the run --------- */

static int sv_fail_fast_init(sv *s, char *err, size_t errlen)
{
    if (!s->o->fail_fast)
        return 0;
    s->ff = malloc(sizeof *s->ff);
    if (!s->ff || failfast_init_opts(s->ff, s->o, 0)) { /* restarts: the record marks them */
        free(s->ff);
        s->ff = NULL;
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    return 0;
}

static void sv_fail_fast(sv *s, const store_sample *m, uint64_t now)
{
    if (!s->ff || s->ff->decided || s->rs.state == RS_STOPPING)
        return;
    double v[STORE_NCOLS];
    for (int c = 0; c < STORE_NCOLS; c++)
        v[c] = store_sample_get(m, (store_col)c);
    int rc = failfast_add(s->ff, v, (double)s->sup.crashes, (double)s->rs.hangs);
    if (rc != 1)
        return;
    char n[32];
    store_set_run(s->db, "stopped_by_gate", s->ff->gate);
    snprintf(n, sizeof n, "%.0f", s->ff->elapsed_s);
    store_set_run(s->db, "stopped_by_elapsed_s", n);
    fprintf(stderr, "soak: fail-fast: gate '%s' can no longer pass after %s s: stopping the run\n",
            s->ff->gate, n);
    /* a fail-fast stop is an interrupted run: sv_archive writes its archive after the verdict */
    sv_request_stop(s, SUP_CAUSE_FAIL_FAST, now);
}

static void sv_sample(uv_timer_t *t)
{
    sv *s = t->data;
    uint64_t now = now_ms(s);
    sv_read_waiting(s); /* the lines waiting first: a heartbeat among them counts */
    follow_read_now(s->fw);
    sv_check_pause(s, now);
    if (s->w)
        sv_watch_poll(s, now); /* gone, replaced: before the sample of what is there now */
    logcap_stats ls;
    logcap_stats_get(s->lc, &ls);
    /* the tree below the shim (which is not counted); below soak once the shim is gone */
    pid_t root = s->child > 0 && s->shim_alive ? s->child : getpid();
    sampler_take(s->sm, root, s->rs.state == RS_RUNNING, now, &ls, &s->rs);
    char zdetail[300];
    pid_t zparent;
    if (sampler_zombie_event(s->sm, zdetail, sizeof zdetail, &zparent))
        sv_event_rec(s, STORE_EV_ZOMBIE_PERSISTENT, 0, zparent, "%s", zdetail);
    if (sampler_cost_warning(s->sm, zdetail, sizeof zdetail)) {
        fprintf(stderr, "soak: %s\n", zdetail);
        if (s->lc)
            logcap_note(s->lc, "soak", zdetail);
    }
    if (s->rs.state == RS_RUNNING) {
        if (!s->slow_started)
            sv_slow_pass(s, now, "start");
        else if (now - s->slow_last_ms >= s->o->memory_detail_interval_ms)
            sv_slow_pass(s, now, "interval");
        else if (s->rs.tree.zombies > s->slow_zombies &&
                 (!s->slow_zombie_ms || now - s->slow_zombie_ms >= 10000))
            sv_slow_pass(s, now, "zombies");
    }
    sv_policies(s, now);
    store_sample m = sampler_row(&s->rs, wall_now(), now);
    store_sample_add(s->db, &m);
    sv_check_store(s);
    /* a flood of rotation events grows the WAL by a page each: it is copied back early */
    uint64_t wal = store_wal_bytes(s->db);
    if (wal > STORE_WAL_LIMIT || (wal > STORE_WAL_LIMIT / 8 && s->rs.disk_free_bytes < s->reserve))
        sv_ckpt_tick(&s->ckpt_timer); /* and early when the disk is nearly full */
    if (s->rs.samples == 0 || now - s->last_pat_store_ms >= 60000)
        sv_store_pattern_counts(s);
    s->rs.samples++;
    statusline_update(s->sl, &s->rs, now);
    sv_fail_fast(s, &m, now);
}

static void sv_ckpt_work(uv_work_t *w)
{
    sv *s = w->data;
    store_checkpoint_file(s->db_path);
}

static void sv_ckpt_done(uv_work_t *w, int status)
{
    sv *s = w->data;
    (void)status;
    s->ckpt_busy = 0;
}

static void sv_ckpt_tick(uv_timer_t *t)
{
    sv *s = t->data;
    if (s->ckpt_busy)
        return;
    s->ckpt_work.data = s;
    if (uv_queue_work(s->loop, &s->ckpt_work, sv_ckpt_work, sv_ckpt_done) == 0)
        s->ckpt_busy = 1;
}

/* ---- soak watch: the same loop, a target soak did not start (watch.h, watchsm.h) -------- */

/* The picture follows the watch's table, as sv_sync does for the supervisor's. */
static void sv_watch_sync(sv *s)
{
    static const rs_state view[WSM_NSTATES] = {
        [WSM_INIT] = RS_STARTING, [WSM_WATCHING] = RS_RUNNING, [WSM_HUNG] = RS_RUNNING,
        [WSM_GONE] = RS_BACKOFF,  [WSM_DONE] = RS_DONE,
    };
    sv_sync_counts(s, view[s->wsm.state], s->wsm.starts, s->wsm.restarts, s->wsm.crashes,
                   s->wsm.hangs, s->wsm.cause);
    s->rs.child_pid = wsm_running(&s->wsm) ? watch_pid(s->w) : 0;
}

static void sv_watch_rec_exit(sv *s, pid_t pid)
{
    const wsm_exit *e = &s->wsm.last_exit;
    double up_s = (double)(now_ms(s) - s->wsm.start_ms) / 1000.0;
    if (!e->known) {
        s->rs.last_exit_code = -1;
        s->rs.last_exit_signal = 0;
        sv_event_rec(s, STORE_EV_EXIT, e->failure, NAN, "pid %d exited after %.1fs (%s)", (int)pid,
                     up_s, e->why);
    } else if (e->signal) {
        s->rs.last_exit_code = -1;
        s->rs.last_exit_signal = e->signal;
        sv_event_rec(s, STORE_EV_EXIT, e->failure, -e->signal,
                     "pid %d killed by signal %d (%s) after %.1fs (%s)", (int)pid, e->signal,
                     strsignal(e->signal), up_s, e->why);
    } else {
        s->rs.last_exit_code = e->code;
        s->rs.last_exit_signal = 0;
        sv_event_rec(s, STORE_EV_EXIT, e->failure, e->code,
                     "pid %d exited with code %d after %.1fs (%s)", (int)pid, e->code, up_s,
                     e->why);
    }
    if (e->oom_kill) {
        s->rs.oom_kills++;
        sv_event_rec(s, STORE_EV_OOM_KILL, 1, 1, "the kernel OOM killer: %s", e->why);
    }
}

/* Performs the actions of one transition of the watch's table, in the order of watchsm.h.
 * old: the process the target was before the event (for the exit's record). */
static void sv_watch_apply(sv *s, unsigned acts, pid_t old, const char *err)
{
    uint64_t now = now_ms(s);
    pid_t pid = watch_pid(s->w);
    if (acts & WSM_A_REC_START) {
        s->rs.child_start_ms = now;
        s->rs.last_heartbeat_ms = now;
        sv_event_rec(s, STORE_EV_START, 0, (double)pid, "watching %s (soak did not start it)",
                     watch_describe(s->w));
    }
    if (acts & WSM_A_REC_EXIT)
        sv_watch_rec_exit(s, old);
    if (acts & WSM_A_REC_RESTART) {
        s->rs.child_start_ms = now;
        s->rs.last_heartbeat_ms = now;
        sv_event_rec(s, STORE_EV_RESTART, 0, (double)pid, "pid %d in the place of pid %d: %s",
                     (int)pid, (int)old, watch_describe(s->w));
    }
    if (acts & WSM_A_REC_HANG) {
        char d[32], t[32];
        sv_event_rec(s, STORE_EV_HANG, 1, s->hang_age_s,
                     "no heartbeat for %s (timeout %s): recorded, not acted on",
                     units_format_duration((uint64_t)(s->hang_age_s * 1000), d, sizeof d),
                     units_format_duration(s->o->heartbeat_timeout_ms, t, sizeof t));
    }
    if (acts & WSM_A_ON_HANG) {
        char how[256], line[400];
        if (watch_on_hang(s->w, how, sizeof how)) {
            snprintf(line, sizeof line, "--on-hang command ran: %s", how);
            fprintf(stderr, "soak: %s\n", line);
            if (s->lc)
                logcap_note(s->lc, "soak", line);
        }
    }
    if (acts & WSM_A_ATTACH_FAILED) {
        fprintf(stderr, "soak: %s\n", err ? err : "the target is gone");
        sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "cannot watch %s: %s", watch_target_text(s->w),
                     err ? err : "the target is gone");
    }
    if (acts & WSM_A_FINISH)
        sv_finish(s);
    sv_watch_sync(s);
}

static int sv_watch_source(void *ud, proctree *pt, int with_pss, proctree_sample *out)
{
    return watch_sample(ud, pt, with_pss, out);
}

/* The loop begins: the target (attached by the caller) must still be there. */
static void sv_watch_begin(sv *s)
{
    wsm_exit e;
    sampler_set_source(s->sm, sv_watch_source, s->w);
    if (s->hb_index >= 0)
        fprintf(stderr, "soak: watch: the heartbeat watchdog starts at the first heartbeat line "
                        "of a followed log (logs.follow): soak watch does not see stdout\n");
    uint64_t now = now_ms(s);
    if (watch_poll(s->w, &e) == WATCH_GONE)
        sv_watch_apply(s, wsm_attach_failed(&s->wsm, now), 0, "the target exited at the start");
    else
        sv_watch_apply(s, wsm_attached(&s->wsm, now), 0, NULL);
}

/* Each sample: is the target still there, gone, replaced? And the cgroup's own counters. */
static void sv_watch_poll(sv *s, uint64_t now)
{
    if (!wsm_running(&s->wsm) && s->wsm.state != WSM_GONE)
        return;
    wsm_exit e;
    pid_t old = watch_pid(s->w);
    watch_seen seen = watch_poll(s->w, &e);
    if (seen == WATCH_GONE)
        sv_watch_apply(s, wsm_exited(&s->wsm, &e, watch_can_return(s->w), now), old, NULL);
    else if (seen == WATCH_REPLACED)
        sv_watch_apply(s, wsm_replaced(&s->wsm, &e, now), old, NULL);
    cgsample_values v;
    if (s->db && !s->db_capped && !s->disk_tight && watch_cgroup_values(s->w, &v)) {
        double t = wall_now();
        store_begin(s->db);
        if (v.memory_bytes >= 0)
            store_metric(s->db, t, "cgroup_memory_bytes", "", (double)v.memory_bytes);
        if (v.anon_bytes >= 0)
            store_metric(s->db, t, "cgroup_memory_anon_bytes", "", (double)v.anon_bytes);
        if (v.file_bytes >= 0)
            store_metric(s->db, t, "cgroup_memory_file_bytes", "", (double)v.file_bytes);
        if (v.cpu_seconds >= 0)
            store_metric(s->db, t, "cgroup_cpu_seconds", "", v.cpu_seconds);
        if (v.pids >= 0)
            store_metric(s->db, t, "cgroup_pids", "", (double)v.pids);
        if (v.oom_kills >= 0)
            store_metric(s->db, t, "cgroup_oom_kills", "", (double)v.oom_kills);
        store_commit(s->db);
    }
}

/* The watchdog's answer in watch mode: a hang is recorded (and --on-hang run), never acted on;
 * a heartbeat after it returns the table to watching. The watchdog is armed by the first
 * heartbeat seen: before it, silence says nothing (no followed log, or not one written yet). */
static void sv_watch_hang(sv *s, int hang, uint64_t now)
{
    /* armed by the first heartbeat: soak sees no stdout here, only followed logs */
    if (hang && s->hb_index >= 0 && s->rs.pattern_hits[s->hb_index] > 0)
        sv_watch_apply(s, wsm_hang(&s->wsm, now), watch_pid(s->w), NULL);
    else if (s->wsm.state == WSM_HUNG)
        sv_watch_apply(s, wsm_heartbeat(&s->wsm, now), watch_pid(s->w), NULL);
}

/* The duration, a signal or fail-fast asks the run to end: soak run stops the service; soak
 * watch only stops watching. */
static void sv_request_stop(sv *s, sup_cause c, uint64_t now)
{
    if (s->w)
        sv_watch_apply(s, wsm_stop(&s->wsm, c, now), watch_pid(s->w), NULL);
    else
        sv_apply(s, sup_stop(&s->sup, c, now));
}

/* ---- set-up and tear-down ------------------------------------------------------------- */

/* Closes the handles run.c owns; the endpoints and the scraper close their own. */
static void sv_close_handles(sv *s)
{
    uv_handle_t *hs[] = {
        (uv_handle_t *)&s->sig_chld,       (uv_handle_t *)&s->sig_int,
        (uv_handle_t *)&s->sig_term,       (uv_handle_t *)&s->sig_hup,
        (uv_handle_t *)&s->sample_timer,   (uv_handle_t *)&s->stop_timer,
        (uv_handle_t *)&s->deadline_timer, (uv_handle_t *)&s->end_timer,
        (uv_handle_t *)&s->ckpt_timer,     (uv_handle_t *)&s->fork_timer,
    };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i]->loop && !uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        sv_close_pipe(s, i);
    sv_close_status(s);
    sampler_close(s->sm);
}

static int sv_write_pidfile(sv *s, char *err, size_t errlen)
{
    snprintf(s->pid_path, sizeof s->pid_path, "%s/soak.pid", s->artifacts_dir);
    return runlock_write_pid(s->artifacts_dir, err, errlen) ? -1 : 0; /* pid, start, folder */
}

static int sv_mkdirs(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
    return -1;
}

/* The disk under the folder: its size decides the minimum free disk used, the reserve the logs
 * leave to the record, and the size soak.log rotates at (policy.h). */
static void sv_disk_plan(sv *s)
{
    struct statvfs vfs;
    if (statvfs(s->artifacts_dir, &vfs) != 0)
        memset(&vfs, 0, sizeof vfs); /* unknown: the policies' defaults, nothing tight */
    s->disk_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    policy_min_free mf = policy_min_free_check(s->o->min_free_disk, s->disk_bytes);
    s->min_free = mf.effective;
    s->reserve = policy_record_reserve(s->disk_bytes);
    s->disk_tight = s->disk_bytes && (uint64_t)vfs.f_bavail * vfs.f_frsize < s->reserve;
    if (mf.warn) {
        char a[32], b[32], c[32];
        fprintf(stderr,
                "soak: warning: min_free_disk %s is larger than the disk of '%s' (%s): using %s\n",
                units_format_bytes(s->o->min_free_disk, a, sizeof a), s->artifacts_dir,
                units_format_bytes(s->disk_bytes, b, sizeof b),
                units_format_bytes(s->min_free, c, sizeof c));
    }
    /* room for the last records even when something else fills the disk */
    store_reserve(s->db, sv_reserve_file_bytes(s));
}

/* Caps the logs to the room the disk has now (the quota's share is set at each sample). */
static void sv_log_room_now(sv *s)
{
    struct statvfs vfs;
    if (statvfs(s->artifacts_dir, &vfs) != 0)
        return;
    logcap_stats ls;
    logcap_stats_get(s->lc, &ls);
    uint64_t room =
        policy_log_room(ls.log_bytes, (uint64_t)vfs.f_bavail * vfs.f_frsize, s->reserve);
    uint64_t quota = s->o->artifacts_quota;
    logcap_set_quota(s->lc, quota && quota < room ? quota : room);
}

/* Refuses to run two soaks into one folder. */
static int sv_check_not_running(sv *s, char *err, size_t errlen)
{
    pid_t pid = ctl_running_pid(s->artifacts_dir);
    if (pid && pid != getpid()) {
        snprintf(err, errlen, "'%s' is in use by a running soak (pid %d)", s->artifacts_dir,
                 (int)pid);
        return -1;
    }
    return 0;
}

/* The pre-flight of this run (preflight.h): the problems printed, preflight.json written; a
 * refused run is recorded in samples.db (its outcome and the failed checks), no service started.
 * Returns 0 when the run may start. */
static preflight_result sv_pf;
static int sv_preflight(sv *s)
{
    char err[512], path[PATH_MAX + 16], tmp[64];
    int rc = preflight_run(s->o, s->artifacts_dir, 1, &sv_pf);
    if (preflight_write_json(&sv_pf, s->artifacts_dir, err, sizeof err))
        fprintf(stderr, "soak: %s\n", err);
    if (rc != 0 || sv_pf.nwarn) {
        fprintf(stderr, "soak: pre-flight %s:\n",
                rc ? "failed, the service was not started" : "warnings");
        preflight_print(&sv_pf, 1, stderr);
    }
    if (rc == 0)
        return 0;
    snprintf(path, sizeof path, "%s/samples.db", s->artifacts_dir);
    store *db = store_open(path, 0, err, sizeof err);
    if (db) {
        store_set_run(db, "command", s->rs.command);
        snprintf(tmp, sizeof tmp, "%.3f", wall_now());
        store_set_run(db, "start_time", tmp);
        store_set_run(db, "end_time", tmp);
        store_set_run(db, "outcome", "refused by the pre-flight");
        snprintf(tmp, sizeof tmp, "%d", SOAK_EXIT_ERROR);
        store_set_run(db, "exit_code", tmp);
        preflight_record(&sv_pf, db, wall_now());
        store_close(db);
    }
    return rc;
}

/* The archive after the verdict (archive.h): by the policy, when the run was interrupted. */
static void sv_archive(sv *s)
{
    sup_outcome oc = sup_outcome_of(&s->sup);
    int interrupted =
        (oc == SUP_OUT_STOPPED && s->sup.cause != SUP_CAUSE_DURATION) || oc == SUP_OUT_START_LIMIT;
    char path[PATH_MAX], err[PATH_MAX + 256];
    if (s->w)
        interrupted = wsm_interrupted(&s->wsm);
    if (!(s->sup.starts || s->wsm.starts) ||
        !archive_wanted((archive_policy)s->o->archive, interrupted))
        return;
    if (archive_write(s->artifacts_dir, NULL, path, sizeof path, err, sizeof err) == 0)
        printf("  archive      %s\n", path);
    else
        fprintf(stderr, "soak: %s\n", err);
}

/* The run's outcome as printed and stored: the supervisor's, with the count of survivors. */
static const char *sv_outcome(sv *s, char *buf, size_t n)
{
    if (s->w) {
        snprintf(buf, n, "%s", wsm_outcome_text(&s->wsm));
        return buf;
    }
    if (sup_outcome_of(&s->sup) == SUP_OUT_STUCK)
        snprintf(buf, n, "%d processes survive SIGKILL", s->survivors);
    else
        snprintf(buf, n, "%s", sup_outcome_text(&s->sup));
    return buf;
}

static void sv_print_outcome(sv *s, int code)
{
    char why[64];
    char a[32], b[32], c[32], d[32];
    const runstate *r = &s->rs;
    fprintf(stderr, "\n");
    printf("soak: %s after %s: %s\n", r->completed ? "completed" : "ended",
           units_format_duration(r->end_ms - r->start_ms, a, sizeof a),
           sv_outcome(s, why, sizeof why));
    char safe_cmd[4 * sizeof r->command + 1];
    termsafe_str(r->command, safe_cmd, sizeof safe_cmd);
    printf("  command      %s\n", safe_cmd);
    /* what samples.db holds, never more: a sample that could not be written is not claimed */
    if (s->stored_samples >= 0 && (uint64_t)s->stored_samples != r->samples)
        printf("  samples      %lld stored of %llu taken (every %s)\n",
               (long long)s->stored_samples, (unsigned long long)r->samples,
               units_format_duration(s->o->interval_ms, b, sizeof b));
    else
        printf("  samples      %llu (every %s)\n", (unsigned long long)r->samples,
               units_format_duration(s->o->interval_ms, b, sizeof b));
    if (s->data_lost || r->store_errors)
        printf("  record       %llu writes failed, %llu rows lost\n",
               (unsigned long long)r->store_errors, (unsigned long long)s->data_lost);
    printf("  memory       rss start %s, end %s, max %s\n",
           units_format_bytes(r->rss_first, a, sizeof a),
           units_format_bytes(r->rss_last, b, sizeof b),
           units_format_bytes(r->rss_max, c, sizeof c));
    printf("  cpu          %.1f s in total\n", r->cpu_seconds);
    printf("  restarts     %u, crashes %u, hangs %u, oom kills %u\n", r->restarts, r->crashes,
           r->hangs, r->oom_kills);
    printf("  zombies      max %u, orphans reaped %llu\n", r->zombies_max,
           (unsigned long long)r->reaped_orphans);
    printf("  persistent   max %u zombies (seen for %s or more)\n", r->zombies_persistent_max,
           units_format_duration(s->o->zombie_grace_ms, a, sizeof a));
    printf("  logs         %llu lines, %s written, %llu rotations, %s dropped\n",
           (unsigned long long)(r->log.lines[0] + r->log.lines[1]),
           units_format_bytes(r->log.bytes_written, a, sizeof a),
           (unsigned long long)r->log.rotations,
           units_format_bytes(r->log.dropped_bytes, d, sizeof d));
    printf("  artifacts    %s (%s)\n", s->artifacts_dir,
           units_format_bytes(r->artifacts_bytes, b, sizeof b));
    int sup_failed = (s->w ? wsm_exit_code(&s->wsm) : sup_exit_code(&s->sup)) == SOAK_EXIT_FAIL;
    printf("  supervision  %s\n", code == SOAK_EXIT_PASS ? "ok: no crash, no hang"
                                  : code == SOAK_EXIT_FAIL && !sup_failed
                                      ? "failed: the run lost data (samples.db)"
                                  : code == SOAK_EXIT_FAIL ? "failed: crashes, hangs or start limit"
                                                           : "error");
}

static void sv_build_command(sv *s)
{
    size_t used = 0;
    for (size_t i = 0; i < s->o->argc && used + 4 < sizeof s->rs.command; i++) {
        int w = snprintf(s->rs.command + used, sizeof s->rs.command - used, "%s%s", i ? " " : "",
                         s->o->argv[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used >= sizeof s->rs.command)
        used = sizeof s->rs.command - 1;
}

static int sv_main(opts *o, watch *w)
{
    sv *s = calloc(1, sizeof *s);
    char err[512];
    int code = SOAK_EXIT_ERROR;
    if (!s) {
        fprintf(stderr, "soak: out of memory\n");
        return SOAK_EXIT_ERROR;
    }
    s->o = o;
    s->w = w;
    wsm_init(&s->wsm);
    s->hb_index = -1;
    s->lock.fd = -1;
    helpers_init(&s->helpers);
    runstate_init(&s->rs);
    sv_build_command(s);
    if (w)
        snprintf(s->rs.command, sizeof s->rs.command, "watch %s", watch_describe(w));

    if (sv_mkdirs(o->artifacts, err, sizeof err))
        goto fail;
    if (!realpath(o->artifacts, s->artifacts_dir)) {
        snprintf(err, sizeof err, "cannot resolve '%s': %s", o->artifacts, strerror(errno));
        goto fail;
    }
    /* one run per folder, atomically, before anything of the run is written (runlock.h) */
    if (runlock_take(&s->lock, s->artifacts_dir, err, sizeof err))
        goto fail;
    if (sv_check_not_running(s, err, sizeof err))
        goto fail;
    if (!o->skip_preflight && sv_preflight(s) != 0)
        goto out; /* code 3: the failing checks are printed */
    ssize_t xl = readlink("/proc/self/exe", s->self_exe, sizeof s->self_exe - 1);
    if (xl <= 0) {
        snprintf(err, sizeof err, "cannot find soak's own binary: %s", strerror(errno));
        goto fail;
    }
    s->self_exe[xl] = '\0';

    /* patterns: the user's, then the heartbeat */
    const char *names[PATTERNS_MAX], *exprs[PATTERNS_MAX];
    size_t np = 0;
    for (size_t i = 0; i < o->npatterns; i++) {
        names[np] = o->pattern_names[i];
        exprs[np++] = o->pattern_exprs[i];
    }
    if (o->heartbeat[0]) {
        s->hb_index = (int)np;
        names[np] = "heartbeat";
        exprs[np++] = o->heartbeat;
    }
    s->pat = patterns_new(names, exprs, np, err, sizeof err);
    if (!s->pat) {
        code = SOAK_EXIT_USAGE;
        goto fail;
    }
    s->rs.pat = s->pat;

    snprintf(s->db_path, sizeof s->db_path, "%s/samples.db", s->artifacts_dir);
    s->db = store_open(s->db_path, 0, err, sizeof err);
    if (!s->db)
        goto fail;
    sv_disk_plan(s);
    preflight_record(&sv_pf, s->db, wall_now()); /* its warnings, in the run's record */
    logcap_opts lo;
    logcap_opts_default(&lo);
    lo.dir = s->artifacts_dir;
    lo.name = "soak.log";
    lo.max_file_bytes = policy_log_file_size(o->max_log_size, s->disk_bytes);
    lo.max_files = o->max_log_files;
    lo.quota_bytes = o->artifacts_quota;
    lo.buffer_bytes = (size_t)o->log_buffer;
    lo.gzip_level = (int)o->gzip_level;
    s->lc = logcap_new(&lo, err, sizeof err);
    if (!s->lc)
        goto fail;
    sv_log_room_now(s); /* before the first line: a flood fills a small disk within a second */
    s->sm = sampler_new(uv_default_loop(), s->artifacts_dir, s->db_path, o->pss_interval_ms);
    if (s->sm)
        sampler_set_zombie_grace(s->sm, o->zombie_grace_ms);
    s->tk = treekill_new("/proc", 0); /* the SIGCHLD handler reaps */
    if (!s->sm || !s->tk) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* soak's own helpers are neither stopped nor sampled with the service's tree */
    treekill_set_skip(s->tk, helpers_skip, &s->helpers);
    sampler_set_skip(s->sm, helpers_skip, &s->helpers);
    if (w)
        watch_set_skip(w, helpers_skip, &s->helpers);
    if (sv_write_pidfile(s, err, sizeof err))
        goto fail;

    /* orphans of the service come back to us, and are reaped */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        snprintf(err, sizeof err, "cannot become a child subreaper: %s", strerror(errno));
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
    s->cg = w ? NULL : cgroup_new(getpid()); /* soak watch: the target's cgroup is its own */

    /* the run's record */
    store_run_begin(s->db);
    char *cfg = malloc(OPTS_DUMP_MAX);
    if (cfg) {
        opts_dump(o, cfg, OPTS_DUMP_MAX);
        store_set_run(s->db, "config", cfg);
        free(cfg);
    }
    store_set_run(s->db, "command", s->rs.command);
    store_set_run(s->db, "config_file", o->config_path);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%d", (int)getpid());
    store_set_run(s->db, "soak_pid", tmp);
    snprintf(tmp, sizeof tmp, "%.3f", wall_now());
    store_set_run(s->db, "start_time", tmp);
    store_set_run(s->db, "outcome", "running");
    units_format_duration(o->duration_ms, tmp, sizeof tmp);
    store_set_run(s->db, "duration", tmp);
    units_format_duration(o->interval_ms, tmp, sizeof tmp);
    store_set_run(s->db, "interval", tmp);
    store_set_run(s->db, "cgroup", cgroup_describe(s->cg));
    if (w) {
        store_set_run(s->db, "mode", "watch");
        store_set_run(s->db, "watch_target", watch_target_text(w));
        store_set_run(s->db, "watch_kind", watch_kind_name(watch_kind_of(w)));
        store_set_run(s->db, "watched", watch_describe(w));
    }
    if (!w)
        store_set_run(s->db, "service_type",
                      o->service_type == OPTS_SERVICE_FORKING  ? "forking"
                      : o->service_type == OPTS_SERVICE_SIMPLE ? "simple"
                                                               : "auto");
    store_run_end(s->db);
    if (s->disk_tight)
        store_checkpoint_file(s->db_path); /* the WAL starts over before the disk is gone */

    s->loop = uv_default_loop();
    s->rs.start_ms = now_ms(s);
    sup_config sc = {
        .restart = o->restart,
        .stop_timeout_ms = o->stop_timeout_ms,
        .restart_delay_ms = o->restart_delay_ms,
        .restart_delay_max_ms = o->restart_delay_max_ms,
        .restart_reset_after_ms = o->restart_reset_after_ms,
        .start_limit_burst = o->start_limit_burst,
        .start_limit_interval_ms = o->start_limit_interval_ms,
        .service_type = o->service_type,
        .forking_detect_ms = o->forking_detect_ms,
        .forking_timeout_ms = o->forking_timeout_ms,
    };
    sup_init(&s->sup, &sc);

    uv_signal_init(s->loop, &s->sig_chld);
    uv_signal_init(s->loop, &s->sig_int);
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_chld.data = s->sig_int.data = s->sig_term.data = s->sig_hup.data = s;
    uv_signal_start(&s->sig_chld, sv_on_sigchld, SIGCHLD);
    uv_signal_start(&s->sig_int, sv_on_stop_signal, SIGINT);
    uv_signal_start(&s->sig_term, sv_on_stop_signal, SIGTERM);
    uv_signal_start(&s->sig_hup, sv_on_stop_signal, SIGHUP);
    uv_timer_t *timers[] = {&s->sample_timer, &s->stop_timer, &s->deadline_timer,
                            &s->end_timer,    &s->ckpt_timer, &s->fork_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        uv_timer_init(s->loop, timers[i]);
        timers[i]->data = s;
    }

    if (o->listen[0]) {
        int rc = endpoints_start(s->loop, o->listen, &s->rs, &s->ep, err, sizeof err);
        if (rc != 0) {
            /* a malformed address is a usage error; a port in use means the run cannot be done */
            code = rc == ERR_ADDR ? SOAK_EXIT_USAGE : SOAK_EXIT_ERROR;
            goto fail_loop;
        }
        /* the live view (liveapi.h), with basic auth from a file or the environment */
        char cred[512];
        int rc2 = endpoints_read_cred(o->listen_auth_file, getenv("SOAK_LISTEN_AUTH"), cred,
                                      sizeof cred, err, sizeof err);
        int have_cred = rc2 == 1;
        if (rc2 >= 0)
            rc2 = endpoints_live(s->ep, s->artifacts_dir, o, have_cred ? cred : NULL, err,
                                 sizeof err);
        explicit_bzero(cred, sizeof cred);
        if (rc2 < 0) {
            code = rc2 == ERR_NOMEM ? SOAK_EXIT_ERROR : SOAK_EXIT_USAGE;
            goto fail_loop;
        }
        if (!endpoints_addr_is_loopback(o->listen))
            fprintf(stderr,
                    "soak: warning: the live view on '%s' is reachable from other "
                    "machines%s\n",
                    o->listen, have_cred ? "" : " without a password (see listen_auth_file)");
        printf("soak: live view on http://%s%s:%d/\n", o->listen[0] == '[' ? "[::1]" : "",
               o->listen[0] == '[' ? "" : "127.0.0.1", endpoints_port(s->ep));
        fflush(stdout);
    }
    if (notifier_new(s->loop, o, &s->rs, s->artifacts_dir, sv_on_notify, s, &s->nt, err,
                     sizeof err)) {
        code = SOAK_EXIT_USAGE;
        goto fail_loop;
    }
    s->rs.artifacts_quota = o->artifacts_quota;
    if (pushgw_start(s->loop, o, &s->rs, &s->pg, err, sizeof err)) {
        code = SOAK_EXIT_USAGE;
        goto fail_loop;
    }
    if (o->metrics_url[0]) {
        s->sc = scrape_start(s->loop, s->db, o->metrics_url, o->scrape_interval_ms,
                             o->scrape_timeout_ms, o->scrape_max_series, &s->rs);
        if (!s->sc) {
            snprintf(err, sizeof err, "cannot start scraping '%s'", o->metrics_url);
            goto fail_loop;
        }
    }
    s->sl = statusline_new(o->status, o->duration_ms);
    if (sv_fail_fast_init(s, err, sizeof err))
        goto fail_loop;

    /* log files the service writes itself and a unit's journal: lines as stdout's */
    follow_opts fwo = {.paths = (const char *const *)o->follow,
                       .npaths = o->follow_n,
                       .poll_ms = o->follow_poll_ms,
                       .journal_unit = o->journal_unit,
                       .copy = o->follow_copy ? s->lc : NULL,
                       .on_line = sv_on_line,
                       .ud = s,
                       .helpers = &s->helpers};
    if (follow_new(s->loop, &fwo, &s->fw, err, sizeof err))
        goto fail_loop;
    s->rs.follow = s->fw;

    uv_timer_start(&s->end_timer, sv_on_end, o->duration_ms, 0);
    uv_timer_start(&s->ckpt_timer, sv_ckpt_tick, 10000, 10000);
    sampler_start(s->sm, SV_WALK_MS);
    uv_timer_start(&s->sample_timer, sv_sample, o->interval_ms, o->interval_ms);
    if (w)
        sv_watch_begin(s);
    else
        sv_apply(s, sup_start(&s->sup, now_ms(s)));

    if (w ? s->wsm.state != WSM_DONE : s->sup.state != SUP_DONE)
        uv_run(s->loop, UV_RUN_DEFAULT);

    /* the end: last sample, last events, the record; the supervisor says how it went */
    s->rs.end_ms = now_ms(s);
    if (s->sup.starts > 0 || s->wsm.starts > 0)
        sv_sample(&s->sample_timer);
    code = w ? wsm_exit_code(&s->wsm) : sup_exit_code(&s->sup);
    goto teardown;

fail_loop:
    fprintf(stderr, "soak: %s\n", err);
    err[0] = '\0';
    s->rs.end_ms = now_ms(s);
teardown:
    follow_stop(s->fw); /* what the files hold now is read before the log closes */
    statusline_free(s->sl);
    s->sl = NULL;
    scrape_stop(s->sc);
    endpoints_stop(s->ep);
    notifier_close_handles(s->nt);
    pushgw_close_handles(s->pg);
    sv_close_handles(s);
    /* the service is stopped; what is left is writing the record and compressing the last
     * logs: a Ctrl-C now would lose the outcome, so it waits */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    uv_run(s->loop, UV_RUN_DEFAULT); /* close callbacks, lws's shutdown, a scrape in flight */
    uv_loop_close(s->loop);
    char why[64];
    sv_outcome(s, why, sizeof why);
    if (s->db)
        auditcmd_run(o, s->artifacts_dir, s->db, wall_now()); /* the security gate's series */
    store_stats sst;
    s->stored_samples = -1;
    if (s->db) {
        /* the record first: what is kept is written now (the reserve gives it room) */
        sv_check_store(s);
        store_flush(s->db);
        store_stats_get(s->db, &sst);
        s->data_lost = store_lost(s->db) + sst.pending;
        if (s->data_lost && code == SOAK_EXIT_PASS)
            code = SOAK_EXIT_FAIL; /* a run that lost data does not pass */
    }
    if (s->lc) {
        snprintf(tmp, sizeof tmp, "%d", code);
        sv_event_rec(s, STORE_EV_END, 0, code, "%s", why);
        logcap_free(s->lc); /* flushes the log and finishes compression */
        s->lc = NULL;
    }
    if (s->db) {
        sv_store_pattern_counts(s);
        if ((s->sup.starts > 0 || s->wsm.starts > 0) && code != SOAK_EXIT_USAGE)
            postcheck_run_all(o, s->db, stdout);
        char n[32];
        store_run_begin(s->db);
        snprintf(n, sizeof n, "%u", s->rs.crashes);
        store_set_run(s->db, "crashes", n);
        snprintf(n, sizeof n, "%u", s->rs.hangs);
        store_set_run(s->db, "hangs", n);
        snprintf(n, sizeof n, "%u", s->rs.restarts);
        store_set_run(s->db, "restarts", n);
        store_set_run(s->db, "outcome", why);
        store_set_run(s->db, "exit_code", tmp);
        snprintf(n, sizeof n, "%llu", (unsigned long long)s->data_lost);
        store_set_run(s->db, "data_lost", n);
        snprintf(tmp, sizeof tmp, "%.3f", wall_now());
        store_set_run(s->db, "end_time", tmp);
        store_run_end(s->db);
        store_stats_get(s->db, &sst);
        s->rs.store_errors = sst.write_errors;
        /* what is still kept now is lost with the process (analyze sees no end_time) */
        s->data_lost = store_lost(s->db) + sst.pending + sst.pending_run;
        if (s->data_lost && code == SOAK_EXIT_PASS)
            code = SOAK_EXIT_FAIL;
        s->stored_samples = store_count(s->db, "samples");
    }
    if (s->pid_path[0])
        unlink(s->pid_path);
    if (code != SOAK_EXIT_ERROR || s->rs.samples)
        sv_print_outcome(s, code);
    goto out;
fail:
    fprintf(stderr, "soak: %s\n", err);
out:
    store_close(s->db);
    logcap_free(s->lc);
    sampler_free(s->sm);
    treekill_free(s->tk);
    patterns_free(s->pat);
    cgroup_free(s->cg);
    s->rs.follow = NULL;
    follow_free(s->fw);
    s->fw = NULL;
    /* after the service and the journal's own stop: whatever helper is left, soak stops */
    int helpers_left = helpers_stop_all(&s->helpers);
    if (helpers_left > 0)
        fprintf(stderr, "soak: %d helper processes survive SIGKILL\n", helpers_left);
    if (s->ff) {
        failfast_free(s->ff);
        free(s->ff);
        s->ff = NULL;
    }
    if (o->analyze && s->rs.samples && code != SOAK_EXIT_ERROR && code != SOAK_EXIT_USAGE) {
        /* the verdict decides the exit code: the gates include crashes == 0 */
        analyze_args aa = {.run_dir = s->artifacts_dir, .o = o};
        int v = analyze_main(&aa);
        /* the verdict, but never better than the supervision: a give-up at the start limit or
         * a hang fails the run even when a user's gates would let it pass; an analysis that
         * could not be done (its outputs not written) means the run was not carried out */
        if (v == 0 || v == 1)
            code = v == 1 || code == SOAK_EXIT_FAIL ? SOAK_EXIT_FAIL : SOAK_EXIT_PASS;
        else
            code = SOAK_EXIT_ERROR;
        /* a failed verdict: the runbook's sections on the data (diagnosis.json, report.html) */
        sv_diagnose_at_end(s, o, v);
        if (report_write(s->artifacts_dir, err, sizeof err) == 0)
            printf("  report       %s/report.html\n", s->artifacts_dir);
        else
            fprintf(stderr, "soak: %s\n", err);
    } else if (s->rs.samples) {
        printf("  exit         %d (not analyzed: analyze is off)\n", code);
    }
    sv_archive(s);
    runlock_release(&s->lock);
    if (s->pg) {
        if (pushgw_finish(s->pg, s->artifacts_dir, err, sizeof err))
            fprintf(stderr, "soak: pushgateway: %s\n", err);
        else
            printf("  pushed       the verdict to the pushgateway\n");
        s->pg = NULL;
    }
    if (s->nt) {
        char verdict[1024];
        notify_verdict_text(s->artifacts_dir, code, verdict, sizeof verdict);
        notifier_finish(s->nt, verdict, &s->rs.notify_sent, &s->rs.notify_failed);
        s->nt = NULL;
        printf("  notified     %u sent, %u not delivered\n", s->rs.notify_sent,
               s->rs.notify_failed);
    }
    free(s);
    return code;
}

int run_soak(opts *o)
{
    return sv_main(o, NULL);
}

int run_watch(opts *o, watch *w)
{
    return sv_main(o, w);
}
