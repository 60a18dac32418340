/*
 * csvseries: import a memory series recorded by another tool (psrecord, or any CSV with
 * elapsed_s and rss_bytes). See csvseries.h for the formats.
 *
 * One pass over the text: the first non-empty line decides the format and where the columns
 * are; every later line is one row, kept or skipped (and counted). Numbers go through a fast
 * exact path for plain decimals (at most 15 digits, no exponent: the integer mantissa and the
 * power of ten are both exact doubles, so one division rounds correctly, the same result as
 * strtod) and through strtod on a bounded copy otherwise. A million rows parse in well under
 * a second. The arrays grow geometrically up to CSVSERIES_MAX_ROWS.
 */
#include "csvseries.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"

#define LINE_MAX_BYTES (64 * 1024)
#define MIB            1048576.0
#define NO_COL         SIZE_MAX

/* Where the columns of a row are, for the format found in the header. */
typedef struct layout {
    csvseries_format format;
    char sep;     /* ',' or 0 for runs of white space */
    size_t ncols; /* a row must have exactly this many fields */
    size_t t, rss, cpu, pss;
    double rss_scale;
} layout;

/* Writes the message (err may be NULL) and returns code, a negative ERR_*. */
__attribute__((format(printf, 4, 5))) static int fail(int code, char *err, size_t errlen,
                                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims white space and one pair of surrounding double quotes. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
    if (*e - *b >= 2 && **b == '"' && (*e)[-1] == '"') {
        (*b)++;
        (*e)--;
    }
}

static int field_is(const char *b, const char *e, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(e - b) == n && memcmp(b, name, n) == 0;
}

/* Parses [b, e) as a finite decimal number (no hex, inf, nan). Returns 0 or ERR_PARSE. */
static int parse_number(const char *b, const char *e, double *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = b;
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    uint64_t m = 0;
    int digits = 0, frac = 0, dot = 0;
    for (; p < e; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t)(*p - '0');
            digits++;
            frac += dot;
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
        if (digits > 15)
            break;
    }
    if (p == e) {
        if (digits == 0)
            return ERR_PARSE;
        double v = (double)m / pow10[frac];
        *out = neg ? -v : v;
        return 0;
    }
    /* slow path: exponents and long mantissas; only number characters reach strtod */
    char buf[64];
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= sizeof buf)
        return ERR_PARSE;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return ERR_PARSE;
    }
    memcpy(buf, b, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return ERR_PARSE;
    *out = v;
    return 0;
}

/* Splits [b, e) into fields: by sep, or by runs of white space when sep is 0. Calls each
 * field's [fb, fe) with its index; returns the number of fields. */
typedef struct cursor {
    const char *p, *e;
    char sep;
    int done;
} cursor;

static int next_field(cursor *c, const char **fb, const char **fe)
{
    if (c->done)
        return 0;
    if (c->sep) {
        const char *s = c->p;
        const char *q = memchr(s, c->sep, (size_t)(c->e - s));
        if (!q) {
            q = c->e;
            c->done = 1;
        }
        c->p = q + (q < c->e);
        *fb = s;
        *fe = q;
        trim(fb, fe);
        return 1;
    }
    while (c->p < c->e && is_blank(*c->p))
        c->p++;
    if (c->p == c->e) {
        c->done = 1;
        return 0;
    }
    *fb = c->p;
    while (c->p < c->e && !is_blank(*c->p))
        c->p++;
    *fe = c->p;
    return 1;
}

/* Titles of psrecord's plain log header, all versions (--include-io, --include-dir, --uss). */
static const char *const log_titles[] = {
    "Elapsed time", "CPU (%)",     "Real (MB)",  "Virtual (MB)", "Swap (MB)",     "USS (MB)",
    "Read count",   "Write count", "Read bytes", "Write bytes",  "Dir size (MB)",
};

static int find_in(const char *b, const char *e, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = b; p + n <= e; p++)
        if (memcmp(p, s, n) == 0)
            return 1;
    return 0;
}

