#include "audit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "errcode.h"
#include "termsafe.h"

#define AUDIT_MAX_INPUTS 64

typedef struct audit_input {
    char source[160];
    audit_format fmt;
    unsigned findings; /* as the report gave them, before dedup */
} audit_input;

struct audit {
    audit_finding *f;
    size_t n, cap;
    audit_input in[AUDIT_MAX_INPUTS];
    size_t nin;
    unsigned count[CVSS_NRATINGS];
    unsigned ignored;
};

/* One report being read: its findings go to a staging list first, so that a report that
 * fails adds nothing. */
typedef struct reader {
    audit_finding *f;
    size_t n, cap, limit;
    const char *source;
    int full;
    int nomem;
} reader;

const char *audit_format_name(audit_format f)
{
    static const char *const names[] = {
#define AUDIT_FMT_NAME(name, str) str,
        AUDIT_FORMATS(AUDIT_FMT_NAME)
#undef AUDIT_FMT_NAME
    };
    return (unsigned)f < AUDIT_NFORMATS ? names[f] : "unknown";
}

audit *audit_new(void)
{
    return calloc(1, sizeof(audit));
}

void audit_free(audit *a)
{
    if (!a)
        return;
    free(a->f);
    free(a);
}

size_t audit_nfindings(const audit *a)
{
    return a->n;
}

const audit_finding *audit_finding_at(const audit *a, size_t i)
{
    return i < a->n ? &a->f[i] : NULL;
}

unsigned audit_count(const audit *a, cvss_rating r)
{
    return (unsigned)r < CVSS_NRATINGS ? a->count[r] : 0;
}

unsigned audit_ignored(const audit *a)
{
    return a->ignored;
}

unsigned audit_critical_high(const audit *a)
{
    return a->count[CVSS_CRITICAL] + a->count[CVSS_HIGH];
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Appends s to a list separated by AUDIT_SEP in buf (n bytes), unless it is there already. */
static void list_add(char *buf, size_t n, const char *s)
{
    if (!s || !*s)
        return;
    size_t len = strlen(s);
    for (const char *p = buf; *p;) {
        size_t w = strcspn(p, AUDIT_SEP);
        if (w == len && strncmp(p, s, len) == 0)
            return;
        p += w;
        if (*p == AUDIT_SEP[0])
            p++;
    }
    size_t used = strlen(buf);
    if (used + (used ? 1 : 0) + len + 1 > n)
        return; /* full: the first ones are kept */
    snprintf(buf + used, n - used, "%s%s", used ? AUDIT_SEP : "", s);
}

static void alias_add(audit_finding *f, const char *id)
{
    if (!id || !*id || strcmp(id, f->id) == 0)
        return;
    for (unsigned i = 0; i < f->naliases; i++)
        if (strcmp(f->aliases[i], id) == 0)
            return;
    if (f->naliases < AUDIT_MAX_ALIASES)
        copy(f->aliases[f->naliases++], AUDIT_ID_MAX, id);
}

static void aliases_from(audit_finding *f, const cJSON *arr)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) alias_add(f, it->valuestring);
}

/* Sets the severity from a rating the report names; ignores names it does not know. */
static void rate_by_name(audit_finding *f, const char *name)
{
    cvss_rating r;
    if (f->sev_from == AUDIT_SEV_UNSET && name && cvss_rating_parse(name, &r) == 0) {
        f->sev = r;
        f->sev_from = AUDIT_SEV_REPORT;
    }
}

/* The score of a vector; the severity from it when none is set yet. */
static void rate_by_vector(audit_finding *f, const char *vector)
{
    double s;
    if (!vector || cvss3_base_score(vector, &s, NULL, 0) != 0)
        return;
    if (f->score < 0)
        f->score = s;
    if (f->sev_from == AUDIT_SEV_UNSET) {
        f->sev = cvss_rating_of(s);
        f->sev_from = AUDIT_SEV_CVSS;
    }
}

static audit_finding *reader_new(reader *r)
{
    if (r->n == r->limit) {
        r->full = 1;
        return NULL;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (cap > r->limit)
            cap = r->limit;
        audit_finding *nf = realloc(r->f, cap * sizeof *nf);
        if (!nf) {
            r->nomem = 1;
            return NULL;
        }
        r->f = nf;
        r->cap = cap;
    }
    audit_finding *f = &r->f[r->n++];
    memset(f, 0, sizeof *f);
    f->score = -1;
    f->sev = CVSS_NONE;
    copy(f->sources, sizeof f->sources, r->source);
    return f;
}

