/* strategy: worked examples of both kinds with the numbers computed by hand in the comments
 * (spreads, levels, skew, rounding, band, costs, max_position, post-only, Avellaneda-Stoikov
 * reservation price and spread, the estimators), and the requote decision (tolerance, age,
 * minimum spread, fill delay, caps, no cancel storm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "errcode.h"
#include "prng.h"
#include "strategy.h"

#define T0 1700000000000LL

/* BTCUSDT on Bybit: tick 0.1, qty step 0.001, min qty 0.001, min notional 5 USDT */
static const strategy_instrument BTC = {
    .tick = 0.1, .lot = 0.001, .min_qty = 0.001, .min_notional = 5};
/* a 0.01 tick, 0.01 lot instrument for the Avellaneda-Stoikov examples around 100 */
static const strategy_instrument X100 = {
    .tick = 0.01, .lot = 0.01, .min_qty = 0.01, .min_notional = 0};

static strategy_cfg pure_cfg(void)
{
    strategy_cfg c;
    strategy_cfg_default(&c);
    c.bid_spread = 10;
    c.ask_spread = 20;
    c.order_levels = 2;
    c.order_level_spread = 5;
    c.order_amount = 0.01;
    c.order_level_amount = 0.005;
    c.max_position = 1;
    c.post_only = 1;
    return c;
}

static void near(double got, double want, double tol, const char *what)
{
    if (fabs(got - want) > tol)
        fail_msg("%s: %.10f, want %.10f", what, got, want);
}

static void test_pure_levels(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    assert_int_equal(strategy_cfg_check(&c, NULL, 0), 0);
    strategy_market m = {.mid = 60000};
    strategy_inventory inv = {0};
    strategy_quotes q;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    /* bid0 = 60000 (1 - 0.0010)          = 59940.0, qty 0.010
     * bid1 = 60000 (1 - 0.0010 - 0.0005) = 59910.0, qty 0.010 + 0.005 = 0.015
     * ask0 = 60000 (1 + 0.0020)          = 60120.0, qty 0.010
     * ask1 = 60000 (1 + 0.0020 + 0.0005) = 60150.0, qty 0.015 */
    assert_int_equal(q.n, 4);
    assert_int_equal(q.nbids, 2);
    assert_int_equal(q.q[0].side, STRATEGY_BUY);
    assert_int_equal(q.q[0].price_ticks, 599400);
    assert_int_equal(q.q[0].qty_lots, 10);
    assert_int_equal(q.q[1].price_ticks, 599100);
    assert_int_equal(q.q[1].qty_lots, 15);
    assert_int_equal(q.q[1].level, 1);
    assert_int_equal(q.q[2].side, STRATEGY_SELL);
    assert_int_equal(q.q[2].price_ticks, 601200);
    assert_int_equal(q.q[3].price_ticks, 601500);
    assert_int_equal(q.q[3].qty_lots, 15);
    near(q.q[0].price, 59940.0, 1e-9, "bid0 price");
    near(q.q[3].qty, 0.015, 1e-12, "ask1 qty");
    near(q.ref, 60000, 0, "ref");
    assert_int_equal(q.dropped, 0);
}

static void test_pure_rounding_and_source(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    strategy_market m = {.mid = 60000.33, .microprice = 60010, .last_trade = 59990};
    strategy_inventory inv = {0};
    strategy_quotes q;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    /* bid0 = 60000.33 x 0.9990 = 59940.32967  -> down to 59940.3
     * bid1 = 60000.33 x 0.9985 = 59910.329505 -> down to 59910.3
     * ask0 = 60000.33 x 1.0020 = 60120.33066  -> up to 60120.4
     * ask1 = 60000.33 x 1.0025 = 60150.330825 -> up to 60150.4 */
    assert_int_equal(q.q[0].price_ticks, 599403);
    assert_int_equal(q.q[1].price_ticks, 599103);
    assert_int_equal(q.q[2].price_ticks, 601204);
    assert_int_equal(q.q[3].price_ticks, 601504);
    /* microprice 60010: bid0 = 60010 x 0.999 = 59949.99 -> 59949.9 */
    c.price_source = STRATEGY_SRC_MICROPRICE;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.q[0].price_ticks, 599499);
    /* last trade 59990: bid0 = 59990 x 0.999 = 59930.01 -> 59930.0 */
    c.price_source = STRATEGY_SRC_LAST_TRADE;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.q[0].price_ticks, 599300);
    /* the chosen number is absent: nothing is quoted */
    m.last_trade = 0;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), ERR_NODATA);
    assert_int_equal(q.n, 0);
    double ref;
    assert_int_equal(strategy_ref_price(&c, &m, &ref), ERR_NODATA);
}

