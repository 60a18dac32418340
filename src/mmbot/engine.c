/* engine: mmbot's decisions without sockets. See engine.h. */
#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "prefault.h"
#include "restc.h"

#define ENGINE_BREACH_FACTOR 1.5 /* |position| past max_position x this: the kill switch */

typedef struct esym {
    char name[ORDERS_SYMBOL_MAX + 1];
    book b;
    int have_instr;
    int64_t instr_ms;
    strategy_instrument in;
    int64_t tick_fx, lot_fx;
    strategy_clock clk;
    strategy_est est;
    double last_trade;
    strategy_quotes want;
    int pulled;    /* quotes are pulled: counted once per pull */
    int ever_live; /* the book has been live once (for the stale kill) */
    int64_t start_ms;
} esym;

struct engine {
    strategy_cfg sc;
    orders *ord;
    esym sym[ENGINE_MAX_SYMBOLS];
    size_t nsym;
    int dry_run, private_live, banned, stopping, reconciled, killed;
    int64_t paused_until_ms;
    char pause_reason[ENGINE_REASON_MAX], kill_reason[ENGINE_REASON_MAX];
    double equity0, equity;
    /* pacing of order requests: a token bucket of max_per_s */
    double tokens;
    int64_t tokens_ms;
    /* non-retryable errors per minute */
    int64_t err_window_ms;
    unsigned err_in_window;
    /* unknown orders: when each slot was last queried, and for which order */
    int64_t queried_ms[ORDERS_MAX_TRACKED];
    char queried_link[ORDERS_MAX_TRACKED][ORDERS_LINK_ID_MAX + 1];
    int64_t stale_timeout_ms, stale_kill_ms, instr_ttl_ms;
    unsigned max_open, max_per_s, max_errors_per_min;
    double kill_rate, max_position;
    engine_stats st;
};

static const char *const gate_names[] = {
    "ok",
    "killed",
    "stopping",
    "banned (HTTP 403)",
    "paused",
    "not reconciled",
    "no instrument",
    "private stream down",
    "no live book",
    "stale market data",
    "dry run",
};

const char *engine_gate_name(engine_gate g)
{
    return (unsigned)g < sizeof gate_names / sizeof gate_names[0] ? gate_names[g] : "?";
}

/* The strategy's settings, from mmopts: the one place they are converted. */
static void strategy_from_opts(strategy_cfg *c, const mmopts *o)
{
    strategy_cfg_default(c);
    c->kind = o->strategy.kind == MMOPTS_AVELLANEDA ? STRATEGY_AVELLANEDA : STRATEGY_PURE;
    c->price_source = o->strategy.price_source == MMOPTS_PRICE_MICROPRICE ? STRATEGY_SRC_MICROPRICE
                      : o->strategy.price_source == MMOPTS_PRICE_LAST_TRADE
                          ? STRATEGY_SRC_LAST_TRADE
                          : STRATEGY_SRC_MID;
    c->order_amount = o->strategy.order_amount;
    c->order_levels = o->strategy.order_levels;
    c->order_level_spread = o->strategy.order_level_spread_bps;
    c->order_level_amount = o->strategy.order_level_amount;
    c->order_refresh_time = (double)o->strategy.order_refresh_time_ms / 1000.0;
    c->order_refresh_tolerance_pct = o->strategy.order_refresh_tolerance_pct;
    c->max_order_age = (double)o->strategy.max_order_age_ms / 1000.0;
    c->filled_order_delay = (double)o->strategy.filled_order_delay_ms / 1000.0;
    c->max_position = o->risk.max_position;
    c->post_only = o->strategy.post_only;
    c->amend = o->strategy.amend_orders;
    c->minimum_spread =
        o->strategy.minimum_spread_bps > 0 ? o->strategy.minimum_spread_bps : -10000;
    c->bid_spread = o->strategy.bid_spread_bps;
    c->ask_spread = o->strategy.ask_spread_bps;
    c->inventory_skew_enabled = o->strategy.inventory_skew_enabled;
    c->inventory_target_base_pct = o->strategy.inventory_target_base_pct;
    c->inventory_range_multiplier = o->strategy.inventory_range_multiplier;
    c->price_ceiling = o->strategy.price_ceiling;
    c->price_floor = o->strategy.price_floor;
    c->add_transaction_costs = o->strategy.add_transaction_costs;
    c->risk_factor = o->strategy.risk_factor;
    c->order_amount_shape_factor = o->strategy.order_amount_shape_factor;
    c->min_spread = o->strategy.min_spread_bps;
}

