/* opts: the settings table of `soak run`. See opts.h. */
#include "opts.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "audit.h"
#include "notify.h"
#include "errcode.h"
#include "gate.h"
#include "httpget.h"
#include "units.h"

/* Enum fields are stored as unsigned: every enum of opts.h has non-negative values. */
_Static_assert(sizeof(opts_restart) == sizeof(unsigned) &&
                   sizeof(opts_status) == sizeof(unsigned) &&
                   sizeof(opts_leak_rule) == sizeof(unsigned) &&
                   sizeof(opts_memdetail) == sizeof(unsigned),
               "opts enums are stored as unsigned");

_Static_assert(sizeof(archive_policy) == sizeof(unsigned), "archive is stored as unsigned");

static const char *const restart_names[] = {"never", "on-failure", "always", NULL};
static const char *const leak_rule_names[] = {"interval_above", "not_shown_below", NULL};
static const char *const status_names[] = {"auto", "line", "plain", "off", NULL};
static const char *const memdetail_names[] = {"off", "on-leak", "always", NULL};
static const char *const service_type_names[] = {"auto", "simple", "forking", NULL};
_Static_assert(sizeof(opts_service_type) == sizeof(unsigned), "stored as unsigned");

static const char *const default_patterns[] = {
    "reconnect", "reconnect",                 /**/
    "error",     "ERROR|Traceback|Exception", /**/
    "ratelimit", "429|rate limit|too many",   /**/
    NULL,
};

/* The runbook's Success Metrics table, as gates (docs/gates.md). The memory_growth gate's
 * threshold is the leak threshold, and its status is the leak verdict (docs/leak-verdict.md). */
static const char *const default_gates[] = {
    "duration",
    "last(duration_s) >= 24h",
    "memory_growth",
    "last(memory_growth_mb_per_hour) < 10",
    "cpu",
    "avg(cpu_percent) < 80",
    "disk",
    "max(artifacts_bytes) < 5GB",
    "ws_reconnects",
    "rate_per_hour(ws_reconnect_attempts_total) < 10",
    "orphan_orders",
    "last(orphan_orders) == 0",
    "zombies",
    "max(zombies_persistent) == 0",
    "crashes",
    "last(crashes) == 0",
    "security",
    "last(security_critical_high) == 0",
    "data_loss",
    "last(data_lost) == 0",
    /* fd and thread leaks: the memory method on counts, per hour (docs/soak-diagnose.md) */
    "fds",
    "last(fd_growth_per_hour) < 10",
    "threads",
    "last(thread_growth_per_hour) < 5",
    NULL,
};

/* An ERE must compile as the run will compile it (name NULL: the heartbeat). */
static int opts_check_pattern(const char *name, const char *value, char *err, size_t errlen)
{
    if (!*value)
        return 0;
    const char *n = name ? name : "heartbeat";
    patterns *p = patterns_new(&n, &value, 1, err, errlen);
    if (!p)
        return ERR_PARSE;
    patterns_free(p);
    return 0;
}

static int opts_check_gate(const char *name, const char *value, char *err, size_t errlen)
{
    gate_expr g;
    char why[200];
    if (gate_parse(value, strlen(value), &g, why, sizeof why)) {
        snprintf(err, errlen, "gate '%s': %s", name, why);
        return ERR_PARSE;
    }
    return 0;
}

static int opts_check_audit_ignore(const char *name, const char *value, char *err, size_t errlen)
{
    (void)name;
    audit_ignore ig;
    return audit_ignore_parse(value, &ig, err, errlen);
}

static int opts_check_notify_events(const char *name, const char *value, char *err, size_t errlen)
{
    (void)name;
    unsigned mask;
    return notify_parse_kinds(value, &mask, err, errlen);
}

static int opts_check_follow(const char *name, const char *value, char *err, size_t errlen)
{
    (void)name;
    if (!value[0] || strlen(value) >= 4096) {
        snprintf(err, errlen, "'%.64s' is not a path or glob of a log file", value);
        return ERR_INVAL;
    }
    return 0;
}

