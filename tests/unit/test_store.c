/* Tests of store: what a run writes to samples.db is what `soak status` reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"

typedef struct tmpdir {
    char dir[64];
    char db[128];
} tmpdir;

static int setup(void **state)
{
    tmpdir *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    if (!tu_tmpdir(t->dir, sizeof t->dir, "test_store"))
        return -1;
    snprintf(t->db, sizeof t->db, "%s/samples.db", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tmpdir *t = *state;
    tu_rmtree(t->dir);
    free(t);
    return 0;
}

static store_sample sample(double t, uint64_t rss, int64_t pss, double hb)
{
    store_sample s;
    memset(&s, 0, sizeof s);
    s.t = t;
    s.elapsed_s = t - 1000;
    s.rss_bytes = rss;
    s.pss_bytes = pss;
    s.cpu_percent = 12.5;
    s.cpu_seconds = 3.25;
    s.threads = 7;
    s.fds = 33;
    s.procs = 3;
    s.zombies = 1;
    s.artifacts_bytes = 6000000000ull; /* past 32 bits */
    s.disk_free_bytes = 123456789012ull;
    s.restarts = 2;
    s.log_lines = 99999;
    s.dropped_bytes = 17;
    s.heartbeat_age_s = hb;
    return s;
}

/* Writes a run with two samples, three events and two metrics; closes the store. */
static void write_run(const char *path)
{
    char err[256];
    store *s = store_open(path, 0, err, sizeof err);
    if (!s)
        fail_msg("open for writing: %s", err);
    assert_int_equal(store_set_run(s, "command", "python3 bot.py"), 0);
    assert_int_equal(store_set_run(s, "outcome", "running"), 0);
    assert_int_equal(store_set_run(s, "outcome", "completed"), 0); /* replaces */
    store_sample a = sample(1001, 100 << 20, 80 << 20, 0.5);
    store_sample b = sample(1002, 101 << 20, -1, -1);
    assert_int_equal(store_sample_add(s, &a), 0);
    assert_int_equal(store_sample_add(s, &b), 0);
    assert_int_equal(store_event(s, 1001, STORE_EV_START, 0, "pid 42", 42), 0);
    assert_int_equal(store_event(s, 1001.5, STORE_EV_EXIT, 1, NULL, 1), 0);
    assert_int_equal(store_event(s, 1002, STORE_EV_RESTART, 0, "after 1s", 1), 0);
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_metric(s, 1002, "http_requests_total", "code=\"200\"", 10), 0);
    assert_int_equal(store_metric(s, 1002, "process_open_fds", "", 12), 0);
    assert_int_equal(store_commit(s), 0);
    store_close(s);
}

typedef struct events_seen {
    int n;
    double t[8];
    char kind[8][32];
    char detail[8][32];
    int detail_null[8];
    double value[8];
} events_seen;

static void on_event(void *ud, double t, const char *kind, const char *detail, double value)
{
    events_seen *e = ud;
    assert_true(e->n < 8);
    e->t[e->n] = t;
    snprintf(e->kind[e->n], sizeof e->kind[0], "%s", kind);
    e->detail_null[e->n] = detail == NULL;
    snprintf(e->detail[e->n], sizeof e->detail[0], "%s", detail ? detail : "");
    e->value[e->n] = value;
    e->n++;
}

/* Event kinds come from one table: names round-trip, the class decides what failure means and
 * the stored column says what the supervisor decided. */
