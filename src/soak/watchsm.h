/*
 * watchsm: the state machine of `soak watch` as a table. Pure: no /proc, no signals, no libuv;
 * time is an argument. `soak watch` never signals, stops or restarts what it watches, so this
 * table only decides what is recorded and when the run ends: run.c (the same loop as `soak
 * run`) feeds it what it saw (the target was found, it is gone, another process took its place,
 * no heartbeat, a stop was asked for) and performs the actions it returns. Every change of
 * state goes through actions[state][event]; a cell the table does not list is refused: nothing
 * happens and the state stays.
 *
 * The table (watchsm.c is the definition; this copy is for reading). "-": refused; "ok":
 * accepted, nothing to do; A>S: actions A, then state S. Actions: rs record the start, rr
 * record a restart (the target was replaced), re record the exit, rh record the hang, oh run
 * --on-hang, af the target cannot be attached to, fin finish.
 *
 *            | ATTACHED ATTACH_FAILED EXITED  EXITED_FINAL REPLACED    HANG       HEARTBEAT STOP
 *   INIT     | rs>WATCH af,fin>DONE   -       -            -           -          -         fin>DONE
 *   WATCHING | -        -             re>GONE re,fin>DONE  re,rr>WATCH rh,oh>HUNG ok        fin>DONE
 *   HUNG     | -        -             re>GONE re,fin>DONE  re,rr>WATCH ok         >WATCH    fin>DONE
 *   GONE     | -        -             ok      -            rr>WATCH    -          ok        fin>DONE
 *   DONE     | -        -             -       -            -           -          -         -
 *
 * Derived events: wsm_exited gives EXITED when the target can come back (a pid file another
 * supervisor rewrites, a cgroup, a unit or a container that may get processes again) and
 * EXITED_FINAL when it cannot (a --pid: nothing is left to watch, the run ends).
 *
 * Judgment: soak is not the target's parent, so an exit's code is unknown unless the caller
 * learnt it (a unit's ExecMainStatus/Result, a container's ExitCode, a cgroup's oom_kill). An
 * exit counts as a crash unless it is known to be a clean exit (code 0, no signal, no OOM
 * kill): a service that disappears during a soak for reasons soak cannot see fails the run.
 * A hang is a failure and, as in `soak run`, also counts as a crash.
 *
 * Caps: none; one object per run, no allocation. Not thread-safe (the loop thread only).
 */
#ifndef SOAK_WATCHSM_H
#define SOAK_WATCHSM_H

#include <stdint.h>

#include "supervise.h"

#define WSM_STATES(X)                                                                              \
    X(INIT, "init")                                                                                \
    X(WATCHING, "watching")                                                                        \
    X(HUNG, "hung")                                                                                \
    X(GONE, "gone")                                                                                \
    X(DONE, "done")

typedef enum wsm_state {
#define WSM_STATE_ENUM(name, str) WSM_##name,
    WSM_STATES(WSM_STATE_ENUM)
#undef WSM_STATE_ENUM
        WSM_NSTATES
} wsm_state;

#define WSM_EVENTS(X)                                                                              \
    X(ATTACHED, "attached")                                                                        \
    X(ATTACH_FAILED, "attach failed")                                                              \
    X(EXITED, "exited")                                                                            \
    X(EXITED_FINAL, "exited, nothing left to watch")                                               \
    X(REPLACED, "replaced")                                                                        \
    X(HANG, "hang")                                                                                \
    X(HEARTBEAT, "heartbeat again")                                                                \
    X(STOP, "stop requested")

typedef enum wsm_event {
#define WSM_EVENT_ENUM(name, str) WSM_EV_##name,
    WSM_EVENTS(WSM_EVENT_ENUM)
#undef WSM_EVENT_ENUM
        WSM_NEVENTS,
    WSM_EV_NONE = -1
} wsm_event;

