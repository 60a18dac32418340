/*
 * supervise: the supervisor of `soak run` as a table. Pure: no fork, no signals, no libuv, no
 * /proc; time is an argument. run.c feeds it what happened (the service started, exited, hung,
 * the tree is empty, a deadline passed, a stop was asked for) and performs the actions it
 * returns (spawn, SIGTERM the tree, SIGKILL it, record, finish). Every change of state goes
 * through one table, actions[state][event]; a cell that the table does not list is refused:
 * nothing happens and the state stays.
 *
 * States and what each event does in them (the table in supervise.c is the definition; this
 * copy is for reading; docs/soak-internals.md has it in full words). "-": refused; "ok":
 * accepted, nothing to do; A>S: actions A, then state S. Actions: sp spawn, rs/re/rh record
 * start/exit/hang, T SIGTERM the tree, K SIGKILL it, K2 SIGKILL again, sch schedule a restart,
 * sf start failed, lim start limit, gu give up, fin finish, fm find the main pid, rm record the
 * main pid.
 *
 *             | START   SPAWNED SPAWN_FAILED EXITED       HANG       STOP      STOP_AGAIN
 *   INIT      | sp>STA  -       -            -            -          fin>DONE  -
 *   STARTING  | -       rs>RUN  sf,fin>DONE  sf,fin>DONE  -          T>TERM    -
 *   RUNNING   | -       -       -            re,T>TERM    rh,T>TERM  T>TERM    -
 *   STOP_TERM | -       -       -            re           -          ok        K>KILL
 *   STOP_KILL | -       -       -            re           -          ok        ok
 *   STUCK     | -       -       -            re           -          ok        ok
 *   BACKOFF   | -       -       -            -            -          fin>DONE  -
 *   DONE      | -       -       -            -            -          -         -
 *
 *           | TREE_EMPTY TREE_EMPTY_FINAL GRACE_OVER KILL_TIMEOUT STUCK_LIMIT  TIMER  START_LIMIT
 *  INIT      | -          -                -          -            -            -      lim,fin>DONE
 *  STOP_TERM | sch>BACK   fin>DONE         K>KILL     -            -            -      -
 *  STOP_KILL | sch>BACK   fin>DONE         -          K2>STUCK     -            -      -
 *  STUCK     | sch>BACK   fin>DONE         -          K2           K2,gu,fin>DONE -    -
 *  BACKOFF   | -          -                -          -            -            sp>STA lim,fin>DONE
 *  STARTING, RUNNING, DONE: all refused
 *
 * A service that forks into the background (service_type forking, or auto-detected):
 *
 *            | DAEMONIZED MAIN_PID MAIN_EXITED  FORK_FAILED FORK_TIMEOUT
 *  RUNNING   | fm>FORK    -        re,T>TERM    sf,T>TERM   -
 *  FORKING   | -          rm>RUN   sf,T>TERM    -           sf,T>TERM
 *  STOP_TERM | -          -        re           -           -
 *  STOP_KILL | -          -        re           -           -
 *  STUCK     | -          -        re           -           -
 *  INIT, STARTING, BACKOFF, DONE: all refused. In FORKING: STOP is T>TERM, every other event
 *  of the first table is refused (its timer event is FORK_TIMEOUT).
 *
 * Derived events: sup_tree_empty gives TREE_EMPTY (the run goes on: a restart is due) or
 * TREE_EMPTY_FINAL (a stop was asked for, or the restart policy ends the run after this
 * cycle); sup_timer gives the deadline that passed in the current state (STARTING: the shim
 * never answered = SPAWN_FAILED; STOP_TERM: GRACE_OVER; STOP_KILL and STUCK: KILL_TIMEOUT, or
 * STUCK_LIMIT at the last period; BACKOFF: TIMER, or START_LIMIT when the start limit refuses);
 * sup_start gives START or START_LIMIT; sup_stop gives STOP the first time, STOP_AGAIN after.
 *
 * Forking (docs/soak-run.md): sup_child_exited judges the exit of the first process (the
 * command soak started) in RUNNING: code 0 while processes of its tree remain is DAEMONIZED
 * when service_type is forking, or auto and it came within forking_detect of the start; a
 * non-zero exit of a forking service is FORK_FAILED (a failed start); anything else is EXITED
 * as for a simple service. FORKING waits (forking_timeout) for run.c to find the main pid (the
 * pid file's, or the top of the adopted tree): sup_main_pid gives MAIN_PID. From then on the
 * main pid is the service: sup_main_exited gives MAIN_EXITED, judged like EXITED (a non-zero
 * code or a signal soak did not send is a crash), except that in RUNNING a code 0 that leaves
 * processes behind hands over to the next main pid (DAEMONIZED again: the next hop of a double
 * fork, or a daemon that re-executes itself). When the tree empties in FORKING (the daemon died
 * before it was found) or no main pid turns up in time, the start failed: the tree is stopped and
 * the run ends once it is empty.
 *
 * Judgment: a cycle (one start of the service) ends as an exit by itself (code 0), a crash
 * (non-zero code, or a signal soak did not send, or a core dump), a hang (the watchdog), a
 * requested stop (the exit at the end of a stop soak or the user asked for: any exit code,
 * SIGTERM/SIGINT/SIGHUP, or SIGKILL after soak sent it), or a failed start. Crashes and hangs
 * are failures; a hang also counts as a crash. The run's outcome and exit code come from the
 * event that ended the run (DONE) and the cycle records.
 *
 * Caps: none to speak of; one object per run, a few hundred bytes, no allocation. Not
 * thread-safe (the loop thread only).
 */
