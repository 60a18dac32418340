/* Tests of zombies: a zombie that its parent reaps within the grace period (a shell's
 * `cmd & wait`) never counts; one that stays counts once it has been seen for the grace
 * period; a reused pid is a new zombie; the parent that does not reap is named once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zombies.h"

static zombies z;

static void test_transient_zombies_never_count(void **state)
{
    (void)state;
    zombies_init(&z, 5000);
    /* every 100 ms a new child is a zombie for one sample, then reaped */
    for (int i = 0; i < 200; i++) {
        proctree_zombie one = {1000 + i, 10, (uint64_t)i};
        zombies_result r = zombies_update(&z, &one, 1, (uint64_t)i * 100);
        assert_int_equal(r.persistent, 0);
        assert_int_equal(r.new_parent, 0);
    }
    assert_int_equal(z.persistent_max, 0);
}

static void test_kept_zombie_counts_after_grace(void **state)
{
    (void)state;
    zombies_init(&z, 5000);
    proctree_zombie zl[3] = {{100, 10, 7}, {101, 10, 8}, {200, 20, 9}};
    zombies_result r = zombies_update(&z, zl, 3, 1000);
    assert_int_equal(r.persistent, 0);
    r = zombies_update(&z, zl, 3, 5999);
    assert_int_equal(r.persistent, 0);
    r = zombies_update(&z, zl, 3, 6000); /* seen for 5 s */
    assert_int_equal(r.persistent, 3);
    assert_int_equal(r.new_parent, 10); /* the first parent met, named once */
    assert_int_equal(r.held, 2);
    r = zombies_update(&z, zl, 3, 7000);
    assert_int_equal(r.persistent, 3);
    assert_int_equal(r.new_parent, 20);
    assert_int_equal(r.held, 1);
    r = zombies_update(&z, zl, 3, 8000);
    assert_int_equal(r.new_parent, 0);
    /* reaped: back to 0, the peak stays */
    r = zombies_update(&z, NULL, 0, 9000);
    assert_int_equal(r.persistent, 0);
    assert_int_equal(z.persistent, 0);
    assert_int_equal(z.persistent_max, 3);
}

/* The parent dies (soak stops the tree) and its zombies go to the subreaper (soak's shim),
 * which reaps them at once: the shim is not named, however long they were zombies before
 * (e2e_test_zombie_gate named the shim under load). Kept past the grace, it is named. */
static void test_reparented_zombie_starts_again(void **state)
{
    (void)state;
    zombies_init(&z, 1000);
    proctree_zombie a[2] = {{100, 10, 7}, {101, 10, 8}};
    zombies_update(&z, a, 2, 0);
    zombies_result r = zombies_update(&z, a, 2, 1500);
    assert_int_equal(r.new_parent, 10);
    assert_int_equal(r.held, 2);
    proctree_zombie b[2] = {{100, 5, 7}, {101, 5, 8}}; /* parent 10 died: now the shim's (5) */
    r = zombies_update(&z, b, 2, 1520);
    assert_int_equal(r.persistent, 0);
    assert_int_equal(r.new_parent, 0);
    r = zombies_update(&z, b, 2, 2519);
    assert_int_equal(r.new_parent, 0);
    r = zombies_update(&z, b, 2, 2520); /* the shim too has not reaped them for the grace */
    assert_int_equal(r.persistent, 2);
    assert_int_equal(r.new_parent, 5);
}

static void test_reused_pid_is_a_new_zombie(void **state)
{
    (void)state;
    zombies_init(&z, 1000);
    proctree_zombie a = {100, 10, 7};
    zombies_update(&z, &a, 1, 0);
    proctree_zombie b = {100, 10, 8}; /* same pid, another start time */
    zombies_result r = zombies_update(&z, &b, 1, 2000);
    assert_int_equal(r.persistent, 0);
    r = zombies_update(&z, &b, 1, 3000);
    assert_int_equal(r.persistent, 1);
}

static void test_grace_zero_counts_at_once(void **state)
{
    (void)state;
    zombies_init(&z, 0);
    proctree_zombie a = {100, 10, 7};
    zombies_result r = zombies_update(&z, &a, 1, 0);
    assert_int_equal(r.persistent, 1);
    assert_int_equal(r.new_parent, 10);
}

static void test_caps(void **state)
{
    (void)state;
    zombies_init(&z, 0);
    static proctree_zombie many[ZOMBIES_TRACK_CAP + 10];
    for (int i = 0; i < ZOMBIES_TRACK_CAP + 10; i++)
        many[i] = (proctree_zombie){1000 + i, 2000 + i, 1};
    zombies_result r = zombies_update(&z, many, ZOMBIES_TRACK_CAP + 10, 0);
    assert_int_equal(r.persistent, ZOMBIES_TRACK_CAP);
    int named = 0;
    for (int k = 0; k < ZOMBIES_TRACK_CAP + 10; k++)
        named += zombies_update(&z, many, ZOMBIES_TRACK_CAP + 10, (uint64_t)k).new_parent > 0;
    assert_int_equal(named + 1, ZOMBIES_PARENTS_CAP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_zombies_never_count),
        cmocka_unit_test(test_kept_zombie_counts_after_grace),
        cmocka_unit_test(test_reparented_zombie_starts_again),
        cmocka_unit_test(test_reused_pid_is_a_new_zombie),
        cmocka_unit_test(test_grace_zero_counts_at_once),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
