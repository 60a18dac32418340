/* runrec: reading samples.db. See runrec.h. */
#include "runrec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errcode.h"

#define SQL_MAX 2048

struct runrec {
    sqlite3 *db;
    char path[PATH_MAX];
    /* generated from STORE_EVENT_KINDS when opened: SQL fragments */
    char failure_sql[SQL_MAX]; /* 0/1 of a row: stored, or the old rule for NULL */
    char where[4][SQL_MAX];    /* per runrec_filter */
};

/* Appends 'a','b',... of the kinds for which keep(kind) holds to buf. */
static void kind_list(char *buf, size_t n, int (*keep)(store_evkind k))
{
    size_t l = strlen(buf);
    int first = 1;
    for (int k = 0; k < STORE_NEVENTS && l < n; k++) {
        if (!keep((store_evkind)k))
            continue;
        l += (size_t)snprintf(buf + l, n - l, "%s'%s'", first ? "" : ",",
                              store_event_name((store_evkind)k));
        first = 0;
    }
    if (first && l < n)
        snprintf(buf + l, n - l, "''");
}

static int is_failure_class(store_evkind k)
{
    return store_event_class(k) == STORE_EVC_FAILURE;
}

static int is_decided(store_evkind k)
{
    return store_event_class(k) == STORE_EVC_DECIDED;
}

static int on_crash_lane(store_evkind k)
{
    store_lane l = store_event_lane(k);
    return l == STORE_LANE_CRASH || l == STORE_LANE_HANG;
}

static int on_lane(store_evkind k)
{
    return store_event_lane(k) != STORE_LANE_NONE;
}

/* The report lists every timeline kind but the bulk of log housekeeping. */
static int is_listed(store_evkind k)
{
    return on_lane(k) && k != STORE_EV_ROTATION && k != STORE_EV_COMPRESSED;
}

/* has_column: events.failure exists (it is NULL in rows written before it did). */
static void build_sql(runrec *r, int has_column)
{
    /* the old rule, for rows without the judgment: a decided kind (exit) is a failure when its
     * value is not 0 (a code or a signal), a failure kind always is */
    char *f = r->failure_sql;
    snprintf(f, SQL_MAX, "%s(CASE WHEN kind IN (", has_column ? "coalesce(failure, " : "");
    kind_list(f, SQL_MAX, is_decided);
    snprintf(f + strlen(f), SQL_MAX - strlen(f), ") THEN value<>0 WHEN kind IN (");
    kind_list(f, SQL_MAX, is_failure_class);
    snprintf(f + strlen(f), SQL_MAX - strlen(f), ") THEN 1 ELSE 0 END)%s", has_column ? ")" : "");

    snprintf(r->where[RUNREC_EV_ALL], SQL_MAX, "1");
    snprintf(r->where[RUNREC_EV_LANE], SQL_MAX, "kind IN (");
    kind_list(r->where[RUNREC_EV_LANE], SQL_MAX, on_lane);
    strncat(r->where[RUNREC_EV_LANE], ")", SQL_MAX - strlen(r->where[RUNREC_EV_LANE]) - 1);
    char *c = r->where[RUNREC_EV_CRASHES];
    snprintf(c, SQL_MAX, "%s<>0 AND kind IN (", r->failure_sql);
    kind_list(c, SQL_MAX, on_crash_lane);
    strncat(c, ")", SQL_MAX - strlen(c) - 1);
    snprintf(r->where[RUNREC_EV_LISTED], SQL_MAX, "kind IN (");
    kind_list(r->where[RUNREC_EV_LISTED], SQL_MAX, is_listed);
    strncat(r->where[RUNREC_EV_LISTED], ")", SQL_MAX - strlen(r->where[RUNREC_EV_LISTED]) - 1);
}

int runrec_open(const char *dir, runrec **out, char *err, size_t errlen)
{
    runrec *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) {
        snprintf(err, errlen, "cannot read '%s/samples.db': out of memory", dir);
        return ERR_NOMEM;
    }
    snprintf(r->path, sizeof r->path, "%s/samples.db", dir);
    if (access(r->path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", r->path, strerror(errno));
        free(r);
        return ERR_NOENT;
    }
    r->db = store_open_reader(r->path, err, errlen);
    if (!r->db) {
        free(r);
        return ERR_IO;
    }
    if (sqlite3_exec(r->db, "SELECT count(*) FROM samples, events WHERE 0", NULL, NULL, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "'%s' is not a soak run: %s", r->path, sqlite3_errmsg(r->db));
        runrec_close(r);
        return ERR_PARSE;
    }
    /* a file from before events.failure existed has no such column */
    build_sql(r, sqlite3_exec(r->db, "SELECT failure FROM events WHERE 0", NULL, NULL, NULL) ==
                     SQLITE_OK);
    *out = r;
    return 0;
}

