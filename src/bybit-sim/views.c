/*
 * views: Bybit v5 JSON of bybit-sim's orders, executions, positions, wallets, instruments and
 * books (see views.h). Field order and spelling follow Bybit's answers.
 */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

static const char *const tif_names[] = {"GTC", "IOC", "FOK", "PostOnly"};

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

static void add_fixed(cJSON *o, const char *k, int64_t v, int dec)
{
    char b[48];
    market_fmt_fixed(b, sizeof b, v, dec);
    cJSON_AddStringToObject(o, k, b);
}

static void add_num(cJSON *o, const char *k, double v, int dec)
{
    char b[64];
    market_fmt_num(b, sizeof b, v, dec);
    cJSON_AddStringToObject(o, k, b);
}

static void add_px(cJSON *o, const market *m, const char *k, double px)
{
    char b[48];
    market_fmt_px(m, b, sizeof b, px);
    cJSON_AddStringToObject(o, k, b);
}

static void add_ms(cJSON *o, const char *k, int64_t ms)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)ms);
    cJSON_AddStringToObject(o, k, b);
}

static int64_t leaves(const exch_order *o)
{
    return o->qty - o->cum;
}

static const char *side_name(exch_side s)
{
    return s == EXCH_BUY ? "Buy" : "Sell";
}

cJSON *views_order(const market *m, const exch_order *o, int category)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    int open = exch_status_open(o->st);
    if (category)
        add_str(j, "category", "linear");
    add_str(j, "orderId", o->id);
    add_str(j, "orderLinkId", o->link);
    add_str(j, "blockTradeId", "");
    add_str(j, "symbol", m->in.sym);
    if (o->type == EXCH_MARKET)
        add_str(j, "price", "0");
    else
        add_fixed(j, "price", o->px, m->in.pdec);
    add_fixed(j, "qty", o->qty, m->in.qdec);
    add_str(j, "side", side_name(o->side));
    add_str(j, "isLeverage", "");
    cJSON_AddNumberToObject(j, "positionIdx", 0);
    add_str(j, "orderStatus", exch_status_name(o->st));
    add_str(j, "cancelType", exch_cancel_type_name(o->cancel_type));
    add_str(j, "rejectReason", exch_reject_name(o->reject));
    if (o->cum > 0)
        add_px(j, m, "avgPrice", o->value / ((double)o->cum * m->step));
    else
        add_str(j, "avgPrice", "0");
    add_fixed(j, "leavesQty", open ? leaves(o) : 0, m->in.qdec);
    add_num(j, "leavesValue",
            open && o->type == EXCH_LIMIT ? (double)leaves(o) * m->step * (double)o->px * m->tick
                                          : 0,
            8);
    add_fixed(j, "cumExecQty", o->cum, m->in.qdec);
    add_num(j, "cumExecValue", o->value, 8);
    add_num(j, "cumExecFee", o->fee, 8);
    add_str(j, "timeInForce", o->type == EXCH_MARKET ? "IOC" : tif_names[o->tif]);
    add_str(j, "orderType", o->type == EXCH_MARKET ? "Market" : "Limit");
    add_str(j, "stopOrderType", "");
    add_str(j, "triggerPrice", "0");
    add_str(j, "takeProfit", "0");
    add_str(j, "stopLoss", "0");
    cJSON_AddBoolToObject(j, "reduceOnly", o->reduce_only);
    cJSON_AddBoolToObject(j, "closeOnTrigger", 0);
    add_str(j, "smpType", "None");
    add_ms(j, "createdTime", o->created);
    add_ms(j, "updatedTime", o->updated);
    return j;
}

cJSON *views_order_ids(const exch_order *o)
{
    cJSON *it = cJSON_CreateObject();
    if (it) {
        add_str(it, "orderId", o->id);
        add_str(it, "orderLinkId", o->link);
    }
    return it;
}

