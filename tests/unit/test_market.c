/* Tests of market: a seed replays the same walk, book and taker flow; the synthetic book keeps
 * its shape (best bid below best ask, sizes in whole min quantities, taken liquidity stays
 * taken until the level refreshes); the numbers parse and print as Bybit's strings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "market.h"

#define T0 1700000000000LL

static void mk(market *m, uint64_t seed)
{
    market_instr in;
    assert_int_equal(market_default_instr(0, &in), 0);
    market_init(m, 0, &in, seed, 200, 5);
    market_start(m, T0);
}

typedef struct flow {
    int n;
    uint64_t h; /* hash of (side, qty) of every taker trade */
} flow;

static void on_take(void *ud, market *m, int buy, int64_t qty)
{
    (void)m;
    flow *f = ud;
    f->n++;
    f->h = market_mix64(f->h ^ (uint64_t)qty ^ (uint64_t)buy << 62);
}

/* One run: the mid, the top of the book and the taker flow of every step, folded into a hash. */
static uint64_t run(uint64_t seed, int steps, flow *f)
{
    market m;
    mk(&m, seed);
    prng r;
    prng_seed(&r, seed);
    uint64_t h = 0;
    int64_t t = T0;
    for (int i = 0; i < steps; i++) {
        t += 20;
        market_advance(&m, &r, 0.05, t);
        market_taker_flow(&m, &r, 50, 20, on_take, f);
        int64_t bpx, bsz, apx, asz;
        assert_true(market_syn_best(&m, 0, &bpx, &bsz));
        assert_true(market_syn_best(&m, 1, &apx, &asz));
        assert_true(bpx < apx);
        uint64_t mid;
        memcpy(&mid, &m.mid, sizeof mid);
        h = market_mix64(h ^ mid ^ (uint64_t)bpx * 31 ^ (uint64_t)bsz * 7 ^ (uint64_t)asz);
    }
    assert_int_equal(m.seq, (uint64_t)steps);
    return h;
}

static void test_seed_replays(void **state)
{
    (void)state;
    flow a = {0, 0}, b = {0, 0}, c = {0, 0};
    uint64_t ha = run(42, 2000, &a), hb = run(42, 2000, &b), hc = run(43, 2000, &c);
    assert_true(ha == hb);
    assert_int_equal(a.n, b.n);
    assert_true(a.h == b.h);
    assert_true(ha != hc); /* another seed, another market */
    /* 50 trades/s for 40 s: about 2000 */
    assert_true(a.n > 1500 && a.n < 2500);
}

static void test_walk_moves_and_stays_in_range(void **state)
{
    (void)state;
    market m;
    mk(&m, 7);
    prng r;
    prng_seed(&r, 7);
    int64_t t = T0;
    double lo = m.mid, hi = m.mid;
    for (int i = 0; i < 5000; i++) {
        t += 1000;
        market_advance(&m, &r, 0.5, t);
        lo = m.mid < lo ? m.mid : lo;
        hi = m.mid > hi ? m.mid : hi;
        assert_int_equal(m.ask0, m.bid0 + 1);
        assert_true(m.bid0 >= m.in.min_px && m.ask0 <= m.in.max_px);
        assert_true(fabs((double)m.bid0 * m.tick - m.mid) <= m.tick);
    }
    assert_true(hi > lo); /* it walked */
    /* no time, no move; time never runs backwards */
    double mid = m.mid;
    market_advance(&m, &r, 0.5, t);
    assert_true(m.mid == mid);
    market_advance(&m, &r, 0.5, t - 5000);
    assert_true(m.mid == mid);
    assert_int_equal(m.book_ms, t);
    /* volatility 0: the mid stays */
    market_advance(&m, &r, 0, t + 60000);
    assert_true(m.mid == mid);
}

static void test_consume_until_refresh(void **state)
{
    (void)state;
    market m;
    mk(&m, 9);
    int64_t px = m.ask0 + 3, sz = market_syn_size(&m, px);
    assert_true(sz > 0 && sz % m.in.min_qty == 0);
    assert_true(sz <= m.in.min_qty * 20); /* 1..4 x the mean of 5 */
    market_consume(&m, px, 1);
    assert_int_equal(market_syn_size(&m, px), sz - 1);
    market_consume(&m, px, sz);
    assert_int_equal(market_syn_size(&m, px), 0);
    /* after a refresh period every level has a new epoch: the consumption is forgotten */
    prng r;
    prng_seed(&r, 1);
    market_advance(&m, &r, 0, T0 + MARKET_REFRESH_MS);
    assert_int_equal(m.ncons, 0);
    assert_true(market_syn_size(&m, px) > 0);
    /* outside the instrument's range: nothing */
    assert_int_equal(market_syn_size(&m, 0), 0);
    assert_int_equal(market_syn_size(&m, m.in.max_px + 1), 0);
    /* the table is bounded: the oldest entry goes */
    for (int i = 0; i < MARKET_MAX_CONS + 10; i++)
        market_consume(&m, m.ask0 + i, 1);
    assert_int_equal(m.ncons, MARKET_MAX_CONS);
}

