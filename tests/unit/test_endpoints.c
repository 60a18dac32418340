/* Tests of endpoints: /metrics is valid Prometheus text with the right values, /health JSON;
 * loopback detection and the basic-auth credential's sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "endpoints.h"
#include "errcode.h"
#include "promtext.h"

#define MAX_SAMPLES 64

typedef struct parsed {
    int n;
    char name[MAX_SAMPLES][128];
    char labels[MAX_SAMPLES][128];
    double value[MAX_SAMPLES];
} parsed;

static int collect(void *ud, const promtext_parsed *s)
{
    parsed *p = ud;
    assert_true(p->n < MAX_SAMPLES);
    snprintf(p->name[p->n], sizeof p->name[0], "%s", s->name);
    snprintf(p->labels[p->n], sizeof p->labels[0], "%s", s->labels);
    p->value[p->n] = s->value;
    p->n++;
    return 0;
}

static const double *find(const parsed *p, const char *name, const char *labels)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0 && strcmp(p->labels[i], labels) == 0)
            return &p->value[i];
    return NULL;
}

static double value_of(const parsed *p, const char *name, const char *labels)
{
    const double *v = find(p, name, labels);
    if (!v)
        fail_msg("no sample %s{%s}", name, labels);
    return *v;
}

typedef struct fixture {
    runstate rs;
    patterns *pat;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    static const char *const names[] = {"error", "rate_limit"};
    static const char *const exprs[] = {"ERROR", "429"};
    char err[128];
    f->pat = patterns_new(names, exprs, 2, err, sizeof err);
    if (!f->pat)
        return -1;
    runstate *rs = &f->rs;
    runstate_init(rs);
    rs->state = RS_RUNNING;
    rs->child_pid = 4242;
    rs->start_ms = 1000;
    rs->tree.rss_bytes = 123456789;
    rs->tree.pss_bytes = 100000000;
    rs->tree.threads = 9;
    rs->tree.fds = 21;
    rs->tree.nprocs = 3;
    rs->tree.zombies = 1;
    rs->cpu_seconds = 12.5;
    rs->restarts = 4;
    rs->crashes = 3;
    rs->hangs = 1;
    rs->log.lines[0] = 1000;
    rs->log.lines[1] = 25;
    rs->log.dropped_bytes = 77;
    rs->log.rotations = 2;
    rs->pat = f->pat;
    rs->pattern_hits[0] = 5;
    rs->pattern_hits[1] = 6;
    rs->heartbeat_age_s = 2.5;
    rs->artifacts_bytes = 5000000000ull;
    rs->disk_free_bytes = 9000000000ull;
    rs->scrapes = 10;
    rs->scrape_errors = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    patterns_free(f->pat);
    free(f);
    return 0;
}

static void metrics(const runstate *rs, uint64_t now_ms, sbuf *b, parsed *p)
{
    sbuf_init(b, 1 << 20);
    assert_int_equal(endpoints_metrics(rs, now_ms, b), 0);
    assert_non_null(b->data);
    memset(p, 0, sizeof *p);
    promtext_parse_stats st;
    assert_int_equal(promtext_parse(b->data, b->len, collect, p, &st), 0);
    if (st.skipped)
        fail_msg("%u lines are not valid Prometheus text:\n%s", st.skipped, b->data);
    assert_int_equal((int)st.samples, p->n);
}

static void test_metrics_values(void **state)
{
    fixture *f = *state;
    sbuf b;
    parsed p;
    metrics(&f->rs, 61000, &b, &p);
    assert_true(value_of(&p, "soak_up", "") == 1);
    assert_true(value_of(&p, "soak_uptime_seconds", "") == 60);
    assert_true(value_of(&p, "soak_resident_memory_bytes", "") == 123456789);
    assert_true(value_of(&p, "soak_cpu_seconds_total", "") == 12.5);
    assert_true(value_of(&p, "soak_threads", "") == 9);
    assert_true(value_of(&p, "soak_open_fds", "") == 21);
    assert_true(value_of(&p, "soak_processes", "") == 3);
    assert_true(value_of(&p, "soak_zombies", "") == 1);
    assert_true(value_of(&p, "soak_restarts_total", "") == 4);
    assert_true(value_of(&p, "soak_crashes_total", "") == 3);
    assert_true(value_of(&p, "soak_hangs_total", "") == 1);
    assert_true(value_of(&p, "soak_log_lines_total", "stream=\"stdout\"") == 1000);
    assert_true(value_of(&p, "soak_log_lines_total", "stream=\"stderr\"") == 25);
    assert_true(value_of(&p, "soak_log_dropped_bytes_total", "") == 77);
    assert_true(value_of(&p, "soak_pattern_matches_total", "pattern=\"error\"") == 5);
    assert_true(value_of(&p, "soak_pattern_matches_total", "pattern=\"rate_limit\"") == 6);
    assert_true(value_of(&p, "soak_heartbeat_age_seconds", "") == 2.5);
    assert_true(value_of(&p, "soak_artifacts_bytes", "") == 5000000000.0);
    assert_true(value_of(&p, "soak_disk_free_bytes", "") == 9000000000.0);
    assert_true(value_of(&p, "soak_scrapes_total", "") == 10);
    assert_true(value_of(&p, "soak_scrape_errors_total", "") == 1);
    sbuf_free(&b);

    /* not running, no heartbeat, no patterns */
    f->rs.state = RS_BACKOFF;
    f->rs.heartbeat_age_s = -1;
    f->rs.pat = NULL;
    metrics(&f->rs, 61000, &b, &p);
    assert_true(value_of(&p, "soak_up", "") == 0);
    assert_null(find(&p, "soak_heartbeat_age_seconds", ""));
    for (int i = 0; i < p.n; i++)
        assert_string_not_equal(p.name[i], "soak_pattern_matches_total");
    sbuf_free(&b);
}

