/*
 * run: the `soak run` supervisor. One libuv loop drives everything:
 *   - the service, started by fork/exec in its own process group, with PR_SET_PDEATHSIG, stdin
 *     from /dev/null, stdout and stderr into pipes read by the loop;
 *   - SIGCHLD: soak is a child subreaper, so orphans come back to it; every child, ours or
 *     adopted, is reaped as soon as the signal arrives;
 *   - the sample timer: process tree, disk, log statistics, heartbeat watchdog, status line;
 *   - the state machine below, which decides what an exit, a hang or a stop request means.
 *
 * States and what each event does in them (actions[state][event]):
 *
 *              | EXITED (direct child) | HANG          | TREE_EMPTY       | TIMER (backoff) | STOP
 *   RUNNING    | kill leftovers ->STOP | kill ->STOP   | -                | -               | kill
 * ->STOP* STOPPING   | record                | -             | restart? ->BACK  | -               |
 * mark final BACKOFF    | -                     | -             | -                | start ->RUN |
 * ->DONE DONE       | -                     | -             | -                | -               |
 * -
 * (*) a final stop: after it the run ends instead of restarting.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
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
#include "backoff.h"
#include "cgroup.h"
#include "ctl.h"
#include "endpoints.h"
#include "logcap.h"
#include "patterns.h"
#include "proctree.h"
#include "report.h"
#include "runstate.h"
#include "scrape.h"
#include "shim.h"
#include "statusline.h"
#include "store.h"
#include "units.h"

typedef enum sv_event { EV_EXITED, EV_HANG, EV_TREE_EMPTY, EV_TIMER, EV_STOP, EV_COUNT } sv_event;

/* Everything the loop owns. One per `soak run`. */
typedef struct sv {
    runstate rs; /* counters shared with the endpoints and the status line */
    opts *o;
    uv_loop_t *loop;
    store *db;
    logcap *lc;
    patterns *pat;
    proctree *pt;
    endpoints *ep;
    scrape *sc;
    statusline *sl;
    cgroup *cg;
    int hb_index; /* pattern index of the heartbeat, -1 without one */

    uv_signal_t sig_chld, sig_int, sig_term, sig_hup;
    uv_timer_t sample_timer, stop_timer, backoff_timer, end_timer, ckpt_timer;
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
    pid_t service_pid;     /* the service, the shim's child */
    uv_pipe_t status_pipe; /* messages from the shim */
    int status_open;
    int shim_alive;
    char status_buf[64];
    size_t status_len;
    char self_exe[PATH_MAX];
    int child_status; /* wait status of the last exit */
    int exit_seen;    /* the direct child of this cycle has exited */
    int hang;         /* this cycle ended by the watchdog */
    int we_killed;    /* we sent SIGKILL in this cycle */
    int stop_final;   /* after this stop, the run ends */
    int stop_signals; /* SIGINT/SIGTERM received */
    int gave_up;      /* start limit reached */
    int start_error;  /* the command could not be started */
    uint64_t stop_started_ms;
    int stop_phase;    /* 0 TERM sent, 1 KILL sent */
    int stuck_periods; /* 5 s periods in which SIGKILL did not empty the tree */
    int survivors;     /* processes left when soak gave up stopping them */
    int db_capped;     /* the folder reached its quota: optional rows are not stored */
    uint64_t last_pss_ms;
    uint64_t last_pat_store_ms;
    uint64_t last_sample_ms;
    int disk_low;
    char end_reason[64];
    char artifacts_dir[PATH_MAX];
    char pid_path[PATH_MAX];
    /* rate limit of pattern events per pattern per minute */
    uint64_t pat_window_ms;
    unsigned pat_recorded[PATTERNS_MAX];
    uint64_t pat_suppressed[PATTERNS_MAX];
} sv;

static void sv_dispatch(sv *s, sv_event ev);
static void sv_finish(sv *s);

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
        if (s->pat_recorded[i] < s->o->pattern_events_per_min && !s->db_capped) {
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

/* Waits up to 10 s for the shim's first message: started or exec failed. */
static int sv_first_msg(int fd, shim_msg *m)
{
    size_t got = 0;
    while (got < sizeof *m) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, 10000);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, (char *)m + got, sizeof *m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
        got += (size_t)n;
    }
    return 0;
}

