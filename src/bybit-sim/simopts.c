/* simopts: the settings table of bybit-sim. See simopts.h. */
#include "simopts.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "settings.h"
#include "units.h"
#include "wsrv.h"

/* What the callbacks of the table need besides the object. */
typedef struct simopts_ctx {
    faults *f; /* NULL: faults.* keys are refused */
    int64_t now_ms;
} simopts_ctx;

/* The address rules are wsrv's, which will listen on it. */
static int simopts_check_listen(const char *name, const char *v, char *err, size_t errlen)
{
    char ip[64];
    int port, v6;
    (void)name;
    if (wsrv_parse_addr(v, ip, sizeof ip, &port, &v6) != 0) {
        snprintf(err, errlen, "'%.64s' is not IP:PORT (e.g. 127.0.0.1:8080, port 0: any)", v);
        return ERR_ADDR;
    }
    return 0;
}

/* The seed is the market's and the faults' too. */
static int simopts_after_seed(const settings *s, const settings_key *k, char *err, size_t errlen)
{
    simopts *o = s->obj;
    simopts_ctx *c = s->ctx;
    (void)k, (void)err, (void)errlen;
    o->market.seed = o->seed;
    if (c && c->f)
        faults_reseed(c->f, o->seed);
    return 0;
}

/* accounts: one item per account; value NULL empties the list (a file's list replaces it). */
static int simopts_set_account(const settings *s, const settings_key *k, const char *name,
                               const char *value, char *err, size_t errlen)
{
    simopts *o = s->obj;
    (void)k, (void)name;
    if (!value) {
        memset(o->accounts, 0, sizeof o->accounts);
        o->naccounts = 0;
        return 0;
    }
    return simopts_add_account(o, value, err, errlen);
}

static int simopts_set_fault(const settings *s, const settings_key *k, const char *name,
                             const char *value, char *err, size_t errlen)
{
    simopts_ctx *c = s->ctx;
    (void)k;
    if (!c || !c->f) {
        snprintf(err, errlen, "faults cannot be set here");
        return ERR_BADSTATE;
    }
    int rc = faults_set_key(c->f, name, value, c->now_ms, err, errlen);
    return rc ? ERR_CONFIG : 0;
}

#define F(field) offsetof(simopts, field)
/* clang-format off */
#define DBL(k_, f_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_FLOAT, .help = h_, .off = F(f_), .fmin = lo_, .fmax = hi_, \
     .range = r_}
#define UINT(k_, f_, d_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_INT, .def = d_, .help = h_, .off = F(f_), \
     .width = sizeof(unsigned), .min = lo_, .max = hi_, .range = r_}
#define DUR(k_, f_, d_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_DURATION, .def = d_, .help = h_, .off = F(f_), .min = lo_, \
     .max = hi_, .range = r_}
#define SIZE(k_, f_, d_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_SIZE, .def = d_, .help = h_, .off = F(f_), \
     .width = sizeof(size_t), .min = lo_, .max = hi_, .range = r_}
/* clang-format on */

/* The single list of settings. Keys without a default (market.*, fees.*, behaviour.*) take
 * exch_opts_default's. Range texts are generated ("from 1KiB to 1GiB") but where a person
 * reads another form better. */