static void test_skew_ratios(void **state)
{
    (void)state;
    double b, a;
    /* base 0.005 @ 60000 = 300 + quote 600: total 900, target 50 % = 450, range
     * min(0.01 x 60000, 900 / 2) = 450, so the limits are 0 and 900.
     * 300 < 450: left ratio = 300 / 450 x 0.5 = 1/3; bid = 2 - (1/3) / 0.5 = 4/3, ask 2/3 */
    strategy_skew_ratios(0.005, 600, 60000, 50, 0.01, &b, &a);
    near(b, 4.0 / 3, 1e-12, "bid ratio below target");
    near(a, 2.0 / 3, 1e-12, "ask ratio below target");
    /* base 0.01 = 600 + 300: 600 > 450: right ratio = 0.5 + 0.5 x 150/450 = 2/3;
     * bid = 1 - (2/3 - 0.5) / 0.5 = 2/3, ask 4/3 */
    strategy_skew_ratios(0.01, 300, 60000, 50, 0.01, &b, &a);
    near(b, 2.0 / 3, 1e-12, "bid ratio above target");
    near(a, 4.0 / 3, 1e-12, "ask ratio above target");
    /* at the target: 1 and 1; past the limits: 0 and 2, 2 and 0 */
    strategy_skew_ratios(0.0075, 450, 60000, 50, 0.01, &b, &a);
    near(b, 1, 1e-12, "at target");
    strategy_skew_ratios(0.02, 0, 60000, 50, 0.01, &b, &a);
    near(b, 0, 1e-12, "all base: no bids");
    near(a, 2, 1e-12, "all base: double asks");
    strategy_skew_ratios(-0.01, 0, 60000, 50, 0.01, &b, &a);
    near(b, 0, 0, "worth nothing");
    near(a, 0, 0, "worth nothing");
}

static void test_pure_skew_applied(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    c.order_levels = 1;
    c.inventory_skew_enabled = 1;
    strategy_market m = {.mid = 60000};
    strategy_inventory inv = {.position = 0.005, .quote = 600};
    strategy_quotes q;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    /* total order size of a side 0.01 x multiplier 1 = range 0.01: ratios 4/3 and 2/3 as
     * above; bid 0.01 x 4/3 = 0.01333 -> 0.013; ask 0.01 x 2/3 = 0.00667 -> 0.006 */
    assert_int_equal(q.n, 2);
    assert_int_equal(q.q[0].qty_lots, 13);
    assert_int_equal(q.q[1].qty_lots, 6);
    near(q.bid_ratio, 4.0 / 3, 1e-12, "bid ratio");
}

static void test_pure_band_and_costs(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    c.order_levels = 1;
    strategy_market m = {.mid = 60000};
    strategy_inventory inv = {0};
    strategy_quotes q;
    /* at the ceiling: no bids; at the floor: no asks */
    c.price_ceiling = 60000;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.nbids, 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.q[0].side, STRATEGY_SELL);
    c.price_ceiling = 0;
    c.price_floor = 60000;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.q[0].side, STRATEGY_BUY);
    c.price_floor = 59000;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 2);
    /* transaction costs, maker fee 2 bps:
     * bid0 = 59940 x (1 - 0.0002) = 59928.012 -> 59928.0
     * ask0 = 60120 x (1 + 0.0002) = 60132.024 -> 60132.1 */
    c.add_transaction_costs = 1;
    c.maker_fee = 0.0002;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.q[0].price_ticks, 599280);
    assert_int_equal(q.q[1].price_ticks, 601321);
}

static void test_lot_and_notional(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    c.order_amount = 0.001;
    c.order_level_amount = 0.001;
    strategy_instrument in = BTC;
    in.min_notional = 100;
    strategy_market m = {.mid = 60000};
    strategy_inventory inv = {0};
    strategy_quotes q;
    /* level 0: 0.001 x 59940 = 59.94 < 100, dropped; level 1: 0.002 x 59910 = 119.82 kept;
     * asks: 0.001 x 60120 = 60.12 dropped, 0.002 x 60150 = 120.30 kept */
    assert_int_equal(strategy_quote_pure(&c, &in, &m, &inv, &q), 0);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.q[0].level, 1);
    assert_int_equal(q.q[0].qty_lots, 2);
    assert_int_equal(q.q[1].level, 1);
    assert_int_equal(q.dropped, 2);
    /* 0.0004 is under one lot (0.001): nothing */
    c.order_amount = 0.0004;
    c.order_level_amount = 0;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 0);
    strategy_instrument bad = {.tick = 0, .lot = 0.001};
    assert_int_equal(strategy_quote_pure(&c, &bad, &m, &inv, &q), ERR_INVAL);
}

