/* Tests of simopts: defaults, each key type through --set and the file, errors naming file,
 * line and key, accounts (and that their secrets stay out of messages), faults.* forwarding,
 * and that examples/bybit-sim.yaml loads and lists every key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "errcode.h"
#include "simopts.h"

#define EXAMPLE FIXTURES "/../../examples/bybit-sim.yaml"
#define T0      1700000000000LL
#define SECRET  "SuPeRsEcReT42"

static void set_ok(simopts *o, faults *f, const char *kv)
{
    char err[256] = "";
    if (simopts_set(o, f, kv, T0, err, sizeof err) != 0)
        fail_msg("%s refused: %s", kv, err);
}

static void set_fails(simopts *o, faults *f, const char *kv, const char *want)
{
    char err[256] = "";
    int rc = simopts_set(o, f, kv, T0, err, sizeof err);
    if (rc >= 0 || strcmp(errcode_name(rc), "ERR_UNKNOWN") == 0)
        fail_msg("%s: returned %d, not an ERR_* code", kv, rc);
    if (!strstr(err, want))
        fail_msg("%s: message '%s' does not contain '%s'", kv, err, want);
    if (strstr(err, SECRET))
        fail_msg("%s: message '%s' shows the secret", kv, err);
}

static void account_fails(simopts *o, const char *spec, const char *want)
{
    char err[256] = "";
    size_t n = o->naccounts;
    int rc = simopts_add_account(o, spec, err, sizeof err);
    if (rc >= 0 || strcmp(errcode_name(rc), "ERR_UNKNOWN") == 0)
        fail_msg("returned %d, not an ERR_* code", rc);
    assert_int_equal(o->naccounts, n);
    if (!strstr(err, want))
        fail_msg("%s: message '%s' does not contain '%s'", spec, err, want);
    if (strstr(err, SECRET) || strstr(err, "SuPeR"))
        fail_msg("%s: message '%s' shows the secret", spec, err);
}

/* Writes text to a new temporary file; path must hold the result. */
static void write_tmp(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/test_simopts_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads text as a file; returns the result with the message in err. */
static int load_text(simopts *o, faults *f, const char *text, char *err, size_t errlen, char *path,
                     size_t pathlen)
{
    write_tmp(path, pathlen, text);
    int rc = simopts_load(o, f, path, T0, err, errlen);
    unlink(path);
    return rc;
}

/* A file with text must fail with "<path>:<line>: key '<key>': " and want. */
static void load_fails(const char *text, int line, const char *key, const char *want)
{
    simopts o;
    simopts_default(&o);
    faults *f = faults_new(1, T0);
    char err[512] = "", path[64], head[256];
    int rc = load_text(&o, f, text, err, sizeof err, path, sizeof path);
    if (rc >= 0 || strcmp(errcode_name(rc), "ERR_UNKNOWN") == 0)
        fail_msg("returned %d, not an ERR_* code", rc);
    snprintf(head, sizeof head, "%s:%d: key '%s': ", path, line, key);
    if (strncmp(err, head, strlen(head)) != 0 || !strstr(err, want))
        fail_msg("message '%s' is not '%s...%s'", err, head, want);
    if (strstr(err, SECRET) || strstr(err, "SuPeR"))
        fail_msg("message '%s' shows the secret", err);
    faults_free(f);
}

static void test_defaults(void **state)
{
    (void)state;
    simopts o;
    simopts_default(&o);
    assert_string_equal(o.listen, "127.0.0.1:0");
    assert_int_equal(o.seed, 1);
    assert_int_equal(o.market.seed, 1);
    assert_int_equal(o.naccounts, 0);
    assert_true(o.market.volatility == 0.01);
    assert_true(o.market.taker_per_s == 5);
    assert_true(o.market.taker_qty_mean == 5);
    assert_true(o.market.maker_fee == 0.0002);
    assert_true(o.market.taker_fee == 0.00055);
    assert_true(o.market.leverage == 10);
    assert_int_equal(o.market.book_levels, 200);
    assert_true(o.market.p_ack_before_state == 0 && o.market.p_dup_filled == 0 &&
                o.market.p_cancel_with_exec == 0);
    assert_null(o.market.on_private);
    assert_null(o.market.on_public);
    assert_int_equal(o.order_limit_per_s, 10);
    assert_int_equal(o.ip_limit_per_5s, 0);
    assert_int_equal(o.ip_ban_ms, 600000);
    assert_int_equal(o.ws_idle_ms, 600000);
    assert_int_equal(o.ws_max_conns, 2000);
    assert_int_equal(o.ws_max_topics, 100);
    assert_int_equal(o.ws_max_queue, 8 * 1024 * 1024);
    assert_int_equal(o.max_body, 64 * 1024);
    assert_int_equal(o.book_interval_ms, 20);
}

static void test_set_each_type(void **state)
{
    (void)state;
    simopts o;
    simopts_default(&o);
    faults *f = faults_new(1, T0);
    set_ok(&o, f, "listen=0.0.0.0:8080");
    assert_string_equal(o.listen, "0.0.0.0:8080");
    set_ok(&o, f, "listen=[::1]:9000");
    set_ok(&o, f, "seed=18446744073709551615");
    assert_true(o.seed == UINT64_MAX && o.market.seed == UINT64_MAX);
    set_ok(&o, f, "market.volatility=0.05");
    assert_true(o.market.volatility == 0.05);
    set_ok(&o, f, "market.taker_per_s=0");
    set_ok(&o, f, "market.taker_qty_mean=2.5");
    assert_true(o.market.taker_qty_mean == 2.5);
    set_ok(&o, f, "market.book_levels=500");
    assert_int_equal(o.market.book_levels, 500);
    set_ok(&o, f, "market.leverage=25");
    set_ok(&o, f, "fees.maker=-0.0001");
    assert_true(o.market.maker_fee == -0.0001);
    set_ok(&o, f, "fees.taker=0.001");
    assert_true(o.market.taker_fee == 0.001);
    set_ok(&o, f, "behaviour.p_ack_before_state=0.1");
    set_ok(&o, f, "behaviour.p_dup_filled=1");
    set_ok(&o, f, "behaviour.p_cancel_with_exec=0.5");
    assert_true(o.market.p_ack_before_state == 0.1 && o.market.p_dup_filled == 1 &&
                o.market.p_cancel_with_exec == 0.5);
    set_ok(&o, f, "limits.order_per_s=0");
    assert_int_equal(o.order_limit_per_s, 0);
    set_ok(&o, f, "limits.ip_per_5s=600");
    assert_int_equal(o.ip_limit_per_5s, 600);
    set_ok(&o, f, "limits.ip_ban=30s");
    assert_int_equal(o.ip_ban_ms, 30000);
    set_ok(&o, f, "ws.idle_timeout=1m30s");
    assert_int_equal(o.ws_idle_ms, 90000);
    set_ok(&o, f, "ws.max_connections=10");
    set_ok(&o, f, "ws.max_topics=1");
    assert_int_equal(o.ws_max_conns, 10);
    assert_int_equal(o.ws_max_topics, 1);
    set_ok(&o, f, "ws.max_queue=1MB");
    assert_int_equal(o.ws_max_queue, 1000000);
    set_ok(&o, f, "http.max_body=2KiB");
    assert_int_equal(o.max_body, 2048);
    set_ok(&o, f, "book.interval=100ms");
    assert_int_equal(o.book_interval_ms, 100);
    set_ok(&o, f, "faults.ws_drop.every=5s");
    assert_int_equal(faults_edge(f, FAULT_WS_DROP, T0 + 5000, NULL), 1);
    set_ok(&o, f, "accounts=k1:s1:500");
    assert_int_equal(o.naccounts, 1);
    assert_true(o.accounts[0].usdt == 500);
    faults_free(f);
}

static void test_set_errors(void **state)
{
    (void)state;
    simopts o;
    simopts_default(&o);
    faults *f = faults_new(1, T0);
    set_fails(&o, f, "seed", "want KEY=VALUE");
    set_fails(&o, f, "=5", "want KEY=VALUE");
    set_fails(&o, f, "nope=1", "key 'nope': unknown key");
    set_fails(&o, f, "market.nope=1", "key 'market.nope': unknown key");
    set_fails(&o, f, "listen=localhost", "key 'listen': 'localhost' is not IP:PORT");
    set_fails(&o, f, "listen=localhost:80", "is not IP:PORT");
    set_fails(&o, f, "listen=300.1.1.1:80", "is not IP:PORT");
    set_fails(&o, f, "listen=127.0.0.1:70000", "not IP:PORT");
    set_fails(&o, f, "seed=-1", "key 'seed': '-1' is not a whole number");
    set_fails(&o, f, "seed=1x", "key 'seed'");
    set_fails(&o, f, "market.volatility=lots", "key 'market.volatility': 'lots' is not a number");
    set_fails(&o, f, "market.volatility=-0.1", "'-0.1' is not from 0 to 10");
    set_fails(&o, f, "market.book_levels=0", "'0' is not from 1 to 500");
    set_fails(&o, f, "market.book_levels=501", "'501' is not from 1 to 500");
    set_fails(&o, f, "market.book_levels=2.5", "not a whole number");
    set_fails(&o, f, "market.leverage=0.5", "from 1 to 100");
    set_fails(&o, f, "fees.taker=0.5", "from -0.01 to 0.01");
    set_fails(&o, f, "behaviour.p_dup_filled=1.01", "from 0 to 1");
    set_fails(&o, f, "market.volatility=inf", "not a number");
    set_fails(&o, f, "limits.ip_ban=forever", "'forever' is not a duration");
    set_fails(&o, f, "ws.idle_timeout=0s", "from 1s to 1d");
    set_fails(&o, f, "ws.max_connections=0", "from 1 to 100000");
    set_fails(&o, f, "ws.max_queue=lots", "'lots' is not a size");
    set_fails(&o, f, "ws.max_queue=10", "from 1KiB to 1GiB");
    set_fails(&o, f, "http.max_body=1GB", "from 1KiB to 64MiB");
    set_fails(&o, f, "book.interval=0ms", "from 1ms to 60s");
    set_fails(&o, f, "faults.ws_drop.every=soon",
              "key 'faults.ws_drop.every': 'soon' is not a duration");
    set_fails(&o, f, "faults.nope.every=1s", "unknown fault kind 'nope'");
    set_fails(&o, NULL, "faults.ws_drop.every=1s", "faults cannot be set here");
    set_fails(&o, f, "accounts=k:" SECRET ":lots", "key 'accounts': account 'k'");
    /* nothing changed */
    simopts d;
    simopts_default(&d);
    assert_memory_equal(&o, &d, sizeof o);
    faults_free(f);
}

static void test_accounts(void **state)
{
    (void)state;
    simopts o;
    simopts_default(&o);
    char err[256];
    assert_int_equal(simopts_add_account(&o, "alpha:" SECRET, err, sizeof err), 0);
    assert_int_equal(simopts_add_account(&o, "beta:b-secret:2500.5", err, sizeof err), 0);
    assert_int_equal(simopts_add_account(&o, "gamma:g:0", err, sizeof err), 0);
    assert_int_equal(o.naccounts, 3);
    assert_string_equal(o.accounts[0].key, "alpha");
    assert_string_equal(o.accounts[0].secret, SECRET);
    assert_true(o.accounts[0].usdt == 100000);
    assert_string_equal(o.accounts[1].secret, "b-secret");
    assert_true(o.accounts[1].usdt == 2500.5);
    assert_true(o.accounts[2].usdt == 0);

    account_fails(&o, SECRET, "KEY:SECRET[:USDT_BALANCE]"); /* no ':': nothing is shown */
    account_fails(&o, ":" SECRET, "account key ''");
    account_fails(&o, "k k:" SECRET, "account key 'k k'");
    account_fails(&o, "delta:", "account 'delta': the secret");
    account_fails(&o, "delta::5", "account 'delta': the secret");
    account_fails(&o, "delta:Su PeR", "account 'delta': the secret");
    account_fails(&o, "delta:" SECRET ":", "account 'delta': the USDT balance");
    account_fails(&o, "delta:" SECRET ":-1", "account 'delta': the USDT balance");
    account_fails(&o, "delta:" SECRET ":1e13", "account 'delta': the USDT balance");
    account_fails(&o, "delta:" SECRET ":nan", "account 'delta': the USDT balance");
    account_fails(&o, "delta:SuPeR:sEcReT", "account 'delta': the USDT balance");
    account_fails(&o, "alpha:" SECRET, "account 'alpha' is given twice");
    char spec[200];
    memset(spec, 'k', 65);
    snprintf(spec + 65, sizeof spec - 65, ":%s", SECRET);
    account_fails(&o, spec, "want 1 to 64");
    memset(spec, 's', 65);
    spec[65] = '\0';
    char spec2[200];
    snprintf(spec2, sizeof spec2, "delta:SuPeR%s", spec);
    account_fails(&o, spec2, "account 'delta': the secret");
    /* 64 characters each is fine */
    memset(spec, 'k', 64);
    spec[64] = ':';
    memset(spec + 65, 's', 64);
    spec[129] = '\0';
    assert_int_equal(simopts_add_account(&o, spec, err, sizeof err), 0);
    assert_int_equal(strlen(o.accounts[3].key), 64);
    assert_int_equal(strlen(o.accounts[3].secret), 64);
    /* the cap */
    while (o.naccounts < EXCH_MAX_ACCOUNTS) {
        snprintf(spec, sizeof spec, "key%zu:sec", o.naccounts);
        assert_int_equal(simopts_add_account(&o, spec, err, sizeof err), 0);
    }
    account_fails(&o, "one_more:" SECRET, "more than 64 accounts");
}

static void test_load_file(void **state)
{
    (void)state;
    simopts o;
    simopts_default(&o);
    faults *f = faults_new(1, T0);
    char err[512] = "", path[64];
    const char *text = "listen: 127.0.0.1:9999\n"
                       "seed: 9\n"
                       "accounts:\n"
                       "  - a1:s1\n"
                       "  - a2:s2:50\n"
                       "market:\n"
                       "  volatility: 0.02\n"
                       "fees: {maker: 0, taker: 0.0006}\n"
                       "ws:\n"
                       "  max_queue: 4MiB\n"
                       "faults:\n"
                       "  http_5xx:\n"
                       "    probability: 0.5\n"
                       "    status: 502\n";
    if (load_text(&o, f, text, err, sizeof err, path, sizeof path))
        fail_msg("load failed: %s", err);
    assert_string_equal(o.listen, "127.0.0.1:9999");
    assert_int_equal(o.seed, 9);
    assert_int_equal(o.market.seed, 9);
    assert_int_equal(o.naccounts, 2);
    assert_string_equal(o.accounts[1].key, "a2");
    assert_true(o.accounts[1].usdt == 50);
    assert_true(o.market.volatility == 0.02);
    assert_true(o.market.maker_fee == 0 && o.market.taker_fee == 0.0006);
    assert_int_equal(o.ws_max_queue, 4 * 1024 * 1024);
    /* the faults were set and drawn from seed 9's streams */
    faults *g = faults_new(9, T0);
    char e2[256];
    assert_int_equal(faults_set_key(g, "http_5xx.probability", "0.5", T0, e2, sizeof e2), 0);
    fault_params p;
    for (int i = 0; i < 64; i++) {
        int hit = faults_hit(f, FAULT_HTTP_5XX, T0 + i, &p);
        assert_int_equal(hit, faults_hit(g, FAULT_HTTP_5XX, T0 + i, NULL));
        if (hit)
            assert_int_equal(p.status, 502);
    }
    faults_free(g);
    faults_free(f);
}

static void test_load_errors(void **state)
{
    (void)state;
    load_fails("seed: 1\nmarket:\n  volatility: 0.01\n  nope: 3\n", 4, "market.nope",
               "unknown key");
    load_fails("seed: 1\n\nseed: x\n", 3, "seed", "'x' is not a whole number");
    load_fails("ws:\n  max_queue: huge\n", 2, "ws.max_queue", "is not a size");
    load_fails("book:\n  interval: 2m\n", 2, "book.interval", "from 1ms to 60s");
    load_fails("faults:\n  ws_drop:\n    every: 30s\n    code: 7\n", 4, "faults.ws_drop.code",
               "not from 1000 to 4999");
    load_fails("faults:\n  ws_dorp:\n    every: 30s\n", 3, "faults.ws_dorp.every",
               "unknown fault kind 'ws_dorp'");
    load_fails("accounts: k:" SECRET "\n", 1, "accounts", "must be a list");
    load_fails("accounts:\n  - good:one\n  - bad:" SECRET ":x\n", 3, "accounts",
               "account 'bad': the USDT balance");
    load_fails("accounts:\n  - good:one\n  - good:" SECRET "\n", 3, "accounts",
               "account 'good' is given twice");
    /* a file that cannot be read */
    simopts o;
    simopts_default(&o);
    char err[256];
    assert_int_equal(simopts_load(&o, NULL, "/nonexistent/bybit-sim.yaml", T0, err, sizeof err),
                     ERR_NOENT);
    assert_non_null(strstr(err, "cannot open '/nonexistent/bybit-sim.yaml'"));
}

static void test_example_loads(void **state)
{
    (void)state;
    simopts o, d;
    simopts_default(&o);
    simopts_default(&d);
    faults *f = faults_new(1, T0);
    char err[512];
    if (simopts_load(&o, f, EXAMPLE, T0, err, sizeof err))
        fail_msg("examples/bybit-sim.yaml does not load: %s", err);
    /* the example is the defaults plus its one account, and sets no fault */
    assert_int_equal(o.naccounts, 1);
    assert_string_equal(o.accounts[0].key, "testkey");
    assert_string_equal(o.accounts[0].secret, "testsecret");
    assert_true(o.accounts[0].usdt == 100000);
    o.naccounts = 0;
    memset(o.accounts, 0, sizeof o.accounts);
    assert_memory_equal(&o, &d, sizeof o);
    cJSON *j = faults_to_json(f, T0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "faults")), 0);
    cJSON_Delete(j);
    faults_free(f);
}

