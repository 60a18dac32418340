/*
 * Tests of proctree: the /proc parsers against fixture files, sampling of fixture /proc trees
 * (with children files, and without them for the fallback scan), and live trees of real
 * processes that are listed, sampled and killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "errcode.h"
#include "proctree.h"
#include "treekill.h"

#define PROC_FIX FIXTURES "/proc"

static size_t slurp(const char *name, char *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", PROC_FIX, name);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap);
    assert_true(n >= 0);
    close(fd);
    return (size_t)n;
}

#define PARSE_STAT(s, st) proctree_parse_stat((s), strlen(s), (st))

/* ---- parsers ------------------------------------------------------------------------------- */

static void test_stat_weird_comm(void **state)
{
    (void)state;
    char buf[2048];
    size_t n = slurp("stat_weird", buf, sizeof buf);
    proctree_stat st;
    assert_int_equal(proctree_parse_stat(buf, n, &st), 0);
    assert_int_equal(st.pid, 4242);
    assert_int_equal(st.ppid, 1000);
    assert_int_equal(st.pgrp, 4242);
    assert_int_equal(st.session, 4242);
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.utime_ticks, 15);
    assert_int_equal(st.stime_ticks, 7);
    assert_int_equal(st.num_threads, 3);
    assert_int_equal(st.starttime, 987654);
    assert_int_equal(st.rss_pages, 2500);
}

static void test_stat_zombie(void **state)
{
    (void)state;
    char buf[2048];
    size_t n = slurp("stat_zombie", buf, sizeof buf);
    proctree_stat st;
    assert_int_equal(proctree_parse_stat(buf, n, &st), 0);
    assert_int_equal(st.pid, 4300);
    assert_int_equal(st.ppid, 4242);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.rss_pages, 0);
    assert_int_equal(st.num_threads, 1);
}

static void test_stat_minimal_and_truncated(void **state)
{
    (void)state;
    proctree_stat st;
    /* exactly 24 fields, no newline */
    const char *min = "7 (a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5";
    assert_int_equal(PARSE_STAT(min, &st), 0);
    assert_int_equal(st.rss_pages, 5);
    /* the whole buffer is not read past len */
    assert_int_equal(proctree_parse_stat(min, strlen(min) - 2, &st), ERR_PARSE);
}

