/*
 * bybit-sim: a local Bybit v5 exchange (REST and WebSocket on one loopback port) with a live
 * market and scriptable faults. The program is the glue between wsrv (sockets), sim (the
 * simulator) and the clock: a timer ticks the market every book interval, HTTP requests and
 * WebSocket events are handed to sim, delayed replies (the rest_latency fault) wait on timers.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "faults.h"
#include "sim.h"
#include "simopts.h"
#include "wsrv.h"

#define MAX_DELAYED 10000 /* replies waiting for the latency fault; more are sent at once */

typedef struct delayed {
    uv_timer_t timer;
    wsrv_req *req;
    rest_out out;
    struct delayed *prev, *next;
} delayed;

typedef struct app {
    uv_loop_t *loop;
    wsrv *srv;
    sim *s;
    faults *f;
    uv_timer_t tick;
    uv_signal_t sigterm, sigint;
    delayed *waiting;
    unsigned nwaiting;
    int stopping;
} app;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static void send_out(wsrv_req *r, rest_out *out)
{
    wsrv_reply(r, out->status, "application/json", out->headers.len ? out->headers.data : NULL,
               out->body.data ? out->body.data : "", out->body.len);
}

static void delayed_closed(uv_handle_t *h)
{
    delayed *d = h->data;
    rest_out_free(&d->out);
    free(d);
}

static void delayed_fire(uv_timer_t *t)
{
    delayed *d = t->data;
    app *a = t->loop->data;
    send_out(d->req, &d->out);
    if (d->prev)
        d->prev->next = d->next;
    else
        a->waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
    a->nwaiting--;
    uv_close((uv_handle_t *)&d->timer, delayed_closed);
}

static void on_request(void *ud, wsrv_req *r)
{
    app *a = ud;
    rest_in in;
    size_t blen;
    memset(&in, 0, sizeof in);
    in.method = wsrv_req_method(r);
    in.path = wsrv_req_path(r);
    in.query = wsrv_req_query(r);
    in.body = wsrv_req_body(r, &blen);
    in.body_len = blen;
    in.peer = wsrv_req_peer(r);
    in.api_key = wsrv_req_header(r, "x-bapi-api-key");
    in.timestamp = wsrv_req_header(r, "x-bapi-timestamp");
    in.sign = wsrv_req_header(r, "x-bapi-sign");
    in.recv_window = wsrv_req_header(r, "x-bapi-recv-window");
    rest_out out;
    rest_out_init(&out);
    sim_http(a->s, &in, now_ms(), &out);
    /* only a reply held back by the latency fault needs a heap record and a timer */
    delayed *d =
        out.delay_ms > 0 && a->nwaiting < MAX_DELAYED && !a->stopping ? calloc(1, sizeof *d) : NULL;
    if (!d) {
        send_out(r, &out);
        rest_out_free(&out);
        return;
    }
    d->out = out; /* the buffers move into d */
    d->req = r;
    uv_timer_init(a->loop, &d->timer);
    d->timer.data = d;
    d->next = a->waiting;
    if (a->waiting)
        a->waiting->prev = d;
    a->waiting = d;
    a->nwaiting++;
    uv_timer_start(&d->timer, delayed_fire, (uint64_t)d->out.delay_ms, 0);
}

/* ---- WebSocket -------------------------------------------------------------------------- */

static int io_send(void *h, const char *msg, size_t len)
{
    return wsrv_send(h, msg, len);
}

static size_t io_queued(void *h)
{
    return wsrv_queued(h);
}

static void io_close(void *h, int code, const char *reason)
{
    wsrv_close(h, code, reason);
}

static void io_reset(void *h)
{
    wsrv_reset(h);
}

static int on_ws_open(void *ud, wsrv_conn *c, const char *path, const char *query)
{
    app *a = ud;
    sim_conn *sc = sim_ws_open(a->s, c, path, query, now_ms());
    if (!sc)
        return -1;
    wsrv_conn_set_user(c, sc);
    return 0;
}

static void on_ws_message(void *ud, wsrv_conn *c, const char *msg, size_t len)
{
    app *a = ud;
    sim_conn *sc = wsrv_conn_user(c);
    if (sc)
        sim_ws_message(a->s, sc, msg, len, now_ms());
}

static void on_ws_close(void *ud, wsrv_conn *c)
{
    app *a = ud;
    sim_conn *sc = wsrv_conn_user(c);
    if (sc)
        sim_ws_close(a->s, sc, now_ms());
    wsrv_conn_set_user(c, NULL);
}

/* ---- life -------------------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    app *a = t->data;
    sim_tick(a->s, now_ms());
}

static void stop(app *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    /* answer what waits on the latency fault, then close everything */
    while (a->waiting) {
        delayed *d = a->waiting;
        uv_timer_stop(&d->timer);
        delayed_fire(&d->timer);
    }
    uv_timer_stop(&a->tick);
    uv_close((uv_handle_t *)&a->tick, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    wsrv_stop(a->srv);
    a->srv = NULL;
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data);
}

