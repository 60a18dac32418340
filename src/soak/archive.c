/* archive: a run folder as .tar.gz (ustar by hand, gzip by zlib). See archive.h. */
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "errcode.h"
#include "runlock.h"
#include "store.h"

#define ARCHIVE_DEPTH 4 /* subfolder levels followed */
#define TAR_BLOCK     512

const char *const archive_policy_names[] = {"never", "on-interrupt", "always", NULL};

int archive_wanted(archive_policy p, int interrupted)
{
    return p == ARCHIVE_ALWAYS || (p == ARCHIVE_ON_INTERRUPT && interrupted);
}

void archive_default_path(const char *dir, time_t t, char *out, size_t n)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    struct tm tm;
    char ts[32];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, n, "%s%ssoak-artifacts-%s.tar.gz", parent,
             parent[strlen(parent) - 1] == '/' ? "" : "/", ts);
}

typedef struct arch {
    gzFile gz;
    char top[NAME_MAX + 1]; /* the top folder's name in the archive */
    size_t nfiles;
    char *err;
    size_t errlen;
} arch;

static int arch_gzwrite(arch *a, const void *p, size_t n)
{
    if (n && gzwrite(a->gz, p, (unsigned)n) != (int)n) {
        int ze;
        const char *m = gzerror(a->gz, &ze);
        snprintf(a->err, a->errlen, "cannot write the archive: %s",
                 ze == Z_ERRNO ? strerror(errno) : m);
        return ERR_IO;
    }
    return 0;
}

static void tar_octal(char *field, size_t width, unsigned long long v)
{
    /* width - 1 octal digits and a NUL */
    snprintf(field, width, "%0*llo", (int)(width - 1), v);
}

/* One ustar header for name (relative, under the top folder). */
static int tar_header(arch *a, const char *name, char type, unsigned mode, unsigned long long size,
                      time_t mtime)
{
    unsigned char h[TAR_BLOCK];
    char full[PATH_MAX];
    memset(h, 0, sizeof h);
    snprintf(full, sizeof full, "%s%s%s%s", a->top, name[0] ? "/" : "", name,
             type == '5' ? "/" : "");
    size_t len = strlen(full);
    if (len <= 100) {
        memcpy(h, full, len);
    } else {
        /* prefix (155) '/' name (100): split at a slash */
        const char *cut = NULL;
        for (const char *p = full; *p; p++)
            if (*p == '/' && (size_t)(p - full) <= 155 && len - (size_t)(p - full) - 1 <= 100 &&
                p[1])
                cut = p;
        if (!cut) {
            snprintf(a->err, a->errlen, "cannot archive '%s': name too long for ustar", full);
            return ERR_FULL;
        }
        memcpy(h + 345, full, (size_t)(cut - full));
        memcpy(h, cut + 1, len - (size_t)(cut - full) - 1);
    }
    tar_octal((char *)h + 100, 8, mode & 07777);
    tar_octal((char *)h + 108, 8, (unsigned long long)getuid());
    tar_octal((char *)h + 116, 8, (unsigned long long)getgid());
    tar_octal((char *)h + 124, 12, size);
    tar_octal((char *)h + 136, 12, (unsigned long long)(mtime > 0 ? mtime : 0));
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6); /* with its NUL */
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum); /* six digits, NUL, and the space stays */
    h[155] = ' ';
    return arch_gzwrite(a, h, sizeof h);
}

/* Adds the file at path as name: exactly the size it had when opened (zeros if it shrank). */
static int tar_file(arch *a, const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) /* gone since the folder was listed (a rotated log) */
            return 0;
        snprintf(a->err, a->errlen, "cannot read '%s': %s", path, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        snprintf(a->err, a->errlen, "cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        return ERR_IO;
    }
    if (st.st_size > ARCHIVE_MAX_FILE) {
        snprintf(a->err, a->errlen, "cannot archive '%s': larger than 8 GiB", path);
        fclose(f);
        return ERR_FULL;
    }
    if (++a->nfiles > ARCHIVE_MAX_FILES) {
        snprintf(a->err, a->errlen, "cannot archive '%s': more than %d files", path,
                 ARCHIVE_MAX_FILES);
        fclose(f);
        return ERR_FULL;
    }
    unsigned long long size = (unsigned long long)st.st_size, done = 0;
    int rc = tar_header(a, name, '0', (unsigned)st.st_mode, size, st.st_mtime);
    static char buf[65536];
    while (rc == 0 && done < size) {
        size_t want = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
        size_t got = fread(buf, 1, want, f);
        if (got < want) {
            if (ferror(f)) {
                snprintf(a->err, a->errlen, "cannot read '%s': %s", path, strerror(errno));
                rc = ERR_IO;
                break;
            }
            memset(buf + got, 0, want - got); /* it shrank: keep the size the header says */
        }
        rc = arch_gzwrite(a, buf, want);
        done += want;
    }
    fclose(f);
    if (rc == 0 && size % TAR_BLOCK) {
        static const char zeros[TAR_BLOCK];
        rc = arch_gzwrite(a, zeros, TAR_BLOCK - size % TAR_BLOCK);
    }
    return rc;
}

