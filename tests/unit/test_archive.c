/* Tests of archive: the .tar.gz that `tar xzf` reads, holding a consistent samples.db taken from
 * a live writer (every committed sample, integrity_check ok), the run's files, and none of the
 * WAL, shm, lock or temporary files; its default name and when soak run writes it. */
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

#include "archive.h"
#include "errcode.h"
#include "store.h"
#include "testutil.h"

static void test_wanted(void **state)
{
    (void)state;
    /* every cell of the policy table */
    assert_int_equal(archive_wanted(ARCHIVE_NEVER, 0), 0);
    assert_int_equal(archive_wanted(ARCHIVE_NEVER, 1), 0);
    assert_int_equal(archive_wanted(ARCHIVE_ON_INTERRUPT, 0), 0);
    assert_int_equal(archive_wanted(ARCHIVE_ON_INTERRUPT, 1), 1);
    assert_int_equal(archive_wanted(ARCHIVE_ALWAYS, 0), 1);
    assert_int_equal(archive_wanted(ARCHIVE_ALWAYS, 1), 1);
    assert_string_equal(archive_policy_names[ARCHIVE_ON_INTERRUPT], "on-interrupt");
}

static void test_default_path(void **state)
{
    (void)state;
    char p[256];
    time_t t = 1764590400; /* 2025-12-01 12:00:00 UTC */
    archive_default_path("/runs/soak", t, p, sizeof p);
    assert_string_equal(p, "/runs/soak-artifacts-20251201-120000.tar.gz");
    archive_default_path("/runs/soak/", t, p, sizeof p);
    assert_string_equal(p, "/runs/soak-artifacts-20251201-120000.tar.gz");
    archive_default_path("soak", t, p, sizeof p);
    assert_string_equal(p, "./soak-artifacts-20251201-120000.tar.gz");
    archive_default_path("/soak", t, p, sizeof p);
    assert_string_equal(p, "/soak-artifacts-20251201-120000.tar.gz");
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int sh(const char *cmd)
{
    return system(cmd);
}

static void test_live_run(void **state)
{
    (void)state;
    char root[64], dir[128], db[192], err[512], out[256];
    char x[192], path[256];
    assert_non_null(tu_tmpdir(root, sizeof root, "test_archive"));
    snprintf(dir, sizeof dir, "%s/run", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(db, sizeof db, "%s/samples.db", dir);
    store *s = store_open(db, 0, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < 500; i++) {
        store_sample m = {.t = 1000 + i,
                          .elapsed_s = i,
                          .rss_bytes = 1000000 + i,
                          .pss_bytes = -1,
                          .heartbeat_age_s = -1};
        assert_int_equal(store_sample_add(s, &m), 0);
    }
    /* the writer stays open: the samples are in the WAL, not yet in samples.db */
    put(dir, "verdict.json", "{\"pass\": true}\n");
    put(dir, "soak.log", "line one\nline two\n");
    put(dir, "soak.lock", "");
    put(dir, "verdict.json.tmp", "half");
    char sub[192];
    snprintf(sub, sizeof sub, "%s/logs", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    put(sub, "old.log.gz", "gz");

    snprintf(out, sizeof out, "%s/a.tar.gz", root);
    char written[256];
    assert_int_equal(archive_write(dir, out, written, sizeof written, err, sizeof err), 0);
    assert_string_equal(written, out);
    store_close(s);

    snprintf(x, sizeof x, "%s/x", root);
    assert_int_equal(mkdir(x, 0755), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "tar xzf '%s' -C '%s'", out, x);
    assert_int_equal(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/run/verdict.json", x);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/run/logs/old.log.gz", x);
    assert_int_equal(access(path, F_OK), 0);
    const char *absent[] = {"samples.db-wal", "samples.db-shm", "soak.lock", "verdict.json.tmp"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/run/%s", x, absent[i]);
        if (access(path, F_OK) == 0)
            fail_msg("%s is in the archive", absent[i]);
    }
    /* the log as written */
    snprintf(path, sizeof path, "%s/run/soak.log", x);
    FILE *f = fopen(path, "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "line one\n");
    fclose(f);
    /* the database: one file, whole, every committed sample */
    snprintf(path, sizeof path, "%s/run/samples.db", x);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "pragma integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(h, "select count(*), max(rss_bytes) from samples", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 500);
    assert_int_equal(sqlite3_column_int(st, 1), 1000499);
    sqlite3_finalize(st);
    sqlite3_close(h);
    /* no temporary file is left beside the archive */
    snprintf(cmd, sizeof cmd,
             "test -z \"$(ls '%s' | grep -v -e '^a.tar.gz$' -e '^run$' -e '^x$')\"", root);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(tu_rmtree(root), 0);
}

static void test_errors(void **state)
{
    (void)state;
    char err[512], w[256] = "untouched";
    assert_int_equal(archive_write("/nonexistent/run", NULL, w, sizeof w, err, sizeof err),
                     ERR_NOENT);
    assert_non_null(strstr(err, "cannot archive '/nonexistent/run'"));
    assert_string_equal(w, "untouched");
    char root[64];
    assert_non_null(tu_tmpdir(root, sizeof root, "test_archive"));
    assert_int_equal(archive_write(root, "/nonexistent/dir/a.tar.gz", NULL, 0, err, sizeof err),
                     ERR_IO);
    assert_non_null(strstr(err, "cannot write '/nonexistent/dir/a.tar.gz.tmp'"));
    assert_int_equal(rmdir(root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_live_run),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
