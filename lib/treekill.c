/* treekill: a non-blocking, step-at-a-time stop of a process tree. See treekill.h. */
#include "treekill.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "errcode.h"
#include "proctree.h"

#define TK_MAX     PROCTREE_MAX_PROCS
#define TK_SET_CAP (2 * TK_MAX) /* open addressing, load <= 1/2 */
#define TK_ROOT    256

/* One process being stopped. */
typedef struct tk_member {
    pid_t pid;
    uint64_t start; /* with pid, identifies the process */
    pid_t ppid, pgrp;
    int target;   /* 0 for root when !include_root: only followed to find its children */
    int got_kill; /* counted among those that needed SIGKILL */
    int zombie;
} tk_member;

struct treekill {
    char proc_root[TK_ROOT];
    int procfd;
    int reap;
    pid_t self;
    pid_t root;
    int group; /* root led a process group other than ours when the stop began */
    int sig;   /* SIGTERM, then SIGKILL; 0 before begin */
    int nkilled;
    uint64_t phase_ms; /* when the current signal was first sent */
    tk_member m[TK_MAX];
    size_t n;
    pid_t set[TK_SET_CAP];
    pid_t found[TK_MAX];
    proctree_skip_fn skip; /* NULL: every descendant is a member */
    void *skip_ud;
};

treekill *treekill_new(const char *proc_root, int reap)
{
    if (strlen(proc_root) >= TK_ROOT) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    treekill *tk = calloc(1, sizeof *tk);
    if (!tk)
        return NULL;
    tk->procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tk->procfd < 0) {
        int e = errno;
        free(tk);
        errno = e;
        return NULL;
    }
    snprintf(tk->proc_root, sizeof tk->proc_root, "%s", proc_root);
    tk->reap = reap;
    tk->self = getpid();
    return tk;
}

void treekill_set_skip(treekill *tk, proctree_skip_fn fn, void *ud)
{
    if (!tk)
        return;
    tk->skip = fn;
    tk->skip_ud = ud;
}

void treekill_free(treekill *tk)
{
    if (!tk)
        return;
    close(tk->procfd);
    free(tk);
}

/* ---- the set of tracked pids ------------------------------------------------------------ */

static uint32_t tk_hash(pid_t pid)
{
    return (uint32_t)pid * 2654435761u;
}

static void set_clear(treekill *tk)
{
    memset(tk->set, 0, sizeof tk->set);
}

/* Returns 1 when added, 0 when already there or full. */
static int set_add(treekill *tk, pid_t pid)
{
    uint32_t mask = TK_SET_CAP - 1;
    for (uint32_t i = tk_hash(pid) & mask, k = 0; k < TK_SET_CAP; i = (i + 1) & mask, k++) {
        if (tk->set[i] == pid)
            return 0;
        if (tk->set[i] == 0) {
            tk->set[i] = pid;
            return 1;
        }
    }
    return 0;
}

static int set_has(const treekill *tk, pid_t pid)
{
    uint32_t mask = TK_SET_CAP - 1;
    for (uint32_t i = tk_hash(pid) & mask, k = 0; k < TK_SET_CAP; i = (i + 1) & mask, k++) {
        if (tk->set[i] == pid)
            return 1;
        if (tk->set[i] == 0)
            return 0;
    }
    return 0;
}

/* ---- signalling ------------------------------------------------------------------------- */

/* Whether the member is still the process that was recorded (same pid, same start time). */
static int same_process(treekill *tk, const tk_member *v, proctree_stat *st)
{
    return proctree_read_stat(tk->procfd, v->pid, st) == 0 && st->starttime == v->start;
}

/* Sends the current signal to one member, after checking it is still the same process. */
static int hit(treekill *tk, tk_member *v)
{
    proctree_stat st;
    if (!v->target || v->zombie || v->pid == tk->self || !same_process(tk, v, &st))
        return 0;
    if (kill(v->pid, tk->sig) != 0)
        return 0;
    if (tk->sig == SIGKILL) {
        if (!v->got_kill)
            tk->nkilled++;
        v->got_kill = 1;
    } else if (st.state == 'T') {
        /* a stopped process must run to act on SIGTERM (only those: a process stopped by a
         * tracer, state 't', is left to its tracer) */
        kill(v->pid, SIGCONT);
    }
    return 1;
}

/* The group of root, while a tracked member still belongs to it (so a reused group id is not
 * hit once the group is gone). */
static void hit_group(treekill *tk)
{
    if (!tk->group)
        return;
    for (size_t i = 0; i < tk->n; i++) {
        if (tk->m[i].pid && !tk->m[i].zombie && tk->m[i].pgrp == tk->root) {
            kill(-tk->root, tk->sig);
            if (tk->sig != SIGKILL)
                kill(-tk->root, SIGCONT);
            return;
        }
    }
}

/* Adds pid as a member (when new and alive); returns it or NULL. */
static tk_member *add_member(treekill *tk, pid_t pid, int target)
{
    if (tk->n >= TK_MAX || !set_add(tk, pid))
        return NULL;
    proctree_stat st;
    if (proctree_read_stat(tk->procfd, pid, &st) != 0)
        return NULL;
    tk_member *v = &tk->m[tk->n++];
    *v = (tk_member){.pid = pid,
                     .start = st.starttime,
                     .ppid = st.ppid,
                     .pgrp = st.pgrp,
                     .target = target,
                     .zombie = st.state == 'Z'};
    return v;
}

/* Adds the descendants of pid that are not members yet; signals them when asked. */
static void add_descendants(treekill *tk, pid_t pid, int signal_them)
{
    int n = proctree_descendants_skip(tk->proc_root, pid, tk->skip, tk->skip_ud, tk->found, TK_MAX);
    if (n > TK_MAX)
        n = TK_MAX;
    for (int i = 0; i < n; i++) {
        tk_member *v = add_member(tk, tk->found[i], 1);
        if (v && signal_them)
            hit(tk, v);
    }
}