static int opts_check_unit(const char *name, const char *value, char *err, size_t errlen)
{
    (void)name;
    /* passed to journalctl -u as one argument: an option or a space would change the call */
    if (value[0] == '-' || strpbrk(value, " \t\n/")) {
        snprintf(err, errlen, "'%.64s' is not a systemd unit name", value);
        return ERR_INVAL;
    }
    return 0;
}

/* In the order of cvss_rating. */
static const char *const unscored_names[] = {"critical", "high", "medium", "low", "none", NULL};

static int opts_check_warmup(const char *name, const char *value, char *err, size_t errlen)
{
    uint64_t v;
    (void)name;
    if (strcmp(value, "auto") != 0 && units_parse_duration(value, &v) != 0) {
        snprintf(err, errlen, "'%.64s' is neither 'auto' nor a duration", value);
        return ERR_PARSE;
    }
    return 0;
}

static void opts_show_url(const char *value, char *buf, size_t n)
{
    httpget_redact_url(value, buf, n); /* credentials stay out of records */
}

#define F(field) offsetof(opts, field)
/* clang-format off */
#define DUR(k_, f_, d_, lo_, fl_, h_) \
    {.name = k_, .type = SETTINGS_DURATION, .def = d_, .help = h_, .flag = fl_, \
     .off = F(f_), .min = lo_}
#define SIZE(k_, f_, d_, lo_, h_) \
    {.name = k_, .type = SETTINGS_SIZE, .def = d_, .help = h_, .off = F(f_), \
     .width = sizeof(uint64_t), .min = lo_}
#define UINT(k_, f_, d_, lo_, hi_, w_, h_) \
    {.name = k_, .type = SETTINGS_INT, .def = d_, .help = h_, .off = F(f_), \
     .width = sizeof(unsigned), .min = lo_, .max = hi_, .what = w_}
#define STR(k_, f_, d_, fl_, h_) \
    {.name = k_, .type = SETTINGS_STRING, .def = d_, .help = h_, .flag = fl_, \
     .off = F(f_), .width = OPTS_STR}
#define ENUM(k_, f_, d_, names_, fl_, h_) \
    {.name = k_, .type = SETTINGS_ENUM, .def = d_, .help = h_, .flag = fl_, \
     .off = F(f_), .choices = names_}
/* clang-format on */

/* The single list of settings. Defaults follow the runbook. Ranges: what the run can work
 * with; 0 only where it means something (pss_interval 0 = never read PSS). */
