/* mmopts: the settings table of mmbot. See mmopts.h. */
#include "mmopts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "wsrv.h"

const char *const mmopts_categories[] = {"linear", NULL};
const char *const mmopts_log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const strategy_kinds[] = {"pure", "avellaneda", NULL};
static const char *const price_sources[] = {"mid", "microprice", "last_trade", NULL};

/* A URL of one of the given schemes with a host ("http://127.0.0.1:8080"). */
static int check_url(const char *v, const char *a, const char *b, char *err, size_t errlen)
{
    size_t la = strlen(a), lb = strlen(b);
    const char *host = !strncmp(v, a, la) ? v + la : !strncmp(v, b, lb) ? v + lb : NULL;
    if (!host || !*host || *host == '/') {
        snprintf(err, errlen, "'%.80s' is not a %s or %s URL with a host", v, a, b);
        return ERR_PARSE;
    }
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p > '~') {
            snprintf(err, errlen, "a URL has no spaces or control characters");
            return ERR_PARSE;
        }
    if (strchr(host, '@')) { /* a password in a URL ends up in logs: keys go elsewhere */
        snprintf(err, errlen,
                 "no user or password in the URL (keys come from the environment "
                 "or the key file)");
        return ERR_PARSE;
    }
    return 0;
}

static int check_rest_url(const char *name, const char *v, char *err, size_t errlen)
{
    (void)name;
    return check_url(v, "http://", "https://", err, errlen);
}

static int check_ws_url(const char *name, const char *v, char *err, size_t errlen)
{
    (void)name;
    return check_url(v, "ws://", "wss://", err, errlen);
}

/* "" (no endpoints) or an IP:PORT that wsrv can listen on. */
static int check_listen(const char *name, const char *v, char *err, size_t errlen)
{
    char ip[64];
    int port, v6;
    (void)name;
    if (!*v)
        return 0;
    if (wsrv_parse_addr(v, ip, sizeof ip, &port, &v6) != 0) {
        snprintf(err, errlen, "'%.64s' is not IP:PORT (e.g. 127.0.0.1:9100), or '' for none", v);
        return ERR_ADDR;
    }
    return 0;
}

/* Bybit symbols: 2 to 24 upper-case letters and digits. */
static int check_symbol(const char *name, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    (void)name;
    int ok = n >= 2 && n <= 24;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9');
    if (!ok) {
        snprintf(err, errlen, "symbol '%.32s' is not 2 to 24 upper-case letters and digits", v);
        return ERR_PARSE;
    }
    return 0;
}

/* The orderLinkId prefix: 1 to 8 letters and digits, so that prefix + run id + sequence stays
 * within Bybit's 36 characters. */
static int check_prefix(const char *name, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    (void)name;
    int ok = n >= 1 && n <= 8;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
             (v[i] >= '0' && v[i] <= '9');
    if (!ok) {
        snprintf(err, errlen, "'%.16s' is not 1 to 8 letters and digits", v);
        return ERR_PARSE;
    }
    return 0;
}

#define F(field) offsetof(mmopts, field)
#define W(field) sizeof(((mmopts *)0)->field)
/* clang-format off */
#define STR(k_, f_, d_, chk_, h_) \
    {.name = k_, .type = SETTINGS_STRING, .def = d_, .help = h_, .off = F(f_), .width = W(f_), \
     .check = chk_}
#define DBL(k_, f_, d_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_FLOAT, .def = d_, .help = h_, .off = F(f_), .fmin = lo_, \
     .fmax = hi_, .range = r_}
#define UINT(k_, f_, d_, lo_, hi_, h_) \
    {.name = k_, .type = SETTINGS_INT, .def = d_, .help = h_, .off = F(f_), \
     .width = sizeof(unsigned), .min = lo_, .max = hi_}
#define DUR(k_, f_, d_, lo_, hi_, r_, h_) \
    {.name = k_, .type = SETTINGS_DURATION, .def = d_, .help = h_, .off = F(f_), .min = lo_, \
     .max = hi_, .range = r_}
#define BOOL(k_, f_, d_, h_) \
    {.name = k_, .type = SETTINGS_BOOL, .def = d_, .help = h_, .off = F(f_)}
#define ENUM(k_, f_, d_, ch_, h_) \
    {.name = k_, .type = SETTINGS_ENUM, .def = d_, .help = h_, .off = F(f_), .choices = ch_}
/* clang-format on */

#define S_   1000ull
#define MIN_ (60 * S_)
#define DAY_ (86400 * S_)

