/* follow: log files and a unit's journal followed on the loop. See follow.h. */
#include "follow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "journal.h"
#include "logfollow.h"
#include "promtext.h"

#define FOLLOW_KICK_MS     20 /* folder events within this are handled as one wakeup */
#define FOLLOW_SEEN_MAX    64 /* closed files remembered with how far they were read */
#define FOLLOW_READ_BUF    65536
#define FOLLOW_STOP_ROUNDS 64  /* follow_stop reads at most this many wakeups' worth */
#define FOLLOW_COPY_SCAN   256 /* folder entries looked at for a copytruncate's copy */
#define FOLLOW_COPY_AGE_S  120 /* the copy was written this recently */
#define FOLLOW_COPY_MAX    (4u * 1024u * 1024u) /* bytes taken from the copy at most */

typedef struct fentry {
    struct follow *f;
    char path[PATH_MAX];
    char stream[80]; /* "file:NAME" */
    int fd;          /* -1: none open */
    logfollow lf;
    int more;           /* the read cap was reached: more waits */
    uint64_t recovered; /* bytes read from copies after a copytruncate */
} fentry;

typedef struct fdir {
    uv_fs_event_t h;
    char path[PATH_MAX];
    int started; /* the watch runs */
    int inited;  /* the handle was initialised (it must be closed) */
    struct follow *f;
} fdir;

typedef struct seen {
    uint64_t dev, ino, offset;
} seen;

struct follow {
    uv_loop_t *loop;
    char pats[FOLLOW_MAX_PATTERNS][PATH_MAX];
    size_t npats;
    uint64_t poll_ms;
    size_t line_cap;
    logcap *copy;
    logcap_line_fn on_line;
    void *ud;
    fentry *e[FOLLOW_MAX_FILES];
    size_t n;
    uint64_t skipped;
    fdir dirs[FOLLOW_MAX_DIRS];
    size_t ndirs;
    seen seen[FOLLOW_SEEN_MAX];
    size_t nseen, seen_next;
    uv_timer_t poll, kick;
    int timers_inited;
    int stopped;
    int initial; /* the first expansion: files that exist are read from their end */
    journal *jr;
    uint64_t jr_lines;
    char buf[FOLLOW_READ_BUF];
};

static int has_glob(const char *p)
{
    return strpbrk(p, "*?[") != NULL;
}

/* A stat result for logfollow; ok 0 (or not a regular file) gives exists 0. */
static void to_lf(int ok, const struct stat *st, logfollow_stat *out)
{
    memset(out, 0, sizeof *out);
    if (ok && S_ISREG(st->st_mode)) {
        out->exists = 1;
        out->dev = (uint64_t)st->st_dev;
        out->ino = (uint64_t)st->st_ino;
        out->size = (uint64_t)st->st_size;
    }
}

static void stat_of(const char *path, logfollow_stat *out)
{
    struct stat st;
    to_lf(stat(path, &st) == 0, &st, out);
}

static void fstat_of(int fd, logfollow_stat *out)
{
    struct stat st;
    to_lf(fd >= 0 && fstat(fd, &st) == 0, &st, out);
}

/* The folder part of a path ("." without one, "/" for a file in /). */
static void dir_of(const char *path, char *out, size_t n)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        snprintf(out, n, ".");
    else if (sl == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(sl - path), path);
}

/* ---- lines ---------------------------------------------------------------------------- */

static void fe_on_line(void *ud, const char *line, size_t len, int cont)
{
    fentry *e = ud;
    follow *f = e->f;
    if (f->on_line)
        f->on_line(f->ud, LOGCAP_NSTREAMS, line, len, cont);
    if (f->copy)
        logcap_put(f->copy, e->stream, line, len, cont);
}

static void jr_on_line(void *ud, const char *stream, const char *line, size_t len)
{
    follow *f = ud;
    f->jr_lines++;
    if (f->on_line)
        f->on_line(f->ud, LOGCAP_NSTREAMS, line, len, 0);
    if (f->copy)
        logcap_put(f->copy, stream, line, len, 0);
}

/* ---- closed files, so that a glob match read under another name goes on ---------------- */

static void seen_add(follow *f, uint64_t dev, uint64_t ino, uint64_t offset)
{
    for (size_t i = 0; i < f->nseen; i++)
        if (f->seen[i].dev == dev && f->seen[i].ino == ino) {
            f->seen[i].offset = offset;
            return;
        }
    f->seen[f->seen_next] = (seen){dev, ino, offset};
    f->seen_next = (f->seen_next + 1) % FOLLOW_SEEN_MAX;
    if (f->nseen < FOLLOW_SEEN_MAX)
        f->nseen++;
}

