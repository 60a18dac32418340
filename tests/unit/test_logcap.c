/*
 * test_logcap: line framing, timestamps, rotation edges, max_files, quota, the queue cap and
 * files left by an earlier run. Every test works in a fresh mkdtemp folder and reads back what
 * logcap wrote after logcap_free (which writes and compresses everything queued).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "logcap.h"
#include "testutil.h"

#define PREFIX_OUT 29 /* "2026-11-28T20:52:02.123Z out " */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(tu_tmpdir(f->dir, sizeof f->dir, "logcap-test"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- helpers */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static buf read_plain(const char *path)
{
    buf b = {NULL, 0};
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char tmp[65536];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, fp)) > 0) {
        b.p = realloc(b.p, b.n + r + 1);
        memcpy(b.p + b.n, tmp, r);
        b.n += r;
    }
    fclose(fp);
    if (!b.p)
        b.p = calloc(1, 1);
    b.p[b.n] = '\0';
    return b;
}

static buf read_gz(const char *path)
{
    buf b = {NULL, 0};
    gzFile gz = gzopen(path, "rb");
    assert_non_null(gz);
    char tmp[65536];
    int r;
    while ((r = gzread(gz, tmp, sizeof tmp)) > 0) {
        b.p = realloc(b.p, b.n + (size_t)r + 1);
        memcpy(b.p + b.n, tmp, (size_t)r);
        b.n += (size_t)r;
    }
    assert_true(r == 0);
    assert_int_equal(gzclose(gz), Z_OK);
    if (!b.p)
        b.p = calloc(1, 1);
    b.p[b.n] = '\0';
    return b;
}

static buf read_any(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t l = strlen(name);
    if (l > 3 && strcmp(name + l - 3, ".gz") == 0)
        return read_gz(p);
    return read_plain(p);
}

/* Rotated file names of stem "app", oldest first (timestamp, then -N suffix). */
typedef struct names {
    char v[256][128];
    size_t n;
} names;

static unsigned long suffix_of(const char *s)
{
    /* "app-YYYYmmddTHHMMSS.mmmZ[-N].log..." */
    const char *t = s + 4 + 20;
    return *t == '-' ? strtoul(t + 1, NULL, 10) : 0;
}

static int name_cmp(const void *a, const void *b)
{
    const char *x = a, *y = b;
    int c = memcmp(x, y, 4 + 20);
    if (c)
        return c;
    unsigned long sx = suffix_of(x), sy = suffix_of(y);
    return sx < sy ? -1 : sx > sy;
}

static void list_rotated(const char *dir, names *out)
{
    out->n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "app-", 4) != 0)
            continue;
        assert_true(out->n < 256);
        assert_true(strlen(de->d_name) < sizeof out->v[0]);
        memcpy(out->v[out->n++], de->d_name, strlen(de->d_name) + 1);
    }
    closedir(d);
    qsort(out->v, out->n, sizeof out->v[0], name_cmp);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static uint64_t dir_bytes(const char *dir)
{
    uint64_t sum = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &sb) == 0)
            sum += (uint64_t)sb.st_size;
    }
    closedir(d);
    return sum;
}

static logcap *open_lc(const char *dir, logcap_opts *o)
{
    char err[256];
    o->dir = dir;
    o->name = "app.log";
    logcap *lc = logcap_new(o, err, sizeof err);
    if (!lc)
        fail_msg("logcap_new: %s", err);
    return lc;
}

/* The payload of a formatted line (after "TIMESTAMP NAME "), or NULL. */
static const char *payload(const char *line, const char **name_out, size_t *name_len)
{
    if (strlen(line) < 26 || line[24] != ' ')
        return NULL;
    const char *sp = strchr(line + 25, ' ');
    if (!sp)
        return NULL;
    if (name_out) {
        *name_out = line + 25;
        *name_len = (size_t)(sp - (line + 25));
    }
    return sp + 1;
}