static const settings_key opt_table[] = {
    /* where the exchange is */
    STR("exchange.rest_url", exchange.rest_url, "http://127.0.0.1:18080", check_rest_url,
        "REST base URL (Bybit: https://api.bybit.com, testnet https://api-testnet.bybit.com)"),
    STR("exchange.ws_public_url", exchange.ws_public_url, "ws://127.0.0.1:18080/v5/public/linear",
        check_ws_url, "public WebSocket (Bybit: wss://stream.bybit.com/v5/public/linear)"),
    STR("exchange.ws_private_url", exchange.ws_private_url, "ws://127.0.0.1:18080/v5/private",
        check_ws_url, "private WebSocket (Bybit: wss://stream.bybit.com/v5/private)"),
    UINT("exchange.recv_window", exchange.recv_window_ms, "5000", 100, 60000,
         "X-BAPI-RECV-WINDOW in ms: how late a signed request may arrive"),
    ENUM("exchange.category", exchange.category, "linear", mmopts_categories,
         "product category (USDT linear perpetuals)"),
    {.name = "symbols",
     .type = SETTINGS_LIST,
     .def = "BTCUSDT",
     .help = "symbols to quote, e.g. [BTCUSDT, ETHUSDT]",
     .off = F(symbols),
     .off_n = F(nsymbols),
     .cap = MMOPTS_MAX_SYMBOLS,
     .what = " of symbols, e.g. [BTCUSDT, ETHUSDT]",
     .check = check_symbol},
    STR("key_file", key_file, "", NULL,
        "file with api_key and api_secret, mode 0600 ('' : BYBIT_API_KEY / BYBIT_API_SECRET)"),
    STR("order_link_prefix", order_link_prefix, "mmb", check_prefix,
        "start of every orderLinkId of ours: open orders with it are ours to cancel"),

    /* strategy */
    ENUM("strategy.kind", strategy.kind, "pure", strategy_kinds,
         "pure (Hummingbot's pure market making) or avellaneda (Avellaneda-Stoikov)"),
    DBL("strategy.bid_spread", strategy.bid_spread_bps, "10", 0, 10000, "from 0 to 10000",
        "bps below the reference price of the first bid"),
    DBL("strategy.ask_spread", strategy.ask_spread_bps, "10", 0, 10000, "from 0 to 10000",
        "bps above the reference price of the first ask"),
    DBL("strategy.minimum_spread", strategy.minimum_spread_bps, "0", 0, 10000, "from 0 to 10000",
        "an order closer than this to the reference price is cancelled, bps"),
    DBL("strategy.order_amount", strategy.order_amount, "0.001", 1e-12, 1e9, "from 1e-12 to 1e9",
        "size of a first-level order in the base coin"),
    UINT("strategy.order_levels", strategy.order_levels, "1", 1, 10, "orders per side"),
    DBL("strategy.order_level_spread", strategy.order_level_spread_bps, "5", 0, 10000,
        "from 0 to 10000", "bps between two levels of a side"),
    DBL("strategy.order_level_amount", strategy.order_level_amount, "0", 0, 1e9, "from 0 to 1e9",
        "size added per level beyond the first, base coin"),
    DUR("strategy.order_refresh_time", strategy.order_refresh_time_ms, "10s", 100, DAY_,
        "from 100ms to 1d", "how often quotes are reconsidered"),
    DBL("strategy.order_refresh_tolerance_pct", strategy.order_refresh_tolerance_pct, "0.05", 0,
        100, "from 0 to 100",
        "an order within this % of its wanted price is kept (no cancel and replace)"),
    DUR("strategy.max_order_age", strategy.max_order_age_ms, "30m", S_, 7 * DAY_, "from 1s to 7d",
        "an order older than this is replaced even when its price is right"),
    DUR("strategy.filled_order_delay", strategy.filled_order_delay_ms, "5s", 0, DAY_,
        "from 0s to 1d", "after a fill, wait this long before quoting that side again"),
    BOOL("strategy.inventory_skew_enabled", strategy.inventory_skew_enabled, "true",
         "skew order sizes toward the inventory target"),
    DBL("strategy.inventory_target_base_pct", strategy.inventory_target_base_pct, "50", 0, 100,
        "from 0 to 100", "wanted share of the base coin in the inventory value, %"),
    DBL("strategy.inventory_range_multiplier", strategy.inventory_range_multiplier, "1", 0.01, 100,
        "from 0.01 to 100", "width of the skew range, in order amounts"),
    DBL("strategy.price_ceiling", strategy.price_ceiling, "0", 0, 1e12, "from 0 to 1e12",
        "no quotes above this reference price (0: none)"),
    DBL("strategy.price_floor", strategy.price_floor, "0", 0, 1e12, "from 0 to 1e12",
        "no quotes below this reference price (0: none)"),
    ENUM("strategy.price_source", strategy.price_source, "mid", price_sources,
         "reference price: mid, microprice (size-weighted top of book) or last_trade"),
    BOOL("strategy.add_transaction_costs", strategy.add_transaction_costs, "false",
         "widen both spreads by the maker fee"),
    BOOL("strategy.post_only", strategy.post_only, "true",
         "send PostOnly orders (never take liquidity)"),
    BOOL("strategy.amend_orders", strategy.amend_orders, "false",
         "move a mispriced order with one amend request instead of a cancel and a create (not "
         "an order that aged out, nor one the private stream has not confirmed yet)"),
    DBL("strategy.risk_factor", strategy.risk_factor, "0.5", 1e-6, 1000, "from 1e-6 to 1000",
        "avellaneda: gamma, the inventory risk aversion"),
    DBL("strategy.order_amount_shape_factor", strategy.order_amount_shape_factor, "0", 0, 100,
        "from 0 to 100", "avellaneda: eta, order size shrinks as exp(-eta * inventory)"),
    DBL("strategy.min_spread", strategy.min_spread_bps, "2", 0, 10000, "from 0 to 10000",
        "avellaneda: the spread never goes below this, bps"),
    UINT("strategy.volatility_buffer_size", strategy.volatility_buffer_size, "200", 10, 100000,
         "avellaneda: mid prices kept to estimate volatility"),
    UINT("strategy.trading_intensity_buffer_size", strategy.trading_intensity_buffer_size, "200",
         10, 100000, "avellaneda: trades kept to estimate the trading intensity"),

    /* risk and the kill switch */
    DBL("risk.max_position", risk.max_position, "0.01", 0, 1e9, "from 0 to 1e9",
        "largest position per symbol, base coin: a side that would pass it is not quoted"),
    UINT("risk.max_open_orders", risk.max_open_orders, "20", 1, 500,
         "open orders at most (Bybit allows 500)"),
    UINT("risk.max_orders_per_second", risk.max_orders_per_second, "5", 1, 100,
         "order requests per second at most, before Bybit's own limit"),
    DBL("risk.kill_switch_rate", risk.kill_switch_rate, "0", 0, 100, "from 0 to 100",
        "loss in % of the starting equity that cancels everything and stops (0: off)"),
    UINT("risk.max_errors_per_min", risk.max_errors_per_min, "30", 1, 100000,
         "non-retryable errors per minute that cancel everything and stop"),
    DUR("risk.stale_kill", risk.stale_kill_ms, "10m", 0, DAY_, "from 0s to 1d",
        "market data stale this long cancels everything and stops (0: never; a shorter stall "
        "only pulls quotes)"),

    /* the runbook's WebSocket settings */
    DUR("websocket.heartbeat_interval", websocket.heartbeat_interval_ms, "20s", 100, 10 * MIN_,
        "from 100ms to 10m", "a ping this often"),
    DUR("websocket.initial_reconnect_delay", websocket.initial_reconnect_delay_ms, "1s", 10,
        10 * MIN_, "from 10ms to 10m", "first reconnect delay; doubled per attempt"),
    DUR("websocket.max_reconnect_delay", websocket.max_reconnect_delay_ms, "60s", 10, DAY_,
        "from 10ms to 1d", "cap of the reconnect delay"),
    DUR("websocket.stale_timeout", websocket.stale_timeout_ms, "60s", 100, DAY_, "from 100ms to 1d",
        "no message this long: reconnect, and quotes are pulled"),

    /* the runbook's REST pool */
    UINT("connection_pool.limit", connection_pool.limit, "100", 1, 10000,
         "connections at most (CURLMOPT_MAX_TOTAL_CONNECTIONS)"),
    UINT("connection_pool.limit_per_host", connection_pool.limit_per_host, "30", 1, 10000,
         "connections per host at most (CURLMOPT_MAX_HOST_CONNECTIONS)"),
    DUR("connection_pool.request_timeout", connection_pool.request_timeout_ms, "10s", 100,
        10 * MIN_, "from 100ms to 10m", "a REST request without an answer this long fails"),

    /* shutdown */
    DUR("shutdown.timeout", shutdown.timeout_ms, "30s", S_, 10 * MIN_, "from 1s to 10m",
        "SIGTERM: cancel everything and verify within this long"),
    UINT("shutdown.cancel_retries", shutdown.cancel_retries, "3", 0, 100,
         "retries of cancel-all per symbol at shutdown"),

    /* Disconnected Cancel All */
    BOOL("dcp.enabled", dcp.enabled, "false",
         "arm Bybit's Disconnected Cancel All (only some accounts have it)"),
    DUR("dcp.time_window", dcp.time_window_ms, "10s", 3 * S_, 300 * S_, "from 3s to 300s",
        "DCP: orders are cancelled this long after the private streams are gone"),

    /* the rest */
    DUR("instruments_ttl", instruments_ttl_ms, "1h", S_, 7 * DAY_, "from 1s to 7d",
        "instrument info (tick, lot, min notional) is fetched again after this long"),
    DUR("reconcile_interval", reconcile_interval_ms, "30s", S_, DAY_, "from 1s to 1d",
        "open orders on the exchange are compared with ours this often"),
    STR("state_db", state_db, "mmbot-state.db", NULL,
        "SQLite file of our orders and fills (written before a request leaves)"),
    STR("http.listen", http_listen, "127.0.0.1:9100", check_listen,
        "IP:PORT of /health and /metrics ('' : none)"),
    DUR("watchdog.timeout", watchdog_timeout_ms, "30s", 100, DAY_, "from 100ms to 1d",
        "the process exits (code 1) when its loop makes no progress this long"),
    ENUM("log.level", log_level, "info", mmopts_log_levels,
         "debug, info, warn or error (LOG_LEVEL in the environment overrides it)"),
    DUR("log.heartbeat_interval", hb_interval_ms, "30s", 100, DAY_, "from 100ms to 1d",
        "an '[HB] alive' line this often"),

    /* fault injection, for tests of a supervisor: never set these to trade */
    BOOL("fault.skip_cancel_on_shutdown", fault.skip_cancel_on_shutdown, "false",
         "fault injection: SIGTERM exits 0 without cancelling, leaving the orders behind"),
    UINT("fault.leak_bytes_per_s", fault.leak_bytes_per_s, "0", 0, 64 << 20,
         "fault injection: leak this many bytes a second, touched (RSS grows; 256 MiB at most)"),
    UINT("fault.hang_after_s", fault.hang_after_s, "0", 0, 86400,
         "fault injection: the loop stops this many seconds after the start, watchdog off (0: "
         "never)"),
};

