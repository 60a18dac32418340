/* wsconn: every cell of the lifecycle table of a wsrv WebSocket connection, against a table
 * written here independently, and the properties wsrv relies on (on_ws_close only from END,
 * never straight from what the application calls; nothing leaves gone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wsconn.h"

typedef struct cell_spec {
    wsconn_state s;
    wsconn_event e;
    wsconn_action a;
    wsconn_state next;
} cell_spec;

/* every cell not listed: {NONE, same state} */
static const cell_spec expected[] = {
    {WSCONN_OPEN, WSCONN_EV_CLOSE, WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
    {WSCONN_OPEN, WSCONN_EV_RESET, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_OPEN, WSCONN_EV_PEER_CLOSE, WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
    {WSCONN_OPEN, WSCONN_EV_BAD_INPUT, WSCONN_A_SEND_CLOSE, WSCONN_CLOSING},
    {WSCONN_OPEN, WSCONN_EV_WRITE_FAILED, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_OPEN, WSCONN_EV_EOF, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_OPEN, WSCONN_EV_STOP, WSCONN_A_END, WSCONN_GONE},

    {WSCONN_CLOSING, WSCONN_EV_RESET, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_CLOSING, WSCONN_EV_WRITE_FAILED, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_CLOSING, WSCONN_EV_WRITTEN, WSCONN_A_DRAIN, WSCONN_DRAIN},
    {WSCONN_CLOSING, WSCONN_EV_EOF, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_CLOSING, WSCONN_EV_TIMER, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_CLOSING, WSCONN_EV_STOP, WSCONN_A_END, WSCONN_GONE},

    {WSCONN_DRAIN, WSCONN_EV_RESET, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_DRAIN, WSCONN_EV_WRITE_FAILED, WSCONN_A_RESET, WSCONN_RESET},
    {WSCONN_DRAIN, WSCONN_EV_EOF, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_DRAIN, WSCONN_EV_TIMER, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_DRAIN, WSCONN_EV_STOP, WSCONN_A_END, WSCONN_GONE},

    {WSCONN_RESET, WSCONN_EV_EOF, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_RESET, WSCONN_EV_TIMER, WSCONN_A_END, WSCONN_GONE},
    {WSCONN_RESET, WSCONN_EV_STOP, WSCONN_A_END, WSCONN_GONE},
};

static void test_every_cell(void **state)
{
    (void)state;
    int checked = 0, listed = 0;
    for (int s = 0; s < WSCONN__NSTATES; s++)
        for (int e = 0; e < WSCONN__NEVENTS; e++) {
            wsconn_action a = WSCONN_A_NONE;
            wsconn_state next = (wsconn_state)s;
            for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
                if (expected[i].s == (wsconn_state)s && expected[i].e == (wsconn_event)e) {
                    a = expected[i].a;
                    next = expected[i].next;
                    listed++;
                }
            wsconn_cell c = wsconn_step((wsconn_state)s, (wsconn_event)e);
            if (c.action != a || c.next != next)
                fail_msg("cell [%s][%s]: got {%s, %s}, want {%s, %s}",
                         wsconn_state_name((wsconn_state)s), wsconn_event_name((wsconn_event)e),
                         wsconn_action_name(c.action), wsconn_state_name(c.next),
                         wsconn_action_name(a), wsconn_state_name(next));
            assert_int_equal(wsconn_table[s][e].action, c.action);
            assert_int_equal(wsconn_table[s][e].next, c.next);
            checked++;
        }
    assert_int_equal(checked, WSCONN__NSTATES * WSCONN__NEVENTS);
    assert_int_equal(listed, (int)(sizeof expected / sizeof expected[0]));
}

static void test_properties(void **state)
{
    (void)state;
    /* what the application calls (wsrv_close, wsrv_reset, a failed wsrv_send) never ends a
     * connection at once: on_ws_close must not run inside those calls */
    static const wsconn_event app[] = {WSCONN_EV_CLOSE, WSCONN_EV_RESET, WSCONN_EV_WRITE_FAILED};
    for (int s = 0; s < WSCONN__NSTATES; s++)
        for (size_t i = 0; i < sizeof app / sizeof app[0]; i++)
            assert_int_not_equal(wsconn_step((wsconn_state)s, app[i]).action, WSCONN_A_END);
    for (int s = 0; s < WSCONN__NSTATES; s++)
        for (int e = 0; e < WSCONN__NEVENTS; e++) {
            wsconn_cell c = wsconn_step((wsconn_state)s, (wsconn_event)e);
            /* END and only END goes to gone; nothing leaves gone */
            assert_int_equal(c.action == WSCONN_A_END, c.next == WSCONN_GONE && s != WSCONN_GONE);
            if (s == WSCONN_GONE)
                assert_int_equal(c.next, WSCONN_GONE);
        }
    /* EOF and STOP end every live state */
    for (int s = 0; s < WSCONN_GONE; s++) {
        assert_int_equal(wsconn_step((wsconn_state)s, WSCONN_EV_EOF).action, WSCONN_A_END);
        assert_int_equal(wsconn_step((wsconn_state)s, WSCONN_EV_STOP).action, WSCONN_A_END);
    }
    /* the close handshake: open -> closing -> drain -> gone */
    wsconn_state st = WSCONN_OPEN;
    static const wsconn_event path[] = {WSCONN_EV_BAD_INPUT, WSCONN_EV_WRITTEN, WSCONN_EV_EOF};
    static const wsconn_action acts[] = {WSCONN_A_SEND_CLOSE, WSCONN_A_DRAIN, WSCONN_A_END};
    for (int i = 0; i < 3; i++) {
        wsconn_cell c = wsconn_step(st, path[i]);
        assert_int_equal(c.action, acts[i]);
        st = c.next;
    }
    assert_int_equal(st, WSCONN_GONE);
    /* out of range */
    wsconn_cell c = wsconn_step((wsconn_state)99, WSCONN_EV_CLOSE);
    assert_int_equal(c.action, WSCONN_A_NONE);
    assert_int_equal(c.next, WSCONN_GONE);
    c = wsconn_step(WSCONN_OPEN, (wsconn_event)99);
    assert_int_equal(c.action, WSCONN_A_NONE);
    assert_int_equal(c.next, WSCONN_OPEN);
    assert_string_equal(wsconn_state_name(WSCONN_DRAIN), "drain");
    assert_string_equal(wsconn_event_name(WSCONN_EV_PEER_CLOSE), "peer close");
    assert_string_equal(wsconn_action_name(WSCONN_A_SEND_CLOSE), "send close");
    assert_string_equal(wsconn_state_name((wsconn_state)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),
        cmocka_unit_test(test_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
