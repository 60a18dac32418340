/* Tests of watchtarget: the parsers of what soak watch reads from outside, over recorded
 * output (tests/fixtures/watch: systemctl show, docker inspect, podman inspect, /proc/PID/cgroup
 * of this sandbox and of a container) and over broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "watchtarget.h"

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/watch/%s", FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_pid(void **state)
{
    (void)state;
    pid_t p = -1;
    assert_int_equal(wt_parse_pid("1234\n", 5, &p), 0);
    assert_int_equal(p, 1234);
    assert_int_equal(wt_parse_pid("  77 \r\nsecond line", 19, &p), 0);
    assert_int_equal(p, 77);
    assert_int_equal(wt_parse_pid("42", 2, &p), 0); /* no newline */
    assert_int_equal(wt_parse_pid("", 0, &p), ERR_PARSE);
    assert_int_equal(p, 0);
    assert_int_equal(wt_parse_pid("\n", 1, &p), ERR_PARSE);
    assert_int_equal(wt_parse_pid("12a\n", 4, &p), ERR_PARSE);
    assert_int_equal(wt_parse_pid("-5\n", 3, &p), ERR_PARSE);
    assert_int_equal(wt_parse_pid("0\n", 2, &p), ERR_RANGE);
    assert_int_equal(wt_parse_pid("4194305\n", 8, &p), ERR_RANGE);
    assert_int_equal(wt_parse_pid("99999999999999999999\n", 21, &p), ERR_PARSE);
    assert_int_equal(wt_parse_pid("12 13\n", 6, &p), ERR_PARSE);
    assert_int_equal(wt_parse_pid("123456", 3, &p), 0); /* len bounds the read */
    assert_int_equal(p, 123);
}

static void test_proc_cgroup(void **state)
{
    (void)state;
    size_t n;
    wt_proc_cgroup c;
    char *t = slurp("proc-cgroup-sandbox.txt", &n); /* this machine: v1 with an empty v2 */
    assert_int_equal(wt_parse_proc_cgroup(t, n, &c), 0);
    assert_string_equal(c.v2, "/");
    assert_true(c.memory[0] == '/');
    t = slurp("proc-cgroup-hybrid.txt", &n);
    assert_int_equal(wt_parse_proc_cgroup(t, n, &c), 0);
    assert_string_equal(c.memory, "/docker/4f1c2b7a9d3e8f6a");
    assert_string_equal(c.v2, "/docker/4f1c2b7a9d3e8f6a");
    t = slurp("proc-cgroup-v2.txt", &n);
    assert_int_equal(wt_parse_proc_cgroup(t, n, &c), 0);
    assert_string_equal(c.v2, "/system.slice/docker-4f1c2b7a9d3e8f6a.scope");
    assert_string_equal(c.memory, "");
    t = slurp("proc-cgroup-v1.txt", &n);
    assert_int_equal(wt_parse_proc_cgroup(t, n, &c), 0);
    assert_string_equal(c.memory, "/user.slice/user-0.slice");
    assert_string_equal(c.v2, "");
    /* memory in a list of controllers; memsomething is not memory */
    const char l[] = "5:cpu,memory:/a\n6:memoryx:/b\n";
    assert_int_equal(wt_parse_proc_cgroup(l, sizeof l - 1, &c), 0);
    assert_string_equal(c.memory, "/a");
    assert_int_equal(wt_parse_proc_cgroup("3:pids:/x\n", 10, &c), ERR_NOENT);
    assert_int_equal(wt_parse_proc_cgroup("garbage\n", 8, &c), ERR_PARSE);
    assert_int_equal(wt_parse_proc_cgroup("x::/\n", 5, &c), ERR_PARSE);
    assert_int_equal(wt_parse_proc_cgroup("0::relative\n", 12, &c), ERR_PARSE);
    assert_string_equal(c.v2, ""); /* nothing half-filled */
}

