/*
 * logcap: line framing, timestamping and a bounded queue on the owner thread; a writer thread
 * that appends, rotates and enforces max_files and the quota; a compressor thread that gzips
 * rotated files. See logcap.h for the contract.
 *
 * Threads and what they own:
 *   owner       streams[], cur (the chunk being filled), the timestamp cache, lines/bytes_in.
 *   writer      fd, cur_size, the decision to rotate or delete.
 *   compressor  its read buffer.
 * Shared state and its lock:
 *   mu          the chunk queue, the free list, stop, cleanup_need (cv wakes the writer).
 *   files_mu    files[] (the rotated files, oldest first) and log_bytes; the writer adds and
 *               deletes entries, the compressor renames an entry to .gz under this lock so a
 *               deletion never races a rename.
 *               files[] is also the compressor's work list: it gzips every entry that is
 *               still plain (ccv, under files_mu, wakes it). So the work is bounded by
 *               max_files and no file is left plain because a queue overflowed.
 *   ev_mu       the event ring.
 * Counters read by logcap_stats_get are atomics.
 *
 * Memory bound: the queue holds at most buffer_bytes of formatted lines. A chunk handed off
 * while the queue's last chunk still has room is copied into it, so the number of chunks stays
 * near queue_bytes / CHUNK_BYTES even when every feed brings only a few bytes.
 */
#include "logcap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "errcode.h"

#define LOGCAP_BUSY_BYTES_PER_S (4.0 * 1024 * 1024) /* a flood: see compressor_defer */
#define CHUNK_BYTES             (256u * 1024u)
#define FREE_CHUNKS             4    /* chunks kept for reuse */
#define EV_CAP                  1024 /* events kept until logcap_take_events */
#define TS_LEN                  24   /* "2026-11-28T20:52:02.123Z" */
#define NAME_MAXLEN             32   /* stream names (logcap_note) are cut to this */
#define FNAME_LEN               256  /* file names inside dir */
#define PATH_LEN                4096
#define GZ_BUF_BYTES            (256u * 1024u)

typedef struct chunk {
    struct chunk *next;
    size_t len;
    size_t cap;
    char data[];
} chunk;

typedef struct stream_state {
    char *buf;   /* incomplete line, max_line bytes allocated */
    size_t blen; /* bytes held; may equal max_line (the piece is cut when one more byte comes) */
    int cont;    /* the next piece continues a cut line */
} stream_state;

typedef struct rfile {
    char base[FNAME_LEN]; /* "STEM-YYYYmmddTHHMMSS.mmmZ[-N].log" */
    uint64_t size;        /* size of the file on disk (.gz once compressed) */
    int gz;               /* 1: only base.gz exists */
    int keep_plain;       /* 1: not to be compressed (compression failed or the file vanished) */
} rfile;

struct logcap {
    logcap_opts o;
    char dir[PATH_LEN];
    char name[FNAME_LEN];
    char stem[FNAME_LEN];
    char cur_path[PATH_LEN];
    size_t chunk_bytes;

    /* owner */
    stream_state st[LOGCAP_NSTREAMS];
    chunk *cur;
    time_t ts_sec; /* second of ts_buf; -1: not formatted yet */
    char ts_buf[TS_LEN + 1];
    time_t drop_ev_sec; /* last second a DROPPED event was queued */
    uint64_t lines[LOGCAP_NSTREAMS];
    uint64_t bytes_in[LOGCAP_NSTREAMS];

    /* chunk queue, owner -> writer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *q_head, *q_tail;
    chunk *free_list;
    unsigned nfree;
    int stop;
    uint64_t cleanup_need;
    _Atomic size_t queue_bytes;
    _Atomic size_t queue_hw;

    /* writer */
    pthread_t writer;
    int fd;
    uint64_t cur_size;
    int write_failed;   /* an ERROR event was sent for the current run of failures */
    uint64_t rot_slack; /* after a failed rotation: grow this much more before the next try */

    /* rotated files */
    pthread_mutex_t files_mu;
    rfile *files;
    size_t nfiles, files_cap;
    uint64_t log_bytes;

    /* compressor */
    pthread_t compressor;
    int have_compressor;
    pthread_cond_t ccv; /* with files_mu */
    int cstop;          /* under files_mu */

    /* events */
    pthread_mutex_t ev_mu;
    logcap_event *ev;
    size_t ev_head, ev_len;

    _Atomic uint64_t quota;
    _Atomic uint64_t bytes_written, dropped_bytes, dropped_lines, rotations, files_deleted;
    _Atomic uint64_t pend_queue, pend_quota; /* dropped bytes not yet reported in an event */
};

/* snprintf for text that fits by construction (paths are checked at logcap_new; names are
 * bounded); a cut is harmless there. Keeps gcc's truncation analysis quiet. */
__attribute__((format(printf, 3, 4))) static void sfmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- events */

static void ev_push(logcap *lc, logcap_event_kind kind, uint64_t bytes, const char *path,
                    const char *detail)
{
    pthread_mutex_lock(&lc->ev_mu);
    if (lc->ev_len < EV_CAP) {
        logcap_event *e = &lc->ev[(lc->ev_head + lc->ev_len) % EV_CAP];
        memset(e, 0, sizeof *e);
        e->kind = kind;
        e->bytes = bytes;
        if (path)
            sfmt(e->path, sizeof e->path, "%s", path);
        if (detail)
            sfmt(e->detail, sizeof e->detail, "%s", detail);
        lc->ev_len++;
    }
    pthread_mutex_unlock(&lc->ev_mu);
}

