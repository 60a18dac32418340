/*
 * exchange: the simulated Bybit v5 linear market. See exchange.h for the contract.
 *
 * Model, in short:
 *   - Each symbol has a mid price (a double, random walk in log space) and a synthetic book:
 *     bids at bid0, bid0-1, … and asks at ask0 = bid0+1, ask0+1, … (in ticks), book_levels per
 *     side. The size of a synthetic level is a hash of (seed, symbol, price, epoch): every level
 *     refreshes once per second at a phase of its own, so the book changes a little on every
 *     tick and feed deltas stay small. Liquidity taken from a level is remembered in a small
 *     per-symbol table until the level refreshes.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "sbuf.h"

#define MAX_CONS     128       /* remembered consumptions of synthetic levels per symbol */
#define MAX_TRADES   64        /* public trades batched per symbol before a message goes out */
#define MAX_TAKERS   100       /* synthetic taker trades per symbol and tick at most */
#define MSG_MAX      (1 << 20) /* a public message never exceeds this */
#define REFRESH_MS   1000      /* synthetic level refresh period */
#define NDEPTHS      4
#define KEY_MAX      64
#define LINK_MAX     36
#define DEFAULT_LIM  20 /* GET /v5/order/realtime without a limit */
#define DEFAULT_BOOK 25 /* GET /v5/market/orderbook without a limit */

static const int depths[NDEPTHS] = {1, 50, 200, 500};
static const int64_t pow10i[] = {1,       10,       100,       1000,       10000,        100000,
                                 1000000, 10000000, 100000000, 1000000000, 10000000000LL};

typedef enum ostatus { ST_NEW, ST_PFILLED, ST_FILLED, ST_CANCELLED, ST_REJECTED } ostatus;
static const char *const status_names[] = {"New", "PartiallyFilled", "Filled", "Cancelled",
                                           "Rejected"};
static const char *const tif_names[] = {"GTC", "IOC", "FOK", "PostOnly"};

#define REJ_NONE     "EC_NoError"
#define REJ_POSTONLY "EC_PostOnlyWillTakeLiquidity"
#define REJ_FOK      "EC_CancelForNoFullFill"

typedef struct order {
    char id[40], link[40];
    unsigned acct, sym;
    exch_side side;
    exch_type type;
    exch_tif tif;
    int reduce_only;
    int pending;       /* acknowledged, not live yet (p_ack_before_state) */
    int64_t px;        /* ticks; 0 for Market */
    int64_t qty, cum;  /* steps */
    double value, fee; /* cumExecValue, cumExecFee in USDT */
    ostatus st;
    const char *cancel_type; /* static strings */
    const char *reject;
    int64_t created, updated;
    uint64_t prio;  /* time priority; renewed by a price change or a qty increase */
    uint64_t birth; /* creation sequence: "newest first" in queries */
    size_t ai, si;  /* indices in the account's and the market's arrays */
} order;

typedef struct position {
    int64_t size; /* steps, signed: > 0 long */
    double entry; /* average entry price */
    double realised;
    int64_t updated;
} position;

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

typedef struct lvl {
    int64_t px, sz;
} lvl;

typedef struct cons {
    int64_t px, epoch, qty;
} cons;

typedef struct trade {
    int64_t px, qty;
    exch_side side; /* of the taker */
} trade;

typedef struct stream {
    int depth;
    int published; /* 0: the next message is a snapshot */
    uint64_t u, seq;
    lvl *b, *a;
    unsigned nb, na;
    char topic[48];
} stream;

typedef struct instr {
    char sym[16], base[8];
    int pdec, qdec;
    int64_t min_qty, max_qty, min_px, max_px; /* steps, ticks */
    double min_notional, start;
} instr;

typedef struct market {
    instr in;
    double tick, step;
    double mid;
    int64_t bid0, ask0;
    cons cons[MAX_CONS];
    unsigned ncons;
    order **ords;
    size_t nords, capords;
    stream st[NDEPTHS];
    uint64_t seq;
    int64_t last_trade_px;
    const char *last_dir;
    trade trades[MAX_TRADES];
    unsigned ntrades;
    char trade_topic[48];
} market;

struct exch {
    exch_opts o;
    market m[EXCH_MAX_SYMBOLS];
    unsigned nsym;
    account *acct[EXCH_MAX_ACCOUNTS];
    unsigned nacct;
    prng rng;
    uint64_t idctr, prioctr;
    int64_t now, book_ms;
    unsigned npending, nopen;
    exch_stats st;
    /* scratch for the book and the feed */
    lvl *bk_b, *bk_a, *d_b, *d_a;
    lvl *ag_b, *ag_a;
    size_t capag;
    sbuf msg;
};

/* ---------------------------------------------------------------- randomness */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(exch *x)
{
    prng_seed(&x->rng, x->o.seed);
}

static uint64_t rng_next(exch *x)
{
    return prng_next(&x->rng);
}

static double rng_unit(exch *x) /* [0, 1) */
{
    return prng_unit(&x->rng);
}

static double rng_normal(exch *x)
{
    double u1 = 1.0 - rng_unit(x), u2 = rng_unit(x); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static unsigned rng_poisson(exch *x, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 30) { /* normal approximation; exactness does not matter here */
        double v = lambda + sqrt(lambda) * rng_normal(x);
        return v < 0 ? 0 : v > MAX_TAKERS ? MAX_TAKERS : (unsigned)(v + 0.5);
    }
    double l = exp(-lambda), p = 1.0;
    unsigned k = 0;
    do {
        k++;
        p *= rng_unit(x);
    } while (p > l && k < MAX_TAKERS + 1);
    return k - 1;
}

/* Ids do not draw from the PRNG: a counter through a hash keeps the market's random sequence
 * independent of how many ids were made, and ids unique across exch_reset. */
