/* watchsm: the table of `soak watch` and its records. See watchsm.h. */
#include "watchsm.h"

#include <string.h>

#include "run.h"

#define C(acts, nxt)                                                                               \
    {                                                                                              \
        1, (acts), WSM_##nxt                                                                       \
    }
#define RSTART WSM_A_REC_START
#define REXIT  WSM_A_REC_EXIT
#define RREST  WSM_A_REC_RESTART
#define RHANG  WSM_A_REC_HANG
#define ONHANG WSM_A_ON_HANG
#define AFAIL  WSM_A_ATTACH_FAILED
#define FINISH WSM_A_FINISH

/* actions[state][event]: every transition of a watch. A cell left out is refused. */
static const wsm_cell actions[WSM_NSTATES][WSM_NEVENTS] = {
    [WSM_INIT] =
        {
            [WSM_EV_ATTACHED] = C(RSTART, WATCHING),
            [WSM_EV_ATTACH_FAILED] = C(AFAIL | FINISH, DONE),
            [WSM_EV_STOP] = C(FINISH, DONE),
        },
    [WSM_WATCHING] =
        {
            [WSM_EV_EXITED] = C(REXIT, GONE),
            [WSM_EV_EXITED_FINAL] = C(REXIT | FINISH, DONE),
            [WSM_EV_REPLACED] = C(REXIT | RREST, WATCHING),
            [WSM_EV_HANG] = C(RHANG | ONHANG, HUNG),
            [WSM_EV_HEARTBEAT] = C(0, WATCHING),
            [WSM_EV_STOP] = C(FINISH, DONE),
        },
    [WSM_HUNG] =
        {
            [WSM_EV_EXITED] = C(REXIT, GONE),
            [WSM_EV_EXITED_FINAL] = C(REXIT | FINISH, DONE),
            [WSM_EV_REPLACED] = C(REXIT | RREST, WATCHING),
            [WSM_EV_HANG] = C(0, HUNG),
            [WSM_EV_HEARTBEAT] = C(0, WATCHING),
            [WSM_EV_STOP] = C(FINISH, DONE),
        },
    [WSM_GONE] =
        {
            [WSM_EV_EXITED] = C(0, GONE),
            [WSM_EV_REPLACED] = C(RREST, WATCHING),
            [WSM_EV_HEARTBEAT] = C(0, GONE),
            [WSM_EV_STOP] = C(FINISH, DONE),
        },
    [WSM_DONE] = {{0}},
};

wsm_cell wsm_table(wsm_state st, wsm_event ev)
{
    if ((unsigned)st >= WSM_NSTATES || (unsigned)ev >= WSM_NEVENTS)
        return (wsm_cell){0, 0, st};
    return actions[st][ev];
}

void wsm_init(wsm *w)
{
    memset(w, 0, sizeof *w);
    w->state = WSM_INIT;
    w->cause = SUP_CAUSE_NONE;
    w->end_event = WSM_EV_NONE;
}

unsigned wsm_feed(wsm *w, wsm_event ev, uint64_t now_ms)
{
    wsm_cell c = wsm_table(w->state, ev);
    if (!c.ok) {
        w->refused++;
        return 0;
    }
    if (c.actions & WSM_A_REC_START) {
        w->starts++;
        w->start_ms = now_ms;
    }
    if (c.actions & WSM_A_REC_EXIT) {
        w->exits++;
        if (w->last_exit.failure)
            w->crashes++;
    }
    if (c.actions & WSM_A_REC_RESTART) {
        w->starts++;
        w->restarts++;
        w->start_ms = now_ms;
    }
    if (c.actions & WSM_A_REC_HANG) {
        w->hangs++;
        w->crashes++;
    }
    w->state = c.next;
    if (c.next == WSM_DONE)
        w->end_event = ev;
    return c.actions;
}

int wsm_judge_exit(const wsm_exit *e)
{
    return !e->known || e->code != 0 || e->signal != 0 || e->oom_kill;
}

unsigned wsm_attached(wsm *w, uint64_t now_ms)
{
    return wsm_feed(w, WSM_EV_ATTACHED, now_ms);
}

unsigned wsm_attach_failed(wsm *w, uint64_t now_ms)
{
    return wsm_feed(w, WSM_EV_ATTACH_FAILED, now_ms);
}

/* Keeps e, judged, as the exit the next REC_EXIT records (only when the table will take it). */
static void wsm_keep_exit(wsm *w, const wsm_exit *e, wsm_event ev)
{
    if (!wsm_table(w->state, ev).ok || !(wsm_table(w->state, ev).actions & WSM_A_REC_EXIT))
        return;
    w->last_exit = *e;
    w->last_exit.failure = wsm_judge_exit(e);
}

unsigned wsm_exited(wsm *w, const wsm_exit *e, int can_return, uint64_t now_ms)
{
    wsm_event ev = can_return ? WSM_EV_EXITED : WSM_EV_EXITED_FINAL;
    wsm_keep_exit(w, e, ev);
    return wsm_feed(w, ev, now_ms);
}

unsigned wsm_replaced(wsm *w, const wsm_exit *e, uint64_t now_ms)
{
    wsm_keep_exit(w, e, WSM_EV_REPLACED);
    return wsm_feed(w, WSM_EV_REPLACED, now_ms);
}

unsigned wsm_hang(wsm *w, uint64_t now_ms)
{
    return wsm_feed(w, WSM_EV_HANG, now_ms);
}

unsigned wsm_heartbeat(wsm *w, uint64_t now_ms)
{
    return wsm_feed(w, WSM_EV_HEARTBEAT, now_ms);
}

unsigned wsm_stop(wsm *w, sup_cause cause, uint64_t now_ms)
{
    if (w->cause == SUP_CAUSE_NONE && wsm_table(w->state, WSM_EV_STOP).ok)
        w->cause = cause;
    return wsm_feed(w, WSM_EV_STOP, now_ms);
}

int wsm_running(const wsm *w)
{
    return w->state == WSM_WATCHING || w->state == WSM_HUNG;
}

const char *wsm_outcome_text(const wsm *w)
{
    if (w->state != WSM_DONE)
        return "running";
    switch (w->end_event) {
    case WSM_EV_ATTACH_FAILED:
        return "cannot attach to the target";
    case WSM_EV_EXITED_FINAL:
        return w->last_exit.failure ? "service failed" : "service exited";
    case WSM_EV_STOP:
        return sup_cause_text(w->cause);
    default:
        return "running";
    }
}

int wsm_exit_code(const wsm *w)
{
    if (w->state != WSM_DONE || w->end_event == WSM_EV_ATTACH_FAILED)
        return SOAK_EXIT_ERROR;
    if (w->crashes > 0 || w->hangs > 0)
        return SOAK_EXIT_FAIL;
    return SOAK_EXIT_PASS;
}

int wsm_interrupted(const wsm *w)
{
    return w->state == WSM_DONE && w->end_event == WSM_EV_STOP && w->cause != SUP_CAUSE_DURATION;
}

const char *wsm_state_name(wsm_state st)
{
    static const char *const names[] = {
#define WSM_STATE_STR(name, str) str,
        WSM_STATES(WSM_STATE_STR)
#undef WSM_STATE_STR
    };
    return (unsigned)st < WSM_NSTATES ? names[st] : "unknown";
}

const char *wsm_event_name(wsm_event ev)
{
    static const char *const names[] = {
#define WSM_EVENT_STR(name, str) str,
        WSM_EVENTS(WSM_EVENT_STR)
#undef WSM_EVENT_STR
    };
    return (unsigned)ev < WSM_NEVENTS ? names[ev] : "none";
}
