/* Tests of cmdrun: what a command printed (stdout and stderr apart, cut at the buffer while the
 * command still runs to its end), its exit code or signal, the timeout that kills its whole
 * group (a background child included), and how each end is told to a person. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmdrun.h"
#include "errcode.h"

static void test_output_and_exit(void **state)
{
    (void)state;
    char out[64], err[64], why[64];
    cmdrun_result r;
    assert_int_equal(
        cmdrun_run("echo hello; echo oops >&2; exit 4", 5000, out, sizeof out, err, sizeof err, &r),
        0);
    assert_string_equal(out, "hello\n");
    assert_string_equal(err, "oops\n");
    assert_int_equal(r.exit_code, 4);
    assert_int_equal(r.timed_out, 0);
    assert_string_equal(cmdrun_describe(&r, why, sizeof why), "exit 4");
    /* stdin is /dev/null: a command reading it ends at once */
    assert_int_equal(cmdrun_run("cat; echo done", 5000, out, sizeof out, err, sizeof err, &r), 0);
    assert_string_equal(out, "done\n");
    assert_int_equal(r.exit_code, 0);
}

static void test_truncation(void **state)
{
    (void)state;
    char out[16], err[8];
    cmdrun_result r;
    /* far more than fits: kept to the cap, the rest read and dropped, the command not blocked */
    assert_int_equal(cmdrun_run("head -c 1000000 /dev/zero | tr '\\0' x; echo end >&2", 10000, out,
                                sizeof out, err, sizeof err, &r),
                     0);
    assert_int_equal(r.out_len, sizeof out - 1);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_int_equal(r.out_truncated, 1);
    assert_string_equal(err, "end\n");
    assert_int_equal(r.err_truncated, 0);
    assert_int_equal(r.exit_code, 0);
}

static void test_timeout_kills_group(void **state)
{
    (void)state;
    char out[64], err[64], why[64];
    cmdrun_result r;
    unlink("/tmp/test_cmdrun.left");
    assert_int_equal(cmdrun_run("(sleep 2; touch /tmp/test_cmdrun.left) & echo started; sleep 10",
                                300, out, sizeof out, err, sizeof err, &r),
                     0);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.exit_code, 137);
    assert_string_equal(out, "started\n");
    assert_true(r.duration_ms < 2000);
    assert_string_equal(cmdrun_describe(&r, why, sizeof why), "timed out");
    sleep(3);
    assert_int_not_equal(access("/tmp/test_cmdrun.left", F_OK), 0); /* the child died too */
}

static void test_signal_and_background(void **state)
{
    (void)state;
    char out[64], err[64], why[64];
    cmdrun_result r;
    assert_int_equal(cmdrun_run("kill -TERM $$", 5000, out, sizeof out, err, sizeof err, &r), 0);
    assert_int_equal(r.signal, 15);
    assert_int_equal(r.exit_code, 143);
    assert_string_equal(cmdrun_describe(&r, why, sizeof why), "killed by signal 15");
    /* a background child holding stdout open does not keep the caller waiting */
    assert_int_equal(cmdrun_run("sleep 10 & echo 7", 500, out, sizeof out, err, sizeof err, &r), 0);
    assert_string_equal(out, "7\n");
    assert_int_equal(r.timed_out, 0); /* the command itself ended, with 0 */
    assert_int_equal(r.exit_code, 0);
    assert_true(r.duration_ms < 450);
}

static void test_describe(void **state)
{
    (void)state;
    char why[64];
    cmdrun_result r = {.exit_code = -1, .spawn_errno = 2};
    assert_string_equal(cmdrun_describe(&r, why, sizeof why),
                        "cannot start: No such file or directory");
    r = (cmdrun_result){.exit_code = 0};
    assert_string_equal(cmdrun_describe(&r, why, sizeof why), "exit 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_exit),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_signal_and_background),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
