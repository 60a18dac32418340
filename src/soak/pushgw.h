/*
 * pushgw: soak's metrics to a Prometheus Pushgateway, for CI runners that Prometheus cannot
 * scrape (Prometheus's own answer for batch jobs).
 *
 * The group is job="soak", run=RUN, instance=HOST (URL: BASE/metrics/job/soak/run@base64/...,
 * so that any run name is safe in a path). While the run is live, the same gauges as soak's
 * /metrics are pushed every push_interval (POST: they replace the group's series of the same
 * names); at the end, the verdict: soak_verdict_pass, soak_gate_passed{gate},
 * soak_gate_value{gate} (absent when the gate had no data) and soak_run_end_timestamp_seconds.
 * The group stays, so that Prometheus scrapes the verdict; `soak push --delete` removes it.
 *
 * Live pushes run on libuv's thread pool, one at a time (a push still in flight skips the
 * next), each bounded by min(5 s, push_interval / 2): a slow Pushgateway never delays the run.
 * Failures are counted and logged once per kind, with the URL redacted of its credentials.
 * The loop-side calls are for the loop thread.
 */
#ifndef SOAK_PUSHGW_H
#define SOAK_PUSHGW_H

#include <stddef.h>
#include <uv.h>

#include "opts.h"
#include "runstate.h"

typedef struct pushgw pushgw;

/* The group URL of a run into out. Returns 0, or ERR_FULL when it does not fit. */
int pushgw_group_url(const char *base, const char *run, const char *instance, char *out, size_t n);
/* The run name of o: run_name, or the base name of the artifacts folder. */
void pushgw_run_name(const opts *o, char *out, size_t n);

/* Live pushes for o->pushgateway (empty: *out NULL, 0). rs must outlive it. Returns 0, or
 * ERR_CONFIG (not an http(s) URL), ERR_NOMEM with the reason in err. */
int pushgw_start(uv_loop_t *loop, const opts *o, const runstate *rs, pushgw **out, char *err,
                 size_t errlen);
/* Stops the timer (before the loop's last run; a push in flight finishes). */
void pushgw_close_handles(pushgw *p);
/* The verdict of run_dir (its verdict.json) and the last gauges, pushed now (blocking, one
 * try of at most 5 s); then frees p. Returns 0 or an ERR_* code with the reason in err. */
int pushgw_finish(pushgw *p, const char *run_dir, char *err, size_t errlen);

/* `soak push DIR --pushgateway URL [--run NAME] [--delete]`: argv[0] is "push". Pushes the
 * verdict of a finished run (its verdict.json), or deletes its group. Returns an exit code:
 * 0 done, 2 usage, 3 the Pushgateway refused or did not answer. */
int pushgw_main(int argc, char **argv);

#endif
