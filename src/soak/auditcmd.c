#include "auditcmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "errcode.h"
#include "cmdrun.h"

static const char usage_audit[] =
    "usage: soak audit [-c soak.yaml] [--policy FILE] [--set key=value]... [-o FILE] [INPUT...]\n"
    "\n"
    "Reads the JSON reports of pip-audit (--format json), cargo audit --json, npm audit --json\n"
    "(npm 7 and later) and osv-scanner --format json, tells their format from the content,\n"
    "merges the same advisory reported by several tools, applies audit.ignore, and counts the\n"
    "findings by severity for the runbook's security gate (0 CRITICAL/HIGH).\n"
    "\n"
    "  INPUT            a report file, or cmd:COMMAND whose standard output is one\n"
    "                   (default: audit.inputs of the configuration)\n"
    "  -c FILE          soak.yaml: audit.inputs, audit.ignore, audit.unscored, audit.timeout\n"
    "  --policy FILE    a YAML file of audit.* keys (an ignore list kept apart), read after -c\n"
    "  --set key=value  one key, e.g. --set audit.unscored=medium\n"
    "  -o FILE          write security.json there (default: security.json)\n"
    "\n"
    "exit codes: 0 no CRITICAL/HIGH finding, 1 at least one, 2 usage error or an input that\n"
    "cannot be read\n";

/* Days since 1970-01-01, UTC. */
static long today_utc(void)
{
    return (long)(time(NULL) / 86400);
}

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return ERR_IO;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : ERR_NOMEM;
    while (!rc) {
        if (n == cap) {
            if (cap > AUDIT_MAX_INPUT) {
                snprintf(err, errlen, "larger than %u MiB", AUDIT_MAX_INPUT >> 20);
                rc = ERR_RANGE;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = ERR_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read: %s", strerror(errno));
                rc = ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

/* One input into a. The message names the input. */
static int add_input(audit *a, const char *input, uint64_t timeout_ms, char *err, size_t errlen)
{
    char why[512] = "";
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (strncmp(input, "cmd:", 4) == 0) {
        /* untouched pages of the buffer cost nothing: it is cut down to the report's size */
        text = malloc(AUDIT_MAX_INPUT + 2);
        char errb[256];
        cmdrun_result r;
        if (!text) {
            snprintf(err, errlen, "input '%s': out of memory", input);
            return ERR_NOMEM;
        }
        rc = cmdrun_run(input + 4, timeout_ms, text, AUDIT_MAX_INPUT + 2, errb, sizeof errb, &r);
        if (rc || r.timed_out || r.signal || r.out_len == 0 || r.out_truncated) {
            char how[160];
            cmdrun_describe(&r, how, sizeof how);
            if (r.timed_out)
                snprintf(how, sizeof how, "timed out after %.3gs", (double)timeout_ms / 1000.0);
            snprintf(err, errlen, "input '%s': %s%s", input, how,
                     r.out_truncated         ? ", and printed more than 64 MiB"
                     : r.out_len == 0 && !rc ? ", and printed nothing"
                                             : "");
            free(text);
            return rc ? rc : r.timed_out ? ERR_TIMEOUT : r.out_truncated ? ERR_RANGE : ERR_NODATA;
        }
        /* audit tools exit 1 when they find something: the report is what counts */
        len = r.out_len;
    } else {
        rc = read_file(input, &text, &len, why, sizeof why);
        if (rc) {
            snprintf(err, errlen, "input '%s': %s", input, why);
            return rc;
        }
    }
    audit_format fmt;
    rc = audit_add_report(a, text, len, input, &fmt, why, sizeof why);
    free(text);
    if (rc)
        snprintf(err, errlen, "input '%s': %s", input, why);
    return rc;
}

/* The policy from o; ignores into storage (OPTS_MAX_AUDIT entries). */
static int make_policy(const opts *o, audit_ignore *storage, audit_policy *p, char *err,
                       size_t errlen)
{
    p->unscored = (cvss_rating)o->audit_unscored;
    p->today = today_utc();
    p->ignores = storage;
    p->nignores = 0;
    for (size_t i = 0; i < o->audit_nignores && i < OPTS_MAX_AUDIT; i++) {
        char why[256];
        if (audit_ignore_parse(o->audit_ignores[i], &storage[i], why, sizeof why)) {
            snprintf(err, errlen, "audit.ignore: %s", why); /* checked at load: not reached */
            return ERR_CONFIG;
        }
        p->nignores++;
    }
    return 0;
}

/* Reads every input and applies the policy. *out is the audit (the caller frees it). */
static int collect(const opts *o, char *const *inputs, size_t n, audit **out, audit_policy *p,
                   audit_ignore *storage, char *err, size_t errlen)
{
    int rc = make_policy(o, storage, p, err, errlen);
    if (rc)
        return rc;
    audit *a = audit_new();
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = add_input(a, inputs[i], o->audit_timeout_ms, err, errlen)) != 0) {
            audit_free(a);
            return rc;
        }
    audit_apply(a, p);
    *out = a;
    return 0;
}

/* Writes text to path through a temporary file, so that a reader never sees half of it. */
static int write_file(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        return ERR_IO;
    }
    int bad = fputs(text, f) < 0 || fputc('\n', f) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return ERR_IO;
    }
    return 0;
}