/* Starts the shim, which starts the service (see shim.h). */
static int sv_spawn(sv *s)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, statp[2] = {-1, -1};
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(statp, O_CLOEXEC)) {
        s->start_error = errno;
        sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "cannot create pipes: %s",
                     strerror(s->start_error));
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
        s->start_error = fork_errno;
        sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "cannot fork: %s", strerror(fork_errno));
        goto fail;
    }
    close(outp[1]);
    close(errp[1]);
    close(statp[1]);
    outp[1] = errp[1] = statp[1] = -1;
    shim_msg m;
    int rc = sv_first_msg(statp[0], &m);
    if (rc != 0 || m.kind != SHIM_STARTED) {
        int e = rc != 0 ? -rc : m.kind == SHIM_EXEC_FAILED ? m.value : EPROTO;
        s->start_error = e;
        sv_event_rec(s, STORE_EV_START_FAILED, 0, 0, "cannot run '%s': %s", s->o->argv[0],
                     strerror(e));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        goto fail;
    }
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
    s->service_pid = (pid_t)m.value;
    s->exit_seen = 0;
    s->hang = 0;
    s->we_killed = 0;
    s->rs.child_pid = s->service_pid;
    s->rs.child_start_ms = now_ms(s);
    s->rs.last_heartbeat_ms = s->rs.child_start_ms;
    s->rs.state = RS_RUNNING;
    s->rs.starts++;
    if (s->rs.starts > 1)
        s->rs.restarts++;
    sv_event_rec(s, s->rs.starts > 1 ? STORE_EV_RESTART : STORE_EV_START, 0, (double)s->service_pid,
                 "pid %d: %s", (int)s->service_pid, s->rs.command);
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
    if (!s->start_error)
        s->start_error = EIO;
    return -1;
}

/* ---- stopping ------------------------------------------------------------------------- */

static int sv_tree_count(void)
{
    pid_t pids[8];
    int n = proctree_descendants("/proc", getpid(), pids, 8);
    return n < 0 ? 0 : n;
}

static void sv_stop_tick(uv_timer_t *t)
{
    sv *s = t->data;
    if (sv_tree_count() == 0) {
        uv_timer_stop(&s->stop_timer);
        sv_dispatch(s, EV_TREE_EMPTY);
        return;
    }
    uint64_t now = now_ms(s);
    if (s->stop_phase == 0 && now - s->stop_started_ms >= s->o->stop_timeout_ms) {
        int n = proctree_signal_tree(getpid(), 0, SIGKILL);
        s->we_killed = 1;
        s->stop_phase = 1;
        s->stop_started_ms = now;
        sv_event_rec(s, STORE_EV_STOP_KILL, 0, n, "%d processes still there after %s: SIGKILL", n,
                     units_format_duration(s->o->stop_timeout_ms, (char[32]){0}, 32));
    } else if (s->stop_phase == 1 && now - s->stop_started_ms >= 5000) {
        /* processes in uninterruptible sleep: keep trying, and say so once a period; after a
         * minute give up, so that the run still ends and says so */
        int n = proctree_signal_tree(getpid(), 0, SIGKILL);
        s->stop_started_ms = now;
        sv_event_rec(s, STORE_EV_STOP_STUCK, 0, n, "%d processes survive SIGKILL (state D?)", n);
        if (++s->stuck_periods >= 12) {
            s->survivors = n;
            snprintf(s->end_reason, sizeof s->end_reason, "%d processes survive SIGKILL", n);
            uv_timer_stop(&s->stop_timer);
            sv_finish(s);
        }
    }
}

/* SIGTERM to the group and every descendant, then poll until the tree is empty. */
static void sv_begin_stop(sv *s, const char *why)
{
    s->rs.state = RS_STOPPING;
    s->stop_phase = 0;
    s->stuck_periods = 0;
    s->stop_started_ms = now_ms(s);
    int n = 0;
    if (s->child > 0 && s->shim_alive)
        kill(-s->child, SIGTERM); /* the group of the shim and the service */
    n = proctree_signal_tree(getpid(), 0, SIGTERM);
    sv_event_rec(s, STORE_EV_STOP, 0, n, "%s: SIGTERM to %d processes", why, n);
    uv_timer_start(&s->stop_timer, sv_stop_tick, 0, 50);
}

