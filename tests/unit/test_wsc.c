/* wsc: every cell of the connection state table, the reconnect delays (jitter bounds, the cap,
 * the reset after a healthy period, the log line), URL parsing and configuration errors; then
 * the client against bybit-sim run in-process on the test's own loop (wsrv + sim on
 * 127.0.0.1, an ephemeral port): public book snapshot then deltas and a resubscribe that
 * brings a fresh snapshot, private auth and order events, a wrong secret (auth failed, no
 * retry loop), ws_drop (reconnects with growing delays and the runbook's log line), ws_stall
 * (stale detected within stale_timeout, then reconnected), malformed frames (delivered, no
 * crash), the message cap, the send queue cap, and wss certificate verification. Every wait
 * is bounded. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
/* OpenSSL (through libwebsockets.h) has a deprecated typedef ERR_BADSTATE that would clash
 * with errcode.h's: renamed, unused */
#define ERR_BADSTATE openssl_err_state_unused
#include <libwebsockets.h>
#undef ERR_BADSTATE

#include "errcode.h"
#include "faults.h"
#include "sim.h"
#include "simserve.h"
#include "wsc.h"
#include "wsrv.h"

/* ---- the state table --------------------------------------------------------------------- */

/* The expected table, written independently of wsc_fsm.c: every cell not listed here must be
 * {NONE, same state}. */
typedef struct cell_spec {
    wsc_state s;
    wsc_event e;
    wsc_action a;
    wsc_state next; /* -1: same state */
} cell_spec;

#define SAME ((wsc_state)-1)
static const cell_spec expected[] = {
    {WSC_IDLE, WSC_EV_START, WSC_A_CONNECT, WSC_CONNECTING},
    {WSC_IDLE, WSC_EV_STOP, WSC_A_NONE, WSC_CLOSED},

    {WSC_CONNECTING, WSC_EV_CONNECTED, WSC_A_AUTH, WSC_AUTHENTICATING},
    {WSC_CONNECTING, WSC_EV_CONNECT_FAILED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_CONNECTING, WSC_EV_ACK_TIMEOUT, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_CONNECTING, WSC_EV_CLOSED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_CONNECTING, WSC_EV_STOP, WSC_A_ABORT, WSC_CLOSED},

    {WSC_AUTHENTICATING, WSC_EV_AUTH_OK, WSC_A_SUBSCRIBE, WSC_SUBSCRIBING},
    {WSC_AUTHENTICATING, WSC_EV_AUTH_FAILED, WSC_A_FAIL, WSC_CLOSED},
    {WSC_AUTHENTICATING, WSC_EV_CONNECT_FAILED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_AUTHENTICATING, WSC_EV_MESSAGE, WSC_A_DELIVER, SAME},
    {WSC_AUTHENTICATING, WSC_EV_PING_DUE, WSC_A_PING, SAME},
    {WSC_AUTHENTICATING, WSC_EV_STALE, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_AUTHENTICATING, WSC_EV_ACK_TIMEOUT, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_AUTHENTICATING, WSC_EV_CLOSED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_AUTHENTICATING, WSC_EV_STOP, WSC_A_CLOSE, WSC_CLOSING},

    {WSC_SUBSCRIBING, WSC_EV_SUBSCRIBED, WSC_A_LIVE, WSC_LIVE},
    {WSC_SUBSCRIBING, WSC_EV_SUBSCRIBE_FAILED, WSC_A_FAIL, WSC_CLOSED},
    {WSC_SUBSCRIBING, WSC_EV_CONNECT_FAILED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_SUBSCRIBING, WSC_EV_MESSAGE, WSC_A_DELIVER, SAME},
    {WSC_SUBSCRIBING, WSC_EV_PING_DUE, WSC_A_PING, SAME},
    {WSC_SUBSCRIBING, WSC_EV_STALE, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_SUBSCRIBING, WSC_EV_ACK_TIMEOUT, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_SUBSCRIBING, WSC_EV_CLOSED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_SUBSCRIBING, WSC_EV_RESUBSCRIBE, WSC_A_MARK, SAME},
    {WSC_SUBSCRIBING, WSC_EV_STOP, WSC_A_CLOSE, WSC_CLOSING},

    {WSC_LIVE, WSC_EV_CONNECT_FAILED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_LIVE, WSC_EV_MESSAGE, WSC_A_DELIVER, SAME},
    {WSC_LIVE, WSC_EV_PING_DUE, WSC_A_PING, SAME},
    {WSC_LIVE, WSC_EV_STALE, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_LIVE, WSC_EV_CLOSED, WSC_A_RETRY, WSC_BACKOFF},
    {WSC_LIVE, WSC_EV_RESUBSCRIBE, WSC_A_RESUBSCRIBE, WSC_SUBSCRIBING},
    {WSC_LIVE, WSC_EV_STOP, WSC_A_CLOSE, WSC_CLOSING},

    {WSC_BACKOFF, WSC_EV_BACKOFF_TIMER, WSC_A_CONNECT, WSC_CONNECTING},
    {WSC_BACKOFF, WSC_EV_STOP, WSC_A_CANCEL, WSC_CLOSED},

    {WSC_CLOSING, WSC_EV_CONNECT_FAILED, WSC_A_CLOSED, WSC_CLOSED},
    {WSC_CLOSING, WSC_EV_ACK_TIMEOUT, WSC_A_ABORT, WSC_CLOSED},
    {WSC_CLOSING, WSC_EV_CLOSED, WSC_A_CLOSED, WSC_CLOSED},

    {WSC_CLOSED, WSC_EV_START, WSC_A_CONNECT, WSC_CONNECTING},
};