static const char *series_name(cvss_rating r)
{
    static const char *const names[CVSS_NRATINGS] = {
        "security_critical", "security_high", "security_medium", "security_low", "security_none"};
    return names[r];
}

int auditcmd_main(int argc, char **argv)
{
    static opts o;
    opts_init(&o);
    char err[1024];
    const char *out_path = "security.json";
    char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    size_t ninputs = 0;
    int code = AUDITCMD_ERROR;
    if (!inputs) {
        fprintf(stderr, "soak: out of memory\n");
        return AUDITCMD_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_audit, stdout);
            code = AUDITCMD_PASS;
            goto out;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--policy")) && next) {
            if (opts_load_file(&o, next, err, sizeof err)) {
                fprintf(stderr, "soak: %s\n", err);
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--set") && next) {
            settings s = opts_settings(&o);
            if (settings_set_kv(&s, next, "--set", err, sizeof err)) {
                fprintf(stderr, "soak: %s\n", err);
                goto out;
            }
            i++;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && next) {
            out_path = next;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "soak: unknown option '%s' (or its value is missing); see 'soak "
                    "audit --help'\n",
                    a);
            goto out;
        } else {
            inputs[ninputs++] = argv[i];
        }
    }
    char *const *in = ninputs ? inputs : o.audit_inputs;
    size_t nin = ninputs ? ninputs : o.audit_ninputs;
    if (nin == 0) {
        fprintf(stderr, "soak: audit: no input: give report files or cmd:COMMAND, or "
                        "audit.inputs in the configuration; see 'soak audit --help'\n");
        goto out;
    }
    audit *a = NULL;
    audit_policy pol;
    audit_ignore storage[OPTS_MAX_AUDIT];
    if (collect(&o, in, nin, &a, &pol, storage, err, sizeof err)) {
        fprintf(stderr, "soak: audit: %s\n", err);
        goto out;
    }
    char *json = audit_json(a, &pol);
    if (!json || write_file(out_path, json, err, sizeof err)) {
        fprintf(stderr, "soak: audit: %s\n", json ? err : "out of memory");
        free(json);
        audit_free(a);
        goto out;
    }
    free(json);
    audit_print(a, stdout);
    printf("security_critical_high %u (gate: 0); written %s\n", audit_critical_high(a), out_path);
    code = audit_critical_high(a) ? AUDITCMD_FAIL : AUDITCMD_PASS;
    audit_free(a);
out:
    free(inputs);
    opts_free(&o);
    return code;
}

int auditcmd_run(const opts *o, const char *run_dir, store *db, double t)
{
    if (o->audit_ninputs == 0)
        return 0;
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/security.json", run_dir);
    audit *a = NULL;
    audit_policy pol;
    audit_ignore storage[OPTS_MAX_AUDIT];
    int rc = collect(o, o->audit_inputs, o->audit_ninputs, &a, &pol, storage, err, sizeof err);
    if (rc) {
        /* no series: the gate has no data, and says why */
        char why[1200];
        snprintf(why, sizeof why, "audit failed: %s", err);
        store_event(db, t, STORE_EV_AUDIT, 0, why, -1);
        store_set_run(db, "audit_error", err);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "error", err);
        cJSON_AddNullToObject(j, "security_critical_high");
        char *text = cJSON_Print(j);
        char werr[256];
        if (text)
            write_file(path, text, werr, sizeof werr);
        free(text);
        cJSON_Delete(j);
        fprintf(stderr, "soak: %s\n", why);
        return rc;
    }
    char *json = audit_json(a, &pol);
    if (json)
        write_file(path, json, err, sizeof err);
    free(json);
    store_begin(db);
    store_metric(db, t, "security_critical_high", "", audit_critical_high(a));
    for (int r = 0; r < CVSS_NRATINGS; r++)
        store_metric(db, t, series_name((cvss_rating)r), "", audit_count(a, (cvss_rating)r));
    store_commit(db);
    char detail[256];
    snprintf(detail, sizeof detail,
             "security: %u critical/high (critical %u, high %u, medium %u, low %u; ignored %u) "
             "from %zu input%s",
             audit_critical_high(a), audit_count(a, CVSS_CRITICAL), audit_count(a, CVSS_HIGH),
             audit_count(a, CVSS_MEDIUM), audit_count(a, CVSS_LOW), audit_ignored(a),
             o->audit_ninputs, o->audit_ninputs == 1 ? "" : "s");
    store_event(db, t, STORE_EV_AUDIT, 0, detail, audit_critical_high(a));
    audit_free(a);
    return 0;
}
