/* Tests of csvseries: each format from a small inline sample, garbage rows skipped and counted,
 * the error cases, loading a file, and a million rows. */
#include <errno.h>
#include <math.h>
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

#include "csvseries.h"
#include "errcode.h"

#define MIB 1048576.0

/* Parses a copy of text in an exactly sized heap buffer, so ASan catches any read past len. */
static int parse_n(const char *text, size_t len, csvseries *s, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = csvseries_parse(copy, len, s, err, errlen);
    free(copy);
    return rc;
}

static csvseries must_parse(const char *text)
{
    csvseries s;
    char err[256] = "";
    if (parse_n(text, strlen(text), &s, err, sizeof err) != 0)
        fail_msg("did not parse: %s", err);
    return s;
}

static void fails_with(const char *text, int code, const char *msg)
{
    csvseries s;
    char err[256] = "";
    assert_int_equal(parse_n(text, strlen(text), &s, err, sizeof err), code);
    if (!strstr(err, msg))
        fail_msg("got \"%s\", expected \"%s\"", err, msg);
    assert_null(s.t);
    assert_int_equal(s.n, 0);
}

static void test_psrecord_csv(void **state)
{
    (void)state;
    csvseries s = must_parse("elapsed_time,nproc,cpu,mem_real,mem_virtual\n"
                             "0.0,1,0.0,10.5,200.0\n"
                             "1.002,1,12.5,11,201.25\n"
                             "2.01,2,100.0,12.25,202\n");
    assert_int_equal(s.format, CSV_PSRECORD_CSV);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.skipped, 0);
    assert_true(s.has_cpu);
    assert_false(s.has_pss);
    assert_true(s.t[1] == 1.002);
    assert_true(s.rss[0] == 10.5 * MIB);
    assert_true(s.rss[2] == 12.25 * MIB);
    assert_true(s.cpu[1] == 12.5);
    assert_true(isnan(s.pss[0]));
    csvseries_free(&s);
    assert_null(s.t);
    csvseries_free(&s); /* twice is fine */
    csvseries_free(NULL);

    /* newer psrecord: mem_swap, I/O and directory columns; Python's float repr */
    s = must_parse("elapsed_time,nproc,cpu,mem_real,mem_virtual,mem_swap,read_count,write_count,"
                   "read_bytes,write_bytes,dir_size_mb\n"
                   "0.00012,1,0.0,3.5,10.0,0.0,1,2,3,4,0.5\n"
                   "1.0013587474822998,1,1e-05,3.75,10.0,0.0,1,2,3,4,0.5\n"
                   "2.0,1,0.0,3.75,10.0,0.0,1,2,3\n"); /* short row */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped, 1);
    assert_true(s.t[1] == 1.0013587474822998);
    assert_true(s.cpu[1] == 1e-05);
    assert_true(s.rss[1] == 3.75 * MIB);
    csvseries_free(&s);
}

static void test_psrecord_log(void **state)
{
    (void)state;
    csvseries s = must_parse("# Elapsed time   CPU (%)     Real (MB)   Virtual (MB)\n"
                             "       0.000        0.000       10.500      200.000\n"
                             "       1.002       12.500       11.000      201.250\n"
                             "       2.010      100.000       12.250      202.000\n");
    assert_int_equal(s.format, CSV_PSRECORD_LOG);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.skipped, 0);
    assert_true(s.has_cpu);
    assert_true(s.t[2] == 2.01);
    assert_true(s.cpu[2] == 100);
    assert_true(s.rss[1] == 11 * MIB);
    csvseries_free(&s);

    /* newer psrecord with a swap column, tabs, no newline at the end */
    s = must_parse("# Elapsed time   CPU (%)     Real (MB)   Virtual (MB)  Swap (MB)  \n"
                   "0.000 0.000 10.500 200.000 0.000\n"
                   "1.000\t5.000\t10.750\t200.000\t0.000\n"
                   "2.000 5.000 10.750 200.000\n" /* one column short */
                   "3.000 5.000 11.000 200.000 0.000");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.skipped, 1);
    assert_true(s.t[2] == 3);
    assert_true(s.rss[2] == 11 * MIB);
    csvseries_free(&s);
}

