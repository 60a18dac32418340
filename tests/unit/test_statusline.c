/* Tests of statusline_format: what the live status line tells the person watching a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "statusline.h"

#define H 3600000ull

static void contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("'%s' does not contain '%s'", text, want);
}

static runstate running(void)
{
    runstate rs;
    runstate_init(&rs);
    rs.state = RS_RUNNING;
    rs.start_ms = 5000;
    rs.rss_first = 100ull << 20;
    rs.tree.rss_bytes = 200ull << 20;
    rs.tree.nprocs = 3;
    rs.cpu_percent = 42;
    rs.restarts = 7;
    rs.heartbeat_age_s = 12;
    return rs;
}

static void test_plain_fields(void **state)
{
    (void)state;
    runstate rs = running();
    char buf[256];
    statusline_format(&rs, 5000 + 12 * H + 1500, 24 * H, 0, buf, sizeof buf);
    contains(buf, "12h1s/1d");      /* elapsed (whole seconds) of duration */
    contains(buf, "running");       /* state */
    contains(buf, "rss 200.0 MiB"); /* current RSS */
    contains(buf, "+8.3 MiB/h");    /* 100 MiB grown in 12 h */
    contains(buf, "cpu 42%");
    contains(buf, "procs 3");
    contains(buf, "restarts 7");
    contains(buf, "hb 12s");
    assert_null(strchr(buf, '['));  /* no bar */
    assert_null(strchr(buf, '\n')); /* no newline */
}

/* The bar: '[', 20 cells of '#' (done) or '.', ']'. Returns the count of '#'. */
static int bar_filled(const char *buf)
{
    assert_int_equal(buf[0], '[');
    assert_int_equal(buf[21], ']');
    int filled = 0;
    for (int i = 1; i <= 20; i++) {
        assert_true(buf[i] == '#' || buf[i] == '.');
        if (buf[i] == '#') {
            assert_true(i == 1 || buf[i - 1] == '#'); /* filled from the left */
            filled++;
        }
    }
    return filled;
}

static void test_bar(void **state)
{
    (void)state;
    runstate rs = running();
    char buf[256];
    statusline_format(&rs, 5000, 24 * H, 1, buf, sizeof buf);
    assert_int_equal(bar_filled(buf), 0);
    statusline_format(&rs, 5000 + 12 * H, 24 * H, 1, buf, sizeof buf);
    assert_int_equal(bar_filled(buf), 10);
    contains(buf, "] 12h/1d");
    statusline_format(&rs, 5000 + 6 * H, 24 * H, 1, buf, sizeof buf);
    assert_int_equal(bar_filled(buf), 5);
    statusline_format(&rs, 5000 + 24 * H, 24 * H, 1, buf, sizeof buf);
    assert_int_equal(bar_filled(buf), 20);
    statusline_format(&rs, 5000 + 30 * H, 24 * H, 1, buf, sizeof buf); /* past the end */
    assert_int_equal(bar_filled(buf), 20);
    statusline_format(&rs, 5000 + H, 0, 1, buf, sizeof buf); /* no duration */
    assert_int_equal(bar_filled(buf), 0);
}

static void test_growth_and_heartbeat_edge_cases(void **state)
{
    (void)state;
    runstate rs = running();
    char buf[256];
    /* too early for a rate */
    statusline_format(&rs, 5000 + 9000, 24 * H, 0, buf, sizeof buf); /* rate shown from 10 s */
    contains(buf, "- MiB/h");
    /* shrinking memory shows a negative rate */
    rs.tree.rss_bytes = 50ull << 20;
    statusline_format(&rs, 5000 + 2 * H, 24 * H, 0, buf, sizeof buf);
    contains(buf, "-25.0 MiB/h");
    /* no heartbeat configured */
    rs.heartbeat_age_s = -1;
    statusline_format(&rs, 5000 + 2 * H, 24 * H, 0, buf, sizeof buf);
    contains(buf, "hb -");
    rs.state = RS_BACKOFF;
    statusline_format(&rs, 5000 + 2 * H, 24 * H, 0, buf, sizeof buf);
    contains(buf, "backoff");
}

static void test_small_buffer(void **state)
{
    (void)state;
    runstate rs = running();
    char buf[16];
    memset(buf, 'x', sizeof buf);
    statusline_format(&rs, 5000 + 12 * H, 24 * H, 1, buf, sizeof buf);
    assert_int_equal(strlen(buf), sizeof buf - 1);
}

static void test_off_is_null(void **state)
{
    (void)state;
    assert_null(statusline_new(OPTS_STATUS_OFF, 24 * H));
    runstate rs = running();
    statusline_update(NULL, &rs, 0); /* accepted */
    statusline_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_fields),
        cmocka_unit_test(test_bar),
        cmocka_unit_test(test_growth_and_heartbeat_edge_cases),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_off_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