static void test_max_position(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    c.order_level_amount = 0;
    c.max_position = 0.02;
    strategy_market m = {.mid = 60000};
    strategy_quotes q;
    /* long 0.015: a first bid of 0.01 would make 0.025 > 0.02, so no bid at all; the asks
     * take it to 0.005 and -0.005, both within 0.02 */
    strategy_inventory inv = {.position = 0.015};
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.nbids, 0);
    assert_int_equal(q.n, 2);
    /* long 0.005: bid0 -> 0.015 fits, bid1 -> 0.025 does not */
    inv.position = 0.005;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.nbids, 1);
    assert_int_equal(q.n, 3);
    /* short 0.015: the mirror image */
    inv.position = -0.015;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.nbids, 2);
    assert_int_equal(q.n, 2);
}

static void test_post_only_never_crosses(void **state)
{
    (void)state;
    strategy_cfg c = pure_cfg();
    c.price_source = STRATEGY_SRC_LAST_TRADE;
    /* the last trade says 60000 while the book sits at 60120 / 59940: bid0 59940.0 would
     * meet the best ask 59940.0 and ask0 60120.0 the best bid 60120.0; both are dropped */
    strategy_market m = {.mid = 60030, .last_trade = 60000, .best_bid = 60120, .best_ask = 59940};
    strategy_inventory inv = {0};
    strategy_quotes q;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.q[0].price_ticks, 599100);
    assert_int_equal(q.q[1].price_ticks, 601500);
    for (size_t i = 0; i < q.n; i++) {
        if (q.q[i].side == STRATEGY_BUY)
            assert_true(q.q[i].price < m.best_ask);
        else
            assert_true(q.q[i].price > m.best_bid);
    }
    /* without post-only they stay */
    c.post_only = 0;
    assert_int_equal(strategy_quote_pure(&c, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 4);
}

static strategy_cfg as_cfg(void)
{
    strategy_cfg c;
    strategy_cfg_default(&c);
    c.kind = STRATEGY_AVELLANEDA;
    c.risk_factor = 0.1; /* gamma, 1/USDT */
    c.order_amount = 1;
    c.order_levels = 1;
    c.max_position = 10;
    c.post_only = 0;
    c.min_spread = 0;
    c.horizon = 0;
    return c;
}

static void test_as_formulas(void **state)
{
    (void)state;
    strategy_cfg c = as_cfg();
    assert_int_equal(strategy_cfg_check(&c, NULL, 0), 0);
    double r, d;
    /* s = 100, q = 2 (position 2, order amount 1), gamma 0.1, sigma^2 = 4 /s, tau = 1 s,
     * kappa = 0.5:
     * r     = 100 - 2 x 0.1 x 4 x 1 = 99.2
     * delta = 0.1 x 4 x 1 + (2 / 0.1) ln(1 + 0.1 / 0.5) = 0.4 + 20 x 0.1823215568
     *       = 4.0464311359 */
    assert_int_equal(strategy_as_prices(&c, 100, 2, 4, 0.5, 1, &r, &d), 0);
    near(r, 99.2, 1e-12, "reservation");
    near(d, 4.0464311359, 1e-9, "spread");
    /* min_spread 500 bps of 100 = 5 > 4.046: the floor wins */
    c.min_spread = 500;
    assert_int_equal(strategy_as_prices(&c, 100, 2, 4, 0.5, 1, &r, &d), 0);
    near(d, 5, 1e-12, "spread floor");
    c.min_spread = 0;
    /* inventory target 2: q = 0, r = s */
    c.inventory_target = 2;
    assert_int_equal(strategy_as_prices(&c, 100, 2, 4, 0.5, 1, &r, &d), 0);
    near(r, 100, 1e-12, "flat at target");
    c.inventory_target = 0;
    assert_int_equal(strategy_as_prices(&c, 100, 2, 4, 0, 1, &r, &d), ERR_INVAL);
    /* tau: infinite horizon 1 s; a 60 s cycle started at T0, 75 s later: 45 s left */
    near(strategy_as_tau(&c, T0, T0 + 75000), 1, 0, "infinite tau");
    c.horizon = 60;
    near(strategy_as_tau(&c, T0, T0 + 75000), 45, 1e-12, "cycle tau");
    near(strategy_as_tau(&c, T0, T0), 60, 1e-12, "cycle start");
    /* sigma^2 = 0.01, tau 45: r = 100 - 2 x 0.1 x 0.01 x 45 = 99.91,
     * delta = 0.1 x 0.01 x 45 + 3.6464311359 = 3.6914311359 */
    assert_int_equal(strategy_as_prices(&c, 100, 2, 0.01, 0.5, 45, &r, &d), 0);
    near(r, 99.91, 1e-12, "reservation, finite horizon");
    near(d, 3.6914311359, 1e-9, "spread, finite horizon");
}