cJSON *views_execution(const market *m, const exch_order *o, const views_fill *f)
{
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return NULL;
    add_str(e, "category", "linear");
    add_str(e, "symbol", m->in.sym);
    add_str(e, "orderId", o->id);
    add_str(e, "orderLinkId", o->link);
    add_str(e, "side", side_name(o->side));
    if (o->type == EXCH_MARKET)
        add_str(e, "orderPrice", "0");
    else
        add_fixed(e, "orderPrice", o->px, m->in.pdec);
    add_fixed(e, "orderQty", o->qty, m->in.qdec);
    add_fixed(e, "leavesQty", leaves(o), m->in.qdec);
    add_str(e, "orderType", o->type == EXCH_MARKET ? "Market" : "Limit");
    add_str(e, "stopOrderType", "");
    add_num(e, "execFee", f->fee, 8);
    add_str(e, "execId", f->exec_id);
    add_fixed(e, "execPrice", f->px, m->in.pdec);
    add_fixed(e, "execQty", f->qty, m->in.qdec);
    add_str(e, "execType", "Trade");
    add_num(e, "execValue", f->value, 8);
    add_ms(e, "execTime", f->time_ms);
    cJSON_AddBoolToObject(e, "isMaker", f->maker);
    add_num(e, "feeRate", f->rate, 8);
    add_px(e, m, "markPrice", m->mid);
    add_fixed(e, "closedSize", f->closed, m->in.qdec);
    return e;
}

cJSON *views_position(const market *m, const exch_position *p, double leverage, int category)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    int64_t asz = p->size < 0 ? -p->size : p->size;
    if (category)
        add_str(j, "category", "linear");
    add_str(j, "symbol", m->in.sym);
    add_str(j, "side", p->size > 0 ? "Buy" : p->size < 0 ? "Sell" : "");
    add_fixed(j, "size", asz, m->in.qdec);
    cJSON_AddNumberToObject(j, "positionIdx", 0);
    cJSON_AddNumberToObject(j, "tradeMode", 0);
    add_px(j, m, "avgPrice", p->entry);
    add_px(j, m, "entryPrice", p->entry);
    add_num(j, "positionValue", (double)asz * m->step * p->entry, 8);
    add_px(j, m, "markPrice", m->mid);
    add_num(j, "leverage", leverage, 2);
    add_num(j, "positionIM", (double)asz * m->step * p->entry / leverage, 8);
    add_num(j, "unrealisedPnl", market_upnl(m, p->size, p->entry), 8);
    add_num(j, "cumRealisedPnl", p->realised, 8);
    add_str(j, "liqPrice", "");
    add_str(j, "positionStatus", "Normal");
    add_ms(j, "updatedTime", p->updated);
    return j;
}

cJSON *views_wallet(const views_totals *t)
{
    double eq = t->equity, im = t->im;
    double avail = eq - im > 0 ? eq - im : 0, up = eq - t->wallet;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    add_str(j, "accountType", "UNIFIED");
    add_num(j, "totalEquity", eq, 8);
    add_num(j, "totalWalletBalance", t->wallet, 8);
    add_num(j, "totalMarginBalance", eq, 8);
    add_num(j, "totalAvailableBalance", avail, 8);
    add_num(j, "totalPerpUPL", up, 8);
    add_num(j, "totalInitialMargin", im, 8);
    add_num(j, "totalMaintenanceMargin", im / 2, 8);
    add_str(j, "accountIMRate", "0");
    add_str(j, "accountMMRate", "0");
    cJSON *coins = cJSON_AddArrayToObject(j, "coin");
    cJSON *c = cJSON_CreateObject();
    if (coins && c) {
        add_str(c, "coin", "USDT");
        add_num(c, "equity", eq, 8);
        add_num(c, "usdValue", eq, 8);
        add_num(c, "walletBalance", t->wallet, 8);
        add_str(c, "availableToWithdraw", "");
        add_num(c, "unrealisedPnl", up, 8);
        add_num(c, "cumRealisedPnl", t->realised, 8);
        add_num(c, "totalPositionIM", im, 8);
        add_str(c, "borrowAmount", "0");
        add_str(c, "locked", "0");
        cJSON_AddBoolToObject(c, "marginCollateral", 1);
        cJSON_AddItemToArray(coins, c);
    } else {
        cJSON_Delete(c);
    }
    return j;
}