int treekill_begin(treekill *tk, pid_t root, int include_root, uint64_t now_ms)
{
    if (root <= 0)
        return ERR_INVAL;
    tk->n = 0;
    tk->nkilled = 0;
    tk->root = root;
    tk->sig = SIGTERM;
    tk->phase_ms = now_ms;
    set_clear(tk);
    /* list the whole tree before signalling anything: once a parent dies its children move to
     * a subreaper and can no longer be found from root */
    if (!add_member(tk, root, include_root != 0 && root != tk->self))
        return ERR_NOENT;
    add_descendants(tk, root, 0);
    tk->group = root != tk->self && getpgid(root) == root && root != getpgrp();
    hit_group(tk);
    int n = 0;
    for (size_t i = 0; i < tk->n; i++)
        n += hit(tk, &tk->m[i]);
    return n;
}

int treekill_kill(treekill *tk, uint64_t now_ms)
{
    if (!tk->sig)
        return 0;
    if (tk->sig != SIGKILL)
        tk->phase_ms = now_ms;
    tk->sig = SIGKILL;
    hit_group(tk);
    int n = 0;
    for (size_t i = 0; i < tk->n; i++)
        n += hit(tk, &tk->m[i]);
    return n;
}

int treekill_poll(treekill *tk)
{
    if (!tk->sig)
        return 0;
    set_clear(tk);
    for (size_t i = 0; i < tk->n; i++)
        set_add(tk, tk->m[i].pid);
    int alive = 0;
    size_t n0 = tk->n;
    for (size_t i = 0; i < n0; i++) {
        tk_member *v = &tk->m[i];
        proctree_stat st;
        int gone = !same_process(tk, v, &st);
        v->zombie = !gone && st.state == 'Z';
        if (v->zombie) {
            /* Ours: reaped (or left to the caller). A zombie whose parent is in the tree is
             * waited for: that parent reaps it or dies, and then it is ours (a subreaper) or
             * init's. Any other zombie is someone else's business, and dead. */
            if (tk->reap && v->target && waitpid(v->pid, NULL, WNOHANG) == v->pid)
                gone = 1;
            else if (st.ppid == tk->self)
                gone = !tk->reap; /* ours: reaped on the next poll, or by the caller */
            else if (!set_has(tk, st.ppid))
                gone = 1;
        }
        if (gone) {
            v->pid = 0;
            continue;
        }
        v->ppid = st.ppid;
        v->pgrp = st.pgrp;
        if (v->target)
            alive++;
    }
    /* newcomers: below every member that is alive and not below another member */
    for (size_t i = 0; i < n0; i++) {
        tk_member *v = &tk->m[i];
        if (v->pid && !v->zombie && (v == &tk->m[0] || !set_has(tk, v->ppid))) {
            size_t before = tk->n;
            /* tracked at once, but SIGTERM only to what was there when the stop began: a
             * shutdown handler's own child (a cleanup command) must be able to run, as under
             * systemd; in the SIGKILL phase newcomers get it too */
            add_descendants(tk, v->pid, tk->sig == SIGKILL);
            for (size_t j = before; j < tk->n; j++)
                alive += tk->m[j].target && !tk->m[j].zombie;
        }
    }
    size_t o = 0; /* compact; the root stays first while it lives */
    for (size_t i = 0; i < tk->n; i++)
        if (tk->m[i].pid)
            tk->m[o++] = tk->m[i];
    tk->n = o;
    return alive;
}

int treekill_nkilled(const treekill *tk)
{
    return tk->nkilled;
}

int treekill_step(treekill *tk, uint64_t now_ms, uint64_t grace_ms, uint64_t kill_ms)
{
    if (treekill_poll(tk) == 0)
        return 0;
    if (tk->sig == SIGTERM) {
        if (now_ms - tk->phase_ms >= grace_ms)
            treekill_kill(tk, now_ms);
    } else {
        if (now_ms - tk->phase_ms >= kill_ms)
            return ERR_TIMEOUT;
        treekill_kill(tk, now_ms); /* again: for those that were stopped or just appeared */
    }
    return TREEKILL_POLL_MS;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int treekill_run(pid_t root, int include_root, unsigned timeout_ms)
{
    treekill *tk = treekill_new("/proc", 1);
    if (!tk)
        return errno && errno != ENOMEM ? ERR_SYS : ERR_NOMEM;
    int rc = treekill_begin(tk, root, include_root, mono_ms());
    if (rc < 0) {
        treekill_free(tk);
        return rc;
    }
    for (;;) {
        rc = treekill_step(tk, mono_ms(), timeout_ms, timeout_ms);
        if (rc <= 0)
            break;
        struct timespec ts = {0, (long)rc * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rc == 0)
        rc = tk->nkilled;
    treekill_free(tk);
    return rc;
}

int treekill_signal_tree(pid_t root, int include_root, int sig)
{
    if (root <= 0)
        return ERR_INVAL;
    pid_t *found = malloc(TK_MAX * sizeof *found);
    if (!found)
        return ERR_NOMEM;
    int n = proctree_descendants("/proc", root, found, TK_MAX);
    if (n < 0) {
        free(found);
        return n;
    }
    if (n > TK_MAX)
        n = TK_MAX;
    pid_t self = getpid();
    if (root != self && getpgid(root) == root && root != getpgrp())
        kill(-root, sig);
    int hits = 0;
    if (include_root && root != self && kill(root, sig) == 0)
        hits++;
    for (int i = 0; i < n; i++)
        if (found[i] != self && kill(found[i], sig) == 0)
            hits++;
    free(found);
    return hits;
}
