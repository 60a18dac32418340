/* Tests of diagnose and its log-line parsers (diaglog): what a line says (classes, delay,
 * attempt, cancelled), whether delays follow a backoff, which runbook section a gate points
 * at, and a diagnosis of a run folder made here (samples.db, soak.log and a rotated .gz log,
 * security.json): diagnosis.json's sections, severities and evidence, and the exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <zlib.h>

#include "diaglog.h"
#include "diagnose.h"
#include "store.h"
#include "testutil.h"

#define L(s) s, strlen(s)

static void test_classify(void **state)
{
    (void)state;
    unsigned m = diaglog_classify(L("[ERROR] WebSocket disconnected, reconnect attempt 3"));
    assert_true(m & DIAGLOG_BIT(DIAGLOG_RECONNECT));
    assert_true(m & DIAGLOG_BIT(DIAGLOG_BACKOFF));
    assert_true(m & DIAGLOG_BIT(DIAGLOG_ERROR));
    assert_false(m & DIAGLOG_BIT(DIAGLOG_MEMORY));
    assert_true(diaglog_classify(L("MemoryError: cannot allocate")) & DIAGLOG_BIT(DIAGLOG_MEMORY));
    assert_true(diaglog_classify(L("killed: OOM")) & DIAGLOG_BIT(DIAGLOG_MEMORY));
    assert_false(diaglog_classify(L("room for more")) & DIAGLOG_BIT(DIAGLOG_MEMORY));
    assert_true(diaglog_classify(L("HTTP 429 Too Many Requests")) & DIAGLOG_BIT(DIAGLOG_RATELIMIT));
    assert_false(diaglog_classify(L("order 14290 filled")) & DIAGLOG_BIT(DIAGLOG_RATELIMIT));
    assert_true(diaglog_classify(L("[SHUTDOWN] Shutting down")) & DIAGLOG_BIT(DIAGLOG_SHUTDOWN));
    assert_true(diaglog_classify(L("[SHUTDOWN] Cancelled 3 orders")) &
                DIAGLOG_BIT(DIAGLOG_CANCELLED));
    assert_true(diaglog_classify(L("[HB] alive")) & DIAGLOG_BIT(DIAGLOG_HEARTBEAT));
    assert_true(diaglog_classify(L("pool limit reached")) & DIAGLOG_BIT(DIAGLOG_POOL));
    assert_int_equal(diaglog_classify(NULL, 4), 0);
    assert_string_equal(diaglog_class_key(DIAGLOG_MEMORY), "memory");
    assert_int_equal(diaglog_class_section(DIAGLOG_POOL), 6);
    assert_int_equal(diaglog_class_section(DIAGLOG_NCLASSES), 0);
}

static void test_split(void **state)
{
    (void)state;
    double t;
    const char *text;
    size_t n;
    const char *line = "2025-11-28T21:10:00.500Z out hello world";
    assert_int_equal(diaglog_split(L(line), &t, &text, &n), 1);
    assert_true(t > 1764364200.4 && t < 1764364200.6);
    assert_int_equal(n, 11);
    assert_memory_equal(text, "hello world", 11);
    assert_int_equal(diaglog_split(L("no time here"), &t, &text, &n), 0);
    assert_true(t < 0);
    assert_int_equal(n, 12);
}

static void test_numbers(void **state)
{
    (void)state;
    double d;
    long a;
    assert_int_equal(diaglog_delay(L("reconnect in backoff, delay=4.5s"), &d), 1);
    assert_true(d == 4.5);
    assert_int_equal(diaglog_delay(L("backoff delay: 250ms"), &d), 1);
    assert_true(d == 0.25);
    assert_int_equal(diaglog_delay(L("retry in 2 m"), &d), 1);
    assert_true(d == 120);
    assert_int_equal(diaglog_delay(L("delay_s=8"), &d), 1);
    assert_true(d == 8);
    assert_int_equal(diaglog_delay(L("no delays here"), &d), 0);
    assert_int_equal(diaglog_attempt(L("reconnect attempt #7/10"), &a), 1);
    assert_int_equal(a, 7);
    assert_int_equal(diaglog_attempt(L("attempts=3"), &a), 1);
    assert_int_equal(a, 3);
    assert_int_equal(diaglog_attempt(L("attempt"), &a), 0);
    assert_int_equal(diaglog_cancelled(L("[SHUTDOWN] Cancelled 12 orders"), &a), 1);
    assert_int_equal(a, 12);
    assert_int_equal(diaglog_cancelled(L("order cancelled by user"), &a), 0);
}

static void test_backoff(void **state)
{
    (void)state;
    double g, cap;
    const double expo[] = {1, 2, 4, 8, 16, 30, 30, 30};
    assert_int_equal(diaglog_backoff_check(expo, 8, &g, &cap), DIAGLOG_BACKOFF_EXPONENTIAL);
    assert_true(g == 2 && cap == 30);
    const double reset[] = {1, 2, 4, 1, 2, 4, 8};
    assert_int_equal(diaglog_backoff_check(reset, 7, &g, &cap), DIAGLOG_BACKOFF_EXPONENTIAL);
    const double flat[] = {5, 5, 5, 5, 5};
    assert_int_equal(diaglog_backoff_check(flat, 5, &g, &cap), DIAGLOG_BACKOFF_CONSTANT);
    const double odd[] = {1, 1.2, 1.3, 7, 0.9, 1.25};
    assert_int_equal(diaglog_backoff_check(odd, 6, &g, &cap), DIAGLOG_BACKOFF_IRREGULAR);
    assert_int_equal(diaglog_backoff_check(expo, 2, &g, &cap), DIAGLOG_BACKOFF_UNKNOWN);
    assert_string_equal(diaglog_backoff_name(DIAGLOG_BACKOFF_CONSTANT), "constant");
}

static void test_gate_section(void **state)
{
    (void)state;
    assert_int_equal(diagnose_gate_section("zombies", "max(zombies) == 0"), 5);
    assert_int_equal(diagnose_gate_section("mine", "max(zombies) < 3"), 5);
    assert_int_equal(diagnose_gate_section("fds", "last(fd_growth_per_hour) < 10"), 1);
    assert_int_equal(diagnose_gate_section("lat", "p99(latency_ms{stage=\"rest\"}) < 500"), 6);
    assert_int_equal(diagnose_gate_section("crashes", "not a gate"), 7);
    assert_int_equal(diagnose_gate_section("duration", "last(duration_s) >= 24h"), 0);
    assert_int_equal(diagnose_gate_section("cpu", "avg(cpu_percent) < 80"), 0);
    assert_string_equal(diagnose_section_title(2), "websocket");
    assert_string_equal(diagnose_section_title(9), "");
    assert_string_equal(diagnose_sev_name(DIAG_WARN), "warn");
}

/* ---- a run folder made by hand ---- */

