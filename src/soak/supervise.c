/* supervise: the supervisor's table and its records. See supervise.h. */
#include "supervise.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

#include "run.h"

/* Shorthands for the table. */
#define C(acts, nxt)                                                                               \
    {                                                                                              \
        1, (acts), SUP_##nxt                                                                       \
    }
#define SPAWN  SUP_A_SPAWN
#define RSTART SUP_A_REC_START
#define REXIT  SUP_A_REC_EXIT
#define RHANG  SUP_A_REC_HANG
#define TERM   SUP_A_TERM
#define KILL   SUP_A_KILL
#define AGAIN  SUP_A_KILL_AGAIN
#define SCHED  SUP_A_SCHEDULE
#define SFAIL  SUP_A_START_FAILED
#define LIMIT  SUP_A_START_LIMIT
#define GIVEUP SUP_A_GIVE_UP
#define FINISH SUP_A_FINISH
#define FIND   SUP_A_FIND_MAIN
#define RMAIN  SUP_A_REC_MAIN

/* actions[state][event]: every transition of the supervisor. A cell left out is refused. */
static const sup_cell actions[SUP_NSTATES][SUP_NEVENTS] =
    {
        [SUP_INIT] =
            {
                [SUP_EV_START] = C(SPAWN, STARTING),
                [SUP_EV_START_LIMIT] = C(LIMIT | FINISH, DONE),
                [SUP_EV_STOP] = C(FINISH, DONE),
            },
        [SUP_STARTING] =
            {
                [SUP_EV_SPAWNED] = C(RSTART, RUNNING),
                [SUP_EV_SPAWN_FAILED] = C(SFAIL | FINISH, DONE),
                [SUP_EV_EXITED] = C(SFAIL | FINISH, DONE),
                [SUP_EV_STOP] = C(TERM, STOP_TERM),
            },
        [SUP_RUNNING] =
            {
                [SUP_EV_EXITED] = C(REXIT | TERM, STOP_TERM),
                [SUP_EV_HANG] = C(RHANG | TERM, STOP_TERM),
                [SUP_EV_STOP] = C(TERM, STOP_TERM),
                [SUP_EV_DAEMONIZED] = C(FIND, FORKING),
                [SUP_EV_MAIN_EXITED] = C(REXIT | TERM, STOP_TERM),
                [SUP_EV_FORK_FAILED] = C(SFAIL | TERM, STOP_TERM),
            },
        [SUP_FORKING] =
            {
                [SUP_EV_MAIN_PID] = C(RMAIN, RUNNING),
                [SUP_EV_MAIN_EXITED] = C(SFAIL | TERM, STOP_TERM),
                [SUP_EV_FORK_TIMEOUT] = C(SFAIL | TERM, STOP_TERM),
                [SUP_EV_STOP] = C(TERM, STOP_TERM),
            },
        [SUP_STOP_TERM] =
            {
                [SUP_EV_EXITED] = C(REXIT, STOP_TERM),
                [SUP_EV_MAIN_EXITED] = C(REXIT, STOP_TERM),
                [SUP_EV_TREE_EMPTY] = C(SCHED, BACKOFF),
                [SUP_EV_TREE_EMPTY_FINAL] = C(FINISH, DONE),
                [SUP_EV_GRACE_OVER] = C(KILL, STOP_KILL),
                [SUP_EV_STOP] = C(0, STOP_TERM),
                [SUP_EV_STOP_AGAIN] = C(KILL, STOP_KILL),
            },
        [SUP_STOP_KILL] =
            {
                [SUP_EV_EXITED] = C(REXIT, STOP_KILL),
                [SUP_EV_MAIN_EXITED] = C(REXIT, STOP_KILL),
                [SUP_EV_TREE_EMPTY] = C(SCHED, BACKOFF),
                [SUP_EV_TREE_EMPTY_FINAL] = C(FINISH, DONE),
                [SUP_EV_KILL_TIMEOUT] = C(AGAIN, STUCK),
                [SUP_EV_STOP] = C(0, STOP_KILL),
                [SUP_EV_STOP_AGAIN] = C(0, STOP_KILL),
            },
        [SUP_STUCK] =
            {
                [SUP_EV_EXITED] = C(REXIT, STUCK),
                [SUP_EV_MAIN_EXITED] = C(REXIT, STUCK),
                [SUP_EV_TREE_EMPTY] = C(SCHED, BACKOFF),
                [SUP_EV_TREE_EMPTY_FINAL] = C(FINISH, DONE),
                [SUP_EV_KILL_TIMEOUT] = C(AGAIN, STUCK),
                [SUP_EV_STUCK_LIMIT] = C(AGAIN | GIVEUP | FINISH, DONE),
                [SUP_EV_STOP] = C(0, STUCK),
                [SUP_EV_STOP_AGAIN] = C(0, STUCK),
            },
        [SUP_BACKOFF] =
            {
                [SUP_EV_TIMER] = C(SPAWN, STARTING),
                [SUP_EV_START_LIMIT] = C(LIMIT | FINISH, DONE),
                [SUP_EV_STOP] = C(FINISH, DONE),
            },
        [SUP_DONE] = {{0}},
};