static void make_uuid(exch *x, char *out)
{
    uint64_t n = ++x->idctr;
    uint64_t a = mix64(x->o.seed ^ (n * 2)), b = mix64(~x->o.seed ^ (n * 2 + 1));
    snprintf(out, 40, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffffu, ((unsigned)a & 0x0fffu) | 0x4000u,
             ((unsigned)(b >> 48) & 0x3fffu) | 0x8000u,
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* ---------------------------------------------------------------- numbers */

/* Parses a plain decimal ("12", "0.010") into units of 10^-dec. Strict: digits, at most one
 * point with digits on both sides, no sign, no exponent. 0 and the value; -EINVAL garbage,
 * -EDOM a non-zero digit past dec decimals, -ERANGE above maxv. */
static int parse_dec(const char *s, int dec, int64_t maxv, int64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    const char *p = s;
    int64_t ip = 0, fp = 0;
    int nd = 0, fd = 0, extra = 0;
    while (*p >= '0' && *p <= '9') {
        if (nd >= 12) {
            if (*p == '0' && ip == 0) { /* leading zeros */
                p++;
                continue;
            }
            return -ERANGE;
        }
        ip = ip * 10 + (*p - '0');
        if (ip)
            nd++;
        p++;
    }
    if (p == s)
        return -EINVAL;
    if (*p == '.') {
        p++;
        const char *f = p;
        while (*p >= '0' && *p <= '9') {
            if (fd < dec) {
                fp = fp * 10 + (*p - '0');
                fd++;
            } else if (*p != '0') {
                extra = 1;
            }
            p++;
        }
        if (p == f || p - f > 30)
            return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    if (extra)
        return -EDOM;
    for (; fd < dec; fd++)
        fp *= 10;
    int64_t v = ip * pow10i[dec] + fp;
    if (v > maxv)
        return -ERANGE;
    *out = v;
    return 0;
}

/* v × 10^-dec with exactly dec decimals ("60000.5", "0.010"). */
static int fmt_fixed(char *buf, size_t n, int64_t v, int dec)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (dec == 0)
        return snprintf(buf, n, "%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
    uint64_t p = (uint64_t)pow10i[dec];
    return snprintf(buf, n, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(u / p), dec,
                    (unsigned long long)(u % p));
}

/* A USDT amount with up to dec decimals, trailing zeros dropped ("0.33", "-12.5", "0"). */
static void fmt_num(char *buf, size_t n, double v, int dec)
{
    if (!isfinite(v))
        v = 0;
    snprintf(buf, n, "%.*f", dec, v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, n, "0");
}

/* A price in ticks of market m rounded from a double (avgPrice, entryPrice, markPrice). */
static void fmt_px_d(const market *m, char *buf, size_t n, double px)
{
    fmt_fixed(buf, n, (int64_t)llround(px / m->tick), m->in.pdec);
}

static void set_msg(char *msg, size_t msglen, const char *text)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", text);
}

/* Time only moves forward: a call with an older now_ms keeps the exchange's clock. */
static void advance(exch *x, int64_t now_ms)
{
    if (now_ms > x->now)
        x->now = now_ms;
}

/* What every REST-level operation does first: "OK" in msg, the clock advanced. */
static void begin(exch *x, int64_t now_ms, char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    advance(x, now_ms);
}

static int fail(char *msg, size_t msglen, int code, const char *text)
{
    set_msg(msg, msglen, text);
    return code;
}

/* ---------------------------------------------------------------- lookups */

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
        if (strcmp(x->m[i].in.sym, sym) == 0)
            return (int)i;
    return -1;
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* ---------------------------------------------------------------- synthetic book */

static uint64_t lvl_hash(const exch *x, const market *m, int64_t px, uint64_t salt)
{
    return mix64(x->o.seed ^
                 mix64((uint64_t)px * 0x100000001b3ULL ^ salt ^ (uint64_t)(m - x->m) << 56));
}

static int64_t lvl_epoch(const exch *x, const market *m, int64_t px)
{
    int64_t phase = (int64_t)(lvl_hash(x, m, px, 0x51ed) % REFRESH_MS);
    return (x->book_ms + phase) / REFRESH_MS;
}

static int64_t syn_size(const exch *x, const market *m, int64_t px)
{
    if (px < m->in.min_px || px > m->in.max_px)
        return 0;
    int64_t ep = lvl_epoch(x, m, px);
    uint64_t span = (uint64_t)(4.0 * x->o.taker_qty_mean);
    if (span < 2)
        span = 2;
    int64_t sz = m->in.min_qty * (int64_t)(1 + lvl_hash(x, m, px, (uint64_t)ep) % span);
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].px == px && m->cons[i].epoch == ep)
            return sz > m->cons[i].qty ? sz - m->cons[i].qty : 0;
    return sz;
}

/* Remembers that q was taken from the synthetic level at px until it refreshes. When the table
 * is full the oldest entry goes: that level's liquidity reappears early (harmless). */
static void consume(exch *x, market *m, int64_t px, int64_t q)
{
    int64_t ep = lvl_epoch(x, m, px);
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].px == px && m->cons[i].epoch == ep) {
            m->cons[i].qty += q;
            return;
        }
    if (m->ncons == MAX_CONS) {
        memmove(m->cons, m->cons + 1, (MAX_CONS - 1) * sizeof m->cons[0]);
        m->ncons--;
    }
    m->cons[m->ncons++] = (cons){px, ep, q};
}

static void prune_cons(exch *x, market *m)
{
    unsigned j = 0;
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].epoch == lvl_epoch(x, m, m->cons[i].px))
            m->cons[j++] = m->cons[i];
    m->ncons = j;
}

static void set_levels(exch *x, market *m)
{
    double t = m->mid / m->tick;
    m->bid0 = (int64_t)floor(t);
    if (m->bid0 < m->in.min_px)
        m->bid0 = m->in.min_px;
    m->ask0 = m->bid0 + 1;
    (void)x;
}

/* Best synthetic level with liquidity on one side of the book (asks: book_side EXCH_SELL). */
static int syn_best(const exch *x, const market *m, exch_side book_side, int64_t *px, int64_t *sz)
{
    for (unsigned i = 0; i < x->o.book_levels; i++) {
        int64_t p = book_side == EXCH_SELL ? m->ask0 + i : m->bid0 - (int64_t)i;
        int64_t s = syn_size(x, m, p);
        if (s > 0) {
            *px = p;
            *sz = s;
            return 1;
        }
    }
    return 0;
}

static int64_t leaves(const order *o)
{
    return o->qty - o->cum;
}

/* Best live account price on one side (book_side: the resting orders' side). */
static int acct_best(const market *m, exch_side book_side, int64_t *px)
{
    int have = 0;
    for (size_t i = 0; i < m->nords; i++) {
        const order *o = m->ords[i];
        if (o->pending || o->side != book_side)
            continue;
        if (!have || (book_side == EXCH_SELL ? o->px < *px : o->px > *px))
            *px = o->px;
        have = 1;
    }
    return have;
}

static order *acct_first_at(const market *m, exch_side book_side, int64_t px)
{
    order *best = NULL;
    for (size_t i = 0; i < m->nords; i++) {
        order *o = m->ords[i];
        if (!o->pending && o->side == book_side && o->px == px && (!best || o->prio < best->prio))
            best = o;
    }
    return best;
}