void runrec_close(runrec *r)
{
    if (!r)
        return;
    sqlite3_close(r->db);
    free(r);
}

const char *runrec_path(const runrec *r)
{
    return r->path;
}

const char *runrec_errmsg(const runrec *r)
{
    return r && r->db ? sqlite3_errmsg(r->db) : "no database";
}

int runrec_value(runrec *r, const char *key, char *buf, size_t n)
{
    int rc = store_run_value(r->db, key, buf, n);
    return rc < 0 ? ERR_IO : rc;
}

int runrec_value_num(runrec *r, const char *key, double *v)
{
    char buf[64], *end;
    if (runrec_value(r, key, buf, sizeof buf) != 1 || !buf[0])
        return 0;
    double x = strtod(buf, &end);
    if (end == buf)
        return 0;
    *v = x;
    return 1;
}

int runrec_sample_range(runrec *r, int64_t *n, double *tmin, double *tmax)
{
    sqlite3_stmt *st;
    *n = 0;
    *tmin = *tmax = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT count(*), min(t), max(t) FROM samples", -1, &st, NULL) !=
        SQLITE_OK)
        return ERR_IO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        *tmin = sqlite3_column_double(st, 1);
        *tmax = sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : ERR_IO;
}

int runrec_samples(runrec *r, size_t cap, int (*fn)(void *ud, const store_sample *s), void *ud)
{
    return runrec_sample_cols(r, STORE_COLS_ALL, cap, fn, ud);
}

/* The columns of cols that the file's samples table has: a file written before a column was
 * appended to STORE_SAMPLE_COLUMNS lacks it, and reads it as NULL. */
static uint32_t present_cols(runrec *r, uint32_t cols)
{
    sqlite3_stmt *st;
    uint32_t have = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT name FROM pragma_table_info('samples')", -1, &st, NULL) !=
        SQLITE_OK)
        return cols;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int c = name ? store_col_index(name) : -1;
        if (c >= 0)
            have |= 1u << c;
    }
    sqlite3_finalize(st);
    return have ? cols & have : cols;
}

int runrec_sample_cols(runrec *r, uint32_t cols, size_t cap,
                       int (*fn)(void *ud, const store_sample *s), void *ud)
{
    char sql[512], list[400];
    sqlite3_stmt *st;
    cols |= 1u << STORE_COL_t;
    cols = present_cols(r, cols);
    store_col_select(cols, list, sizeof list);
    snprintf(sql, sizeof sql, "SELECT %s FROM samples ORDER BY rowid LIMIT ?", list);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(cap ? cap : RUNREC_MAX_ROWS));
    int rc, ret = 0;
    store_sample m;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_sample_read_cols(st, 0, cols, &m);
        if ((ret = fn(ud, &m)) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (ret)
        return ret;
    return rc == SQLITE_DONE ? 0 : ERR_IO;
}

static int64_t count_where(runrec *r, const char *where)
{
    char sql[SQL_MAX + 64];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE %s", where);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : ERR_IO;
    sqlite3_finalize(st);
    return n;
}

int64_t runrec_event_count(runrec *r, runrec_filter filter)
{
    if ((unsigned)filter > RUNREC_EV_LISTED)
        return ERR_INVAL;
    return count_where(r, r->where[filter]);
}

int runrec_events(runrec *r, runrec_filter filter, int64_t offset, size_t cap,
                  int (*fn)(void *ud, const runrec_event *e), void *ud)
{
    char sql[3 * SQL_MAX];
    sqlite3_stmt *st;
    if ((unsigned)filter > RUNREC_EV_LISTED)
        return ERR_INVAL;
    snprintf(sql, sizeof sql,
             "SELECT t, kind, detail, value, %s FROM events WHERE %s ORDER BY rowid LIMIT ? "
             "OFFSET ?",
             r->failure_sql, r->where[filter]);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(cap ? cap : RUNREC_MAX_ROWS));
    sqlite3_bind_int64(st, 2, offset > 0 ? offset : 0);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        runrec_event e;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        e.t = sqlite3_column_double(st, 0);
        e.name = name ? name : "";
        e.detail = (const char *)sqlite3_column_text(st, 2);
        e.value = sqlite3_column_double(st, 3);
        e.failure = sqlite3_column_int(st, 4) != 0;
        e.kind = store_event_kind(e.name);
        e.cls = e.kind >= 0 ? store_event_class((store_evkind)e.kind) : STORE_EVC_INFO;
        e.lane = e.kind >= 0 ? store_event_lane((store_evkind)e.kind) : STORE_LANE_NONE;
        e.crash = e.failure && (e.lane == STORE_LANE_CRASH || e.lane == STORE_LANE_HANG);
        if (e.cls == STORE_EVC_DECIDED && !e.failure)
            e.lane = STORE_LANE_NONE;
        if ((ret = fn(ud, &e)) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (ret)
        return ret;
    return rc == SQLITE_DONE ? 0 : ERR_IO;
}

