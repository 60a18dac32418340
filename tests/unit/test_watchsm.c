/* Tests of watchsm: every cell of the watch table (written down again here, independently),
 * the judgment of an exit soak is not the parent of, and whole watches with the outcome and
 * exit code a user reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "run.h"
#include "watchsm.h"

#define RS  WSM_A_REC_START
#define RE  WSM_A_REC_EXIT
#define RR  WSM_A_REC_RESTART
#define RH  WSM_A_REC_HANG
#define OH  WSM_A_ON_HANG
#define AF  WSM_A_ATTACH_FAILED
#define FIN WSM_A_FINISH

typedef struct spec {
    wsm_state st;
    wsm_event ev;
    unsigned acts;
    wsm_state next;
} spec;

/* The cells that are accepted; every other one is refused. */
static const spec accepted[] = {
    {WSM_INIT, WSM_EV_ATTACHED, RS, WSM_WATCHING},
    {WSM_INIT, WSM_EV_ATTACH_FAILED, AF | FIN, WSM_DONE},
    {WSM_INIT, WSM_EV_STOP, FIN, WSM_DONE},
    {WSM_WATCHING, WSM_EV_EXITED, RE, WSM_GONE},
    {WSM_WATCHING, WSM_EV_EXITED_FINAL, RE | FIN, WSM_DONE},
    {WSM_WATCHING, WSM_EV_REPLACED, RE | RR, WSM_WATCHING},
    {WSM_WATCHING, WSM_EV_HANG, RH | OH, WSM_HUNG},
    {WSM_WATCHING, WSM_EV_HEARTBEAT, 0, WSM_WATCHING},
    {WSM_WATCHING, WSM_EV_STOP, FIN, WSM_DONE},
    {WSM_HUNG, WSM_EV_EXITED, RE, WSM_GONE},
    {WSM_HUNG, WSM_EV_EXITED_FINAL, RE | FIN, WSM_DONE},
    {WSM_HUNG, WSM_EV_REPLACED, RE | RR, WSM_WATCHING},
    {WSM_HUNG, WSM_EV_HANG, 0, WSM_HUNG},
    {WSM_HUNG, WSM_EV_HEARTBEAT, 0, WSM_WATCHING},
    {WSM_HUNG, WSM_EV_STOP, FIN, WSM_DONE},
    {WSM_GONE, WSM_EV_EXITED, 0, WSM_GONE},
    {WSM_GONE, WSM_EV_REPLACED, RR, WSM_WATCHING},
    {WSM_GONE, WSM_EV_HEARTBEAT, 0, WSM_GONE},
    {WSM_GONE, WSM_EV_STOP, FIN, WSM_DONE},
};

static const spec *find(wsm_state st, wsm_event ev)
{
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (accepted[i].st == st && accepted[i].ev == ev)
            return &accepted[i];
    return NULL;
}

/* Every cell of the table, through wsm_table and through wsm_feed from that state. */
static void test_every_cell(void **state)
{
    (void)state;
    for (int st = 0; st < WSM_NSTATES; st++)
        for (int ev = 0; ev < WSM_NEVENTS; ev++) {
            const spec *sp = find((wsm_state)st, (wsm_event)ev);
            wsm_cell c = wsm_table((wsm_state)st, (wsm_event)ev);
            wsm w;
            wsm_init(&w);
            w.state = (wsm_state)st;
            unsigned acts = wsm_feed(&w, (wsm_event)ev, 1000);
            if (!sp) {
                if (c.ok)
                    fail_msg("cell %s/%s accepted, expected refused", wsm_state_name(st),
                             wsm_event_name(ev));
                assert_int_equal(acts, 0);
                assert_int_equal(w.state, st);
                assert_int_equal(w.refused, 1);
                continue;
            }
            if (!c.ok)
                fail_msg("cell %s/%s refused", wsm_state_name(st), wsm_event_name(ev));
            assert_int_equal(c.actions, sp->acts);
            assert_int_equal(c.next, sp->next);
            assert_int_equal(acts, sp->acts);
            assert_int_equal(w.state, sp->next);
            assert_int_equal(w.refused, 0);
        }
    /* out of range */
    assert_int_equal(wsm_table(WSM_NSTATES, WSM_EV_STOP).ok, 0);
    assert_int_equal(wsm_table(WSM_INIT, WSM_NEVENTS).ok, 0);
    assert_int_equal(wsm_table(WSM_INIT, WSM_EV_NONE).ok, 0);
}

static wsm_exit unknown_exit(void)
{
    wsm_exit e;
    memset(&e, 0, sizeof e);
    return e;
}

static void test_judge(void **state)
{
    (void)state;
    wsm_exit e = unknown_exit();
    assert_int_equal(wsm_judge_exit(&e), 1); /* unknown: a crash */
    e.known = 1;
    assert_int_equal(wsm_judge_exit(&e), 0); /* known clean: code 0 */
    e.code = 3;
    assert_int_equal(wsm_judge_exit(&e), 1);
    e.code = 0;
    e.signal = 9;
    assert_int_equal(wsm_judge_exit(&e), 1);
    e.signal = 0;
    e.oom_kill = 1;
    assert_int_equal(wsm_judge_exit(&e), 1);
}