static int cmp_lvl_desc(const void *a, const void *b)
{
    int64_t x = ((const lvl *)a)->px, y = ((const lvl *)b)->px;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_lvl_asc(const void *a, const void *b)
{
    return -cmp_lvl_desc(a, b);
}

/* Aggregates the live account orders of one side into ag (sorted best first); count. */
static size_t agg_orders(const market *m, exch_side side, lvl *ag)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nords; i++) {
        const order *o = m->ords[i];
        if (!o->pending && o->side == side)
            ag[n++] = (lvl){o->px, leaves(o)};
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

/* Merges synthetic levels and account levels of one side, best first, at most depth. */
static unsigned merge_side(const exch *x, const market *m, exch_side side, const lvl *ag,
                           size_t nag, unsigned depth, lvl *out)
{
    unsigned n = 0, i = 0;
    size_t k = 0;
    int64_t spx = 0, ssz = 0;
    int have_s = 0;
    while (n < depth) {
        while (!have_s && i < x->o.book_levels) {
            spx = side == EXCH_SELL ? m->ask0 + i : m->bid0 - (int64_t)i;
            i++;
            ssz = syn_size(x, m, spx);
            have_s = ssz > 0;
        }
        if (!have_s && k == nag)
            break;
        int take_s =
            have_s && (k == nag || (side == EXCH_SELL ? spx <= ag[k].px : spx >= ag[k].px));
        if (take_s) {
            lvl l = {spx, ssz};
            if (k < nag && ag[k].px == spx)
                l.sz += ag[k++].sz;
            out[n++] = l;
            have_s = 0;
        } else {
            out[n++] = ag[k++];
        }
    }
    return n;
}

static int ensure_ag(exch *x, size_t n)
{
    if (n <= x->capag)
        return 0;
    size_t c = x->capag ? x->capag : 64;
    while (c < n)
        c *= 2;
    lvl *b = realloc(x->ag_b, c * sizeof *b);
    if (!b)
        return -ENOMEM;
    x->ag_b = b;
    lvl *a = realloc(x->ag_a, c * sizeof *a);
    if (!a)
        return -ENOMEM;
    x->ag_a = a;
    x->capag = c;
    return 0;
}

/* The current book of m, depth levels per side, into x->bk_b / x->bk_a. */
static int build_book(exch *x, market *m, unsigned depth, unsigned *nb, unsigned *na)
{
    if (ensure_ag(x, m->nords + 1))
        return -ENOMEM;
    size_t nab = agg_orders(m, EXCH_BUY, x->ag_b), naa = agg_orders(m, EXCH_SELL, x->ag_a);
    *nb = merge_side(x, m, EXCH_BUY, x->ag_b, nab, depth, x->bk_b);
    *na = merge_side(x, m, EXCH_SELL, x->ag_a, naa, depth, x->bk_a);
    return 0;
}

/* ---------------------------------------------------------------- JSON items */

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

static void add_fixed(cJSON *o, const char *k, int64_t v, int dec)
{
    char b[48];
    fmt_fixed(b, sizeof b, v, dec);
    cJSON_AddStringToObject(o, k, b);
}

static void add_num(cJSON *o, const char *k, double v, int dec)
{
    char b[64];
    fmt_num(b, sizeof b, v, dec);
    cJSON_AddStringToObject(o, k, b);
}

static void add_ms(cJSON *o, const char *k, int64_t ms)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)ms);
    cJSON_AddStringToObject(o, k, b);
}

static cJSON *order_json(const exch *x, const order *o, int category)
{
    const market *m = &x->m[o->sym];
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    char b[48];
    int open = o->st == ST_NEW || o->st == ST_PFILLED;
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
    add_str(j, "side", o->side == EXCH_BUY ? "Buy" : "Sell");
    add_str(j, "isLeverage", "");
    cJSON_AddNumberToObject(j, "positionIdx", 0);
    add_str(j, "orderStatus", status_names[o->st]);
    add_str(j, "cancelType", o->cancel_type);
    add_str(j, "rejectReason", o->reject);
    if (o->cum > 0) {
        fmt_px_d(m, b, sizeof b, o->value / ((double)o->cum * m->step));
        add_str(j, "avgPrice", b);
    } else {
        add_str(j, "avgPrice", "0");
    }
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

static double upnl(const market *m, const position *p)
{
    return (double)p->size * m->step * (m->mid - p->entry);
}

static cJSON *position_json(const exch *x, unsigned sym, const position *p, int category)
{
    const market *m = &x->m[sym];
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    char b[48];
    int64_t asz = p->size < 0 ? -p->size : p->size;
    if (category)
        add_str(j, "category", "linear");
    add_str(j, "symbol", m->in.sym);
    add_str(j, "side", p->size > 0 ? "Buy" : p->size < 0 ? "Sell" : "");
    add_fixed(j, "size", asz, m->in.qdec);
    cJSON_AddNumberToObject(j, "positionIdx", 0);
    cJSON_AddNumberToObject(j, "tradeMode", 0);
    fmt_px_d(m, b, sizeof b, p->entry);
    add_str(j, "avgPrice", b);
    add_str(j, "entryPrice", b);
    add_num(j, "positionValue", (double)asz * m->step * p->entry, 8);
    fmt_px_d(m, b, sizeof b, m->mid);
    add_str(j, "markPrice", b);
    add_num(j, "leverage", x->o.leverage, 2);
    add_num(j, "positionIM", (double)asz * m->step * p->entry / x->o.leverage, 8);
    add_num(j, "unrealisedPnl", upnl(m, p), 8);
    add_num(j, "cumRealisedPnl", p->realised, 8);
    add_str(j, "liqPrice", "");
    add_str(j, "positionStatus", "Normal");
    add_ms(j, "updatedTime", p->updated);
    return j;
}

/* Equity, initial margin of positions and of open (non reduce-only) orders. */
static void acct_totals(const exch *x, const account *a, double *equity, double *im)
{
    double eq = a->wallet, m_ = 0;
    for (unsigned s = 0; s < x->nsym; s++) {
        const position *p = &a->pos[s];
        const market *m = &x->m[s];
        eq += upnl(m, p);
        m_ += (double)(p->size < 0 ? -p->size : p->size) * m->step * p->entry / x->o.leverage;
    }
    for (size_t i = 0; i < a->nopen; i++) {
        const order *o = a->open[i];
        const market *m = &x->m[o->sym];
        if (!o->reduce_only)
            m_ += (double)leaves(o) * m->step * (double)o->px * m->tick / x->o.leverage;
    }
    *equity = eq;
    *im = m_;
}

static cJSON *wallet_json(const exch *x, const account *a)
{
    double eq, im;
    acct_totals(x, a, &eq, &im);
    double avail = eq - im > 0 ? eq - im : 0, up = eq - a->wallet, realised = 0;
    for (unsigned s = 0; s < x->nsym; s++)
        realised += a->pos[s].realised;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    add_str(j, "accountType", "UNIFIED");
    add_num(j, "totalEquity", eq, 8);
    add_num(j, "totalWalletBalance", a->wallet, 8);
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
        add_num(c, "walletBalance", a->wallet, 8);
        add_str(c, "availableToWithdraw", "");
        add_num(c, "unrealisedPnl", up, 8);
        add_num(c, "cumRealisedPnl", realised, 8);
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

/* ---------------------------------------------------------------- events */

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
            emit(x, x->acct[o->acct], "order", order_json(x, o, 1));
}

static int wanted(exch *x, const char *topic)
{
    return x->o.on_public && (!x->o.wanted || x->o.wanted(x->o.ud, topic));
}

static void flush_trades(exch *x, market *m)
{
    if (!m->ntrades)
        return;
    if (!wanted(x, m->trade_topic)) {
        m->ntrades = 0;
        return;
    }
    sbuf *s = &x->msg;
    sbuf_reset(s);
    int rc = sbuf_printf(s, "{\"topic\":\"%s\",\"type\":\"snapshot\",\"ts\":%lld,\"data\":[",
                         m->trade_topic, (long long)x->now);
    for (unsigned i = 0; i < m->ntrades && !rc; i++) {
        const trade *t = &m->trades[i];
        char px[32], q[32], id[40];
        fmt_fixed(px, sizeof px, t->px, m->in.pdec);
        fmt_fixed(q, sizeof q, t->qty, m->in.qdec);
        const char *dir = m->last_dir;
        if (m->last_trade_px) {
            if (t->px > m->last_trade_px)
                dir = "PlusTick";
            else if (t->px < m->last_trade_px)
                dir = "MinusTick";
            else
                dir = strstr(m->last_dir, "Plus") ? "ZeroPlusTick" : "ZeroMinusTick";
        }
        m->last_trade_px = t->px;
        m->last_dir = dir;
        make_uuid(x, id);
        rc = sbuf_printf(s,
                         "%s{\"T\":%lld,\"s\":\"%s\",\"S\":\"%s\",\"v\":\"%s\",\"p\":\"%s\","
                         "\"L\":\"%s\",\"i\":\"%s\",\"BT\":false}",
                         i ? "," : "", (long long)x->now, m->in.sym,
                         t->side == EXCH_BUY ? "Buy" : "Sell", q, px, dir, id);
    }
    if (!rc)
        rc = sbuf_adds(s, "]}");
    m->ntrades = 0;
    if (!rc)
        x->o.on_public(x->o.ud, m->trade_topic, s->data, s->len);
}

static void flush_all_trades(exch *x)
{
    for (unsigned i = 0; i < x->nsym; i++)
        flush_trades(x, &x->m[i]);
}

static void add_trade(exch *x, market *m, exch_side taker_side, int64_t px, int64_t qty)
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
            return -ENOMEM;
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
    h = mix64(h);
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
    market *m = &x->m[o->sym];
    a->open[o->ai] = a->open[--a->nopen];
    a->open[o->ai]->ai = o->ai;
    m->ords[o->si] = m->ords[--m->nords];
    m->ords[o->si]->si = o->si;
    a->nactive[o->sym]--;
    x->nopen--;
    if (o->pending)
        x->npending--;
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
        a->closed[slot].pending = 0;
    }
    free(o);
}