/* Returns the next line of *cur (NUL-terminated in place, without the newline), or NULL. */
static char *next_line(char **cur)
{
    char *p = *cur;
    if (!p || !*p)
        return NULL;
    char *nl = strchr(p, '\n');
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = p + strlen(p);
    }
    return p;
}

/* Collected callback lines. */
typedef struct seen {
    char line[64][128];
    int stream[64];
    int cont[64];
    size_t len[64];
    int n;
} seen;

static void on_line(void *ud, int stream, const char *line, size_t len, int cont)
{
    seen *s = ud;
    assert_true(s->n < 64);
    size_t k = len < 127 ? len : 127;
    memcpy(s->line[s->n], line, k);
    s->line[s->n][k] = '\0';
    s->len[s->n] = len;
    s->stream[s->n] = stream;
    s->cont[s->n] = cont;
    s->n++;
}

static void feeds(logcap *lc, int stream, seen *s, const char *text)
{
    logcap_feed(lc, stream, text, strlen(text), s ? on_line : NULL, s);
}

/* ---------------------------------------------------------------- framing */

static void test_framing(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    logcap *lc = open_lc(f->dir, &o);
    seen s = {0};

    feeds(lc, LOGCAP_STDOUT, &s, "hel");
    feeds(lc, LOGCAP_STDOUT, &s, "lo wor");
    assert_int_equal(s.n, 0);
    feeds(lc, LOGCAP_STDOUT, &s, "ld\nsecond\r\n\nthi");
    feeds(lc, LOGCAP_STDERR, &s, "oops\n");
    assert_int_equal(s.n, 4);
    assert_string_equal(s.line[0], "hello world");
    assert_string_equal(s.line[1], "second\r");
    assert_int_equal(s.len[2], 0);
    assert_string_equal(s.line[3], "oops");
    assert_int_equal(s.stream[3], LOGCAP_STDERR);
    logcap_flush(lc, LOGCAP_STDOUT, on_line, &s);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.line[4], "thi");
    assert_int_equal(s.cont[4], 0);
    logcap_note(lc, "soak", "service started pid=42");

    logcap_stats st;
    logcap_stats_get(lc, &st);
    assert_int_equal(st.lines[0], 4);
    assert_int_equal(st.lines[1], 1);
    assert_int_equal(st.bytes_in[0], 3 + 6 + 15);
    logcap_free(lc);

    buf b = read_any(f->dir, "app.log");
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
                             "\\.[0-9]{3}Z (out|err|soak) ",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    const char *want[] = {"out hello world", "out second\r", "out ",
                          "err oops",        "out thi",      "soak service started pid=42"};
    char *cur = b.p;
    int i = 0;
    for (char *ln = next_line(&cur); ln; ln = next_line(&cur), i++) {
        assert_true(i < 6);
        assert_int_equal(regexec(&re, ln, 0, NULL, 0), 0);
        assert_string_equal(ln + 25, want[i]);
    }
    assert_int_equal(i, 6);
    regfree(&re);
    free(b.p);
}

/* logcap_put: a line read elsewhere (a followed file), under its stream name, as read (a NUL
 * stays); a continuation gets '+'; past max_line it is cut; the stdout counters stay. */
static void test_put(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_line = 8;
    logcap *lc = open_lc(f->dir, &o);
    logcap_put(lc, "file:bot.log", "[HB] a\0b", 8, 0);
    logcap_put(lc, "file:bot.log", "rest", 4, 1);
    logcap_put(lc, "journal:my unit", "0123456789", 10, 0);
    logcap_put(lc, "", "", 0, 0);
    logcap_stats st;
    logcap_stats_get(lc, &st);
    assert_int_equal(st.lines[0] + st.lines[1], 0);
    logcap_free(lc);
    buf b = read_any(f->dir, "app.log");
    assert_non_null(memmem(b.p, b.n, "[HB] a\0b\n", 9)); /* the NUL was written */
    for (size_t k = 0; k < b.n; k++)
        if (!b.p[k])
            b.p[k] = '?';
    const char *want[] = {"file:bot.log [HB] a?b", "file:bot.log+ rest", "journal:my_unit 01234567",
                          "journal:my_unit+ 89", "- "};
    char *cur = b.p;
    int i = 0;
    for (char *ln = next_line(&cur); ln; ln = next_line(&cur), i++) {
        assert_true(i < 5);
        assert_string_equal(ln + 25, want[i]);
    }
    assert_int_equal(i, 5);
    free(b.p);
}

