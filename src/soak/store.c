/* store: samples.db on SQLite. See store.h. */
#include "store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A row that could not be written, kept until it can be. */
typedef struct store_kept {
    int is_event;
    store_sample smp;
    double t, value;
    store_evkind kind;
    int failure;
    int has_detail;
    char detail[256];
} store_kept;

typedef struct store_kept_run {
    char key[64];
    char *value; /* owned */
} store_kept_run;

struct store {
    sqlite3 *db;
    sqlite3_stmt *ins_sample, *ins_event, *ins_metric, *set_run;
    char path[4096];
    store_kept *kept; /* ring of STORE_PENDING_MAX, allocated at the first failure */
    size_t kept_head, kept_n;
    store_kept_run kept_run[STORE_PENDING_RUN];
    size_t kept_run_n;
    store_stats st;
    uint64_t reserve_bytes; /* the reserve file's size; 0: none */
    int in_metrics;         /* between store_begin and store_commit */
    int metrics_failed;     /* a metric of this transaction failed */
    uint64_t metrics_n;     /* metric rows of this transaction */
    int run_batch;          /* between store_run_begin and store_run_end */
};

/* ---- the sample columns, generated from STORE_SAMPLE_COLUMNS ---- */

#define SQLTYPE_STORE_T_REAL                           " REAL"
#define SQLTYPE_STORE_T_U64                            " INTEGER"
#define SQLTYPE_STORE_T_I64                            " INTEGER"
#define SQLTYPE_STORE_T_UINT                           " INTEGER"
#define SQLRULE_STORE_R_NOTNULL                        " NOT NULL"
#define SQLRULE_STORE_R_VALUE                          ""
#define SQLRULE_STORE_R_NEG_NULL                       ""
#define COL_DEF(name, type, rule, scope, unit, label)  ", " #name SQLTYPE_##type SQLRULE_##rule
#define COL_NAME(name, type, rule, scope, unit, label) "," #name
#define COL_MARK(name, type, rule, scope, unit, label) ",?"

/* each begins with a comma: skip it */
static const char col_defs[] = STORE_SAMPLE_COLUMNS(COL_DEF);
static const char col_names[] = STORE_SAMPLE_COLUMNS(COL_NAME);
static const char col_marks[] = STORE_SAMPLE_COLUMNS(COL_MARK);

static const struct {
    const char *name, *unit, *label;
    store_colscope scope;
} col_table[STORE_NCOLS] = {
#define COL_ROW(name, type, rule, scope, unit, label) {#name, unit, label, scope},
    STORE_SAMPLE_COLUMNS(COL_ROW)
#undef COL_ROW
};

const char *store_col_name(store_col c)
{
    return (unsigned)c < STORE_NCOLS ? col_table[c].name : "";
}

const char *store_col_unit(store_col c)
{
    return (unsigned)c < STORE_NCOLS ? col_table[c].unit : "";
}

const char *store_col_label(store_col c)
{
    return (unsigned)c < STORE_NCOLS ? col_table[c].label : "";
}

store_colscope store_col_scope(store_col c)
{
    return (unsigned)c < STORE_NCOLS ? col_table[c].scope : STORE_S_SERVICE;
}

int store_col_index(const char *name)
{
    for (int i = 0; name && i < STORE_NCOLS; i++)
        if (!strcmp(col_table[i].name, name))
            return i;
    return -1;
}

const char *store_col_list(void)
{
    return col_names + 1;
}

double store_sample_get(const store_sample *m, store_col c)
{
    switch (c) {
#define COL_GET(name, type, rule, scope, unit, label)                                              \
    case STORE_COL_##name:                                                                         \
        return (rule) == STORE_R_NEG_NULL && (double)m->name < 0 ? NAN : (double)m->name;
        STORE_SAMPLE_COLUMNS(COL_GET)
#undef COL_GET
    default:
        return NAN;
    }
}

