#include "pushgw.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "endpoints.h"
#include "errcode.h"
#include "httpget.h"
#include "promtext.h"
#include "sbuf.h"

#define PUSH_BODY_MAX       (1u << 20)
#define PUSH_TIMEOUT_MAX_MS 5000u

struct pushgw {
    uv_loop_t *loop;
    const runstate *rs;
    char url[2048];   /* the group's URL (may carry credentials: never printed as is) */
    char shown[2048]; /* redacted, for messages */
    unsigned timeout_ms;
    uv_timer_t timer;
    uv_work_t work;
    int busy, handles_open;
    sbuf body;  /* the push in flight; owned by the worker while busy */
    sbuf final; /* the gauges at the end (pushgw_close_handles) */
    int final_ok;
    int last_rc; /* of the push in flight */
    long last_status;
    int warned; /* a failure was logged */
};

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* value as base64url (RFC 4648 section 5, no padding) into out; 0 or ERR_FULL. */
static int b64(const char *value, char *out, size_t n)
{
    const unsigned char *v = (const unsigned char *)value;
    size_t len = strlen(value), o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned x = (unsigned)v[i] << 16 | (i + 1 < len ? (unsigned)v[i + 1] << 8 : 0) |
                     (i + 2 < len ? v[i + 2] : 0);
        int chars = i + 2 < len ? 4 : i + 1 < len ? 3 : 2;
        for (int k = 0; k < chars; k++) {
            if (o + 1 >= n)
                return ERR_FULL;
            out[o++] = b64url[(x >> (18 - 6 * k)) & 63];
        }
    }
    if (o + 1 >= n)
        return ERR_FULL;
    out[o] = '\0';
    return 0;
}

int pushgw_group_url(const char *base, const char *run, const char *instance, char *out, size_t n)
{
    char r[512], in[512];
    if (b64(run, r, sizeof r) || b64(instance, in, sizeof in))
        return ERR_FULL;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    int w = snprintf(out, n, "%.*s/metrics/job/soak/run@base64/%s/instance@base64/%s", (int)bl,
                     base, r, in);
    return w < 0 || (size_t)w >= n ? ERR_FULL : 0;
}

void pushgw_run_name(const opts *o, char *out, size_t n)
{
    if (o->run_name[0]) {
        snprintf(out, n, "%s", o->run_name);
        return;
    }
    char *abs = realpath(o->artifacts, NULL);
    const char *p = abs ? abs : o->artifacts;
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        len--;
    const char *slash = memrchr(p, '/', len);
    const char *b = slash ? slash + 1 : p;
    snprintf(out, n, "%.*s", (int)(p + len - b), b);
    free(abs);
}

static void host_name(char *out, size_t n)
{
    if (gethostname(out, n - 1))
        snprintf(out, n, "unknown");
    out[n - 1] = '\0';
}

static int make_url(const char *base, const char *run, char *url, size_t n, char *shown, size_t sn,
                    char *err, size_t errlen)
{
    if (strncasecmp(base, "http://", 7) && strncasecmp(base, "https://", 8)) {
        snprintf(err, errlen, "pushgateway: not an http:// or https:// URL");
        return ERR_CONFIG;
    }
    char host[256];
    host_name(host, sizeof host);
    if (pushgw_group_url(base, run, host, url, n)) {
        snprintf(err, errlen, "pushgateway: URL too long");
        return ERR_CONFIG;
    }
    httpget_redact_url(url, shown, sn);
    return 0;
}

/* ---- the verdict as metrics ----------------------------------------------------------------- */