engine *engine_new(const mmopts *o, uint64_t run_id, int dry_run, char *err, size_t errlen)
{
    engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    prefault(e, sizeof *e); /* fixed tables resident from the start (lib/prefault.h) */
    strategy_from_opts(&e->sc, o);
    if (strategy_cfg_check(&e->sc, err, errlen) != 0)
        goto fail;
    orders_cfg oc;
    orders_cfg_default(&oc);
    snprintf(oc.prefix, sizeof oc.prefix, "%s", o->order_link_prefix);
    snprintf(oc.run_id, sizeof oc.run_id, "%llu", (unsigned long long)run_id);
    oc.max_active = o->risk.max_open_orders < ORDERS_MAX_TRACKED - 1 ? o->risk.max_open_orders
                                                                     : ORDERS_MAX_TRACKED - 2;
    if (orders_new(&oc, &e->ord, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < o->nsymbols && i < ENGINE_MAX_SYMBOLS; i++) {
        esym *s = &e->sym[e->nsym++];
        snprintf(s->name, sizeof s->name, "%s", o->symbols[i]);
        if (book_init(&s->b, o->symbols[i], 50) != 0) {
            snprintf(err, errlen, "symbol '%s': cannot make a book", o->symbols[i]);
            goto fail;
        }
        strategy_clock_init(&s->clk);
        strategy_est_init(
            &s->est, 1000,
            o->strategy.volatility_buffer_size < 30 ? o->strategy.volatility_buffer_size : 30);
    }
    e->dry_run = dry_run;
    e->stale_timeout_ms = (int64_t)o->websocket.stale_timeout_ms;
    e->stale_kill_ms = (int64_t)o->risk.stale_kill_ms;
    e->instr_ttl_ms = (int64_t)o->instruments_ttl_ms;
    e->max_open = o->risk.max_open_orders;
    e->max_per_s = o->risk.max_orders_per_second;
    e->max_errors_per_min = o->risk.max_errors_per_min;
    e->kill_rate = o->risk.kill_switch_rate;
    e->max_position = o->risk.max_position;
    e->tokens = e->max_per_s;
    return e;
fail:
    orders_free(e->ord);
    free(e);
    return NULL;
}

void engine_free(engine *e)
{
    if (!e)
        return;
    orders_free(e->ord);
    free(e);
}

size_t engine_nsymbols(const engine *e)
{
    return e->nsym;
}

const char *engine_symbol(const engine *e, size_t i)
{
    return i < e->nsym ? e->sym[i].name : "";
}

int engine_symbol_index(const engine *e, const char *symbol)
{
    for (size_t i = 0; symbol && i < e->nsym; i++)
        if (!strcmp(e->sym[i].name, symbol))
            return (int)i;
    return -1;
}

static esym *sym_of(engine *e, const char *symbol)
{
    int i = engine_symbol_index(e, symbol);
    return i < 0 ? NULL : &e->sym[i];
}

/* ---- inputs ---- */

int engine_instrument(engine *e, const msg_instrument *in, int64_t now_ms)
{
    esym *s = sym_of(e, in->symbol);
    if (!s)
        return ERR_NOENT;
    if (in->tick <= 0 || in->qty_step <= 0)
        return ERR_INVAL;
    s->tick_fx = in->tick;
    s->lot_fx = in->qty_step;
    s->in.tick = book_fx_double(in->tick);
    s->in.lot = book_fx_double(in->qty_step);
    s->in.min_qty = book_fx_double(in->min_qty);
    s->in.min_notional = book_fx_double(in->min_notional);
    s->have_instr = in->trading;
    s->instr_ms = now_ms;
    return 0;
}

int engine_instrument_due(const engine *e, size_t i, int64_t now_ms)
{
    return i < e->nsym && (!e->sym[i].instr_ms || now_ms - e->sym[i].instr_ms >= e->instr_ttl_ms);
}

int engine_book(engine *e, const book_update *up, int64_t now_ms, int *resub)
{
    *resub = 0;
    esym *s = sym_of(e, up->symbol);
    if (!s)
        return ERR_NOENT;
    book_result r;
    int rc = book_apply(&s->b, up, now_ms, &r);
    if (rc)
        return rc;
    e->st.book_msgs++;
    if (r == BOOK_GAP || r == BOOK_NO_SNAPSHOT) {
        e->st.book_gaps++;
        *resub = 1;
    }
    int64_t mid;
    if (book_ready(&s->b) && book_mid(&s->b, &mid) == 0) {
        s->ever_live = 1;
        strategy_est_mid(&s->est, now_ms, book_fx_double(mid));
    }
    return 0;
}

void engine_trades(engine *e, const msg_trades *t, int64_t now_ms)
{
    esym *s = sym_of(e, t->symbol);
    if (!s)
        return;
    for (size_t i = 0; i < t->n; i++) {
        e->st.trades++;
        s->last_trade = book_fx_double(t->v[i].px);
        strategy_est_trade(&s->est, now_ms, s->last_trade);
    }
}

static int status_of(msg_status m, orders_status *out)
{
    switch (m) {
    case MSG_ST_NEW:
        *out = ORDERS_ST_NEW;
        return 0;
    case MSG_ST_PARTIALLY_FILLED:
        *out = ORDERS_ST_PARTIAL;
        return 0;
    case MSG_ST_FILLED:
        *out = ORDERS_ST_FILLED;
        return 0;
    case MSG_ST_CANCELLED:
    case MSG_ST_PARTIALLY_FILLED_CANCELED:
    case MSG_ST_DEACTIVATED:
        *out = ORDERS_ST_CANCELLED;
        return 0;
    case MSG_ST_REJECTED:
        *out = ORDERS_ST_REJECTED;
        return 0;
    default:
        return ERR_PARSE;
    }
}

static orders_side side_of(msg_side s)
{
    return s == MSG_SELL ? ORDERS_SELL : ORDERS_BUY;
}

void engine_order_item(engine *e, const msg_order *m, int64_t now_ms)
{
    e->st.order_items++;
    orders_status st;
    if (status_of(m->status, &st) != 0)
        return;
    orders_update u = {.order_id = m->order_id,
                       .price = book_fx_double(m->px),
                       .qty = book_fx_double(m->qty),
                       .cum_qty = book_fx_double(m->cum_exec_qty),
                       .status = st};
    if (orders_get(e->ord, m->link_id)) {
        orders_event_apply(e->ord, m->link_id, orders_status_event(st), &u, now_ms);
        return;
    }
    if (orders_is_this_run(e->ord, m->link_id) && sym_of(e, m->symbol))
        orders_adopt(e->ord, m->link_id, m->order_id, m->symbol, side_of(m->side), u.price, u.qty,
                     u.cum_qty, st, now_ms);
    else
        e->st.unknown_items++;
}

int engine_exec_item(engine *e, const msg_exec *x, int64_t now_ms)
{
    e->st.exec_items++;
    orders_fill f = {.exec_id = x->exec_id,
                     .link_id = x->link_id,
                     .symbol = x->symbol,
                     .side = side_of(x->side),
                     .price = book_fx_double(x->exec_px),
                     .qty = book_fx_double(x->exec_qty),
                     .fee = x->exec_fee};
    if (f.qty <= 0)
        return 0; /* funding and other executions without quantity change no position */
    int rc = orders_fill_apply(e->ord, &f, now_ms);
    if (rc == ERR_DUP) {
        e->st.fills_dup++;
        return 0;
    }
    if (rc)
        return rc;
    e->st.fills_new++;
    esym *s = sym_of(e, x->symbol);
    if (s)
        strategy_clock_fill(&e->sc, &s->clk, now_ms);
    return 1;
}

void engine_fill_seen(engine *e, const char *exec_id)
{
    orders_fill_seen_add(e->ord, exec_id);
}

void engine_position(engine *e, const msg_position *p)
{
    orders_position pos;
    memset(&pos, 0, sizeof pos);
    snprintf(pos.symbol, sizeof pos.symbol, "%s", p->symbol);
    double size = book_fx_double(p->size);
    pos.size = p->side == MSG_SELL ? -size : size;
    pos.avg_price = p->entry_px;
    pos.realised_pnl = 0; /* this run's PnL starts at 0 */
    orders_position_set(e->ord, &pos);
}

void engine_equity(engine *e, double equity, int64_t now_ms)
{
    (void)now_ms;
    if (e->equity0 <= 0 && equity > 0)
        e->equity0 = equity;
    e->equity = equity;
}

void engine_set_private_live(engine *e, int live)
{
    e->private_live = live;
}

void engine_set_banned(engine *e, int banned)
{
    e->banned = banned;
}

void engine_pause(engine *e, int64_t until_ms, const char *reason)
{
    e->paused_until_ms = until_ms;
    snprintf(e->pause_reason, sizeof e->pause_reason, "%s", reason ? reason : "");
}

void engine_set_stopping(engine *e)
{
    e->stopping = 1;
}

/* ---- the gates and the kill switch ---- */

engine_gate engine_can_quote(const engine *e, size_t i, int64_t now_ms)
{
    const esym *s = &e->sym[i];
    if (e->killed)
        return ENGINE_GATE_KILLED;
    if (e->stopping)
        return ENGINE_GATE_STOPPING;
    if (e->banned)
        return ENGINE_GATE_BANNED;
    if (e->paused_until_ms > now_ms)
        return ENGINE_GATE_PAUSED;
    if (!e->reconciled && !e->dry_run)
        return ENGINE_GATE_NO_RECON;
    if (!s->have_instr)
        return ENGINE_GATE_NO_INSTR;
    if (!e->private_live && !e->dry_run)
        return ENGINE_GATE_PRIVATE;
    if (!book_ready(&s->b))
        return ENGINE_GATE_NO_BOOK;
    if (book_age(&s->b, now_ms) > e->stale_timeout_ms)
        return ENGINE_GATE_STALE;
    return e->dry_run ? ENGINE_GATE_DRY_RUN : ENGINE_GATE_OK;
}

int engine_killed(const engine *e, char *reason, size_t n)
{
    if (e->killed && reason)
        snprintf(reason, n, "%s", e->kill_reason);
    return e->killed;
}

static void kill_switch(engine *e, const char *why)
{
    if (e->killed)
        return;
    e->killed = 1;
    snprintf(e->kill_reason, sizeof e->kill_reason, "%s", why);
}

static void count_error(engine *e, int64_t now_ms)
{
    e->st.errors_fatal++;
    if (now_ms - e->err_window_ms >= 60000) {
        e->err_window_ms = now_ms;
        e->err_in_window = 0;
    }
    if (++e->err_in_window > e->max_errors_per_min) {
        char why[ENGINE_REASON_MAX];
        snprintf(why, sizeof why, "kill switch: more than %u non-retryable errors in a minute",
                 e->max_errors_per_min);
        kill_switch(e, why);
    }
}

static void check_kill(engine *e, int64_t now_ms)
{
    char why[ENGINE_REASON_MAX];
    double pnl = 0;
    for (size_t i = 0; i < e->nsym; i++) {
        esym *s = &e->sym[i];
        const orders_position *p = orders_position_get(e->ord, s->name);
        int64_t mid = 0;
        int have_mid = book_mid(&s->b, &mid) == 0;
        if (p) {
            pnl += p->realised_pnl - p->fees;
            if (have_mid && p->size != 0)
                pnl += p->size * (book_fx_double(mid) - p->avg_price);
            if (e->max_position > 0 && fabs(p->size) > e->max_position * ENGINE_BREACH_FACTOR) {
                snprintf(why, sizeof why,
                         "kill switch: %s position %.8g is past max_position %.8g x %.1f", s->name,
                         p->size, e->max_position, ENGINE_BREACH_FACTOR);
                kill_switch(e, why);
            }
        }
        /* the time since the last applied update, live or not: a book waiting for a snapshot
         * after a gap is not stale data, and book_age() calls it infinitely old */
        if (e->stale_kill_ms > 0 && s->ever_live && s->b.updated_ms > 0 &&
            now_ms - s->b.updated_ms > e->stale_kill_ms && !e->stopping) {
            snprintf(why, sizeof why, "kill switch: %s market data stale for over %.0f s", s->name,
                     (double)e->stale_kill_ms / 1000.0);
            kill_switch(e, why);
        }
    }
    if (e->kill_rate > 0 && e->equity0 > 0 && pnl < -e->kill_rate / 100.0 * e->equity0) {
        snprintf(why, sizeof why, "kill switch: loss %.2f is over %.2f %% of the equity %.2f", -pnl,
                 e->kill_rate, e->equity0);
        kill_switch(e, why);
    }
}

/* ---- commands ---- */

typedef struct emit {
    engine_cmd *out;
    size_t cap, n;
} emit;

static engine_cmd *emit_cmd(emit *m, engine_cmd_kind k, const orders_order *r)
{
    if (m->n >= m->cap)
        return NULL;
    engine_cmd *c = &m->out[m->n++];
    memset(c, 0, sizeof *c);
    c->kind = k;
    c->tracked = 1;
    if (r) {
        snprintf(c->link_id, sizeof c->link_id, "%s", r->link_id);
        snprintf(c->symbol, sizeof c->symbol, "%s", r->symbol);
        c->side = r->side;
    }
    return c;
}

/* Refills the pacing bucket up to now. */
static void refill(engine *e, int64_t now_ms)
{
    if (now_ms > e->tokens_ms) {
        e->tokens += (double)(now_ms - e->tokens_ms) * e->max_per_s / 1000.0;
        if (e->tokens > e->max_per_s)
            e->tokens = e->max_per_s;
        e->tokens_ms = now_ms;
    }
}

static int take_token(engine *e, int64_t now_ms)
{
    refill(e, now_ms);
    if (e->tokens < 1) {
        e->st.paced++;
        return 0;
    }
    e->tokens -= 1;
    return 1;
}

static int cancellable(const orders_order *r)
{
    switch (r->state) {
    case ORDERS_NEW:
    case ORDERS_PARTIAL:
    case ORDERS_PENDING_AMEND:
        return 1;
    case ORDERS_PENDING_NEW:
        return (r->flags & ORDERS_F_SENT) != 0;
    default:
        return 0;
    }
}

static void cancel_order(engine *e, emit *m, const orders_order *r, int64_t now_ms)
{
    if (m->n >= m->cap || !take_token(e, now_ms))
        return;
    char link[ORDERS_LINK_ID_MAX + 1];
    snprintf(link, sizeof link, "%s", r->link_id);
    if (orders_event_apply(e->ord, link, ORDERS_EV_CANCEL_SENT, NULL, now_ms) != 0)
        return;
    emit_cmd(m, ENGINE_CANCEL, orders_get(e->ord, link));
    e->st.cancels++;
}

/* Cancels every cancellable order of symbol s (quotes pulled). */
static void pull_quotes(engine *e, esym *s, emit *m, int64_t now_ms)
{
    int any = 0;
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        const orders_order *r = orders_at(e->ord, i);
        if (!r || strcmp(r->symbol, s->name) || !cancellable(r))
            continue;
        cancel_order(e, m, r, now_ms);
        any = 1;
    }
    if (any && !s->pulled) {
        s->pulled = 1;
        e->st.pulls++;
    }
}

