/*
 * exchange: the order engine of bybit-sim. See exchange.h for the contract.
 *
 * What lives where:
 *   - market.c: per symbol, the random walk, the synthetic book and the taker flow;
 *   - views.c: the JSON of orders, executions, positions, wallets and books;
 *   - simerr.h: every retCode and retMsg;
 *   - here: accounts, orders and their lifecycle (one function, order_to, changes an order's
 *     status, through the table of exch_status_next), matching, fills, fees and positions,
 *     DCP, and the batching of public trades and book messages.
 *
 * Model, in short:
 *   - Account orders rest in per-symbol arrays (all accounts) and per-account arrays; both are
 *     unordered (swap removal), time priority comes from a per-order sequence number. Scans over
 *     them are O(open orders of the symbol) per matching step: fine for the few hundred orders a
 *     bot keeps; a price-indexed structure would be needed for tens of thousands.
 *   - Every fill emits, for the account, execution → order → position → wallet (one message
 *     each, as the private streams do). Public trades of one call are sent as one publicTrade
 *     message per symbol at the end of it.
 *   - The feed keeps, per (symbol, depth), the levels it last published; a tick builds the book
 *     once per symbol (merging the synthetic levels and the aggregated account orders, O(levels +
 *     orders log orders)) and diffs each wanted stream's prefix against its last state (O(depth)).
 */
#include "exchange.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "market.h"
#include "prng.h"
#include "sbuf.h"
#include "views.h"

#define MAX_TRADES   64        /* public trades batched per symbol before a message goes out */
#define MSG_MAX      (1 << 20) /* a public message never exceeds this */
#define NDEPTHS      4
#define KEY_MAX      64
#define LINK_MAX     36
#define DEFAULT_LIM  20 /* GET /v5/order/realtime without a limit */
#define DEFAULT_BOOK 25 /* GET /v5/market/orderbook without a limit */

static const int depths[NDEPTHS] = {1, 50, 200, 500};

typedef exch_order order;
typedef exch_position position;

typedef struct account {
    char key[KEY_MAX + 1], secret[KEY_MAX + 1];
    double initial, wallet;
    position pos[EXCH_MAX_SYMBOLS];
    unsigned nactive[EXCH_MAX_SYMBOLS];
    order **open;
    size_t nopen, capopen;
    order *closed; /* ring of EXCH_MAX_CLOSED, allocated at the first close */
    size_t chead, cn;
    uint64_t *links; /* hashes of the orderLinkIds in use (open and kept closed orders) */
    size_t nlinks, ndead;
    int dcp_armed, conns;
    int64_t dcp_window_ms, zero_since; /* zero_since < 0: not counting */
} account;

typedef struct trade {
    int64_t px, qty;
    exch_side side; /* of the taker */
} trade;

/* One symbol: its market, the account orders resting in it, its feeds. */
typedef struct venue {
    market mk;
    order **ords;
    size_t nords, capords;
    views_stream st[NDEPTHS];
    trade trades[MAX_TRADES];
    unsigned ntrades;
    char trade_topic[48];
} venue;

struct exch {
    exch_opts o;
    venue m[EXCH_MAX_SYMBOLS];
    unsigned nsym;
    account *acct[EXCH_MAX_ACCOUNTS];
    unsigned nacct;
    prng rng;
    uint64_t idctr, prioctr;
    int64_t now;
    unsigned npending, nopen;
    exch_stats st;
    /* scratch for the book and the feed */
    market_level *bk_b, *bk_a, *d_b, *d_a;
    market_level *ag_b, *ag_a;
    size_t capag;
    sbuf msg;
};

/* ---------------------------------------------------------------- the order lifecycle */

#define NO (-1)
static const signed char next_status[EXCH_ST__COUNT][EXCH_EV__COUNT] = {
    /*                    LIVE         FILL             FILL_ALL        CANCEL             REJECT */
    [EXCH_ST_PENDING] = {EXCH_ST_NEW, NO, NO, EXCH_ST_CANCELLED, EXCH_ST_REJECTED},
    [EXCH_ST_NEW] = {NO, EXCH_ST_PFILLED, EXCH_ST_FILLED, EXCH_ST_CANCELLED, EXCH_ST_REJECTED},
    [EXCH_ST_PFILLED] = {NO, EXCH_ST_PFILLED, EXCH_ST_FILLED, EXCH_ST_CANCELLED, NO},
    [EXCH_ST_FILLED] = {NO, NO, NO, NO, NO},
    [EXCH_ST_CANCELLED] = {NO, NO, NO, NO, NO},
    [EXCH_ST_REJECTED] = {NO, NO, NO, NO, NO},
};
#undef NO

static const struct {
    const char *wire;
    int open;
} statuses[EXCH_ST__COUNT] = {
#define EXCH_STATUS_ROW(name, wire, open) {wire, open},
    EXCH_STATUS_LIST(EXCH_STATUS_ROW)
#undef EXCH_STATUS_ROW
};

static const char *const cancel_types[EXCH_CT__COUNT] = {
#define EXCH_CT_ROW(name, wire) wire,
    EXCH_CANCEL_LIST(EXCH_CT_ROW)
#undef EXCH_CT_ROW
};

static const char *const rejects[EXCH_REJ__COUNT] = {
#define EXCH_REJ_ROW(name, wire) wire,
    EXCH_REJECT_LIST(EXCH_REJ_ROW)
#undef EXCH_REJ_ROW
};

int exch_status_next(exch_status from, exch_event ev)
{
    if ((unsigned)from >= EXCH_ST__COUNT || (unsigned)ev >= EXCH_EV__COUNT)
        return -1;
    return next_status[from][ev];
}

const char *exch_status_name(exch_status st)
{
    return (unsigned)st < EXCH_ST__COUNT ? statuses[st].wire : "";
}

int exch_status_open(exch_status st)
{
    return (unsigned)st < EXCH_ST__COUNT && statuses[st].open;
}

const char *exch_cancel_type_name(exch_cancel_type ct)
{
    return (unsigned)ct < EXCH_CT__COUNT ? cancel_types[ct] : "";
}

const char *exch_reject_name(exch_reject r)
{
    return (unsigned)r < EXCH_REJ__COUNT ? rejects[r] : "";
}

/* The one place where an order's status changes: the event through the table, the update
 * time, and the counters that follow a status (pending orders, filled, cancelled, rejected).
 * A refused event changes nothing, is counted, and returns ERR_BADSTATE. */
static int order_to(exch *x, order *o, exch_event ev)
{
    int to = exch_status_next(o->st, ev);
    if (to < 0) {
        x->st.refused_transitions++;
        return ERR_BADSTATE;
    }
    if (o->st == EXCH_ST_PENDING)
        x->npending--;
    o->st = (exch_status)to;
    o->updated = x->now;
    if (to == EXCH_ST_FILLED)
        x->st.orders_filled++;
    else if (to == EXCH_ST_REJECTED || (to == EXCH_ST_CANCELLED && o->reject != EXCH_REJ_NONE))
        x->st.orders_rejected++;
    else if (to == EXCH_ST_CANCELLED)
        x->st.orders_cancelled++;
    return 0;
}

static int pending(const order *o)
{
    return o->st == EXCH_ST_PENDING;
}

static int64_t leaves(const order *o)
{
    return o->qty - o->cum;
}

