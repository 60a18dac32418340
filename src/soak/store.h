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
 *
 * When a write fails (a full disk, an I/O error), nothing is silent: a sample, an event or a
 * run value that cannot be written is kept in memory, in order, and written (in one
 * transaction) before the next write; the failures, the rows written late and the rows lost
 * are counted (store_stats_get). At most STORE_PENDING_MAX rows are kept: past it the oldest
 * kept row is dropped and counted as lost; run values are kept by key (at most
 * STORE_PENDING_RUN keys). With a reserve (store_reserve), the first failure deletes the
 * reserve file and tries again at once, so that the record has room before anything else.
 * Scraped metrics are optional: a failed scrape transaction is counted (lost_metrics), not kept.
 */
#ifndef SOAK_STORE_H
#define SOAK_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* The columns of the samples table, defined once: X(name, type, rule, scope, unit, label).
 *   type   the C field and SQL type: STORE_T_REAL double/REAL, STORE_T_U64 uint64_t/INTEGER,
 *          STORE_T_I64 int64_t/INTEGER, STORE_T_UINT unsigned/INTEGER
 *   rule   STORE_R_NOTNULL (NOT NULL), STORE_R_VALUE (always written), STORE_R_NEG_NULL (a
 *          negative value means "not read" and is stored as NULL)
 *   scope  for the gates: STORE_S_SERVICE counts only while the service runs (procs > 0),
 *          STORE_S_ALWAYS counts every sample (the disk, the process count, restarts)
 *   unit   of the value ("bytes", "s", "%", "" for a count); label: for a person (the report)
 * The struct store_sample, the CREATE TABLE, the INSERT, the readers' SELECT (store.c,
 * runrec.c) and analyze's gate names are generated from this list. The names are an interface
 * (docs/soak-run.md, users' SQL): never rename one; add new columns at the end. */
#define STORE_SAMPLE_COLUMNS(X)                                                                    \
    X(t, STORE_T_REAL, STORE_R_NOTNULL, STORE_S_ALWAYS, "s", "time (Unix s)")                      \
    X(elapsed_s, STORE_T_REAL, STORE_R_VALUE, STORE_S_ALWAYS, "s", "elapsed")                      \
    X(rss_bytes, STORE_T_U64, STORE_R_VALUE, STORE_S_SERVICE, "bytes", "RSS")                      \
    X(pss_bytes, STORE_T_I64, STORE_R_NEG_NULL, STORE_S_SERVICE, "bytes", "PSS")                   \
    X(cpu_percent, STORE_T_REAL, STORE_R_VALUE, STORE_S_SERVICE, "%", "CPU % (of one core)")       \
    X(cpu_seconds, STORE_T_REAL, STORE_R_VALUE, STORE_S_SERVICE, "s", "CPU seconds")               \
    X(threads, STORE_T_UINT, STORE_R_VALUE, STORE_S_SERVICE, "", "threads")                        \
    X(fds, STORE_T_UINT, STORE_R_VALUE, STORE_S_SERVICE, "", "open fds")                           \
    X(procs, STORE_T_UINT, STORE_R_VALUE, STORE_S_ALWAYS, "", "processes")                         \
    X(zombies, STORE_T_UINT, STORE_R_VALUE, STORE_S_SERVICE, "", "zombies")                        \
    X(artifacts_bytes, STORE_T_U64, STORE_R_VALUE, STORE_S_ALWAYS, "bytes", "artifacts folder")    \
    X(disk_free_bytes, STORE_T_U64, STORE_R_VALUE, STORE_S_ALWAYS, "bytes", "free disk")           \
    X(restarts, STORE_T_UINT, STORE_R_VALUE, STORE_S_ALWAYS, "", "restarts")                       \
    X(log_lines, STORE_T_U64, STORE_R_VALUE, STORE_S_SERVICE, "", "log lines")                     \
    X(dropped_bytes, STORE_T_U64, STORE_R_VALUE, STORE_S_SERVICE, "bytes", "log bytes dropped")    \
    X(heartbeat_age_s, STORE_T_REAL, STORE_R_NEG_NULL, STORE_S_SERVICE, "s", "heartbeat age")      \
    X(zombies_persistent, STORE_T_UINT, STORE_R_VALUE, STORE_S_SERVICE, "", "persistent zombies")

#define STORE_CTYPE_STORE_T_REAL double
#define STORE_CTYPE_STORE_T_U64  uint64_t
#define STORE_CTYPE_STORE_T_I64  int64_t
#define STORE_CTYPE_STORE_T_UINT unsigned
#define STORE_CTYPE(type)        STORE_CTYPE_##type

typedef enum store_coltype { STORE_T_REAL, STORE_T_U64, STORE_T_I64, STORE_T_UINT } store_coltype;
typedef enum store_colrule { STORE_R_NOTNULL, STORE_R_VALUE, STORE_R_NEG_NULL } store_colrule;
typedef enum store_colscope { STORE_S_SERVICE, STORE_S_ALWAYS } store_colscope;

/* One sample (one row of samples); a STORE_R_NEG_NULL field < 0 is NULL in the table. */
typedef struct store_sample {
#define STORE_COL_FIELD(name, type, rule, scope, unit, label) STORE_CTYPE(type) name;
    STORE_SAMPLE_COLUMNS(STORE_COL_FIELD)
#undef STORE_COL_FIELD
} store_sample;

typedef enum store_col {
#define STORE_COL_ENUM(name, type, rule, scope, unit, label) STORE_COL_##name,
    STORE_SAMPLE_COLUMNS(STORE_COL_ENUM)
#undef STORE_COL_ENUM
        STORE_NCOLS
} store_col;

/* The column's name ("rss_bytes"), unit ("bytes"), label ("RSS"); "" out of range. Static. */
const char *store_col_name(store_col c);
const char *store_col_unit(store_col c);
const char *store_col_label(store_col c);
store_colscope store_col_scope(store_col c);
/* The column of a name, or -1. */
int store_col_index(const char *name);
/* Column c of a sample as a double: NAN when it is NULL (a negative STORE_R_NEG_NULL field). */
double store_sample_get(const store_sample *s, store_col c);
/* Fills *out from a row whose columns col0.. are the samples columns in table order (as
 * SELECT store_col_list() gives them); NULLs read as -1 (STORE_R_NEG_NULL) or 0. */
struct sqlite3_stmt;
void store_sample_read_row(struct sqlite3_stmt *st, int col0, store_sample *out);
/* A set of columns: bit (1 << STORE_COL_x); STORE_COLS_ALL every one. */
#define STORE_COLS_ALL ((1u << STORE_NCOLS) - 1)
/* Like store_sample_read_row for a row holding only the columns of cols, in table order (as
 * store_col_select writes them); the others read as NULL. */
void store_sample_read_cols(struct sqlite3_stmt *st, int col0, uint32_t cols, store_sample *out);
/* Writes the names of cols, comma-separated in table order, into buf (cut to n - 1; 400 bytes
 * hold them all). Returns the length. */
size_t store_col_select(uint32_t cols, char *buf, size_t n);
/* The comma-separated column names in table order ("t,elapsed_s,..."): static storage. */
const char *store_col_list(void);

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
    X(END, "end", STORE_EVC_STOP, STORE_LANE_STOP)                                                 \
    X(WRITE_FAILED, "write_failed", STORE_EVC_INFO, STORE_LANE_DISK)                               \
    X(WRITE_OK, "write_ok", STORE_EVC_INFO, STORE_LANE_NONE)                                       \
    X(DATA_LOST, "data_lost", STORE_EVC_INFO, STORE_LANE_DISK)                                     \
    X(SOAK_PAUSED, "soak_paused", STORE_EVC_INFO, STORE_LANE_NONE)                                 \
    X(ZOMBIE_PERSISTENT, "zombie_persistent", STORE_EVC_INFO, STORE_LANE_NONE)                     \
    X(POST_CHECK, "post_check", STORE_EVC_INFO, STORE_LANE_NONE)                                   \
    X(PREFLIGHT, "preflight", STORE_EVC_INFO, STORE_LANE_NONE)                                     \
    X(AUDIT, "audit", STORE_EVC_INFO, STORE_LANE_NONE)                                             \
    X(NOTIFY_FAILED, "notify_failed", STORE_EVC_INFO, STORE_LANE_NONE)                             \
    X(DAEMONIZED, "daemonized", STORE_EVC_INFO, STORE_LANE_START)

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

/* ---- when writes fail ---- */

#define STORE_PENDING_MAX 2048 /* samples and events kept in memory while writes fail */
#define STORE_PENDING_RUN 32   /* run values kept (by key) while writes fail */
#define STORE_RESERVE_MAX (1u << 20)
/* The WAL's size that calls for a checkpoint (run.c checks it at every sample), and what the
 * WAL file is cut back to when it starts over (journal_size_limit). */
#define STORE_WAL_LIMIT (256u << 10)

typedef struct store_stats {
    uint64_t write_errors; /* writes of samples, events and run values that failed (a kept
                                row that fails again is not counted again) */
    uint64_t late_rows;    /* kept rows written later */
    uint64_t lost_samples; /* samples dropped: past STORE_PENDING_MAX, or kept at the end */
    uint64_t lost_events;  /* events, the same */
    uint64_t lost_run;     /* run values, the same */
    uint64_t lost_metrics; /* scraped metric rows whose transaction failed */
    size_t pending;        /* samples and events kept now */
    size_t pending_run;    /* run values kept now */
    size_t pending_high_water;
    int failing;               /* the last write failed */
    uint64_t reserve_releases; /* times the reserve file was deleted to make room */
    char last_error[128];      /* SQLite's text of the last failure ("" when none) */
} store_stats;

void store_stats_get(const store *s, store_stats *out);
/* Samples, events and run values lost so far (what a data-loss gate counts). */
uint64_t store_lost(const store *s);

/* Run values between these two are written in one transaction, at store_run_end (fewer WAL
 * pages on a disk that is nearly full). store_run_end returns 0, or -1 when they are kept. */
void store_run_begin(store *s);
int store_run_end(store *s);
/* Writes what is kept now (before the next write does). Returns 0 when nothing is kept any
 * more, -1 when some still is. */
int store_flush(store *s);
/* Keeps `bytes` (at most STORE_RESERVE_MAX) of disk for the record: writes PATH-reserve (the
 * database's path + "-reserve"), deleted at the first failed write (or by store_release_reserve,
 * e.g. before the end record), and by store_close. Returns 0, or -1 when the disk has no room for
 * it (the store works without one). */
int store_reserve(store *s, uint64_t bytes);
/* Deletes the reserve file now (nothing when there is none). Returns the bytes freed. */
uint64_t store_release_reserve(store *s);
/* The reserve file's size on disk now (0 when there is none), for the artifacts' size. */
uint64_t store_reserve_bytes(const store *s);
/* The size of the database's -wal file now (0 when there is none). */
uint64_t store_wal_bytes(const store *s);
/* Caps the database at `bytes` (its pages; PRAGMA max_page_count): writes past it fail as on a
 * full disk. 0: no cap. Returns 0 or -1. */
int store_set_max_bytes(store *s, uint64_t bytes);
/* ---- memdetail: where the memory went, and the fds by type (soak diagnose) ----------------
 * One row per slow pass (memory_detail_interval, and at start and at stop): the Rss of the
 * tree's largest processes summed by smaps kind (smaps.h: <kind>_bytes columns), the fds of
 * the whole tree by type (fdscan.h: fd_<type> columns), and the zombies seen with the parent
 * that holds most of them. Table memdetail(t, phase, procs, top_pid, <kinds>, <fd types>,
 * zombies, zombie_ppid, zombie_parent). */
#include "fdscan.h"
#include "smaps.h"
typedef struct store_memdetail {
    double t;
    char phase[16]; /* "start", "interval", "stop" */
    unsigned procs; /* processes whose smaps were read */
    long top_pid;   /* the largest process */
    uint64_t mem[SMAPS_NKINDS];
    unsigned fd[FDSCAN_NTYPES];
    unsigned zombies;        /* zombies in the tree */
    long zombie_ppid;        /* the parent holding most of them (0: none) */
    char zombie_parent[256]; /* its command line (spaces between arguments) */
} store_memdetail;
/* Appends a row (creates the table on first use). 0 or -1. */
int store_memdetail_add(store *s, const store_memdetail *m);
/* Streams the rows of a reader connection (store_open_reader) in time order, at most cap;
 * fn's non-zero return stops. Returns 0 (also when the table does not exist), fn's value, or
 * -1. */
int store_memdetail_each(struct sqlite3 *db, size_t cap,
                         int (*fn)(void *ud, const store_memdetail *m), void *ud);

#endif
