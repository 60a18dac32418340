/*
 * soak: supervise a long-running service, sample its whole process tree, capture and rotate
 * its logs, and say how the run went. This file only reads the command line; the work is in
 * run.c (soak run) and ctl.c (status, stop, kill-tree).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "archive.h"
#include "auditcmd.h"
#include "pushgw.h"
#include "ctl.h"
#include "diagnose.h"
#include "opts.h"
#include "preflight.h"
#include "errcode.h"
#include "report.h"
#include "run.h"
#include "shim.h"
#include "units.h"
#include "watchcmd.h"

static const char usage_main[] =
    "usage: soak <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [options] -- COMMAND [ARG...]   soak a service; see 'soak run --help'\n"
    "  watch [options] --pid PID | --pid-file FILE | --cgroup PATH | --unit NAME |\n"
    "        --container ID                soak a service soak did not start; see\n"
    "                                      'soak watch --help'\n"
    "  analyze [-c FILE] [--samples CSV] [--out DIR] [DIR]\n"
    "                                      the verdict of a run: leak, gates, summary, junit\n"
    "  report DIR                          write DIR/report.html (charts, events, verdict)\n"
    "  status DIR                          the current picture of a run and its last events\n"
    "  diagnose DIR [--json] [--section N] the runbook's eight sections done on the run's data\n"
    "  stop DIR [--timeout D]              stop the soak running in DIR (graceful, then forced)\n"
    "  kill-tree PID [--timeout D]         kill a process and every descendant\n"
    "  preflight [-c FILE] [-- COMMAND...] the checks soak run makes before it starts\n"
    "  archive DIR [-o FILE]               DIR as soak-artifacts-YYYYmmdd-HHMMSS.tar.gz\n"
    "  audit [-o FILE] [--policy FILE] INPUT...\n"
    "                                      count the findings of pip-audit, cargo audit, npm\n"
    "                                      audit and osv-scanner reports (the security gate)\n"
    "  push DIR --pushgateway URL [--delete]\n"
    "                                      a run's verdict to a Prometheus Pushgateway\n"
    "  help                                this text\n"
    "\n"
    "exit codes: 0 pass, 1 the run failed (crash, hang, start limit), 2 usage or\n"
    "configuration error, 3 the run could not be carried out\n";

static const char usage_run[] =
    "usage: soak run [-c soak.yaml] [--set key=value]... [options] -- COMMAND [ARG...]\n"
    "\n"
    "Runs COMMAND, samples its whole process tree every interval into DIR/samples.db,\n"
    "writes its stdout and stderr to DIR/soak.log (rotated, gzipped, capped), counts log\n"
    "patterns, restarts it by policy and stops it cleanly at the end.\n"
    "\n"
    "options (each is also a key of soak.yaml; flags override the file; D is 250ms, 20s, 10m, "
    "24h):\n";

/* `soak run --help`: the text above, then the flags of the settings table. */
static void print_usage_run(opts *o)
{
    settings s = opts_settings(o);
    fputs(usage_run, stdout);
    settings_print_flags(&s, stdout);
}