static void queries(engine *e, emit *m, int64_t now_ms)
{
    for (size_t i = 0; i < ORDERS_MAX_TRACKED && m->n < m->cap; i++) {
        const orders_order *r = orders_at(e->ord, i);
        if (!r || r->state != ORDERS_UNKNOWN)
            continue;
        if (!strcmp(e->queried_link[i], r->link_id) && now_ms - e->queried_ms[i] < ENGINE_QUERY_MS)
            continue;
        snprintf(e->queried_link[i], sizeof e->queried_link[i], "%s", r->link_id);
        e->queried_ms[i] = now_ms;
        emit_cmd(m, ENGINE_QUERY, r);
        e->st.queries++;
    }
}

static void market_of(const esym *s, strategy_market *mk)
{
    memset(mk, 0, sizeof *mk);
    int64_t v;
    book_level l;
    if (book_mid(&s->b, &v) == 0)
        mk->mid = book_fx_double(v);
    if (book_microprice(&s->b, &v) == 0)
        mk->microprice = book_fx_double(v);
    if (book_best(&s->b, BOOK_BID, &l) == 0)
        mk->best_bid = book_fx_double(l.px);
    if (book_best(&s->b, BOOK_ASK, &l) == 0)
        mk->best_ask = book_fx_double(l.px);
    mk->last_trade = s->last_trade;
}