static void ev_error(logcap *lc, const char *path, const char *what, int err)
{
    char d[128];
    sfmt(d, sizeof d, "%s: %s", what, strerror(err));
    ev_push(lc, LOGCAP_EV_ERROR, 0, path, d);
}

/* Owner only: turns pending drop counts into DROPPED events. */
static void emit_drops(logcap *lc)
{
    uint64_t q = atomic_exchange(&lc->pend_queue, 0);
    if (q)
        ev_push(lc, LOGCAP_EV_DROPPED, q, NULL, "queue full");
    uint64_t d = atomic_exchange(&lc->pend_quota, 0);
    if (d)
        ev_push(lc, LOGCAP_EV_DROPPED, d, NULL, "quota");
}

/* ---------------------------------------------------------------- time */

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* Refreshes ts_buf for now. The date and time are formatted once per second; within the
 * second only the milliseconds change. */
static void ts_update(logcap *lc)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != lc->ts_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char tmp[96];
        sfmt(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        memcpy(lc->ts_buf, tmp, TS_LEN);
        lc->ts_buf[TS_LEN] = '\0';
        lc->ts_sec = ts.tv_sec;
    }
    int ms = (int)(ts.tv_nsec / 1000000);
    lc->ts_buf[20] = (char)('0' + ms / 100);
    put2(lc->ts_buf + 21, ms % 100);
}

/* "YYYYmmddTHHMMSS.mmmZ" for rotated file names. */
static void ts_compact(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    sfmt(out, n, "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
}

/* ---------------------------------------------------------------- chunks (owner side) */

static chunk *chunk_new(size_t cap)
{
    chunk *c = malloc(sizeof *c + cap);
    if (!c)
        return NULL;
    c->next = NULL;
    c->len = 0;
    c->cap = cap;
    return c;
}

/* Queues the bytes of cur for the writer. Called at the end of every feed and when cur is
 * full. Coalesces into the queue's last chunk when it has room. */
static void handoff(logcap *lc)
{
    chunk *c = lc->cur;
    if (!c || c->len == 0)
        return;
    size_t n = c->len;
    pthread_mutex_lock(&lc->mu);
    chunk *t = lc->q_tail;
    if (t && t->cap - t->len >= n) {
        memcpy(t->data + t->len, c->data, n);
        t->len += n;
        c->len = 0;
    } else {
        if (t)
            t->next = c;
        else
            lc->q_head = c;
        lc->q_tail = c;
        lc->cur = lc->free_list;
        if (lc->cur) {
            lc->free_list = lc->cur->next;
            lc->nfree--;
            lc->cur->next = NULL;
            lc->cur->len = 0;
        }
    }
    size_t qb = atomic_fetch_add(&lc->queue_bytes, n) + n;
    if (qb > atomic_load_explicit(&lc->queue_hw, memory_order_relaxed))
        atomic_store_explicit(&lc->queue_hw, qb, memory_order_relaxed);
    pthread_cond_signal(&lc->cv);
    pthread_mutex_unlock(&lc->mu);
    if (!lc->cur)
        lc->cur = chunk_new(lc->chunk_bytes); /* NULL: lines are dropped until one is free */
}

static void count_drop(logcap *lc, size_t raw)
{
    atomic_fetch_add_explicit(&lc->dropped_bytes, raw, memory_order_relaxed);
    atomic_fetch_add_explicit(&lc->dropped_lines, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&lc->pend_queue, raw, memory_order_relaxed);
    if (lc->ts_sec != lc->drop_ev_sec) {
        lc->drop_ev_sec = lc->ts_sec;
        emit_drops(lc);
    }
}

/* Formats one line (or piece) into cur, or drops it when the queue is at its cap. The hot
 * path: two memcpy and a handful of compares. ts_buf must be current. */
static void put_line(logcap *lc, const char *sname, size_t snlen, const char *line, size_t len)
{
    size_t fl = TS_LEN + 1 + snlen + 1 + len + 1;
    chunk *c = lc->cur;
    if (c && c->cap - c->len < fl) {
        handoff(lc);
        c = lc->cur;
    }
    size_t queued = atomic_load_explicit(&lc->queue_bytes, memory_order_relaxed);
    if (!c) {
        c = lc->cur = chunk_new(lc->chunk_bytes);
        if (!c) {
            count_drop(lc, len + 1);
            return;
        }
    }
    if (queued + c->len + fl > lc->o.buffer_bytes || c->cap - c->len < fl) {
        count_drop(lc, len + 1);
        return;
    }
    char *p = c->data + c->len;
    memcpy(p, lc->ts_buf, TS_LEN);
    p += TS_LEN;
    *p++ = ' ';
    memcpy(p, sname, snlen);
    p += snlen;
    *p++ = ' ';
    memcpy(p, line, len);
    p += len;
    *p = '\n';
    c->len += fl;
}

static const char *const SNAME[LOGCAP_NSTREAMS][2] = {{"out", "out+"}, {"err", "err+"}};

static void emit(logcap *lc, int s, const char *line, size_t len, int cont, logcap_line_fn fn,
                 void *ud)
{
    if (fn)
        fn(ud, s, line, len, cont);
    put_line(lc, SNAME[s][cont], cont ? 4 : 3, line, len);
}

/* Appends n bytes without a newline to the stream's partial line, cutting a piece each time
 * max_line bytes are held and more follow. */
static void take_part(logcap *lc, int s, const char *p, size_t n, logcap_line_fn fn, void *ud)
{
    stream_state *st = &lc->st[s];
    size_t max = lc->o.max_line;
    while (n > 0) {
        if (st->blen == max) {
            emit(lc, s, st->buf, max, st->cont, fn, ud);
            st->cont = 1;
            st->blen = 0;
        }
        size_t take = max - st->blen < n ? max - st->blen : n;
        memcpy(st->buf + st->blen, p, take);
        st->blen += take;
        p += take;
        n -= take;
    }
}

/* ---------------------------------------------------------------- owner API */

void logcap_opts_default(logcap_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_file_bytes = 64ull << 20;
    o->max_files = 5;
    o->quota_bytes = 0;
    o->buffer_bytes = 16u << 20;
    o->max_line = 64u << 10;
    o->gzip_level = 1;
}

void logcap_feed(logcap *lc, int stream, const char *data, size_t len, logcap_line_fn on_line,
                 void *ud)
{
    if (!lc || stream < 0 || stream >= LOGCAP_NSTREAMS || (!data && len))
        return;
    if (len == 0)
        return;
    stream_state *st = &lc->st[stream];
    size_t max = lc->o.max_line;
    const char *p = data, *end = data + len;
    lc->bytes_in[stream] += len;
    /* one clock read per feed: the lines of one read arrived together */
    ts_update(lc);
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        size_t n = (size_t)(nl - p);
        if (st->blen == 0 && n <= max) {
            emit(lc, stream, p, n, st->cont, on_line, ud);
        } else {
            take_part(lc, stream, p, n, on_line, ud);
            emit(lc, stream, st->buf, st->blen, st->cont, on_line, ud);
        }
        st->blen = 0;
        st->cont = 0;
        lc->lines[stream]++;
        p = nl + 1;
    }
    take_part(lc, stream, p, (size_t)(end - p), on_line, ud);
    handoff(lc);
}

