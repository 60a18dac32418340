/*
 * opts: every setting of `soak run`, with its default, its YAML key and its flag.
 *
 * One table (opts.c, read by lib/settings) lists each key once: its type, default, range, help,
 * flag and where it is stored, so the YAML file, `--set key=value`, the flags, --help,
 * --help-keys, --print-config and `examples/soak.yaml` cannot drift apart. Every value is
 * checked when it is set (ranges, patterns that must compile, gates that must parse), so a bad
 * configuration fails at load time naming file:line:key.
 * Precedence: defaults < configuration file < flags and --set, in command-line order.
 * Functions return 0 or a negative ERR_* code (lib/errcode.h) with a message in err.
 */
#ifndef SOAK_OPTS_H
#define SOAK_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "follow.h"
#include "patterns.h"
#include "settings.h"

typedef enum opts_restart {
    OPTS_RESTART_NEVER,
    OPTS_RESTART_ON_FAILURE,
    OPTS_RESTART_ALWAYS
} opts_restart;
typedef enum opts_service_type {
    OPTS_SERVICE_AUTO,   /* simple, unless it is seen to fork into the background */
    OPTS_SERVICE_SIMPLE, /* the command soak starts is the service */
    OPTS_SERVICE_FORKING /* it forks a daemon and exits 0: the daemon is the service */
} opts_service_type;
typedef enum opts_leak_rule { OPTS_LEAK_INTERVAL_ABOVE, OPTS_LEAK_NOT_SHOWN_BELOW } opts_leak_rule;
typedef enum opts_memdetail {
    OPTS_MEMDETAIL_OFF,
    OPTS_MEMDETAIL_ON_LEAK,
    OPTS_MEMDETAIL_ALWAYS
} opts_memdetail;
typedef enum opts_status {
    OPTS_STATUS_AUTO,
    OPTS_STATUS_LINE,
    OPTS_STATUS_PLAIN,
    OPTS_STATUS_OFF
} opts_status;

#define OPTS_MAX_ARGS  256
#define OPTS_MAX_GATES 32
#define OPTS_DUMP_MAX  (128 * 1024) /* opts_dump of every key always fits */
#define OPTS_STR       512
/* The shortest sampling interval: below it, sampling a large tree takes a core by itself. */
#define OPTS_MIN_INTERVAL_MS 10

#define OPTS_MAX_CHECKS 16 /* preflight.checks, post_checks: entries of each */
#define OPTS_MAX_AUDIT  32 /* audit.inputs and audit.ignore: items each at most */

