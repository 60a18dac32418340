/* Tests of watch: attaching and polling over a fixture /proc made in a temporary folder: the
 * pid file re-read (a replacement is followed, a gone process waited for, a reused pid is
 * another process), --pid (nothing comes back), the errors a user reads, and a cgroup target
 * whose processes leave and come back. */
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

#include "errcode.h"
#include "watch.h"
#include "testutil.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A process in the fixture /proc: state and start time. */
static void proc_add(int pid, char state, unsigned long start)
{
    char p[256], t[512];
    snprintf(p, sizeof p, "%s/proc/%d", dir, pid);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "proc/%d/stat", pid);
    snprintf(t, sizeof t,
             "%d (svc) %c 1 %d %d 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 %lu 1000 100 0 0 0 0 0 0 0 "
             "0 0 0 0 0 0 17 0 0 0 0 0 0\n",
             pid, state, pid, pid, start);
    put(p, t);
}

static void proc_del(int pid)
{
    char p[256];
    snprintf(p, sizeof p, "%s/proc/%d/stat", dir, pid);
    unlink(p);
    snprintf(p, sizeof p, "%s/proc/%d", dir, pid);
    rmdir(p);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(tu_tmpdir(dir, sizeof dir, "test_watch"));
    char p[256];
    snprintf(p, sizeof p, "%s/proc", dir);
    mkdir(p, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static watch *mk(watch_kind k, const char *target)
{
    watch_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = k;
    snprintf(sp.target, sizeof sp.target, "%s", target);
    snprintf(sp.proc_root, sizeof sp.proc_root, "%s/proc", dir);
    watch *w = watch_new(&sp);
    assert_non_null(w);
    return w;
}

static void test_pid_file(void **state)
{
    (void)state;
    char pf[128], err[512];
    snprintf(pf, sizeof pf, "%s/svc.pid", dir);
    proc_add(100, 'S', 1000);
    put("svc.pid", "100\n");
    watch *w = mk(WATCH_PID_FILE, pf);
    assert_int_equal(watch_attach(w, err, sizeof err), 0);
    assert_int_equal(watch_pid(w), 100);
    assert_int_equal(watch_can_return(w), 1);
    wsm_exit e;
    assert_int_equal(watch_poll(w, &e), WATCH_ALIVE);

    /* its supervisor starts another and rewrites the file */
    proc_del(100);
    proc_add(200, 'S', 2000);
    put("svc.pid", "200\n");
    assert_int_equal(watch_poll(w, &e), WATCH_REPLACED);
    assert_int_equal(watch_pid(w), 200);
    assert_int_equal(e.known, 0);
    assert_int_equal(watch_poll(w, &e), WATCH_ALIVE);

    /* it dies; the file still names it: gone, once told, then waited for */
    proc_add(200, 'Z', 2000);
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);
    assert_int_equal(e.known, 0);
    assert_string_equal(e.why, "exit code unknown: soak is not its parent");
    proc_del(200);
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);
    put("svc.pid", "garbage\n"); /* half-written: nothing to follow yet */
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);

    /* the same pid number again, but another process (another start time) */
    proc_add(200, 'S', 3000);
    put("svc.pid", "200\n");
    assert_int_equal(watch_poll(w, &e), WATCH_REPLACED);
    assert_int_equal(watch_pid(w), 200);
    assert_non_null(strstr(watch_describe(w), "(pid 200 "));
    watch_free(w);
}

static void test_pid(void **state)
{
    (void)state;
    char err[512];
    proc_add(300, 'S', 500);
    watch *w = mk(WATCH_PID, "300");
    assert_int_equal(watch_attach(w, err, sizeof err), 0);
    assert_string_equal(watch_describe(w), "pid 300 and its descendants");
    assert_string_equal(watch_target_text(w), "pid 300");
    assert_int_equal(watch_can_return(w), 0);
    wsm_exit e;
    assert_int_equal(watch_poll(w, &e), WATCH_ALIVE);
    /* pid reuse: another process with the same number is not the one watched */
    proc_add(300, 'S', 900);
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);
    watch_free(w);

    w = mk(WATCH_PID, "12345");
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_NOENT);
    assert_string_equal(err, "no such process 12345");
    watch_free(w);
    w = mk(WATCH_PID, "12x");
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_INVAL);
    assert_string_equal(err, "invalid pid '12x'");
    watch_free(w);
}