void logcap_flush(logcap *lc, int stream, logcap_line_fn on_line, void *ud)
{
    if (!lc || stream < 0 || stream >= LOGCAP_NSTREAMS)
        return;
    stream_state *st = &lc->st[stream];
    if (st->blen > 0) {
        ts_update(lc);
        emit(lc, stream, st->buf, st->blen, st->cont, on_line, ud);
        lc->lines[stream]++;
    }
    st->blen = 0;
    st->cont = 0;
    handoff(lc);
}

/* A stream name as written: cut to NAME_MAXLEN, spaces become '_' (the name ends at the first
 * space of a line), "-" when empty; nm[len] is '+', for continuations. Returns len. */
static size_t fmt_stream_name(const char *name, char nm[NAME_MAXLEN + 2])
{
    size_t nlen = 0;
    for (const char *s = name; *s && nlen < NAME_MAXLEN; s++)
        nm[nlen++] = (*s == ' ' || *s == '\n') ? '_' : *s;
    if (nlen == 0)
        nm[nlen++] = '-';
    nm[nlen] = '+';
    return nlen;
}

void logcap_note(logcap *lc, const char *stream_name, const char *text)
{
    if (!lc || !text)
        return;
    char nm[NAME_MAXLEN + 2];
    size_t nlen = fmt_stream_name(stream_name ? stream_name : "soak", nm);
    ts_update(lc);
    const char *p = text;
    size_t max = lc->o.max_line;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int cont = 0;
        do {
            size_t k = n > max ? max : n;
            put_line(lc, nm, nlen + (size_t)cont, p, k);
            p += k;
            n -= k;
            cont = 1;
        } while (n > 0);
        if (!nl || nl[1] == '\0')
            break;
        p = nl + 1;
    }
    handoff(lc);
}

void logcap_put(logcap *lc, const char *stream_name, const char *line, size_t len, int cont)
{
    if (!lc || (!line && len))
        return;
    char nm[NAME_MAXLEN + 2];
    size_t nlen = fmt_stream_name(stream_name ? stream_name : "-", nm);
    ts_update(lc);
    size_t max = lc->o.max_line;
    do {
        size_t k = len > max ? max : len;
        put_line(lc, nm, nlen + (size_t)(cont != 0), line, k);
        line += k;
        len -= k;
        cont = 1;
    } while (len > 0);
    handoff(lc);
}

size_t logcap_take_events(logcap *lc, logcap_event *out, size_t max)
{
    if (!lc)
        return 0;
    emit_drops(lc);
    size_t n = 0;
    pthread_mutex_lock(&lc->ev_mu);
    while (n < max && lc->ev_len > 0) {
        out[n++] = lc->ev[lc->ev_head];
        lc->ev_head = (lc->ev_head + 1) % EV_CAP;
        lc->ev_len--;
    }
    pthread_mutex_unlock(&lc->ev_mu);
    return n;
}