/* A consistent copy of the database at src into dst (online backup, then one file). */
static int archive_db_copy(const char *src, const char *dst, char *err, size_t errlen)
{
    char why[256];
    sqlite3 *from = store_open_reader(src, why, sizeof why), *to = NULL;
    if (!from) {
        snprintf(err, errlen, "cannot read '%s': %s", src, why);
        return ERR_IO;
    }
    sqlite3_busy_timeout(from, 5000);
    int rc = sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
        if (!b)
            rc = sqlite3_errcode(to);
        else {
            do {
                rc = sqlite3_backup_step(b, -1);
                if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                    sqlite3_sleep(20);
            } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
            rc = sqlite3_backup_finish(b);
        }
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "cannot copy '%s': %s", src,
                 to ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
    sqlite3_close(to);
    sqlite3_close(from);
    return rc == SQLITE_OK ? 0 : ERR_IO;
}

static int archive_skip(const char *name)
{
    size_t n = strlen(name);
    return !strcmp(name, "samples.db-wal") || !strcmp(name, "samples.db-shm") ||
           !strcmp(name, RUNLOCK_FILE) || (n > 4 && !strcmp(name + n - 4, ".tmp")) ||
           !strncmp(name, ".archive-", 9);
}

static int names_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Adds every file under path (rel: its name in the archive, "" for the top). */
static int tar_tree(arch *a, const char *path, const char *rel, const char *skip_abs, int depth)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(a->err, a->errlen, "cannot read '%s': %s", path, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR ? ERR_NOENT : ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n >= ARCHIVE_MAX_FILES) {
            snprintf(a->err, a->errlen, "cannot archive '%s': more than %d files", path,
                     ARCHIVE_MAX_FILES);
            rc = ERR_FULL;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = ERR_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == ERR_NOMEM)
        snprintf(a->err, a->errlen, "cannot archive '%s': out of memory", path);
    if (n > 1)
        qsort(names, n, sizeof *names, names_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char p[PATH_MAX], r[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        if (lstat(p, &st) != 0 || (skip_abs && !strcmp(p, skip_abs)))
            continue;
        if (depth == 0 && archive_skip(names[i]))
            continue;
        if (S_ISDIR(st.st_mode) && depth < ARCHIVE_DEPTH) {
            rc = tar_header(a, r, '5', (unsigned)st.st_mode, 0, st.st_mtime);
            if (rc == 0)
                rc = tar_tree(a, p, r, skip_abs, depth + 1);
        } else if (S_ISREG(st.st_mode) && !(depth == 0 && !strcmp(names[i], "samples.db"))) {
            rc = tar_file(a, p, r);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int archive_write(const char *dir, const char *out_path, char *written, size_t wlen, char *err,
                  size_t errlen)
{
    char abs[PATH_MAX], out[PATH_MAX], tmp[PATH_MAX + 8], dbcopy[PATH_MAX + 64];
    struct stat st;
    errno = 0;
    if (!realpath(dir, abs) || stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot archive '%s': %s", dir,
                 errno ? strerror(errno) : "not a folder");
        return ERR_NOENT;
    }
    if (out_path)
        snprintf(out, sizeof out, "%s", out_path);
    else
        archive_default_path(abs, time(NULL), out, sizeof out);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    arch a = {.err = err, .errlen = errlen};
    const char *base = strrchr(abs, '/');
    snprintf(a.top, sizeof a.top, "%s", base && base[1] ? base + 1 : "run");

    /* the database first, as a consistent copy in the folder's parent (beside the archive) */
    int rc = 0;
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/samples.db", abs);
    int have_db = access(db, F_OK) == 0;
    snprintf(dbcopy, sizeof dbcopy, "%s.db.tmp", tmp); /* *.tmp: never archived */
    if (have_db && (rc = archive_db_copy(db, dbcopy, err, errlen)) != 0) {
        unlink(dbcopy);
        return rc;
    }
    a.gz = gzopen(tmp, "wb6");
    if (!a.gz) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno ? errno : ENOMEM));
        unlink(dbcopy);
        return ERR_IO;
    }
    rc = tar_header(&a, "", '5', (unsigned)st.st_mode, 0, st.st_mtime);
    if (rc == 0 && have_db)
        rc = tar_file(&a, dbcopy, "samples.db");
    char tmp_abs[PATH_MAX + 8];
    snprintf(tmp_abs, sizeof tmp_abs, "%s", tmp); /* the archive itself may be inside dir */
    if (rc == 0)
        rc = tar_tree(&a, abs, "", tmp_abs, 0);
    if (rc == 0) {
        static const char end[2 * TAR_BLOCK];
        rc = arch_gzwrite(&a, end, sizeof end);
    }
    int zc = gzclose(a.gz);
    if (rc == 0 && zc != Z_OK) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno ? errno : EIO));
        rc = ERR_IO;
    }
    unlink(dbcopy);
    if (rc == 0 && rename(tmp, out) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", out, strerror(errno));
        rc = ERR_IO;
    }
    if (rc != 0)
        unlink(tmp);
    else if (written)
        snprintf(written, wlen, "%s", out);
    return rc;
}
