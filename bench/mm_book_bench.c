/* mm-book-bench: the cost of mmbot's orderbook path, parse (msg_book_update) and apply
 * (book_apply), for 50-level deltas of orderbook.50, with cJSON's parse of the same text
 * beside it (the parser the rest of msg.c uses).
 *
 * Each delta is what Bybit sends when the whole top 50 changed: the mid moves by -2..2 ticks,
 * every one of the 50 levels of each side gets a new size, and the levels that left the top 50
 * are removed with size "0" (50 to 52 levels a side). The texts are built outside the timed
 * region. Usage: mm-book-bench [ITERATIONS] (default 100000). Prints p50, p99 and mean in µs
 * per stage; run it on a build without sanitizers (CMAKE_BUILD_TYPE=Release). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "book.h"
#include "loadgen.h"
#include "msg.h"
#include "sbuf.h"

#define DEPTH   50
#define TICK    (BOOK_FX_ONE / 10) /* 0.1 */
#define NBINS   100000             /* 10 ns buckets: up to 1 ms */
#define BIN_NS  10
#define NSTAGES 4

static const char *const stage_names[NSTAGES] = {"parse", "apply", "parse+apply",
                                                 "cJSON parse only"};
static uint64_t hist[NSTAGES][NBINS];
static double sum_ns[NSTAGES];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(int stage, uint64_t ns)
{
    uint64_t b = ns / BIN_NS;
    hist[stage][b < NBINS ? b : NBINS - 1]++;
    sum_ns[stage] += (double)ns;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void level(sbuf *s, int first, int64_t px, int64_t sz)
{
    char p[32], z[32];
    msg_fx_format(px, p, sizeof p);
    msg_fx_format(sz, z, sizeof z);
    sbuf_printf(s, "%s[\"%s\",\"%s\"]", first ? "" : ",", p, z);
}

/* One message: a snapshot, or the delta from best bid old_bb to new_bb. */
static void message(sbuf *s, int snapshot, int64_t u, int64_t old_bb, int64_t new_bb)
{
    sbuf_reset(s);
    sbuf_printf(s,
                "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"%s\",\"ts\":%lld,\"data\":{\"s\":"
                "\"BTCUSDT\",\"b\":[",
                snapshot ? "snapshot" : "delta", 1700000000000LL + u * 20);
    int first = 1;
    for (int i = 0; i < DEPTH; i++, first = 0)
        level(s, first, new_bb - i * TICK, (int64_t)(next() % 20000 + 1) * 100000);
    /* bids that left the top 50 */
    for (int i = 0; i < DEPTH && !snapshot; i++) {
        int64_t px = old_bb - i * TICK;
        if (px > new_bb || px <= new_bb - DEPTH * TICK)
            level(s, 0, px, 0);
    }
    sbuf_adds(s, "],\"a\":[");
    first = 1;
    int64_t old_ba = old_bb + TICK, new_ba = new_bb + TICK;
    for (int i = 0; i < DEPTH; i++, first = 0)
        level(s, first, new_ba + i * TICK, (int64_t)(next() % 20000 + 1) * 100000);
    for (int i = 0; i < DEPTH && !snapshot; i++) {
        int64_t px = old_ba + i * TICK;
        if (px < new_ba || px >= new_ba + DEPTH * TICK)
            level(s, 0, px, 0);
    }
    sbuf_printf(s, "],\"u\":%lld,\"seq\":%lld},\"cts\":%lld}", (long long)u,
                (long long)(u + 1000000), 1700000000000LL + u * 20 - 1);
}

int main(int argc, char **argv)
{
    long iters = 100000;
    if (argc > 2 || (argc == 2 && loadgen_long(argv[1], 1, 100000000, &iters))) {
        fprintf(stderr, "usage: mm-book-bench [ITERATIONS]\n");
        return 2;
    }
    static book b;
    static book_update up;
    sbuf s;
    sbuf_init(&s, 1 << 20);
    if (book_init(&b, "BTCUSDT", DEPTH))
        return 1;
    int64_t bb = 60000 * BOOK_FX_ONE, u = 1;
    book_result r;
    message(&s, 1, u, bb, bb);
    if (msg_book_update(s.data, s.len, &up) || book_apply(&b, &up, 0, &r) || r != BOOK_RESET) {
        fprintf(stderr, "mm-book-bench: the snapshot was not applied\n");
        return 1;
    }
    size_t bytes = 0, levels = 0;
    for (long i = 0; i < iters; i++) {
        int64_t nbb = bb + ((int64_t)(next() % 5) - 2) * TICK;
        message(&s, 0, ++u, bb, nbb);
        bb = nbb;
        bytes += s.len;
        uint64_t t0 = now_ns();
        int rc = msg_book_update(s.data, s.len, &up);
        uint64_t t1 = now_ns();
        rc |= book_apply(&b, &up, (int64_t)i, &r);
        uint64_t t2 = now_ns();
        if (rc || r != BOOK_APPLIED || !book_ready(&b)) {
            fprintf(stderr, "mm-book-bench: delta %lld was not applied\n", (long long)u);
            return 1;
        }
        levels += up.n[0] + up.n[1];
        cJSON *j = cJSON_ParseWithLength(s.data, s.len);
        cJSON_Delete(j);
        uint64_t t3 = now_ns();
        record(0, t1 - t0);
        record(1, t2 - t1);
        record(2, t2 - t0);
        record(3, t3 - t2);
    }
    printf("mm-book-bench: %ld deltas of orderbook.50 (%.1f levels, %zu bytes on average)\n", iters,
           (double)levels / (double)iters, bytes / (size_t)iters);
    printf("%-18s %8s %8s %8s\n", "stage", "p50 us", "p99 us", "mean us");
    for (int k = 0; k < NSTAGES; k++)
        printf("%-18s %8.3f %8.3f %8.3f\n", stage_names[k],
               (double)loadgen_pct(hist[k], NBINS, (uint64_t)iters, 0.50) * BIN_NS / 1000.0,
               (double)loadgen_pct(hist[k], NBINS, (uint64_t)iters, 0.99) * BIN_NS / 1000.0,
               sum_ns[k] / (double)iters / 1000.0);
    sbuf_free(&s);
    return 0;
}