static void test_plain_csv(void **state)
{
    (void)state;
    csvseries s = must_parse("elapsed_s,rss_bytes\n0,1000\n1,2000\n");
    assert_int_equal(s.format, CSV_PLAIN);
    assert_int_equal(s.n, 2);
    assert_false(s.has_cpu);
    assert_false(s.has_pss);
    assert_true(isnan(s.cpu[0]));
    assert_true(s.rss[1] == 2000);
    csvseries_free(&s);

    /* any order, an extra column, CRLF, blank lines, an empty optional cell */
    s = must_parse("\r\n  \nhost,pss_bytes,cpu_percent,rss_bytes,elapsed_s\r\n"
                   "a,900,1.5,1000,0\r\n"
                   "\r\n"
                   "b,,2.5,1100,1.5\r\n"
                   "c,950,,1200,3\r\n");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.skipped, 0);
    assert_true(s.has_cpu);
    assert_true(s.has_pss);
    assert_true(s.t[1] == 1.5);
    assert_true(s.rss[2] == 1200);
    assert_true(s.pss[0] == 900);
    assert_true(isnan(s.pss[1]));
    assert_true(s.cpu[1] == 2.5);
    assert_true(isnan(s.cpu[2]));
    csvseries_free(&s);

    /* quoted fields, a byte order mark, large and exponent numbers */
    s = must_parse("\xef\xbb\xbf\"elapsed_s\",\"rss_bytes\"\n"
                   "\"0\",\"123456789012345678\"\n"
                   " 1 , 1.5e9 \n");
    assert_int_equal(s.n, 2);
    assert_true(s.rss[0] == 123456789012345678.0);
    assert_true(s.rss[1] == 1.5e9);
    csvseries_free(&s);

    /* equal times are kept */
    s = must_parse("elapsed_s,rss_bytes\n1,1\n1,2\n");
    assert_int_equal(s.n, 2);
    csvseries_free(&s);
}

static void test_garbage_rows(void **state)
{
    (void)state;
    csvseries s = must_parse("elapsed_s,rss_bytes,cpu_percent\n"
                             "0,1000,1\n"
                             "1,2000\n"                          /* too few columns */
                             "1,2000,1,9\n"                      /* too many */
                             "x,2000,1\n"                        /* not a number */
                             "1,20k,1\n"                         /* trailing garbage */
                             "1,nan,1\n"                         /* NaN */
                             "1,inf,1\n"                         /* inf */
                             "1,1e999,1\n"                       /* overflows to inf */
                             "1,0x10,1\n"                        /* hex */
                             "1,-5,1\n"                          /* negative memory */
                             "1,5,-1\n"                          /* negative CPU */
                             "1,5,NaN\n"                         /* NaN CPU */
                             "1,,1\n"                            /* rss is required */
                             ",5,1\n"                            /* so is the time */
                             "1,1.2.3,1\n"                       /* two dots */
                             "1,-,1\n"                           /* a sign alone */
                             "# a comment\n"                     /* not a row */
                             "elapsed_s,rss_bytes,cpu_percent\n" /* a second header */
                             "2,3000,1\n"
                             "1.5,2500,1\n" /* time going backwards */
                             "3,4000,1\n");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.skipped, 18);
    assert_true(s.t[0] == 0 && s.t[1] == 2 && s.t[2] == 3);
    csvseries_free(&s);

    /* psrecord rows with garbage */
    s = must_parse("# Elapsed time   CPU (%)     Real (MB)   Virtual (MB)\n"
                   "0.000 0.000 10.000 200.000\n"
                   "Process finished (1.00 seconds)\n"
                   "1.000 0.000 -1.000 200.000\n"
                   "2.000 0.000 12.000 200.000\n");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped, 2);
    csvseries_free(&s);

    /* a line longer than 64 KiB is a skipped row */
    size_t big = 70000;
    char *text = malloc(big + 64);
    assert_non_null(text);
    int k = snprintf(text, 64, "elapsed_s,rss_bytes\n0,1\n1,");
    memset(text + k, '1', big);
    memcpy(text + k + big, "\n2,3\n", 6);
    s = must_parse(text);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped, 1);
    csvseries_free(&s);
    free(text);
}

