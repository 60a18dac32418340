/* Tests of forking (the main pid of a service that forked into the background): the pid file's
 * text, and the tree's top and what is left of it, on real processes this test forks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "forking.h"

static void test_parse_pid(void **state)
{
    (void)state;
    pid_t p = 0;
    assert_int_equal(forking_parse_pid("1234\n", 5, &p), 0);
    assert_int_equal(p, 1234);
    assert_int_equal(forking_parse_pid("77", 2, &p), 0);
    assert_int_equal(p, 77);
    assert_int_equal(forking_parse_pid("42 \r\n", 5, &p), 0);
    assert_int_equal(p, 42);
    p = 9;
    const char *bad[] = {"", "\n", "0\n", "-5\n", "12abc", "abc", " 12", "99999999999", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(forking_parse_pid(bad[i], strlen(bad[i]), &p), ERR_PARSE);
    assert_int_equal(p, 9); /* untouched on failure */
    char big[100];
    memset(big, '1', sizeof big);
    assert_int_equal(forking_parse_pid(big, sizeof big, &p), ERR_PARSE);
}

static void test_read_pid_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_forking.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    pid_t p = 0;
    assert_int_equal(forking_read_pid_file(path, &p), ERR_PARSE); /* empty: not written yet */
    assert_int_equal(write(fd, "31337\n", 6), 6);
    close(fd);
    assert_int_equal(forking_read_pid_file(path, &p), 0);
    assert_int_equal(p, 31337);
    unlink(path);
    assert_int_equal(forking_read_pid_file(path, &p), ERR_NOENT);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* This process is a subreaper: a child that double-forks leaves its grandchild with us, as the
 * shim does for soak. */
static void test_tree(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t me = getpid();
    char msg[256];
    pid_t main = -1;
    assert_int_equal(forking_tree_left("/proc", me, 0), 0);
    assert_int_equal(forking_tree_top("/proc", me), 0);
    assert_int_equal(forking_find_main("/proc", me, "", &main, msg, sizeof msg), ERR_NOENT);
    assert_string_equal(msg, "no process of the service is left");

    int pp[2];
    assert_int_equal(pipe(pp), 0);
    pid_t first = fork();
    if (first == 0) {
        pid_t mid = fork();
        if (mid == 0) {
            setsid();
            pid_t d = fork();
            if (d == 0) {
                pid_t self = getpid();
                if (write(pp[1], &self, sizeof self) < 0)
                    _exit(1);
                if (fork() == 0) { /* a worker of the daemon */
                    pause();
                    _exit(0);
                }
                pause();
                _exit(0);
            }
            _exit(0);
        }
        _exit(0);
    }
    pid_t daemon = 0;
    assert_int_equal(read(pp[0], &daemon, sizeof daemon), (ssize_t)sizeof daemon);
    int st;
    assert_int_equal(waitpid(first, &st, 0), first);
    /* the middle process is ours to reap too; then the daemon's parent is us */
    for (int i = 0; i < 200 && forking_tree_top("/proc", me) != daemon; i++) {
        waitpid(-1, NULL, WNOHANG);
        sleep_ms(10);
    }
    assert_int_equal(forking_tree_top("/proc", me), daemon);
    for (int i = 0; i < 200 && forking_tree_left("/proc", me, 0) < 2; i++)
        sleep_ms(10);
    assert_int_equal(forking_tree_left("/proc", me, 0), 2); /* the daemon and its worker */
    assert_int_equal(forking_tree_left("/proc", me, daemon), 1);
    assert_int_equal(forking_in_tree("/proc", me, daemon), 1);
    assert_int_equal(forking_in_tree("/proc", me, me), 0);
    assert_int_equal(forking_in_tree("/proc", me, 1), 0);
    assert_int_equal(forking_find_main("/proc", me, "", &main, msg, sizeof msg), 0);
    assert_int_equal(main, daemon);

    /* a pid file: it must name a live process of the tree */
    char path[] = "/tmp/test_forking.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(forking_find_main("/proc", me, path, &main, msg, sizeof msg), ERR_NOENT);
    assert_non_null(strstr(msg, "is not there"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "1\n");
    fclose(f);
    assert_int_equal(forking_find_main("/proc", me, path, &main, msg, sizeof msg), ERR_NOENT);
    assert_non_null(strstr(msg, "names pid 1, not a live process of the service"));
    f = fopen(path, "w");
    fprintf(f, "%d\n", (int)daemon);
    fclose(f);
    main = 0;
    assert_int_equal(forking_find_main("/proc", me, path, &main, msg, sizeof msg), 0);
    assert_int_equal(main, daemon);
    unlink(path);

    /* the daemon dies: its worker is ours now, the top of what is left; then nothing */
    kill(daemon, SIGKILL);
    assert_int_equal(waitpid(daemon, &st, 0), daemon);
    for (int i = 0; i < 200 && forking_tree_top("/proc", me) == 0; i++)
        sleep_ms(10);
    pid_t worker = forking_tree_top("/proc", me);
    assert_true(worker > 0 && worker != daemon);
    assert_int_equal(forking_tree_left("/proc", me, 0), 1);
    kill(worker, SIGKILL);
    assert_int_equal(waitpid(worker, &st, 0), worker);
    assert_int_equal(forking_tree_left("/proc", me, 0), 0);
    assert_int_equal(forking_tree_top("/proc", me), 0);
    close(pp[0]);
    close(pp[1]);
}

/* The middle process of a double fork exits while the tree is counted (the shim counts it as
 * soon as the first process is reaped): a process hands its children to the subreaper before it
 * turns zombie, so a walk that read our children before the hand-over and then found the middle
 * process a zombie would miss the daemon and say nothing is left, and soak would take a forking
 * service for one that exited. Many double forks, each counted right after the first process
 * is reaped, a few times over: the daemon is counted every time. */
static void test_tree_left_during_hand_over(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t me = getpid();
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rounds = 0, missed = 0;
    for (;; rounds++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (rounds >= 3000 ||
            (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 4000)
            break;
        pid_t first = fork();
        assert_true(first >= 0);
        if (first == 0) {
            setpgid(0, 0);
            if (fork() == 0) {     /* the middle process */
                if (fork() == 0) { /* the daemon */
                    pause();
                    _exit(0);
                }
                _exit(0);
            }
            _exit(0);
        }
        setpgid(first, first); /* as the child does: no race over which comes first */
        int st;
        assert_int_equal(waitpid(first, &st, 0), first);
        for (int k = 0; k < 5; k++) /* over the middle process's exit */
            missed += forking_tree_left("/proc", me, 0) < 1;
        /* the daemon (in the first process's group): stopped; then everything reaped */
        kill(-first, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0)
            ;
    }
    printf("# %d double forks, counted 5 times each: the daemon missed %d times\n", rounds, missed);
    assert_true(rounds >= 100);
    assert_int_equal(missed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pid),
        cmocka_unit_test(test_read_pid_file),
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_tree_left_during_hand_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
