/* ratelimit: sliding-window counters per key in a fixed table (see ratelimit.h). */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

typedef struct rl_entry {
    char key[RATELIMIT_KEY];
    int64_t win_start; /* start of the current fixed window */
    unsigned cur, prev;
    uint64_t used; /* last use, for eviction */
    int live;
} rl_entry;

struct ratelimit {
    int64_t window_ms;
    uint64_t clock;
    rl_entry e[RATELIMIT_MAX_KEYS];
};

ratelimit *ratelimit_new(int64_t window_ms)
{
    if (window_ms <= 0)
        return NULL;
    ratelimit *r = calloc(1, sizeof *r);
    if (r)
        r->window_ms = window_ms;
    return r;
}

void ratelimit_free(ratelimit *r)
{
    free(r);
}

void ratelimit_clear(ratelimit *r)
{
    memset(r->e, 0, sizeof r->e);
}

/* FNV-1a, for the starting slot of a linear probe. */
static size_t slot_of(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)(h % RATELIMIT_MAX_KEYS);
}

static rl_entry *find(ratelimit *r, const char *key, int64_t now_ms)
{
    char k[RATELIMIT_KEY];
    size_t n = strlen(key);
    if (n >= sizeof k)
        n = sizeof k - 1;
    memcpy(k, key, n);
    k[n] = '\0';
    size_t s = slot_of(k), oldest = s;
    /* probe a bounded run of slots; reuse the least recently used one if the key is absent */
    for (size_t i = 0; i < 32; i++) {
        rl_entry *e = &r->e[(s + i) % RATELIMIT_MAX_KEYS];
        if (e->live && !strcmp(e->key, k))
            return e;
        if (!e->live) {
            oldest = (s + i) % RATELIMIT_MAX_KEYS;
            break;
        }
        if (e->used < r->e[oldest].used)
            oldest = (s + i) % RATELIMIT_MAX_KEYS;
    }
    rl_entry *e = &r->e[oldest];
    memset(e, 0, sizeof *e);
    memcpy(e->key, k, n + 1);
    e->live = 1;
    e->win_start = now_ms - now_ms % r->window_ms;
    return e;
}

int ratelimit_take(ratelimit *r, const char *key, unsigned limit, int64_t now_ms,
                   ratelimit_state *st)
{
    rl_entry *e = find(r, key, now_ms);
    e->used = ++r->clock;
    int64_t w = r->window_ms, start = now_ms - now_ms % w;
    if (start != e->win_start) {
        e->prev = start - e->win_start == w ? e->cur : 0;
        e->cur = 0;
        e->win_start = start;
    }
    double overlap = 1.0 - (double)(now_ms - start) / (double)w;
    double est = e->prev * overlap + e->cur;
    int ok = limit == 0 || est + 1 <= limit;
    if (ok)
        e->cur++;
    if (st) {
        double after = e->prev * overlap + e->cur;
        st->limit = limit;
        st->remaining = limit == 0 || after >= limit ? 0 : (unsigned)(limit - after);
        st->reset_ms = start + w;
    }
    return ok;
}
