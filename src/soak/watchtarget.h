/*
 * watchtarget: the parsers of what `soak watch` reads from outside to find its target: a pid
 * file, /proc/PID/cgroup, the output of `systemctl show` and of `docker inspect` / `podman
 * inspect`. Pure: each takes the text (not necessarily NUL-terminated, never read past len)
 * and fills a caller's struct; no I/O, no allocation that outlives the call.
 *
 * Errors: 0, or ERR_PARSE (the text is not what the tool prints), ERR_NOENT (well-formed but
 * the item is missing: no ControlGroup, an empty inspect array), ERR_RANGE (a pid out of
 * range). Out structs are zeroed first. Caps: inputs up to WT_TEXT_MAX bytes are parsed (the
 * rest is ignored); strings are cut to their fields' sizes (WT_PATH_MAX). Thread-safe.
 */
#ifndef SOAK_WATCHTARGET_H
#define SOAK_WATCHTARGET_H

#include <stddef.h>
#include <sys/types.h>

#define WT_TEXT_MAX (1024 * 1024)
#define WT_PATH_MAX 512
#define WT_PID_MAX  4194304 /* the kernel's PID_MAX_LIMIT */

/* A pid file: the first token is the pid (decimal, 1 .. WT_PID_MAX), blanks and a newline
 * around it allowed, anything after the first line ignored. */
int wt_parse_pid(const char *buf, size_t len, pid_t *out);

/* /proc/PID/cgroup: "0::/path" (v2) and "N:memory:/path" lines (v1; the memory controller's,
 * also in a list such as "N:memory,foo:/path"). Either may be missing (""), not both. */
typedef struct wt_proc_cgroup {
    char v2[WT_PATH_MAX];     /* the unified hierarchy's path */
    char memory[WT_PATH_MAX]; /* the v1 memory controller's path */
} wt_proc_cgroup;
int wt_parse_proc_cgroup(const char *buf, size_t len, wt_proc_cgroup *out);

/* `systemctl show -p Id,ControlGroup,MainPID,ActiveState,SubState,Result,ExecMainCode,
 * ExecMainStatus,NRestarts NAME`: KEY=VALUE lines (unknown keys ignored). ControlGroup is
 * required (ERR_NOENT when it is missing or empty: the unit is not running). ExecMainCode is
 * the siginfo code of the main process's end (1 exited, 2 killed, 3 dumped), ExecMainStatus its
 * exit code or signal. */
typedef struct wt_unit {
    char id[128];
    char cgroup[WT_PATH_MAX];
    char active_state[32], sub_state[32], result[64];
    pid_t main_pid;     /* 0: none */
    int exec_main_code; /* 0: never ran */
    int exec_main_status;
    long long n_restarts; /* -1: not printed */
} wt_unit;
int wt_parse_systemctl_show(const char *buf, size_t len, wt_unit *out);
/* The unit's last exit as soak judges it: 1 when the unit says how its main process ended
 * (ExecMainCode set), with *code (>= 0) or *signal; 0 when it does not say. */
int wt_unit_exit(const wt_unit *u, int *code, int *signal);

/* `docker inspect ID` / `podman inspect ID`: a JSON array of one object; .Id, .Name,
 * .State.Status, .State.Running, .State.Pid, .State.ExitCode, .State.OOMKilled and podman's
 * .State.CgroupPath are read. ERR_NOENT for an empty array. */
typedef struct wt_container {
    char id[80];
    char name[128];
    char status[32];
    int running;
    pid_t pid; /* 0 when not running */
    int exit_code;
    int oom_killed;
    char cgroup[WT_PATH_MAX]; /* podman's CgroupPath, "" otherwise */
} wt_container;
int wt_parse_inspect(const char *buf, size_t len, wt_container *out);

#endif
