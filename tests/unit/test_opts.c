/* Tests of opts: defaults, --set errors, patterns, the YAML file, dump round trips, and that
 * examples/soak.yaml says exactly the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "opts.h"

#define EXAMPLE FIXTURES "/../../examples/soak.yaml"

static void set_ok(opts *o, const char *key, const char *value)
{
    char err[256] = "";
    if (opts_set(o, key, value, err, sizeof err) != 0)
        fail_msg("%s=%s refused: %s", key, value, err);
}

static void set_fails(opts *o, const char *key, const char *value, const char *want)
{
    char err[256] = "";
    int rc = opts_set(o, key, value, err, sizeof err);
    if (rc >= 0 || strcmp(errcode_name(rc), "ERR_UNKNOWN") == 0)
        fail_msg("%s=%s: returned %d, not an ERR_* code", key, value, rc);
    if (!strstr(err, want))
        fail_msg("%s=%s: message '%s' does not contain '%s'", key, value, err, want);
}

/* Writes text to a new temporary file; path must hold the result. */
static void write_tmp(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/test_opts_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static int find_pattern(const opts *o, const char *name)
{
    for (size_t i = 0; i < o->npatterns; i++)
        if (strcmp(o->pattern_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void test_defaults(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    assert_int_equal(o.duration_ms, 86400000);
    assert_int_equal(o.interval_ms, 1000);
    assert_int_equal(o.pss_interval_ms, 60000);
    assert_string_equal(o.artifacts, "artifacts/soak");
    assert_string_equal(o.heartbeat, "\\[HB\\] alive");
    assert_int_equal(o.heartbeat_timeout_ms, 300000);
    assert_int_equal(o.restart, OPTS_RESTART_ON_FAILURE);
    assert_int_equal(o.stop_timeout_ms, 30000);
    assert_string_equal(o.metrics_url, "");
    assert_string_equal(o.listen, "");
    assert_int_equal(o.max_log_size, 64ull << 20);
    assert_int_equal(o.max_log_files, 5);
    assert_int_equal(o.artifacts_quota, 5000000000ull);
    assert_int_equal(o.min_free_disk, 1ull << 30);
    assert_int_equal(o.gzip_level, 1);
    assert_int_equal(o.restart_delay_ms, 1000);
    assert_int_equal(o.restart_delay_max_ms, 60000);
    assert_int_equal(o.start_limit_burst, 5);
    assert_int_equal(o.start_limit_interval_ms, 600000);
    assert_int_equal(o.status, OPTS_STATUS_AUTO);
    assert_int_equal(o.npatterns, 3);
    assert_string_equal(o.pattern_names[0], "reconnect");
    assert_string_equal(o.pattern_names[1], "error");
    assert_string_equal(o.pattern_names[2], "ratelimit");
    assert_string_equal(o.pattern_exprs[1], "ERROR|Traceback|Exception");
    assert_int_equal(o.argc, 0);
    assert_null(o.argv[0]);
    opts_free(&o);
}

static void test_set_values(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    set_ok(&o, "duration", "1h30m");
    assert_int_equal(o.duration_ms, 5400000);
    set_ok(&o, "artifacts_quota", "1.5GiB");
    assert_int_equal(o.artifacts_quota, 1610612736ull);
    set_ok(&o, "restart", "always");
    assert_int_equal(o.restart, OPTS_RESTART_ALWAYS);
    set_ok(&o, "status", "off");
    assert_int_equal(o.status, OPTS_STATUS_OFF);
    set_ok(&o, "gzip_level", "9");
    assert_int_equal(o.gzip_level, 9);
    set_ok(&o, "heartbeat", "");
    assert_string_equal(o.heartbeat, "");
    set_ok(&o, "listen", "127.0.0.1:9464");
    assert_string_equal(o.listen, "127.0.0.1:9464");
    opts_free(&o);
}

static void test_set_errors(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    set_fails(&o, "xyz", "1", "unknown key");
    set_fails(&o, "duration", "10x", "'10x' is not a duration");
    set_fails(&o, "interval", "", "is not a duration");
    set_fails(&o, "max_log_size", "lots", "'lots' is not a size");
    set_fails(&o, "restart", "sometimes", "'sometimes' is not one of never, on-failure, always");
    set_fails(&o, "status", "loud", "'loud' is not one of auto, line, plain, off");
    set_fails(&o, "gzip_level", "10", "'10' is not a level from 0 to 9");
    set_fails(&o, "max_log_files", "-1", "is not a whole number");
    set_fails(&o, "max_log_files", "5x", "is not a whole number");
    set_fails(&o, "max_log_files", "", "is not a whole number");
    set_fails(&o, "max_log_files", "99999999999999999999", "is not a whole number");
    set_fails(&o, "start_limit_burst", "0", "is not from 1 to 64");
    set_fails(&o, "start_limit_burst", "65", "is not from 1 to 64");
    char big[OPTS_STR + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    set_fails(&o, "artifacts", big, "longer than");
    /* a failed set leaves the value as it was */
    assert_int_equal(o.duration_ms, 86400000);
    assert_int_equal(o.gzip_level, 1);
    assert_int_equal(o.restart, OPTS_RESTART_ON_FAILURE);
    assert_string_equal(o.artifacts, "artifacts/soak");
    assert_int_equal(o.start_limit_burst, 5);
    opts_free(&o);
}

static void test_patterns_add_replace_remove(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    set_ok(&o, "patterns.oom", "Out of memory");
    assert_int_equal(o.npatterns, 4);
    assert_int_equal(find_pattern(&o, "oom"), 3);
    assert_string_equal(o.pattern_exprs[3], "Out of memory");

    set_ok(&o, "patterns.error", "FATAL");
    assert_int_equal(o.npatterns, 4);
    assert_int_equal(find_pattern(&o, "error"), 1);
    assert_string_equal(o.pattern_exprs[1], "FATAL");

    set_ok(&o, "patterns.reconnect", "");
    assert_int_equal(o.npatterns, 3);
    assert_int_equal(find_pattern(&o, "reconnect"), -1);
    assert_string_equal(o.pattern_names[0], "error");
    assert_string_equal(o.pattern_names[2], "oom");
    assert_string_equal(o.pattern_exprs[2], "Out of memory");

    set_ok(&o, "patterns.never_there", ""); /* removing an unknown name changes nothing */
    assert_int_equal(o.npatterns, 3);

    set_fails(&o, "patterns.bad-name", "x", "only letters, digits and _");
    set_fails(&o, "patterns.", "x", "1 to 63 characters");
    assert_int_equal(o.npatterns, 3);

    /* at most PATTERNS_MAX - 1: one slot is kept for the heartbeat */
    char key[32];
    for (int i = 0; o.npatterns < PATTERNS_MAX - 1; i++) {
        snprintf(key, sizeof key, "patterns.p%d", i);
        set_ok(&o, key, "x");
    }
    set_fails(&o, "patterns.one_more", "x", "too many patterns");
    set_ok(&o, "patterns.error", "still replaceable");
    opts_free(&o);
}

static void test_load_file_command_and_error(void **state)
{
    (void)state;
    char path[64], err[512];
    opts o;
    opts_init(&o);
    write_tmp(path, sizeof path, "command: [a, b]\nduration: 2h\nxyz: 1\n");
    assert_int_equal(opts_load_file(&o, path, err, sizeof err), ERR_NOENT);
    char want[256];
    snprintf(want, sizeof want, "%s:3: key 'xyz': unknown key ", path);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("message '%s' does not start with '%s'", err, want);
    unlink(path);
    opts_free(&o);

    opts_init(&o);
    write_tmp(path, sizeof path,
              "command: [python3, 'cli/run bot.py']\nduration: 2h\npatterns:\n  oom: 'killed'\n");
    if (opts_load_file(&o, path, err, sizeof err))
        fail_msg("load failed: %s", err);
    assert_int_equal(o.argc, 2);
    assert_string_equal(o.argv[0], "python3");
    assert_string_equal(o.argv[1], "cli/run bot.py");
    assert_null(o.argv[2]);
    assert_int_equal(o.duration_ms, 7200000);
    assert_int_equal(find_pattern(&o, "oom"), 3);
    assert_string_equal(o.config_path, path);
    unlink(path);
    opts_free(&o);

    /* command as a scalar is refused with a hint */
    opts_init(&o);
    write_tmp(path, sizeof path, "duration: 1h\ncommand: python3 x.py\n");
    assert_int_equal(opts_load_file(&o, path, err, sizeof err), ERR_INVAL);
    snprintf(want, sizeof want, "%s:2: key 'command': must be a list", path);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("message '%s' does not start with '%s'", err, want);
    unlink(path);
    opts_free(&o);
}

static void test_set_command(void **state)
{
    (void)state;
    opts o;
    char err[128];
    opts_init(&o);
    char *argv1[] = {"sleep", "10"};
    assert_int_equal(opts_set_command(&o, argv1, 2, err, sizeof err), 0);
    char *argv2[] = {"true"};
    assert_int_equal(opts_set_command(&o, argv2, 1, err, sizeof err), 0); /* replaces */
    assert_int_equal(o.argc, 1);
    assert_string_equal(o.argv[0], "true");
    assert_null(o.argv[1]);
    char *many[OPTS_MAX_ARGS + 1];
    for (int i = 0; i <= OPTS_MAX_ARGS; i++)
        many[i] = "x";
    assert_int_equal(opts_set_command(&o, many, OPTS_MAX_ARGS + 1, err, sizeof err), ERR_FULL);
    opts_free(&o);
    opts_free(&o); /* twice is harmless */
}

/* Dumps a, writes it to a file, loads it over the defaults into b and dumps b: same text. */
static void assert_round_trip(const opts *a)
{
    static char d1[65536], d2[65536];
    char path[64], err[512];
    size_t n1 = opts_dump(a, d1, sizeof d1);
    assert_true(n1 > 0 && n1 < sizeof d1 - 1);
    write_tmp(path, sizeof path, d1);
    opts b;
    opts_init(&b);
    if (opts_load_file(&b, path, err, sizeof err))
        fail_msg("dump does not load: %s\n%s", err, d1);
    unlink(path);
    opts_dump(&b, d2, sizeof d2);
    if (strcmp(d1, d2) != 0)
        fail_msg("round trip differs:\n--- dumped\n%s--- loaded\n%s", d1, d2);
    opts_free(&b);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    assert_round_trip(&o);

    set_ok(&o, "duration", "1d1h1m1s1ms");
    set_ok(&o, "interval", "250ms");
    set_ok(&o, "artifacts", "it's a \"dir\" with: colon # and hash");
    set_ok(&o, "heartbeat", "^\\[HB\\] 'alive'$");
    set_ok(&o, "restart", "never");
    set_ok(&o, "status", "plain");
    set_ok(&o, "max_log_size", "1.5GiB");
    set_ok(&o, "gzip_level", "0");
    set_ok(&o, "metrics_url", "http://127.0.0.1:8000/metrics");
    set_ok(&o, "patterns.error", "FATAL|panic");
    set_ok(&o, "patterns.oom", "Out of memory: Killed");
    assert_round_trip(&o);

    /* the dumped text holds the values as they were set */
    opts b;
    opts_init(&b);
    char path[64], err[512];
    static char d[65536];
    opts_dump(&o, d, sizeof d);
    write_tmp(path, sizeof path, d);
    assert_int_equal(opts_load_file(&b, path, err, sizeof err), 0);
    unlink(path);
    assert_int_equal(b.duration_ms, 90061001);
    assert_string_equal(b.artifacts, "it's a \"dir\" with: colon # and hash");
    assert_string_equal(b.heartbeat, "^\\[HB\\] 'alive'$");
    assert_int_equal(b.max_log_size, 1610612736ull);
    assert_string_equal(b.pattern_exprs[find_pattern(&b, "oom")], "Out of memory: Killed");
    opts_free(&b);
    opts_free(&o);
}

static void test_dump_round_trip_removed_default(void **state)
{
    (void)state;
    /* a removed default pattern must stay removed when the dump is loaded again */
    opts o;
    opts_init(&o);
    set_ok(&o, "patterns.reconnect", "");
    assert_round_trip(&o);
    opts_free(&o);
}

static void test_dump_truncates(void **state)
{
    (void)state;
    opts o;
    opts_init(&o);
    char small[40];
    memset(small, 'Z', sizeof small);
    size_t n = opts_dump(&o, small, sizeof small);
    assert_true(n <= sizeof small - 1);
    assert_int_equal(strlen(small), n);
    assert_int_equal(opts_dump(&o, small, 0), 0);
    opts_free(&o);
}

static void test_example_file_is_the_defaults(void **state)
{
    (void)state;
    static char d_def[65536], d_ex[65536];
    char err[512];
    opts def, ex;
    opts_init(&def);
    opts_init(&ex);
    /* start the loaded copy from something else, so every key must come from the file */
    set_ok(&ex, "duration", "1s");
    if (opts_load_file(&ex, EXAMPLE, err, sizeof err))
        fail_msg("examples/soak.yaml does not load: %s", err);
    opts_dump(&def, d_def, sizeof d_def);
    opts_dump(&ex, d_ex, sizeof d_ex);
    if (strcmp(d_def, d_ex) != 0)
        fail_msg("examples/soak.yaml is not the defaults:\n--- defaults\n%s--- example\n%s", d_def,
                 d_ex);
    opts_free(&def);
    opts_free(&ex);
}

typedef struct keys_seen {
    int n;
    char keys[128][80];
} keys_seen;

static void collect_key(void *ud, const char *key, const char *value, const char *help)
{
    keys_seen *k = ud;
    (void)value;
    assert_non_null(help);
    if (k->n < 128)
        snprintf(k->keys[k->n++], sizeof k->keys[0], "%s", key);
}

static void test_example_file_lists_every_key(void **state)
{
    (void)state;
    FILE *f = fopen(EXAMPLE, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    opts o;
    opts_init(&o);
    keys_seen k = {0};
    opts_each(&o, collect_key, &k);
    assert_true(k.n > 20);
    for (int i = 0; i < k.n; i++) {
        /* a.b.c is written nested: "a:", then "  b:" below it, then "    c:" below that
         * (patterns.X, gates.X, notify.telegram.chat_id) */
        const char *key = k.keys[i];
        const char *at = text;
        int depth = 0;
        for (const char *p = key; *p && at; depth++) {
            size_t w = strcspn(p, ".");
            char needle[160];
            snprintf(needle, sizeof needle, "\n%*s%.*s:", 2 * depth, "", (int)w, p);
            at = strstr(at, needle);
            p += w;
            if (*p == '.')
                p++;
        }
        if (!at)
            fail_msg("examples/soak.yaml does not list '%s'", key);
    }
    opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_patterns_add_replace_remove),
        cmocka_unit_test(test_load_file_command_and_error),
        cmocka_unit_test(test_set_command),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_dump_round_trip_removed_default),
        cmocka_unit_test(test_dump_truncates),
        cmocka_unit_test(test_example_file_is_the_defaults),
        cmocka_unit_test(test_example_file_lists_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
