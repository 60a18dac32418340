/* Tests of runlock: one lock holder per folder (a second taker is refused, a prober never takes
 * it, a closed holder frees it), the pid file's three facts, the match that `soak stop` relies
 * on (a copied pid file, a reused pid or a free lock stop nothing), and leftover detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "runlock.h"
#include "testutil.h"

static char *mkdir_tmp(void)
{
    static char tmpl[64];
    return tu_tmpdir(tmpl, sizeof tmpl, "test_runlock");
}

static void rm_rf(const char *dir)
{
    assert_int_equal(tu_rmtree(dir), 0);
}

static void test_second_taker_refused(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char err[512];
    runlock a, b;
    assert_int_equal(runlock_held(dir), 0); /* no lock file yet */
    assert_int_equal(runlock_take(&a, dir, err, sizeof err), 0);
    assert_int_equal(runlock_held(dir), 1);
    /* another open file description, as another soak would have, is refused */
    assert_int_equal(runlock_take(&b, dir, err, sizeof err), ERR_BUSY);
    assert_non_null(strstr(err, "is in use by a running soak"));
    assert_int_equal(b.fd, -1);
    /* a probe does not take it: the holder still holds, a taker is still refused */
    assert_int_equal(runlock_held(dir), 1);
    runlock_release(&a);
    assert_int_equal(a.fd, -1);
    assert_int_equal(runlock_held(dir), 0);
    assert_int_equal(runlock_take(&b, dir, err, sizeof err), 0);
    runlock_release(&b);
    runlock_release(&b); /* twice is safe */
    rm_rf(dir);
}

static void test_refusal_names_holder(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char err[512];
    runlock a, b;
    assert_int_equal(runlock_take(&a, dir, err, sizeof err), 0);
    assert_int_equal(runlock_write_pid(dir, err, sizeof err), 0);
    assert_int_equal(runlock_take(&b, dir, err, sizeof err), ERR_BUSY);
    char want[64];
    snprintf(want, sizeof want, "(pid %d)", (int)getpid());
    assert_non_null(strstr(err, want));
    runlock_release(&a);
    rm_rf(dir);
}

static void test_lock_released_when_holder_dies(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char err[512];
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        runlock l;
        char c = runlock_take(&l, dir, err, sizeof err) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    runlock l;
    assert_int_equal(runlock_take(&l, dir, err, sizeof err), ERR_BUSY);
    kill(pid, SIGKILL); /* however it ends, the kernel releases the lock */
    waitpid(pid, NULL, 0);
    assert_int_equal(runlock_held(dir), 0);
    assert_int_equal(runlock_take(&l, dir, err, sizeof err), 0);
    runlock_release(&l);
    close(p[0]);
    close(p[1]);
    rm_rf(dir);
}

static void test_pid_file(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char err[512];
    runlock_owner o;
    assert_int_equal(runlock_read_pid(dir, &o), ERR_NOENT);
    assert_int_equal(runlock_write_pid(dir, err, sizeof err), 0);
    assert_int_equal(runlock_read_pid(dir, &o), 0);
    assert_int_equal(o.pid, getpid());
    assert_true(o.start_ticks > 0);
    assert_int_equal(o.start_ticks, runlock_proc_start(getpid()));
    assert_string_equal(o.dir, dir);
    /* the first line alone is the pid, as older readers parse it */
    char path[128];
    snprintf(path, sizeof path, "%s/soak.pid", dir);
    FILE *f = fopen(path, "r");
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    assert_int_equal(pid, getpid());
    /* an old file with only a pid: read, without start or folder */
    f = fopen(path, "w");
    fprintf(f, "12345\n");
    fclose(f);
    assert_int_equal(runlock_read_pid(dir, &o), 0);
    assert_int_equal(o.pid, 12345);
    assert_int_equal(o.start_ticks, 0);
    assert_string_equal(o.dir, "");
    f = fopen(path, "w");
    fprintf(f, "garbage\n");
    fclose(f);
    assert_int_equal(runlock_read_pid(dir, &o), ERR_PARSE);
    rm_rf(dir);
}