static void test_errors(void **state)
{
    (void)state;
    fails_with("", ERR_NODATA, "no usable row (the input is empty)");
    fails_with("\n\r\n  \n", ERR_NODATA, "no usable row (the input is empty)");
    fails_with("elapsed_s,rss_bytes\n", ERR_NODATA, "no usable row (0 rows skipped)");
    fails_with("elapsed_s,rss_bytes\nx,y\n1\n", ERR_NODATA, "no usable row (2 rows skipped)");
    fails_with("elapsed_time,nproc,cpu,mem_real,mem_virtual\r\n", ERR_NODATA,
               "no usable row (0 rows");
    fails_with("# Elapsed time   CPU (%)     Real (MB)   Virtual (MB)\n", ERR_NODATA,
               "no usable row (0 rows");
    fails_with("time,memory\n0,1\n", ERR_PARSE, "unknown header: expected psrecord's CSV");
    fails_with("# some comment\n0,1\n", ERR_PARSE, "unknown header");
    fails_with("0,1000\n1,2000\n", ERR_PARSE, "unknown header");
    fails_with("elapsed_s,pss_bytes\n0,1\n", ERR_PARSE, "missing column 'rss_bytes'");
    fails_with("rss_bytes\n1\n", ERR_PARSE, "missing column 'elapsed_s'");
    fails_with("\x01\x02\x03", ERR_PARSE, "unknown header");

    /* NULL err is fine; the skipped count survives a failure */
    csvseries s;
    assert_int_equal(csvseries_parse("elapsed_s,rss_bytes\nx,y\n", 24, &s, NULL, 0), ERR_NODATA);
    assert_int_equal(s.skipped, 1);
    assert_int_equal(csvseries_parse(NULL, 0, &s, NULL, 0), ERR_NODATA);

    /* the name shows in the message */
    char err[256];
    assert_int_equal(
        csvseries_parse_named("elapsed_s,rss_bytes\nx,y\n", 24, "rec.csv", &s, err, sizeof err),
        ERR_NODATA);
    assert_string_equal(err, "no usable row in 'rec.csv' (1 rows skipped)");
}

static char *write_temp(const char *text, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_csvseries.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, text + off, len - off);
        assert_true(k > 0);
        off += (size_t)k;
    }
    close(fd);
    return path;
}

