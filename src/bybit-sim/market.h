/*
 * market: one symbol's simulated market in bybit-sim, without accounts and without I/O.
 *
 * Owns the instrument (tick, qty step, limits), the seeded random walk of the mid price, the
 * synthetic order book around it (level sizes are a hash of seed, symbol, price and a refresh
 * epoch; every level refreshes once per second at its own phase; liquidity taken from a level
 * is remembered until it refreshes), the synthetic taker flow (Poisson arrivals, exponential
 * sizes), the tick direction of public trades, and the fixed-point numbers that prices and
 * quantities are held in (integer ticks and steps, printed with the instrument's decimals).
 *
 * The account orders are not here: the order engine (exchange.c) merges them into the book
 * (market_merge) and matches taker flow against them (the market_taker_flow callback).
 *
 * Time is an argument; randomness comes from the caller's prng, drawn in a fixed order, so a
 * run is deterministic for a seed. Nothing allocates. Threads: one per market.
 */
#ifndef MARKET_H
#define MARKET_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define MARKET_MAX_CONS    128  /* remembered consumptions of synthetic levels */
#define MARKET_MAX_TAKERS  100  /* synthetic taker trades per call of market_taker_flow */
#define MARKET_REFRESH_MS  1000 /* synthetic level refresh period */
#define MARKET_MAX_DEC     10   /* decimals of a price or a quantity at most */
#define MARKET_NUM_DEFAULT 2    /* default instruments: BTCUSDT, ETHUSDT */

/* A price level: px in ticks, sz in qty steps. */
typedef struct market_level {
    int64_t px, sz;
} market_level;

typedef struct market_instr {
    char sym[16], base[8];
    int pdec, qdec;                           /* decimals of a price and a quantity */
    int64_t min_qty, max_qty, min_px, max_px; /* steps, ticks */
    double min_notional, start;               /* USDT; the mid price at the start */
} market_instr;

typedef struct market_cons {
    int64_t px, epoch, qty;
} market_cons;

/* Fields are read by the order engine and the views; only market_* functions write them. */
typedef struct market {
    market_instr in;
    double tick, step;  /* 10^-pdec, 10^-qdec */
    double mid;         /* the random walk, a price */
    int64_t bid0, ask0; /* best synthetic bid and ask prices (ticks), ask0 == bid0 + 1 */
    uint64_t seq;       /* book version: +1 per market_advance */
    int64_t book_ms;    /* the book's clock: the time of the last market_advance */
    uint64_t seed;
    unsigned idx;    /* the symbol's index: part of the level hash */
    unsigned levels; /* synthetic levels per side */
    double qty_mean; /* taker size, in multiples of min qty */
    market_cons cons[MARKET_MAX_CONS];
    unsigned ncons;
    int64_t last_trade_px; /* tick direction of public trades */
    int last_dir;          /* a market_dir */
} market;

/* The mixing function of the level hash (splitmix64's finaliser); the order engine uses it
 * for ids too. Pure. */
uint64_t market_mix64(uint64_t z);

/* The default instrument i (< MARKET_NUM_DEFAULT) into *in; -1 (ERR_INVAL) past them.
 * BTCUSDT: tick 0.1, step 0.001, qty 0.001..100, start 60000; ETHUSDT: tick 0.01, step 0.01,
 * qty 0.01..1000, start 3000; both min notional 5, price 1 tick..1999999.8 / 199999.98. */
int market_default_instr(unsigned i, market_instr *in);

/* Sets up m for instrument in (copied) as symbol number idx. levels: synthetic levels per side
 * (> 0); qty_mean > 0. Then call market_start. */
void market_init(market *m, unsigned idx, const market_instr *in, uint64_t seed, unsigned levels,
                 double qty_mean);
/* Back to the start at now_ms: mid at the start price, no consumption, seq 0. */
void market_start(market *m, int64_t now_ms);
/* Moves the book clock to now_ms (never backwards): one random-walk step of the mid for the
 * elapsed time (one normal draw from r when time passed and volatility > 0; relative, per
 * sqrt(hour)), forgets consumption of refreshed levels, seq + 1. */
void market_advance(market *m, prng *r, double volatility, int64_t now_ms);

/* Price (ticks) of the i-th synthetic level of a side (ask: 1 for the asks). */
static inline int64_t market_level_px(const market *m, int ask, unsigned i)
{
    return ask ? m->ask0 + (int64_t)i : m->bid0 - (int64_t)i;
}
/* Size (steps) of the synthetic level at px now, consumption deducted; 0 outside the
 * instrument's price range. */
int64_t market_syn_size(const market *m, int64_t px);
/* Best synthetic level with liquidity on a side: 1 and *px, *sz, or 0 when the side is empty. */
int market_syn_best(const market *m, int ask, int64_t *px, int64_t *sz);
/* Remembers that q steps were taken from the synthetic level at px until it refreshes. When
 * the table (MARKET_MAX_CONS) is full the oldest entry goes: that level refills early. */
void market_consume(market *m, int64_t px, int64_t q);
/* The book of one side, best first, at most depth levels into out: the synthetic levels merged
 * with ag (nag other levels, best first, e.g. the accounts' orders aggregated by price).
 * Returns the count. */
unsigned market_merge(const market *m, int ask, const market_level *ag, size_t nag, unsigned depth,
                      market_level *out);

/* Synthetic taker flow for dt ms at per_s trades per second: draws the count (Poisson), then
 * per trade its side and size (exponential, mean qty_mean × min qty, 1..1000 × min qty) and
 * calls take(ud, buy, qty) at once, in that order, so draws and matching interleave as they
 * always did. */
void market_taker_flow(market *m, prng *r, double per_s, int64_t dt,
                       void (*take)(void *ud, market *m, int buy, int64_t qty), void *ud);

/* Tick directions of public trades ("L" of publicTrade) */
typedef enum market_dir {
    MARKET_PLUS,
    MARKET_MINUS,
    MARKET_ZERO_PLUS,
    MARKET_ZERO_MINUS
} market_dir;

/* The tick direction of a public trade at px ("PlusTick", "ZeroMinusTick", ...), remembered
 * for the next one. Static storage. */
const char *market_tick_dir(market *m, int64_t px);

/* Unrealised PnL (USDT) of a position of size steps (signed) entered at entry. */
double market_upnl(const market *m, int64_t size, double entry);

/* ---- numbers ---- */

/* Parses a plain decimal ("12", "0.010") into units of 10^-dec (dec <= MARKET_MAX_DEC).
 * Strict: digits, at most one point with digits on both sides, no sign, no exponent.
 * 0 and *out; ERR_PARSE garbage, ERR_INVAL a non-zero digit past dec decimals, ERR_RANGE
 * above maxv. */
int market_parse_dec(const char *s, int dec, int64_t maxv, int64_t *out);
/* v × 10^-dec with exactly dec decimals ("60000.5", "0.010") into buf; snprintf's count. */
int market_fmt_fixed(char *buf, size_t n, int64_t v, int dec);
/* A USDT amount with up to dec decimals, trailing zeros dropped ("0.33", "-12.5", "0"). */
void market_fmt_num(char *buf, size_t n, double v, int dec);
/* A price rounded to the tick from a double (avgPrice, entryPrice, markPrice). */
void market_fmt_px(const market *m, char *buf, size_t n, double px);

#endif