static void test_event_kinds_and_failure_column(void **state)
{
    const char *path = ((tmpdir *)*state)->db;
    for (int k = 0; k < STORE_NEVENTS; k++) {
        const char *name = store_event_name((store_evkind)k);
        assert_true(name[0] != '\0');
        assert_int_equal(store_event_kind(name), k);
    }
    assert_int_equal(store_event_kind("no_such_kind"), -1);
    assert_string_equal(store_event_name(STORE_EV_EXIT), "exit");
    assert_string_equal(store_lane_name(store_event_lane(STORE_EV_HANG)), "hang");
    assert_int_equal(store_event_lane(STORE_EV_PATTERN), STORE_LANE_NONE);

    char err[256];
    store *s = store_open(path, 0, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_event(s, 1, STORE_EV_EXIT, 0, "planned stop", -15), 0); /* decided */
    assert_int_equal(store_event(s, 2, STORE_EV_EXIT, 1, "crash", -11), 0);
    assert_int_equal(store_event(s, 3, STORE_EV_HANG, 0, "forced to 1", 0), 0);
    assert_int_equal(store_event(s, 4, STORE_EV_STOP, 1, "forced to 0", 0), 0);
    assert_int_equal(store_event(s, 5, (store_evkind)STORE_NEVENTS, 0, "refused", 0), -1);
    store_close(s);

    sqlite3 *db = store_open_reader(path, err, sizeof err);
    assert_non_null(db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(failure, '') FROM "
                                        "(SELECT failure FROM events ORDER BY t)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "0110");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_write_and_read_back(void **state)
{
    tmpdir *t = *state;
    write_run(t->db);
    char err[256];
    store *s = store_open(t->db, 1, err, sizeof err);
    if (!s)
        fail_msg("open read-only: %s", err);

    assert_int_equal(store_count(s, "samples"), 2);
    assert_int_equal(store_count(s, "events"), 3);
    assert_int_equal(store_count(s, "metrics"), 2);
    assert_int_equal(store_count(s, "run; DROP TABLE run"), -1);

    store_sample got;
    memset(&got, 0xab, sizeof got);
    assert_int_equal(store_last_sample(s, &got), 1);
    store_sample want = sample(1002, 101 << 20, -1, -1);
    assert_true(got.t == want.t);
    assert_true(got.elapsed_s == want.elapsed_s);
    assert_int_equal(got.rss_bytes, want.rss_bytes);
    assert_true(got.pss_bytes < 0);       /* NULL: not read */
    assert_true(got.heartbeat_age_s < 0); /* NULL: no heartbeat */
    assert_true(got.cpu_percent == 12.5);
    assert_true(got.cpu_seconds == 3.25);
    assert_int_equal(got.threads, 7);
    assert_int_equal(got.fds, 33);
    assert_int_equal(got.procs, 3);
    assert_int_equal(got.zombies, 1);
    assert_int_equal(got.artifacts_bytes, 6000000000ull);
    assert_int_equal(got.disk_free_bytes, 123456789012ull);
    assert_int_equal(got.restarts, 2);
    assert_int_equal(got.log_lines, 99999);
    assert_int_equal(got.dropped_bytes, 17);

    events_seen e = {0};
    assert_int_equal(store_last_events(s, 2, on_event, &e), 0);
    assert_int_equal(e.n, 2); /* the last two, newest last */
    assert_string_equal(e.kind[0], "exit");
    assert_true(e.detail_null[0]);
    assert_string_equal(e.kind[1], "restart");
    assert_string_equal(e.detail[1], "after 1s");
    assert_true(e.t[1] == 1002);
    memset(&e, 0, sizeof e);
    assert_int_equal(store_last_events(s, 10, on_event, &e), 0);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.kind[0], "start");
    assert_string_equal(e.detail[0], "pid 42");
    assert_true(e.value[0] == 42);

    char buf[64];
    assert_int_equal(store_get_run(s, "command", buf, sizeof buf), 1);
    assert_string_equal(buf, "python3 bot.py");
    assert_int_equal(store_get_run(s, "outcome", buf, sizeof buf), 1);
    assert_string_equal(buf, "completed");
    assert_int_equal(store_get_run(s, "nope", buf, sizeof buf), 0);
    char tiny[4];
    assert_int_equal(store_get_run(s, "command", tiny, sizeof tiny), 1);
    assert_string_equal(tiny, "pyt");
    store_close(s);
}

static void test_pss_and_heartbeat_kept_when_set(void **state)
{
    tmpdir *t = *state;
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    store_sample a = sample(5, 1, 4096, 2.5);
    assert_int_equal(store_sample_add(s, &a), 0);
    store_sample got;
    assert_int_equal(store_last_sample(s, &got), 1);
    assert_int_equal(got.pss_bytes, 4096);
    assert_true(got.heartbeat_age_s == 2.5);
    store_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The writer never checkpoints by itself; store_checkpoint_file, from another connection (a
 * worker thread in soak run), moves the WAL into the database while the writer stays open. */
static void test_checkpoint_from_another_connection(void **state)
{
    tmpdir *t = *state;
    char err[256], wal[160];
    snprintf(wal, sizeof wal, "%s-wal", t->db);
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < 2000; i++) {
        store_sample a = sample(i, 1u << 20, -1, -1);
        assert_int_equal(store_sample_add(s, &a), 0);
    }
    long before = file_size(t->db);
    assert_true(file_size(wal) > 100000); /* everything is still in the WAL */
    assert_int_equal(store_checkpoint_file(t->db), 0);
    assert_true(file_size(t->db) > before + 50000);
    /* the next write starts the WAL over, within journal_size_limit */
    store_sample b = sample(3000, 1, -1, -1);
    assert_int_equal(store_sample_add(s, &b), 0);
    assert_true(file_size(wal) <= 4 * 1024 * 1024);
    assert_int_equal(store_count(s, "samples"), 2001);
    store_close(s);
}

static void test_empty_store(void **state)
{
    tmpdir *t = *state;
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    store_close(s);
    s = store_open(t->db, 1, err, sizeof err);
    assert_non_null(s);
    store_sample got;
    assert_int_equal(store_last_sample(s, &got), 0);
    assert_int_equal(store_count(s, "samples"), 0);
    events_seen e = {0};
    assert_int_equal(store_last_events(s, 5, on_event, &e), 0);
    assert_int_equal(e.n, 0);
    store_close(s);
    store_close(NULL);
}

static void test_readonly_missing_fails(void **state)
{
    tmpdir *t = *state;
    char err[256] = "";
    assert_null(store_open(t->db, 1, err, sizeof err));
    assert_non_null(strstr(err, t->db));
    assert_int_equal(access(t->db, F_OK), -1); /* read-only open did not create it */
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_readonly_foreign_file_fails(void **state)
{
    tmpdir *t = *state;
    char err[256] = "";
    char text[8192];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    write_file(t->db, text, sizeof text);
    assert_null(store_open(t->db, 1, err, sizeof err));
    char want[192];
    snprintf(want, sizeof want, "cannot open '%s': ", t->db);
    if (strncmp(err, want, strlen(want)) != 0 || strlen(err) <= strlen(want))
        fail_msg("message '%s'", err);

    /* a SQLite database without our tables is foreign too */
    unlink(t->db);
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    store_close(s);
    char other[160];
    snprintf(other, sizeof other, "%s.bad", t->db);
    write_file(other, text, 100);
    assert_null(store_open(other, 1, err, sizeof err));
    assert_non_null(strstr(err, other));
}

static void test_readonly_truncated_fails(void **state)
{
    tmpdir *t = *state;
    write_run(t->db);
    /* a store with enough rows to span several pages */
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < 500; i++) {
        store_sample a = sample(2000 + i, (uint64_t)i << 20, -1, -1);
        assert_int_equal(store_sample_add(s, &a), 0);
    }
    store_close(s);

    FILE *f = fopen(t->db, "rb");
    assert_non_null(f);
    static char data[1 << 20];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_true(n > 8192 && n < sizeof data);

    char cut[160];
    snprintf(cut, sizeof cut, "%s.cut", t->db);
    static const size_t lens[] = {50, 100, 4096};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        write_file(cut, data, lens[i]);
        err[0] = '\0';
        s = store_open(cut, 1, err, sizeof err);
        if (s)
            fail_msg("a store cut to %zu bytes opened", lens[i]);
        assert_non_null(strstr(err, cut));
    }
}