#define T0 1764364200.0

static char dir[64];

static void put_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_run(void)
{
    assert_non_null(tu_tmpdir(dir, sizeof dir, "test_diagnose"));
    char err[256], p[256];
    snprintf(p, sizeof p, "%s/samples.db", dir);
    store *s = store_open(p, 0, err, sizeof err);
    assert_non_null(s);
    store_set_run(s, "command", "svc");
    for (int i = 0; i < 60; i++) {
        store_sample m;
        memset(&m, 0, sizeof m);
        m.t = T0 + i;
        m.elapsed_s = i;
        m.rss_bytes = 10000000;
        m.pss_bytes = -1;
        m.heartbeat_age_s = -1;
        m.procs = 2;
        m.threads = 1;
        m.fds = 5;
        m.zombies = i >= 30 ? 3 : 0;
        m.artifacts_bytes = 1000;
        m.disk_free_bytes = 1000000000;
        assert_int_equal(store_sample_add(s, &m), 0);
    }
    store_memdetail md;
    memset(&md, 0, sizeof md);
    md.t = T0 + 40;
    snprintf(md.phase, sizeof md.phase, "zombies");
    md.procs = 1;
    md.zombies = 3;
    md.zombie_ppid = 4242;
    snprintf(md.zombie_parent, sizeof md.zombie_parent, "python3 spawner.py");
    assert_int_equal(store_memdetail_add(s, &md), 0);
    store_event(s, T0, STORE_EV_START, 0, "pid 10 started", 10);
    store_event(s, T0 + 50, STORE_EV_EXIT, 1, "pid 10 exited with code 3 after 50.0s", 3);
    store_close(s);
    /* an older, rotated and compressed log, then soak.log */
    snprintf(p, sizeof p, "%s/soak-20251128T211000.000Z.log.gz", dir);
    gzFile g = gzopen(p, "wb");
    assert_non_null(g);
    gzputs(g, "2025-11-28T21:10:01.000Z out reconnect attempt 1, backoff delay 1s\n"
              "2025-11-28T21:10:02.000Z out reconnect attempt 2, backoff delay 2s\n"
              "2025-11-28T21:10:04.000Z out reconnect attempt 3, backoff delay 4s\n");
    gzclose(g);
    put_file("soak.log", "2025-11-28T21:10:08.000Z out reconnect attempt 4, backoff delay 8s\n"
                         "2025-11-28T21:10:40.000Z err MemoryError: allocation failed\n"
                         "2025-11-28T21:10:49.000Z err Traceback (most recent call last):\n"
                         "2025-11-28T21:10:50.000Z soak exit: pid 10 exited with code 3 after "
                         "50.0s\n");
    put_file("security.json", "{\"security_critical_high\": 2, \"counts\": {\"critical\": 1, "
                              "\"high\": 1, \"medium\": 4}}");
}

