/* simharness: the socket-less bybit-sim of the fuzz targets (see simharness.h). */
#include "simharness.h"

#include <stdlib.h>
#include <string.h>

static int drop(void *h, const char *m, size_t n)
{
    (void)h, (void)m, (void)n;
    return 0;
}

static size_t queued(void *h)
{
    (void)h;
    return 0;
}

static void close_conn(void *h, int c, const char *r)
{
    (void)h, (void)c, (void)r;
}

static void reset_conn(void *h)
{
    (void)h;
}

sim *simharness_new_io(uint64_t seed, faults *f, const sim_io *io, int64_t t0)
{
    char err[256];
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    exch_opts_default(&cfg.market);
    cfg.market.seed = seed;
    cfg.order_limit_per_s = 1000;
    cfg.query_limit_per_s = 1000;
    cfg.ws_idle_ms = 600000;
    cfg.ws_max_conns = 10;
    cfg.ws_max_topics = 20;
    cfg.ws_max_queue = 1 << 20;
    sim *s = sim_new(&cfg, f, io, t0, err, sizeof err);
    if (!s || sim_add_account(s, FUZZ_KEY, FUZZ_SECRET, 1e6))
        abort();
    return s;
}

sim *simharness_new(uint64_t seed, faults *f, int (*send)(void *h, const char *m, size_t n))
{
    sim_io io = {send ? send : drop, queued, close_conn, reset_conn};
    return simharness_new_io(seed, f, &io, FUZZ_T0);
}