sup_cell sup_table(sup_state st, sup_event ev)
{
    if ((unsigned)st >= SUP_NSTATES || (unsigned)ev >= SUP_NEVENTS)
        return (sup_cell){0, 0, st};
    return actions[st][ev];
}

void sup_init(sup *s, const sup_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.kill_wait_ms)
        s->cfg.kill_wait_ms = 5000;
    if (!s->cfg.stuck_limit)
        s->cfg.stuck_limit = 12;
    if (!s->cfg.start_timeout_ms)
        s->cfg.start_timeout_ms = 10000;
    if (!s->cfg.forking_timeout_ms)
        s->cfg.forking_timeout_ms = 10000;
    s->state = SUP_INIT;
    s->end_event = SUP_EV_NONE;
    backoff_init(&s->bo, cfg->restart_delay_ms, cfg->restart_delay_max_ms,
                 cfg->restart_reset_after_ms, cfg->start_limit_burst, cfg->start_limit_interval_ms);
}

sup_why sup_judge_exit(sup_state st, int kill_sent, int status)
{
    int stopping = st == SUP_STOP_TERM || st == SUP_STOP_KILL || st == SUP_STUCK;
    if (WIFEXITED(status)) {
        if (stopping)
            return SUP_WHY_STOP; /* whatever code a service gives itself on SIGTERM */
        return WEXITSTATUS(status) == 0 ? SUP_WHY_EXIT : SUP_WHY_CRASH;
    }
    if (!stopping || WCOREDUMP(status))
        return SUP_WHY_CRASH; /* a crash while shutting down still counts */
    int sig = WTERMSIG(status);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || (sig == SIGKILL && kill_sent))
        return SUP_WHY_STOP;
    return SUP_WHY_CRASH;
}

/* What a transition does to the records, before run.c performs the actions. */
static void sup_bookkeep(sup *s, sup_state from, sup_event ev, unsigned acts, uint64_t now)
{
    if (acts & SUP_A_SPAWN)
        s->cycle = (sup_cycle){.n = s->starts + 1, .start_ms = now}; /* a new cycle begins */
    if (acts & SUP_A_REC_START) {
        s->starts++;
        if (s->starts > 1)
            s->restarts++;
        s->cycle = (sup_cycle){.n = s->starts, .start_ms = now};
    }
    if (acts & SUP_A_REC_HANG) {
        s->cycle.why = SUP_WHY_HANG;
        s->hangs++;
        s->crashes++;
    }
    if (acts & SUP_A_REC_EXIT) {
        sup_why w = sup_judge_exit(from, s->cycle.kill_sent, s->cycle.status);
        s->cycle.exit_failure = w == SUP_WHY_CRASH;
        if (w == SUP_WHY_CRASH)
            s->crashes++;
        if (s->cycle.why == SUP_WHY_NONE) /* a hang stays the reason of its cycle */
            s->cycle.why = w;
    }
    if (acts & (SUP_A_KILL | SUP_A_KILL_AGAIN))
        s->cycle.kill_sent = 1;
    if (acts & SUP_A_START_FAILED)
        s->cycle.why = SUP_WHY_START_FAILED;
    if (acts & SUP_A_FIND_MAIN) {
        if (s->cycle.daemonized++ == 0)
            s->forked++;
        s->cycle.main_pid = 0; /* a hand-over: the next one is looked for */
        s->cycle.main_exited = 0;
    }
    if (acts & SUP_A_SCHEDULE) {
        s->delay_ms = backoff_next(&s->bo, now - s->cycle.start_ms);
    }
    if (ev == SUP_EV_KILL_TIMEOUT || ev == SUP_EV_STUCK_LIMIT)
        s->stuck_periods++;
    if (acts & SUP_A_TERM)
        s->stuck_periods = 0;
}

