/* Tests of settings: every type through the file, --set and flags; every error with its
 * file:line:key text and code; duplicates; ranges; precedence; lists and maps; dumps that load
 * back; the generated --help-keys and flags. The table below has a key of every type. */
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
#include "settings.h"

typedef struct tobj {
    uint64_t duration_ms, interval_ms, pss_ms;
    uint64_t buffer;
    size_t queue;
    unsigned level;
    uint64_t seed;
    double ratio;
    int testnet;
    unsigned mode;
    char rest_url[64];
    size_t nsymbols;
    char *symbols[4];
    size_t ngates;
    char gate_names[3][SETTINGS_NAME_MAX];
    char gate_values[3][32];
    size_t nsecrets;
    char faults_log[256];
    int seeds_seen;
} tobj;

static const char *const modes[] = {"fast", "slow", NULL};
static const char *const gate_defaults[] = {"a", "x > 1", "b", "y < 2", NULL};

static int check_url(const char *name, const char *v, char *err, size_t errlen)
{
    (void)name;
    if (strncmp(v, "http://", 7) != 0) {
        snprintf(err, errlen, "'%s' is not an http:// URL", v);
        return ERR_ADDR;
    }
    return 0;
}

static int check_gate(const char *name, const char *v, char *err, size_t errlen)
{
    if (strstr(v, "bad")) {
        snprintf(err, errlen, "gate '%s': does not parse", name);
        return ERR_PARSE;
    }
    return 0;
}

static void show_url(const char *v, char *buf, size_t n)
{
    const char *at = strchr(v, '@');
    snprintf(buf, n, "%s%s", at ? "http://***" : "", at ? at : v);
}

static int after_seed(const settings *s, const settings_key *k, char *err, size_t errlen)
{
    (void)k, (void)err, (void)errlen;
    ((tobj *)s->obj)->seeds_seen++;
    return 0;
}

static int set_fault(const settings *s, const settings_key *k, const char *name, const char *value,
                     char *err, size_t errlen)
{
    tobj *o = s->obj;
    (void)k;
    if (strcmp(name, "drop.every") != 0) {
        snprintf(err, errlen, "unknown fault key '%s'", name);
        return ERR_NOENT;
    }
    size_t used = strlen(o->faults_log);
    snprintf(o->faults_log + used, sizeof o->faults_log - used, "%s=%s;", name, value);
    return 0;
}

static int set_secret(const settings *s, const settings_key *k, const char *name, const char *value,
                      char *err, size_t errlen)
{
    tobj *o = s->obj;
    (void)k, (void)name, (void)err, (void)errlen;
    if (!value)
        o->nsecrets = 0;
    else
        o->nsecrets++;
    return 0;
}