static void test_fsm_every_cell(void **state)
{
    (void)state;
    int checked = 0, listed = 0;
    for (int s = 0; s < WSC__NSTATES; s++)
        for (int e = 0; e < WSC__NEVENTS; e++) {
            wsc_action a = WSC_A_NONE;
            wsc_state next = (wsc_state)s;
            for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
                if (expected[i].s == (wsc_state)s && expected[i].e == (wsc_event)e) {
                    a = expected[i].a;
                    next = expected[i].next == SAME ? (wsc_state)s : expected[i].next;
                    listed++;
                }
            wsc_cell c = wsc_fsm_step((wsc_state)s, (wsc_event)e);
            if (c.action != a || c.next != next)
                fail_msg("cell [%s][%s]: got {%s, %s}, want {%s, %s}", wsc_state_name((wsc_state)s),
                         wsc_event_name((wsc_event)e), wsc_action_name(c.action),
                         wsc_state_name(c.next), wsc_action_name(a), wsc_state_name(next));
            /* the table and the step function agree */
            assert_int_equal(wsc_fsm_table[s][e].action, c.action);
            assert_int_equal(wsc_fsm_table[s][e].next, c.next);
            checked++;
        }
    assert_int_equal(checked, WSC__NSTATES * WSC__NEVENTS);
    assert_int_equal(listed, (int)(sizeof expected / sizeof expected[0]));
}

static void test_fsm_invariants(void **state)
{
    (void)state;
    for (int s = 0; s < WSC__NSTATES; s++) {
        /* a message never changes the state; stop always ends in closing or closed */
        assert_int_equal(wsc_fsm_step((wsc_state)s, WSC_EV_MESSAGE).next, s);
        wsc_state st = wsc_fsm_step((wsc_state)s, WSC_EV_STOP).next;
        assert_true(st == WSC_CLOSING || st == WSC_CLOSED);
        /* refusals by the exchange never lead to a retry */
        assert_int_not_equal(wsc_fsm_step((wsc_state)s, WSC_EV_AUTH_FAILED).action, WSC_A_RETRY);
        assert_int_not_equal(wsc_fsm_step((wsc_state)s, WSC_EV_SUBSCRIBE_FAILED).action,
                             WSC_A_RETRY);
        if (s != WSC_BACKOFF) {
            assert_int_not_equal(wsc_fsm_step((wsc_state)s, WSC_EV_AUTH_FAILED).next, WSC_BACKOFF);
            assert_int_not_equal(wsc_fsm_step((wsc_state)s, WSC_EV_SUBSCRIBE_FAILED).next,
                                 WSC_BACKOFF);
        }
    }
    /* out of range */
    wsc_cell c = wsc_fsm_step(WSC_LIVE, (wsc_event)99);
    assert_int_equal(c.action, WSC_A_NONE);
    assert_int_equal(c.next, WSC_LIVE);
    c = wsc_fsm_step((wsc_state)99, WSC_EV_START);
    assert_int_equal(c.next, WSC_CONNECTING);
    assert_string_equal(wsc_state_name(WSC_AUTHENTICATING), "authenticating");
    assert_string_equal(wsc_event_name(WSC_EV_CLOSED), "closed by peer");
    assert_string_equal(wsc_action_name(WSC_A_RETRY), "retry");
    assert_string_equal(wsc_state_name((wsc_state)99), "?");
    assert_string_equal(wsc_event_name((wsc_event)-1), "?");
    assert_string_equal(wsc_action_name((wsc_action)99), "?");
}

/* ---- reconnect delays ---------------------------------------------------------------------- */

static void test_backoff_sequence(void **state)
{
    (void)state;
    backoff b;
    prng r;
    prng_seed(&r, 7);
    wsc_fsm_backoff_init(&b, 1000, 60000, 60000);
    const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    unsigned attempt;
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(wsc_fsm_delay(&b, &r, 0, 0, &attempt), want[i]);
        assert_int_equal(attempt, i + 1);
    }
    /* live for less than the healthy period: no reset */
    assert_int_equal(wsc_fsm_delay(&b, &r, 0, 59999, &attempt), 60000);
    assert_int_equal(attempt, 10);
    /* live for the healthy period: the sequence and the attempt number start again */
    assert_int_equal(wsc_fsm_delay(&b, &r, 0, 60000, &attempt), 1000);
    assert_int_equal(attempt, 1);
    assert_int_equal(wsc_fsm_delay(&b, &r, 0, 10, &attempt), 2000);
    assert_int_equal(attempt, 2);
}

static void test_backoff_jitter(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        backoff b;
        prng r;
        prng_seed(&r, seed);
        wsc_fsm_backoff_init(&b, 1000, 60000, 30000);
        uint64_t base = 1000, prev = 0;
        for (int i = 0; i < 12; i++) {
            uint64_t d = wsc_fsm_delay(&b, &r, 0.2, 0, NULL);
            assert_true(d <= base);               /* never above the cap or the base */
            assert_true(d >= base * 8 / 10);      /* at most 20 % below */
            assert_true(d >= prev || d >= 48000); /* grows until the cap is reached */
            prev = d;
            base = base * 2 > 60000 ? 60000 : base * 2;
        }
        uint64_t d = wsc_fsm_delay(&b, &r, 0.2, 30000, NULL); /* healthy: reset */
        assert_true(d >= 800 && d <= 1000);
    }
    /* the jitter is really drawn: not every first delay is the same */
    int distinct = 0;
    uint64_t first = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        backoff b;
        prng r;
        prng_seed(&r, seed);
        wsc_fsm_backoff_init(&b, 1000, 60000, 30000);
        uint64_t d = wsc_fsm_delay(&b, &r, 0.2, 0, NULL);
        if (seed == 1)
            first = d;
        else if (d != first)
            distinct++;
    }
    assert_true(distinct > 10);
    /* jitter over 1 is clamped: the delay stays in [0, base] */
    backoff b;
    prng r;
    prng_seed(&r, 3);
    wsc_fsm_backoff_init(&b, 1000, 60000, 30000);
    assert_true(wsc_fsm_delay(&b, &r, 5.0, 0, NULL) <= 1000);
    /* max below initial is raised to initial */
    wsc_fsm_backoff_init(&b, 5000, 1000, 30000);
    assert_int_equal(wsc_fsm_delay(&b, &r, 0, 0, NULL), 5000);
    assert_int_equal(wsc_fsm_delay(&b, &r, 0, 0, NULL), 5000);
}

