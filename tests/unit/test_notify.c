/* src/soak/notify: the per-channel rate limit and dedup (pure, time as an argument), the event
 * kinds a stored event maps to, and notify.events parsing. The sending is tested end to end
 * against a local receiver (tests/e2e/test_notify.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "notify.h"

static void test_crash_loop_is_two_messages(void **state)
{
    (void)state;
    notify_gate g;
    notify_gate_init(&g);
    double t = 100, gap = 60;
    int sent = 0;
    /* 10 crashes 1 s apart: the first goes at once, the others are held */
    for (int i = 0; i < 10; i++, t += 1)
        if (notify_gate_offer(&g, NOTIFY_CRASH, i == 9 ? "exit 3 (the last)" : "exit 3", t, gap)) {
            sent++;
            notify_gate_sent(&g, t);
        }
    assert_int_equal(sent, 1);
    assert_false(notify_gate_due(&g, t, gap)); /* 9 s after the first: not yet */
    notify_gate_offer(&g, NOTIFY_HANG, "no heartbeat", t, gap);
    assert_true(notify_gate_due(&g, 160, gap));
    char buf[256];
    assert_int_equal(notify_gate_take(&g, buf, sizeof buf), 10);
    assert_string_equal(buf, "crash x9, last: exit 3 (the last); hang x1, last: no heartbeat");
    notify_gate_sent(&g, 160);
    assert_false(notify_gate_due(&g, 300, gap)); /* nothing held */
    assert_int_equal(notify_gate_take(&g, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    /* quiet for the interval: the next one goes at once again */
    assert_true(notify_gate_offer(&g, NOTIFY_CRASH, "exit 1", 221, gap));
    /* held events go first: a new one joins them even after the interval */
    notify_gate_sent(&g, 221);
    assert_false(notify_gate_offer(&g, NOTIFY_CRASH, "exit 1", 222, gap));
    assert_false(notify_gate_offer(&g, NOTIFY_CRASH, "exit 1", 400, gap));
    assert_true(notify_gate_due(&g, 400, gap));
}

static void test_no_interval(void **state)
{
    (void)state;
    notify_gate g;
    notify_gate_init(&g);
    for (int i = 0; i < 5; i++) {
        assert_true(notify_gate_offer(&g, NOTIFY_CRASH, "x", 10 + i, 0));
        notify_gate_sent(&g, 10 + i);
    }
}

static void test_kinds(void **state)
{
    (void)state;
    assert_int_equal(notify_kind_of_event(STORE_EV_EXIT, 1), NOTIFY_CRASH);
    assert_int_equal(notify_kind_of_event(STORE_EV_EXIT, 0), -1); /* a planned stop's exit */
    assert_int_equal(notify_kind_of_event(STORE_EV_HANG, 1), NOTIFY_HANG);
    assert_int_equal(notify_kind_of_event(STORE_EV_OOM_SUSPECTED, 1), NOTIFY_OOM_KILL);
    assert_int_equal(notify_kind_of_event(STORE_EV_DISK_LOW, 0), NOTIFY_DISK_LOW);
    assert_int_equal(notify_kind_of_event(STORE_EV_ROTATION, 0), -1);
    unsigned m;
    char err[256];
    assert_int_equal(notify_parse_kinds("all", &m, err, sizeof err), 0);
    assert_int_equal(m, (1u << NOTIFY_NKINDS) - 1);
    assert_int_equal(notify_parse_kinds("crash, end", &m, err, sizeof err), 0);
    assert_int_equal(m, (1u << NOTIFY_CRASH) | (1u << NOTIFY_END));
    assert_int_equal(notify_parse_kinds("crash,explosion", &m, err, sizeof err), ERR_INVAL);
    assert_non_null(strstr(err, "unknown event 'explosion'; expected all, crash, hang"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_loop_is_two_messages),
        cmocka_unit_test(test_no_interval),
        cmocka_unit_test(test_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
