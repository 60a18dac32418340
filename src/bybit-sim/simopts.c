/* simopts: the settings table of bybit-sim. See simopts.h. */
#include "simopts.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "units.h"
#include "wsrv.h"

typedef enum opt_type { T_STR, T_U64, T_UINT, T_DBL, T_DUR, T_SIZE } opt_type;

typedef struct opt_def {
    const char *key;
    opt_type type;
    size_t off;
    const char *def;   /* NULL: the default comes from exch_opts_default */
    double lo, hi;     /* allowed range (T_UINT, T_DBL, T_DUR in ms, T_SIZE in bytes) */
    const char *range; /* the range as people read it, for messages */
    const char *help;
} opt_def;

#define F(field) offsetof(simopts, field)
/* clang-format off */
#define OPT(key, type, field, def, lo, hi, range, help) {key, type, F(field), def, lo, hi, range, help}
/* clang-format on */

/* The single list of settings (accounts and faults.* are handled apart). */
static const opt_def opt_table[] = {
    OPT("listen", T_STR, listen, "127.0.0.1:0", 0, 0, "",
        "IP:PORT of REST and WebSocket (port 0: any free port, printed at start)"),
    OPT("seed", T_U64, seed, "1", 0, 0, "",
        "seed of every random choice (market, faults): same seed, same run"),
    OPT("market.volatility", T_DBL, market.volatility, NULL, 0, 10, "from 0 to 10",
        "relative volatility of the mid price per sqrt(hour)"),
    OPT("market.taker_per_s", T_DBL, market.taker_per_s, NULL, 0, 1000, "from 0 to 1000",
        "synthetic taker trades per second and symbol"),
    OPT("market.taker_qty_mean", T_DBL, market.taker_qty_mean, NULL, 1, 1e6, "from 1 to 1e6",
        "mean size of a synthetic taker trade, in min qty"),
    OPT("market.book_levels", T_UINT, market.book_levels, NULL, 1, EXCH_MAX_LEVELS, "from 1 to 500",
        "synthetic book levels per side"),
    OPT("market.leverage", T_DBL, market.leverage, NULL, 1, 100, "from 1 to 100",
        "leverage of the balance check of new orders"),
    OPT("fees.maker", T_DBL, market.maker_fee, NULL, -0.01, 0.01, "from -0.01 to 0.01",
        "maker fee, fraction of value (negative: rebate)"),
    OPT("fees.taker", T_DBL, market.taker_fee, NULL, -0.01, 0.01, "from -0.01 to 0.01",
        "taker fee, fraction of value"),
    OPT("behaviour.p_ack_before_state", T_DBL, market.p_ack_before_state, NULL, 0, 1, "from 0 to 1",
        "chance a create is acknowledged before the order is live"),
    OPT("behaviour.p_dup_filled", T_DBL, market.p_dup_filled, NULL, 0, 1, "from 0 to 1",
        "chance a cancel racing a fill gets a second Filled message"),
    OPT("behaviour.p_cancel_with_exec", T_DBL, market.p_cancel_with_exec, NULL, 0, 1, "from 0 to 1",
        "chance a cancel lands after a partial fill of the order"),
    OPT("limits.order_per_s", T_UINT, order_limit_per_s, "10", 0, 1e6, "from 0 to 1000000",
        "order requests per account, endpoint and rolling second (0: no limit); retCode 10006"),
    OPT("limits.ip_per_5s", T_UINT, ip_limit_per_5s, "0", 0, 1e6, "from 0 to 1000000",
        "requests per IP per 5 s (0: off); over it HTTP 403 and a ban"),
    OPT("limits.ip_ban", T_DUR, ip_ban_ms, "10m", 0, 86400e3, "from 0s to 1d",
        "how long an IP over limits.ip_per_5s is banned"),
    OPT("ws.idle_timeout", T_DUR, ws_idle_ms, "10m", 1e3, 86400e3, "from 1s to 1d",
        "a public connection without a message this long is closed"),
    OPT("ws.max_connections", T_UINT, ws_max_conns, "2000", 1, 100000, "from 1 to 100000",
        "WebSocket connections at most; past it the upgrade is refused"),
    OPT("ws.max_topics", T_UINT, ws_max_topics, "100", 1, 10000, "from 1 to 10000",
        "topics per connection at most"),
    OPT("ws.max_queue", T_SIZE, ws_max_queue, "8MiB", 1024, 1073741824.0, "from 1KiB to 1GiB",
        "bytes queued for one slow client before it is closed"),
    OPT("http.max_body", T_SIZE, max_body, "64KiB", 1024, 67108864.0, "from 1KiB to 64MiB",
        "largest REST request body (HTTP 413 past it)"),
    OPT("book.interval", T_DUR, book_interval_ms, "20ms", 1, 60e3, "from 1ms to 60s",
        "market tick: book refresh, taker flow and feed messages"),
};

