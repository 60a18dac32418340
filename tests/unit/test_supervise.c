/* Tests of supervise: every cell of the supervisor's table, the judgment of an exit, and whole
 * runs (crash loop, hang and restart, duration stop, double Ctrl-C, stuck stop) with the
 * outcome and exit code a user reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "run.h"
#include "supervise.h"

/* Wait statuses as waitpid gives them. */
#define EXITED_WITH(code) ((code) << 8)
#define KILLED_BY(sig)    (sig)
#define CORE_BY(sig)      ((sig) | 0x80)

static sup_config cfg_of(opts_restart pol)
{
    return (sup_config){
        .restart = pol,
        .stop_timeout_ms = 2000,
        .kill_wait_ms = 5000,
        .stuck_limit = 12,
        .start_timeout_ms = 10000,
        .restart_delay_ms = 200,
        .restart_delay_max_ms = 60000,
        .restart_reset_after_ms = 60000,
        .start_limit_burst = 4,
        .start_limit_interval_ms = 60000,
    };
}

/* The table written down independently: the cells that do something; every other cell is
 * refused. */
typedef struct spec {
    sup_state st;
    sup_event ev;
    unsigned acts;
    sup_state next;
} spec;

static const spec want[] = {
    {SUP_INIT, SUP_EV_START, SUP_A_SPAWN, SUP_STARTING},
    {SUP_INIT, SUP_EV_START_LIMIT, SUP_A_START_LIMIT | SUP_A_FINISH, SUP_DONE},
    {SUP_INIT, SUP_EV_STOP, SUP_A_FINISH, SUP_DONE},
    {SUP_STARTING, SUP_EV_SPAWNED, SUP_A_REC_START, SUP_RUNNING},
    {SUP_STARTING, SUP_EV_SPAWN_FAILED, SUP_A_START_FAILED | SUP_A_FINISH, SUP_DONE},
    {SUP_STARTING, SUP_EV_EXITED, SUP_A_START_FAILED | SUP_A_FINISH, SUP_DONE},
    {SUP_STARTING, SUP_EV_STOP, SUP_A_TERM, SUP_STOP_TERM},
    {SUP_RUNNING, SUP_EV_EXITED, SUP_A_REC_EXIT | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_RUNNING, SUP_EV_HANG, SUP_A_REC_HANG | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_RUNNING, SUP_EV_STOP, SUP_A_TERM, SUP_STOP_TERM},
    {SUP_STOP_TERM, SUP_EV_EXITED, SUP_A_REC_EXIT, SUP_STOP_TERM},
    {SUP_STOP_TERM, SUP_EV_TREE_EMPTY, SUP_A_SCHEDULE, SUP_BACKOFF},
    {SUP_STOP_TERM, SUP_EV_TREE_EMPTY_FINAL, SUP_A_FINISH, SUP_DONE},
    {SUP_STOP_TERM, SUP_EV_GRACE_OVER, SUP_A_KILL, SUP_STOP_KILL},
    {SUP_STOP_TERM, SUP_EV_STOP, 0, SUP_STOP_TERM},
    {SUP_STOP_TERM, SUP_EV_STOP_AGAIN, SUP_A_KILL, SUP_STOP_KILL},
    {SUP_STOP_KILL, SUP_EV_EXITED, SUP_A_REC_EXIT, SUP_STOP_KILL},
    {SUP_STOP_KILL, SUP_EV_TREE_EMPTY, SUP_A_SCHEDULE, SUP_BACKOFF},
    {SUP_STOP_KILL, SUP_EV_TREE_EMPTY_FINAL, SUP_A_FINISH, SUP_DONE},
    {SUP_STOP_KILL, SUP_EV_KILL_TIMEOUT, SUP_A_KILL_AGAIN, SUP_STUCK},
    {SUP_STOP_KILL, SUP_EV_STOP, 0, SUP_STOP_KILL},
    {SUP_STOP_KILL, SUP_EV_STOP_AGAIN, 0, SUP_STOP_KILL},
    {SUP_STUCK, SUP_EV_EXITED, SUP_A_REC_EXIT, SUP_STUCK},
    {SUP_STUCK, SUP_EV_TREE_EMPTY, SUP_A_SCHEDULE, SUP_BACKOFF},
    {SUP_STUCK, SUP_EV_TREE_EMPTY_FINAL, SUP_A_FINISH, SUP_DONE},
    {SUP_STUCK, SUP_EV_KILL_TIMEOUT, SUP_A_KILL_AGAIN, SUP_STUCK},
    {SUP_STUCK, SUP_EV_STUCK_LIMIT, SUP_A_KILL_AGAIN | SUP_A_GIVE_UP | SUP_A_FINISH, SUP_DONE},
    {SUP_STUCK, SUP_EV_STOP, 0, SUP_STUCK},
    {SUP_STUCK, SUP_EV_STOP_AGAIN, 0, SUP_STUCK},
    {SUP_BACKOFF, SUP_EV_TIMER, SUP_A_SPAWN, SUP_STARTING},
    {SUP_BACKOFF, SUP_EV_START_LIMIT, SUP_A_START_LIMIT | SUP_A_FINISH, SUP_DONE},
    {SUP_BACKOFF, SUP_EV_STOP, SUP_A_FINISH, SUP_DONE},
    /* forking: a service that forks into the background */
    {SUP_RUNNING, SUP_EV_DAEMONIZED, SUP_A_FIND_MAIN, SUP_FORKING},
    {SUP_RUNNING, SUP_EV_MAIN_EXITED, SUP_A_REC_EXIT | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_RUNNING, SUP_EV_FORK_FAILED, SUP_A_START_FAILED | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_FORKING, SUP_EV_MAIN_PID, SUP_A_REC_MAIN, SUP_RUNNING},
    {SUP_FORKING, SUP_EV_MAIN_EXITED, SUP_A_START_FAILED | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_FORKING, SUP_EV_FORK_TIMEOUT, SUP_A_START_FAILED | SUP_A_TERM, SUP_STOP_TERM},
    {SUP_FORKING, SUP_EV_STOP, SUP_A_TERM, SUP_STOP_TERM},
    {SUP_STOP_TERM, SUP_EV_MAIN_EXITED, SUP_A_REC_EXIT, SUP_STOP_TERM},
    {SUP_STOP_KILL, SUP_EV_MAIN_EXITED, SUP_A_REC_EXIT, SUP_STOP_KILL},
    {SUP_STUCK, SUP_EV_MAIN_EXITED, SUP_A_REC_EXIT, SUP_STUCK},
};