/* ---------------------------------------------------------------- small helpers */

/* Ids do not draw from the PRNG: a counter through a hash keeps the market's random sequence
 * independent of how many ids were made, and ids unique across exch_reset. */
static void make_uuid(exch *x, char *out)
{
    uint64_t n = ++x->idctr;
    uint64_t a = market_mix64(x->o.seed ^ (n * 2)), b = market_mix64(~x->o.seed ^ (n * 2 + 1));
    snprintf(out, 40, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffffu, ((unsigned)a & 0x0fffu) | 0x4000u,
             ((unsigned)(b >> 48) & 0x3fffu) | 0x8000u,
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* Time only moves forward: a call with an older now_ms keeps the exchange's clock. */
static void advance(exch *x, int64_t now_ms)
{
    if (now_ms > x->now)
        x->now = now_ms;
}

/* The answer of a REST-level operation: e's text in msg, e's retCode returned. */
static int fail(char *msg, size_t msglen, simerr e)
{
    return simerr_set(msg, msglen, e);
}

/* What every REST-level operation does first: "OK" in msg, the clock advanced. */
static void begin(exch *x, int64_t now_ms, char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    advance(x, now_ms);
}

static account *find_acct(const exch *x, const char *key)
{
    if (!key)
        return NULL;
    for (unsigned i = 0; i < x->nacct; i++)
        if (strcmp(x->acct[i]->key, key) == 0)
            return x->acct[i];
    return NULL;
}

static int acct_index(const exch *x, const account *a)
{
    for (unsigned i = 0; i < x->nacct; i++)
        if (x->acct[i] == a)
            return (int)i;
    return -1;
}

static int find_sym(const exch *x, const char *sym)
{
    if (!sym)
        return -1;
    for (unsigned i = 0; i < x->nsym; i++)
        if (strcmp(x->m[i].mk.in.sym, sym) == 0)
            return (int)i;
    return -1;
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* ---------------------------------------------------------------- the book with the accounts */

/* Best live account price on one side (book_side: the resting orders' side). */
static int acct_best(const venue *m, exch_side book_side, int64_t *px)
{
    int have = 0;
    for (size_t i = 0; i < m->nords; i++) {
        const order *o = m->ords[i];
        if (pending(o) || o->side != book_side)
            continue;
        if (!have || (book_side == EXCH_SELL ? o->px < *px : o->px > *px))
            *px = o->px;
        have = 1;
    }
    return have;
}

static order *acct_first_at(const venue *m, exch_side book_side, int64_t px)
{
    order *best = NULL;
    for (size_t i = 0; i < m->nords; i++) {
        order *o = m->ords[i];
        if (!pending(o) && o->side == book_side && o->px == px && (!best || o->prio < best->prio))
            best = o;
    }
    return best;
}

static int cmp_lvl_desc(const void *a, const void *b)
{
    int64_t x = ((const market_level *)a)->px, y = ((const market_level *)b)->px;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_lvl_asc(const void *a, const void *b)
{
    return -cmp_lvl_desc(a, b);
}

/* Aggregates the live account orders of one side into ag (sorted best first); count. */
static size_t agg_orders(const venue *m, exch_side side, market_level *ag)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nords; i++) {
        const order *o = m->ords[i];
        if (!pending(o) && o->side == side)
            ag[n++] = (market_level){o->px, leaves(o)};
    }
    qsort(ag, n, sizeof *ag, side == EXCH_BUY ? cmp_lvl_desc : cmp_lvl_asc);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (j && ag[j - 1].px == ag[i].px)
            ag[j - 1].sz += ag[i].sz;
        else
            ag[j++] = ag[i];
    }
    return j;
}

static int ensure_ag(exch *x, size_t n)
{
    if (n <= x->capag)
        return 0;
    size_t c = x->capag ? x->capag : 64;
    while (c < n)
        c *= 2;
    market_level *b = realloc(x->ag_b, c * sizeof *b);
    if (!b)
        return ERR_NOMEM;
    x->ag_b = b;
    market_level *a = realloc(x->ag_a, c * sizeof *a);
    if (!a)
        return ERR_NOMEM;
    x->ag_a = a;
    x->capag = c;
    return 0;
}

/* The current book of m, depth levels per side, into x->bk_b / x->bk_a. */
static int build_book(exch *x, venue *m, unsigned depth, unsigned *nb, unsigned *na)
{
    if (ensure_ag(x, m->nords + 1))
        return ERR_NOMEM;
    size_t nab = agg_orders(m, EXCH_BUY, x->ag_b), naa = agg_orders(m, EXCH_SELL, x->ag_a);
    *nb = market_merge(&m->mk, 0, x->ag_b, nab, depth, x->bk_b);
    *na = market_merge(&m->mk, 1, x->ag_a, naa, depth, x->bk_a);
    return 0;
}

/* ---------------------------------------------------------------- events */

/* Equity, initial margin of positions and of open (non reduce-only) orders. */
static views_totals acct_totals(const exch *x, const account *a)
{
    double eq = a->wallet, im = 0, realised = 0;
    for (unsigned s = 0; s < x->nsym; s++) {
        const position *p = &a->pos[s];
        const market *m = &x->m[s].mk;
        eq += market_upnl(m, p->size, p->entry);
        im += (double)(p->size < 0 ? -p->size : p->size) * m->step * p->entry / x->o.leverage;
        realised += p->realised;
    }
    for (size_t i = 0; i < a->nopen; i++) {
        const order *o = a->open[i];
        const market *m = &x->m[o->sym].mk;
        if (!o->reduce_only)
            im += (double)leaves(o) * m->step * (double)o->px * m->tick / x->o.leverage;
    }
    return (views_totals){eq, a->wallet, im, realised};
}

static cJSON *wallet_json(const exch *x, const account *a)
{
    views_totals t = acct_totals(x, a);
    return views_wallet(&t);
}

/* Whether anyone listens to a private topic of the account: the item is only built then
 * (ids and random draws are taken all the same, so a run does not depend on who listens). */
static int pwanted(exch *x, const account *a, const char *topic)
{
    return x->o.on_private && (!x->o.private_wanted || x->o.private_wanted(x->o.ud, a->key, topic));
}

static void emit(exch *x, const account *a, const char *topic, cJSON *item)
{
    if (!item)
        return;
    cJSON *arr = x->o.on_private ? cJSON_CreateArray() : NULL;
    if (!arr) {
        cJSON_Delete(item);
        return;
    }
    cJSON_AddItemToArray(arr, item);
    x->o.on_private(x->o.ud, a->key, topic, arr, x->now);
}

static void emit_order(exch *x, const order *o)
{
    if (x->o.on_private)
        if (pwanted(x, x->acct[o->acct], "order"))
            emit(x, x->acct[o->acct], "order", views_order(&x->m[o->sym].mk, o, 1));
}

static int wanted(exch *x, const char *topic)
{
    return x->o.on_public && (!x->o.wanted || x->o.wanted(x->o.ud, topic));
}

static void flush_trades(exch *x, venue *m)
{
    if (!m->ntrades)
        return;
    if (!wanted(x, m->trade_topic)) {
        m->ntrades = 0;
        return;
    }
    views_trade vt[MAX_TRADES];
    for (unsigned i = 0; i < m->ntrades; i++) {
        const trade *t = &m->trades[i];
        vt[i].px = t->px;
        vt[i].qty = t->qty;
        vt[i].taker_buy = t->side == EXCH_BUY;
        vt[i].dir = market_tick_dir(&m->mk, t->px);
        make_uuid(x, vt[i].id);
    }
    int rc = views_trades_msg(&x->msg, &m->mk, m->trade_topic, vt, m->ntrades, x->now);
    m->ntrades = 0;
    if (!rc)
        x->o.on_public(x->o.ud, m->trade_topic, x->msg.data, x->msg.len);
}

static void flush_all_trades(exch *x)
{
    for (unsigned i = 0; i < x->nsym; i++)
        flush_trades(x, &x->m[i]);
}

static void add_trade(exch *x, venue *m, exch_side taker_side, int64_t px, int64_t qty)
{
    x->st.public_trades++;
    if (m->ntrades == MAX_TRADES)
        flush_trades(x, m);
    m->trades[m->ntrades++] = (trade){px, qty, taker_side};
}

/* ---------------------------------------------------------------- order bookkeeping */

static int push_ptr(order ***arr, size_t *n, size_t *cap, order *o, size_t *idx)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        order **p = realloc(*arr, c * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        *arr = p;
        *cap = c;
    }
    *idx = *n;
    (*arr)[(*n)++] = o;
    return 0;
}