/* ---- the state machine ---------------------------------------------------------------- */

static void sv_finish(sv *s);
static void sv_backoff_fire(uv_timer_t *t);

static int sv_cycle_failed(sv *s)
{
    if (s->hang)
        return 1;
    int st = s->child_status;
    if (WIFEXITED(st))
        return WEXITSTATUS(st) != 0;
    return 1;
}

/* The tree is empty after an exit or a stop: end the run or schedule a restart. */
static void sv_after_cycle(sv *s)
{
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        sv_drain_pipe(s, i);
    sv_close_status(s);
    s->child = 0;
    s->rs.child_pid = 0;
    if (s->stop_final) {
        sv_finish(s);
        return;
    }
    int failed = sv_cycle_failed(s);
    opts_restart pol = s->o->restart;
    if (pol == OPTS_RESTART_NEVER || (pol == OPTS_RESTART_ON_FAILURE && !failed)) {
        snprintf(s->end_reason, sizeof s->end_reason, "%s",
                 failed ? "service failed" : "service exited");
        sv_finish(s);
        return;
    }
    uint64_t up = now_ms(s) - s->rs.child_start_ms;
    uint64_t delay = backoff_next(&s->rs.bo, up);
    char d[32];
    sv_event_rec(s, STORE_EV_RESTART_SCHEDULED, 0, (double)delay / 1000.0, "restart in %s",
                 units_format_duration(delay, d, sizeof d));
    s->rs.state = RS_BACKOFF;
    s->rs.next_start_ms = now_ms(s) + delay;
    uv_timer_start(&s->backoff_timer, sv_backoff_fire, delay, 0);
}

static void sv_try_start(sv *s)
{
    if (backoff_start(&s->rs.bo, now_ms(s)) != 0) {
        s->gave_up = 1;
        char w[32];
        sv_event_rec(s, STORE_EV_START_LIMIT, 0, s->o->start_limit_burst,
                     "%u starts within %s: giving up", s->o->start_limit_burst,
                     units_format_duration(s->o->start_limit_interval_ms, w, sizeof w));
        snprintf(s->end_reason, sizeof s->end_reason, "start limit reached");
        sv_finish(s);
        return;
    }
    if (sv_spawn(s) != 0) {
        snprintf(s->end_reason, sizeof s->end_reason, "cannot start the service");
        sv_finish(s);
    }
}

static void sv_backoff_fire(uv_timer_t *t)
{
    sv_dispatch(t->data, EV_TIMER);
}

static void sv_dispatch(sv *s, sv_event ev)
{
    switch (s->rs.state) {
    case RS_RUNNING:
        if (ev == EV_EXITED) {
            sv_begin_stop(s, "service exited; stopping what is left of its tree");
        } else if (ev == EV_HANG) {
            s->hang = 1;
            s->rs.hangs++;
            s->rs.crashes++;
            sv_begin_stop(s, "hang");
        } else if (ev == EV_STOP) {
            s->stop_final = 1;
            sv_begin_stop(s, s->end_reason);
        }
        break;
    case RS_STOPPING:
        if (ev == EV_TREE_EMPTY)
            sv_after_cycle(s);
        else if (ev == EV_STOP)
            s->stop_final = 1;
        break;
    case RS_BACKOFF:
        if (ev == EV_TIMER)
            sv_try_start(s);
        else if (ev == EV_STOP)
            sv_finish(s);
        break;
    case RS_STARTING:
    case RS_DONE:
        break;
    }
}

/* Whether an exit during a stop is the one the stop asked for: SIGTERM (or the exit code a
 * service gives itself on SIGTERM), or SIGKILL that soak sent. A crash while shutting down (a
 * segfault in a signal handler, a core dump) still counts. */
