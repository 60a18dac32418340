/*
 * sampler: what one sample of `soak run` measures: the service's process tree (lib/proctree:
 * RSS, PSS every pss_interval, CPU, threads, fds, processes, zombies), the artifacts folder's
 * size and the free disk; and the samples.db row made of it.
 *
 * The folder's size never needs a walk on the loop: it is kept from what soak itself writes
 * (the logs: logcap counts their bytes; samples.db and its -wal, -shm and -reserve: one stat
 * each) plus
 * the rest of the folder, which a full walk on the libuv thread pool measures every walk_ms
 * (bounded: 8 levels, 100000 entries).
 *
 * Owned by run.c; loop thread only (the walk's worker touches only its own fields). Caps: the
 * tree as proctree (PROCTREE_MAX_PROCS); paths up to PATH_MAX.
 */
#ifndef SOAK_SAMPLER_H
#define SOAK_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "logcap.h"
#include "proctree.h"
#include "runstate.h"
#include "store.h"

typedef struct sampler sampler;

/* Returns NULL when out of memory or /proc cannot be opened. The strings are copied. */
sampler *sampler_new(uv_loop_t *loop, const char *artifacts_dir, const char *db_path,
                     uint64_t pss_interval_ms);
/* Starts the walk of the folder: now, then every walk_ms. */
void sampler_start(sampler *sm, uint64_t walk_ms);
/* Stops and closes the walk's timer; the loop must then run (to finish the close and a walk
 * in flight) before sampler_free. */
void sampler_close(sampler *sm);
/* Accepts NULL. */
void sampler_free(sampler *sm);

/* Zombies: a zombie counts as persistent once samples have seen it for grace_ms (zombies.h);
 * the default, until this is called, is SAMPLER_ZOMBIE_GRACE_MS. Forgets what was seen. */
#define SAMPLER_ZOMBIE_GRACE_MS 5000
void sampler_set_zombie_grace(sampler *sm, uint64_t grace_ms);
/* The first time a parent holds a persistent zombie, sampler_take keeps a line naming it
 * ("pid 12 (sh -c ...) has not reaped 3 zombies for 5s"): this copies it into detail (cut to
 * n - 1), its pid into *parent, forgets it and returns 1; 0 when there is none. One is kept
 * at a time (take it after each sample). */
int sampler_zombie_event(sampler *sm, char *detail, size_t n, pid_t *parent);

/* The cost of sampling: sampler_take measures its own CPU time (the loop thread's); when, over
 * a window of SAMPLER_COST_WINDOW_MS of loop time (5 samples at least), it exceeds
 * SAMPLER_COST_MAX_SHARE of the window, it keeps a warning (once a run) that
 * sampler_cost_warning copies into msg (cut to n - 1), forgets and returns 1; 0 when there is
 * none. sampler_cost_over is the rule: CPU seconds against wall seconds. */
#define SAMPLER_COST_MAX_SHARE 0.10
#define SAMPLER_COST_WINDOW_MS 2000
int sampler_cost_over(double cpu_s, double wall_s);
int sampler_cost_warning(sampler *sm, char *msg, size_t n);

/* One sample at now_ms (loop clock) of the tree below root (root itself not counted), with
 * the log's statistics ls: updates rs (tree, cpu_seconds, cpu_percent, pss_last, rss_first
 * and rss_last while running, rss_max, zombies_max, zombies_persistent(_max), log, artifacts_bytes, disk_free_bytes). */
void sampler_take(sampler *sm, pid_t root, int running, uint64_t now_ms, const logcap_stats *ls,
                  runstate *rs);

/* soak watch (watch.h): the tree of each sample comes from fn instead of the descendants of
 * root; fn fills *out through pt (the sampler's proctree, so CPU deltas and zombies work as in
 * soak run) and returns 0, or non-zero when there is nothing to sample (an empty tree). */
typedef int (*sampler_source_fn)(void *ud, proctree *pt, int with_pss, proctree_sample *out);
void sampler_set_source(sampler *sm, sampler_source_fn fn, void *ud);

/* The processes fn names (and what is below them) are left out of every later sample, from
 * root's tree and from a source's (proctree_set_skip on the sampler's proctree): soak's own
 * helpers (helpers.h). fn NULL: none. */
void sampler_set_skip(sampler *sm, proctree_skip_fn fn, void *ud);

/* The samples.db row for the picture in rs: t is the wall clock, now_ms the loop clock. */
store_sample sampler_row(const runstate *rs, double t, uint64_t now_ms);

#endif