/* An estimator holding sigma^2 = 2 /s and kappa = ln 2 (see test_estimators). */
static void fill_est(strategy_est *e)
{
    strategy_est_init(e, 1000, 3);
    strategy_est_mid(e, T0, 100);
    strategy_est_mid(e, T0 + 1000, 101);
    strategy_est_mid(e, T0 + 1500, 120); /* within the interval: not sampled */
    strategy_est_mid(e, T0 + 2000, 99);
    strategy_est_mid(e, T0 + 3000, 100);
    for (int i = 0; i < 4; i++)
        strategy_est_trade(e, T0 + 3000, 100); /* distance 0 */
    strategy_est_trade(e, T0 + 4000, 101);     /* 1 */
    strategy_est_trade(e, T0 + 4000, 99);      /* 1 */
    strategy_est_trade(e, T0 + 4000, 98);      /* 2 */
    strategy_est_trade(e, T0 + 5000, 103);     /* 3 */
}

static void test_estimators(void **state)
{
    (void)state;
    strategy_est e;
    strategy_est_init(&e, 1000, 3);
    double s2, A, k;
    assert_int_equal(strategy_est_sigma2(&e, &s2), ERR_NODATA);
    assert_int_equal(strategy_est_kappa(&e, T0, 1, &A, &k), ERR_NODATA);
    strategy_est_trade(&e, T0, 100); /* before any mid: ignored */
    assert_int_equal(e.tr_n, 0);
    fill_est(&e);
    /* sampled mids 100, 101, 99, 100 one second apart: changes 1, -2, 1, squares 6 over 3 s:
     * sigma^2 = 2 USDT^2/s */
    assert_int_equal(e.mid_n, 4);
    assert_int_equal(strategy_est_sigma2(&e, &s2), 0);
    near(s2, 2, 1e-12, "sigma2");
    /* trades at distances 0 x4, 1 x2, 2, 3 from mid 100 over T0+3 s .. T0+5 s = 2 s:
     * rates of trades at >= 0, 1, 2, 3: 8/2, 4/2, 2/2, 1/2 = 4, 2, 1, 0.5 = 4 e^(-ln2 d):
     * kappa = ln 2 = 0.6931471806, A = 4 */
    assert_int_equal(strategy_est_kappa(&e, T0 + 5000, 1, &A, &k), 0);
    near(k, log(2), 1e-12, "kappa");
    near(A, 4, 1e-9, "A");
    /* bin 0: the largest distance / 15 = 0.2; the rates become a staircase (8 at 0, 4 from
     * 0.2 to 1, 2 from 1.2 to 2, 1 from 2.2 to 3) whose least-squares slope is near ln 2 */
    assert_int_equal(strategy_est_kappa(&e, T0 + 5000, 0, &A, &k), 0);
    near(k, log(2), 0.15, "kappa with an automatic bin");
}

static void test_estimator_rings_are_bounded(void **state)
{
    (void)state;
    strategy_est e;
    strategy_est_init(&e, 0, 2);
    for (int i = 0; i < 3 * STRATEGY_EST_MIDS; i++)
        strategy_est_mid(&e, T0 + i * 10, 100 + (i % 2));
    for (int i = 0; i < 3 * STRATEGY_EST_TRADES; i++)
        strategy_est_trade(&e, T0 + i, 100 + (i % 3));
    assert_int_equal(e.mid_n, STRATEGY_EST_MIDS);
    assert_int_equal(e.tr_n, STRATEGY_EST_TRADES);
    double s2;
    /* alternating 100/101 every 10 ms: every change squared is 1, over 0.01 s: 100 /s */
    assert_int_equal(strategy_est_sigma2(&e, &s2), 0);
    near(s2, 100, 1e-6, "sigma2 of the last samples only");
}

