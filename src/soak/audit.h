/*
 * audit: the data of the runbook's security gate (§8, "0 CRITICAL/HIGH") from the JSON reports
 * of the audit tools people already run: pip-audit (--format json), cargo audit --json,
 * npm audit --json (report version 2, npm 7 and later) and osv-scanner --format json.
 *
 * Each report is read into one list of findings (package, version, ecosystem, id, aliases,
 * severity, score, fixed versions, source), the same advisory of the same package reported by
 * several tools is one finding, an ignore list with reasons and expiry dates is applied, and
 * the findings are counted by severity. The format is told from the content, never from the
 * file name.
 *
 * Severity, in this order: the rating the report gives (npm, OSV's database_specific, GHSA);
 * else the CVSS v3 base score computed from the vector the report gives (cargo audit, OSV
 * severity[].score; lib/cvss); else the policy's `unscored` rating (pip-audit gives none; the
 * default, HIGH, is stated in security.json). When two reports of one finding disagree, the
 * rated one wins over the unscored one, and the worse rating over the better one.
 *
 * Pure: no I/O, no clock (today comes in as an argument); src/soak/auditcmd.c reads the
 * inputs and writes the results. An audit object belongs to one thread. Caps: AUDIT_MAX_INPUT
 * bytes per report, AUDIT_MAX_FINDINGS findings in all (past it, ERR_FULL: a report that big
 * is refused, not cut short), AUDIT_MAX_ALIASES aliases per finding (further ones dropped).
 */
#ifndef SOAK_AUDIT_H
#define SOAK_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include "cvss.h"

#define AUDIT_MAX_INPUT    (64u << 20)
#define AUDIT_MAX_FINDINGS 8192
#define AUDIT_MAX_ALIASES  8
#define AUDIT_MAX_IGNORES  256
#define AUDIT_ID_MAX       64
#define AUDIT_SEP          "|" /* between the items of fixed and sources (semver ranges hold ',') */

/* The formats, defined once: X(NAME, "name as shown"). */
#define AUDIT_FORMATS(X)                                                                           \
    X(PIP, "pip-audit")                                                                            \
    X(CARGO, "cargo-audit")                                                                        \
    X(NPM, "npm-audit")                                                                            \
    X(OSV, "osv-scanner")

typedef enum audit_format {
#define AUDIT_FMT_ENUM(name, str) AUDIT_FMT_##name,
    AUDIT_FORMATS(AUDIT_FMT_ENUM)
#undef AUDIT_FMT_ENUM
        AUDIT_NFORMATS
} audit_format;

const char *audit_format_name(audit_format f);

/* Where a finding's severity came from. */
typedef enum audit_sevfrom {
    AUDIT_SEV_UNSET,
    AUDIT_SEV_REPORT,
    AUDIT_SEV_CVSS,
    AUDIT_SEV_POLICY
} audit_sevfrom;

typedef struct audit_finding {
    char package[128];
    char version[64];
    char ecosystem[24];
    char id[AUDIT_ID_MAX];
    char aliases[AUDIT_MAX_ALIASES][AUDIT_ID_MAX];
    unsigned naliases;
    cvss_rating sev; /* meaningful once sev_from is not AUDIT_SEV_UNSET */
    audit_sevfrom sev_from;
    double score;          /* the CVSS base score, or -1 when no report gives one */
    char fixed[128];       /* fixed versions, separated by AUDIT_SEP ("" unknown) */
    char sources[160];     /* the inputs that reported it, separated by AUDIT_SEP */
    int ignored;           /* by an ignore entry in force */
    char ignore_note[200]; /* the entry's reason; or why an entry no longer applies */
} audit_finding;

/* One entry of audit.ignore, written "ID: reason" or "ID: reason; until YYYY-MM-DD". */
typedef struct audit_ignore {
    char id[AUDIT_ID_MAX];
    char reason[160];
    long until_day; /* days since 1970-01-01 of the last day it applies; -1 for no expiry */
    char until[11]; /* as written, "" for none */
} audit_ignore;

/* Parses one entry; 0, or ERR_INVAL with the reason (without the key) in err. */
int audit_ignore_parse(const char *text, audit_ignore *out, char *err, size_t errlen);

typedef struct audit_policy {
    cvss_rating unscored; /* the rating of a finding no report rates */
    const audit_ignore *ignores;
    size_t nignores;
    long today; /* days since 1970-01-01 (UTC): an ignore is in force through its until day */
} audit_policy;

typedef struct audit audit;

/* A new, empty audit, or NULL when out of memory. */
audit *audit_new(void);
void audit_free(audit *a);

/* Reads one report (text of len bytes, not NUL-terminated; at most AUDIT_MAX_INPUT) whose
 * origin is source (a file name or "cmd:..."; shown in the findings). Sets *fmt to the format
 * found. Returns 0; ERR_PARSE (not JSON, truncated, or JSON of no format known here: the
 * reason in err names what was expected); ERR_RANGE (too big); ERR_FULL (over
 * AUDIT_MAX_FINDINGS); ERR_NOMEM. On failure the findings of this report are not added. */
int audit_add_report(audit *a, const char *text, size_t len, const char *source, audit_format *fmt,
                     char *err, size_t errlen);

/* Applies the policy (unscored rating, ignore list, today) and counts. Call after the last
 * report; calling it again with another policy recounts. */
void audit_apply(audit *a, const audit_policy *p);

size_t audit_nfindings(const audit *a);
const audit_finding *audit_finding_at(const audit *a, size_t i);
/* Findings in force (not ignored) of a rating; after audit_apply. */
unsigned audit_count(const audit *a, cvss_rating r);
/* Findings ignored by an entry in force. */
unsigned audit_ignored(const audit *a);
/* The number the security gate reads: CRITICAL plus HIGH in force. */
unsigned audit_critical_high(const audit *a);

/* security.json: the counts, the policy, the inputs and every finding. Returns a malloc'd
 * NUL-terminated text the caller frees, or NULL when out of memory. */
char *audit_json(const audit *a, const audit_policy *p);

/* A table for a person: one line a finding, worst first, then the counts. The reports' text in
 * it is escaped for a terminal (lib/termsafe). */
void audit_print(const audit *a, FILE *f);

#endif
