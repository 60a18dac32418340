/* watch: the target of `soak watch`: attach, poll, sample. See watch.h. */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdrun.h"
#include "errcode.h"
#include "watchtarget.h"

#define WATCH_OUT_MAX (256 * 1024) /* what a tool may print that is kept */

struct watch {
    watch_spec sp;
    const char *proc_root, *cgroup_root;
    pid_t pid;          /* the main process; 0 none */
    uint64_t starttime; /* its start time: a reused pid is another process */
    int gone;           /* the last poll found nothing: looking for a replacement */
    cgsample *cg;       /* the cgroup sampled (cgroup, unit, a container's), NULL: by pid */
    int64_t oom_seen;   /* OOM kills since open already told */
    char desc[PATH_MAX + 256];
    char text[WATCH_SPEC_MAX + 32];
    char *out;             /* WATCH_OUT_MAX: a tool's output */
    proctree_skip_fn skip; /* soak's own helpers, left out of a sample (NULL: none) */
    void *skip_ud;
};

const char *watch_kind_name(watch_kind k)
{
    static const char *const names[] = {
#define WATCH_KIND_STR(name, str) str,
        WATCH_KINDS(WATCH_KIND_STR)
#undef WATCH_KIND_STR
    };
    return (unsigned)k < WATCH_NKINDS ? names[k] : "unknown";
}

int watch_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("@._:+-\\", c)))
            return 0;
    }
    return 1;
}

watch *watch_new(const watch_spec *sp)
{
    watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->out = malloc(WATCH_OUT_MAX);
    if (!w->out) {
        free(w);
        return NULL;
    }
    w->sp = *sp;
    w->proc_root = w->sp.proc_root[0] ? w->sp.proc_root : "/proc";
    w->cgroup_root = w->sp.cgroup_root[0] ? w->sp.cgroup_root : "/sys/fs/cgroup";
    snprintf(w->text, sizeof w->text, "%s %s", watch_kind_name(sp->kind), sp->target);
    snprintf(w->desc, sizeof w->desc, "%s", w->text);
    return w;
}

void watch_free(watch *w)
{
    if (!w)
        return;
    cgsample_free(w->cg);
    free(w->out);
    free(w);
}