static void test_stat_malformed(void **state)
{
    (void)state;
    proctree_stat st;
    static const char *bad[] = {
        "",
        "7 (a S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5",   /* no ')' */
        "7 a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5",   /* no '(' */
        "x7 (a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5", /* bad pid */
        "0 (a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5",  /* pid 0 */
        "7 (a) 1 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5",  /* state not a letter */
        "7 (a) S -1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5", /* negative ppid */
        "7 (a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0",    /* 23 fields */
        "7 (a) S 1 7 7 0 -1 0 0 0 0 0 1x 2 0 0 20 0 1 0 99 0 5", /* junk in a number */
        "7 (a) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5x", /* junk after rss */
        "7 (a) S 1 7 7 0 -1 0 0 0 0 0 99999999999999999999 2 0 0 20 0 1 0 99 0 5", /* overflow */
        "7 (a) S  1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 5", /* double space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(PARSE_STAT(bad[i], &st), ERR_PARSE);
}

static void test_smaps_rollup(void **state)
{
    (void)state;
    char buf[4096];
    size_t n = slurp("smaps_rollup", buf, sizeof buf);
    uint64_t pss = 0;
    assert_int_equal(proctree_parse_smaps_rollup(buf, n, &pss), 0);
    assert_int_equal(pss, 6153ull * 1024);

    static const char *bad[] = {
        "",          "Rss: 12 kB\n",   "Pss: 12 MB\n",     "Pss: abc kB\n",
        "Pss: 12\n", "Pss: 12 kB x\n", "Pss_Anon: 5 kB\n", "Pss: 99999999999999999999 kB\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(proctree_parse_smaps_rollup(bad[i], strlen(bad[i]), &pss), ERR_PARSE);
}

static void test_children(void **state)
{
    (void)state;
    char buf[256];
    size_t n = slurp("children", buf, sizeof buf);
    pid_t out[8];
    assert_int_equal(proctree_parse_children(buf, n, out, 8), 3);
    assert_int_equal(out[0], 4301);
    assert_int_equal(out[1], 4302);
    assert_int_equal(out[2], 4310);
    /* more than max: counted, not stored */
    pid_t two[2] = {0, 0};
    assert_int_equal(proctree_parse_children(buf, n, two, 1), 3);
    assert_int_equal(two[0], 4301);
    assert_int_equal(two[1], 0);
    assert_int_equal(proctree_parse_children("", 0, out, 8), 0);
    assert_int_equal(proctree_parse_children("5\n", 2, NULL, 0), 1);

    static const char *bad[] = {"12 x", "-5", "0 ", "99999999999 ", "12,13", "1\t2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(proctree_parse_children(bad[i], strlen(bad[i]), out, 8), ERR_PARSE);
}

/* ---- fixture trees ------------------------------------------------------------------------- */

/* tests/fixtures/proc/tree: 100 -> {101 (3 threads), 102 (zombie)}; 101 -> {103, 104}
 * (children of different threads); 104 (2 threads) -> 105; 200 is unrelated. */
static void check_fixture_sample(const char *root)
{
    proctree *pt = proctree_new(root);
    assert_non_null(pt);
    long page = sysconf(_SC_PAGESIZE);
    long tck = sysconf(_SC_CLK_TCK);
    proctree_sample s;
    assert_int_equal(proctree_sample_tree(pt, 100, 1, 0, &s), 0);
    assert_int_equal(s.nprocs, 6);
    assert_int_equal(s.zombies, 1);
    /* the zombie is listed with its parent, who has not reaped it (zombies.h tracks them) */
    const proctree_zombie *zl = NULL;
    assert_int_equal(proctree_zombies(pt, &zl), 1);
    assert_int_equal(zl[0].pid, 102);
    assert_int_equal(zl[0].ppid, 100);
    assert_int_equal(zl[0].starttime, 5002);
    assert_int_equal(proctree_zombies(NULL, &zl), 0);
    assert_int_equal(s.threads, 9);
    assert_int_equal(s.fds, 12);
    assert_int_equal(s.rss_bytes, 2100ull * (uint64_t)page);
    assert_int_equal(s.cpu_ticks, 128);
    assert_int_equal(s.pss_valid, 0);
    assert_int_equal(s.truncated, 0);
    /* first sample: every process is new and counts whole */
    assert_true(s.cpu_seconds_delta > 128.0 / (double)tck - 1e-9);
    assert_true(s.cpu_seconds_delta < 128.0 / (double)tck + 1e-9);
    /* nothing changed: no CPU since */
    assert_int_equal(proctree_sample_tree(pt, 100, 1, 0, &s), 0);
    assert_true(s.cpu_seconds_delta == 0.0);
    /* without root */
    assert_int_equal(proctree_sample_tree(pt, 100, 0, 0, &s), 0);
    assert_int_equal(s.nprocs, 5);
    assert_int_equal(s.fds, 9);
    /* a subtree */
    assert_int_equal(proctree_sample_tree(pt, 104, 1, 0, &s), 0);
    assert_int_equal(s.nprocs, 2);
    assert_int_equal(s.threads, 3);
    /* no such root */
    assert_int_equal(proctree_sample_tree(pt, 999, 1, 0, &s), ERR_NOENT);
    proctree_free(pt);
}

static void test_fixture_tree(void **state)
{
    (void)state;
    check_fixture_sample(PROC_FIX "/tree");
}

static void test_fixture_scan_fallback(void **state)
{
    (void)state;
    check_fixture_sample(PROC_FIX "/scan");
}

static void check_fixture_descendants(const char *root)
{
    pid_t out[16];
    int n = proctree_descendants(root, 100, out, 16);
    assert_int_equal(n, 5);
    /* parents before children */
    int pos[6] = {0};
    for (int i = 0; i < n; i++) {
        assert_true(out[i] >= 101 && out[i] <= 105);
        pos[out[i] - 100] = i;
    }
    assert_true(pos[1] < pos[3] && pos[1] < pos[4] && pos[4] < pos[5]);
    /* more than max: all counted, max stored */
    pid_t two[2];
    assert_int_equal(proctree_descendants(root, 100, two, 2), 5);
    assert_int_equal(proctree_descendants(root, 105, out, 16), 0);
    assert_int_equal(proctree_descendants(root, 999, out, 16), ERR_NOENT);
}

static void test_fixture_descendants(void **state)
{
    (void)state;
    check_fixture_descendants(PROC_FIX "/tree");
    check_fixture_descendants(PROC_FIX "/scan");
}

static void test_bad_root(void **state)
{
    (void)state;
    pid_t out[4];
    assert_null(proctree_new(PROC_FIX "/no-such-folder"));
    assert_true(proctree_descendants(PROC_FIX "/no-such-folder", 1, out, 4) < 0);
    proctree_free(NULL);
}

/* ---- live trees ---------------------------------------------------------------------------- */

enum { G_PLAIN, G_SETSID, G_IGNORE_TERM };

static void grandchild(int kind, int ready)
{
    if (kind == G_SETSID)
        setsid();
    if (kind == G_IGNORE_TERM)
        signal(SIGTERM, SIG_IGN);
    if (write(ready, "g", 1) != 1)
        _exit(2);
    for (;;)
        pause();
}

/* Forks a child (its own process group) that forks three grandchildren: one plain, one in a
 * new session, one ignoring SIGTERM. Returns when all four are set up. */
static pid_t spawn_tree(pid_t g[3])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    int gp[2];
    assert_int_equal(pipe(gp), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        setpgid(0, 0);
        close(p[0]);
        close(gp[0]);
        for (int i = 0; i < 3; i++) {
            pid_t x = fork();
            if (x == 0)
                grandchild(i, p[1]);
            if (x < 0 || write(gp[1], &x, sizeof x) != sizeof x)
                _exit(3);
        }
        for (;;)
            pause();
    }
    close(p[1]);
    close(gp[1]);
    for (int i = 0; i < 3; i++)
        assert_int_equal(read(gp[0], &g[i], sizeof g[i]), sizeof g[i]);
    char b[3];
    size_t got = 0;
    while (got < 3) {
        ssize_t r = read(p[0], b, sizeof b - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(p[0]);
    close(gp[0]);
    return c;
}

static int has(const pid_t *v, int n, pid_t x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static void assert_gone(pid_t pid)
{
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_live_descendants_and_kill(void **state)
{
    (void)state;
    pid_t g[3];
    pid_t c = spawn_tree(g);

    pid_t out[16];
    int n = proctree_descendants("/proc", getpid(), out, 16);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], c);
    for (int i = 0; i < 3; i++)
        assert_true(has(out, n, g[i]));
    assert_int_equal(proctree_descendants("/proc", c, out, 16), 3);

    proctree *pt = proctree_new("/proc");
    assert_non_null(pt);
    proctree_sample s;
    assert_int_equal(proctree_sample_tree(pt, c, 1, 1, &s), 0);
    assert_int_equal(s.nprocs, 4);
    assert_int_equal(s.zombies, 0);
    assert_int_equal(s.threads, 4);
    assert_true(s.fds >= 4 * 3);
    assert_true(s.rss_bytes > 0);
    assert_int_equal(s.pss_valid, 1);
    assert_true(s.pss_bytes > 0);
    proctree_free(pt);

    /* one grandchild ignores SIGTERM: it alone needs SIGKILL */
    assert_int_equal(treekill_run(c, 1, 300), 1);
    assert_gone(c);
    for (int i = 0; i < 3; i++)
        assert_gone(g[i]);
    assert_int_equal(proctree_descendants("/proc", getpid(), out, 16), 0);
}

static void test_live_kill_term_only(void **state)
{
    (void)state;
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (fork() == 0)
            for (;;)
                pause();
        for (;;)
            pause();
    }
    pid_t out[4];
    for (int i = 0; i < 200 && proctree_descendants("/proc", c, out, 4) < 1; i++)
        usleep(5000);
    assert_int_equal(proctree_descendants("/proc", c, out, 4), 1);
    assert_int_equal(treekill_run(c, 1, 2000), 0);
    assert_gone(c);
    assert_gone(out[0]);
}

static void test_live_signal_tree(void **state)
{
    (void)state;
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (fork() == 0)
            for (;;)
                pause();
        for (;;)
            pause();
    }
    pid_t out[4];
    for (int i = 0; i < 200 && proctree_descendants("/proc", c, out, 4) < 1; i++)
        usleep(5000);
    /* signal 0 checks that they exist and does nothing */
    assert_int_equal(treekill_signal_tree(c, 1, 0), 2);
    assert_int_equal(treekill_signal_tree(c, 0, 0), 1);
    assert_int_equal(treekill_signal_tree(c, 1, SIGKILL), 2);
    int st;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFSIGNALED(st));
    /* the grandchild was reparented to us (subreaper) */
    assert_int_equal(waitpid(out[0], &st, 0), out[0]);
    assert_int_equal(treekill_signal_tree(999999999, 1, 0), ERR_NOENT);
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return pid == getpid() ? n - 1 : n; /* minus the folder we just read */
}

