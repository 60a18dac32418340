/* Tests of policy: the watchdog's timeout, the quota's 95 % mark and the logs' share, the
 * low-disk marks (below the minimum; back above it plus 10 %), a minimum larger than the disk,
 * the record's reserve and the logs' room, the log's size on a small disk, soak's pauses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy.h"

static void test_watchdog(void **state)
{
    (void)state;
    double age;
    /* not watched: no heartbeat configured, or the service is not running */
    assert_false(policy_watchdog(0, 1, 10000, 0, 2000, &age));
    assert_true(age < 0);
    assert_false(policy_watchdog(1, 0, 10000, 0, 2000, &age));
    assert_true(age < 0);
    /* exactly the timeout is still alive; one millisecond more is a hang */
    assert_false(policy_watchdog(1, 1, 3000, 1000, 2000, &age));
    assert_true(age > 1.999 && age < 2.001);
    assert_true(policy_watchdog(1, 1, 3001, 1000, 2000, &age));
    /* a heartbeat newer than now (clock read before the line) is age 0 */
    assert_false(policy_watchdog(1, 1, 1000, 1500, 2000, &age));
    assert_true(age == 0);
}

static void test_quota(void **state)
{
    (void)state;
    const uint64_t q = 100u << 20;
    policy_quota p = policy_quota_check(q / 100 * 95 - 1, 10u << 20, q, 0);
    assert_false(p.capped);
    assert_false(p.changed);
    /* the logs get what the rest leaves */
    assert_int_equal(p.log_quota, q - (q / 100 * 95 - 1 - (10u << 20)));
    p = policy_quota_check(q / 100 * 95, 10u << 20, q, 0);
    assert_true(p.capped);
    assert_true(p.changed);
    p = policy_quota_check(q, 10u << 20, q, 1);
    assert_true(p.capped);
    assert_false(p.changed);
    p = policy_quota_check(1u << 20, 0, q, 1);
    assert_false(p.capped);
    assert_true(p.changed);
    /* the rest alone fills the quota: the logs still get 1 MiB */
    p = policy_quota_check(q * 2, 0, q, 1);
    assert_int_equal(p.log_quota, 1u << 20);
}

static void test_disk(void **state)
{
    (void)state;
    const uint64_t min = 1000;
    policy_disk d = policy_disk_check(900, min, 0);
    assert_true(d.low);
    assert_true(d.entered);
    assert_int_equal(d.cleanup_bytes, 100);
    d = policy_disk_check(950, min, 1);
    assert_true(d.low);
    assert_false(d.entered); /* recorded once */
    assert_int_equal(d.cleanup_bytes, 50);
    /* between the marks: as before, nothing to clean */
    d = policy_disk_check(1050, min, 1);
    assert_true(d.low);
    assert_int_equal(d.cleanup_bytes, 0);
    d = policy_disk_check(1050, min, 0);
    assert_false(d.low);
    /* above the minimum plus 10 %: no longer low */
    d = policy_disk_check(1101, min, 1);
    assert_false(d.low);
    assert_false(d.entered);
}

static void test_min_free(void **state)
{
    (void)state;
    const uint64_t mib = 1u << 20;
    /* the default 1 GiB on a 6 MiB disk: a warning, and a sixteenth of the disk is used */
    policy_min_free m = policy_min_free_check(1024 * mib, 6 * mib);
    assert_true(m.warn);
    assert_int_equal(m.effective, 6 * mib / 16);
    /* exactly the disk's size is not larger than the disk */
    m = policy_min_free_check(6 * mib, 6 * mib);
    assert_false(m.warn);
    assert_int_equal(m.effective, 6 * mib);
    /* a minimum the disk can meet is used as given */
    m = policy_min_free_check(1024 * mib, 100000 * mib);
    assert_false(m.warn);
    assert_int_equal(m.effective, 1024 * mib);
    /* the disk's size unknown: as given, no warning */
    m = policy_min_free_check(1024 * mib, 0);
    assert_false(m.warn);
    assert_int_equal(m.effective, 1024 * mib);
}

static void test_record_room(void **state)
{
    (void)state;
    const uint64_t mib = 1u << 20;
    /* an eighth of the disk, within 1 MiB .. 64 MiB */
    assert_int_equal(policy_record_reserve(0), POLICY_RESERVE_MIN);
    assert_int_equal(policy_record_reserve(6 * mib), POLICY_RESERVE_MIN);
    assert_int_equal(policy_record_reserve(80 * mib), 10 * mib);
    assert_int_equal(policy_record_reserve(100000 * mib), POLICY_RESERVE_MAX);
    /* the logs get the free disk above the reserve, on top of what they hold */
    assert_int_equal(policy_log_room(3 * mib, 5 * mib, mib), 7 * mib);
    /* at or under the reserve: no growth at all */
    assert_int_equal(policy_log_room(3 * mib, mib, mib), 3 * mib);
    assert_int_equal(policy_log_room(3 * mib, 10, mib), 3 * mib);
    /* never 0 (logcap's "no cap") */
    assert_int_equal(policy_log_room(0, 0, mib), 1);
}

static void test_log_file_size(void **state)
{
    (void)state;
    const uint64_t mib = 1u << 20;
    /* the default 64 MiB on a 6 MiB disk rotates at 384 KiB: two files stay under the reserve */
    assert_int_equal(policy_log_file_size(64 * mib, 6 * mib), 6 * mib / 16);
    assert_true(2 * policy_log_file_size(64 * mib, 6 * mib) < policy_record_reserve(6 * mib));
    /* a big disk: as configured */
    assert_int_equal(policy_log_file_size(64 * mib, 100000 * mib), 64 * mib);
    /* never under 64 KiB, unless configured so */
    assert_int_equal(policy_log_file_size(64 * mib, 100u << 10), 64u << 10);
    assert_int_equal(policy_log_file_size(64 * mib, 16 * mib), mib);
    assert_int_equal(policy_log_file_size(4096, 100u << 10), 4096);
    assert_int_equal(policy_log_file_size(64 * mib, 0), 64 * mib);
}

static void test_paused(void **state)
{
    (void)state;
    uint64_t gap;
    /* a sample on time, and a loaded loop a few intervals late: not a pause */
    assert_false(policy_paused(1000, 1000, 1000, &gap));
    assert_int_equal(gap, 1000);
    assert_false(policy_paused(5000, 5000, 1000, &gap));
    /* more than 5 intervals: soak was not scheduled (SIGSTOP, a paused VM) */
    assert_true(policy_paused(5001, 5001, 1000, &gap));
    assert_int_equal(gap, 5001);
    /* short intervals: 5 intervals, but not over 1 s, is load, not a pause */
    assert_false(policy_paused(900, 900, 100, &gap));
    assert_true(policy_paused(1001, 1001, 100, &gap));
    /* a suspend: CLOCK_BOOTTIME moved on, CLOCK_MONOTONIC did not */
    assert_true(policy_paused(1000, 12000, 1000, &gap));
    assert_int_equal(gap, 12000);
    assert_false(policy_paused(1000, 1900, 1000, &gap));
    /* the first sample: no gap */
    assert_false(policy_paused(0, 0, 1000, &gap));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog),    cmocka_unit_test(test_quota),
        cmocka_unit_test(test_disk),        cmocka_unit_test(test_min_free),
        cmocka_unit_test(test_record_room), cmocka_unit_test(test_log_file_size),
        cmocka_unit_test(test_paused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