/* ---- the four formats --------------------------------------------------------------------- */

/* pip-audit: {"dependencies": [{"name","version","vulns": [{"id","fix_versions","aliases"}]}]},
 * or the older bare list of dependencies. No severity at all. */
static void read_pip(reader *r, const cJSON *deps)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, deps)
    {
        const cJSON *vulns = cJSON_GetObjectItemCaseSensitive(d, "vulns");
        const cJSON *v;
        cJSON_ArrayForEach(v, vulns)
        {
            audit_finding *f = reader_new(r);
            if (!f)
                return;
            copy(f->package, sizeof f->package, str_of(d, "name"));
            copy(f->version, sizeof f->version, str_of(d, "version"));
            copy(f->ecosystem, sizeof f->ecosystem, "PyPI");
            copy(f->id, sizeof f->id, str_of(v, "id"));
            aliases_from(f, cJSON_GetObjectItemCaseSensitive(v, "aliases"));
            const cJSON *fx;
            cJSON_ArrayForEach(
                fx, cJSON_GetObjectItemCaseSensitive(v, "fix_versions")) if (cJSON_IsString(fx))
                list_add(f->fixed, sizeof f->fixed, fx->valuestring);
        }
    }
}

/* cargo audit: {"vulnerabilities": {"list": [{"advisory": {"id","aliases","cvss"},
 * "versions": {"patched": []}, "package": {"name","version"}}]}}. Severity from the vector. */
static void read_cargo(reader *r, const cJSON *list)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, list)
    {
        const cJSON *adv = cJSON_GetObjectItemCaseSensitive(v, "advisory");
        const cJSON *pkg = cJSON_GetObjectItemCaseSensitive(v, "package");
        audit_finding *f = reader_new(r);
        if (!f)
            return;
        copy(f->package, sizeof f->package,
             str_of(pkg, "name") ? str_of(pkg, "name") : str_of(adv, "package"));
        copy(f->version, sizeof f->version, str_of(pkg, "version"));
        copy(f->ecosystem, sizeof f->ecosystem, "crates.io");
        copy(f->id, sizeof f->id, str_of(adv, "id"));
        aliases_from(f, cJSON_GetObjectItemCaseSensitive(adv, "aliases"));
        rate_by_vector(f, str_of(adv, "cvss"));
        const cJSON *versions = cJSON_GetObjectItemCaseSensitive(v, "versions");
        const cJSON *p;
        cJSON_ArrayForEach(
            p, cJSON_GetObjectItemCaseSensitive(versions, "patched")) if (cJSON_IsString(p))
            list_add(f->fixed, sizeof f->fixed, p->valuestring);
    }
}

/* The GHSA id at the end of an advisory URL (https://github.com/advisories/GHSA-...). */
static const char *ghsa_of_url(const char *url)
{
    const char *g = url ? strstr(url, "GHSA-") : NULL;
    return g;
}

/* npm audit v2: {"auditReportVersion": 2, "vulnerabilities": {NAME: {"name", "severity",
 * "via": [advisory objects, or names of other vulnerable packages], "fixAvailable"}}}. One
 * finding per advisory object; a string in "via" is the path of the vulnerability, not one. */
