/* cmdrun: one shell command with a time bound. See cmdrun.h. */
#include "cmdrun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"

#define CMDRUN_DRAIN_MS 200 /* output read after the command ended (a background child's) */

extern char **environ;

static uint64_t cmdrun_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads what is there from fd into buf (kept up to cap - 1 bytes). Returns 0 at EOF. */
static int cmdrun_read(int fd, char *buf, size_t cap, size_t *len, int *trunc)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0)
        return 0;
    size_t room = cap - 1 - *len, k = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, tmp, k);
    *len += k;
    buf[*len] = '\0';
    if (k < (size_t)n)
        *trunc = 1;
    return 1;
}

int cmdrun_run(const char *command, uint64_t timeout_ms, char *out, size_t outcap, char *errb,
               size_t errcap, cmdrun_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    out[0] = errb[0] = '\0';
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
        r->spawn_errno = errno;
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    uint64_t t0 = cmdrun_now_ms();
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (e) {
        r->spawn_errno = e;
        goto fail;
    }
    uint64_t deadline = t0 + (timeout_ms ? timeout_ms : 1);
    int open_o = 1, open_e = 1, reaped = 0, st = 0;
    uint64_t drain_until = deadline;
    while (open_o || open_e || !reaped) {
        uint64_t now = cmdrun_now_ms();
        if (reaped && now >= drain_until)
            break; /* it ended; a background child still holds the pipes: not waited for */
        if (now >= deadline) {
            kill(-pid, SIGKILL);
            if (!reaped && waitpid(pid, &st, 0) == pid)
                reaped = 1;
            r->timed_out = 1;
            break;
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &st, WNOHANG);
            if (w == pid) {
                reaped = 1;
                drain_until = now + CMDRUN_DRAIN_MS < deadline ? now + CMDRUN_DRAIN_MS : deadline;
            }
        }
        struct pollfd p[2];
        int np = 0, io = -1, ie = -1;
        if (open_o) {
            io = np;
            p[np++] = (struct pollfd){.fd = po[0], .events = POLLIN};
        }
        if (open_e) {
            ie = np;
            p[np++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
        }
        uint64_t left = (reaped ? drain_until : deadline) - now;
        int wait = reaped ? (int)(left < 1000 ? left : 1000) : (left < 20 ? (int)left : 20);
        if (np == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(p, (nfds_t)np, wait) < 0 && errno != EINTR)
            break;
        if (io >= 0 && (p[io].revents & (POLLIN | POLLHUP | POLLERR)))
            open_o = cmdrun_read(po[0], out, outcap, &r->out_len, &r->out_truncated);
        if (ie >= 0 && (p[ie].revents & (POLLIN | POLLHUP | POLLERR)))
            open_e = cmdrun_read(pe[0], errb, errcap, &r->err_len, &r->err_truncated);
    }
    if (!reaped) { /* poll failed: never wait for a command that may not end */
        kill(-pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    if (open_o || open_e) /* what it left in its group holds the pipes (a background child) */
        kill(-pid, SIGKILL);
    r->duration_ms = cmdrun_now_ms() - t0;
    if (WIFEXITED(st) && !r->timed_out)
        r->exit_code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) {
        r->signal = WTERMSIG(st);
        r->exit_code = 128 + r->signal;
    } else
        r->exit_code = 128 + SIGKILL;
    close(po[0]);
    close(pe[0]);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    return ERR_SYS;
}

char *cmdrun_describe(const cmdrun_result *r, char *buf, size_t n)
{
    if (r->spawn_errno)
        snprintf(buf, n, "cannot start: %s", strerror(r->spawn_errno));
    else if (r->timed_out)
        snprintf(buf, n, "timed out");
    else if (r->signal || r->exit_code > 128)
        snprintf(buf, n, "killed by signal %d", r->signal ? r->signal : r->exit_code - 128);
    else
        snprintf(buf, n, "exit %d", r->exit_code);
    return buf;
}
