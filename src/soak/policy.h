/*
 * policy: the decisions `soak run` takes on each sample, as pure functions (no I/O; time and
 * measurements are arguments). run.c measures, calls them from one place (sv_policies) and
 * carries out what they decide.
 *   watchdog  no heartbeat line for longer than the timeout: the service hangs
 *   quota     the artifacts folder is near its quota: optional rows of samples.db stop, and
 *             the logs get what the rest of the folder leaves
 *   disk low  free disk below the minimum: rotated logs are deleted, oldest first
 */
#ifndef SOAK_POLICY_H
#define SOAK_POLICY_H

#include <stdint.h>

/* Whether the service hangs at now_ms: enabled (a heartbeat is configured) and running, and
 * the last heartbeat (or the start) is more than timeout_ms ago. *age_s: the heartbeat's age
 * in seconds, or -1 when not watched. */
int policy_watchdog(int enabled, int running, uint64_t now_ms, uint64_t last_heartbeat_ms,
                    uint64_t timeout_ms, double *age_s);

typedef struct policy_quota {
    int capped;         /* optional rows (scraped metrics, pattern events) are not stored */
    int changed;        /* capped differs from before: record db_capped / db_uncapped */
    uint64_t log_quota; /* what the logs may use: the quota minus the rest (1 MiB at least) */
} policy_quota;

/* artifacts_bytes: the whole folder; log_bytes: the logs' part of it. Capped from 95 % of
 * the quota on. */
policy_quota policy_quota_check(uint64_t artifacts_bytes, uint64_t log_bytes, uint64_t quota,
                                int was_capped);

typedef struct policy_disk {
    int low;                /* free disk is below the minimum (until 10 % above it again) */
    int entered;            /* it just became low: record disk_low */
    uint64_t cleanup_bytes; /* how much the logs must free now (0: nothing) */
} policy_disk;

policy_disk policy_disk_check(uint64_t free_bytes, uint64_t min_free_bytes, int was_low);

#endif
