/* wsconn: the lifecycle table of a wsrv WebSocket connection. See wsconn.h. */
#include "wsconn.h"

/* One row per state, one cell per event: {what to do, where to go}. A cell whose action is
 * NONE keeps the state: the event is impossible or meaningless there (a second close asked,
 * input after the close began, a timer of a state already left) and is ignored. */
const wsconn_cell wsconn_table[WSCONN__NSTATES][WSCONN__NEVENTS] =
    {
        [WSCONN_OPEN] =
            {
                [WSCONN_EV_CLOSE] = {WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
                [WSCONN_EV_RESET] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_PEER_CLOSE] = {WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
                [WSCONN_EV_BAD_INPUT] = {WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
                [WSCONN_EV_WRITE_FAILED] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_WRITTEN] = {WSCONN_A_NONE, WSCONN_OPEN},
                [WSCONN_EV_EOF] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_TIMER] = {WSCONN_A_NONE, WSCONN_OPEN},
                [WSCONN_EV_STOP] = {WSCONN_A_END, WSCONN_GONE},
            },
        [WSCONN_CLOSING] =
            {
                [WSCONN_EV_CLOSE] = {WSCONN_A_NONE, WSCONN_CLOSING},
                [WSCONN_EV_RESET] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_PEER_CLOSE] = {WSCONN_A_NONE, WSCONN_CLOSING},
                [WSCONN_EV_BAD_INPUT] = {WSCONN_A_NONE, WSCONN_CLOSING},
                [WSCONN_EV_WRITE_FAILED] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_WRITTEN] = {WSCONN_A_DRAIN, WSCONN_DRAIN},
                [WSCONN_EV_EOF] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_TIMER] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_STOP] = {WSCONN_A_END, WSCONN_GONE},
            },
        [WSCONN_DRAIN] =
            {
                [WSCONN_EV_CLOSE] = {WSCONN_A_NONE, WSCONN_DRAIN},
                [WSCONN_EV_RESET] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_PEER_CLOSE] = {WSCONN_A_NONE, WSCONN_DRAIN},
                [WSCONN_EV_BAD_INPUT] = {WSCONN_A_NONE, WSCONN_DRAIN},
                [WSCONN_EV_WRITE_FAILED] = {WSCONN_A_RESET, WSCONN_RESET},
                [WSCONN_EV_WRITTEN] = {WSCONN_A_NONE, WSCONN_DRAIN},
                [WSCONN_EV_EOF] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_TIMER] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_STOP] = {WSCONN_A_END, WSCONN_GONE},
            },
        [WSCONN_RESET] =
            {
                [WSCONN_EV_CLOSE] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_RESET] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_PEER_CLOSE] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_BAD_INPUT] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_WRITE_FAILED] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_WRITTEN] = {WSCONN_A_NONE, WSCONN_RESET},
                [WSCONN_EV_EOF] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_TIMER] = {WSCONN_A_END, WSCONN_GONE},
                [WSCONN_EV_STOP] = {WSCONN_A_END, WSCONN_GONE},
            },
        [WSCONN_GONE] =
            {
                [WSCONN_EV_CLOSE] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_RESET] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_PEER_CLOSE] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_BAD_INPUT] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_WRITE_FAILED] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_WRITTEN] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_EOF] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_TIMER] = {WSCONN_A_NONE, WSCONN_GONE},
                [WSCONN_EV_STOP] = {WSCONN_A_NONE, WSCONN_GONE},
            },
};

wsconn_cell wsconn_step(wsconn_state state, wsconn_event event)
{
    if ((unsigned)state >= WSCONN__NSTATES)
        state = WSCONN_GONE;
    if ((unsigned)event >= WSCONN__NEVENTS)
        return (wsconn_cell){WSCONN_A_NONE, state};
    return wsconn_table[state][event];
}

const char *wsconn_state_name(wsconn_state s)
{
    static const char *const names[] = {
#define WSCONN_STATE_NAME(e, n) n,
        WSCONN_STATES(WSCONN_STATE_NAME)
#undef WSCONN_STATE_NAME
    };
    return (unsigned)s < WSCONN__NSTATES ? names[s] : "?";
}

const char *wsconn_event_name(wsconn_event e)
{
    static const char *const names[] = {
#define WSCONN_EVENT_NAME(x, n) n,
        WSCONN_EVENTS(WSCONN_EVENT_NAME)
#undef WSCONN_EVENT_NAME
    };
    return (unsigned)e < WSCONN__NEVENTS ? names[e] : "?";
}

const char *wsconn_action_name(wsconn_action a)
{
    static const char *const names[] = {
#define WSCONN_ACTION_NAME(x, n) n,
        WSCONN_ACTIONS(WSCONN_ACTION_NAME)
#undef WSCONN_ACTION_NAME
    };
    return (unsigned)a < WSCONN__NACTIONS ? names[a] : "?";
}