/* Every sample's metric has exactly one # TYPE line, given before the sample. */
static void test_metrics_typed(void **state)
{
    fixture *f = *state;
    sbuf b;
    parsed p;
    metrics(&f->rs, 61000, &b, &p);
    assert_true(p.n >= 20);
    for (int i = 0; i < p.n; i++) {
        char type[160], sample[160];
        snprintf(type, sizeof type, "# TYPE %s ", p.name[i]);
        snprintf(sample, sizeof sample, "\n%s", p.name[i]);
        const char *t = strstr(b.data, type);
        if (!t)
            fail_msg("no TYPE line for %s", p.name[i]);
        assert_null(strstr(t + 1, type)); /* only one */
        const char *s = strstr(b.data, sample);
        assert_non_null(s);
        assert_true(t < s);
        const char *kind = t + strlen(type);
        assert_true(strncmp(kind, "gauge\n", 6) == 0 || strncmp(kind, "counter\n", 8) == 0);
        /* counters end in _total */
        if (strncmp(kind, "counter", 7) == 0) {
            size_t n = strlen(p.name[i]);
            assert_true(n > 6 && strcmp(p.name[i] + n - 6, "_total") == 0);
        }
    }
    assert_int_equal(b.data[b.len - 1], '\n');
    sbuf_free(&b);
}

static void test_metrics_buffer_full(void **state)
{
    fixture *f = *state;
    sbuf b;
    sbuf_init(&b, 100);
    assert_int_equal(endpoints_metrics(&f->rs, 61000, &b), -1);
    sbuf_free(&b);
}

static cJSON *health(const runstate *rs, uint64_t now_ms)
{
    sbuf b;
    sbuf_init(&b, 4096);
    assert_int_equal(endpoints_health(rs, now_ms, &b), 0);
    cJSON *j = cJSON_Parse(b.data);
    if (!j)
        fail_msg("not JSON: %s", b.data);
    sbuf_free(&b);
    return j;
}