void logcap_stats_get(logcap *lc, logcap_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!lc)
        return;
    for (int i = 0; i < LOGCAP_NSTREAMS; i++) {
        out->lines[i] = lc->lines[i];
        out->bytes_in[i] = lc->bytes_in[i];
    }
    out->bytes_written = atomic_load(&lc->bytes_written);
    out->dropped_bytes = atomic_load(&lc->dropped_bytes);
    out->dropped_lines = atomic_load(&lc->dropped_lines);
    out->rotations = atomic_load(&lc->rotations);
    out->files_deleted = atomic_load(&lc->files_deleted);
    pthread_mutex_lock(&lc->files_mu);
    out->log_bytes = lc->log_bytes;
    pthread_mutex_unlock(&lc->files_mu);
    out->queue_bytes = atomic_load(&lc->queue_bytes) + (lc->cur ? lc->cur->len : 0);
    out->queue_high_water = atomic_load(&lc->queue_hw);
}

void logcap_set_quota(logcap *lc, uint64_t quota_bytes)
{
    if (lc)
        atomic_store(&lc->quota, quota_bytes);
}

void logcap_cleanup(logcap *lc, uint64_t need_bytes)
{
    if (!lc || need_bytes == 0)
        return;
    pthread_mutex_lock(&lc->mu);
    lc->cleanup_need += need_bytes;
    pthread_cond_signal(&lc->cv);
    pthread_mutex_unlock(&lc->mu);
}

/* ---------------------------------------------------------------- rotated files */

/* Parses a rotated file name of this stem. Returns 1 and the kind (0 plain .log, 1 .log.gz,
 * 2 .log.gz.tmp) when it matches "STEM-YYYYmmddTHHMMSS.mmmZ[-N].log[.gz[.tmp]]". */
static int parse_rotated(const logcap *lc, const char *fn, int *kind)
{
    size_t sl = strlen(lc->stem);
    if (strncmp(fn, lc->stem, sl) != 0 || fn[sl] != '-')
        return 0;
    const char *t = fn + sl + 1;
    static const char pat[] = "ddddddddTdddddd.dddZ";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
            return 0;
    }
    t += sizeof pat - 1;
    if (*t == '-') {
        t++;
        if (*t < '0' || *t > '9')
            return 0;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    if (strcmp(t, ".log") == 0)
        *kind = 0;
    else if (strcmp(t, ".log.gz") == 0)
        *kind = 1;
    else if (strcmp(t, ".log.gz.tmp") == 0)
        *kind = 2;
    else
        return 0;
    return 1;
}

/* Chronological order: the timestamp, then the uniqueness suffix (none before -1 before -2). */
static unsigned long rot_suffix(const char *base, size_t off)
{
    const char *t = base + off;
    if (*t != '-')
        return 0;
    return strtoul(t + 1, NULL, 10);
}

static int rfile_cmp(const void *a, const void *b, void *arg)
{
    const rfile *x = a, *y = b;
    size_t off = *(const size_t *)arg; /* length of "STEM-YYYYmmddTHHMMSS.mmmZ" */
    int c = memcmp(x->base, y->base, off);
    if (c)
        return c;
    unsigned long sx = rot_suffix(x->base, off), sy = rot_suffix(y->base, off);
    return sx < sy ? -1 : sx > sy;
}

static void files_sort(logcap *lc)
{
    size_t off = strlen(lc->stem) + 1 + 20;
    if (lc->nfiles > 1)
        qsort_r(lc->files, lc->nfiles, sizeof *lc->files, rfile_cmp, &off);
}

/* files_mu held. Returns 0 or ERR_NOMEM. */
static int files_add(logcap *lc, const char *base, uint64_t size, int gz)
{
    if (lc->nfiles == lc->files_cap) {
        size_t ncap = lc->files_cap ? lc->files_cap * 2 : 8;
        rfile *nf = realloc(lc->files, ncap * sizeof *nf);
        if (!nf)
            return ERR_NOMEM;
        lc->files = nf;
        lc->files_cap = ncap;
    }
    rfile *f = &lc->files[lc->nfiles++];
    sfmt(f->base, sizeof f->base, "%s", base);
    f->size = size;
    f->gz = gz;
    f->keep_plain = 0;
    return 0;
}

/* files_mu held. */
static rfile *files_find(logcap *lc, const char *base)
{
    for (size_t i = 0; i < lc->nfiles; i++)
        if (strcmp(lc->files[i].base, base) == 0)
            return &lc->files[i];
    return NULL;
}

/* Deletes the oldest rotated file (both its plain and .gz forms). Returns 1 and stores the
 * bytes freed in *freed (may be NULL), or 0 when none is left. */
static int delete_oldest(logcap *lc, const char *reason, uint64_t *freed)
{
    char path[PATH_LEN];
    pthread_mutex_lock(&lc->files_mu);
    if (lc->nfiles == 0) {
        pthread_mutex_unlock(&lc->files_mu);
        return 0;
    }
    rfile f = lc->files[0];
    memmove(lc->files, lc->files + 1, (lc->nfiles - 1) * sizeof *lc->files);
    lc->nfiles--;
    lc->log_bytes -= f.size < lc->log_bytes ? f.size : lc->log_bytes;
    sfmt(path, sizeof path, "%s/%s.gz", lc->dir, f.base);
    unlink(path);
    sfmt(path, sizeof path, "%s/%s", lc->dir, f.base);
    unlink(path);
    pthread_mutex_unlock(&lc->files_mu);
    if (f.gz)
        sfmt(path, sizeof path, "%s/%s.gz", lc->dir, f.base);
    ev_push(lc, LOGCAP_EV_DELETED, f.size, path, reason);
    atomic_fetch_add(&lc->files_deleted, 1);
    if (freed)
        *freed = f.size;
    return 1;
}