#define NOPTS (sizeof opt_table / sizeof opt_table[0])

static const opt_def *simopts_find(const char *key)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(opt_table[i].key, key) == 0)
            return &opt_table[i];
    return NULL;
}

/* The address rules are wsrv's, which will listen on it. */
static int simopts_listen_ok(const char *v)
{
    char ip[64];
    int port, v6;
    return wsrv_parse_addr(v, ip, sizeof ip, &port, &v6) == 0;
}

/* Sets one table key; the reason (without the key) in err. */
static int simopts_set_def(simopts *o, faults *f, const opt_def *d, const char *value, char *err,
                           size_t errlen)
{
    char *field = (char *)o + d->off;
    uint64_t u;
    double x;
    char *end;
    switch (d->type) {
    case T_STR:
        if (strlen(value) >= sizeof o->listen) {
            snprintf(err, errlen, "longer than %zu characters", sizeof o->listen - 1);
            return -1;
        }
        if (!simopts_listen_ok(value)) {
            snprintf(err, errlen, "'%s' is not IP:PORT (e.g. 127.0.0.1:8080, port 0: any)", value);
            return -1;
        }
        snprintf(field, sizeof o->listen, "%s", value);
        return 0;
    case T_U64:
        errno = 0;
        u = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || value[0] == '+' || value[0] == ' ') {
            snprintf(err, errlen, "'%.64s' is not a whole number from 0 to 2^64-1", value);
            return -1;
        }
        *(uint64_t *)field = u;
        if (d->off == offsetof(simopts, seed)) {
            o->market.seed = u;
            if (f)
                faults_reseed(f, u);
        }
        return 0;
    case T_UINT:
        errno = 0;
        u = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || value[0] == '+' || value[0] == ' ') {
            snprintf(err, errlen, "'%.64s' is not a whole number", value);
            return -1;
        }
        if ((double)u < d->lo || (double)u > d->hi) {
            snprintf(err, errlen, "'%.64s' is not %s", value, d->range);
            return -1;
        }
        *(unsigned *)field = (unsigned)u;
        return 0;
    case T_DBL:
        errno = 0;
        x = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(x)) {
            snprintf(err, errlen, "'%.64s' is not a number", value);
            return -1;
        }
        if (x < d->lo || x > d->hi) {
            snprintf(err, errlen, "'%.64s' is not %s", value, d->range);
            return -1;
        }
        *(double *)field = x;
        return 0;
    case T_DUR:
        if (units_parse_duration(value, &u)) {
            snprintf(err, errlen, "'%.64s' is not a duration (e.g. 250ms, 20s, 10m)", value);
            return -1;
        }
        if ((double)u < d->lo || (double)u > d->hi) {
            snprintf(err, errlen, "'%.64s' is not %s", value, d->range);
            return -1;
        }
        *(uint64_t *)field = u;
        return 0;
    case T_SIZE:
        if (units_parse_bytes(value, &u)) {
            snprintf(err, errlen, "'%.64s' is not a size (e.g. 64KiB, 8MiB)", value);
            return -1;
        }
        if ((double)u < d->lo || (double)u > d->hi) {
            snprintf(err, errlen, "'%.64s' is not %s", value, d->range);
            return -1;
        }
        *(size_t *)field = (size_t)u;
        return 0;
    }
    return -1;
}

/* One key from the file or --set; the reason (without file, line or key) in err. */
static int simopts_key(simopts *o, faults *f, const char *key, const char *value, int64_t now_ms,
                       char *err, size_t errlen)
{
    if (strncmp(key, "faults.", 7) == 0) {
        if (!f) {
            snprintf(err, errlen, "faults cannot be set here");
            return -1;
        }
        return faults_set_key(f, key + 7, value, now_ms, err, errlen);
    }
    if (strcmp(key, "accounts[]") == 0)
        return simopts_add_account(o, value, err, errlen);
    const opt_def *d = simopts_find(key);
    if (!d) {
        snprintf(err, errlen, "unknown key (see examples/bybit-sim.yaml or --help for the keys)");
        return -1;
    }
    return simopts_set_def(o, f, d, value, err, errlen);
}

void simopts_default(simopts *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    exch_opts_default(&o->market);
    for (size_t i = 0; i < NOPTS; i++)
        if (opt_table[i].def)
            simopts_set_def(o, NULL, &opt_table[i], opt_table[i].def, err, sizeof err);
}

typedef struct load_ctx {
    simopts *o;
    faults *f;
    int64_t now_ms;
} load_ctx;

