/* watchcmd: `soak watch` on the command line. See watchcmd.h. */
#include "watchcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "opts.h"
#include "run.h"
#include "watch.h"
#include "watchtarget.h"

static const char usage_watch[] =
    "usage: soak watch [-c soak.yaml] [--set key=value]... [options] TARGET\n"
    "\n"
    "Soaks a service that soak did not start: samples it every interval into DIR/samples.db,\n"
    "watches its heartbeat (in a followed log file: logs.follow), scrapes its metrics, and at\n"
    "the end of the duration (or on SIGINT) writes the same verdict, report and diagnosis as\n"
    "'soak run'. It never signals, stops or restarts what it watches.\n"
    "\n"
    "TARGET (exactly one):\n"
    "      --pid PID              the process and all its descendants\n"
    "      --pid-file FILE        the process the file names; re-read at every sample: a new\n"
    "                             pid in it is followed and counted as a restart\n"
    "      --cgroup PATH          a cgroup's processes and its own counters (v2: memory.current\n"
    "                             ...; v1: a directory of the memory controller)\n"
    "      --unit NAME            a systemd unit: its cgroup from 'systemctl show'\n"
    "      --container ID         a container: its pid from 'docker inspect' (or podman), then\n"
    "                             its cgroup\n"
    "      --on-hang COMMAND      run COMMAND (sh -c) when the heartbeat stops; without it a\n"
    "                             hang is only recorded (SOAK_WATCH_PID is in its environment)\n"
    "      --skip-preflight       start without the pre-flight checks\n"
    "\n"
    "An exit of the target is recorded with the code \"unknown\" (soak is not its parent) unless\n"
    "the unit, the container runtime or the cgroup's oom_kill counter say more; it counts as a\n"
    "crash unless known to be clean. See docs/soak-watch.md for what watch mode cannot see.\n"
    "exit: 0 pass, 1 the run failed (crash, hang, a gate), 2 usage or configuration error,\n"
    "3 the target cannot be watched (no such process ...)\n"
    "\n"
    "options (each is also a key of soak.yaml; flags override the file; D is 250ms, 20s, 10m, "
    "24h):\n";

static const struct {
    const char *flag;
    watch_kind kind;
} watch_flags[] = {
    {"--pid", WATCH_PID},   {"--pid-file", WATCH_PID_FILE},   {"--cgroup", WATCH_CGROUP},
    {"--unit", WATCH_UNIT}, {"--container", WATCH_CONTAINER},
};

/* Matches "--flag V" or "--flag=V" at argv[*i]; the value into *v (advancing *i). 1 when it
 * matched, -1 when the value is missing, 0 when it is another argument. */
static int take_flag(int argc, char **argv, int *i, const char *flag, const char **v)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *v = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *v = argv[++*i];
    return 1;
}

static int set_target(watch_spec *sp, int *have, watch_kind k, const char *v)
{
    if (*have) {
        fprintf(stderr, "soak: give one target: --%s %s and --%s %s\n", watch_kind_name(sp->kind),
                sp->target, watch_kind_name(k), v);
        return -1;
    }
    if (!v[0] || strlen(v) >= sizeof sp->target) {
        fprintf(stderr, "soak: invalid --%s '%s'\n", watch_kind_name(k), v);
        return -1;
    }
    if ((k == WATCH_UNIT || k == WATCH_CONTAINER) && !watch_name_ok(v)) {
        fprintf(stderr, "soak: invalid --%s '%s': letters, digits and @._:+-\\ only\n",
                watch_kind_name(k), v);
        return -1;
    }
    sp->kind = k;
    snprintf(sp->target, sizeof sp->target, "%s", v);
    *have = 1;
    return 0;
}

int watchcmd_main(int argc, char **argv)
{
    static opts o;
    static watch_spec sp;
    char err[1024];
    int have = 0, skip_pf = 0, rc = SOAK_EXIT_USAGE;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    static char fail_fast_true[] = "--fail-fast=true";
    opts_init(&o);
    memset(&sp, 0, sizeof sp);
    if (!rest) {
        fprintf(stderr, "soak: out of memory\n");
        return SOAK_EXIT_ERROR;
    }
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m = 0;
        for (size_t k = 0; k < sizeof watch_flags / sizeof watch_flags[0] && !m; k++) {
            m = take_flag(argc, argv, &i, watch_flags[k].flag, &v);
            if (m == 1 && set_target(&sp, &have, watch_flags[k].kind, v))
                goto out;
        }
        if (!m && (m = take_flag(argc, argv, &i, "--on-hang", &v)) == 1) {
            if (!v[0] || strlen(v) >= sizeof sp.on_hang) {
                fprintf(stderr, "soak: invalid --on-hang '%s'\n", v);
                goto out;
            }
            snprintf(sp.on_hang, sizeof sp.on_hang, "%s", v);
        }
        if (m < 0) {
            fprintf(stderr, "soak: option '%s' needs a value\n", argv[i]);
            goto out;
        }
        if (m)
            continue;
        if (!strcmp(argv[i], "--skip-preflight"))
            skip_pf = 1;
        else if (!strcmp(argv[i], "--fail-fast") &&
                 (i + 1 >= argc || (strcmp(argv[i + 1], "true") && strcmp(argv[i + 1], "false"))))
            rest[nrest++] = fail_fast_true;
        else
            rest[nrest++] = argv[i];
    }
    rest[nrest] = NULL;
    settings_cli cli;
    if (opts_args(&o, nrest, rest, &cli, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        goto out;
    }
    if (cli.help || cli.help_keys) {
        settings s = opts_settings(&o);
        if (cli.help) {
            fputs(usage_watch, stdout);
            settings_print_flags(&s, stdout);
        } else {
            settings_print_keys(&s, stdout);
        }
        rc = 0;
        goto out;
    }
    if (cli.rest < nrest) {
        /* a bare number is a pid */
        const char *a = rest[cli.rest];
        pid_t p;
        if (cli.rest + 1 == nrest && !have && strspn(a, "0123456789") == strlen(a) &&
            wt_parse_pid(a, strlen(a), &p) == 0) {
            if (set_target(&sp, &have, WATCH_PID, a))
                goto out;
        } else {
            fprintf(stderr, "soak: unexpected '%s' (see 'soak watch --help')\n", a);
            goto out;
        }
    }
    if (!have) {
        fprintf(stderr, "soak: no target: give --pid, --pid-file, --cgroup, --unit or "
                        "--container (see 'soak watch --help')\n");
        goto out;
    }
    if (skip_pf)
        o.skip_preflight = 1;
    watch *w = watch_new(&sp);
    if (!w) {
        fprintf(stderr, "soak: out of memory\n");
        rc = SOAK_EXIT_ERROR;
        goto out;
    }
    int arc = watch_attach(w, err, sizeof err);
    if (arc) {
        fprintf(stderr, "soak: %s\n", err);
        rc = arc == ERR_INVAL ? SOAK_EXIT_USAGE : SOAK_EXIT_ERROR;
        watch_free(w);
        goto out;
    }
    printf("soak: watching %s\n", watch_describe(w));
    fflush(stdout);
    rc = run_watch(&o, w);
    watch_free(w);
out:
    opts_free(&o);
    free(rest);
    return rc;
}
