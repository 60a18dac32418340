/*
 * wsconn: the lifecycle of one server-side WebSocket connection of wsrv, as a table. No I/O:
 * wsrv.c posts events and does what the cell's action says. Every transition goes through
 * wsconn_table[state][event]; tests/unit/test_wsconn.c checks every cell.
 *
 *   open -close asked, the client's close frame, bad input-> closing (close frame queued)
 *   -close frame written-> drain (FIN sent, input dropped) -EOF or deadline-> gone.
 *   A reset asked, or a write that failed, goes to reset (SO_LINGER 0; ended at the next loop
 *   turn, so on_ws_close never runs inside wsrv_send, wsrv_close or wsrv_reset); EOF or the
 *   server stopping ends any state at once. gone: on_ws_close has run, the handles close.
 *
 * Threads: none of its own; the table is read-only.
 */
#ifndef WSCONN_H
#define WSCONN_H

#define WSCONN_STATES(X)                                                                           \
    X(OPEN, "open")                                                                                \
    X(CLOSING, "closing")                                                                          \
    X(DRAIN, "drain")                                                                              \
    X(RESET, "reset")                                                                              \
    X(GONE, "gone")

typedef enum wsconn_state {
#define WSCONN_STATE_ENUM(e, s) WSCONN_##e,
    WSCONN_STATES(WSCONN_STATE_ENUM)
#undef WSCONN_STATE_ENUM
        WSCONN__NSTATES
} wsconn_state;

/* CLOSE: wsrv_close. RESET: wsrv_reset. PEER_CLOSE: the client's close frame. BAD_INPUT: the
 * decoder refused what the client sent (1002, 1007, 1009). WRITE_FAILED: a write or the
 * shutdown failed. WRITTEN: the close frame is out. EOF: the client closed or the socket
 * failed. TIMER: the close deadline, or the loop turn of a reset. STOP: wsrv_stop. */
#define WSCONN_EVENTS(X)                                                                           \
    X(CLOSE, "close")                                                                              \
    X(RESET, "reset")                                                                              \
    X(PEER_CLOSE, "peer close")                                                                    \
    X(BAD_INPUT, "bad input")                                                                      \
    X(WRITE_FAILED, "write failed")                                                                \
    X(WRITTEN, "close frame written")                                                              \
    X(EOF, "eof")                                                                                  \
    X(TIMER, "timer")                                                                              \
    X(STOP, "stop")

typedef enum wsconn_event {
#define WSCONN_EVENT_ENUM(e, s) WSCONN_EV_##e,
    WSCONN_EVENTS(WSCONN_EVENT_ENUM)
#undef WSCONN_EVENT_ENUM
        WSCONN__NEVENTS
} wsconn_event;

#define WSCONN_ACTIONS(X)                                                                          \
    X(NONE, "none")             /* ignore the event (also every impossible cell) */                \
    X(SEND_CLOSE, "send close") /* drop what is queued, queue the close frame, arm the deadline */ \
    X(DRAIN, "drain")           /* FIN, arm the linger deadline, drop input */                     \
    X(RESET, "reset")           /* drop what is queued, SO_LINGER 0, end at the next loop turn */  \
    X(END, "end")               /* on_ws_close, close the handles */

typedef enum wsconn_action {
#define WSCONN_ACTION_ENUM(e, s) WSCONN_A_##e,
    WSCONN_ACTIONS(WSCONN_ACTION_ENUM)
#undef WSCONN_ACTION_ENUM
        WSCONN__NACTIONS
} wsconn_action;

typedef struct wsconn_cell {
    wsconn_action action;
    wsconn_state next;
} wsconn_cell;

/* The table itself: read-only, defined once in wsconn.c. */
extern const wsconn_cell wsconn_table[WSCONN__NSTATES][WSCONN__NEVENTS];

/* The cell for (state, event); out-of-range arguments give {NONE, state} (state clamped to
 * WSCONN_GONE when itself out of range). */
wsconn_cell wsconn_step(wsconn_state state, wsconn_event event);

/* Names for logs and tests (static strings; "?" when out of range). */
const char *wsconn_state_name(wsconn_state s);
const char *wsconn_event_name(wsconn_event e);
const char *wsconn_action_name(wsconn_action a);

#endif
