/*
 * strategy: the quotes mmbot wants and the minimal actions that get the live orders there.
 * Pure: numbers in, numbers out; no I/O, no clock (time is an argument), no allocation.
 *
 * Two kinds compute the wanted quotes (N levels a side):
 *  - pure: Hummingbot's pure market making (spreads in bps from a reference price, levels,
 *    inventory skew, price band, transaction costs);
 *  - avellaneda: Avellaneda-Stoikov, with volatility and trading intensity estimated from
 *    bounded ring buffers of recent mid prices and trades (strategy_est).
 * Both put every price on the tick grid (bids rounded down, asks up) and every qty on the lot
 * grid (a level under min qty or min notional is dropped), stop quoting a side whose fills would
 * take |position| past max_position, and, post-only, drop a level that would cross the best
 * opposite price. strategy_requote then compares wanted quotes with live orders and emits the
 * cancels, amends and creates, capped per call, never a cancel for an order already
 * pending-cancel or terminal. Formulas and units: docs/mmbot-internals.md.
 *
 * Units: prices in quote per base, quantities in base, spreads in bps (1/10000) of the
 * reference price unless said otherwise, times in seconds in the configuration and ms in calls.
 * Threads: none kept; every function works on what it is given.
 */
#ifndef MMBOT_STRATEGY_H
#define MMBOT_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#define STRATEGY_MAX_LEVELS  10 /* per side */
#define STRATEGY_MAX_QUOTES  (2 * STRATEGY_MAX_LEVELS)
#define STRATEGY_MAX_LIVE    64 /* live orders one requote call considers */
#define STRATEGY_MAX_ACTIONS 64
#define STRATEGY_EST_MIDS    600 /* mid samples kept (10 min at one a second) */
#define STRATEGY_EST_TRADES  512 /* trades kept */
#define STRATEGY_EST_BINS    16  /* distance bins of the intensity fit */

typedef enum strategy_kind { STRATEGY_PURE, STRATEGY_AVELLANEDA } strategy_kind;
typedef enum strategy_source {
    STRATEGY_SRC_MID,
    STRATEGY_SRC_MICROPRICE,
    STRATEGY_SRC_LAST_TRADE
} strategy_source;
typedef enum strategy_side { STRATEGY_BUY, STRATEGY_SELL } strategy_side;

typedef struct strategy_cfg {
    strategy_kind kind;
    strategy_source price_source;
    /* both kinds */
    double order_amount;                /* base, level 0 */
    unsigned order_levels;              /* per side, 1..STRATEGY_MAX_LEVELS */
    double order_level_spread;          /* bps of the reference between two levels */
    double order_level_amount;          /* base added per level */
    double order_refresh_time;          /* s between two price refreshes */
    double order_refresh_tolerance_pct; /* percent: a live order this close to its quote stays */
    double max_order_age;               /* s; an older order is replaced; 0: no limit */
    double filled_order_delay;          /* s without new orders after a fill */
    double max_position;                /* base, > 0: |position| never goes past it by our fills */
    int post_only;                      /* drop levels that would cross the best opposite price */
    double minimum_spread;              /* bps; a live order nearer the reference is cancelled
                                           (Hummingbot's default -10000: off) */
    unsigned max_actions;               /* per requote call, 1..STRATEGY_MAX_ACTIONS */
    int amend;                          /* replace a mispriced order by amending it */
    /* pure */
    double bid_spread, ask_spread; /* bps */
    int inventory_skew_enabled;
    double inventory_target_base_pct;  /* percent of the portfolio value held in base */
    double inventory_range_multiplier; /* in units of the total order size of one side */
    double price_ceiling, price_floor; /* <= 0: off */
    int add_transaction_costs;
    double maker_fee; /* fraction of value (0.0002 = 2 bps) */
    /* avellaneda */
    double risk_factor;               /* gamma, per unit of price */
    double order_amount_shape_factor; /* eta */
    double min_spread;                /* bps of the reference: the optimal spread's floor */
    double horizon;          /* s of one trading cycle; 0: infinite (see strategy_as_tau) */
    double inventory_target; /* base: q counts order_amounts away from it */
} strategy_cfg;

/* The instrument's grid (from instruments-info). */
typedef struct strategy_instrument {
    double tick;         /* priceFilter.tickSize, > 0 */
    double lot;          /* lotSizeFilter.qtyStep, > 0 */
    double min_qty;      /* minOrderQty */
    double min_notional; /* minNotionalValue (quote) */
} strategy_instrument;

/* What the market says now; <= 0 means absent. */
typedef struct strategy_market {
    double mid, microprice, last_trade; /* the price_source candidates */
    double best_bid, best_ask;          /* for post-only */
} strategy_market;

typedef struct strategy_inventory {
    double position;  /* base, signed: the base balance of the skew, q of Avellaneda-Stoikov */
    double quote;     /* quote the skew's portfolio holds besides the position */
    double skew_base; /* base added to the position for the skew only (a perpetual's virtual
                         portfolio: max_position of base and its value in quote make a flat
                         position the 50 % target); 0: none */
} strategy_inventory;