#ifndef SOAK_SUPERVISE_H
#define SOAK_SUPERVISE_H

#include <stdint.h>

#include "backoff.h"
#include "opts.h"

#define SUP_STATES(X)                                                                              \
    X(INIT, "init")                                                                                \
    X(STARTING, "starting")                                                                        \
    X(RUNNING, "running")                                                                          \
    X(FORKING, "forking")                                                                          \
    X(STOP_TERM, "stopping")                                                                       \
    X(STOP_KILL, "killing")                                                                        \
    X(STUCK, "stuck")                                                                              \
    X(BACKOFF, "backoff")                                                                          \
    X(DONE, "done")

typedef enum sup_state {
#define SUP_STATE_ENUM(name, str) SUP_##name,
    SUP_STATES(SUP_STATE_ENUM)
#undef SUP_STATE_ENUM
        SUP_NSTATES
} sup_state;

#define SUP_EVENTS(X)                                                                              \
    X(START, "start")                                                                              \
    X(SPAWNED, "spawned")                                                                          \
    X(SPAWN_FAILED, "spawn failed")                                                                \
    X(EXITED, "exited")                                                                            \
    X(HANG, "hang")                                                                                \
    X(TREE_EMPTY, "tree empty")                                                                    \
    X(TREE_EMPTY_FINAL, "tree empty, run ends")                                                    \
    X(GRACE_OVER, "grace period over")                                                             \
    X(KILL_TIMEOUT, "sigkill did not empty the tree")                                              \
    X(STUCK_LIMIT, "stuck too long")                                                               \
    X(TIMER, "restart delay over")                                                                 \
    X(START_LIMIT, "start limit reached")                                                          \
    X(STOP, "stop requested")                                                                      \
    X(STOP_AGAIN, "stop requested again")                                                          \
    X(DAEMONIZED, "forked into the background")                                                    \
    X(MAIN_PID, "main pid found")                                                                  \
    X(MAIN_EXITED, "main pid exited")                                                              \
    X(FORK_FAILED, "forking command failed")                                                       \
    X(FORK_TIMEOUT, "no main pid in time")

typedef enum sup_event {
#define SUP_EVENT_ENUM(name, str) SUP_EV_##name,
    SUP_EVENTS(SUP_EVENT_ENUM)
#undef SUP_EVENT_ENUM
        SUP_NEVENTS,
    SUP_EV_NONE = -1 /* sup_timer: no deadline has passed */
} sup_event;

