/*
 * auditcmd: `soak audit` and the audit at the end of `soak run`: reads each input (a file, or
 * "cmd:COMMAND" run with audit.timeout and its standard output read), feeds src/soak/audit,
 * writes security.json, prints the table, and in a run stores the series the security gate
 * reads (security_critical_high, and security_critical, _high, _medium, _low, _none).
 *
 * Inputs that cannot be read or parsed make the audit fail as a whole: a gate fed half of the
 * reports would pass what it has not seen. The run then records the reason (event "audit",
 * security.json's "error"), stores no series, and the security gate has no data.
 * Secrets: the text of a cmd: input is shown as written by the user; its output is never
 * printed (only counts and findings).
 * One thread; blocking (a cmd: input for at most audit.timeout).
 */
#ifndef SOAK_AUDITCMD_H
#define SOAK_AUDITCMD_H

#include "opts.h"
#include "store.h"

/* The exit codes of `soak audit`. */
#define AUDITCMD_PASS  0 /* no CRITICAL or HIGH finding in force */
#define AUDITCMD_FAIL  1 /* at least one */
#define AUDITCMD_ERROR 2 /* usage, configuration, or an input that cannot be read */

/* `soak audit [-c soak.yaml] [--policy FILE] [--set key=value]... [-o FILE] [INPUT...]`:
 * argv[0] is "audit". Returns an exit code above. */
int auditcmd_main(int argc, char **argv);

/* The audit of a run: o's audit.inputs into run_dir/security.json, the series into db at time
 * t, and an "audit" event. Does nothing (returns 0) when no input is configured. Returns 0
 * when the audit was done, or an ERR_* code when it failed (recorded as above; the caller
 * carries on: the gate says no-data). */
int auditcmd_run(const opts *o, const char *run_dir, store *db, double t);

#endif