static void read_npm(reader *r, const cJSON *vulns)
{
    const cJSON *pkg;
    cJSON_ArrayForEach(pkg, vulns)
    {
        const cJSON *via = cJSON_GetObjectItemCaseSensitive(pkg, "via");
        const cJSON *fix = cJSON_GetObjectItemCaseSensitive(pkg, "fixAvailable");
        const cJSON *v;
        cJSON_ArrayForEach(v, via)
        {
            if (!cJSON_IsObject(v))
                continue;
            audit_finding *f = reader_new(r);
            if (!f)
                return;
            const char *name = str_of(v, "name") ? str_of(v, "name") : str_of(pkg, "name");
            copy(f->package, sizeof f->package, name ? name : pkg->string);
            copy(f->ecosystem, sizeof f->ecosystem, "npm");
            const char *ghsa = ghsa_of_url(str_of(v, "url"));
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(v, "source");
            if (ghsa)
                snprintf(f->id, sizeof f->id, "%.*s", (int)strcspn(ghsa, "/?#"), ghsa);
            else if (cJSON_IsNumber(src))
                snprintf(f->id, sizeof f->id, "npm-%.0f", src->valuedouble);
            else
                copy(f->id, sizeof f->id, str_of(v, "title"));
            if (cJSON_IsNumber(src) && ghsa) {
                char npmid[32];
                snprintf(npmid, sizeof npmid, "npm-%.0f", src->valuedouble);
                alias_add(f, npmid);
            }
            rate_by_name(f, str_of(v, "severity"));
            const cJSON *cvss = cJSON_GetObjectItemCaseSensitive(v, "cvss");
            const cJSON *score = cJSON_GetObjectItemCaseSensitive(cvss, "score");
            rate_by_vector(f, str_of(cvss, "vectorString"));
            if (cJSON_IsNumber(score) && score->valuedouble > 0 && score->valuedouble <= 10)
                f->score = score->valuedouble;
            const char *range = str_of(v, "range");
            if (range)
                copy(f->version, sizeof f->version, range); /* npm gives the affected range */
            if (cJSON_IsObject(fix) && str_of(fix, "version")) {
                char fv[96];
                snprintf(fv, sizeof fv, "%.40s@%.40s",
                         str_of(fix, "name") ? str_of(fix, "name") : "", str_of(fix, "version"));
                list_add(f->fixed, sizeof f->fixed, fv);
            }
        }
    }
}

/* osv-scanner: {"results": [{"source": {"path"}, "packages": [{"package": {"name","version",
 * "ecosystem"}, "vulnerabilities": [{"id","aliases","severity": [{"type","score"}],
 * "database_specific": {"severity"}, "affected": [{"ranges": [{"events": [{"fixed"}]}]}]}],
 * "groups": [{"ids","max_severity"}]}]}]}. */
static void read_osv(reader *r, const cJSON *results)
{
    const cJSON *res;
    cJSON_ArrayForEach(res, results)
    {
        const cJSON *pk;
        cJSON_ArrayForEach(pk, cJSON_GetObjectItemCaseSensitive(res, "packages"))
        {
            const cJSON *pkg = cJSON_GetObjectItemCaseSensitive(pk, "package");
            const cJSON *groups = cJSON_GetObjectItemCaseSensitive(pk, "groups");
            const cJSON *v;
            cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(pk, "vulnerabilities"))
            {
                audit_finding *f = reader_new(r);
                if (!f)
                    return;
                copy(f->package, sizeof f->package, str_of(pkg, "name"));
                copy(f->version, sizeof f->version, str_of(pkg, "version"));
                copy(f->ecosystem, sizeof f->ecosystem, str_of(pkg, "ecosystem"));
                copy(f->id, sizeof f->id, str_of(v, "id"));
                aliases_from(f, cJSON_GetObjectItemCaseSensitive(v, "aliases"));
                rate_by_name(f, str_of(cJSON_GetObjectItemCaseSensitive(v, "database_specific"),
                                       "severity"));
                const cJSON *s;
                cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(v, "severity"))
                {
                    const char *type = str_of(s, "type");
                    if (type && strncmp(type, "CVSS_V3", 7) == 0)
                        rate_by_vector(f, str_of(s, "score"));
                }
                const cJSON *af;
                cJSON_ArrayForEach(af, cJSON_GetObjectItemCaseSensitive(v, "affected"))
                {
                    rate_by_name(f,
                                 str_of(cJSON_GetObjectItemCaseSensitive(af, "database_specific"),
                                        "severity"));
                    const cJSON *rg;
                    cJSON_ArrayForEach(rg, cJSON_GetObjectItemCaseSensitive(af, "ranges"))
                    {
                        const cJSON *ev;
                        cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(rg, "events"))
                            list_add(f->fixed, sizeof f->fixed, str_of(ev, "fixed"));
                    }
                }
                /* a group's max_severity is a score: the last resort before the policy */
                const cJSON *g;
                cJSON_ArrayForEach(g, groups)
                {
                    const cJSON *id;
                    int mine = 0;
                    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(g, "ids")) mine |=
                        cJSON_IsString(id) && strcmp(id->valuestring, f->id) == 0;
                    const char *ms = str_of(g, "max_severity");
                    char *end;
                    double sc = ms ? strtod(ms, &end) : -1;
                    if (mine && ms && end != ms && !*end && sc >= 0 && sc <= 10 &&
                        f->sev_from == AUDIT_SEV_UNSET) {
                        f->score = sc;
                        f->sev = cvss_rating_of(sc);
                        f->sev_from = AUDIT_SEV_CVSS;
                    }
                }
            }
        }
    }
}