static void test_load(void **state)
{
    (void)state;
    const char *text = "elapsed_s,rss_bytes\n0,1\n1,2\nbad\n";
    char *path = write_temp(text, strlen(text));
    csvseries s;
    char err[512] = "";
    assert_int_equal(csvseries_load(path, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped, 1);
    csvseries_free(&s);
    unlink(path);

    path = write_temp("", 0);
    assert_int_equal(csvseries_load(path, &s, err, sizeof err), ERR_NODATA);
    char want[256];
    snprintf(want, sizeof want, "no usable row in '%s' (the input is empty)", path);
    assert_string_equal(err, want);
    unlink(path);

    path = write_temp("elapsed_s,rss_bytes\n", 20);
    assert_int_equal(csvseries_load(path, &s, err, sizeof err), ERR_NODATA);
    snprintf(want, sizeof want, "no usable row in '%s' (0 rows skipped)", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_int_equal(csvseries_load("/nonexistent/x.csv", &s, err, sizeof err), ERR_NOENT);
    assert_string_equal(err, "cannot open '/nonexistent/x.csv': No such file or directory");
    assert_int_equal(csvseries_load("/tmp", &s, err, sizeof err), ERR_IO);
    assert_string_equal(err, "cannot read '/tmp': Is a directory");
}

/* CPU time of this thread: the bound below is on the parser's cost, which the wall clock of a
 * machine shared with other builds does not measure (at load 10 and more it failed on time
 * slices the test never had) */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A million psrecord CSV rows (11.5 days at 1 Hz): all kept, exactly, and fast. The bound here
 * is loose for sanitizer builds; the release build takes about a tenth of it. */
static void test_million_rows(void **state)
{
    (void)state;
    size_t n = 1000000, cap = n * 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "elapsed_time,nproc,cpu,mem_real,mem_virtual\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%zu.%03zu,1,%zu.5,%zu.25,900.0\n", i,
                                i % 1000, i % 100, 100 + i / 1000);
    char *path = write_temp(text, len);
    free(text);
    csvseries s;
    char err[256];
    double t0 = now();
    assert_int_equal(csvseries_load(path, &s, err, sizeof err), 0);
    double dt = now() - t0;
    unlink(path);
    print_message("csvseries_load: %zu rows in %.3f s of CPU\n", s.n, dt);
    assert_int_equal(s.n, n);
    assert_int_equal(s.skipped, 0);
    assert_true(s.t[123456] == 123456.456);
    assert_true(s.cpu[123456] == 56.5);
    assert_true(s.rss[999999] == 1099.25 * MIB);
    assert_true(dt < 5.0);
    csvseries_free(&s);
}

typedef struct got_rows {
    csvseries *want;
    size_t n;
} got_rows;

static int check_row(void *ud, const csvseries_row *r)
{
    got_rows *g = ud;
    assert_true(g->n < g->want->n);
    assert_true(r->t == g->want->t[g->n]);
    assert_true(r->rss == g->want->rss[g->n]);
    assert_true((isnan(r->cpu) && isnan(g->want->cpu[g->n])) || r->cpu == g->want->cpu[g->n]);
    assert_true((isnan(r->pss) && isnan(g->want->pss[g->n])) || r->pss == g->want->pss[g->n]);
    g->n++;
    return 0;
}

/* Streamed from a file, row by row, through a buffer smaller than the file: the same rows, the
 * same skips (a line longer than a line may be among them) as the whole-text parse. */
static void test_stream_matches_parse(void **state)
{
    (void)state;
    char path[] = "/tmp/test_csvseries_stream_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs("\xef\xbb\xbf"
          "elapsed_s,rss_bytes,cpu_percent,pss_bytes\r\n",
          fp);
    for (int i = 0; i < 300000; i++) {
        if (i == 1000) { /* a line of 100 KB: a skipped row */
            for (int k = 0; k < 100000; k++)
                fputc('9', fp);
            fputc('\n', fp);
        }
        if (i % 5000 == 7)
            fputs("garbage,row\n\n", fp);
        fprintf(fp, "%d.5,%d,%s,%d\n", i, 1000000 + i, i % 3 ? "1.25" : "", 900000 + i);
    }
    fputs("300000,5,,7", fp); /* no newline at the end */
    assert_int_equal(fclose(fp), 0);

    csvseries want;
    char err[256];
    assert_int_equal(csvseries_load(path, &want, err, sizeof err), 0);
    got_rows g = {&want, 0};
    csvseries_info info;
    assert_int_equal(csvseries_stream(path, check_row, &g, &info, err, sizeof err), 0);
    assert_int_equal(info.n, want.n);
    assert_int_equal(g.n, want.n);
    assert_int_equal(info.skipped, want.skipped);
    assert_int_equal(info.n, 300001);
    assert_int_equal(info.skipped, 61);
    assert_int_equal(info.format, want.format);
    assert_int_equal(info.has_cpu, 1);
    assert_int_equal(info.has_pss, 1);
    csvseries_free(&want);

    /* a header too long is the header's error */
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int k = 0; k < 70000; k++)
        fputc('x', fp);
    fputs("\n1,2\n", fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(csvseries_stream(path, check_row, &g, &info, err, sizeof err), ERR_PARSE);
    assert_non_null(strstr(err, "first line longer than"));
    unlink(path);
    assert_int_equal(csvseries_stream(path, check_row, &g, &info, err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, "cannot open"));
}