static void enforce_max_files(logcap *lc)
{
    for (;;) {
        pthread_mutex_lock(&lc->files_mu);
        size_t n = lc->nfiles;
        pthread_mutex_unlock(&lc->files_mu);
        if (n <= lc->o.max_files || !delete_oldest(lc, "max_files", NULL))
            break;
    }
}

/* Tells the compressor that a plain rotated file may be waiting. */
static void compress_wake(logcap *lc)
{
    if (!lc->have_compressor)
        return;
    pthread_mutex_lock(&lc->files_mu);
    pthread_cond_signal(&lc->ccv);
    pthread_mutex_unlock(&lc->files_mu);
}

/* ---------------------------------------------------------------- writer */

static int open_current(logcap *lc)
{
    lc->fd = open(lc->cur_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lc->fd < 0)
        return -errno;
    struct stat sb;
    lc->cur_size = fstat(lc->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return 0;
}

static int name_taken(logcap *lc, const char *base)
{
    char path[PATH_LEN];
    struct stat sb;
    int taken = files_find(lc, base) != NULL;
    sfmt(path, sizeof path, "%s/%s", lc->dir, base);
    taken = taken || lstat(path, &sb) == 0;
    sfmt(path, sizeof path, "%s/%s.gz", lc->dir, base);
    return taken || lstat(path, &sb) == 0;
}

/* Cuts the current file: close, rename to a unique rotated name, reopen. Returns 0, or
 * ERR_IO when the rename failed, ERR_NOMEM when the rotated file cannot be tracked (the current
 * file goes on growing; an ERROR event is queued).
 * The plain file is fsynced here only when it is kept as it is: with compression on, the
 * compressor fsyncs the .gz it writes, and an fsync on the writer thread would stall the
 * capture for tens of milliseconds per rotation. */
static int rotate(logcap *lc)
{
    char ts[32], base[FNAME_LEN], path[PATH_LEN];
    if (lc->fd >= 0) {
        if (lc->o.gzip_level == 0)
            fsync(lc->fd);
        close(lc->fd);
        lc->fd = -1;
    }
    ts_compact(ts, sizeof ts);
    pthread_mutex_lock(&lc->files_mu);
    sfmt(base, sizeof base, "%s-%s.log", lc->stem, ts);
    for (unsigned k = 1; name_taken(lc, base) && k < 1000000; k++)
        sfmt(base, sizeof base, "%s-%s-%u.log", lc->stem, ts, k);
    sfmt(path, sizeof path, "%s/%s", lc->dir, base);
    int rc = rename(lc->cur_path, path);
    int err = errno;
    uint64_t size = lc->cur_size;
    if (rc == 0 && files_add(lc, base, size, 0) != 0) {
        /* cannot track it: it would escape the caps; put it back */
        rename(path, lc->cur_path);
        rc = -1;
        err = ENOMEM;
    }
    pthread_mutex_unlock(&lc->files_mu);
    int orc = open_current(lc);
    if (rc != 0) {
        ev_error(lc, lc->cur_path, "rename", err);
    } else {
        atomic_fetch_add(&lc->rotations, 1);
        ev_push(lc, LOGCAP_EV_ROTATED, size, path, NULL);
    }
    if (orc != 0)
        ev_error(lc, lc->cur_path, "open", -orc);
    if (rc != 0)
        return err == ENOMEM ? ERR_NOMEM : ERR_IO;
    enforce_max_files(lc);
    compress_wake(lc);
    return 0;
}

/* Counts the dropped lines of formatted text p[0..n) (whole lines) as raw bytes: the text
 * after "TIMESTAMP NAME " plus its newline. */
static void count_dropped_text(logcap *lc, const char *p, size_t n)
{
    const char *end = p + n;
    uint64_t bytes = 0, lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl + 1 : end;
        const char *sp = NULL;
        if ((size_t)(le - p) > TS_LEN + 1)
            sp = memchr(p + TS_LEN + 1, ' ', (size_t)(le - p) - (TS_LEN + 1));
        bytes += sp ? (uint64_t)(le - sp - 1) : (uint64_t)(le - p);
        lines++;
        p = le;
    }
    atomic_fetch_add(&lc->dropped_bytes, bytes);
    atomic_fetch_add(&lc->dropped_lines, lines);
    atomic_fetch_add(&lc->pend_quota, bytes);
}

static void write_all(logcap *lc, const char *p, size_t n)
{
    if (n > 0 && lc->fd < 0)
        open_current(lc); /* a reopen after rotation failed: try again */
    while (n > 0) {
        ssize_t w = lc->fd >= 0 ? write(lc->fd, p, n) : (errno = EBADF, -1);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!lc->write_failed)
                ev_error(lc, lc->cur_path, "write", w < 0 ? errno : EIO);
            lc->write_failed = 1;
            count_dropped_text(lc, p, n);
            return;
        }
        lc->write_failed = 0;
        lc->cur_size += (uint64_t)w;
        atomic_fetch_add(&lc->bytes_written, (uint64_t)w);
        pthread_mutex_lock(&lc->files_mu);
        lc->log_bytes += (uint64_t)w;
        pthread_mutex_unlock(&lc->files_mu);
        p += w;
        n -= (size_t)w;
    }
}

/* Writes whole lines p[0..n) within the quota: deletes the oldest rotated files to make room,
 * drops the lines that still do not fit. */