/* ---- detection ---------------------------------------------------------------------------- */

static int is_pip_list(const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return 0;
    const cJSON *d = arr->child;
    return !d || (cJSON_IsObject(d) && cJSON_GetObjectItemCaseSensitive(d, "name") &&
                  (cJSON_GetObjectItemCaseSensitive(d, "vulns") ||
                   cJSON_GetObjectItemCaseSensitive(d, "skip_reason")));
}

static int detect(const cJSON *root, audit_format *fmt, char *err, size_t errlen)
{
    if (cJSON_IsArray(root) && is_pip_list(root)) {
        *fmt = AUDIT_FMT_PIP; /* pip-audit before 2.5: the bare list */
        return 0;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen,
                 "not a report of pip-audit, cargo audit, npm audit or osv-scanner "
                 "(its JSON is not an object)");
        return ERR_PARSE;
    }
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(root, "dependencies");
    const cJSON *vulns = cJSON_GetObjectItemCaseSensitive(root, "vulnerabilities");
    const cJSON *arv = cJSON_GetObjectItemCaseSensitive(root, "auditReportVersion");
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (cJSON_IsNumber(arv)) {
        if (arv->valuedouble != 2) {
            snprintf(err, errlen,
                     "npm audit report version %g: only version 2 (npm 7 and later) "
                     "is read",
                     arv->valuedouble);
            return ERR_PARSE;
        }
        if (!cJSON_IsObject(vulns)) {
            snprintf(err, errlen, "npm audit report without a \"vulnerabilities\" object");
            return ERR_PARSE;
        }
        *fmt = AUDIT_FMT_NPM;
        return 0;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "advisories") &&
        cJSON_GetObjectItemCaseSensitive(root, "actions")) {
        snprintf(err, errlen,
                 "npm audit report version 1 (npm 6): only version 2 (npm 7 and "
                 "later) is read");
        return ERR_PARSE;
    }
    if (cJSON_IsObject(vulns) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(vulns, "list"))) {
        *fmt = AUDIT_FMT_CARGO;
        return 0;
    }
    if (cJSON_IsArray(results)) {
        *fmt = AUDIT_FMT_OSV;
        return 0;
    }
    if (is_pip_list(deps)) {
        *fmt = AUDIT_FMT_PIP;
        return 0;
    }
    snprintf(err, errlen,
             "not a report of pip-audit (\"dependencies\"), cargo audit "
             "(\"vulnerabilities\".\"list\"), npm audit (\"auditReportVersion\": 2) "
             "or osv-scanner (\"results\")");
    return ERR_PARSE;
}

/* ---- dedup -------------------------------------------------------------------------------- */

/* Package names compared as the registries do: case-insensitive, with '_' and '.' as '-'
 * (PyPI's normalisation; harmless for the others). */
static int same_package(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x == '_' || x == '.')
            x = '-';
        if (y == '_' || y == '.')
            y = '-';
        if (tolower(x) != tolower(y))
            return 0;
        if (!x)
            return 1;
    }
}

static int has_id(const audit_finding *f, const char *id)
{
    if (!*id)
        return 0;
    if (strcasecmp(f->id, id) == 0)
        return 1;
    for (unsigned i = 0; i < f->naliases; i++)
        if (strcasecmp(f->aliases[i], id) == 0)
            return 1;
    return 0;
}

static int same_advisory(const audit_finding *a, const audit_finding *b)
{
    if (!same_package(a->package, b->package))
        return 0;
    if (has_id(a, b->id))
        return 1;
    for (unsigned i = 0; i < b->naliases; i++)
        if (has_id(a, b->aliases[i]))
            return 1;
    return 0;
}

