/* scrape: periodic fetch of a Prometheus endpoint into samples.db. See scrape.h. */
#include "scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpget.h"
#include "promtext.h"

#define SCRAPE_MAX_BODY (4u * 1024 * 1024)

struct scrape {
    uv_loop_t *loop;
    store *db;
    runstate *rs;
    char url[512];
    char shown_url[512]; /* url without credentials, for events */
    uint64_t timeout_ms;
    unsigned max_series;
    uv_timer_t timer;
    uv_work_t work;
    int in_flight;
    int stopping;
    /* result of the work, read on the loop */
    sbuf body;
    int rc;
    long status;
    char err[256];
    double t;
    unsigned stored;
    int last_failed;
};

static void scrape_work(uv_work_t *w)
{
    scrape *sc = w->data;
    sbuf_reset(&sc->body);
    sc->err[0] = '\0';
    sc->rc = httpget_fetch(sc->url, (unsigned)sc->timeout_ms, SCRAPE_MAX_BODY, &sc->body,
                           &sc->status, sc->err, sizeof sc->err);
}

static int scrape_on_sample(void *ud, const promtext_parsed *p)
{
    scrape *sc = ud;
    if (sc->stored >= sc->max_series)
        return 1;
    store_metric(sc->db, sc->t, p->name, p->labels, p->value);
    sc->stored++;
    return 0;
}

static void scrape_free(scrape *sc)
{
    sbuf_free(&sc->body);
    free(sc);
}

static void scrape_timer_closed(uv_handle_t *h)
{
    scrape *sc = h->data;
    if (!sc->in_flight)
        scrape_free(sc);
}

static void scrape_done(uv_work_t *w, int status)
{
    scrape *sc = w->data;
    sc->in_flight = 0;
    if (sc->stopping) {
        if (uv_is_closing((uv_handle_t *)&sc->timer))
            scrape_free(sc);
        return;
    }
    (void)status;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sc->t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    sc->rs->scrapes++;
    if (sc->rc != 0 || sc->status != 200) {
        sc->rs->scrape_errors++;
        if (!sc->last_failed) { /* one event per outage, not per scrape */
            char d[400];
            if (sc->rc != 0)
                snprintf(d, sizeof d, "%s", sc->err);
            else
                snprintf(d, sizeof d, "'%s' answered HTTP %ld", sc->shown_url, sc->status);
            store_event(sc->db, sc->t, STORE_EV_SCRAPE_FAILED, 0, d, 0);
        }
        sc->last_failed = 1;
        return;
    }
    if (sc->last_failed)
        store_event(sc->db, sc->t, STORE_EV_SCRAPE_OK, 0, sc->shown_url, 0);
    sc->last_failed = 0;
    sc->stored = 0;
    if (sc->rs->db_capped)
        return; /* the folder is at its quota: scraped, counted, not stored */
    store_begin(sc->db);
    promtext_parse_stats st;
    promtext_parse(sc->body.data ? sc->body.data : "", sc->body.len, scrape_on_sample, sc, &st);
    store_commit(sc->db);
    sc->rs->scraped_samples += sc->stored;
}

static void scrape_tick(uv_timer_t *t)
{
    scrape *sc = t->data;
    if (sc->in_flight)
        return;
    sc->in_flight = 1;
    sc->work.data = sc;
    if (uv_queue_work(sc->loop, &sc->work, scrape_work, scrape_done) != 0)
        sc->in_flight = 0;
}

scrape *scrape_start(uv_loop_t *loop, store *db, const char *url, uint64_t interval_ms,
                     uint64_t timeout_ms, unsigned max_series, runstate *rs)
{
    scrape *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->loop = loop;
    sc->db = db;
    sc->rs = rs;
    snprintf(sc->url, sizeof sc->url, "%s", url);
    httpget_redact_url(url, sc->shown_url, sizeof sc->shown_url);
    sc->timeout_ms = timeout_ms;
    sc->max_series = max_series;
    sbuf_init(&sc->body, SCRAPE_MAX_BODY);
    uv_timer_init(loop, &sc->timer);
    sc->timer.data = sc;
    uv_timer_start(&sc->timer, scrape_tick, 1000, interval_ms ? interval_ms : 15000);
    return sc;
}

void scrape_stop(scrape *sc)
{
    if (!sc)
        return;
    sc->stopping = 1;
    uv_timer_stop(&sc->timer);
    uv_close((uv_handle_t *)&sc->timer, scrape_timer_closed);
}