static void write_quota(logcap *lc, const char *p, size_t n)
{
    uint64_t quota = atomic_load(&lc->quota);
    if (quota) {
        for (;;) {
            pthread_mutex_lock(&lc->files_mu);
            int over = lc->log_bytes + n > quota;
            pthread_mutex_unlock(&lc->files_mu);
            if (!over || !delete_oldest(lc, "quota", NULL))
                break;
        }
        pthread_mutex_lock(&lc->files_mu);
        uint64_t used = lc->log_bytes;
        pthread_mutex_unlock(&lc->files_mu);
        if (used + n > quota) {
            size_t fit = used < quota ? (size_t)(quota - used) : 0;
            const char *nl = fit ? memrchr(p, '\n', fit) : NULL;
            size_t part = nl ? (size_t)(nl - p) + 1 : 0;
            write_all(lc, p, part);
            count_dropped_text(lc, p + part, n - part);
            return;
        }
    }
    write_all(lc, p, n);
}

/* Writes one chunk of whole lines, rotating before a line that would take the file past
 * max_file_bytes. A line larger than max_file_bytes goes whole into a fresh file. */
static void write_chunk(logcap *lc, const char *p, size_t n)
{
    while (n > 0) {
        uint64_t max = lc->o.max_file_bytes + lc->rot_slack;
        uint64_t room = lc->cur_size < max ? max - lc->cur_size : 0;
        size_t seg;
        if (n <= room) {
            seg = n;
        } else {
            const char *nl = room ? memrchr(p, '\n', (size_t)room) : NULL;
            if (nl) {
                seg = (size_t)(nl - p) + 1;
            } else if (lc->cur_size > 0 && rotate(lc) == 0) {
                lc->rot_slack = 0;
                continue;
            } else {
                /* an empty file, or the rotation failed: the line goes in whole; after a
                 * failure, no new try (fsync, rename, event) before the file grows by another
                 * max_file_bytes */
                if (lc->cur_size > 0)
                    lc->rot_slack = lc->cur_size;
                const char *e = memchr(p, '\n', n);
                seg = e ? (size_t)(e - p) + 1 : n;
            }
        }
        write_quota(lc, p, seg);
        p += seg;
        n -= seg;
    }
}

static void do_cleanup(logcap *lc, uint64_t need)
{
    uint64_t freed = 0, f;
    while (freed < need && delete_oldest(lc, "cleanup", &f))
        freed += f;
}

static void *writer_main(void *arg)
{
    logcap *lc = arg;
    pthread_mutex_lock(&lc->mu);
    for (;;) {
        while (!lc->q_head && !lc->stop && !lc->cleanup_need)
            pthread_cond_wait(&lc->cv, &lc->mu);
        if (lc->cleanup_need) {
            uint64_t need = lc->cleanup_need;
            lc->cleanup_need = 0;
            pthread_mutex_unlock(&lc->mu);
            do_cleanup(lc, need);
            pthread_mutex_lock(&lc->mu);
            continue;
        }
        if (lc->q_head) {
            chunk *c = lc->q_head;
            lc->q_head = c->next;
            if (!lc->q_head)
                lc->q_tail = NULL;
            c->next = NULL;
            pthread_mutex_unlock(&lc->mu);
            write_chunk(lc, c->data, c->len);
            atomic_fetch_sub(&lc->queue_bytes, c->len);
            c->len = 0;
            pthread_mutex_lock(&lc->mu);
            if (lc->nfree < FREE_CHUNKS) {
                c->next = lc->free_list;
                lc->free_list = c;
                lc->nfree++;
            } else {
                free(c);
            }
            continue;
        }
        if (lc->stop)
            break;
    }
    pthread_mutex_unlock(&lc->mu);
    if (lc->fd >= 0)
        fsync(lc->fd);
    return NULL;
}

/* ---------------------------------------------------------------- compressor */

/* Gzips dir/base to dir/base.gz.tmp; returns 0, -ENOENT (the file is gone) or -errno. */
static int gzip_file(logcap *lc, const char *src, const char *tmp, char *buf)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char mode[8];
    sfmt(mode, sizeof mode, "wb%d", lc->o.gzip_level);
    gzFile gz = gzdopen(out, mode);
    if (!gz) {
        close(out);
        close(in);
        return -ENOMEM;
    }
    gzbuffer(gz, 128u * 1024u);
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, GZ_BUF_BYTES);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        if (gzwrite(gz, buf, (unsigned)r) != (int)r) {
            rc = -EIO;
            break;
        }
    }
    if (gzclose(gz) != Z_OK && rc == 0)
        rc = -EIO;
    close(in);
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    return rc;
}

