/* mmopts: the defaults are the table's and examples/mmbot.yaml's; every key is in the example;
 * errors name file, line and key; LOG_LEVEL overrides the file; --print-config reads back. */
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
#include "mmopts.h"

#define EXAMPLE FIXTURES "/../../examples/mmbot.yaml"

static int args(mmopts *o, char *err, size_t n, ...)
{
    char *argv[32] = {"run"};
    int argc = 1;
    va_list ap;
    va_start(ap, n);
    for (char *a; argc < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    settings_cli cli;
    return mmopts_args(o, argc, argv, NULL, &cli, err, n);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    (void)state;
    mmopts o;
    mmopts_init(&o);
    assert_string_equal(o.exchange.rest_url, "http://127.0.0.1:18080");
    assert_int_equal(o.exchange.recv_window_ms, 5000);
    assert_int_equal(o.nsymbols, 1);
    assert_string_equal(o.symbols[0], "BTCUSDT");
    assert_int_equal(o.websocket.heartbeat_interval_ms, 20000);
    assert_int_equal(o.websocket.initial_reconnect_delay_ms, 1000);
    assert_int_equal(o.websocket.max_reconnect_delay_ms, 60000);
    assert_int_equal(o.websocket.stale_timeout_ms, 60000);
    assert_int_equal(o.connection_pool.limit, 100);
    assert_int_equal(o.connection_pool.limit_per_host, 30);
    assert_int_equal(o.shutdown.timeout_ms, 30000);
    assert_int_equal(o.shutdown.cancel_retries, 3);
    assert_int_equal(o.dcp.enabled, 0);
    assert_int_equal(o.strategy.kind, MMOPTS_PURE);
    assert_int_equal(o.strategy.post_only, 1);
    assert_int_equal(o.strategy.amend_orders, 0); /* cancel + create, as Hummingbot does */
    assert_int_equal(o.log_level, MMOPTS_LOG_INFO);
    mmopts_free(&o);
}

/* The example loads, and loading it changes nothing: it documents the defaults. */
static void test_example_is_the_defaults(void **state)
{
    (void)state;
    mmopts a, b;
    char err[512], da[64 * 1024], db[64 * 1024];
    mmopts_init(&a);
    mmopts_init(&b);
    settings sb = mmopts_settings(&b);
    if (settings_load_file(&sb, EXAMPLE, err, sizeof err) != 0)
        fail_msg("examples/mmbot.yaml does not load: %s", err);
    settings sa = mmopts_settings(&a);
    settings_dump(&sa, da, sizeof da, 0);
    settings_dump(&sb, db, sizeof db, 0);
    assert_string_equal(da, db);
    mmopts_free(&a);
    mmopts_free(&b);
}

typedef struct seen {
    const char *text;
    char missing[256];
} seen;

static void check_mentioned(void *ud, const char *key, const char *value, const char *help)
{
    seen *s = ud;
    (void)value, (void)help;
    const char *leaf = strrchr(key, '.');
    leaf = leaf ? leaf + 1 : key;
    char pat[96];
    snprintf(pat, sizeof pat, "%s:", leaf);
    if (!strstr(s->text, pat) && !s->missing[0])
        snprintf(s->missing, sizeof s->missing, "%s", key);
}

static void test_example_lists_every_key(void **state)
{
    (void)state;
    FILE *f = fopen(EXAMPLE, "r");
    assert_non_null(f);
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    mmopts o;
    mmopts_init(&o);
    settings s = mmopts_settings(&o);
    seen sn = {text, ""};
    settings_each(&s, check_mentioned, &sn);
    if (sn.missing[0])
        fail_msg("examples/mmbot.yaml does not document '%s'", sn.missing);
    mmopts_free(&o);
}

static void test_errors_name_file_line_key(void **state)
{
    (void)state;
    char path[] = "/tmp/test_mmopts_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[512];
    mmopts o;
    struct {
        const char *yaml, *want;
        int code;
    } cases[] = {
        {"symbols: [BTCUSDT]\nwebsocket:\n  stale_timeout: 0\n",
         ":3: key 'websocket.stale_timeout'", ERR_RANGE},
        {"exchange:\n  rest_url: ftp://x\n", ":2: key 'exchange.rest_url': 'ftp://x' is not a",
         ERR_PARSE},
        {"strategy:\n  kind: martingale\n", ":2: key 'strategy.kind'", ERR_RANGE},
        {"symbols: [btcusdt]\n", ":1: key 'symbols", ERR_PARSE},
        {"risk:\n  max_open_orders: 501\n", ":2: key 'risk.max_open_orders'", ERR_RANGE},
        {"shutdown:\n  timeout: 30s\n  timeout: 10s\n",
         ":3: key 'shutdown.timeout': given twice "
         "(first on line 2)",
         ERR_DUP},
        {"websocket:\n  heartbeat_intervall: 20s\n",
         ":2: key 'websocket.heartbeat_intervall': "
         "unknown key",
         ERR_NOENT},
        {"order_link_prefix: my-bot-prefix\n", ":1: key 'order_link_prefix'", ERR_PARSE},
        {"exchange:\n  rest_url: http://user:pw@host\n", ":2: key 'exchange.rest_url': no user",
         ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].yaml);
        mmopts_init(&o);
        int rc = args(&o, err, sizeof err, "-c", path, NULL);
        if (rc != cases[i].code || !strstr(err, cases[i].want) || strncmp(err, path, strlen(path)))
            fail_msg("case %zu: rc %d (want %d), message '%s' (want '%s%s')", i, rc, cases[i].code,
                     err, path, cases[i].want);
        mmopts_free(&o);
    }
    unlink(path);
}

