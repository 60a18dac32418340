/* opts: the settings table of `soak run`. See opts.h. */
#include "opts.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gate.h"
#include "httpget.h"
#include "units.h"

typedef enum opt_type { T_DUR, T_BYTES, T_STR, T_UINT, T_ENUM } opt_type;

typedef struct opt_def {
    const char *key;
    opt_type type;
    size_t off;
    const char *def;
    const char *help;
    const char *const *names; /* T_ENUM: the values' names, NULL-terminated; stored as index */
    unsigned lo, hi;          /* T_UINT: the range allowed (hi 0: up to 1e9) */
    const char *what;         /* T_UINT: what the number is, in the range message ("a level ") */
} opt_def;

/* Enum fields are stored through unsigned *: every enum of opts.h has non-negative values,
 * so its type is unsigned int here (checked below). */
_Static_assert(sizeof(opts_restart) == sizeof(unsigned) &&
                   sizeof(opts_status) == sizeof(unsigned) &&
                   sizeof(opts_leak_rule) == sizeof(unsigned),
               "opts enums are stored as unsigned");

static const char *const restart_names[] = {"never", "on-failure", "always", NULL};
static const char *const bool_names[] = {"false", "true", NULL};
static const char *const leak_rule_names[] = {"interval_above", "not_shown_below", NULL};
static const char *const status_names[] = {"auto", "line", "plain", "off", NULL};

#define F(field) offsetof(opts, field)
/* clang-format off */
#define OPT(key, type, field, def, help) {key, type, F(field), def, help, NULL, 0, 0, ""}
#define OPT_ENUM(key, field, def, names, help) {key, T_ENUM, F(field), def, help, names, 0, 0, ""}
#define OPT_UINT(key, field, def, lo, hi, what, help) \
    {key, T_UINT, F(field), def, help, NULL, lo, hi, what}
/* clang-format on */

/* The single list of settings. Defaults follow the runbook. */
static const opt_def opt_table[] = {
    OPT("duration", T_DUR, duration_ms, "24h", "how long the service is soaked"),
    OPT("interval", T_DUR, interval_ms, "1s", "how often the process tree is sampled"),
    OPT("pss_interval", T_DUR, pss_interval_ms, "60s",
        "how often PSS is read from smaps_rollup (0 = never; reading it stalls the target)"),
    OPT("artifacts", T_STR, artifacts, "artifacts/soak", "folder of the run's artifacts"),
    OPT("heartbeat", T_STR, heartbeat, "\\[HB\\] alive",
        "ERE a healthy service prints regularly; empty disables the watchdog"),
    OPT("heartbeat_timeout", T_DUR, heartbeat_timeout_ms, "300s",
        "no heartbeat for this long is a hang"),
    OPT_ENUM("restart", restart, "on-failure", restart_names, "never | on-failure | always"),
    OPT("stop_timeout", T_DUR, stop_timeout_ms, "30s", "SIGTERM to SIGKILL grace period"),
    OPT("metrics_url", T_STR, metrics_url, "", "Prometheus endpoint of the service to scrape"),
    OPT("scrape_interval", T_DUR, scrape_interval_ms, "15s", "how often metrics_url is scraped"),
    OPT("scrape_timeout", T_DUR, scrape_timeout_ms, "5s", "timeout of one scrape"),
    OPT("scrape_max_series", T_UINT, scrape_max_series, "2000", "series stored per scrape at most"),
    OPT("listen", T_STR, listen, "",
        "ADDR:PORT of soak's own /metrics and /health (e.g. 127.0.0.1:9464)"),
    OPT("max_log_size", T_BYTES, max_log_size, "64MiB", "rotate soak.log at this size"),
    OPT("max_log_files", T_UINT, max_log_files, "5", "rotated log files kept"),
    OPT("artifacts_quota", T_BYTES, artifacts_quota, "5GB",
        "the artifacts folder stays under this"),
    OPT("min_free_disk", T_BYTES, min_free_disk, "1GiB",
        "below this free space, rotated logs are deleted oldest first"),
    OPT("log_buffer", T_BYTES, log_buffer, "16MiB",
        "log bytes held in memory when the disk is slow; past it lines are dropped and counted"),
    OPT_UINT("gzip_level", gzip_level, "1", 0, 9, "a level ",
             "compression of rotated logs (0 = none, 1-9)"),
    OPT("restart_delay", T_DUR, restart_delay_ms, "1s", "first restart delay; doubles each time"),
    OPT("restart_delay_max", T_DUR, restart_delay_max_ms, "60s", "cap of the restart delay"),
    OPT("restart_reset_after", T_DUR, restart_reset_after_ms, "60s",
        "an uptime this long resets the restart delay"),
    OPT_UINT("start_limit_burst", start_limit_burst, "5", 1, 64, "",
             "starts allowed within start_limit_interval before soak gives up"),
    OPT("start_limit_interval", T_DUR, start_limit_interval_ms, "10m", "window of the start limit"),
    OPT("pattern_events_per_min", T_UINT, pattern_events_per_min, "60",
        "pattern matches recorded as events per pattern per minute (all are counted)"),
    OPT_ENUM(
        "analyze", analyze, "true", bool_names,
        "analyze and report when the run ends (verdict.json, report.html; exit code = verdict)"),
    OPT("warmup", T_STR, warmup, "auto",
        "left out of each segment before the leak slope: auto (detected) or a duration"),
    OPT("leak_window", T_DUR, leak_window_ms, "30m",
        "the memory envelope's rolling minimum: the longest GC or cache cycle to see through"),
    OPT_ENUM(
        "leak_rule", leak_rule, "interval_above", leak_rule_names,
        "what memory_leak_detected says. interval_above: a leak when the whole interval is "
        "above the threshold (no false alarm); not_shown_below: when growth is not shown to be "
        "under it. The memory_growth gate passes only when growth is shown to be under it"),
    OPT("leak_min_span", T_DUR, leak_min_span_ms, "30m",
        "less memory data than this after warm-up gives no leak verdict (no-data)"),
    OPT("optional_gates", T_STR, optional_gates, "orphan_orders,security",
        "gates that pass when their data is missing (comma-separated names)"),
    OPT_ENUM("status", status, "auto", status_names,
             "auto | line (redrawn status line) | plain (a line a minute) | off"),
};