/* ---- orderLinkIds in use: a set of 64-bit hashes (open addressing, linear probing; 0 is an
 * empty slot, 1 a deleted one), so the duplicate check of every create is O(1) instead of a
 * scan of the open orders and the whole closed ring. A hit is confirmed by that scan, so a hash
 * collision never refuses a new id. Rebuilt from the orders when deleted slots pile up. At
 * most EXCH_MAX_ACTIVE x symbols + EXCH_MAX_CLOSED ids are live, well under 3/4 of the table. */
#define LINKSET_CAP 16384u

static uint64_t link_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = market_mix64(h);
    return h < 2 ? h + 2 : h;
}

static int linkset_has(const account *a, uint64_t h)
{
    if (!a->links)
        return 0;
    for (size_t i = h & (LINKSET_CAP - 1);; i = (i + 1) & (LINKSET_CAP - 1)) {
        if (a->links[i] == h)
            return 1;
        if (a->links[i] == 0)
            return 0;
    }
}

static void linkset_put(account *a, uint64_t h)
{
    size_t i = h & (LINKSET_CAP - 1);
    while (a->links[i] > 1)
        i = (i + 1) & (LINKSET_CAP - 1);
    if (a->links[i] == 1)
        a->ndead--;
    a->links[i] = h;
    a->nlinks++;
}

static void linkset_rebuild(account *a)
{
    memset(a->links, 0, LINKSET_CAP * sizeof *a->links);
    a->nlinks = a->ndead = 0;
    for (size_t i = 0; i < a->nopen; i++)
        if (a->open[i]->link[0])
            linkset_put(a, link_hash(a->open[i]->link));
    for (size_t k = 0; k < a->cn; k++) {
        const char *l = a->closed[(a->chead + k) % EXCH_MAX_CLOSED].link;
        if (l[0])
            linkset_put(a, link_hash(l));
    }
}

/* Adds the id of a new order (already in the open list). Without memory the set is dropped
 * and link_used scans, as before. */
static void linkset_add(account *a, const char *link)
{
    if (!a->links) { /* first use, or memory came back: take in every order */
        if ((a->links = calloc(LINKSET_CAP, sizeof *a->links)))
            linkset_rebuild(a);
        return;
    }
    if (a->nlinks + a->ndead + 1 > LINKSET_CAP / 4 * 3) {
        linkset_rebuild(a); /* the new order is in the open list already */
        return;
    }
    linkset_put(a, link_hash(link));
}

/* Removes the id of an order that leaves the closed ring. */
static void linkset_del(account *a, const char *link)
{
    if (!a->links || !link[0])
        return;
    uint64_t h = link_hash(link);
    for (size_t i = h & (LINKSET_CAP - 1); a->links[i]; i = (i + 1) & (LINKSET_CAP - 1))
        if (a->links[i] == h) {
            a->links[i] = 1;
            a->nlinks--;
            a->ndead++;
            return;
        }
}

/* Removes an open order from its arrays, keeps a copy in the account's closed ring (oldest
 * dropped first) and frees it. The order must be in a final state already. */
static void retire(exch *x, order *o)
{
    account *a = x->acct[o->acct];
    venue *m = &x->m[o->sym];
    a->open[o->ai] = a->open[--a->nopen];
    a->open[o->ai]->ai = o->ai;
    m->ords[o->si] = m->ords[--m->nords];
    m->ords[o->si]->si = o->si;
    a->nactive[o->sym]--;
    x->nopen--;
    if (!a->closed)
        a->closed = malloc(EXCH_MAX_CLOSED * sizeof *a->closed);
    if (a->closed) { /* without memory the closed order is simply not kept */
        size_t slot = (a->chead + a->cn) % EXCH_MAX_CLOSED;
        if (a->cn == EXCH_MAX_CLOSED) {
            linkset_del(a, a->closed[slot].link); /* the oldest closed order is forgotten */
            a->chead = (a->chead + 1) % EXCH_MAX_CLOSED;
        } else
            a->cn++;
        a->closed[slot] = *o;
    }
    free(o);
}

/* Cancels an open order (with a cancelType and a rejectReason), emits it and retires it. */
static void cancel_order(exch *x, order *o, exch_cancel_type ct, exch_reject rej)
{
    o->cancel_type = ct;
    o->reject = rej;
    order_to(x, o, EXCH_EV_CANCEL);
    emit_order(x, o);
    retire(x, o);
}

/* One fill of account order o: q steps at px ticks. Updates the order, the position and the
 * wallet, and emits execution, order, position, wallet. Does not retire a Filled order. */
static void fill(exch *x, order *o, int64_t q, int64_t px, int maker)
{
    account *a = x->acct[o->acct];
    const market *m = &x->m[o->sym].mk;
    double pxr = (double)px * m->tick, val = (double)q * m->step * pxr;
    double rate = maker ? x->o.maker_fee : x->o.taker_fee, fee = val * rate;
    o->cum += q;
    o->value += val;
    o->fee += fee;
    order_to(x, o, o->cum == o->qty ? EXCH_EV_FILL_ALL : EXCH_EV_FILL);

    position *p = &a->pos[o->sym];
    int64_t dq = o->side == EXCH_BUY ? q : -q, asz = p->size < 0 ? -p->size : p->size;
    double realised = 0;
    int64_t closed = 0;
    if (p->size == 0 || (p->size > 0) == (dq > 0)) {
        p->entry = ((double)asz * p->entry + (double)q * pxr) / (double)(asz + q);
        p->size += dq;
    } else {
        closed = asz < q ? asz : q;
        realised = (double)closed * m->step * (pxr - p->entry) * (p->size > 0 ? 1 : -1);
        int64_t before = p->size;
        p->size += dq;
        if (p->size == 0)
            p->entry = 0;
        else if ((before > 0) != (p->size > 0))
            p->entry = pxr;
    }
    p->realised += realised - fee;
    p->updated = x->now;
    a->wallet += realised - fee;
    x->st.fills++;
    if (!x->o.on_private)
        return;

    char id[40];
    make_uuid(x, id);
    if (pwanted(x, a, "execution")) {
        views_fill f = {id, q, px, closed, val, fee, rate, maker, x->now};
        emit(x, a, "execution", views_execution(m, o, &f));
    }
    emit_order(x, o);
    if (pwanted(x, a, "position"))
        emit(x, a, "position", views_position(m, p, x->o.leverage, 1));
    if (pwanted(x, a, "wallet"))
        emit(x, a, "wallet", wallet_json(x, a));
}

