/*
 * strategy: quote math of the pure and avellaneda kinds, the bounded estimator, and the requote
 * decision. See strategy.h for the contract and docs/mmbot-internals.md for the formulas.
 */
#include "strategy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"

#define BPS 1e-4

void strategy_cfg_default(strategy_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->kind = STRATEGY_PURE;
    c->price_source = STRATEGY_SRC_MID;
    c->order_amount = 0.001;
    c->order_levels = 1;
    c->order_level_spread = 10;
    c->order_level_amount = 0;
    c->order_refresh_time = 30;
    c->order_refresh_tolerance_pct = 0;
    c->max_order_age = 1800;
    c->filled_order_delay = 60;
    c->max_position = 0.01;
    c->post_only = 1;
    c->minimum_spread = -10000;
    c->max_actions = 10;
    c->bid_spread = c->ask_spread = 10;
    c->inventory_target_base_pct = 50;
    c->inventory_range_multiplier = 1;
    c->maker_fee = 0.0002;
    c->risk_factor = 1;
}

int strategy_cfg_check(const strategy_cfg *c, char *msg, size_t msg_cap)
{
    const char *key = NULL, *why = NULL;
#define BAD(k, w)                                                                                  \
    do {                                                                                           \
        if (!key) {                                                                                \
            key = k;                                                                               \
            why = w;                                                                               \
        }                                                                                          \
    } while (0)
    if (!(c->order_amount > 0))
        BAD("order_amount", "must be > 0");
    if (c->order_levels < 1 || c->order_levels > STRATEGY_MAX_LEVELS)
        BAD("order_levels", "must be 1..10");
    if (!(c->order_level_spread >= 0))
        BAD("order_level_spread", "must be >= 0");
    if (!(c->order_level_amount >= 0))
        BAD("order_level_amount", "must be >= 0");
    if (!(c->order_refresh_time >= 0))
        BAD("order_refresh_time", "must be >= 0");
    if (!(c->order_refresh_tolerance_pct >= 0))
        BAD("order_refresh_tolerance_pct", "must be >= 0");
    if (!(c->max_order_age >= 0))
        BAD("max_order_age", "must be >= 0");
    if (!(c->filled_order_delay >= 0))
        BAD("filled_order_delay", "must be >= 0");
    if (!(c->max_position > 0))
        BAD("max_position", "must be > 0");
    if (c->max_actions < 1 || c->max_actions > STRATEGY_MAX_ACTIONS)
        BAD("max_actions", "must be 1..64");
    if (c->kind == STRATEGY_PURE) {
        if (!(c->bid_spread > -10000 && c->bid_spread < 10000))
            BAD("bid_spread", "must be within (-10000, 10000) bps");
        if (!(c->ask_spread > -10000 && c->ask_spread < 10000))
            BAD("ask_spread", "must be within (-10000, 10000) bps");
        if (!(c->inventory_target_base_pct >= 0 && c->inventory_target_base_pct <= 100))
            BAD("inventory_target_base_pct", "must be 0..100");
        if (!(c->inventory_range_multiplier > 0))
            BAD("inventory_range_multiplier", "must be > 0");
        if (!(c->maker_fee > -1 && c->maker_fee < 1))
            BAD("maker_fee", "must be a fraction within (-1, 1)");
        if (c->price_ceiling > 0 && c->price_floor > 0 && c->price_floor >= c->price_ceiling)
            BAD("price_floor", "must be below price_ceiling");
    } else if (c->kind == STRATEGY_AVELLANEDA) {
        if (!(c->risk_factor > 0))
            BAD("risk_factor", "must be > 0");
        if (!(c->order_amount_shape_factor >= 0))
            BAD("order_amount_shape_factor", "must be >= 0");
        if (!(c->min_spread >= 0))
            BAD("min_spread", "must be >= 0");
        if (!(c->horizon >= 0))
            BAD("horizon", "must be >= 0");
    } else {
        BAD("kind", "must be pure or avellaneda");
    }
#undef BAD
    if (!key)
        return 0;
    if (msg_cap)
        snprintf(msg, msg_cap, "strategy.%s: %s", key, why);
    return ERR_CONFIG;
}

