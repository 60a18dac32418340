/* Tests of sampler: the artifacts folder's size is soak's own files (the logs as logcap counts
 * them, samples.db by stat) plus the rest as the walk on the thread pool found it, each byte
 * counted once; the tree below a root is sampled into the run's picture; the row is the
 * picture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sampler.h"

static void write_file(const char *dir, const char *name, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (size_t done = 0; done < n; done += sizeof buf)
        assert_int_equal(fwrite(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);
}

static void test_folder_size_counts_each_byte_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/sampler-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[600];
    snprintf(db, sizeof db, "%s/samples.db", dir);
    write_file(dir, "samples.db", 64 << 10);
    write_file(dir, "soak.log", 1 << 20);        /* counted by logcap, not by the walk */
    write_file(dir, "soak-1.log.gz", 256 << 10); /* the same */
    write_file(dir, "core.1234", 512 << 10);     /* the rest: only the walk sees it */

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    sampler *sm = sampler_new(&loop, dir, db, 0);
    assert_non_null(sm);
    runstate rs;
    runstate_init(&rs);
    logcap_stats ls;
    memset(&ls, 0, sizeof ls);
    ls.log_bytes = (1 << 20) + (256 << 10);

    /* before the first walk: soak's own files only */
    sampler_take(sm, getpid(), 1, 1000, &ls, &rs);
    assert_true(rs.artifacts_bytes >= ls.log_bytes + (64 << 10));
    assert_true(rs.artifacts_bytes < ls.log_bytes + (64 << 10) + (64 << 10));
    assert_true(rs.disk_free_bytes > 0);

    sampler_start(sm, 60000);
    for (int i = 0; i < 200; i++) { /* the walk runs on the thread pool */
        uv_run(&loop, UV_RUN_NOWAIT);
        sampler_take(sm, getpid(), 1, 1000 + (uint64_t)i, &ls, &rs);
        if (rs.artifacts_bytes >= ls.log_bytes + (64 << 10) + (512 << 10))
            break;
        usleep(5000);
    }
    uint64_t want = ls.log_bytes + (64 << 10) + (512 << 10);
    assert_true(rs.artifacts_bytes >= want);
    assert_true(rs.artifacts_bytes < want + (64 << 10)); /* the logs are not counted twice */

    sampler_close(sm);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    sampler_free(sm);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_tree_and_row(void **state)
{
    (void)state;
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        for (;;)
            pause();
    }
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    sampler *sm = sampler_new(&loop, "/tmp", "/tmp/no-such-samples.db", 0);
    assert_non_null(sm);
    runstate rs;
    runstate_init(&rs);
    rs.start_ms = 500;
    rs.restarts = 2;
    logcap_stats ls;
    memset(&ls, 0, sizeof ls);
    ls.lines[0] = 7;
    ls.lines[1] = 3;
    ls.dropped_bytes = 11;
    sampler_take(sm, getpid(), 1, 1500, &ls, &rs);
    assert_true(rs.tree.nprocs >= 1); /* the child (and nothing of ours) */
    assert_true(rs.rss_first > 0);
    assert_int_equal(rs.rss_first, rs.rss_last);
    store_sample m = sampler_row(&rs, 1234.5, 1500);
    assert_true(m.t == 1234.5);
    assert_true(m.elapsed_s == 1.0);
    assert_int_equal(m.procs, rs.tree.nprocs);
    assert_int_equal(m.rss_bytes, rs.tree.rss_bytes);
    assert_int_equal(m.pss_bytes, -1); /* not read (pss_interval 0) */
    assert_int_equal(m.restarts, 2);
    assert_int_equal(m.log_lines, 10);
    assert_int_equal(m.dropped_bytes, 11);
    assert_true(m.heartbeat_age_s < 0);
    /* not running: the RSS of a stopping tree is not the service's */
    uint64_t first = rs.rss_first;
    rs.rss_last = 0;
    sampler_take(sm, getpid(), 0, 2500, &ls, &rs);
    assert_int_equal(rs.rss_first, first);
    assert_int_equal(rs.rss_last, 0);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    sampler_close(sm);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    sampler_free(sm);
}

int main(void)
{
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folder_size_counts_each_byte_once),
        cmocka_unit_test(test_tree_and_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