static const cJSON *section(const cJSON *j, int n)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "sections"))
    {
        if (cJSON_GetObjectItemCaseSensitive(s, "number")->valueint == n)
            return s;
    }
    fail_msg("no section %d", n);
    return NULL;
}

static const char *sev(const cJSON *s)
{
    return cJSON_GetObjectItemCaseSensitive(s, "severity")->valuestring;
}

/* The section's text: every finding and evidence line, joined. */
static void section_text(const cJSON *s, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    const cJSON *f, *e;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(s, "findings"))
    {
        k += (size_t)snprintf(buf + k, n - k, "%s\n",
                              cJSON_GetObjectItemCaseSensitive(f, "finding")->valuestring);
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence"))
        {
            k += (size_t)snprintf(buf + k, n - k, "| %s\n", e->valuestring);
        }
        if (k >= n)
            break;
    }
}

static void test_run_folder(void **state)
{
    (void)state;
    make_run();
    diagnose_args a = {.run_dir = dir, .quiet = 1};
    assert_int_equal(diagnose_run(&a), 1);
    char p[256];
    snprintf(p, sizeof p, "%s/diagnosis.json", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char buf[1 << 20], text[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "severity")->valuestring, "fail");
    /* 1: the memory line, with its timestamp */
    section_text(section(j, 1), text, sizeof text);
    assert_non_null(strstr(text, "2025-11-28T21:10:40.000Z err MemoryError: allocation failed"));
    /* 2: the delays from both logs, the .gz first: a backoff followed */
    section_text(section(j, 2), text, sizeof text);
    assert_non_null(strstr(text, "backoff followed: delays 1, 2, 4, 8 s grow x2.0"));
    /* 5: the zombies and their parent */
    assert_string_equal(sev(section(j, 5)), "fail");
    section_text(section(j, 5), text, sizeof text);
    assert_non_null(strstr(text, "up to 3 zombies for 29 s, held by parent pid 4242 "
                                 "(python3 spawner.py)"));
    /* 7: the crash with the lines before it */
    assert_string_equal(sev(section(j, 7)), "fail");
    section_text(section(j, 7), text, sizeof text);
    assert_non_null(strstr(text, "pid 10 exited with code 3"));
    assert_non_null(strstr(text, "| 2025-11-28T21:10:49.000Z err Traceback"));
    /* 8: the audit's counts */
    assert_string_equal(sev(section(j, 8)), "fail");
    section_text(section(j, 8), text, sizeof text);
    assert_non_null(strstr(text, "2 critical or high vulnerabilities"));
    cJSON_Delete(j);
    /* without security.json, section 8 has no data */
    snprintf(p, sizeof p, "%s/security.json", dir);
    unlink(p);
    assert_int_equal(diagnose_run(&a), 1);
    char p2[256];
    snprintf(p2, sizeof p2, "%s/diagnosis.json", dir);
    f = fopen(p2, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    j = cJSON_Parse(buf);
    assert_string_equal(sev(section(j, 8)), "info");
    section_text(section(j, 8), text, sizeof text);
    assert_non_null(strstr(text, "no data"));
    cJSON_Delete(j);
    /* no run there */
    diagnose_args none = {.run_dir = "/nonexistent/run", .quiet = 1};
    assert_true(diagnose_run(&none) < 0);
    assert_int_equal(tu_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),     cmocka_unit_test(test_split),
        cmocka_unit_test(test_numbers),      cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_gate_section), cmocka_unit_test(test_run_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
