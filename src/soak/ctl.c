/* ctl: status, stop and kill-tree. See ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "treekill.h"
#include "run.h"
#include "runlock.h"
#include "runrec.h"
#include "store.h"
#include "termsafe.h"
#include "units.h"

#define CTL_FORCE_MS 5000 /* soak stop, forced: SIGTERM to SIGKILL of what is left */

pid_t ctl_running_pid(const char *dir)
{
    /* the holder of the folder's lock, as its pid file records it and /proc confirms it: a pid
     * file copied from another folder, or a pid reused since, names no run (runlock.h) */
    return runlock_owner_pid(dir);
}

static void ctl_print_event(void *ud, double t, const char *kind, const char *detail, double v)
{
    (void)ud;
    (void)v;
    char ts[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* details quote the service's log lines: never raw on a terminal */
    char k[64], d[4 * 1024 + 1];
    termsafe_str(kind, k, sizeof k);
    termsafe_str(detail, d, sizeof d);
    printf("  %s  %-18s %s\n", ts, k, d);
}

int ctl_status(const char *dir, int nevents)
{
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof path, "%s/samples.db", dir);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "soak: no run in '%s': %s\n", dir, strerror(errno));
        return SOAK_EXIT_USAGE;
    }
    store *db = store_open(path, 1, err, sizeof err);
    if (!db) {
        fprintf(stderr, "soak: %s\n", err);
        return SOAK_EXIT_USAGE;
    }
    char cmd[1024] = "", outcome[128] = "", duration[32] = "";
    store_get_run(db, "command", cmd, sizeof cmd);
    store_get_run(db, "outcome", outcome, sizeof outcome);
    store_get_run(db, "duration", duration, sizeof duration);
    pid_t pid = ctl_running_pid(dir);
    printf("run       %s\n", dir);
    char safe[4 * sizeof cmd + 1];
    termsafe_str(cmd, safe, sizeof safe);
    printf("command   %s\n", safe);
    if (pid)
        printf("state     running (soak pid %d)\n", (int)pid);
    else {
        termsafe_str(outcome[0] ? outcome : "unknown", safe, sizeof safe);
        printf("state     not running; outcome: %s\n", safe);
    }
    store_sample m;
    if (store_last_sample(db, &m) == 1) {
        char a[32], b[32], c[32], d[32];
        printf("elapsed   %s of %s\n",
               units_format_duration((uint64_t)(m.elapsed_s * 1000) / 1000 * 1000, a, sizeof a),
               duration);
        printf("memory    rss %s", units_format_bytes(m.rss_bytes, a, sizeof a));
        if (m.pss_bytes >= 0)
            printf(", pss %s", units_format_bytes((uint64_t)m.pss_bytes, b, sizeof b));
        printf("\ncpu       %.1f%% now, %.1f s total\n", m.cpu_percent, m.cpu_seconds);
        printf("processes %u (zombies %u, persistent %u), threads %u, fds %u\n", m.procs, m.zombies,
               m.zombies_persistent, m.threads, m.fds);
        printf("restarts  %u\n", m.restarts);
        if (m.heartbeat_age_s >= 0)
            printf("heartbeat %.0f s ago\n", m.heartbeat_age_s);
        printf("logs      %llu lines, %s dropped\n", (unsigned long long)m.log_lines,
               units_format_bytes(m.dropped_bytes, c, sizeof c));
        printf("disk      artifacts %s, free %s\n",
               units_format_bytes(m.artifacts_bytes, c, sizeof c),
               units_format_bytes(m.disk_free_bytes, d, sizeof d));
    } else {
        printf("samples   none yet\n");
    }
    printf("samples   %lld, events %lld\n", (long long)store_count(db, "samples"),
           (long long)store_count(db, "events"));
    runrec *rr; /* crashes as the supervisor judged them (runrec.h), as analyze counts them */
    int64_t crashes, hangs;
    if (runrec_open(dir, &rr, err, sizeof err) == 0 && runrec_failures(rr, &crashes, &hangs) == 0)
        printf("failures  crashes %lld, hangs %lld\n", (long long)crashes, (long long)hangs);
    runrec_close(rr);
    printf("last events:\n");
    store_last_events(db, nevents, ctl_print_event, NULL);
    store_close(db);
    return 0;
}

int ctl_stop(const char *dir, uint64_t timeout_ms)
{
    pid_t pid = ctl_running_pid(dir);
    if (!pid) {
        runlock_owner ow;
        if (runlock_read_pid(dir, &ow) == 0 && kill(ow.pid, 0) == 0)
            fprintf(stderr,
                    "soak: no soak is running in '%s': its pid file names pid %d, which is not "
                    "the run of this folder; nothing was stopped\n",
                    dir, (int)ow.pid);
        else
            fprintf(stderr, "soak: no soak is running in '%s'\n", dir);
        return SOAK_EXIT_ERROR;
    }
    if (kill(pid, SIGTERM) != 0) {
        fprintf(stderr, "soak: cannot signal pid %d: %s\n", (int)pid, strerror(errno));
        return SOAK_EXIT_ERROR;
    }
    fprintf(stderr, "soak: asked pid %d to stop; waiting\n", (int)pid);
    struct timespec ts = {0, 50 * 1000 * 1000};
    for (uint64_t waited = 0; waited < timeout_ms; waited += 50) {
        if (kill(pid, 0) != 0) {
            fprintf(stderr, "soak: stopped\n");
            return 0;
        }
        nanosleep(&ts, NULL);
    }
    /* forced: soak and what is left of its tree, with the same stop soak uses (treekill) */
    fprintf(stderr, "soak: pid %d still running after %llu ms; killing its tree\n", (int)pid,
            (unsigned long long)timeout_ms);
    int n = treekill_run(pid, 1, CTL_FORCE_MS);
    if (n < 0 && n != ERR_NOENT)
        fprintf(stderr, "soak: cannot kill the tree of %d: %s\n", (int)pid, errcode_str(n));
    return SOAK_EXIT_ERROR;
}

int ctl_kill_tree(pid_t pid, uint64_t timeout_ms)
{
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "soak: no process %d\n", (int)pid);
        return SOAK_EXIT_ERROR;
    }
    int n = treekill_run(pid, 1, (unsigned)timeout_ms);
    if (n < 0) {
        fprintf(stderr, "soak: cannot kill the tree of %d: %s\n", (int)pid, errcode_str(n));
        return SOAK_EXIT_ERROR;
    }
    printf("soak: tree of %d is gone (%d needed SIGKILL)\n", (int)pid, n);
    return 0;
}
