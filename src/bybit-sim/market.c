/*
 * market: the random walk, the synthetic book and the taker flow of one symbol (see market.h).
 *
 * The book: bids at bid0, bid0-1, … and asks at ask0 = bid0+1, ask0+1, … (in ticks), levels
 * per side. The size of a level is a hash of (seed, symbol, price, epoch), so the book costs no
 * memory and changes a little on every tick (each level has its own refresh phase): feed
 * deltas stay small. Liquidity taken from a level is kept in a small table until it refreshes.
 */
#include "market.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

static const int64_t pow10i[MARKET_MAX_DEC + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000LL};

static const market_instr defaults[MARKET_NUM_DEFAULT] = {
    {"BTCUSDT", "BTC", 1, 3, 1, 100000, 1, 20000000 - 2, 5, 60000},
    {"ETHUSDT", "ETH", 2, 2, 1, 100000, 1, 20000000 - 2, 5, 3000},
};

uint64_t market_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int market_default_instr(unsigned i, market_instr *in)
{
    if (i >= MARKET_NUM_DEFAULT)
        return ERR_INVAL;
    *in = defaults[i];
    return 0;
}

/* ---- randomness ---- */

static double rnd_normal(prng *r)
{
    double u1 = 1.0 - prng_unit(r), u2 = prng_unit(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static unsigned rnd_poisson(prng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 30) { /* normal approximation; exactness does not matter here */
        double v = lambda + sqrt(lambda) * rnd_normal(r);
        return v < 0 ? 0 : v > MARKET_MAX_TAKERS ? MARKET_MAX_TAKERS : (unsigned)(v + 0.5);
    }
    double l = exp(-lambda), p = 1.0;
    unsigned k = 0;
    do {
        k++;
        p *= prng_unit(r);
    } while (p > l && k < MARKET_MAX_TAKERS + 1);
    return k - 1;
}

/* ---- the synthetic book ---- */

static uint64_t lvl_hash(const market *m, int64_t px, uint64_t salt)
{
    return market_mix64(
        m->seed ^ market_mix64((uint64_t)px * 0x100000001b3ULL ^ salt ^ (uint64_t)m->idx << 56));
}

static int64_t lvl_epoch(const market *m, int64_t px)
{
    int64_t phase = (int64_t)(lvl_hash(m, px, 0x51ed) % MARKET_REFRESH_MS);
    return (m->book_ms + phase) / MARKET_REFRESH_MS;
}

int64_t market_syn_size(const market *m, int64_t px)
{
    if (px < m->in.min_px || px > m->in.max_px)
        return 0;
    int64_t ep = lvl_epoch(m, px);
    uint64_t span = (uint64_t)(4.0 * m->qty_mean);
    if (span < 2)
        span = 2;
    int64_t sz = m->in.min_qty * (int64_t)(1 + lvl_hash(m, px, (uint64_t)ep) % span);
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].px == px && m->cons[i].epoch == ep)
            return sz > m->cons[i].qty ? sz - m->cons[i].qty : 0;
    return sz;
}

void market_consume(market *m, int64_t px, int64_t q)
{
    int64_t ep = lvl_epoch(m, px);
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].px == px && m->cons[i].epoch == ep) {
            m->cons[i].qty += q;
            return;
        }
    if (m->ncons == MARKET_MAX_CONS) {
        memmove(m->cons, m->cons + 1, (MARKET_MAX_CONS - 1) * sizeof m->cons[0]);
        m->ncons--;
    }
    m->cons[m->ncons++] = (market_cons){px, ep, q};
}

static void prune_cons(market *m)
{
    unsigned j = 0;
    for (unsigned i = 0; i < m->ncons; i++)
        if (m->cons[i].epoch == lvl_epoch(m, m->cons[i].px))
            m->cons[j++] = m->cons[i];
    m->ncons = j;
}

static void set_levels(market *m)
{
    double t = m->mid / m->tick;
    m->bid0 = (int64_t)floor(t);
    if (m->bid0 < m->in.min_px)
        m->bid0 = m->in.min_px;
    m->ask0 = m->bid0 + 1;
}

int market_syn_best(const market *m, int ask, int64_t *px, int64_t *sz)
{
    for (unsigned i = 0; i < m->levels; i++) {
        int64_t p = market_level_px(m, ask, i);
        int64_t s = market_syn_size(m, p);
        if (s > 0) {
            *px = p;
            *sz = s;
            return 1;
        }
    }
    return 0;
}