static void test_long_line(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_line = 10;
    logcap *lc = open_lc(f->dir, &o);
    seen s = {0};

    feeds(lc, LOGCAP_STDOUT, &s, "0123456789\n"); /* exactly max_line: whole */
    feeds(lc, LOGCAP_STDOUT, &s, "aaaaaaaaaabbbb");
    feeds(lc, LOGCAP_STDOUT, &s, "bbbbbbccccc\n");
    feeds(lc, LOGCAP_STDERR, &s, "dddddddddd");
    feeds(lc, LOGCAP_STDERR, &s, "\n");
    assert_int_equal(s.n, 5);
    assert_string_equal(s.line[0], "0123456789");
    assert_int_equal(s.cont[0], 0);
    assert_string_equal(s.line[1], "aaaaaaaaaa");
    assert_int_equal(s.cont[1], 0);
    assert_string_equal(s.line[2], "bbbbbbbbbb");
    assert_int_equal(s.cont[2], 1);
    assert_string_equal(s.line[3], "ccccc");
    assert_int_equal(s.cont[3], 1);
    assert_string_equal(s.line[4], "dddddddddd");
    assert_int_equal(s.cont[4], 0);
    logcap_free(lc);

    buf b = read_any(f->dir, "app.log");
    const char *want[] = {"out 0123456789", "out aaaaaaaaaa", "out+ bbbbbbbbbb", "out+ ccccc",
                          "err dddddddddd"};
    char *cur = b.p;
    int i = 0;
    for (char *ln = next_line(&cur); ln; ln = next_line(&cur), i++) {
        assert_true(i < 5);
        assert_string_equal(ln + 25, want[i]);
    }
    assert_int_equal(i, 5);
    free(b.p);
}

/* ---------------------------------------------------------------- rotation edges */

static void line_of(char *out, size_t raw, char c)
{
    memset(out, c, raw);
    out[raw] = '\n';
    out[raw + 1] = '\0';
}

static void test_rotate_exact_fill(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 100;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    char l[256];
    line_of(l, 100 - PREFIX_OUT - 1, 'a'); /* formatted: exactly 100 bytes */
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    line_of(l, 5, 'b');
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 1);
    buf r = read_any(f->dir, nm.v[0]);
    assert_int_equal(r.n, 100);
    assert_int_equal(r.p[99], '\n');
    buf c = read_any(f->dir, "app.log");
    assert_int_equal(c.n, PREFIX_OUT + 5 + 1);
    free(r.p);
    free(c.p);
}

static void test_rotate_one_over(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 100;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    char l[256];
    line_of(l, 60 - PREFIX_OUT - 1, 'a'); /* 60 bytes */
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    line_of(l, 41 - PREFIX_OUT - 1, 'b'); /* 41 bytes: 101 would pass the cap */
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 1);
    buf r = read_any(f->dir, nm.v[0]);
    assert_int_equal(r.n, 60);
    buf c = read_any(f->dir, "app.log");
    assert_int_equal(c.n, 41);
    free(r.p);
    free(c.p);
}

