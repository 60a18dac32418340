/*
 * mm-floor: the floor of bench/mm-latency. A client with mmbot's transport and none of its
 * logic: one wsc (lws client on libuv) on the public stream, subscribed to the book, and for
 * every frame that is not a reply to wsc's own ops, one fixed signed POST /v5/order/create
 * through restc (libcurl multi on the same loop, signed when it leaves), as mmbot sends it.
 * No parsing, no book, no decision, no state database.
 *
 *   BYBIT_API_KEY=k BYBIT_API_SECRET=s mm-floor --ws ws://127.0.0.1:P/v5/public/linear
 *                                               --rest http://127.0.0.1:P [--max-seconds S]
 *
 * Keys come from the environment only. Runs until SIGTERM/SIGINT or max-seconds (default
 * 600), then prints "floor frames N posts N failed N" on stdout. Exit 0, 1 when it cannot
 * start, 2 on bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "restc.h"
#include "wsc.h"

/* what mmbot's create looks like (bot.c), with a fixed price far from the book and a fixed id */
static const char floor_body[] =
    "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":\"Limit\","
    "\"qty\":\"0.001\",\"price\":\"20000.0\",\"timeInForce\":\"PostOnly\","
    "\"orderLinkId\":\"floor-0000000001\"}";

typedef struct floor_app {
    uv_loop_t *loop;
    wsc *ws;
    restc *rc;
    uv_signal_t sigterm, sigint;
    uv_timer_t deadline;
    int stopping;
    unsigned long frames, posts, failed;
} floor_app;

static void on_reply(void *ud, const restc_result *res)
{
    floor_app *a = ud;
    if (res->cls != RESTC_OK)
        a->failed++;
}

static void on_message(void *ud, wsc *w, const wsc_msg *m)
{
    floor_app *a = ud;
    (void)w;
    if (m->control || a->stopping)
        return;
    a->frames++;
    if (restc_post(a->rc, "/v5/order/create", floor_body, RESTC_SIGNED | RESTC_MUTATES, on_reply, a,
                   NULL) == 0)
        a->posts++;
    else
        a->failed++;
}

static void on_log(void *ud, wsc *w, wsc_log_level level, const char *line)
{
    (void)ud;
    (void)w;
    if (level >= WSC_LOG_WARN)
        fprintf(stderr, "mm-floor: %s\n", line);
}

static void stop(floor_app *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    printf("floor frames %lu posts %lu failed %lu\n", a->frames, a->posts, a->failed);
    fflush(stdout);
    wsc_free(a->ws);
    restc_close(a->rc);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->deadline, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data);
}

static void on_deadline(uv_timer_t *t)
{
    stop(t->data);
}

static int usage(const char *why)
{
    fprintf(stderr,
            "mm-floor: %s\nusage: BYBIT_API_KEY=… BYBIT_API_SECRET=… mm-floor --ws URL --rest URL "
            "[--max-seconds S]\n",
            why);
    return 2;
}

int main(int argc, char **argv)
{
    static floor_app a;
    const char *ws_url = NULL, *rest_url = NULL;
    unsigned long max_s = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ws"))
            ws_url = argv[i + 1];
        else if (!strcmp(argv[i], "--rest"))
            rest_url = argv[i + 1];
        else if (!strcmp(argv[i], "--max-seconds")) {
            char *end;
            errno = 0;
            max_s = strtoul(argv[i + 1], &end, 10);
            if (errno || *end || max_s < 1 || max_s > 86400)
                return usage("--max-seconds must be 1 to 86400");
        } else
            return usage("unknown option");
    }
    if (argc % 2 == 0)
        return usage("an option without its value");
    const char *key = getenv("BYBIT_API_KEY"), *secret = getenv("BYBIT_API_SECRET");
    if (!ws_url || !rest_url)
        return usage("--ws and --rest are required");
    if (!key || !*key || !secret || !*secret)
        return usage("BYBIT_API_KEY and BYBIT_API_SECRET must be set");
    signal(SIGPIPE, SIG_IGN);
    a.loop = uv_default_loop();
    char err[512];
    restc_config rcfg;
    restc_config_default(&rcfg);
    rcfg.base_url = rest_url;
    rcfg.api_key = key;
    rcfg.api_secret = secret;
    a.rc = restc_new(a.loop, &rcfg, err, sizeof err);
    if (!a.rc) {
        fprintf(stderr, "mm-floor: cannot start the rest client: %s\n", err);
        return 1;
    }
    static const char *const topics[] = {"orderbook.50.BTCUSDT"};
    wsc_config wcfg;
    memset(&wcfg, 0, sizeof wcfg);
    wcfg.url = ws_url;
    wcfg.stream = "public";
    wcfg.topics = topics;
    wcfg.ntopics = 1;
    wsc_callbacks cb = {on_message, NULL, on_log};
    a.ws = wsc_new(a.loop, &wcfg, &cb, &a, err, sizeof err, NULL);
    if (!a.ws || wsc_start(a.ws) != 0) {
        fprintf(stderr, "mm-floor: cannot start the websocket client: %s\n", err);
        restc_close(a.rc);
        uv_run(a.loop, UV_RUN_DEFAULT);
        return 1;
    }
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_timer_init(a.loop, &a.deadline);
    a.deadline.data = &a;
    uv_timer_start(&a.deadline, on_deadline, (uint64_t)max_s * 1000, 0);
    uv_run(a.loop, UV_RUN_DEFAULT);
    uv_loop_close(a.loop);
    return 0;
}