/* Takes liquidity for a taker buying (side EXCH_BUY takes asks) or selling, at most want steps,
 * not past limit when has_limit: first the account orders at each price (time priority), then
 * the synthetic level. taker is the account order taking, or NULL for synthetic taker flow.
 * one_level stops after the best price. Returns the quantity taken. */
static int64_t take(exch *x, venue *m, exch_side side, int has_limit, int64_t limit, int64_t want,
                    order *taker, int one_level)
{
    exch_side opp = side == EXCH_BUY ? EXCH_SELL : EXCH_BUY;
    int64_t done = 0;
    while (done < want) {
        int64_t spx = 0, ssz = 0, apx = 0, p;
        int has_s = market_syn_best(&m->mk, opp == EXCH_SELL, &spx, &ssz),
            has_a = acct_best(m, opp, &apx);
        if (!has_s && !has_a)
            break;
        if (!has_s)
            p = apx;
        else if (!has_a)
            p = spx;
        else
            p = side == EXCH_BUY ? (spx < apx ? spx : apx) : (spx > apx ? spx : apx);
        if (has_limit && (side == EXCH_BUY ? p > limit : p < limit))
            break;
        int64_t here = 0;
        order *mk;
        while (done < want && (mk = acct_first_at(m, opp, p)) != NULL) {
            int64_t f = want - done < leaves(mk) ? want - done : leaves(mk);
            fill(x, mk, f, p, 1);
            if (taker)
                fill(x, taker, f, p, 0);
            done += f;
            here += f;
            if (mk->st == EXCH_ST_FILLED)
                retire(x, mk);
        }
        if (done < want && has_s && spx == p) {
            int64_t f = want - done < ssz ? want - done : ssz;
            market_consume(&m->mk, p, f);
            if (taker)
                fill(x, taker, f, p, 0);
            done += f;
            here += f;
        }
        if (here)
            add_trade(x, m, side, p, here);
        if (one_level)
            break;
    }
    return done;
}

/* Liquidity a taker could get up to limit (has_limit), counted until need is reached. */
static int64_t available(const venue *m, exch_side side, int has_limit, int64_t limit, int64_t need)
{
    exch_side opp = side == EXCH_BUY ? EXCH_SELL : EXCH_BUY;
    int64_t sum = 0;
    for (size_t i = 0; i < m->nords && sum < need; i++) {
        const order *o = m->ords[i];
        if (!pending(o) && o->side == opp &&
            (!has_limit || (side == EXCH_BUY ? o->px <= limit : o->px >= limit)))
            sum += leaves(o);
    }
    for (unsigned i = 0; i < m->mk.levels && sum < need; i++) {
        int64_t p = market_level_px(&m->mk, opp == EXCH_SELL, i);
        if (has_limit && (side == EXCH_BUY ? p > limit : p < limit))
            break;
        sum += market_syn_size(&m->mk, p);
    }
    return sum;
}

static int crosses(const venue *m, exch_side side, int64_t px)
{
    return available(m, side, 1, px, 1) > 0;
}

/* Steps a reduce-only order may still take: what reduces the position, 0 if none. */
static int64_t reducible(const exch *x, const order *o)
{
    const position *p = &x->acct[o->acct]->pos[o->sym];
    if (o->side == EXCH_BUY)
        return p->size < 0 ? -p->size : 0;
    return p->size > 0 ? p->size : 0;
}

/* A live order matched at creation, at the tick after a delayed ack, or re-priced by amend:
 * PostOnly check, FOK check, matching, then rest or end. announce: emit New when it rests
 * without a fill. */
static void go_live(exch *x, order *o, int announce)
{
    venue *m = &x->m[o->sym];
    int has_limit = o->type == EXCH_LIMIT;
    if (o->tif == EXCH_POSTONLY && o->type == EXCH_LIMIT && crosses(m, o->side, o->px)) {
        cancel_order(x, o, EXCH_CT_UNKNOWN, EXCH_REJ_POSTONLY);
        return;
    }
    int64_t want = leaves(o);
    if (o->reduce_only) {
        int64_t r = reducible(x, o);
        want = want < r ? want : r;
    }
    if (o->tif == EXCH_FOK &&
        (want < leaves(o) || available(m, o->side, has_limit, o->px, leaves(o)) < leaves(o))) {
        cancel_order(x, o, EXCH_CT_UNKNOWN, EXCH_REJ_FOK);
        return;
    }
    int64_t got = o->tif == EXCH_POSTONLY ? 0 : take(x, m, o->side, has_limit, o->px, want, o, 0);
    if (o->st == EXCH_ST_FILLED)
        retire(x, o);
    else if (o->type == EXCH_MARKET || o->tif == EXCH_IOC || o->tif == EXCH_FOK)
        cancel_order(x, o, EXCH_CT_UNKNOWN, EXCH_REJ_NONE);
    else if (o->reduce_only && reducible(x, o) == 0)
        cancel_order(x, o, EXCH_CT_REDUCE_ONLY, EXCH_REJ_NONE);
    else if (got == 0 && announce)
        emit_order(x, o);
}

/* ---------------------------------------------------------------- lifecycle */

/* Symbol state as at exch_new: the market at its start, streams unpublished, no trades. */
static void venue_start(venue *m, int64_t now_ms)
{
    market_start(&m->mk, now_ms);
    m->ntrades = 0;
    for (int d = 0; d < NDEPTHS; d++)
        views_stream_reset(&m->st[d], 0);
}

void exch_opts_default(exch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->volatility = 0.01;
    o->taker_per_s = 5;
    o->taker_qty_mean = 5;
    o->maker_fee = 0.0002;
    o->taker_fee = 0.00055;
    o->leverage = 10;
    o->book_levels = 200;
}

exch *exch_new(const exch_opts *o, int64_t now_ms)
{
    exch *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->o = *o;
    if (x->o.book_levels == 0)
        x->o.book_levels = 200;
    if (x->o.book_levels > EXCH_MAX_LEVELS)
        x->o.book_levels = EXCH_MAX_LEVELS;
    if (!(x->o.leverage > 0))
        x->o.leverage = 10;
    if (!(x->o.taker_qty_mean > 0))
        x->o.taker_qty_mean = 5;
    sbuf_init(&x->msg, MSG_MAX);
    x->bk_b = malloc(EXCH_MAX_LEVELS * sizeof(market_level));
    x->bk_a = malloc(EXCH_MAX_LEVELS * sizeof(market_level));
    x->d_b = malloc(2 * EXCH_MAX_LEVELS * sizeof(market_level));
    x->d_a = malloc(2 * EXCH_MAX_LEVELS * sizeof(market_level));
    int ok = x->bk_b && x->bk_a && x->d_b && x->d_a;
    market_instr in;
    for (unsigned i = 0; market_default_instr(i, &in) == 0 && i < EXCH_MAX_SYMBOLS; i++) {
        venue *m = &x->m[i];
        market_init(&m->mk, i, &in, x->o.seed, x->o.book_levels, x->o.taker_qty_mean);
        snprintf(m->trade_topic, sizeof m->trade_topic, "publicTrade.%s", in.sym);
        for (int d = 0; d < NDEPTHS; d++)
            ok = views_stream_init(&m->st[d], depths[d], in.sym) == 0 && ok;
        x->nsym = i + 1;
    }
    if (!ok) {
        exch_free(x);
        return NULL;
    }
    exch_reset(x, now_ms);
    return x;
}

