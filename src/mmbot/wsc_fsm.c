/* wsc_fsm: the connection state table and the reconnect delay of wsc. See wsc_fsm.h. */
#include "wsc_fsm.h"

#include <stdio.h>

/* One row per state, one cell per event: {what to do, where to go}. A cell whose action is
 * NONE keeps the state: the event is impossible or meaningless there (a late ack, a timer of
 * a step already left) and is ignored. */
const wsc_cell wsc_fsm_table[WSC__NSTATES][WSC__NEVENTS] =
    {
        [WSC_IDLE] =
            {
                [WSC_EV_START] = {WSC_A_CONNECT, WSC_CONNECTING},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_MESSAGE] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_PING_DUE] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_STALE] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_CLOSED] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_IDLE},
                [WSC_EV_STOP] = {WSC_A_NONE, WSC_CLOSED},
            },
        [WSC_CONNECTING] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_CONNECTED] = {WSC_A_AUTH, WSC_AUTHENTICATING},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_MESSAGE] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_PING_DUE] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_STALE] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_CLOSED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_CONNECTING},
                [WSC_EV_STOP] = {WSC_A_ABORT, WSC_CLOSED},
            },
        [WSC_AUTHENTICATING] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_AUTH_OK] = {WSC_A_SUBSCRIBE, WSC_SUBSCRIBING},
                [WSC_EV_AUTH_FAILED] = {WSC_A_FAIL, WSC_CLOSED},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_MESSAGE] = {WSC_A_DELIVER, WSC_AUTHENTICATING},
                [WSC_EV_PING_DUE] = {WSC_A_PING, WSC_AUTHENTICATING},
                [WSC_EV_STALE] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_CLOSED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_AUTHENTICATING},
                [WSC_EV_STOP] = {WSC_A_CLOSE, WSC_CLOSING},
            },
        [WSC_SUBSCRIBING] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_SUBSCRIBING},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_SUBSCRIBING},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_SUBSCRIBING},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_SUBSCRIBING},
                [WSC_EV_SUBSCRIBED] = {WSC_A_LIVE, WSC_LIVE},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_FAIL, WSC_CLOSED},
                [WSC_EV_MESSAGE] = {WSC_A_DELIVER, WSC_SUBSCRIBING},
                [WSC_EV_PING_DUE] = {WSC_A_PING, WSC_SUBSCRIBING},
                [WSC_EV_STALE] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_CLOSED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_MARK, WSC_SUBSCRIBING},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_SUBSCRIBING},
                [WSC_EV_STOP] = {WSC_A_CLOSE, WSC_CLOSING},
            },
        [WSC_LIVE] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_MESSAGE] = {WSC_A_DELIVER, WSC_LIVE},
                [WSC_EV_PING_DUE] = {WSC_A_PING, WSC_LIVE},
                [WSC_EV_STALE] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_CLOSED] = {WSC_A_RETRY, WSC_BACKOFF},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_RESUBSCRIBE, WSC_SUBSCRIBING},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_LIVE},
                [WSC_EV_STOP] = {WSC_A_CLOSE, WSC_CLOSING},
            },
        [WSC_BACKOFF] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_MESSAGE] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_PING_DUE] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_STALE] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_CLOSED] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_BACKOFF},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_CONNECT, WSC_CONNECTING},
                [WSC_EV_STOP] = {WSC_A_CANCEL, WSC_CLOSED},
            },
        [WSC_CLOSING] =
            {
                [WSC_EV_START] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_CLOSED, WSC_CLOSED},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_MESSAGE] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_PING_DUE] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_STALE] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_ABORT, WSC_CLOSED},
                [WSC_EV_CLOSED] = {WSC_A_CLOSED, WSC_CLOSED},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_CLOSING},
                [WSC_EV_STOP] = {WSC_A_NONE, WSC_CLOSING},
            },
        [WSC_CLOSED] =
            {
                [WSC_EV_START] = {WSC_A_CONNECT, WSC_CONNECTING},
                [WSC_EV_CONNECTED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_CONNECT_FAILED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_AUTH_OK] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_AUTH_FAILED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_SUBSCRIBED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_SUBSCRIBE_FAILED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_MESSAGE] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_PING_DUE] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_STALE] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_ACK_TIMEOUT] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_CLOSED] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_RESUBSCRIBE] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_BACKOFF_TIMER] = {WSC_A_NONE, WSC_CLOSED},
                [WSC_EV_STOP] = {WSC_A_NONE, WSC_CLOSED},
            },
};

wsc_cell wsc_fsm_step(wsc_state state, wsc_event event)
{
    if ((unsigned)state >= WSC__NSTATES)
        state = WSC_IDLE;
    if ((unsigned)event >= WSC__NEVENTS)
        return (wsc_cell){WSC_A_NONE, state};
    return wsc_fsm_table[state][event];
}

const char *wsc_state_name(wsc_state s)
{
    static const char *const names[] = {
#define WSC_STATE_NAME(e, s) s,
        WSC_STATES(WSC_STATE_NAME)
#undef WSC_STATE_NAME
    };
    return (unsigned)s < WSC__NSTATES ? names[s] : "?";
}

const char *wsc_event_name(wsc_event e)
{
    static const char *const names[] = {
#define WSC_EVENT_NAME(e, s) s,
        WSC_EVENTS(WSC_EVENT_NAME)
#undef WSC_EVENT_NAME
    };
    return (unsigned)e < WSC__NEVENTS ? names[e] : "?";
}

const char *wsc_action_name(wsc_action a)
{
    static const char *const names[] = {
#define WSC_ACTION_NAME(e, s) s,
        WSC_ACTIONS(WSC_ACTION_NAME)
#undef WSC_ACTION_NAME
    };
    return (unsigned)a < WSC__NACTIONS ? names[a] : "?";
}

void wsc_fsm_backoff_init(backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t healthy_ms)
{
    /* the start limit of lib/backoff is not used: a client retries for as long as it runs */
    backoff_init(b, initial_ms, max_ms, healthy_ms, BACKOFF_MAX_BURST, 0);
}

uint64_t wsc_fsm_delay(backoff *b, prng *r, double jitter, uint64_t live_ms, unsigned *attempt)
{
    uint64_t base = backoff_next(b, live_ms);
    if (attempt)
        *attempt = b->failures;
    if (!(jitter > 0)) /* also NaN */
        return base;
    if (jitter > 1)
        jitter = 1;
    double d = (double)base * (1.0 - jitter * prng_unit(r));
    uint64_t ms = (uint64_t)(d + 0.5);
    return ms > base ? base : ms;
}

size_t wsc_fsm_reconnect_line(char *out, size_t outlen, unsigned attempt, uint64_t delay_ms)
{
    char d[32];
    int n = snprintf(d, sizeof d, "%llu.%03u", (unsigned long long)(delay_ms / 1000),
                     (unsigned)(delay_ms % 1000));
    /* up to 3 decimals: trailing zeros go, and the point with them */
    while (n > 0 && d[n - 1] == '0')
        d[--n] = '\0';
    if (n > 0 && d[n - 1] == '.')
        d[--n] = '\0';
    if (!outlen)
        return 0;
    int w = snprintf(out, outlen, "reconnect attempt %u in %s s", attempt, d);
    if (w < 0) {
        out[0] = '\0';
        return 0;
    }
    return (size_t)w < outlen ? (size_t)w : outlen - 1;
}