static const spec *want_cell(sup_state st, sup_event ev)
{
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (want[i].st == st && want[i].ev == ev)
            return &want[i];
    return NULL;
}

/* Every (state, event): the table says what the spec says, and feeding the event to a
 * supervisor in that state does it; a refused cell changes nothing at all. */
static void test_every_cell(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    unsigned cells = 0, refused = 0;
    for (int st = 0; st < SUP_NSTATES; st++) {
        for (int ev = 0; ev < SUP_NEVENTS; ev++) {
            const spec *w = want_cell((sup_state)st, (sup_event)ev);
            sup_cell got = sup_table((sup_state)st, (sup_event)ev);
            sup s;
            sup_init(&s, &c);
            s.state = (sup_state)st;
            s.cycle.start_ms = 1000;
            sup before = s;
            unsigned acts = sup_feed(&s, (sup_event)ev, 5000);
            cells++;
            if (w) {
                assert_true(got.ok);
                assert_int_equal(got.actions, w->acts);
                assert_int_equal(got.next, w->next);
                assert_int_equal(acts, w->acts);
                assert_int_equal(s.state, w->next);
                assert_int_equal(s.refused, 0);
            } else {
                refused++;
                assert_false(got.ok);
                assert_int_equal(acts, 0);
                /* nothing changed but the count of refused events */
                before.refused++;
                assert_memory_equal(&s, &before, sizeof s);
            }
        }
    }
    assert_int_equal(cells, SUP_NSTATES * SUP_NEVENTS);
    assert_int_equal(refused, cells - sizeof want / sizeof want[0]);
    /* out of range: refused */
    assert_false(sup_table(SUP_NSTATES, SUP_EV_START).ok);
    assert_false(sup_table(SUP_RUNNING, SUP_NEVENTS).ok);
    assert_false(sup_table(SUP_RUNNING, SUP_EV_NONE).ok);
}

