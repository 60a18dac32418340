/* store: samples.db on SQLite. See store.h. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    sqlite3 *db;
    sqlite3_stmt *ins_sample, *ins_event, *ins_metric, *set_run;
};

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS run(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS samples("
    " t REAL NOT NULL, elapsed_s REAL, rss_bytes INTEGER, pss_bytes INTEGER,"
    " cpu_percent REAL, cpu_seconds REAL, threads INTEGER, fds INTEGER, procs INTEGER,"
    " zombies INTEGER, artifacts_bytes INTEGER, disk_free_bytes INTEGER, restarts INTEGER,"
    " log_lines INTEGER, dropped_bytes INTEGER, heartbeat_age_s REAL);"
    "CREATE TABLE IF NOT EXISTS events(t REAL NOT NULL, kind TEXT NOT NULL, detail TEXT,"
    " value REAL, failure INTEGER);"
    "CREATE INDEX IF NOT EXISTS events_kind ON events(kind);"
    "CREATE TABLE IF NOT EXISTS metrics(t REAL NOT NULL, name TEXT NOT NULL, labels TEXT,"
    " value REAL);"
    "CREATE INDEX IF NOT EXISTS metrics_name ON metrics(name, t);";

const char *store_errmsg(store *s)
{
    return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

store *store_open(const char *path, int readonly, char *err, size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "cannot open '%s': out of memory", path);
        return NULL;
    }
    if (readonly) {
        s->db = store_open_reader(path, err, errlen);
        if (!s->db) {
            free(s);
            return NULL;
        }
    } else if (sqlite3_open_v2(path, &s->db,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                               NULL) != SQLITE_OK) {
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 2000);
    if (readonly) {
        /* a foreign file shows here, not later */
        if (sqlite3_exec(s->db, "SELECT count(*) FROM samples", NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        return s;
    }
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA journal_size_limit=4194304; PRAGMA cache_size=-512;"
                     "PRAGMA wal_autocheckpoint=0;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, store_schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    /* a file from before events.failure existed: add the column (fails harmlessly when there) */
    sqlite3_exec(s->db, "ALTER TABLE events ADD COLUMN failure INTEGER", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(s->db, "INSERT INTO samples VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                           &s->ins_sample, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO events(t,kind,detail,value,failure) VALUES(?,?,?,?,?)", -1,
                           &s->ins_event, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT INTO metrics VALUES(?,?,?,?)", -1, &s->ins_metric,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO run VALUES(?,?)", -1, &s->set_run,
                           NULL) != SQLITE_OK)
        goto fail;
    return s;
fail:
    snprintf(err, errlen, "cannot open '%s': %s", path,
             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    store_close(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->ins_sample);
    sqlite3_finalize(s->ins_event);
    sqlite3_finalize(s->ins_metric);
    sqlite3_finalize(s->set_run);
    sqlite3_close(s->db);
    free(s);
}

static int store_step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_set_run(store *s, const char *key, const char *value)
{
    sqlite3_bind_text(s->set_run, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->set_run, 2, value, -1, SQLITE_TRANSIENT);
    return store_step(s->set_run);
}

int store_sample_add(store *s, const store_sample *m)
{
    sqlite3_stmt *st = s->ins_sample;
    sqlite3_bind_double(st, 1, m->t);
    sqlite3_bind_double(st, 2, m->elapsed_s);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)m->rss_bytes);
    if (m->pss_bytes >= 0)
        sqlite3_bind_int64(st, 4, m->pss_bytes);
    sqlite3_bind_double(st, 5, m->cpu_percent);
    sqlite3_bind_double(st, 6, m->cpu_seconds);
    sqlite3_bind_int(st, 7, (int)m->threads);
    sqlite3_bind_int(st, 8, (int)m->fds);
    sqlite3_bind_int(st, 9, (int)m->procs);
    sqlite3_bind_int(st, 10, (int)m->zombies);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)m->artifacts_bytes);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)m->disk_free_bytes);
    sqlite3_bind_int(st, 13, (int)m->restarts);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)m->log_lines);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)m->dropped_bytes);
    if (m->heartbeat_age_s >= 0)
        sqlite3_bind_double(st, 16, m->heartbeat_age_s);
    return store_step(st);
}

static const struct {
    const char *name;
    store_evclass cls;
    store_lane lane;
} ev_table[STORE_NEVENTS] = {
#define STORE_EV_ROW(name, str, cls, lane) {str, cls, lane},
    STORE_EVENT_KINDS(STORE_EV_ROW)
#undef STORE_EV_ROW
};

static const char *const lane_names[STORE_NLANES] = {
#define STORE_LANE_ROW(name, label) label,
    STORE_LANES(STORE_LANE_ROW)
#undef STORE_LANE_ROW
};

