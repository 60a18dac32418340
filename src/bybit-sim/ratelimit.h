/*
 * ratelimit: rolling one-window limits per key (account + endpoint, or client IP), as Bybit
 * applies them, in constant memory per key.
 *
 * The window is a sliding-window counter: the count of the current fixed window plus the
 * previous window's count weighted by how much of it still overlaps the rolling window. A
 * request is allowed when that estimate is below the limit; allowed requests are counted.
 * Keys live in a table of RATELIMIT_MAX_KEYS entries; when it is full the least recently used
 * key is forgotten (its count starts again at 0).
 *
 * Threads: one. No allocation after ratelimit_new.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MAX_KEYS 1024
#define RATELIMIT_KEY      96 /* bytes of a key, NUL included; longer keys are cut */

typedef struct ratelimit ratelimit;

typedef struct ratelimit_state {
    unsigned limit;     /* the limit of the key (X-Bapi-Limit) */
    unsigned remaining; /* after this request (X-Bapi-Limit-Status) */
    int64_t reset_ms;   /* when the current window ends (X-Bapi-Limit-Reset-Timestamp) */
} ratelimit_state;

/* window_ms > 0. NULL on allocation failure. */
ratelimit *ratelimit_new(int64_t window_ms);
void ratelimit_free(ratelimit *r); /* accepts NULL */
/* Counts a request of key at now_ms against limit (0: unlimited, always allowed). 1 when
 * allowed, 0 when over the limit (then not counted). st may be NULL. */
int ratelimit_take(ratelimit *r, const char *key, unsigned limit, int64_t now_ms,
                   ratelimit_state *st);
/* Forgets every key. */
void ratelimit_clear(ratelimit *r);

#endif