/* Carries out one action of strategy_requote: a cancel, an amend or a create (capped by
 * max_open_orders, *active counting the orders not terminal, and paced). */
static void act(engine *e, esym *s, emit *m, const strategy_action *a,
                char (*links)[ORDERS_LINK_ID_MAX + 1], size_t *active, int64_t now_ms)
{
    if (a->kind == STRATEGY_CANCEL) {
        const orders_order *r = orders_get(e->ord, links[a->live]);
        if (r && cancellable(r))
            cancel_order(e, m, r, now_ms);
    } else if (a->kind == STRATEGY_AMEND) {
        const orders_order *r = orders_get(e->ord, links[a->live]);
        if (!r || !take_token(e, now_ms))
            return;
        orders_update u = {.price = a->quote.price, .qty = a->quote.qty, .cum_qty = -1};
        if (orders_event_apply(e->ord, links[a->live], ORDERS_EV_AMEND_SENT, &u, now_ms))
            return;
        engine_cmd *c = emit_cmd(m, ENGINE_AMEND, r);
        c->px = a->quote.price_ticks * s->tick_fx;
        c->qty = a->quote.qty_lots * s->lot_fx;
        e->st.amends++;
    } else {
        if (*active >= e->max_open || !take_token(e, now_ms))
            return;
        orders_side side = a->quote.side == STRATEGY_SELL ? ORDERS_SELL : ORDERS_BUY;
        char link[ORDERS_LINK_ID_MAX + 1];
        if (orders_add(e->ord, s->name, side, a->quote.price, a->quote.qty, now_ms, link,
                       sizeof link) != 0)
            return;
        engine_cmd *c = emit_cmd(m, ENGINE_CREATE, orders_get(e->ord, link));
        c->px = a->quote.price_ticks * s->tick_fx;
        c->qty = a->quote.qty_lots * s->lot_fx;
        c->post_only = e->sc.post_only;
        (*active)++;
        e->st.creates++;
    }
}