static void drop_orders(exch *x)
{
    for (unsigned i = 0; i < x->nacct; i++) {
        account *a = x->acct[i];
        for (size_t k = 0; k < a->nopen; k++)
            free(a->open[k]);
        a->nopen = 0;
        a->cn = a->chead = 0;
        if (a->links)
            linkset_rebuild(a); /* empty now */
        memset(a->nactive, 0, sizeof a->nactive);
    }
    for (unsigned s = 0; s < x->nsym; s++)
        x->m[s].nords = 0;
    x->nopen = x->npending = 0;
}

void exch_free(exch *x)
{
    if (!x)
        return;
    drop_orders(x);
    for (unsigned i = 0; i < x->nacct; i++) {
        free(x->acct[i]->open);
        free(x->acct[i]->closed);
        free(x->acct[i]->links);
        free(x->acct[i]);
    }
    for (unsigned i = 0; i < EXCH_MAX_SYMBOLS; i++) {
        free(x->m[i].ords);
        for (int d = 0; d < NDEPTHS; d++)
            views_stream_free(&x->m[i].st[d]);
    }
    free(x->bk_b);
    free(x->bk_a);
    free(x->d_b);
    free(x->d_a);
    free(x->ag_b);
    free(x->ag_a);
    sbuf_free(&x->msg);
    free(x);
}

void exch_reset(exch *x, int64_t now_ms)
{
    drop_orders(x);
    for (unsigned i = 0; i < x->nacct; i++) {
        account *a = x->acct[i];
        a->wallet = a->initial;
        memset(a->pos, 0, sizeof a->pos);
        a->zero_since = a->conns == 0 ? -1 : a->zero_since;
    }
    prng_seed(&x->rng, x->o.seed);
    x->now = now_ms;
    x->prioctr = 0;
    unsigned nacct = x->nacct;
    memset(&x->st, 0, sizeof x->st);
    x->st.accounts = nacct;
    for (unsigned s = 0; s < x->nsym; s++)
        venue_start(&x->m[s], now_ms);
}

int exch_account_add(exch *x, const char *api_key, const char *secret, double usdt)
{
    if (empty(api_key) || empty(secret) || strlen(api_key) > KEY_MAX || strlen(secret) > KEY_MAX ||
        !isfinite(usdt) || usdt < 0)
        return -EINVAL;
    if (find_acct(x, api_key))
        return -EEXIST;
    if (x->nacct == EXCH_MAX_ACCOUNTS)
        return -ENOSPC;
    account *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    snprintf(a->key, sizeof a->key, "%s", api_key);
    snprintf(a->secret, sizeof a->secret, "%s", secret);
    a->initial = a->wallet = usdt;
    a->zero_since = -1;
    x->acct[x->nacct++] = a;
    x->st.accounts = x->nacct;
    return 0;
}

const char *exch_account_secret(const exch *x, const char *api_key)
{
    const account *a = find_acct(x, api_key);
    return a ? a->secret : NULL;
}

/* ---------------------------------------------------------------- feed */

static void send_public(exch *x, const char *topic)
{
    x->st.book_messages++;
    if (x->o.on_public)
        x->o.on_public(x->o.ud, topic, x->msg.data, x->msg.len);
}

/* Publishes a stream from the book in x->bk_b/bk_a (at least its depth built). */
static int publish_stream(exch *x, venue *m, views_stream *st, unsigned nb, unsigned na)
{
    int rc =
        views_stream_publish(st, &m->mk, x->bk_b, nb, x->bk_a, na, x->d_b, x->d_a, x->now, &x->msg);
    if (rc == 1)
        send_public(x, st->topic);
    return rc;
}

static void feed_tick(exch *x, venue *m)
{
    int want[NDEPTHS];
    unsigned maxd = 0;
    for (int d = 0; d < NDEPTHS; d++) {
        want[d] = wanted(x, m->st[d].topic);
        if (want[d] && (unsigned)m->st[d].depth > maxd)
            maxd = (unsigned)m->st[d].depth;
    }
    if (!maxd)
        return;
    unsigned nb, na;
    if (build_book(x, m, maxd, &nb, &na))
        return;
    for (int d = 0; d < NDEPTHS; d++)
        if (want[d])
            publish_stream(x, m, &m->st[d], nb, na);
}

static views_stream *find_stream(exch *x, const char *topic, venue **mp)
{
    int depth;
    char sym[24];
    if (!topic || sscanf(topic, "orderbook.%d.%23s", &depth, sym) != 2)
        return NULL;
    char check[64];
    snprintf(check, sizeof check, "orderbook.%d.%s", depth, sym);
    if (strcmp(check, topic) != 0)
        return NULL;
    int s = find_sym(x, sym);
    if (s < 0)
        return NULL;
    for (int d = 0; d < NDEPTHS; d++)
        if (depths[d] == depth) {
            *mp = &x->m[s];
            return &x->m[s].st[d];
        }
    return NULL;
}

char *exch_book_snapshot_msg(exch *x, const char *topic, int64_t now_ms)
{
    venue *m;
    views_stream *st = find_stream(x, topic, &m);
    if (!st)
        return NULL;
    advance(x, now_ms);
    if (!st->published) {
        unsigned nb, na;
        if (build_book(x, m, (unsigned)st->depth, &nb, &na))
            return NULL;
        return publish_stream(x, m, st, nb, na) == 1 ? strdup(x->msg.data) : NULL;
    }
    if (views_stream_snapshot(st, &m->mk, now_ms, &x->msg))
        return NULL;
    return strdup(x->msg.data);
}

void exch_book_reset(exch *x)
{
    for (unsigned s = 0; s < x->nsym; s++)
        for (int d = 0; d < NDEPTHS; d++)
            views_stream_reset(&x->m[s].st[d], 1);
}

int exch_topic_valid(const exch *x, const char *topic)
{
    if (!topic)
        return 0;
    if (strncmp(topic, "publicTrade.", 12) == 0)
        return find_sym(x, topic + 12) >= 0;
    venue *m;
    return find_stream((exch *)x, topic, &m) != NULL;
}

/* ---------------------------------------------------------------- tick */

/* Resting account orders that the moved synthetic book now crosses fill as makers at their own
 * price against the crossed synthetic levels (partially when those hold less). */