typedef struct opts {
    uint64_t duration_ms;
    uint64_t interval_ms;
    uint64_t pss_interval_ms;
    uint64_t zombie_grace_ms; /* a zombie seen this long persists (src/soak/zombies.h) */
    char artifacts[OPTS_STR];
    char heartbeat[OPTS_STR]; /* empty: no watchdog */
    uint64_t heartbeat_timeout_ms;
    opts_restart restart;
    uint64_t stop_timeout_ms;
    char metrics_url[OPTS_STR];
    uint64_t scrape_interval_ms;
    uint64_t scrape_timeout_ms;
    unsigned scrape_max_series;
    char listen[OPTS_STR];
    uint64_t max_log_size;
    unsigned max_log_files;
    uint64_t artifacts_quota;
    uint64_t min_free_disk;
    uint64_t log_buffer;
    unsigned gzip_level;
    uint64_t restart_delay_ms;
    uint64_t restart_delay_max_ms;
    uint64_t restart_reset_after_ms;
    unsigned start_limit_burst;
    uint64_t start_limit_interval_ms;
    unsigned pattern_events_per_min;
    opts_status status;
    /* patterns: name -> ERE; the defaults come first, users add or replace by name */
    size_t npatterns;
    char pattern_names[PATTERNS_MAX][64];
    char pattern_exprs[PATTERNS_MAX][OPTS_STR];
    /* analysis (soak analyze, and at the end of soak run) */
    int analyze;                   /* 1: soak run analyzes and reports when it ends */
    char warmup[OPTS_STR];         /* "auto" or a duration left out of each segment */
    uint64_t leak_window_ms;       /* rolling-minimum window of the memory envelope */
    opts_leak_rule leak_rule;      /* when growth counts as a leak (docs/leak-verdict.md) */
    uint64_t leak_min_span_ms;     /* less data after warm-up: no leak verdict */
    char optional_gates[OPTS_STR]; /* comma-separated gate names whose missing data passes */

    /* fail-fast (src/soak/failfast.h): stop the run once a gate can no longer pass */
    int fail_fast;                      /* 1: check the gates while the run is live */
    uint64_t fail_fast_zombie_grace_ms; /* zombies present longer than this stop the run */
    uint64_t fail_fast_cycle;           /* bytes of growth a slow cycle can explain */

    /* gates: name -> expression (docs/gates.md); the runbook's table by default */
    size_t ngates;
    char gate_names[OPTS_MAX_GATES][64];
    char gate_exprs[OPTS_MAX_GATES][OPTS_STR];
    /* the service: from `-- COMMAND ARGS` or the `command` list in the file */
    size_t argc;
    char *argv[OPTS_MAX_ARGS + 1]; /* owned strings, NULL-terminated */
    char config_path[OPTS_STR];    /* "" when no file */
    /* pre-flight, post-run checks and the archive (preflight.h, postcheck.h, archive.h) */
    int skip_preflight;
    uint64_t preflight_timeout_ms;
    size_t npreflight; /* preflight.checks: name -> shell command */
    char preflight_names[OPTS_MAX_CHECKS][64];
    char preflight_cmds[OPTS_MAX_CHECKS][OPTS_STR];
    uint64_t post_check_timeout_ms;
    size_t npost_checks; /* post_checks: series name -> shell command printing a number */
    char post_check_names[OPTS_MAX_CHECKS][64];
    char post_check_cmds[OPTS_MAX_CHECKS][OPTS_STR];
    unsigned archive; /* archive_policy (archive.h) */
    /* where the memory went, fds by type, zombie parents (slowpass.h; soak diagnose) */
    uint64_t memory_detail_interval_ms; /* the slow pass: smaps and fds of the tree */
    opts_memdetail memory_detail;       /* copies of the largest process's smaps */
    /* audit (soak audit, and at the end of soak run; docs/soak-audit.md) */
    size_t audit_ninputs;
    char *audit_inputs[OPTS_MAX_AUDIT]; /* owned: FILE or cmd:COMMAND */
    size_t audit_nignores;
    char *audit_ignores[OPTS_MAX_AUDIT]; /* owned: "ID: reason[; until YYYY-MM-DD]" */
    unsigned audit_unscored;             /* a cvss_rating: findings no report rates */
    uint64_t audit_timeout_ms;           /* a cmd: input is killed after this */
    /* notifications (escalation level 2; docs/soak-notify.md) */
    char notify_telegram_chat_id[OPTS_STR];
    char notify_telegram_base_url[OPTS_STR];
    char notify_webhook_url[OPTS_STR]; /* secret */
    char notify_slack_url[OPTS_STR];   /* secret */
    char notify_events[OPTS_STR];      /* comma-separated kinds of notify.h */
    uint64_t notify_min_interval_ms;
    uint64_t notify_timeout_ms;
    unsigned notify_retries;
    /* Pushgateway (pushgw.h) */
    char pushgateway[OPTS_STR];
    uint64_t push_interval_ms;
    char run_name[OPTS_STR];         /* the run label; "" the artifacts folder's base name */
    char listen_auth_file[OPTS_STR]; /* basic auth of --listen: a file with user:password */
    /* services that fork into the background (supervise.h, docs/soak-run.md) */
    opts_service_type service_type; /* auto | simple | forking */
    char pid_file[OPTS_STR];        /* forking: the file naming the main pid; "" none */
    uint64_t forking_detect_ms;     /* auto: an exit 0 this soon leaving processes forked */
    uint64_t forking_timeout_ms;    /* forking: the main pid is found in this time */
    /* log files the service writes itself, and a unit's journal (follow.h) */
    size_t follow_n;
    char *follow[FOLLOW_MAX_PATTERNS]; /* owned: paths or globs (logs.follow, --follow-log) */
    int follow_copy;                   /* 1: followed lines are copied into soak.log */
    uint64_t follow_poll_ms;           /* the stat poll under inotify */
    char journal_unit[OPTS_STR];       /* "" : no journal */
} opts;

/* Fills o with the defaults. */
void opts_init(opts *o);
/* Frees the command strings. */
void opts_free(opts *o);

/* The settings engine bound to o (for settings_print_keys and the like); o must outlive it. */
settings opts_settings(opts *o);

/* Sets one key from text ("interval", "patterns.oom"; "command" adds an argument). Returns 0,
 * or an ERR_* code of settings_set with the reason in err (without the key). */
int opts_set(opts *o, const char *key, const char *value, char *err, size_t errlen);
/* Loads a YAML file; the message names file, line and key (ERR_DUP: a key given twice). */
int opts_load_file(opts *o, const char *path, char *err, size_t errlen);
/* Replaces the command. Returns 0, ERR_FULL (more than OPTS_MAX_ARGS) or ERR_NOMEM. */
int opts_set_command(opts *o, char *const *argv, size_t argc, char *err, size_t errlen);
/* The options of `soak run` (settings_args over the table; config_path is the last -c file).
 * The command after them starts at argv[cli->rest]. */
int opts_args(opts *o, int argc, char **argv, settings_cli *cli, char *err, size_t errlen);

/* Writes every key with its current value as YAML into buf (settings_dump: loads back to the
 * same values); used for the run's record (samples.db). Returns bytes written (truncated to
 * n-1). */
size_t opts_dump(const opts *o, char *buf, size_t n);
/* Calls fn for each key (in table order) with its current value as text. */
void opts_each(const opts *o,
               void (*fn)(void *ud, const char *key, const char *value, const char *help),
               void *ud);

#endif
