/* logscan: the soak log lines before each of soak's notes. See logscan.h. */
#include "logscan.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "errcode.h"

#define LOGSCAN_MAX_FILES   4096 /* log files looked at */
#define LOGSCAN_MATCH_SLACK 30.0 /* s between an event and its note in the log */

/* "YYYY-mm-ddTHH:MM:SS" (at least 19 characters) to Unix seconds, or -1. */
double logscan_parse_iso(const char *s, size_t n)
{
    static const int pos[6] = {0, 5, 8, 11, 14, 17};
    static const int len[6] = {4, 2, 2, 2, 2, 2};
    int v[6];
    if (n < 19)
        return -1;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < len[i]; k++) {
            char ch = s[pos[i] + k];
            if (ch < '0' || ch > '9')
                return -1;
            v[i] = v[i] * 10 + (ch - '0');
        }
    }
    struct tm tm = {0};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    double t = (double)timegm(&tm);
    if (n >= 23 && s[19] == '.' && s[20] >= '0' && s[20] <= '9')
        t += (s[20] - '0') / 10.0 + (s[21] - '0') / 100.0 + (s[22] - '0') / 1000.0;
    return t;
}

/* Time in a rotated file name "soak-YYYYmmddTHHMMSS.mmmZ..." (when the file was cut), or
 * +inf when it has none (the current soak.log). */
static double rotated_time(const char *name)
{
    char iso[24];
    const char *p = name + 5;
    if (strncmp(name, "soak-", 5) || strlen(p) < 15)
        return INFINITY;
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", p, p + 4, p + 6, p + 9, p + 11,
             p + 13);
    double t = logscan_parse_iso(iso, strlen(iso));
    return t < 0 ? INFINITY : t;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The log files of DIR oldest first: rotated soak-*.log[.gz], then soak.log. */
static int list_logs(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **v = calloc(LOGSCAN_MAX_FILES + 1, sizeof *v);
    int n = 0;
    struct dirent *de;
    while (v && n < LOGSCAN_MAX_FILES && (de = readdir(d))) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        int rotated = !strncmp(nm, "soak-", 5) && ((l > 9 && !strcmp(nm + l - 4, ".log")) ||
                                                   (l > 12 && !strcmp(nm + l - 7, ".log.gz")));
        if (!rotated)
            continue;
        if ((v[n] = strdup(nm)))
            n++;
    }
    closedir(d);
    if (!v)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    /* a file being compressed can exist as X.log and X.log.gz at once: keep the plain one */
    int m = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (m > 0 && l > 3 && !strcmp(v[i] + l - 3, ".gz") && strlen(v[m - 1]) == l - 3 &&
            !strncmp(v[m - 1], v[i], l - 3)) {
            free(v[i]);
            continue;
        }
        v[m++] = v[i];
    }
    if ((v[m] = strdup("soak.log")))
        m++;
    *out = v;
    return m;
}

typedef struct ring {
    char lines[LOGSCAN_CTX_LINES][LOGSCAN_LINE_SHOW];
    int head, n;
} ring;

static void ring_push(ring *g, const char *s)
{
    snprintf(g->lines[g->head], LOGSCAN_LINE_SHOW, "%s", s);
    g->head = (g->head + 1) % LOGSCAN_CTX_LINES;
    if (g->n < LOGSCAN_CTX_LINES)
        g->n++;
}

/* Does this line (without its newline) carry crash c's note "TS soak KIND: DETAIL"? */
static int is_note_of(const char *line, const logscan_note *c)
{
    const char *sp = strchr(line, ' ');
    if (!sp || strncmp(sp + 1, "soak ", 5))
        return 0;
    const char *p = sp + 6;
    size_t kl = strlen(c->kind);
    if (strncmp(p, c->kind, kl) || p[kl] != ':' || p[kl + 1] != ' ')
        return 0;
    p += kl + 2;
    /* the detail stored here may have been cut at sizeof detail - 1 bytes */
    size_t dl = strlen(c->detail);
    return !strncmp(p, c->detail, dl) && (dl == sizeof c->detail - 1 || p[dl] == '\0');
}

/* Reads one file line by line, filling the context of pending crashes. *next is the first
 * crash still looked for. Lines longer than the buffer are kept cut. */
static void scan_file(const char *dir, logscan_note *notes, int nnotes, const char *name, ring *g,
                      int *next)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile z = gzopen(path, "rb");
    if (!z)
        return;
    gzbuffer(z, 1 << 16);
    char buf[LOGSCAN_LINE_SHOW];
    int in_long = 0; /* the rest of a line longer than buf: skipped */
    while (*next < nnotes && gzgets(z, buf, sizeof buf)) {
        size_t l = strlen(buf);
        int whole = l > 0 && buf[l - 1] == '\n';
        if (whole)
            buf[--l] = '\0';
        if (in_long) {
            in_long = !whole;
            continue;
        }
        in_long = !whole && !gzeof(z);
        double t = logscan_parse_iso(buf, l);
        /* notes not found near their time are given up on (log deleted, or not written) */
        while (*next < nnotes && t > 0 && t > notes[*next].t + LOGSCAN_MATCH_SLACK)
            (*next)++;
        if (*next < nnotes && is_note_of(buf, &notes[*next])) {
            logscan_note *c = &notes[*next];
            c->found = 1;
            snprintf(c->file, sizeof c->file, "%s", name);
            for (int i = 0; i < g->n; i++)
                snprintf(c->lines[i], LOGSCAN_LINE_SHOW, "%s",
                         g->lines[(g->head - g->n + i + LOGSCAN_CTX_LINES) % LOGSCAN_CTX_LINES]);
            snprintf(c->lines[g->n], LOGSCAN_LINE_SHOW, "%s", buf);
            c->nlines = g->n;
            (*next)++;
        }
        ring_push(g, buf);
    }
    gzclose(z);
}

/* Finds each shown crash's note in the logs. Only the files around a crash's time are read
 * (a rotated file's name holds the time it was cut), so a week of logs costs no more than
 * the files that matter. */
int logscan_find(const char *dir, logscan_note *notes, int nnotes)
{
    if (nnotes <= 0)
        return 0;
    char **files = NULL;
    int nf = list_logs(dir, &files);
    if (nf == 0)
        return 0;
    ring *g = calloc(1, sizeof *g);
    unsigned char *need = calloc((size_t)nf + 1, 1);
    int rc = g && need ? 0 : ERR_NOMEM;
    if (g && need) {
        for (int i = 0; i < nf; i++) {
            double from = i > 0 ? rotated_time(files[i - 1]) : -INFINITY;
            double to = rotated_time(files[i]);
            if (!isfinite(from) && i > 0)
                from = -INFINITY;
            for (int k = 0; k < nnotes; k++)
                if (notes[k].t > from - 60 && notes[k].t <= to + 60)
                    need[i] = 1;
        }
        int next = 0;
        for (int i = 0; i < nf && next < nnotes; i++) {
            if (need[i] || need[i + 1])
                scan_file(dir, notes, nnotes, files[i], g, &next);
            else
                g->n = g->head = 0; /* the context does not span a skipped file */
        }
    }
    free(need);
    free(g);
    for (int i = 0; i < nf; i++)
        free(files[i]);
    free(files);
    return rc;
}