static int simopts_on_yaml(void *ud, const char *key, const char *value, int line, char *err,
                           size_t errlen)
{
    load_ctx *c = ud;
    (void)line;
    if (strcmp(key, "accounts") == 0) {
        snprintf(err, errlen, "must be a list of \"KEY:SECRET[:USDT]\"");
        return -1;
    }
    return simopts_key(c->o, c->f, key, value, c->now_ms, err, errlen);
}

int simopts_load(simopts *o, faults *f, const char *path, int64_t now_ms, char *err, size_t errlen)
{
    load_ctx c = {o, f, now_ms};
    return config_load_yaml(path, simopts_on_yaml, &c, err, errlen);
}

int simopts_set(simopts *o, faults *f, const char *kv, int64_t now_ms, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    char key[256], why[256];
    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
        snprintf(err, errlen, "want KEY=VALUE (e.g. seed=7)"); /* kv may hold a secret */
        return -1;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    /* "accounts" takes one spec, as an item of the file's list would */
    const char *k = strcmp(key, "accounts") == 0 ? "accounts[]" : key;
    why[0] = '\0';
    if (simopts_key(o, f, k, eq + 1, now_ms, why, sizeof why)) {
        snprintf(err, errlen, "key '%s': %s", key, why);
        return -1;
    }
    return 0;
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
        return -1;
    }
    size_t klen = (size_t)(c1 - spec);
    if (!account_part_ok(spec, klen)) {
        snprintf(err, errlen,
                 "account key '%.*s': want 1 to 64 printable characters without spaces or ':'",
                 (int)(klen > 64 ? 64 : klen), spec);
        return -1;
    }
    const char *sec = c1 + 1, *c2 = strchr(sec, ':');
    size_t slen = c2 ? (size_t)(c2 - sec) : strlen(sec);
    if (!account_part_ok(sec, slen)) {
        snprintf(err, errlen,
                 "account '%.*s': the secret wants 1 to 64 printable characters without spaces "
                 "or ':'",
                 (int)klen, spec);
        return -1;
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
            return -1;
        }
    }
    for (size_t i = 0; i < o->naccounts; i++)
        if (strlen(o->accounts[i].key) == klen && memcmp(o->accounts[i].key, spec, klen) == 0) {
            snprintf(err, errlen, "account '%.*s' is given twice", (int)klen, spec);
            return -1;
        }
    if (o->naccounts == EXCH_MAX_ACCOUNTS) {
        snprintf(err, errlen, "account '%.*s': more than %d accounts", (int)klen, spec,
                 EXCH_MAX_ACCOUNTS);
        return -1;
    }
    simopts_account *a = &o->accounts[o->naccounts++];
    memcpy(a->key, spec, klen);
    a->key[klen] = '\0';
    memcpy(a->secret, sec, slen);
    a->secret[slen] = '\0';
    a->usdt = usdt;
    return 0;
}

static void simopts_value(const simopts *o, const opt_def *d, char *buf, size_t n)
{
    const char *field = (const char *)o + d->off;
    uint64_t b;
    switch (d->type) {
    case T_STR:
        snprintf(buf, n, "%s", field);
        break;
    case T_U64:
    case T_DUR:
        if (d->type == T_DUR)
            units_format_duration(*(const uint64_t *)field, buf, n);
        else
            snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    case T_UINT:
        snprintf(buf, n, "%u", *(const unsigned *)field);
        break;
    case T_DBL:
        snprintf(buf, n, "%g", *(const double *)field);
        break;
    case T_SIZE: /* exact and parseable back */
        b = *(const size_t *)field;
        if (b && b % (1024 * 1024) == 0)
            snprintf(buf, n, "%lluMiB", (unsigned long long)(b / (1024 * 1024)));
        else if (b && b % 1024 == 0)
            snprintf(buf, n, "%lluKiB", (unsigned long long)(b / 1024));
        else
            snprintf(buf, n, "%llu", (unsigned long long)b);
        break;
    }
}

void simopts_print_keys(FILE *out)
{
    simopts o;
    simopts_default(&o);
    char val[80];
    fprintf(out, "settings (YAML keys, dotted = nested; --set KEY=VALUE takes the same):\n");
    for (size_t i = 0; i < NOPTS; i++) {
        simopts_value(&o, &opt_table[i], val, sizeof val);
        const opt_def *d = &opt_table[i];
        fprintf(out, "  %-30s %-12s %s%s%s%s\n", d->key, val, d->help, *d->range ? " (" : "",
                d->range, *d->range ? ")" : "");
    }
    fprintf(out, "  %-30s %-12s %s\n", "accounts", "[]",
            "list of \"KEY:SECRET[:USDT]\" (balance 100000 by default; also --account)");
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