static void test_systemctl(void **state)
{
    (void)state;
    size_t n;
    wt_unit u;
    int code, sig;
    char *t = slurp("systemctl-show-running.txt", &n);
    assert_int_equal(wt_parse_systemctl_show(t, n, &u), 0);
    assert_string_equal(u.id, "bot.service");
    assert_string_equal(u.cgroup, "/system.slice/bot.service");
    assert_int_equal(u.main_pid, 12345);
    assert_string_equal(u.active_state, "active");
    assert_string_equal(u.sub_state, "running");
    assert_string_equal(u.result, "success");
    assert_int_equal(u.n_restarts, 0);
    assert_int_equal(wt_unit_exit(&u, &code, &sig), 0); /* it has not exited */

    t = slurp("systemctl-show-exited.txt", &n);
    assert_int_equal(wt_parse_systemctl_show(t, n, &u), 0);
    assert_int_equal(wt_unit_exit(&u, &code, &sig), 1);
    assert_int_equal(code, 3);
    assert_int_equal(sig, 0);
    assert_string_equal(u.result, "exit-code");
    assert_int_equal(u.n_restarts, 1);

    t = slurp("systemctl-show-failed.txt", &n); /* stopped: no ControlGroup */
    assert_int_equal(wt_parse_systemctl_show(t, n, &u), ERR_NOENT);
    assert_int_equal(wt_unit_exit(&u, &code, &sig), 1);
    assert_int_equal(sig, 9);
    assert_int_equal(code, -1);
    assert_string_equal(u.active_state, "failed");

    assert_int_equal(wt_parse_systemctl_show("no equals sign\n", 15, &u), ERR_PARSE);
    assert_int_equal(wt_parse_systemctl_show("MainPID=abc\n", 12, &u), ERR_PARSE);
    assert_int_equal(wt_parse_systemctl_show("ControlGroup=/x\r\n", 17, &u), 0);
    assert_string_equal(u.cgroup, "/x");
    assert_int_equal(u.n_restarts, -1);
}

static void test_inspect(void **state)
{
    (void)state;
    size_t n;
    wt_container c;
    char *t = slurp("docker-inspect-running.json", &n);
    assert_int_equal(wt_parse_inspect(t, n, &c), 0);
    assert_int_equal(c.pid, 12345);
    assert_int_equal(c.running, 1);
    assert_string_equal(c.status, "running");
    assert_string_equal(c.name, "/bot");
    assert_int_equal(c.oom_killed, 0);
    assert_string_equal(c.cgroup, "");

    t = slurp("docker-inspect-oom.json", &n);
    assert_int_equal(wt_parse_inspect(t, n, &c), 0);
    assert_int_equal(c.running, 0);
    assert_int_equal(c.pid, 0);
    assert_int_equal(c.exit_code, 137);
    assert_int_equal(c.oom_killed, 1);

    t = slurp("podman-inspect-running.json", &n);
    assert_int_equal(wt_parse_inspect(t, n, &c), 0);
    assert_int_equal(c.pid, 23456);
    assert_string_equal(c.cgroup, "/machine.slice/libpod-b2a6a6c1f0e5.scope/container");

    assert_int_equal(wt_parse_inspect("[]", 2, &c), ERR_NOENT);
    assert_int_equal(wt_parse_inspect("[{\"Id\":\"x\"}]", 12, &c), ERR_PARSE);
    assert_int_equal(wt_parse_inspect("{\"State\":{\"Pid\":\"7\"}}", 21, &c), ERR_PARSE);
    assert_int_equal(wt_parse_inspect("[{\"State\":{\"Pid\":-4}}]", 22, &c), ERR_RANGE);
    assert_int_equal(wt_parse_inspect("not json", 8, &c), ERR_PARSE);
    assert_int_equal(c.pid, 0);
    /* the error message of `docker inspect` on a missing container is no inspect output */
    const char *e = "Error: No such object: nope\n";
    assert_int_equal(wt_parse_inspect(e, strlen(e), &c), ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid),
        cmocka_unit_test(test_proc_cgroup),
        cmocka_unit_test(test_systemctl),
        cmocka_unit_test(test_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