/* Reads the header line [b, e) into *lo. Returns 0, or ERR_PARSE with a message. */
static int read_header(const char *b, const char *e, const char *name, layout *lo, char *err,
                       size_t errlen)
{
    const char *in = name ? " in '" : "";
    const char *nm = name ? name : "";
    const char *q = name ? "'" : "";
    memset(lo, 0, sizeof *lo);
    lo->t = lo->rss = lo->cpu = lo->pss = NO_COL;

    const char *p = b;
    if (p < e && *p == '#') {
        p++;
        while (p < e && is_blank(*p))
            p++;
        if ((size_t)(e - p) >= 12 && memcmp(p, "Elapsed time", 12) == 0) {
            lo->format = CSV_PSRECORD_LOG;
            lo->sep = 0;
            /* psrecord writes 4 columns, more with --include-io and friends; the first four
             * are always elapsed time, CPU, real and virtual memory */
            size_t k = 0;
            for (size_t i = 0; i < sizeof log_titles / sizeof log_titles[0]; i++)
                k += (size_t)find_in(p, e, log_titles[i]);
            lo->ncols = k < 4 ? 4 : k;
            lo->t = 0;
            lo->cpu = 1;
            lo->rss = 2;
            lo->rss_scale = MIB;
            return 0;
        }
    }

    /* a CSV header: find the columns by name */
    size_t et = NO_COL, mr = NO_COL, cpu = NO_COL, es = NO_COL, rb = NO_COL, cp = NO_COL,
           pb = NO_COL, i = 0;
    cursor c = {b, e, ',', 0};
    const char *fb, *fe;
    for (; next_field(&c, &fb, &fe); i++) {
#define COL(var, text)                                                                             \
    if (var == NO_COL && field_is(fb, fe, text))                                                   \
    var = i
        COL(et, "elapsed_time");
        COL(mr, "mem_real");
        COL(cpu, "cpu");
        COL(es, "elapsed_s");
        COL(rb, "rss_bytes");
        COL(cp, "cpu_percent");
        COL(pb, "pss_bytes");
#undef COL
    }
    lo->sep = ',';
    lo->ncols = i;
    if (et != NO_COL && mr != NO_COL) {
        lo->format = CSV_PSRECORD_CSV;
        lo->t = et;
        lo->rss = mr;
        lo->cpu = cpu;
        lo->rss_scale = MIB;
        return 0;
    }
    if (es != NO_COL && rb != NO_COL) {
        lo->format = CSV_PLAIN;
        lo->t = es;
        lo->rss = rb;
        lo->cpu = cp;
        lo->pss = pb;
        lo->rss_scale = 1;
        return 0;
    }
    if (es != NO_COL || rb != NO_COL)
        return fail(ERR_PARSE, err, errlen,
                    "missing column '%s'%s%s%s: a CSV needs elapsed_s and rss_bytes",
                    es == NO_COL ? "elapsed_s" : "rss_bytes", in, nm, q);
    return fail(ERR_PARSE, err, errlen,
                "unknown header%s%s%s: expected psrecord's CSV (elapsed_time,...,mem_real,...) or "
                "log ('# Elapsed time ...'), or a CSV with columns elapsed_s and rss_bytes",
                in, nm, q);
}

typedef struct builder {
    csvseries *s;
    size_t cap;
} builder;

/* Makes room for one more row. Returns 0, 1 at the row cap, or ERR_NOMEM. */
static int reserve(builder *bd)
{
    csvseries *s = bd->s;
    if (s->n < bd->cap)
        return 0;
    if (bd->cap >= CSVSERIES_MAX_ROWS)
        return 1;
    size_t cap = bd->cap ? bd->cap * 2 : 4096;
    if (cap > CSVSERIES_MAX_ROWS)
        cap = CSVSERIES_MAX_ROWS;
    double **arrays[] = {&s->t, &s->rss, &s->cpu, &s->pss};
    for (size_t i = 0; i < 4; i++) {
        double *a = realloc(*arrays[i], cap * sizeof(double));
        if (!a)
            return ERR_NOMEM; /* the arrays grown so far stay valid, and bd->cap is unchanged */
        *arrays[i] = a;
    }
    bd->cap = cap;
    return 0;
}