static const char *const default_patterns[][2] = {
    {"reconnect", "reconnect"},
    {"error", "ERROR|Traceback|Exception"},
    {"ratelimit", "429|rate limit|too many"},
};

/* The runbook's Success Metrics table, as gates (docs/gates.md). The memory_growth gate's
 * threshold is the leak threshold, and its status is the leak verdict (docs/leak-verdict.md). */
static const char *const default_gates[][2] = {
    {"duration", "last(duration_s) >= 24h"},
    {"memory_growth", "last(memory_growth_mb_per_hour) < 10"},
    {"cpu", "avg(cpu_percent) < 80"},
    {"disk", "max(artifacts_bytes) < 5GB"},
    {"ws_reconnects", "rate_per_hour(ws_reconnect_attempts_total) < 10"},
    {"orphan_orders", "last(orphan_orders) == 0"},
    {"zombies", "max(zombies) == 0"},
    {"crashes", "last(crashes) == 0"},
    {"security", "last(security_critical_high) == 0"},
};

static const opt_def *opts_find(const char *key)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        if (strcmp(opt_table[i].key, key) == 0)
            return &opt_table[i];
    return NULL;
}

static int opts_enum(const char *value, const char *const *names, size_t n, unsigned *out,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = (unsigned)i;
            return 0;
        }
    int w = snprintf(err, errlen, "'%s' is not one of", value);
    for (size_t i = 0; i < n && w > 0 && (size_t)w < errlen; i++)
        w += snprintf(err + w, errlen - (size_t)w, "%s %s", i ? "," : "", names[i]);
    return -1;
}

/* A list of named entries (patterns, gates): add, replace by name, remove with ''. */
typedef struct named_list {
    const char *what; /* "pattern", "gate": for messages */
    char (*names)[64];
    char (*exprs)[OPTS_STR];
    size_t *n;
    size_t max;
} named_list;

static int named_set(const named_list *l, const char *name, const char *expr, char *err,
                     size_t errlen)
{
    if (!*name || strlen(name) >= 64) {
        snprintf(err, errlen, "%s name must be 1 to 63 characters", l->what);
        return -1;
    }
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_')) {
            snprintf(err, errlen, "%s name '%s' may hold only letters, digits and _", l->what,
                     name);
            return -1;
        }
    if (strlen(expr) >= OPTS_STR) {
        snprintf(err, errlen, "%s longer than %d characters", l->what, OPTS_STR - 1);
        return -1;
    }
    size_t i;
    for (i = 0; i < *l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            break;
    if (!*expr) { /* an empty expression removes the entry */
        if (i < *l->n) {
            memmove(&l->names[i], &l->names[i + 1], (*l->n - i - 1) * sizeof l->names[0]);
            memmove(&l->exprs[i], &l->exprs[i + 1], (*l->n - i - 1) * sizeof l->exprs[0]);
            (*l->n)--;
        }
        return 0;
    }
    if (i == *l->n) {
        if (*l->n == l->max) {
            snprintf(err, errlen, "too many %ss (at most %zu)", l->what, l->max);
            return -1;
        }
        (*l->n)++;
    }
    snprintf(l->names[i], 64, "%s", name);
    snprintf(l->exprs[i], OPTS_STR, "%s", expr);
    return 0;
}