typedef struct keys_seen {
    int n;
    char keys[64][96];
} keys_seen;

static int collect_key(void *ud, const char *key, const char *value, int line, char *err,
                       size_t errlen)
{
    keys_seen *k = ud;
    (void)value, (void)line, (void)err, (void)errlen;
    if (k->n < 64)
        snprintf(k->keys[k->n++], sizeof k->keys[0], "%s", key);
    return 0;
}

static void test_example_lists_every_key(void **state)
{
    (void)state;
    keys_seen seen = {0};
    char err[256];
    assert_int_equal(config_load_yaml(EXAMPLE, collect_key, &seen, err, sizeof err), 0);
    FILE *ex = fopen(EXAMPLE, "r");
    assert_non_null(ex);
    static char text[65536];
    size_t tn = fread(text, 1, sizeof text - 1, ex);
    fclose(ex);
    text[tn] = '\0';

    FILE *out = tmpfile();
    assert_non_null(out);
    simopts_print_keys(out);
    rewind(out);
    char line[512];
    int keys = 0, fault_keys = 0;
    while (fgets(line, sizeof line, out)) {
        if (strncmp(line, "  ", 2) != 0 || line[2] == ' ')
            continue;
        char key[128];
        if (sscanf(line + 2, "%127s", key) != 1)
            continue;
        if (strcmp(key, "KIND:") == 0) { /* the list of kinds: each has an example */
            for (int k = 0; k < FAULT__COUNT; k++) {
                char needle[64];
                snprintf(needle, sizeof needle, "#   %s:", faults_name((fault_kind)k));
                assert_non_null(strstr(line, faults_name((fault_kind)k)));
                if (!strstr(text, needle))
                    fail_msg("examples/bybit-sim.yaml has no example of fault '%s'",
                             faults_name((fault_kind)k));
            }
            continue;
        }
        if (strncmp(key, "faults.KIND.", 12) == 0) { /* documented in the comments */
            if (!strstr(text, key + 12))
                fail_msg("examples/bybit-sim.yaml does not mention fault key '%s'", key + 12);
            fault_keys++;
            continue;
        }
        if (strcmp(key, "accounts") == 0)
            snprintf(key, sizeof key, "accounts[]");
        int found = 0;
        for (int i = 0; i < seen.n; i++)
            found |= strcmp(seen.keys[i], key) == 0;
        if (!found)
            fail_msg("examples/bybit-sim.yaml does not set '%s'", key);
        keys++;
    }
    fclose(out);
    assert_int_equal(keys, 24);
    assert_int_equal(fault_keys, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_set_each_type),
        cmocka_unit_test(test_set_errors),    cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_load_file),     cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_example_loads), cmocka_unit_test(test_example_lists_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