/* Parses one data row [b, e). Returns 0 and fills the values, or ERR_PARSE to skip it. */
static int parse_row(const layout *lo, const char *b, const char *e, double *t, double *rss,
                     double *cpu, double *pss)
{
    *cpu = *pss = NAN;
    int have_t = 0, have_rss = 0;
    size_t i = 0;
    cursor c = {b, e, lo->sep, 0};
    const char *fb, *fe;
    for (; next_field(&c, &fb, &fe); i++) {
        if (i >= lo->ncols)
            return ERR_PARSE;
        double *dst = i == lo->t     ? t
                      : i == lo->rss ? rss
                      : i == lo->cpu ? cpu
                      : i == lo->pss ? pss
                                     : NULL;
        if (!dst)
            continue;
        if (fb == fe && (dst == cpu || dst == pss))
            continue; /* an optional value left empty: absent in this row */
        if (parse_number(fb, fe, dst))
            return ERR_PARSE;
        have_t |= dst == t;
        have_rss |= dst == rss;
    }
    if (i != lo->ncols || !have_t || !have_rss)
        return ERR_PARSE;
    *rss *= lo->rss_scale;
    if (!isfinite(*rss) || *rss < 0 || *cpu < 0 || *pss < 0) /* NaN < 0 is false: absent ok */
        return ERR_PARSE;
    return 0;
}

/* The parse of one input, line by line: the header, then rows handed to row(). */
typedef struct pstate {
    const char *name;
    layout lo;
    int have_header;
    double last_t;
    double first_t; /* of the first kept row */
    double now_s;   /* the wall clock when the parse began, for csvseries_time_ok */
    csvseries_info info;
    int (*row)(void *ud, const csvseries_row *r);
    void *ud;
    char *err;
    size_t errlen;
} pstate;

/* One line [b, e) (without its newline); cut: it was longer than the buffer and only its start
 * is here. Returns 0, ERR_PARSE with the message set (a bad header), or row()'s non-zero
 * value. */
static int feed_line(pstate *ps, const char *b, const char *e, int cut)
{
    const char *in = ps->name ? " in '" : "";
    const char *nm = ps->name ? ps->name : "";
    const char *q = ps->name ? "'" : "";
    int too_long = cut || e - b > LINE_MAX_BYTES; /* counted before trimming */
    while (e > b && is_blank(e[-1]))
        e--;
    while (b < e && is_blank(*b))
        b++;
    if (b == e && !too_long)
        return 0; /* blank lines are not rows */
    if (!ps->have_header) {
        if (too_long)
            return fail(ERR_PARSE, ps->err, ps->errlen,
                        "unknown header%s%s%s: first line longer than %d bytes", in, nm, q,
                        LINE_MAX_BYTES);
        int rc = read_header(b, e, ps->name, &ps->lo, ps->err, ps->errlen);
        if (rc)
            return rc;
        ps->have_header = 1;
        return 0;
    }
    csvseries_row r;
    if (too_long || parse_row(&ps->lo, b, e, &r.t, &r.rss, &r.cpu, &r.pss) ||
        !(r.t >= ps->last_t) || ps->info.n >= CSVSERIES_MAX_ROWS) {
        ps->info.skipped++;
        return 0;
    }
    if (!csvseries_time_ok(r.t, ps->info.n ? ps->first_t : r.t, ps->now_s)) {
        ps->info.skipped++;
        ps->info.skipped_time++;
        return 0;
    }
    int rc = ps->row(ps->ud, &r);
    if (rc)
        return rc;
    if (ps->info.n == 0)
        ps->first_t = r.t;
    ps->info.n++;
    ps->info.has_cpu |= !isnan(r.cpu);
    ps->info.has_pss |= !isnan(r.pss);
    ps->last_t = r.t;
    return 0;
}