/* b's knowledge into a: ids, the better-founded then the worse rating, score, fixes, sources. */
static void merge(audit_finding *a, const audit_finding *b)
{
    alias_add(a, b->id);
    for (unsigned i = 0; i < b->naliases; i++)
        alias_add(a, b->aliases[i]);
    if (b->sev_from != AUDIT_SEV_UNSET && (a->sev_from == AUDIT_SEV_UNSET || b->sev < a->sev)) {
        a->sev = b->sev;
        a->sev_from = b->sev_from;
    }
    if (a->score < 0 || (b->score > a->score))
        a->score = b->score > a->score ? b->score : a->score;
    if (!a->version[0])
        copy(a->version, sizeof a->version, b->version);
    char tmp[sizeof a->fixed];
    copy(tmp, sizeof tmp, b->fixed);
    for (char *p = tmp, *q; p && *p; p = q) {
        q = strchr(p, AUDIT_SEP[0]);
        if (q)
            *q++ = '\0';
        list_add(a->fixed, sizeof a->fixed, p);
    }
    list_add(a->sources, sizeof a->sources, b->sources);
}

int audit_add_report(audit *a, const char *text, size_t len, const char *source, audit_format *fmt,
                     char *err, size_t errlen)
{
    if (len > AUDIT_MAX_INPUT) {
        snprintf(err, errlen, "report larger than %u MiB", AUDIT_MAX_INPUT >> 20);
        return ERR_RANGE;
    }
    if (a->nin == AUDIT_MAX_INPUTS) {
        snprintf(err, errlen, "more than %d reports", AUDIT_MAX_INPUTS);
        return ERR_FULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        snprintf(err, errlen, "not JSON, or truncated (stops at byte %zu of %zu)", at, len);
        return ERR_PARSE;
    }
    int rc = detect(root, fmt, err, errlen);
    if (rc) {
        cJSON_Delete(root);
        return rc;
    }
    reader r = {.source = source, .limit = AUDIT_MAX_FINDINGS - a->n};
    switch (*fmt) {
    case AUDIT_FMT_PIP:
        read_pip(&r, cJSON_IsArray(root) ? root
                                         : cJSON_GetObjectItemCaseSensitive(root, "dependencies"));
        break;
    case AUDIT_FMT_CARGO:
        read_cargo(&r, cJSON_GetObjectItemCaseSensitive(
                           cJSON_GetObjectItemCaseSensitive(root, "vulnerabilities"), "list"));
        break;
    case AUDIT_FMT_NPM:
        read_npm(&r, cJSON_GetObjectItemCaseSensitive(root, "vulnerabilities"));
        break;
    case AUDIT_FMT_OSV:
        read_osv(&r, cJSON_GetObjectItemCaseSensitive(root, "results"));
        break;
    default:
        break;
    }
    cJSON_Delete(root);
    if (r.nomem || r.full) {
        free(r.f);
        snprintf(err, errlen, r.nomem ? "out of memory" : "more than %d findings in all",
                 AUDIT_MAX_FINDINGS);
        return r.nomem ? ERR_NOMEM : ERR_FULL;
    }
    /* a finding without an id cannot be matched, ignored or looked up: it keeps a name */
    for (size_t i = 0; i < r.n; i++)
        if (!r.f[i].id[0])
            snprintf(r.f[i].id, sizeof r.f[i].id, "%s-unnamed-%zu", audit_format_name(*fmt), i + 1);
    size_t need = a->n + r.n;
    if (need > a->cap) {
        audit_finding *nf = realloc(a->f, need * sizeof *nf);
        if (!nf) {
            free(r.f);
            snprintf(err, errlen, "out of memory");
            return ERR_NOMEM;
        }
        a->f = nf;
        a->cap = need;
    }
    for (size_t i = 0; i < r.n; i++) {
        size_t j;
        for (j = 0; j < a->n; j++)
            if (same_advisory(&a->f[j], &r.f[i]))
                break;
        if (j < a->n)
            merge(&a->f[j], &r.f[i]);
        else
            a->f[a->n++] = r.f[i];
    }
    audit_input *in = &a->in[a->nin++];
    copy(in->source, sizeof in->source, source);
    in->fmt = *fmt;
    in->findings = (unsigned)r.n;
    free(r.f);
    return 0;
}