#define F(f) offsetof(tobj, f)
static const settings_key keys[] = {
    {.name = "run.duration",
     .type = SETTINGS_DURATION,
     .def = "1h",
     .min = 1,
     .flag = "--duration D",
     .help = "how long",
     .off = F(duration_ms)},
    {.name = "interval",
     .type = SETTINGS_DURATION,
     .def = "1s",
     .min = 1,
     .max = 60000,
     .flag = "--interval D",
     .help = "how often",
     .off = F(interval_ms)},
    {.name = "pss_interval",
     .type = SETTINGS_DURATION,
     .def = "0",
     .help = "0 = never",
     .off = F(pss_ms)},
    {.name = "buffer",
     .type = SETTINGS_SIZE,
     .def = "64KiB",
     .min = 1024,
     .max = 1 << 20,
     .width = sizeof(uint64_t),
     .help = "bytes held",
     .off = F(buffer)},
    {.name = "queue",
     .type = SETTINGS_SIZE,
     .def = "8MiB",
     .width = sizeof(size_t),
     .help = "bytes queued",
     .off = F(queue)},
    {.name = "level",
     .type = SETTINGS_INT,
     .def = "1",
     .min = 0,
     .max = 9,
     .what = "a level",
     .width = sizeof(unsigned),
     .help = "compression",
     .off = F(level)},
    {.name = "seed",
     .type = SETTINGS_INT,
     .def = "7",
     .width = sizeof(uint64_t),
     .flag = "--seed N",
     .help = "seed",
     .off = F(seed),
     .after = after_seed},
    {.name = "strategy.ratio",
     .type = SETTINGS_FLOAT,
     .def = "0.5",
     .fmin = 0,
     .fmax = 1,
     .help = "a share",
     .off = F(ratio)},
    {.name = "exchange.testnet",
     .type = SETTINGS_BOOL,
     .def = "false",
     .flag = "--testnet B",
     .help = "use the testnet",
     .off = F(testnet)},
    {.name = "mode",
     .type = SETTINGS_ENUM,
     .def = "fast",
     .choices = modes,
     .flag = "--mode MODE",
     .help = "fast | slow",
     .off = F(mode)},
    {.name = "exchange.rest_url",
     .type = SETTINGS_STRING,
     .def = "http://127.0.0.1:1/",
     .width = 64,
     .help = "REST base",
     .off = F(rest_url),
     .check = check_url,
     .show = show_url},
    {.name = "symbols",
     .type = SETTINGS_LIST,
     .def = "BTCUSDT",
     .flag = "--symbol S",
     .help = "symbols traded",
     .off = F(symbols),
     .off_n = F(nsymbols),
     .cap = 4,
     .what = ", e.g. [BTCUSDT, ETHUSDT]"},
    {.name = "gates",
     .type = SETTINGS_MAP,
     .help = "a gate",
     .off = F(gate_names),
     .off2 = F(gate_values),
     .off_n = F(ngates),
     .cap = 3,
     .width = 32,
     .what = "gate",
     .map_defaults = gate_defaults,
     .check = check_gate},
    {.name = "faults", .type = SETTINGS_MAP, .help = "faults.KIND.KEY", .set = set_fault},
    {.name = "secrets",
     .type = SETTINGS_LIST,
     .help = "secret things",
     .off_n = F(nsecrets),
     .cap = 8,
     .set = set_secret,
     .flags = SETTINGS_SECRET},
};
static const settings_table table = {"t", keys, sizeof keys / sizeof keys[0],
                                     "see t.yaml for the keys", "see 't --help'"};

static tobj obj;
static settings S = {&table, &obj, NULL};

