/* patterns: multi-pattern line matching on Vectorscan. See patterns.h. */
#include "patterns.h"

#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

struct patterns {
    size_t n;
    char *names[PATTERNS_MAX];
    char *exprs[PATTERNS_MAX];
    hs_database_t *db; /* NULL when n == 0 */
    hs_scratch_t *scratch;
};

patterns *patterns_new(const char *const *names, const char *const *exprs, size_t n, char *err,
                       size_t errlen)
{
    if (n > PATTERNS_MAX) {
        snprintf(err, errlen, "too many patterns: %zu (at most %d)", n, PATTERNS_MAX);
        return NULL;
    }
    patterns *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    unsigned flags[PATTERNS_MAX], ids[PATTERNS_MAX];
    for (size_t i = 0; i < n; i++) {
        p->names[i] = strdup(names[i]);
        p->exprs[i] = strdup(exprs[i]);
        p->n = i + 1;
        if (!p->names[i] || !p->exprs[i]) {
            snprintf(err, errlen, "out of memory");
            patterns_free(p);
            return NULL;
        }
        flags[i] = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
        ids[i] = (unsigned)i;
    }
    if (n == 0)
        return p;
    hs_compile_error_t *cerr = NULL;
    if (hs_compile_multi((const char *const *)p->exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK,
                         NULL, &p->db, &cerr) != HS_SUCCESS) {
        int bad = cerr && cerr->expression >= 0 ? cerr->expression : 0;
        snprintf(err, errlen, "pattern '%s': %s", p->names[bad],
                 cerr && cerr->message ? cerr->message : "cannot compile");
        hs_free_compile_error(cerr);
        patterns_free(p);
        return NULL;
    }
    if (hs_alloc_scratch(p->db, &p->scratch) != HS_SUCCESS) {
        snprintf(err, errlen, "cannot allocate pattern scratch space");
        patterns_free(p);
        return NULL;
    }
    return p;
}

void patterns_free(patterns *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->exprs[i]);
    }
    if (p->scratch)
        hs_free_scratch(p->scratch);
    if (p->db)
        hs_free_database(p->db);
    free(p);
}

size_t patterns_count(const patterns *p)
{
    return p ? p->n : 0;
}

const char *patterns_name(const patterns *p, size_t i)
{
    return i < p->n ? p->names[i] : NULL;
}

const char *patterns_expr(const patterns *p, size_t i)
{
    return i < p->n ? p->exprs[i] : NULL;
}

int patterns_find(const patterns *p, const char *name)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (strcmp(p->names[i], name) == 0)
            return (int)i;
    return ERR_NOENT;
}

static int patterns_on_match(unsigned id, unsigned long long from, unsigned long long to,
                             unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    *(uint64_t *)ctx |= (uint64_t)1 << id;
    return 0;
}

uint64_t patterns_match(patterns *p, const char *line, size_t len)
{
    uint64_t mask = 0;
    if (!p || !p->db)
        return 0;
    if (len > 0xffffffffu)
        len = 0xffffffffu;
    hs_scan(p->db, line, (unsigned)len, 0, p->scratch, patterns_on_match, &mask);
    return mask;
}
