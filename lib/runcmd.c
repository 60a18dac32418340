#include "runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"

extern char **environ;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_status(runcmd_result *r, int st)
{
    if (WIFEXITED(st))
        r->exit_code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        r->term_signal = WTERMSIG(st);
}

/* Keeps what fits under max_out of got bytes; 0, or ERR_NOMEM. */
static int append(runcmd_result *r, size_t *cap, const char *buf, size_t got, size_t max_out)
{
    size_t keep = r->len < max_out ? max_out - r->len : 0;
    if (got <= keep)
        keep = got;
    else
        r->truncated = 1;
    if (r->len + keep + 1 > *cap) {
        size_t ncap = *cap;
        while (r->len + keep + 1 > ncap)
            ncap *= 2;
        char *nb = realloc(r->out, ncap);
        if (!nb)
            return ERR_NOMEM;
        r->out = nb;
        *cap = ncap;
    }
    memcpy(r->out + r->len, buf, keep);
    r->len += keep;
    return 0;
}

int runcmd_capture(const char *cmd, uint64_t timeout_ms, size_t max_out, runcmd_result *r,
                   char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    size_t cap = 4096;
    r->out = malloc(cap);
    if (!r->out) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        runcmd_result_free(r);
        return ERR_SYS;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    double t0 = mono_s();
    int rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        snprintf(err, errlen, "cannot start /bin/sh: %s", strerror(rc));
        runcmd_result_free(r);
        return ERR_SYS;
    }
    double deadline = t0 + (double)timeout_ms / 1000.0;
    int open_fd = 1, reaped = 0, st = 0;
    while (!reaped) {
        double left = deadline - mono_s();
        if (left <= 0) {
            r->timed_out = 1;
            break;
        }
        if (open_fd) {
            struct pollfd p = {fds[0], POLLIN, 0};
            int ms = left > 1.0 ? 1000 : (int)(left * 1000) + 1;
            int n = poll(&p, 1, ms);
            if (n < 0 && errno != EINTR)
                break;
            if (n > 0) {
                char buf[65536];
                ssize_t got = read(fds[0], buf, sizeof buf);
                if (got > 0) {
                    if (append(r, &cap, buf, (size_t)got, max_out)) {
                        kill(-pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        close(fds[0]);
                        runcmd_result_free(r);
                        snprintf(err, errlen, "out of memory");
                        return ERR_NOMEM;
                    }
                } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                    open_fd = 0;
                }
            }
        } else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            reaped = 1;
    }
    /* the group goes: at the deadline, and after the command's end (what it left behind) */
    kill(-pid, SIGKILL);
    if (!reaped && waitpid(pid, &st, 0) == pid)
        reaped = 1;
    /* what is still in the pipe after the exit */
    if (open_fd && !r->timed_out) {
        char buf[65536];
        ssize_t got;
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        while ((got = read(fds[0], buf, sizeof buf)) > 0)
            if (append(r, &cap, buf, (size_t)got, max_out))
                break;
    }
    close(fds[0]);
    if (reaped && !r->timed_out)
        set_status(r, st);
    else if (reaped)
        r->term_signal = SIGKILL;
    r->out[r->len] = '\0';
    r->seconds = mono_s() - t0;
    return 0;
}

void runcmd_result_free(runcmd_result *r)
{
    free(r->out);
    r->out = NULL;
    r->len = 0;
}

void runcmd_describe(const runcmd_result *r, uint64_t timeout_ms, char *buf, size_t n)
{
    if (r->timed_out)
        snprintf(buf, n, "timed out after %.3gs", (double)timeout_ms / 1000.0);
    else if (r->term_signal)
        snprintf(buf, n, "killed by signal %d", r->term_signal);
    else
        snprintf(buf, n, "exit %d", r->exit_code);
}