/* Fills the database up to a cap: samples until one fails. Returns how many were written. */
static int fill_until_full(store *s, double t0)
{
    assert_int_equal(store_set_max_bytes(s, 4096 * 8), 0);
    for (int i = 0; i < 100000; i++) {
        store_sample a = sample(t0 + i, 1u << 20, -1, -1);
        if (store_sample_add(s, &a) != 0)
            return i;
    }
    fail_msg("the cap never refused a write");
    return -1;
}

/* A full disk: the rows that cannot be written are kept, counted, and written in order when
 * there is room again; nothing is lost and the count read back is the count taken. */
static void test_full_keeps_rows_and_writes_them_late(void **state)
{
    tmpdir *t = *state;
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    int written = fill_until_full(s, 0);
    store_stats st;
    store_stats_get(s, &st);
    assert_int_equal(st.write_errors, 1);
    assert_int_equal(st.pending, 1);
    assert_true(st.failing);
    assert_true(strlen(st.last_error) > 0);
    /* more rows while full: kept, each failure counted once */
    store_sample b = sample(50000, 1, -1, -1);
    assert_int_equal(store_sample_add(s, &b), -1);
    assert_int_equal(store_event(s, 50001, STORE_EV_DISK_LOW, 0, "low", 1), -1);
    assert_int_equal(store_set_run(s, "outcome", "duration reached"), -1);
    store_stats_get(s, &st);
    assert_int_equal(st.write_errors, 4);
    assert_int_equal(st.pending, 3);
    assert_int_equal(st.pending_run, 1);
    assert_int_equal(store_lost(s), 0);
    assert_int_equal(store_count(s, "samples"), written);
    /* room again: the next write first writes what is kept, in order */
    assert_int_equal(store_set_max_bytes(s, 0), 0);
    store_sample c = sample(60000, 2, -1, -1);
    assert_int_equal(store_sample_add(s, &c), 0);
    store_stats_get(s, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.pending_run, 0);
    assert_int_equal(st.late_rows, 4);
    assert_false(st.failing);
    assert_int_equal(store_count(s, "samples"), written + 3);
    assert_int_equal(store_count(s, "events"), 1);
    char v[64];
    assert_int_equal(store_get_run(s, "outcome", v, sizeof v), 1);
    assert_string_equal(v, "duration reached");
    store_close(s);
    /* in the order taken */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT t FROM samples ORDER BY rowid DESC LIMIT 3", -1, &q, NULL),
        SQLITE_OK);
    double want[] = {60000, 50000, written};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_true(sqlite3_column_double(q, 0) == want[i]);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* Past STORE_PENDING_MAX kept rows, the oldest go, and are counted as lost. */
