/*
 * bybit-sim: a local Bybit v5 exchange (REST and WebSocket on one loopback port) with a live
 * market and scriptable faults. The program reads the settings, makes the sim and serves it
 * with simserve (sockets, the market tick, replies held by the latency fault); SIGTERM or
 * SIGINT stops it.
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
#include "simserve.h"
#include "watchdog.h"
#include "wsrv.h"

/* The loop must turn at least once in this long, else the process says so and exits (a loop
 * that cannot turn cannot handle SIGTERM either); it is kicked every SIM_KICK_MS. */
#define SIM_WATCHDOG_MS 10000
#define SIM_KICK_MS     1000

typedef struct app {
    uv_loop_t *loop;
    simserve *v;
    uv_signal_t sigterm, sigint;
    uv_timer_t kick;
    watchdog *wd;
    int stopping;
} app;

static void on_kick(uv_timer_t *t)
{
    app *a = t->data;
    watchdog_kick(a->wd);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    (void)signum;
    if (a->stopping)
        return;
    a->stopping = 1;
    simserve_stop(a->v); /* held replies answered, then every connection closed */
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->kick, NULL);
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
    sim *s = NULL;
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
    s = sim_new(&cfg, f, &simserve_io, now_ms(), err, sizeof err);
    if (!s) {
        fprintf(stderr, "bybit-sim: %s\n", err);
        return quit(3, o, f, NULL);
    }
    for (size_t i = 0; i < o->naccounts; i++) {
        int rc = sim_add_account(s, o->accounts[i].key, o->accounts[i].secret, o->accounts[i].usdt);
        if (rc) {
            fprintf(stderr, "bybit-sim: account '%s': %s\n", o->accounts[i].key,
                    rc == -EEXIST ? "given twice" : strerror(-rc));
            return quit(2, o, f, s);
        }
    }
    wsrv_opts wo = {o->max_body, 64 * 1024, o->ws_max_queue};
    a.v = simserve_start(a.loop, s, o->listen, &wo, o->book_interval_ms, err, sizeof err);
    if (!a.v) {
        fprintf(stderr, "bybit-sim: %s\n", err);
        return quit(3, o, f, s);
    }
    simserve_set_http_limits(a.v, (unsigned)o->http_head_ms, o->http_max_conns);
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    a.wd = watchdog_start(SIM_WATCHDOG_MS, 2, "bybit-sim");
    if (!a.wd)
        fprintf(stderr, "bybit-sim: cannot start the loop watchdog: %s\n", strerror(errno));
    uv_timer_init(a.loop, &a.kick);
    a.kick.data = &a;
    uv_timer_start(&a.kick, on_kick, SIM_KICK_MS, SIM_KICK_MS);

    char host[64];
    snprintf(host, sizeof host, "%s", o->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    printf("listening on http://%s:%d\n", *host ? host : "127.0.0.1", simserve_port(a.v));
    fflush(stdout);

    uv_run(a.loop, UV_RUN_DEFAULT);
    watchdog_stop(a.wd);
    /* the loop ran dry: every connection closed (sim_ws_close ran for each) */
    sim_free(s);
    faults_free(f);
    free(o);
    uv_loop_close(a.loop);
    return 0;
}