static void test_reconnect_line(void **state)
{
    (void)state;
    char line[64];
    wsc_fsm_reconnect_line(line, sizeof line, 1, 1000);
    assert_string_equal(line, "reconnect attempt 1 in 1 s");
    wsc_fsm_reconnect_line(line, sizeof line, 2, 800);
    assert_string_equal(line, "reconnect attempt 2 in 0.8 s");
    wsc_fsm_reconnect_line(line, sizeof line, 7, 2125);
    assert_string_equal(line, "reconnect attempt 7 in 2.125 s");
    wsc_fsm_reconnect_line(line, sizeof line, 12, 60000);
    assert_string_equal(line, "reconnect attempt 12 in 60 s");
    wsc_fsm_reconnect_line(line, sizeof line, 3, 10050);
    assert_string_equal(line, "reconnect attempt 3 in 10.05 s");
    /* the runbook's grep finds it */
    regex_t re;
    assert_int_equal(regcomp(&re, "backoff.*delay|reconnect.*attempt", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
    regfree(&re);
    /* truncation is bounded and terminated */
    char small[10];
    size_t n = wsc_fsm_reconnect_line(small, sizeof small, 3, 10050);
    assert_int_equal(n, 9);
    assert_string_equal(small, "reconnect");
}

/* ---- URL and configuration ---------------------------------------------------------------- */

static void test_parse_url(void **state)
{
    (void)state;
    char host[64], path[128];
    int tls, port;
    assert_int_equal(wsc_parse_url("wss://stream.bybit.com/v5/public/linear", &tls, host,
                                   sizeof host, &port, path, sizeof path),
                     0);
    assert_int_equal(tls, 1);
    assert_int_equal(port, 443);
    assert_string_equal(host, "stream.bybit.com");
    assert_string_equal(path, "/v5/public/linear");
    assert_int_equal(wsc_parse_url("ws://127.0.0.1:4100/v5/private?max_active_time=60s", &tls, host,
                                   sizeof host, &port, path, sizeof path),
                     0);
    assert_int_equal(tls, 0);
    assert_int_equal(port, 4100);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(path, "/v5/private?max_active_time=60s");
    assert_int_equal(
        wsc_parse_url("ws://[::1]:81", &tls, host, sizeof host, &port, path, sizeof path), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 81);
    assert_string_equal(path, "/");
    const char *bad[] = {"http://x/",   "ws://",     "ws://:80/",   "ws://h:0/",  "ws://h:99999/",
                         "ws://h:12x/", "ws://h o/", "wss://[::1/", "ws://h/a b", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(wsc_parse_url(bad[i], &tls, host, sizeof host, &port, path, sizeof path),
                         ERR_CONFIG);
    assert_int_equal(wsc_parse_url(NULL, &tls, host, sizeof host, &port, path, sizeof path),
                     ERR_CONFIG);
}

static void test_config_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    wsc_callbacks cb = {NULL, NULL, NULL};
    const char *topics[] = {"orderbook.50.BTCUSDT"};
    const char *bad_topic[] = {"order\"book"};
    const char *dup[] = {"order", "order"};
    char err[256];
    int code = 0;
    struct {
        wsc_config c;
        const char *msg;
    } cases[] = {
        {{.url = "http://x", .topics = topics, .ntopics = 1}, "wsc: bad url 'http://x'"},
        {{.url = "ws://127.0.0.1:1/v5/public/linear", .topics = topics, .ntopics = 0},
         "wsc: 'public': want 1 to 32 topics, not 0"},
        {{.url = "ws://127.0.0.1:1/", .topics = bad_topic, .ntopics = 1},
         "wsc: bad topic 'order\"book'"},
        {{.url = "ws://127.0.0.1:1/", .topics = dup, .ntopics = 2},
         "wsc: topic 'order' given twice"},
        {{.url = "ws://127.0.0.1:1/", .is_private = 1, .topics = topics, .ntopics = 1},
         "wsc: 'private': missing or bad api key"},
        {{.url = "ws://127.0.0.1:1/",
          .is_private = 1,
          .api_key = "k",
          .topics = topics,
          .ntopics = 1},
         "wsc: 'private': missing or too long api secret"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        code = 0;
        assert_null(wsc_new(&loop, &cases[i].c, &cb, NULL, err, sizeof err, &code));
        assert_int_equal(code, ERR_CONFIG);
        if (strncmp(err, cases[i].msg, strlen(cases[i].msg)))
            fail_msg("case %zu: '%s' does not start with '%s'", i, err, cases[i].msg);
    }
    uv_loop_close(&loop);
}

/* ---- bybit-sim in-process ---------------------------------------------------------------- */

#define KEY    "wsckey"
#define SECRET "wsc-secret-value-42"
#define MAXLOG 256

typedef struct fixture {
    uv_loop_t loop;
    faults *f;
    sim *s;
    simserve *srv;
    int port;
    char pub_url[128], priv_url[128];
    /* what the client reported */
    char *logs[MAXLOG];
    int nlogs;
    int snapshots, deltas, orders, unparsable, controls, msgs;
    int first_book_is_snapshot, saw_book;
    wsc_state last_to;
    int last_reason;
    int transitions[WSC__NSTATES];
    uint64_t t_backoff_ms; /* when the last move to backoff happened (monotonic) */
    int backoff_reason;
} fixture;

static int64_t now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t now_mono(void)
{
    return uv_hrtime() / 1000000u;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    uv_loop_init(&f->loop);
    int64_t t0 = now_wall();
    f->f = faults_new(3, t0);
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    exch_opts_default(&cfg.market);
    cfg.market.seed = 5;
    cfg.order_limit_per_s = 10;
    cfg.query_limit_per_s = 50;
    cfg.ws_idle_ms = 600000;
    cfg.ws_max_conns = 64;
    cfg.ws_max_topics = 16;
    cfg.ws_max_queue = 1 << 20;
    f->s = sim_new(&cfg, f->f, &simserve_io, t0, err, sizeof err);
    assert_non_null(f->s);
    assert_int_equal(sim_add_account(f->s, KEY, SECRET, 100000), 0);
    wsrv_opts wo = {64 * 1024, 1 << 20, 1 << 20};
    f->srv = simserve_start(&f->loop, f->s, "127.0.0.1:0", &wo, 20, err, sizeof err);
    assert_non_null(f->srv);
    f->port = simserve_port(f->srv);
    snprintf(f->pub_url, sizeof f->pub_url, "ws://127.0.0.1:%d/v5/public/linear", f->port);
    snprintf(f->priv_url, sizeof f->priv_url, "ws://127.0.0.1:%d/v5/private", f->port);
    f->last_to = WSC_IDLE;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    simserve_stop(f->srv);
    for (int i = 0; i < 2000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    sim_free(f->s);
    faults_free(f->f);
    for (int i = 0; i < f->nlogs; i++)
        free(f->logs[i]);
    free(f);
    return 0;
}

/* Runs the loop until cond(f) holds or ms have passed; returns whether it holds. */
static int run_until(fixture *f, int (*cond)(fixture *, wsc *), wsc *w, uint64_t ms)
{
    uint64_t end = now_mono() + ms;
    while (!cond(f, w) && now_mono() < end)
        uv_run(&f->loop, UV_RUN_ONCE); /* the sim's 20 ms tick wakes it */
    return cond(f, w);
}

static int never(fixture *f, wsc *w)
{
    (void)f;
    (void)w;
    return 0;
}

static void run_for(fixture *f, uint64_t ms)
{
    run_until(f, never, NULL, ms);
}

static int is_live(fixture *f, wsc *w)
{
    (void)f;
    return wsc_get_state(w) == WSC_LIVE;
}

static int is_closed(fixture *f, wsc *w)
{
    (void)f;
    return wsc_get_state(w) == WSC_CLOSED;
}

/* Frees w and runs the loop until its lws context is gone. */
static void free_client(fixture *f, wsc *w)
{
    wsc_free(w);
    run_for(f, 50);
}

static void cb_message(void *ud, wsc *w, const wsc_msg *m)
{
    fixture *f = ud;
    (void)w;
    assert_true(m->rx_ms > 0);
    assert_true(m->rx_mono_ns > 0);
    assert_int_equal(m->data[m->len], '\0'); /* parsers may take it as a C string */
    f->msgs++;
    if (m->control)
        f->controls++;
    cJSON *j = cJSON_ParseWithLength(m->data, m->len);
    if (!j) { /* a malformed frame: the caller ignores it */
        f->unparsable++;
        return;
    }
    const cJSON *topic = cJSON_GetObjectItemCaseSensitive(j, "topic");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (cJSON_IsString(topic) && !strncmp(topic->valuestring, "orderbook.", 10) &&
        cJSON_IsString(type)) {
        if (!f->saw_book)
            f->first_book_is_snapshot = !strcmp(type->valuestring, "snapshot");
        f->saw_book = 1;
        if (!strcmp(type->valuestring, "snapshot"))
            f->snapshots++;
        else
            f->deltas++;
    }
    if (cJSON_IsString(topic) && !strcmp(topic->valuestring, "order"))
        f->orders++;
    cJSON_Delete(j);
}

static void cb_state(void *ud, wsc *w, wsc_state from, wsc_state to, int reason)
{
    fixture *f = ud;
    (void)w;
    assert_int_not_equal(from, to);
    f->last_to = to;
    f->last_reason = reason;
    f->transitions[to]++;
    if (to == WSC_BACKOFF) {
        f->t_backoff_ms = now_mono();
        f->backoff_reason = reason;
    }
}

static void cb_log(void *ud, wsc *w, wsc_log_level lvl, const char *line)
{
    fixture *f = ud;
    (void)w;
    (void)lvl;
    assert_null(strstr(line, SECRET)); /* the secret never reaches a log line */
    if (getenv("WSC_TEST_VERBOSE"))
        fprintf(stderr, "[%s] %s\n", wsc_stream(w), line);
    if (f->nlogs < MAXLOG)
        f->logs[f->nlogs++] = strdup(line);
}

static int count_logs(const fixture *f, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < f->nlogs; i++)
        n += !strncmp(f->logs[i], prefix, strlen(prefix));
    return n;
}

static const wsc_callbacks CB = {cb_message, cb_state, cb_log};

static wsc *mk_public(fixture *f, wsc_config *c, const char *const *topics, size_t n)
{
    char err[256];
    int code = 0;
    c->url = f->pub_url;
    c->topics = topics;
    c->ntopics = n;
    if (!c->seed)
        c->seed = 9;
    wsc *w = wsc_new(&f->loop, c, &CB, f, err, sizeof err, &code);
    if (!w)
        fail_msg("wsc_new: %s", err);
    return w;
}

/* Sets faults as POST /sim/faults would (body: its JSON). */
static void set_faults(fixture *f, const char *json)
{
    char err[256];
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    if (faults_apply_json(f->f, j, now_wall(), err, sizeof err))
        fail_msg("faults '%s': %s", json, err);
    cJSON_Delete(j);
}

/* Starts w and waits (5 s at most) until it is live. */
static void start_live(fixture *f, wsc *w)
{
    assert_int_equal(wsc_start(w), 0);
    if (!run_until(f, is_live, w, 5000))
        fail_msg("'%s' not live after 5 s: %s", wsc_stream(w), wsc_state_name(wsc_get_state(w)));
}

static int backed_off(fixture *f, wsc *w)
{
    (void)w;
    return f->transitions[WSC_BACKOFF] > 0;
}

static int book_flowing(fixture *f, wsc *w)
{
    (void)w;
    return f->snapshots >= 1 && f->deltas >= 3;
}

static void test_public_book(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"};
    wsc_config c = {.heartbeat_interval = 0.2};
    wsc *w = mk_public(f, &c, topics, 2);
    assert_int_equal(wsc_get_state(w), WSC_IDLE);
    assert_string_equal(wsc_stream(w), "public");
    /* not live: a send is refused with a code */
    assert_int_equal(wsc_send(w, "{}", 2), ERR_BADSTATE);
    assert_int_equal(wsc_start(w), 0);
    assert_int_equal(wsc_start(w), ERR_BADSTATE);
    assert_true(run_until(f, book_flowing, w, 5000));
    assert_int_equal(wsc_get_state(w), WSC_LIVE);
    assert_true(f->first_book_is_snapshot);
    assert_int_equal(f->snapshots, 1);
    assert_true(f->controls >= 1); /* the subscribe ack, flagged */
    assert_int_equal(f->transitions[WSC_CONNECTING], 1);
    assert_int_equal(f->transitions[WSC_AUTHENTICATING], 1);
    assert_int_equal(f->transitions[WSC_SUBSCRIBING], 1);
    assert_int_equal(f->transitions[WSC_LIVE], 1);
    /* pings go out every heartbeat and are answered (controls keep coming) */
    int controls = f->controls;
    run_for(f, 700);
    assert_true(f->controls >= controls + 2);

    /* a forced resubscribe brings a fresh snapshot, then deltas again */
    assert_int_equal(wsc_resubscribe(w, "nope"), ERR_NOENT);
    assert_int_equal(wsc_resubscribe(w, "orderbook.50.BTCUSDT"), 0);
    assert_int_equal(wsc_get_state(w), WSC_SUBSCRIBING);
    int deltas = f->deltas;
    assert_true(run_until(f, is_live, w, 3000));
    run_for(f, 300);
    assert_int_equal(f->snapshots, 2);
    assert_true(f->deltas > deltas);
    assert_int_equal(f->transitions[WSC_LIVE], 2);

    /* live: sends are taken */
    assert_int_equal(wsc_send(w, "{\"op\":\"ping\",\"req_id\":\"mine\"}", 29), 0);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.state, WSC_LIVE);
    assert_int_equal(st.msgs_in, (uint64_t)f->msgs);
    assert_true(st.bytes_in > 1000);
    assert_int_equal(st.reconnects, 0);
    assert_int_equal(st.connects, 1);
    assert_true(st.last_msg_ms > now_wall() - 5000);

    /* metrics */
    sbuf b;
    sbuf_init(&b, 1 << 16);
    const wsc *ws[] = {w};
    assert_int_equal(wsc_metrics(ws, 1, &b), 0);
    assert_non_null(strstr(b.data, "# TYPE ws_reconnect_attempts_total counter\n"));
    assert_non_null(strstr(b.data, "ws_reconnect_attempts_total{stream=\"public\"} 0\n"));
    assert_non_null(strstr(b.data, "ws_connected{stream=\"public\"} 1\n"));
    char want[96];
    snprintf(want, sizeof want, "ws_messages_received_total{stream=\"public\"} %" PRIu64 "\n",
             st.msgs_in);
    assert_non_null(strstr(b.data, want));
    sbuf_free(&b);

    /* a graceful stop: closing, then closed, and it stays closed */
    assert_int_equal(wsc_stop(w), 0);
    assert_true(run_until(f, is_closed, w, 3000));
    assert_int_equal(f->transitions[WSC_CLOSING], 1);
    assert_int_equal(f->last_reason, 0);
    assert_int_equal(count_logs(f, "closed '"), 1);
    run_for(f, 300);
    assert_int_equal(wsc_get_state(w), WSC_CLOSED);
    assert_int_equal(wsc_send(w, "{}", 2), ERR_BADSTATE);
    free_client(f, w);
}

static int four_snapshots(fixture *f, wsc *w)
{
    return f->snapshots >= 4 && wsc_get_state(w) == WSC_LIVE;
}

static void test_resubscribe_during_subscription(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"};
    wsc_config c = {0};
    wsc *w = mk_public(f, &c, topics, 2);
    start_live(f, w);
    run_for(f, 100);
    assert_int_equal(f->snapshots, 2);
    /* the second request comes while the first is under way: kept, then sent once live */
    assert_int_equal(wsc_resubscribe(w, "orderbook.50.BTCUSDT"), 0);
    assert_int_equal(wsc_resubscribe(w, "orderbook.50.ETHUSDT"), 0);
    assert_true(run_until(f, four_snapshots, w, 3000));
    run_for(f, 200);
    assert_int_equal(f->snapshots, 4);
    assert_int_equal(f->transitions[WSC_LIVE], 3);
    /* everything at once: one more snapshot per book */
    assert_int_equal(wsc_resubscribe(w, NULL), 0);
    assert_true(run_until(f, is_live, w, 3000));
    run_for(f, 200);
    assert_int_equal(f->snapshots, 6);
    /* not needed outside live and subscribing */
    wsc_stop(w);
    assert_true(run_until(f, is_closed, w, 3000));
    assert_int_equal(wsc_resubscribe(w, NULL), 0);
    assert_int_equal(wsc_get_state(w), WSC_CLOSED);
    free_client(f, w);
}

static int got_order(fixture *f, wsc *w)
{
    (void)w;
    return f->orders > 0;
}

static void test_private_auth_and_orders(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"order", "execution", "position", "wallet", "dcp.future"};
    wsc_config c = {.url = f->priv_url,
                    .is_private = 1,
                    .api_key = KEY,
                    .api_secret = SECRET,
                    .topics = topics,
                    .ntopics = 5,
                    .seed = 4};
    char err[256];
    wsc *w = wsc_new(&f->loop, &c, &CB, f, err, sizeof err, NULL);
    assert_non_null(w);
    assert_string_equal(wsc_stream(w), "private");
    start_live(f, w);
    assert_int_equal(f->transitions[WSC_AUTHENTICATING], 1);
    assert_int_equal(f->transitions[WSC_SUBSCRIBING], 1);
    /* an order of this account shows up on the order stream */
    exch_order_req r = {"BTCUSDT", EXCH_BUY, EXCH_LIMIT, "0.01", "20000.0", EXCH_GTC, "wsc-t1", 0};
    exch_ids ids;
    char msg[128];
    assert_int_equal(exch_create(sim_exchange(f->s), KEY, &r, now_wall(), &ids, msg, sizeof msg),
                     0);
    assert_true(run_until(f, got_order, w, 3000));
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.reconnects, 0);
    /* a drop: it authenticates and subscribes again, and the order stream flows again */
    set_faults(f, "{\"ws_drop\":{\"start\":\"0s\"}}");
    assert_true(run_until(f, backed_off, w, 3000));
    assert_true(run_until(f, is_live, w, 5000));
    assert_int_equal(f->transitions[WSC_AUTHENTICATING], 2);
    assert_int_equal(f->transitions[WSC_SUBSCRIBING], 2);
    f->orders = 0;
    exch_ids ids2;
    assert_int_equal(exch_cancel(sim_exchange(f->s), KEY, "BTCUSDT", NULL, "wsc-t1", now_wall(),
                                 &ids2, msg, sizeof msg),
                     0);
    assert_true(run_until(f, got_order, w, 3000));
    wsc_stats_get(w, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.connects, 2);
    free_client(f, w);
}