static void test_as_quotes(void **state)
{
    (void)state;
    strategy_cfg c = as_cfg();
    strategy_est e;
    fill_est(&e);
    strategy_market m = {.mid = 100};
    strategy_inventory inv = {0};
    strategy_quotes q;
    /* q = 0: r = 100, delta = 0.1 x 2 x 1 + 20 ln(1 + 0.1 / ln 2) = 0.2 + 2.6953289142
     * = 2.8953289142; bid 100 - 1.4476644571 = 98.5523 -> 98.55, ask 101.4477 -> 101.45 */
    assert_int_equal(strategy_compute(&c, &X100, &m, &inv, &e, 1, T0, T0 + 5000, &q), 0);
    near(q.reservation, 100, 1e-12, "r");
    near(q.spread, 2.8953289142, 1e-9, "delta");
    assert_int_equal(q.n, 2);
    assert_int_equal(q.q[0].price_ticks, 9855);
    assert_int_equal(q.q[1].price_ticks, 10145);
    assert_int_equal(q.q[0].qty_lots, 100);

    /* long 2 with eta 0.5: r = 100 - 2 x 0.1 x 2 = 99.6, bid 98.1523 -> 98.15, ask
     * 101.0477 -> 101.05; bid amount 1 x e^(-1) = 0.3679 -> 0.36, ask 1 */
    c.order_amount_shape_factor = 0.5;
    inv.position = 2;
    assert_int_equal(strategy_compute(&c, &X100, &m, &inv, &e, 1, T0, T0 + 5000, &q), 0);
    near(q.reservation, 99.6, 1e-12, "r long");
    assert_int_equal(q.q[0].price_ticks, 9815);
    assert_int_equal(q.q[1].price_ticks, 10105);
    assert_int_equal(q.q[0].qty_lots, 36);
    assert_int_equal(q.q[1].qty_lots, 100);
    near(q.bid_ratio, exp(-1), 1e-12, "shape");
    /* short 2: the mirror (ask shrinks) */
    inv.position = -2;
    assert_int_equal(strategy_compute(&c, &X100, &m, &inv, &e, 1, T0, T0 + 5000, &q), 0);
    assert_int_equal(q.q[0].qty_lots, 100);
    assert_int_equal(q.q[1].qty_lots, 36);
    /* long 9.5 with max_position 10: a bid of 1 would make 10.5: no bid */
    c.order_amount_shape_factor = 0;
    inv.position = 9.5;
    assert_int_equal(strategy_compute(&c, &X100, &m, &inv, &e, 1, T0, T0 + 5000, &q), 0);
    assert_int_equal(q.nbids, 0);
    assert_int_equal(q.n, 1);
    /* no estimate yet: nothing quoted */
    strategy_est empty;
    strategy_est_init(&empty, 1000, 3);
    assert_int_equal(strategy_compute(&c, &X100, &m, &inv, &empty, 1, T0, T0, &q), ERR_NODATA);
    assert_int_equal(q.n, 0);
}

static void test_cfg_check(void **state)
{
    (void)state;
    strategy_cfg c;
    strategy_cfg_default(&c);
    char msg[128];
    assert_int_equal(strategy_cfg_check(&c, msg, sizeof msg), 0);
    c.order_levels = 11;
    assert_int_equal(strategy_cfg_check(&c, msg, sizeof msg), ERR_CONFIG);
    assert_string_equal(msg, "strategy.order_levels: must be 1..10");
    strategy_cfg_default(&c);
    c.max_position = 0;
    assert_int_equal(strategy_cfg_check(&c, msg, sizeof msg), ERR_CONFIG);
    assert_string_equal(msg, "strategy.max_position: must be > 0");
    strategy_cfg_default(&c);
    c.kind = STRATEGY_AVELLANEDA;
    c.risk_factor = 0;
    assert_int_equal(strategy_cfg_check(&c, msg, sizeof msg), ERR_CONFIG);
    assert_string_equal(msg, "strategy.risk_factor: must be > 0");
}

/* ---- requote ---- */

static strategy_cfg rq_cfg(void)
{
    strategy_cfg c = pure_cfg();
    c.order_levels = 1;
    c.order_refresh_time = 30;
    c.order_refresh_tolerance_pct = 0.1;
    c.max_order_age = 1800;
    c.filled_order_delay = 60;
    c.max_actions = 10;
    return c;
}

/* One wanted bid and ask at the given ticks. */
static strategy_quotes want2(int64_t bid, int64_t ask)
{
    strategy_quotes w;
    memset(&w, 0, sizeof w);
    w.q[0] = (strategy_quote){
        .side = STRATEGY_BUY, .price_ticks = bid, .qty_lots = 10, .price = bid * 0.1, .qty = 0.01};
    w.q[1] = (strategy_quote){
        .side = STRATEGY_SELL, .price_ticks = ask, .qty_lots = 10, .price = ask * 0.1, .qty = 0.01};
    w.n = 2;
    w.nbids = 1;
    return w;
}

static void test_requote_creates_then_keeps(void **state)
{
    (void)state;
    strategy_cfg c = rq_cfg();
    strategy_clock k;
    strategy_clock_init(&k);
    strategy_quotes w = want2(599400, 601200);
    strategy_action a[16];
    size_t n, deferred;
    assert_int_equal(strategy_requote(&c, &BTC, &k, &w, NULL, 0, 60000, T0, a, 16, &n, &deferred),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].kind, STRATEGY_CREATE);
    assert_int_equal(a[0].reason, STRATEGY_R_MISSING);
    assert_int_equal(a[0].quote.price_ticks, 599400);
    assert_int_equal(a[1].quote.price_ticks, 601200);
    assert_true(k.next_refresh_ms == T0 + 30000);
    /* the orders live: nothing to do, at a refresh or not */
    strategy_live live[] = {
        {.side = STRATEGY_BUY, .price_ticks = 599400, .qty = 0.01, .created_ms = T0},
        {.side = STRATEGY_SELL, .price_ticks = 601200, .qty = 0.01, .created_ms = T0},
    };
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 2, 60000, T0 + 1000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 2, 60000, T0 + 30000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 0);
    assert_int_equal(deferred, 0);
}