int strategy_ref_price(const strategy_cfg *c, const strategy_market *m, double *out)
{
    double p = c->price_source == STRATEGY_SRC_MICROPRICE   ? m->microprice
               : c->price_source == STRATEGY_SRC_LAST_TRADE ? m->last_trade
                                                            : m->mid;
    *out = 0;
    if (!(p > 0) || !isfinite(p))
        return ERR_NODATA;
    *out = p;
    return 0;
}

/* np.interp(x, [x0, x1], [y0, y1]) with clamping at both ends. */
static double interp(double x, double x0, double x1, double y0, double y1)
{
    if (x <= x0)
        return y0;
    if (x >= x1)
        return y1;
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

void strategy_skew_ratios(double base, double quote, double price, double target_base_pct,
                          double range_base, double *bid, double *ask)
{
    double total = base * price + quote;
    if (!(total > 0)) {
        *bid = *ask = 0;
        return;
    }
    double value = base * price;
    double range = fmin(range_base * price, total * 0.5);
    double target = total * target_base_pct / 100.0;
    double left = fmax(target - range, 0.0);
    double right = target + range;
    double b;
    if (value < target)
        b = interp(interp(value, left, target, 0.0, 0.5), 0.0, 0.5, 2.0, 1.0);
    else
        b = interp(interp(value, target, right, 0.5, 1.0), 0.5, 1.0, 1.0, 0.0);
    *bid = b;
    *ask = 2.0 - b;
}

static int instrument_ok(const strategy_instrument *in)
{
    return in->tick > 0 && in->lot > 0 && in->min_qty >= 0 && in->min_notional >= 0 &&
           isfinite(in->tick) && isfinite(in->lot);
}

static void quotes_reset(strategy_quotes *out)
{
    memset(out, 0, sizeof *out);
    out->bid_ratio = out->ask_ratio = 1;
}

/* Puts one side's levels on the grid and appends the ones that survive the checks. prices and
 * amounts are raw (before rounding), best first. */
static void put_side(const strategy_cfg *c, const strategy_instrument *in, const strategy_market *m,
                     double position, strategy_side side, const double *prices,
                     const double *amounts, unsigned n, strategy_quotes *out)
{
    int64_t opp = 0; /* best opposite price in ticks, 0: unknown */
    if (side == STRATEGY_BUY && m->best_ask > 0)
        opp = llround(m->best_ask / in->tick);
    if (side == STRATEGY_SELL && m->best_bid > 0)
        opp = llround(m->best_bid / in->tick);
    double cum = 0;
    for (unsigned i = 0; i < n; i++) {
        double pt = prices[i] / in->tick;
        /* a hair of slack so that a price already on the grid stays there */
        int64_t ticks = side == STRATEGY_BUY ? (int64_t)floor(pt + 1e-6) : (int64_t)ceil(pt - 1e-6);
        int64_t lots = amounts[i] > 0 ? (int64_t)floor(amounts[i] / in->lot + 1e-6) : 0;
        double price = (double)ticks * in->tick, qty = (double)lots * in->lot;
        int drop = ticks <= 0 || lots <= 0 || qty < in->min_qty - 1e-12 ||
                   qty * price < in->min_notional - 1e-9;
        if (!drop && c->post_only && opp > 0)
            drop = side == STRATEGY_BUY ? ticks >= opp : ticks <= opp;
        if (!drop) {
            /* buys may only take the position up to +max_position, sells down to -max */
            int breach = side == STRATEGY_BUY
                             ? position + cum + qty > c->max_position * (1 + 1e-9)
                             : position - cum - qty < -c->max_position * (1 + 1e-9);
            if (breach) {
                out->dropped += n - i; /* this side would breach max_position: stop here */
                return;
            }
        }
        if (drop) {
            out->dropped++;
            continue;
        }
        cum += qty;
        strategy_quote *q = &out->q[out->n++];
        q->side = side;
        q->level = i;
        q->price_ticks = ticks;
        q->qty_lots = lots;
        q->price = price;
        q->qty = qty;
        if (side == STRATEGY_BUY)
            out->nbids++;
    }
}

static double level_amount(const strategy_cfg *c, unsigned i)
{
    return c->order_amount + c->order_level_amount * i;
}

int strategy_quote_pure(const strategy_cfg *c, const strategy_instrument *in,
                        const strategy_market *m, const strategy_inventory *inv,
                        strategy_quotes *out)
{
    quotes_reset(out);
    if (!instrument_ok(in) || c->order_levels > STRATEGY_MAX_LEVELS)
        return ERR_INVAL;
    double ref;
    int rc = strategy_ref_price(c, m, &ref);
    if (rc)
        return rc;
    out->ref = out->reservation = ref;
    unsigned n = c->order_levels;
    double bp[STRATEGY_MAX_LEVELS], ap[STRATEGY_MAX_LEVELS];
    double ba[STRATEGY_MAX_LEVELS], aa[STRATEGY_MAX_LEVELS];
    double total = 0;
    for (unsigned i = 0; i < n; i++)
        total += level_amount(c, i);
    if (c->inventory_skew_enabled)
        strategy_skew_ratios(inv->position + inv->skew_base, inv->quote, ref,
                             c->inventory_target_base_pct, total * c->inventory_range_multiplier,
                             &out->bid_ratio, &out->ask_ratio);
    for (unsigned i = 0; i < n; i++) {
        bp[i] = ref * (1 - c->bid_spread * BPS - i * c->order_level_spread * BPS);
        ap[i] = ref * (1 + c->ask_spread * BPS + i * c->order_level_spread * BPS);
        if (c->add_transaction_costs) {
            bp[i] *= 1 - c->maker_fee;
            ap[i] *= 1 + c->maker_fee;
        }
        ba[i] = level_amount(c, i) * out->bid_ratio;
        aa[i] = level_amount(c, i) * out->ask_ratio;
    }
    /* the price band: at or above the ceiling no bids, at or below the floor no asks */
    unsigned nb = c->price_ceiling > 0 && ref >= c->price_ceiling ? 0 : n;
    unsigned na = c->price_floor > 0 && ref <= c->price_floor ? 0 : n;
    out->dropped += (n - nb) + (n - na);
    put_side(c, in, m, inv->position, STRATEGY_BUY, bp, ba, nb, out);
    put_side(c, in, m, inv->position, STRATEGY_SELL, ap, aa, na, out);
    return 0;
}

/* ---- the estimator ---- */

void strategy_est_init(strategy_est *e, int64_t interval_ms, size_t min_samples)
{
    memset(e, 0, sizeof *e);
    e->interval_ms = interval_ms > 0 ? interval_ms : 0;
    e->min_samples = min_samples < 2 ? 2 : min_samples;
}

void strategy_est_mid(strategy_est *e, int64_t now_ms, double mid)
{
    if (!(mid > 0) || !isfinite(mid))
        return;
    e->last_mid = mid;
    if (e->mid_n > 0) {
        size_t last = (e->mid_head + STRATEGY_EST_MIDS - 1) % STRATEGY_EST_MIDS;
        if (now_ms - e->mid_t[last] < e->interval_ms || now_ms <= e->mid_t[last])
            return;
    }
    e->mid_t[e->mid_head] = now_ms;
    e->mid_p[e->mid_head] = mid;
    e->mid_head = (e->mid_head + 1) % STRATEGY_EST_MIDS;
    if (e->mid_n < STRATEGY_EST_MIDS)
        e->mid_n++;
}

void strategy_est_trade(strategy_est *e, int64_t now_ms, double price)
{
    if (!(price > 0) || !isfinite(price) || !(e->last_mid > 0))
        return;
    e->tr_t[e->tr_head] = now_ms;
    e->tr_dist[e->tr_head] = fabs(price - e->last_mid);
    e->tr_head = (e->tr_head + 1) % STRATEGY_EST_TRADES;
    if (e->tr_n < STRATEGY_EST_TRADES)
        e->tr_n++;
}

int strategy_est_sigma2(const strategy_est *e, double *sigma2)
{
    *sigma2 = 0;
    if (e->mid_n < e->min_samples)
        return ERR_NODATA;
    size_t first = (e->mid_head + STRATEGY_EST_MIDS - e->mid_n) % STRATEGY_EST_MIDS;
    double sq = 0, span = 0;
    for (size_t k = 1; k < e->mid_n; k++) {
        size_t a = (first + k - 1) % STRATEGY_EST_MIDS, b = (first + k) % STRATEGY_EST_MIDS;
        double d = e->mid_p[b] - e->mid_p[a];
        sq += d * d;
        span += (double)(e->mid_t[b] - e->mid_t[a]) / 1000.0;
    }
    if (!(span > 0))
        return ERR_NODATA;
    *sigma2 = sq / span;
    return 0;
}

int strategy_est_kappa(const strategy_est *e, int64_t now_ms, double bin, double *A, double *kappa)
{
    *A = *kappa = 0;
    if (e->tr_n < e->min_samples)
        return ERR_NODATA;
    size_t first = (e->tr_head + STRATEGY_EST_TRADES - e->tr_n) % STRATEGY_EST_TRADES;
    double maxd = 0;
    for (size_t k = 0; k < e->tr_n; k++)
        maxd = fmax(maxd, e->tr_dist[(first + k) % STRATEGY_EST_TRADES]);
    if (!(bin > 0))
        bin = maxd / (STRATEGY_EST_BINS - 1);
    if (!(bin > 0))
        return ERR_NODATA;
    double hist[STRATEGY_EST_BINS] = {0};
    for (size_t k = 0; k < e->tr_n; k++) {
        double b = floor(e->tr_dist[(first + k) % STRATEGY_EST_TRADES] / bin + 1e-9);
        hist[b >= STRATEGY_EST_BINS - 1 ? STRATEGY_EST_BINS - 1 : (size_t)b] += 1;
    }
    double window = (double)(now_ms - e->tr_t[first]) / 1000.0;
    if (window < 1)
        window = 1;
    /* lambda_k: rate of trades at distance >= k * bin (a suffix sum of the histogram) */
    double xs[STRATEGY_EST_BINS], ys[STRATEGY_EST_BINS], tail = 0;
    size_t np = 0;
    for (int k = STRATEGY_EST_BINS - 1; k >= 0; k--) {
        tail += hist[k];
        if (tail > 0) {
            xs[np] = k * bin;
            ys[np] = log(tail / window);
            np++;
        }
    }
    if (np < 2)
        return ERR_NODATA;
    double mx = 0, my = 0;
    for (size_t i = 0; i < np; i++) {
        mx += xs[i];
        my += ys[i];
    }
    mx /= (double)np;
    my /= (double)np;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < np; i++) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) * (xs[i] - mx);
    }
    if (!(sxx > 0))
        return ERR_NODATA;
    double k = -sxy / sxx;
    if (!(k > 0) || !isfinite(k))
        return ERR_NODATA;
    *kappa = k;
    *A = exp(my + k * mx);
    return 0;
}

