/*
 * test_follow: the I/O around the tail -F table, on a real libuv loop in a fresh folder:
 * a file that exists at the start is read from its end; a rename rotation and a copytruncate
 * lose and repeat nothing; a file that appears later and a new glob match are read from their
 * start; a glob that also matches the rotated file reads nothing twice; the caps (files
 * followed, bytes per wakeup); the soak_log_lines_total samples; what follow_stop reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errcode.h"
#include "follow.h"
#include "sbuf.h"
#include "testutil.h"

#define MAXL 4096

typedef struct got {
    char *lines[MAXL];
    int n;
} got;

typedef struct fx {
    char dir[64];
    got g;
    uv_loop_t *loop;
} fx;

static void on_line(void *ud, int stream, const char *line, size_t len, int cont)
{
    got *g = ud;
    assert_int_equal(stream, LOGCAP_NSTREAMS);
    if (g->n < MAXL) {
        char *s = malloc(len + 2);
        assert_non_null(s);
        s[0] = cont ? '+' : '=';
        memcpy(s + 1, line, len);
        s[len + 1] = '\0';
        g->lines[g->n++] = s;
    }
}

/* Lines "line N": each must be the next number. */
typedef struct seq {
    long next, bad;
} seq;

static void on_seq(void *ud, int stream, const char *line, size_t len, int cont)
{
    seq *q = ud;
    (void)stream;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 63 ? len : 63), line);
    long v = -1;
    if (cont || sscanf(buf, "line %ld", &v) != 1 || v != q->next + 1)
        q->bad++;
    q->next = v > 0 ? v : q->next + 1;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(tu_tmpdir(f->dir, sizeof f->dir, "follow-test"));
    f->loop = uv_default_loop();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_rmtree(f->dir), 0);
    for (int i = 0; i < f->g.n; i++)
        free(f->g.lines[i]);
    free(f);
    return 0;
}

