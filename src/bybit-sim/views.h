/*
 * views: the JSON that bybit-sim shows of its state, in Bybit v5's shapes, for REST results
 * and WebSocket messages alike: orders, executions, positions, wallets, instruments, the REST
 * order book, the public book feed (snapshot and delta messages, and the per-stream state that
 * the deltas are computed from) and publicTrade messages.
 *
 * Views only read the engine's records (exchange.h) and the market (market.h) and format them;
 * they decide nothing about orders. Amounts are strings as Bybit prints them: prices and
 * quantities with the instrument's decimals, USDT amounts with up to 8 decimals, trailing
 * zeros dropped; times in ms as strings.
 *
 * cJSON results are new objects the caller owns (NULL on allocation failure). Message texts
 * are written into the caller's sbuf (reset first); they fail with sbuf's code past its cap.
 * Threads: one; no state of their own except in a views_stream.
 */
#ifndef VIEWS_H
#define VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "exchange.h"
#include "market.h"
#include "sbuf.h"

/* One fill of an order, as the execution item shows it. */
typedef struct views_fill {
    const char *exec_id;
    int64_t qty, px, closed; /* steps, ticks, steps of the position closed */
    double value, fee, rate; /* USDT, USDT, fee rate */
    int maker;
    int64_t time_ms;
} views_fill;

/* The account totals that a wallet item shows (computed by the engine). */
typedef struct views_totals {
    double equity, wallet, im, realised;
} views_totals;

/* One public trade of a publicTrade message. */
typedef struct views_trade {
    int64_t px, qty;
    int taker_buy;
    const char *dir; /* tick direction */
    char id[40];
} views_trade;

/* An order item (GET /v5/order/realtime, the private "order" topic with category). */
cJSON *views_order(const market *m, const exch_order *o, int category);
/* {"orderId", "orderLinkId"} (cancel-all lists). */
cJSON *views_order_ids(const exch_order *o);
/* An item of the private "execution" topic. */
cJSON *views_execution(const market *m, const exch_order *o, const views_fill *f);
/* A position item (GET /v5/position/list, the private "position" topic with category). */
cJSON *views_position(const market *m, const exch_position *p, double leverage, int category);
/* A wallet item (GET /v5/account/wallet-balance list, the private "wallet" topic). */
cJSON *views_wallet(const views_totals *t);
/* An instrument item (GET /v5/market/instruments-info). */
cJSON *views_instrument(const market *m);
/* The result of GET /v5/market/orderbook: {s,b,a,ts,u,seq,cts}, u and seq the market's seq,
 * cts its book clock. */
cJSON *views_orderbook(const market *m, const market_level *b, unsigned nb, const market_level *a,
                       unsigned na, int64_t ts);

/* A publicTrade message of n trades. 0, or sbuf's code. */
int views_trades_msg(sbuf *s, const market *m, const char *topic, const views_trade *t, unsigned n,
                     int64_t now_ms);

/* ---- the public book feed ----
 * A stream (one topic "orderbook.{depth}.{symbol}") keeps the levels it last published, u
 * (+1 per message, 1 for the first snapshot) and seq (the market's seq of that message). */
typedef struct views_stream {
    int depth;
    int published; /* 0: the next message is a snapshot */
    uint64_t u, seq;
    market_level *b, *a; /* depth levels each */
    unsigned nb, na;
    char topic[48];
} views_stream;

/* Allocates the level arrays of a stream of depth levels for symbol sym. 0 or ERR_NOMEM
 * (views_stream_free cleans up either way). */
int views_stream_init(views_stream *st, int depth, const char *sym);
void views_stream_free(views_stream *st);
/* The next message is a snapshot with u 1 (a new run or Bybit's service restart); keep_seq 0
 * also forgets seq and the levels. */
void views_stream_reset(views_stream *st, int keep_seq);
/* Publishes from the current book (b, a: at least st->depth levels built, best first): a
 * snapshot when unpublished, else a delta of what changed (d_b, d_a: scratch of 2 × depth
 * levels). Returns 1 with the message in s, 0 when nothing changed, or sbuf's code (the
 * stream advanced all the same). */
int views_stream_publish(views_stream *st, const market *m, const market_level *b, unsigned nb,
                         const market_level *a, unsigned na, market_level *d_b, market_level *d_a,
                         int64_t now_ms, sbuf *s);
/* The snapshot of what the stream last published, with its u and seq, into s. 0 or sbuf's
 * code. */
int views_stream_snapshot(const views_stream *st, const market *m, int64_t now_ms, sbuf *s);

#endif