double strategy_as_tau(const strategy_cfg *c, int64_t start_ms, int64_t now_ms)
{
    if (!(c->horizon > 0))
        return 1.0;
    int64_t h = (int64_t)llround(c->horizon * 1000.0);
    if (h <= 0)
        return 1.0;
    int64_t into = now_ms - start_ms;
    if (into < 0)
        into = 0;
    return (double)(h - into % h) / 1000.0;
}

int strategy_as_prices(const strategy_cfg *c, double s, double position, double sigma2,
                       double kappa, double tau, double *r, double *delta)
{
    double g = c->risk_factor;
    if (!(g > 0) || !(kappa > 0) || !(c->order_amount > 0) || !(sigma2 >= 0) || !(s > 0) ||
        !(tau >= 0))
        return ERR_INVAL;
    double q = (position - c->inventory_target) / c->order_amount;
    *r = s - q * g * sigma2 * tau;
    *delta = g * sigma2 * tau + (2.0 / g) * log(1.0 + g / kappa);
    double floor_ = c->min_spread * BPS * s;
    if (*delta < floor_)
        *delta = floor_;
    return 0;
}

int strategy_quote_avellaneda(const strategy_cfg *c, const strategy_instrument *in,
                              const strategy_market *m, const strategy_inventory *inv,
                              const strategy_est *e, double kappa_bin, int64_t start_ms,
                              int64_t now_ms, strategy_quotes *out)
{
    quotes_reset(out);
    if (!instrument_ok(in) || c->order_levels > STRATEGY_MAX_LEVELS || !e)
        return ERR_INVAL;
    double s, sigma2, A, kappa, r, delta;
    int rc = strategy_ref_price(c, m, &s);
    if (!rc)
        rc = strategy_est_sigma2(e, &sigma2);
    if (!rc)
        rc = strategy_est_kappa(e, now_ms, kappa_bin, &A, &kappa);
    if (rc)
        return rc;
    rc = strategy_as_prices(c, s, inv->position, sigma2, kappa,
                            strategy_as_tau(c, start_ms, now_ms), &r, &delta);
    if (rc)
        return rc;
    out->ref = s;
    out->reservation = r;
    out->spread = delta;
    double q = (inv->position - c->inventory_target) / c->order_amount;
    double eta = c->order_amount_shape_factor;
    if (q > 0)
        out->bid_ratio = exp(-eta * q); /* long: buy less */
    if (q < 0)
        out->ask_ratio = exp(eta * q); /* short: sell less */
    unsigned n = c->order_levels;
    double bp[STRATEGY_MAX_LEVELS], ap[STRATEGY_MAX_LEVELS];
    double ba[STRATEGY_MAX_LEVELS], aa[STRATEGY_MAX_LEVELS];
    for (unsigned i = 0; i < n; i++) {
        double step = i * c->order_level_spread * BPS * s;
        bp[i] = r - delta / 2 - step;
        ap[i] = r + delta / 2 + step;
        ba[i] = level_amount(c, i) * out->bid_ratio;
        aa[i] = level_amount(c, i) * out->ask_ratio;
    }
    put_side(c, in, m, inv->position, STRATEGY_BUY, bp, ba, n, out);
    put_side(c, in, m, inv->position, STRATEGY_SELL, ap, aa, n, out);
    return 0;
}

