/*
 * Tests of treekill against real process trees: a setsid escapee, a double fork, a process
 * that ignores SIGTERM, a process in SIGSTOP, a tree stopped step by step without blocking;
 * and pid reuse: a recorded (pid, start time) whose process is gone while a new process has
 * the same pid is never signalled (the start time is faked through a fixture /proc root; the
 * signals go to the real pid).
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "errcode.h"
#include "proctree.h"
#include "treekill.h"
#include "testutil.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void assert_gone(pid_t pid)
{
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* How the processes of a test tree behave. */
enum { K_PLAIN, K_SETSID, K_IGNORE_TERM, K_STOPPED, K_DOUBLE_FORK };

static void idle(int kind, int ready)
{
    if (kind == K_SETSID)
        setsid();
    if (kind == K_IGNORE_TERM) {
        signal(SIGTERM, SIG_IGN);
        /* also the SIGHUP the kernel sends to an orphaned group with a stopped member */
        signal(SIGHUP, SIG_IGN);
    }
    int msg[2] = {kind, (int)getpid()};
    if (write(ready, msg, sizeof msg) != sizeof msg)
        _exit(2);
    if (kind == K_STOPPED)
        raise(SIGSTOP);
    for (;;)
        pause();
}

/* Forks a child (leader of its own group) whose descendants are one process of each kind; the
 * double fork leaves a grandchild whose parent exited (reparented to us, the subreaper). Fills
 * pids[0..4] with the descendants and returns the child once all are set up. */
static pid_t spawn_tree(pid_t pids[5])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        setpgid(0, 0);
        close(p[0]);
        for (int k = K_PLAIN; k <= K_STOPPED; k++)
            if (fork() == 0)
                idle(k, p[1]);
        pid_t mid = fork();
        if (mid == 0) {
            if (fork() == 0)
                idle(K_DOUBLE_FORK, p[1]);
            _exit(0); /* the double fork: its child is an orphan */
        }
        waitpid(mid, NULL, 0);
        int msg[2] = {-1, (int)getpid()}; /* settled: the double fork's middle is reaped */
        if (write(p[1], msg, sizeof msg) != sizeof msg)
            _exit(2);
        for (;;)
            pause();
    }
    close(p[1]);
    /* (kind, pid) from each, in any order; (-1, child) once the middle of the double fork
     * is reaped: then the tree is settled */
    int seen_child = 0;
    for (int i = 0; i < 6; i++) {
        int msg[2];
        assert_int_equal(read(p[0], msg, sizeof msg), sizeof msg);
        if (msg[0] == -1) {
            assert_int_equal(msg[1], c);
            seen_child = 1;
        } else {
            assert_true(msg[0] >= K_PLAIN && msg[0] <= K_DOUBLE_FORK);
            pids[msg[0]] = (pid_t)msg[1];
        }
    }
    assert_true(seen_child);
    close(p[0]);
    /* the stopped one has stopped */
    for (int i = 0; i < 500; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[K_STOPPED]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        proctree_stat st;
        if (proctree_parse_stat(buf, n, &st) == 0 && st.state == 'T')
            break;
        usleep(2000);
    }
    return c;
}

/* The blocking form: all gone; only the one that ignores SIGTERM needed SIGKILL (the stopped
 * one got SIGCONT with its SIGTERM). */
static void test_run_kills_everything(void **state)
{
    (void)state;
    pid_t d[5];
    pid_t c = spawn_tree(d);
    assert_int_equal(treekill_run(c, 1, 300), 1);
    assert_gone(c);
    /* the double fork's orphan left c's tree (it is our child now, the subreaper's); the
     * signal to c's group reached it: we reap it */
    int st;
    assert_int_equal(waitpid(d[K_DOUBLE_FORK], &st, 0), d[K_DOUBLE_FORK]);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    for (int i = 0; i < 5; i++)
        assert_gone(d[i]);
    pid_t out[8];
    assert_int_equal(proctree_descendants("/proc", getpid(), out, 8), 0);
    assert_int_equal(treekill_run(c, 1, 300), ERR_NOENT);
}

/* Step by step, as soak's loop drives it: SIGTERM; polls say what is left; SIGKILL when the
 * caller decides; nothing blocks. Root = the caller itself (soak's case): never signalled. */
static void test_steps_from_self(void **state)
{
    (void)state;
    pid_t d[5];
    pid_t c = spawn_tree(d);
    treekill *tk = treekill_new("/proc", 1);
    assert_non_null(tk);
    uint64_t t0 = mono_ms();
    /* the child and its 5 descendants (the double fork's middle process is gone) */
    assert_int_equal(treekill_begin(tk, getpid(), 0, t0), 6);
    int alive = -1;
    for (int i = 0; i < 200; i++) {
        uint64_t a = mono_ms();
        alive = treekill_poll(tk);
        assert_true(mono_ms() - a < 200); /* a poll never waits */
        if (alive == 1)
            break;
        usleep(5000);
    }
    assert_int_equal(alive, 1); /* the one ignoring SIGTERM */
    assert_int_equal(kill(d[K_IGNORE_TERM], 0), 0);
    assert_int_equal(treekill_kill(tk, mono_ms()), 1);
    for (int i = 0; i < 200 && (alive = treekill_poll(tk)) > 0; i++)
        usleep(5000);
    assert_int_equal(alive, 0);
    assert_int_equal(treekill_nkilled(tk), 1);
    assert_int_equal(kill(getpid(), 0), 0); /* we are still here */
    assert_gone(c);
    for (int i = 0; i < 5; i++)
        assert_gone(d[i]);
    treekill_free(tk);
}