static const settings_key opt_table[] = {
    {.name = "listen",
     .type = SETTINGS_STRING,
     .def = "127.0.0.1:0",
     .flag = "--listen IP:PORT",
     .help = "IP:PORT of REST and WebSocket (port 0: any free port, printed at start)",
     .off = F(listen),
     .width = sizeof(((simopts *)0)->listen),
     .check = simopts_check_listen},
    {.name = "seed",
     .type = SETTINGS_INT,
     .def = "1",
     .flag = "--seed N",
     .help = "seed of every random choice (market, faults): same seed, same run",
     .off = F(seed),
     .width = sizeof(uint64_t),
     .after = simopts_after_seed},
    {.name = "accounts",
     .type = SETTINGS_LIST,
     .flag = "--account K:S[:USDT]",
     .help = "list of \"KEY:SECRET[:USDT]\" (balance 100000 by default; also --account)",
     .off_n = F(naccounts),
     .cap = EXCH_MAX_ACCOUNTS,
     .what = " of \"KEY:SECRET[:USDT]\"",
     .set = simopts_set_account,
     .flags = SETTINGS_SECRET},
    DBL("market.volatility", market.volatility, 0, 10, NULL,
        "relative volatility of the mid price per sqrt(hour)"),
    DBL("market.taker_per_s", market.taker_per_s, 0, 1000, NULL,
        "synthetic taker trades per second and symbol"),
    DBL("market.taker_qty_mean", market.taker_qty_mean, 1, 1e6, "from 1 to 1e6",
        "mean size of a synthetic taker trade, in min qty"),
    UINT("market.book_levels", market.book_levels, NULL, 1, EXCH_MAX_LEVELS, NULL,
         "synthetic book levels per side"),
    DBL("market.leverage", market.leverage, 1, 100, NULL,
        "leverage of the balance check of new orders"),
    DBL("fees.maker", market.maker_fee, -0.01, 0.01, NULL,
        "maker fee, fraction of value (negative: rebate)"),
    DBL("fees.taker", market.taker_fee, -0.01, 0.01, NULL, "taker fee, fraction of value"),
    DBL("behaviour.p_ack_before_state", market.p_ack_before_state, 0, 1, NULL,
        "chance a create is acknowledged before the order is live"),
    DBL("behaviour.p_dup_filled", market.p_dup_filled, 0, 1, NULL,
        "chance a cancel racing a fill gets a second Filled message"),
    DBL("behaviour.p_cancel_with_exec", market.p_cancel_with_exec, 0, 1, NULL,
        "chance a cancel lands after a partial fill of the order"),
    UINT("limits.order_per_s", order_limit_per_s, "10", 0, 1000000, NULL,
         "order requests per account, endpoint and rolling second (0: no limit); retCode 10006"),
    UINT("limits.ip_per_5s", ip_limit_per_5s, "0", 0, 1000000, NULL,
         "requests per IP per 5 s (0: off); over it HTTP 403 and a ban"),
    DUR("limits.ip_ban", ip_ban_ms, "10m", 0, 86400000, NULL,
        "how long an IP over limits.ip_per_5s is banned"),
    DUR("ws.idle_timeout", ws_idle_ms, "10m", 1000, 86400000, NULL,
        "a public connection without a message this long is closed"),
    UINT("ws.max_connections", ws_max_conns, "2000", 1, 100000, NULL,
         "WebSocket connections at most; past it the upgrade is refused"),
    UINT("ws.max_topics", ws_max_topics, "100", 1, 10000, NULL, "topics per connection at most"),
    SIZE("ws.max_queue", ws_max_queue, "8MiB", 1024, 1073741824, NULL,
         "bytes queued for one slow client before it is closed"),
    SIZE("http.max_body", max_body, "64KiB", 1024, 67108864, NULL,
         "largest REST request body (HTTP 413 past it)"),
    DUR("http.head_timeout", http_head_ms, "10s", 100, 600000, "from 100ms to 10m",
        "a request must arrive whole within this of its first byte, else the connection closes"),
    UINT("http.max_connections", http_max_conns, "1024", 1, 100000, NULL,
         "HTTP connections at most; past it the one idle or slow the longest is closed"),
    DUR("book.interval", book_interval_ms, "20ms", 1, 60000, "from 1ms to 60s",
        "market tick: book refresh, taker flow and feed messages"),
    {.name = "faults",
     .type = SETTINGS_MAP,
     .set = simopts_set_fault,
     .help = "faults.KIND.KEY: a scripted fault (see below)"},
};

static const settings_table simopts_table = {
    "bybit-sim", opt_table, sizeof opt_table / sizeof opt_table[0],
    "see examples/bybit-sim.yaml or --help for the keys", "see --help"};

static settings simopts_settings(simopts *o, simopts_ctx *c)
{
    settings s = {&simopts_table, o, c};
    return s;
}

void simopts_default(simopts *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    exch_opts_default(&o->market);
    settings s = simopts_settings(o, NULL);
    settings_init(&s, err, sizeof err); /* the table's defaults; test_simopts checks them */
}

int simopts_load(simopts *o, faults *f, const char *path, int64_t now_ms, char *err, size_t errlen)
{
    simopts_ctx c = {f, now_ms};
    settings s = simopts_settings(o, &c);
    return settings_load_file(&s, path, err, errlen);
}

int simopts_set(simopts *o, faults *f, const char *kv, int64_t now_ms, char *err, size_t errlen)
{
    simopts_ctx c = {f, now_ms};
    settings s = simopts_settings(o, &c);
    return settings_set_kv(&s, kv, "--set", err, errlen);
}

int simopts_args(simopts *o, faults *f, int argc, char **argv, int64_t now_ms, settings_cli *cli,
                 char *err, size_t errlen)
{
    simopts_ctx c = {f, now_ms};
    settings s = simopts_settings(o, &c);
    return settings_args(&s, argc, argv, cli, err, errlen);
}

/* 1..64 printable ASCII characters, no space, no ':'. */
static int account_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
            return 0;
    return 1;
}