cJSON *views_instrument(const market *m)
{
    const market_instr *in = &m->in;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    char b[16];
    add_str(j, "symbol", in->sym);
    add_str(j, "contractType", "LinearPerpetual");
    add_str(j, "status", "Trading");
    add_str(j, "baseCoin", in->base);
    add_str(j, "quoteCoin", "USDT");
    add_str(j, "launchTime", "1584230400000");
    add_str(j, "deliveryTime", "0");
    add_str(j, "deliveryFeeRate", "");
    snprintf(b, sizeof b, "%d", in->pdec);
    add_str(j, "priceScale", b);
    cJSON *lf = cJSON_AddObjectToObject(j, "leverageFilter");
    if (lf) {
        add_str(lf, "minLeverage", "1");
        add_str(lf, "maxLeverage", "100.00");
        add_str(lf, "leverageStep", "0.01");
    }
    cJSON *pf = cJSON_AddObjectToObject(j, "priceFilter");
    if (pf) {
        add_fixed(pf, "minPrice", in->min_px, in->pdec);
        add_fixed(pf, "maxPrice", in->max_px, in->pdec);
        add_fixed(pf, "tickSize", 1, in->pdec);
    }
    cJSON *ls = cJSON_AddObjectToObject(j, "lotSizeFilter");
    if (ls) {
        add_fixed(ls, "maxOrderQty", in->max_qty, in->qdec);
        add_fixed(ls, "minOrderQty", in->min_qty, in->qdec);
        add_fixed(ls, "qtyStep", 1, in->qdec);
        add_fixed(ls, "postOnlyMaxOrderQty", in->max_qty, in->qdec);
        add_fixed(ls, "maxMktOrderQty", in->max_qty, in->qdec);
        add_num(ls, "minNotionalValue", in->min_notional, 8);
    }
    cJSON_AddBoolToObject(j, "unifiedMarginTrade", 1);
    /* a number in Bybit's answers, unlike the other fields */
    cJSON_AddNumberToObject(j, "fundingInterval", 480);
    add_str(j, "settleCoin", "USDT");
    add_str(j, "copyTrading", "both");
    add_str(j, "upperFundingRate", "0.00375");
    add_str(j, "lowerFundingRate", "-0.00375");
    cJSON_AddBoolToObject(j, "isPreListing", 0);
    cJSON_AddNullToObject(j, "preListingInfo");
    return j;
}

static cJSON *levels_json(const market *m, const market_level *l, unsigned n)
{
    cJSON *arr = cJSON_CreateArray();
    char px[32], sz[32];
    for (unsigned i = 0; arr && i < n; i++) {
        market_fmt_fixed(px, sizeof px, l[i].px, m->in.pdec);
        market_fmt_fixed(sz, sizeof sz, l[i].sz, m->in.qdec);
        const char *pair[2] = {px, sz};
        cJSON_AddItemToArray(arr, cJSON_CreateStringArray(pair, 2));
    }
    return arr;
}

cJSON *views_orderbook(const market *m, const market_level *b, unsigned nb, const market_level *a,
                       unsigned na, int64_t ts)
{
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return NULL;
    add_str(r, "s", m->in.sym);
    cJSON_AddItemToObject(r, "b", levels_json(m, b, nb));
    cJSON_AddItemToObject(r, "a", levels_json(m, a, na));
    cJSON_AddNumberToObject(r, "ts", (double)ts);
    cJSON_AddNumberToObject(r, "u", (double)m->seq);
    cJSON_AddNumberToObject(r, "seq", (double)m->seq);
    cJSON_AddNumberToObject(r, "cts", (double)m->book_ms);
    return r;
}

int views_trades_msg(sbuf *s, const market *m, const char *topic, const views_trade *t, unsigned n,
                     int64_t now_ms)
{
    sbuf_reset(s);
    int rc = sbuf_printf(s, "{\"topic\":\"%s\",\"type\":\"snapshot\",\"ts\":%lld,\"data\":[", topic,
                         (long long)now_ms);
    for (unsigned i = 0; i < n && !rc; i++) {
        char px[32], q[32];
        market_fmt_fixed(px, sizeof px, t[i].px, m->in.pdec);
        market_fmt_fixed(q, sizeof q, t[i].qty, m->in.qdec);
        rc = sbuf_printf(s,
                         "%s{\"T\":%lld,\"s\":\"%s\",\"S\":\"%s\",\"v\":\"%s\",\"p\":\"%s\","
                         "\"L\":\"%s\",\"i\":\"%s\",\"BT\":false}",
                         i ? "," : "", (long long)now_ms, m->in.sym,
                         t[i].taker_buy ? "Buy" : "Sell", q, px, t[i].dir, t[i].id);
    }
    if (!rc)
        rc = sbuf_adds(s, "]}");
    return rc;
}

/* ---- the book feed ---- */

int views_stream_init(views_stream *st, int depth, const char *sym)
{
    memset(st, 0, sizeof *st);
    st->depth = depth;
    snprintf(st->topic, sizeof st->topic, "orderbook.%d.%s", depth, sym);
    st->b = malloc((size_t)depth * sizeof *st->b);
    st->a = malloc((size_t)depth * sizeof *st->a);
    return st->b && st->a ? 0 : ERR_NOMEM;
}

