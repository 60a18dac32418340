/*
 * report: DIR/report.html from samples.db, verdict.json, resources.analysis.json and the logs.
 * See report.h for the contract. Three parts, three files: the data (repdata.c, read through
 * runrec: samples folded into chart columns, the timeline, the crashes), the log scan
 * (logscan.c: the lines before each crash) and the HTML here (the sections, the SVG charts, the
 * event table streamed from runrec). Memory stays bounded whatever the length of the run: only
 * the first and last REP_EV_EDGE event rows are listed, the JSON inputs are refused past
 * REP_JSON_MAX bytes. What is drawn is downsampled; nothing here feeds the analysis.
 */
#include "report.h"
#include "errcode.h"
#include "logscan.h"
#include "preflight.h"
#include "diagnose.h"
#include "repdata.h"
#include "repdiag.h"
#include "runrec.h"
#include "store.h"
#include "units.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REP_JSON_MAX   (8u << 20) /* verdict.json, resources.analysis.json */
#define REP_EV_EDGE    200        /* events listed at the start and at the end */
#define REP_MAX_GATES  500        /* verdict rows */
#define REP_MAX_SEGS   2000       /* trend segments drawn */
#define REP_DETAIL_MAX 300        /* bytes of an event detail shown */

/* chart geometry (SVG user units; the SVG scales to the page width) */
#define PL    78 /* left margin: y labels */
#define PR    36 /* right: room for the last time label */
#define PT    34 /* top: legend */
#define PB    40 /* bottom: x labels */
#define PH    200
#define SVG_W (PL + REPDATA_NCOL + PR)
#define SVG_H (PT + PH + PB)

enum { Y_BYTES, Y_PERCENT, Y_COUNT, Y_PLAIN };

/* timeline rows: the lanes of store.h, top to bottom */
#define NTL STORE_NLANES
static const char *const tl_color[NTL] = {"#2b7bb9", "#d62728", "#ff7f0e", "#8c1c13",
                                          "#555555", "#7f7f7f", "#9467bd"};

typedef logscan_note crash;

typedef struct rep {
    const char *dir;
    FILE *f;
    int werr; /* a write failed */
    runrec *rr;
    repdata d; /* what is drawn and listed (repdata.h) */
    cJSON *verdict, *analysis;
    char verdict_why[200], analysis_why[200];
    const char *metric; /* the scraped series report_metric_chart draws, or NULL */
} rep;

/* ---------------------------------------------------------------- output */

static void put(rep *r, const char *s)
{
    if (fputs(s, r->f) == EOF)
        r->werr = 1;
}

static void putf(rep *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(rep *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(r->f, fmt, ap) < 0)
        r->werr = 1;
    va_end(ap);
}

/* Writes n bytes of untrusted text escaped for HTML text and attribute values; control
 * characters become '?'. */
static void put_escn(rep *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        switch (c) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            break;
        }
        if (e)
            put(r, e);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fputc('?', r->f);
        else
            fputc(c, r->f);
    }
}

static void put_esc(rep *r, const char *s)
{
    put_escn(r, s ? s : "", SIZE_MAX);
}

/* ---------------------------------------------------------------- formatting */

/* A number as people read it: no exponent for ordinary magnitudes, few decimals. */
static char *fmt_num(double v, char *buf, size_t n)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, n, "%s", isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
    else if (a >= 1e15 || (a > 0 && a < 0.001))
        snprintf(buf, n, "%.3g", v);
    else if (a == floor(a))
        snprintf(buf, n, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, n, "%.1f", v);
    else
        snprintf(buf, n, "%.2f", v);
    return buf;
}

/* Elapsed seconds as h:mm:ss (always), for tables. */
static char *fmt_hms(double s, char *buf, size_t n)
{
    if (s < 0)
        s = 0;
    uint64_t x = (uint64_t)(s + 0.5);
    snprintf(buf, n, "%llu:%02llu:%02llu", (unsigned long long)(x / 3600),
             (unsigned long long)(x / 60 % 60), (unsigned long long)(x % 60));
    return buf;
}

static char *fmt_utc(double t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, n, "?");
    return buf;
}

/* ---------------------------------------------------------------- inputs */

/* Reads DIR/name as JSON. NULL with the reason in why ("not found" for a missing file). */
static cJSON *read_json(const char *dir, const char *name, char *why, size_t whylen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s", errno == ENOENT ? "not found" : strerror(errno));
        return NULL;
    }
    cJSON *j = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > REP_JSON_MAX) {
        snprintf(why, whylen, "too large or unreadable");
        fclose(f);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
    } else if (fread(buf, 1, len, f) != len) {
        snprintf(why, whylen, "read error");
    } else {
        buf[len] = '\0';
        j = cJSON_ParseWithLength(buf, len);
        if (!j || !cJSON_IsObject(j)) {
            snprintf(why, whylen, "not valid JSON");
            cJSON_Delete(j);
            j = NULL;
        }
    }
    free(buf);
    fclose(f);
    return j;
}

