/* Tests of postcheck: the number a post-check prints becomes series NAME in samples.db with an
 * event; garbage, a timeout or an exit other than 0 give no point and a reason, and analyze
 * learns that the series was asked for (postcheck_provides). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cmdrun.h"
#include "errcode.h"
#include "opts.h"
#include "postcheck.h"
#include "runrec.h"
#include "store.h"
#include "testutil.h"

static void test_judge(void **state)
{
    (void)state;
    char why[256];
    double v = -1;
    cmdrun_result ok = {.exit_code = 0};
    assert_int_equal(postcheck_judge(&ok, "3\n", &v, why, sizeof why), 0);
    assert_true(v == 3);
    assert_int_equal(postcheck_judge(&ok, "  0.25  \n\n", &v, why, sizeof why), 0);
    assert_true(v == 0.25);
    assert_int_equal(postcheck_judge(&ok, "abc\n", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "output 'abc' is not a number");
    assert_int_equal(postcheck_judge(&ok, "3 orders\n", &v, why, sizeof why), ERR_NODATA);
    assert_int_equal(postcheck_judge(&ok, "3\n4\n", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "output '3...' is not a number");
    assert_int_equal(postcheck_judge(&ok, "", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "printed nothing, not a number");
    assert_int_equal(postcheck_judge(&ok, "nan", &v, why, sizeof why), ERR_NODATA);
    assert_int_equal(postcheck_judge(&ok, "inf", &v, why, sizeof why), ERR_NODATA);
    assert_int_equal(postcheck_judge(&ok, "1e999", &v, why, sizeof why), ERR_NODATA);
    /* a number printed by a check that failed is no value */
    cmdrun_result r = {.exit_code = 1};
    assert_int_equal(postcheck_judge(&r, "0\n", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "exit 1");
    r = (cmdrun_result){.exit_code = 137, .signal = 9, .timed_out = 1};
    assert_int_equal(postcheck_judge(&r, "0\n", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "timed out");
    r = (cmdrun_result){.exit_code = 139, .signal = 11};
    assert_int_equal(postcheck_judge(&r, "0\n", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "killed by signal 11");
    r = (cmdrun_result){.exit_code = -1, .spawn_errno = 2};
    assert_int_equal(postcheck_judge(&r, "", &v, why, sizeof why), ERR_NODATA);
    assert_string_equal(why, "cannot start: No such file or directory");
}

static void set(opts *o, const char *k, const char *v)
{
    char err[256];
    if (opts_set(o, k, v, err, sizeof err))
        fail_msg("%s: %s", k, err);
}

static void test_run_all(void **state)
{
    (void)state;
    char dir[64], db[128], err[256], why[256];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "test_postcheck"));
    snprintf(db, sizeof db, "%s/samples.db", dir);
    static opts o;
    opts_init(&o);
    setenv("TEST_PC_TOKEN", "verysecret99", 1);
    set(&o, "post_check_timeout", "300ms");
    set(&o, "post_checks.orphan_orders", "echo 3; echo checked with verysecret99 >&2");
    set(&o, "post_checks.garbage", "echo lots");
    set(&o, "post_checks.slow", "sleep 5; echo 0");
    set(&o, "post_checks.failing", "echo 0; exit 1");
    store *s = store_open(db, 0, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(postcheck_run_all(&o, s, NULL), 3);
    store_close(s);

    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "select name, value from metrics", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* one point: orphan_orders = 3 */
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "orphan_orders");
    assert_true(sqlite3_column_double(st, 1) == 3);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "select detail from events where kind='post_check' "
                                        "order by rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    const char *want[] = {"orphan_orders: value 3 (exit 0, ",
                          "garbage: no value: output 'lots' is not a number (exit 0, ",
                          "slow: no value: timed out after 300ms (exit 137, ",
                          "failing: no value: exit 1 (exit 1, "};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        const char *d = (const char *)sqlite3_column_text(st, 0);
        if (strncmp(d, want[i], strlen(want[i])) != 0)
            fail_msg("event %d: %s", i, d);
        assert_null(strstr(d, "verysecret99"));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);

    runrec *rr;
    assert_int_equal(runrec_open(dir, &rr, err, sizeof err), 0);
    assert_int_equal(postcheck_provides(rr, "orphan_orders", why, sizeof why), 1);
    assert_string_equal(why, "");
    assert_int_equal(postcheck_provides(rr, "slow", why, sizeof why), 1);
    assert_string_equal(why, "post-check 'slow': timed out after 300ms");
    assert_int_equal(postcheck_provides(rr, "security_critical_high", why, sizeof why), 0);
    runrec_close(rr);
    opts_free(&o);
    unsetenv("TEST_PC_TOKEN");
    assert_int_equal(tu_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_run_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