/* A child that burns 300 ms of CPU when told to, then says so. */
static void test_live_cpu_delta_and_fds(void **state)
{
    (void)state;
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        char b;
        close(go[1]);
        close(done[0]);
        /* ready: its fds no longer change, so a sample and a listing agree */
        if (write(done[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(1);
        struct timespec t0, t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        do
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
        if (write(done[1], "d", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(go[0]);
    close(done[1]);
    char ready;
    assert_int_equal(read(done[0], &ready, 1), 1);
    int fds_before = count_fds(getpid());
    proctree *pt = proctree_new("/proc");
    assert_non_null(pt);
    proctree_sample s;
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
    assert_int_equal(s.nprocs, 1);
    /* the fd count matches a plain listing of /proc/PID/fd */
    assert_int_equal(s.fds, count_fds(c));
    /* again, through the files kept open since the first sample */
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
    assert_int_equal(s.fds, count_fds(c));
    char b;
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(read(done[0], &b, 1), 1);
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
    assert_true(s.cpu_seconds_delta >= 0.25);
    assert_true(s.cpu_seconds_delta < 5.0);
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
    assert_true(s.cpu_seconds_delta < 0.1);
    /* files kept open for the sampled process are closed once it is gone */
    assert_true(count_fds(getpid()) > fds_before + 1);
    assert_int_equal(treekill_run(c, 1, 1000), 0);
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), ERR_NOENT);
    assert_int_equal(count_fds(getpid()), fds_before + 1); /* the /proc folder */
    proctree_free(pt);
    assert_int_equal(count_fds(getpid()), fds_before);
    close(go[1]);
    close(done[0]);
}

/* Processes that leave or join the tree between samples are seen as they are. */
static void test_live_tree_changes(void **state)
{
    (void)state;
    pid_t g[3];
    pid_t c = spawn_tree(g);
    proctree *pt = proctree_new("/proc");
    assert_non_null(pt);
    proctree_sample s;
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
    assert_int_equal(s.nprocs, 4);
    assert_int_equal(kill(g[0], SIGKILL), 0);
    /* not reaped yet: a zombie, still in the tree (its parent is c) */
    for (int i = 0; i < 200; i++) {
        assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), 0);
        if (s.zombies == 1)
            break;
        usleep(5000);
    }
    assert_int_equal(s.nprocs, 4);
    assert_int_equal(s.zombies, 1);
    assert_int_equal(proctree_sample_tree(pt, c, 0, 0, &s), 0);
    assert_int_equal(s.nprocs, 3);
    assert_int_equal(treekill_run(c, 1, 300), 1);
    assert_int_equal(proctree_sample_tree(pt, c, 1, 0, &s), ERR_NOENT);
    proctree_free(pt);
}

int main(void)
{
    alarm(60); /* the live tests fork and wait: never hang ctest */
    /* orphans stay our children, as in soak */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_weird_comm),
        cmocka_unit_test(test_stat_zombie),
        cmocka_unit_test(test_stat_minimal_and_truncated),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_smaps_rollup),
        cmocka_unit_test(test_children),
        cmocka_unit_test(test_fixture_tree),
        cmocka_unit_test(test_fixture_scan_fallback),
        cmocka_unit_test(test_fixture_descendants),
        cmocka_unit_test(test_bad_root),
        cmocka_unit_test(test_live_descendants_and_kill),
        cmocka_unit_test(test_live_kill_term_only),
        cmocka_unit_test(test_live_signal_tree),
        cmocka_unit_test(test_live_cpu_delta_and_fds),
        cmocka_unit_test(test_live_tree_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
