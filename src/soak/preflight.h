/*
 * preflight: the checks before a run (`soak preflight`, and before every `soak run`).
 *
 * Each check gives pass, warn or fail with a reason. Built in:
 *   disk       free space of the artifacts folder against artifacts_quota and min_free_disk
 *              (and min_free_disk against the disk's size)                       warn
 *   limits     RLIMIT_NOFILE and RLIMIT_NPROC against what a run needs            warn
 *   clock      the kernel's clock synchronisation (adjtimex), where it says       warn
 *   folder     the artifacts folder can be created and written                   fail
 *   lock       no other soak runs into the folder (runlock.h)                     fail
 *   leftovers  no process left from an earlier run of the folder (runlock.h)     warn
 *   listen     the --listen address is free                                       fail
 *   metrics    --metrics-url answers                                              warn
 *   command    the command exists and can be run                                 fail
 * Only what makes the run impossible fails. User checks are `preflight.checks.NAME: COMMAND`
 * (cmdrun.h, preflight.timeout each; OPTS_MAX_CHECKS of them): exit 0 passes, 1 warns, anything else (a timeout, a
 * signal, a command that cannot start) fails; their output is kept, secrets redacted.
 *
 * The pure parts (the verdict of each check from its numbers, redaction, JSON) take their
 * inputs as arguments; preflight_run does the I/O. Single thread. Results are bounded:
 * PREFLIGHT_MAX checks, PREFLIGHT_OUT_MAX bytes of output each.
 */
#ifndef SOAK_PREFLIGHT_H
#define SOAK_PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "opts.h"

#define PREFLIGHT_MAX        40   /* checks in one pre-flight (built-in and the user's) */
#define PREFLIGHT_OUT_MAX    2048 /* output kept per user check (the tail is cut) */
#define PREFLIGHT_NOFILE_MIN 1024 /* open files a run needs: soak, its pipes, the service */
#define PREFLIGHT_NPROC_MIN  256  /* processes a run may need (the service's tree, the shim) */
#define PREFLIGHT_JSON       "preflight.json"

typedef enum preflight_status { PREFLIGHT_PASS, PREFLIGHT_WARN, PREFLIGHT_FAIL } preflight_status;

typedef struct preflight_check {
    char name[72]; /* "disk", or "user.NAME" for preflight.checks.NAME */
    preflight_status status;
    char reason[320];
    char output[PREFLIGHT_OUT_MAX]; /* a user check's stdout and stderr, redacted; "" */
    int exit_code;                  /* a user check's; -1 otherwise */
    double duration_s;
} preflight_check;

typedef struct preflight_result {
    size_t n;
    preflight_check c[PREFLIGHT_MAX];
    size_t npass, nwarn, nfail;
} preflight_result;

/* "pass", "warn", "fail". Static. */
const char *preflight_status_name(preflight_status s);

/* Adds a check (dropped past PREFLIGHT_MAX; the counts still count it). Returns the check
 * or NULL when full. */
preflight_check *preflight_add(preflight_result *r, const char *name, preflight_status s,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Pure verdicts, writing the reason into why. */
preflight_status preflight_disk_verdict(uint64_t free_bytes, uint64_t disk_bytes, uint64_t quota,
                                        uint64_t min_free, char *why, size_t n);
/* cur: the soft limit (UINT64_MAX: unlimited); need: what the run needs. */
preflight_status preflight_limit_verdict(const char *what, uint64_t cur, uint64_t need, char *why,
                                         size_t n);
/* adjtimex's return state and status bits (ret < 0: not available). */
preflight_status preflight_clock_verdict(int ret, int status_bits, char *why, size_t n);
/* A user check's end (cmdrun.h): exit 0 pass, 1 warn, anything else fail (a timeout, a
 * signal, a command that did not start). */
struct cmdrun_result;
preflight_status preflight_user_verdict(const struct cmdrun_result *r, char *why, size_t n);

/* Redacts secrets in text, in place: the values of environment variables whose names look
 * like secrets (KEY, SECRET, TOKEN, PASSWORD, PASSWD, AUTH, SIGNATURE, CREDENTIAL in the name;
 * values of 4 bytes or more), and the value after NAME= or NAME: where NAME looks like one.
 * Each becomes "***". Returns the count of redactions. */
size_t preflight_redact(char *text, size_t cap);

/* The results as JSON: {"ok": bool, "pass": N, "warn": N, "fail": N, "checks": [{"name",
 * "status", "reason", "exit_code", "duration_s", "output"}]}. Caller frees; NULL: no memory. */
char *preflight_json(const preflight_result *r);

/* Runs every check for a run into the absolute folder dir with settings o (o->argc 0: no
 * command to check). holds_lock: 1 this process holds the folder's lock (soak run), 0 test it
 * (soak preflight). Returns 0 when nothing failed, ERR_BADSTATE when a check failed. */
int preflight_run(const opts *o, const char *dir, int holds_lock, preflight_result *r);

/* Writes r as dir/preflight.json. Returns 0 or ERR_IO with err. */
int preflight_write_json(const preflight_result *r, const char *dir, char *err, size_t errlen);

/* Records in db the checks that did not pass, as events preflight ("warn NAME: reason") at
 * time t; a failed command check also as start_failed (the service could not be started).
 * Returns 0 or -1 (store.h). */
struct store;
int preflight_record(const preflight_result *r, struct store *db, double t);

/* Prints the table for a person: "  STATUS  NAME  REASON" per check (only_problems: the
 * warnings and failures only), then the output of failing user checks. */
void preflight_print(const preflight_result *r, int only_problems, FILE *out);

#endif