static double jnum(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *jstr(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

/* -1 when absent or not a bool */
static int jbool(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

/* Copies run value key into buf; 0 when absent. */
static int run_value(rep *r, const char *key, char *buf, size_t n)
{
    return runrec_value(r->rr, key, buf, n) == 1;
}

static double x_of(const rep *r, double t)
{
    double x = (t - r->d.t0) / (r->d.t1 - r->d.t0) * REPDATA_NCOL;
    if (x < 0)
        x = 0;
    if (x > REPDATA_NCOL)
        x = REPDATA_NCOL;
    return PL + x;
}

/* ---------------------------------------------------------------- page parts */

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
    "max-width:1200px;padding:16px 24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}"
    "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;font-size:12px}"
    ".cmd{background:#f4f4f4;padding:6px 8px;border-radius:4px;word-break:break-all}"
    ".meta{color:#555}.meta span{margin-right:18px}"
    "table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    ".pass{background:#dff3e0;color:#14591b;font-weight:600}"
    ".fail{background:#fbdada;color:#8a1111;font-weight:600}"
    ".nodata{background:#fff1cc;color:#7a5300;font-weight:600}"
    ".banner{display:inline-block;padding:6px 14px;border-radius:4px;font-size:18px;"
    "margin:6px 0}.na{color:#777;font-style:italic}"
    "tr.crash td{background:#fff4f4}"
    "svg.chart{width:100%;height:auto;display:block;margin:4px 0 12px}"
    "svg text{font:12px system-ui,sans-serif;fill:#333}svg .ax{stroke:#999;stroke-width:1}"
    "svg .grid{stroke:#eee;stroke-width:1}"
    "pre.log{background:#1e1e1e;color:#ddd;padding:8px;overflow-x:auto;white-space:pre;"
    "border-radius:4px;line-height:1.35}pre.log .note{color:#ff8080;font-weight:bold}"
    ".small{font-size:12px;color:#666}"
    "nav.toc{margin:10px 0;font-size:13px}nav.toc a{margin-right:14px}"
    ".reason{font-size:15px;margin:4px 0 8px}"
    /* dark mode: the same page in the reader's colours (the SVG strokes keep theirs) */
    "@media (prefers-color-scheme:dark){body{color:#ddd;background:#16181c}"
    "h2{border-color:#444}.cmd,th{background:#23262b}th,td{border-color:#444}"
    ".meta,.small{color:#aaa}.na{color:#999}svg text{fill:#ccc}svg .grid{stroke:#2c2f35}"
    "svg .ax{stroke:#777}a{color:#8ab4f8}tr.crash td{background:#3a2020}"
    ".pass{background:#1e3a22;color:#9fe0a6}.fail{background:#4a1c1c;color:#ffb0b0}"
    ".nodata{background:#3d3115;color:#f0d080}}";

static void section_head(rep *r)
{
    char cmd[4096], outcome[256], code[32], a[64], b[64], dur[64], iv[64];
    run_value(r, "command", cmd, sizeof cmd);
    run_value(r, "outcome", outcome, sizeof outcome);
    run_value(r, "exit_code", code, sizeof code);
    run_value(r, "duration", dur, sizeof dur);
    run_value(r, "interval", iv, sizeof iv);
    put(r, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>soak report: ");
    put_esc(r, cmd[0] ? cmd : "(unknown command)");
    put(r, "</title>\n<style>");
    put(r, css);
    put(r, "</style>\n</head>\n<body>\n<h1>soak report</h1>\n<div class=\"cmd\"><code>");
    put_esc(r, cmd[0] ? cmd : "(command not recorded)");
    put(r, "</code></div>\n<p class=\"meta\">");
    putf(r, "<span>from %s</span>", fmt_utc(r->d.t0, a, sizeof a));
    putf(r, "<span>to %s</span>", fmt_utc(r->d.t1, b, sizeof b));
    putf(r, "<span>elapsed %s</span>", fmt_hms(r->d.t1 - r->d.t0, a, sizeof a));
    if (dur[0]) {
        put(r, "<span>planned ");
        put_esc(r, dur);
        put(r, "</span>");
    }
    putf(r, "<span>%lld samples", (long long)r->d.nsamples);
    if (iv[0]) {
        put(r, " every ");
        put_esc(r, iv);
    }
    put(r, "</span>");
    if (outcome[0]) {
        put(r, "<span>outcome: ");
        put_esc(r, outcome);
        if (code[0]) {
            put(r, " (exit ");
            put_esc(r, code);
            put(r, ")");
        }
        put(r, "</span>");
    }
    putf(r, "<span>crashes and hangs: %lld</span></p>\n", (long long)r->d.ncrash_all);
}

static const char *status_class(const char *s)
{
    if (!strcmp(s, "pass"))
        return "pass";
    if (!strcmp(s, "fail"))
        return "fail";
    return "nodata";
}

/* The section holding the evidence of a gate: what a reader opens when it fails. */
static const char *gate_evidence(const char *name, const char *expr)
{
    static const struct {
        const char *word, *anchor;
    } ev[] = {{"crash", "crashes"},  {"hang", "crashes"},    {"memory", "memory"},
              {"rss", "memory"},     {"pss", "memory"},      {"leak", "memory"},
              {"cpu", "cpu"},        {"fds", "fds"},         {"thread", "fds"},
              {"zombie", "procs"},   {"procs", "procs"},     {"artifacts", "disk"},
              {"disk_free", "free"}, {"duration", "events"}, {"pattern.", "events"}};
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        if (strstr(name, ev[i].word) || strstr(expr, ev[i].word))
            return ev[i].anchor;
    return "events";
}

/* The reason for the verdict in one sentence, before the table: the failing gates by name. */
static void verdict_reason(rep *r, const cJSON *gates, int pass)
{
    put(r, "<p class=\"reason\">");
    if (pass == 1) {
        put(r, "Every gate passes.</p>\n");
        return;
    }
    int n = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, gates)
    {
        if (strcmp(jstr(g, "status", ""), "fail"))
            continue;
        if (n == 0)
            put(r, "Failed: ");
        else if (n >= 20) {
            put(r, ", &hellip;");
            break;
        }
        if (n > 0)
            put(r, ", ");
        const char *name = jstr(g, "name", "?");
        putf(r, "<a href=\"#%s\">", gate_evidence(name, jstr(g, "expression", "")));
        put_esc(r, name);
        put(r, "</a>");
        n++;
    }
    if (n == 0)
        put(r, "No gate fails, but the verdict is not a pass (a gate has no data).");
    put(r, "</p>\n");
}

static void section_verdict(rep *r)
{
    char a[64], b[64];
    put(r, "<h2 id=\"verdict\">Verdict</h2>\n");
    if (!r->verdict) {
        put(r, "<p class=\"na\">not analyzed (verdict.json: ");
        put_esc(r, r->verdict_why);
        put(r, ")</p>\n");
        return;
    }
    int pass = jbool(r->verdict, "pass");
    putf(r, "<div class=\"banner %s\">%s</div>\n",
         pass == 1   ? "pass"
         : pass == 0 ? "fail"
                     : "nodata",
         pass == 1   ? "PASS"
         : pass == 0 ? "FAIL"
                     : "UNKNOWN");
    const cJSON *gates = cJSON_GetObjectItemCaseSensitive(r->verdict, "gates");
    verdict_reason(r, gates, pass);
    put(r, "<table><tr><th>gate</th><th>expression</th><th>value</th><th>threshold</th>"
           "<th>status</th></tr>\n");
    int n = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, gates)
    {
        if (n++ >= REP_MAX_GATES) {
            putf(r, "<tr><td colspan=\"5\" class=\"na\">%d more gates not shown</td></tr>\n",
                 cJSON_GetArraySize(gates) - REP_MAX_GATES);
            break;
        }
        const char *unit = jstr(g, "unit", "");
        const char *status = jstr(g, "status", "no-data");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(g, "value");
        put(r, "<tr><td>");
        int failed = !strcmp(status, "fail");
        if (failed) /* to its evidence */
            putf(r, "<a href=\"#%s\">",
                 gate_evidence(jstr(g, "name", "?"), jstr(g, "expression", "")));
        put_esc(r, jstr(g, "name", "?"));
        if (failed)
            put(r, "</a>");
        if (jbool(g, "optional") == 1)
            put(r, " <span class=\"small\">(optional)</span>");
        put(r, "</td><td><code>");
        put_esc(r, jstr(g, "expression", ""));
        put(r, "</code></td><td class=\"n\">");
        if (cJSON_IsNumber(val)) {
            put_esc(r, fmt_num(val->valuedouble, a, sizeof a));
            put(r, " ");
            put_esc(r, unit);
        } else {
            put(r, "<span class=\"na\">no data</span>");
        }
        put(r, "</td><td class=\"n\">");
        put_esc(r, jstr(g, "op", ""));
        put(r, " ");
        put_esc(r, fmt_num(jnum(g, "threshold", NAN), b, sizeof b));
        put(r, " ");
        put_esc(r, unit);
        putf(r, "</td><td class=\"%s\">", status_class(status));
        put_esc(r, status);
        if (jstr(g, "reason", NULL)) { /* why a post-check gave no data (postcheck.h) */
            put(r, " <span class=\"small\">");
            put_esc(r, jstr(g, "reason", ""));
            put(r, "</span>");
        }
        /* a failing gate links to its runbook section of the diagnosis (repdiag.h) */
        int dsec = strcmp(status, "fail") == 0 && repdiag_exists(r->dir)
                       ? diagnose_gate_section(jstr(g, "name", ""), jstr(g, "expression", ""))
                       : 0;
        if (dsec > 0)
            putf(r, " <a href=\"#diag-%d\">diagnosis</a>", dsec);
        put(r, "</td></tr>\n");
    }
    put(r, "</table>\n");
    const char *gen = jstr(r->verdict, "generated_at", NULL);
    if (gen) {
        put(r, "<p class=\"small\">analyzed at ");
        put_esc(r, gen);
        put(r, "</p>\n");
    }
}

/* The pre-flight's results (DIR/preflight.json, preflight.h); nothing when there was none. */
static void section_preflight(rep *r)
{
    char why[128];
    cJSON *pf = read_json(r->dir, PREFLIGHT_JSON, why, sizeof why);
    if (!pf)
        return;
    putf(r, "<h2 id=\"preflight\">Pre-flight</h2>\n<p>%d pass, %d warn, %d fail</p>\n",
         (int)jnum(pf, "pass", 0), (int)jnum(pf, "warn", 0), (int)jnum(pf, "fail", 0));
    put(r, "<table><tr><th>check</th><th>status</th><th>reason</th></tr>\n");
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(pf, "checks"))
    {
        if (n++ >= 64)
            break;
        const char *st = jstr(c, "status", "fail");
        put(r, "<tr><td>");
        put_esc(r, jstr(c, "name", "?"));
        putf(r, "</td><td class=\"%s\">", !strcmp(st, "warn") ? "nodata" : status_class(st));
        put_esc(r, st);
        put(r, "</td><td>");
        put_esc(r, jstr(c, "reason", ""));
        if (jstr(c, "output", NULL)) {
            put(r, "<pre class=\"small\">");
            put_esc(r, jstr(c, "output", ""));
            put(r, "</pre>");
        }
        put(r, "</td></tr>\n");
    }
    put(r, "</table>\n");
    cJSON_Delete(pf);
}

static void kv_row(rep *r, const char *k, const char *v, const char *cls)
{
    put(r, "<tr><th>");
    put_esc(r, k);
    putf(r, "</th><td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    put_esc(r, v);
    put(r, "</td></tr>\n");
}

static void section_leak(rep *r)
{
    char v[160], a[32], b[32], c[32];
    put(r, "<h2 id=\"leak\">Memory growth</h2>\n");
    const cJSON *j = r->analysis;
    if (!j) {
        put(r, "<p class=\"na\">not analyzed (resources.analysis.json: ");
        put_esc(r, r->analysis_why);
        put(r, ")</p>\n");
        return;
    }
    put(r, "<table>\n");
    int leak = jbool(j, "memory_leak_detected");
    kv_row(r, "leak detected",
           leak == 1   ? "yes"
           : leak == 0 ? "no"
                       : "unknown",
           leak == 1   ? "fail"
           : leak == 0 ? "pass"
                       : "nodata");
    snprintf(v, sizeof v, "%s MB/h",
             fmt_num(jnum(j, "memory_growth_mb_per_hour", NAN), a, sizeof a));
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(j, "growth_interval_mb_per_hour");
    if (cJSON_GetArraySize(iv) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(iv, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(iv, 1))) {
        size_t l = strlen(v);
        snprintf(v + l, sizeof v - l, " (interval %s to %s MB/h)",
                 fmt_num(cJSON_GetArrayItem(iv, 0)->valuedouble, b, sizeof b),
                 fmt_num(cJSON_GetArrayItem(iv, 1)->valuedouble, c, sizeof c));
    }
    kv_row(r, "growth", v, NULL);
    int below = jbool(j, "growth_shown_below_threshold");
    kv_row(r, "growth shown under the threshold",
           below == 1   ? "yes"
           : below == 0 ? "no"
                        : "unknown",
           below == 1   ? "pass"
           : below == 0 ? "fail"
                        : "nodata");
    snprintf(v, sizeof v,
             "%s MB/h (a leak when the interval lies above it; the gate passes when it lies "
             "below)",
             fmt_num(jnum(j, "threshold_mb_per_hour", NAN), a, sizeof a));
    kv_row(r, "threshold", v, NULL);
    kv_row(r, "series used", jstr(j, "memory_series", "?"), NULL);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "memory_stats");
    if (ms) {
        snprintf(v, sizeof v, "start %s MB, end %s MB, max %s MB",
                 fmt_num(jnum(ms, "rss_start_mb", NAN), a, sizeof a),
                 fmt_num(jnum(ms, "rss_end_mb", NAN), b, sizeof b),
                 fmt_num(jnum(ms, "rss_max_mb", NAN), c, sizeof c));
        kv_row(r, "RSS", v, NULL);
    }
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(j, "cpu");
    if (cpu) {
        snprintf(v, sizeof v, "average %s %%, p95 %s %%",
                 fmt_num(jnum(cpu, "avg_percent", NAN), a, sizeof a),
                 fmt_num(jnum(cpu, "p95_percent", NAN), b, sizeof b));
        kv_row(r, "CPU", v, NULL);
    }
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(j, "peaks");
    const cJSON *e;
    int np = 0;
    cJSON_ArrayForEach(e, pk)
    {
        if (!cJSON_IsNumber(e) || !e->string || np++ >= 30)
            continue;
        snprintf(v, sizeof v, "peak %s", e->string);
        kv_row(r, v, fmt_num(e->valuedouble, a, sizeof a), NULL);
    }
    put(r, "</table>\n");

    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(j, "segments");
    int ns = cJSON_GetArraySize(segs);
    if (ns > 0) {
        put(r, "<h3>Segments (between restarts)</h3>\n<table><tr><th>#</th><th>from</th>"
               "<th>to</th><th>warm-up left out</th><th>slope</th></tr>\n");
        int i = 0;
        cJSON_ArrayForEach(e, segs)
        {
            if (i >= 50 && i < ns - 50) {
                if (i == 50)
                    putf(r, "<tr><td colspan=\"5\" class=\"na\">%d more segments</td></tr>\n",
                         ns - 100);
                i++;
                continue;
            }
            char f[32], t[32], w[32];
            putf(r,
                 "<tr><td class=\"n\">%d</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                 "<td class=\"n\">%s s</td><td class=\"n\">%s MB/h</td></tr>\n",
                 i + 1, fmt_hms(jnum(e, "start", r->d.t0) - r->d.t0, f, sizeof f),
                 fmt_hms(jnum(e, "end", r->d.t0) - r->d.t0, t, sizeof t),
                 fmt_num(jnum(e, "warmup_s", 0), w, sizeof w),
                 fmt_num(jnum(e, "slope_mb_per_hour", NAN), a, sizeof a));
            i++;
        }
        put(r, "</table>\n");
    }
}

/* ---------------------------------------------------------------- charts */

typedef struct axis {
    double lo, hi, step; /* in data units */
    double div;          /* display unit */
    const char *unit;
    int decimals;
} axis;

static double nice_step(double raw)
{
    if (!(raw > 0))
        return 1;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/* Y axis over [dmin, dmax] with about five ticks in a unit that suits the kind. */
static axis make_axis(int kind, double dmin, double dmax)
{
    axis a = {0, 1, 1, 1, "", 0};
    if (!(dmax >= dmin) || !isfinite(dmax)) {
        dmin = 0;
        dmax = 1;
    }
    if (kind == Y_BYTES) {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (u < 4 && dmax >= 1024.0 * pow(1024, u))
            u++;
        a.div = pow(1024, u);
        a.unit = units[u];
    } else if (kind == Y_PERCENT) {
        a.unit = "%";
    }
    double lo = 0;
    /* zoom in when the values stay far from zero, so changes show; not for changes too small
     * to matter (free disk moving by a few MiB out of 80 GiB reads best as a flat line) */
    if (dmin > 0.6 * dmax && dmax - dmin > 0.02 * dmax)
        lo = dmin - 0.15 * (dmax - dmin);
    double hi = dmax > lo ? dmax : lo + (kind == Y_PERCENT ? 10 : a.div);
    double step = nice_step((hi - lo) / a.div / 5);
    if (kind == Y_COUNT && step < 1)
        step = 1;
    a.step = step * a.div;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    /* as many decimals as the step needs (0.25 needs two) */
    a.decimals = 0;
    while (a.decimals < 6 && fabs(step * pow(10, a.decimals) - round(step * pow(10, a.decimals))) >
                                 1e-6 * step * pow(10, a.decimals))
        a.decimals++;
    return a;
}

static double y_of(const axis *a, double v)
{
    double y = PT + PH - (v - a->lo) / (a->hi - a->lo) * PH;
    return y < PT ? PT : y > PT + PH ? PT + PH : y;
}

/* Vertical grid lines and labels of elapsed time, from top to bottom. */
static void x_ticks(rep *r, int top, int bottom)
{
    static const double steps[] = {1,     2,     5,      10,     15,     30,      60,     120,
                                   300,   600,   900,    1800,   3600,   7200,    10800,  21600,
                                   43200, 86400, 172800, 345600, 604800, 1209600, 2592000};
    char b[32];
    double span = r->d.t1 - r->d.t0, step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (span / steps[i] <= 10) {
            step = steps[i];
            break;
        }
    int short_run = span < 3600;
    for (double s = 0; s <= span + 1e-9; s += step) {
        double x = x_of(r, r->d.t0 + s);
        uint64_t k = (uint64_t)(s + 0.5);
        if (short_run)
            snprintf(b, sizeof b, "%llu:%02llu", (unsigned long long)(k / 60),
                     (unsigned long long)(k % 60));
        else
            snprintf(b, sizeof b, "%llu:%02llu", (unsigned long long)(k / 3600),
                     (unsigned long long)(k / 60 % 60));
        putf(r, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, top, x,
             bottom);
        putf(r, "<line class=\"ax\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, bottom, x,
             bottom + 5);
        putf(r, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, bottom + 18, b);
    }
    putf(r, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"small\">elapsed (%s)</text>",
         PL + REPDATA_NCOL / 2, bottom + 35, short_run ? "m:ss" : "h:mm");
}

static void draw_frame(rep *r, const axis *a, const char *ytitle)
{
    char b[64];
    /* y grid and labels */
    for (double v = a->lo; v <= a->hi + a->step * 0.01; v += a->step) {
        double y = y_of(a, v);
        putf(r, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", PL, y,
             PL + REPDATA_NCOL, y);
        snprintf(b, sizeof b, "%.*f%s%s", a->decimals, v / a->div, a->unit[0] ? " " : "", a->unit);
        putf(r, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", PL - 6, y + 4, b);
    }
    x_ticks(r, PT, PT + PH);
    putf(r, "<text transform=\"translate(14,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>",
         PT + PH / 2, ytitle);
    putf(r, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" class=\"ax\"/>\n", PL,
         PT, REPDATA_NCOL, PH);
}

typedef struct legend_item {
    const char *name, *color;
    int style; /* 0 line, 1 dashed line, 2 area */
} legend_item;

static void draw_legend(rep *r, const legend_item *it, int n)
{
    int x = PL;
    for (int i = 0; i < n; i++) {
        if (it[i].style == 2)
            putf(r,
                 "<rect x=\"%d\" y=\"10\" width=\"18\" height=\"12\" fill=\"%s\" "
                 "fill-opacity=\"0.35\"/>",
                 x, it[i].color);
        else
            putf(r,
                 "<line x1=\"%d\" y1=\"16\" x2=\"%d\" y2=\"16\" stroke=\"%s\" "
                 "stroke-width=\"2\"%s/>",
                 x, x + 18, it[i].color, it[i].style == 1 ? " stroke-dasharray=\"5,3\"" : "");
        putf(r, "<text x=\"%d\" y=\"20\">%s</text>", x + 24, it[i].name);
        x += 24 + 7 * (int)strlen(it[i].name) + 22;
    }
}

/* One series as a path through each column's min and max, broken over long gaps; sparse
 * series (PSS is read once a minute) also get a dot per column. */
static void draw_series(rep *r, const axis *a, int s, const char *color)
{
    int present = 0;
    for (int c = 0; c < REPDATA_NCOL; c++)
        present += !isnan(r->d.mn[s][c]);
    if (present == 0)
        return;
    int max_gap = 3 * (REPDATA_NCOL / present) + 2;
    putf(r, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" d=\"",
         color);
    int last = -1;
    double last_y = 0;
    for (int c = 0; c < REPDATA_NCOL; c++) {
        if (isnan(r->d.mn[s][c]))
            continue;
        double x = PL + c + 0.5;
        double y1 = y_of(a, r->d.mn[s][c]), y2 = y_of(a, r->d.mx[s][c]);
        /* enter the column at the end nearer to where the line comes from */
        if (last >= 0 && fabs(last_y - y2) < fabs(last_y - y1)) {
            double t = y1;
            y1 = y2;
            y2 = t;
        }
        putf(r, "%c%.1f %.1f", last < 0 || c - last > max_gap ? 'M' : 'L', x, y1);
        if (fabs(y2 - y1) >= 0.05)
            putf(r, "L%.1f %.1f", x, y2);
        last = c;
        last_y = y2;
    }
    put(r, "\"/>\n");
    if (present <= 80) {
        for (int c = 0; c < REPDATA_NCOL; c++)
            if (!isnan(r->d.mn[s][c]))
                putf(r, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", PL + c + 0.5,
                     y_of(a, r->d.mx[s][c]), color);
        put(r, "\n");
    }
}

static void draw_restarts(rep *r)
{
    for (int c = 0; c < REPDATA_NCOL; c++)
        if (r->d.restart_col[c])
            putf(r,
                 "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" "
                 "stroke-width=\"1\" stroke-dasharray=\"4,3\" opacity=\"0.7\"/>",
                 PL + c + 0.5, PT, PL + c + 0.5, PT + PH);
    put(r, "\n");
}

static int any_restart(const rep *r)
{
    for (int c = 0; c < REPDATA_NCOL; c++)
        if (r->d.restart_col[c])
            return 1;
    return 0;
}

static void range_of(const rep *r, const int *ser, int n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < REPDATA_NCOL; c++) {
            if (isnan(r->d.mn[ser[i]][c]))
                continue;
            if (r->d.mn[ser[i]][c] < *lo)
                *lo = r->d.mn[ser[i]][c];
            if (r->d.mx[ser[i]][c] > *hi)
                *hi = r->d.mx[ser[i]][c];
        }
    if (*lo > *hi)
        *lo = *hi = 0;
}

static void svg_open(rep *r, const char *label)
{
    putf(r,
         "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" "
         "preserveAspectRatio=\"xMidYMid meet\">\n",
         SVG_W, SVG_H, label);
}

static void no_samples(rep *r)
{
    putf(r,
         "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"na\">no samples "
         "recorded</text>\n",
         PL + REPDATA_NCOL / 2, PT + PH / 2);
}

/* A plain chart of up to four series. */
static void chart(rep *r, const char *id, const char *title, const char *ytitle, int kind,
                  const int *ser, const char *const *names, const char *const *colors, int n)
{
    double lo, hi;
    putf(r, "<h3 id=\"%s\">%s</h3>\n", id, title);
    svg_open(r, title);
    range_of(r, ser, n, &lo, &hi);
    axis a = make_axis(kind, lo, hi);
    draw_frame(r, &a, ytitle);
    legend_item it[6];
    int ni = 0;
    for (int i = 0; i < n; i++)
        it[ni++] = (legend_item){names[i], colors[i], 0};
    if (any_restart(r))
        it[ni++] = (legend_item){"restart", "#d62728", 1};
    draw_legend(r, it, ni);
    if (r->d.nsamples == 0)
        no_samples(r);
    draw_restarts(r);
    for (int i = 0; i < n; i++)
        draw_series(r, &a, ser[i], colors[i]);
    put(r, "</svg>\n");
}

/* RSS and PSS, the analysis' segments: warm-up shaded, fitted trend drawn. */
static void chart_memory(rep *r)
{
    static const int ser[] = {REPDATA_RSS, REPDATA_PSS};
    const cJSON *segs =
        r->analysis ? cJSON_GetObjectItemCaseSensitive(r->analysis, "segments") : NULL;
    double lo, hi;
    put(r, "<h3 id=\"memory\">Memory: RSS and PSS</h3>\n");
    svg_open(r, "memory");
    range_of(r, ser, 2, &lo, &hi);
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, segs)
    {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(e, "trend");
        if (i++ >= REP_MAX_SEGS || !tr)
            continue;
        double y0 = jnum(tr, "y0", NAN), y1 = jnum(tr, "y1", NAN);
        if (isfinite(y0) && isfinite(y1)) {
            lo = fmin(lo, fmin(y0, y1));
            hi = fmax(hi, fmax(y0, y1));
        }
    }
    if (lo < 0)
        lo = 0;
    axis a = make_axis(Y_BYTES, lo, hi);
    draw_frame(r, &a, "memory");
    legend_item it[6];
    int ni = 0;
    it[ni++] = (legend_item){"RSS", "#1f77b4", 0};
    it[ni++] = (legend_item){"PSS", "#2ca02c", 0};
    if (segs) {
        it[ni++] = (legend_item){"fitted trend", "#000000", 1};
        it[ni++] = (legend_item){"warm-up (left out)", "#999999", 2};
    }
    if (any_restart(r))
        it[ni++] = (legend_item){"restart", "#d62728", 1};
    draw_legend(r, it, ni);
    if (r->d.nsamples == 0)
        no_samples(r);
    i = 0;
    cJSON_ArrayForEach(e, segs)
    {
        if (i++ >= REP_MAX_SEGS)
            break;
        double s = jnum(e, "start", NAN), w = jnum(e, "warmup_s", 0);
        if (isfinite(s) && w > 0) {
            double x0 = x_of(r, s), x1 = x_of(r, s + w);
            putf(r,
                 "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#999\" "
                 "fill-opacity=\"0.22\"><title>warm-up %.0f s left out</title></rect>",
                 x0, PT, x1 - x0 > 0.5 ? x1 - x0 : 0.5, PH, w);
        }
    }
    put(r, "\n");
    draw_restarts(r);
    draw_series(r, &a, REPDATA_RSS, "#1f77b4");
    draw_series(r, &a, REPDATA_PSS, "#2ca02c");
    i = 0;
    cJSON_ArrayForEach(e, segs)
    {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(e, "trend");
        if (i++ >= REP_MAX_SEGS || !tr)
            continue;
        double t0 = jnum(tr, "t0", NAN), y0 = jnum(tr, "y0", NAN);
        double t1 = jnum(tr, "t1", NAN), y1 = jnum(tr, "y1", NAN);
        if (!isfinite(t0) || !isfinite(y0) || !isfinite(t1) || !isfinite(y1))
            continue;
        char b[32];
        putf(r,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
             "stroke-width=\"2\" stroke-dasharray=\"6,4\"><title>segment %d: %s MB/h</title>"
             "</line>",
             x_of(r, t0), y_of(&a, y0), x_of(r, t1), y_of(&a, y1), i,
             fmt_num(jnum(e, "slope_mb_per_hour", NAN), b, sizeof b));
    }
    put(r, "\n</svg>\n");
}

static void section_charts(rep *r)
{
    put(r, "<h2 id=\"charts\">Resources</h2>\n");
    if (r->d.nsamples > REPDATA_NCOL)
        putf(r,
             "<p class=\"small\">%lld samples drawn as %d columns; each column shows the "
             "minimum and maximum of its samples.</p>\n",
             (long long)r->d.nsamples, REPDATA_NCOL);
    chart_memory(r);
    {
        static const int ser[] = {REPDATA_CPU};
        static const char *const nm[] = {"CPU % (of one core)"};
        static const char *const co[] = {"#ff7f0e"};
        chart(r, "cpu", "CPU", "CPU", Y_PERCENT, ser, nm, co, 1);
    }
    {
        static const int ser[] = {REPDATA_FDS, REPDATA_THREADS};
        static const char *const nm[] = {"open fds", "threads"};
        static const char *const co[] = {"#9467bd", "#17becf"};
        chart(r, "fds", "File descriptors and threads", "count", Y_COUNT, ser, nm, co, 2);
    }
    {
        static const int ser[] = {REPDATA_PROCS, REPDATA_ZOMBIES, REPDATA_ZOMBIES_PERSISTENT};
        static const char *const nm[] = {"processes", "zombies", "persistent zombies"};
        static const char *const co[] = {"#1f77b4", "#d62728", "#7f0000"};
        chart(r, "procs", "Processes and zombies", "count", Y_COUNT, ser, nm, co, 3);
    }
    {
        static const int ser[] = {REPDATA_ART};
        static const char *const nm[] = {"artifacts folder"};
        static const char *const co[] = {"#8c564b"};
        chart(r, "disk", "Disk: artifacts folder", "bytes", Y_BYTES, ser, nm, co, 1);
    }
    {
        static const int ser[] = {REPDATA_FREE};
        static const char *const nm[] = {"free disk"};
        static const char *const co[] = {"#7f7f7f"};
        chart(r, "free", "Disk: free space", "bytes", Y_BYTES, ser, nm, co, 1);
    }
}

/* ---------------------------------------------------------------- events */

static void timeline(rep *r)
{
    int rowh = 22, h = PT + NTL * rowh + PB;
    putf(r, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"timeline\">\n",
         SVG_W, h);
    char b[32];
    x_ticks(r, PT, PT + NTL * rowh);
    for (int row = 0; row < NTL; row++) {
        int y = PT + row * rowh;
        putf(r, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", PL - 6, y + 15,
             store_lane_name((store_lane)row));
        putf(r, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", PL, y + rowh,
             PL + REPDATA_NCOL, y + rowh);
        /* one mark per run of busy columns, so a crash loop stays a few marks */
        for (int c = 0; c < REPDATA_NCOL; c++) {
            if (!r->d.tl[row][c])
                continue;
            int c0 = c;
            unsigned long long cnt = 0;
            while (c < REPDATA_NCOL && r->d.tl[row][c])
                cnt += r->d.tl[row][c++];
            char b2[32];
            putf(r,
                 "<rect x=\"%.1f\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                 "<title>%s: %llu from %s to %s</title></rect>",
                 PL + c0 - 0.5, y + 4, c - c0 + 1, rowh - 8, tl_color[row],
                 store_lane_name((store_lane)row), cnt,
                 fmt_hms(c0 * (r->d.t1 - r->d.t0) / REPDATA_NCOL, b, sizeof b),
                 fmt_hms(c * (r->d.t1 - r->d.t0) / REPDATA_NCOL, b2, sizeof b2));
        }
        put(r, "\n");
    }
    putf(r, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" class=\"ax\"/>\n", PL,
         PT, REPDATA_NCOL, NTL * rowh);
    put(r, "</svg>\n");
}

static int crash_index(const rep *r, double t, const char *kind)
{
    for (int i = 0; i < r->d.ncrash; i++)
        if (r->d.crashes[i].t == t && !strcmp(r->d.crashes[i].kind, kind))
            return i;
    return -1;
}

static int event_row(void *ud, const runrec_event *e)
{
    rep *r = ud;
    char a[32], b[48], v[32];
    putf(r, "<tr%s><td class=\"n\">%s</td><td class=\"small\">%s</td><td>",
         e->failure ? " class=\"crash\"" : "", fmt_hms(e->t - r->d.t0, a, sizeof a),
         fmt_utc(e->t, b, sizeof b));
    int ci = e->crash ? crash_index(r, e->t, e->name) : -1;
    if (ci >= 0)
        putf(r, "<a href=\"#crash-%d\">", ci + 1);
    put_esc(r, e->name);
    if (ci >= 0)
        put(r, "</a>");
    put(r, "</td><td>");
    if (e->detail) {
        size_t l = strlen(e->detail);
        put_escn(r, e->detail, l > REP_DETAIL_MAX ? REP_DETAIL_MAX : l);
        if (l > REP_DETAIL_MAX)
            put(r, "&hellip;");
    }
    if (e->kind == STORE_EV_DISK_LOW && e->value >= 0)
        units_format_bytes((uint64_t)e->value, v, sizeof v); /* the free space left */
    else
        fmt_num(e->value, v, sizeof v);
    putf(r, "</td><td class=\"n\">%s</td></tr>\n", v);
    return 0;
}

typedef struct kind_row {
    rep *r;
    int n;
    char row2[4096];
    size_t l2;
} kind_row;

static int kind_count(void *ud, const char *kind, int64_t n)
{
    kind_row *k = ud;
    put(k->r, "<th>");
    put_esc(k->r, kind);
    put(k->r, "</th>");
    if (k->l2 < sizeof k->row2)
        k->l2 += (size_t)snprintf(k->row2 + k->l2, sizeof k->row2 - k->l2,
                                  "<td class=\"n\">%lld</td>", (long long)n);
    k->n++;
    return 0;
}

static void section_events(rep *r)
{
    put(r, "<h2 id=\"events\">Events</h2>\n");
    timeline(r);

    /* counts per kind, every kind */
    put(r, "<h3>Counts</h3>\n<table><tr>");
    kind_row *k = calloc(1, sizeof *k);
    if (k) {
        k->r = r;
        if (runrec_kind_counts(r->rr, 60, kind_count, k) == 0) {
            put(r, "</tr><tr>");
            put(r, k->row2);
            if (k->n == 0)
                put(r, "<td class=\"na\">no events</td>");
        }
        free(k);
    }
    put(r, "</tr></table>\n");

    int64_t n = runrec_event_count(r->rr, RUNREC_EV_LISTED);
    if (n < 0)
        n = 0;
    put(r, "<h3>Lifecycle events</h3>\n<p class=\"small\">Rotations, compressions and pattern "
           "matches are only counted above.</p>\n<table><tr><th>elapsed</th><th>time</th>"
           "<th>kind</th><th>detail</th><th>value</th></tr>\n");
    runrec_events(r->rr, RUNREC_EV_LISTED, 0, REP_EV_EDGE, event_row, r);
    if (n > 2 * REP_EV_EDGE) {
        putf(r, "<tr><td colspan=\"5\" class=\"na\">%lld more events</td></tr>\n",
             (long long)(n - 2 * REP_EV_EDGE));
    }
    if (n > REP_EV_EDGE) {
        int64_t from = n - REP_EV_EDGE > REP_EV_EDGE ? n - REP_EV_EDGE : REP_EV_EDGE;
        runrec_events(r->rr, RUNREC_EV_LISTED, from, REP_EV_EDGE, event_row, r);
    }
    if (n == 0)
        put(r, "<tr><td colspan=\"5\" class=\"na\">no events</td></tr>\n");
    put(r, "</table>\n");
}

static void section_crashes(rep *r)
{
    char a[32], b[48];
    put(r, "<h2 id=\"crashes\">Crashes and hangs</h2>\n");
    if (r->d.ncrash_all == 0) {
        put(r, "<p>none</p>\n");
        return;
    }
    if (r->d.ncrash_all > r->d.ncrash)
        putf(r,
             "<p class=\"small\">%lld crashes and hangs: the first %d and the last %d are "
             "shown.</p>\n",
             (long long)r->d.ncrash_all, REPDATA_CRASH_HEAD, REPDATA_CRASH_TAIL);
    for (int i = 0; i < r->d.ncrash; i++) {
        crash *c = &r->d.crashes[i];
        putf(r, "<h3 id=\"crash-%d\">%s at %s (%s): ", i + 1,
             !strcmp(c->kind, "hang") ? "Hang" : "Crash", fmt_hms(c->t - r->d.t0, a, sizeof a),
             fmt_utc(c->t, b, sizeof b));
        put_esc(r, c->detail);
        put(r, "</h3>\n");
        if (!c->found) {
            put(r, "<p class=\"na\">its log lines are no longer kept (the rotated log that held "
                   "them was deleted, or the note was not written)</p>\n");
            continue;
        }
        putf(r, "<p class=\"small\">last %d lines before it, from ", c->nlines);
        put_esc(r, c->file);
        if (strcmp(c->file, "soak.log"))
            put(r, " (a rotated log)");
        put(r, "</p>\n<pre class=\"log\">");
        for (int k = 0; k < c->nlines; k++) {
            put_esc(r, c->lines[k]);
            put(r, "\n");
        }
        put(r, "<span class=\"note\">");
        put_esc(r, c->lines[c->nlines]);
        put(r, "</span></pre>\n");
    }
}

/* soak diagnose's findings, when the run has a diagnosis.json (repdiag.h) */
static void section_diagnosis(rep *r)
{
    if (repdiag_write(r->f, r->dir) < 0)
        r->werr = 1;
}

/* ---------------------------------------------------------------- entry */

/* The sections after the head, in the order of the page; the table of contents is made from
 * this list. A new section is one row here (its id is the anchor its function writes). */
static const struct {
    const char *id, *title;
    void (*draw)(rep *r);
} sections[] = {
    {"verdict", "Verdict", section_verdict},
    {"preflight", "Pre-flight", section_preflight},
    {"leak", "Memory growth", section_leak},
    {"charts", "Resources", section_charts},
    {"events", "Events", section_events},
    {"crashes", "Crashes and hangs", section_crashes},
    {"diagnosis", "Diagnosis", section_diagnosis},
};

static void section_toc(rep *r)
{
    put(r, "<nav class=\"toc\">Contents: ");
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        putf(r, "<a href=\"#%s\">%s</a>", sections[i].id, sections[i].title);
    put(r, "</nav>\n");
}

int report_write(const char *dir, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    int rc;
    rep *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "cannot write '%s/report.html': out of memory", dir);
        return ERR_NOMEM;
    }
    r->dir = dir;
    snprintf(path, sizeof path, "%s/report.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    if ((rc = runrec_open(dir, &r->rr, err, errlen)) != 0)
        goto out;
    if ((rc = repdata_load(&r->d, r->rr, dir, err, errlen)) != 0)
        goto out;
    r->verdict = read_json(dir, "verdict.json", r->verdict_why, sizeof r->verdict_why);
    r->analysis =
        read_json(dir, "resources.analysis.json", r->analysis_why, sizeof r->analysis_why);

    rc = ERR_IO; /* from here on, what fails is the writing */
    r->f = fopen(tmp, "w");
    if (!r->f) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    section_head(r);
    section_toc(r);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        sections[i].draw(r);
    put(r, "<p class=\"small\">written by soak report</p>\n</body>\n</html>\n");
    int ferr = ferror(r->f) || r->werr;
    int e = errno;
    if (fclose(r->f) != 0 && !ferr) {
        ferr = 1;
        e = errno;
    }
    r->f = NULL;
    if (ferr) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(e ? e : EIO));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (r->f)
        fclose(r->f);
    runrec_close(r->rr);
    cJSON_Delete(r->verdict);
    cJSON_Delete(r->analysis);
    repdata_free(&r->d);
    free(r);
    return rc;
}