/* treekill_step escalates by itself after the grace period. */
static void test_step_escalates(void **state)
{
    (void)state;
    pid_t d[5];
    pid_t c = spawn_tree(d);
    treekill *tk = treekill_new("/proc", 1);
    assert_non_null(tk);
    uint64_t t = 1000; /* a clock of our own: the grace is counted in it */
    assert_true(treekill_begin(tk, c, 1, t) > 0);
    int rc = 0;
    for (int i = 0; i < 100; i++) {
        rc = treekill_step(tk, t, 500, 5000);
        if (rc <= 0)
            break;
        usleep(2000);
        t += 20;
    }
    assert_int_equal(rc, 0);
    assert_true(t >= 1500); /* not before the grace was over */
    assert_int_equal(treekill_nkilled(tk), 1);
    assert_gone(d[K_IGNORE_TERM]);
    treekill_free(tk);
}

/* ---- pid reuse, through a fixture /proc root --------------------------------------------- */

#define FAKE_ROOT 999999 /* a pid that does not exist: only its children file is read */

static void put(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mk(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void put_stat(const char *dir, pid_t pid, pid_t ppid, unsigned long long start)
{
    char rel[64], text[256];
    snprintf(rel, sizeof rel, "%d/stat", (int)pid);
    snprintf(text, sizeof text,
             "%d (victim) S %d %d %d 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 %llu 1000 10 "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
             (int)pid, (int)ppid, (int)ppid, (int)ppid, start);
    put(dir, rel, text);
}

/* A fixture tree: FAKE_ROOT with one child, the real process c, started at `start`. */
static void make_fixture(char *dir, pid_t c, unsigned long long start)
{
    char rel[64], text[32];
    mk(dir, "999999");
    mk(dir, "999999/task");
    mk(dir, "999999/task/999999");
    put_stat(dir, FAKE_ROOT, 1, 50);
    snprintf(text, sizeof text, "%d ", (int)c);
    put(dir, "999999/task/999999/children", text);
    snprintf(rel, sizeof rel, "%d", (int)c);
    mk(dir, rel);
    snprintf(rel, sizeof rel, "%d/task", (int)c);
    mk(dir, rel);
    snprintf(rel, sizeof rel, "%d/task/%d", (int)c, (int)c);
    mk(dir, rel);
    snprintf(rel, sizeof rel, "%d/task/%d/children", (int)c, (int)c);
    put(dir, rel, "");
    put_stat(dir, c, FAKE_ROOT, start);
}

static pid_t spawn_term_ignorer(void)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(p[0]);
        idle(K_IGNORE_TERM, p[1]);
    }
    close(p[1]);
    int msg[2];
    assert_int_equal(read(p[0], msg, sizeof msg), sizeof msg);
    close(p[0]);
    return c;
}

/* reused = 1: between SIGTERM and SIGKILL, the recorded process "exits" and a new process gets
 * its pid (the fixture's start time changes and the pid leaves the tree): the real process
 * behind that pid must not get SIGKILL. reused = 0 is the control: the same steps without the
 * reuse kill it, so the check above can fail. */
static void pid_reuse_case(int reused)
{
    char dir[64];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "treekill-fixture"));
    pid_t c = spawn_term_ignorer();
    make_fixture(dir, c, 100);
    treekill *tk = treekill_new(dir, 1);
    assert_non_null(tk);
    assert_int_equal(treekill_begin(tk, FAKE_ROOT, 0, 0), 1); /* SIGTERM: ignored */
    assert_int_equal(treekill_poll(tk), 1);
    if (reused) {
        put_stat(dir, c, 1, 200);
        put(dir, "999999/task/999999/children", "");
    }
    int hit = treekill_kill(tk, 10);
    int st = 0;
    pid_t w = 0;
    for (int i = 0; i < 100 && (w = waitpid(c, &st, WNOHANG)) == 0; i++)
        usleep(2000);
    if (reused) {
        assert_int_equal(hit, 0);
        assert_int_equal(w, 0); /* alive: never signalled */
        assert_int_equal(treekill_poll(tk), 0);
        assert_int_equal(treekill_nkilled(tk), 0);
        kill(c, SIGKILL);
        assert_int_equal(waitpid(c, &st, 0), c);
    } else {
        assert_int_equal(hit, 1);
        assert_int_equal(w, c);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    treekill_free(tk);
    assert_int_equal(tu_rmtree(dir), 0);
}

static void test_pid_reuse_not_signalled(void **state)
{
    (void)state;
    pid_reuse_case(1);
}

static void test_pid_reuse_control(void **state)
{
    (void)state;
    pid_reuse_case(0);
}

static void test_signal_tree_and_errors(void **state)
{
    (void)state;
    assert_int_equal(treekill_signal_tree(999999999, 1, 0), ERR_NOENT);
    assert_int_equal(treekill_run(999999999, 1, 100), ERR_NOENT);
    treekill *tk = treekill_new("/proc", 0);
    assert_non_null(tk);
    assert_int_equal(treekill_begin(tk, 999999999, 1, 0), ERR_NOENT);
    assert_int_equal(treekill_poll(tk), 0);
    treekill_free(tk);
    assert_null(treekill_new("/nonexistent/proc", 0));
    treekill_free(NULL);
}

int main(void)
{
    alarm(60); /* the tests fork and wait: never hang ctest */
    /* orphans stay our children, as in soak */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_kills_everything), cmocka_unit_test(test_steps_from_self),
        cmocka_unit_test(test_step_escalates),       cmocka_unit_test(test_pid_reuse_not_signalled),
        cmocka_unit_test(test_pid_reuse_control),    cmocka_unit_test(test_signal_tree_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