/* The deadline of the state just entered (a self-loop keeps or renews it as noted). */
static void sup_arm(sup *s, sup_state from, sup_event ev, uint64_t now)
{
    switch (s->state) {
    case SUP_STARTING:
        s->deadline_ms = now + s->cfg.start_timeout_ms;
        break;
    case SUP_FORKING:
        s->deadline_ms = now + s->cfg.forking_timeout_ms;
        break;
    case SUP_STOP_TERM:
        if (from != SUP_STOP_TERM) /* a stop asked for during a stop keeps its grace */
            s->deadline_ms = now + s->cfg.stop_timeout_ms;
        break;
    case SUP_STOP_KILL:
    case SUP_STUCK:
        if (from != s->state || ev == SUP_EV_KILL_TIMEOUT) /* a new period of SIGKILL */
            s->deadline_ms = now + s->cfg.kill_wait_ms;
        break;
    case SUP_BACKOFF:
        s->deadline_ms = now + s->delay_ms;
        break;
    default:
        s->deadline_ms = 0;
        break;
    }
}

unsigned sup_feed(sup *s, sup_event ev, uint64_t now_ms)
{
    sup_cell c = sup_table(s->state, ev);
    if (!c.ok) {
        s->refused++;
        return 0;
    }
    sup_state from = s->state;
    sup_bookkeep(s, from, ev, c.actions, now_ms);
    s->state = c.next;
    if (c.next == SUP_DONE && from != SUP_DONE)
        s->end_event = ev;
    sup_arm(s, from, ev, now_ms);
    return c.actions;
}

unsigned sup_start(sup *s, uint64_t now_ms)
{
    if (s->state != SUP_INIT)
        return sup_feed(s, SUP_EV_START, now_ms); /* refused */
    return sup_feed(s, backoff_start(&s->bo, now_ms) == 0 ? SUP_EV_START : SUP_EV_START_LIMIT,
                    now_ms);
}

unsigned sup_spawned(sup *s, uint64_t now_ms)
{
    return sup_feed(s, SUP_EV_SPAWNED, now_ms);
}

unsigned sup_spawn_failed(sup *s, uint64_t now_ms)
{
    return sup_feed(s, SUP_EV_SPAWN_FAILED, now_ms);
}

/* Notes an exit's wait status in the cycle's record. */
static void sup_note_status(sup *s, int status)
{
    s->cycle.status = status;
    s->cycle.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    s->cycle.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    s->cycle.core = WIFSIGNALED(status) && WCOREDUMP(status);
    s->cycle.unexpected_kill = s->cycle.signal == SIGKILL && !s->cycle.kill_sent;
}

/* Which event the first process's exit is (see Forking in supervise.h). */
static sup_event sup_child_event(sup *s, int status, int tree_left, uint64_t now_ms)
{
    if (s->state != SUP_RUNNING || s->cycle.daemonized)
        return SUP_EV_EXITED;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    switch (s->cfg.service_type) {
    case OPTS_SERVICE_FORKING:
        if (!ok)
            return SUP_EV_FORK_FAILED;
        return tree_left ? SUP_EV_DAEMONIZED : SUP_EV_EXITED;
    case OPTS_SERVICE_AUTO:
        if (ok && tree_left && now_ms - s->cycle.start_ms <= s->cfg.forking_detect_ms) {
            s->cycle.detected = 1;
            return SUP_EV_DAEMONIZED;
        }
        return SUP_EV_EXITED;
    case OPTS_SERVICE_SIMPLE:
        break;
    }
    return SUP_EV_EXITED;
}

