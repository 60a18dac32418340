/*
 * postcheck: the user's commands after the service has stopped (`post_checks.NAME: COMMAND`),
 * for what only the outside world can tell, such as orders left open on an exchange.
 *
 * Each command runs once (cmdrun.h, post_check_timeout each). Its standard output must be one
 * number (surrounding blanks allowed); that number is stored in samples.db as the series NAME
 * of the metrics table, at the time the check ended, so a gate such as
 * `last(orphan_orders) == 0` reads it like any other series. Every check gives an event
 * post_check (detail: the value or why there is none, the exit code, the duration and the
 * output, secrets redacted) and the run value post_check.NAME ("ok", or the reason). A check
 * that fails, times out or prints no number stores no point: its gate has no data, the reason
 * is shown with the gate, and the gate is no longer optional (optional_gates is for data nobody
 * was asked to provide).
 *
 * Single thread, blocking. Functions return 0 or a negative ERR_* code.
 */
#ifndef SOAK_POSTCHECK_H
#define SOAK_POSTCHECK_H

#include <stddef.h>

#include "opts.h"

#define POSTCHECK_OUT_MAX 1024 /* output kept per check (for the event) */

struct store;
struct runrec;

/* Pure: the value of a check that ended as r says (cmdrun.h) and printed out. Returns 0 with
 * *v, or ERR_NODATA with the reason in why ("exit 1", "timed out", "output 'abc' is not a
 * number"). */
struct cmdrun_result;
int postcheck_judge(const struct cmdrun_result *r, const char *out, double *v, char *why, size_t n);

/* Runs every post-check of o and records it in db (points, events, run values). Prints one
 * line per check to out (may be NULL). Returns the count of checks that gave no value. */
int postcheck_run_all(const opts *o, struct store *db, FILE *out);

/* For analyze: does a post-check of the run provide series name? 1 with the reason it gave no
 * value in why ("" when it gave one), 0 when no post-check is named so. */
int postcheck_provides(struct runrec *rr, const char *name, char *why, size_t n);

#endif