int csvseries_time_ok(double t, double first_t, double now_s)
{
    if (!isfinite(t) || !isfinite(first_t) || fabs(t - first_t) > CSVSERIES_MAX_SPAN_S)
        return 0;
    if (fabs(t) <= CSVSERIES_MAX_SPAN_S)
        return 1;                                                         /* elapsed seconds */
    return t >= CSVSERIES_EPOCH_MIN_S && t <= now_s + CSVSERIES_FUTURE_S; /* Unix time */
}

static void pstate_init(pstate *ps, const char *name, int (*row)(void *, const csvseries_row *),
                        void *ud, char *err, size_t errlen)
{
    memset(ps, 0, sizeof *ps);
    ps->name = name;
    ps->last_t = -INFINITY;
    ps->row = row;
    ps->ud = ud;
    ps->err = err;
    ps->errlen = errlen;
    ps->info.format = CSV_PLAIN;
    ps->now_s = (double)time(NULL);
    if (err && errlen)
        err[0] = '\0';
}

/* After the last line: the format, and the error of an input without a usable row
 * (ERR_NODATA). */
static int pstate_finish(pstate *ps)
{
    const char *in = ps->name ? " in '" : "";
    const char *nm = ps->name ? ps->name : "";
    const char *q = ps->name ? "'" : "";
    ps->info.format = ps->have_header ? ps->lo.format : CSV_PLAIN;
    if (ps->info.n > 0)
        return 0;
    if (!ps->have_header)
        return fail(ERR_NODATA, ps->err, ps->errlen, "no usable row%s%s%s (the input is empty)", in,
                    nm, q);
    return fail(ERR_NODATA, ps->err, ps->errlen, "no usable row%s%s%s (%zu rows skipped)", in, nm,
                q, ps->info.skipped);
}

/* row() of csvseries_parse: into the arrays. */
static int keep_row(void *ud, const csvseries_row *r)
{
    builder *bd = ud;
    int rc = reserve(bd);
    if (rc != 0)
        return ERR_NOMEM; /* the row cap is checked before: only memory fails here */
    csvseries *out = bd->s;
    size_t i = out->n++;
    out->t[i] = r->t;
    out->rss[i] = r->rss;
    out->cpu[i] = r->cpu;
    out->pss[i] = r->pss;
    return 0;
}

int csvseries_parse_named(const char *text, size_t len, const char *name, csvseries *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = text ? text : "", *end = p + (text ? len : 0);
    if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* UTF-8 byte order mark */
    builder bd = {out, 0};
    pstate ps;
    pstate_init(&ps, name, keep_row, &bd, err, errlen);
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        rc = feed_line(&ps, b, e, 0);
    }
    if (rc == ERR_NOMEM) {
        csvseries_free(out);
        return fail(ERR_NOMEM, err, errlen, "out of memory reading%s%s%s", name ? " '" : "",
                    name ? name : "", name ? "'" : "");
    }
    if (rc == 0)
        rc = pstate_finish(&ps);
    if (rc) {
        csvseries_free(out);
        out->skipped = ps.info.skipped;
        out->skipped_time = ps.info.skipped_time;
        return rc;
    }
    out->skipped = ps.info.skipped;
    out->skipped_time = ps.info.skipped_time;
    out->format = ps.info.format;
    out->has_cpu = ps.info.has_cpu;
    out->has_pss = ps.info.has_pss;
    return 0;
}

/* Opens path to read it (not a folder). Returns the descriptor, or with the message ERR_NOENT
 * (no such file) or ERR_IO (cannot open it, a folder). */