static int setup(void **state)
{
    char err[256];
    (void)state;
    memset(&obj, 0, sizeof obj);
    assert_int_equal(settings_init(&S, err, sizeof err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    settings_free(&S);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void set_ok(const char *key, const char *value)
{
    char err[256] = "";
    if (settings_set(&S, key, value, err, sizeof err) != 0)
        fail_msg("%s=%s refused: %s", key, value, err);
}

/* key=value must fail with code and exactly the reason want; the object must not change. */
static void set_fails(const char *key, const char *value, int code, const char *want)
{
    static tobj before;
    char err[256] = "";
    before = obj;
    int rc = settings_set(&S, key, value, err, sizeof err);
    if (rc != code || strcmp(err, want) != 0)
        fail_msg("%s=%s: %s '%s', want %s '%s'", key, value, errcode_name(rc), err,
                 errcode_name(code), want);
    /* a failed set leaves the object as it was (the seeds counter aside: it is in after) */
    assert_memory_equal(&before, &obj, sizeof obj);
}

static void write_tmp(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/test_settings_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* text as a file must fail with code and "<path>:<line>: key '<key>': <reason>". */
static void load_fails(const char *text, int code, int line, const char *key, const char *reason)
{
    char path[64], err[512] = "", want[512];
    write_tmp(path, sizeof path, text);
    int rc = settings_load_file(&S, path, err, sizeof err);
    unlink(path);
    snprintf(want, sizeof want, "%s:%d: key '%s': %s", path, line, key, reason);
    if (rc != code || strcmp(err, want) != 0)
        fail_msg("%s '%s', want %s '%s'", errcode_name(rc), err, errcode_name(code), want);
}

static void load_ok(const char *text)
{
    char path[64], err[512] = "";
    write_tmp(path, sizeof path, text);
    int rc = settings_load_file(&S, path, err, sizeof err);
    unlink(path);
    if (rc)
        fail_msg("load refused: %s\n%s", err, text);
}

static int gate(const char *name)
{
    for (size_t i = 0; i < obj.ngates; i++)
        if (strcmp(obj.gate_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- the tests ---------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(obj.duration_ms, 3600000);
    assert_int_equal(obj.interval_ms, 1000);
    assert_int_equal(obj.pss_ms, 0);
    assert_int_equal(obj.buffer, 65536);
    assert_int_equal(obj.queue, 8 << 20);
    assert_int_equal(obj.level, 1);
    assert_int_equal(obj.seed, 7);
    assert_int_equal(obj.seeds_seen, 1);
    assert_true(obj.ratio == 0.5);
    assert_int_equal(obj.testnet, 0);
    assert_int_equal(obj.mode, 0);
    assert_string_equal(obj.rest_url, "http://127.0.0.1:1/");
    assert_int_equal(obj.nsymbols, 1);
    assert_string_equal(obj.symbols[0], "BTCUSDT");
    assert_int_equal(obj.ngates, 2);
    assert_string_equal(obj.gate_values[gate("b")], "y < 2");
    /* a default the table's own checks refuse is reported, naming the key */
    static const settings_key bad[] = {{.name = "level",
                                        .type = SETTINGS_INT,
                                        .def = "10",
                                        .min = 0,
                                        .max = 9,
                                        .width = 4,
                                        .off = F(level)}};
    settings_table bt = {"t", bad, 1, NULL, NULL};
    settings bs = {&bt, &obj, NULL};
    char err[256];
    assert_int_equal(settings_init(&bs, err, sizeof err), ERR_RANGE);
    assert_string_equal(err, "default of key 'level': '10' is not from 0 to 9");
}

static void test_each_type(void **state)
{
    (void)state;
    set_ok("run.duration", "1h30m");
    assert_int_equal(obj.duration_ms, 5400000);
    set_ok("pss_interval", "0"); /* 0 is allowed where the table says so */
    set_ok("buffer", "1MiB");
    assert_int_equal(obj.buffer, 1 << 20);
    set_ok("queue", "1.5GiB");
    assert_int_equal(obj.queue, 1610612736ull);
    set_ok("level", "9");
    assert_int_equal(obj.level, 9);
    set_ok("seed", "18446744073709551615");
    assert_true(obj.seed == UINT64_MAX);
    assert_int_equal(obj.seeds_seen, 2);
    set_ok("strategy.ratio", "1");
    assert_true(obj.ratio == 1);
    set_ok("exchange.testnet", "true");
    assert_int_equal(obj.testnet, 1);
    set_ok("mode", "slow");
    assert_int_equal(obj.mode, 1);
    set_ok("exchange.rest_url", "http://u:pw@host/");
    assert_string_equal(obj.rest_url, "http://u:pw@host/");
    set_ok("symbols", "ETHUSDT"); /* --set adds an item */
    assert_int_equal(obj.nsymbols, 2);
    assert_string_equal(obj.symbols[1], "ETHUSDT");
    set_ok("gates.c", "z == 0");
    assert_int_equal(obj.ngates, 3);
    set_ok("gates.a", "x > 5"); /* replaces in place */
    assert_int_equal(gate("a"), 0);
    assert_string_equal(obj.gate_values[0], "x > 5");
    set_ok("gates.a", ""); /* '' removes */
    assert_int_equal(obj.ngates, 2);
    assert_int_equal(gate("a"), -1);
    set_ok("gates.never", ""); /* removing what is not there changes nothing */
    assert_int_equal(obj.ngates, 2);
    set_ok("faults.drop.every", "5s");
    assert_string_equal(obj.faults_log, "drop.every=5s;");
    set_ok("secrets", "k:s");
    assert_int_equal(obj.nsecrets, 1);
}

static void test_errors(void **state)
{
    (void)state;
    set_fails("nope", "1", ERR_NOENT, "unknown key (see t.yaml for the keys)");
    set_fails("exchange.nope", "1", ERR_NOENT, "unknown key (see t.yaml for the keys)");
    set_fails("run.duration", "soon", ERR_PARSE,
              "'soon' is not a duration (e.g. 250ms, 20s, 10m, 24h)");
    set_fails("run.duration", "0", ERR_RANGE, "'0' is not 1ms or more");
    set_fails("interval", "0", ERR_RANGE, "'0' is not from 1ms to 1m");
    set_fails("interval", "61s", ERR_RANGE, "'61s' is not from 1ms to 1m");
    set_fails("buffer", "lots", ERR_PARSE, "'lots' is not a size (e.g. 64KiB, 8MiB, 5GB)");
    set_fails("buffer", "1000", ERR_RANGE, "'1000' is not from 1KiB to 1MiB");
    set_fails("level", "10", ERR_RANGE, "'10' is not a level from 0 to 9");
    set_fails("level", "-1", ERR_PARSE, "'-1' is not a whole number");
    set_fails("level", "+1", ERR_PARSE, "'+1' is not a whole number");
    set_fails("level", " 1", ERR_PARSE, "' 1' is not a whole number");
    set_fails("level", "1.5", ERR_PARSE, "'1.5' is not a whole number");
    set_fails("level", "", ERR_PARSE, "'' is not a whole number");
    set_fails("seed", "99999999999999999999", ERR_PARSE,
              "'99999999999999999999' is not a whole number");
    set_fails("strategy.ratio", "half", ERR_PARSE, "'half' is not a number");
    set_fails("strategy.ratio", "nan", ERR_PARSE, "'nan' is not a number");
    set_fails("strategy.ratio", "1.01", ERR_RANGE, "'1.01' is not from 0 to 1");
    set_fails("exchange.testnet", "yes", ERR_PARSE, "'yes' is not true or false");
    set_fails("mode", "medium", ERR_RANGE, "'medium' is not one of fast, slow");
    set_fails("exchange.rest_url", "ftp://x", ERR_ADDR, "'ftp://x' is not an http:// URL");
    char big[80];
    memset(big, 'h', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    set_fails("exchange.rest_url", big, ERR_RANGE, "longer than 63 characters");
    set_fails("gates.bad-name", "x", ERR_INVAL,
              "gate name 'bad-name' may hold only letters, "
              "digits and _");
    set_fails("gates.", "x", ERR_INVAL, "gate name must be 1 to 63 characters");
    set_fails("gates.c", "bad one", ERR_PARSE, "gate 'c': does not parse");
    set_fails("gates.c", big, ERR_RANGE, "gate longer than 31 characters");
    set_fails("gates", "x", ERR_INVAL, "must be a mapping of NAME: value (e.g. gates.NAME)");
    set_ok("gates.c", "z");
    set_fails("gates.d", "w", ERR_FULL, "too many gates (at most 3)");
    set_ok("gates.c", "still replaceable");
    set_fails("faults.drop.code", "1", ERR_NOENT, "unknown fault key 'drop.code'");
    set_ok("symbols", "2");
    set_ok("symbols", "3");
    set_ok("symbols", "4");
    set_fails("symbols", "5", ERR_FULL, "more than 4 items");
}

static void test_file(void **state)
{
    (void)state;
    load_ok("run:\n  duration: 2h\n"
            "exchange:\n  rest_url: http://h/\n  testnet: true\n"
            "strategy: {ratio: 0.25}\n"
            "symbols: [ETHUSDT, SOLUSDT]\n"
            "gates:\n  a: ''\n  c: 'z == 0'\n"
            "faults:\n  drop:\n    every: 10s\n"
            "secrets:\n  - one\n  - two\n");
    assert_int_equal(obj.duration_ms, 7200000);
    assert_string_equal(obj.rest_url, "http://h/");
    assert_int_equal(obj.testnet, 1);
    assert_true(obj.ratio == 0.25);
    /* a sequence in a file replaces the list */
    assert_int_equal(obj.nsymbols, 2);
    assert_string_equal(obj.symbols[0], "ETHUSDT");
    assert_string_equal(obj.symbols[1], "SOLUSDT");
    assert_int_equal(gate("a"), -1);
    assert_string_equal(obj.gate_values[gate("c")], "z == 0");
    assert_string_equal(obj.faults_log, "drop.every=10s;");
    assert_int_equal(obj.nsecrets, 2);
    /* dotted keys at the top level are the same keys */
    load_ok("exchange.testnet: false\nrun.duration: 3h\n");
    assert_int_equal(obj.testnet, 0);
    assert_int_equal(obj.duration_ms, 10800000);
}

static void test_file_errors(void **state)
{
    (void)state;
    load_fails("run:\n  duration: 1h\n  intreval: 1s\n", ERR_NOENT, 3, "run.intreval",
               "unknown key (see t.yaml for the keys)");
    load_fails("interval: 1s\n\ninterval: 0\n", ERR_RANGE, 3, "interval",
               "'0' is not from 1ms to 1m");
    load_fails("level: 3\nmode: loud\n", ERR_RANGE, 2, "mode", "'loud' is not one of fast, slow");
    load_fails("symbols: BTCUSDT\n", ERR_INVAL, 1, "symbols",
               "must be a list, e.g. [BTCUSDT, ETHUSDT]");
    load_fails("level: [1, 2]\n", ERR_INVAL, 1, "level", "must be a single value, not a list");
    load_fails("gates: x\n", ERR_INVAL, 1, "gates",
               "must be a mapping of NAME: value (e.g. gates.NAME)");
    load_fails("gates:\n  c: 'bad'\n", ERR_PARSE, 2, "gates.c", "gate 'c': does not parse");
    load_fails("faults:\n  drop:\n    code: 7\n", ERR_NOENT, 3, "faults.drop.code",
               "unknown fault key 'drop.code'");
    /* a key given twice names both lines, however it is written */
    load_fails("interval: 1s\nlevel: 2\ninterval: 2s\n", ERR_DUP, 3, "interval",
               "given twice (first on line 1)");
    load_fails("exchange:\n  testnet: true\nlevel: 1\nexchange.testnet: false\n", ERR_DUP, 4,
               "exchange.testnet", "given twice (first on line 2)");
    load_fails("gates:\n  c: z\ngates:\n  d: w\n", ERR_DUP, 3, "gates",
               "given twice (first on line 1)");
    load_fails("symbols: [a]\nsymbols: [b]\n", ERR_DUP, 2, "symbols",
               "given twice (first on line 1)");
    load_fails("gates:\n  c: z\n  c: w\n", ERR_DUP, 3, "gates.c", "given twice (first on line 2)");
    /* a missing file */
    char err[256];
    assert_int_equal(settings_load_file(&S, "/nonexistent/t.yaml", err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, "cannot open '/nonexistent/t.yaml'"));
    /* YAML that is not YAML names the line */
    assert_int_equal(settings_load_text(&S, "level: 'open\n", 13, "x.yaml", err, sizeof err),
                     ERR_PARSE);
    assert_int_equal(strncmp(err, "x.yaml:", 7), 0);
}

static int run_args(int argc, char **argv, settings_cli *cli, char *err, size_t errlen)
{
    err[0] = '\0';
    return settings_args(&S, argc, argv, cli, err, errlen);
}

static void test_args_precedence(void **state)
{
    (void)state;
    char path[64], err[512];
    settings_cli cli;
    write_tmp(path, sizeof path, "interval: 5s\nlevel: 4\nmode: slow\nsymbols: [A, B]\n");
    /* the file first wherever -c stands; then flags and --set in order, the last one wins */
    char *argv[] = {"t",  "--interval", "2s",      "--set",       "interval=3s", "-c",
                    path, "--set",      "level=6", "--mode=fast", NULL};
    assert_int_equal(run_args(10, argv, &cli, err, sizeof err), 0);
    assert_int_equal(obj.interval_ms, 3000);
    assert_int_equal(obj.level, 6);
    assert_int_equal(obj.mode, 0);
    assert_int_equal(obj.nsymbols, 2);
    assert_int_equal(cli.rest, 10);
    assert_int_equal(cli.print_config + cli.help + cli.help_keys, 0);

    /* --config=, --set=, a list flag adds, "--" ends the options */
    char *argv2[] = {"t",  "--config=", "--set=level=2", "--symbol", "C", "--print-config",
                     "--", "cmd",       "--interval",    NULL};
    argv2[1] = (char[80]){0};
    snprintf(argv2[1], 80, "--config=%s", path);
    assert_int_equal(run_args(9, argv2, &cli, err, sizeof err), 0);
    assert_int_equal(obj.level, 2);
    assert_int_equal(obj.nsymbols, 3);
    assert_string_equal(obj.symbols[2], "C");
    assert_int_equal(cli.print_config, 1);
    assert_int_equal(cli.rest, 7);
    assert_string_equal(argv2[cli.rest], "cmd");
    /* the first argument that is no option starts the rest */
    char *argv3[] = {"t", "--seed", "9", "sleep", "--seed", "1", NULL};
    assert_int_equal(run_args(6, argv3, &cli, err, sizeof err), 0);
    assert_int_equal(cli.rest, 3);
    assert_int_equal(obj.seed, 9);
    unlink(path);

    /* a BOOL flag alone is true; "true"/"false" after it are its value, anything else is not */
    char *argv6[] = {"t", "--testnet", "--seed", "4", NULL};
    assert_int_equal(run_args(4, argv6, &cli, err, sizeof err), 0);
    assert_int_equal(obj.testnet, 1);
    assert_int_equal(obj.seed, 4);
    char *argv7[] = {"t", "--testnet", "false", "cmd", NULL};
    assert_int_equal(run_args(4, argv7, &cli, err, sizeof err), 0);
    assert_int_equal(obj.testnet, 0);
    assert_int_equal(cli.rest, 3);
    char *argv8[] = {"t", "--testnet", "cmd", NULL};
    assert_int_equal(run_args(3, argv8, &cli, err, sizeof err), 0);
    assert_int_equal(obj.testnet, 1);
    assert_int_equal(cli.rest, 2);
    char *argv9[] = {"t", "--testnet", NULL};
    assert_int_equal(run_args(2, argv9, &cli, err, sizeof err), 0);
    assert_int_equal(obj.testnet, 1);
    char *argv10[] = {"t", "--testnet=false", "--", "x", NULL};
    assert_int_equal(run_args(4, argv10, &cli, err, sizeof err), 0);
    assert_int_equal(obj.testnet, 0);
    assert_int_equal(cli.rest, 3);

    /* --help stops before any file is read */
    char *argv4[] = {"t", "-c", "/nonexistent.yaml", "--help", NULL};
    assert_int_equal(run_args(4, argv4, &cli, err, sizeof err), 0);
    assert_int_equal(cli.help, 1);
    char *argv5[] = {"t", "--help-keys", NULL};
    assert_int_equal(run_args(2, argv5, &cli, err, sizeof err), 0);
    assert_int_equal(cli.help_keys, 1);
}

static void args_fail(int argc, char **argv, int code, const char *want)
{
    char err[512];
    settings_cli cli;
    int rc = run_args(argc, argv, &cli, err, sizeof err);
    if (rc != code || strcmp(err, want) != 0)
        fail_msg("%s '%s', want %s '%s'", errcode_name(rc), err, errcode_name(code), want);
}

static void test_args_errors(void **state)
{
    (void)state;
    char path[64], want[256];
    args_fail(2, (char *[]){"t", "--frobnicate", NULL}, ERR_INVAL,
              "unknown option '--frobnicate' (see 't --help')");
    args_fail(2, (char *[]){"t", "--frob=1", NULL}, ERR_INVAL,
              "unknown option '--frob' (see 't --help')");
    args_fail(2, (char *[]){"t", "--seed", NULL}, ERR_INVAL, "option '--seed' needs a value");
    args_fail(2, (char *[]){"t", "-c", NULL}, ERR_INVAL, "option '-c' needs a value");
    args_fail(3, (char *[]){"t", "--set", "level", NULL}, ERR_INVAL, "--set: want KEY=VALUE");
    args_fail(3, (char *[]){"t", "--set", "level=10", NULL}, ERR_RANGE,
              "--set: key 'level': '10' is not a level from 0 to 9");
    args_fail(3, (char *[]){"t", "--set", "nope=1", NULL}, ERR_NOENT,
              "--set: key 'nope': unknown key (see t.yaml for the keys)");
    args_fail(3, (char *[]){"t", "--duration", "0", NULL}, ERR_RANGE,
              "--duration: key 'run.duration': '0' is not 1ms or more");
    args_fail(2, (char *[]){"t", "--duration=soon", NULL}, ERR_PARSE,
              "--duration: key 'run.duration': 'soon' is not a duration (e.g. 250ms, 20s, 10m, "
              "24h)");
    write_tmp(path, sizeof path, "mode: fast\nmode: slow\n");
    snprintf(want, sizeof want, "%s:2: key 'mode': given twice (first on line 1)", path);
    /* a bad file wins over a good flag: it is read first */
    args_fail(5, (char *[]){"t", "--mode", "slow", "-c", path, NULL}, ERR_DUP, want);
    unlink(path);
    /* an unknown option is found before any file is read */
    args_fail(4, (char *[]){"t", "-c", "/nonexistent.yaml", "--x", NULL}, ERR_INVAL,
              "unknown option '--x' (see 't --help')");
}

/* Dumps with help, loads the dump over fresh defaults, dumps again: the same text. */
static void assert_round_trip(void)
{
    static char d1[16384], d2[16384];
    static tobj other;
    char err[512];
    size_t n1 = settings_dump(&S, d1, sizeof d1, 1);
    assert_true(n1 > 0 && n1 < sizeof d1 - 1);
    memset(&other, 0, sizeof other);
    settings s2 = {&table, &other, NULL};
    assert_int_equal(settings_init(&s2, err, sizeof err), 0);
    if (settings_load_text(&s2, d1, n1, "dump.yaml", err, sizeof err))
        fail_msg("the dump does not load: %s\n%s", err, d1);
    settings_dump(&s2, d2, sizeof d2, 1);
    if (strcmp(d1, d2) != 0)
        fail_msg("round trip differs:\n--- dumped\n%s--- loaded\n%s", d1, d2);
    /* and the values are the same (what the record and --print-config promise) */
    assert_int_equal(other.duration_ms, obj.duration_ms);
    assert_true(other.ratio == obj.ratio);
    assert_int_equal(other.nsymbols, obj.nsymbols);
    for (size_t i = 0; i < obj.nsymbols; i++)
        assert_string_equal(other.symbols[i], obj.symbols[i]);
    assert_int_equal(other.ngates, obj.ngates);
    settings_free(&s2);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    assert_round_trip();
    set_ok("run.duration", "1d1h1m1s1ms");
    set_ok("queue", "5GB");
    set_ok("buffer", "1500");
    set_ok("strategy.ratio", "0.1");
    set_ok("mode", "slow");
    set_ok("exchange.testnet", "true");
    set_ok("symbols", "it's \"quoted\": # not a comment");
    set_ok("symbols", "line\nbreak\ttab\\back");
    set_ok("symbols", "unicode \xe2\x80\xa8 separator \xc2\x85 next");
    set_ok("gates.a", "");
    set_ok("gates.c", "q == 'x'");
    assert_round_trip();
    /* the dump shows what a person reads; a URL's password is hidden by the key's show */
    set_ok("exchange.rest_url", "http://u:pw@host/");
    static char d[16384];
    settings_dump(&S, d, sizeof d, 0);
    assert_non_null(strstr(d, "run.duration: '1d1h1m1s1ms'\n"));
    assert_non_null(strstr(d, "queue: '5GB'\n"));
    assert_non_null(strstr(d, "gates.a: ''\n")); /* a removed default stays removed */
    assert_non_null(strstr(d, "exchange.rest_url: 'http://***@host/'\n"));
    assert_null(strstr(d, "pw"));
    assert_null(strstr(d, "  #")); /* no help without with_help */
    /* secrets: their number only, as a comment */
    set_ok("secrets", "key:SeCrEt");
    settings_dump(&S, d, sizeof d, 1);
    assert_non_null(strstr(d, "# secrets: (1 set, not shown)  # secret things\n"));
    assert_null(strstr(d, "SeCrEt"));
}

static void test_dump_truncates(void **state)
{
    (void)state;
    char small[40];
    memset(small, 'Z', sizeof small);
    size_t n = settings_dump(&S, small, sizeof small, 1);
    assert_int_equal(n, sizeof small - 1);
    assert_int_equal(strlen(small), n);
    assert_int_equal(settings_dump(&S, small, 0, 1), 0);
}

static char *capture(void (*fn)(const settings *, FILE *))
{
    static char text[16384];
    FILE *f = tmpfile();
    assert_non_null(f);
    fn(&S, f);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_help_text(void **state)
{
    (void)state;
    char *k = capture(settings_print_keys);
    assert_non_null(strstr(k, "\n  level                          1            compression "
                              "(from 0 to 9)\n"));
    assert_non_null(strstr(k, "\n  interval                       1s           how often (from "
                              "1ms to 1m)\n"));
    assert_non_null(strstr(k, "\n  gates.b                        y < 2        a gate\n"));
    assert_non_null(strstr(k, "\n  symbols                        ['BTCUSDT']  symbols traded\n"));
    char *f = capture(settings_print_flags);
    assert_non_null(strstr(f, "  -c, --config FILE          YAML settings (see t.yaml for the "
                              "keys)\n"));
    assert_non_null(strstr(f, "      --duration D           how long (default 1h)\n"));
    assert_non_null(strstr(f, "      --symbol S             symbols traded (repeatable)\n"));
    assert_non_null(strstr(f, "--print-config"));
    assert_non_null(strstr(f, "--help-keys"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
