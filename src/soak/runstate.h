/*
 * runstate: what a running soak knows right now. Owned and written by run.c on the loop
 * thread (state and the start/crash/hang counters only in sv_sync, from the supervisor's table,
 * supervise.h); read by the endpoints, the status line and the scraper on the same
 * thread, so no locking is needed.
 */
#ifndef SOAK_RUNSTATE_H
#define SOAK_RUNSTATE_H

#include <stdint.h>
#include <sys/types.h>

#include "logcap.h"
#include "patterns.h"
#include "proctree.h"

typedef enum rs_state { RS_STARTING, RS_RUNNING, RS_STOPPING, RS_BACKOFF, RS_DONE } rs_state;

typedef struct runstate {
    rs_state state;
    char command[1024];
    pid_t child_pid;
    uint64_t start_ms, end_ms; /* loop clock (ms) */
    uint64_t child_start_ms, next_start_ms, last_heartbeat_ms;
    unsigned starts, restarts, crashes, hangs, oom_kills;
    int last_exit_code, last_exit_signal;
    int completed; /* the duration was reached */
    uint64_t reaped_orphans, samples, store_errors;
    double cpu_seconds, cpu_percent;
    double heartbeat_age_s;                /* < 0: no heartbeat configured or not running */
    proctree_sample tree;                  /* the latest sample */
    uint64_t rss_first, rss_last, rss_max; /* of samples with a live tree */
    uint64_t pss_last;                     /* the latest PSS read (read less often than RSS) */
    unsigned zombies_max;
    unsigned zombies_persistent, zombies_persistent_max; /* zombies past the grace (zombies.h) */
    uint64_t artifacts_bytes, disk_free_bytes;
    logcap_stats log;
    patterns *pat; /* borrowed */
    uint64_t pattern_hits[PATTERNS_MAX];
    uint64_t scrapes, scrape_errors, scraped_samples;
    int db_capped; /* the artifacts quota is nearly used: scraped samples are not stored */
    unsigned notify_sent, notify_failed; /* notifications (notify.h) */
    uint64_t artifacts_quota;            /* artifacts_quota, for alerts near it */
    const struct follow *follow;         /* followed log files (follow.h); NULL: none */
} runstate;

void runstate_init(runstate *r);
/* "running", "stopping" ... */
const char *runstate_state_name(rs_state s);

#endif
