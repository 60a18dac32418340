#include "cvss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errcode.h"

/* The eight base metrics, in the specification's order. */
enum { M_AV, M_AC, M_PR, M_UI, M_S, M_C, M_I, M_A, M_N };

static const char *const metric_names[M_N] = {"AV", "AC", "PR", "UI", "S", "C", "I", "A"};
/* Each metric's values, as letters, in the order of the weights below. */
static const char *const metric_values[M_N] = {"NALP", "LH",  "NLH", "NR",
                                               "UC",   "HLN", "HLN", "HLN"};

static const double w_av[] = {0.85, 0.62, 0.55, 0.2};
static const double w_ac[] = {0.77, 0.44};
static const double w_pr_u[] = {0.85, 0.62, 0.27}; /* scope unchanged */
static const double w_pr_c[] = {0.85, 0.68, 0.5};  /* scope changed */
static const double w_ui[] = {0.85, 0.62};
static const double w_cia[] = {0.56, 0.22, 0};

/* A refusal: the reason into err (which may be NULL), ERR_INVAL. */
#define FAIL(...) ((err && errlen ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0), ERR_INVAL)

/* Roundup of v3.1 (Appendix A): the smallest number, to one decimal, equal to or higher than
 * its input, computed on integers so that 4.000000001 is not 4.1 by a floating-point error. */
static double roundup31(double x)
{
    long long i = llround(x * 100000.0);
    if (i % 10000 == 0)
        return (double)i / 100000.0;
    return (double)(i / 10000 + 1) / 10.0;
}

/* Roundup of v3.0: the plain ceiling to one decimal. */
static double roundup30(double x)
{
    return ceil(x * 10.0) / 10.0;
}

int cvss3_base_score(const char *vector, double *score, char *err, size_t errlen)
{
    if (!vector)
        return FAIL("%s", "no vector");
    int v31;
    if (strncmp(vector, "CVSS:3.1/", 9) == 0)
        v31 = 1;
    else if (strncmp(vector, "CVSS:3.0/", 9) == 0)
        v31 = 0;
    else
        return FAIL("'%.40s' is not a CVSS v3 vector (want CVSS:3.0/ or CVSS:3.1/)", vector);
    int val[M_N];
    for (int m = 0; m < M_N; m++)
        val[m] = -1;
    const char *p = vector + 9;
    while (*p) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return FAIL("metric '%.16s' has no value", p);
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        size_t vlen = strcspn(v, "/");
        int m = -1;
        for (int i = 0; i < M_N; i++)
            if (strlen(metric_names[i]) == nlen && strncmp(p, metric_names[i], nlen) == 0)
                m = i;
        if (m >= 0) {
            if (val[m] >= 0)
                return FAIL("metric %s given twice", metric_names[m]);
            const char *at = vlen == 1 ? strchr(metric_values[m], v[0]) : NULL;
            if (!at || !v[0])
                return FAIL("bad value of metric %s", metric_names[m]);
            val[m] = (int)(at - metric_values[m]);
        } else if (nlen == 0 || nlen > 3 || vlen == 0) {
            return FAIL("bad metric at '%.16s'", p);
        } /* else a temporal or environmental metric: ignored */
        p = v + vlen;
        if (*p == '/') {
            p++;
            if (!*p)
                return FAIL("%s", "trailing '/'");
        }
    }
    for (int m = 0; m < M_N; m++)
        if (val[m] < 0)
            return FAIL("base metric %s missing", metric_names[m]);

    int changed = val[M_S] == 1;
    double iss = 1.0 - (1.0 - w_cia[val[M_C]]) * (1.0 - w_cia[val[M_I]]) * (1.0 - w_cia[val[M_A]]);
    double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
    double pr = changed ? w_pr_c[val[M_PR]] : w_pr_u[val[M_PR]];
    double expl = 8.22 * w_av[val[M_AV]] * w_ac[val[M_AC]] * pr * w_ui[val[M_UI]];
    double s = 0;
    if (impact > 0) {
        double raw = changed ? 1.08 * (impact + expl) : impact + expl;
        if (raw > 10)
            raw = 10;
        s = v31 ? roundup31(raw) : roundup30(raw);
    }
    *score = s;
    return 0;
}

cvss_rating cvss_rating_of(double score)
{
    if (score >= 9.0)
        return CVSS_CRITICAL;
    if (score >= 7.0)
        return CVSS_HIGH;
    if (score >= 4.0)
        return CVSS_MEDIUM;
    if (score > 0)
        return CVSS_LOW;
    return CVSS_NONE;
}

const char *cvss_rating_name(cvss_rating r)
{
    static const char *const names[CVSS_NRATINGS] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"};
    return (unsigned)r < CVSS_NRATINGS ? names[r] : "NONE";
}

int cvss_rating_parse(const char *text, cvss_rating *r)
{
    static const struct {
        const char *name;
        cvss_rating r;
    } names[] = {{"critical", CVSS_CRITICAL}, {"high", CVSS_HIGH},
                 {"moderate", CVSS_MEDIUM},   {"medium", CVSS_MEDIUM},
                 {"low", CVSS_LOW},           {"none", CVSS_NONE},
                 {"info", CVSS_NONE},         {"informational", CVSS_NONE}};
    if (!text)
        return ERR_INVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(text, names[i].name) == 0) {
            *r = names[i].r;
            return 0;
        }
    return ERR_INVAL;
}
