/* Tests of runrec: what analyze, report and status read from a run record — crashes counted
 * from the supervisor's stored judgment (and the old rule only for files without it), the
 * sample columns as the X-macro defines them, streams that stop at their cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>

#include "errcode.h"
#include "runrec.h"
#include "store.h"
#include "testutil.h"

typedef struct fx {
    char dir[64];
    char db[128];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (!tu_tmpdir(f->dir, sizeof f->dir, "test_runrec"))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/samples.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static store_sample sample(double t, int procs)
{
    store_sample s;
    memset(&s, 0, sizeof s);
    s.t = t;
    s.elapsed_s = t - 1000;
    s.rss_bytes = 5000000000ull + (uint64_t)t; /* past 32 bits */
    s.pss_bytes = -1;
    s.cpu_percent = 2.5;
    s.procs = (unsigned)procs;
    s.heartbeat_age_s = 0.25;
    return s;
}

/* A planned stop (the exit soak asked for), a crash, a hang and its stop's exit. */
static void write_run(const char *path)
{
    char err[256];
    store *s = store_open(path, 0, err, sizeof err);
    if (!s)
        fail_msg("store_open: %s", err);
    for (int i = 0; i < 50; i++) {
        store_sample m = sample(1000 + i, i % 10 != 9);
        assert_int_equal(store_sample_add(s, &m), 0);
    }
    assert_int_equal(store_event(s, 1000, STORE_EV_START, 0, "pid 1", 1), 0);
    assert_int_equal(store_event(s, 1010, STORE_EV_EXIT, 1, "pid 1 exited with code 3", 3), 0);
    assert_int_equal(store_event(s, 1011, STORE_EV_RESTART, 0, "pid 2", 2), 0);
    assert_int_equal(store_event(s, 1020, STORE_EV_HANG, 0, "no heartbeat", 5), 0);
    assert_int_equal(store_event(s, 1020.5, STORE_EV_STOP, 0, "hang", 15), 0);
    assert_int_equal(store_event(s, 1021, STORE_EV_EXIT, 0, "pid 2 killed by signal 15", -15), 0);
    assert_int_equal(store_event(s, 1030, STORE_EV_ROTATION, 0, "soak-x.log", 0), 0);
    assert_int_equal(store_event(s, 1049, STORE_EV_EXIT, 0, "pid 3 killed by signal 15", -15), 0);
    assert_int_equal(store_event(s, 1049, STORE_EV_END, 0, "duration reached", 0), 0);
    assert_int_equal(store_set_run(s, "start_time", "1000"), 0);
    assert_int_equal(store_begin(s), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(store_metric(s, 1000 + i, "latency_ms", "stage=\"rest\"", i), 0);
    assert_int_equal(store_metric(s, 1000, "latency_ms", "", 99), 0);
    assert_int_equal(store_commit(s), 0);
    store_close(s);
}

typedef struct seen {
    int n;
    char kinds[512];
    int failures, crashes;
    double sum;
    int lanes[STORE_NLANES];
} seen;

static int on_event(void *ud, const runrec_event *e)
{
    seen *s = ud;
    size_t l = strlen(s->kinds);
    snprintf(s->kinds + l, sizeof s->kinds - l, "%s%s%s", l ? "," : "", e->name,
             e->failure ? "!" : "");
    s->n++;
    s->failures += e->failure;
    s->crashes += e->crash;
    if (e->lane != STORE_LANE_NONE)
        s->lanes[e->lane]++;
    assert_int_equal(e->kind, store_event_kind(e->name));
    return 0;
}

/* The stored judgment decides: the planned stop's exit (signal 15) is no crash. */
static void test_failures_from_the_stored_judgment(void **state)
{
    fx *f = *state;
    write_run(f->db);
    runrec *r;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    int64_t crashes = -1, hangs = -1;
    assert_int_equal(runrec_failures(r, &crashes, &hangs), 0);
    assert_int_equal(crashes, 2); /* the exit with code 3, the hang */
    assert_int_equal(hangs, 1);
    assert_int_equal(runrec_event_count(r, RUNREC_EV_CRASHES), 2);
    seen s = {0};
    assert_int_equal(runrec_events(r, RUNREC_EV_ALL, 0, 0, on_event, &s), 0);
    assert_string_equal(s.kinds, "start,exit!,restart,hang!,stop,exit,rotation,exit,end");
    /* on the timeline: start, restart; one crash (not the requested exits); the hang; stop and
     * end; the rotation */
    assert_int_equal(s.lanes[STORE_LANE_START], 2);
    assert_int_equal(s.lanes[STORE_LANE_CRASH], 1);
    assert_int_equal(s.lanes[STORE_LANE_HANG], 1);
    assert_int_equal(s.lanes[STORE_LANE_STOP], 2);
    assert_int_equal(s.lanes[STORE_LANE_LOG], 1);
    seen c = {0};
    assert_int_equal(runrec_events(r, RUNREC_EV_CRASHES, 0, 0, on_event, &c), 0);
    assert_string_equal(c.kinds, "exit!,hang!");
    assert_int_equal(c.crashes, 2);
    /* listed: everything on a lane but the rotation */
    assert_int_equal(runrec_event_count(r, RUNREC_EV_LISTED), 8);
    /* offset and cap */
    seen o = {0};
    assert_int_equal(runrec_events(r, RUNREC_EV_ALL, 2, 3, on_event, &o), 0);
    assert_string_equal(o.kinds, "restart,hang!,stop");
    runrec_close(r);
}

/* The run and samples tables as the first soak wrote them (before events.failure and
 * zombies_persistent). */
#define OLD_RUN_SAMPLES                                                                            \
    "CREATE TABLE run(key TEXT PRIMARY KEY, value TEXT);"                                          \
    "CREATE TABLE samples(t REAL NOT NULL, elapsed_s REAL, rss_bytes INTEGER,"                     \
    " pss_bytes INTEGER, cpu_percent REAL, cpu_seconds REAL, threads INTEGER,"                     \
    " fds INTEGER, procs INTEGER, zombies INTEGER, artifacts_bytes INTEGER,"                       \
    " disk_free_bytes INTEGER, restarts INTEGER, log_lines INTEGER,"                               \
    " dropped_bytes INTEGER, heartbeat_age_s REAL);"

/* A samples.db as the first soak wrote it (no events.failure, no zombies_persistent), with
 * the rows of inserts (SQL). */
static void make_old_file(const fx *f, const char *inserts)
{
    sqlite3 *db;
    char sql[2048];
    snprintf(sql, sizeof sql,
             OLD_RUN_SAMPLES
             "CREATE TABLE events(t REAL NOT NULL, kind TEXT NOT NULL, detail TEXT,"
             " value REAL);"
             "CREATE TABLE metrics(t REAL NOT NULL, name TEXT NOT NULL, labels TEXT,"
             " value REAL);%s",
             inserts);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A file written before events.failure existed: the old rule, for that file only. */
/* While the service was being stopped or was down: from the crash's exit to the restart, and
 * from the hang's stop to the end (the exit that follows closes nothing: no start after it). */
static void test_stop_spans(void **state)
{
    fx *f = *state;
    write_run(f->db);
    runrec *r;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    runrec_span *sp = NULL;
    size_t n = 0;
    assert_int_equal(runrec_stop_spans(r, &sp, &n), 0);
    assert_int_equal(n, 2);
    assert_true(sp[0].from == 1010 && sp[0].to == 1011);
    assert_true(sp[1].from == 1020.5 && isinf(sp[1].to));
    /* in time order, with one cursor: inside is [from, to) */
    size_t cur = 0;
    const double t[] = {1000, 1009.9, 1010, 1010.5, 1011, 1015, 1020.4, 1020.5, 1021, 1049};
    const int in[] = {0, 0, 1, 1, 0, 0, 0, 1, 1, 1};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(runrec_span_in(sp, n, &cur, t[i]), in[i]);
    size_t c0 = 0;
    assert_int_equal(runrec_span_in(NULL, 0, &c0, 1010), 0);
    free(sp);
    runrec_close(r);
}

static void test_old_file_without_the_column(void **state)
{
    fx *f = *state;
    make_old_file(f, "INSERT INTO events VALUES(1,'exit','code 0',0),(2,'exit','code 3',3),"
                     "(3,'exit','signal 15',-15),(4,'hang','',1),(5,'oom_kill','',1),"
                     "(6,'rotation','',0),(7,'future_kind','',1);");
    sqlite3 *db;
    runrec *r;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    int64_t crashes, hangs;
    assert_int_equal(runrec_failures(r, &crashes, &hangs), 0);
    assert_int_equal(crashes, 3); /* code 3, signal 15 (no judgment then), the hang */
    assert_int_equal(hangs, 1);
    seen s = {0};
    assert_int_equal(runrec_events(r, RUNREC_EV_ALL, 0, 0, on_event, &s), 0);
    assert_string_equal(s.kinds, "exit,exit!,exit!,hang!,oom_kill!,rotation,future_kind");
    runrec_close(r);

    /* the same file once a newer soak wrote to it: the column exists, old rows are NULL */
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE events ADD COLUMN failure INTEGER;"
                                  "INSERT INTO events VALUES(8,'exit','planned',-15,0);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    assert_int_equal(runrec_failures(r, &crashes, &hangs), 0);
    assert_int_equal(crashes, 3);
    runrec_close(r);
}

typedef struct rows {
    int n;
    double last_t;
    uint64_t rss;
    double pss, hb;
} rows;

static int on_sample(void *ud, const store_sample *m)
{
    rows *r = ud;
    r->n++;
    r->last_t = m->t;
    r->rss = m->rss_bytes;
    r->pss = store_sample_get(m, STORE_COL_pss_bytes);
    r->hb = store_sample_get(m, STORE_COL_heartbeat_age_s);
    return r->n == 40 ? 7 : 0; /* a callback may stop the stream */
}

static int on_point(void *ud, double t, double v)
{
    seen *s = ud;
    (void)t;
    s->n++;
    s->sum += v;
    return 0;
}

static void test_samples_and_metrics_stream(void **state)
{
    fx *f = *state;
    write_run(f->db);
    runrec *r;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    int64_t n;
    double t0, t1;
    assert_int_equal(runrec_sample_range(r, &n, &t0, &t1), 0);
    assert_int_equal(n, 50);
    assert_true(t0 == 1000 && t1 == 1049);
    rows a = {0};
    assert_int_equal(runrec_samples(r, 10, on_sample, &a), 0); /* the cap */
    assert_int_equal(a.n, 10);
    assert_true(a.last_t == 1009);
    assert_true(a.rss == 5000000000ull + 1009);
    assert_true(isnan(a.pss)); /* NULL in the table */
    assert_true(a.hb == 0.25);
    rows b = {0};
    assert_int_equal(runrec_samples(r, 0, on_sample, &b), 7); /* stopped by the callback */
    assert_int_equal(b.n, 40);
    seen m = {0};
    assert_int_equal(runrec_metric(r, "latency_ms", "stage=\"rest\"", 0, on_point, &m), 0);
    assert_int_equal(m.n, 30);
    assert_true(m.sum == 435);
    seen c = {0};
    assert_int_equal(runrec_metric(r, "latency_ms", "stage=\"rest\"", 5, on_point, &c), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(runrec_metric_exists(r, "latency_ms"), 1);
    assert_int_equal(runrec_metric_exists(r, "nope"), 0);
    char v[16];
    assert_int_equal(runrec_value(r, "start_time", v, sizeof v), 1);
    assert_string_equal(v, "1000");
    assert_int_equal(runrec_value(r, "nope", v, sizeof v), 0);
    double x = 0;
    assert_int_equal(runrec_value_num(r, "start_time", &x), 1);
    assert_true(x == 1000);
    runrec_close(r);
}

static void test_open_errors(void **state)
{
    fx *f = *state;
    runrec *r = (runrec *)1;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), ERR_NOENT);
    assert_null(r);
    assert_non_null(strstr(err, "samples.db"));
    FILE *fp = fopen(f->db, "w");
    assert_non_null(fp);
    fputs("not a database, just text\n", fp);
    fclose(fp);
    int rc = runrec_open(f->dir, &r, err, sizeof err);
    assert_true(rc == ERR_PARSE || rc == ERR_IO);
    assert_null(r);
}

/* The columns as the X-macro defines them are the table's columns, in the documented order. */
static void test_columns_defined_once(void **state)
{
    fx *f = *state;
    write_run(f->db);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT group_concat(name, ',') FROM pragma_table_info('samples')",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *cols = (const char *)sqlite3_column_text(st, 0);
    /* docs/soak-run.md: users query these names */
    assert_string_equal(cols, "t,elapsed_s,rss_bytes,pss_bytes,cpu_percent,cpu_seconds,threads,"
                              "fds,procs,zombies,artifacts_bytes,disk_free_bytes,restarts,"
                              "log_lines,dropped_bytes,heartbeat_age_s,zombies_persistent");
    assert_string_equal(cols, store_col_list());
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(STORE_NCOLS, 17);
    assert_int_equal(store_col_index("zombies"), STORE_COL_zombies);
    assert_int_equal(store_col_index("nope"), -1);
    assert_string_equal(store_col_name(STORE_COL_rss_bytes), "rss_bytes");
    assert_string_equal(store_col_unit(STORE_COL_rss_bytes), "bytes");
    assert_string_equal(store_col_label(STORE_COL_fds), "open fds");
    assert_int_equal(store_col_scope(STORE_COL_disk_free_bytes), STORE_S_ALWAYS);
    assert_int_equal(store_col_scope(STORE_COL_zombies), STORE_S_SERVICE);
    assert_string_equal(store_col_name(STORE_NCOLS), "");
}

static int on_old_sample(void *ud, const store_sample *m)
{
    store_sample *out = ud;
    *out = *m;
    return 0;
}

/* A samples table written before zombies_persistent was appended: still read, the new column
 * as 0 (analyze reads every column; a file of an older soak must not become unreadable). */
static void test_old_samples_without_new_column(void **state)
{
    fx *f = *state;
    make_old_file(f, "INSERT INTO samples VALUES(5,1,4096,NULL,1,1,2,3,4,3,9,9,0,7,0,NULL);");
    runrec *r;
    char err[256];
    assert_int_equal(runrec_open(f->dir, &r, err, sizeof err), 0);
    store_sample m;
    memset(&m, 0xff, sizeof m);
    assert_int_equal(runrec_samples(r, 0, on_old_sample, &m), 0);
    assert_true(m.t == 5);
    assert_int_equal(m.rss_bytes, 4096);
    assert_int_equal(m.zombies, 3);
    assert_int_equal(m.zombies_persistent, 0);
    runrec_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failures_from_the_stored_judgment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_file_without_the_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_samples_without_new_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_samples_and_metrics_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_columns_defined_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