static int sv_exit_requested(sv *s, int status)
{
    if (s->rs.state != RS_STOPPING)
        return 0;
    if (WIFEXITED(status))
        return 1;
    int sig = WTERMSIG(status);
    if (WCOREDUMP(status))
        return 0;
    return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || (sig == SIGKILL && s->we_killed);
}

/* Records how the service ended. */
static void sv_child_exited(sv *s, int status)
{
    s->child_status = status;
    s->exit_seen = 1;
    uint64_t up = now_ms(s) - s->rs.child_start_ms;
    double up_s = (double)up / 1000.0;
    int pid = (int)s->service_pid;
    int requested = sv_exit_requested(s, status);
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        s->rs.last_exit_code = code;
        s->rs.last_exit_signal = 0;
        if (code != 0 && !requested)
            s->rs.crashes++;
        sv_event_rec(s, STORE_EV_EXIT, code != 0 && !requested, code,
                     "pid %d exited with code %d after %.1fs", pid, code, up_s);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        s->rs.last_exit_code = -1;
        s->rs.last_exit_signal = sig;
        if (!requested)
            s->rs.crashes++;
        const char *core = WCOREDUMP(status) ? " (core dumped)" : "";
        sv_event_rec(s, STORE_EV_EXIT, !requested, -sig,
                     "pid %d killed by signal %d (%s)%s after %.1fs", pid, sig, strsignal(sig),
                     core, up_s);
        if (WCOREDUMP(status))
            sv_event_rec(s, STORE_EV_CORE_DUMP, 0, sig, "pid %d dumped core", pid);
        if (sig == SIGKILL && !s->we_killed) {
            char why[256];
            int oom = cgroup_oom_kills(s->cg, why, sizeof why);
            if (oom > 0) {
                s->rs.oom_kills++;
                sv_event_rec(s, STORE_EV_OOM_KILL, 0, oom, "SIGKILL by the kernel OOM killer: %s",
                             why);
            } else {
                sv_event_rec(s, STORE_EV_OOM_SUSPECTED, 0, 0,
                             "SIGKILL that soak did not send: likely an OOM kill (%s)", why);
            }
        }
    }
    sv_dispatch(s, EV_EXITED);
}

static void sv_status_msg(sv *s, const shim_msg *m)
{
    if (m->kind == SHIM_EXITED && !s->exit_seen)
        sv_child_exited(s, m->value);
    else if (m->kind == SHIM_REAPED && m->value > 0)
        s->rs.reaped_orphans += (uint64_t)m->value;
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
        if (p == s->child && s->shim_alive) {
            s->shim_alive = 0;
            sv_status_drain(s); /* the service's exit, reported just before the shim ended */
            if (!s->exit_seen)  /* the shim died first: its end stands for the service's */
                sv_child_exited(s, st);
        } else {
            s->rs.reaped_orphans++;
        }
    }
}

static void sv_on_stop_signal(uv_signal_t *h, int signum)
{
    sv *s = h->data;
    s->stop_signals++;
    if (s->stop_signals > 1 && s->rs.state == RS_STOPPING) {
        /* a second Ctrl-C: no more grace */
        int n = proctree_signal_tree(getpid(), 0, SIGKILL);
        s->we_killed = 1;
        s->stop_phase = 1;
        sv_event_rec(s, STORE_EV_STOP_KILL, 0, n, "second %s: SIGKILL to %d processes",
                     strsignal(signum), n);
        return;
    }
    snprintf(s->end_reason, sizeof s->end_reason, "stopped by %s",
             signum == SIGINT   ? "SIGINT"
             : signum == SIGHUP ? "SIGHUP"
                                : "SIGTERM");
    sv_dispatch(s, EV_STOP);
}

static void sv_on_end(uv_timer_t *t)
{
    sv *s = t->data;
    snprintf(s->end_reason, sizeof s->end_reason, "duration reached");
    s->rs.completed = 1;
    sv_dispatch(s, EV_STOP);
}

/* ---- sampling ------------------------------------------------------------------------- */

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

/* Size of a folder, recursively (bounded depth and count). */
static uint64_t sv_dir_bytes(int dfd, int depth, unsigned *budget)
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
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                total += sv_dir_bytes(sub, depth + 1, budget);
        } else if (S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_blocks * 512;
        }
    }
    closedir(d);
    return total;
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