static void requote(engine *e, esym *s, emit *m, int64_t now_ms)
{
    strategy_market mk;
    market_of(s, &mk);
    const orders_position *p = orders_position_get(e->ord, s->name);
    double pos = p ? p->size : 0;
    /* on a perpetual the skew's portfolio is virtual: max_position of base plus its value in
     * quote, so inventory_target_base_pct 50 means a flat position */
    double base0 = e->max_position > 0 ? e->max_position : e->sc.order_amount;
    strategy_inventory inv = {.position = pos, .quote = base0 * mk.mid, .skew_base = base0};
    if (s->start_ms == 0)
        s->start_ms = now_ms;
    if (strategy_compute(&e->sc, &s->in, &mk, &inv, &s->est, 0, s->start_ms, now_ms, &s->want) != 0)
        s->want.n = 0;
    if (e->dry_run)
        return;

    strategy_live live[STRATEGY_MAX_LIVE];
    char links[STRATEGY_MAX_LIVE][ORDERS_LINK_ID_MAX + 1];
    size_t nlive = 0;
    size_t active = 0;
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        const orders_order *r = orders_at(e->ord, i);
        if (!r || orders_state_terminal(r->state))
            continue;
        active++;
        if (strcmp(r->symbol, s->name) || nlive == STRATEGY_MAX_LIVE)
            continue;
        strategy_live *l = &live[nlive];
        l->side = r->side == ORDERS_SELL ? STRATEGY_SELL : STRATEGY_BUY;
        l->price_ticks = (int64_t)llround(r->price / s->in.tick);
        l->qty = r->qty - r->cum_qty;
        l->created_ms = r->created_ms;
        l->amendable = (r->flags & ORDERS_F_LIVE) != 0;
        l->state = r->state == ORDERS_PENDING_CANCEL ? STRATEGY_LIVE_GONE
                   : r->state == ORDERS_PENDING_AMEND || r->state == ORDERS_UNKNOWN
                       ? STRATEGY_LIVE_BUSY
                       : STRATEGY_LIVE_OPEN;
        snprintf(links[nlive], sizeof links[nlive], "%s", r->link_id);
        nlive++;
    }
    strategy_action acts[STRATEGY_MAX_ACTIONS];
    size_t nacts = 0, deferred = 0;
    if (strategy_requote(&e->sc, &s->in, &s->clk, &s->want, live, nlive,
                         s->want.ref > 0 ? s->want.ref : mk.mid, now_ms, acts, STRATEGY_MAX_ACTIONS,
                         &nacts, &deferred) != 0)
        return;
    /* The creates go first when the open-order cap and the pacing bucket allow every action of
     * this call: a create then leaves without waiting behind the cancel it replaces (one
     * round trip less on the order's path; the old and the new order are both live for that
     * moment). Otherwise the cancels go first, as they free the room. */
    size_t ncreate = 0;
    for (size_t i = 0; i < nacts; i++)
        ncreate += acts[i].kind != STRATEGY_CANCEL && acts[i].kind != STRATEGY_AMEND;
    refill(e, now_ms);
    int creates_first = ncreate > 0 && ncreate < nacts && active + ncreate <= e->max_open &&
                        e->tokens >= (double)nacts;
    for (int pass = creates_first ? 0 : 1; pass < 2; pass++)
        for (size_t i = 0; i < nacts && m->n < m->cap; i++) {
            int is_create = acts[i].kind != STRATEGY_CANCEL && acts[i].kind != STRATEGY_AMEND;
            if (creates_first && is_create != (pass == 0))
                continue;
            act(e, s, m, &acts[i], links, &active, now_ms);
        }
}