static void test_judge_exit(void **state)
{
    (void)state;
    /* running: code 0 is a clean exit, anything else a crash */
    assert_int_equal(sup_judge_exit(SUP_RUNNING, 0, EXITED_WITH(0)), SUP_WHY_EXIT);
    assert_int_equal(sup_judge_exit(SUP_RUNNING, 0, EXITED_WITH(3)), SUP_WHY_CRASH);
    assert_int_equal(sup_judge_exit(SUP_RUNNING, 0, KILLED_BY(SIGTERM)), SUP_WHY_CRASH);
    assert_int_equal(sup_judge_exit(SUP_RUNNING, 0, KILLED_BY(SIGKILL)), SUP_WHY_CRASH);
    /* stopping: the end of the stop, whatever the code; SIGKILL only when soak sent it */
    for (int st = SUP_STOP_TERM; st <= SUP_STUCK; st++) {
        assert_int_equal(sup_judge_exit((sup_state)st, 0, EXITED_WITH(0)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, EXITED_WITH(143)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, KILLED_BY(SIGTERM)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, KILLED_BY(SIGINT)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, KILLED_BY(SIGHUP)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 1, KILLED_BY(SIGKILL)), SUP_WHY_STOP);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, KILLED_BY(SIGKILL)), SUP_WHY_CRASH);
        assert_int_equal(sup_judge_exit((sup_state)st, 0, KILLED_BY(SIGSEGV)), SUP_WHY_CRASH);
        /* a core dump while shutting down is a crash */
        assert_int_equal(sup_judge_exit((sup_state)st, 1, CORE_BY(SIGTERM)), SUP_WHY_CRASH);
    }
}

/* Starts the service at t and returns the supervisor running. */
static void start_running(sup *s, uint64_t t)
{
    assert_int_equal(sup_start(s, t), SUP_A_SPAWN);
    assert_int_equal(s->state, SUP_STARTING);
    assert_int_equal(sup_spawned(s, t + 1), SUP_A_REC_START);
    assert_int_equal(s->state, SUP_RUNNING);
}

/* The service crashes at once, again and again: restarts with doubling delays, then the start
 * limit ends the run, which fails. */
static void test_crash_loop_to_start_limit(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    uint64_t t = 1000;
    start_running(&s, t);
    static const uint64_t delays[] = {200, 400, 800, 1600};
    for (int i = 0; i < 4; i++) {
        t += 10;
        assert_int_equal(sup_exited(&s, EXITED_WITH(3), t), SUP_A_REC_EXIT | SUP_A_TERM);
        assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_CRASH);
        assert_true(sup_last_cycle(&s)->exit_failure);
        assert_int_equal(sup_last_cycle(&s)->exit_code, 3);
        t += 5;
        assert_int_equal(sup_tree_empty(&s, t), SUP_A_SCHEDULE);
        assert_int_equal(s.state, SUP_BACKOFF);
        assert_int_equal(s.delay_ms, delays[i]);
        assert_int_equal(sup_deadline(&s), t + delays[i]);
        assert_int_equal(sup_timer(&s, t + delays[i] - 1), 0); /* not yet */
        t += delays[i];
        unsigned a = sup_timer(&s, t);
        if (i < 3) {
            assert_int_equal(a, SUP_A_SPAWN);
            assert_int_equal(sup_spawned(&s, t), SUP_A_REC_START);
        } else {
            assert_int_equal(a, SUP_A_START_LIMIT | SUP_A_FINISH);
        }
    }
    assert_int_equal(s.state, SUP_DONE);
    assert_int_equal(s.starts, 4);
    assert_int_equal(s.restarts, 3);
    assert_int_equal(s.crashes, 4);
    assert_int_equal(sup_outcome_of(&s), SUP_OUT_START_LIMIT);
    assert_string_equal(sup_outcome_text(&s), "start limit reached");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_FAIL);
}