static void test_wrong_secret(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"order"};
    wsc_config c = {.url = f->priv_url,
                    .is_private = 1,
                    .api_key = KEY,
                    .api_secret = "not-the-secret",
                    .topics = topics,
                    .ntopics = 1,
                    .initial_reconnect_delay = 0.1};
    wsc *w = wsc_new(&f->loop, &c, &CB, f, NULL, 0, NULL);
    assert_non_null(w);
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, is_closed, w, 5000));
    assert_int_equal(f->last_reason, ERR_AUTH);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.last_reason, ERR_AUTH);
    /* no retry loop: it stays closed */
    run_for(f, 1000);
    wsc_stats_get(w, &st);
    assert_int_equal(st.state, WSC_CLOSED);
    assert_int_equal(st.reconnects, 0);
    assert_int_equal(f->transitions[WSC_CONNECTING], 1);
    assert_int_equal(f->transitions[WSC_BACKOFF], 0);
    assert_int_equal(count_logs(f, "auth refused by '"), 1);
    assert_int_equal(count_logs(f, "reconnect attempt"), 0);
    free_client(f, w);
}

static void test_subscribe_refused(void **state)
{
    fixture *f = *state;
    /* a topic the exchange does not know: closed with ERR_REFUSED, no retry loop */
    const char *topics[] = {"orderbook.50.BTCUSDT", "orderbook.50.NOPEUSDT"};
    wsc_config c = {.initial_reconnect_delay = 0.1};
    wsc *w = mk_public(f, &c, topics, 2);
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, is_closed, w, 5000));
    assert_int_equal(f->last_reason, ERR_REFUSED);
    run_for(f, 500);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.state, WSC_CLOSED);
    assert_int_equal(st.reconnects, 0);
    assert_int_equal(count_logs(f, "subscription refused by '"), 1);
    /* the caller may start it again: the same outcome, once more */
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, is_closed, w, 5000));
    assert_int_equal(count_logs(f, "subscription refused by '"), 2);
    free_client(f, w);
}