static void cross_resting(exch *x, venue *m)
{
    for (size_t i = 0; i < m->nords;) {
        order *o = m->ords[i];
        if (pending(o)) {
            i++;
            continue;
        }
        int64_t got = 0;
        for (unsigned k = 0; k < m->mk.levels && got < leaves(o); k++) {
            int64_t p = market_level_px(&m->mk, o->side == EXCH_BUY, k);
            if (o->side == EXCH_BUY ? p > o->px : p < o->px)
                break;
            int64_t s = market_syn_size(&m->mk, p);
            int64_t f = leaves(o) - got < s ? leaves(o) - got : s;
            if (f > 0) {
                market_consume(&m->mk, p, f);
                got += f;
            }
        }
        if (!got) {
            i++;
            continue;
        }
        fill(x, o, got, o->px, 1);
        add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, got);
        if (o->st == EXCH_ST_FILLED)
            retire(x, o); /* the last order moved into slot i: look at i again */
        else
            i++;
    }
}

/* One synthetic taker trade of the market's flow: it takes the best level only. */
static void taker_take(void *ud, market *mk, int buy, int64_t qty)
{
    exch *x = ud;
    venue *m = (venue *)((char *)mk - offsetof(venue, mk));
    take(x, m, buy ? EXCH_BUY : EXCH_SELL, 0, 0, qty, NULL, 1);
}

static void activate_pending(exch *x)
{
    for (unsigned s = 0; s < x->nsym && x->npending; s++) {
        venue *m = &x->m[s];
        /* go_live may retire orders (swap removal): collect first, in priority order */
        for (;;) {
            order *first = NULL;
            for (size_t i = 0; i < m->nords; i++)
                if (pending(m->ords[i]) && (!first || m->ords[i]->prio < first->prio))
                    first = m->ords[i];
            if (!first || order_to(x, first, EXCH_EV_LIVE))
                break;
            go_live(x, first, 1);
        }
    }
}

/* Cancels every open order of a (of symbol sym, or all when sym < 0), appending
 * {orderId, orderLinkId} to list when given. */
static void cancel_orders(exch *x, account *a, int sym, exch_cancel_type ct, cJSON *list)
{
    for (size_t i = a->nopen; i-- > 0;) {
        if (i >= a->nopen)
            continue;
        order *o = a->open[i];
        if (sym >= 0 && (int)o->sym != sym)
            continue;
        if (list) {
            cJSON *it = views_order_ids(o);
            if (it)
                cJSON_AddItemToArray(list, it);
        }
        cancel_order(x, o, ct, EXCH_REJ_NONE);
    }
}

static void dcp_tick(exch *x)
{
    for (unsigned i = 0; i < x->nacct; i++) {
        account *a = x->acct[i];
        if (a->dcp_armed && a->conns == 0 && a->zero_since >= 0 &&
            x->now - a->zero_since >= a->dcp_window_ms) {
            cancel_orders(x, a, -1, EXCH_CT_DCP, NULL);
            a->zero_since = -1; /* once per disconnection */
        }
    }
}

void exch_tick(exch *x, int64_t now_ms)
{
    if (now_ms < x->now)
        now_ms = x->now; /* time never runs backwards here */
    int64_t dt[EXCH_MAX_SYMBOLS];
    x->now = now_ms;
    for (unsigned s = 0; s < x->nsym; s++) {
        market *mk = &x->m[s].mk;
        dt[s] = now_ms - mk->book_ms;
        market_advance(mk, &x->rng, x->o.volatility, now_ms);
    }
    activate_pending(x);
    for (unsigned s = 0; s < x->nsym; s++) {
        cross_resting(x, &x->m[s]);
        market_taker_flow(&x->m[s].mk, &x->rng, x->o.taker_per_s, dt[s], taker_take, x);
    }
    dcp_tick(x);
    flush_all_trades(x);
    for (unsigned s = 0; s < x->nsym; s++)
        feed_tick(x, &x->m[s]);
}

/* ---------------------------------------------------------------- REST operations */