static const settings_table mmopts_table = {
    "mmbot", opt_table, sizeof opt_table / sizeof opt_table[0],
    "see examples/mmbot.yaml or 'mmbot run --help-keys' for the keys", "see 'mmbot --help'"};

settings mmopts_settings(mmopts *o)
{
    settings s = {&mmopts_table, o, NULL};
    return s;
}

void mmopts_init(mmopts *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    settings s = mmopts_settings(o);
    settings_init(&s, err, sizeof err); /* the table's defaults; test_mmopts checks them */
}

void mmopts_free(mmopts *o)
{
    settings s = mmopts_settings(o);
    settings_free(&s);
}

int mmopts_args(mmopts *o, int argc, char **argv, const char *env_log_level, settings_cli *cli,
                char *err, size_t errlen)
{
    settings s = mmopts_settings(o);
    int rc = settings_args(&s, argc, argv, cli, err, errlen);
    if (rc || cli->help || cli->help_keys || !env_log_level || !*env_log_level)
        return rc;
    char why[256];
    rc = settings_set(&s, "log.level", env_log_level, why, sizeof why);
    if (rc)
        snprintf(err, errlen, "LOG_LEVEL: %s", why);
    return rc;
}

void mmopts_print_keys(FILE *out)
{
    mmopts o;
    mmopts_init(&o);
    settings s = mmopts_settings(&o);
    settings_print_keys(&s, out);
    mmopts_free(&o);
}

void mmopts_print_flags(const mmopts *o, FILE *out)
{
    settings s = mmopts_settings((mmopts *)o);
    settings_print_flags(&s, out);
}

void mmopts_print_config(const mmopts *o, FILE *out)
{
    static char buf[64 * 1024];
    settings s = mmopts_settings((mmopts *)o);
    size_t n = settings_dump(&s, buf, sizeof buf, 1);
    fwrite(buf, 1, n, out);
}