static int three_attempts(fixture *f, wsc *w)
{
    (void)w;
    return count_logs(f, "reconnect attempt") >= 3;
}

static void test_drop_reconnects_with_growing_delays(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT"};
    wsc_config c = {.initial_reconnect_delay = 0.2,
                    .max_reconnect_delay = 5,
                    .healthy_after = 30,
                    .jitter = 0.2};
    wsc *w = mk_public(f, &c, topics, 1);
    start_live(f, w);
    set_faults(f, "{\"ws_drop\":{\"every\":\"1s\",\"code\":1001}}");
    assert_true(run_until(f, three_attempts, w, 8000));
    set_faults(f, "{\"clear\":true}");

    /* the lines, exactly as the runbook greps them, with delays that grow */
    regex_t re;
    assert_int_equal(
        regcomp(&re, "^reconnect attempt ([0-9]+) in ([0-9]+(\\.[0-9]{1,3})?) s$", REG_EXTENDED),
        0);
    int n = 0;
    double prev = 0, base = 0.2;
    for (int i = 0; i < f->nlogs && n < 3; i++) {
        if (strncmp(f->logs[i], "reconnect attempt", 17))
            continue;
        regmatch_t m[4];
        assert_int_equal(regexec(&re, f->logs[i], 4, m, 0), 0);
        n++;
        assert_int_equal(strtol(f->logs[i] + m[1].rm_so, NULL, 10), n);
        double d = strtod(f->logs[i] + m[2].rm_so, NULL);
        if (d < base * 0.8 - 1e-9 || d > base + 1e-9)
            fail_msg("'%s': want a delay in [%.3f, %.3f]", f->logs[i], base * 0.8, base);
        assert_true(d > prev);
        prev = d;
        base *= 2;
    }
    regfree(&re);
    assert_int_equal(n, 3);
    /* each was preceded by the reason */
    assert_true(count_logs(f, "disconnected from '") >= 3);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_true(st.reconnects >= 3);
    /* the fault is gone: live again, the book back with a snapshot */
    int snaps = f->snapshots;
    assert_true(run_until(f, is_live, w, 5000));
    run_for(f, 200);
    assert_true(f->snapshots > snaps);
    free_client(f, w);
}

