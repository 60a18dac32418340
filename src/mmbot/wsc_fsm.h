/*
 * wsc_fsm: the pure part of mmbot's WebSocket client (wsc): the connection state machine and
 * the reconnect delay. No I/O, no clock, no libwebsockets or libuv: wsc.c posts events, does
 * what the table's action says, and passes time in. Every transition goes through
 * wsc_fsm_table[state][event]; tests/unit/test_wsc.c checks every cell.
 *
 * The lifecycle of one connection (public or private stream):
 *   idle -start-> connecting -connected-> authenticating -auth ok-> subscribing -subscribed->
 *   live. A public stream has nothing to authenticate: wsc.c answers WSC_A_AUTH with
 *   WSC_EV_AUTH_OK at once, so one table serves both kinds.
 *   Losing the connection (connect failed, closed by peer, stale, a step's ack not in time)
 *   goes to backoff; its timer goes to connecting again. Authentication or a subscription
 *   refused by the exchange goes to closed (WSC_A_FAIL): retrying cannot help, the caller
 *   decides (and may start again). stop closes gracefully (closing, then closed).
 *
 * Threads: none of its own; everything here is a pure function of its arguments (the backoff
 * and prng values are the caller's).
 */
#ifndef WSC_FSM_H
#define WSC_FSM_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "prng.h"

#define WSC_STATES(X)                                                                              \
    X(IDLE, "idle")                                                                                \
    X(CONNECTING, "connecting")                                                                    \
    X(AUTHENTICATING, "authenticating")                                                            \
    X(SUBSCRIBING, "subscribing")                                                                  \
    X(LIVE, "live")                                                                                \
    X(BACKOFF, "backoff")                                                                          \
    X(CLOSING, "closing")                                                                          \
    X(CLOSED, "closed")

typedef enum wsc_state {
#define WSC_STATE_ENUM(e, s) WSC_##e,
    WSC_STATES(WSC_STATE_ENUM)
#undef WSC_STATE_ENUM
        WSC__NSTATES
} wsc_state;

/* ACK_TIMEOUT: the current step (TCP+TLS+upgrade, the auth reply, every subscribe reply, the
 * close handshake) did not finish within ack_timeout. STALE: no message at all for
 * stale_timeout. CLOSED: the connection is gone (peer's close frame, reset, broken). */
#define WSC_EVENTS(X)                                                                              \
    X(START, "start")                                                                              \
    X(CONNECTED, "connected")                                                                      \
    X(CONNECT_FAILED, "connect failed")                                                            \
    X(AUTH_OK, "auth ok")                                                                          \
    X(AUTH_FAILED, "auth failed")                                                                  \
    X(SUBSCRIBED, "subscribed")                                                                    \
    X(SUBSCRIBE_FAILED, "subscribe failed")                                                        \
    X(MESSAGE, "message")                                                                          \
    X(PING_DUE, "ping due")                                                                        \
    X(STALE, "stale")                                                                              \
    X(ACK_TIMEOUT, "ack timeout")                                                                  \
    X(CLOSED, "closed by peer")                                                                    \
    X(RESUBSCRIBE, "resubscribe requested")                                                        \
    X(BACKOFF_TIMER, "backoff timer")                                                              \
    X(STOP, "stop")

typedef enum wsc_event {
#define WSC_EVENT_ENUM(e, s) WSC_EV_##e,
    WSC_EVENTS(WSC_EVENT_ENUM)
#undef WSC_EVENT_ENUM
        WSC__NEVENTS
} wsc_event;

/* What the mechanism does on a transition. */
#define WSC_ACTIONS(X)                                                                             \
    X(NONE, "none")               /* ignore the event (also every impossible cell) */              \
    X(CONNECT, "connect")         /* open a new connection, arm the connect deadline */            \
    X(AUTH, "auth")               /* send the auth op (public: post AUTH_OK at once) */            \
    X(SUBSCRIBE, "subscribe")     /* send subscribe for every topic, await every ack */            \
    X(LIVE, "live")               /* start the healthy clock; pending resubscribes go out */       \
    X(DELIVER, "deliver")         /* hand the message to the caller */                             \
    X(PING, "ping")               /* send the ping op */                                           \
    X(RESUBSCRIBE, "resubscribe") /* unsubscribe + subscribe the topics asked */                   \
    X(MARK, "mark")               /* remember a resubscribe asked during a subscription */         \
    X(RETRY, "retry")             /* drop the connection, count, log, start the backoff timer */   \
    X(FAIL, "fail")               /* drop the connection for good: auth or subscribe refused */    \
    X(CLOSE, "close")             /* send a close frame, arm the close deadline */                 \
    X(ABORT, "abort")             /* drop the connection now (no handshake), stop timers */        \
    X(CANCEL, "cancel")           /* stop the backoff timer */                                     \
    X(CLOSED, "closed")           /* the graceful close completed */

typedef enum wsc_action {
#define WSC_ACTION_ENUM(e, s) WSC_A_##e,
    WSC_ACTIONS(WSC_ACTION_ENUM)
#undef WSC_ACTION_ENUM
        WSC__NACTIONS
} wsc_action;

typedef struct wsc_cell {
    wsc_action action;
    wsc_state next;
} wsc_cell;

/* The table itself: read-only, defined once in wsc_fsm.c. */
extern const wsc_cell wsc_fsm_table[WSC__NSTATES][WSC__NEVENTS];

/* The cell for (state, event); out-of-range arguments give {NONE, state} (state clamped to
 * WSC_IDLE when itself out of range). */
wsc_cell wsc_fsm_step(wsc_state state, wsc_event event);

/* Names for logs, /health and tests (static strings; "?" when out of range). */
const char *wsc_state_name(wsc_state s);
const char *wsc_event_name(wsc_event e);
const char *wsc_action_name(wsc_action a);

/* ---- reconnect delays ---- */

/* Sets up the delay sequence: initial_ms, doubling, capped at max_ms (raised to initial_ms if
 * below), started again when the connection had been live for healthy_ms or more. */
void wsc_fsm_backoff_init(backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t healthy_ms);

/* The delay before the next attempt, given how long the last connection was live (0 when it
 * never got there), with jitter: uniform in [base * (1 - jitter), base] where base is the
 * backoff sequence's next value, so a delay never exceeds max_ms and, with jitter < 0.5,
 * never falls below the previous base. jitter is clamped to [0, 1]. *attempt (may be NULL)
 * is the number of this attempt since the last reset: 1, 2, 3 … */
uint64_t wsc_fsm_delay(backoff *b, prng *r, double jitter, uint64_t live_ms, unsigned *attempt);

/* "reconnect attempt N in D s", D in seconds with up to 3 decimals ("1", "0.8", "2.125"),
 * into out (truncated to outlen, always NUL-terminated). Returns the length written. */
size_t wsc_fsm_reconnect_line(char *out, size_t outlen, unsigned attempt, uint64_t delay_ms);

#endif