static void test_rotate_huge_line(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 100;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    char l[512];
    line_of(l, 1, 'a');
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    line_of(l, 300, 'b'); /* bigger than max_file_bytes: alone in a file */
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    line_of(l, 1, 'c');
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 2);
    buf r0 = read_any(f->dir, nm.v[0]);
    buf r1 = read_any(f->dir, nm.v[1]);
    buf c = read_any(f->dir, "app.log");
    assert_int_equal(r0.n, PREFIX_OUT + 2);
    assert_int_equal(r0.p[PREFIX_OUT], 'a');
    assert_int_equal(r1.n, PREFIX_OUT + 301);
    assert_int_equal(r1.p[PREFIX_OUT], 'b');
    assert_int_equal(c.n, PREFIX_OUT + 2);
    assert_int_equal(c.p[PREFIX_OUT], 'c');
    free(r0.p);
    free(r1.p);
    free(c.p);
}

/* Feeds n numbered lines in bursts of `burst` lines per feed. */
static void feed_numbered(logcap *lc, int n, int burst)
{
    char *chunk = malloc((size_t)burst * 128);
    int i = 0;
    while (i < n) {
        size_t len = 0;
        for (int k = 0; k < burst && i < n; k++, i++)
            len += (size_t)snprintf(chunk + len, 128,
                                    "line %07d INFO [strategy] tick bid=1.25 ask=1.26\n", i);
        logcap_feed(lc, LOGCAP_STDOUT, chunk, len, NULL, NULL);
    }
    free(chunk);
}

/* Reads every file oldest first and checks each line number 0..n-1 appears once, in order. */
static void check_all_lines(const char *dir, int n)
{
    names nm;
    list_rotated(dir, &nm);
    int next = 0;
    for (size_t i = 0; i <= nm.n; i++) {
        buf b = i < nm.n ? read_any(dir, nm.v[i]) : read_any(dir, "app.log");
        if (b.n > 0)
            assert_int_equal(b.p[b.n - 1], '\n'); /* no line split across files */
        char *cur = b.p;
        for (char *ln = next_line(&cur); ln; ln = next_line(&cur)) {
            const char *pl = payload(ln, NULL, NULL);
            assert_non_null(pl);
            int num = -1;
            assert_int_equal(sscanf(pl, "line %d ", &num), 1);
            assert_int_equal(num, next);
            next++;
        }
        free(b.p);
    }
    assert_int_equal(next, n);
}

static void test_rotate_all_lines_once(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 4000;
    o.max_files = 1000;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 3000, 37);
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_true(nm.n > 20);
    for (size_t i = 0; i < nm.n; i++)
        assert_true(ends_with(nm.v[i], ".log.gz"));
    check_all_lines(f->dir, 3000);
}

static void test_max_files(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 2000;
    o.max_files = 3;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 2000, 50);
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 3);
    for (size_t i = 0; i < nm.n; i++) {
        assert_true(ends_with(nm.v[i], ".log.gz"));
        buf b = read_any(f->dir, nm.v[i]);
        assert_true(b.n > 0 && b.n <= 2000);
        assert_int_equal(b.p[b.n - 1], '\n');
        free(b.p);
    }
    struct stat sb;
    char p[256];
    snprintf(p, sizeof p, "%s/app.log", f->dir);
    assert_int_equal(stat(p, &sb), 0);
}

static void test_events(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 2000;
    o.max_files = 2;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 500, 10);
    /* wait (bounded) for the writer and the compressor */
    int rot = 0, gz = 0, del = 0;
    logcap_event ev[64];
    for (int t = 0; t < 500 && !(rot >= 3 && gz >= 2 && del >= 1); t++) {
        size_t n = logcap_take_events(lc, ev, 64);
        for (size_t i = 0; i < n; i++) {
            rot += ev[i].kind == LOGCAP_EV_ROTATED;
            gz += ev[i].kind == LOGCAP_EV_COMPRESSED;
            del += ev[i].kind == LOGCAP_EV_DELETED;
            if (ev[i].kind == LOGCAP_EV_DELETED)
                assert_string_equal(ev[i].detail, "max_files");
            if (ev[i].kind == LOGCAP_EV_COMPRESSED)
                assert_true(ends_with(ev[i].path, ".gz"));
        }
        usleep(10000);
    }
    assert_true(rot >= 3);
    assert_true(gz >= 2);
    assert_true(del >= 1);
    logcap_stats st;
    logcap_stats_get(lc, &st);
    assert_true(st.rotations >= 3);
    assert_true(st.files_deleted >= 1);
    logcap_free(lc);
}