static void test_stall_detected_and_reconnected(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT"};
    /* pings every 0.3 s would keep a live server talking; the stall silences it */
    wsc_config c = {.heartbeat_interval = 0.3,
                    .stale_timeout = 1,
                    .ack_timeout = 1,
                    .initial_reconnect_delay = 0.2,
                    .max_reconnect_delay = 1};
    wsc *w = mk_public(f, &c, topics, 1);
    start_live(f, w);
    set_faults(f, "{\"ws_stall\":{\"start\":\"0s\",\"duration\":\"2500ms\"}}");
    uint64_t t0 = now_mono();
    assert_true(run_until(f, backed_off, w, 3000));
    uint64_t took = f->t_backoff_ms - t0;
    /* detected within stale_timeout (plus the sim's 20 ms tick and scheduling slack) */
    if (took > 1500)
        fail_msg("stall detected after %" PRIu64 " ms, stale_timeout is 1000", took);
    assert_true(took >= 900);
    assert_int_equal(f->backoff_reason, ERR_TIMEOUT);
    assert_true(count_logs(f, "disconnected from '") >= 1);
    int found = 0;
    for (int i = 0; i < f->nlogs; i++)
        found |= strstr(f->logs[i], "stale: no message for 1 s") != NULL;
    assert_true(found);
    /* once the stall is over, live again with a fresh snapshot */
    int snaps = f->snapshots;
    assert_true(run_until(f, is_live, w, 6000));
    run_for(f, 200);
    assert_true(f->snapshots > snaps);
    free_client(f, w);
}