/* row() stops the stream with its own value, a negative code too (analyze returns ERR_NOMEM
 * so), passed back as it is: the second row is never handed over. */
static int stop_at_second(void *ud, const csvseries_row *r)
{
    (void)r;
    int *n = ud;
    return ++*n == 2 ? ERR_NOMEM : 0;
}

static void test_stream_row_stops(void **state)
{
    (void)state;
    const char *text = "elapsed_s,rss_bytes\n0,1\n1,2\n2,3\n";
    char *path = write_temp(text, strlen(text));
    int n = 0;
    csvseries_info info;
    char err[256];
    assert_int_equal(csvseries_stream(path, stop_at_second, &n, &info, err, sizeof err), ERR_NOMEM);
    assert_int_equal(n, 2);
    assert_int_equal(info.n, 1);
    unlink(path);
}

/* issue 10 item 10: absurd times are refused and counted, so a duration of 7e307 s (a time
 * near 1e308) never reaches a gate */
static void test_time_range(void **state)
{
    (void)state;
    csvseries s = must_parse("elapsed_s,rss_bytes\n"
                             "0,1000\n"
                             "10,1000\n"
                             "1e308,1000\n"     /* finite, absurd */
                             "400000000,1000\n" /* 12.7 years elapsed */
                             "20,1000\n");
    assert_int_equal(s.n, 3);
    assert_true(s.t[2] == 20);
    assert_int_equal(s.skipped, 2);
    assert_int_equal(s.skipped_time, 2);
    csvseries_free(&s);

    /* Unix times: from 1990 to a year from now, spanning at most 10 years */
    char buf[512];
    double now = (double)time(NULL);
    snprintf(buf, sizeof buf, "elapsed_s,rss_bytes\n%.0f,1\n%.0f,1\n%.0f,1\n%.0f,1\n", now - 60,
             now, now + 2 * 365.25 * 86400, now + 11 * 365.25 * 86400);
    s = must_parse(buf);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped_time, 2);
    csvseries_free(&s);
    s = must_parse("elapsed_s,rss_bytes\n"
                   "500000000,1\n" /* 1985: neither elapsed nor a plausible Unix time */
                   "631152000,1\n" /* 1990-01-01 */
                   "631152060,1\n");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.skipped_time, 1);
    csvseries_free(&s);
    fails_with("elapsed_s,rss_bytes\n1e308,1\n1e300,1\n", ERR_NODATA, "(2 rows skipped)");

    assert_true(csvseries_time_ok(0, 0, now));
    assert_true(csvseries_time_ok(CSVSERIES_MAX_SPAN_S, 0, now));
    assert_false(csvseries_time_ok(CSVSERIES_MAX_SPAN_S + 1, 0, now));
    assert_false(csvseries_time_ok(1e308, 1e308, now));
    assert_false(csvseries_time_ok(NAN, 0, now));
    assert_true(csvseries_time_ok(now + CSVSERIES_FUTURE_S, now, now));
    assert_false(csvseries_time_ok(now + CSVSERIES_FUTURE_S + 1, now + 1e6, now));
    assert_false(csvseries_time_ok(CSVSERIES_EPOCH_MIN_S - 1, CSVSERIES_EPOCH_MIN_S - 1, now));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psrecord_csv),     cmocka_unit_test(test_psrecord_log),
        cmocka_unit_test(test_plain_csv),        cmocka_unit_test(test_garbage_rows),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_load),
        cmocka_unit_test(test_million_rows),     cmocka_unit_test(test_stream_matches_parse),
        cmocka_unit_test(test_stream_row_stops), cmocka_unit_test(test_time_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