/* What run.c must do, in this order, after a transition (a bit set). */
enum {
    SUP_A_SPAWN = 1 << 0,        /* start the shim and the service (answer: SPAWNED or FAILED) */
    SUP_A_REC_START = 1 << 1,    /* record the start (event start/restart; sup_starts) */
    SUP_A_REC_EXIT = 1 << 2,     /* record the exit judged in sup_cycle() */
    SUP_A_REC_HANG = 1 << 3,     /* record the hang */
    SUP_A_TERM = 1 << 4,         /* stop the tree: SIGTERM to the group and every descendant */
    SUP_A_KILL = 1 << 5,         /* SIGKILL what is left of the tree (event stop_kill) */
    SUP_A_KILL_AGAIN = 1 << 6,   /* SIGKILL again: the tree survives it (event stop_stuck) */
    SUP_A_SCHEDULE = 1 << 7,     /* a restart after sup_delay_ms() (event restart_scheduled) */
    SUP_A_START_FAILED = 1 << 8, /* the service could not be started (event start_failed) */
    SUP_A_START_LIMIT = 1 << 9,  /* the start limit refused a start (event start_limit) */
    SUP_A_GIVE_UP = 1 << 10,     /* processes survive SIGKILL: leave them (the run errs) */
    SUP_A_FINISH = 1 << 11,      /* the run is over: stop the loop */
    SUP_A_FIND_MAIN = 1 << 12,   /* look for the main pid (pid file, tree top): MAIN_PID */
    SUP_A_REC_MAIN = 1 << 13,    /* record the main pid (event daemonized; console, run record) */
};

/* One cell of the table. ok = 0: the event is refused in that state (nothing changes). */
typedef struct sup_cell {
    int ok;
    unsigned actions;
    sup_state next;
} sup_cell;

/* Why a cycle ended. */
typedef enum sup_why {
    SUP_WHY_NONE,         /* still running */
    SUP_WHY_EXIT,         /* exited by itself with code 0 */
    SUP_WHY_CRASH,        /* non-zero exit, a signal soak did not send, a core dump */
    SUP_WHY_HANG,         /* the watchdog stopped it */
    SUP_WHY_STOP,         /* the end of a stop soak or the user asked for */
    SUP_WHY_START_FAILED, /* it never ran */
} sup_why;

/* The record of one cycle (one start of the service). */
typedef struct sup_cycle {
    unsigned n;          /* 1 for the first start */
    uint64_t start_ms;   /* loop clock */
    int exited;          /* the exit of the direct child was seen */
    int status;          /* its wait status */
    int exit_code;       /* >= 0 when it exited, -1 when killed by a signal */
    int signal;          /* the signal that killed it, 0 when it exited */
    int core;            /* it dumped core */
    int kill_sent;       /* soak sent SIGKILL to the tree in this cycle */
    int exit_failure;    /* the exit was judged a crash (events.failure of the exit event) */
    int unexpected_kill; /* killed by SIGKILL that soak did not send (OOM?) */
    sup_why why;         /* why the cycle ended */
    /* forking: the first process exited 0 and left its tree (status etc. above are then the
     * main pid's, once it exited) */
    unsigned daemonized; /* DAEMONIZED in this cycle (1: the fork; more: hand-overs) */
    int detected;        /* auto-detected (service_type auto), not configured */
    int main_pid;        /* the daemon's main pid; 0 before MAIN_PID */
    int main_exited;     /* the exit of the main pid was seen */
} sup_cycle;

/* What asked the run to stop. */
typedef enum sup_cause {
    SUP_CAUSE_NONE,
    SUP_CAUSE_DURATION, /* the duration was reached */
    SUP_CAUSE_SIGINT,
    SUP_CAUSE_SIGTERM, /* also `soak stop` */
    SUP_CAUSE_SIGHUP,
    SUP_CAUSE_FAIL_FAST, /* a gate could no longer pass (--fail-fast) */
} sup_cause;

/* How the run ended. */
typedef enum sup_outcome {
    SUP_OUT_RUNNING,      /* not ended */
    SUP_OUT_STOPPED,      /* a stop was asked for (see sup_cause) */
    SUP_OUT_EXITED,       /* the service exited and the policy does not restart it */
    SUP_OUT_FAILED,       /* the service failed and the policy does not restart it */
    SUP_OUT_START_LIMIT,  /* too many starts */
    SUP_OUT_START_FAILED, /* the service could not be started */
    SUP_OUT_STUCK,        /* processes survived SIGKILL */
} sup_outcome;