static void test_malformed_frames_delivered(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"};
    wsc_config c = {.heartbeat_interval = 0.2};
    wsc *w = mk_public(f, &c, topics, 2);
    start_live(f, w);
    set_faults(f, "{\"malformed\":{\"probability\":0.5}}");
    run_for(f, 800);
    set_faults(f, "{\"clear\":true}");
    assert_true(f->unparsable > 3); /* the truncated frames reached the caller */
    int deltas = f->deltas;
    run_for(f, 300);
    assert_true(f->deltas > deltas); /* and the stream goes on */
    assert_int_equal(wsc_get_state(w), WSC_LIVE);
    free_client(f, w);
}

static void test_message_cap(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"orderbook.50.BTCUSDT"};
    /* a 50-level snapshot is several KiB: over a 512-byte cap */
    wsc_config c = {.max_msg = 512, .initial_reconnect_delay = 0.1};
    wsc *w = mk_public(f, &c, topics, 1);
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, backed_off, w, 5000));
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_true(st.too_big >= 1);
    assert_int_equal(f->backoff_reason, ERR_FULL);
    assert_int_equal(f->snapshots, 0); /* never delivered, neither cut */
    free_client(f, w);
}

static void test_send_queue_cap(void **state)
{
    fixture *f = *state;
    const char *topics[] = {"publicTrade.BTCUSDT"};
    wsc_config c = {.max_queue = 4096};
    wsc *w = mk_public(f, &c, topics, 1);
    start_live(f, w);
    char msg[1000];
    memset(msg, ' ', sizeof msg);
    msg[0] = '{';
    msg[sizeof msg - 1] = '}';
    int ok = 0, rc = 0;
    for (int i = 0; i < 10 && !rc; i++) /* without running the loop nothing leaves */
        if (!(rc = wsc_send(w, msg, sizeof msg)))
            ok++;
    assert_int_equal(rc, ERR_FULL);
    assert_int_equal(ok, 4);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.queued, 4000);
    assert_int_equal(st.queued_hwm, 4000);
    assert_int_equal(st.sends_refused, 1);
    run_for(f, 300);
    wsc_stats_get(w, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.queued_hwm, 4000);
    assert_int_equal(wsc_send(w, msg, sizeof msg), 0);
    free_client(f, w);
}

/* Creates and starts a client whose connection must fail (ERR_IO, never connected, never
 * live) within 4 s; returns it in backoff. */
static wsc *start_refused(fixture *f, const wsc_config *c)
{
    memset(f->transitions, 0, sizeof f->transitions);
    wsc *w = wsc_new(&f->loop, c, &CB, f, NULL, 0, NULL);
    assert_non_null(w);
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, backed_off, w, 4000));
    assert_int_equal(f->backoff_reason, ERR_IO);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.connects, 0);
    assert_int_equal(f->transitions[WSC_LIVE], 0);
    return w;
}

static void test_connect_refused_backs_off(void **state)
{
    fixture *f = *state;
    /* a port nobody listens on: connect failed, then backoff, and it keeps retrying */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd); /* the port is free now and nobody listens */
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/v5/public/linear", ntohs(a.sin_port));
    const char *topics[] = {"orderbook.50.BTCUSDT"};
    wsc_config c = {.url = url,
                    .topics = topics,
                    .ntopics = 1,
                    .initial_reconnect_delay = 0.1,
                    .max_reconnect_delay = 0.2,
                    .ack_timeout = 1};
    wsc *w = start_refused(f, &c);
    run_for(f, 800);
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_true(st.reconnects >= 3);
    assert_int_equal(st.connects, 0);
    /* stop from backoff or connecting: closed at once */
    wsc_stop(w);
    assert_int_equal(wsc_get_state(w), WSC_CLOSED);
    run_for(f, 400);
    wsc_stats_get(w, &st);
    uint64_t r = st.reconnects;
    run_for(f, 300);
    wsc_stats_get(w, &st);
    assert_int_equal(st.reconnects, r);
    free_client(f, w);
}

/* ---- wss: a TLS WebSocket server of libwebsockets, in a child process ----------------------
 * In a child because lws 4.1 does not free a server vhost's client SSL_CTX (with the system CA
 * store) once it served a connection on a foreign loop: that leak belongs to the test's
 * server, and the child ends with _exit, before LeakSanitizer would look. */

typedef struct tls_pss {
    char reply[256];
} tls_pss;

