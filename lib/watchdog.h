/*
 * watchdog: ends the process when its event loop stops making progress.
 *
 * The loop calls watchdog_kick() whenever it has done work (a timer tick is enough). A thread of
 * its own checks, every timeout/4, how long ago the last kick was; past the timeout it writes one
 * line to the file descriptor it was given and calls _exit(1), so that a supervisor (soak,
 * systemd) sees a failure and restarts the program (mmbot, bybit-sim). _exit runs no atexit
 * handler and flushes no stdio buffer: a hung loop may hold locks that a normal exit would wait
 * on.
 *
 * Threading: watchdog_kick() is async-signal-safe and lock-free (one atomic store) and may be
 * called from any thread; watchdog_start()/watchdog_stop() from one thread only. One watchdog per
 * process is the intended use; nothing here is global, though.
 */
#ifndef WATCHDOG_H
#define WATCHDOG_H

#include <stdint.h>

typedef struct watchdog watchdog;

/* Starts the thread. timeout_ms: 100 ms .. 1 day; log_fd: where the line goes (2 for stderr);
 * prog: the program name at the start of the line (copied, at most 31 bytes).
 * Returns NULL with errno set (EINVAL for a timeout out of range, or the failure of malloc or
 * pthread_create). The clock is CLOCK_MONOTONIC: a suspended machine (SIGSTOP of the whole
 * process, a paused VM) resumes with a kick due, since its thread was stopped too. */
watchdog *watchdog_start(uint64_t timeout_ms, int log_fd, const char *prog);
/* Records progress now. NULL is accepted (no watchdog configured). */
void watchdog_kick(watchdog *w);
/* Milliseconds since the last kick (for /health); 0 for NULL. */
uint64_t watchdog_idle_ms(const watchdog *w);
/* Stops and joins the thread, then frees w. NULL is accepted. */
void watchdog_stop(watchdog *w);

#endif