int strategy_compute(const strategy_cfg *c, const strategy_instrument *in, const strategy_market *m,
                     const strategy_inventory *inv, const strategy_est *e, double kappa_bin,
                     int64_t start_ms, int64_t now_ms, strategy_quotes *out)
{
    if (c->kind == STRATEGY_AVELLANEDA)
        return strategy_quote_avellaneda(c, in, m, inv, e, kappa_bin, start_ms, now_ms, out);
    return strategy_quote_pure(c, in, m, inv, out);
}

/* ---- the requote decision ---- */

void strategy_clock_init(strategy_clock *k)
{
    k->next_refresh_ms = 0;
    k->create_after_ms = 0;
}

static int64_t s_to_ms(double s)
{
    return (int64_t)llround(s * 1000.0);
}

void strategy_clock_fill(const strategy_cfg *c, strategy_clock *k, int64_t now_ms)
{
    int64_t t = now_ms + s_to_ms(c->filled_order_delay);
    if (t > k->create_after_ms)
        k->create_after_ms = t;
    if (k->next_refresh_ms > k->create_after_ms)
        k->next_refresh_ms = k->create_after_ms;
}

/* Indices of the live orders of one side that hold a level, best first. */
static size_t side_live(const strategy_live *live, size_t n, strategy_side side, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (live[i].side != side || live[i].state == STRATEGY_LIVE_GONE)
            continue;
        size_t j = m++;
        /* insertion sort: bids by price down, asks up; ties keep their order */
        while (j > 0) {
            int64_t a = live[idx[j - 1]].price_ticks, b = live[i].price_ticks;
            if (side == STRATEGY_BUY ? a >= b : a <= b)
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return m;
}

typedef struct plan {
    strategy_action cancel[STRATEGY_MAX_LIVE], amend[STRATEGY_MAX_LIVE];
    strategy_action create[STRATEGY_MAX_QUOTES];
    size_t nc, na, nn;
} plan;

int strategy_requote(const strategy_cfg *c, const strategy_instrument *in, strategy_clock *k,
                     const strategy_quotes *want, const strategy_live *live, size_t n_live,
                     double ref, int64_t now_ms, strategy_action *out, size_t cap, size_t *n_out,
                     size_t *n_deferred)
{
    *n_out = 0;
    if (n_deferred)
        *n_deferred = 0;
    if (n_live > STRATEGY_MAX_LIVE)
        return ERR_RANGE;
    if (!instrument_ok(in) || want->n > STRATEGY_MAX_QUOTES || (n_live && !live))
        return ERR_INVAL;
    int refresh = now_ms >= k->next_refresh_ms;
    int can_create = now_ms >= k->create_after_ms;
    int64_t max_age = s_to_ms(c->max_order_age);
    plan p;
    p.nc = p.na = p.nn = 0;
    for (int sd = 0; sd < 2; sd++) {
        strategy_side side = sd ? STRATEGY_SELL : STRATEGY_BUY;
        size_t idx[STRATEGY_MAX_LIVE];
        size_t nl = side_live(live, n_live, side, idx);
        const strategy_quote *wq = want->q + (sd ? want->nbids : 0);
        size_t nw = sd ? want->n - want->nbids : want->nbids;
        size_t pairs = nl < nw ? nl : nw;
        for (size_t j = 0; j < pairs; j++) {
            const strategy_live *l = &live[idx[j]];
            if (l->state != STRATEGY_LIVE_OPEN)
                continue; /* busy: it holds the level, nothing can be done with it now */
            double lp = (double)l->price_ticks * in->tick;
            int aged = max_age > 0 && now_ms - l->created_ms >= max_age;
            double dist = side == STRATEGY_BUY ? (ref - lp) / ref : (lp - ref) / ref;
            int too_near = ref > 0 && dist < c->minimum_spread * BPS;
            int off =
                refresh && fabs(wq[j].price - lp) > lp * c->order_refresh_tolerance_pct / 100.0;
            if (!aged && !too_near && !off)
                continue;
            strategy_reason why = aged       ? STRATEGY_R_AGE
                                  : too_near ? STRATEGY_R_MIN_SPREAD
                                             : STRATEGY_R_PRICE;
            if (c->amend && l->amendable && !aged && wq[j].price_ticks != l->price_ticks) {
                p.amend[p.na++] = (strategy_action){
                    .kind = STRATEGY_AMEND, .reason = why, .live = idx[j], .quote = wq[j]};
                continue;
            }
            p.cancel[p.nc++] =
                (strategy_action){.kind = STRATEGY_CANCEL, .reason = why, .live = idx[j]};
            if (can_create)
                p.create[p.nn++] =
                    (strategy_action){.kind = STRATEGY_CREATE, .reason = why, .quote = wq[j]};
        }
        for (size_t j = pairs; j < nl; j++) /* more orders than wanted levels */
            if (live[idx[j]].state == STRATEGY_LIVE_OPEN)
                p.cancel[p.nc++] = (strategy_action){
                    .kind = STRATEGY_CANCEL, .reason = STRATEGY_R_UNWANTED, .live = idx[j]};
        for (size_t j = pairs; j < nw && can_create; j++)
            p.create[p.nn++] = (strategy_action){
                .kind = STRATEGY_CREATE, .reason = STRATEGY_R_MISSING, .quote = wq[j]};
    }
    if (refresh)
        k->next_refresh_ms = now_ms + s_to_ms(c->order_refresh_time);
    size_t lim = cap < c->max_actions ? cap : c->max_actions;
    size_t n = 0, total = p.nc + p.na + p.nn;
    for (size_t i = 0; i < p.nc && n < lim; i++)
        out[n++] = p.cancel[i];
    for (size_t i = 0; i < p.na && n < lim; i++)
        out[n++] = p.amend[i];
    for (size_t i = 0; i < p.nn && n < lim; i++)
        out[n++] = p.create[i];
    *n_out = n;
    if (n_deferred)
        *n_deferred = total - n;
    return 0;
}