static const settings_key opt_table[] = {
    DUR("duration", duration_ms, "24h", 1, "--duration D", "how long the service is soaked"),
    DUR("interval", interval_ms, "1s", OPTS_MIN_INTERVAL_MS, "--interval D",
        "how often the process tree is sampled"),
    DUR("pss_interval", pss_interval_ms, "60s", 0, NULL,
        "how often PSS is read from smaps_rollup (0 = never; reading it stalls the target)"),
    DUR("zombie_grace", zombie_grace_ms, "5s", 0, NULL,
        "a zombie counts (the zombies gate) once samples have seen it this long; 0 counts "
        "every zombie at once"),
    STR("artifacts", artifacts, "artifacts/soak", "--artifacts DIR",
        "folder of the run's artifacts"),
    {.name = "command",
     .type = SETTINGS_LIST,
     .help = "the service and its arguments (or give "
             "them after '--', which wins)",
     .off = F(argv),
     .off_n = F(argc),
     .cap = OPTS_MAX_ARGS,
     .what = ", e.g. [python3, cli/run_bot.py]",
     .flags = SETTINGS_NO_DUMP /* recorded apart */},
    /* services that fork into the background (docs/soak-run.md) */
    ENUM("service_type", service_type, "auto", service_type_names, "--service-type TYPE",
         "auto (simple, unless it forks into the background) | simple | forking (the command "
         "exits 0 once its daemon runs; the daemon is the service)"),
    STR("pid_file", pid_file, "", "--pid-file PATH",
        "forking: the file where the daemon writes its main pid ('': the top of the tree)"),
    DUR("forking_detect", forking_detect_ms, "5s", 0, NULL,
        "auto: a command that exits 0 this soon and leaves processes forked into the background "
        "(0: never detected)"),
    DUR("forking_timeout", forking_timeout_ms, "10s", 100, NULL,
        "forking: the main pid (pid_file) must be found this soon after the command exits"),
    {.name = "heartbeat",
     .type = SETTINGS_STRING,
     .def = "\\[HB\\] alive",
     .help = "ERE a healthy service prints regularly; '' disables the watchdog",
     .flag = "--heartbeat REGEX",
     .off = F(heartbeat),
     .width = OPTS_STR,
     .check = opts_check_pattern},
    DUR("heartbeat_timeout", heartbeat_timeout_ms, "300s", 1, "--heartbeat-timeout D",
        "no heartbeat for this long is a hang"),
    ENUM("restart", restart, "on-failure", restart_names, "--restart POLICY",
         "never | on-failure | always"),
    DUR("stop_timeout", stop_timeout_ms, "30s", 0, "--stop-timeout D",
        "SIGTERM to SIGKILL grace period (0: SIGKILL at once)"),
    {.name = "metrics_url",
     .type = SETTINGS_STRING,
     .def = "",
     .help = "Prometheus endpoint of the service to scrape",
     .flag = "--metrics-url URL",
     .off = F(metrics_url),
     .width = OPTS_STR,
     .show = opts_show_url},
    DUR("scrape_interval", scrape_interval_ms, "15s", 1, NULL, "how often metrics_url is scraped"),
    DUR("scrape_timeout", scrape_timeout_ms, "5s", 1, NULL, "timeout of one scrape"),
    UINT("scrape_max_series", scrape_max_series, "2000", 1, 1000000, NULL,
         "series stored per scrape at most"),
    STR("listen", listen, "", "--listen ADDR:PORT",
        "ADDR:PORT of soak's own /metrics and /health (e.g. 127.0.0.1:9464)"),
    STR("listen_auth_file", listen_auth_file, "", NULL,
        "a file holding user:password: --listen then asks for them (basic auth); or set "
        "SOAK_LISTEN_AUTH"),
    SIZE("max_log_size", max_log_size, "64MiB", 4096, "rotate soak.log at this size"),
    UINT("max_log_files", max_log_files, "5", 0, 1000, NULL, "rotated log files kept"),
    SIZE("artifacts_quota", artifacts_quota, "5GB", 1 << 20,
         "the artifacts folder stays under this"),
    SIZE("min_free_disk", min_free_disk, "1GiB", 0,
         "below this free space, rotated logs are deleted oldest first (0: never)"),
    SIZE("log_buffer", log_buffer, "16MiB", 65536,
         "log bytes held in memory when the disk is slow; past it lines are dropped and counted"),
    UINT("gzip_level", gzip_level, "1", 0, 9, "a level",
         "compression of rotated logs (0 = none, 1-9)"),
    DUR("restart_delay", restart_delay_ms, "1s", 0, NULL, "first restart delay; doubles each time"),
    DUR("restart_delay_max", restart_delay_max_ms, "60s", 0, NULL, "cap of the restart delay"),
    DUR("restart_reset_after", restart_reset_after_ms, "60s", 0, NULL,
        "an uptime this long resets the restart delay"),
    UINT("start_limit_burst", start_limit_burst, "5", 1, 64, NULL,
         "starts allowed within start_limit_interval before soak gives up"),
    DUR("start_limit_interval", start_limit_interval_ms, "10m", 1, NULL,
        "window of the start limit"),
    UINT("pattern_events_per_min", pattern_events_per_min, "60", 0, 1000000000, NULL,
         "pattern matches recorded as events per pattern per minute (all are counted)"),
    {.name = "patterns",
     .type = SETTINGS_MAP,
     .help = "pattern counted on every log line",
     .off = F(pattern_names),
     .off2 = F(pattern_exprs),
     .off_n = F(npatterns),
     .cap = PATTERNS_MAX - 1 /* one slot is kept for the heartbeat */,
     .width = OPTS_STR,
     .what = "pattern",
     .map_defaults = default_patterns,
     .check = opts_check_pattern},
    {.name = "analyze",
     .type = SETTINGS_BOOL,
     .def = "true",
     .off = F(analyze),
     .help = "analyze and report when the run ends (verdict.json, report.html; exit code = "
             "verdict)"},
    {.name = "warmup",
     .type = SETTINGS_STRING,
     .def = "auto",
     .off = F(warmup),
     .width = OPTS_STR,
     .check = opts_check_warmup,
     .help = "left out of each segment before the leak slope: auto (detected) or a duration"},
    DUR("leak_window", leak_window_ms, "30m", 1, NULL,
        "the memory envelope's rolling minimum: the longest GC or cache cycle to see through"),
    ENUM("leak_rule", leak_rule, "interval_above", leak_rule_names, NULL,
         "what memory_leak_detected says. interval_above: a leak when the whole interval is "
         "above the threshold (no false alarm); not_shown_below: when growth is not shown to be "
         "under it. The memory_growth gate passes only when growth is shown to be under it"),
    DUR("leak_min_span", leak_min_span_ms, "30m", 0, NULL,
        "less memory data than this after warm-up gives no leak verdict (no-data)"),
    {.name = "fail_fast",
     .type = SETTINGS_BOOL,
     .def = "false",
     .flag = "--fail-fast",
     .off = F(fail_fast),
     .help = "stop the run as soon as a gate can no longer pass (docs/soak-run.md); the "
             "verdict says which gate and when"},
    DUR("fail_fast_zombie_grace", fail_fast_zombie_grace_ms, "5m", 0, NULL,
        "with fail_fast: zombies present longer than this stop the run"),
    SIZE("fail_fast_cycle", fail_fast_cycle, "128MB", 0,
         "with fail_fast: memory growth that the slowest plausible cycle can explain (peak to "
         "peak); a leak stops the run only once it has grown more (docs/leak-verdict.md)"),
    STR("optional_gates", optional_gates, "orphan_orders,security", NULL,
        "gates that pass when their data is missing (comma-separated names)"),
    {.name = "gates",
     .type = SETTINGS_MAP,
     .help = "gate of the verdict (docs/gates.md)",
     .off = F(gate_names),
     .off2 = F(gate_exprs),
     .off_n = F(ngates),
     .cap = OPTS_MAX_GATES,
     .width = OPTS_STR,
     .what = "gate",
     .map_defaults = default_gates,
     .check = opts_check_gate},
    ENUM("status", status, "auto", status_names, "--status MODE",
         "auto | line (redrawn status line) | plain (a line a minute) | off"),
    /* pre-flight, post-run checks, archive (docs/soak-run.md) */
    {.name = "skip_preflight",
     .type = SETTINGS_BOOL,
     .def = "false",
     .flag = "--skip-preflight",
     .off = F(skip_preflight),
     .help = "soak run starts without its pre-flight checks"},
    DUR("preflight.timeout", preflight_timeout_ms, "30s", 1, NULL,
        "time allowed to each preflight.checks command"),
    {.name = "preflight.checks",
     .type = SETTINGS_MAP,
     .help = "shell command run before the service starts: exit 0 pass, 1 warn, else fail "
             "(the run is refused)",
     .off = F(preflight_names),
     .off2 = F(preflight_cmds),
     .off_n = F(npreflight),
     .cap = OPTS_MAX_CHECKS,
     .width = OPTS_STR,
     .what = "check"},
    DUR("post_check_timeout", post_check_timeout_ms, "60s", 1, NULL,
        "time allowed to each post_checks command"),
    {.name = "post_checks",
     .type = SETTINGS_MAP,
     .help = "shell command run after the service stopped; the number it prints becomes the "
             "series NAME that gates read",
     .off = F(post_check_names),
     .off2 = F(post_check_cmds),
     .off_n = F(npost_checks),
     .cap = OPTS_MAX_CHECKS,
     .width = OPTS_STR,
     .what = "post-check"},
    ENUM("archive", archive, "on-interrupt", archive_policy_names, NULL,
         "when soak run writes soak-artifacts-*.tar.gz beside the folder: never | on-interrupt "
         "| always"),
    DUR("memory_detail_interval", memory_detail_interval_ms, "10m", 1, NULL,
        "how often smaps (memory by kind) and the fds by type are read, besides at start and "
        "stop (reading smaps stalls the target)"),
    ENUM("memory_detail", memory_detail, "off", memdetail_names, NULL,
         "off | on-leak (keep smaps-start.txt and smaps-stop.txt of the largest process when the "
         "memory gate fails) | always"),
    {.name = "audit.inputs",
     .type = SETTINGS_LIST,
     .help = "audit reports read at the end of the run for the security gate: a file of "
             "pip-audit, cargo audit, npm audit or osv-scanner JSON, or cmd:COMMAND printing one",
     .off = F(audit_inputs),
     .off_n = F(audit_ninputs),
     .cap = OPTS_MAX_AUDIT,
     .what = ", e.g. [pip-audit.json, \"cmd:npm audit --json\"]"},
    {.name = "audit.ignore",
     .type = SETTINGS_LIST,
     .help = "advisories not counted, each with its reason: 'ID: reason' or 'ID: reason; until "
             "YYYY-MM-DD' (an expired entry counts again)",
     .off = F(audit_ignores),
     .off_n = F(audit_nignores),
     .cap = OPTS_MAX_AUDIT,
     .what = ", e.g. [\"GHSA-xxxx-xxxx-xxxx: not reachable from our code; until 2027-06-30\"]",
     .check = opts_check_audit_ignore},
    ENUM("audit.unscored", audit_unscored, "high", unscored_names, NULL,
         "severity of a finding no report rates (pip-audit gives none): critical | high | "
         "medium | low | none"),
    STR("notify.telegram.chat_id", notify_telegram_chat_id, "", NULL,
        "Telegram chat to tell of crashes, hangs and the verdict (the bot's token comes from "
        "TELEGRAM_BOT_TOKEN in the environment)"),
    STR("notify.telegram.base_url", notify_telegram_base_url, "https://api.telegram.org", NULL,
        "Telegram Bot API base URL (a local receiver in tests)"),
    {.name = "notify.webhook.url",
     .type = SETTINGS_STRING,
     .def = "",
     .help = "URL that gets a JSON object per notification (or SOAK_WEBHOOK_URL in the "
             "environment)",
     .off = F(notify_webhook_url),
     .width = OPTS_STR,
     .flags = SETTINGS_SECRET},
    {.name = "notify.slack.url",
     .type = SETTINGS_STRING,
     .def = "",
     .help = "Slack-compatible incoming webhook, {\"text\": ...} (or SOAK_SLACK_WEBHOOK_URL)",
     .off = F(notify_slack_url),
     .width = OPTS_STR,
     .flags = SETTINGS_SECRET},
    {.name = "notify.events",
     .type = SETTINGS_STRING,
     .def = "all",
     .help = "what is told: all, or some of crash, hang, oom_kill, start_limit, disk_low, "
             "fail_fast, end",
     .off = F(notify_events),
     .width = OPTS_STR,
     .check = opts_check_notify_events},
    DUR("notify.min_interval", notify_min_interval_ms, "1m", 0, NULL,
        "at most one message per channel this often; what comes sooner goes out as one summary"),
    DUR("notify.timeout", notify_timeout_ms, "5s", 100, NULL, "one try to send a message"),
    UINT("notify.retries", notify_retries, "3", 0, 10, NULL,
         "tries after the first, with a backoff of 1, 2, 4 ... s"),
    {.name = "pushgateway",
     .type = SETTINGS_STRING,
     .def = "",
     .help = "Prometheus Pushgateway that gets the live gauges and, at the end, the verdict",
     .flag = "--pushgateway URL",
     .off = F(pushgateway),
     .width = OPTS_STR,
     .show = opts_show_url},
    DUR("push_interval", push_interval_ms, "30s", 1000, NULL,
        "how often the live gauges are pushed to the pushgateway"),
    STR("run_name", run_name, "", NULL,
        "the run label of pushed metrics (default: the artifacts folder's base name)"),
    DUR("audit.timeout", audit_timeout_ms, "5m", 1, NULL,
        "a cmd: input of audit.inputs is "
        "stopped after this"),
    {.name = "logs.follow",
     .type = SETTINGS_LIST,
     .help = "log files the service writes itself, followed as tail -F does (rotation by rename "
             "or copytruncate, files that appear later); globs allowed; relative paths are "
             "relative to the working directory",
     .flag = "--follow-log PATH",
     .off = F(follow),
     .off_n = F(follow_n),
     .cap = FOLLOW_MAX_PATTERNS,
     .what = ", e.g. [logs/bot.log, \"logs/*.log\"]",
     .check = opts_check_follow},
    {.name = "logs.follow_copy",
     .type = SETTINGS_BOOL,
     .def = "true",
     .off = F(follow_copy),
     .help = "copy followed lines into soak.log under their file's name (file:NAME)"},
    DUR("logs.follow_poll", follow_poll_ms, "1s", 10, NULL,
        "how often followed files are stat'ed besides inotify (the fallback where inotify "
        "does not work, e.g. NFS)"),
    {.name = "logs.journal_unit",
     .type = SETTINGS_STRING,
     .def = "",
     .help = "a systemd unit whose journal is followed (journalctl -f -o json -u NAME)",
     .off = F(journal_unit),
     .width = OPTS_STR,
     .check = opts_check_unit},
};