/* A hang: the watchdog stops the service (SIGTERM ends it: not a second crash), it is
 * restarted; the run fails and counts one hang (which also counts as a crash). */
static void test_hang_then_restart(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_hang(&s, 3000), SUP_A_REC_HANG | SUP_A_TERM);
    assert_int_equal(s.state, SUP_STOP_TERM);
    assert_int_equal(sup_hang(&s, 3100), 0); /* the watchdog again: refused */
    assert_int_equal(sup_exited(&s, KILLED_BY(SIGTERM), 3200), SUP_A_REC_EXIT);
    assert_false(sup_last_cycle(&s)->exit_failure);
    assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_HANG);
    assert_int_equal(sup_tree_empty(&s, 3300), SUP_A_SCHEDULE);
    assert_int_equal(sup_timer(&s, 3300 + s.delay_ms), SUP_A_SPAWN);
    assert_int_equal(sup_spawned(&s, 3600), SUP_A_REC_START);
    assert_int_equal(s.state, SUP_RUNNING);
    assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_NONE);
    assert_int_equal(s.hangs, 1);
    assert_int_equal(s.crashes, 1);
    assert_int_equal(s.restarts, 1);
    /* the duration ends it */
    assert_int_equal(sup_stop(&s, SUP_CAUSE_DURATION, 9000), SUP_A_TERM);
    assert_int_equal(sup_exited(&s, EXITED_WITH(0), 9100), SUP_A_REC_EXIT);
    assert_int_equal(sup_tree_empty(&s, 9200), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "duration reached");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_FAIL);
}

/* `sleep 100` stopped at its duration: killed by soak's own SIGTERM, that is no crash. */
static void test_duration_stop_is_no_crash(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ON_FAILURE);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_DURATION, 2000), SUP_A_TERM);
    assert_int_equal(s.state, SUP_STOP_TERM);
    assert_int_equal(sup_deadline(&s), 2000 + c.stop_timeout_ms);
    assert_int_equal(sup_exited(&s, KILLED_BY(SIGTERM), 2010), SUP_A_REC_EXIT);
    const sup_cycle *cy = sup_last_cycle(&s);
    assert_int_equal(cy->why, SUP_WHY_STOP);
    assert_false(cy->exit_failure);
    assert_int_equal(cy->signal, SIGTERM);
    assert_int_equal(cy->exit_code, -1);
    assert_int_equal(sup_tree_empty(&s, 2020), SUP_A_FINISH);
    assert_int_equal(s.crashes, 0);
    assert_int_equal(s.hangs, 0);
    assert_int_equal(sup_outcome_of(&s), SUP_OUT_STOPPED);
    assert_string_equal(sup_outcome_text(&s), "duration reached");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);
    /* after the end everything is refused */
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 3000), 0);
    assert_int_equal(sup_timer(&s, 1u << 30), 0);
    assert_int_equal(s.state, SUP_DONE);
}

/* A stop that comes while a crashed service's leftovers are being stopped ends the run
 * instead of a restart; the crash stays a crash. */
static void test_stop_during_crash_stop(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_exited(&s, KILLED_BY(SIGSEGV), 500), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_true(sup_last_cycle(&s)->exit_failure);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGTERM, 600), 0);
    assert_int_equal(s.state, SUP_STOP_TERM);
    assert_int_equal(sup_tree_empty(&s, 700), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "stopped by SIGTERM");
    assert_int_equal(s.crashes, 1);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_FAIL);
}