/* What run.c must do, in this order, after a transition (a bit set). */
enum {
    WSM_A_REC_START = 1 << 0,     /* record the start of watching (event start) */
    WSM_A_REC_EXIT = 1 << 1,      /* record the exit judged in wsm_last_exit() (event exit) */
    WSM_A_REC_RESTART = 1 << 2,   /* record the new process (event restart) */
    WSM_A_REC_HANG = 1 << 3,      /* record the hang (event hang) */
    WSM_A_ON_HANG = 1 << 4,       /* run the --on-hang command, when there is one */
    WSM_A_ATTACH_FAILED = 1 << 5, /* the target was not found: say why */
    WSM_A_FINISH = 1 << 6,        /* the run is over: stop the loop */
};

typedef struct wsm_cell {
    int ok;
    unsigned actions;
    wsm_state next;
} wsm_cell;

/* What is known of an exit of the target. */
typedef struct wsm_exit {
    int known;     /* 1: code/signal below come from the unit, the container or the cgroup */
    int code;      /* the exit code when known and signal == 0 */
    int signal;    /* the signal that ended it when known, else 0 */
    int oom_kill;  /* the cgroup (memory.events) or the runtime counted an OOM kill */
    int failure;   /* the judgment (wsm_judge_exit): a crash */
    char why[160]; /* where it was learnt: "memory.events oom_kill 1", "unit Result=..." */
} wsm_exit;

typedef struct wsm {
    wsm_state state;
    sup_cause cause;     /* the first stop request (SUP_CAUSE_NONE: none) */
    wsm_event end_event; /* the event that led to DONE (WSM_EV_NONE: not done) */
    wsm_exit last_exit;  /* the last exit recorded */
    uint64_t start_ms;   /* loop clock of the current process's attach or replacement */
    unsigned starts;     /* processes watched: 1 + restarts */
    unsigned restarts;   /* replacements followed */
    unsigned exits;      /* exits seen */
    unsigned crashes;    /* exits judged crashes, and hangs */
    unsigned hangs;
    unsigned refused; /* events refused by the table */
} wsm;

/* The cell for (state, event); an out-of-range pair gives a refused cell. */
wsm_cell wsm_table(wsm_state st, wsm_event ev);

void wsm_init(wsm *w);

/* Feeds an event at now_ms through the table; returns the actions (0 when refused). The
 * functions below derive the event and keep the counters. */
unsigned wsm_feed(wsm *w, wsm_event ev, uint64_t now_ms);

unsigned wsm_attached(wsm *w, uint64_t now_ms);
unsigned wsm_attach_failed(wsm *w, uint64_t now_ms);
/* The target is gone: e says what is known (judged here); can_return: 1 when another process
 * may take its place (EXITED), 0 when nothing is left to watch (EXITED_FINAL). */
unsigned wsm_exited(wsm *w, const wsm_exit *e, int can_return, uint64_t now_ms);
/* Another process took the target's place (a new pid in the pid file, processes in the cgroup
 * again). When the old one was still counted as running, its exit (e) is recorded first. */
unsigned wsm_replaced(wsm *w, const wsm_exit *e, uint64_t now_ms);
unsigned wsm_hang(wsm *w, uint64_t now_ms);
unsigned wsm_heartbeat(wsm *w, uint64_t now_ms);
unsigned wsm_stop(wsm *w, sup_cause cause, uint64_t now_ms);

/* 1 when the exit is a crash: not known to be clean (unknown code, a non-zero code, a signal,
 * an OOM kill). Pure. */
int wsm_judge_exit(const wsm_exit *e);

/* 1 while the target is being watched (WATCHING or HUNG): the watchdog and RSS apply. */
int wsm_running(const wsm *w);

/* "duration reached", "stopped by SIGINT", "service exited", "service failed", "cannot attach
 * to the target", "running": the outcome as run.c prints and stores it. Static storage. */
const char *wsm_outcome_text(const wsm *w);
/* The exit code (SOAK_EXIT_* of run.h): error when the target was never attached to or the run
 * has not ended, fail after a crash or a hang, else pass. */
int wsm_exit_code(const wsm *w);
/* 1 when the run was interrupted (a stop other than the duration): for the archive policy. */
int wsm_interrupted(const wsm *w);

const char *wsm_state_name(wsm_state st);
const char *wsm_event_name(wsm_event ev);

#endif