static const settings_table opts_table = {"soak", opt_table, sizeof opt_table / sizeof opt_table[0],
                                          "see examples/soak.yaml for the keys",
                                          "see 'soak run --help'"};

settings opts_settings(opts *o)
{
    settings s = {&opts_table, o, NULL};
    return s;
}

void opts_init(opts *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    settings s = opts_settings(o);
    settings_init(&s, err, sizeof err); /* the table's defaults; test_opts checks they load */
}

void opts_free(opts *o)
{
    settings s = opts_settings(o);
    settings_free(&s);
    o->argv[0] = NULL;
}

int opts_set(opts *o, const char *key, const char *value, char *err, size_t errlen)
{
    settings s = opts_settings(o);
    int rc = settings_set(&s, key, value, err, errlen);
    o->argv[o->argc] = NULL;
    return rc;
}

int opts_set_command(opts *o, char *const *argv, size_t argc, char *err, size_t errlen)
{
    if (argc > OPTS_MAX_ARGS) {
        snprintf(err, errlen, "more than %d command arguments", OPTS_MAX_ARGS);
        return ERR_FULL;
    }
    for (size_t i = 0; i < o->argc; i++) { /* the command only: other lists stay */
        free(o->argv[i]);
        o->argv[i] = NULL;
    }
    o->argc = 0;
    for (size_t i = 0; i < argc; i++) {
        o->argv[i] = strdup(argv[i]);
        if (!o->argv[i]) {
            o->argc = i;
            snprintf(err, errlen, "out of memory");
            return ERR_NOMEM;
        }
    }
    o->argc = argc;
    o->argv[argc] = NULL;
    return 0;
}

int opts_load_file(opts *o, const char *path, char *err, size_t errlen)
{
    settings s = opts_settings(o);
    snprintf(o->config_path, sizeof o->config_path, "%s", path);
    int rc = settings_load_file(&s, path, err, errlen);
    o->argv[o->argc] = NULL;
    return rc;
}

int opts_args(opts *o, int argc, char **argv, settings_cli *cli, char *err, size_t errlen)
{
    settings s = opts_settings(o);
    /* the path of the (last) file, for the record */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            snprintf(o->config_path, sizeof o->config_path, "%s", argv[++i]);
        else if (!strncmp(argv[i], "--config=", 9))
            snprintf(o->config_path, sizeof o->config_path, "%s", argv[i] + 9);
    int rc = settings_args(&s, argc, argv, cli, err, errlen);
    o->argv[o->argc] = NULL;
    return rc;
}

size_t opts_dump(const opts *o, char *buf, size_t n)
{
    settings s = opts_settings((opts *)o);
    return settings_dump(&s, buf, n, 0);
}

void opts_each(const opts *o,
               void (*fn)(void *ud, const char *key, const char *value, const char *help), void *ud)
{
    settings s = opts_settings((opts *)o);
    settings_each(&s, fn, ud);
}
