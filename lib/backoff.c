/* backoff: exponential restart delay with a cap, reset and start limit. See backoff.h. */
#include "backoff.h"

#include "errcode.h"

void backoff_init(backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t reset_after_ms,
                  unsigned burst, uint64_t window_ms)
{
    b->initial_ms = initial_ms;
    b->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
    b->reset_after_ms = reset_after_ms;
    b->burst = burst < 1 ? 1 : burst > BACKOFF_MAX_BURST ? BACKOFF_MAX_BURST : burst;
    b->window_ms = window_ms;
    b->failures = 0;
    b->nstarts = 0;
}

uint64_t backoff_next(backoff *b, uint64_t up_ms)
{
    if (up_ms >= b->reset_after_ms)
        b->failures = 0;
    uint64_t d = b->initial_ms;
    for (unsigned i = 0; i < b->failures && d < b->max_ms; i++)
        d = d > b->max_ms / 2 ? b->max_ms : d * 2; /* never wraps */
    if (d > b->max_ms)
        d = b->max_ms;
    if (b->failures < 64)
        b->failures++;
    return d;
}

int backoff_start(backoff *b, uint64_t now_ms)
{
    if (b->nstarts >= b->burst) {
        /* the oldest of the last `burst` starts */
        uint64_t oldest = b->starts[(b->nstarts - b->burst) % BACKOFF_MAX_BURST];
        if (now_ms - oldest < b->window_ms)
            return ERR_FULL;
    }
    b->starts[b->nstarts % BACKOFF_MAX_BURST] = now_ms;
    b->nstarts++;
    return 0;
}