static void sv_sample(uv_timer_t *t)
{
    sv *s = t->data;
    uint64_t now = now_ms(s);
    int with_pss = s->o->pss_interval_ms > 0 &&
                   (s->last_pss_ms == 0 || now - s->last_pss_ms >= s->o->pss_interval_ms);
    proctree_sample ps;
    memset(&ps, 0, sizeof ps);
    /* the tree below the shim (which is not counted); below soak once the shim is gone */
    pid_t root = s->child > 0 && s->shim_alive ? s->child : getpid();
    if (proctree_sample_tree(s->pt, root, 0, with_pss, &ps) == 0 && with_pss)
        s->last_pss_ms = now;

    double dt = s->last_sample_ms ? (double)(now - s->last_sample_ms) / 1000.0 : 0;
    s->last_sample_ms = now;
    s->rs.cpu_seconds += ps.cpu_seconds_delta;
    s->rs.cpu_percent = dt > 0 ? 100.0 * ps.cpu_seconds_delta / dt : 0;
    s->rs.tree = ps;
    if (ps.pss_valid)
        s->rs.pss_last = ps.pss_bytes;
    if (s->rs.state == RS_RUNNING && ps.rss_bytes > 0) {
        if (s->rs.rss_first == 0)
            s->rs.rss_first = ps.rss_bytes;
        s->rs.rss_last = ps.rss_bytes;
    }
    if (ps.rss_bytes > s->rs.rss_max)
        s->rs.rss_max = ps.rss_bytes;
    if (ps.zombies > s->rs.zombies_max)
        s->rs.zombies_max = ps.zombies;

    unsigned budget = 100000;
    int dfd = open(s->artifacts_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->rs.artifacts_bytes = dfd >= 0 ? sv_dir_bytes(dfd, 0, &budget) : 0;
    struct statvfs vfs;
    if (statvfs(s->artifacts_dir, &vfs) == 0)
        s->rs.disk_free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;

    logcap_stats ls;
    logcap_stats_get(s->lc, &ls);
    s->rs.log = ls;
    /* the quota covers the whole folder: logs get what the rest leaves */
    uint64_t other =
        s->rs.artifacts_bytes > ls.log_bytes ? s->rs.artifacts_bytes - ls.log_bytes : 0;
    uint64_t q = s->o->artifacts_quota;
    /* samples.db grows too (scraped metrics, pattern events): at 95 % of the quota those
     * optional rows stop, so that the folder holds its quota; samples and lifecycle events go on */
    int capped = s->rs.artifacts_bytes >= q / 100 * 95;
    if (capped != s->db_capped) {
        char a[32], b[32];
        sv_event_rec(
            s, capped ? STORE_EV_DB_CAPPED : STORE_EV_DB_UNCAPPED, 0, (double)s->rs.artifacts_bytes,
            capped ? "artifacts at %s of %s: scraped metrics and pattern events are no "
                     "longer stored (they are still counted)"
                   : "artifacts back to %s of %s: storing metrics and pattern events again",
            units_format_bytes(s->rs.artifacts_bytes, a, sizeof a),
            units_format_bytes(q, b, sizeof b));
        s->db_capped = capped;
        s->rs.db_capped = capped;
    }
    logcap_set_quota(s->lc, q > other + (1u << 20) ? q - other : (1u << 20));
    if (s->rs.disk_free_bytes < s->o->min_free_disk) {
        if (!s->disk_low) {
            char f[32], m[32];
            sv_event_rec(s, STORE_EV_DISK_LOW, 0, (double)s->rs.disk_free_bytes,
                         "%s free below %s: deleting rotated logs, oldest first",
                         units_format_bytes(s->rs.disk_free_bytes, f, sizeof f),
                         units_format_bytes(s->o->min_free_disk, m, sizeof m));
            s->disk_low = 1;
        }
        logcap_cleanup(s->lc, s->o->min_free_disk - s->rs.disk_free_bytes);
    } else if (s->rs.disk_free_bytes > s->o->min_free_disk + s->o->min_free_disk / 10) {
        s->disk_low = 0;
    }
    sv_logcap_events(s);

    /* watchdog */
    double hb_age = -1;
    if (s->hb_index >= 0 && s->rs.state == RS_RUNNING) {
        uint64_t age = now - s->rs.last_heartbeat_ms;
        hb_age = (double)age / 1000.0;
        if (age > s->o->heartbeat_timeout_ms) {
            char d[32];
            sv_event_rec(s, STORE_EV_HANG, 0, hb_age, "no heartbeat for %s (timeout %s)",
                         units_format_duration(age, d, sizeof d),
                         units_format_duration(s->o->heartbeat_timeout_ms, (char[32]){0}, 32));
            sv_dispatch(s, EV_HANG);
        }
    }
    s->rs.heartbeat_age_s = hb_age;

    store_sample m = {
        .t = wall_now(),
        .elapsed_s = (double)(now - s->rs.start_ms) / 1000.0,
        .rss_bytes = ps.rss_bytes,
        .pss_bytes = ps.pss_valid ? (int64_t)ps.pss_bytes : -1,
        .cpu_percent = s->rs.cpu_percent,
        .cpu_seconds = s->rs.cpu_seconds,
        .threads = ps.threads,
        .fds = ps.fds,
        .procs = ps.nprocs,
        .zombies = ps.zombies,
        .artifacts_bytes = s->rs.artifacts_bytes,
        .disk_free_bytes = s->rs.disk_free_bytes,
        .restarts = s->rs.restarts,
        .log_lines = ls.lines[0] + ls.lines[1],
        .dropped_bytes = ls.dropped_bytes,
        .heartbeat_age_s = hb_age,
    };
    if (store_sample_add(s->db, &m) != 0)
        s->rs.store_errors++;
    if (s->rs.samples == 0 || now - s->last_pat_store_ms >= 60000)
        sv_store_pattern_counts(s);
    s->rs.samples++;
    statusline_update(s->sl, &s->rs, now);
}

/* samples.db checkpoints run on the thread pool: they fsync, and the loop must not wait */
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

/* ---- set-up and tear-down ------------------------------------------------------------- */

/* Closes the handles run.c owns; the endpoints and the scraper close their own. */
static void sv_close_handles(sv *s)
{
    uv_handle_t *hs[] = {
        (uv_handle_t *)&s->sig_chld,      (uv_handle_t *)&s->sig_int,
        (uv_handle_t *)&s->sig_term,      (uv_handle_t *)&s->sig_hup,
        (uv_handle_t *)&s->sample_timer,  (uv_handle_t *)&s->stop_timer,
        (uv_handle_t *)&s->backoff_timer, (uv_handle_t *)&s->end_timer,
        (uv_handle_t *)&s->ckpt_timer,
    };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i]->loop && !uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        sv_close_pipe(s, i);
    sv_close_status(s);
}

