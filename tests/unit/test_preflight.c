/* Tests of preflight: what each check says (pass, warn or fail, and the reason a person reads),
 * that only what makes a run impossible fails, user checks by exit code with their output kept
 * and secrets redacted, and preflight.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cmdrun.h"
#include "errcode.h"
#include "opts.h"
#include "preflight.h"
#include "runlock.h"
#include "testutil.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

static const preflight_check *find(const preflight_result *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->c[i].name, name))
            return &r->c[i];
    return NULL;
}

static void test_disk_verdict(void **state)
{
    (void)state;
    char why[320];
    assert_int_equal(preflight_disk_verdict(100 * GiB, 200 * GiB, 5 * GiB, GiB, why, sizeof why),
                     PREFLIGHT_PASS);
    /* issue 10: min_free_disk larger than the disk is a warning, not a deletion spree */
    assert_int_equal(preflight_disk_verdict(7 * MiB, 8 * MiB, 6 * MiB, GiB, why, sizeof why),
                     PREFLIGHT_WARN);
    assert_non_null(strstr(why, "min_free_disk 1.0 GiB is not less than the disk's size"));
    assert_int_equal(preflight_disk_verdict(GiB / 2, 200 * GiB, 5 * GiB, GiB, why, sizeof why),
                     PREFLIGHT_WARN);
    assert_non_null(strstr(why, "below min_free_disk"));
    assert_int_equal(preflight_disk_verdict(2 * GiB, 200 * GiB, 5 * GiB, GiB, why, sizeof why),
                     PREFLIGHT_WARN);
    assert_non_null(strstr(why, "less than artifacts_quota"));
    /* min_free_disk 0: never cleans; only the quota counts */
    assert_int_equal(preflight_disk_verdict(6 * GiB, 8 * GiB, 5 * GiB, 0, why, sizeof why),
                     PREFLIGHT_PASS);
}

static void test_limit_and_clock_verdicts(void **state)
{
    (void)state;
    char why[320];
    assert_int_equal(preflight_limit_verdict("RLIMIT_NOFILE", 256, 1024, why, sizeof why),
                     PREFLIGHT_WARN);
    assert_string_equal(why, "RLIMIT_NOFILE is 256, a run may need 1024");
    assert_int_equal(preflight_limit_verdict("RLIMIT_NOFILE", 1024, 1024, why, sizeof why),
                     PREFLIGHT_PASS);
    assert_int_equal(preflight_limit_verdict("RLIMIT_NPROC", UINT64_MAX, 256, why, sizeof why),
                     PREFLIGHT_PASS);
    assert_int_equal(preflight_clock_verdict(TIME_OK, 0, why, sizeof why), PREFLIGHT_PASS);
    assert_int_equal(preflight_clock_verdict(TIME_ERROR, 0, why, sizeof why), PREFLIGHT_WARN);
    assert_int_equal(preflight_clock_verdict(TIME_OK, STA_UNSYNC, why, sizeof why), PREFLIGHT_WARN);
    assert_non_null(strstr(why, "not synchronised"));
    assert_int_equal(preflight_clock_verdict(-1, 0, why, sizeof why), PREFLIGHT_WARN);
}

static void test_user_verdict(void **state)
{
    (void)state;
    char why[320];
    cmdrun_result r = {.exit_code = 0};
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_PASS);
    r.exit_code = 1;
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_WARN);
    assert_string_equal(why, "exit 1 (a warning)");
    r.exit_code = 2;
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_FAIL);
    assert_string_equal(why, "exit 2");
    r = (cmdrun_result){.exit_code = 137, .signal = 9, .timed_out = 1};
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_FAIL);
    assert_string_equal(why, "timed out");
    r = (cmdrun_result){.exit_code = 143, .signal = 15};
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_FAIL);
    assert_string_equal(why, "killed by signal 15");
    r = (cmdrun_result){.exit_code = -1, .spawn_errno = 2};
    assert_int_equal(preflight_user_verdict(&r, why, sizeof why), PREFLIGHT_FAIL);
    assert_string_equal(why, "cannot start: No such file or directory");
}