static void test_owner_matches(void **state)
{
    (void)state;
    runlock_owner o = {.pid = 100, .start_ticks = 777};
    snprintf(o.dir, sizeof o.dir, "/runs/a");
    assert_int_equal(runlock_owner_matches(&o, "/runs/a", 777, 1), 1);
    /* a pid file copied into another folder */
    assert_int_equal(runlock_owner_matches(&o, "/runs/b", 777, 1), 0);
    /* the pid reused by another process */
    assert_int_equal(runlock_owner_matches(&o, "/runs/a", 778, 1), 0);
    /* no such process */
    assert_int_equal(runlock_owner_matches(&o, "/runs/a", 0, 1), 0);
    /* nobody holds the folder's lock */
    assert_int_equal(runlock_owner_matches(&o, "/runs/a", 777, 0), 0);
    /* an old pid file without start time or folder proves nothing */
    runlock_owner old = {.pid = 100};
    assert_int_equal(runlock_owner_matches(&old, "/runs/a", 777, 1), 0);
    runlock_owner nopid = o;
    nopid.pid = 0;
    assert_int_equal(runlock_owner_matches(&nopid, "/runs/a", 777, 1), 0);
}

static void test_owner_pid_copied_file(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    char a[64], b[64], err[512], cmd[256];
    snprintf(a, sizeof a, "%s", d);
    d = mkdir_tmp();
    snprintf(b, sizeof b, "%s", d);
    runlock l;
    assert_int_equal(runlock_take(&l, a, err, sizeof err), 0);
    assert_int_equal(runlock_write_pid(a, err, sizeof err), 0);
    assert_int_equal(runlock_owner_pid(a), getpid());
    /* the live run's pid file copied into b, whose lock somebody holds too */
    snprintf(cmd, sizeof cmd, "cp '%s/soak.pid' '%s/soak.pid'", a, b);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(runlock_owner_pid(b), 0);
    runlock lb;
    assert_int_equal(runlock_take(&lb, b, err, sizeof err), 0);
    assert_int_equal(runlock_owner_pid(b), 0);
    runlock_release(&lb);
    /* the run's own folder, given relative or with a trailing slash, still matches */
    char rel[80];
    snprintf(rel, sizeof rel, "%s/", a);
    assert_int_equal(runlock_owner_pid(rel), getpid());
    runlock_release(&l);
    assert_int_equal(runlock_owner_pid(a), 0); /* a pid file without its lock */
    rm_rf(a);
    rm_rf(b);
}

static void test_leftovers(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char err[512];
    pid_t got[8];
    assert_int_equal(runlock_leftovers(dir, got, 8), 0); /* no file */
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        pause();
        _exit(0);
    }
    setpgid(child, child);
    assert_int_equal(runlock_note_child(dir, child), 0);
    /* a recorded pid that does not live any more, and one whose start time differs */
    char path[128];
    snprintf(path, sizeof path, "%s/soak.children", dir);
    FILE *f = fopen(path, "a");
    fprintf(f, "%d 1\n", (int)getpid());
    fprintf(f, "999999999 5\n");
    fclose(f);
    size_t n = runlock_leftovers(dir, got, 8);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(runlock_leftovers(dir, got, 8), 0);
    /* a new pid file empties the list */
    assert_int_equal(runlock_note_child(dir, getpid()), 0);
    assert_int_equal(runlock_write_pid(dir, err, sizeof err), 0);
    assert_int_equal(runlock_leftovers(dir, got, 8), 0);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_taker_refused),
        cmocka_unit_test(test_refusal_names_holder),
        cmocka_unit_test(test_lock_released_when_holder_dies),
        cmocka_unit_test(test_pid_file),
        cmocka_unit_test(test_owner_matches),
        cmocka_unit_test(test_owner_pid_copied_file),
        cmocka_unit_test(test_leftovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
