/*
 * scrape: fetch the service's Prometheus endpoint on its own interval and store every sample
 * (name, labels, value, time) in samples.db, so gates can use ws_reconnect_attempts_total or
 * latency_ms{stage="rest"}. The HTTP request runs on libuv's thread pool, never on the loop;
 * one scrape is in flight at most.
 */
#ifndef SOAK_SCRAPE_H
#define SOAK_SCRAPE_H

#include <stdint.h>
#include <uv.h>

#include "runstate.h"
#include "store.h"

typedef struct scrape scrape;

/* Borrowed: db and rs (counters scrapes, scrape_errors, scraped_samples) outlive the scraper.
 * Returns NULL when out of memory. */
scrape *scrape_start(uv_loop_t *loop, store *db, const char *url, uint64_t interval_ms,
                     uint64_t timeout_ms, unsigned max_series, runstate *rs);
/* Stops the timer; a scrape in flight finishes on the pool and is then freed when the loop
 * runs its callbacks. Accepts NULL. */
void scrape_stop(scrape *sc);

#endif