static void test_requote_tolerance(void **state)
{
    (void)state;
    strategy_cfg c = rq_cfg();
    strategy_clock k = {.next_refresh_ms = T0 + 30000};
    strategy_live live[] = {
        {.side = STRATEGY_BUY, .price_ticks = 599400, .qty = 0.01, .created_ms = T0},
        {.side = STRATEGY_SELL, .price_ticks = 601200, .qty = 0.01, .created_ms = T0},
    };
    strategy_action a[16];
    size_t n, deferred;
    /* the bid wanted at 59990.0: 50 / 59940 = 0.083 % <= 0.1 %: kept; the ask wanted at
     * 60190.0: 70 / 60120 = 0.116 % > 0.1 %: replaced, but only at the refresh */
    strategy_quotes w = want2(599900, 601900);
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 2, 60050, T0 + 10000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 2, 60050, T0 + 30000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].kind, STRATEGY_CANCEL);
    assert_int_equal(a[0].live, 1);
    assert_int_equal(a[0].reason, STRATEGY_R_PRICE);
    assert_int_equal(a[1].kind, STRATEGY_CREATE);
    assert_int_equal(a[1].quote.price_ticks, 601900);
    assert_true(k.next_refresh_ms == T0 + 60000);
    /* with amend on, the same order is amended instead */
    c.amend = 1;
    live[1].amendable = 1;
    k.next_refresh_ms = 0;
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 2, 60050, T0 + 30000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].kind, STRATEGY_AMEND);
    assert_int_equal(a[0].live, 1);
    assert_int_equal(a[0].quote.price_ticks, 601900);
}

static void test_requote_age_and_min_spread(void **state)
{
    (void)state;
    strategy_cfg c = rq_cfg();
    c.amend = 1;
    strategy_clock k = {.next_refresh_ms = T0 + 999999};
    strategy_quotes w = want2(599400, 601200);
    /* the bid is 1800 s old: replaced at once (cancel + create even with amend on) */
    strategy_live live[] = {
        {.side = STRATEGY_BUY, .price_ticks = 599400, .created_ms = T0 - 1800000, .amendable = 1},
        {.side = STRATEGY_SELL, .price_ticks = 601200, .created_ms = T0 - 1799999, .amendable = 1},
    };
    strategy_action a[16];
    size_t n, deferred;
    assert_int_equal(strategy_requote(&c, &BTC, &k, &w, live, 2, 60000, T0, a, 16, &n, &deferred),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].kind, STRATEGY_CANCEL);
    assert_int_equal(a[0].reason, STRATEGY_R_AGE);
    assert_int_equal(a[0].live, 0);
    assert_int_equal(a[1].kind, STRATEGY_CREATE);
    /* minimum_spread 5 bps: a bid at 59990.0 is 10 / 60000 = 1.7 bps from the reference */
    c.minimum_spread = 5;
    c.amend = 0;
    strategy_live near_[] = {
        {.side = STRATEGY_BUY, .price_ticks = 599900, .created_ms = T0},
        {.side = STRATEGY_SELL, .price_ticks = 601200, .created_ms = T0},
    };
    assert_int_equal(strategy_requote(&c, &BTC, &k, &w, near_, 2, 60000, T0, a, 16, &n, &deferred),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].reason, STRATEGY_R_MIN_SPREAD);
    assert_int_equal(a[0].live, 0);
}

