/* src/soak/audit: the four report formats from fixtures shaped like the tools' real output,
 * severity from rating / vector / policy, dedup across tools, the ignore list with an expired
 * entry, and refusal of unknown and truncated JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "errcode.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/audit/%s", FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void add(audit *a, const char *name, audit_format want)
{
    size_t len;
    char *text = slurp(name, &len);
    audit_format fmt = AUDIT_NFORMATS;
    char err[256] = "";
    int rc = audit_add_report(a, text, len, name, &fmt, err, sizeof err);
    free(text);
    if (rc)
        fail_msg("%s: %s", name, err);
    assert_int_equal(fmt, want);
}

static const audit_finding *find(const audit *a, const char *id)
{
    for (size_t i = 0; i < audit_nfindings(a); i++) {
        const audit_finding *f = audit_finding_at(a, i);
        if (strcmp(f->id, id) == 0)
            return f;
        for (unsigned k = 0; k < f->naliases; k++)
            if (strcmp(f->aliases[k], id) == 0)
                return f;
    }
    return NULL;
}

static audit_policy policy(cvss_rating unscored)
{
    audit_policy p = {.unscored = unscored, .today = 20788 /* 2026-12-01 */};
    return p;
}

static void test_each_format_alone(void **state)
{
    (void)state;
    audit_policy p = policy(CVSS_HIGH);
    struct {
        const char *file;
        audit_format fmt;
        size_t findings;
        unsigned crit, high, med;
    } cases[] = {
        {"pip-audit.json", AUDIT_FMT_PIP, 2, 0, 2, 0},     /* no rating: the policy's HIGH */
        {"cargo-audit.json", AUDIT_FMT_CARGO, 3, 1, 1, 1}, /* 9.8, null (policy), 5.9 */
        {"npm-audit.json", AUDIT_FMT_NPM, 2, 1, 1, 0},     /* "via": ["minimist"] is no finding */
        {"osv-scanner.json", AUDIT_FMT_OSV, 2, 0, 1, 1},   /* MODERATE; 7.2 from the vector */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        audit *a = audit_new();
        add(a, cases[i].file, cases[i].fmt);
        audit_apply(a, &p);
        assert_int_equal(audit_nfindings(a), cases[i].findings);
        assert_int_equal(audit_count(a, CVSS_CRITICAL), cases[i].crit);
        assert_int_equal(audit_count(a, CVSS_HIGH), cases[i].high);
        assert_int_equal(audit_count(a, CVSS_MEDIUM), cases[i].med);
        audit_free(a);
    }
}

static void test_fields(void **state)
{
    (void)state;
    audit *a = audit_new();
    add(a, "cargo-audit.json", AUDIT_FMT_CARGO);
    add(a, "npm-audit.json", AUDIT_FMT_NPM);
    audit_policy p = policy(CVSS_HIGH);
    audit_apply(a, &p);
    const audit_finding *t = find(a, "RUSTSEC-2020-0071");
    assert_non_null(t);
    assert_string_equal(t->package, "time");
    assert_string_equal(t->version, "0.1.45");
    assert_string_equal(t->ecosystem, "crates.io");
    assert_int_equal(t->naliases, 2);
    assert_true(t->score > 5.89 && t->score < 5.91); /* computed from the vector */
    assert_int_equal(t->sev, CVSS_MEDIUM);
    assert_int_equal(t->sev_from, AUDIT_SEV_CVSS);
    assert_string_equal(t->fixed, ">=0.2.23");
    const audit_finding *o = find(a, "RUSTSEC-2023-0044");
    assert_int_equal(o->sev_from, AUDIT_SEV_POLICY);
    assert_true(o->score < 0);
    const audit_finding *m = find(a, "GHSA-xvch-5gv4-984h"); /* npm: the id from the URL */
    assert_non_null(m);
    assert_string_equal(m->package, "minimist");
    assert_int_equal(m->sev, CVSS_CRITICAL);
    assert_int_equal(m->sev_from, AUDIT_SEV_REPORT);
    assert_non_null(find(a, "npm-1096465"));
    const audit_finding *l = find(a, "GHSA-35jh-r3h4-6jhm");
    assert_string_equal(l->fixed, "lodash@4.17.21");
    audit_free(a);
}

static void test_dedup_across_tools(void **state)
{
    (void)state;
    audit *a = audit_new();
    add(a, "pip-audit.json", AUDIT_FMT_PIP);
    add(a, "osv-scanner.json", AUDIT_FMT_OSV);
    add(a, "npm-audit.json", AUDIT_FMT_NPM);
    add(a, "cargo-audit.json", AUDIT_FMT_CARGO);
    audit_policy p = policy(CVSS_HIGH);
    audit_apply(a, &p);
    /* 2 + 2 + 2 + 3 reported; jinja2 (pip-audit, osv) and lodash (osv, npm) are one each */
    assert_int_equal(audit_nfindings(a), 7);
    const audit_finding *j = find(a, "CVE-2024-22195");
    assert_non_null(j);
    /* pip-audit gives no rating; osv-scanner's MODERATE wins over the policy's HIGH */
    assert_int_equal(j->sev, CVSS_MEDIUM);
    assert_int_equal(j->sev_from, AUDIT_SEV_REPORT);
    assert_non_null(strstr(j->sources, "pip-audit.json"));
    assert_non_null(strstr(j->sources, "osv-scanner.json"));
    assert_int_equal(audit_count(a, CVSS_CRITICAL), 2);
    assert_int_equal(audit_count(a, CVSS_HIGH), 3);
    assert_int_equal(audit_count(a, CVSS_MEDIUM), 2);
    assert_int_equal(audit_critical_high(a), 5);
    /* the policy decides only what no report rates */
    audit_policy low = policy(CVSS_LOW);
    audit_apply(a, &low);
    assert_int_equal(audit_critical_high(a), 3);
    assert_int_equal(audit_count(a, CVSS_LOW), 2);
    audit_free(a);
}