/* Ends an open order as Cancelled (or Rejected), emits it when emit_it, and retires it. */
static void end_order(exch *x, order *o, ostatus st, const char *cancel_type, const char *reject,
                      int emit_it)
{
    o->st = st;
    o->cancel_type = cancel_type;
    o->reject = reject;
    o->updated = x->now;
    if (strcmp(reject, REJ_NONE) != 0 || st == ST_REJECTED)
        x->st.orders_rejected++;
    else if (st == ST_CANCELLED)
        x->st.orders_cancelled++;
    if (emit_it)
        emit_order(x, o);
    retire(x, o);
}

/* One fill of account order o: q steps at px ticks. Updates the order, the position and the
 * wallet, and emits execution, order, position, wallet. Does not retire a Filled order. */
static void fill(exch *x, order *o, int64_t q, int64_t px, int maker)
{
    account *a = x->acct[o->acct];
    market *m = &x->m[o->sym];
    double pxr = (double)px * m->tick, val = (double)q * m->step * pxr;
    double rate = maker ? x->o.maker_fee : x->o.taker_fee, fee = val * rate;
    o->cum += q;
    o->value += val;
    o->fee += fee;
    o->st = o->cum == o->qty ? ST_FILLED : ST_PFILLED;
    o->updated = x->now;

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
    if (o->st == ST_FILLED)
        x->st.orders_filled++;
    if (!x->o.on_private)
        return;

    char id[40];
    make_uuid(x, id);
    cJSON *e = pwanted(x, a, "execution") ? cJSON_CreateObject() : NULL;
    if (e) {
        add_str(e, "category", "linear");
        add_str(e, "symbol", m->in.sym);
        add_str(e, "orderId", o->id);
        add_str(e, "orderLinkId", o->link);
        add_str(e, "side", o->side == EXCH_BUY ? "Buy" : "Sell");
        if (o->type == EXCH_MARKET)
            add_str(e, "orderPrice", "0");
        else
            add_fixed(e, "orderPrice", o->px, m->in.pdec);
        add_fixed(e, "orderQty", o->qty, m->in.qdec);
        add_fixed(e, "leavesQty", leaves(o), m->in.qdec);
        add_str(e, "orderType", o->type == EXCH_MARKET ? "Market" : "Limit");
        add_str(e, "stopOrderType", "");
        add_num(e, "execFee", fee, 8);
        add_str(e, "execId", id);
        add_fixed(e, "execPrice", px, m->in.pdec);
        add_fixed(e, "execQty", q, m->in.qdec);
        add_str(e, "execType", "Trade");
        add_num(e, "execValue", val, 8);
        add_ms(e, "execTime", x->now);
        cJSON_AddBoolToObject(e, "isMaker", maker);
        add_num(e, "feeRate", rate, 8);
        char b[48];
        fmt_px_d(m, b, sizeof b, m->mid);
        add_str(e, "markPrice", b);
        add_fixed(e, "closedSize", closed, m->in.qdec);
        emit(x, a, "execution", e);
    }
    emit_order(x, o);
    if (pwanted(x, a, "position"))
        emit(x, a, "position", position_json(x, o->sym, p, 1));
    if (pwanted(x, a, "wallet"))
        emit(x, a, "wallet", wallet_json(x, a));
}

/* Takes liquidity for a taker buying (side EXCH_BUY takes asks) or selling, at most want steps,
 * not past limit when has_limit: first the account orders at each price (time priority), then
 * the synthetic level. taker is the account order taking, or NULL for synthetic taker flow.
 * one_level stops after the best price. Returns the quantity taken. */
