/*
 * backoff: restart delays and a start limit, as a supervisor needs them.
 *
 * Delays grow exponentially from initial_ms, doubling up to max_ms; a service that stayed up
 * for reset_after_ms or more starts the sequence again. The start limit refuses a start when
 * `burst` starts already happened within the last window_ms (systemd's StartLimitBurst and
 * StartLimitIntervalSec). Plain value type: no allocation, nothing to free.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include <stdint.h>

#define BACKOFF_MAX_BURST 64

typedef struct backoff {
    uint64_t initial_ms;     /* first delay */
    uint64_t max_ms;         /* cap of the delay */
    uint64_t reset_after_ms; /* uptime after which the next delay is initial_ms again */
    unsigned burst;          /* starts allowed within window_ms (1..BACKOFF_MAX_BURST) */
    uint64_t window_ms;
    unsigned failures;                  /* consecutive short-lived runs */
    uint64_t starts[BACKOFF_MAX_BURST]; /* ring of recent start times */
    unsigned nstarts;                   /* starts recorded, total */
} backoff;

/* burst is clamped to 1..BACKOFF_MAX_BURST; max_ms below initial_ms is raised to it. */
void backoff_init(backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t reset_after_ms,
                  unsigned burst, uint64_t window_ms);

/* The service exited after running up_ms: returns how long to wait before the next start. */
uint64_t backoff_next(backoff *b, uint64_t up_ms);

/* Asks to start at now_ms (a monotonic clock). Returns 0 and records the start, or ERR_FULL
 * (lib/errcode.h) when the start limit is reached (nothing recorded). */
int backoff_start(backoff *b, uint64_t now_ms);

#endif