static int tls_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    tls_pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        p->reply[0] = '\0';
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (len < 200 && memmem(in, len, "\"op\":\"subscribe\"", 16)) {
            snprintf(p->reply, sizeof p->reply,
                     "{\"success\":true,\"ret_msg\":\"\",\"op\":\"subscribe\"}");
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (p->reply[0]) {
            unsigned char buf[LWS_PRE + sizeof p->reply];
            size_t n = strlen(p->reply);
            memcpy(buf + LWS_PRE, p->reply, n);
            p->reply[0] = '\0';
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols tls_protocols[] = {
    {"tls-test", tls_cb, sizeof(tls_pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void tls_parent_gone(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)status;
    (void)events;
    _exit(0);
}

/* The child: serves wss on 127.0.0.1 with cert/key, writes its port to portfd, and exits when
 * lifefd reaches EOF (the parent closed it or died). Bounded: 60 s at most. */
static void tls_child(const char *cert, const char *key, int portfd, int lifefd)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct lws_context *ctx;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = (void *[]){&loop};
    info.port = CONTEXT_PORT_NO_LISTEN;
    ctx = lws_create_context(&info);
    int port = -1;
    if (ctx) {
        info.port = 0;
        info.iface = "127.0.0.1";
        info.protocols = tls_protocols;
        info.vhost_name = "tls-test";
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        struct lws_vhost *vh = lws_create_vhost(ctx, &info);
        if (vh)
            port = lws_get_vhost_listen_port(vh);
    }
    if (write(portfd, &port, sizeof port) != sizeof port || port < 0)
        _exit(1);
    uv_poll_t life;
    uv_poll_init(&loop, &life, lifefd);
    uv_poll_start(&life, UV_READABLE | UV_DISCONNECT, tls_parent_gone);
    uint64_t end = now_mono() + 60000;
    while (now_mono() < end)
        uv_run(&loop, UV_RUN_ONCE);
    _exit(0);
}

typedef struct tls_srv {
    pid_t pid;
    int port, lifefd;
} tls_srv;

static void tls_start(tls_srv *t, const char *cert, const char *key)
{
    int pp[2], lp[2];
    assert_int_equal(pipe(pp), 0);
    assert_int_equal(pipe(lp), 0);
    fflush(NULL);
    t->pid = fork();
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        close(pp[0]);
        close(lp[1]);
        tls_child(cert, key, pp[1], lp[0]);
    }
    close(pp[1]);
    close(lp[0]);
    t->lifefd = lp[1];
    t->port = -1;
    struct pollfd pf = {pp[0], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 10000), 1); /* the child is ready within 10 s */
    assert_int_equal(read(pp[0], &t->port, sizeof t->port), (ssize_t)sizeof t->port);
    close(pp[0]);
    assert_true(t->port > 0);
}

static void tls_stop(tls_srv *t)
{
    close(t->lifefd);
    int st = 0;
    assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void make_cert(const char *cert, const char *key, const char *cn, const char *san)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 2 -subj /CN=%s -addext subjectAltName=%s "
             ">/dev/null 2>&1",
             key, cert, cn, san);
    assert_int_equal(system(cmd), 0);
}

static void test_wss_verifies_certificates(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/test_wsc_XXXXXX", cert[64], key[64], cert2[64], key2[64];
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/c.pem", dir);
    snprintf(key, sizeof key, "%s/k.pem", dir);
    snprintf(cert2, sizeof cert2, "%s/c2.pem", dir);
    snprintf(key2, sizeof key2, "%s/k2.pem", dir);
    /* a self-signed certificate for 127.0.0.1: trusted only when given as ca_file; and one
     * for another name */
    make_cert(cert, key, "127.0.0.1", "IP:127.0.0.1");
    make_cert(cert2, key2, "example.invalid", "DNS:example.invalid");
    tls_srv t;
    tls_start(&t, cert, key);
    char url[64];
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/v5/public/linear", t.port);
    const char *topics[] = {"orderbook.50.BTCUSDT"};

    /* the system store does not know it: the handshake is refused, nothing goes live */
    wsc_config c = {.url = url,
                    .topics = topics,
                    .ntopics = 1,
                    .initial_reconnect_delay = 5,
                    .ack_timeout = 2,
                    .seed = 1};
    wsc *w = start_refused(f, &c);
    assert_int_equal(count_logs(f, "disconnected from 'wss://127.0.0.1:"), 1);
    free_client(f, w);

    /* trusted through ca_file: TLS, upgrade, subscribe, live */
    memset(f->transitions, 0, sizeof f->transitions);
    c.ca_file = cert;
    w = wsc_new(&f->loop, &c, &CB, f, NULL, 0, NULL);
    assert_non_null(w);
    assert_int_equal(wsc_start(w), 0);
    assert_true(run_until(f, is_live, w, 4000));
    wsc_stats st;
    wsc_stats_get(w, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(f->transitions[WSC_BACKOFF], 0);
    free_client(f, w);
    tls_stop(&t);

    /* a trusted chain for another host name: refused too */
    tls_start(&t, cert2, key2);
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/v5/public/linear", t.port);
    c.ca_file = cert2;
    free_client(f, start_refused(f, &c));
    tls_stop(&t);
    unlink(cert);
    unlink(key);
    unlink(cert2);
    unlink(key2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsm_every_cell),
        cmocka_unit_test(test_fsm_invariants),
        cmocka_unit_test(test_backoff_sequence),
        cmocka_unit_test(test_backoff_jitter),
        cmocka_unit_test(test_reconnect_line),
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test_setup_teardown(test_public_book, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resubscribe_during_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_auth_and_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_reconnects_with_growing_delays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_detected_and_reconnected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_frames_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_queue_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wss_verifies_certificates, setup, teardown),
    };
    if (getenv("WSC_FILTER")) /* e.g. WSC_FILTER=test_wss* to run some */
        cmocka_set_test_filter(getenv("WSC_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