static int valid_link(const char *l)
{
    size_t n = strlen(l);
    if (n > LINK_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int same_order(const order *o, int sym, const char *id, const char *link)
{
    if (sym >= 0 && (int)o->sym != sym)
        return 0;
    return (!empty(id) && strcmp(o->id, id) == 0) ||
           (empty(id) && !empty(link) && strcmp(o->link, link) == 0);
}

static order *find_open(const account *a, int sym, const char *id, const char *link)
{
    for (size_t i = 0; i < a->nopen; i++)
        if (same_order(a->open[i], sym, id, link))
            return a->open[i];
    return NULL;
}

static const order *find_closed(const account *a, int sym, const char *id, const char *link)
{
    for (size_t k = a->cn; k-- > 0;) {
        const order *o = &a->closed[(a->chead + k) % EXCH_MAX_CLOSED];
        if (same_order(o, sym, id, link))
            return o;
    }
    return NULL;
}

static int link_used(const account *a, const char *link)
{
    if (a->links && !linkset_has(a, link_hash(link)))
        return 0;
    for (size_t i = 0; i < a->nopen; i++)
        if (strcmp(a->open[i]->link, link) == 0)
            return 1;
    for (size_t k = 0; k < a->cn; k++)
        if (strcmp(a->closed[(a->chead + k) % EXCH_MAX_CLOSED].link, link) == 0)
            return 1;
    return 0;
}

static int parse_qty(const market *m, const char *s, int64_t *q, char *msg, size_t msglen)
{
    int rc = market_parse_dec(s, m->in.qdec, INT64_MAX / 4, q);
    if (rc == ERR_INVAL || rc == ERR_PARSE || (rc == 0 && *q == 0))
        return fail(msg, msglen, SIMERR_QTY);
    if (rc == ERR_RANGE || *q > m->in.max_qty)
        return fail(msg, msglen, SIMERR_QTY_MAX);
    if (*q < m->in.min_qty)
        return fail(msg, msglen, SIMERR_QTY_MIN);
    return 0;
}

static int parse_px(const market *m, const char *s, int64_t *p, char *msg, size_t msglen)
{
    int rc = market_parse_dec(s, m->in.pdec, INT64_MAX / 4, p);
    if (rc == ERR_INVAL)
        return fail(msg, msglen, SIMERR_PRICE_DECIMALS);
    if (rc == ERR_PARSE)
        return fail(msg, msglen, SIMERR_PRICE);
    if (rc == ERR_RANGE || *p < m->in.min_px || *p > m->in.max_px)
        return fail(msg, msglen, SIMERR_PRICE_RANGE);
    return 0;
}

static int64_t ref_px(const market *m, exch_side side)
{
    int64_t px, sz;
    if (market_syn_best(m, side == EXCH_BUY, &px, &sz))
        return px;
    return side == EXCH_BUY ? m->ask0 : m->bid0;
}

static double avail_bal(const exch *x, const account *a)
{
    views_totals t = acct_totals(x, a);
    return t.equity - t.im;
}

static void fill_ids(exch_ids *out, const char *id, const char *link)
{
    if (!out)
        return;
    snprintf(out->order_id, sizeof out->order_id, "%s", id);
    snprintf(out->link_id, sizeof out->link_id, "%s", link);
}

int exch_create(exch *x, const char *api_key, const exch_order_req *r, int64_t now_ms,
                exch_ids *out, char *msg, size_t msglen)
{
    begin(x, now_ms, msg, msglen);
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    if (!r)
        return fail(msg, msglen, SIMERR_PARAMS);
    int s = find_sym(x, r->symbol);
    if (s < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    venue *m = &x->m[s];
    if ((r->side != EXCH_BUY && r->side != EXCH_SELL) ||
        (r->type != EXCH_LIMIT && r->type != EXCH_MARKET) || r->tif < EXCH_GTC ||
        r->tif > EXCH_POSTONLY)
        return fail(msg, msglen, SIMERR_ENUMS);
    int64_t q, px = 0;
    int rc = parse_qty(&m->mk, r->qty, &q, msg, msglen);
    if (rc)
        return rc;
    if (r->type == EXCH_LIMIT) {
        if (empty(r->price))
            return fail(msg, msglen, SIMERR_PRICE_REQUIRED);
        if ((rc = parse_px(&m->mk, r->price, &px, msg, msglen)) != 0)
            return rc;
    }
    const char *link = empty(r->link_id) ? "" : r->link_id;
    if (!valid_link(link))
        return fail(msg, msglen, SIMERR_LINK_INVALID);
    if (*link && link_used(a, link))
        return fail(msg, msglen, SIMERR_LINK_DUP);
    if (a->nactive[s] >= EXCH_MAX_ACTIVE)
        return fail(msg, msglen, SIMERR_TOO_MANY);
    int64_t eff_px = px ? px : ref_px(&m->mk, r->side);
    if (r->reduce_only) {
        int64_t sz = a->pos[s].size;
        if (sz == 0 || (sz > 0) == (r->side == EXCH_BUY))
            return fail(msg, msglen, SIMERR_REDUCE_ONLY);
    } else {
        double value = (double)q * m->mk.step * (double)eff_px * m->mk.tick;
        if (value < m->mk.in.min_notional)
            return fail(msg, msglen, SIMERR_MIN_VALUE);
        if (value / x->o.leverage > avail_bal(x, a))
            return fail(msg, msglen, SIMERR_BALANCE);
    }

    order *o = calloc(1, sizeof *o);
    if (!o)
        return fail(msg, msglen, SIMERR_INTERNAL);
    int ai = acct_index(x, a);
    o->acct = (unsigned)ai;
    o->sym = (unsigned)s;
    if (push_ptr(&a->open, &a->nopen, &a->capopen, o, &o->ai)) {
        free(o);
        return fail(msg, msglen, SIMERR_INTERNAL);
    }
    if (push_ptr(&m->ords, &m->nords, &m->capords, o, &o->si)) {
        a->nopen--;
        free(o);
        return fail(msg, msglen, SIMERR_INTERNAL);
    }
    make_uuid(x, o->id);
    snprintf(o->link, sizeof o->link, "%s", link);
    if (*link)
        linkset_add(a, link);
    o->side = r->side;
    o->type = r->type;
    o->tif = r->type == EXCH_MARKET ? EXCH_IOC : r->tif;
    o->reduce_only = r->reduce_only != 0;
    o->px = px;
    o->qty = q;
    o->st = EXCH_ST_PENDING; /* born acknowledged; live below unless the ack is early */
    x->npending++;
    o->cancel_type = EXCH_CT_UNKNOWN;
    o->reject = EXCH_REJ_NONE;
    o->created = o->updated = x->now;
    o->prio = o->birth = ++x->prioctr;
    a->nactive[s]++;
    x->nopen++;
    x->st.orders_created++;
    fill_ids(out, o->id, o->link);
    if (x->o.p_ack_before_state > 0 && prng_unit(&x->rng) < x->o.p_ack_before_state)
        return EXCH_OK;
    order_to(x, o, EXCH_EV_LIVE);
    go_live(x, o, 1);
    flush_trades(x, m);
    return EXCH_OK;
}

/* Finds an order for amend/cancel: 0 and the open order, or 110001/110008 with msg. */
static int locate(exch *x, const char *api_key, const char *symbol, const char *order_id,
                  const char *link_id, account **ap, order **op, char *msg, size_t msglen)
{
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    if (empty(order_id) && empty(link_id))
        return fail(msg, msglen, SIMERR_IDS_REQUIRED);
    order *o = find_open(a, s, order_id, link_id);
    if (!o) {
        if (find_closed(a, s, order_id, link_id))
            return fail(msg, msglen, SIMERR_FINISHED);
        return fail(msg, msglen, SIMERR_NO_ORDER);
    }
    *ap = a;
    *op = o;
    return 0;
}

int exch_amend(exch *x, const char *api_key, const char *symbol, const char *order_id,
               const char *link_id, const char *qty, const char *price, int64_t now_ms,
               exch_ids *out, char *msg, size_t msglen)
{
    begin(x, now_ms, msg, msglen);
    account *a;
    order *o;
    int rc = locate(x, api_key, symbol, order_id, link_id, &a, &o, msg, msglen);
    if (rc)
        return rc;
    venue *m = &x->m[o->sym];
    int64_t nq = o->qty, np = o->px;
    if (!empty(qty) && (rc = parse_qty(&m->mk, qty, &nq, msg, msglen)) != 0)
        return rc;
    if (!empty(price) && (rc = parse_px(&m->mk, price, &np, msg, msglen)) != 0)
        return rc;
    if (nq == o->qty && np == o->px)
        return fail(msg, msglen, SIMERR_UNCHANGED);
    if (nq <= o->cum)
        return fail(msg, msglen, SIMERR_QTY);
    if (!o->reduce_only) {
        double before = (double)leaves(o) * (double)o->px, after = (double)(nq - o->cum) * np;
        double extra = (after - before) * m->mk.step * m->mk.tick / x->o.leverage;
        if (extra > 0 && extra > avail_bal(x, a))
            return fail(msg, msglen, SIMERR_BALANCE);
    }
    if (np != o->px || nq > o->qty)
        o->prio = ++x->prioctr;
    int repriced = np != o->px;
    o->qty = nq;
    o->px = np;
    o->updated = x->now;
    fill_ids(out, o->id, o->link);
    if (pending(o))
        return EXCH_OK;
    if (repriced && o->tif != EXCH_POSTONLY && crosses(m, o->side, o->px)) {
        go_live(x, o, 0);
        flush_trades(x, m);
        return EXCH_OK;
    }
    if (repriced && o->tif == EXCH_POSTONLY && crosses(m, o->side, o->px)) {
        cancel_order(x, o, EXCH_CT_UNKNOWN, EXCH_REJ_POSTONLY);
        return EXCH_OK;
    }
    emit_order(x, o);
    return EXCH_OK;
}

int exch_cancel(exch *x, const char *api_key, const char *symbol, const char *order_id,
                const char *link_id, int64_t now_ms, exch_ids *out, char *msg, size_t msglen)
{
    begin(x, now_ms, msg, msglen);
    account *a;
    order *o;
    int rc = locate(x, api_key, symbol, order_id, link_id, &a, &o, msg, msglen);
    if (rc)
        return rc;
    venue *m = &x->m[o->sym];
    fill_ids(out, o->id, o->link);
    if (!pending(o) && o->type == EXCH_LIMIT &&
        (x->o.p_dup_filled > 0 || x->o.p_cancel_with_exec > 0)) {
        double r = prng_unit(&x->rng);
        if (r < x->o.p_dup_filled) {
            /* the fill wins the race; the order stream repeats its Filled message */
            int64_t f = leaves(o);
            fill(x, o, f, o->px, 1);
            add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, f);
            emit_order(x, o);
            retire(x, o);
            flush_trades(x, m);
            return fail(msg, msglen, SIMERR_FINISHED);
        }
        if (r < x->o.p_dup_filled + x->o.p_cancel_with_exec && leaves(o) >= 2) {
            int64_t f = 1 + (int64_t)(prng_next(&x->rng) % (uint64_t)(leaves(o) - 1));
            fill(x, o, f, o->px, 1);
            add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, f);
            flush_trades(x, m);
        }
    }
    cancel_order(x, o, EXCH_CT_USER, EXCH_REJ_NONE);
    return EXCH_OK;
}

int exch_cancel_all(exch *x, const char *api_key, const char *symbol, int64_t now_ms, cJSON **list,
                    char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    if (list)
        *list = NULL;
    advance(x, now_ms);
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, SIMERR_INTERNAL);
    cancel_orders(x, a, s, EXCH_CT_USER, l);
    if (list)
        *list = l;
    else
        cJSON_Delete(l);
    return EXCH_OK;
}