/* ---------------------------------------------------------------- caps */

static void test_quota(void **state)
{
    fixture *f = *state;
    for (int level = 0; level <= 1; level++) {
        logcap_opts o;
        logcap_opts_default(&o);
        o.max_file_bytes = 3000;
        o.max_files = 100;
        o.quota_bytes = 20000;
        o.gzip_level = level;
        logcap *lc = open_lc(f->dir, &o);
        feed_numbered(lc, 3000, 20);
        logcap_stats st;
        logcap_free(lc);
        assert_true(dir_bytes(f->dir) <= 20000);
        (void)st;
        teardown(state);
        setup(state);
        f = *state;
    }
}

static void test_quota_drop(void **state)
{
    /* quota below one file: nothing to delete, so lines are dropped and counted */
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 1 << 20;
    o.quota_bytes = 1000;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 100, 10);
    logcap_stats st;
    for (int t = 0; t < 500; t++) {
        logcap_stats_get(lc, &st);
        if (st.queue_bytes == 0)
            break;
        usleep(10000);
    }
    logcap_event ev[16];
    size_t ne = logcap_take_events(lc, ev, 16);
    int quota_ev = 0;
    for (size_t i = 0; i < ne; i++)
        quota_ev |= ev[i].kind == LOGCAP_EV_DROPPED && strcmp(ev[i].detail, "quota") == 0;
    assert_true(quota_ev);
    logcap_free(lc);
    assert_true(dir_bytes(f->dir) <= 1000);
    assert_true(st.dropped_lines > 0 && st.dropped_lines < 100);
    assert_true(st.log_bytes <= 1000);
}

static void test_max_files_zero(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 1000;
    o.max_files = 0;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 200, 10);
    logcap_free(lc);
    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 0);
    buf b = read_any(f->dir, "app.log");
    assert_true(b.n > 0 && b.n <= 1000);
    free(b.p);
}

static void test_queue_full(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.buffer_bytes = 4096;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    const int n = 100000;
    char *big = malloc((size_t)n * 64);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, 64, "burst %07d xxxxxxxxxxxxxxxxxxxx\n", i);
    logcap_feed(lc, LOGCAP_STDOUT, big, len, NULL, NULL);
    logcap_event ev[16];
    size_t ne = logcap_take_events(lc, ev, 16);
    int dropped_ev = 0;
    for (size_t i = 0; i < ne; i++)
        if (ev[i].kind == LOGCAP_EV_DROPPED) {
            dropped_ev = 1;
            assert_true(ev[i].bytes > 0);
        }
    assert_true(dropped_ev);
    logcap_stats st;
    logcap_stats_get(lc, &st);
    assert_true(st.queue_high_water <= 4096);
    logcap_free(lc);
    free(big);

    assert_true(st.dropped_bytes > 0);
    buf b = read_any(f->dir, "app.log");
    uint64_t raw = 0, lines = 0;
    char *cur = b.p;
    for (char *ln = next_line(&cur); ln; ln = next_line(&cur)) {
        const char *pl = payload(ln, NULL, NULL);
        assert_non_null(pl);
        raw += strlen(pl) + 1;
        lines++;
    }
    free(b.p);
    assert_int_equal(raw + st.dropped_bytes, len);
    assert_int_equal(lines + st.dropped_lines, (uint64_t)n);
}