/* --pid: watched for the duration, nothing happens: pass. */
static void test_duration(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    assert_string_equal(wsm_outcome_text(&w), "running");
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_ERROR);
    assert_int_equal(wsm_attached(&w, 0), RS);
    assert_int_equal(wsm_running(&w), 1);
    assert_int_equal(wsm_stop(&w, SUP_CAUSE_DURATION, 5000), FIN);
    assert_string_equal(wsm_outcome_text(&w), "duration reached");
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_PASS);
    assert_int_equal(wsm_interrupted(&w), 0);
    assert_int_equal(w.starts, 1);
    assert_int_equal(w.crashes, 0);
    /* a second stop is refused and does not change the cause */
    assert_int_equal(wsm_stop(&w, SUP_CAUSE_SIGINT, 6000), 0);
    assert_string_equal(wsm_outcome_text(&w), "duration reached");
}

/* --pid: the process exits: its code is unknown, the run ends and fails. */
static void test_pid_exit(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    wsm_attached(&w, 0);
    wsm_exit e = unknown_exit();
    assert_int_equal(wsm_exited(&w, &e, 0, 3000), RE | FIN);
    assert_int_equal(w.last_exit.failure, 1);
    assert_string_equal(wsm_outcome_text(&w), "service failed");
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_FAIL);
    assert_int_equal(w.exits, 1);
    assert_int_equal(w.crashes, 1);
}

/* A unit that says it exited with code 0: not a crash. */
static void test_known_clean_exit(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    wsm_attached(&w, 0);
    wsm_exit e = unknown_exit();
    e.known = 1;
    assert_int_equal(wsm_exited(&w, &e, 0, 3000), RE | FIN);
    assert_string_equal(wsm_outcome_text(&w), "service exited");
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_PASS);
}

/* --pid-file: replaced mid-run: one restart, the old process's exit recorded (a crash: its
 * code is unknown); gone then back: another restart. */
static void test_replaced(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    wsm_attached(&w, 0);
    wsm_exit e = unknown_exit();
    assert_int_equal(wsm_replaced(&w, &e, 2000), RE | RR);
    assert_int_equal(w.restarts, 1);
    assert_int_equal(w.starts, 2);
    assert_int_equal(w.start_ms, 2000);
    assert_int_equal(wsm_exited(&w, &e, 1, 4000), RE);
    assert_int_equal(w.state, WSM_GONE);
    assert_int_equal(wsm_running(&w), 0);
    assert_int_equal(wsm_hang(&w, 4500), 0); /* no watchdog while nothing is there */
    assert_int_equal(wsm_replaced(&w, &e, 5000), RR);
    assert_int_equal(w.restarts, 2);
    assert_int_equal(w.exits, 2);
    assert_int_equal(wsm_stop(&w, SUP_CAUSE_SIGINT, 9000), FIN);
    assert_string_equal(wsm_outcome_text(&w), "stopped by SIGINT");
    assert_int_equal(wsm_interrupted(&w), 1);
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_FAIL);
}

/* A hang is recorded once, not acted on; the heartbeat comes back; the run fails. */
static void test_hang(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    wsm_attached(&w, 0);
    assert_int_equal(wsm_hang(&w, 1000), RH | OH);
    assert_int_equal(wsm_hang(&w, 1250), 0);
    assert_int_equal(w.hangs, 1);
    assert_int_equal(wsm_running(&w), 1);
    assert_int_equal(wsm_heartbeat(&w, 2000), 0);
    assert_int_equal(w.state, WSM_WATCHING);
    assert_int_equal(wsm_hang(&w, 9000), RH | OH);
    assert_int_equal(w.hangs, 2);
    wsm_stop(&w, SUP_CAUSE_DURATION, 10000);
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_FAIL);
}

static void test_attach_failed(void **state)
{
    (void)state;
    wsm w;
    wsm_init(&w);
    assert_int_equal(wsm_attach_failed(&w, 0), AF | FIN);
    assert_string_equal(wsm_outcome_text(&w), "cannot attach to the target");
    assert_int_equal(wsm_exit_code(&w), SOAK_EXIT_ERROR);
    assert_int_equal(w.starts, 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(wsm_state_name(WSM_GONE), "gone");
    assert_string_equal(wsm_state_name(WSM_NSTATES), "unknown");
    assert_string_equal(wsm_event_name(WSM_EV_REPLACED), "replaced");
    assert_string_equal(wsm_event_name(WSM_EV_NONE), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_pid_exit),
        cmocka_unit_test(test_known_clean_exit),
        cmocka_unit_test(test_replaced),
        cmocka_unit_test(test_hang),
        cmocka_unit_test(test_attach_failed),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