static named_list opts_patterns(opts *o)
{
    /* one slot is kept for the heartbeat */
    named_list l = {"pattern", o->pattern_names, o->pattern_exprs, &o->npatterns, PATTERNS_MAX - 1};
    return l;
}

static named_list opts_gates(opts *o)
{
    named_list l = {"gate", o->gate_names, o->gate_exprs, &o->ngates, OPTS_MAX_GATES};
    return l;
}

static int opts_set_pattern(opts *o, const char *name, const char *expr, char *err, size_t errlen)
{
    named_list l = opts_patterns(o);
    return named_set(&l, name, expr, err, errlen);
}

static int opts_set_gate(opts *o, const char *name, const char *expr, char *err, size_t errlen)
{
    named_list l = opts_gates(o);
    if (*expr) {
        gate_expr g;
        char why[200];
        if (gate_parse(expr, strlen(expr), &g, why, sizeof why)) {
            snprintf(err, errlen, "gate '%s': %s", name, why);
            return -1;
        }
    }
    return named_set(&l, name, expr, err, errlen);
}

int opts_set(opts *o, const char *key, const char *value, char *err, size_t errlen)
{
    if (strncmp(key, "patterns.", 9) == 0)
        return opts_set_pattern(o, key + 9, value, err, errlen);
    if (strncmp(key, "gates.", 6) == 0)
        return opts_set_gate(o, key + 6, value, err, errlen);
    const opt_def *d = opts_find(key);
    if (!d) {
        snprintf(err, errlen, "unknown key (see examples/soak.yaml for the keys)");
        return -1;
    }
    char *field = (char *)o + d->off;
    uint64_t v;
    unsigned e;
    switch (d->type) {
    case T_DUR:
        if (units_parse_duration(value, &v)) {
            snprintf(err, errlen, "'%s' is not a duration (e.g. 250ms, 20s, 10m, 24h)", value);
            return -1;
        }
        *(uint64_t *)field = v;
        return 0;
    case T_BYTES:
        if (units_parse_bytes(value, &v)) {
            snprintf(err, errlen, "'%s' is not a size (e.g. 64MiB, 5GB)", value);
            return -1;
        }
        *(uint64_t *)field = v;
        return 0;
    case T_STR:
        if (strlen(value) >= OPTS_STR) {
            snprintf(err, errlen, "longer than %d characters", OPTS_STR - 1);
            return -1;
        }
        if (d->off == offsetof(opts, warmup) && strcmp(value, "auto") != 0 &&
            units_parse_duration(value, &v) != 0) {
            snprintf(err, errlen, "'%s' is neither 'auto' nor a duration", value);
            return -1;
        }
        snprintf(field, OPTS_STR, "%s", value);
        return 0;
    case T_UINT: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(value, &end, 10);
        if (!*value || *end || errno || n > 1000000000ull || value[0] == '-') {
            snprintf(err, errlen, "'%s' is not a whole number", value);
            return -1;
        }
        if (d->hi && (n < d->lo || n > d->hi)) {
            snprintf(err, errlen, "'%s' is not %sfrom %u to %u", value, d->what, d->lo, d->hi);
            return -1;
        }
        *(unsigned *)field = (unsigned)n;
        return 0;
    }
    case T_ENUM:
        for (e = 0; d->names[e]; e++)
            ;
        if (opts_enum(value, d->names, e, &e, err, errlen))
            return -1;
        *(unsigned *)field = e;
        return 0;
    }
    return -1;
}

void opts_init(opts *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        opts_set(o, opt_table[i].key, opt_table[i].def, err, sizeof err);
    for (size_t i = 0; i < sizeof default_patterns / sizeof default_patterns[0]; i++)
        opts_set_pattern(o, default_patterns[i][0], default_patterns[i][1], err, sizeof err);
    for (size_t i = 0; i < sizeof default_gates / sizeof default_gates[0]; i++)
        opts_set_gate(o, default_gates[i][0], default_gates[i][1], err, sizeof err);
}

void opts_free(opts *o)
{
    for (size_t i = 0; i < o->argc; i++)
        free(o->argv[i]);
    o->argc = 0;
    o->argv[0] = NULL;
}