/* 1 when pid is a live process (not a zombie); its start time into *start. */
static int watch_alive(const watch *w, pid_t pid, uint64_t *start)
{
    char path[PATH_MAX], buf[2048];
    snprintf(path, sizeof path, "%s/%d/stat", w->proc_root, (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    proctree_stat st;
    if (n <= 0 || proctree_parse_stat(buf, (size_t)n, &st) != 0 || st.state == 'Z' ||
        st.state == 'X')
        return 0;
    *start = st.starttime;
    return 1;
}

/* 1 when the process watched is still the one attached to. */
static int watch_same_alive(const watch *w)
{
    uint64_t st;
    return w->pid > 0 && watch_alive(w, w->pid, &st) && st == w->starttime;
}

static int watch_read_pid_file(watch *w, pid_t *pid, char *err, size_t errlen)
{
    char buf[128];
    int fd = open(w->sp.target, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read pid file '%s': %s", w->sp.target, strerror(errno));
        return ERR_NOENT;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 || wt_parse_pid(buf, (size_t)n, pid) != 0) {
        snprintf(err, errlen, "pid file '%s' holds no pid", w->sp.target);
        return ERR_PARSE;
    }
    return 0;
}

/* Runs a tool's command line into w->out. 0, or ERR_SYS with the reason. */
static int watch_tool(watch *w, const char *cmd, char *err, size_t errlen)
{
    char errb[1024], how[256];
    cmdrun_result r;
    int rc = cmdrun_run(cmd, WATCH_CMD_TIMEOUT_MS, w->out, WATCH_OUT_MAX, errb, sizeof errb, &r);
    if (rc == 0 && r.exit_code == 0 && !r.timed_out)
        return 0;
    char *nl = strchr(errb, '\n');
    if (nl)
        *nl = '\0';
    snprintf(err, errlen, "'%s' failed: %s%s%s", cmd, cmdrun_describe(&r, how, sizeof how),
             errb[0] ? ": " : "", errb);
    return ERR_SYS;
}

/* The cgroup at a hierarchy path (ControlGroup, /proc/PID/cgroup): v2 at ROOT/PATH or
 * ROOT/unified/PATH with memory.current, else v1 at ROOT/memory/PATH. */
static int watch_open_cgroup(watch *w, const char *v2, const char *v1, char *err, size_t errlen)
{
    char dir[PATH_MAX + 300], e2[512];
    const char *mounts[] = {"", "/unified"};
    for (size_t i = 0; v2 && v2[0] && i < 2; i++) {
        snprintf(dir, sizeof dir, "%s%s%s", w->cgroup_root, mounts[i], v2);
        char f[PATH_MAX + 320];
        snprintf(f, sizeof f, "%s/memory.current", dir);
        if (access(f, R_OK) == 0)
            return cgsample_open(dir, &w->cg, err, errlen);
    }
    const char *p = v1 && v1[0] ? v1 : v2;
    snprintf(dir, sizeof dir, "%s/memory%s", w->cgroup_root, p ? p : "");
    int rc = cgsample_open(dir, &w->cg, e2, sizeof e2);
    if (rc)
        snprintf(err, errlen, "%s", e2);
    return rc;
}

static int watch_cg_first_pid(watch *w)
{
    pid_t p[1];
    size_t n = cgsample_procs(w->cg, p, 1);
    w->pid = n ? p[0] : 0;
    uint64_t st = 0;
    if (w->pid && watch_alive(w, w->pid, &st))
        w->starttime = st;
    return (int)n;
}

static int watch_unit_show(watch *w, wt_unit *u, char *err, size_t errlen)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "systemctl show -p Id,ControlGroup,MainPID,ActiveState,SubState,Result,"
             "ExecMainCode,ExecMainStatus,NRestarts %s",
             w->sp.target);
    int rc = watch_tool(w, cmd, err, errlen);
    if (rc)
        return rc;
    rc = wt_parse_systemctl_show(w->out, strlen(w->out), u);
    if (rc == ERR_NOENT)
        snprintf(err, errlen, "unit '%s' is not running (systemctl show gives no ControlGroup)",
                 w->sp.target);
    else if (rc)
        snprintf(err, errlen, "cannot parse what 'systemctl show' says of unit '%s'", w->sp.target);
    return rc;
}

/* docker inspect, or podman inspect where docker cannot be run. */
static int watch_inspect(watch *w, wt_container *c, char *err, size_t errlen)
{
    char cmd[512], e1[1024];
    snprintf(cmd, sizeof cmd, "docker inspect %s", w->sp.target);
    int rc = watch_tool(w, cmd, e1, sizeof e1);
    if (rc) {
        snprintf(cmd, sizeof cmd, "command -v podman >/dev/null && podman inspect %s",
                 w->sp.target);
        if (watch_tool(w, cmd, err, errlen) != 0) {
            snprintf(err, errlen, "%s", e1);
            return rc;
        }
    }
    rc = wt_parse_inspect(w->out, strlen(w->out), c);
    if (rc == ERR_NOENT)
        snprintf(err, errlen, "no such container '%s'", w->sp.target);
    else if (rc)
        snprintf(err, errlen, "cannot parse the inspect output of container '%s'", w->sp.target);
    return rc;
}

static int watch_attach_container(watch *w, char *err, size_t errlen)
{
    wt_container c;
    int rc = watch_inspect(w, &c, err, errlen);
    if (rc)
        return rc;
    if (!c.running || c.pid <= 0) {
        snprintf(err, errlen, "container '%s' is not running (State.Status %s)", w->sp.target,
                 c.status[0] ? c.status : "unknown");
        return ERR_NOENT;
    }
    uint64_t st;
    if (!watch_alive(w, c.pid, &st)) {
        snprintf(err, errlen, "no such process %d (State.Pid of container '%s')", (int)c.pid,
                 w->sp.target);
        return ERR_NOENT;
    }
    w->pid = c.pid;
    w->starttime = st;
    /* its cgroup when soak can read it: every process of the container, not only the tree */
    char path[PATH_MAX], buf[8192], e2[512];
    snprintf(path, sizeof path, "%s/%d/cgroup", w->proc_root, (int)c.pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0)
        close(fd);
    wt_proc_cgroup pc;
    if (n > 0 && wt_parse_proc_cgroup(buf, (size_t)n, &pc) == 0 &&
        watch_open_cgroup(w, pc.v2, pc.memory, e2, sizeof e2) == 0)
        snprintf(w->desc, sizeof w->desc, "container %s (pid %d, %s)", w->sp.target, (int)c.pid,
                 cgsample_describe(w->cg));
    else
        snprintf(w->desc, sizeof w->desc, "container %s (pid %d and its descendants)", w->sp.target,
                 (int)c.pid);
    return 0;
}

