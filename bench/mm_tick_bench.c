/* mm-tick-bench: mmbot's tick to order in-process, by stage, as NautilusTrader publishes for its
 * adapters: from an orderbook WebSocket frame in memory to the signed create request that goes
 * to libcurl.
 *
 *   parse      msg_ws_kind + msg_book_update (the frame to a book update)
 *   book       engine_book (the update applied to the local book, the estimator fed)
 *   decision   engine_tick (gates, strategy quotes, requote decision, order table, pacing)
 *   sign       every CREATE of the tick: JSON body and X-BAPI-SIGN (HMAC-SHA256), as bot.c and
 *              restc.c build them
 *   total      the sum, per frame that produced an order
 *
 * Each frame is a delta that moves the book 100 ticks up or down (20 levels change), so that
 * every frame is a requote: cancel two orders, create two. The clock advances 100 ms a frame
 * (order_refresh_time). Replies and stream items that keep the order table going are fed
 * between frames, outside the timed region. Usage: mm-tick-bench [FRAMES] (default 200000).
 * Run it on a build without sanitizers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bybitsign.h"
#include "engine.h"
#include "loadgen.h"
#include "msg.h"
#include "restc.h"
#include "sbuf.h"

#define NSTAGES 5
#define NBINS   200000 /* 10 ns buckets: up to 2 ms */
#define BIN_NS  10
#define LEVELS  5
#define TICKFX  (BOOK_FX_ONE / 10)

static const char *const names[NSTAGES] = {"parse", "book", "decision", "build+sign", "total"};
static uint64_t hist[NSTAGES][NBINS];
static double sum_ns[NSTAGES];
static uint64_t nrec;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(int s, uint64_t ns)
{
    uint64_t b = ns / BIN_NS;
    hist[s][b < NBINS ? b : NBINS - 1]++;
    sum_ns[s] += (double)ns;
}

/* Levels of book state `which` (0: low, 1: 100 ticks higher), size 0 to remove them. */
static void side(sbuf *b, int64_t base, int dir, int zero)
{
    for (int i = 0; i < LEVELS; i++) {
        char p[32];
        msg_fx_format(base + dir * i * TICKFX, p, sizeof p);
        sbuf_printf(b, "%s[\"%s\",\"%s\"]", i ? "," : "", p, zero ? "0" : "1.5");
    }
}

static void frame(sbuf *b, int snapshot, int64_t u, int from, int to)
{
    int64_t bid[2] = {600000 * TICKFX, 600100 * TICKFX},
            ask[2] = {600001 * TICKFX, 600101 * TICKFX};
    sbuf_reset(b);
    sbuf_printf(b,
                "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"%s\",\"ts\":%lld,\"data\":{\"s\":"
                "\"BTCUSDT\",\"b\":[",
                snapshot ? "snapshot" : "delta", 1800000000000LL + u * 100);
    if (!snapshot) {
        side(b, bid[from], -1, 1);
        sbuf_adds(b, ",");
    }
    side(b, bid[to], -1, 0);
    sbuf_adds(b, "],\"a\":[");
    if (!snapshot) {
        side(b, ask[from], 1, 1);
        sbuf_adds(b, ",");
    }
    side(b, ask[to], 1, 0);
    sbuf_printf(b, "],\"u\":%lld,\"seq\":%lld},\"cts\":%lld}", (long long)u, (long long)u * 3,
                1800000000000LL + u * 100);
}

/* What the exchange would say back, so that the order table moves on. */
static void answer(engine *e, const engine_cmd *cmds, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        const engine_cmd *c = &cmds[i];
        msg_order m;
        memset(&m, 0, sizeof m);
        snprintf(m.link_id, sizeof m.link_id, "%s", c->link_id);
        snprintf(m.order_id, sizeof m.order_id, "x%s", c->link_id);
        snprintf(m.symbol, sizeof m.symbol, "BTCUSDT");
        m.side = c->side == ORDERS_SELL ? MSG_SELL : MSG_BUY;
        m.px = c->px;
        m.qty = c->qty;
        if (c->kind == ENGINE_CREATE) {
            engine_sent(e, c, now);
            engine_reply(e, c, RESTC_OK, 0, m.order_id, now);
            m.status = MSG_ST_NEW;
            engine_order_item(e, &m, now);
        } else if (c->kind == ENGINE_CANCEL) {
            engine_reply(e, c, RESTC_OK, 0, NULL, now);
            m.status = MSG_ST_CANCELLED;
            engine_order_item(e, &m, now);
        }
    }
}