static int64_t take(exch *x, market *m, exch_side side, int has_limit, int64_t limit, int64_t want,
                    order *taker, int one_level)
{
    exch_side opp = side == EXCH_BUY ? EXCH_SELL : EXCH_BUY;
    int64_t done = 0;
    while (done < want) {
        int64_t spx = 0, ssz = 0, apx = 0, p;
        int has_s = syn_best(x, m, opp, &spx, &ssz), has_a = acct_best(m, opp, &apx);
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
            if (mk->st == ST_FILLED)
                retire(x, mk);
        }
        if (done < want && has_s && spx == p) {
            int64_t f = want - done < ssz ? want - done : ssz;
            consume(x, m, p, f);
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
static int64_t available(exch *x, market *m, exch_side side, int has_limit, int64_t limit,
                         int64_t need)
{
    exch_side opp = side == EXCH_BUY ? EXCH_SELL : EXCH_BUY;
    int64_t sum = 0;
    for (size_t i = 0; i < m->nords && sum < need; i++) {
        const order *o = m->ords[i];
        if (!o->pending && o->side == opp &&
            (!has_limit || (side == EXCH_BUY ? o->px <= limit : o->px >= limit)))
            sum += leaves(o);
    }
    for (unsigned i = 0; i < x->o.book_levels && sum < need; i++) {
        int64_t p = opp == EXCH_SELL ? m->ask0 + i : m->bid0 - (int64_t)i;
        if (has_limit && (side == EXCH_BUY ? p > limit : p < limit))
            break;
        sum += syn_size(x, m, p);
    }
    return sum;
}

static int crosses(exch *x, market *m, exch_side side, int64_t px)
{
    return available(x, m, side, 1, px, 1) > 0;
}

/* Steps a reduce-only order may still take: what reduces the position, 0 if none. */
static int64_t reducible(const exch *x, const order *o)
{
    const position *p = &x->acct[o->acct]->pos[o->sym];
    if (o->side == EXCH_BUY)
        return p->size < 0 ? -p->size : 0;
    return p->size > 0 ? p->size : 0;
}

/* An order going live (at create, or at the tick after a delayed ack) or re-priced by amend:
 * PostOnly check, FOK check, matching, then rest or end. announce: emit New when it rests
 * without a fill. */
static void go_live(exch *x, order *o, int announce)
{
    market *m = &x->m[o->sym];
    int has_limit = o->type == EXCH_LIMIT;
    if (o->tif == EXCH_POSTONLY && o->type == EXCH_LIMIT && crosses(x, m, o->side, o->px)) {
        end_order(x, o, ST_CANCELLED, "UNKNOWN", REJ_POSTONLY, 1);
        return;
    }
    int64_t want = leaves(o);
    if (o->reduce_only) {
        int64_t r = reducible(x, o);
        want = want < r ? want : r;
    }
    if (o->tif == EXCH_FOK &&
        (want < leaves(o) || available(x, m, o->side, has_limit, o->px, leaves(o)) < leaves(o))) {
        end_order(x, o, ST_CANCELLED, "UNKNOWN", REJ_FOK, 1);
        return;
    }
    int64_t got = o->tif == EXCH_POSTONLY ? 0 : take(x, m, o->side, has_limit, o->px, want, o, 0);
    if (o->st == ST_FILLED)
        retire(x, o);
    else if (o->type == EXCH_MARKET || o->tif == EXCH_IOC || o->tif == EXCH_FOK)
        end_order(x, o, ST_CANCELLED, "UNKNOWN", REJ_NONE, 1);
    else if (o->reduce_only && reducible(x, o) == 0)
        end_order(x, o, ST_CANCELLED, "CancelByReduceOnly", REJ_NONE, 1);
    else if (got == 0 && announce)
        emit_order(x, o);
}

/* ---------------------------------------------------------------- lifecycle */

static void market_init(exch *x, unsigned i, const char *sym, const char *base, int pdec, int qdec,
                        int64_t min_qty, int64_t max_qty, double start)
{
    market *m = &x->m[i];
    instr *in = &m->in;
    snprintf(in->sym, sizeof in->sym, "%s", sym);
    snprintf(in->base, sizeof in->base, "%s", base);
    in->pdec = pdec;
    in->qdec = qdec;
    in->min_qty = min_qty;
    in->max_qty = max_qty;
    in->min_px = 1;
    in->max_px = 20000000 - 2; /* 1999999.8 / 199999.98 as Bybit */
    in->min_notional = 5;
    in->start = start;
    m->tick = 1.0 / (double)pow10i[pdec];
    m->step = 1.0 / (double)pow10i[qdec];
    snprintf(m->trade_topic, sizeof m->trade_topic, "publicTrade.%s", sym);
    for (int d = 0; d < NDEPTHS; d++) {
        m->st[d].depth = depths[d];
        snprintf(m->st[d].topic, sizeof m->st[d].topic, "orderbook.%d.%s", depths[d], sym);
    }
}

/* Market state as at exch_new: mid at start, no consumption, streams unpublished. */
static void market_start(exch *x, market *m)
{
    m->mid = m->in.start;
    m->ncons = 0;
    m->seq = 0;
    m->last_trade_px = 0;
    m->last_dir = "PlusTick";
    m->ntrades = 0;
    for (int d = 0; d < NDEPTHS; d++) {
        m->st[d].published = 0;
        m->st[d].u = m->st[d].seq = 0;
        m->st[d].nb = m->st[d].na = 0;
    }
    set_levels(x, m);
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
    x->bk_b = malloc(EXCH_MAX_LEVELS * sizeof(lvl));
    x->bk_a = malloc(EXCH_MAX_LEVELS * sizeof(lvl));
    x->d_b = malloc(2 * EXCH_MAX_LEVELS * sizeof(lvl));
    x->d_a = malloc(2 * EXCH_MAX_LEVELS * sizeof(lvl));
    int ok = x->bk_b && x->bk_a && x->d_b && x->d_a;
    x->nsym = 2;
    market_init(x, 0, "BTCUSDT", "BTC", 1, 3, 1, 100000, 60000);
    market_init(x, 1, "ETHUSDT", "ETH", 2, 2, 1, 100000, 3000);
    for (unsigned i = 0; i < x->nsym && ok; i++)
        for (int d = 0; d < NDEPTHS; d++) {
            stream *s = &x->m[i].st[d];
            s->b = malloc((size_t)s->depth * sizeof(lvl));
            s->a = malloc((size_t)s->depth * sizeof(lvl));
            ok = ok && s->b && s->a;
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
        for (int d = 0; d < NDEPTHS; d++) {
            free(x->m[i].st[d].b);
            free(x->m[i].st[d].a);
        }
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
    rng_seed(x);
    x->now = x->book_ms = now_ms;
    x->prioctr = 0;
    unsigned nacct = x->nacct;
    memset(&x->st, 0, sizeof x->st);
    x->st.accounts = nacct;
    for (unsigned s = 0; s < x->nsym; s++)
        market_start(x, &x->m[s]);
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

static int add_levels(sbuf *s, const market *m, const lvl *l, unsigned n)
{
    char buf[96];
    int rc = 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        size_t k = 0;
        if (i)
            buf[k++] = ',';
        buf[k++] = '[';
        buf[k++] = '"';
        k += (size_t)fmt_fixed(buf + k, sizeof buf - k, l[i].px, m->in.pdec);
        memcpy(buf + k, "\",\"", 3);
        k += 3;
        if (l[i].sz == 0)
            buf[k++] = '0';
        else
            k += (size_t)fmt_fixed(buf + k, sizeof buf - k, l[i].sz, m->in.qdec);
        buf[k++] = '"';
        buf[k++] = ']';
        rc = sbuf_add(s, buf, k);
    }
    return rc;
}

/* Writes a book message into x->msg. */
static int book_msg(exch *x, const market *m, const stream *st, const char *type, const lvl *b,
                    unsigned nb, const lvl *a, unsigned na, int64_t now_ms)
{
    sbuf *s = &x->msg;
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
static unsigned diff_side(exch_side side, const lvl *old, unsigned no, const lvl *nw, unsigned nn,
                          lvl *d)
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
            cmp = (side == EXCH_BUY ? old[i].px > nw[j].px : old[i].px < nw[j].px) ? -1 : 1;
        if (cmp < 0) {
            d[k++] = (lvl){old[i++].px, 0};
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

static void send_public(exch *x, const char *topic)
{
    x->st.book_messages++;
    if (x->o.on_public)
        x->o.on_public(x->o.ud, topic, x->msg.data, x->msg.len);
}

/* Publishes the stream from the book in x->bk_b/bk_a (at least st->depth levels built):
 * a snapshot when unpublished, else a delta when something changed. */
static void publish_stream(exch *x, market *m, stream *st, unsigned nb, unsigned na)
{
    unsigned db = nb < (unsigned)st->depth ? nb : (unsigned)st->depth;
    unsigned da = na < (unsigned)st->depth ? na : (unsigned)st->depth;
    if (!st->published) {
        memcpy(st->b, x->bk_b, db * sizeof(lvl));
        memcpy(st->a, x->bk_a, da * sizeof(lvl));
        st->nb = db;
        st->na = da;
        st->u++;
        st->seq = m->seq;
        st->published = 1;
        if (book_msg(x, m, st, "snapshot", st->b, st->nb, st->a, st->na, x->now) == 0)
            send_public(x, st->topic);
        return;
    }
    unsigned ncb = diff_side(EXCH_BUY, st->b, st->nb, x->bk_b, db, x->d_b);
    unsigned nca = diff_side(EXCH_SELL, st->a, st->na, x->bk_a, da, x->d_a);
    if (!ncb && !nca)
        return;
    memcpy(st->b, x->bk_b, db * sizeof(lvl));
    memcpy(st->a, x->bk_a, da * sizeof(lvl));
    st->nb = db;
    st->na = da;
    st->u++;
    st->seq = m->seq;
    if (book_msg(x, m, st, "delta", x->d_b, ncb, x->d_a, nca, x->now) == 0)
        send_public(x, st->topic);
}

static void feed_tick(exch *x, market *m)
{
    int want[NDEPTHS];
    unsigned maxd = 0;
    for (int d = 0; d < NDEPTHS; d++) {
        want[d] = x->o.on_public && (!x->o.wanted || x->o.wanted(x->o.ud, m->st[d].topic));
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

static stream *find_stream(exch *x, const char *topic, market **mp)
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
    market *m;
    stream *st = find_stream(x, topic, &m);
    if (!st)
        return NULL;
    advance(x, now_ms);
    if (!st->published) {
        unsigned nb, na;
        if (build_book(x, m, (unsigned)st->depth, &nb, &na))
            return NULL;
        publish_stream(x, m, st, nb, na);
        return x->msg.len ? strdup(x->msg.data) : NULL;
    }
    if (book_msg(x, m, st, "snapshot", st->b, st->nb, st->a, st->na, now_ms))
        return NULL;
    return strdup(x->msg.data);
}

void exch_book_reset(exch *x)
{
    for (unsigned s = 0; s < x->nsym; s++)
        for (int d = 0; d < NDEPTHS; d++) {
            x->m[s].st[d].published = 0;
            x->m[s].st[d].u = 0;
        }
}

int exch_topic_valid(const exch *x, const char *topic)
{
    if (!topic)
        return 0;
    if (strncmp(topic, "publicTrade.", 12) == 0)
        return find_sym(x, topic + 12) >= 0;
    market *m;
    return find_stream((exch *)x, topic, &m) != NULL;
}

/* ---------------------------------------------------------------- tick */

static void walk(exch *x, market *m, int64_t dt)
{
    if (dt <= 0 || !(x->o.volatility > 0))
        return;
    double h = (double)dt / 3600000.0;
    double r = x->o.volatility * sqrt(h) * rng_normal(x);
    double mid = m->mid * exp(r);
    double lo = (double)(m->in.min_px + x->o.book_levels) * m->tick;
    double hi = (double)(m->in.max_px - x->o.book_levels) * m->tick;
    m->mid = mid < lo ? lo : mid > hi ? hi : mid;
    set_levels(x, m);
}

/* Resting account orders that the moved synthetic book now crosses fill as makers at their own
 * price against the crossed synthetic levels (partially when those hold less). */
static void cross_resting(exch *x, market *m)
{
    for (size_t i = 0; i < m->nords;) {
        order *o = m->ords[i];
        if (o->pending) {
            i++;
            continue;
        }
        int64_t got = 0;
        for (unsigned k = 0; k < x->o.book_levels && got < leaves(o); k++) {
            int64_t p = o->side == EXCH_BUY ? m->ask0 + k : m->bid0 - (int64_t)k;
            if (o->side == EXCH_BUY ? p > o->px : p < o->px)
                break;
            int64_t s = syn_size(x, m, p);
            int64_t f = leaves(o) - got < s ? leaves(o) - got : s;
            if (f > 0) {
                consume(x, m, p, f);
                got += f;
            }
        }
        if (!got) {
            i++;
            continue;
        }
        fill(x, o, got, o->px, 1);
        add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, got);
        if (o->st == ST_FILLED)
            retire(x, o); /* the last order moved into slot i: look at i again */
        else
            i++;
    }
}

static void taker_flow(exch *x, market *m, int64_t dt)
{
    if (dt <= 0 || !(x->o.taker_per_s > 0))
        return;
    unsigned n = rng_poisson(x, x->o.taker_per_s * (double)dt / 1000.0);
    for (unsigned i = 0; i < n; i++) {
        exch_side side = (rng_next(x) >> 63) ? EXCH_BUY : EXCH_SELL;
        double u = rng_unit(x);
        int64_t units = (int64_t)llround(-x->o.taker_qty_mean * log(1.0 - u));
        if (units < 1)
            units = 1;
        if (units > 1000)
            units = 1000;
        take(x, m, side, 0, 0, units * m->in.min_qty, NULL, 1);
    }
}

static void activate_pending(exch *x)
{
    for (unsigned s = 0; s < x->nsym && x->npending; s++) {
        market *m = &x->m[s];
        /* go_live may retire orders (swap removal): collect first, in priority order */
        for (;;) {
            order *first = NULL;
            for (size_t i = 0; i < m->nords; i++)
                if (m->ords[i]->pending && (!first || m->ords[i]->prio < first->prio))
                    first = m->ords[i];
            if (!first)
                break;
            first->pending = 0;
            x->npending--;
            first->updated = x->now;
            go_live(x, first, 1);
        }
    }
}

/* Cancels every open order of a (of symbol sym, or all when sym < 0), appending
 * {orderId, orderLinkId} to list when given. */
static void cancel_orders(exch *x, account *a, int sym, const char *cancel_type, cJSON *list)
{
    for (size_t i = a->nopen; i-- > 0;) {
        if (i >= a->nopen)
            continue;
        order *o = a->open[i];
        if (sym >= 0 && (int)o->sym != sym)
            continue;
        if (list) {
            cJSON *it = cJSON_CreateObject();
            if (it) {
                add_str(it, "orderId", o->id);
                add_str(it, "orderLinkId", o->link);
                cJSON_AddItemToArray(list, it);
            }
        }
        end_order(x, o, ST_CANCELLED, cancel_type, REJ_NONE, 1);
    }
}

static void dcp_tick(exch *x)
{
    for (unsigned i = 0; i < x->nacct; i++) {
        account *a = x->acct[i];
        if (a->dcp_armed && a->conns == 0 && a->zero_since >= 0 &&
            x->now - a->zero_since >= a->dcp_window_ms) {
            cancel_orders(x, a, -1, "CancelByDCP", NULL);
            a->zero_since = -1; /* once per disconnection */
        }
    }
}

void exch_tick(exch *x, int64_t now_ms)
{
    if (now_ms < x->now)
        now_ms = x->now; /* time never runs backwards here */
    int64_t dt = now_ms - x->book_ms;
    x->now = x->book_ms = now_ms;
    for (unsigned s = 0; s < x->nsym; s++) {
        market *m = &x->m[s];
        walk(x, m, dt);
        prune_cons(x, m);
        m->seq++;
    }
    activate_pending(x);
    for (unsigned s = 0; s < x->nsym; s++) {
        cross_resting(x, &x->m[s]);
        taker_flow(x, &x->m[s], dt);
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

static order *find_open(const account *a, int sym, const char *id, const char *link)
{
    for (size_t i = 0; i < a->nopen; i++) {
        order *o = a->open[i];
        if (sym >= 0 && (int)o->sym != sym)
            continue;
        if ((!empty(id) && strcmp(o->id, id) == 0) ||
            (empty(id) && !empty(link) && strcmp(o->link, link) == 0))
            return o;
    }
    return NULL;
}

static const order *find_closed(const account *a, int sym, const char *id, const char *link)
{
    for (size_t k = a->cn; k-- > 0;) {
        const order *o = &a->closed[(a->chead + k) % EXCH_MAX_CLOSED];
        if (sym >= 0 && (int)o->sym != sym)
            continue;
        if ((!empty(id) && strcmp(o->id, id) == 0) ||
            (empty(id) && !empty(link) && strcmp(o->link, link) == 0))
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
    int rc = parse_dec(s, m->in.qdec, INT64_MAX / 4, q);
    if (rc == -EDOM || rc == -EINVAL || (rc == 0 && *q == 0))
        return fail(msg, msglen, EXCH_ERR_PARAM, "Qty invalid");
    if (rc == -ERANGE || *q > m->in.max_qty)
        return fail(msg, msglen, EXCH_ERR_PARAM,
                    "The number of contracts exceeds maximum limit allowed");
    if (*q < m->in.min_qty)
        return fail(msg, msglen, EXCH_ERR_PARAM,
                    "The number of contracts exceeds minimum limit allowed");
    return 0;
}

static int parse_px(const market *m, const char *s, int64_t *p, char *msg, size_t msglen)
{
    int rc = parse_dec(s, m->in.pdec, INT64_MAX / 4, p);
    if (rc == -EDOM)
        return fail(msg, msglen, EXCH_ERR_PARAM, "Order price has too many decimals.");
    if (rc == -EINVAL)
        return fail(msg, msglen, EXCH_ERR_PARAM, "Price invalid");
    if (rc == -ERANGE || *p < m->in.min_px || *p > m->in.max_px)
        return fail(msg, msglen, EXCH_ERR_PARAM, "Order price is out of permissible range");
    return 0;
}

static int64_t ref_px(exch *x, market *m, exch_side side)
{
    int64_t px, sz;
    if (syn_best(x, m, side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, &px, &sz))
        return px;
    return side == EXCH_BUY ? m->ask0 : m->bid0;
}

static double avail_bal(const exch *x, const account *a)
{
    double eq, im;
    acct_totals(x, a, &eq, &im);
    return eq - im;
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
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    if (!r)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error");
    int s = find_sym(x, r->symbol);
    if (s < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    market *m = &x->m[s];
    if ((r->side != EXCH_BUY && r->side != EXCH_SELL) ||
        (r->type != EXCH_LIMIT && r->type != EXCH_MARKET) || r->tif < EXCH_GTC ||
        r->tif > EXCH_POSTONLY)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: side, orderType or timeInForce");
    int64_t q, px = 0;
    int rc = parse_qty(m, r->qty, &q, msg, msglen);
    if (rc)
        return rc;
    if (r->type == EXCH_LIMIT) {
        if (empty(r->price))
            return fail(msg, msglen, EXCH_ERR_PARAM,
                        "Missing some parameters that must be filled in, symbol or price");
        if ((rc = parse_px(m, r->price, &px, msg, msglen)) != 0)
            return rc;
    }
    const char *link = empty(r->link_id) ? "" : r->link_id;
    if (!valid_link(link))
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: orderLinkId invalid");
    if (*link && link_used(a, link))
        return fail(msg, msglen, EXCH_ERR_PARAM, "OrderLinkedID is duplicate");
    if (a->nactive[s] >= EXCH_MAX_ACTIVE)
        return fail(msg, msglen, EXCH_ERR_TOO_MANY,
                    "The number of active orders exceeds the upper limit");
    int64_t eff_px = px ? px : ref_px(x, m, r->side);
    if (r->reduce_only) {
        int64_t sz = a->pos[s].size;
        if (sz == 0 || (sz > 0) == (r->side == EXCH_BUY))
            return fail(msg, msglen, EXCH_ERR_REDUCE_ONLY,
                        "current position is zero, cannot fix reduce-only order qty");
    } else {
        double value = (double)q * m->step * (double)eff_px * m->tick;
        if (value < m->in.min_notional)
            return fail(msg, msglen, EXCH_ERR_MIN_VALUE,
                        "Order does not meet minimum order value 5USDT");
        if (value / x->o.leverage > avail_bal(x, a))
            return fail(msg, msglen, EXCH_ERR_BALANCE, "ab not enough for new order");
    }

    order *o = calloc(1, sizeof *o);
    if (!o)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    int ai = acct_index(x, a);
    o->acct = (unsigned)ai;
    o->sym = (unsigned)s;
    if (push_ptr(&a->open, &a->nopen, &a->capopen, o, &o->ai)) {
        free(o);
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    }
    if (push_ptr(&m->ords, &m->nords, &m->capords, o, &o->si)) {
        a->nopen--;
        free(o);
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
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
    o->st = ST_NEW;
    o->cancel_type = "UNKNOWN";
    o->reject = REJ_NONE;
    o->created = o->updated = x->now;
    o->prio = o->birth = ++x->prioctr;
    a->nactive[s]++;
    x->nopen++;
    x->st.orders_created++;
    fill_ids(out, o->id, o->link);
    if (x->o.p_ack_before_state > 0 && rng_unit(x) < x->o.p_ack_before_state) {
        o->pending = 1;
        x->npending++;
        return EXCH_OK;
    }
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
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    if (empty(order_id) && empty(link_id))
        return fail(msg, msglen, EXCH_ERR_PARAM, "orderId or orderLinkId is required");
    order *o = find_open(a, s, order_id, link_id);
    if (!o) {
        if (find_closed(a, s, order_id, link_id))
            return fail(msg, msglen, EXCH_ERR_FINISHED, "Order has been filled or canceled");
        return fail(msg, msglen, EXCH_ERR_NO_ORDER, "Order does not exist.");
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
    market *m = &x->m[o->sym];
    int64_t nq = o->qty, np = o->px;
    if (!empty(qty) && (rc = parse_qty(m, qty, &nq, msg, msglen)) != 0)
        return rc;
    if (!empty(price) && (rc = parse_px(m, price, &np, msg, msglen)) != 0)
        return rc;
    if (nq == o->qty && np == o->px)
        return fail(msg, msglen, EXCH_ERR_PARAM,
                    "The order remains unchanged as the parameters entered match the existing "
                    "ones.");
    if (nq <= o->cum)
        return fail(msg, msglen, EXCH_ERR_PARAM, "Qty invalid");
    if (!o->reduce_only) {
        double before = (double)leaves(o) * (double)o->px, after = (double)(nq - o->cum) * np;
        double extra = (after - before) * m->step * m->tick / x->o.leverage;
        if (extra > 0 && extra > avail_bal(x, a))
            return fail(msg, msglen, EXCH_ERR_BALANCE, "ab not enough for new order");
    }
    if (np != o->px || nq > o->qty)
        o->prio = ++x->prioctr;
    int repriced = np != o->px;
    o->qty = nq;
    o->px = np;
    o->updated = x->now;
    fill_ids(out, o->id, o->link);
    if (o->pending)
        return EXCH_OK;
    if (repriced && o->tif != EXCH_POSTONLY && crosses(x, m, o->side, o->px)) {
        go_live(x, o, 0);
        flush_trades(x, m);
        return EXCH_OK;
    }
    if (repriced && o->tif == EXCH_POSTONLY && crosses(x, m, o->side, o->px)) {
        end_order(x, o, ST_CANCELLED, "UNKNOWN", REJ_POSTONLY, 1);
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
    market *m = &x->m[o->sym];
    fill_ids(out, o->id, o->link);
    if (!o->pending && o->type == EXCH_LIMIT &&
        (x->o.p_dup_filled > 0 || x->o.p_cancel_with_exec > 0)) {
        double r = rng_unit(x);
        if (r < x->o.p_dup_filled) {
            /* the fill wins the race; the order stream repeats its Filled message */
            int64_t f = leaves(o);
            fill(x, o, f, o->px, 1);
            add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, f);
            emit_order(x, o);
            retire(x, o);
            flush_trades(x, m);
            return fail(msg, msglen, EXCH_ERR_FINISHED, "Order has been filled or canceled");
        }
        if (r < x->o.p_dup_filled + x->o.p_cancel_with_exec && leaves(o) >= 2) {
            int64_t f = 1 + (int64_t)(rng_next(x) % (uint64_t)(leaves(o) - 1));
            fill(x, o, f, o->px, 1);
            add_trade(x, m, o->side == EXCH_BUY ? EXCH_SELL : EXCH_BUY, o->px, f);
            flush_trades(x, m);
        }
    }
    end_order(x, o, ST_CANCELLED, "CancelByUser", REJ_NONE, 1);
    return EXCH_OK;
}

int exch_cancel_all(exch *x, const char *api_key, const char *symbol, int64_t now_ms, cJSON **list,
                    char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    if (list)
        *list = NULL;
    advance(x, now_ms);
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    cancel_orders(x, a, s, "CancelByUser", l);
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
    set_msg(msg, msglen, "OK");
    *list = NULL;
    *next_cursor = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    if (limit == 0)
        limit = DEFAULT_LIM;
    if (limit < 1 || limit > 50)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: limit must be 1..50");
    long off = 0;
    if (!empty(cursor)) {
        char *end;
        off = strtol(cursor, &end, 10);
        if (*end || off < 0)
            return fail(msg, msglen, EXCH_ERR_PARAM, "params error: cursor invalid");
    }
    size_t cap = a->nopen + (open_only ? a->cn : 0) + 1, n = 0;
    const order **v = malloc(cap * sizeof *v);
    if (!v)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    for (size_t i = 0; i < a->nopen; i++)
        v[n++] = a->open[i];
    if (open_only)
        for (size_t k = 0; k < a->cn; k++)
            v[n++] = &a->closed[(a->chead + k) % EXCH_MAX_CLOSED];
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        const order *o = v[i];
        if (o->pending || (s >= 0 && (int)o->sym != s) ||
            (!empty(order_id) && strcmp(o->id, order_id) != 0) ||
            (!empty(link_id) && strcmp(o->link, link_id) != 0))
            continue;
        v[j++] = o;
    }
    qsort(v, j, sizeof *v, cmp_birth_desc);
    cJSON *l = cJSON_CreateArray();
    int rc = l ? 0 : -ENOMEM;
    size_t i = (size_t)off;
    for (; i < j && i < (size_t)off + (size_t)limit && !rc; i++) {
        cJSON *it = order_json(x, v[i], 0);
        if (!it)
            rc = -ENOMEM;
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
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    }
    *list = l;
    return EXCH_OK;
}

int exch_positions(exch *x, const char *api_key, const char *symbol, cJSON **list, char *msg,
                   size_t msglen)
{
    set_msg(msg, msglen, "OK");
    *list = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    for (unsigned i = 0; i < x->nsym; i++)
        if (s < 0 || (int)i == s)
            cJSON_AddItemToArray(l, position_json(x, i, &a->pos[i], 0));
    *list = l;
    return EXCH_OK;
}

int exch_wallet(exch *x, const char *api_key, cJSON **result, char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    *result = NULL;
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    cJSON *r = cJSON_CreateObject();
    cJSON *l = r ? cJSON_AddArrayToObject(r, "list") : NULL;
    cJSON *w = l ? wallet_json(x, a) : NULL;
    if (!w) {
        cJSON_Delete(r);
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    }
    cJSON_AddItemToArray(l, w);
    *result = r;
    return EXCH_OK;
}

static cJSON *instrument_json(const market *m)
{
    const instr *in = &m->in;
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

int exch_instruments(exch *x, const char *symbol, cJSON **list, char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    *list = NULL;
    int s = -1;
    if (!empty(symbol) && (s = find_sym(x, symbol)) < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    cJSON *l = cJSON_CreateArray();
    if (!l)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    for (unsigned i = 0; i < x->nsym; i++)
        if (s < 0 || (int)i == s)
            cJSON_AddItemToArray(l, instrument_json(&x->m[i]));
    *list = l;
    return EXCH_OK;
}

static cJSON *levels_json(const market *m, const lvl *l, unsigned n)
{
    cJSON *arr = cJSON_CreateArray();
    char px[32], sz[32];
    for (unsigned i = 0; arr && i < n; i++) {
        fmt_fixed(px, sizeof px, l[i].px, m->in.pdec);
        fmt_fixed(sz, sizeof sz, l[i].sz, m->in.qdec);
        const char *pair[2] = {px, sz};
        cJSON_AddItemToArray(arr, cJSON_CreateStringArray(pair, 2));
    }
    return arr;
}

int exch_orderbook(exch *x, const char *symbol, int limit, int64_t now_ms, cJSON **result,
                   char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    *result = NULL;
    int s = find_sym(x, symbol);
    if (s < 0)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: symbol invalid");
    if (limit == 0)
        limit = DEFAULT_BOOK;
    if (limit < 1 || limit > 200)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: limit must be 1..200");
    market *m = &x->m[s];
    unsigned nb, na;
    if (build_book(x, m, (unsigned)limit, &nb, &na))
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return fail(msg, msglen, EXCH_ERR_INTERNAL, "Internal error.");
    add_str(r, "s", m->in.sym);
    cJSON_AddItemToObject(r, "b", levels_json(m, x->bk_b, nb));
    cJSON_AddItemToObject(r, "a", levels_json(m, x->bk_a, na));
    cJSON_AddNumberToObject(r, "ts", (double)now_ms);
    cJSON_AddNumberToObject(r, "u", (double)m->seq);
    cJSON_AddNumberToObject(r, "seq", (double)m->seq);
    cJSON_AddNumberToObject(r, "cts", (double)x->book_ms);
    *result = r;
    return EXCH_OK;
}

/* ---------------------------------------------------------------- DCP */

int exch_dcp_arm(exch *x, const char *api_key, int window_s, char *msg, size_t msglen)
{
    set_msg(msg, msglen, "OK");
    account *a = find_acct(x, api_key);
    if (!a)
        return fail(msg, msglen, EXCH_ERR_KEY, "API key is invalid.");
    if (window_s < 3 || window_s > 300)
        return fail(msg, msglen, EXCH_ERR_PARAM, "params error: timeWindow must be 3..300");
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
            cJSON *it = order_json(x, a->open[k], 0);
            if (!it) {
                cJSON_Delete(l);
                return NULL;
            }
            add_str(it, "account", a->key);
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