void engine_tick(engine *e, int64_t now_ms, engine_cmd *out, size_t cap, size_t *n)
{
    emit m = {out, cap, 0};
    check_kill(e, now_ms);
    orders_expire(e->ord, now_ms);
    queries(e, &m, now_ms);
    for (size_t i = 0; i < e->nsym; i++) {
        esym *s = &e->sym[i];
        engine_gate g = engine_can_quote(e, i, now_ms);
        if (g == ENGINE_GATE_OK || g == ENGINE_GATE_DRY_RUN) {
            s->pulled = 0;
            requote(e, s, &m, now_ms);
        } else if (g != ENGINE_GATE_NO_RECON) {
            s->want.n = 0;
            pull_quotes(e, s, &m, now_ms);
        }
    }
    *n = m.n;
    orders_stats os;
    orders_stats_get(e->ord, &os);
    e->st.open_orders = os.active;
}

void engine_sent(engine *e, const engine_cmd *c, int64_t now_ms)
{
    orders_event_apply(e->ord, c->link_id, ORDERS_EV_SEND, NULL, now_ms);
}

void engine_send_failed(engine *e, const engine_cmd *c, int64_t now_ms)
{
    if (c->kind == ENGINE_CREATE)
        orders_event_apply(e->ord, c->link_id, ORDERS_EV_REJECTED, NULL, now_ms);
    else if (c->kind == ENGINE_CANCEL && c->tracked)
        orders_event_apply(e->ord, c->link_id, ORDERS_EV_CANCEL_REFUSED, NULL, now_ms);
    else if (c->kind == ENGINE_AMEND)
        orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMEND_REFUSED, NULL, now_ms);
}