static int verdict_metrics(const char *run_dir, sbuf *b, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/verdict.json", run_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "no verdict in '%s' (soak analyze writes it)", run_dir);
        return ERR_NOENT;
    }
    sbuf text;
    sbuf_init(&text, PUSH_BODY_MAX);
    char chunk[65536];
    size_t got;
    int rc = 0;
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = sbuf_add(&text, chunk, got);
    fclose(f);
    cJSON *v = rc ? NULL : cJSON_ParseWithLength(text.data ? text.data : "", text.len);
    sbuf_free(&text);
    const cJSON *gates = cJSON_GetObjectItemCaseSensitive(v, "gates");
    if (!cJSON_IsArray(gates)) {
        cJSON_Delete(v);
        snprintf(err, errlen, "'%s' is not a verdict", path);
        return ERR_PARSE;
    }
    rc |= promtext_header(b, "soak_verdict_pass", "gauge", "1 when the run's verdict passed");
    rc |= promtext_sample(b, "soak_verdict_pass", NULL,
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "pass")));
    rc |= promtext_header(b, "soak_gate_passed", "gauge", "1 when the gate counts as passed");
    const cJSON *g;
    cJSON_ArrayForEach(g, gates)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "status");
        const cJSON *opt = cJSON_GetObjectItemCaseSensitive(g, "optional");
        if (!cJSON_IsString(name) || !cJSON_IsString(st))
            continue;
        int passed = !strcmp(st->valuestring, "pass") ||
                     (!strcmp(st->valuestring, "no-data") && cJSON_IsTrue(opt));
        rc |= promtext_sample(b, "soak_gate_passed",
                              (const char *const[]){"gate", name->valuestring, NULL}, passed);
    }
    rc |= promtext_header(b, "soak_gate_value", "gauge", "the value a gate compared");
    cJSON_ArrayForEach(g, gates)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(g, "value");
        if (cJSON_IsString(name) && cJSON_IsNumber(val))
            rc |= promtext_sample(b, "soak_gate_value",
                                  (const char *const[]){"gate", name->valuestring, NULL},
                                  val->valuedouble);
    }
    rc |= promtext_header(b, "soak_run_end_timestamp_seconds", "gauge", "when the run ended");
    rc |= promtext_sample(b, "soak_run_end_timestamp_seconds", NULL, (double)time(NULL));
    cJSON_Delete(v);
    if (rc) {
        snprintf(err, errlen, "verdict metrics larger than %u bytes", PUSH_BODY_MAX);
        return ERR_FULL;
    }
    return 0;
}

static int post(const char *url, const char *shown, const sbuf *body, unsigned timeout_ms,
                char *err, size_t errlen)
{
    sbuf resp;
    sbuf_init(&resp, 65536);
    long status = 0;
    char why[1024];
    int rc = httpget_post(url, body->data ? body->data : "", body->len, "text/plain; version=0.0.4",
                          timeout_ms, 65536, &resp, &status, why, sizeof why);
    sbuf_free(&resp);
    if (rc) {
        snprintf(err, errlen, "push to '%s': %s", shown, errcode_str(rc));
        return rc;
    }
    if (status < 200 || status > 299) {
        snprintf(err, errlen, "push to '%s': HTTP %ld", shown, status);
        return ERR_REFUSED;
    }
    return 0;
}

/* ---- live pushes ------------------------------------------------------------------------------ */

static void push_work(uv_work_t *w)
{
    pushgw *p = w->data;
    char err[256];
    p->last_rc = post(p->url, p->shown, &p->body, p->timeout_ms, err, sizeof err);
}

static void push_done(uv_work_t *w, int status)
{
    pushgw *p = w->data;
    (void)status;
    p->busy = 0;
    if (p->last_rc == 0) {
        if (p->warned)
            fprintf(stderr, "soak: pushgateway: pushing again\n");
        p->warned = 0;
    } else {
        if (!p->warned)
            fprintf(stderr, "soak: pushgateway: push to '%s' failed: %s (retried every push)\n",
                    p->shown, errcode_str(p->last_rc));
        p->warned = 1;
    }
}

static void on_tick(uv_timer_t *t)
{
    pushgw *p = t->data;
    if (p->busy)
        return; /* the last one is still going: this one is skipped */
    sbuf_reset(&p->body);
    if (endpoints_metrics(p->rs, uv_now(p->loop), &p->body))
        return;
    p->work.data = p;
    if (uv_queue_work(p->loop, &p->work, push_work, push_done) == 0)
        p->busy = 1;
}

int pushgw_start(uv_loop_t *loop, const opts *o, const runstate *rs, pushgw **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!o->pushgateway[0])
        return 0;
    pushgw *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    char run[256];
    pushgw_run_name(o, run, sizeof run);
    int rc = make_url(o->pushgateway, run, p->url, sizeof p->url, p->shown, sizeof p->shown, err,
                      errlen);
    if (rc) {
        free(p);
        return rc;
    }
    p->loop = loop;
    p->rs = rs;
    uint64_t t = o->push_interval_ms / 2;
    p->timeout_ms = t < PUSH_TIMEOUT_MAX_MS ? (unsigned)(t ? t : 1) : PUSH_TIMEOUT_MAX_MS;
    sbuf_init(&p->body, PUSH_BODY_MAX);
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_tick, 0, o->push_interval_ms);
    uv_unref((uv_handle_t *)&p->timer);
    p->handles_open = 1;
    *out = p;
    return 0;
}