/* ---------------------------------------------------------------- charts for the live view */

/* What a drawing for the live view draws into memory: the charts, or one scraped series. */
static void draw_live_charts(rep *r)
{
    section_charts(r);
    put(r, "<h3 id=\"timeline\">Events timeline</h3>\n");
    timeline(r);
}

static int fold_metric(void *ud, double t, double v)
{
    rep *r = ud;
    if (!isfinite(v))
        return 0;
    int c = repdata_col_of(&r->d, t);
    double *mn = &r->d.mn[REPDATA_RSS][c], *mx = &r->d.mx[REPDATA_RSS][c];
    if (isnan(*mn) || v < *mn)
        *mn = v;
    if (isnan(*mx) || v > *mx)
        *mx = v;
    return 0;
}

static void draw_metric(rep *r)
{
    static const int ser[] = {REPDATA_RSS};
    static const char *const co[] = {"#1f77b4"};
    char title[300];
    snprintf(title, sizeof title, "%s", r->metric);
    /* the series' name is the service's: no markup in it */
    for (char *p = title; *p; p++)
        if (*p == '<' || *p == '>' || *p == '&' || *p == '"' || *p == '\'')
            *p = '_';
    const char *nm[] = {title};
    chart(r, "metric", title, "value", Y_PLAIN, ser, nm, co, 1);
}

