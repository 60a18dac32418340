/* Tests of policy: the watchdog's timeout, the quota's 95 % mark and the logs' share, the
 * low-disk marks (below the minimum; back above it plus 10 %). */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