/* ---- policy ------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static int parse_date(const char *s, long *day)
{
    unsigned y, m, d;
    int used = 0;
    if (strlen(s) != 10 || sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &used) != 3 || used != 10)
        return ERR_INVAL;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return ERR_INVAL;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return ERR_INVAL;
    *day = days_from_civil((long)y, m, d);
    return 0;
}

int audit_ignore_parse(const char *text, audit_ignore *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->until_day = -1;
    const char *colon = strchr(text, ':');
    size_t idlen = colon ? (size_t)(colon - text) : 0;
    while (idlen && text[idlen - 1] == ' ')
        idlen--;
    if (!colon || idlen == 0 || idlen >= sizeof out->id) {
        snprintf(err, errlen,
                 "want 'ID: reason' or 'ID: reason; until YYYY-MM-DD' (an id of 1 "
                 "to %zu characters)",
                 sizeof out->id - 1);
        return ERR_INVAL;
    }
    for (size_t i = 0; i < idlen; i++)
        if (!(isalnum((unsigned char)text[i]) || strchr("-_.:", text[i]))) {
            snprintf(err, errlen, "the id '%.*s' may hold only letters, digits, '-', '_', '.'",
                     (int)idlen, text);
            return ERR_INVAL;
        }
    memcpy(out->id, text, idlen);
    const char *reason = colon + 1;
    while (*reason == ' ')
        reason++;
    const char *until = strstr(reason, "; until ");
    size_t rlen = until ? (size_t)(until - reason) : strlen(reason);
    if (rlen == 0) {
        snprintf(err, errlen, "ignoring %s needs a reason ('%s: why it does not apply')", out->id,
                 out->id);
        return ERR_INVAL;
    }
    snprintf(out->reason, sizeof out->reason, "%.*s", (int)rlen, reason);
    if (until) {
        const char *date = until + 8;
        if (parse_date(date, &out->until_day)) {
            snprintf(err, errlen, "'%.20s' is not a date YYYY-MM-DD", date);
            return ERR_INVAL;
        }
        copy(out->until, sizeof out->until, date);
    }
    return 0;
}

void audit_apply(audit *a, const audit_policy *p)
{
    memset(a->count, 0, sizeof a->count);
    a->ignored = 0;
    for (size_t i = 0; i < a->n; i++) {
        audit_finding *f = &a->f[i];
        if (f->sev_from == AUDIT_SEV_UNSET || f->sev_from == AUDIT_SEV_POLICY) {
            f->sev = p->unscored;
            f->sev_from = AUDIT_SEV_POLICY;
        }
        f->ignored = 0;
        f->ignore_note[0] = '\0';
        for (size_t k = 0; k < p->nignores; k++) {
            const audit_ignore *ig = &p->ignores[k];
            if (!has_id(f, ig->id))
                continue;
            if (ig->until_day >= 0 && p->today > ig->until_day) {
                snprintf(f->ignore_note, sizeof f->ignore_note,
                         "ignore of %s expired on %s: counts again", ig->id, ig->until);
                continue;
            }
            f->ignored = 1;
            snprintf(f->ignore_note, sizeof f->ignore_note, "%s", ig->reason);
            break;
        }
        if (f->ignored)
            a->ignored++;
        else
            a->count[f->sev]++;
    }
}

/* ---- output ------------------------------------------------------------------------------- */

static const char *sevfrom_name(audit_sevfrom s)
{
    switch (s) {
    case AUDIT_SEV_REPORT:
        return "report";
    case AUDIT_SEV_CVSS:
        return "cvss";
    case AUDIT_SEV_POLICY:
        return "policy";
    default:
        return "none";
    }
}

static void lower_name(char *buf, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
}

static cJSON *list_json(const char *csv)
{
    cJSON *arr = cJSON_CreateArray();
    char tmp[256];
    copy(tmp, sizeof tmp, csv);
    for (char *p = tmp, *q; arr && p && *p; p = q) {
        q = strchr(p, AUDIT_SEP[0]);
        if (q)
            *q++ = '\0';
        cJSON_AddItemToArray(arr, cJSON_CreateString(p));
    }
    return arr;
}