int simopts_add_account(simopts *o, const char *spec, char *err, size_t errlen)
{
    /* Messages may show the key part only: whatever follows the first ':' can be secret. */
    const char *c1 = strchr(spec, ':');
    if (!c1) {
        snprintf(err, errlen, "an account is KEY:SECRET[:USDT_BALANCE]");
        return ERR_PARSE;
    }
    size_t klen = (size_t)(c1 - spec);
    if (!account_part_ok(spec, klen)) {
        snprintf(err, errlen,
                 "account key '%.*s': want 1 to 64 printable characters without spaces or ':'",
                 (int)(klen > 64 ? 64 : klen), spec);
        return ERR_PARSE;
    }
    const char *sec = c1 + 1, *c2 = strchr(sec, ':');
    size_t slen = c2 ? (size_t)(c2 - sec) : strlen(sec);
    if (!account_part_ok(sec, slen)) {
        snprintf(err, errlen,
                 "account '%.*s': the secret wants 1 to 64 printable characters without spaces "
                 "or ':'",
                 (int)klen, spec);
        return ERR_PARSE;
    }
    double usdt = SIMOPTS_DEFAULT_USDT;
    if (c2) {
        char *end;
        errno = 0;
        usdt = strtod(c2 + 1, &end);
        if (!c2[1] || *end || errno || !isfinite(usdt) || usdt < 0 || usdt > 1e12) {
            snprintf(err, errlen,
                     "account '%.*s': the USDT balance after the second ':' is not a number from "
                     "0 to 1e12",
                     (int)klen, spec);
            return ERR_RANGE;
        }
    }
    for (size_t i = 0; i < o->naccounts; i++)
        if (strlen(o->accounts[i].key) == klen && memcmp(o->accounts[i].key, spec, klen) == 0) {
            snprintf(err, errlen, "account '%.*s' is given twice", (int)klen, spec);
            return ERR_DUP;
        }
    if (o->naccounts == EXCH_MAX_ACCOUNTS) {
        snprintf(err, errlen, "account '%.*s': more than %d accounts", (int)klen, spec,
                 EXCH_MAX_ACCOUNTS);
        return ERR_FULL;
    }
    simopts_account *a = &o->accounts[o->naccounts++];
    memcpy(a->key, spec, klen);
    a->key[klen] = '\0';
    memcpy(a->secret, sec, slen);
    a->secret[slen] = '\0';
    a->usdt = usdt;
    return 0;
}

void simopts_print_flags(const simopts *o, FILE *out)
{
    settings s = simopts_settings((simopts *)o, NULL);
    settings_print_flags(&s, out);
}

void simopts_print_config(const simopts *o, FILE *out)
{
    static char buf[64 * 1024];
    settings s = simopts_settings((simopts *)o, NULL);
    settings_dump(&s, buf, sizeof buf, 1);
    fputs(buf, out);
}

void simopts_print_keys(FILE *out)
{
    simopts o;
    simopts_default(&o);
    settings s = simopts_settings(&o, NULL);
    fprintf(out, "settings (YAML keys, dotted = nested; --set KEY=VALUE takes the same):\n");
    settings_print_keys(&s, out);
    fprintf(out, "faults (faults.KIND.KEY; none by default; POST /sim/faults takes the same):\n");
    static const char *const fkeys[][2] = {
        {"every", "activation every this long (a duration), counted from when it is set"},
        {"start", "one activation this long after it is set (excludes every)"},
        {"duration", "length of an activation (default 0: an instant)"},
        {"probability", "chance per opportunity while active, 0 to 1 (default 1)"},
        {"code", "ws_drop: close code 1000..4999 (default 1001)"},
        {"status", "http_5xx: 500..599 (default 503); maintenance: HTTP status instead of 10016"},
        {"latency_ms", "rest_latency: added delay, 0..60000"},
        {"jitter_ms", "rest_latency: plus uniform 0..jitter_ms, 0..60000"},
        {"skew_ms", "clock_skew: server clock offset, -86400000..86400000"},
    };
    for (size_t i = 0; i < sizeof fkeys / sizeof fkeys[0]; i++) {
        char k[64];
        snprintf(k, sizeof k, "faults.KIND.%s", fkeys[i][0]);
        fprintf(out, "  %-30s %-12s %s\n", k, "-", fkeys[i][1]);
    }
    fprintf(out, "  KIND: ");
    for (int k = 0; k < FAULT__COUNT; k++)
        fprintf(out, "%s%s", k ? ", " : "", faults_name((fault_kind)k));
    fprintf(out, "\n");
}