/* retCodes that say an order is already gone (a cancel or amend of it cannot succeed). */
static int gone_code(long rc)
{
    return rc == 110001 || rc == 110008;
}

void engine_reply(engine *e, const engine_cmd *c, int cls, long ret_code, const char *order_id,
                  int64_t now_ms)
{
    orders_update u = {.order_id = order_id && *order_id ? order_id : NULL, .cum_qty = -1};
    if (cls == RESTC_FATAL || (cls == RESTC_REJECTED && !gone_code(ret_code)))
        count_error(e, now_ms);
    if (!c->tracked)
        return; /* an ended run's order: reconciliation looks again */
    switch (c->kind) {
    case ENGINE_CREATE:
        if (cls == RESTC_OK) {
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_ACK, &u, now_ms);
        } else if (cls == RESTC_AMBIGUOUS || ret_code == 110072) {
            e->st.ambiguous++;
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMBIGUOUS, NULL, now_ms);
        } else {
            e->st.rejects++;
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_REJECTED, &u, now_ms);
        }
        break;
    case ENGINE_CANCEL:
        if (cls == RESTC_OK)
            break; /* the stream tells when it is cancelled */
        if (gone_code(ret_code))
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_CANCEL_GONE, NULL, now_ms);
        else if (cls == RESTC_AMBIGUOUS) {
            e->st.ambiguous++;
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMBIGUOUS, NULL, now_ms);
        } else
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_CANCEL_REFUSED, NULL, now_ms);
        break;
    case ENGINE_AMEND:
        if (cls == RESTC_OK)
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMEND_OK, &u, now_ms);
        else if (cls == RESTC_AMBIGUOUS) {
            e->st.ambiguous++;
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMBIGUOUS, NULL, now_ms);
        } else
            orders_event_apply(e->ord, c->link_id, ORDERS_EV_AMEND_REFUSED, NULL, now_ms);
        break;
    case ENGINE_QUERY:
        break; /* engine_query_result */
    }
}

void engine_query_result(engine *e, const char *link_id, const msg_order *found, int64_t now_ms)
{
    if (!found) {
        orders_event_apply(e->ord, link_id, ORDERS_EV_QUERY_NOTFOUND, NULL, now_ms);
        return;
    }
    orders_status st;
    if (status_of(found->status, &st) != 0)
        return;
    orders_update u = {.order_id = found->order_id,
                       .price = book_fx_double(found->px),
                       .qty = book_fx_double(found->qty),
                       .cum_qty = book_fx_double(found->cum_exec_qty),
                       .status = st};
    orders_event_apply(e->ord, link_id, ORDERS_EV_QUERY_FOUND, &u, now_ms);
}