typedef struct sup_config {
    opts_restart restart;
    uint64_t stop_timeout_ms;  /* SIGTERM to SIGKILL */
    uint64_t kill_wait_ms;     /* one period of waiting after SIGKILL (5 s) */
    unsigned stuck_limit;      /* periods of SIGKILL before giving up (12) */
    uint64_t start_timeout_ms; /* wait for the shim's first message (10 s) */
    uint64_t restart_delay_ms, restart_delay_max_ms, restart_reset_after_ms;
    unsigned start_limit_burst;
    uint64_t start_limit_interval_ms;
    opts_service_type service_type; /* auto (0), simple or forking */
    uint64_t forking_detect_ms;     /* auto: an exit 0 this soon that leaves processes forked */
    uint64_t forking_timeout_ms;    /* FORKING: the main pid must be found in this time (10 s) */
} sup_config;

typedef struct sup {
    sup_config cfg;
    sup_state state;
    backoff bo;
    sup_cycle cycle;        /* the current or last cycle */
    uint64_t deadline_ms;   /* when the current state's timer event is due; 0: none */
    uint64_t delay_ms;      /* the last restart delay */
    unsigned stuck_periods; /* periods of SIGKILL in this stop */
    unsigned stops;         /* stop requests */
    sup_cause cause;        /* the first stop request */
    sup_event end_event;    /* the event that led to DONE */
    unsigned starts, restarts, crashes, hangs;
    unsigned refused; /* events refused by the table (a high-water of oddities) */
    unsigned forked;  /* cycles that forked into the background */
} sup;

/* The cell for (state, event); an out-of-range pair gives a refused cell. */
sup_cell sup_table(sup_state st, sup_event ev);

/* Sets up a supervisor in INIT. */
void sup_init(sup *s, const sup_config *cfg);

/* Feeds an event through the table at now_ms. Returns the actions to perform (0 when the
 * event was refused or asks for nothing). The functions below derive the event and call it. */
unsigned sup_feed(sup *s, sup_event ev, uint64_t now_ms);

unsigned sup_start(sup *s, uint64_t now_ms);
unsigned sup_spawned(sup *s, uint64_t now_ms);
unsigned sup_spawn_failed(sup *s, uint64_t now_ms);
/* The direct child exited with wait status `status`: judged here (see sup_cycle). */
unsigned sup_exited(sup *s, int status, uint64_t now_ms);
/* The same, knowing whether processes of its tree remain (tree_left != 0): gives DAEMONIZED,
 * FORK_FAILED or EXITED in RUNNING (see Forking above); elsewhere as sup_exited. */
unsigned sup_child_exited(sup *s, int status, int tree_left, uint64_t now_ms);
/* FORKING: run.c found the daemon's main pid (> 0). */
unsigned sup_main_pid(sup *s, int pid, uint64_t now_ms);
/* The main pid exited with wait status `status` (0 when it was not soak's to reap: judged as an
 * exit); tree_left: processes of the tree remain. One exit of a main pid per hand-over. */
unsigned sup_main_exited(sup *s, int status, int tree_left, uint64_t now_ms);
unsigned sup_hang(sup *s, uint64_t now_ms);
unsigned sup_tree_empty(sup *s, uint64_t now_ms);
unsigned sup_stop(sup *s, sup_cause cause, uint64_t now_ms);
/* The deadline of the current state, if it has passed; returns 0 when nothing was due. */
unsigned sup_timer(sup *s, uint64_t now_ms);
/* Which event sup_timer would feed at now_ms (SUP_EV_NONE: none due). No change. */
sup_event sup_timer_event(const sup *s, uint64_t now_ms);

/* When the next timer event is due (loop clock), 0 when the state has none. */
uint64_t sup_deadline(const sup *s);

const sup_cycle *sup_last_cycle(const sup *s);
/* Judges an exit of the direct child in state st (pure; exposed for tests). */
sup_why sup_judge_exit(sup_state st, int kill_sent, int status);

sup_outcome sup_outcome_of(const sup *s);
/* "duration reached", "stopped by SIGINT" ...: what asked for the stop. Static storage. */
const char *sup_cause_text(sup_cause c);
/* "duration reached", "stopped by SIGINT", "service failed", "start limit reached" ...:
 * the run's outcome as run.c prints and stores it. Static storage. */
const char *sup_outcome_text(const sup *s);
/* The exit code of the supervision (SOAK_EXIT_* of run.h): error when the service could not
 * be started or processes survived, fail when it crashed, hung or hit the start limit. */
int sup_exit_code(const sup *s);

const char *sup_state_name(sup_state st);
const char *sup_event_name(sup_event ev);

#endif