static void compress_one(logcap *lc, const char *base, char *buf)
{
    char src[PATH_LEN], tmp[PATH_LEN], dst[PATH_LEN];
    sfmt(src, sizeof src, "%s/%s", lc->dir, base);
    sfmt(tmp, sizeof tmp, "%s/%s.gz.tmp", lc->dir, base);
    sfmt(dst, sizeof dst, "%s/%s.gz", lc->dir, base);
    int rc = gzip_file(lc, src, tmp, buf);
    if (rc == -ENOENT) {
        unlink(tmp);
        return; /* deleted meanwhile (max_files, quota, cleanup) */
    }
    if (rc != 0) {
        unlink(tmp);
        ev_error(lc, src, "gzip", -rc);
        return;
    }
    struct stat sb;
    uint64_t gsize = stat(tmp, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    int done = 0, err = 0;
    pthread_mutex_lock(&lc->files_mu);
    rfile *f = files_find(lc, base);
    if (f && !f->gz) {
        if (rename(tmp, dst) == 0) {
            unlink(src);
            lc->log_bytes = lc->log_bytes - (f->size < lc->log_bytes ? f->size : lc->log_bytes);
            lc->log_bytes += gsize;
            f->size = gsize;
            f->gz = 1;
            done = 1;
        } else {
            err = errno;
        }
    }
    pthread_mutex_unlock(&lc->files_mu);
    if (!done)
        unlink(tmp);
    if (done)
        ev_push(lc, LOGCAP_EV_COMPRESSED, gsize, dst, NULL);
    else if (err)
        ev_error(lc, dst, "rename", err);
}

/* Waits up to a second (files_mu held, released while waiting) and says whether the writer is
 * flooding: more than LOGCAP_BUSY_BYTES_PER_S written per second. During a flood, gzip would
 * take CPU from the service and the capture on a small machine, so rotated files wait, plain;
 * they count toward max_files and the quota meanwhile, and those still there when the flood
 * ends (or at close) are compressed. A service logging at ordinary rates is never deferred. */
static int compressor_defer(logcap *lc)
{
    struct timespec t0, t1, until;
    uint64_t before = atomic_load(&lc->bytes_written);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&lc->ccv, &lc->files_mu, &until);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t written = atomic_load(&lc->bytes_written) - before;
    return dt > 0.05 && (double)written / dt > LOGCAP_BUSY_BYTES_PER_S;
}

/* The oldest rotated file still to compress (files_mu held), or NULL. The pointer is valid
 * only while files_mu stays held. */
static rfile *next_plain(logcap *lc)
{
    for (size_t i = 0; i < lc->nfiles; i++)
        if (!lc->files[i].gz && !lc->files[i].keep_plain)
            return &lc->files[i];
    return NULL;
}

static void logcap_destroy(logcap *lc);

static void *compressor_main(void *arg)
{
    logcap *lc = arg;
    /* Compression is background work: it runs only when a CPU is otherwise idle (SCHED_IDLE,
     * or nice 19 where that is refused), so that neither the service nor the capture waits for
     * it. Under a sustained full load rotated files stay plain longer; they still count
     * toward max_files and the quota, and get compressed once the load drops (or at close). */
    struct sched_param sp = {0};
    if (sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_IDLE, &sp) != 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    char *buf = malloc(GZ_BUF_BYTES);
    char base[FNAME_LEN];
    pthread_mutex_lock(&lc->files_mu);
    for (;;) {
        rfile *f = next_plain(lc);
        if (!f) {
            if (lc->cstop)
                break; /* stop, and nothing left to compress */
            pthread_cond_wait(&lc->ccv, &lc->files_mu);
            continue;
        }
        if (!lc->cstop) {
            if (compressor_defer(lc))
                continue; /* a flood is on: compress when it is over */
            /* the wait released files_mu: the list may have moved, look again */
            f = next_plain(lc);
            if (!f)
                continue;
        }
        memcpy(base, f->base, FNAME_LEN);
        pthread_mutex_unlock(&lc->files_mu);
        if (buf)
            compress_one(lc, base, buf);
        pthread_mutex_lock(&lc->files_mu);
        f = files_find(lc, base);
        if (f && !f->gz)
            f->keep_plain = 1; /* failed: never retried, still counted and deleted in order */
    }
    pthread_mutex_unlock(&lc->files_mu);
    free(buf);
    return NULL;
}

/* ---------------------------------------------------------------- setup */

/* Lists the rotated files of this stem left by an earlier run; removes stale temp files and
 * plain copies whose .gz is complete. */