/* Ctrl-C twice: the second one sends SIGKILL at once; the SIGKILL exit is soak's own. */
static void test_double_ctrl_c(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 1000), SUP_A_TERM);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 1100), SUP_A_KILL);
    assert_int_equal(s.state, SUP_STOP_KILL);
    assert_true(sup_last_cycle(&s)->kill_sent);
    assert_int_equal(sup_deadline(&s), 1100 + c.kill_wait_ms);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 1150), 0); /* a third: noted, nothing */
    assert_int_equal(sup_exited(&s, KILLED_BY(SIGKILL), 1200), SUP_A_REC_EXIT);
    assert_false(sup_last_cycle(&s)->exit_failure);
    assert_false(sup_last_cycle(&s)->unexpected_kill);
    assert_int_equal(sup_tree_empty(&s, 1300), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "stopped by SIGINT");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);
    assert_int_equal(s.crashes, 0);
}

/* A tree that survives SIGTERM and SIGKILL (state D): grace, SIGKILL, 12 periods of SIGKILL,
 * then soak gives up and the run is an error. */
static void test_stuck_stop(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    uint64_t t = 10000;
    assert_int_equal(sup_stop(&s, SUP_CAUSE_DURATION, t), SUP_A_TERM);
    assert_int_equal(sup_timer_event(&s, t + c.stop_timeout_ms - 1), SUP_EV_NONE);
    t += c.stop_timeout_ms;
    assert_int_equal(sup_timer(&s, t), SUP_A_KILL);
    assert_int_equal(s.state, SUP_STOP_KILL);
    unsigned agains = 0, done = 0;
    for (int i = 0; i < 40 && !done; i++) {
        t += c.kill_wait_ms;
        unsigned a = sup_timer(&s, t);
        assert_true(a & SUP_A_KILL_AGAIN);
        agains++;
        if (a & SUP_A_FINISH) {
            assert_true(a & SUP_A_GIVE_UP);
            done = 1;
        } else {
            assert_int_equal(s.state, SUP_STUCK);
        }
    }
    assert_true(done);
    assert_int_equal(agains, 12);
    assert_int_equal(s.state, SUP_DONE);
    assert_int_equal(sup_outcome_of(&s), SUP_OUT_STUCK);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_ERROR);
}

/* The policies: on-failure ends the run after a clean exit; never after a crash. */
static void test_policies(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ON_FAILURE);
    sup s;
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_exited(&s, EXITED_WITH(0), 100);
    assert_int_equal(sup_tree_empty(&s, 110), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "service exited");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);

    c = cfg_of(OPTS_RESTART_NEVER);
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_exited(&s, KILLED_BY(SIGKILL), 100); /* not soak's: an OOM kill? */
    assert_true(sup_last_cycle(&s)->unexpected_kill);
    assert_true(sup_last_cycle(&s)->exit_failure);
    assert_int_equal(sup_exited(&s, EXITED_WITH(0), 105), 0); /* one exit per cycle */
    assert_int_equal(sup_tree_empty(&s, 110), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "service failed");
    assert_int_equal(s.crashes, 1);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_FAIL);
}

/* A start that fails (exec failed, or the shim never answers) ends the run as an error. */
static void test_start_failures(void **state)
{
    (void)state;
    sup_config c = cfg_of(OPTS_RESTART_ALWAYS);
    sup s;
    sup_init(&s, &c);
    assert_int_equal(sup_start(&s, 0), SUP_A_SPAWN);
    assert_int_equal(sup_start(&s, 1), 0); /* the first start happens once */
    assert_int_equal(sup_spawn_failed(&s, 2), SUP_A_START_FAILED | SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "cannot start the service");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_ERROR);

    sup_init(&s, &c);
    sup_start(&s, 0);
    assert_int_equal(sup_timer(&s, c.start_timeout_ms - 1), 0);
    assert_int_equal(sup_timer(&s, c.start_timeout_ms), SUP_A_START_FAILED | SUP_A_FINISH);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_ERROR);

    /* Ctrl-C before the shim answered: its tree is stopped, the run ends as stopped */
    sup_init(&s, &c);
    sup_start(&s, 0);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 5), SUP_A_TERM);
    assert_int_equal(sup_spawned(&s, 6), 0);
    assert_int_equal(sup_tree_empty(&s, 7), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "stopped by SIGINT");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);

    /* a stop in the restart delay ends the run at once */
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_exited(&s, EXITED_WITH(1), 10);
    sup_tree_empty(&s, 11);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGHUP, 12), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "stopped by SIGHUP");
}

