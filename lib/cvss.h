/*
 * cvss: the CVSS v3.0 / v3.1 base score of a vector string, by the specification's formula
 * (FIRST, "CVSS v3.1 Specification Document", section 7.1 and Appendix A for Roundup), and the
 * qualitative rating of a score (section 5).
 *
 * Only base metrics count: temporal and environmental metrics (E, RL, RC, CR, MAV ...) after
 * the eight base metrics are accepted and ignored. A vector must start with "CVSS:3.0/" or
 * "CVSS:3.1/" and hold each of AV, AC, PR, UI, S, C, I, A exactly once, in any order. CVSS v2
 * and v4 vectors are refused (ERR_INVAL): their formulas differ, and a caller falls back to a
 * rating the report gives.
 *
 * Pure functions, no allocation, no state: safe from any thread.
 */
#ifndef CVSS_H
#define CVSS_H

#include <stddef.h>

/* The qualitative ratings, worst first. CVSS_NONE is a score of 0.0. */
typedef enum cvss_rating {
    CVSS_CRITICAL,
    CVSS_HIGH,
    CVSS_MEDIUM,
    CVSS_LOW,
    CVSS_NONE,
    CVSS_NRATINGS
} cvss_rating;

/* The base score (0.0 to 10.0, one decimal) of vector into *score. Returns 0, or ERR_INVAL
 * with the reason in err (may be NULL): not a v3 vector, an unknown metric or value, a metric
 * missing or given twice. *score is untouched on failure. */
int cvss3_base_score(const char *vector, double *score, char *err, size_t errlen);

/* The rating of a score: 9.0-10.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low, 0 none. */
cvss_rating cvss_rating_of(double score);

/* "CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"; static storage. */
const char *cvss_rating_name(cvss_rating r);

/* The rating named by text, case-insensitive, with the names tools use: "critical", "high",
 * "moderate"/"medium", "low", "none"/"info". Returns 0 and sets *r, or ERR_INVAL. */
int cvss_rating_parse(const char *text, cvss_rating *r);

#endif