static void test_full_past_the_cap_counts_lost(void **state)
{
    tmpdir *t = *state;
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    fill_until_full(s, 0);
    for (int i = 0; i < STORE_PENDING_MAX + 9; i++) {
        store_sample b = sample(100000 + i, 1, -1, -1);
        assert_int_equal(store_sample_add(s, &b), -1);
    }
    assert_int_equal(store_event(s, 1, STORE_EV_END, 0, "end", 0), -1);
    store_stats st;
    store_stats_get(s, &st);
    assert_int_equal(st.pending, STORE_PENDING_MAX);
    assert_int_equal(st.pending_high_water, STORE_PENDING_MAX);
    assert_int_equal(st.lost_samples, 11); /* 1 + (cap + 9) + 1 rows for cap places */
    assert_int_equal(st.lost_events, 0);
    assert_int_equal(store_lost(s), 11);
    assert_int_equal(store_flush(s), -1); /* still full */
    assert_int_equal(store_set_max_bytes(s, 0), 0);
    assert_int_equal(store_flush(s), 0);
    store_stats_get(s, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.late_rows, STORE_PENDING_MAX);
    assert_int_equal(store_lost(s), 11);
    store_close(s);
}

/* The reserve: a file of the size asked for, deleted at the first failure to make room. */
static void test_reserve_released_on_failure(void **state)
{
    tmpdir *t = *state;
    char err[256], res[160];
    snprintf(res, sizeof res, "%s-reserve", t->db);
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_reserve(s, 100000), 0);
    assert_int_equal(file_size(res), 100000);
    assert_int_equal(store_reserve_bytes(s), 100000);
    fill_until_full(s, 0);
    store_stats st;
    store_stats_get(s, &st);
    assert_int_equal(st.reserve_releases, 1);
    assert_int_equal(access(res, F_OK), -1);
    assert_int_equal(store_reserve_bytes(s), 0);
    assert_int_equal(store_release_reserve(s), 0);
    /* released by close as well */
    assert_int_equal(store_set_max_bytes(s, 0), 0);
    assert_int_equal(store_reserve(s, 5000), 0);
    assert_int_equal(file_size(res), 5000);
    store_close(s);
    assert_int_equal(access(res, F_OK), -1);
}

/* Metrics are optional: a scrape that cannot be written is counted, not kept. */
static void test_full_metrics_counted(void **state)
{
    tmpdir *t = *state;
    char err[256];
    store *s = store_open(t->db, 0, err, sizeof err);
    assert_non_null(s);
    fill_until_full(s, 0);
    assert_int_equal(store_set_max_bytes(s, 0), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_set_max_bytes(s, 4096), 0); /* under the file: every write fails */
    store_begin(s);
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "m%d", i);
        store_metric(s, 1, name, "", i);
    }
    assert_int_equal(store_commit(s), -1);
    store_stats st;
    store_stats_get(s, &st);
    assert_int_equal(st.lost_metrics, 300);
    assert_int_equal(st.pending, 0);
    assert_int_equal(store_count(s, "metrics"), 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_kinds_and_failure_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pss_and_heartbeat_kept_when_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_missing_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_foreign_file_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_truncated_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_from_another_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_keeps_rows_and_writes_them_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_past_the_cap_counts_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_released_on_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_metrics_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