int main(int argc, char **argv)
{
    long frames = 200000;
    if (argc > 1 && loadgen_long(argv[1], 100, 100000000, &frames) != 0) {
        fprintf(stderr, "usage: mm-tick-bench [FRAMES]  (100 .. 1e8)\n");
        return 2;
    }
    mmopts o;
    mmopts_init(&o);
    o.strategy.order_refresh_time_ms = 100;
    o.strategy.order_refresh_tolerance_pct = 0;
    o.strategy.filled_order_delay_ms = 0;
    o.risk.max_orders_per_second = 100;
    char err[256];
    engine *e = engine_new(&o, 1, 0, err, sizeof err);
    if (!e) {
        fprintf(stderr, "mm-tick-bench: %s\n", err);
        return 3;
    }
    int64_t now = 1800000000000LL;
    msg_instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "BTCUSDT");
    in.trading = 1;
    in.tick = TICKFX;
    in.qty_step = in.min_qty = BOOK_FX_ONE / 1000;
    in.min_notional = 5 * BOOK_FX_ONE;
    engine_instrument(e, &in, now);
    engine_reconciled(e);
    engine_set_private_live(e, 1);

    sbuf text;
    sbuf_init(&text, 1 << 16);
    static book_update up;
    engine_cmd cmds[64];
    size_t n;
    int resub;
    frame(&text, 1, 1, 0, 0);
    msg_book_update(text.data, text.len, &up);
    engine_book(e, &up, now, &resub);
    engine_tick(e, now, cmds, 64, &n);
    answer(e, cmds, n, now);

    const char *secret = "bench-secret-0123456789";
    uint64_t no_order = 0;
    for (long f = 0; f < frames; f++) {
        now += 100;
        int from = (int)(f & 1), to = !from;
        frame(&text, 0, f + 2, from, to);
        uint64_t t0 = now_ns();
        msg_kind k;
        msg_ws_kind(text.data, text.len, &k);
        msg_book_update(text.data, text.len, &up);
        uint64_t t1 = now_ns();
        engine_book(e, &up, now, &resub);
        uint64_t t2 = now_ns();
        engine_tick(e, now, cmds, 64, &n);
        uint64_t t3 = now_ns();
        size_t creates = 0;
        for (size_t i = 0; i < n; i++) {
            const engine_cmd *c = &cmds[i];
            if (c->kind != ENGINE_CREATE)
                continue;
            creates++;
            char px[32], qty[32], body[512], ts[32], sig[BYBITSIGN_HEX];
            msg_fx_format(c->px, px, sizeof px);
            msg_fx_format(c->qty, qty, sizeof qty);
            int len =
                snprintf(body, sizeof body,
                         "{\"category\":\"linear\",\"symbol\":\"%s\",\"side\":\"%s\","
                         "\"orderType\":\"Limit\",\"qty\":\"%s\",\"price\":\"%s\","
                         "\"timeInForce\":\"PostOnly\",\"orderLinkId\":\"%s\"}",
                         c->symbol, c->side == ORDERS_SELL ? "Sell" : "Buy", qty, px, c->link_id);
            snprintf(ts, sizeof ts, "%lld", (long long)now);
            bybitsign_rest(secret, ts, "bench-key", "5000", body, (size_t)len, sig);
        }
        uint64_t t4 = now_ns();
        if (creates) {
            record(0, t1 - t0);
            record(1, t2 - t1);
            record(2, t3 - t2);
            record(3, t4 - t3);
            record(4, t4 - t0);
            nrec++;
        } else {
            no_order++;
        }
        answer(e, cmds, n, now);
    }
    engine_stats st;
    engine_stats_get(e, &st);
    printf("mm-tick-bench: %ld frames, %llu with an order (%llu without), %llu creates, %llu "
           "cancels, %zu open at the end\n",
           frames, (unsigned long long)nrec, (unsigned long long)no_order,
           (unsigned long long)st.creates, (unsigned long long)st.cancels, st.open_orders);
    printf("%-12s %10s %10s %10s %10s\n", "stage", "p50 us", "p99 us", "p99.9 us", "mean us");
    for (int s = 0; s < NSTAGES; s++)
        printf("%-12s %10.2f %10.2f %10.2f %10.2f\n", names[s],
               (double)loadgen_pct(hist[s], NBINS, nrec, 0.50) * BIN_NS / 1000.0,
               (double)loadgen_pct(hist[s], NBINS, nrec, 0.99) * BIN_NS / 1000.0,
               (double)loadgen_pct(hist[s], NBINS, nrec, 0.999) * BIN_NS / 1000.0,
               nrec ? sum_ns[s] / (double)nrec / 1000.0 : 0);
    sbuf_free(&text);
    engine_free(e);
    mmopts_free(&o);
    return nrec ? 0 : 1;
}