static void path_of(fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static void append(fx *f, const char *name, const char *text)
{
    char p[128];
    path_of(f, name, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void mv(fx *f, const char *from, const char *to)
{
    char a[128], b[128];
    path_of(f, from, a, sizeof a);
    path_of(f, to, b, sizeof b);
    assert_int_equal(rename(a, b), 0);
}

/* Runs the loop until n lines were seen or 3 s passed. */
static void pump(fx *f, int n)
{
    for (int i = 0; i < 300 && f->g.n < n; i++) {
        uv_run(f->loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
}

static follow *start(fx *f, const char *const *paths, size_t n)
{
    follow_opts o = {.paths = paths, .npaths = n, .poll_ms = 50, .on_line = on_line, .ud = &f->g};
    follow *fw = NULL;
    char err[256];
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), 0);
    assert_non_null(fw);
    return fw;
}

static void finish(fx *f, follow *fw)
{
    follow_stop(fw);
    uv_run(f->loop, UV_RUN_DEFAULT);
    follow_free(fw);
}

static void want_seq(fx *f, const char *prefix, int from, int to)
{
    assert_int_equal(f->g.n, to - from + 1);
    for (int i = from; i <= to; i++) {
        char w[64];
        snprintf(w, sizeof w, "=%s%d", prefix, i);
        assert_string_equal(f->g.lines[i - from], w);
    }
}

static void test_rotation(void **state)
{
    fx *f = *state;
    char p[128];
    path_of(f, "bot.log", p, sizeof p);
    append(f, "bot.log", "old 1\nold 2\n"); /* before the start: not read */
    const char *paths[] = {p};
    follow *fw = start(f, paths, 1);
    append(f, "bot.log", "hb 1\nhb 2\n");
    pump(f, 2);
    /* RotatingFileHandler: the last lines, rename, a new file */
    append(f, "bot.log", "hb 3\nhb 4\n");
    mv(f, "bot.log", "bot.log.1");
    append(f, "bot.log", "hb 5\n");
    pump(f, 5);
    /* renamed away and not created again for a while */
    append(f, "bot.log", "hb 6\n");
    mv(f, "bot.log", "bot.log.2");
    pump(f, 6);
    append(f, "bot.log", "hb 7\n");
    pump(f, 7);
    /* copytruncate: copy, truncate, go on */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.c' && : > '%s'", p, p, p);
    assert_int_equal(system(cmd), 0);
    follow_file_info fi[4];
    for (int i = 0; i < 300; i++) { /* the shrink is seen (inotify, or the poll) */
        uv_run(f->loop, UV_RUN_NOWAIT);
        assert_int_equal(follow_files(fw, fi, 4), 1);
        if (fi[0].truncations)
            break;
        usleep(10000);
    }
    append(f, "bot.log", "hb 8\n");
    pump(f, 8);
    append(f, "bot.log", "hb 9\nhb 1"); /* a partial last line: emitted at the stop */
    pump(f, 9);
    assert_int_equal(follow_files(fw, fi, 4), 1);
    assert_string_equal(fi[0].stream, "file:bot.log");
    assert_int_equal(fi[0].rotations, 2);
    assert_int_equal(fi[0].truncations, 1);
    sbuf b;
    sbuf_init(&b, 4096);
    assert_int_equal(follow_metrics(fw, &b), 0);
    assert_non_null(
        strstr(b.data ? b.data : "", "soak_log_lines_total{stream=\"file:bot.log\"} 9\n"));
    sbuf_free(&b);
    finish(f, fw);
    assert_int_equal(f->g.n, 10);
    assert_string_equal(f->g.lines[9], "=hb 1");
    f->g.n = 9;
    want_seq(f, "hb ", 1, 9);
    f->g.n = 10;
}

/* Follows one path or glob of the folder (bot.log created empty first), then two lines. */
static follow *start_with_two(fx *f, const char *name)
{
    char p[128];
    path_of(f, name, p, sizeof p);
    append(f, "bot.log", "");
    const char *paths[] = {p};
    follow *fw = start(f, paths, 1);
    append(f, "bot.log", "hb 1\nhb 2\n");
    pump(f, 2);
    return fw;
}

/* A copytruncate before soak read the last lines: they come from the copy, once. */
static void test_copytruncate_unread(void **state)
{
    fx *f = *state;
    follow *fw = start_with_two(f, "bot.log");
    append(f, "bot.log", "hb 3\nhb 4\n"); /* not read yet when the copy is made */
    char p[128];
    path_of(f, "bot.log", p, sizeof p);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.1' && : > '%s'", p, p, p);
    assert_int_equal(system(cmd), 0);
    append(f, "bot.log", "hb 5\n");
    pump(f, 5);
    follow_file_info fi[2];
    assert_int_equal(follow_files(fw, fi, 2), 1);
    assert_int_equal(fi[0].truncations, 1);
    assert_int_equal(fi[0].recovered, 10);
    finish(f, fw);
    want_seq(f, "hb ", 1, 5);
}

static void test_later_file_and_glob(void **state)
{
    fx *f = *state;
    char p[128], g[128];
    path_of(f, "later.log", p, sizeof p);
    path_of(f, "*.log", g, sizeof g);
    append(f, "a.log", "before\n"); /* a glob match at the start: from its end */
    const char *paths[] = {p, g};
    follow *fw = start(f, paths, 2);
    append(f, "later.log", "l1\nl2\n"); /* appears later: from its start */
    pump(f, 2);
    assert_int_equal(f->g.n, 2);
    assert_string_equal(f->g.lines[0], "=l1");
    append(f, "b.log", "b1\n"); /* a new glob match */
    append(f, "a.log", "a1\n");
    pump(f, 4);
    finish(f, fw);
    assert_int_equal(f->g.n, 4);
    int b1 = 0, a1 = 0;
    for (int i = 2; i < 4; i++) {
        b1 += strcmp(f->g.lines[i], "=b1") == 0;
        a1 += strcmp(f->g.lines[i], "=a1") == 0;
    }
    assert_int_equal(b1, 1);
    assert_int_equal(a1, 1);
}

/* "bot.log*" matches bot.log and, after the rename, bot.log.1: nothing is read twice. */
static void test_glob_sees_rotated(void **state)
{
    fx *f = *state;
    follow *fw = start_with_two(f, "bot.log*");
    append(f, "bot.log", "hb 3\n");
    mv(f, "bot.log", "bot.log.1");
    append(f, "bot.log", "hb 4\n");
    pump(f, 4);
    for (int i = 0; i < 20; i++) { /* time for a wrong second reading of bot.log.1 */
        uv_run(f->loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    append(f, "bot.log", "hb 5\n");
    pump(f, 5);
    finish(f, fw);
    want_seq(f, "hb ", 1, 5);
}

static void test_caps(void **state)
{
    fx *f = *state;
    char g[128];
    path_of(f, "*.txt", g, sizeof g);
    for (int i = 0; i < FOLLOW_MAX_FILES + 6; i++) {
        char n[32];
        snprintf(n, sizeof n, "f%02d.txt", i);
        append(f, n, "");
    }
    const char *paths[] = {g};
    follow *fw = start(f, paths, 1);
    follow_file_info fi[FOLLOW_MAX_FILES + 8];
    assert_int_equal(follow_files(fw, fi, FOLLOW_MAX_FILES + 8), FOLLOW_MAX_FILES);
    assert_true(follow_skipped(fw) >= 6);
    finish(f, fw);

    /* more than a wakeup reads: everything comes, in order, over several turns */
    char p[128];
    path_of(f, "big.log", p, sizeof p);
    append(f, "big.log", "");
    const char *bp[] = {p};
    seq q = {0, 0};
    follow_opts o = {.paths = bp, .npaths = 1, .poll_ms = 50, .on_line = on_seq, .ud = &q};
    char err[256];
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), 0);
    char *big = malloc(3 * FOLLOW_READ_PER_WAKEUP + 64);
    assert_non_null(big);
    size_t used = 0;
    long nl = 0;
    while (used < 3 * FOLLOW_READ_PER_WAKEUP)
        used += (size_t)snprintf(big + used, 64, "line %ld\n", ++nl);
    append(f, "big.log", big);
    free(big);
    int turns = 0;
    for (int i = 0; i < 300 && q.next < nl; i++, turns++) {
        uv_run(f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_true(turns > 1); /* the cap per wakeup split the reading */
    finish(f, fw);
    assert_int_equal(q.next, nl);
    assert_int_equal(q.bad, 0);
}

/* Lines longer than the cap come in pieces; follow_stop reads what is left. */
static void test_line_cap_and_stop(void **state)
{
    fx *f = *state;
    char p[128];
    path_of(f, "cap.log", p, sizeof p);
    const char *paths[] = {p};
    follow_opts o = {.paths = paths,
                     .npaths = 1,
                     .poll_ms = 10000,
                     .line_cap = 16,
                     .on_line = on_line,
                     .ud = &f->g};
    follow *fw = NULL;
    char err[256];
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), 0);
    append(f, "cap.log", "0123456789abcdefXYZ\nshort\n");
    finish(f, fw); /* no loop turn: follow_stop reads it */
    assert_int_equal(f->g.n, 3);
    assert_string_equal(f->g.lines[0], "=0123456789abcdef");
    assert_string_equal(f->g.lines[1], "+XYZ");
    assert_string_equal(f->g.lines[2], "=short");
}

static void test_nothing_and_errors(void **state)
{
    fx *f = *state;
    follow_opts o = {.on_line = on_line, .ud = &f->g};
    follow *fw = (follow *)1;
    char err[256];
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), 0);
    assert_null(fw); /* nothing to follow */
    const char *many[FOLLOW_MAX_PATTERNS + 1];
    for (int i = 0; i <= FOLLOW_MAX_PATTERNS; i++)
        many[i] = "x.log";
    o.paths = many;
    o.npaths = FOLLOW_MAX_PATTERNS + 1;
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), ERR_RANGE);
    const char *empty[] = {""};
    o.paths = empty;
    o.npaths = 1;
    assert_int_equal(follow_new(f->loop, &o, &fw, err, sizeof err), ERR_RANGE);
    sbuf b;
    sbuf_init(&b, 64);
    assert_int_equal(follow_metrics(NULL, &b), 0);
    assert_int_equal(b.len, 0);
    sbuf_free(&b);
    follow_stop(NULL);
    follow_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_unread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_file_and_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_glob_sees_rotated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_cap_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
