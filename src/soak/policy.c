/* policy: watchdog, quota, low-disk, room and pause decisions. See policy.h. */
#include "policy.h"

int policy_watchdog(int enabled, int running, uint64_t now_ms, uint64_t last_heartbeat_ms,
                    uint64_t timeout_ms, double *age_s)
{
    *age_s = -1;
    if (!enabled || !running)
        return 0;
    uint64_t age = now_ms > last_heartbeat_ms ? now_ms - last_heartbeat_ms : 0;
    *age_s = (double)age / 1000.0;
    return age > timeout_ms;
}

policy_quota policy_quota_check(uint64_t artifacts_bytes, uint64_t log_bytes, uint64_t quota,
                                int was_capped)
{
    policy_quota q;
    /* samples.db grows too (scraped metrics, pattern events): at 95 % of the quota those
     * optional rows stop, so that the folder holds its quota; samples and lifecycle events go on */
    q.capped = artifacts_bytes >= quota / 100 * 95;
    q.changed = q.capped != (was_capped != 0);
    /* the quota covers the whole folder: logs get what the rest leaves */
    uint64_t other = artifacts_bytes > log_bytes ? artifacts_bytes - log_bytes : 0;
    q.log_quota = quota > other + (1u << 20) ? quota - other : (1u << 20);
    return q;
}

policy_disk policy_disk_check(uint64_t free_bytes, uint64_t min_free_bytes, int was_low)
{
    policy_disk d = {0, 0, 0};
    if (free_bytes < min_free_bytes) {
        d.low = 1;
        d.entered = !was_low;
        d.cleanup_bytes = min_free_bytes - free_bytes;
    } else if (free_bytes > min_free_bytes + min_free_bytes / 10) {
        d.low = 0;
    } else {
        d.low = was_low != 0; /* between the two marks: as before */
    }
    return d;
}

policy_min_free policy_min_free_check(uint64_t min_free_bytes, uint64_t disk_bytes)
{
    policy_min_free m = {0, min_free_bytes};
    if (disk_bytes > 0 && min_free_bytes > disk_bytes) {
        m.warn = 1;
        m.effective = disk_bytes / 16;
    }
    return m;
}

uint64_t policy_record_reserve(uint64_t disk_bytes)
{
    uint64_t r = disk_bytes / 8;
    if (r < POLICY_RESERVE_MIN)
        r = POLICY_RESERVE_MIN;
    if (r > POLICY_RESERVE_MAX)
        r = POLICY_RESERVE_MAX;
    return r;
}

uint64_t policy_log_room(uint64_t log_bytes, uint64_t free_bytes, uint64_t reserve)
{
    uint64_t room = log_bytes + (free_bytes > reserve ? free_bytes - reserve : 0);
    return room ? room : 1;
}

uint64_t policy_log_file_size(uint64_t max_log_size, uint64_t disk_bytes)
{
    if (disk_bytes == 0)
        return max_log_size;
    uint64_t cap = disk_bytes / 16;
    if (cap < (64u << 10))
        cap = 64u << 10;
    return max_log_size < cap ? max_log_size : cap;
}

int policy_paused(uint64_t mono_gap_ms, uint64_t boot_gap_ms, uint64_t interval_ms,
                  uint64_t *gap_ms)
{
    *gap_ms = boot_gap_ms > mono_gap_ms ? boot_gap_ms : mono_gap_ms;
    int stalled = mono_gap_ms > 5 * interval_ms && mono_gap_ms > 1000;
    uint64_t slept = boot_gap_ms > mono_gap_ms ? boot_gap_ms - mono_gap_ms : 0;
    int suspended = slept > interval_ms && slept > 1000;
    return stalled || suspended;
}
