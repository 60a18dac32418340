/* slowpass: smaps by kind, fds by type, zombie parents. See slowpass.h. */
#include "slowpass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "proctree.h"

static int read_small(const char *path, char *buf, size_t cap, size_t *n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return ERR_NOENT;
    *n = fread(buf, 1, cap - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return 0;
}

static int read_stat(const char *proc_root, pid_t pid, proctree_stat *st)
{
    char path[128], buf[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/%d/stat", proc_root, (int)pid);
    if (read_small(path, buf, sizeof buf, &n))
        return ERR_NOENT;
    return proctree_parse_stat(buf, n, st) ? ERR_PARSE : 0;
}

/* The command line of pid, NULs as spaces; its comm in brackets when it has none. */
static void read_cmd(const char *proc_root, pid_t pid, char *out, size_t cap)
{
    char path[128];
    size_t n = 0;
    out[0] = '\0';
    snprintf(path, sizeof path, "%s/%d/cmdline", proc_root, (int)pid);
    if (read_small(path, out, cap, &n) == 0 && n > 0) {
        while (n && out[n - 1] == '\0')
            n--;
        for (size_t i = 0; i < n; i++)
            if (out[i] == '\0')
                out[i] = ' ';
        out[n] = '\0';
        return;
    }
    char comm[64];
    snprintf(path, sizeof path, "%s/%d/comm", proc_root, (int)pid);
    if (read_small(path, comm, sizeof comm, &n) == 0) {
        comm[strcspn(comm, "\n")] = '\0';
        snprintf(out, cap, "[%s]", comm);
    }
}

typedef struct proc_rss {
    pid_t pid;
    uint64_t rss;
} proc_rss;

static int by_rss_desc(const void *a, const void *b)
{
    const proc_rss *x = a, *y = b;
    return x->rss < y->rss ? 1 : x->rss > y->rss ? -1 : 0;
}

int slowpass_take(const char *proc_root, pid_t root, double t, const char *phase, int with_smaps,
                  const char *copy_path, store_memdetail *out)
{
    static pid_t pids[SLOWPASS_MAX_PROCS];
    static proc_rss live[SLOWPASS_MAX_PROCS];
    static pid_t zparent[SLOWPASS_MAX_PROCS];
    static unsigned zcount[SLOWPASS_MAX_PROCS];
    if (!proc_root)
        proc_root = "/proc";
    memset(out, 0, sizeof *out);
    out->t = t;
    snprintf(out->phase, sizeof out->phase, "%s", phase ? phase : "");
    int n = proctree_descendants(proc_root, root, pids, SLOWPASS_MAX_PROCS);
    if (n <= 0)
        return ERR_NOENT;
    if (n > SLOWPASS_MAX_PROCS)
        n = SLOWPASS_MAX_PROCS;
    size_t nlive = 0, nz = 0;
    for (int i = 0; i < n; i++) {
        proctree_stat st;
        if (read_stat(proc_root, pids[i], &st))
            continue;
        if (st.state == 'Z') {
            out->zombies++;
            size_t j = 0;
            while (j < nz && zparent[j] != st.ppid)
                j++;
            if (j == nz) {
                zparent[nz] = st.ppid;
                zcount[nz++] = 0;
            }
            zcount[j]++;
            continue;
        }
        fdscan_counts fc = {{0}};
        if (fdscan_pid(proc_root, pids[i], &fc) == 0)
            for (int k = 0; k < FDSCAN_NTYPES; k++)
                out->fd[k] += fc.n[k];
        live[nlive].pid = pids[i];
        live[nlive++].rss = st.rss_pages;
    }
    if (nz) {
        size_t best = 0;
        for (size_t j = 1; j < nz; j++)
            if (zcount[j] > zcount[best])
                best = j;
        out->zombie_ppid = zparent[best];
        read_cmd(proc_root, zparent[best], out->zombie_parent, sizeof out->zombie_parent);
    }
    qsort(live, nlive, sizeof live[0], by_rss_desc);
    for (size_t i = 0; with_smaps && i < nlive && i < SLOWPASS_TOP; i++) {
        smaps_sums sm;
        if (smaps_read(proc_root, live[i].pid, &sm, i == 0 ? copy_path : NULL))
            continue;
        if (i == 0)
            out->top_pid = live[i].pid;
        for (int k = 0; k < SMAPS_NKINDS; k++)
            out->mem[k] += sm.bytes[k];
        out->procs++;
    }
    return 0;
}
