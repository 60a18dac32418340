/*
 * statusline: the live view of a run on stderr. On a terminal one line is redrawn in place
 * every sample (elapsed of duration with a bar, RSS and its change per hour, CPU, restarts,
 * heartbeat age); elsewhere (CI logs) a plain line is printed once a minute.
 */
#ifndef SOAK_STATUSLINE_H
#define SOAK_STATUSLINE_H

#include <stdint.h>

#include "opts.h"
#include "runstate.h"

typedef struct statusline statusline;

/* mode OPTS_STATUS_AUTO picks line or plain by isatty(stderr). NULL when out of memory or
 * mode is OFF; every function accepts NULL. */
statusline *statusline_new(opts_status mode, uint64_t duration_ms);
void statusline_update(statusline *sl, const runstate *rs, uint64_t now_ms);
/* Ends the redrawn line with a newline. */
void statusline_free(statusline *sl);

/* Formats the status text (no newline) into buf; exposed for tests. */
void statusline_format(const runstate *rs, uint64_t now_ms, uint64_t duration_ms, int bar,
                       char *buf, size_t n);

#endif