unsigned market_merge(const market *m, int ask, const market_level *ag, size_t nag, unsigned depth,
                      market_level *out)
{
    unsigned n = 0, i = 0;
    size_t k = 0;
    int64_t spx = 0, ssz = 0;
    int have_s = 0;
    while (n < depth) {
        while (!have_s && i < m->levels) {
            spx = market_level_px(m, ask, i);
            i++;
            ssz = market_syn_size(m, spx);
            have_s = ssz > 0;
        }
        if (!have_s && k == nag)
            break;
        int take_s = have_s && (k == nag || (ask ? spx <= ag[k].px : spx >= ag[k].px));
        if (take_s) {
            market_level l = {spx, ssz};
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

/* ---- lifecycle and time ---- */

void market_init(market *m, unsigned idx, const market_instr *in, uint64_t seed, unsigned levels,
                 double qty_mean)
{
    memset(m, 0, sizeof *m);
    m->in = *in;
    int pdec = in->pdec < 0 ? 0 : in->pdec > MARKET_MAX_DEC ? MARKET_MAX_DEC : in->pdec;
    int qdec = in->qdec < 0 ? 0 : in->qdec > MARKET_MAX_DEC ? MARKET_MAX_DEC : in->qdec;
    m->in.pdec = pdec;
    m->in.qdec = qdec;
    m->tick = 1.0 / (double)pow10i[pdec];
    m->step = 1.0 / (double)pow10i[qdec];
    m->seed = seed;
    m->idx = idx;
    m->levels = levels;
    m->qty_mean = qty_mean;
}

void market_start(market *m, int64_t now_ms)
{
    m->mid = m->in.start;
    m->ncons = 0;
    m->seq = 0;
    m->book_ms = now_ms;
    m->last_trade_px = 0;
    m->last_dir = MARKET_PLUS;
    set_levels(m);
}

void market_advance(market *m, prng *r, double volatility, int64_t now_ms)
{
    if (now_ms < m->book_ms)
        now_ms = m->book_ms;
    int64_t dt = now_ms - m->book_ms;
    m->book_ms = now_ms;
    if (dt > 0 && volatility > 0) {
        double h = (double)dt / 3600000.0;
        double ret = volatility * sqrt(h) * rnd_normal(r);
        double mid = m->mid * exp(ret);
        double lo = (double)(m->in.min_px + m->levels) * m->tick;
        double hi = (double)(m->in.max_px - m->levels) * m->tick;
        m->mid = mid < lo ? lo : mid > hi ? hi : mid;
        set_levels(m);
    }
    prune_cons(m);
    m->seq++;
}

void market_taker_flow(market *m, prng *r, double per_s, int64_t dt,
                       void (*take)(void *ud, market *m, int buy, int64_t qty), void *ud)
{
    if (dt <= 0 || !(per_s > 0))
        return;
    unsigned n = rnd_poisson(r, per_s * (double)dt / 1000.0);
    for (unsigned i = 0; i < n; i++) {
        int buy = (prng_next(r) >> 63) != 0;
        double u = prng_unit(r);
        int64_t units = (int64_t)llround(-m->qty_mean * log(1.0 - u));
        if (units < 1)
            units = 1;
        if (units > 1000)
            units = 1000;
        take(ud, m, buy, units * m->in.min_qty);
    }
}

const char *market_tick_dir(market *m, int64_t px)
{
    static const char *const names[] = {"PlusTick", "MinusTick", "ZeroPlusTick", "ZeroMinusTick"};
    int dir = m->last_dir;
    if (m->last_trade_px) {
        if (px > m->last_trade_px)
            dir = MARKET_PLUS;
        else if (px < m->last_trade_px)
            dir = MARKET_MINUS;
        else
            dir = dir == MARKET_PLUS || dir == MARKET_ZERO_PLUS ? MARKET_ZERO_PLUS
                                                                : MARKET_ZERO_MINUS;
    }
    m->last_trade_px = px;
    m->last_dir = dir;
    return names[dir];
}

double market_upnl(const market *m, int64_t size, double entry)
{
    return (double)size * m->step * (m->mid - entry);
}

/* ---- numbers ---- */

int market_parse_dec(const char *s, int dec, int64_t maxv, int64_t *out)
{
    if (!s || !*s || dec < 0 || dec > MARKET_MAX_DEC)
        return ERR_PARSE;
    const char *p = s;
    int64_t ip = 0, fp = 0;
    int nd = 0, fd = 0, extra = 0;
    while (*p >= '0' && *p <= '9') {
        if (nd >= 12) {
            if (*p == '0' && ip == 0) { /* leading zeros */
                p++;
                continue;
            }
            return ERR_RANGE;
        }
        ip = ip * 10 + (*p - '0');
        if (ip)
            nd++;
        p++;
    }
    if (p == s)
        return ERR_PARSE;
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
            return ERR_PARSE;
    }
    if (*p)
        return ERR_PARSE;
    if (extra)
        return ERR_INVAL;
    for (; fd < dec; fd++)
        fp *= 10;
    int64_t v = ip * pow10i[dec] + fp;
    if (v > maxv)
        return ERR_RANGE;
    *out = v;
    return 0;
}

int market_fmt_fixed(char *buf, size_t n, int64_t v, int dec)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (dec <= 0)
        return snprintf(buf, n, "%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
    if (dec > MARKET_MAX_DEC)
        dec = MARKET_MAX_DEC;
    uint64_t p = (uint64_t)pow10i[dec];
    return snprintf(buf, n, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(u / p), dec,
                    (unsigned long long)(u % p));
}

void market_fmt_num(char *buf, size_t n, double v, int dec)
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

void market_fmt_px(const market *m, char *buf, size_t n, double px)
{
    market_fmt_fixed(buf, n, (int64_t)llround(px / m->tick), m->in.pdec);
}