static sup_config cfg_forking(opts_restart pol, opts_service_type type)
{
    sup_config c = cfg_of(pol);
    c.service_type = type;
    c.forking_detect_ms = 5000;
    c.forking_timeout_ms = 10000;
    return c;
}

/* Starts a service at t that forks at t + 100: the main pid 4242 is the service. */
static void start_daemon(sup *s, uint64_t t)
{
    start_running(s, t);
    assert_int_equal(sup_child_exited(s, EXITED_WITH(0), 1, t + 100), SUP_A_FIND_MAIN);
    assert_int_equal(s->state, SUP_FORKING);
    assert_int_equal(sup_deadline(s), t + 100 + s->cfg.forking_timeout_ms);
    assert_int_equal(sup_main_pid(s, 4242, t + 110), SUP_A_REC_MAIN);
    assert_int_equal(s->state, SUP_RUNNING);
    assert_int_equal(sup_last_cycle(s)->main_pid, 4242);
    assert_int_equal(sup_deadline(s), 0);
}

/* auto: an exit 0 that leaves processes within forking_detect is a fork; a crash of the daemon
 * is a crash, restarted by the policy; the next start forks again. */
static void test_auto_detects_forking(void **state)
{
    (void)state;
    sup_config c = cfg_forking(OPTS_RESTART_ON_FAILURE, OPTS_SERVICE_AUTO);
    sup s;
    sup_init(&s, &c);
    start_daemon(&s, 0);
    assert_true(sup_last_cycle(&s)->detected);
    assert_int_equal(s.forked, 1);
    assert_int_equal(s.crashes, 0);
    /* the daemon is killed by SIGSEGV: a crash, its tree stopped, a restart */
    assert_int_equal(sup_main_exited(&s, KILLED_BY(SIGSEGV), 1, 5000), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(s.crashes, 1);
    assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_CRASH);
    assert_int_equal(sup_last_cycle(&s)->signal, SIGSEGV);
    assert_true(sup_last_cycle(&s)->exit_failure);
    assert_int_equal(sup_main_exited(&s, KILLED_BY(SIGSEGV), 0, 5001), 0); /* once a cycle */
    assert_int_equal(sup_tree_empty(&s, 5010), SUP_A_SCHEDULE);
    assert_int_equal(sup_timer(&s, 5010 + s.delay_ms), SUP_A_SPAWN);
    assert_int_equal(sup_spawned(&s, 5300), SUP_A_REC_START);
    assert_int_equal(s.restarts, 1);
    assert_int_equal(sup_last_cycle(&s)->daemonized, 0); /* a new cycle forks anew */
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 1, 5400), SUP_A_FIND_MAIN);
    assert_int_equal(sup_main_pid(&s, 4343, 5410), SUP_A_REC_MAIN);
    assert_int_equal(s.forked, 2);
    /* the duration ends the run: the daemon's SIGTERM exit is the stop, no crash */
    assert_int_equal(sup_stop(&s, SUP_CAUSE_DURATION, 9000), SUP_A_TERM);
    assert_int_equal(sup_main_exited(&s, EXITED_WITH(0), 0, 9010), SUP_A_REC_EXIT);
    assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_STOP);
    assert_int_equal(sup_tree_empty(&s, 9020), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "duration reached");
    assert_int_equal(s.crashes, 1);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_FAIL);
}

