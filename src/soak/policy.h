/*
 * policy: the decisions `soak run` takes on each sample, as pure functions (no I/O; time and
 * measurements are arguments). run.c measures, calls them from one place (sv_policies) and
 * carries out what they decide.
 *   watchdog  no heartbeat line for longer than the timeout: the service hangs
 *   quota     the artifacts folder is near its quota: optional rows of samples.db stop, and
 *             the logs get what the rest of the folder leaves
 *   disk low  free disk below the minimum: rotated logs are deleted, oldest first
 *   room      the record (samples, events, the outcome) before the logs: the logs may use the
 *             free disk only down to a reserve, and rotate at a size the disk can hold
 *   pause     soak itself was not scheduled (SIGSTOP, a paused VM, a suspend): not a hang
 * The guarantees these give are in docs/soak-guarantees.md.
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

/* The minimum free disk that the low-disk policy uses. A min_free_disk that the disk cannot
 * meet (larger than the disk: the default 1 GiB on a small filesystem) would make every sample
 * "low" and delete every rotated log: it is a warning (at start and in `soak preflight`), and
 * the minimum used is the disk's size / 16 instead. disk_bytes 0 (unknown): as given. */
typedef struct policy_min_free {
    int warn;           /* min_free_bytes > disk_bytes: say so, and use `effective` */
    uint64_t effective; /* the minimum to give policy_disk_check */
} policy_min_free;

policy_min_free policy_min_free_check(uint64_t min_free_bytes, uint64_t disk_bytes);

/* The free disk the logs must leave to the record (samples.db and its WAL): the disk's size / 8,
 * within [POLICY_RESERVE_MIN, POLICY_RESERVE_MAX]; POLICY_RESERVE_MIN when disk_bytes is 0. */
#define POLICY_RESERVE_MIN (1u << 20)
#define POLICY_RESERVE_MAX (64u << 20)
uint64_t policy_record_reserve(uint64_t disk_bytes);

/* What the logs may use now (a cap for logcap_set_quota, never 0): their size plus the free
 * disk above the reserve; their size alone (no growth: lines are dropped and counted) once the
 * free disk is at or under the reserve. */
uint64_t policy_log_room(uint64_t log_bytes, uint64_t free_bytes, uint64_t reserve);

/* The size soak.log rotates at: max_log_size, but at most the disk's size / 16 (and at least
 * 64 KiB), so that on a small disk the log rotates, and rotated files can be deleted, long
 * before it fills the disk; what the logs hold beyond their count (a file being compressed, or
 * deleted while the compressor still has it open: about two files) stays under the reserve.
 * disk_bytes 0: max_log_size. */
uint64_t policy_log_file_size(uint64_t max_log_size, uint64_t disk_bytes);

/* Whether soak itself was not scheduled between two samples: the loop's gap (CLOCK_MONOTONIC)
 * is over 5 intervals and over 1 s, or CLOCK_BOOTTIME moved more than CLOCK_MONOTONIC by over
 * an interval and over 1 s (a suspend, which CLOCK_MONOTONIC does not count). The caller passes
 * 0 gaps for the first sample. *gap_ms: the longer of the two gaps. */
int policy_paused(uint64_t mono_gap_ms, uint64_t boot_gap_ms, uint64_t interval_ms,
                  uint64_t *gap_ms);

#endif