const char *store_event_name(store_evkind kind)
{
    return (unsigned)kind < STORE_NEVENTS ? ev_table[kind].name : "";
}

int store_event_kind(const char *name)
{
    for (int i = 0; name && i < STORE_NEVENTS; i++)
        if (!strcmp(ev_table[i].name, name))
            return i;
    return -1;
}

store_evclass store_event_class(store_evkind kind)
{
    return (unsigned)kind < STORE_NEVENTS ? ev_table[kind].cls : STORE_EVC_INFO;
}

store_lane store_event_lane(store_evkind kind)
{
    return (unsigned)kind < STORE_NEVENTS ? ev_table[kind].lane : STORE_LANE_NONE;
}

const char *store_lane_name(store_lane lane)
{
    return (unsigned)lane < STORE_NLANES ? lane_names[lane] : "";
}

int store_event(store *s, double t, store_evkind kind, int failure, const char *detail,
                double value)
{
    if ((unsigned)kind >= STORE_NEVENTS)
        return -1;
    store_evclass cls = ev_table[kind].cls;
    if (cls == STORE_EVC_FAILURE)
        failure = 1;
    else if (cls != STORE_EVC_DECIDED)
        failure = 0;
    sqlite3_stmt *st = s->ins_event;
    sqlite3_bind_double(st, 1, t);
    sqlite3_bind_text(st, 2, ev_table[kind].name, -1, SQLITE_STATIC);
    if (detail)
        sqlite3_bind_text(st, 3, detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 4, value);
    sqlite3_bind_int(st, 5, failure != 0);
    return store_step(st);
}

int store_begin(store *s)
{
    return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_commit(store *s)
{
    return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_metric(store *s, double t, const char *name, const char *labels, double value)
{
    sqlite3_stmt *st = s->ins_metric;
    sqlite3_bind_double(st, 1, t);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, labels, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 4, value);
    return store_step(st);
}

int store_last_sample(store *s, store_sample *o)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT * FROM samples ORDER BY rowid DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        o->t = sqlite3_column_double(st, 0);
        o->elapsed_s = sqlite3_column_double(st, 1);
        o->rss_bytes = (uint64_t)sqlite3_column_int64(st, 2);
        o->pss_bytes = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        o->cpu_percent = sqlite3_column_double(st, 4);
        o->cpu_seconds = sqlite3_column_double(st, 5);
        o->threads = (unsigned)sqlite3_column_int(st, 6);
        o->fds = (unsigned)sqlite3_column_int(st, 7);
        o->procs = (unsigned)sqlite3_column_int(st, 8);
        o->zombies = (unsigned)sqlite3_column_int(st, 9);
        o->artifacts_bytes = (uint64_t)sqlite3_column_int64(st, 10);
        o->disk_free_bytes = (uint64_t)sqlite3_column_int64(st, 11);
        o->restarts = (unsigned)sqlite3_column_int(st, 12);
        o->log_lines = (uint64_t)sqlite3_column_int64(st, 13);
        o->dropped_bytes = (uint64_t)sqlite3_column_int64(st, 14);
        o->heartbeat_age_s =
            sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 15);
    }
    sqlite3_finalize(st);
    return found;
}

int store_last_events(store *s, int n,
                      void (*fn)(void *ud, double t, const char *kind, const char *detail,
                                 double value),
                      void *ud)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT * FROM (SELECT rowid, t, kind, detail, value FROM events "
                           "ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, n);
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(ud, sqlite3_column_double(st, 1), (const char *)sqlite3_column_text(st, 2),
           (const char *)sqlite3_column_text(st, 3), sqlite3_column_double(st, 4));
    sqlite3_finalize(st);
    return 0;
}

int store_get_run(store *s, const char *key, char *buf, size_t n)
{
    return store_run_value(s->db, key, buf, n);
}

int store_run_value(struct sqlite3 *db, const char *key, char *buf, size_t n)
{
    sqlite3_stmt *st;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT value FROM run WHERE key=?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, n, "%s", v ? v : "");
    }
    sqlite3_finalize(st);
    return found;
}

int64_t store_count(store *s, const char *table)
{
    char sql[96];
    sqlite3_stmt *st;
    if (strcmp(table, "samples") && strcmp(table, "events") && strcmp(table, "metrics"))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int store_checkpoint_file(const char *path)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        /* through the pragma: it reads the header first, so the new connection knows the file
         * is in WAL mode (sqlite3_wal_checkpoint_v2 alone silently does nothing here) */
        rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                                               : -1;
    }
    sqlite3_close(db);
    return rc;
}

struct sqlite3 *store_open_reader(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot open '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            return NULL;
        }
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}