static int parse_timeout(int argc, char **argv, int first, uint64_t *ms)
{
    for (int i = first; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--timeout=", 10) == 0)
            v = argv[i] + 10;
        else {
            fprintf(stderr, "soak: unknown option '%s'\n", argv[i]);
            return -1;
        }
        if (units_parse_duration(v, ms)) {
            fprintf(stderr, "soak: invalid duration '%s' for --timeout\n", v);
            return -1;
        }
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static opts o;
    char err[512];
    settings_cli cli;
    opts_init(&o);
    if (opts_args(&o, argc, argv, &cli, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        opts_free(&o);
        return SOAK_EXIT_USAGE;
    }
    if (cli.help || cli.help_keys) {
        settings s = opts_settings(&o);
        if (cli.help)
            print_usage_run(&o);
        else
            settings_print_keys(&s, stdout);
        opts_free(&o);
        return 0;
    }
    if (cli.print_config) {
        static char buf[OPTS_DUMP_MAX];
        settings s = opts_settings(&o);
        settings_dump(&s, buf, sizeof buf, 1);
        fputs(buf, stdout);
        opts_free(&o);
        return 0;
    }
    if (cli.rest < argc) {
        if (opts_set_command(&o, argv + cli.rest, (size_t)(argc - cli.rest), err, sizeof err)) {
            fprintf(stderr, "soak: %s\n", err);
            opts_free(&o);
            return SOAK_EXIT_USAGE;
        }
    }
    if (o.argc == 0) {
        fprintf(stderr, "soak: no command to run: give it after '--' or as 'command' in the "
                        "configuration\n");
        opts_free(&o);
        return SOAK_EXIT_USAGE;
    }
    int rc = run_soak(&o);
    opts_free(&o);
    return rc;
}

static const char usage_analyze[] =
    "usage: soak analyze [-c soak.yaml] [--set key=value]... [--samples FILE] [--out DIR] "
    "[RUN_DIR]\n"
    "       soak analyze --replay-fail-fast [-c soak.yaml] [--set key=value]... "
    "(--samples FILE | RUN_DIR)\n"
    "\n"
    "Decides whether memory leaks and evaluates the gates (the runbook's Success Metrics\n"
    "table and your own, see docs/gates.md) over a run's samples.db, or over a series\n"
    "recorded by another tool (--samples: psrecord's CSV or plain log, or a CSV with\n"
    "elapsed_s,rss_bytes[,cpu_percent,pss_bytes]). Writes resources.analysis.json,\n"
    "verdict.json, summary.md and junit.xml into --out (default: RUN_DIR, or the CSV's folder).\n"
    "Settings come from -c, else from the configuration the run recorded.\n"
    "--replay-fail-fast: what --fail-fast would have done on these samples; the last line is\n"
    "'never' or 'ELAPSED GATE' (exit 0 or 1); no file is written.\n"
    "exit: 0 every gate passes, 1 a gate fails, 2 bad input, 3 the outputs cannot be written\n";

static int cmd_analyze(int argc, char **argv)
{
    static opts o;
    const char *cfg = NULL, *samples = NULL, *out = NULL, *dir = NULL;
    int replay = 0; /* --replay-fail-fast */
    char err[512];
    opts_init(&o);
    int rc = SOAK_EXIT_USAGE;
    /* -c and the run directory first: --set applies over either */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--samples") ||
             !strcmp(a, "--out") || !strcmp(a, "--set")) &&
            i + 1 >= argc) {
            fprintf(stderr, "soak: option '%s' needs a value\n", a);
            goto out;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_analyze, stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            cfg = argv[++i];
        else if (!strcmp(a, "--samples"))
            samples = argv[++i];
        else if (!strcmp(a, "--out"))
            out = argv[++i];
        else if (!strcmp(a, "--set"))
            i++;
        else if (!strcmp(a, "--replay-fail-fast"))
            replay = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "soak: unknown option '%s' (see 'soak analyze --help')\n", a);
            goto out;
        } else if (!dir)
            dir = a;
        else {
            fprintf(stderr, "soak: unexpected '%s'\n", a);
            goto out;
        }
    }
    if (!dir && !samples) {
        fprintf(stderr, "soak: give a run folder or --samples FILE\n\n%s", usage_analyze);
        goto out;
    }
    if (cfg ? opts_load_file(&o, cfg, err, sizeof err)
            : (dir && !samples && analyze_load_run_config(dir, &o, err, sizeof err))) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--set")) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            char key[128];
            if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
                fprintf(stderr, "soak: --set wants KEY=VALUE, got '%s'\n", kv);
                goto out;
            }
            snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
            if (opts_set(&o, key, eq + 1, err, sizeof err)) {
                fprintf(stderr, "soak: --set key '%s': %s\n", key, err);
                goto out;
            }
        }
    analyze_args aa = {
        .run_dir = samples ? NULL : dir, .samples_file = samples, .out_dir = out, .o = &o};
    rc = replay ? analyze_exit_code(analyze_replay_fail_fast(&aa)) : analyze_main(&aa);
out:
    opts_free(&o);
    return rc;
}

static const char usage_preflight[] =
    "usage: soak preflight [-c soak.yaml] [--set key=value]... [options] [-- COMMAND [ARG...]]\n"
    "\n"
    "The checks soak run makes before it starts the service: free disk, limits, clock, the\n"
    "artifacts folder and its lock, processes left by an earlier run, --listen and\n"
    "--metrics-url, the command, and the user's preflight.checks. Each passes, warns or fails.\n"
    "exit: 0 nothing failed, 2 usage or configuration error, 3 a check failed\n";

