/*
 * runrec: reading a run record (DIR/samples.db) — the one reader that analyze, report and
 * `soak status` use instead of SQL of their own.
 *
 * What it gives: run values (key -> text), the samples as store_sample rows, the events with
 * their kind (enum), class, timeline lane and the supervisor's judgment (failure), the failure
 * counts (crashes, hangs), the event counts per kind, and scraped metric series. Series are
 * streamed to a callback in rowid order, never loaded whole; every stream takes a cap (rows
 * delivered at most; 0: the default cap) and the callback may stop it early by returning
 * non-zero.
 *
 * Failures: an event's failure is what the supervisor stored in events.failure. Files written
 * before that column existed have NULL there; for them the old rule applies, here only
 * (runrec.c, failure_sql): an exit with a non-zero value, or any kind of class STORE_EVC_FAILURE.
 * A crash is a failure on the crash or hang lane (a failing exit, a hang: what soak run counts
 * as crashes); a hang a failure of kind hang.
 *
 * Errors: functions return 0 (or a count, where said) or a negative ERR_* code (lib/errcode.h),
 * with a message in the caller's buffer where one is taken: ERR_NOENT no samples.db,
 * ERR_PARSE not a soak run (no samples or events table), ERR_IO a read that failed, ERR_NOMEM.
 * One runrec per thread; the strings a callback gets are valid during the call only.
 */
#ifndef SOAK_RUNREC_H
#define SOAK_RUNREC_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define RUNREC_MAX_ROWS 100000000 /* the default cap of a stream (rows) */

typedef struct runrec runrec;

/* Opens DIR/samples.db to read it (read-write when the file allows, so a WAL file leaves no
 * -wal/-shm behind; never creating anything). Returns 0 and *out (close with runrec_close), or
 * ERR_NOENT / ERR_PARSE / ERR_NOMEM with a message "cannot read 'DIR/samples.db': ...". */
int runrec_open(const char *dir, runrec **out, char *err, size_t errlen);
void runrec_close(runrec *r);
/* The path of the database (static for the runrec's life). */
const char *runrec_path(const runrec *r);
/* The last SQLite message, for a person. */
const char *runrec_errmsg(const runrec *r);

/* Copies the run value of key into buf (NUL-terminated, cut to n - 1); returns 1 when found,
 * 0 when not (buf ""), or ERR_IO. */
int runrec_value(runrec *r, const char *key, char *buf, size_t n);
/* A run value as a number: 1 and *v when found and numeric, else 0 (*v untouched). */
int runrec_value_num(runrec *r, const char *key, double *v);

/* Samples: count, first and last time (0 when none). */
int runrec_sample_range(runrec *r, int64_t *n, double *tmin, double *tmax);
/* Streams the samples in rowid order: fn gets each row; a non-zero return stops (that value
 * is returned). At most cap rows (0: RUNREC_MAX_ROWS). Returns 0, fn's value, or ERR_IO. */
int runrec_samples(runrec *r, size_t cap, int (*fn)(void *ud, const store_sample *s), void *ud);
/* The same, reading only the columns of cols (STORE_COLS_ALL: every one; t always): the others
 * read as NULL (-1 or 0). Less to decode for a reader that needs a few. */
int runrec_sample_cols(runrec *r, uint32_t cols, size_t cap,
                       int (*fn)(void *ud, const store_sample *s), void *ud);

typedef struct runrec_event {
    double t, value;
    int kind;           /* store_evkind, or -1 for a kind this soak does not know */
    const char *name;   /* the stored kind ("exit") */
    const char *detail; /* may be NULL */
    int failure;        /* the supervisor's judgment (or the old rule for older files) */
    store_evclass cls;  /* STORE_EVC_INFO for an unknown kind */
    store_lane lane;    /* where it shows on the timeline: STORE_LANE_NONE for an unknown kind,
                            and for a decided kind (exit) judged no failure */
    int crash;          /* 1: counted in crashes (a failure on the crash or hang lane) */
} runrec_event;

/* Which events a stream gives. */
typedef enum runrec_filter {
    RUNREC_EV_ALL,     /* every event */
    RUNREC_EV_LANE,    /* events drawn on the timeline (lane != NONE) */
    RUNREC_EV_CRASHES, /* crashes and hangs (runrec_event.crash) */
    RUNREC_EV_LISTED   /* the report's lifecycle table: lane != NONE but the log lane,
                           plus cleanup, log_dropped, log_error */
} runrec_filter;

/* Number of events that pass filter (>= 0), or ERR_IO. */
int64_t runrec_event_count(runrec *r, runrec_filter filter);
/* Streams the events that pass filter in rowid order, skipping the first offset, at most cap
 * (0: RUNREC_MAX_ROWS). Returns 0, fn's non-zero value, or ERR_IO. */
int runrec_events(runrec *r, runrec_filter filter, int64_t offset, size_t cap,
                  int (*fn)(void *ud, const runrec_event *e), void *ud);
/* Events' first and last time; 0 when none. */
int runrec_event_range(runrec *r, double *tmin, double *tmax);
/* Crashes and hangs as the events record them (see the top of this file). */
int runrec_failures(runrec *r, int64_t *crashes, int64_t *hangs);
/* Events per stored kind, kinds in name order, at most cap kinds. */
int runrec_kind_counts(runrec *r, size_t cap, int (*fn)(void *ud, const char *kind, int64_t n),
                       void *ud);

/* A span of time [from, to) in which the service was being stopped or was down: from soak's
 * stop event (its SIGTERM, at the end of a run or before a restart) or the main process's exit,
 * whichever comes first, to the next start, restart or daemonized event, or the end of the
 * record (to = INFINITY). Samples in it show a process tearing down (RSS falling while it
 * frees and unmaps) or what it left behind, not the service's steady state: the growth fits of
 * analyze and diagnose leave them out; the report still draws them. */
typedef struct runrec_span {
    double from, to;
} runrec_span;
#define RUNREC_MAX_SPANS 100000 /* stop spans kept at most (a restart each: far past start_limit) */

/* The stop spans in time order into a malloc'd *out (the caller frees it; NULL when none),
 * count in *n, at most RUNREC_MAX_SPANS (the rest are dropped). Returns 0, ERR_IO or
 * ERR_NOMEM (then *out NULL, *n 0). */
int runrec_stop_spans(runrec *r, runrec_span **out, size_t *n);
/* 1 when t is inside one of the n spans (sorted, as runrec_stop_spans gives them), else 0.
 * *cur is a cursor the caller keeps (start it at 0): for times in increasing order every
 * call is O(1) amortised. */
int runrec_span_in(const runrec_span *s, size_t n, size_t *cur, double t);

/* Streams metric name{labels} (labels as the store keeps them; "" none) in time order, at
 * most cap points (0: RUNREC_MAX_ROWS). Returns 0, fn's value, or ERR_IO. */
int runrec_metric(runrec *r, const char *name, const char *labels, size_t cap,
                  int (*fn)(void *ud, double t, double v), void *ud);
/* The distinct names of the metrics table (scraped series, pattern counts) in byte order, at
 * most cap (0: RUNREC_MAX_ROWS). Returns 0, fn's non-zero value, or ERR_IO. */
int runrec_metric_names(runrec *r, size_t cap, int (*fn)(void *ud, const char *name), void *ud);
/* 1 when the metrics table has a point of that name, else 0. */
int runrec_metric_exists(runrec *r, const char *name);

#endif