static int cmp_birth_desc(const void *a, const void *b)
{
    uint64_t x = (*(const order *const *)a)->birth, y = (*(const order *const *)b)->birth;
    return x < y ? 1 : x > y ? -1 : 0;
}

int exch_orders(exch *x, const char *api_key, const char *symbol, const char *order_id,
                const char *link_id, int open_only, int limit, const char *cursor, cJSON **list,
                char **next_cursor, char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    *list = NULL;
    *next_cursor = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    if (limit == 0)
        limit = DEFAULT_LIM;
    if (limit < 1 || limit > 50)
        return fail(msg, msglen, SIMERR_LIMIT_ORDERS);
    long off = 0;
    if (!empty(cursor)) {
        char *end;
        off = strtol(cursor, &end, 10);
        if (*end || off < 0)
            return fail(msg, msglen, SIMERR_CURSOR);
    }
    size_t cap = a->nopen + (open_only ? a->cn : 0) + 1, n = 0;
    const order **v = malloc(cap * sizeof *v);
    if (!v)
        return fail(msg, msglen, SIMERR_INTERNAL);
    for (size_t i = 0; i < a->nopen; i++)
        v[n++] = a->open[i];
    if (open_only)
        for (size_t k = 0; k < a->cn; k++)
            v[n++] = &a->closed[(a->chead + k) % EXCH_MAX_CLOSED];
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        const order *o = v[i];
        if (pending(o) || (s >= 0 && (int)o->sym != s) ||
            (!empty(order_id) && strcmp(o->id, order_id) != 0) ||
            (!empty(link_id) && strcmp(o->link, link_id) != 0))
            continue;
        v[j++] = o;
    }
    qsort(v, j, sizeof *v, cmp_birth_desc);
    cJSON *l = cJSON_CreateArray();
    int rc = l ? 0 : ERR_NOMEM;
    size_t i = (size_t)off;
    for (; i < j && i < (size_t)off + (size_t)limit && !rc; i++) {
        cJSON *it = views_order(&x->m[v[i]->sym].mk, v[i], 0);
        if (!it)
            rc = ERR_NOMEM;
        else
            cJSON_AddItemToArray(l, it);
    }
    char cur[32] = "";
    if (i < j)
        snprintf(cur, sizeof cur, "%zu", i);
    free(v);
    *next_cursor = strdup(cur);
    if (rc || !*next_cursor) {
        cJSON_Delete(l);
        free(*next_cursor);
        *next_cursor = NULL;
        return fail(msg, msglen, SIMERR_INTERNAL);
    }
    *list = l;
    return EXCH_OK;
}

int exch_positions(exch *x, const char *api_key, const char *symbol, cJSON **list, char *msg,
                   size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    *list = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, SIMERR_INTERNAL);
    for (unsigned i = 0; i < x->nsym; i++)
        if (s < 0 || (int)i == s)
            cJSON_AddItemToArray(l, views_position(&x->m[i].mk, &a->pos[i], x->o.leverage, 0));
    *list = l;
    return EXCH_OK;
}

int exch_wallet(exch *x, const char *api_key, cJSON **result, char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    *result = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    cJSON *r = cJSON_CreateObject();
    cJSON *l = r ? cJSON_AddArrayToObject(r, "list") : NULL;
    cJSON *w = l ? wallet_json(x, a) : NULL;
    if (!w) {
        cJSON_Delete(r);
        return fail(msg, msglen, SIMERR_INTERNAL);
    }
    cJSON_AddItemToArray(l, w);
    *result = r;
    return EXCH_OK;
}

int exch_instruments(exch *x, const char *symbol, cJSON **list, char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    *list = NULL;
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, SIMERR_INTERNAL);
    for (unsigned i = 0; i < x->nsym; i++)
        if (s < 0 || (int)i == s)
            cJSON_AddItemToArray(l, views_instrument(&x->m[i].mk));
    *list = l;
    return EXCH_OK;
}

int exch_orderbook(exch *x, const char *symbol, int limit, int64_t now_ms, cJSON **result,
                   char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    *result = NULL;
    int s = find_sym(x, symbol);
    if (s < 0)
        return fail(msg, msglen, SIMERR_SYMBOL);
    if (limit == 0)
        limit = DEFAULT_BOOK;
    if (limit < 1 || limit > 200)
        return fail(msg, msglen, SIMERR_LIMIT_BOOK);
    venue *m = &x->m[s];
    unsigned nb, na;
    if (build_book(x, m, (unsigned)limit, &nb, &na))
        return fail(msg, msglen, SIMERR_INTERNAL);
    cJSON *r = views_orderbook(&m->mk, x->bk_b, nb, x->bk_a, na, now_ms);
    if (!r)
        return fail(msg, msglen, SIMERR_INTERNAL);
    *result = r;
    return EXCH_OK;
}

/* ---------------------------------------------------------------- DCP */

int exch_dcp_arm(exch *x, const char *api_key, int window_s, char *msg, size_t msglen)
{
    simerr_set(msg, msglen, SIMERR_OK);
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, SIMERR_KEY);
    if (window_s < 3 || window_s > 300)
        return fail(msg, msglen, SIMERR_WINDOW_RANGE);
    a->dcp_armed = 1;
    a->dcp_window_ms = (int64_t)window_s * 1000;
    return EXCH_OK;
}

void exch_dcp_conn(exch *x, const char *api_key, int delta, int64_t now_ms)
{
    account *a = find_acct(x, api_key);
    if (!a)
        return;
    int before = a->conns;
    a->conns += delta;
    if (a->conns < 0)
        a->conns = 0;
    if (a->conns > 0)
        a->zero_since = -1;
    else if (before > 0)
        a->zero_since = now_ms;
}

/* ---------------------------------------------------------------- tests and gate */

cJSON *exch_open_orders_all(exch *x, const char *api_key)
{
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return NULL;
    for (unsigned i = 0; i < x->nacct; i++) {
        account *a = x->acct[i];
        if (api_key && strcmp(a->key, api_key) != 0)
            continue;
        for (size_t k = 0; k < a->nopen; k++) {
            cJSON *it = views_order(&x->m[a->open[k]->sym].mk, a->open[k], 0);
            if (!it) {
                cJSON_Delete(l);
                return NULL;
            }
            cJSON_AddStringToObject(it, "account", a->key);
            cJSON_AddItemToArray(l, it);
        }
    }
    return l;
}

void exch_get_stats(const exch *x, exch_stats *s)
{
    *s = x->st;
    s->open_orders = x->nopen;
    s->accounts = x->nacct;
}