static void test_set_and_log_level_env(void **state)
{
    (void)state;
    char err[512];
    mmopts o;
    mmopts_init(&o);
    assert_int_equal(args(&o, err, sizeof err, "--set", "symbols=ETHUSDT", "--set",
                          "strategy.order_levels=3", NULL),
                     0);
    assert_int_equal(o.nsymbols, 2); /* --set adds an item */
    assert_string_equal(o.symbols[1], "ETHUSDT");
    assert_int_equal(o.strategy.order_levels, 3);
    mmopts_free(&o);

    mmopts_init(&o);
    assert_int_not_equal(args(&o, err, sizeof err, "--set", "strategy.order_levels=0", NULL), 0);
    assert_non_null(strstr(err, "--set: key 'strategy.order_levels'"));
    mmopts_free(&o);

    char *argv[] = {"run", "--set", "log.level=error"};
    settings_cli cli;
    mmopts_init(&o);
    assert_int_equal(mmopts_args(&o, 3, argv, "debug", &cli, err, sizeof err), 0);
    assert_int_equal(o.log_level, MMOPTS_LOG_DEBUG); /* the environment wins */
    mmopts_free(&o);
    mmopts_init(&o);
    assert_int_equal(mmopts_args(&o, 1, argv, "loud", &cli, err, sizeof err), ERR_RANGE);
    assert_non_null(strstr(err, "LOG_LEVEL: "));
    mmopts_free(&o);
}

/* What --print-config prints is YAML that loads back to the same values. */
static void test_print_config_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/test_mmopts_pc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    mmopts a, b;
    char err[512], da[64 * 1024], db[64 * 1024];
    mmopts_init(&a);
    assert_int_equal(args(&a, err, sizeof err, "--set", "symbols=ETHUSDT", "--set",
                          "strategy.kind=avellaneda", "--set", "http.listen=", NULL),
                     0);
    mmopts_print_config(&a, f);
    fclose(f);
    mmopts_init(&b);
    if (args(&b, err, sizeof err, "-c", path, NULL) != 0)
        fail_msg("--print-config output does not load: %s", err);
    settings sa = mmopts_settings(&a), sb = mmopts_settings(&b);
    settings_dump(&sa, da, sizeof da, 0);
    settings_dump(&sb, db, sizeof db, 0);
    assert_string_equal(da, db);
    assert_int_equal(b.nsymbols, 2);
    assert_string_equal(b.http_listen, "");
    mmopts_free(&a);
    mmopts_free(&b);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_example_is_the_defaults),
        cmocka_unit_test(test_example_lists_every_key),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_set_and_log_level_env),
        cmocka_unit_test(test_print_config_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
