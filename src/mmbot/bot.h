/*
 * bot: `mmbot run` — the mechanism around the engine. One libuv loop carries the public and
 * private WebSockets (wsc), the REST client (restc), the state database (mmstate), /health and
 * /metrics (httpd), the timers and the signals; the decisions are engine.h's.
 *
 * The life of a run:
 *   1. start-up: server time (clock offset), instrument info, positions and equity, the known
 *      execIds from the state db; both streams connect meanwhile;
 *   2. reconciliation: every open order with our prefix is an ended run's: cancelled, then the
 *      open orders are listed again until none of ours is left (a few tries; if it fails,
 *      the bot does not quote, and /health says why);
 *   3. quoting: every book message and a 100 ms timer run engine_tick(); its commands are
 *      written to the state db before they are sent; the private stream is the truth;
 *   4. shutdown on SIGTERM/SIGINT or the kill switch: quoting stops, cancel-all per symbol with
 *      retries, then an open-orders query verifies that none is left, all within
 *      shutdown.timeout. Exit 0 only when verified clean.
 * Log lines the runbook greps for: "[HB] alive", "reconnect attempt N in D s",
 * "[SHUTDOWN] Cancelling all active orders...", "[SHUTDOWN] Cancelled N orders",
 * "shutdown complete".
 *
 * Threads: the loop's, plus the watchdog's (watchdog.h).
 */
#ifndef MM_BOT_H
#define MM_BOT_H

#include "mmkeys.h"
#include "mmopts.h"

/* Runs until stopped. keys may be NULL with dry_run (public data only). Returns the exit code:
 * 0 stopped and verified clean, 1 orders left or the kill switch fired or a fatal error,
 * 3 the run could not start (state db, listen address, ...). */
int bot_run(const mmopts *o, const mmkeys *keys, int dry_run);

#endif
