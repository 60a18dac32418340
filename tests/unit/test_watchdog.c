/* watchdog: a loop that stops kicking is ended with exit code 1 and one line naming the
 * timeout; a loop that keeps kicking is left alone; stop joins the thread promptly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "watchdog.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs body in a child with stderr into a pipe; returns the wait status and the output. */
static int run_child(void (*body)(void), char *out, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        alarm(10); /* bounded: a broken watchdog must not hang the test */
        body();
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fds[0], out + got, n - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void stalled_loop(void)
{
    watchdog *w = watchdog_start(200, 2, "mmbot");
    if (!w)
        _exit(3);
    sleep_ms(3000); /* the "loop" is stuck: no kick */
    _exit(0);       /* not reached when the watchdog works */
}

static void busy_loop(void)
{
    watchdog *w = watchdog_start(200, 2, "mmbot");
    if (!w)
        _exit(3);
    for (int i = 0; i < 60; i++) { /* 1.2 s of work, a kick every 20 ms */
        sleep_ms(20);
        watchdog_kick(w);
    }
    watchdog_stop(w);
    _exit(0);
}

static void test_stalled_loop_exits_1(void **state)
{
    (void)state;
    char out[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int st = run_child(stalled_loop, out, sizeof out);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(out, "mmbot: watchdog: event loop made no progress for"));
    assert_non_null(strstr(out, "(timeout 0.2 s): exiting"));
    assert_true(took < 2.0); /* well before the 3 s the child would sleep */
}

static void test_kicked_loop_survives(void **state)
{
    (void)state;
    char out[512];
    int st = run_child(busy_loop, out, sizeof out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(out, "");
}

static void test_bad_timeout_and_null(void **state)
{
    (void)state;
    errno = 0;
    assert_null(watchdog_start(10, 2, "x"));
    assert_int_equal(errno, EINVAL);
    watchdog_kick(NULL);
    watchdog_stop(NULL);
    assert_int_equal(watchdog_idle_ms(NULL), 0);
    watchdog *w = watchdog_start(60000, 2, "x");
    assert_non_null(w);
    sleep_ms(50);
    assert_true(watchdog_idle_ms(w) >= 40);
    watchdog_kick(w);
    assert_true(watchdog_idle_ms(w) < 40);
    watchdog_stop(w); /* prompt: does not wait for the 15 s period */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_loop_exits_1),
        cmocka_unit_test(test_kicked_loop_survives),
        cmocka_unit_test(test_bad_timeout_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
