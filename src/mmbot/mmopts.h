/*
 * mmopts: every setting of mmbot, declared once in the lib/settings table (mmopts.c).
 *
 * The YAML file (-c mmbot.yaml), `--set key=value` and the few flags all go through that table,
 * so examples/mmbot.yaml, --help-keys and --print-config cannot drift from the defaults. The
 * names are the runbook's where it gives them (websocket.heartbeat_interval,
 * connection_pool.limit_per_host, shutdown.timeout ...) and Hummingbot's for the strategy
 * (bid_spread, order_levels, inventory_skew_enabled ...), so traders recognise them.
 *
 * Units: spreads in basis points of the reference price (1 bps = 0.01 %); amounts in the base
 * coin (BTC for BTCUSDT); durations in milliseconds in the struct (written "20s" in YAML).
 *
 * API keys are never settings: see mmkeys.h. Plain value type: mmopts_free releases the symbol
 * strings; nothing here prints (but mmopts_print_*) or exits. Functions return 0 or a negative
 * ERR_* code (lib/errcode.h) with a message naming file, line and key.
 */
#ifndef MM_OPTS_H
#define MM_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "settings.h"

#define MMOPTS_MAX_SYMBOLS 16
#define MMOPTS_URL         512
#define MMOPTS_PATH        512

typedef enum mmopts_strategy { MMOPTS_PURE, MMOPTS_AVELLANEDA } mmopts_strategy;
typedef enum mmopts_price_source {
    MMOPTS_PRICE_MID,
    MMOPTS_PRICE_MICROPRICE,
    MMOPTS_PRICE_LAST_TRADE
} mmopts_price_source;
typedef enum mmopts_log_level {
    MMOPTS_LOG_DEBUG,
    MMOPTS_LOG_INFO,
    MMOPTS_LOG_WARN,
    MMOPTS_LOG_ERROR
} mmopts_log_level;

typedef struct mmopts {
    struct {
        char rest_url[MMOPTS_URL];
        char ws_public_url[MMOPTS_URL];
        char ws_private_url[MMOPTS_URL];
        unsigned recv_window_ms;
        unsigned category; /* index in mmopts_categories: only "linear" today */
    } exchange;
    size_t nsymbols;
    char *symbols[MMOPTS_MAX_SYMBOLS]; /* owned strings */
    char key_file[MMOPTS_PATH];        /* "" : keys from BYBIT_API_KEY / BYBIT_API_SECRET */
    char order_link_prefix[16];

    struct {
        mmopts_strategy kind;
        /* pure market making (Hummingbot's names) */
        double bid_spread_bps, ask_spread_bps, minimum_spread_bps;
        double order_amount;
        unsigned order_levels;
        double order_level_spread_bps, order_level_amount;
        uint64_t order_refresh_time_ms;
        double order_refresh_tolerance_pct;
        uint64_t max_order_age_ms, filled_order_delay_ms;
        int inventory_skew_enabled;
        double inventory_target_base_pct, inventory_range_multiplier;
        double price_ceiling, price_floor; /* 0: none */
        mmopts_price_source price_source;
        int add_transaction_costs, post_only;
        int amend_orders; /* a mispriced live order is amended (one request), not replaced */
        /* Avellaneda-Stoikov */
        double risk_factor, order_amount_shape_factor, min_spread_bps;
        unsigned volatility_buffer_size, trading_intensity_buffer_size;
    } strategy;

    struct {
        double max_position; /* per symbol, base coin */
        unsigned max_open_orders;
        unsigned max_orders_per_second;
        double kill_switch_rate; /* loss in % of the starting equity that stops the bot; 0: off */
        unsigned max_errors_per_min; /* non-retryable errors per minute that stop the bot */
        uint64_t stale_kill_ms;      /* stale market data this long stops the bot (0: never) */
    } risk;

    struct {
        uint64_t heartbeat_interval_ms, initial_reconnect_delay_ms, max_reconnect_delay_ms;
        uint64_t stale_timeout_ms;
    } websocket;

    struct {
        unsigned limit, limit_per_host;
        uint64_t request_timeout_ms;
    } connection_pool;

    struct {
        uint64_t timeout_ms;
        unsigned cancel_retries;
    } shutdown;

    struct {
        int enabled;
        uint64_t time_window_ms;
    } dcp;

    uint64_t instruments_ttl_ms;
    uint64_t reconcile_interval_ms;
    char state_db[MMOPTS_PATH];
    char http_listen[64]; /* "" : no /health and /metrics */
    uint64_t watchdog_timeout_ms;
    mmopts_log_level log_level;
    uint64_t hb_interval_ms; /* the "[HB] alive" line */

    /* fault injection, for tests of a supervisor (mmfault.h); all off by default */
    struct {
        int skip_cancel_on_shutdown; /* SIGTERM: exit 0 without cancelling (orders left) */
        unsigned leak_bytes_per_s;   /* memory allocated, touched and kept (0: off) */
        unsigned hang_after_s;       /* the loop stops this long after the start (0: off) */
    } fault;
} mmopts;

/* The names of the enums, NULL-terminated, in enum order. */
extern const char *const mmopts_categories[];
extern const char *const mmopts_log_levels[];

/* The settings table bound to o (for settings_* calls). */
settings mmopts_settings(mmopts *o);
/* Fills o with the defaults. */
void mmopts_init(mmopts *o);
/* Frees the symbol strings; o stays valid with no symbols. Safe twice. */
void mmopts_free(mmopts *o);

/* Reads the command line of a subcommand (argv[0] is the subcommand): -c FILE, --set K=V and
 * the flags. Then applies LOG_LEVEL from env_log_level when it is not NULL (it overrides the
 * file; a bad value is an error naming LOG_LEVEL). Returns 0 or an ERR_* code with the message
 * (file:line:key) in err. */
int mmopts_args(mmopts *o, int argc, char **argv, const char *env_log_level, settings_cli *cli,
                char *err, size_t errlen);

/* --help-keys, the flags part of --help, and --print-config (YAML with help comments). */
void mmopts_print_keys(FILE *out);
void mmopts_print_flags(const mmopts *o, FILE *out);
void mmopts_print_config(const mmopts *o, FILE *out);

#endif