/* Reads the run of dir (and, with metric, that series into the first series' columns: the
 * run's time axis and restarts stay), then draw()s into a malloc'd buffer. */
static int draw_live(const char *dir, const char *analysis_dir, const char *metric,
                     void (*draw)(rep *r), char **html, size_t *len, char *err, size_t errlen)
{
    *html = NULL;
    *len = 0;
    int rc;
    rep *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "cannot draw the charts of '%s': out of memory", dir);
        return ERR_NOMEM;
    }
    r->dir = dir;
    r->metric = metric;
    if ((rc = runrec_open(dir, &r->rr, err, errlen)) != 0)
        goto out;
    if ((rc = repdata_load(&r->d, r->rr, dir, err, errlen)) != 0)
        goto out;
    if (analysis_dir)
        r->analysis = read_json(analysis_dir, "resources.analysis.json", r->analysis_why,
                                sizeof r->analysis_why);
    if (metric) {
        for (int c = 0; c < REPDATA_NCOL; c++)
            r->d.mn[REPDATA_RSS][c] = r->d.mx[REPDATA_RSS][c] = NAN;
        if (runrec_metric(r->rr, metric, NULL, 0, fold_metric, r) < 0) {
            rc = ERR_IO;
            snprintf(err, errlen, "cannot read '%s': %s", runrec_path(r->rr), runrec_errmsg(r->rr));
            goto out;
        }
    }
    char *buf = NULL;
    size_t n = 0;
    rc = ERR_NOMEM;
    if ((r->f = open_memstream(&buf, &n)) != NULL) {
        draw(r);
        int bad = ferror(r->f) || r->werr;
        fclose(r->f);
        r->f = NULL;
        if (!bad) {
            *html = buf;
            *len = n;
            rc = 0;
        } else {
            free(buf);
        }
    }
    if (rc)
        snprintf(err, errlen, "cannot draw the charts of '%s': out of memory", dir);
out:
    runrec_close(r->rr);
    cJSON_Delete(r->analysis);
    repdata_free(&r->d);
    free(r);
    return rc;
}

int report_charts(const char *dir, const char *analysis_dir, char **html, size_t *len, char *err,
                  size_t errlen)
{
    return draw_live(dir, analysis_dir ? analysis_dir : dir, NULL, draw_live_charts, html, len, err,
                     errlen);
}

int report_metric_chart(const char *dir, const char *name, char **html, size_t *len, char *err,
                        size_t errlen)
{
    return draw_live(dir, NULL, name, draw_metric, html, len, err, errlen);
}

const char *report_style(void)
{
    return css;
}