unsigned sup_child_exited(sup *s, int status, int tree_left, uint64_t now_ms)
{
    sup_event ev = SUP_EV_EXITED;
    if (sup_table(s->state, SUP_EV_EXITED).ok && s->state != SUP_STARTING) {
        if (s->cycle.exited)
            return sup_feed(s, SUP_EV_NONE, now_ms); /* one exit per cycle: refused */
        ev = sup_child_event(s, status, tree_left, now_ms);
        s->cycle.exited = 1;
        sup_note_status(s, status);
    }
    return sup_feed(s, ev, now_ms);
}

unsigned sup_exited(sup *s, int status, uint64_t now_ms)
{
    return sup_child_exited(s, status, 0, now_ms);
}

unsigned sup_main_pid(sup *s, int pid, uint64_t now_ms)
{
    if (pid <= 0 || !sup_table(s->state, SUP_EV_MAIN_PID).ok)
        return sup_feed(s, SUP_EV_NONE, now_ms); /* refused */
    s->cycle.main_pid = pid;
    return sup_feed(s, SUP_EV_MAIN_PID, now_ms);
}

unsigned sup_main_exited(sup *s, int status, int tree_left, uint64_t now_ms)
{
    if (!s->cycle.daemonized || s->cycle.main_exited || s->state == SUP_FORKING)
        return sup_feed(s, s->state == SUP_FORKING ? SUP_EV_MAIN_EXITED : SUP_EV_NONE, now_ms);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (s->state == SUP_RUNNING && ok && tree_left)
        return sup_feed(s, SUP_EV_DAEMONIZED, now_ms); /* a hand-over to the next main pid */
    if (sup_table(s->state, SUP_EV_MAIN_EXITED).ok) {
        s->cycle.main_exited = 1;
        sup_note_status(s, status);
    }
    return sup_feed(s, SUP_EV_MAIN_EXITED, now_ms);
}

unsigned sup_hang(sup *s, uint64_t now_ms)
{
    return sup_feed(s, SUP_EV_HANG, now_ms);
}

/* Whether the run ends once this cycle's tree is gone. */
static int sup_run_ends(const sup *s)
{
    if (s->stops > 0 || s->cycle.why == SUP_WHY_START_FAILED)
        return 1;
    int failed = s->cycle.why == SUP_WHY_CRASH || s->cycle.why == SUP_WHY_HANG;
    return s->cfg.restart == OPTS_RESTART_NEVER ||
           (s->cfg.restart == OPTS_RESTART_ON_FAILURE && !failed);
}

unsigned sup_tree_empty(sup *s, uint64_t now_ms)
{
    return sup_feed(s, sup_run_ends(s) ? SUP_EV_TREE_EMPTY_FINAL : SUP_EV_TREE_EMPTY, now_ms);
}

unsigned sup_stop(sup *s, sup_cause cause, uint64_t now_ms)
{
    sup_event ev = s->stops == 0 ? SUP_EV_STOP : SUP_EV_STOP_AGAIN;
    if (!sup_table(s->state, ev).ok)
        return sup_feed(s, ev, now_ms); /* refused: nothing is noted */
    if (s->stops++ == 0)
        s->cause = cause;
    return sup_feed(s, ev, now_ms);
}

sup_event sup_timer_event(const sup *s, uint64_t now_ms)
{
    if (!s->deadline_ms || now_ms < s->deadline_ms)
        return SUP_EV_NONE;
    switch (s->state) {
    case SUP_STARTING:
        return SUP_EV_SPAWN_FAILED;
    case SUP_FORKING:
        return SUP_EV_FORK_TIMEOUT;
    case SUP_STOP_TERM:
        return SUP_EV_GRACE_OVER;
    case SUP_STOP_KILL:
        return SUP_EV_KILL_TIMEOUT;
    case SUP_STUCK:
        return s->stuck_periods + 1 >= s->cfg.stuck_limit ? SUP_EV_STUCK_LIMIT
                                                          : SUP_EV_KILL_TIMEOUT;
    case SUP_BACKOFF:
        return SUP_EV_TIMER;
    default:
        return SUP_EV_NONE;
    }
}