int watch_attach(watch *w, char *err, size_t errlen)
{
    uint64_t st;
    pid_t pid = 0;
    int rc;
    wt_unit u;
    switch (w->sp.kind) {
    case WATCH_PID:
        if (wt_parse_pid(w->sp.target, strlen(w->sp.target), &pid) != 0) {
            snprintf(err, errlen, "invalid pid '%s'", w->sp.target);
            return ERR_INVAL;
        }
        if (!watch_alive(w, pid, &st)) {
            snprintf(err, errlen, "no such process %d", (int)pid);
            return ERR_NOENT;
        }
        w->pid = pid;
        w->starttime = st;
        snprintf(w->desc, sizeof w->desc, "pid %d and its descendants", (int)pid);
        return 0;
    case WATCH_PID_FILE:
        if ((rc = watch_read_pid_file(w, &pid, err, errlen)) != 0)
            return rc;
        if (!watch_alive(w, pid, &st)) {
            snprintf(err, errlen, "no such process %d (from pid file '%s')", (int)pid,
                     w->sp.target);
            return ERR_NOENT;
        }
        w->pid = pid;
        w->starttime = st;
        snprintf(w->desc, sizeof w->desc, "pid file %s (pid %d and its descendants)", w->sp.target,
                 (int)pid);
        return 0;
    case WATCH_CGROUP:
        if ((rc = cgsample_open(w->sp.target, &w->cg, err, errlen)) != 0)
            return rc;
        if (watch_cg_first_pid(w) == 0) {
            snprintf(err, errlen, "cgroup '%s' has no processes (cgroup.procs is empty)",
                     w->sp.target);
            return ERR_NOENT;
        }
        snprintf(w->desc, sizeof w->desc, "%s", cgsample_describe(w->cg));
        return 0;
    case WATCH_UNIT:
        if ((rc = watch_unit_show(w, &u, err, errlen)) != 0)
            return rc;
        if ((rc = watch_open_cgroup(w, u.cgroup, NULL, err, errlen)) != 0)
            return rc;
        if (watch_cg_first_pid(w) == 0) {
            snprintf(err, errlen, "unit '%s' has no processes in its cgroup '%s'", w->sp.target,
                     u.cgroup);
            return ERR_NOENT;
        }
        if (u.main_pid > 0 && watch_alive(w, u.main_pid, &st)) {
            w->pid = u.main_pid;
            w->starttime = st;
        }
        snprintf(w->desc, sizeof w->desc, "unit %s (%s)", w->sp.target, cgsample_describe(w->cg));
        return 0;
    case WATCH_CONTAINER:
        return watch_attach_container(w, err, errlen);
    case WATCH_NKINDS:
        break;
    }
    snprintf(err, errlen, "no target");
    return ERR_INVAL;
}

const char *watch_describe(const watch *w)
{
    return w->desc;
}

const char *watch_target_text(const watch *w)
{
    return w->text;
}

watch_kind watch_kind_of(const watch *w)
{
    return w->sp.kind;
}

pid_t watch_pid(const watch *w)
{
    return w->pid;
}

int watch_can_return(const watch *w)
{
    return w->sp.kind != WATCH_PID;
}

static void watch_exit_unknown(wsm_exit *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->why, sizeof e->why, "exit code unknown: soak is not its parent");
}