static void test_pid_file_errors(void **state)
{
    (void)state;
    char pf[128], err[512], want[600];
    snprintf(pf, sizeof pf, "%s/none.pid", dir);
    watch *w = mk(WATCH_PID_FILE, pf);
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_NOENT);
    snprintf(want, sizeof want, "cannot read pid file '%s': No such file or directory", pf);
    assert_string_equal(err, want);
    watch_free(w);
    snprintf(pf, sizeof pf, "%s/bad.pid", dir);
    put("bad.pid", "pid=7\n");
    w = mk(WATCH_PID_FILE, pf);
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_PARSE);
    snprintf(want, sizeof want, "pid file '%s' holds no pid", pf);
    assert_string_equal(err, want);
    watch_free(w);
    put("bad.pid", "4000\n");
    w = mk(WATCH_PID_FILE, pf);
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_NOENT);
    snprintf(want, sizeof want, "no such process 4000 (from pid file '%s')", pf);
    assert_string_equal(err, want);
    watch_free(w);
}

/* A cgroup (v2 layout) whose processes leave and come back: gone, then replaced. */
static void test_cgroup(void **state)
{
    (void)state;
    char cg[128], err[512];
    snprintf(cg, sizeof cg, "%s/cg", dir);
    mkdir(cg, 0755);
    put("cg/memory.current", "1048576\n");
    put("cg/cgroup.procs", "");
    proc_add(500, 'S', 100);
    watch *w = mk(WATCH_CGROUP, cg);
    assert_int_equal(watch_attach(w, err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, "has no processes"));
    watch_free(w);

    put("cg/cgroup.procs", "500\n");
    put("cg/memory.events", "oom 0\noom_kill 0\n");
    w = mk(WATCH_CGROUP, cg);
    assert_int_equal(watch_attach(w, err, sizeof err), 0);
    assert_int_equal(watch_pid(w), 500);
    wsm_exit e;
    assert_int_equal(watch_poll(w, &e), WATCH_ALIVE);
    cgsample_values v;
    assert_int_equal(watch_cgroup_values(w, &v), 1);
    assert_int_equal(v.memory_bytes, 1048576);
    /* killed by the OOM killer: the cgroup says so */
    put("cg/cgroup.procs", "");
    put("cg/memory.events", "oom 1\noom_kill 1\n");
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);
    assert_int_equal(e.oom_kill, 1);
    assert_string_equal(e.why, "OOM kill: memory.events oom_kill +1");
    assert_int_equal(watch_poll(w, &e), WATCH_GONE);
    assert_int_equal(e.oom_kill, 0); /* told once */
    proc_add(600, 'S', 200);
    put("cg/cgroup.procs", "600\n");
    assert_int_equal(watch_poll(w, &e), WATCH_REPLACED);
    assert_int_equal(watch_pid(w), 600);
    watch_free(w);
}

/* --on-hang: run with the pid and the target in its environment; nothing without one. */
static void test_on_hang(void **state)
{
    (void)state;
    char err[512], how[128], want[64];
    proc_add(700, 'S', 100);
    watch *w = mk(WATCH_PID, "700");
    assert_int_equal(watch_attach(w, err, sizeof err), 0);
    assert_int_equal(watch_on_hang(w, how, sizeof how), 0);
    watch_free(w);

    watch_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = WATCH_PID;
    snprintf(sp.target, sizeof sp.target, "700");
    snprintf(sp.proc_root, sizeof sp.proc_root, "%s/proc", dir);
    snprintf(sp.on_hang, sizeof sp.on_hang,
             "echo \"$SOAK_WATCH_PID $SOAK_WATCH_TARGET\" >'%s/hang.txt'; exit 4", dir);
    w = watch_new(&sp);
    assert_non_null(w);
    assert_int_equal(watch_attach(w, err, sizeof err), 0);
    assert_int_equal(watch_on_hang(w, how, sizeof how), 1);
    assert_string_equal(how, "exit 4");
    char p[128], got[64] = "";
    snprintf(p, sizeof p, "%s/hang.txt", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof got, f));
    fclose(f);
    snprintf(want, sizeof want, "700 pid 700\n");
    assert_string_equal(got, want);
    watch_free(w);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(watch_kind_name(WATCH_PID_FILE), "pid-file");
    assert_string_equal(watch_kind_name(WATCH_NKINDS), "unknown");
    assert_int_equal(watch_name_ok("nginx.service"), 1);
    assert_int_equal(watch_name_ok("bot@1.service"), 1);
    assert_int_equal(watch_name_ok("4f1c2b7a9d3e"), 1);
    assert_int_equal(watch_name_ok("a;rm -rf /"), 0);
    assert_int_equal(watch_name_ok("$(id)"), 0);
    assert_int_equal(watch_name_ok("-p"), 0);
    assert_int_equal(watch_name_ok(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pid_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cgroup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_hang, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