static void test_queue_bound(void **state)
{
    /* a cap above one chunk: the queue never holds more than buffer_bytes */
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.buffer_bytes = 300 * 1024;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    const int n = 200000;
    char *big = malloc((size_t)n * 64);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, 64, "burst %07d xxxxxxxxxxxxxxxxxxxx\n", i);
    for (int k = 0; k < 5; k++)
        logcap_feed(lc, LOGCAP_STDOUT, big, len, NULL, NULL);
    logcap_stats st;
    logcap_stats_get(lc, &st);
    assert_true(st.queue_high_water <= o.buffer_bytes);
    assert_true(st.queue_bytes <= o.buffer_bytes);
    logcap_free(lc);
    free(big);
    logcap_stats_get(NULL, &st);
}

static void write_gz(const char *path, const char *text)
{
    gzFile gz = gzopen(path, "wb1");
    assert_non_null(gz);
    gzwrite(gz, text, (unsigned)strlen(text));
    gzclose(gz);
}

static void test_existing_files(void **state)
{
    fixture *f = *state;
    char p[256];
    snprintf(p, sizeof p, "%s/app-20200101T000000.000Z.log.gz", f->dir);
    write_gz(p, "old 1\n");
    snprintf(p, sizeof p, "%s/app-20200102T000000.000Z.log.gz", f->dir);
    write_gz(p, "old 2\n");
    snprintf(p, sizeof p, "%s/app-20200103T000000.000Z.log", f->dir); /* never compressed */
    FILE *fp = fopen(p, "w");
    fputs("old 3\n", fp);
    fclose(fp);
    snprintf(p, sizeof p, "%s/app-20200103T000000.000Z.log.gz.tmp", f->dir); /* stale */
    fp = fopen(p, "w");
    fclose(fp);
    snprintf(p, sizeof p, "%s/other-20200101T000000.000Z.log", f->dir); /* not ours */
    fp = fopen(p, "w");
    fclose(fp);

    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 200;
    o.max_files = 3;
    logcap *lc = open_lc(f->dir, &o);
    char l[256];
    line_of(l, 150, 'a');
    feeds(lc, LOGCAP_STDOUT, NULL, l);
    feeds(lc, LOGCAP_STDOUT, NULL, l); /* rotates once */
    logcap_free(lc);

    names nm;
    list_rotated(f->dir, &nm);
    assert_int_equal(nm.n, 3);
    assert_string_equal(nm.v[0], "app-20200102T000000.000Z.log.gz");
    assert_string_equal(nm.v[1], "app-20200103T000000.000Z.log.gz"); /* compressed now */
    assert_false(strncmp(nm.v[2], "app-2020", 8) == 0);
    buf b = read_any(f->dir, nm.v[1]);
    assert_string_equal(b.p, "old 3\n");
    free(b.p);
    snprintf(p, sizeof p, "%s/other-20200101T000000.000Z.log", f->dir);
    assert_int_equal(access(p, F_OK), 0);
}

static void test_cleanup(void **state)
{
    fixture *f = *state;
    logcap_opts o;
    logcap_opts_default(&o);
    o.max_file_bytes = 2000;
    o.max_files = 100;
    o.gzip_level = 0;
    logcap *lc = open_lc(f->dir, &o);
    feed_numbered(lc, 200, 200);
    logcap_stats st;
    for (int t = 0; t < 500; t++) {
        logcap_stats_get(lc, &st);
        if (st.queue_bytes == 0)
            break;
        usleep(10000);
    }
    names before;
    list_rotated(f->dir, &before);
    assert_true(before.n >= 3);
    logcap_cleanup(lc, 2500); /* two files of at most 2000 bytes */
    logcap_free(lc);
    names after;
    list_rotated(f->dir, &after);
    assert_int_equal(after.n, before.n - 2);
    assert_string_equal(after.v[0], before.v[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_exact_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_one_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_huge_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_all_lines_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_files_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