typedef struct strategy_quote {
    strategy_side side;
    unsigned level; /* 0 nearest the reference */
    int64_t price_ticks, qty_lots;
    double price, qty; /* price_ticks * tick, qty_lots * lot */
} strategy_quote;

typedef struct strategy_quotes {
    strategy_quote q[STRATEGY_MAX_QUOTES]; /* bids best first, then asks best first */
    size_t n, nbids;
    double ref;                  /* the reference price used */
    double reservation, spread;  /* avellaneda: r and delta (price); pure: ref and 0 */
    double bid_ratio, ask_ratio; /* size multipliers (inventory skew, shape factor); 1: none */
    unsigned dropped;            /* levels dropped (grid, min qty/notional, position, cross) */
} strategy_quotes;

/* Defaults (Hummingbot's where it has them): pure, mid, 1 level of 0.001, spreads 10 bps,
 * refresh 30 s, tolerance 0, max age 1800 s, fill delay 60 s, max_position 0.01, post-only,
 * minimum_spread -10000 (off), 10 actions, no amend, no skew (target 50 %, multiplier 1), no
 * band, no costs (maker fee 0.0002), gamma 1, eta 0, min spread 0, infinite horizon. */
void strategy_cfg_default(strategy_cfg *c);
/* 0, or ERR_CONFIG with the key in msg ("strategy.order_levels: ..."). */
int strategy_cfg_check(const strategy_cfg *c, char *msg, size_t msg_cap);

/* The reference price chosen by price_source. 0, or ERR_NODATA when that number is absent. */
int strategy_ref_price(const strategy_cfg *c, const strategy_market *m, double *out);

/* Hummingbot's c_calculate_bid_ask_ratios_from_base_asset_ratio: size multipliers in 0..2 from
 * the base value's place between target - range and target + range (range in base units, its
 * value capped at half the portfolio). A portfolio worth <= 0 gives 0 and 0. */
void strategy_skew_ratios(double base, double quote, double price, double target_base_pct,
                          double range_base, double *bid, double *ask);

/* Wanted quotes of the pure kind. 0; ERR_NODATA (no reference price); ERR_INVAL (bad
 * instrument). out is filled in every case (n == 0 on error). */
int strategy_quote_pure(const strategy_cfg *c, const strategy_instrument *in,
                        const strategy_market *m, const strategy_inventory *inv,
                        strategy_quotes *out);

/* ---- Avellaneda-Stoikov ---- */

/* Bounded estimator of volatility and trading intensity. Fixed storage (a plain value: init it,
 * nothing to free); the oldest sample is overwritten when a ring is full. */
typedef struct strategy_est {
    int64_t interval_ms; /* a mid is sampled at most this often */
    size_t min_samples;  /* estimates need this many mids (and trades) */
    int64_t mid_t[STRATEGY_EST_MIDS];
    double mid_p[STRATEGY_EST_MIDS];
    size_t mid_head, mid_n;
    double last_mid; /* the latest mid given, sampled or not */
    int64_t tr_t[STRATEGY_EST_TRADES];
    double tr_dist[STRATEGY_EST_TRADES]; /* |trade price - mid at that time| */
    size_t tr_head, tr_n;
} strategy_est;

/* interval_ms >= 0; min_samples at least 2 (smaller is raised). */
void strategy_est_init(strategy_est *e, int64_t interval_ms, size_t min_samples);
/* A mid price (> 0) at now_ms. */
void strategy_est_mid(strategy_est *e, int64_t now_ms, double mid);
/* A public trade (price > 0) at now_ms; ignored before the first mid. */
void strategy_est_trade(strategy_est *e, int64_t now_ms, double price);
/* sigma^2 in price^2 per second: the sum of squared mid changes over the time they span.
 * 0, or ERR_NODATA (fewer than min_samples, or no time spanned). */
int strategy_est_sigma2(const strategy_est *e, double *sigma2);
/* Fits lambda(d) = A e^(-kappa d), lambda the rate (per s) of trades at distance >= d from the
 * mid, by least squares on ln lambda over STRATEGY_EST_BINS distances d_k = k * bin (bin <= 0:
 * the largest distance / (bins - 1)); the window is now - the oldest trade, at least 1 s.
 * 0, or ERR_NODATA (fewer than min_samples trades, fewer than two distances, kappa <= 0). */
int strategy_est_kappa(const strategy_est *e, int64_t now_ms, double bin, double *A, double *kappa);

/* T - t in seconds: with a horizon, what is left of the current cycle of `horizon` s that
 * started at start_ms (cycles repeat); infinite horizon (0): 1 s, Hummingbot's infinite
 * timeframe (time_left_fraction = 1) with sigma^2 measured per second. */
