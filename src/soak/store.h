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
    X(heartbeat_age_s, STORE_T_REAL, STORE_R_NEG_NULL, STORE_S_SERVICE, "s", "heartbeat age")

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
    X(END, "end", STORE_EVC_STOP, STORE_LANE_STOP)                                               \
    X(AUDIT, "audit", STORE_EVC_INFO, STORE_LANE_NONE)                                           \
    X(NOTIFY_FAILED, "notify_failed", STORE_EVC_INFO, STORE_LANE_NONE)

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
