/* Tests of report: a run folder built here (samples.db through store, soak.log, the analyzer's
 * JSON files) becomes one self-contained report.html that shows what a reader relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zlib.h>

#include <cmocka.h>
#include <math.h>

#include "errcode.h"
#include "repdata.h"
#include "runrec.h"
#include "report.h"
#include "store.h"
#include "testutil.h"

#define T0 1795900000.0 /* 2026-11-28 */

typedef tu_dir fx; /* a fresh folder (testutil.h) */

static void path_of(const fx *f, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", f->dir, name);
}

static void iso(double t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", s, (int)((t - (double)tt) * 1000));
}

static void write_file(const fx *f, const char *name, const char *text)
{
    char p[160];
    path_of(f, name, p, sizeof p);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* A log line "TS STREAM TEXT" at time t, to a FILE or a gzFile. */
static void log_line(FILE *fp, gzFile gz, double t, const char *stream, const char *text)
{
    char ts[40];
    iso(t, ts, sizeof ts);
    if (fp)
        fprintf(fp, "%s %s %s\n", ts, stream, text);
    else
        gzprintf(gz, "%s %s %s\n", ts, stream, text);
}

/* samples.db with n samples one second apart (a leak of 1 KiB per sample, a restart at the
 * middle), the run keys and a crash, a restart, a hang, rotations and the end. */
static void write_db(const fx *f, int n)
{
    char p[160], err[256];
    path_of(f, "samples.db", p, sizeof p);
    store *s = store_open(p, 0, err, sizeof err);
    if (!s)
        fail_msg("store_open: %s", err);
    char v[64];
    assert_int_equal(store_set_run(s, "command", "demo-service --crash-after 8"), 0);
    snprintf(v, sizeof v, "%.3f", T0);
    assert_int_equal(store_set_run(s, "start_time", v), 0);
    snprintf(v, sizeof v, "%.3f", T0 + n);
    assert_int_equal(store_set_run(s, "end_time", v), 0);
    assert_int_equal(store_set_run(s, "outcome", "duration reached"), 0);
    assert_int_equal(store_begin(s), 0);
    for (int i = 0; i < n; i++) {
        store_sample m;
        memset(&m, 0, sizeof m);
        m.t = T0 + i;
        m.elapsed_s = i;
        m.rss_bytes = 100000000ull + (uint64_t)(i % (n / 2 + 1)) * 1024;
        m.pss_bytes = i % 60 == 0 ? (int64_t)m.rss_bytes - 5000000 : -1;
        m.cpu_percent = i == n / 3 ? 95 : 5 + i % 7;
        m.threads = 4;
        m.fds = 10 + (unsigned)(i % 5);
        m.procs = 2;
        m.zombies = i == n / 4 ? 1 : 0;
        m.artifacts_bytes = 1000000ull + (uint64_t)i * 100;
        m.disk_free_bytes = 50000000000ull - (uint64_t)i * 100;
        m.heartbeat_age_s = -1;
        assert_int_equal(store_sample_add(s, &m), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_event(s, T0, STORE_EV_START, 0, "pid 10: demo-service", 10), 0);
    assert_int_equal(
        store_event(s, T0 + 100, STORE_EV_EXIT, 1, "pid 10 exited with code 3 after 100.0s", 3), 0);
    assert_int_equal(store_event(s, T0 + 101, STORE_EV_RESTART, 0, "pid 11: demo-service", 11), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_event(s, T0 + 150 + i, STORE_EV_ROTATION, 0, "soak-x.log", 0), 0);
    assert_int_equal(
        store_event(s, T0 + 300, STORE_EV_HANG, 0, "no heartbeat for 5m (timeout 5m)", 300), 0);
    assert_int_equal(store_event(s, T0 + 301, STORE_EV_RESTART, 0, "pid 12: demo-service", 12), 0);
    assert_int_equal(store_event(s, T0 + n, STORE_EV_END, 0, "duration reached", 0), 0);
    store_close(s);
}

static void write_json(const fx *f)
{
    char buf[2048];
    write_file(f, "verdict.json",
               "{\"pass\": false, \"generated_at\": \"2026-11-28T22:00:00Z\", \"gates\": ["
               "{\"name\": \"memory growth\", \"expression\": \"leak_mb_per_hour()\", \"value\": "
               "3.6, \"threshold\": 10, \"op\": \"<\", \"unit\": \"MB/h\", \"status\": \"pass\", "
               "\"optional\": false},"
               "{\"name\": \"crashes\", \"expression\": \"count(crash)\", \"value\": 2, "
               "\"threshold\": 0, \"op\": \"==\", \"unit\": \"\", \"status\": \"fail\", "
               "\"optional\": false},"
               "{\"name\": \"orphan orders\", \"expression\": \"max(orphans)\", \"value\": null, "
               "\"threshold\": 0, \"op\": \"==\", \"unit\": \"\", \"status\": \"no-data\", "
               "\"optional\": true}]}");
    snprintf(buf, sizeof buf,
             "{\"memory_leak_detected\": false, \"memory_growth_mb_per_hour\": 3.6,"
             " \"memory_stats\": {\"rss_start_mb\": 100, \"rss_end_mb\": 101, \"rss_max_mb\": 102},"
             " \"memory_series\": \"pss\", \"growth_interval_mb_per_hour\": [2.5, 4.75],"
             " \"threshold_mb_per_hour\": 10, \"segments\": [{\"start\": %.0f, \"end\": %.0f,"
             " \"warmup_s\": 30, \"trend\": {\"t0\": %.0f, \"y0\": 100000000, \"t1\": %.0f,"
             " \"y1\": 100100000}, \"slope_mb_per_hour\": 3.6}],"
             " \"cpu\": {\"avg_percent\": 8, \"p95_percent\": 11}, \"peaks\": {\"fds\": 14}}",
             T0, T0 + 100, T0 + 30, T0 + 100);
    write_file(f, "resources.analysis.json", buf);
}

/* soak.log with the hang's note after a hostile line; the crash at T0+100 lives in a rotated
 * .gz cut at T0+200. */
static void write_logs(const fx *f)
{
    char p[160];
    path_of(f, "soak-20261128T211000.000Z.log.gz", p, sizeof p);
    gzFile gz = gzopen(p, "wb");
    assert_non_null(gz);
    for (int i = 0; i < 30; i++)
        log_line(NULL, gz, T0 + 70 + i, "out", "[HB] alive");
    log_line(NULL, gz, T0 + 99.5, "err", "panic: in the rotated file & gone");
    log_line(NULL, gz, T0 + 100, "soak", "exit: pid 10 exited with code 3 after 100.0s");
    log_line(NULL, gz, T0 + 120, "out", "[HB] alive");
    assert_int_equal(gzclose(gz), Z_OK);

    path_of(f, "soak.log", p, sizeof p);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    for (int i = 0; i < 40; i++)
        log_line(fp, NULL, T0 + 250 + i, "out", "working");
    log_line(fp, NULL, T0 + 299, "err", "<script>alert(\"x\")</script> & 'quoted'");
    log_line(fp, NULL, T0 + 300, "soak", "hang: no heartbeat for 5m (timeout 5m)");
    log_line(fp, NULL, T0 + 310, "out", "after the hang");
    assert_int_equal(fclose(fp), 0);
}

/* The report as a string (caller frees) and its size. */
static char *read_report(const fx *f, size_t *len)
{
    char p[160];
    path_of(f, "report.html", p, sizeof p);
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    struct stat st;
    assert_int_equal(fstat(fileno(fp), &st), 0);
    char *s = malloc((size_t)st.st_size + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
    s[st.st_size] = '\0';
    fclose(fp);
    *len = (size_t)st.st_size;
    return s;
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void run_report(const fx *f)
{
    char err[512] = "";
    if (report_write(f->dir, err, sizeof err) != 0)
        fail_msg("report_write: %s", err);
    char p[160];
    path_of(f, "report.html.tmp", p, sizeof p);
    assert_int_not_equal(access(p, F_OK), 0); /* renamed, not left behind */
}

/* What a self-contained page must not do: fetch anything. */
static void assert_self_contained(const char *s)
{
    assert_null(strstr(s, "http://"));
    assert_null(strstr(s, "https://"));
    assert_null(strstr(s, "<link"));
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "src="));
}

static void test_full_run(void **state)
{
    fx *f = *state;
    write_db(f, 600);
    write_json(f);
    write_logs(f);
    run_report(f);
    size_t len;
    char *s = read_report(f, &len);
    assert_true(strncmp(s, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(s, "demo-service --crash-after 8"));
    /* the verdict table: names, expressions and coloured statuses */
    assert_non_null(strstr(s, "memory growth"));
    assert_non_null(strstr(s, "orphan orders"));
    assert_non_null(strstr(s, "<code>leak_mb_per_hour()</code>"));
    assert_non_null(strstr(s, "class=\"pass\">pass<"));
    assert_non_null(strstr(s, "class=\"fail\">fail<"));
    assert_non_null(strstr(s, "class=\"nodata\">no-data<"));
    assert_non_null(strstr(s, ">FAIL<"));
    /* the leak summary */
    assert_non_null(strstr(s, "3.60 MB/h (interval 2.50 to 4.75 MB/h)"));
    assert_non_null(strstr(s, ">pss<"));
    /* memory, CPU, fds/threads, processes/zombies, artifacts, free disk, timeline */
    assert_int_equal(count_of(s, "<svg"), 7);
    assert_int_equal(count_of(s, "</svg>"), 7);
    /* the zombies chart draws every zombie and the persistent ones (the gate's count) */
    assert_non_null(strstr(s, ">persistent zombies<"));
    assert_non_null(strstr(s, "fitted trend"));
    assert_non_null(strstr(s, "warm-up 30 s left out"));
    assert_non_null(strstr(s, " MiB</text>"));
    /* events: rotations counted, not listed; crashes linked to their logs */
    assert_non_null(strstr(s, "<th>rotation</th>"));
    assert_null(strstr(s, "soak-x.log"));
    assert_non_null(strstr(s, "href=\"#crash-1\""));
    assert_non_null(strstr(s, "href=\"#crash-2\""));
    /* the hang's context from soak.log, escaped */
    assert_non_null(
        strstr(s, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;"));
    assert_non_null(strstr(s, "soak hang: no heartbeat for 5m (timeout 5m)"));
    assert_null(strstr(s, "after the hang"));
    /* the crash's context from the rotated .gz */
    assert_non_null(strstr(s, "panic: in the rotated file &amp; gone"));
    assert_non_null(strstr(s, "soak-20261128T211000.000Z.log.gz (a rotated log)"));
    assert_self_contained(s);
    /* what a person reads first: the verdict and its reason, right after the head and the
     * table of contents; the failing gates link to their evidence */
    const char *toc = strstr(s, "<nav class=\"toc\">"), *h2 = strstr(s, "<h2 ");
    assert_non_null(toc);
    assert_true(toc < h2);
    assert_int_equal(strncmp(h2, "<h2 id=\"verdict\">", 17), 0);
    for (const char *const *id =
             (const char *const[]){"verdict", "leak", "charts", "events", "crashes", NULL};
         *id; id++) {
        char want[64], anchor[64];
        snprintf(want, sizeof want, "href=\"#%s\"", *id);
        snprintf(anchor, sizeof anchor, "id=\"%s\"", *id);
        assert_non_null(strstr(toc, want));
        assert_non_null(strstr(s, anchor));
    }
    const char *reason = strstr(s, "<p class=\"reason\">Failed: ");
    assert_non_null(reason);
    assert_true(reason < strstr(s, "<table>"));
    assert_non_null(strstr(s, "<p class=\"reason\">Failed: <a href=\"#crashes\">crashes</a></p>"));
    assert_non_null(strstr(s, "<tr><td><a href=\"#crashes\">crashes</a></td>"));
    assert_null(strstr(s, "<a href=\"#memory\">memory growth</a>")); /* it passes */
    /* dark mode follows the reader's setting */
    assert_non_null(strstr(s, "@media (prefers-color-scheme:dark)"));
    free(s);
}

/* After the stop the tree is gone: the last sample (procs 0, every tree series 0) is not drawn,
 * so no series drops to 0 at the end; the disk's series still are. */
static void test_no_drop_after_stop(void **state)
{
    fx *f = *state;
    write_db(f, 100);
    char p[160], err[256];
    path_of(f, "samples.db", p, sizeof p);
    store *st = store_open(p, 0, err, sizeof err);
    assert_non_null(st);
    store_sample m;
    memset(&m, 0, sizeof m);
    m.t = T0 + 100;
    m.elapsed_s = 100;
    m.pss_bytes = -1;
    m.heartbeat_age_s = -1;
    m.artifacts_bytes = 2000000;
    m.disk_free_bytes = 40000000000ull;
    assert_int_equal(store_sample_add(st, &m), 0);
    store_close(st);
    runrec *rr = NULL;
    assert_int_equal(runrec_open(f->dir, &rr, err, sizeof err), 0);
    repdata *d = calloc(1, sizeof *d);
    assert_non_null(d);
    assert_int_equal(repdata_load(d, rr, f->dir, err, sizeof err), 0);
    int last = repdata_col_of(d, T0 + 100), before = repdata_col_of(d, T0 + 99);
    assert_true(last > before); /* the stop's sample has a column of its own */
    assert_true(d->mn[REPDATA_RSS][before] >= 100000000);
    static const int tree[] = {REPDATA_RSS,     REPDATA_CPU,   REPDATA_FDS,
                               REPDATA_THREADS, REPDATA_PROCS, REPDATA_ZOMBIES};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++) {
        assert_false(isnan(d->mn[tree[i]][before]));
        assert_true(isnan(d->mn[tree[i]][last])); /* not drawn: no drop to 0 */
    }
    assert_true(d->mx[REPDATA_ART][last] == 2000000);
    assert_true(d->mx[REPDATA_FREE][last] == 40000000000.0);
    repdata_free(d);
    free(d);
    runrec_close(rr);
}

/* A 7-day run at 1 s (604,800 samples): the report stays under 10 MB and renders in under 3 s
 * of CPU (the charts are min/max per column). */
static void test_seven_days(void **state)
{
    fx *f = *state;
    write_db(f, 10); /* the run keys and events; the samples are replaced below */
    char p[160];
    path_of(f, "samples.db", p, sizeof p);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "DELETE FROM samples; UPDATE run SET value='%.3f' WHERE key='end_time';"
             "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
             "INSERT INTO samples(t, elapsed_s, rss_bytes, pss_bytes, cpu_percent, threads, fds,"
             " procs, zombies, artifacts_bytes, disk_free_bytes) SELECT %.3f + i, i,"
             " 100000000 + (i %% 86400) * 100 + (CASE WHEN i = 300000 THEN 50000000 ELSE 0 END),"
             " CASE WHEN i %% 60 = 0 THEN 90000000 ELSE NULL END, 5 + i %% 7, 4, 10 + i %% 5, 2,"
             " 0, 1000000 + i * 10, 50000000000 - i * 10 FROM s;",
             T0 + 7 * 86400, 7 * 86400 - 1, T0);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    write_json(f);
    clock_t a = clock();
    run_report(f);
    double cpu = (double)(clock() - a) / CLOCKS_PER_SEC;
    size_t len;
    char *h = read_report(f, &len);
    assert_true(len < 10u * 1000 * 1000);
    assert_int_equal(count_of(h, "<svg"), 7);
    assert_non_null(strstr(h, "604800 samples drawn as 1000 columns"));
    char *mem = strstr(h, "<h3 id=\"memory\">");
    assert_non_null(mem);
    char *end = strstr(mem, "</svg>");
    *end = '\0';
    /* the one-sample spike (+50 MB) survives the downsampling: without it the memory axis
     * would end near 104 MiB */
    assert_non_null(strstr(mem, ">150 MiB</text>"));
    free(h);
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REP_SANITIZED 1
#endif
#endif
#ifdef REP_SANITIZED
    assert_true(cpu < 10.0); /* sanitizers make C about 3x slower; 3 s in a release build */
#else
    assert_true(cpu < 3.0);
#endif
}

static void test_without_analysis(void **state)
{
    fx *f = *state;
    write_db(f, 50);
    run_report(f);
    size_t len;
    char *s = read_report(f, &len);
    assert_true(strncmp(s, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(s, "not analyzed (verdict.json: not found)"));
    assert_non_null(strstr(s, "not analyzed (resources.analysis.json: not found)"));
    assert_int_equal(count_of(s, "<svg"), 7);
    /* no log at all: the crashes are still listed */
    assert_non_null(strstr(s, "its log lines are no longer kept"));
    assert_self_contained(s);
    free(s);
}

static void test_bad_json(void **state)
{
    fx *f = *state;
    write_db(f, 50);
    write_file(f, "verdict.json", "{\"pass\": tru");
    write_file(f, "resources.analysis.json", "[1,2]");
    run_report(f);
    size_t len;
    char *s = read_report(f, &len);
    assert_non_null(strstr(s, "not analyzed (verdict.json: not valid JSON)"));
    assert_non_null(strstr(s, "not analyzed (resources.analysis.json: not valid JSON)"));
    free(s);
}

static void test_no_db(void **state)
{
    fx *f = *state;
    char err[512] = "";
    assert_int_equal(report_write(f->dir, err, sizeof err), ERR_NOENT); /* bad input, not a write */
    assert_non_null(strstr(err, "samples.db"));
    char p[160];
    path_of(f, "report.html", p, sizeof p);
    assert_int_not_equal(access(p, F_OK), 0);
}

/* 200,000 samples (2.3 days at 1 Hz) and 2,000 restarts: a small file, quickly. */
static void test_large_run(void **state)
{
    fx *f = *state;
    write_db(f, 200000);
    char p[160], err[256];
    path_of(f, "samples.db", p, sizeof p);
    store *s = store_open(p, 0, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_begin(s), 0);
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(
            store_event(s, T0 + 1000 + i * 90, STORE_EV_EXIT, 1, "pid 1 exited with code 1", 1), 0);
        assert_int_equal(store_event(s, T0 + 1001 + i * 90, STORE_EV_RESTART, 0, "pid 2", 2), 0);
    }
    assert_int_equal(store_commit(s), 0);
    store_close(s);
    write_json(f);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    run_report(f);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(secs < 20); /* under sanitizers; well under a second in a release build */

    size_t len;
    char *h = read_report(f, &len);
    assert_true(len < 2000000);
    assert_int_equal(count_of(h, "<svg"), 7);
    assert_non_null(strstr(h, "more events</td>"));
    assert_non_null(strstr(h, "the first 10 and the last 10 are shown"));
    assert_int_equal(count_of(h, "<h3 id=\"crash-"), 20);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_run, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_without_analysis, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_bad_json, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_no_db, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_large_run, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_no_drop_after_stop, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(test_seven_days, tu_dir_setup, tu_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