static void sv_finish(sv *s)
{
    if (s->rs.state == RS_DONE)
        return;
    s->rs.state = RS_DONE;
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        sv_drain_pipe(s, i);
    uv_timer_stop(&s->sample_timer);
    uv_timer_stop(&s->stop_timer);
    uv_timer_stop(&s->backoff_timer);
    uv_timer_stop(&s->end_timer);
    uv_timer_stop(&s->ckpt_timer);
    uv_signal_stop(&s->sig_int);
    uv_signal_stop(&s->sig_term);
    uv_signal_stop(&s->sig_hup);
    uv_stop(s->loop);
}

static int sv_write_pidfile(sv *s, char *err, size_t errlen)
{
    snprintf(s->pid_path, sizeof s->pid_path, "%s/soak.pid", s->artifacts_dir);
    FILE *f = fopen(s->pid_path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", s->pid_path, strerror(errno));
        return -1;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    return 0;
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

static void sv_print_outcome(sv *s, int code)
{
    char a[32], b[32], c[32], d[32];
    const runstate *r = &s->rs;
    fprintf(stderr, "\n");
    printf("soak: %s after %s: %s\n", r->completed ? "completed" : "ended",
           units_format_duration(r->end_ms - r->start_ms, a, sizeof a), s->end_reason);
    printf("  command      %s\n", r->command);
    printf("  samples      %llu (every %s)\n", (unsigned long long)r->samples,
           units_format_duration(s->o->interval_ms, b, sizeof b));
    printf("  memory       rss start %s, end %s, max %s\n",
           units_format_bytes(r->rss_first, a, sizeof a),
           units_format_bytes(r->rss_last, b, sizeof b),
           units_format_bytes(r->rss_max, c, sizeof c));
    printf("  cpu          %.1f s in total\n", r->cpu_seconds);
    printf("  restarts     %u, crashes %u, hangs %u, oom kills %u\n", r->restarts, r->crashes,
           r->hangs, r->oom_kills);
    printf("  zombies      max %u, orphans reaped %llu\n", r->zombies_max,
           (unsigned long long)r->reaped_orphans);
    printf("  logs         %llu lines, %s written, %llu rotations, %s dropped\n",
           (unsigned long long)(r->log.lines[0] + r->log.lines[1]),
           units_format_bytes(r->log.bytes_written, a, sizeof a),
           (unsigned long long)r->log.rotations,
           units_format_bytes(r->log.dropped_bytes, d, sizeof d));
    printf("  artifacts    %s (%s)\n", s->artifacts_dir,
           units_format_bytes(r->artifacts_bytes, b, sizeof b));
    printf("  supervision  %s\n", code == SOAK_EXIT_PASS   ? "ok: no crash, no hang"
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

int run_soak(opts *o)
{
    sv *s = calloc(1, sizeof *s);
    char err[512];
    int code = SOAK_EXIT_ERROR;
    if (!s) {
        fprintf(stderr, "soak: out of memory\n");
        return SOAK_EXIT_ERROR;
    }
    s->o = o;
    s->hb_index = -1;
    snprintf(s->end_reason, sizeof s->end_reason, "running");
    runstate_init(&s->rs);
    sv_build_command(s);

    if (sv_mkdirs(o->artifacts, err, sizeof err))
        goto fail;
    if (!realpath(o->artifacts, s->artifacts_dir)) {
        snprintf(err, sizeof err, "cannot resolve '%s': %s", o->artifacts, strerror(errno));
        goto fail;
    }
    if (sv_check_not_running(s, err, sizeof err))
        goto fail;
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
    logcap_opts lo;
    logcap_opts_default(&lo);
    lo.dir = s->artifacts_dir;
    lo.name = "soak.log";
    lo.max_file_bytes = o->max_log_size;
    lo.max_files = o->max_log_files;
    lo.quota_bytes = o->artifacts_quota;
    lo.buffer_bytes = (size_t)o->log_buffer;
    lo.gzip_level = (int)o->gzip_level;
    s->lc = logcap_new(&lo, err, sizeof err);
    if (!s->lc)
        goto fail;
    s->pt = proctree_new("/proc");
    if (!s->pt) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (sv_write_pidfile(s, err, sizeof err))
        goto fail;

    /* orphans of the service come back to us, and are reaped */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        snprintf(err, sizeof err, "cannot become a child subreaper: %s", strerror(errno));
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
    s->cg = cgroup_new(getpid());

    /* the run's record */
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

    s->loop = uv_default_loop();
    s->rs.start_ms = now_ms(s);
    backoff_init(&s->rs.bo, o->restart_delay_ms, o->restart_delay_max_ms, o->restart_reset_after_ms,
                 o->start_limit_burst, o->start_limit_interval_ms);

    uv_signal_init(s->loop, &s->sig_chld);
    uv_signal_init(s->loop, &s->sig_int);
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_chld.data = s->sig_int.data = s->sig_term.data = s->sig_hup.data = s;
    uv_signal_start(&s->sig_chld, sv_on_sigchld, SIGCHLD);
    uv_signal_start(&s->sig_int, sv_on_stop_signal, SIGINT);
    uv_signal_start(&s->sig_term, sv_on_stop_signal, SIGTERM);
    uv_signal_start(&s->sig_hup, sv_on_stop_signal, SIGHUP);
    uv_timer_init(s->loop, &s->sample_timer);
    uv_timer_init(s->loop, &s->stop_timer);
    uv_timer_init(s->loop, &s->backoff_timer);
    uv_timer_init(s->loop, &s->end_timer);
    uv_timer_init(s->loop, &s->ckpt_timer);
    s->ckpt_timer.data = s;
    s->sample_timer.data = s->stop_timer.data = s->backoff_timer.data = s->end_timer.data = s;

    if (o->listen[0]) {
        s->ep = endpoints_start(s->loop, o->listen, &s->rs, err, sizeof err);
        if (!s->ep) {
            /* a malformed address is a usage error; a port in use means the run cannot be done */
            code = strstr(err, "bad address") ? SOAK_EXIT_USAGE : SOAK_EXIT_ERROR;
            goto fail_loop;
        }
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

    if (backoff_start(&s->rs.bo, now_ms(s)) != 0 || sv_spawn(s) != 0) {
        snprintf(err, sizeof err, "cannot run '%s': %s", o->argv[0],
                 strerror(s->start_error ? s->start_error : EIO));
        snprintf(s->end_reason, sizeof s->end_reason, "cannot start the service");
        s->rs.state = RS_DONE;
        goto fail_loop;
    }
    uv_timer_start(&s->end_timer, sv_on_end, o->duration_ms, 0);
    uv_timer_start(&s->ckpt_timer, sv_ckpt_tick, 10000, 10000);
    uv_timer_start(&s->sample_timer, sv_sample, o->interval_ms, o->interval_ms);

    uv_run(s->loop, UV_RUN_DEFAULT);

    /* the end: last sample, last events, the record */
    s->rs.end_ms = now_ms(s);
    sv_sample(&s->sample_timer);
    if (s->start_error || s->survivors)
        code = SOAK_EXIT_ERROR;
    else if (s->gave_up || s->rs.crashes > 0 || s->rs.hangs > 0)
        code = SOAK_EXIT_FAIL;
    else
        code = SOAK_EXIT_PASS;
    goto teardown;

fail_loop:
    fprintf(stderr, "soak: %s\n", err);
    err[0] = '\0';
    s->rs.end_ms = now_ms(s);
teardown:
    statusline_free(s->sl);
    s->sl = NULL;
    scrape_stop(s->sc);
    endpoints_stop(s->ep);
    sv_close_handles(s);
    /* the service is stopped; what is left is writing the record and compressing the last
     * logs: a Ctrl-C now would lose the outcome, so it waits */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    uv_run(s->loop, UV_RUN_DEFAULT); /* close callbacks, lws's shutdown, a scrape in flight */
    uv_loop_close(s->loop);
    if (s->lc) {
        snprintf(tmp, sizeof tmp, "%d", code);
        sv_event_rec(s, STORE_EV_END, 0, code, "%s", s->end_reason);
        logcap_free(s->lc); /* flushes the log and finishes compression */
        s->lc = NULL;
    }
    if (s->db) {
        sv_store_pattern_counts(s);
        char n[32];
        snprintf(n, sizeof n, "%u", s->rs.crashes);
        store_set_run(s->db, "crashes", n);
        snprintf(n, sizeof n, "%u", s->rs.hangs);
        store_set_run(s->db, "hangs", n);
        snprintf(n, sizeof n, "%u", s->rs.restarts);
        store_set_run(s->db, "restarts", n);
        store_set_run(s->db, "outcome", s->end_reason);
        store_set_run(s->db, "exit_code", tmp);
        snprintf(tmp, sizeof tmp, "%.3f", wall_now());
        store_set_run(s->db, "end_time", tmp);
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
    proctree_free(s->pt);
    patterns_free(s->pat);
    cgroup_free(s->cg);
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
        if (report_write(s->artifacts_dir, err, sizeof err) == 0)
            printf("  report       %s/report.html\n", s->artifacts_dir);
        else
            fprintf(stderr, "soak: %s\n", err);
    } else if (s->rs.samples) {
        printf("  exit         %d (not analyzed: analyze is off)\n", code);
    }
    free(s);
    return code;
}
