/* idpool: orderLinkIds journalled ahead of time. See idpool.h. */
#include "idpool.h"

#include <string.h>

#include "errcode.h"

void idpool_init(idpool *p, unsigned cap, unsigned low_water)
{
    memset(p, 0, sizeof *p);
    p->cap = cap < 1 ? 1 : cap > IDPOOL_CAP_MAX ? IDPOOL_CAP_MAX : cap;
    p->low_water = low_water > p->cap ? p->cap : low_water;
    p->lo = 1;
    p->hi = 0;
}

static unsigned avail(const idpool *p)
{
    return p->lo > p->hi ? 0 : (unsigned)(p->hi - p->lo + 1);
}

static void note_avail(idpool *p)
{
    p->st.avail = avail(p);
    if (p->filled && p->st.avail < p->st.avail_min)
        p->st.avail_min = p->st.avail;
}

unsigned idpool_want(const idpool *p, uint64_t next_seq, uint64_t *from)
{
    unsigned n = avail(p);
    if (n >= p->low_water && n > 0)
        return 0;
    /* the new ids continue the pool, and never start below what the table assigns next or
     * what was already used */
    uint64_t f = n ? p->hi + 1 : next_seq;
    if (f <= p->used_hi)
        f = p->used_hi + 1;
    if (n && f <= p->hi)
        f = p->hi + 1;
    *from = f;
    return p->cap - n;
}

int idpool_added(idpool *p, uint64_t from, unsigned n)
{
    if (n == 0)
        return 0;
    unsigned have = avail(p);
    if (from == 0 || from <= p->used_hi || (have && from != p->hi + 1) || have + n > p->cap)
        return ERR_INVAL;
    if (!have)
        p->lo = from;
    p->hi = from + n - 1;
    p->st.refills++;
    p->st.reserved += n;
    if (!p->filled) {
        p->filled = 1;
        p->st.avail_min = avail(p);
    }
    note_avail(p);
    return 0;
}

int idpool_take(idpool *p, uint64_t seq)
{
    if (seq == 0 || seq <= p->used_hi) {
        p->st.refused++;
        return ERR_DUP;
    }
    p->used_hi = seq;
    int hit = p->lo <= p->hi && seq >= p->lo && seq <= p->hi;
    if (hit) {
        p->st.skipped += seq - p->lo;
        p->lo = seq + 1;
        p->st.taken++;
    } else {
        if (p->lo <= p->hi && seq > p->hi) { /* the table ran past the pool: all passed over */
            p->st.skipped += p->hi - p->lo + 1;
            p->lo = p->hi + 1;
        }
        p->st.fallbacks++;
    }
    note_avail(p);
    return hit;
}

int idpool_has(const idpool *p, uint64_t seq)
{
    return p->lo <= p->hi && seq >= p->lo && seq <= p->hi;
}

unsigned idpool_unused(const idpool *p, uint64_t *lo)
{
    *lo = p->lo;
    return avail(p);
}

void idpool_stats_get(const idpool *p, idpool_stats *out)
{
    *out = p->st;
    out->avail = avail(p);
}

void idpool_rec_begin(idpool_rec *r, unsigned n_lookups)
{
    memset(r, 0, sizeof *r);
    r->pending = n_lookups ? n_lookups : 1;
}

idpool_outcome idpool_rec_answer(idpool_rec *r, int found, int failed)
{
    if (r->pending == 0)
        return IDPOOL_PENDING; /* decided already */
    r->pending--;
    if (found && !r->found) {
        r->found = 1;
        r->pending = 0;
        return IDPOOL_FOUND;
    }
    if (failed)
        r->failed = 1;
    if (r->pending)
        return IDPOOL_PENDING;
    return r->failed ? IDPOOL_FAILED : IDPOOL_UNSENT;
}
