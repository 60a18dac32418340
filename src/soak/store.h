/*
 * store: the run's data in DIR/samples.db (SQLite, WAL mode), readable while the run is live.
 *
 * Tables:
 *   run(key, value)            what was run and how: command, config, start, end, outcome
 *   samples(...)               one row per sample of the process tree (see store_sample)
 *   events(t, kind, detail, value)  start, exit, restart, hang, rotation, cleanup, disk_low,
 *                              log_dropped, pattern matches, stop ...
 *   metrics(t, name, labels, value) samples scraped from the service's /metrics
 * Times are Unix seconds (REAL). Every write is its own transaction, so a kill -9 of the
 * writer loses nothing that was written (WAL with synchronous=NORMAL survives a process
 * crash). The writing connection does not checkpoint: see store_checkpoint_file. Functions return 0
 * or -1; the last error text is in store_errmsg().
 */
#ifndef SOAK_STORE_H
#define SOAK_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

typedef struct store_sample {
    double t;
    double elapsed_s;
    uint64_t rss_bytes;
    int64_t pss_bytes;  /* < 0: not read in this sample (stored as NULL) */
    double cpu_percent; /* of one core */
    double cpu_seconds; /* cumulative over the run */
    unsigned threads;
    unsigned fds;
    unsigned procs;
    unsigned zombies;
    uint64_t artifacts_bytes;
    uint64_t disk_free_bytes;
    unsigned restarts;
    uint64_t log_lines;
    uint64_t dropped_bytes;
    double heartbeat_age_s; /* < 0: no heartbeat configured (NULL) */
} store_sample;

/* Opens or creates DIR/samples.db for writing. readonly: for `soak status` (fails when the
 * file does not exist). Returns NULL with a message in err. */
store *store_open(const char *path, int readonly, char *err, size_t errlen);
void store_close(store *s);
const char *store_errmsg(store *s);

int store_set_run(store *s, const char *key, const char *value);
int store_sample_add(store *s, const store_sample *smp);
int store_event(store *s, double t, const char *kind, const char *detail, double value);
/* Metrics of one scrape go in one transaction: begin, add..., commit. */
int store_begin(store *s);
int store_metric(store *s, double t, const char *name, const char *labels, double value);
int store_commit(store *s);

/* For `soak status`: the latest sample (returns 1 when there is one), the last n events
 * passed to fn newest last, and a run value. */
int store_last_sample(store *s, store_sample *out);
int store_last_events(store *s, int n,
                      void (*fn)(void *ud, double t, const char *kind, const char *detail,
                                 double value),
                      void *ud);
/* Copies the run value of key into buf; returns 1 when found, 0 when not, -1 on error. */
int store_get_run(store *s, const char *key, char *buf, size_t n);
/* Opens an existing samples.db to read it with SQL (analyze, report): read-write when the
 * file allows it, never creating anything, since a read-only connection to a WAL database
 * leaves -wal and -shm files behind; read-only otherwise. Returns NULL with a message in err.
 * Close with sqlite3_close. */
struct sqlite3 *store_open_reader(const char *path, char *err, size_t errlen);

/* store_get_run on a connection from store_open_reader. */
int store_run_value(struct sqlite3 *db, const char *key, char *buf, size_t n);

/* Copies the WAL into the database (a PASSIVE checkpoint) through a connection of its own, so
 * that a worker thread can do it: the writing connection never checkpoints by itself (its
 * fsyncs would stall the event loop). Blocking; returns 0 or -1. */
int store_checkpoint_file(const char *path);

/* Count of samples. */
int64_t store_count(store *s, const char *table);

#endif
