/* Tests of cgsample: the v2 and v1 readers over fixture directories laid out as
 * /sys/fs/cgroup is (tests/fixtures/watch/cg) with processes in a fixture /proc, the errors a
 * user reads for a path that is not a cgroup, and the keyed-file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgsample.h"
#include "errcode.h"

#define CG   FIXTURES "/watch/cg"
#define PROC FIXTURES "/watch/proc"

static void test_v2(void **state)
{
    (void)state;
    cgsample *cg;
    char err[512];
    assert_int_equal(cgsample_open(CG "/v2/bot/", &cg, err, sizeof err), 0);
    assert_int_equal(cgsample_version(cg), 2);
    assert_string_equal(cgsample_describe(cg), "cgroup v2 " CG "/v2/bot");
    cgsample_values v;
    cgsample_read(cg, &v);
    assert_int_equal(v.version, 2);
    assert_int_equal(v.memory_bytes, 52428800);
    assert_int_equal(v.anon_bytes, 41943040);
    assert_int_equal(v.file_bytes, 8388608);
    assert_true(v.cpu_seconds > 2.4999 && v.cpu_seconds < 2.5001);
    assert_int_equal(v.pids, 3);
    assert_int_equal(v.oom_kills, 1);
    assert_int_equal(cgsample_oom_since_open(cg), 0); /* 1 at open: none since */
    pid_t p[8];
    assert_int_equal(cgsample_procs(cg, p, 8), 3);
    assert_int_equal(p[0], 4242);
    assert_int_equal(p[2], 4244);
    assert_int_equal(cgsample_procs(cg, p, 1), 3); /* the count, past the cap */

    proctree_sample s;
    long page = sysconf(_SC_PAGESIZE);
    assert_int_equal(cgsample_tree(cg, PROC, 1, &s), 3);
    assert_int_equal(s.nprocs, 3);
    assert_int_equal(s.zombies, 1);
    assert_int_equal(s.threads, 4);
    assert_int_equal(s.fds, 4);
    assert_int_equal(s.rss_bytes, (uint64_t)(2560 + 512) * (uint64_t)page);
    assert_int_equal(s.pss_valid, 1);
    assert_int_equal(s.pss_bytes, (8192 + 1024) * 1024);
    assert_true(s.cpu_seconds_delta > 2.4999 && s.cpu_seconds_delta < 2.5001);
    /* the counter did not move: no CPU since */
    assert_int_equal(cgsample_tree(cg, PROC, 0, &s), 3);
    assert_int_equal(s.pss_valid, 0);
    assert_true(s.cpu_seconds_delta == 0);
    cgsample_free(cg);
}

static void test_v1(void **state)
{
    (void)state;
    cgsample *cg;
    char err[512];
    assert_int_equal(cgsample_open(CG "/v1/memory/bot", &cg, err, sizeof err), 0);
    assert_int_equal(cgsample_version(cg), 1);
    assert_string_equal(cgsample_describe(cg),
                        "cgroup v1 " CG "/v1/memory/bot (cpuacct: yes, pids: yes)");
    cgsample_values v;
    cgsample_read(cg, &v);
    assert_int_equal(v.memory_bytes, 62914560);
    assert_int_equal(v.anon_bytes, 47185920);
    assert_int_equal(v.file_bytes, 10485760);
    assert_true(v.cpu_seconds > 1.4999 && v.cpu_seconds < 1.5001);
    assert_int_equal(v.pids, 2);
    assert_int_equal(v.oom_kills, 0);
    proctree_sample s;
    assert_int_equal(cgsample_tree(cg, PROC, 0, &s), 2);
    assert_int_equal(s.zombies, 0);
    assert_int_equal(s.threads, 4);
    assert_true(s.cpu_seconds_delta > 1.4999 && s.cpu_seconds_delta < 1.5001);
    cgsample_free(cg);

    /* given through another controller's directory: the memory controller's is used */
    assert_int_equal(cgsample_open(CG "/v1/pids/bot", &cg, err, sizeof err), 0);
    assert_string_equal(cgsample_describe(cg),
                        "cgroup v1 " CG "/v1/memory/bot (cpuacct: yes, pids: yes)");
    cgsample_free(cg);
}