/* auto: what is not a fork stays an exit, as for a simple service. */
static void test_auto_not_forking(void **state)
{
    (void)state;
    sup_config c = cfg_forking(OPTS_RESTART_ON_FAILURE, OPTS_SERVICE_AUTO);
    sup s;
    /* exit 0 and nothing left: the service exited */
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 0, 100), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(sup_tree_empty(&s, 110), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "service exited");
    assert_int_equal(s.forked, 0);
    /* exit 0 leaving processes, but after forking_detect: an exit, its tree stopped */
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 1, 1 + c.forking_detect_ms + 1),
                     SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(s.forked, 0);
    /* a non-zero exit leaving processes: a crash (not a failed start: it was not forking) */
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(2), 1, 100), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(s.crashes, 1);
    /* forking_detect 0: never detected */
    c.forking_detect_ms = 0;
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 1, 100), SUP_A_REC_EXIT | SUP_A_TERM);
    /* simple: never a fork */
    c = cfg_forking(OPTS_RESTART_ON_FAILURE, OPTS_SERVICE_SIMPLE);
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 1, 100), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(s.forked, 0);
    /* the main pid of a service that is not forking is not heard */
    assert_int_equal(sup_main_pid(&s, 7, 120), 0);
    assert_int_equal(sup_main_exited(&s, KILLED_BY(SIGSEGV), 0, 130), 0);
}

/* forking: the start is complete when the command exits 0; a non-zero exit, no main pid in
 * time or a daemon that dies before it is found is a failed start, whatever the policy. */
static void test_forking_start(void **state)
{
    (void)state;
    sup_config c = cfg_forking(OPTS_RESTART_ALWAYS, OPTS_SERVICE_FORKING);
    sup s;
    sup_init(&s, &c);
    start_daemon(&s, 0);
    assert_false(sup_last_cycle(&s)->detected);
    /* a fork long after the start still counts in forking mode */
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 1, 60000), SUP_A_FIND_MAIN);

    const int fails[] = {EXITED_WITH(3), KILLED_BY(SIGSEGV)};
    for (size_t i = 0; i < 2; i++) {
        sup_init(&s, &c);
        start_running(&s, 0);
        assert_int_equal(sup_child_exited(&s, fails[i], 1, 100), SUP_A_START_FAILED | SUP_A_TERM);
        assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_START_FAILED);
        assert_int_equal(sup_tree_empty(&s, 200), SUP_A_FINISH); /* no restart */
        assert_string_equal(sup_outcome_text(&s), "cannot start the service");
        assert_int_equal(sup_exit_code(&s), SOAK_EXIT_ERROR);
        assert_int_equal(s.crashes, 0);
    }
    /* no main pid within forking_timeout */
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_child_exited(&s, EXITED_WITH(0), 1, 100);
    assert_int_equal(sup_timer_event(&s, 100 + c.forking_timeout_ms - 1), SUP_EV_NONE);
    assert_int_equal(sup_timer_event(&s, 100 + c.forking_timeout_ms), SUP_EV_FORK_TIMEOUT);
    assert_int_equal(sup_timer(&s, 100 + c.forking_timeout_ms), SUP_A_START_FAILED | SUP_A_TERM);
    assert_int_equal(sup_tree_empty(&s, 20000), SUP_A_FINISH);
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_ERROR);
    /* the tree is gone before the main pid was found */
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_child_exited(&s, EXITED_WITH(0), 1, 100);
    assert_int_equal(sup_main_exited(&s, 0, 0, 150), SUP_A_START_FAILED | SUP_A_TERM);
    assert_int_equal(sup_tree_empty(&s, 200), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "cannot start the service");
    /* a stop while forking: stopped, not failed */
    sup_init(&s, &c);
    start_running(&s, 0);
    sup_child_exited(&s, EXITED_WITH(0), 1, 100);
    assert_int_equal(sup_stop(&s, SUP_CAUSE_SIGINT, 120), SUP_A_TERM);
    assert_int_equal(sup_tree_empty(&s, 200), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "stopped by SIGINT");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);
    /* forking, exit 0 and nothing left: it exited (a daemon that gave up at once) */
    sup_init(&s, &c);
    start_running(&s, 0);
    assert_int_equal(sup_child_exited(&s, EXITED_WITH(0), 0, 100), SUP_A_REC_EXIT | SUP_A_TERM);
}