static int open_input(const char *path, struct stat *st, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return fail(e == ENOENT ? ERR_NOENT : ERR_IO, err, errlen, "cannot open '%s': %s", path,
                    strerror(e));
    }
    if (fstat(fd, st) != 0 || S_ISDIR(st->st_mode)) {
        int e = S_ISDIR(st->st_mode) ? EISDIR : errno;
        close(fd);
        return fail(ERR_IO, err, errlen, "cannot read '%s': %s", path, strerror(e));
    }
    return fd;
}

int csvseries_stream(const char *path, int (*row)(void *ud, const csvseries_row *r), void *ud,
                     csvseries_info *info, char *err, size_t errlen)
{
    struct stat st;
    int fd = open_input(path, &st, err, errlen);
    if (fd < 0)
        return fd;
    /* a window of STREAM_CHUNK bytes plus one whole line carried over from the last read */
    enum { STREAM_CHUNK = 1 << 20 };
    size_t cap = STREAM_CHUNK + LINE_MAX_BYTES + 2;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return fail(ERR_NOMEM, err, errlen, "cannot read '%s': out of memory", path);
    }
    pstate ps;
    pstate_init(&ps, path, row, ud, err, errlen);
    size_t len = 0; /* bytes in buf: the start of a line not yet complete */
    int cut = 0;    /* that line was longer than the buffer: its start was handed over */
    int first = 1, rc = 0, eof = 0;
    while (rc == 0 && !eof) {
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = fail(ERR_IO, err, errlen, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        eof = k == 0;
        len += (size_t)k;
        char *p = buf, *end = buf + len;
        if (first && len >= 3) {
            if (memcmp(p, "\xef\xbb\xbf", 3) == 0)
                p += 3; /* UTF-8 byte order mark */
            first = 0;
        }
        while (rc == 0 && p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl && !eof)
                break;
            char *e = nl ? nl : end;
            if (!cut)
                rc = feed_line(&ps, p, e, 0);
            cut = 0; /* the rest of a cut line ends here */
            p = nl ? nl + 1 : end;
        }
        len = (size_t)(end - p);
        if (rc == 0 && len > LINE_MAX_BYTES) {
            /* a line longer than a line may be: a skipped row (or a bad header), the rest of
             * it is dropped up to its newline */
            if (!cut)
                rc = feed_line(&ps, p, p + len, 1);
            cut = 1;
            len = 0;
        } else if (len) {
            memmove(buf, p, len);
        }
    }
    close(fd);
    free(buf);
    if (rc == 0)
        rc = pstate_finish(&ps);
    if (info)
        *info = ps.info;
    return rc;
}

int csvseries_parse(const char *text, size_t len, csvseries *out, char *err, size_t errlen)
{
    return csvseries_parse_named(text, len, NULL, out, err, errlen);
}

int csvseries_load(const char *path, csvseries *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    int fd = open_input(path, &st, err, errlen);
    if (fd < 0)
        return fd;
    /* Read it whole: regular files in one allocation of their size, pipes by doubling. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    if (cap > CSVSERIES_MAX_FILE + 1)
        cap = CSVSERIES_MAX_FILE + 1;
    char *buf = malloc(cap);
    size_t len = 0;
    int rc = 0;
    while (buf) {
        if (len == cap) {
            if (cap > CSVSERIES_MAX_FILE) {
                rc = fail(ERR_FULL, err, errlen, "cannot read '%s': larger than %llu bytes", path,
                          (unsigned long long)CSVSERIES_MAX_FILE);
                break;
            }
            size_t ncap = cap * 2 > CSVSERIES_MAX_FILE + 1 ? CSVSERIES_MAX_FILE + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = fail(ERR_IO, err, errlen, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    if (!buf)
        return fail(ERR_NOMEM, err, errlen, "cannot read '%s': out of memory", path);
    if (rc == 0)
        rc = csvseries_parse_named(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

void csvseries_free(csvseries *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->rss);
    free(s->cpu);
    free(s->pss);
    memset(s, 0, sizeof *s);
}
