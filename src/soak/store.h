/*
 * store: the run's data in DIR/samples.db (SQLite, WAL mode), readable while the run is live.
 *
 * Tables:
 *   run(key, value)            what was run and how: command, config, start, end, outcome
 *   samples(...)               one row per sample of the process tree (see store_sample)
 *   events(t, kind, detail, value, failure)  one row per event; the kinds are
 *                              STORE_EVENT_KINDS below; failure 1/0 (NULL in files written
 *                              before it existed)
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
/* The event kinds, defined once: X(NAME, "kind as stored", class, lane).
 *   class  STORE_EVC_INFO     never a failure (rotation, cleanup, pattern ...)
 *          STORE_EVC_FAILURE  always a failure of the service (hang, OOM kill, core dump)
 *          STORE_EVC_DECIDED  the supervisor decides when it happens (exit: a crash, or the
 *                             end of a stop that soak or the user asked for)
 *          STORE_EVC_STOP     part of a requested stop (stop, stop_kill, stop_stuck, end)
 *   lane   the report timeline's row (STORE_LANE_NONE: not drawn)
 * The strings are an interface (docs/soak-run.md, users' SQL): never rename one. */
#define STORE_EVENT_KINDS(X)                                                                       \
    X(START, "start", STORE_EVC_INFO, STORE_LANE_START)                                            \
    X(RESTART, "restart", STORE_EVC_INFO, STORE_LANE_START)                                        \
    X(EXIT, "exit", STORE_EVC_DECIDED, STORE_LANE_CRASH)                                           \
    X(CORE_DUMP, "core_dump", STORE_EVC_FAILURE, STORE_LANE_OOM)                                   \
    X(OOM_KILL, "oom_kill", STORE_EVC_FAILURE, STORE_LANE_OOM)                                     \
    X(OOM_SUSPECTED, "oom_suspected", STORE_EVC_FAILURE, STORE_LANE_OOM)                           \
    X(HANG, "hang", STORE_EVC_FAILURE, STORE_LANE_HANG)                                            \
    X(STOP, "stop", STORE_EVC_STOP, STORE_LANE_STOP)                                               \
    X(STOP_KILL, "stop_kill", STORE_EVC_STOP, STORE_LANE_STOP)                                     \
    X(STOP_STUCK, "stop_stuck", STORE_EVC_STOP, STORE_LANE_STOP)                                   \
    X(RESTART_SCHEDULED, "restart_scheduled", STORE_EVC_INFO, STORE_LANE_NONE)                     \
    X(START_LIMIT, "start_limit", STORE_EVC_INFO, STORE_LANE_STOP)                                 \
    X(START_FAILED, "start_failed", STORE_EVC_INFO, STORE_LANE_STOP)                               \
    X(ROTATION, "rotation", STORE_EVC_INFO, STORE_LANE_LOG)                                        \
    X(COMPRESSED, "compressed", STORE_EVC_INFO, STORE_LANE_LOG)                                    \
    X(CLEANUP, "cleanup", STORE_EVC_INFO, STORE_LANE_LOG)                                          \
    X(DISK_LOW, "disk_low", STORE_EVC_INFO, STORE_LANE_DISK)                                       \
    X(DB_CAPPED, "db_capped", STORE_EVC_INFO, STORE_LANE_DISK)                                     \
    X(DB_UNCAPPED, "db_uncapped", STORE_EVC_INFO, STORE_LANE_NONE)                                 \
    X(LOG_DROPPED, "log_dropped", STORE_EVC_INFO, STORE_LANE_LOG)                                  \
    X(LOG_ERROR, "log_error", STORE_EVC_INFO, STORE_LANE_LOG)                                      \
    X(PATTERN, "pattern", STORE_EVC_INFO, STORE_LANE_NONE)                                         \
    X(PATTERN_SUPPRESSED, "pattern_suppressed", STORE_EVC_INFO, STORE_LANE_NONE)                   \
    X(SCRAPE_FAILED, "scrape_failed", STORE_EVC_INFO, STORE_LANE_NONE)                             \
    X(SCRAPE_OK, "scrape_ok", STORE_EVC_INFO, STORE_LANE_NONE)                                     \
    X(END, "end", STORE_EVC_STOP, STORE_LANE_STOP)

typedef enum store_evclass {
    STORE_EVC_INFO,
    STORE_EVC_FAILURE,
    STORE_EVC_DECIDED,
    STORE_EVC_STOP
} store_evclass;

/* Timeline rows of the report, top to bottom. */
#define STORE_LANES(X)                                                                             \
    X(STORE_LANE_START, "start/restart")                                                           \
    X(STORE_LANE_CRASH, "crash")                                                                   \
    X(STORE_LANE_HANG, "hang")                                                                     \
    X(STORE_LANE_OOM, "oom/core")                                                                  \
    X(STORE_LANE_STOP, "stop/end")                                                                 \
    X(STORE_LANE_LOG, "logs")                                                                      \
    X(STORE_LANE_DISK, "disk low")

typedef enum store_lane {
#define STORE_LANE_ENUM(name, label) name,
    STORE_LANES(STORE_LANE_ENUM)
#undef STORE_LANE_ENUM
        STORE_NLANES,
    STORE_LANE_NONE = -1
} store_lane;

typedef enum store_evkind {
#define STORE_EV_ENUM(name, str, cls, lane) STORE_EV_##name,
    STORE_EVENT_KINDS(STORE_EV_ENUM)
#undef STORE_EV_ENUM
        STORE_NEVENTS
} store_evkind;

/* The stored name of a kind ("exit"); "" for an out-of-range value. Static storage. */
const char *store_event_name(store_evkind kind);
/* The kind of a stored name, or -1 when it is none of ours (an older or newer file). */
int store_event_kind(const char *name);
store_evclass store_event_class(store_evkind kind);
store_lane store_event_lane(store_evkind kind);
/* The label of a timeline row ("crash"); "" when out of range. */
const char *store_lane_name(store_lane lane);

/* Records an event. failure: the supervisor's judgment when it happened — 1 for a failure of
 * the service (a crash, a hang, an OOM kill), 0 otherwise (a requested stop's exit, a rotation).
 * It is stored in events.failure; for STORE_EVC_FAILURE kinds it is forced to 1, for INFO and
 * STOP kinds to 0, so only STORE_EVC_DECIDED kinds (exit) carry the caller's value. Readers
 * (analyze, report, status) count failures from that column, never from kind and value. */
int store_event(store *s, double t, store_evkind kind, int failure, const char *detail,
                double value);
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
