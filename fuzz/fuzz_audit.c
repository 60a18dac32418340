/* libFuzzer target for audit_add_report: audit reports are outside input (files a CI job
 * downloads, or the output of a command). The input is copied into an exactly sized heap
 * buffer (not NUL-terminated) so ASan flags any read past len. Whatever reads must apply,
 * count consistently (in force + ignored = findings) and write security.json; whatever fails
 * must leave a message and add nothing. A second report goes in after the first, so that the
 * dedup path runs on fuzzed findings too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy(data, size);
    if (!copy)
        return 0;
    audit *a = audit_new();
    if (!a) {
        free(copy);
        return 0;
    }
    audit_format fmt;
    char err[512] = "";
    size_t half = size / 2;
    for (int pass = 0; pass < 2; pass++) {
        size_t before = audit_nfindings(a);
        const char *p = pass ? copy : copy + half;
        size_t n = pass ? size : size - half;
        err[0] = '\0';
        int rc = audit_add_report(a, p, n, "fuzz", &fmt, err, sizeof err);
        if (rc && (!err[0] || audit_nfindings(a) != before))
            abort();
    }
    audit_ignore ig = {.id = "CVE-2021-23337", .reason = "fuzz", .until_day = -1};
    audit_policy pol = {.unscored = CVSS_HIGH, .ignores = &ig, .nignores = 1, .today = 20000};
    audit_apply(a, &pol);
    unsigned total = audit_ignored(a);
    for (int r = 0; r < CVSS_NRATINGS; r++)
        total += audit_count(a, (cvss_rating)r);
    if (total != audit_nfindings(a))
        abort();
    char *json = audit_json(a, &pol);
    free(json);
    audit_free(a);
    free(copy);
    return 0;
}
