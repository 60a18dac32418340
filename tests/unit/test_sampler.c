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
#include "testutil.h"

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
    char dir[64];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "sampler-test"));
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
    assert_int_equal(tu_rmtree(dir), 0);
}

/* Kills and reaps the test's child, then closes and frees the sampler and its loop. */
static void end_test(pid_t child, sampler *sm, uv_loop_t *loop)
{
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    sampler_close(sm);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    sampler_free(sm);
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
    end_test(c, sm, &loop);
}

/* A child that keeps a zombie: it counts as persistent once seen for the grace period (not
 * before), the row carries the count, and the parent is named once, with its command. */
static void test_persistent_zombie_named(void **state)
{
    (void)state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        pid_t g = fork();
        if (g == 0)
            _exit(0);
        /* g is a zombie of ours from now on: never waited for */
        for (int i = 0; i < 500; i++) {
            char st[64], path[64], buf[512];
            snprintf(path, sizeof path, "/proc/%d/stat", (int)g);
            FILE *f = fopen(path, "r");
            size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            if (f)
                fclose(f);
            buf[n] = '\0';
            char *rp = strrchr(buf, ')');
            if (rp && sscanf(rp + 1, " %63s", st) == 1 && st[0] == 'Z')
                break;
            usleep(2000);
        }
        if (write(ready[1], "z", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char z;
    assert_int_equal(read(ready[0], &z, 1), 1);
    close(ready[0]);
    close(ready[1]);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    sampler *sm = sampler_new(&loop, "/tmp", "/tmp/no-such-samples.db", 0);
    assert_non_null(sm);
    sampler_set_zombie_grace(sm, 1000);
    runstate rs;
    runstate_init(&rs);
    logcap_stats ls;
    memset(&ls, 0, sizeof ls);
    char detail[300];
    pid_t parent = 0;
    sampler_take(sm, getpid(), 1, 10000, &ls, &rs);
    assert_int_equal(rs.tree.zombies, 1);
    assert_int_equal(rs.zombies_persistent, 0); /* just seen */
    assert_int_equal(sampler_zombie_event(sm, detail, sizeof detail, &parent), 0);
    sampler_take(sm, getpid(), 1, 10999, &ls, &rs);
    assert_int_equal(rs.zombies_persistent, 0);
    sampler_take(sm, getpid(), 1, 11000, &ls, &rs);
    assert_int_equal(rs.zombies_persistent, 1);
    assert_int_equal(rs.zombies_persistent_max, 1);
    store_sample m = sampler_row(&rs, 1.0, 11000);
    assert_int_equal(m.zombies, 1);
    assert_int_equal(m.zombies_persistent, 1);
    assert_int_equal(sampler_zombie_event(sm, detail, sizeof detail, &parent), 1);
    assert_int_equal(parent, c);
    char want[64];
    snprintf(want, sizeof want, "pid %d (", (int)c);
    assert_non_null(strstr(detail, want));
    assert_non_null(strstr(detail, "test_sampler"));
    assert_non_null(strstr(detail, ") has not reaped 1 zombies for 1s"));
    assert_int_equal(sampler_zombie_event(sm, detail, sizeof detail, &parent), 0); /* taken */
    sampler_take(sm, getpid(), 1, 12000, &ls, &rs);
    assert_int_equal(sampler_zombie_event(sm, detail, sizeof detail, &parent), 0); /* once */
    end_test(c, sm, &loop);
}

/* The cost rule: more than 10 % of a core warns. */
static void test_cost_rule(void **state)
{
    (void)state;
    assert_false(sampler_cost_over(0.1, 1.0));
    assert_true(sampler_cost_over(0.11, 1.0));
    assert_true(sampler_cost_over(0.7, 1.0)); /* the issue: 300 processes every 1 ms */
    assert_false(sampler_cost_over(1.0, 0));
}

int main(void)
{
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folder_size_counts_each_byte_once),
        cmocka_unit_test(test_tree_and_row),
        cmocka_unit_test(test_persistent_zombie_named),
        cmocka_unit_test(test_cost_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