void pushgw_close_handles(pushgw *p)
{
    if (!p || !p->handles_open)
        return;
    p->handles_open = 0;
    uv_close((uv_handle_t *)&p->timer, NULL);
    /* the last gauges, while what they read is alive (the patterns go before the verdict) */
    p->final_ok = 0;
    sbuf_init(&p->final, PUSH_BODY_MAX);
    p->final_ok = endpoints_metrics(p->rs, uv_now(p->loop), &p->final) == 0;
}

int pushgw_finish(pushgw *p, const char *run_dir, char *err, size_t errlen)
{
    if (!p)
        return 0;
    /* the loop has ended: no push is in flight (uv_run waited for it) */
    sbuf_reset(&p->body);
    int rc = p->final_ok && p->final.len ? sbuf_add(&p->body, p->final.data, p->final.len) : 0;
    sbuf_free(&p->final);
    if (!rc)
        rc = verdict_metrics(run_dir, &p->body, err, errlen);
    if (!rc)
        rc = post(p->url, p->shown, &p->body, PUSH_TIMEOUT_MAX_MS, err, errlen);
    sbuf_free(&p->body);
    memset(p->url, 0, sizeof p->url);
    free(p);
    return rc;
}

/* ---- soak push ------------------------------------------------------------------------------- */

static const char usage_push[] =
    "usage: soak push DIR --pushgateway URL [--run NAME] [--delete]\n"
    "\n"
    "Pushes the verdict of the finished run in DIR (its verdict.json) to a Prometheus\n"
    "Pushgateway, under job=\"soak\", run=NAME (default: DIR's base name) and instance=this\n"
    "host; with --delete, removes that group instead.\n"
    "exit codes: 0 done, 2 usage error, 3 the Pushgateway refused or did not answer\n";

int pushgw_main(int argc, char **argv)
{
    const char *dir = NULL, *url = NULL, *run = NULL;
    int del = 0;
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_push, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--pushgateway") && next) {
            url = argv[++i];
        } else if (!strcmp(argv[i], "--run") && next) {
            run = argv[++i];
        } else if (!strcmp(argv[i], "--delete")) {
            del = 1;
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "soak: push: unexpected '%s'\n%s", argv[i], usage_push);
            return 2;
        }
    }
    if (!dir || !url) {
        fputs(usage_push, stderr);
        return 2;
    }
    static opts o;
    opts_init(&o);
    snprintf(o.artifacts, sizeof o.artifacts, "%s", dir);
    if (run)
        snprintf(o.run_name, sizeof o.run_name, "%s", run);
    char name[256], gurl[2048], shown[2048], err[1024];
    pushgw_run_name(&o, name, sizeof name);
    opts_free(&o);
    if (make_url(url, name, gurl, sizeof gurl, shown, sizeof shown, err, sizeof err)) {
        fprintf(stderr, "soak: %s\n", err);
        return 2;
    }
    int rc;
    if (del) {
        long status = 0;
        char why[1024];
        rc = httpget_delete(gurl, PUSH_TIMEOUT_MAX_MS, &status, why, sizeof why);
        if (!rc && (status < 200 || status > 299))
            rc = ERR_REFUSED;
        if (rc) {
            fprintf(stderr, "soak: push: delete '%s': %s\n", shown,
                    status ? "refused" : errcode_str(rc));
            return 3;
        }
        printf("deleted %s\n", shown);
        return 0;
    }
    sbuf body;
    sbuf_init(&body, PUSH_BODY_MAX);
    rc = verdict_metrics(dir, &body, err, sizeof err);
    if (rc) {
        sbuf_free(&body);
        fprintf(stderr, "soak: push: %s\n", err);
        return 2;
    }
    rc = post(gurl, shown, &body, PUSH_TIMEOUT_MAX_MS, err, sizeof err);
    sbuf_free(&body);
    if (rc) {
        fprintf(stderr, "soak: %s\n", err);
        return 3;
    }
    printf("pushed the verdict of %s to %s\n", dir, shown);
    return 0;
}