/* ---- reconciliation ---- */

int engine_reconcile(engine *e, const msg_order_list *open, const char *symbol, int startup,
                     int64_t now_ms, engine_cmd *out, size_t cap, size_t *n)
{
    return engine_reconcile_orders(e, open->v, open->n, symbol, startup, now_ms, out, cap, n);
}

int engine_reconcile_orders(engine *e, const msg_order *open, size_t nopen, const char *symbol,
                            int startup, int64_t now_ms, engine_cmd *out, size_t cap, size_t *n)
{
    *n = 0;
    if (nopen > ENGINE_RECON_MAX)
        return ERR_FULL;
    orders_open ol[ENGINE_RECON_MAX];
    size_t no = 0;
    for (size_t i = 0; i < nopen; i++) {
        orders_status st;
        if (status_of(open[i].status, &st) != 0 || (st != ORDERS_ST_NEW && st != ORDERS_ST_PARTIAL))
            continue;
        ol[no].link_id = open[i].link_id;
        ol[no].order_id = open[i].order_id;
        ol[no].symbol = open[i].symbol;
        ol[no].status = st;
        no++;
    }
    orders_recon rc[ENGINE_RECON_MAX + ORDERS_MAX_TRACKED];
    size_t nrc = 0;
    int code = orders_reconcile(e->ord, ol, no, symbol, startup, 5000, now_ms, rc,
                                sizeof rc / sizeof rc[0], &nrc);
    emit m = {out, cap, 0};
    for (size_t i = 0; i < nrc; i++) {
        const orders_recon *r = &rc[i];
        const msg_order *mo = NULL;
        for (size_t j = 0; j < nopen && !mo; j++)
            if (!strcmp(open[j].link_id, r->link_id))
                mo = &open[j];
        switch (r->kind) {
        case ORDERS_RC_CANCEL_ENDED:
        case ORDERS_RC_CANCEL_UNWANTED: {
            engine_cmd *c = emit_cmd(&m, ENGINE_CANCEL, NULL);
            if (!c)
                break;
            c->tracked = 0;
            snprintf(c->link_id, sizeof c->link_id, "%s", r->link_id);
            snprintf(c->symbol, sizeof c->symbol, "%s", r->symbol);
            e->st.cancels++;
            break;
        }
        case ORDERS_RC_ADOPT:
            if (mo)
                orders_adopt(e->ord, r->link_id, r->order_id, r->symbol, side_of(mo->side),
                             book_fx_double(mo->px), book_fx_double(mo->qty),
                             book_fx_double(mo->cum_exec_qty), r->status, now_ms);
            break;
        case ORDERS_RC_UPDATE: {
            orders_update u = {.order_id = r->order_id,
                               .price = mo ? book_fx_double(mo->px) : 0,
                               .qty = mo ? book_fx_double(mo->qty) : 0,
                               .cum_qty = mo ? book_fx_double(mo->cum_exec_qty) : -1,
                               .status = r->status};
            orders_event_apply(e->ord, r->link_id, ORDERS_EV_QUERY_FOUND, &u, now_ms);
            break;
        }
        case ORDERS_RC_MISSING:
            orders_event_apply(e->ord, r->link_id, ORDERS_EV_MISSING, NULL, now_ms);
            break;
        }
    }
    *n = m.n;
    return code;
}

void engine_reconciled(engine *e)
{
    e->reconciled = 1;
}

/* ---- reading ---- */

const strategy_quotes *engine_quotes(const engine *e, size_t i)
{
    return i < e->nsym ? &e->sym[i].want : NULL;
}

const book *engine_book_of(const engine *e, size_t i)
{
    return i < e->nsym ? &e->sym[i].b : NULL;
}

const orders *engine_orders(const engine *e)
{
    return e->ord;
}

void engine_stats_get(const engine *e, engine_stats *st)
{
    *st = e->st;
}

const char *engine_order_status(const engine *e, const char *link_id, int *terminal)
{
    const orders_order *r = orders_get(e->ord, link_id);
    if (!r) {
        *terminal = 0;
        return "untracked";
    }
    *terminal = orders_state_terminal(r->state);
    return orders_state_name(r->state);
}
