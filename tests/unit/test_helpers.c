/*
 * Tests of helpers (soak's own helper children) with real processes: the register's rules
 * (caps, duplicates, one exit callback per helper), and the mechanism it feeds: a tree stop
 * of the caller's descendants (treekill with helpers_skip) signals and counts the service's
 * processes only, a sample (proctree with helpers_skip) leaves a helper and its children out,
 * and helpers_stop_all ends what is left, a helper that ignores SIGTERM too.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "errcode.h"
#include "helpers.h"
#include "proctree.h"
#include "treekill.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A child that waits until killed; with_kid: it forks one more that dies with it;
 * ignore_term: both ignore SIGTERM. Returns once the child (and its kid) run. */
static pid_t spawn(int with_kid, int ignore_term)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (ignore_term)
            signal(SIGTERM, SIG_IGN);
        if (with_kid && fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (write(p[1], "k", 1) != 1)
                _exit(2);
            for (;;)
                pause();
        }
        if (write(p[1], "p", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    for (int i = 0; i < 1 + with_kid; i++)
        assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

static int exits_seen;
static pid_t exit_pid;
static void on_exit_cb(void *ud, pid_t pid, int status)
{
    (void)status;
    assert_ptr_equal(ud, &exits_seen);
    exits_seen++;
    exit_pid = pid;
}

static void test_register(void **state)
{
    (void)state;
    helpers h;
    helpers_init(&h);
    assert_int_equal(helpers_count(&h), 0);
    assert_int_equal(helpers_add(&h, 0, NULL, NULL), ERR_INVAL);
    assert_int_equal(helpers_add(&h, 100, on_exit_cb, &exits_seen), 0);
    assert_int_equal(helpers_add(&h, 100, NULL, NULL), ERR_DUP);
    for (int i = 1; i < HELPERS_MAX; i++)
        assert_int_equal(helpers_add(&h, 100 + i, NULL, NULL), 0);
    assert_int_equal(helpers_add(&h, 999, NULL, NULL), ERR_FULL);
    assert_int_equal(helpers_count(&h), HELPERS_MAX);
    assert_true(helpers_has(&h, 100));
    assert_int_equal(helpers_skip(&h, 100), 1);
    assert_int_equal(helpers_skip(&h, 99), 0);
    assert_false(helpers_has(NULL, 100));
    /* a reaped helper: its owner hears it once, and its pid is no longer left out */
    exits_seen = 0;
    assert_int_equal(helpers_reaped(&h, 100, 0), 1);
    assert_int_equal(exits_seen, 1);
    assert_int_equal(exit_pid, 100);
    assert_int_equal(helpers_reaped(&h, 100, 0), 0);
    assert_int_equal(exits_seen, 1);
    assert_false(helpers_has(&h, 100));
    assert_int_equal(helpers_skip(&h, 100), 0);
    assert_int_equal(helpers_count(&h), HELPERS_MAX - 1);
    assert_int_equal(helpers_add(&h, 999, NULL, NULL), 0); /* room again */
    /* a pid that is not a helper: nobody's business here */
    assert_int_equal(helpers_reaped(&h, 12345, 0), 0);
    assert_int_equal(helpers_reap(&h, 12345), ERR_NOENT);
    assert_int_equal(h.started, HELPERS_MAX + 1);
    assert_int_equal(h.reaped, 1);
}

/* The service's process and a helper with a child, all children of the caller: the stop of
 * the caller's tree signals and waits for the service's only; a sample counts it only. */
static void test_stop_and_sample_leave_helper_out(void **state)
{
    (void)state;
    helpers h;
    helpers_init(&h);
    pid_t svc = spawn(0, 0);
    pid_t hp = spawn(1, 0);
    exits_seen = 0;
    assert_int_equal(helpers_add(&h, hp, on_exit_cb, &exits_seen), 0);

    proctree *pt = proctree_new("/proc");
    assert_non_null(pt);
    proctree_sample s;
    assert_int_equal(proctree_sample_tree(pt, getpid(), 0, 0, &s), 0);
    assert_int_equal(s.nprocs, 3); /* without the filter: the service, the helper, its kid */
    proctree_set_skip(pt, helpers_skip, &h);
    assert_int_equal(proctree_sample_tree(pt, getpid(), 0, 0, &s), 0);
    assert_int_equal(s.nprocs, 1);
    pid_t found[8];
    assert_int_equal(proctree_descendants_skip("/proc", getpid(), helpers_skip, &h, found, 8), 1);
    assert_int_equal(found[0], svc);

    treekill *tk = treekill_new("/proc", 0);
    assert_non_null(tk);
    treekill_set_skip(tk, helpers_skip, &h);
    assert_int_equal(treekill_begin(tk, getpid(), 0, mono_ms()), 1); /* the service only */
    int status = 0;
    assert_int_equal(waitpid(svc, &status, 0), svc);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    assert_int_equal(treekill_poll(tk), 0); /* the tree is gone, the helper runs on */
    assert_int_equal(kill(hp, 0), 0);
    assert_int_equal(treekill_kill(tk, mono_ms()), 0);
    assert_int_equal(kill(hp, 0), 0);
    assert_int_equal(helpers_reap(&h, hp), 0); /* still running */

    /* soak's own stop at the end: SIGTERM is enough here */
    assert_int_equal(helpers_stop_all(&h), 0);
    assert_int_equal(exits_seen, 1);
    assert_int_equal(exit_pid, hp);
    assert_int_equal(h.killed, 0);
    assert_int_equal(helpers_count(&h), 0);
    assert_int_equal(kill(hp, 0), -1);
    assert_int_equal(errno, ESRCH);
    treekill_free(tk);
    proctree_free(pt);
}

/* A helper that ignores SIGTERM gets SIGKILL after HELPERS_STOP_MS; one reaped elsewhere
 * (ECHILD) is simply dropped. */
static void test_stop_all_stubborn_and_reaped(void **state)
{
    (void)state;
    helpers h;
    helpers_init(&h);
    pid_t stubborn = spawn(0, 1);
    pid_t other = spawn(0, 0);
    assert_int_equal(helpers_add(&h, stubborn, NULL, NULL), 0);
    assert_int_equal(helpers_add(&h, other, NULL, NULL), 0);
    kill(other, SIGKILL);
    assert_int_equal(waitpid(other, NULL, 0), other); /* reaped by someone else */
    assert_int_equal(helpers_reap(&h, other), 1);
    assert_false(helpers_has(&h, other));
    uint64_t t0 = mono_ms();
    assert_int_equal(helpers_stop_all(&h), 0);
    assert_true(mono_ms() - t0 >= HELPERS_STOP_MS);
    assert_int_equal(h.killed, 1);
    assert_int_equal(helpers_count(&h), 0);
    assert_int_equal(kill(stubborn, 0), -1);
    assert_int_equal(helpers_stop_all(&h), 0); /* nothing left: at once */
    assert_int_equal(helpers_stop_all(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_stop_and_sample_leave_helper_out),
        cmocka_unit_test(test_stop_all_stubborn_and_reaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