void views_stream_free(views_stream *st)
{
    free(st->b);
    free(st->a);
    st->b = st->a = NULL;
}

void views_stream_reset(views_stream *st, int keep_seq)
{
    st->published = 0;
    st->u = 0;
    if (!keep_seq) {
        st->seq = 0;
        st->nb = st->na = 0;
    }
}

static int add_levels(sbuf *s, const market *m, const market_level *l, unsigned n)
{
    char buf[96];
    int rc = 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        size_t k = 0;
        if (i)
            buf[k++] = ',';
        buf[k++] = '[';
        buf[k++] = '"';
        k += (size_t)market_fmt_fixed(buf + k, sizeof buf - k, l[i].px, m->in.pdec);
        memcpy(buf + k, "\",\"", 3);
        k += 3;
        if (l[i].sz == 0)
            buf[k++] = '0';
        else
            k += (size_t)market_fmt_fixed(buf + k, sizeof buf - k, l[i].sz, m->in.qdec);
        buf[k++] = '"';
        buf[k++] = ']';
        rc = sbuf_add(s, buf, k);
    }
    return rc;
}

static int book_msg(sbuf *s, const market *m, const views_stream *st, const char *type,
                    const market_level *b, unsigned nb, const market_level *a, unsigned na,
                    int64_t now_ms)
{
    sbuf_reset(s);
    int rc = sbuf_printf(s,
                         "{\"topic\":\"%s\",\"type\":\"%s\",\"ts\":%lld,\"data\":{\"s\":\"%s\","
                         "\"b\":[",
                         st->topic, type, (long long)now_ms, m->in.sym);
    if (!rc && nb)
        rc = add_levels(s, m, b, nb);
    if (!rc)
        rc = sbuf_adds(s, "],\"a\":[");
    if (!rc && na)
        rc = add_levels(s, m, a, na);
    if (!rc)
        rc = sbuf_printf(s, "],\"u\":%llu,\"seq\":%llu},\"cts\":%lld}", (unsigned long long)st->u,
                         (unsigned long long)st->seq, (long long)now_ms);
    return rc;
}

/* Changes from old to new (both best first) into d: new or changed levels, and removed ones
 * with size 0. */
static unsigned diff_side(int ask, const market_level *old, unsigned no, const market_level *nw,
                          unsigned nn, market_level *d)
{
    unsigned i = 0, j = 0, k = 0;
    while (i < no || j < nn) {
        int cmp; /* <0: old level comes first */
        if (i == no)
            cmp = 1;
        else if (j == nn)
            cmp = -1;
        else if (old[i].px == nw[j].px)
            cmp = 0;
        else
            cmp = (!ask ? old[i].px > nw[j].px : old[i].px < nw[j].px) ? -1 : 1;
        if (cmp < 0) {
            d[k++] = (market_level){old[i++].px, 0};
        } else if (cmp > 0) {
            d[k++] = nw[j++];
        } else {
            if (old[i].sz != nw[j].sz)
                d[k++] = nw[j];
            i++;
            j++;
        }
    }
    return k;
}

int views_stream_publish(views_stream *st, const market *m, const market_level *b, unsigned nb,
                         const market_level *a, unsigned na, market_level *d_b, market_level *d_a,
                         int64_t now_ms, sbuf *s)
{
    unsigned db = nb < (unsigned)st->depth ? nb : (unsigned)st->depth;
    unsigned da = na < (unsigned)st->depth ? na : (unsigned)st->depth;
    const char *type = "snapshot";
    unsigned ncb = 0, nca = 0;
    if (st->published) {
        ncb = diff_side(0, st->b, st->nb, b, db, d_b);
        nca = diff_side(1, st->a, st->na, a, da, d_a);
        if (!ncb && !nca)
            return 0;
        type = "delta";
    }
    memcpy(st->b, b, db * sizeof *b);
    memcpy(st->a, a, da * sizeof *a);
    st->nb = db;
    st->na = da;
    st->u++;
    st->seq = m->seq;
    int rc;
    if (!st->published) {
        st->published = 1;
        rc = book_msg(s, m, st, type, st->b, st->nb, st->a, st->na, now_ms);
    } else {
        rc = book_msg(s, m, st, type, d_b, ncb, d_a, nca, now_ms);
    }
    return rc ? rc : 1;
}

int views_stream_snapshot(const views_stream *st, const market *m, int64_t now_ms, sbuf *s)
{
    return book_msg(s, m, st, "snapshot", st->b, st->nb, st->a, st->na, now_ms);
}