static void test_ignore_list(void **state)
{
    (void)state;
    audit_ignore ig[3];
    char err[256];
    assert_int_equal(audit_ignore_parse("GHSA-9wx4-h78v-vm56: verify is never off in our code; "
                                        "until 2027-06-30",
                                        &ig[0], err, sizeof err),
                     0);
    assert_string_equal(ig[0].reason, "verify is never off in our code");
    assert_string_equal(ig[0].until, "2027-06-30");
    assert_int_equal(audit_ignore_parse("CVE-2021-25900: fixed by vendoring; until 2026-11-30",
                                        &ig[1], err, sizeof err),
                     0); /* expired yesterday */
    assert_int_equal(audit_ignore_parse("RUSTSEC-2023-0044: set_host never gets an empty name",
                                        &ig[2], err, sizeof err),
                     0);
    assert_int_equal(ig[2].until_day, -1);
    audit *a = audit_new();
    add(a, "pip-audit.json", AUDIT_FMT_PIP);
    add(a, "cargo-audit.json", AUDIT_FMT_CARGO);
    audit_policy p = policy(CVSS_HIGH);
    p.ignores = ig;
    p.nignores = 3;
    audit_apply(a, &p);
    assert_int_equal(audit_ignored(a), 2);
    /* jinja2 HIGH (policy), requests ignored, smallvec CRITICAL (ignore expired), openssl
     * ignored, time MEDIUM */
    assert_int_equal(audit_critical_high(a), 2);
    const audit_finding *s = find(a, "RUSTSEC-2021-0003");
    assert_false(s->ignored);
    assert_non_null(strstr(s->ignore_note, "expired on 2026-11-30"));
    const audit_finding *r = find(a, "GHSA-9wx4-h78v-vm56");
    assert_true(r->ignored);
    /* the expiry day itself still ignores */
    p.today = ig[0].until_day;
    audit_apply(a, &p);
    assert_true(find(a, "GHSA-9wx4-h78v-vm56")->ignored);
    p.today = ig[0].until_day + 1;
    audit_apply(a, &p);
    assert_false(find(a, "GHSA-9wx4-h78v-vm56")->ignored);
    char *json = audit_json(a, &p);
    assert_non_null(strstr(json, "\"security_critical_high\":"));
    assert_non_null(strstr(json, "\"unscored\":\t\"HIGH\""));
    free(json);
    audit_free(a);
    const char *bad[] = {"GHSA-x",
                         "GHSA-x:",
                         "GHSA-x: ",
                         "GHSA x: why",
                         ": why",
                         "GHSA-x: why; until 2027-02-30",
                         "GHSA-x: why; until tomorrow"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(audit_ignore_parse(bad[i], &ig[0], err, sizeof err), ERR_INVAL);
        assert_true(err[0]);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    audit *a = audit_new();
    audit_format fmt;
    char err[256];
    const char *cases[] = {
        "",
        "not json",
        "{\"dependencies\": [{\"name\": \"x\", \"vulns\": [", /* truncated */
        "{\"hello\": 1}",
        "[1, 2]",
        "42",
        "{\"auditReportVersion\": 1, \"vulnerabilities\": {}}",
        "{\"advisories\": {}, \"actions\": []}", /* npm 6 */
        "{\"auditReportVersion\": 2}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_int_equal(
            audit_add_report(a, cases[i], strlen(cases[i]), "x", &fmt, err, sizeof err), ERR_PARSE);
        assert_true(err[0]);
    }
    assert_int_equal(audit_nfindings(a), 0);
    /* a report whose entries have the wrong types: read as far as it makes sense, no crash */
    const char *odd = "{\"results\": [{\"packages\": [{\"package\": 7, \"vulnerabilities\": "
                      "[{\"id\": 5, \"severity\": \"x\", \"affected\": {}}]}]}]}";
    assert_int_equal(audit_add_report(a, odd, strlen(odd), "odd", &fmt, err, sizeof err), 0);
    assert_int_equal(fmt, AUDIT_FMT_OSV);
    assert_int_equal(audit_nfindings(a), 1);
    assert_non_null(strstr(audit_finding_at(a, 0)->id, "unnamed"));
    audit_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_format_alone),  cmocka_unit_test(test_fields),
        cmocka_unit_test(test_dedup_across_tools), cmocka_unit_test(test_ignore_list),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
