/*
 * diaglog: the log-line parsers of `soak diagnose`: what a line of a captured log says, for the
 * runbook's greps (memory, reconnects and their delays, timeouts, refusals, rate limits,
 * heartbeats, shutdown and cancel-all, exceptions, DNS, pool waits, cleanups), and whether a
 * run of reconnect delays follows an exponential backoff.
 *
 * Pure: no I/O, no state, any thread; lines are bytes (not NUL-terminated, any content).
 * Matching is case-insensitive on ASCII. Fuzzed by fuzz/fuzz_diaglog.c.
 */
#ifndef SOAK_DIAGLOG_H
#define SOAK_DIAGLOG_H

#include <stddef.h>

/* What a line can be, defined once: X(NAME, "key", section of the runbook, "what it is").
 * A line can be several (a bit each). */
#define DIAGLOG_CLASSES(X)                                                                         \
    X(MEMORY, "memory", 1, "memory|oom|allocation|MemoryError")                                    \
    X(GC, "gc", 1, "gc|garbage")                                                                   \
    X(RECONNECT, "reconnect", 2, "reconnect|WebSocket.*connect")                                   \
    X(BACKOFF, "backoff", 2, "backoff.*delay|reconnect.*attempt")                                  \
    X(TIMEOUT, "timeout", 2, "timeout|timed out")                                                  \
    X(REFUSED, "refused", 2, "connection refused")                                                 \
    X(NETWORK, "network", 2, "network")                                                            \
    X(RATELIMIT, "ratelimit", 6, "rate limit|429|too many")                                        \
    X(HEARTBEAT, "heartbeat", 2, "ping|pong|heartbeat|[HB]")                                       \
    X(SHUTDOWN, "shutdown", 3, "Shutting down|stop()|[SHUTDOWN]")                                  \
    X(CANCEL_ALL, "cancel_all", 3, "cancel_all|cancelling all")                                    \
    X(CANCELLED, "cancelled", 3, "Cancelled N")                                                    \
    X(SHUTDOWN_DONE, "shutdown_complete", 3, "shutdown.*complete")                                 \
    X(ERROR, "error", 7, "Traceback|Exception|Error")                                              \
    X(DNS, "dns", 6, "DNS|dns")                                                                    \
    X(POOL, "pool", 6, "pool.*limit|waiting for connection")                                       \
    X(CLEANUP, "cleanup", 4, "_cleanup_old_logs|aggressive cleanup")                               \
    X(ZOMBIE, "zombie", 5, "kill_process_tree|cleanup_zombies|defunct")

typedef enum diaglog_class {
#define DIAGLOG_ENUM(name, key, sec, what) DIAGLOG_##name,
    DIAGLOG_CLASSES(DIAGLOG_ENUM)
#undef DIAGLOG_ENUM
        DIAGLOG_NCLASSES
} diaglog_class;

#define DIAGLOG_BIT(c) (1u << (c))

/* "memory" ...; "" out of range. Static. */
const char *diaglog_class_key(diaglog_class c);
/* The runbook section (1-8) a class belongs to; 0 out of range. */
int diaglog_class_section(diaglog_class c);

/* The classes of line[0..n) as DIAGLOG_BIT()s (0: none). */
unsigned diaglog_classify(const char *line, size_t n);

/* A line as logcap writes it: "YYYY-mm-ddTHH:MM:SS.mmmZ STREAM TEXT". Sets *t (Unix s) and
 * *text / *text_n (the service's text; soak's own notes have stream "soak"); returns 1, or 0
 * when the line has no timestamp (then *t = -1 and text is the whole line). */
int diaglog_split(const char *line, size_t n, double *t, const char **text, size_t *text_n);

/* The reconnect delay a line states, in seconds: a number after "delay", "backoff", "retry in",
 * "sleeping" or "waiting" (an '=' or ':' between allowed), with an optional unit (ms, s, m;
 * none: seconds). Returns 1 and *delay_s, or 0. */
int diaglog_delay(const char *line, size_t n, double *delay_s);
/* The attempt number a line states ("attempt 3", "attempt=3", "attempt #3", "attempt 3/10").
 * Returns 1 and *attempt, or 0. */
int diaglog_attempt(const char *line, size_t n, long *attempt);
/* N of "Cancelled N orders" (or "cancelled N"). Returns 1 and *count, or 0. */
int diaglog_cancelled(const char *line, size_t n, long *count);

/* Whether delays d[0..n) (seconds, in log order) follow an exponential backoff: */
typedef enum diaglog_backoff {
    DIAGLOG_BACKOFF_UNKNOWN,     /* fewer than 3 delays */
    DIAGLOG_BACKOFF_EXPONENTIAL, /* each grows by 1.5x-3x up to a cap (resets allowed) */
    DIAGLOG_BACKOFF_CONSTANT,    /* the delays stay the same from the first */
    DIAGLOG_BACKOFF_IRREGULAR    /* neither */
} diaglog_backoff;
/* The verdict, and in *growth the median ratio of growing steps (1 when none), *cap the
 * largest delay. */
diaglog_backoff diaglog_backoff_check(const double *d, size_t n, double *growth, double *cap);
/* "exponential", "constant", "irregular", "unknown". Static. */
const char *diaglog_backoff_name(diaglog_backoff b);

#endif