unsigned sup_timer(sup *s, uint64_t now_ms)
{
    sup_event ev = sup_timer_event(s, now_ms);
    if (ev == SUP_EV_NONE)
        return 0;
    if (ev == SUP_EV_TIMER && backoff_start(&s->bo, now_ms) != 0)
        ev = SUP_EV_START_LIMIT;
    return sup_feed(s, ev, now_ms);
}

uint64_t sup_deadline(const sup *s)
{
    return s->deadline_ms;
}

const sup_cycle *sup_last_cycle(const sup *s)
{
    return &s->cycle;
}

sup_outcome sup_outcome_of(const sup *s)
{
    if (s->state != SUP_DONE)
        return SUP_OUT_RUNNING;
    switch (s->end_event) {
    case SUP_EV_START_LIMIT:
        return SUP_OUT_START_LIMIT;
    case SUP_EV_SPAWN_FAILED:
    case SUP_EV_EXITED:
        return SUP_OUT_START_FAILED;
    case SUP_EV_STUCK_LIMIT:
        return SUP_OUT_STUCK;
    case SUP_EV_STOP:
        return SUP_OUT_STOPPED;
    case SUP_EV_TREE_EMPTY_FINAL:
        if (s->cycle.why == SUP_WHY_START_FAILED)
            return SUP_OUT_START_FAILED; /* a forking start that failed, its tree stopped */
        if (s->stops > 0)
            return SUP_OUT_STOPPED;
        return s->cycle.why == SUP_WHY_CRASH || s->cycle.why == SUP_WHY_HANG ? SUP_OUT_FAILED
                                                                             : SUP_OUT_EXITED;
    default:
        return SUP_OUT_RUNNING;
    }
}

const char *sup_cause_text(sup_cause c)
{
    switch (c) {
    case SUP_CAUSE_NONE:
        return "no stop requested";
    case SUP_CAUSE_DURATION:
        return "duration reached";
    case SUP_CAUSE_SIGINT:
        return "stopped by SIGINT";
    case SUP_CAUSE_SIGHUP:
        return "stopped by SIGHUP";
    case SUP_CAUSE_SIGTERM:
        break;
    case SUP_CAUSE_FAIL_FAST:
        return "stopped by fail-fast";
    }
    return "stopped by SIGTERM";
}

const char *sup_outcome_text(const sup *s)
{
    switch (sup_outcome_of(s)) {
    case SUP_OUT_RUNNING:
        return "running";
    case SUP_OUT_STOPPED:
        return sup_cause_text(s->cause);
    case SUP_OUT_EXITED:
        return "service exited";
    case SUP_OUT_FAILED:
        return "service failed";
    case SUP_OUT_START_LIMIT:
        return "start limit reached";
    case SUP_OUT_START_FAILED:
        return "cannot start the service";
    case SUP_OUT_STUCK:
        return "processes survive SIGKILL";
    }
    return "running";
}

int sup_exit_code(const sup *s)
{
    sup_outcome o = sup_outcome_of(s);
    if (o == SUP_OUT_START_FAILED || o == SUP_OUT_STUCK || o == SUP_OUT_RUNNING)
        return SOAK_EXIT_ERROR;
    if (o == SUP_OUT_START_LIMIT || s->crashes > 0 || s->hangs > 0)
        return SOAK_EXIT_FAIL;
    return SOAK_EXIT_PASS;
}

const char *sup_state_name(sup_state st)
{
    static const char *const names[] = {
#define SUP_STATE_STR(name, str) str,
        SUP_STATES(SUP_STATE_STR)
#undef SUP_STATE_STR
    };
    return (unsigned)st < SUP_NSTATES ? names[st] : "unknown";
}

const char *sup_event_name(sup_event ev)
{
    static const char *const names[] = {
#define SUP_EVENT_STR(name, str) str,
        SUP_EVENTS(SUP_EVENT_STR)
#undef SUP_EVENT_STR
    };
    return (unsigned)ev < SUP_NEVENTS ? names[ev] : "none";
}