static void usage(FILE *out, const simopts *o)
{
    fprintf(out,
            "usage: bybit-sim [-c bybit-sim.yaml] [--set key=value]... [--listen 127.0.0.1:PORT]\n"
            "                 [--seed N] [--account KEY:SECRET[:USDT_BALANCE]]...\n"
            "\n"
            "A local Bybit v5 exchange: REST on http://HOST:PORT/v5/..., WebSockets on\n"
            "ws://HOST:PORT/v5/public/linear, /v5/private and /v5/trade, plus /sim/orders,\n"
            "/sim/stats, /sim/faults, /sim/reset and /metrics. Once ready it prints\n"
            "'listening on http://HOST:PORT'. SIGTERM or SIGINT stops it.\n"
            "\n"
            "options (each is also a key of bybit-sim.yaml; flags override the file):\n");
    simopts_print_flags(o, out);
    fprintf(out, "\nExit codes: 0 stopped by a signal, 2 usage or configuration error, 3 cannot "
                 "run.\n");
}

/* Exit path before the loop runs: frees what main allocated (no leak reports on errors). */
static int quit(int rc, simopts *o, faults *f, sim *s)
{
    sim_free(s);
    faults_free(f);
    free(o);
    return rc;
}

int main(int argc, char **argv)
{
    char err[512];
    int64_t t0 = now_ms();
    faults *f = faults_new(1, t0);
    simopts *o = calloc(1, sizeof *o);
    if (!f || !o) {
        fprintf(stderr, "bybit-sim: out of memory\n");
        return quit(3, o, f, NULL);
    }
    simopts_default(o);
    signal(SIGPIPE, SIG_IGN);

    /* the file first, then the flags in order, so a flag wins over the file */
    settings_cli cli;
    if (simopts_args(o, f, argc, argv, t0, &cli, err, sizeof err)) {
        fprintf(stderr, "bybit-sim: %s\n", err);
        return quit(2, o, f, NULL);
    }
    if (cli.help || cli.help_keys || cli.print_config) {
        if (cli.help)
            usage(stdout, o);
        else if (cli.help_keys)
            simopts_print_keys(stdout);
        else
            simopts_print_config(o, stdout);
        return quit(0, o, f, NULL);
    }
    if (cli.rest < argc) {
        fprintf(stderr, "bybit-sim: unexpected argument '%s' (see --help)\n", argv[cli.rest]);
        return quit(2, o, f, NULL);
    }

    app a;
    memset(&a, 0, sizeof a);
    a.loop = uv_default_loop();
    a.loop->data = &a;
    a.f = f;
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.market = o->market;
    cfg.market.seed = o->seed;
    cfg.order_limit_per_s = o->order_limit_per_s;
    cfg.query_limit_per_s = o->order_limit_per_s ? 50 : 0;
    cfg.ip_limit_per_5s = o->ip_limit_per_5s;
    cfg.ip_ban_ms = (int64_t)o->ip_ban_ms;
    cfg.ws_idle_ms = (int64_t)o->ws_idle_ms;
    cfg.ws_max_conns = o->ws_max_conns;
    cfg.ws_max_topics = o->ws_max_topics;
    cfg.ws_max_queue = o->ws_max_queue;
    sim_io io = {io_send, io_queued, io_close, io_reset};
    a.s = sim_new(&cfg, f, &io, now_ms(), err, sizeof err);
    if (!a.s) {
        fprintf(stderr, "bybit-sim: %s\n", err);
        return quit(3, o, f, NULL);
    }
    for (size_t i = 0; i < o->naccounts; i++) {
        int rc =
            sim_add_account(a.s, o->accounts[i].key, o->accounts[i].secret, o->accounts[i].usdt);
        if (rc) {
            fprintf(stderr, "bybit-sim: account '%s': %s\n", o->accounts[i].key,
                    rc == -EEXIST ? "given twice" : strerror(-rc));
            return quit(2, o, f, a.s);
        }
    }
    wsrv_callbacks cb = {on_request, on_ws_open, on_ws_message, on_ws_close};
    wsrv_opts wo = {o->max_body, 64 * 1024, o->ws_max_queue};
    a.srv = wsrv_start(a.loop, o->listen, &wo, &cb, &a, err, sizeof err);
    if (!a.srv) {
        fprintf(stderr, "bybit-sim: %s\n", err);
        return quit(3, o, f, a.s);
    }
    uv_timer_init(a.loop, &a.tick);
    a.tick.data = &a;
    uv_timer_start(&a.tick, on_tick, o->book_interval_ms, o->book_interval_ms);
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);

    char host[64];
    snprintf(host, sizeof host, "%s", o->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    printf("listening on http://%s:%d\n", *host ? host : "127.0.0.1", wsrv_port(a.srv));
    fflush(stdout);

    uv_run(a.loop, UV_RUN_DEFAULT);
    /* the loop ran dry: every connection closed (sim_ws_close ran for each) */
    sim_free(a.s);
    faults_free(f);
    free(o);
    uv_loop_close(a.loop);
    return 0;
}