static void test_merge(void **state)
{
    (void)state;
    market m;
    mk(&m, 11);
    /* an account level inside the spread comes first; one at a synthetic price adds up */
    int64_t s1 = market_syn_size(&m, m.bid0);
    market_level ag[2] = {{m.bid0 + 1000, 5}, {m.bid0, 2}};
    /* bids best first: bid0+1000 is above the book (a crossing bid is allowed here) */
    market_level out[10];
    unsigned n = market_merge(&m, 0, ag, 2, 10, out);
    assert_int_equal(n, 10);
    assert_int_equal(out[0].px, m.bid0 + 1000);
    assert_int_equal(out[0].sz, 5);
    assert_int_equal(out[1].px, m.bid0);
    assert_int_equal(out[1].sz, s1 + 2);
    for (unsigned i = 1; i < n; i++)
        assert_true(out[i].px < out[i - 1].px);
    n = market_merge(&m, 1, NULL, 0, 3, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].px, m.ask0);
}

static void test_tick_direction(void **state)
{
    (void)state;
    market m;
    mk(&m, 1);
    assert_string_equal(market_tick_dir(&m, 100), "PlusTick"); /* the first one */
    assert_string_equal(market_tick_dir(&m, 100), "ZeroPlusTick");
    assert_string_equal(market_tick_dir(&m, 99), "MinusTick");
    assert_string_equal(market_tick_dir(&m, 99), "ZeroMinusTick");
    assert_string_equal(market_tick_dir(&m, 99), "ZeroMinusTick");
    assert_string_equal(market_tick_dir(&m, 101), "PlusTick");
}

static void test_numbers(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(market_parse_dec("0.010", 3, 1000000, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(market_parse_dec("60000.5", 1, INT64_MAX / 4, &v), 0);
    assert_int_equal(v, 600005);
    assert_int_equal(market_parse_dec("12", 2, 100000, &v), 0);
    assert_int_equal(v, 1200);
    assert_int_equal(market_parse_dec("0.0100", 3, 1000000, &v), 0); /* trailing zeros ok */
    assert_int_equal(market_parse_dec("0.0015", 3, 1000000, &v), ERR_INVAL);
    assert_int_equal(market_parse_dec("1e3", 3, 1000000, &v), ERR_PARSE);
    assert_int_equal(market_parse_dec("-1", 3, 1000000, &v), ERR_PARSE);
    assert_int_equal(market_parse_dec("1.", 3, 1000000, &v), ERR_PARSE);
    assert_int_equal(market_parse_dec("", 3, 1000000, &v), ERR_PARSE);
    assert_int_equal(market_parse_dec(NULL, 3, 1000000, &v), ERR_PARSE);
    assert_int_equal(market_parse_dec("1001", 3, 1000000, &v), ERR_RANGE);
    assert_int_equal(market_parse_dec("9999999999999", 0, INT64_MAX, &v), ERR_RANGE);
    char b[32];
    market_fmt_fixed(b, sizeof b, 600005, 1);
    assert_string_equal(b, "60000.5");
    market_fmt_fixed(b, sizeof b, 10, 3);
    assert_string_equal(b, "0.010");
    market_fmt_fixed(b, sizeof b, -25, 2);
    assert_string_equal(b, "-0.25");
    market_fmt_fixed(b, sizeof b, 7, 0);
    assert_string_equal(b, "7");
    market_fmt_num(b, sizeof b, 0.33000000, 8);
    assert_string_equal(b, "0.33");
    market_fmt_num(b, sizeof b, -12.5, 8);
    assert_string_equal(b, "-12.5");
    market_fmt_num(b, sizeof b, -0.000000001, 8);
    assert_string_equal(b, "0");
    market_fmt_num(b, sizeof b, NAN, 8);
    assert_string_equal(b, "0");
    market m;
    mk(&m, 1);
    market_fmt_px(&m, b, sizeof b, 60000.04999);
    assert_string_equal(b, "60000.0");
}

static void test_default_instruments(void **state)
{
    (void)state;
    market_instr in;
    assert_int_equal(market_default_instr(0, &in), 0);
    assert_string_equal(in.sym, "BTCUSDT");
    assert_int_equal(in.pdec, 1);
    assert_int_equal(in.qdec, 3);
    assert_int_equal(market_default_instr(1, &in), 0);
    assert_string_equal(in.sym, "ETHUSDT");
    assert_int_equal(market_default_instr(MARKET_NUM_DEFAULT, &in), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_replays),
        cmocka_unit_test(test_walk_moves_and_stays_in_range),
        cmocka_unit_test(test_consume_until_refresh),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_tick_direction),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_default_instruments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