/* v1 with the memory controller only: no CPU counter (the processes' ticks), no pids, no
 * oom_kill. */
static void test_v1_memory_only(void **state)
{
    (void)state;
    cgsample *cg;
    char err[512];
    assert_int_equal(cgsample_open(CG "/v1only/memory/bot", &cg, err, sizeof err), 0);
    assert_string_equal(cgsample_describe(cg),
                        "cgroup v1 " CG "/v1only/memory/bot (cpuacct: no, pids: no)");
    cgsample_values v;
    cgsample_read(cg, &v);
    assert_int_equal(v.memory_bytes, 1048576);
    assert_true(v.cpu_seconds < 0);
    assert_int_equal(v.pids, -1);
    assert_int_equal(v.oom_kills, -1);
    assert_int_equal(cgsample_oom_since_open(cg), 0);
    proctree_sample s;
    assert_int_equal(cgsample_tree(cg, PROC, 0, &s), 1);
    long hz = sysconf(_SC_CLK_TCK);
    assert_true(s.cpu_seconds_delta > 200.0 / (double)hz - 1e-9 &&
                s.cpu_seconds_delta < 200.0 / (double)hz + 1e-9);
    cgsample_free(cg);
}

static void test_errors(void **state)
{
    (void)state;
    cgsample *cg = (cgsample *)1;
    char err[512];
    assert_int_equal(cgsample_open(CG "/nonexistent", &cg, err, sizeof err), ERR_NOENT);
    assert_null(cg);
    assert_string_equal(err, "cgroup '" CG "/nonexistent': No such file or directory");
    assert_int_equal(cgsample_open(CG "/notcg", &cg, err, sizeof err), ERR_CONFIG);
    assert_string_equal(err, "cgroup '" CG "/notcg' has no memory.current: not a cgroup v2 "
                             "directory with the memory controller (nor a v1 controller's "
                             "directory such as /sys/fs/cgroup/memory/NAME)");
    assert_int_equal(cgsample_open(CG "/notcg/readme", &cg, err, sizeof err), ERR_NOENT);
    assert_string_equal(err, "cgroup '" CG "/notcg/readme': not a directory");
    /* a v1 controller's path whose memory controller does not hold it */
    assert_int_equal(cgsample_open(CG "/v1/cpuacct", &cg, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "has no memory.usage_in_bytes"));
}

static void test_parse_keyed(void **state)
{
    (void)state;
    const char t[] = "low 0\nhigh 0\nmax 20\noom 3\noom_kill 2\noom_group_kill 0\n";
    int64_t v = -5;
    assert_int_equal(cgsample_parse_keyed(t, sizeof t - 1, "oom_kill", &v), 0);
    assert_int_equal(v, 2); /* not oom's 3: the whole key */
    assert_int_equal(cgsample_parse_keyed(t, sizeof t - 1, "oom", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(cgsample_parse_keyed(t, sizeof t - 1, "nope", &v), ERR_NOENT);
    assert_int_equal(cgsample_parse_keyed("max x\n", 6, "max", &v), ERR_PARSE);
    assert_int_equal(cgsample_parse_keyed("max 1x\n", 7, "max", &v), ERR_PARSE);
    assert_int_equal(cgsample_parse_keyed("max 12", 5, "max", &v), 0); /* len bounds it */
    assert_int_equal(v, 1);
    /* the largest int64 is read; one more (19 digits, found by fuzz_watchtarget) is refused */
    assert_int_equal(cgsample_parse_keyed("max 9223372036854775807\n", 24, "max", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(cgsample_parse_keyed("max 9999999999999999999\n", 24, "max", &v), ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v1_memory_only),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parse_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
