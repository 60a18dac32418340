/* Tests of logscan: the lines a service printed before soak's note of a crash, found in the
 * current soak.log and in a rotated, compressed one; a note that is not there says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "logscan.h"
#include "testutil.h"

#define T0 1764364200.0 /* 2025-11-28T21:10:00Z */

typedef tu_dir fx; /* a fresh folder (testutil.h) */

static const char *const files[] = {"soak.log", "soak-20251128T211500.000Z.log.gz",
                                    "soak-20251128T211500.000Z.log"};

/* One line as soak writes it: "TS stream text". */
static void line(FILE *fp, gzFile gz, double t, const char *stream, const char *text)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char ts[32], buf[1024];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sizeof buf, "%s.%03dZ %s %s\n", ts, (int)((t - (double)tt) * 1000), stream, text);
    if (fp)
        fputs(buf, fp);
    else
        gzputs(gz, buf);
}

static logscan_note note(double t, const char *kind, const char *detail)
{
    logscan_note n;
    memset(&n, 0, sizeof n);
    n.t = t;
    snprintf(n.kind, sizeof n.kind, "%s", kind);
    snprintf(n.detail, sizeof n.detail, "%s", detail);
    return n;
}

static void test_finds_notes_in_rotated_and_current_logs(void **state)
{
    fx *f = *state;
    char p[160];
    snprintf(p, sizeof p, "%s/%s", f->dir, files[1]);
    gzFile gz = gzopen(p, "wb");
    assert_non_null(gz);
    for (int i = 0; i < 30; i++)
        line(NULL, gz, T0 + 10 + i, "out", "[HB] alive");
    line(NULL, gz, T0 + 99, "err", "panic: nil map");
    line(NULL, gz, T0 + 100, "soak", "exit: pid 10 exited with code 3 after 100.0s");
    assert_int_equal(gzclose(gz), Z_OK);
    snprintf(p, sizeof p, "%s/soak.log", f->dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    line(fp, NULL, T0 + 400, "out", "working");
    line(fp, NULL, T0 + 401, "soak", "hang: no heartbeat for 5m");
    line(fp, NULL, T0 + 402, "out", "after");
    assert_int_equal(fclose(fp), 0);

    logscan_note n[3] = {
        note(T0 + 100, "exit", "pid 10 exited with code 3 after 100.0s"),
        note(T0 + 200, "exit", "pid 11 was never logged"),
        note(T0 + 401, "hang", "no heartbeat for 5m"),
    };
    assert_int_equal(logscan_find(f->dir, n, 3), 0);
    assert_int_equal(n[0].found, 1);
    assert_string_equal(n[0].file, files[1]);
    assert_int_equal(n[0].nlines, LOGSCAN_CTX_LINES);
    assert_non_null(strstr(n[0].lines[LOGSCAN_CTX_LINES - 1], "err panic: nil map"));
    assert_non_null(strstr(n[0].lines[LOGSCAN_CTX_LINES], "soak exit: pid 10 exited"));
    assert_int_equal(n[1].found, 0); /* not within 30 s: given up on */
    assert_int_equal(n[2].found, 1);
    assert_string_equal(n[2].file, "soak.log");
    /* both files were read: the context runs on from the rotated one */
    assert_int_equal(n[2].nlines, LOGSCAN_CTX_LINES);
    assert_non_null(strstr(n[2].lines[LOGSCAN_CTX_LINES - 1], "out working"));
    assert_non_null(strstr(n[2].lines[LOGSCAN_CTX_LINES - 2], "soak exit: pid 10"));
    assert_non_null(strstr(n[2].lines[LOGSCAN_CTX_LINES], "soak hang: no heartbeat for 5m"));
}

static void test_no_logs_and_no_notes(void **state)
{
    fx *f = *state;
    logscan_note n = note(T0, "exit", "x");
    assert_int_equal(logscan_find(f->dir, &n, 1), 0);
    assert_int_equal(n.found, 0);
    assert_int_equal(logscan_find(f->dir, NULL, 0), 0);
}

static void test_parse_iso(void **state)
{
    (void)state;
    const char *s = "2025-11-28T21:10:00.250Z out x";
    assert_true(logscan_parse_iso(s, strlen(s)) == T0 + 0.25);
    assert_true(logscan_parse_iso("2025-11-28T21:10:00", 19) == T0);
    assert_true(logscan_parse_iso("2025-11-28", 10) == -1);
    assert_true(logscan_parse_iso("not a time stamp at all", 23) == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_finds_notes_in_rotated_and_current_logs, tu_dir_setup,
                                        tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_no_logs_and_no_notes, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(test_parse_iso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