static int cmd_preflight(int argc, char **argv)
{
    static opts o;
    static preflight_result pr;
    char err[512], dir[PATH_MAX];
    settings_cli cli;
    opts_init(&o);
    int rc = SOAK_EXIT_USAGE;
    if (opts_args(&o, argc, argv, &cli, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    if (cli.help || cli.help_keys || cli.print_config) {
        fputs(usage_preflight, stdout);
        rc = 0;
        goto out;
    }
    if (cli.rest < argc &&
        opts_set_command(&o, argv + cli.rest, (size_t)(argc - cli.rest), err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    if (!realpath(o.artifacts, dir))
        snprintf(dir, sizeof dir, "%s", o.artifacts); /* not created yet: checked as such */
    int bad = preflight_run(&o, dir, 0, &pr);
    printf("soak: pre-flight of '%s'\n", dir);
    preflight_print(&pr, 0, stdout);
    rc = bad ? SOAK_EXIT_ERROR : 0;
out:
    opts_free(&o);
    return rc;
}

static int cmd_archive(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    char err[PATH_MAX + 256], path[PATH_MAX];
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: soak archive DIR [-o FILE]\n");
            return 0;
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: soak archive DIR [-o FILE]\n");
            return SOAK_EXIT_USAGE;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: soak archive DIR [-o FILE]\n");
        return SOAK_EXIT_USAGE;
    }
    int rc = archive_write(dir, out, path, sizeof path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "soak: %s\n", err);
        return rc == ERR_NOENT ? SOAK_EXIT_USAGE : SOAK_EXIT_ERROR;
    }
    printf("soak: wrote %s\n", path);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    char err[512];
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: soak report RUN_DIR\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : SOAK_EXIT_USAGE;
    }
    int rc = report_write(argv[1], err, sizeof err);
    if (rc) {
        fprintf(stderr, "soak: %s\n", err);
        /* no run there is bad input; a report that cannot be written is not */
        return rc == ERR_IO || rc == ERR_NOMEM ? SOAK_EXIT_ERROR : SOAK_EXIT_USAGE;
    }
    printf("soak: wrote %s/report.html\n", argv[1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return SOAK_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "watch"))
        return watchcmd_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "preflight"))
        return cmd_preflight(argc - 1, argv + 1);
    if (!strcmp(cmd, "archive"))
        return cmd_archive(argc - 1, argv + 1);
    if (!strcmp(cmd, "diagnose"))
        return diagnose_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "__shim"))
        return shim_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "status") || !strcmp(cmd, "stop")) {
        if (argc < 3 || argv[2][0] == '-') {
            fprintf(stderr, "usage: soak %s DIR%s\n", cmd,
                    cmd[1] == 't' && cmd[2] == 'o' ? " [--timeout D]" : "");
            return argc >= 3 && !strcmp(argv[2], "--help") ? 0 : SOAK_EXIT_USAGE;
        }
        if (!strcmp(cmd, "status"))
            return argc > 3 ? (fprintf(stderr, "soak: unexpected '%s'\n", argv[3]), SOAK_EXIT_USAGE)
                            : ctl_status(argv[2], 10);
        uint64_t t = 120000;
        if (parse_timeout(argc, argv, 3, &t))
            return SOAK_EXIT_USAGE;
        return ctl_stop(argv[2], t);
    }
    if (!strcmp(cmd, "audit"))
        return auditcmd_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "push"))
        return pushgw_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "kill-tree")) {
        char *end;
        long pid = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
        if (argc < 3 || *end || pid <= 1) {
            fprintf(stderr, "usage: soak kill-tree PID [--timeout D]\n");
            return SOAK_EXIT_USAGE;
        }
        uint64_t t = 10000;
        if (parse_timeout(argc, argv, 3, &t))
            return SOAK_EXIT_USAGE;
        return ctl_kill_tree((pid_t)pid, t);
    }
    fprintf(stderr, "soak: unknown command '%s'\n\n%s", cmd, usage_main);
    return SOAK_EXIT_USAGE;
}