int opts_set_command(opts *o, char *const *argv, size_t argc, char *err, size_t errlen)
{
    if (argc > OPTS_MAX_ARGS) {
        snprintf(err, errlen, "more than %d command arguments", OPTS_MAX_ARGS);
        return -1;
    }
    opts_free(o);
    for (size_t i = 0; i < argc; i++) {
        o->argv[i] = strdup(argv[i]);
        if (!o->argv[i]) {
            o->argc = i;
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    o->argc = argc;
    o->argv[argc] = NULL;
    return 0;
}

typedef struct opts_load_ctx {
    opts *o;
    int command_started;
} opts_load_ctx;

static int opts_on_yaml(void *ud, const char *key, const char *value, int line, char *err,
                        size_t errlen)
{
    opts_load_ctx *c = ud;
    (void)line;
    if (strcmp(key, "command[]") == 0) {
        if (!c->command_started) {
            opts_free(c->o);
            c->command_started = 1;
        }
        if (c->o->argc == OPTS_MAX_ARGS) {
            snprintf(err, errlen, "more than %d arguments", OPTS_MAX_ARGS);
            return -1;
        }
        char *s = strdup(value);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->o->argv[c->o->argc++] = s;
        c->o->argv[c->o->argc] = NULL;
        return 0;
    }
    if (strcmp(key, "command") == 0) {
        snprintf(err, errlen, "must be a list, e.g. [python3, cli/run_bot.py]");
        return -1;
    }
    return opts_set(c->o, key, value, err, errlen);
}

int opts_load_file(opts *o, const char *path, char *err, size_t errlen)
{
    opts_load_ctx c = {o, 0};
    snprintf(o->config_path, sizeof o->config_path, "%s", path);
    return config_load_yaml(path, opts_on_yaml, &c, err, errlen);
}

static void opts_value(const opts *o, const opt_def *d, char *buf, size_t n)
{
    const char *field = (const char *)o + d->off;
    switch (d->type) {
    case T_DUR:
        units_format_duration(*(const uint64_t *)field, buf, n);
        break;
    case T_BYTES:
        snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    case T_STR:
        if (d->off == offsetof(opts, metrics_url))
            httpget_redact_url(field, buf, n); /* credentials stay out of records */
        else
            snprintf(buf, n, "%s", field);
        break;
    case T_UINT:
        snprintf(buf, n, "%u", *(const unsigned *)field);
        break;
    case T_ENUM:
        snprintf(buf, n, "%s", d->names[*(const unsigned *)field]);
        break;
    }
}

/* Lists a named list, then its removed defaults as '' (which removes them), so that the
 * output loads back the same. */
static void opts_each_named(
    const char (*names)[64], const char (*exprs)[OPTS_STR], size_t n,
    const char *const (*defaults)[2], size_t ndefaults, const char *prefix, const char *help,
    void (*fn)(void *ud, const char *key, const char *value, const char *help), void *ud)
{
    char k[80];
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%s%s", prefix, names[i]);
        fn(ud, k, exprs[i], help);
    }
    for (size_t i = 0; i < ndefaults; i++) {
        size_t j = 0;
        while (j < n && strcmp(names[j], defaults[i][0]) != 0)
            j++;
        if (j < n)
            continue;
        snprintf(k, sizeof k, "%s%s", prefix, defaults[i][0]);
        fn(ud, k, "", "default removed");
    }
}

void opts_each(const opts *o,
               void (*fn)(void *ud, const char *key, const char *value, const char *help), void *ud)
{
    char val[OPTS_STR + 32];
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        opts_value(o, &opt_table[i], val, sizeof val);
        fn(ud, opt_table[i].key, val, opt_table[i].help);
    }
    opts_each_named(o->pattern_names, o->pattern_exprs, o->npatterns, default_patterns,
                    sizeof default_patterns / sizeof default_patterns[0], "patterns.",
                    "pattern counted on every log line", fn, ud);
    opts_each_named(o->gate_names, o->gate_exprs, o->ngates, default_gates,
                    sizeof default_gates / sizeof default_gates[0], "gates.",
                    "gate of the verdict (docs/gates.md)", fn, ud);
}

typedef struct dump_ctx {
    char *buf;
    size_t n, used;
} dump_ctx;

static void opts_dump_one(void *ud, const char *key, const char *value, const char *help)
{
    dump_ctx *c = ud;
    (void)help;
    if (c->used >= c->n)
        return;
    /* single-quoted YAML: only ' needs doubling */
    int w = snprintf(c->buf + c->used, c->n - c->used, "%s: '", key);
    if (w > 0)
        c->used += (size_t)w;
    for (const char *p = value; *p && c->used + 2 < c->n; p++) {
        if (*p == '\'')
            c->buf[c->used++] = '\'';
        c->buf[c->used++] = *p;
    }
    w = snprintf(c->buf + (c->used < c->n ? c->used : c->n - 1),
                 c->used < c->n ? c->n - c->used : 1, "'\n");
    if (w > 0)
        c->used += (size_t)w;
}

size_t opts_dump(const opts *o, char *buf, size_t n)
{
    dump_ctx c = {buf, n, 0};
    if (!n)
        return 0;
    buf[0] = '\0';
    opts_each(o, opts_dump_one, &c);
    if (c.used >= n)
        c.used = n - 1;
    buf[c.used] = '\0';
    return c.used;
}
