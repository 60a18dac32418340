/*
 * mmbot: a Bybit v5 market maker. The subcommands:
 *   run         quote until SIGTERM/SIGINT (bot.h)
 *   check       pre-flight: config, keys accepted, clock offset vs recv_window, instruments,
 *               open orders of ours (exit 0 all ok, 1 a check failed)
 *   cancel-all  emergency: cancel every open order of the symbols, then verify none is left
 *   orders      the open orders on the exchange (--count: their number), for soak's post-check
 * Exit codes: 0 ok, 1 a check failed / orders left, 2 usage or configuration, 3 cannot run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bot.h"
#include "settings.h"
#include "errcode.h"
#include "mmkeys.h"
#include "mmlog.h"
#include "mmopts.h"
#include "msg.h"
#include "openord.h"
#include "restc.h"

#define EXIT_OK     0
#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define EXIT_CANNOT 3

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mmbot run        [-c mmbot.yaml] [--set key=value]... [--dry-run]\n"
            "       mmbot check      [-c mmbot.yaml] [--set key=value]...\n"
            "       mmbot cancel-all [-c mmbot.yaml] [--set key=value]... [--symbol S]\n"
            "       mmbot orders     [-c mmbot.yaml] [--set key=value]... [--count] [--symbol S]\n"
            "\n"
            "A Bybit v5 market maker for linear perpetuals that leaves no order behind: orders\n"
            "are written to a state database before they are sent, the private stream is the\n"
            "truth, orphans are cancelled at start-up, and SIGTERM cancels everything and\n"
            "verifies it. API keys come from BYBIT_API_KEY and BYBIT_API_SECRET, or from\n"
            "key_file (mode 0600), never from the command line.\n"
            "\n"
            "  run         quote until SIGTERM or SIGINT (--dry-run: compute and log quotes,\n"
            "              send no order; needs no keys)\n"
            "  check       pre-flight: keys accepted, clock offset, instruments, open orders\n"
            "  cancel-all  cancel every open order of the symbols, then verify none is left\n"
            "  orders      list the open orders of the symbols (--count: only their number)\n"
            "\n"
            "Options of every subcommand:\n");
    mmopts o;
    mmopts_init(&o);
    mmopts_print_flags(&o, out);
    mmopts_free(&o);
    fprintf(out, "\nexamples/mmbot.yaml documents every key. Exit codes: 0 ok, 1 a check failed\n"
                 "or orders are left, 2 usage or configuration error, 3 cannot run.\n");
}

/* ---- a synchronous REST call for the short subcommands ---- */

typedef struct sync_call {
    int done;
    restc_class cls;
    long http_status, ret_code;
    int err;
    char *body;
    size_t len;
    double elapsed_ms;
} sync_call;

static void on_sync(void *ud, const restc_result *res)
{
    sync_call *c = ud;
    c->done = 1;
    c->cls = res->cls;
    c->http_status = res->http_status;
    c->ret_code = res->ret_code;
    c->err = res->err;
    c->elapsed_ms = res->elapsed_ms;
    c->body = malloc(res->body_len + 1);
    if (c->body) {
        memcpy(c->body, res->body, res->body_len);
        c->body[res->body_len] = '\0';
        c->len = res->body_len;
    }
}

static int call(uv_loop_t *loop, restc *rc, int post, const char *path, const char *arg,
                unsigned flags, sync_call *c)
{
    memset(c, 0, sizeof *c);
    int r = post ? restc_post(rc, path, arg, flags, on_sync, c, NULL)
                 : restc_get(rc, path, arg, flags, on_sync, c, NULL);
    if (r)
        return r;
    while (!c->done)
        uv_run(loop, UV_RUN_ONCE);
    return 0;
}

static void call_free(sync_call *c)
{
    free(c->body);
    c->body = NULL;
}

/* What a failed call says, for a message. */
static void call_why(const sync_call *c, char *buf, size_t n)
{
    msg_envelope env;
    if (c->body && msg_rest_envelope(c->body, c->len, &env) == 0)
        snprintf(buf, n, "retCode %" PRId64 " %s", env.ret_code, env.ret_msg);
    else if (c->http_status)
        snprintf(buf, n, "http %ld", c->http_status);
    else
        snprintf(buf, n, "%s", c->err ? errcode_str(c->err) : restc_class_name(c->cls));
}

typedef struct cli {
    mmopts o;
    mmkeys keys;
    int have_keys;
    uv_loop_t loop;
    restc *rc;
    const char *symbol; /* --symbol, or NULL: every configured one */
} cli;