void store_sample_read_cols(struct sqlite3_stmt *st, int col0, uint32_t cols, store_sample *m)
{
    int i = col0;
#define COL_READ(name, type, rule, scope, unit, label)                                             \
    if (!(cols & (1u << STORE_COL_##name)) || sqlite3_column_type(st, i) == SQLITE_NULL)           \
        m->name = (STORE_CTYPE(type))((rule) == STORE_R_NEG_NULL ? -1 : 0);                        \
    else if ((type) == STORE_T_REAL)                                                               \
        m->name = (STORE_CTYPE(type))sqlite3_column_double(st, i);                                 \
    else                                                                                           \
        m->name = (STORE_CTYPE(type))sqlite3_column_int64(st, i);                                  \
    i += (cols & (1u << STORE_COL_##name)) != 0;
    STORE_SAMPLE_COLUMNS(COL_READ)
#undef COL_READ
}

void store_sample_read_row(struct sqlite3_stmt *st, int col0, store_sample *m)
{
    store_sample_read_cols(st, col0, STORE_COLS_ALL, m);
}

size_t store_col_select(uint32_t cols, char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = '\0';
    for (int c = 0; c < STORE_NCOLS && l < n; c++)
        if (cols & (1u << c))
            l += (size_t)snprintf(buf + l, n - l, "%s%s", l ? "," : "", col_table[c].name);
    return l;
}

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS run(key TEXT PRIMARY KEY, value TEXT);"
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
    snprintf(s->path, sizeof s->path, "%s", path);
    sqlite3_busy_timeout(s->db, 2000);
    if (readonly) {
        /* a foreign file shows here, not later */
        if (sqlite3_exec(s->db, "SELECT count(*) FROM samples", NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        return s;
    }
    char wal_limit[64];
    snprintf(wal_limit, sizeof wal_limit, "PRAGMA journal_size_limit=%u", STORE_WAL_LIMIT);
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA cache_size=-512; PRAGMA wal_autocheckpoint=0;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, wal_limit, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, store_schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    char sql[1024];
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS samples(%s)", col_defs + 2);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof sql, "INSERT INTO samples(%s) VALUES(%s)", col_names + 1, col_marks + 1);
    /* a file from before events.failure existed: add the column (fails harmlessly when there) */
    sqlite3_exec(s->db, "ALTER TABLE events ADD COLUMN failure INTEGER", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->ins_sample, NULL) != SQLITE_OK ||
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
    store_release_reserve(s);
    for (size_t i = 0; i < s->kept_run_n; i++)
        free(s->kept_run[i].value);
    free(s->kept);
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

/* ---- writes, and what is kept when they fail ------------------------------------------- */

static int store_write_run(store *s, const char *key, const char *value)
{
    sqlite3_bind_text(s->set_run, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->set_run, 2, value, -1, SQLITE_TRANSIENT);
    return store_step(s->set_run);
}

static int store_write_sample(store *s, const store_sample *m)
{
    sqlite3_stmt *st = s->ins_sample;
#define COL_BIND(name, type, rule, scope, unit, label)                                             \
    if (!((rule) == STORE_R_NEG_NULL && (double)m->name < 0)) {                                    \
        if ((type) == STORE_T_REAL)                                                                \
            sqlite3_bind_double(st, STORE_COL_##name + 1, (double)m->name);                        \
        else                                                                                       \
            sqlite3_bind_int64(st, STORE_COL_##name + 1, (sqlite3_int64)m->name);                  \
    }
    STORE_SAMPLE_COLUMNS(COL_BIND)
#undef COL_BIND
    return store_step(st);
}

static int store_write_event(store *s, double t, store_evkind kind, int failure, const char *detail,
                             double value);

static int store_write_kept(store *s, const store_kept *k)
{
    return k->is_event ? store_write_event(s, k->t, k->kind, k->failure,
                                           k->has_detail ? k->detail : NULL, k->value)
                       : store_write_sample(s, &k->smp);
}

/* Notes a failure: its text, and the reserve released so that the retry has room. Returns 1
 * when the reserve was just released (worth one retry). */
static int store_failed(store *s)
{
    snprintf(s->st.last_error, sizeof s->st.last_error, "%s", sqlite3_errmsg(s->db));
    s->st.failing = 1;
    if (s->reserve_bytes && store_release_reserve(s) > 0) {
        s->st.reserve_releases++;
        return 1;
    }
    return 0;
}

/* Keeps a row; the oldest kept goes (lost) when the ring is full. Returns -1 (the write failed). */
static int store_keep(store *s, const store_kept *k)
{
    if (!s->kept && !(s->kept = calloc(STORE_PENDING_MAX, sizeof *s->kept))) {
        if (k->is_event)
            s->st.lost_events++;
        else
            s->st.lost_samples++;
        return -1;
    }
    if (s->kept_n == STORE_PENDING_MAX) {
        if (s->kept[s->kept_head].is_event)
            s->st.lost_events++;
        else
            s->st.lost_samples++;
        s->kept_head = (s->kept_head + 1) % STORE_PENDING_MAX;
        s->kept_n--;
    }
    s->kept[(s->kept_head + s->kept_n) % STORE_PENDING_MAX] = *k;
    s->kept_n++;
    if (s->kept_n > s->st.pending_high_water)
        s->st.pending_high_water = s->kept_n;
    return -1;
}

static int store_keep_run(store *s, const char *key, const char *value)
{
    size_t i;
    for (i = 0; i < s->kept_run_n; i++)
        if (!strcmp(s->kept_run[i].key, key))
            break;
    if (i == s->kept_run_n) {
        if (s->kept_run_n == STORE_PENDING_RUN) {
            s->st.lost_run++;
            return -1;
        }
        snprintf(s->kept_run[i].key, sizeof s->kept_run[i].key, "%s", key);
        s->kept_run[i].value = NULL;
        s->kept_run_n++;
    }
    char *v = strdup(value ? value : "");
    if (!v) {
        s->st.lost_run++;
        return -1;
    }
    free(s->kept_run[i].value);
    s->kept_run[i].value = v;
    return -1;
}

int store_flush(store *s)
{
    if (!s->kept_n && !s->kept_run_n)
        return 0;
    if (s->in_metrics || !sqlite3_get_autocommit(s->db))
        return -1; /* not inside another transaction */
    for (int attempt = 0; attempt < 2; attempt++) {
        int ok = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
        for (size_t i = 0; ok && i < s->kept_n; i++)
            ok = store_write_kept(s, &s->kept[(s->kept_head + i) % STORE_PENDING_MAX]) == 0;
        for (size_t i = 0; ok && i < s->kept_run_n; i++)
            ok = store_write_run(s, s->kept_run[i].key, s->kept_run[i].value) == 0;
        if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
            s->st.late_rows += s->kept_n + s->kept_run_n;
            s->kept_head = s->kept_n = 0;
            for (size_t i = 0; i < s->kept_run_n; i++)
                free(s->kept_run[i].value);
            s->kept_run_n = 0;
            s->st.failing = 0;
            return 0;
        }
        int retry = store_failed(s);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (!retry)
            break;
    }
    return -1;
}

/* Writes a row after what is kept; keeps it when that fails. */
static int store_put(store *s, const store_kept *k)
{
    if (store_flush(s) != 0) {
        s->st.write_errors++;
        return store_keep(s, k);
    }
    if (store_write_kept(s, k) == 0)
        return 0;
    if (store_failed(s) && store_write_kept(s, k) == 0) {
        s->st.failing = 0;
        return 0;
    }
    s->st.write_errors++;
    return store_keep(s, k);
}

void store_run_begin(store *s)
{
    s->run_batch = 1;
}

int store_run_end(store *s)
{
    s->run_batch = 0;
    if (store_flush(s) == 0)
        return 0;
    s->st.write_errors++;
    return -1;
}

int store_set_run(store *s, const char *key, const char *value)
{
    if (s->run_batch) {
        store_keep_run(s, key, value);
        return 0;
    }
    if (store_flush(s) == 0) {
        if (store_write_run(s, key, value) == 0)
            return 0;
        if (store_failed(s) && store_write_run(s, key, value) == 0) {
            s->st.failing = 0;
            return 0;
        }
    }
    s->st.write_errors++;
    return store_keep_run(s, key, value);
}

int store_sample_add(store *s, const store_sample *m)
{
    store_kept k;
    memset(&k, 0, sizeof k);
    k.smp = *m;
    return store_put(s, &k);
}

void store_stats_get(const store *s, store_stats *out)
{
    *out = s->st;
    out->pending = s->kept_n;
    out->pending_run = s->kept_run_n;
}

uint64_t store_lost(const store *s)
{
    return s->st.lost_samples + s->st.lost_events + s->st.lost_run;
}

static void store_reserve_path(const store *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s-reserve", s->path);
}

int store_reserve(store *s, uint64_t bytes)
{
    char p[4200];
    static const char zeros[65536];
    if (bytes > STORE_RESERVE_MAX)
        bytes = STORE_RESERVE_MAX;
    store_reserve_path(s, p, sizeof p);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    uint64_t done = 0;
    while (done < bytes) {
        size_t n = bytes - done < sizeof zeros ? (size_t)(bytes - done) : sizeof zeros;
        if (fwrite(zeros, 1, n, f) != n)
            break;
        done += n;
    }
    /* written, not a hole: the blocks are taken now (no fsync: it would stall the start) */
    int ok = fflush(f) == 0 && done == bytes;
    fclose(f);
    if (!ok) {
        unlink(p);
        return -1;
    }
    s->reserve_bytes = bytes;
    return 0;
}

uint64_t store_release_reserve(store *s)
{
    if (!s->reserve_bytes)
        return 0;
    char p[4200];
    store_reserve_path(s, p, sizeof p);
    uint64_t n = s->reserve_bytes;
    s->reserve_bytes = 0;
    return unlink(p) == 0 ? n : 0;
}

uint64_t store_reserve_bytes(const store *s)
{
    return s->reserve_bytes;
}

uint64_t store_wal_bytes(const store *s)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s-wal", s->path);
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int store_set_max_bytes(store *s, uint64_t bytes)
{
    char sql[96];
    /* 2^31 - 2 pages: SQLite's own largest */
    uint64_t pages = bytes ? (bytes + 4095) / 4096 : 4294967294ull;
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%llu", (unsigned long long)pages);
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
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
    store_kept k;
    memset(&k, 0, sizeof k);
    k.is_event = 1;
    k.t = t;
    k.kind = kind;
    k.failure = failure;
    k.value = value;
    if (detail) {
        k.has_detail = 1;
        snprintf(k.detail, sizeof k.detail, "%s", detail);
        if (strlen(detail) < sizeof k.detail)
            return store_put(s, &k) == 0 ? 0 : -1;
        /* a long detail is written whole when it can be, and kept cut */
        if (store_flush(s) == 0 && store_write_event(s, t, kind, failure, detail, value) == 0)
            return 0;
        if (store_failed(s) && store_write_event(s, t, kind, failure, detail, value) == 0) {
            s->st.failing = 0;
            return 0;
        }
        s->st.write_errors++;
        return store_keep(s, &k);
    }
    return store_put(s, &k);
}

static int store_write_event(store *s, double t, store_evkind kind, int failure, const char *detail,
                             double value)
{
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
    store_flush(s);
    s->metrics_failed = 0;
    s->metrics_n = 0;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        s->metrics_failed = 1;
        return -1;
    }
    s->in_metrics = 1;
    return 0;
}

int store_commit(store *s)
{
    int ok = s->in_metrics && !s->metrics_failed &&
             sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        if (s->in_metrics)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->st.lost_metrics += s->metrics_n;
        snprintf(s->st.last_error, sizeof s->st.last_error, "%s", sqlite3_errmsg(s->db));
    }
    s->in_metrics = 0;
    s->metrics_n = 0;
    return ok ? 0 : -1;
}

int store_metric(store *s, double t, const char *name, const char *labels, double value)
{
    sqlite3_stmt *st = s->ins_metric;
    if (s->metrics_failed) {
        /* the failure may have rolled the transaction back: the rest would go in on its own */
        s->metrics_n++;
        return -1;
    }
    sqlite3_bind_double(st, 1, t);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, labels, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 4, value);
    s->metrics_n++;
    if (store_step(st) != 0) {
        s->metrics_failed = 1;
        return -1;
    }
    return 0;
}

int store_last_sample(store *s, store_sample *o)
{
    char sql[512];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "SELECT %s FROM samples ORDER BY rowid DESC LIMIT 1", col_names + 1);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        store_sample_read_row(st, 0, o);
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

/* ---- memdetail (see store.h) ---- */

static void memdetail_cols(char *buf, size_t n, int decl)
{
    size_t k =
        (size_t)snprintf(buf, n, "t%s,phase%s,procs%s,top_pid%s", decl ? " REAL NOT NULL" : "",
                         decl ? " TEXT" : "", decl ? " INTEGER" : "", decl ? " INTEGER" : "");
    for (int i = 0; i < SMAPS_NKINDS && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, ",%s_bytes%s", smaps_kind_key((smaps_kind)i),
                              decl ? " INTEGER" : "");
    for (int i = 0; i < FDSCAN_NTYPES && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, ",fd_%s%s", fdscan_type_key((fdscan_type)i),
                              decl ? " INTEGER" : "");
    if (k < n)
        snprintf(buf + k, n - k, ",zombies%s,zombie_ppid%s,zombie_parent%s", decl ? " INTEGER" : "",
                 decl ? " INTEGER" : "", decl ? " TEXT" : "");
}

int store_memdetail_add(store *s, const store_memdetail *m)
{
    char cols[1024], sql[1400];
    memdetail_cols(cols, sizeof cols, 1);
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS memdetail(%s)", cols);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    int ncol = 4 + SMAPS_NKINDS + FDSCAN_NTYPES + 3;
    memdetail_cols(cols, sizeof cols, 0);
    size_t k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO memdetail(%s) VALUES(?", cols);
    for (int i = 1; i < ncol && k < sizeof sql; i++)
        k += (size_t)snprintf(sql + k, sizeof sql - k, ",?");
    if (k < sizeof sql)
        snprintf(sql + k, sizeof sql - k, ")");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int c = 1;
    sqlite3_bind_double(st, c++, m->t);
    sqlite3_bind_text(st, c++, m->phase, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, c++, m->procs);
    sqlite3_bind_int64(st, c++, m->top_pid);
    for (int i = 0; i < SMAPS_NKINDS; i++)
        sqlite3_bind_int64(st, c++, (sqlite3_int64)m->mem[i]);
    for (int i = 0; i < FDSCAN_NTYPES; i++)
        sqlite3_bind_int64(st, c++, m->fd[i]);
    sqlite3_bind_int64(st, c++, m->zombies);
    sqlite3_bind_int64(st, c++, m->zombie_ppid);
    sqlite3_bind_text(st, c++, m->zombie_parent, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

int store_memdetail_each(struct sqlite3 *db, size_t cap,
                         int (*fn)(void *ud, const store_memdetail *m), void *ud)
{
    char cols[1024], sql[1200];
    memdetail_cols(cols, sizeof cols, 0);
    snprintf(sql, sizeof sql, "SELECT %s FROM memdetail ORDER BY t, rowid", cols);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return strstr(sqlite3_errmsg(db), "no such table") ? 0 : -1;
    int rc = 0, step;
    size_t n = 0;
    while ((cap == 0 || n < cap) && (step = sqlite3_step(st)) == SQLITE_ROW) {
        store_memdetail m;
        memset(&m, 0, sizeof m);
        int c = 0;
        m.t = sqlite3_column_double(st, c++);
        const unsigned char *ph = sqlite3_column_text(st, c++);
        snprintf(m.phase, sizeof m.phase, "%s", ph ? (const char *)ph : "");
        m.procs = (unsigned)sqlite3_column_int64(st, c++);
        m.top_pid = (long)sqlite3_column_int64(st, c++);
        for (int i = 0; i < SMAPS_NKINDS; i++)
            m.mem[i] = (uint64_t)sqlite3_column_int64(st, c++);
        for (int i = 0; i < FDSCAN_NTYPES; i++)
            m.fd[i] = (unsigned)sqlite3_column_int64(st, c++);
        m.zombies = (unsigned)sqlite3_column_int64(st, c++);
        m.zombie_ppid = (long)sqlite3_column_int64(st, c++);
        const unsigned char *zp = sqlite3_column_text(st, c++);
        snprintf(m.zombie_parent, sizeof m.zombie_parent, "%s", zp ? (const char *)zp : "");
        n++;
        if ((rc = fn(ud, &m)) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}