static void test_requote_no_cancel_storm(void **state)
{
    (void)state;
    strategy_cfg c = rq_cfg();
    strategy_clock k;
    strategy_clock_init(&k);
    strategy_quotes w = want2(599400, 601200);
    /* the old bid is being cancelled and the old ask is in doubt (unknown): no cancel for
     * either, however wrong their prices; the bid's level gets a new order, the ask's level
     * is held by the unknown order */
    strategy_live live[] = {
        {.side = STRATEGY_BUY,
         .price_ticks = 590000,
         .created_ms = T0,
         .state = STRATEGY_LIVE_GONE},
        {.side = STRATEGY_SELL,
         .price_ticks = 610000,
         .created_ms = T0 - 9999999,
         .state = STRATEGY_LIVE_BUSY},
        {.side = STRATEGY_SELL,
         .price_ticks = 620000,
         .created_ms = T0,
         .state = STRATEGY_LIVE_GONE},
    };
    strategy_action a[16];
    size_t n, deferred;
    for (int round = 0; round < 5; round++) {
        assert_int_equal(strategy_requote(&c, &BTC, &k, &w, live, 3, 60000, T0 + round * 40000, a,
                                          16, &n, &deferred),
                         0);
        for (size_t i = 0; i < n; i++)
            assert_int_not_equal(a[i].kind, STRATEGY_CANCEL);
    }
    assert_int_equal(n, 1);
    assert_int_equal(a[0].kind, STRATEGY_CREATE);
    assert_int_equal(a[0].quote.side, STRATEGY_BUY);
    /* a side no longer wanted (max_position, stale data): its open order goes at once */
    strategy_quotes none;
    memset(&none, 0, sizeof none);
    strategy_live one[] = {{.side = STRATEGY_BUY, .price_ticks = 599400, .created_ms = T0}};
    k.next_refresh_ms = T0 + 999999;
    assert_int_equal(strategy_requote(&c, &BTC, &k, &none, one, 1, 60000, T0, a, 16, &n, &deferred),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].kind, STRATEGY_CANCEL);
    assert_int_equal(a[0].reason, STRATEGY_R_UNWANTED);
    strategy_live many[STRATEGY_MAX_LIVE + 1];
    memset(many, 0, sizeof many);
    assert_int_equal(strategy_requote(&c, &BTC, &k, &w, many, STRATEGY_MAX_LIVE + 1, 60000, T0, a,
                                      16, &n, &deferred),
                     ERR_RANGE);
}

