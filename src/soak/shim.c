/* shim: keeps the service's tree under a subreaper that outlives nothing. See shim.h. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forking.h"
#include "treekill.h"

#define SHIM_KILL_MS 5000 /* SIGKILL for this long at most, then the shim gives up */

static int shim_fd = -1;

static void shim_send(int kind, int value)
{
    shim_msg m = {kind, value};
    if (shim_fd >= 0 && write(shim_fd, &m, sizeof m) != (ssize_t)sizeof m)
        shim_fd = -1; /* soak is gone; go on without reporting */
}

/* Writes messages at once (at most PIPE_BUF bytes: one write, never interleaved). */
static void shim_write(const shim_msg *m, size_t len)
{
    if (shim_fd >= 0 && write(shim_fd, m, len) != (ssize_t)len)
        shim_fd = -1; /* soak is gone; go on without reporting */
}

/* Live processes below the shim (zombies not counted). */
static int32_t shim_left(void)
{
    int n = forking_tree_left("/proc", getpid(), 0);
    return n > 0 ? n : 0;
}

/* Reaps what has exited; returns -1 when no child is left, else 0. */
static int shim_reap(pid_t svc, int *svc_done)
{
    int reaped = 0;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p < 0) {
            if (reaped)
                shim_send(SHIM_REAPED, reaped);
            return -1;
        }
        if (p == 0)
            break;
        if (p == svc) {
            shim_msg m[2] = {{SHIM_LEFT, shim_left()}, {SHIM_EXITED, st}};
            shim_write(m, sizeof m);
            *svc_done = 1;
        } else {
            reaped++;
            if (*svc_done && shim_fd >= 0) { /* a daemon the service left: its pid and status */
                shim_msg m[3] = {{SHIM_LEFT, shim_left()},
                                 {SHIM_ORPHAN_PID, (int32_t)p},
                                 {SHIM_ORPHAN_STATUS, st}};
                shim_write(m, sizeof m);
            }
        }
    }
    if (reaped)
        shim_send(SHIM_REAPED, reaped);
    return 0;
}

/* Moves what the service wrote since soak died from its pipes (fds 4 and 5, whose read ends
 * the shim holds for this) to the log, raw: the service can still log its shutdown without
 * SIGPIPE or a full pipe, and nothing it said is lost. */
static void shim_drain(int logfd)
{
    char buf[65536];
    for (int fd = 4; fd <= 5; fd++)
        for (int i = 0; i < 64; i++) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            if (logfd >= 0 && write(logfd, buf, (size_t)n) != n)
                logfd = -1;
        }
}

static uint64_t shim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* soak is gone: stop the tree as soak would have, then leave. */
static int shim_orphaned(pid_t svc, unsigned stop_ms, const char *log)
{
    int done = 0;
    fcntl(4, F_SETFL, O_NONBLOCK);
    fcntl(5, F_SETFL, O_NONBLOCK);
    int logfd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
    static const char note[] = "soak: soak is gone; the shim stops the service; its last output "
                               "follows as it was written\n";
    if (logfd >= 0 && write(logfd, note, sizeof note - 1) < 0)
        logfd = -1;
    /* the same stop as soak's (lib/treekill), timed by the shim itself; the shim reaps with
     * waitpid(-1) below, to report the service's status */
    int rc = 1;
    treekill *tk = treekill_new("/proc", 0);
    if (!tk) {
        treekill_signal_tree(getpid(), 0, SIGKILL);
        shim_reap(svc, &done);
        goto out;
    }
    treekill_begin(tk, getpid(), 0, shim_now_ms());
    struct timespec tick = {0, TREEKILL_POLL_MS * 1000 * 1000};
    for (;;) {
        shim_drain(logfd);
        if (shim_reap(svc, &done) < 0) {
            rc = 0; /* no child left */
            break;
        }
        if (treekill_step(tk, shim_now_ms(), stop_ms, SHIM_KILL_MS) < 0)
            break; /* processes survive SIGKILL: leave them */
        nanosleep(&tick, NULL);
    }
    treekill_free(tk);
out:
    shim_drain(logfd);
    if (logfd >= 0)
        close(logfd);
    return rc;
}

int shim_main(int argc, char **argv)
{
    if (argc < 7 || strcmp(argv[5], "--") != 0) {
        fprintf(stderr, "soak: __shim is internal to 'soak run'\n");
        return 2;
    }
    shim_fd = (int)strtol(argv[1], NULL, 10);
    pid_t soak = (pid_t)strtol(argv[2], NULL, 10);
    unsigned stop_ms = (unsigned)strtoul(argv[3], NULL, 10);
    const char *log = argv[4];
    char **cmd = argv + 6;
    /* a write to a dead soak must fail with EPIPE, not kill the shim */
    signal(SIGPIPE, SIG_IGN);

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigprocmask(SIG_BLOCK, &set, &old);
    if (getppid() != soak)
        return 1; /* soak died before we could watch it */

    int execp[2];
    if (pipe2(execp, O_CLOEXEC) != 0) {
        shim_send(SHIM_EXEC_FAILED, errno);
        return 127;
    }
    pid_t svc = fork();
    if (svc < 0) {
        shim_send(SHIM_EXEC_FAILED, errno);
        return 127;
    }
    if (svc == 0) {
        close(execp[0]);
        close(shim_fd);
        close(4);
        close(5);
        signal(SIGPIPE, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(cmd[0], cmd);
        int e = errno;
        ssize_t w = write(execp[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(execp[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(execp[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(execp[0]);
    if (r == (ssize_t)sizeof e) {
        waitpid(svc, NULL, 0);
        shim_send(SHIM_EXEC_FAILED, e);
        return 127;
    }
    shim_send(SHIM_STARTED, (int)svc);

    int svc_done = 0;
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            if (shim_reap(svc, &svc_done) < 0 && svc_done)
                return 0;
            continue;
        }
        /* a stop signal: soak stops the tree itself while it lives */
        if (getppid() != soak)
            return shim_orphaned(svc, stop_ms, log);
    }
}