static int scan_dir(logcap *lc, char *err, size_t errlen)
{
    DIR *d = opendir(lc->dir);
    if (!d) {
        int e = errno;
        sfmt(err, errlen, "cannot open folder '%s': %s", lc->dir, strerror(e));
        return e == ENOENT ? ERR_NOENT : ERR_IO;
    }
    struct dirent *de;
    char path[PATH_LEN];
    while ((de = readdir(d)) != NULL) {
        int kind;
        if (!parse_rotated(lc, de->d_name, &kind))
            continue;
        sfmt(path, sizeof path, "%s/%s", lc->dir, de->d_name);
        if (kind == 2) {
            unlink(path);
            continue;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        char base[FNAME_LEN];
        sfmt(base, sizeof base, "%s", de->d_name);
        if (kind == 1)
            base[strlen(base) - 3] = '\0';
        rfile *f = files_find(lc, base);
        if (f) {
            /* both forms: the .gz was renamed into place, so it is complete */
            char plain[PATH_LEN];
            sfmt(plain, sizeof plain, "%s/%s", lc->dir, base);
            if (kind == 1) {
                f->size = (uint64_t)sb.st_size;
                f->gz = 1;
            }
            unlink(plain);
            continue;
        }
        if (files_add(lc, base, (uint64_t)sb.st_size, kind == 1) != 0) {
            closedir(d);
            sfmt(err, errlen, "out of memory");
            return ERR_NOMEM;
        }
    }
    closedir(d);
    files_sort(lc);
    return 0;
}

logcap *logcap_new(const logcap_opts *o, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (!o || !o->dir || !o->name || !o->name[0] || strchr(o->name, '/')) {
        sfmt(err, errlen, "logcap: dir and a plain file name are required");
        return NULL;
    }
    logcap *lc = calloc(1, sizeof *lc);
    if (!lc) {
        sfmt(err, errlen, "out of memory");
        return NULL;
    }
    lc->o = *o;
    logcap_opts def;
    logcap_opts_default(&def);
    if (!lc->o.max_file_bytes)
        lc->o.max_file_bytes = def.max_file_bytes;
    if (!lc->o.buffer_bytes)
        lc->o.buffer_bytes = def.buffer_bytes;
    if (!lc->o.max_line)
        lc->o.max_line = def.max_line;
    if (lc->o.gzip_level < 0)
        lc->o.gzip_level = 0;
    if (lc->o.gzip_level > 9)
        lc->o.gzip_level = 9;
    lc->fd = -1;
    lc->ts_sec = (time_t)-1;
    lc->drop_ev_sec = (time_t)-1;
    atomic_init(&lc->quota, o->quota_bytes);
    /* room for "/STEM-YYYYmmddTHHMMSS.mmmZ-NNNNNN.log.gz.tmp" after the folder */
    if (strlen(o->dir) > PATH_LEN - FNAME_LEN - 16 || strlen(o->name) > FNAME_LEN - 64) {
        sfmt(err, errlen, "log path too long: '%s/%s'", o->dir, o->name);
        free(lc);
        return NULL;
    }
    sfmt(lc->dir, sizeof lc->dir, "%s", o->dir);
    sfmt(lc->name, sizeof lc->name, "%s", o->name);
    sfmt(lc->cur_path, sizeof lc->cur_path, "%s/%s", o->dir, o->name);
    sfmt(lc->stem, sizeof lc->stem, "%s", lc->name);
    size_t sl = strlen(lc->stem);
    if (sl > 4 && strcmp(lc->stem + sl - 4, ".log") == 0)
        lc->stem[sl - 4] = '\0';

    lc->chunk_bytes = CHUNK_BYTES;
    if (lc->chunk_bytes < lc->o.max_line + TS_LEN + NAME_MAXLEN + 8)
        lc->chunk_bytes = lc->o.max_line + TS_LEN + NAME_MAXLEN + 8;
    lc->ev = calloc(EV_CAP, sizeof *lc->ev);
    lc->cur = chunk_new(lc->chunk_bytes);
    int ok = lc->ev && lc->cur;
    for (int i = 0; i < LOGCAP_NSTREAMS; i++) {
        lc->st[i].buf = malloc(lc->o.max_line);
        ok = ok && lc->st[i].buf;
    }
    pthread_mutex_init(&lc->mu, NULL);
    pthread_cond_init(&lc->cv, NULL);
    pthread_mutex_init(&lc->files_mu, NULL);
    pthread_cond_init(&lc->ccv, NULL);
    pthread_mutex_init(&lc->ev_mu, NULL);
    if (!ok) {
        sfmt(err, errlen, "out of memory");
        goto fail;
    }
    if (scan_dir(lc, err, errlen) != 0)
        goto fail;
    int rc = open_current(lc);
    if (rc != 0) {
        sfmt(err, errlen, "cannot open '%s': %s", lc->cur_path, strerror(-rc));
        goto fail;
    }
    lc->log_bytes = lc->cur_size;
    for (size_t i = 0; i < lc->nfiles; i++)
        lc->log_bytes += lc->files[i].size;
    enforce_max_files(lc);

    if (lc->o.gzip_level > 0) {
        if (pthread_create(&lc->compressor, NULL, compressor_main, lc) != 0) {
            sfmt(err, errlen, "cannot start the compressor thread");
            goto fail;
        }
        lc->have_compressor = 1; /* it starts with plain files left by an earlier run */
    }
    if (pthread_create(&lc->writer, NULL, writer_main, lc) != 0) {
        sfmt(err, errlen, "cannot start the writer thread");
        goto fail;
    }
    return lc;

fail:
    logcap_destroy(lc);
    return NULL;
}

void logcap_free(logcap *lc)
{
    if (!lc)
        return;
    handoff(lc);
    pthread_mutex_lock(&lc->mu);
    lc->stop = 1;
    pthread_cond_signal(&lc->cv);
    pthread_mutex_unlock(&lc->mu);
    pthread_join(lc->writer, NULL);
    logcap_destroy(lc);
}

/* Stops the compressor (after it has compressed what is left), closes and frees everything.
 * The writer is not running: never started, or joined. */
static void logcap_destroy(logcap *lc)
{
    if (lc->have_compressor) {
        pthread_mutex_lock(&lc->files_mu);
        lc->cstop = 1;
        pthread_cond_signal(&lc->ccv);
        pthread_mutex_unlock(&lc->files_mu);
        pthread_join(lc->compressor, NULL);
    }
    if (lc->fd >= 0)
        close(lc->fd);
    while (lc->free_list) {
        chunk *c = lc->free_list;
        lc->free_list = c->next;
        free(c);
    }
    pthread_mutex_destroy(&lc->mu);
    pthread_cond_destroy(&lc->cv);
    pthread_mutex_destroy(&lc->files_mu);
    pthread_cond_destroy(&lc->ccv);
    pthread_mutex_destroy(&lc->ev_mu);
    for (int i = 0; i < LOGCAP_NSTREAMS; i++)
        free(lc->st[i].buf);
    free(lc->cur);
    free(lc->ev);
    free(lc->files);
    free(lc);
}