char *audit_json(const audit *a, const audit_policy *p)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "security_critical_high", audit_critical_high(a));
    cJSON *counts = cJSON_AddObjectToObject(root, "counts");
    for (int r = 0; r < CVSS_NRATINGS; r++) {
        char key[16];
        lower_name(key, sizeof key, cvss_rating_name((cvss_rating)r));
        cJSON_AddNumberToObject(counts, key, a->count[r]);
    }
    cJSON_AddNumberToObject(root, "ignored", a->ignored);
    cJSON_AddNumberToObject(root, "findings_total", (double)a->n);
    cJSON *pol = cJSON_AddObjectToObject(root, "policy");
    cJSON_AddStringToObject(pol, "unscored", cvss_rating_name(p->unscored));
    cJSON_AddStringToObject(pol, "rule",
                            "severity from the report's rating; else the CVSS v3 base score of "
                            "its vector; else 'unscored' (audit.unscored)");
    cJSON *ins = cJSON_AddArrayToObject(root, "inputs");
    for (size_t i = 0; i < a->nin; i++) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "source", a->in[i].source);
        cJSON_AddStringToObject(in, "format", audit_format_name(a->in[i].fmt));
        cJSON_AddNumberToObject(in, "findings", a->in[i].findings);
        cJSON_AddItemToArray(ins, in);
    }
    cJSON *fs = cJSON_AddArrayToObject(root, "findings");
    for (size_t i = 0; i < a->n; i++) {
        const audit_finding *f = &a->f[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "package", f->package);
        cJSON_AddStringToObject(o, "version", f->version);
        cJSON_AddStringToObject(o, "ecosystem", f->ecosystem);
        cJSON_AddStringToObject(o, "id", f->id);
        cJSON *al = cJSON_AddArrayToObject(o, "aliases");
        for (unsigned k = 0; k < f->naliases; k++)
            cJSON_AddItemToArray(al, cJSON_CreateString(f->aliases[k]));
        cJSON_AddStringToObject(o, "severity", cvss_rating_name(f->sev));
        cJSON_AddStringToObject(o, "severity_from", sevfrom_name(f->sev_from));
        if (f->score >= 0)
            cJSON_AddNumberToObject(o, "score", f->score);
        else
            cJSON_AddNullToObject(o, "score");
        cJSON_AddItemToObject(o, "fixed_versions", list_json(f->fixed));
        cJSON_AddItemToObject(o, "sources", list_json(f->sources));
        cJSON_AddBoolToObject(o, "ignored", f->ignored);
        if (f->ignore_note[0])
            cJSON_AddStringToObject(o, f->ignored ? "ignore_reason" : "ignore_note",
                                    f->ignore_note);
        cJSON_AddItemToArray(fs, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

void audit_print(const audit *a, FILE *f)
{
    fprintf(f, "%-9s %-5s %-22s %-28s %-14s %s\n", "SEVERITY", "SCORE", "ID", "PACKAGE", "VERSION",
            "FIXED");
    for (int r = 0; r < CVSS_NRATINGS; r++)
        for (int pass = 0; pass < 2; pass++) /* in force first, then ignored */
            for (size_t i = 0; i < a->n; i++) {
                const audit_finding *x = &a->f[i];
                if ((int)x->sev != r || x->ignored != pass)
                    continue;
                char score[8] = "-";
                if (x->score >= 0)
                    snprintf(score, sizeof score, "%.1f", x->score);
                /* the reports are outside input: nothing of theirs reaches a terminal raw */
                char id[4 * AUDIT_ID_MAX], pkg[4 * sizeof x->package], ver[4 * sizeof x->version],
                    fix[4 * sizeof x->fixed];
                termsafe_str(x->id, id, sizeof id);
                termsafe_str(x->package, pkg, sizeof pkg);
                termsafe_str(x->version[0] ? x->version : "-", ver, sizeof ver);
                termsafe_str(x->fixed[0] ? x->fixed : "-", fix, sizeof fix);
                fprintf(f, "%-9s %-5s %-22s %-28s %-14s %s%s%s%s\n", cvss_rating_name(x->sev),
                        score, id, pkg, ver, fix, x->ignored ? "  (ignored: " : "",
                        x->ignored ? x->ignore_note : "", x->ignored ? ")" : "");
            }
    fprintf(f,
            "critical %u, high %u, medium %u, low %u, none %u; ignored %u; %zu finding%s from %zu "
            "report%s\n",
            a->count[CVSS_CRITICAL], a->count[CVSS_HIGH], a->count[CVSS_MEDIUM], a->count[CVSS_LOW],
            a->count[CVSS_NONE], a->ignored, a->n, a->n == 1 ? "" : "s", a->nin,
            a->nin == 1 ? "" : "s");
}