/* Where a newly opened file starts: UINT64_MAX (the rule of logfollow_opened), a remembered
 * offset, or -1 in *defer when another entry still reads it (try again later). */
static uint64_t start_of(follow *f, const fentry *self, const logfollow_stat *st, int *defer)
{
    *defer = 0;
    for (size_t i = 0; i < f->n; i++) {
        const fentry *o = f->e[i];
        if (o != self && o->fd >= 0 && o->lf.dev == st->dev && o->lf.ino == st->ino) {
            *defer = 1;
            return UINT64_MAX;
        }
    }
    for (size_t i = 0; i < f->nseen; i++)
        if (f->seen[i].dev == st->dev && f->seen[i].ino == st->ino)
            return f->seen[i].offset;
    return UINT64_MAX;
}

/* ---- one file ------------------------------------------------------------------------- */

static void fe_close(follow *f, fentry *e, uint64_t dev, uint64_t ino, uint64_t offset)
{
    if (e->fd >= 0)
        close(e->fd);
    e->fd = -1;
    seen_add(f, dev, ino, offset);
}

static void fe_open(follow *f, fentry *e)
{
    e->fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    logfollow_stat st;
    fstat_of(e->fd, &st);
    if (e->fd < 0 || !st.exists) {
        if (e->fd >= 0)
            close(e->fd);
        e->fd = -1;
        logfollow_open_failed(&e->lf);
        return;
    }
    int defer;
    uint64_t at = start_of(f, e, &st, &defer);
    if (defer) {
        close(e->fd);
        e->fd = -1;
        logfollow_open_failed(&e->lf);
        return;
    }
    logfollow_opened(&e->lf, &st, f->initial, at);
}

/* Carries out a step's actions; returns 1 when the path is to be looked at again at once. */
static int fe_do(follow *f, fentry *e, unsigned acts, size_t cap)
{
    if (acts & LOGFOLLOW_A_OPEN)
        fe_open(f, e);
    if (!(acts & LOGFOLLOW_A_READ) || e->fd < 0)
        return (acts & LOGFOLLOW_A_RESTAT) != 0;
    size_t total = 0;
    while (total < cap) {
        size_t want = cap - total < sizeof f->buf ? cap - total : sizeof f->buf;
        ssize_t n = pread(e->fd, f->buf, want, (off_t)logfollow_offset(&e->lf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0; /* a read error: tried again at the next wakeup */
        if (n == 0) {
            uint64_t dev = e->lf.dev, ino = e->lf.ino, off = logfollow_offset(&e->lf);
            unsigned a2 = logfollow_step(&e->lf, LOGFOLLOW_EV_EOF);
            if (a2 & LOGFOLLOW_A_CLOSE)
                fe_close(f, e, dev, ino, off);
            return (a2 & LOGFOLLOW_A_RESTAT) != 0;
        }
        logfollow_feed(&e->lf, f->buf, (size_t)n);
        total += (size_t)n;
    }
    e->more = 1;
    return 0;
}

/* A copytruncate: the bytes between what was read and the truncation are gone from the file,
 * but the copy holds them at the same offsets. A regular file of the same folder written in
 * the last FOLLOW_COPY_AGE_S seconds, longer than what was read, whose bytes just before the
 * offset are the last bytes read (logfollow's tail), is taken as the copy: its rest is fed. */
static void fe_from_copy(follow *f, fentry *e)
{
    uint64_t off = logfollow_offset(&e->lf);
    size_t tl = e->lf.tail_len;
    if (!tl || off < tl)
        return;
    char dir[PATH_MAX];
    dir_of(e->path, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    for (int seen_n = 0; (de = readdir(d)) && seen_n < FOLLOW_COPY_SCAN; seen_n++) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p)
            continue;
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino == e->lf.ino ||
            (uint64_t)st.st_size <= off || st.st_mtime < now - FOLLOW_COPY_AGE_S)
            continue;
        int fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        char t[LOGFOLLOW_TAIL];
        int match =
            pread(fd, t, tl, (off_t)(off - tl)) == (ssize_t)tl && memcmp(t, e->lf.tail, tl) == 0;
        uint64_t taken = 0;
        while (match && taken < FOLLOW_COPY_MAX) {
            size_t want =
                FOLLOW_COPY_MAX - taken < sizeof f->buf ? FOLLOW_COPY_MAX - taken : sizeof f->buf;
            ssize_t n = pread(fd, f->buf, want, (off_t)(off + taken));
            if (n <= 0)
                break;
            logfollow_feed(&e->lf, f->buf, (size_t)n);
            taken += (uint64_t)n;
        }
        close(fd);
        if (match) {
            e->recovered += taken;
            break;
        }
    }
    closedir(d);
}