/* The main pid exits 0 and leaves processes: they hand over (the middle of a double fork);
 * an exit 0 leaving nothing is the service's exit; a non-zero code a crash. */
static void test_main_pid_hand_over(void **state)
{
    (void)state;
    sup_config c = cfg_forking(OPTS_RESTART_NEVER, OPTS_SERVICE_AUTO);
    sup s;
    sup_init(&s, &c);
    start_daemon(&s, 0);
    assert_int_equal(sup_main_exited(&s, EXITED_WITH(0), 1, 200), SUP_A_FIND_MAIN);
    assert_int_equal(s.state, SUP_FORKING);
    assert_int_equal(sup_last_cycle(&s)->main_pid, 0);
    assert_int_equal(sup_last_cycle(&s)->daemonized, 2);
    assert_int_equal(s.forked, 1); /* one fork of this cycle */
    assert_int_equal(sup_main_pid(&s, 4343, 210), SUP_A_REC_MAIN);
    assert_int_equal(sup_main_exited(&s, EXITED_WITH(0), 0, 300), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(sup_last_cycle(&s)->why, SUP_WHY_EXIT);
    assert_int_equal(sup_tree_empty(&s, 310), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "service exited");
    assert_int_equal(sup_exit_code(&s), SOAK_EXIT_PASS);

    sup_init(&s, &c);
    start_daemon(&s, 0);
    assert_int_equal(sup_main_exited(&s, EXITED_WITH(3), 1, 200), SUP_A_REC_EXIT | SUP_A_TERM);
    assert_int_equal(sup_last_cycle(&s)->exit_code, 3);
    assert_int_equal(s.crashes, 1);
    assert_int_equal(sup_tree_empty(&s, 300), SUP_A_FINISH);
    assert_string_equal(sup_outcome_text(&s), "service failed");
    /* a SIGKILL soak did not send, during its stop: a crash */
    sup_init(&s, &c);
    start_daemon(&s, 0);
    sup_stop(&s, SUP_CAUSE_DURATION, 200);
    assert_int_equal(sup_main_exited(&s, KILLED_BY(SIGKILL), 1, 210), SUP_A_REC_EXIT);
    assert_true(sup_last_cycle(&s)->unexpected_kill);
    assert_int_equal(s.crashes, 1);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sup_state_name(SUP_STOP_TERM), "stopping");
    assert_string_equal(sup_state_name(SUP_NSTATES), "unknown");
    assert_string_equal(sup_event_name(SUP_EV_STOP_AGAIN), "stop requested again");
    assert_string_equal(sup_event_name(SUP_EV_NONE), "none");
    assert_string_equal(sup_state_name(SUP_FORKING), "forking");
    assert_string_equal(sup_event_name(SUP_EV_DAEMONIZED), "forked into the background");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),
        cmocka_unit_test(test_judge_exit),
        cmocka_unit_test(test_crash_loop_to_start_limit),
        cmocka_unit_test(test_hang_then_restart),
        cmocka_unit_test(test_duration_stop_is_no_crash),
        cmocka_unit_test(test_stop_during_crash_stop),
        cmocka_unit_test(test_double_ctrl_c),
        cmocka_unit_test(test_stuck_stop),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_auto_detects_forking),
        cmocka_unit_test(test_auto_not_forking),
        cmocka_unit_test(test_forking_start),
        cmocka_unit_test(test_main_pid_hand_over),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