static void test_requote_fill_delay_and_cap(void **state)
{
    (void)state;
    strategy_cfg c = rq_cfg();
    strategy_clock k;
    strategy_clock_init(&k);
    k.next_refresh_ms = T0 + 500000;
    /* a fill at T0: no create before T0 + 60 s, and the refresh comes by then */
    strategy_clock_fill(&c, &k, T0);
    assert_true(k.create_after_ms == T0 + 60000);
    assert_true(k.next_refresh_ms == T0 + 60000);
    strategy_quotes w = want2(599400, 601200);
    strategy_live live[] = {{.side = STRATEGY_SELL, .price_ticks = 601200, .created_ms = T0}};
    strategy_action a[16];
    size_t n, deferred;
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 1, 60000, T0 + 59999, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        strategy_requote(&c, &BTC, &k, &w, live, 1, 60000, T0 + 60000, a, 16, &n, &deferred), 0);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].kind, STRATEGY_CREATE);
    assert_int_equal(a[0].quote.side, STRATEGY_BUY);

    /* three levels a side wanted, one stray order: the cancel first, then creates up to the cap
     * of 4; 3 are left for the next call */
    strategy_cfg p = pure_cfg();
    p.order_levels = 3;
    p.max_actions = 4;
    strategy_market m = {.mid = 60000};
    strategy_inventory inv = {0};
    strategy_quotes q;
    assert_int_equal(strategy_quote_pure(&p, &BTC, &m, &inv, &q), 0);
    assert_int_equal(q.n, 6);
    strategy_live stray[] = {{.side = STRATEGY_BUY, .price_ticks = 599400, .created_ms = T0},
                             {.side = STRATEGY_BUY, .price_ticks = 500000, .created_ms = T0},
                             {.side = STRATEGY_BUY, .price_ticks = 400000, .created_ms = T0},
                             {.side = STRATEGY_BUY, .price_ticks = 300000, .created_ms = T0}};
    strategy_clock k2 = {.next_refresh_ms = T0 + 999999};
    assert_int_equal(strategy_requote(&p, &BTC, &k2, &q, stray, 4, 60000, T0, a, 16, &n, &deferred),
                     0);
    /* bids: the best three live pair with the three wanted (kept until the refresh), the
     * fourth (30000.0) is unwanted; asks: three to create */
    assert_int_equal(n, 4);
    assert_int_equal(a[0].kind, STRATEGY_CANCEL);
    assert_int_equal(a[0].live, 3);
    assert_int_equal(a[1].kind, STRATEGY_CREATE);
    assert_int_equal(a[1].quote.side, STRATEGY_SELL);
    assert_int_equal(deferred, 0);
    p.max_actions = 2;
    assert_int_equal(strategy_requote(&p, &BTC, &k2, &q, stray, 4, 60000, T0, a, 16, &n, &deferred),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(deferred, 2);
    assert_int_equal(a[0].kind, STRATEGY_CANCEL);
    /* the caller's array caps too */
    assert_int_equal(strategy_requote(&p, &BTC, &k2, &q, stray, 4, 60000, T0, a, 1, &n, &deferred),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(deferred, 3);
}

/* Random configurations, markets and inventories: whatever the numbers, every quote is on the
 * grid, above min qty and min notional, post-only quotes never cross, the fills of a side never
 * take the position past max_position, and the levels of a side come best first. */
static void test_random_quotes_hold_the_rules(void **state)
{
    (void)state;
    prng rg;
    prng_seed(&rg, 7);
    strategy_est e;
    fill_est(&e);
    for (int i = 0; i < 3000; i++) {
        strategy_cfg c;
        strategy_cfg_default(&c);
        c.kind = prng_unit(&rg) < 0.5 ? STRATEGY_PURE : STRATEGY_AVELLANEDA;
        c.order_levels = 1 + (unsigned)(prng_next(&rg) % STRATEGY_MAX_LEVELS);
        c.order_amount = 0.0005 + 0.05 * prng_unit(&rg);
        c.order_level_amount = 0.01 * prng_unit(&rg);
        c.order_level_spread = 20 * prng_unit(&rg);
        c.bid_spread = -5 + 50 * prng_unit(&rg);
        c.ask_spread = -5 + 50 * prng_unit(&rg);
        c.max_position = 0.001 + 0.2 * prng_unit(&rg);
        c.post_only = prng_unit(&rg) < 0.7;
        c.inventory_skew_enabled = prng_unit(&rg) < 0.5;
        c.add_transaction_costs = prng_unit(&rg) < 0.5;
        c.risk_factor = 0.01 + prng_unit(&rg);
        c.order_amount_shape_factor = prng_unit(&rg);
        c.min_spread = 30 * prng_unit(&rg);
        assert_int_equal(strategy_cfg_check(&c, NULL, 0), 0);
        double mid = 99 + 2 * prng_unit(&rg);
        strategy_market m = {.mid = mid,
                             .best_bid = mid - 0.05 * prng_unit(&rg),
                             .best_ask = mid + 0.05 * prng_unit(&rg)};
        strategy_inventory inv = {.position = -0.3 + 0.6 * prng_unit(&rg), .quote = 50};
        strategy_instrument in = {
            .tick = 0.01, .lot = 0.001, .min_qty = 0.002, .min_notional = 0.3};
        strategy_quotes q;
        int rc = strategy_compute(&c, &in, &m, &inv, &e, 1, T0, T0 + 5000, &q);
        assert_int_equal(rc, 0);
        double cum[2] = {0, 0};
        int64_t last[2] = {0, 0};
        for (size_t j = 0; j < q.n; j++) {
            const strategy_quote *x = &q.q[j];
            int sd = x->side == STRATEGY_SELL;
            assert_int_equal(sd, j >= q.nbids);
            assert_true(x->price_ticks > 0 && x->qty_lots > 0);
            near(x->price, (double)x->price_ticks * in.tick, 1e-9, "price on the grid");
            near(x->qty, (double)x->qty_lots * in.lot, 1e-12, "qty on the grid");
            assert_true(x->qty >= in.min_qty - 1e-12);
            assert_true(x->qty * x->price >= in.min_notional - 1e-9);
            if (c.post_only)
                assert_true(sd ? x->price > m.best_bid : x->price < m.best_ask);
            if (last[sd])
                assert_true(sd ? x->price_ticks >= last[sd] : x->price_ticks <= last[sd]);
            last[sd] = x->price_ticks;
            cum[sd] += x->qty;
        }
        assert_true(inv.position + cum[0] <= c.max_position * (1 + 1e-9) || cum[0] == 0);
        assert_true(inv.position - cum[1] >= -c.max_position * (1 + 1e-9) || cum[1] == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_levels),
        cmocka_unit_test(test_pure_rounding_and_source),
        cmocka_unit_test(test_skew_ratios),
        cmocka_unit_test(test_pure_skew_applied),
        cmocka_unit_test(test_pure_band_and_costs),
        cmocka_unit_test(test_lot_and_notional),
        cmocka_unit_test(test_max_position),
        cmocka_unit_test(test_post_only_never_crosses),
        cmocka_unit_test(test_as_formulas),
        cmocka_unit_test(test_estimators),
        cmocka_unit_test(test_estimator_rings_are_bounded),
        cmocka_unit_test(test_as_quotes),
        cmocka_unit_test(test_cfg_check),
        cmocka_unit_test(test_requote_creates_then_keeps),
        cmocka_unit_test(test_requote_tolerance),
        cmocka_unit_test(test_requote_age_and_min_spread),
        cmocka_unit_test(test_requote_no_cancel_storm),
        cmocka_unit_test(test_requote_fill_delay_and_cap),
        cmocka_unit_test(test_random_quotes_hold_the_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
