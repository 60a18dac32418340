/* helpers: soak's own helper children, in one register. See helpers.h. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"

void helpers_init(helpers *h)
{
    memset(h, 0, sizeof *h);
}

static helpers_ent *hp_find(const helpers *h, pid_t pid)
{
    if (!h || pid <= 0)
        return NULL;
    for (size_t i = 0; i < HELPERS_MAX; i++)
        if (h->e[i].pid == pid)
            return (helpers_ent *)&h->e[i];
    return NULL;
}

int helpers_add(helpers *h, pid_t pid, helpers_exit_fn on_exit, void *ud)
{
    if (!h || pid <= 0)
        return ERR_INVAL;
    if (hp_find(h, pid))
        return ERR_DUP;
    for (size_t i = 0; i < HELPERS_MAX; i++) {
        if (h->e[i].pid == 0) {
            h->e[i] = (helpers_ent){.pid = pid, .on_exit = on_exit, .ud = ud};
            h->started++;
            return 0;
        }
    }
    return ERR_FULL;
}

int helpers_has(const helpers *h, pid_t pid)
{
    return hp_find(h, pid) != NULL;
}

int helpers_skip(void *ud, pid_t pid)
{
    return helpers_has(ud, pid);
}

size_t helpers_count(const helpers *h)
{
    size_t n = 0;
    for (size_t i = 0; h && i < HELPERS_MAX; i++)
        n += h->e[i].pid != 0;
    return n;
}

/* Unregisters the entry first: the callback may start a new helper in its place. */
static void hp_drop(helpers *h, helpers_ent *e, int status, int told)
{
    helpers_ent was = *e;
    e->pid = 0;
    h->reaped++;
    if (told && was.on_exit)
        was.on_exit(was.ud, was.pid, status);
}

int helpers_reaped(helpers *h, pid_t pid, int status)
{
    helpers_ent *e = hp_find(h, pid);
    if (!e)
        return 0;
    hp_drop(h, e, status, 1);
    return 1;
}

int helpers_reap(helpers *h, pid_t pid)
{
    helpers_ent *e = hp_find(h, pid);
    if (!e)
        return ERR_NOENT;
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
        hp_drop(h, e, st, 1);
        return 1;
    }
    if (r < 0 && errno == ECHILD) {
        hp_drop(h, e, 0, 0);
        return 1;
    }
    return 0;
}

void helpers_disown(helpers *h, pid_t pid)
{
    helpers_ent *e = hp_find(h, pid);
    if (e) {
        e->on_exit = NULL;
        e->ud = NULL;
    }
}

static void hp_reap_all(helpers *h)
{
    for (size_t i = 0; i < HELPERS_MAX; i++)
        if (h->e[i].pid)
            helpers_reap(h, h->e[i].pid);
}

/* Waits up to ms for every helper to be reaped; returns how many are left. */
static size_t hp_wait(helpers *h, unsigned ms)
{
    for (unsigned waited = 0;; waited += 10) {
        hp_reap_all(h);
        size_t left = helpers_count(h);
        if (left == 0 || waited >= ms)
            return left;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int helpers_stop_all(helpers *h)
{
    if (!h)
        return 0;
    hp_reap_all(h);
    for (size_t i = 0; i < HELPERS_MAX; i++)
        if (h->e[i].pid)
            kill(h->e[i].pid, SIGTERM);
    if (hp_wait(h, HELPERS_STOP_MS) == 0)
        return 0;
    for (size_t i = 0; i < HELPERS_MAX; i++) {
        if (h->e[i].pid && kill(h->e[i].pid, SIGKILL) == 0)
            h->killed++;
    }
    return (int)hp_wait(h, HELPERS_REAP_MS);
}