static int cli_open(cli *c, int need_keys)
{
    char err[512];
    if (need_keys) {
        if (mmkeys_load(&c->keys, c->o.key_file, getenv("BYBIT_API_KEY"),
                        getenv("BYBIT_API_SECRET"), err, sizeof err) != 0) {
            fprintf(stderr, "mmbot: %s\n", err);
            return EXIT_USAGE;
        }
        c->have_keys = 1;
    }
    uv_loop_init(&c->loop);
    restc_config rcfg;
    restc_config_default(&rcfg);
    rcfg.base_url = c->o.exchange.rest_url;
    rcfg.api_key = c->have_keys ? c->keys.key : NULL;
    rcfg.api_secret = c->have_keys ? c->keys.secret : NULL;
    rcfg.recv_window_ms = c->o.exchange.recv_window_ms;
    rcfg.request_timeout_ms = (unsigned)c->o.connection_pool.request_timeout_ms;
    c->rc = restc_new(&c->loop, &rcfg, err, sizeof err);
    if (!c->rc) {
        fprintf(stderr, "mmbot: %s\n", err);
        return EXIT_CANNOT;
    }
    return 0;
}

static void cli_close(cli *c)
{
    if (c->rc) {
        restc_close(c->rc);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        uv_loop_close(&c->loop);
    }
    mmkeys_wipe(&c->keys);
}

/* The symbols a subcommand covers. */
static size_t cli_symbols(const cli *c, const char **out, size_t cap)
{
    if (c->symbol) {
        out[0] = c->symbol;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->o.nsymbols && n < cap; i++)
        out[n++] = c->o.symbols[i];
    return n;
}