static void test_health(void **state)
{
    fixture *f = *state;
    cJSON *j = health(&f->rs, 3500);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "running");
    assert_true(cJSON_GetObjectItem(j, "pid")->valuedouble == 4242);
    assert_true(cJSON_GetObjectItem(j, "uptime_s")->valuedouble == 2.5);
    assert_true(cJSON_GetObjectItem(j, "restarts")->valuedouble == 4);
    assert_true(cJSON_GetObjectItem(j, "crashes")->valuedouble == 3);
    assert_true(cJSON_GetObjectItem(j, "hangs")->valuedouble == 1);
    cJSON *hb = cJSON_GetObjectItem(j, "heartbeat_age_s");
    assert_true(cJSON_IsNumber(hb));
    assert_true(hb->valuedouble == 2.5);
    cJSON_Delete(j);

    static const rs_state not_ok[] = {RS_STARTING, RS_STOPPING, RS_BACKOFF, RS_DONE};
    for (size_t i = 0; i < sizeof not_ok / sizeof not_ok[0]; i++) {
        f->rs.state = not_ok[i];
        f->rs.heartbeat_age_s = -1;
        j = health(&f->rs, 3500);
        assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "degraded");
        assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring,
                            runstate_state_name(not_ok[i]));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "heartbeat_age_s")));
        cJSON_Delete(j);
    }
}

static void test_loopback(void **state)
{
    (void)state;
    assert_int_equal(endpoints_addr_is_loopback("127.0.0.1:9464"), 1);
    assert_int_equal(endpoints_addr_is_loopback("127.1.2.3:0"), 1);
    assert_int_equal(endpoints_addr_is_loopback("[::1]:9464"), 1);
    assert_int_equal(endpoints_addr_is_loopback(":9464"), 1);
    assert_int_equal(endpoints_addr_is_loopback("0.0.0.0:9464"), 0);
    assert_int_equal(endpoints_addr_is_loopback("192.168.1.5:9464"), 0);
    assert_int_equal(endpoints_addr_is_loopback("[::]:9464"), 0);
    assert_int_equal(endpoints_addr_is_loopback("localhost:9464"), 0); /* refused anyway */
}

static void test_cred(void **state)
{
    (void)state;
    char out[512], err[256];
    /* none */
    assert_int_equal(endpoints_read_cred("", NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "");
    assert_int_equal(endpoints_read_cred("", "", out, sizeof out, err, sizeof err), 0);
    /* the environment */
    assert_int_equal(endpoints_read_cred("", "ann:FAKE-pw", out, sizeof out, err, sizeof err), 1);
    assert_string_equal(out, "ann:FAKE-pw");
    /* a file wins, its first line without the newline */
    char path[] = "/tmp/test_endpoints_cred_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "bob:FAKE-file-pw\r\nignored\n", 27), 27);
    close(fd);
    assert_int_equal(endpoints_read_cred(path, "ann:FAKE-pw", out, sizeof out, err, sizeof err), 1);
    assert_string_equal(out, "bob:FAKE-file-pw");
    /* no ':': refused, and the message does not repeat the secret */
    assert_int_equal(endpoints_read_cred("", "FAKE-nocolon", out, sizeof out, err, sizeof err),
                     ERR_INVAL);
    assert_non_null(strstr(err, "want user:password"));
    assert_null(strstr(err, "FAKE"));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "FAKE-secret-line\n", 17), 17);
    close(fd);
    assert_int_equal(endpoints_read_cred(path, NULL, out, sizeof out, err, sizeof err), ERR_INVAL);
    assert_null(strstr(err, "FAKE-secret"));
    assert_non_null(strstr(err, path));
    unlink(path);
    /* a missing file */
    assert_int_equal(endpoints_read_cred(path, NULL, out, sizeof out, err, sizeof err), ERR_IO);
    assert_non_null(strstr(err, "cannot read '"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_typed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_buffer_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_cred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