static void test_redact(void **state)
{
    (void)state;
    char t[256];
    setenv("TEST_API_SECRET", "s3cr3tvalue", 1);
    snprintf(t, sizeof t, "using s3cr3tvalue now; token=abc123&x=1 password: hunter2 key=\n");
    size_t n = preflight_redact(t, sizeof t);
    assert_int_equal(n, 3);
    assert_string_equal(t, "using *** now; token=***&x=1 password: *** key=\n");
    /* a short value is not a secret worth hiding everywhere (it would eat ordinary words) */
    setenv("TEST_TOKEN", "ab", 1);
    snprintf(t, sizeof t, "about ab");
    assert_int_equal(preflight_redact(t, sizeof t), 0);
    assert_string_equal(t, "about ab");
    unsetenv("TEST_API_SECRET");
    unsetenv("TEST_TOKEN");
}

static void test_add_caps(void **state)
{
    (void)state;
    static preflight_result r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < PREFLIGHT_MAX + 5; i++)
        preflight_add(&r, "x", i % 2 ? PREFLIGHT_WARN : PREFLIGHT_FAIL, "n %d", i);
    assert_int_equal(r.n, PREFLIGHT_MAX);
    assert_int_equal(r.nwarn + r.nfail, PREFLIGHT_MAX + 5); /* counted even when not kept */
}

typedef struct fx {
    opts o;
    preflight_result r;
    char dir[64];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    opts_init(&f->o);
    if (!tu_tmpdir(f->dir, sizeof f->dir, "test_preflight"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (tu_rmtree(f->dir) != 0)
        return -1;
    opts_free(&f->o);
    free(f);
    return 0;
}

static void set(opts *o, const char *k, const char *v)
{
    char err[256];
    if (opts_set(o, k, v, err, sizeof err))
        fail_msg("%s: %s", k, err);
}

static void test_run_user_checks(void **state)
{
    fx *f = *state;
    setenv("TEST_PF_PASSWORD", "topsecret42", 1);
    set(&f->o, "preflight.timeout", "500ms");
    set(&f->o, "preflight.checks.ok", "echo fine");
    set(&f->o, "preflight.checks.soso", "echo half; exit 1");
    set(&f->o, "preflight.checks.bad", "echo login topsecret42 refused >&2; exit 3");
    set(&f->o, "preflight.checks.slow", "sleep 5");
    char *argv[] = {"/bin/true"};
    char err[256];
    assert_int_equal(opts_set_command(&f->o, argv, 1, err, sizeof err), 0);
    assert_int_equal(preflight_run(&f->o, f->dir, 0, &f->r), ERR_BADSTATE);
    const preflight_check *c = find(&f->r, "user.ok");
    assert_non_null(c);
    assert_int_equal(c->status, PREFLIGHT_PASS);
    assert_string_equal(c->output, "fine");
    c = find(&f->r, "user.soso");
    assert_int_equal(c->status, PREFLIGHT_WARN);
    assert_int_equal(c->exit_code, 1);
    c = find(&f->r, "user.bad");
    assert_int_equal(c->status, PREFLIGHT_FAIL);
    assert_string_equal(c->reason, "exit 3");
    assert_string_equal(c->output, "login *** refused"); /* kept, the secret redacted */
    c = find(&f->r, "user.slow");
    assert_int_equal(c->status, PREFLIGHT_FAIL);
    assert_string_equal(c->reason, "timed out after 500ms");
    assert_true(c->duration_s < 3);
    assert_int_equal(find(&f->r, "command")->status, PREFLIGHT_PASS);
    assert_int_equal(find(&f->r, "folder")->status, PREFLIGHT_PASS);
    assert_int_equal(find(&f->r, "lock")->status, PREFLIGHT_PASS);
    assert_int_equal(f->r.nfail, 2);
    /* the JSON says the same */
    char *js = preflight_json(&f->r);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
    assert_int_equal(cJSON_GetObjectItem(j, "fail")->valueint, 2);
    int seen = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "checks"))
    {
        if (!strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "user.bad")) {
            seen = 1;
            assert_string_equal(cJSON_GetObjectItem(it, "status")->valuestring, "fail");
            assert_int_equal(cJSON_GetObjectItem(it, "exit_code")->valueint, 3);
        }
    }
    assert_true(seen);
    assert_null(strstr(js, "topsecret42"));
    cJSON_Delete(j);
    free(js);
    assert_int_equal(preflight_write_json(&f->r, f->dir, err, sizeof err), 0);
    unsetenv("TEST_PF_PASSWORD");
}