static void fe_scan(follow *f, fentry *e, size_t cap)
{
    e->more = 0;
    for (int round = 0; round < 4; round++) { /* a switch is followed by one more look */
        logfollow_stat ps, fs;
        stat_of(e->path, &ps);
        fstat_of(e->fd, &fs);
        logfollow_event ev = logfollow_classify(&e->lf, &ps, e->fd >= 0 ? &fs : NULL);
        if (ev == LOGFOLLOW_EV_SHRANK)
            fe_from_copy(f, e); /* before the rewind: what the copy holds past the offset */
        if (!fe_do(f, e, logfollow_step(&e->lf, ev), cap))
            return;
    }
}

/* ---- the set of files ----------------------------------------------------------------- */

static void watch_dir_of(follow *f, const char *path);

static fentry *add_entry(follow *f, const char *path)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i]->path, path) == 0)
            return f->e[i];
    if (f->n >= FOLLOW_MAX_FILES) {
        f->skipped++;
        return NULL;
    }
    fentry *e = calloc(1, sizeof *e);
    if (!e || logfollow_init(&e->lf, f->line_cap, fe_on_line, e) != 0) {
        free(e);
        return NULL;
    }
    e->f = f;
    e->fd = -1;
    snprintf(e->path, sizeof e->path, "%s", path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int dup = 0;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i]->stream + 5, base) == 0)
            dup = 1;
    snprintf(e->stream, sizeof e->stream, "file:%s", dup ? path : base);
    f->e[f->n++] = e;
    watch_dir_of(f, path);
    return e;
}

/* Plain paths once; globs at every call (new matches are followed from their start). */
static void expand(follow *f)
{
    for (size_t i = 0; i < f->npats; i++) {
        if (!has_glob(f->pats[i])) {
            if (f->initial)
                add_entry(f, f->pats[i]);
            continue;
        }
        glob_t g;
        memset(&g, 0, sizeof g);
        if (glob(f->pats[i], GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                struct stat st;
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode))
                    continue;
                fentry *e = NULL;
                size_t before = f->n;
                e = add_entry(f, g.gl_pathv[k]);
                if (e && f->n > before && !f->initial)
                    fe_scan(f, e, FOLLOW_READ_PER_WAKEUP);
            }
        }
        globfree(&g);
    }
}

static void on_kick(uv_timer_t *t);

static void kick_soon(follow *f, uint64_t ms)
{
    if (!f->stopped && !uv_is_active((uv_handle_t *)&f->kick))
        uv_timer_start(&f->kick, on_kick, ms, 0);
}

static void scan_and_rearm(follow *f)
{
    int more = 0;
    expand(f);
    for (size_t i = 0; i < f->n; i++) {
        fe_scan(f, f->e[i], FOLLOW_READ_PER_WAKEUP);
        more |= f->e[i]->more;
    }
    if (more)
        kick_soon(f, 1); /* 1 ms: a 0 ms timer would run again in the same turn */
}

void follow_read_now(follow *f)
{
    if (f && !f->stopped)
        scan_and_rearm(f);
}

static void on_kick(uv_timer_t *t)
{
    scan_and_rearm(t->data);
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    fdir *d = h->data;
    (void)filename;
    (void)events;
    (void)status;
    kick_soon(d->f, FOLLOW_KICK_MS);
}

static void watch_start(follow *f, fdir *d)
{
    if (d->started)
        return;
    if (!d->inited) {
        if (uv_fs_event_init(f->loop, &d->h) != 0)
            return;
        d->inited = 1;
        d->h.data = d;
    }
    if (uv_fs_event_start(&d->h, on_dir_event, d->path, 0) == 0)
        d->started = 1; /* a folder that does not exist yet: the poll, and a retry there */
}

static void watch_dir_of(follow *f, const char *path)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (has_glob(dir))
        return; /* a glob in the folder part: polled only */
    for (size_t i = 0; i < f->ndirs; i++)
        if (strcmp(f->dirs[i].path, dir) == 0)
            return;
    if (f->ndirs >= FOLLOW_MAX_DIRS)
        return;
    fdir *d = &f->dirs[f->ndirs++];
    snprintf(d->path, sizeof d->path, "%s", dir);
    d->f = f;
    watch_start(f, d);
}

static void on_poll(uv_timer_t *t)
{
    follow *f = t->data;
    for (size_t i = 0; i < f->ndirs; i++)
        watch_start(f, &f->dirs[i]);
    scan_and_rearm(f);
}

/* ---- life cycle ----------------------------------------------------------------------- */

