/*
 * watch: the target of `soak watch` — a process soak did not start — and how it is found,
 * followed and sampled. Never signals, stops or restarts it.
 *
 * Targets: a pid (the process and its descendants, through /proc as `soak run` samples); a
 * pid file (re-read at every poll: another pid in it is a replacement, followed and counted as
 * a restart); a cgroup (cgsample.h: its processes and its own counters); a systemd unit (its
 * cgroup, from `systemctl show`; its ExecMainCode/ExecMainStatus/Result say how it exited); a
 * container (its .State.Pid from `docker inspect`, or `podman inspect` when there is no docker,
 * then its cgroup from /proc/PID/cgroup when that cgroup can be read, else the pid; the
 * inspect's ExitCode and OOMKilled say how it exited).
 *
 * Exits: soak is not the parent, so an exit's code is unknown (wsm_exit.known = 0) unless the
 * unit, the container runtime or the cgroup's oom_kill counter say more.
 *
 * The external commands (systemctl, docker, podman, --on-hang) run through lib/cmdrun with a
 * time bound (WATCH_CMD_TIMEOUT_MS), blocking the caller; names are checked first
 * (watch_name_ok) so that no shell quoting is needed. Functions return 0 or a negative ERR_*
 * code (lib/errcode.h) with a message in the caller's err ("no such process 12345", "cgroup
 * '/x' has no memory.current: ..."). One object per run, the loop thread only; the caller owns
 * it (watch_free accepts NULL).
 */
#ifndef SOAK_WATCH_H
#define SOAK_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgsample.h"
#include "proctree.h"
#include "watchsm.h"

#define WATCH_KINDS(X)                                                                             \
    X(PID, "pid")                                                                                  \
    X(PID_FILE, "pid-file")                                                                        \
    X(CGROUP, "cgroup")                                                                            \
    X(UNIT, "unit")                                                                                \
    X(CONTAINER, "container")

typedef enum watch_kind {
#define WATCH_KIND_ENUM(name, str) WATCH_##name,
    WATCH_KINDS(WATCH_KIND_ENUM)
#undef WATCH_KIND_ENUM
        WATCH_NKINDS
} watch_kind;

#define WATCH_CMD_TIMEOUT_MS 10000
#define WATCH_SPEC_MAX       1024

typedef struct watch_spec {
    watch_kind kind;
    char target[WATCH_SPEC_MAX];  /* the pid, the file, the path, the unit, the container */
    char on_hang[WATCH_SPEC_MAX]; /* --on-hang: a shell command; "" none */
    char cgroup_root[256];        /* where cgroups are mounted: "" is /sys/fs/cgroup */
    char proc_root[256];          /* "" is /proc */
} watch_spec;

/* The result of a poll. */
typedef enum watch_seen { WATCH_ALIVE, WATCH_GONE, WATCH_REPLACED } watch_seen;

typedef struct watch watch;

/* The name of a kind ("pid", "pid-file" ...): the flag without its dashes. */
const char *watch_kind_name(watch_kind k);
/* 1 when s may be passed to systemctl/docker as it is: 1..255 bytes of [A-Za-z0-9@._:+-\\]. */
int watch_name_ok(const char *s);

/* Copies the spec; NULL when out of memory. */
watch *watch_new(const watch_spec *sp);
void watch_free(watch *w);

/* Finds the target now (reads the pid file, opens the cgroup, runs systemctl or docker).
 * ERR_NOENT: nothing there to watch ("no such process 12345", "unit 'x' is not running");
 * ERR_CONFIG: a cgroup soak cannot read; ERR_SYS: a tool could not be run. */
int watch_attach(watch *w, char *err, size_t errlen);

/* What is watched, for the console and the run record: "pid 123", "pid file F (pid 123)",
 * "cgroup v2 /sys/fs/cgroup/x", "unit x.service (cgroup v1 ...)", "container ID (pid 9)". */
const char *watch_describe(const watch *w);
/* The kind and target as given ("pid 123", "unit nginx.service"). */
const char *watch_target_text(const watch *w);
/* The kind given to watch_new. */
watch_kind watch_kind_of(const watch *w);
/* The main process now (0 when a cgroup has none). */
pid_t watch_pid(const watch *w);
/* 0 for --pid (once it is gone nothing can come back), 1 for every other kind. */
int watch_can_return(const watch *w);

/* Looks at the target: still there, gone, or another process in its place (the pid file names
 * another live pid; a cgroup that was empty has processes again). On GONE and REPLACED, *e
 * says what is known of the exit (the unit's state, the inspect output, the oom_kill counter
 * since the last poll). After GONE, polls keep looking for a replacement. */
watch_seen watch_poll(watch *w, wsm_exit *e);

/* One sample of the target (the sampler's source, sampler.h): a pid and its descendants
 * through pt, or the cgroup's processes. Returns 0, or ERR_NOENT when nothing is there. */
int watch_sample(watch *w, proctree *pt, int with_pss, proctree_sample *out);
/* The processes fn names are left out of watch_sample's cgroup sample (soak's own helpers,
 * helpers.h, when soak runs in the cgroup it watches); the pid form leaves them out through
 * pt's own skip (proctree_set_skip). fn NULL (the default): none. */
void watch_set_skip(watch *w, proctree_skip_fn fn, void *ud);
/* The cgroup's counters, when the target is a cgroup (1), else 0. */
int watch_cgroup_values(const watch *w, cgsample_values *v);

/* Runs --on-hang (when there is one) with SOAK_WATCH_PID and SOAK_WATCH_TARGET in its
 * environment, bounded by WATCH_CMD_TIMEOUT_MS; how it ended into desc ("exit 0"). Returns 0
 * when there was nothing to run, 1 when it ran. */
int watch_on_hang(watch *w, char *desc, size_t n);

#endif
