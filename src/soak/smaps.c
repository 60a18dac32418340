/* smaps: memory by kind from /proc/PID/smaps. See smaps.h. */
#include "smaps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

static const char *const kind_keys[] = {
#define SMAPS_KIND_KEY(name, key, label) key,
    SMAPS_KINDS(SMAPS_KIND_KEY)
#undef SMAPS_KIND_KEY
};
static const char *const kind_labels[] = {
#define SMAPS_KIND_LABEL(name, key, label) label,
    SMAPS_KINDS(SMAPS_KIND_LABEL)
#undef SMAPS_KIND_LABEL
};

const char *smaps_kind_key(smaps_kind k)
{
    return (unsigned)k < SMAPS_NKINDS ? kind_keys[k] : "";
}

const char *smaps_kind_label(smaps_kind k)
{
    return (unsigned)k < SMAPS_NKINDS ? kind_labels[k] : "";
}

int smaps_classify(const char *name, int shmem_most)
{
    if (!name)
        name = "";
    if (!strcmp(name, "[heap]"))
        return SMAPS_HEAP;
    if (!strncmp(name, "[stack", 6))
        return SMAPS_STACK;
    if (!strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") || !strcmp(name, "[vsyscall]") ||
        !strcmp(name, "[vvar_vclock]"))
        return -1;
    if (!strncmp(name, "/dev/shm/", 9) || !strncmp(name, "/SYSV", 5) ||
        !strncmp(name, "/memfd:", 7) || !strncmp(name, "[anon_shmem", 11) || shmem_most)
        return SMAPS_SHMEM;
    if (name[0] == '/')
        return SMAPS_FILE;
    return SMAPS_ANON;
}

/* A mapping header: "start-end perms offset dev inode [pathname]"; the pathname (trimmed) goes
 * to name. Returns 1 when the line is one. */
static int header(const char *s, size_t n, char *name, size_t cap)
{
    size_t i = 0, f = 0;
    /* the first field must be hex-hex */
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        i++;
    if (i == 0 || i >= n || s[i] != '-')
        return 0;
    /* five fields, then the pathname */
    i = 0;
    while (f < 5) {
        while (i < n && s[i] != ' ')
            i++;
        if (i >= n)
            return f == 4 ? (name[0] = '\0', 1) : 0;
        while (i < n && s[i] == ' ')
            i++;
        f++;
    }
    size_t len = n - i;
    while (len && (s[i + len - 1] == ' ' || s[i + len - 1] == '\r'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(name, s + i, len);
    name[len] = '\0';
    return 1;
}

/* "Key:   N kB" -> N * 1024 when the line starts with key. */
static int field_kb(const char *s, size_t n, const char *key, uint64_t *out)
{
    size_t k = strlen(key);
    if (n <= k || memcmp(s, key, k) != 0)
        return 0;
    uint64_t v = 0;
    size_t i = k;
    while (i < n && s[i] == ' ')
        i++;
    size_t d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9' && v < (UINT64_MAX / 1024 - 9) / 10)
        v = v * 10 + (uint64_t)(s[i++] - '0');
    if (i == d0)
        return 0;
    *out = v * 1024;
    return 1;
}

typedef struct cur {
    int open;
    char name[256];
    uint64_t rss, shmem;
} cur;

static void flush(cur *c, smaps_sums *out)
{
    if (!c->open)
        return;
    int k = smaps_classify(c->name, c->rss && c->shmem * 2 >= c->rss);
    if (k >= 0)
        out->bytes[k] += c->rss;
    out->mappings++;
    c->open = 0;
}

int smaps_parse(const char *buf, size_t n, smaps_sums *out)
{
    cur c = {0};
    size_t i = 0;
    unsigned before = out->mappings;
    while (i < n) {
        const char *s = buf + i;
        const char *nl = memchr(s, '\n', n - i);
        size_t len = nl ? (size_t)(nl - s) : n - i;
        i += len + (nl ? 1 : 0);
        uint64_t v;
        char name[256];
        if (field_kb(s, len, "Rss:", &v)) {
            if (c.open)
                c.rss = v;
        } else if (field_kb(s, len, "Shmem_Clean:", &v) || field_kb(s, len, "Shmem_Dirty:", &v) ||
                   field_kb(s, len, "Shared_Hugetlb:", &v)) {
            if (c.open)
                c.shmem += v;
        } else if (header(s, len, name, sizeof name)) {
            flush(&c, out);
            c.open = 1;
            c.rss = c.shmem = 0;
            memcpy(c.name, name, sizeof name);
        }
    }
    flush(&c, out);
    return out->mappings > before ? 0 : ERR_PARSE;
}

int smaps_read(const char *proc_root, pid_t pid, smaps_sums *out, const char *copy_path)
{
    char path[256];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/%d/smaps", proc_root ? proc_root : "/proc", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT || errno == ESRCH ? ERR_NOENT : ERR_IO;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return ERR_NOMEM;
    }
    for (;;) {
        if (n + 4096 > cap) {
            if (cap >= SMAPS_MAX_BYTES)
                break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    if (copy_path) {
        FILE *o = fopen(copy_path, "we");
        if (o) {
            fwrite(buf, 1, n, o);
            fclose(o);
        }
    }
    int rc = smaps_parse(buf, n, out);
    free(buf);
    return rc;
}
