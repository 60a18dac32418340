/* watchdog: a thread that ends the process when the loop stops kicking it. See watchdog.h. */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct watchdog {
    pthread_t thread;
    uint64_t timeout_ms;
    int log_fd;
    char prog[32];
    _Atomic uint64_t last_kick_ms;
    _Atomic int stop;
    pthread_mutex_t mu; /* with cv: lets watchdog_stop wake the thread at once */
    pthread_cond_t cv;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    uint64_t period = w->timeout_ms / 4;
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(period / 1000);
        until.tv_nsec += (long)(period % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (atomic_load(&w->stop))
            break;
        uint64_t idle = mono_ms() - atomic_load(&w->last_kick_ms);
        if (idle > w->timeout_ms) {
            char line[160];
            int n = snprintf(line, sizeof line,
                             "%s: watchdog: event loop made no progress for %.1f s (timeout "
                             "%.1f s): exiting\n",
                             w->prog, (double)idle / 1000.0, (double)w->timeout_ms / 1000.0);
            if (n > 0 && write(w->log_fd, line, (size_t)n) < 0) {
                /* nothing more can be done: exiting is the point */
            }
            _exit(1);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

watchdog *watchdog_start(uint64_t timeout_ms, int log_fd, const char *prog)
{
    if (timeout_ms < 100 || timeout_ms > 86400000u) {
        errno = EINVAL;
        return NULL;
    }
    watchdog *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->timeout_ms = timeout_ms;
    w->log_fd = log_fd;
    snprintf(w->prog, sizeof w->prog, "%s", prog ? prog : "watchdog");
    atomic_store(&w->last_kick_ms, mono_ms());
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    int rc = pthread_create(&w->thread, NULL, watchdog_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        errno = rc;
        return NULL;
    }
    return w;
}

void watchdog_kick(watchdog *w)
{
    if (w)
        atomic_store(&w->last_kick_ms, mono_ms());
}

uint64_t watchdog_idle_ms(const watchdog *w)
{
    if (!w)
        return 0;
    uint64_t last = atomic_load(&((watchdog *)w)->last_kick_ms);
    uint64_t now = mono_ms();
    return now > last ? now - last : 0;
}

void watchdog_stop(watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, 1);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