int follow_new(uv_loop_t *loop, const follow_opts *o, follow **out, char *err, size_t errlen)
{
    *out = NULL;
    int want_journal = o->journal_unit && o->journal_unit[0];
    if (o->npaths == 0 && !want_journal)
        return 0;
    if (o->npaths > FOLLOW_MAX_PATTERNS) {
        snprintf(err, errlen, "more than %d log files to follow", FOLLOW_MAX_PATTERNS);
        return ERR_RANGE;
    }
    follow *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    f->loop = loop;
    f->poll_ms = o->poll_ms ? o->poll_ms : 1000;
    f->line_cap = o->line_cap ? o->line_cap : LOGFOLLOW_LINE_DEFAULT;
    f->copy = o->copy;
    f->on_line = o->on_line;
    f->ud = o->ud;
    for (size_t i = 0; i < o->npaths; i++) {
        if (strlen(o->paths[i]) >= PATH_MAX || !o->paths[i][0]) {
            snprintf(err, errlen, "cannot follow '%.200s': empty or too long a path", o->paths[i]);
            free(f);
            return ERR_RANGE;
        }
        snprintf(f->pats[f->npats++], PATH_MAX, "%s", o->paths[i]);
    }
    uv_timer_init(loop, &f->poll);
    uv_timer_init(loop, &f->kick);
    f->poll.data = f->kick.data = f;
    f->timers_inited = 1;
    f->initial = 1;
    expand(f);
    for (size_t i = 0; i < f->n; i++)
        fe_scan(f, f->e[i], FOLLOW_READ_PER_WAKEUP); /* opens what exists, at its end */
    f->initial = 0;
    for (size_t i = 0; i < f->npats; i++) /* folders of globs without a match yet */
        if (has_glob(f->pats[i]))
            watch_dir_of(f, f->pats[i]);
    uv_timer_start(&f->poll, on_poll, f->poll_ms, f->poll_ms);
    if (want_journal) {
        int rc = journal_start_helpers(loop, o->journal_unit, o->journalctl, o->helpers, jr_on_line,
                                       f, &f->jr, err, errlen);
        if (rc) {
            follow_stop(f); /* f->jr (if set) is freed with f */
            *out = f;       /* the handles close on the loop; the caller frees after it ran */
            return rc;
        }
    }
    *out = f;
    return 0;
}

static void closed_cb(uv_handle_t *h)
{
    (void)h;
}

void follow_stop(follow *f)
{
    if (!f || f->stopped)
        return;
    /* what was written before the stop: read to the end (bounded), partial lines too */
    for (int r = 0; r < FOLLOW_STOP_ROUNDS; r++) {
        int more = 0;
        expand(f);
        for (size_t i = 0; i < f->n; i++) {
            fe_scan(f, f->e[i], FOLLOW_READ_PER_WAKEUP);
            more |= f->e[i]->more;
        }
        if (!more)
            break;
    }
    f->stopped = 1;
    for (size_t i = 0; i < f->n; i++) {
        fentry *e = f->e[i];
        logfollow_flush(&e->lf);
        if (e->fd >= 0)
            close(e->fd);
        e->fd = -1;
    }
    journal_stop(f->jr);
    if (f->timers_inited) {
        uv_timer_stop(&f->poll);
        uv_timer_stop(&f->kick);
        uv_close((uv_handle_t *)&f->poll, closed_cb);
        uv_close((uv_handle_t *)&f->kick, closed_cb);
    }
    for (size_t i = 0; i < f->ndirs; i++)
        if (f->dirs[i].inited) {
            uv_fs_event_stop(&f->dirs[i].h);
            uv_close((uv_handle_t *)&f->dirs[i].h, closed_cb);
        }
}

void follow_free(follow *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        logfollow_free(&f->e[i]->lf);
        free(f->e[i]);
    }
    journal_free(f->jr);
    free(f);
}

int follow_metrics(const follow *f, sbuf *b)
{
    if (!f)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *l[] = {"stream", f->e[i]->stream, NULL};
        rc |= promtext_sample(b, "soak_log_lines_total", l, (double)f->e[i]->lf.st.lines);
    }
    if (f->jr) {
        const char *l[] = {"stream", journal_stream(f->jr), NULL};
        rc |= promtext_sample(b, "soak_log_lines_total", l, (double)f->jr_lines);
    }
    return rc ? -1 : 0;
}

size_t follow_files(const follow *f, follow_file_info *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; f && i < f->n && k < max; i++, k++) {
        const fentry *e = f->e[i];
        snprintf(out[k].stream, sizeof out[k].stream, "%s", e->stream);
        out[k].lines = e->lf.st.lines;
        out[k].rotations = e->lf.st.rotations;
        out[k].truncations = e->lf.st.truncations;
        out[k].open = e->fd >= 0;
        out[k].recovered = e->recovered;
    }
    return k;
}

uint64_t follow_skipped(const follow *f)
{
    return f ? f->skipped : 0;
}