static void test_run_impossible(void **state)
{
    fx *f = *state;
    char err[256], path[128];
    /* the command does not exist */
    char *argv[] = {"no-such-command-here-xyz"};
    assert_int_equal(opts_set_command(&f->o, argv, 1, err, sizeof err), 0);
    assert_int_equal(preflight_run(&f->o, f->dir, 0, &f->r), ERR_BADSTATE);
    const preflight_check *c = find(&f->r, "command");
    assert_int_equal(c->status, PREFLIGHT_FAIL);
    assert_string_equal(c->reason,
                        "cannot run 'no-such-command-here-xyz': No such file or directory");
    /* another run holds the folder's lock */
    char *ok[] = {"/bin/true"};
    assert_int_equal(opts_set_command(&f->o, ok, 1, err, sizeof err), 0);
    runlock l;
    assert_int_equal(runlock_take(&l, f->dir, err, sizeof err), 0);
    assert_int_equal(preflight_run(&f->o, f->dir, 0, &f->r), ERR_BADSTATE);
    assert_int_equal(find(&f->r, "lock")->status, PREFLIGHT_FAIL);
    /* the holder itself passes */
    assert_int_equal(preflight_run(&f->o, f->dir, 1, &f->r), 0);
    assert_int_equal(find(&f->r, "lock")->status, PREFLIGHT_PASS);
    runlock_release(&l);
    /* a folder that cannot be created (its parent is a file) */
    snprintf(path, sizeof path, "%s/file", f->dir);
    FILE *fp = fopen(path, "w");
    fclose(fp);
    snprintf(path, sizeof path, "%s/file/run", f->dir);
    assert_int_equal(preflight_run(&f->o, path, 0, &f->r), ERR_BADSTATE);
    assert_int_equal(find(&f->r, "folder")->status, PREFLIGHT_FAIL);
    /* a folder to be created under a writable parent passes */
    snprintf(path, sizeof path, "%s/new/run", f->dir);
    assert_int_equal(preflight_run(&f->o, path, 0, &f->r), 0);
    assert_int_equal(find(&f->r, "folder")->status, PREFLIGHT_PASS);
    /* host checks only warn, whatever they find */
    for (size_t i = 0; i < f->r.n; i++)
        if (!strncmp(f->r.c[i].name, "limits", 6) || !strcmp(f->r.c[i].name, "clock") ||
            !strcmp(f->r.c[i].name, "disk"))
            assert_int_not_equal(f->r.c[i].status, PREFLIGHT_FAIL);
}

static void test_run_listen_in_use(void **state)
{
    fx *f = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    set(&f->o, "listen", addr);
    /* soak could not serve its endpoints: the run is impossible */
    assert_int_equal(preflight_run(&f->o, f->dir, 0, &f->r), ERR_BADSTATE);
    const preflight_check *c = find(&f->r, "listen");
    assert_int_equal(c->status, PREFLIGHT_FAIL);
    assert_non_null(strstr(c->reason, "Address already in use"));
    close(fd);
    assert_int_equal(preflight_run(&f->o, f->dir, 0, &f->r), 0);
    assert_int_equal(find(&f->r, "listen")->status, PREFLIGHT_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_verdict),
        cmocka_unit_test(test_limit_and_clock_verdicts),
        cmocka_unit_test(test_user_verdict),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_add_caps),
        cmocka_unit_test_setup_teardown(test_run_user_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_impossible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_listen_in_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