/* What the cgroup, the unit or the runtime says of the exit just seen. */
static void watch_exit_info(watch *w, wsm_exit *e)
{
    char err[512];
    watch_exit_unknown(e);
    if (w->cg) {
        int64_t oom = cgsample_oom_since_open(w->cg);
        if (oom > w->oom_seen) {
            e->oom_kill = 1;
            snprintf(e->why, sizeof e->why, "OOM kill: memory.events oom_kill +%lld",
                     (long long)(oom - w->oom_seen));
            w->oom_seen = oom;
        }
    }
    if (w->sp.kind == WATCH_UNIT) {
        wt_unit u;
        int code, sig;
        if (watch_unit_show(w, &u, err, sizeof err) != ERR_SYS && wt_unit_exit(&u, &code, &sig)) {
            e->known = 1;
            e->code = code < 0 ? 0 : code;
            e->signal = sig;
            if (!e->oom_kill)
                e->oom_kill = !strcmp(u.result, "oom-kill");
            snprintf(e->why, sizeof e->why, "unit Result=%s ExecMainCode=%d ExecMainStatus=%d",
                     u.result[0] ? u.result : "?", u.exec_main_code, u.exec_main_status);
        }
    } else if (w->sp.kind == WATCH_CONTAINER) {
        wt_container c;
        if (watch_inspect(w, &c, err, sizeof err) == 0 && !c.running) {
            e->known = 1;
            e->code = c.exit_code;
            e->oom_kill = e->oom_kill || c.oom_killed;
            snprintf(e->why, sizeof e->why, "container State.ExitCode %d, OOMKilled %s",
                     c.exit_code, c.oom_killed ? "true" : "false");
        }
    }
}

watch_seen watch_poll(watch *w, wsm_exit *e)
{
    watch_exit_unknown(e);
    if (w->cg) {
        pid_t p[1];
        size_t n = cgsample_procs(w->cg, p, 1);
        if (n > 0) {
            if (w->gone || !w->pid || !watch_same_alive(w))
                watch_cg_first_pid(w); /* the main process: the first one listed */
            if (!w->gone)
                return WATCH_ALIVE;
            w->gone = 0;
            return WATCH_REPLACED;
        }
        if (!w->gone) {
            w->gone = 1;
            watch_exit_info(w, e);
        }
        return WATCH_GONE;
    }
    int alive = watch_same_alive(w);
    if (w->sp.kind == WATCH_PID_FILE) {
        char err[512];
        pid_t np = 0;
        uint64_t st;
        if (watch_read_pid_file(w, &np, err, sizeof err) == 0 && np > 0 &&
            watch_alive(w, np, &st) && (np != w->pid || st != w->starttime)) {
            w->pid = np;
            w->starttime = st;
            w->gone = 0;
            snprintf(w->desc, sizeof w->desc, "pid file %s (pid %d and its descendants)",
                     w->sp.target, (int)np);
            return WATCH_REPLACED;
        }
    }
    if (w->sp.kind == WATCH_CONTAINER && !alive) {
        wt_container c;
        char err[512];
        uint64_t st;
        if (watch_inspect(w, &c, err, sizeof err) == 0 && c.running && c.pid > 0 &&
            c.pid != w->pid && watch_alive(w, c.pid, &st)) {
            w->pid = c.pid;
            w->starttime = st;
            w->gone = 0;
            return WATCH_REPLACED;
        }
    }
    if (alive)
        return WATCH_ALIVE;
    if (!w->gone) {
        w->gone = 1;
        watch_exit_info(w, e);
    }
    return WATCH_GONE;
}

void watch_set_skip(watch *w, proctree_skip_fn fn, void *ud)
{
    w->skip = fn;
    w->skip_ud = ud;
}

int watch_sample(watch *w, proctree *pt, int with_pss, proctree_sample *out)
{
    if (w->cg)
        return cgsample_tree_skip(w->cg, w->proc_root, with_pss, w->skip, w->skip_ud, out)
                   ? 0
                   : ERR_NOENT;
    if (w->gone || w->pid <= 0) {
        memset(out, 0, sizeof *out);
        return ERR_NOENT;
    }
    return proctree_sample_tree(pt, w->pid, 1, with_pss, out);
}

int watch_cgroup_values(const watch *w, cgsample_values *v)
{
    if (!w->cg)
        return 0;
    cgsample_read(w->cg, v);
    return 1;
}

int watch_on_hang(watch *w, char *desc, size_t n)
{
    if (!w->sp.on_hang[0])
        return 0;
    char pid[24], errb[1024];
    snprintf(pid, sizeof pid, "%d", (int)w->pid);
    setenv("SOAK_WATCH_PID", pid, 1);
    setenv("SOAK_WATCH_TARGET", w->text, 1);
    cmdrun_result r;
    cmdrun_run(w->sp.on_hang, WATCH_CMD_TIMEOUT_MS, w->out, WATCH_OUT_MAX, errb, sizeof errb, &r);
    cmdrun_describe(&r, desc, n);
    return 1;
}