int runrec_event_range(runrec *r, double *tmin, double *tmax)
{
    sqlite3_stmt *st;
    *tmin = *tmax = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT min(t), max(t) FROM events", -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *tmin = sqlite3_column_double(st, 0);
        *tmax = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : ERR_IO;
}

int runrec_failures(runrec *r, int64_t *crashes, int64_t *hangs)
{
    char where[SQL_MAX + 64];
    *crashes = *hangs = 0;
    int64_t c = count_where(r, r->where[RUNREC_EV_CRASHES]);
    snprintf(where, sizeof where, "%s<>0 AND kind='%s'", r->failure_sql,
             store_event_name(STORE_EV_HANG));
    int64_t h = count_where(r, where);
    if (c < 0 || h < 0)
        return ERR_IO;
    *crashes = c;
    *hangs = h;
    return 0;
}

int runrec_stop_spans(runrec *r, runrec_span **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT t, kind FROM events WHERE kind IN ('%s','%s','%s','%s','%s') ORDER BY rowid",
             store_event_name(STORE_EV_STOP), store_event_name(STORE_EV_EXIT),
             store_event_name(STORE_EV_START), store_event_name(STORE_EV_RESTART),
             store_event_name(STORE_EV_DAEMONIZED));
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    runrec_span *v = NULL;
    size_t m = 0, cap = 0;
    int open = 0, rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double t = sqlite3_column_double(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        int stop = k && (!strcmp(k, store_event_name(STORE_EV_STOP)) ||
                         !strcmp(k, store_event_name(STORE_EV_EXIT)));
        if (stop && !open) {
            if (m == RUNREC_MAX_SPANS)
                break;
            if (m == cap) {
                size_t nc = cap ? cap * 2 : 16;
                runrec_span *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    ret = ERR_NOMEM;
                    break;
                }
                v = nv;
                cap = nc;
            }
            v[m].from = t;
            v[m].to = INFINITY;
            m++;
            open = 1;
        } else if (!stop && open) {
            v[m - 1].to = t;
            open = 0;
        }
    }
    sqlite3_finalize(st);
    if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = ERR_IO;
    if (ret) {
        free(v);
        return ret;
    }
    *out = v;
    *n = m;
    return 0;
}

int runrec_span_in(const runrec_span *s, size_t n, size_t *cur, double t)
{
    while (*cur < n && s[*cur].to <= t)
        (*cur)++;
    return *cur < n && t >= s[*cur].from;
}

int runrec_kind_counts(runrec *r, size_t cap, int (*fn)(void *ud, const char *kind, int64_t n),
                       void *ud)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(cap ? cap : RUNREC_MAX_ROWS));
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if ((ret = fn(ud, k ? k : "", sqlite3_column_int64(st, 1))) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (ret)
        return ret;
    return rc == SQLITE_DONE ? 0 : ERR_IO;
}

int runrec_metric(runrec *r, const char *name, const char *labels, size_t cap,
                  int (*fn)(void *ud, double t, double v), void *ud)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT t, value FROM metrics WHERE name=? AND coalesce(labels,'')=? "
                           "ORDER BY t LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return ERR_IO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, labels ? labels : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)(cap ? cap : RUNREC_MAX_ROWS));
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = fn(ud, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1))) != 0)
            break;
    sqlite3_finalize(st);
    if (ret)
        return ret;
    return rc == SQLITE_DONE ? 0 : ERR_IO;
}

int runrec_metric_names(runrec *r, size_t cap, int (*fn)(void *ud, const char *name), void *ud)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT DISTINCT name FROM metrics ORDER BY name LIMIT ?", -1,
                           &st, NULL) != SQLITE_OK)
        return ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(cap ? cap : RUNREC_MAX_ROWS));
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = fn(ud, (const char *)sqlite3_column_text(st, 0))) != 0)
            break;
    sqlite3_finalize(st);
    if (ret)
        return ret;
    return rc == SQLITE_DONE ? 0 : ERR_IO;
}

int runrec_metric_exists(runrec *r, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM metrics WHERE name=? LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}
