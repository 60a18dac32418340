/*
 * test_journal: the MESSAGE of `journalctl -o json` records (a string, an array of bytes,
 * null, missing, malformed, the cap), and the child process: a stand-in journalctl
 * (tests/fixtures/journal/journalctl) is started, its records come out as lines under
 * "journal:UNIT", and journal_stop ends it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "helpers.h"
#include "journal.h"

static int parse(const char *json, char *out, size_t cap, size_t *n)
{
    return journal_parse_message(json, strlen(json), out, cap, n, NULL, 0);
}

static void test_parse(void **state)
{
    (void)state;
    char out[64];
    size_t n;
    assert_int_equal(parse("{\"MESSAGE\":\"[HB] alive 1\",\"_PID\":\"42\"}", out, sizeof out, &n),
                     0);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "[HB] alive 1", 12);
    /* not UTF-8: journalctl writes the bytes as an array */
    assert_int_equal(parse("{\"MESSAGE\":[104,105,32,255]}", out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "hi \xff", 4);
    assert_int_equal(parse("{\"MESSAGE\":null}", out, sizeof out, &n), ERR_NODATA);
    assert_int_equal(parse("{\"PRIORITY\":\"6\"}", out, sizeof out, &n), ERR_NODATA);
    assert_int_equal(parse("[1,2]", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":[1,256]}", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":[1,-1]}", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":[1.5]}", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":[\"a\"]}", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(parse("{\"MESSAGE\":7}", out, sizeof out, &n), ERR_PARSE);
    assert_int_equal(n, 0);
    /* the cap: cut there */
    assert_int_equal(parse("{\"MESSAGE\":\"0123456789\"}", out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "0123", 4);
    assert_int_equal(parse("{\"MESSAGE\":[48,49,50,51,52]}", out, 3, &n), 0);
    assert_int_equal(n, 3);
    /* the cursor, kept for a restart of journalctl; too long a one is not kept */
    char cur[16] = "old";
    const char *rec = "{\"__CURSOR\":\"s=1;i=2\",\"PRIORITY\":\"6\"}";
    assert_int_equal(journal_parse_message(rec, strlen(rec), out, sizeof out, &n, cur, sizeof cur),
                     ERR_NODATA);
    assert_string_equal(cur, "s=1;i=2");
    rec = "{\"__CURSOR\":\"s=0123456789abcdef\",\"MESSAGE\":\"x\"}";
    assert_int_equal(journal_parse_message(rec, strlen(rec), out, sizeof out, &n, cur, sizeof cur),
                     0);
    assert_string_equal(cur, "s=1;i=2");
}

typedef struct got {
    char lines[16][128];
    char stream[64];
    int n;
} got;

static void on_line(void *ud, const char *stream, const char *line, size_t len)
{
    got *g = ud;
    snprintf(g->stream, sizeof g->stream, "%s", stream);
    if (g->n < 16)
        snprintf(g->lines[g->n++], 128, "%.*s", (int)len, line);
}

/* A new empty file from the template log, where the stand-in journalctl logs its calls. */
static void stub_log(char *log)
{
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    setenv("JOURNAL_STUB_LOG", log, 1);
}

static void test_child(void **state)
{
    (void)state;
    char log[] = "/tmp/test-journal-XXXXXX";
    stub_log(log);
    uv_loop_t *loop = uv_default_loop();
    got g = {0};
    journal *j = NULL;
    char err[256];
    assert_int_equal(journal_start(loop, "mmbot.service", FIXTURES "/journal/journalctl", on_line,
                                   &g, &j, err, sizeof err),
                     0);
    /* five records, six lines (the traceback has two), bounded wait */
    for (int i = 0; i < 500 && g.n < 6; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    assert_int_equal(g.n, 6);
    assert_string_equal(g.stream, "journal:mmbot.service");
    assert_string_equal(g.lines[0], "[HB] alive 1");
    assert_string_equal(g.lines[1], "ERROR ws: connection reset, reconnect in 2s");
    assert_string_equal(g.lines[2], "[HB] alive 2 \xff");
    assert_string_equal(g.lines[3], "Started mmbot.service - market maker.");
    assert_string_equal(g.lines[4], "Traceback (most recent call last):");
    assert_string_equal(g.lines[5], "  File \"cli/run_bot.py\", line 12, in <module>");
    journal_stats st;
    journal_stats_get(j, &st);
    assert_int_equal(st.records, 5);
    assert_int_equal(st.lines, 6);
    assert_int_equal(st.bad, 0);
    assert_int_equal(journal_exited(j), 0); /* journalctl -f waits */
    /* the stub's pid, then the stop ends it */
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    int pid = 0;
    char args[256] = "";
    assert_int_equal(fscanf(f, "pid %d args %255[^\n]", &pid, args), 2);
    fclose(f);
    assert_string_equal(args, "-f -o json -u mmbot.service -n 0");
    /* the child ends while soak runs (it died, or somebody killed it): a new one goes on after
     * the last record, so nothing comes twice */
    kill(pid, SIGKILL);
    int pid2 = 0;
    for (int i = 0; i < 500 && !pid2; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
        f = fopen(log, "r");
        assert_non_null(f);
        int p1, p2 = 0;
        char a2[256] = "";
        if (fscanf(f, "pid %d args %*[^\n]\npid %d args %255[^\n]", &p1, &p2, a2) == 3) {
            pid2 = p2;
            snprintf(args, sizeof args, "%s", a2);
        }
        fclose(f);
    }
    assert_true(pid2 > 0);
    assert_string_equal(args, "-f -o json -u mmbot.service --after-cursor "
                              "s=8f3c2a6b1e3d4f0e9a7b6c5d4e3f2a1b;i=1a2f;b="
                              "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b;m=4a5b6c81;t=62d1a2b3c4d62;x="
                              "9f8e7d6c5b4a392c");
    for (int i = 0; i < 30; i++) { /* time for a wrong second reading */
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    assert_int_equal(g.n, 6);
    journal_stats_get(j, &st);
    assert_int_equal(st.restarts, 1);
    waitpid(pid, NULL, WNOHANG);
    pid = pid2;
    journal_stop(j);
    int gone = 0;
    for (int i = 0; i < 300 && !gone; i++) {
        waitpid(pid, NULL, WNOHANG);
        gone = kill(pid, 0) != 0;
        if (!gone)
            usleep(10000);
    }
    assert_true(gone);
    unlink(log);
    uv_run(loop, UV_RUN_DEFAULT);
    journal_free(j);
    journal_stop(NULL);
    journal_free(NULL);
}

/* The pid on the first line of the stand-in's log (n 1) or the second (n 2); 0: not yet. */
static int stub_pid(const char *log, int n)
{
    FILE *f = fopen(log, "r");
    int p1 = 0, p2 = 0;
    if (!f)
        return 0;
    int k = fscanf(f, "pid %d args %*[^\n]\npid %d", &p1, &p2);
    fclose(f);
    return n == 1 ? (k >= 1 ? p1 : 0) : (k == 2 ? p2 : 0);
}

/* Every child is soak's registered helper (helpers.h) from its fork to its reaping: the first
 * one, and the one started after it was killed; none is left registered after journal_free. */
static void test_children_registered(void **state)
{
    (void)state;
    char log[] = "/tmp/test-journal-XXXXXX";
    stub_log(log);
    uv_loop_t *loop = uv_default_loop();
    helpers h;
    helpers_init(&h);
    got g = {0};
    journal *j = NULL;
    char err[256];
    assert_int_equal(journal_start_helpers(loop, "mmbot.service", FIXTURES "/journal/journalctl",
                                           &h, on_line, &g, &j, err, sizeof err),
                     0);
    assert_int_equal(helpers_count(&h), 1);
    int pid = 0;
    for (int i = 0; i < 500 && (g.n < 6 || !pid); i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
        pid = stub_pid(log, 1);
    }
    assert_true(pid > 0);
    assert_true(helpers_has(&h, pid));
    kill(pid, SIGKILL);
    int pid2 = 0;
    for (int i = 0; i < 500 && !pid2; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
        pid2 = stub_pid(log, 2);
    }
    assert_true(pid2 > 0);
    assert_true(helpers_has(&h, pid2));
    assert_false(helpers_has(&h, pid)); /* reaped: its pid may be another process's now */
    assert_int_equal(helpers_count(&h), 1);
    assert_int_equal(h.started, 2);
    journal_stop(j);
    uv_run(loop, UV_RUN_DEFAULT);
    journal_free(j); /* waits for it */
    assert_int_equal(helpers_count(&h), 0);
    assert_int_equal(h.reaped, 2);
    assert_int_equal(kill(pid2, 0), -1);
    assert_int_equal(helpers_stop_all(&h), 0);
    unlink(log);
}

/* A program that cannot be run: no lines; after JOURNAL_RESPAWN_MAX tries (1 + 2 s apart) the
 * following ends. */
static void test_missing_program(void **state)
{
    (void)state;
    uv_loop_t *loop = uv_default_loop();
    got g = {0};
    journal *j = NULL;
    char err[256];
    assert_int_equal(journal_start(loop, "x.service", "/nonexistent/journalctl", on_line, &g, &j,
                                   err, sizeof err),
                     0);
    for (int i = 0; i < 1000 && !journal_exited(j); i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    assert_int_equal(journal_exited(j), 1);
    assert_int_equal(g.n, 0);
    journal_stop(j);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    uv_run(loop, UV_RUN_DEFAULT);
    journal_free(j);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_child),
        cmocka_unit_test(test_children_registered),
        cmocka_unit_test(test_missing_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