/* Measures the server time minus ours and applies it. 0, or EXIT_FAILED with a message. */
static int cli_clock(cli *c, int64_t *offset, char *why, size_t n)
{
    sync_call sc;
    struct timespec a;
    clock_gettime(CLOCK_REALTIME, &a);
    if (call(&c->loop, c->rc, 0, "/v5/market/time", NULL, 0, &sc) != 0 || sc.cls != RESTC_OK) {
        call_why(&sc, why, n);
        call_free(&sc);
        return EXIT_FAILED;
    }
    msg_envelope env;
    msg_server_time t;
    int rc = msg_rest_time(sc.body, sc.len, &env, &t);
    call_free(&sc);
    if (rc || env.ret_code) {
        snprintf(why, n, "server time: cannot parse the reply");
        return EXIT_FAILED;
    }
    int64_t local = (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000 + (int64_t)(sc.elapsed_ms / 2);
    int64_t server = msg_server_time_ms(&t);
    *offset = server - local;
    restc_set_clock_offset(c->rc, *offset);
    return 0;
}

/* Open orders of one symbol into *p, every page (openord.h). 0, or -1 with why (a listing
 * cut at OPENORD_MAX is a failure too: p->v holds its first orders). */
static int cli_open_orders(cli *c, const char *symbol, openord *p, char *why, size_t n)
{
    openord_begin(p, symbol);
    int rc;
    do {
        char q[MSG_CURSOR_MAX * 3 + 128];
        if (openord_query(p, q, sizeof q) != 0) {
            snprintf(why, n, "open orders of %s: the page cursor is too long", symbol);
            return -1;
        }
        sync_call sc;
        if (call(&c->loop, c->rc, 0, "/v5/order/realtime", q, RESTC_SIGNED | RESTC_RETRY, &sc) !=
                0 ||
            sc.cls != RESTC_OK) {
            call_why(&sc, why, n);
            call_free(&sc);
            return -1;
        }
        rc = openord_take(p, sc.body, sc.len, NULL, why, n);
        call_free(&sc);
    } while (rc == 1);
    return rc == 0 ? 0 : -1;
}

static int has_prefix(const char *link, const char *prefix)
{
    return *prefix && !strncmp(link, prefix, strlen(prefix));
}

static int cmd_check(cli *c)
{
    int failed = 0;
    char why[512];
    int rc = cli_open(c, 1);
    if (rc)
        return rc;
    printf("ok    configuration (%zu symbols, REST %s)\n", c->o.nsymbols, c->o.exchange.rest_url);
    int64_t off = 0;
    if (cli_clock(c, &off, why, sizeof why) != 0) {
        printf("FAIL  server time: %s\n", why);
        cli_close(c);
        return EXIT_FAILED;
    }
    int skew = llabs(off) * 2 > (int64_t)c->o.exchange.recv_window_ms;
    printf("%s  clock offset %+" PRId64 " ms (recv_window %u ms)%s\n", skew ? "FAIL" : "ok  ", off,
           c->o.exchange.recv_window_ms,
           skew ? ": fix the clock (NTP); signed requests would fail with 10002" : "");
    failed |= skew;
    sync_call sc;
    if (call(&c->loop, c->rc, 0, "/v5/account/wallet-balance", "accountType=UNIFIED", RESTC_SIGNED,
             &sc) == 0 &&
        sc.cls == RESTC_OK) {
        printf("ok    API key accepted (%s)\n", c->keys.source);
    } else {
        call_why(&sc, why, sizeof why);
        printf("FAIL  API key from %s refused: %s\n", c->keys.source, why);
        failed = 1;
    }
    call_free(&sc);
    const char *syms[MMOPTS_MAX_SYMBOLS];
    size_t ns = cli_symbols(c, syms, MMOPTS_MAX_SYMBOLS);
    static msg_instrument_list il;
    static openord ol;
    for (size_t i = 0; i < ns; i++) {
        char q[96];
        snprintf(q, sizeof q, "category=linear&symbol=%s", syms[i]);
        msg_envelope env;
        if (call(&c->loop, c->rc, 0, "/v5/market/instruments-info", q, RESTC_RETRY, &sc) == 0 &&
            sc.cls == RESTC_OK && msg_rest_instruments(sc.body, sc.len, &env, &il) == 0 &&
            il.n > 0 && il.v[0].trading) {
            char tick[32], lot[32];
            msg_fx_format(il.v[0].tick, tick, sizeof tick);
            msg_fx_format(il.v[0].qty_step, lot, sizeof lot);
            printf("ok    instrument %s: tick %s, lot %s\n", syms[i], tick, lot);
        } else {
            printf("FAIL  instrument %s: unknown or not trading\n", syms[i]);
            failed = 1;
        }
        call_free(&sc);
        if (cli_open_orders(c, syms[i], &ol, why, sizeof why) != 0) {
            printf("FAIL  open orders of %s: %s\n", syms[i], why);
            failed = 1;
            continue;
        }
        size_t ours = 0;
        openord_count(&ol, c->o.order_link_prefix, &ours);
        printf("%s  open orders of ours on %s: %zu%s\n", ours ? "FAIL" : "ok  ", syms[i], ours,
               ours ? " (left by a run that ended: 'mmbot cancel-all' or a start cancels them)"
                    : "");
        failed |= ours > 0;
    }
    cli_close(c);
    return failed ? EXIT_FAILED : EXIT_OK;
}

static int cmd_cancel_all(cli *c)
{
    char why[512];
    int rc = cli_open(c, 1);
    if (rc)
        return rc;
    int64_t off;
    if (cli_clock(c, &off, why, sizeof why) != 0)
        fprintf(stderr, "mmbot: server time: %s (going on without a clock offset)\n", why);
    const char *syms[MMOPTS_MAX_SYMBOLS];
    size_t ns = cli_symbols(c, syms, MMOPTS_MAX_SYMBOLS);
    static msg_id_list cl;
    static openord ol;
    unsigned cancelled = 0, left = 0;
    for (unsigned attempt = 0; attempt <= c->o.shutdown.cancel_retries; attempt++) {
        for (size_t i = 0; i < ns; i++) {
            char body[128];
            snprintf(body, sizeof body, "{\"category\":\"linear\",\"symbol\":\"%s\"}", syms[i]);
            sync_call sc;
            msg_envelope env;
            if (call(&c->loop, c->rc, 1, "/v5/order/cancel-all", body, RESTC_SIGNED | RESTC_RETRY,
                     &sc) == 0 &&
                sc.cls == RESTC_OK && msg_rest_cancel_all(sc.body, sc.len, &env, &cl) == 0) {
                cancelled += (unsigned)cl.n;
            } else {
                call_why(&sc, why, sizeof why);
                fprintf(stderr, "mmbot: cancel-all %s: %s\n", syms[i], why);
            }
            call_free(&sc);
        }
        left = 0;
        for (size_t i = 0; i < ns; i++) {
            if (cli_open_orders(c, syms[i], &ol, why, sizeof why) != 0) {
                fprintf(stderr, "mmbot: cannot verify %s: %s\n", syms[i], why);
                left++;
                continue;
            }
            left += (unsigned)openord_count(&ol, NULL, NULL);
        }
        if (left == 0)
            break;
    }
    cli_close(c);
    if (left) {
        printf("cancelled %u orders; %u still open (or not verified)\n", cancelled, left);
        return EXIT_FAILED;
    }
    printf("cancelled %u orders; verified: none left\n", cancelled);
    return EXIT_OK;
}

static int cmd_orders(cli *c, int count_only)
{
    char why[512];
    int rc = cli_open(c, 1);
    if (rc)
        return rc;
    int64_t off;
    cli_clock(c, &off, why, sizeof why);
    const char *syms[MMOPTS_MAX_SYMBOLS];
    size_t ns = cli_symbols(c, syms, MMOPTS_MAX_SYMBOLS);
    static openord ol;
    unsigned n = 0;
    int failed = 0;
    for (size_t i = 0; i < ns; i++) {
        if (cli_open_orders(c, syms[i], &ol, why, sizeof why) != 0) {
            fprintf(stderr, "mmbot: %s\n", why);
            failed = 1;
            continue;
        }
        for (size_t k = 0; k < ol.n; k++) {
            const msg_order *m = &ol.v[k];
            if (!msg_order_open(m))
                continue;
            n++;
            if (count_only)
                continue;
            char px[32], qty[32];
            msg_fx_format(m->px, px, sizeof px);
            msg_fx_format(m->qty, qty, sizeof qty);
            printf("%s %s %s @ %s %s %s%s\n", m->symbol, m->side == MSG_SELL ? "Sell" : "Buy", qty,
                   px, m->link_id[0] ? m->link_id : "-", m->order_id,
                   has_prefix(m->link_id, c->o.order_link_prefix) ? " (ours)" : "");
        }
    }
    if (count_only)
        printf("%u\n", n);
    cli_close(c);
    return failed ? EXIT_CANNOT : EXIT_OK;
}

/* Takes the subcommand's own flags out of argv (they are not settings). */
static int take_flag(int *argc, char **argv, const char *name, const char **value)
{
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        size_t n = strlen(name);
        int eq = value && !strncmp(argv[i], name, n) && argv[i][n] == '=';
        if (strcmp(argv[i], name) && !eq)
            continue;
        int used = 1;
        if (value) {
            if (eq) {
                *value = argv[i] + n + 1;
            } else if (i + 1 < *argc) {
                *value = argv[i + 1];
                used = 2;
            } else {
                fprintf(stderr, "mmbot: option '%s' needs a value\n", name);
                return -1;
            }
        }
        memmove(argv + i, argv + i + used, (size_t)(*argc - i - used + 1) * sizeof *argv);
        *argc -= used;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *sub = argv[1];
    int is_run = !strcmp(sub, "run"), is_check = !strcmp(sub, "check"),
        is_cxall = !strcmp(sub, "cancel-all"), is_orders = !strcmp(sub, "orders");
    if (!is_run && !is_check && !is_cxall && !is_orders) {
        fprintf(stderr, "mmbot: unknown command '%s' (see 'mmbot --help')\n", sub);
        return EXIT_USAGE;
    }
    argc--;
    argv++; /* argv[0] is the subcommand now */
    int dry_run = 0, count = 0;
    const char *symbol = NULL;
    int f;
    if (is_run && (f = take_flag(&argc, argv, "--dry-run", NULL)) != 0)
        dry_run = f > 0;
    if ((is_orders || is_cxall) && (f = take_flag(&argc, argv, "--symbol", &symbol)) < 0)
        return EXIT_USAGE;
    if (is_orders && (f = take_flag(&argc, argv, "--count", NULL)) != 0)
        count = f > 0;

    static cli c;
    mmopts_init(&c.o);
    settings_cli sc;
    char err[1024];
    int rc = mmopts_args(&c.o, argc, argv, getenv("LOG_LEVEL"), &sc, err, sizeof err);
    if (sc.help) {
        usage(stdout);
        return EXIT_OK;
    }
    if (sc.help_keys) {
        mmopts_print_keys(stdout);
        return EXIT_OK;
    }
    if (rc) {
        fprintf(stderr, "mmbot: %s\n", err);
        return EXIT_USAGE;
    }
    if (sc.rest < argc) {
        fprintf(stderr, "mmbot: unexpected argument '%s' (see 'mmbot --help')\n", argv[sc.rest]);
        return EXIT_USAGE;
    }
    if (sc.print_config) {
        mmopts_print_config(&c.o, stdout);
        return EXIT_OK;
    }
    if (symbol) {
        int known = 0;
        for (size_t i = 0; i < c.o.nsymbols; i++)
            known |= !strcmp(c.o.symbols[i], symbol);
        if (!known) {
            fprintf(stderr, "mmbot: symbol '%s' is not in the configuration's symbols\n", symbol);
            return EXIT_USAGE;
        }
        c.symbol = symbol;
    }
    mmlog_set_level(c.o.log_level);
    if (is_run) {
        if (!dry_run && mmkeys_load(&c.keys, c.o.key_file, getenv("BYBIT_API_KEY"),
                                    getenv("BYBIT_API_SECRET"), err, sizeof err) != 0) {
            fprintf(stderr, "mmbot: %s\n", err);
            return EXIT_USAGE;
        }
        rc = bot_run(&c.o, dry_run ? NULL : &c.keys, dry_run);
        mmkeys_wipe(&c.keys);
    } else if (is_check) {
        rc = cmd_check(&c);
    } else if (is_cxall) {
        rc = cmd_cancel_all(&c);
    } else {
        rc = cmd_orders(&c, count);
    }
    mmopts_free(&c.o);
    return rc;
}