double strategy_as_tau(const strategy_cfg *c, int64_t start_ms, int64_t now_ms);
/* r = s - q gamma sigma2 tau and delta = gamma sigma2 tau + (2/gamma) ln(1 + gamma/kappa),
 * then delta = max(delta, min_spread bps of s); q = (position - inventory_target) /
 * order_amount. 0, or ERR_INVAL (gamma, kappa, order_amount <= 0, sigma2 < 0). */
int strategy_as_prices(const strategy_cfg *c, double s, double position, double sigma2,
                       double kappa, double tau, double *r, double *delta);

/* Wanted quotes of the avellaneda kind: bids from r - delta/2, asks from r + delta/2, levels
 * order_level_spread apart, amounts order_amount + i order_level_amount, the side that adds to
 * |q| shrunk by e^(-eta |q|). kappa_bin as in strategy_est_kappa. 0; ERR_NODATA (no reference
 * price, or no estimate yet: quote nothing); ERR_INVAL. */
int strategy_quote_avellaneda(const strategy_cfg *c, const strategy_instrument *in,
                              const strategy_market *m, const strategy_inventory *inv,
                              const strategy_est *e, double kappa_bin, int64_t start_ms,
                              int64_t now_ms, strategy_quotes *out);

/* Either kind, by c->kind (the estimator is only read by avellaneda; may be NULL for pure). */
int strategy_compute(const strategy_cfg *c, const strategy_instrument *in, const strategy_market *m,
                     const strategy_inventory *inv, const strategy_est *e, double kappa_bin,
                     int64_t start_ms, int64_t now_ms, strategy_quotes *out);

/* ---- the requote decision ---- */

/* How a live order can be handled now. */
typedef enum strategy_live_state {
    STRATEGY_LIVE_OPEN, /* new, partially filled, or pending-new: may be kept, amended, cancelled */
    STRATEGY_LIVE_BUSY, /* pending-amend or unknown: holds its level, no action on it now */
    STRATEGY_LIVE_GONE, /* pending-cancel or terminal: ignored, never cancelled again */
} strategy_live_state;

typedef struct strategy_live {
    strategy_side side;
    int64_t price_ticks;
    double qty;
    int64_t created_ms;
    int amendable; /* confirmed live by the stream (an amend needs it) */
    strategy_live_state state;
} strategy_live;

typedef enum strategy_act_kind {
    STRATEGY_CANCEL,
    STRATEGY_AMEND,
    STRATEGY_CREATE
} strategy_act_kind;
typedef enum strategy_reason {
    STRATEGY_R_MISSING,    /* a wanted level has no order */
    STRATEGY_R_PRICE,      /* outside order_refresh_tolerance_pct at a refresh */
    STRATEGY_R_AGE,        /* older than max_order_age */
    STRATEGY_R_MIN_SPREAD, /* nearer the reference than minimum_spread */
    STRATEGY_R_UNWANTED,   /* more orders than wanted levels on its side */
} strategy_reason;

typedef struct strategy_action {
    strategy_act_kind kind;
    strategy_reason reason;
    size_t live;          /* CANCEL, AMEND: index into the live array */
    strategy_quote quote; /* CREATE, AMEND: the quote to place */
} strategy_action;

/* Timers of the requote decision (per symbol). */
typedef struct strategy_clock {
    int64_t next_refresh_ms; /* a price refresh happens at or after it */
    int64_t create_after_ms; /* no create before it (filled_order_delay) */
} strategy_clock;

/* Both timers at 0: the first call refreshes and creates. */
void strategy_clock_init(strategy_clock *k);
/* A fill happened at now_ms: no create for filled_order_delay, and the refresh comes no later
 * than that (Hummingbot's did_fill_order timers). */
void strategy_clock_fill(const strategy_cfg *c, strategy_clock *k, int64_t now_ms);

/* Compares wanted quotes with the live orders (their k-th best of a side pairs with the k-th
 * wanted level of that side) and writes the minimal actions into out, cancels first, then
 * amends, then creates, at most min(cap, c->max_actions); *n_deferred counts the actions left
 * for a later call. A pair is kept when the order is within the tolerance (checked only at a
 * refresh, when now_ms >= next_refresh_ms, which then moves order_refresh_time on), younger
 * than max_order_age and not nearer ref than minimum_spread; otherwise the order is replaced
 * (an amend when c->amend and the order is amendable and not aged out, else cancel + create).
 * Orders beyond the wanted levels are cancelled at once; missing levels are created once
 * create_after_ms has passed. GONE orders are skipped, BUSY ones hold their level untouched.
 * 0; ERR_RANGE (n_live > STRATEGY_MAX_LIVE); ERR_INVAL. */
int strategy_requote(const strategy_cfg *c, const strategy_instrument *in, strategy_clock *k,
                     const strategy_quotes *want, const strategy_live *live, size_t n_live,
                     double ref, int64_t now_ms, strategy_action *out, size_t cap, size_t *n_out,
                     size_t *n_deferred);

#endif
