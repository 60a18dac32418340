/* statewr: the writer thread of the state database. See statewr.h for the contract. */
#include "statewr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errcode.h"
#include "prefault.h"

/* One queued write. A reservation of n rows is n entries in a row, the first with group n. */
typedef struct entry {
    statewr_kind kind;
    unsigned group; /* STATEWR_RESERVE: rows of the reservation in its first entry, else 0 */
    int want;
    uint64_t tag;
    int64_t now_ms;
    char if_status[24];
    union {
        mmstate_order order;
        mmstate_fill fill;
        struct {
            char link_id[MMSTATE_LINK_ID], status[24], order_id[64];
            int terminal;
        } upd;
    } u;
} entry;

struct statewr {
    mmstate *db;
    statewr_config cfg;
    statewr_result_fn on_result;
    void *result_ud;
    statewr_notify_fn notify;
    void *notify_ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv_writer; /* entries queued, results taken, stop */
    pthread_cond_t cv_loop;   /* room made, results waiting, entries written */
    /* under mu */
    entry *q;
    unsigned head, count; /* ring of cfg.cap entries */
    statewr_result *res;
    unsigned res_head, res_count; /* ring of cfg.cap results */
    unsigned inflight;            /* entries taken by the writer, not yet written */
    int stop;
    statewr_stats st;
    /* writer thread only */
    entry *batch;
    mmstate_order *rows; /* a reservation, contiguous */
    statewr_result *out; /* the outcomes of a batch that are reported */
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned clamp_us(uint64_t us)
{
    return us > 0xffffffffu ? 0xffffffffu : (unsigned)us;
}

void statewr_config_default(statewr_config *c)
{
    c->cap = STATEWR_CAP;
    c->batch_max = STATEWR_BATCH_MAX;
}

/* ---- writer thread ---- */

/* Queues a result (mu held); waits while the results are full. */
static void push_result(statewr *w, const statewr_result *r)
{
    while (w->res_count == w->cfg.cap) {
        pthread_cond_broadcast(&w->cv_loop); /* a loop waiting for room takes them */
        pthread_cond_wait(&w->cv_writer, &w->mu);
    }
    w->res[(w->res_head + w->res_count) % w->cfg.cap] = *r;
    w->res_count++;
}

/* Writes entry e (and, for a reservation, the n-1 that follow it in the batch); fills r. */
static void apply(statewr *w, const entry *e, unsigned n, statewr_result *r)
{
    mmstate *s = w->db;
    char *err = r->err;
    size_t el = sizeof r->err;
    switch (e->kind) {
    case STATEWR_ORDER_NEW:
        r->rc = mmstate_order_new(s, &e->u.order, e->now_ms, err, el);
        break;
    case STATEWR_RESERVE:
        for (unsigned i = 0; i < n; i++)
            w->rows[i] = e[i].u.order;
        r->n = n;
        r->rc = mmstate_order_new_many(s, w->rows, n, e->now_ms, err, el);
        break;
    case STATEWR_DETAILS:
        r->rc = mmstate_order_details_many(s, &e->u.order, 1, e->if_status, e->now_ms, err, el);
        break;
    case STATEWR_UPDATE: {
        mmstate_update u = {.link_id = e->u.upd.link_id,
                            .status = e->u.upd.status,
                            .order_id = e->u.upd.order_id,
                            .terminal = e->u.upd.terminal};
        r->rc = mmstate_order_update_many(s, &u, 1, e->now_ms, &r->missing, err, el);
        break;
    }
    case STATEWR_SET:
        r->rc = mmstate_order_update(s, e->u.upd.link_id, e->u.upd.status, e->u.upd.terminal,
                                     e->u.upd.order_id, e->now_ms, err, el);
        break;
    case STATEWR_FILL: {
        int rc = mmstate_fill_add(s, &e->u.fill, err, el);
        r->rc = rc < 0 ? rc : 0;
        break;
    }
    case STATEWR_PRUNE: {
        int rc = mmstate_prune(s, e->now_ms, err, el);
        r->rc = rc < 0 ? rc : 0;
        r->n = rc > 0 ? (unsigned)rc : 0;
        break;
    }
    }
}

/* How many entries e stands for: the rows of a reservation, else 1. */
static unsigned span(const entry *e)
{
    return e->kind == STATEWR_RESERVE && e->group ? e->group : 1;
}

/* The result of entry e (of span n) before it is written: rc 0, or rc and msg when the
 * transaction failed. */
static statewr_result result_of(const entry *e, unsigned n, int rc, const char *msg)
{
    static const statewr_result zero;
    statewr_result r = zero;
    r.kind = e->kind;
    r.tag = e->tag;
    r.rc = rc;
    r.n = e->kind == STATEWR_RESERVE ? n : 0;
    if (rc)
        snprintf(r.err, sizeof r.err, "%s", msg);
    return r;
}

/* Writes the nb entries of w->batch in one transaction and reports them (mu not held). */
static void write_batch(statewr *w, unsigned nb)
{
    uint64_t t0 = mono_us();
    char gerr[STATEWR_ERR_MAX] = "";
    int grc = mmstate_group_begin(w->db, gerr, sizeof gerr);
    /* the outcome of each write that is reported (a failed commit overrides them below) */
    statewr_result *out = w->out;
    unsigned nout = 0;
    size_t missing = 0;
    for (unsigned i = 0; i < nb;) {
        const entry *e = &w->batch[i];
        unsigned n = span(e);
        statewr_result r = result_of(e, n, grc, gerr);
        if (grc == 0)
            apply(w, e, n, &r);
        missing += r.missing;
        if (r.rc != 0 || e->want || e->kind == STATEWR_RESERVE)
            out[nout++] = r;
        i += n;
    }
    int commit = grc == 0 ? mmstate_group_end(w->db, gerr, sizeof gerr) : grc;
    unsigned us = clamp_us(mono_us() - t0);
    mmstate_stats dbst;
    mmstate_get_stats(w->db, &dbst);

    pthread_mutex_lock(&w->mu);
    if (commit != 0) { /* nothing of the batch is stored: every write failed */
        nout = 0;
        for (unsigned i = 0; i < nb;) {
            unsigned n = span(&w->batch[i]);
            statewr_result r = result_of(&w->batch[i], n, commit, gerr);
            push_result(w, &r);
            w->st.errors++;
            i += n;
        }
        missing = 0;
    } else {
        for (unsigned i = 0; i < nout; i++) {
            if (out[i].rc != 0)
                w->st.errors++;
            out[i].missing = 0;
            push_result(w, &out[i]);
        }
    }
    if (missing) {
        entry upd = {.kind = STATEWR_UPDATE};
        statewr_result r = result_of(&upd, 1, 0, NULL);
        r.missing = missing;
        push_result(w, &r);
    }
    w->inflight = 0;
    w->st.written += nb;
    w->st.batches++;
    w->st.batch_us_last = us;
    if (us > w->st.batch_us_max)
        w->st.batch_us_max = us;
    if (nb > w->st.batch_max_seen)
        w->st.batch_max_seen = nb;
    w->st.db = dbst;
    int waiting = w->res_count > 0;
    pthread_cond_broadcast(&w->cv_loop);
    pthread_mutex_unlock(&w->mu);
    if (waiting && w->notify)
        w->notify(w->notify_ud);
}

static void *writer_main(void *arg)
{
    statewr *w = arg;
    mmstate_background_thread();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->count && !w->stop)
            pthread_cond_wait(&w->cv_writer, &w->mu);
        if (!w->count && w->stop)
            break;
        /* take whole reservations only, at most batch_max entries */
        unsigned nb = 0;
        while (nb < w->count) {
            unsigned n = span(&w->q[(w->head + nb) % w->cfg.cap]);
            if (nb + n > w->cfg.batch_max)
                break;
            for (unsigned k = 0; k < n; k++)
                w->batch[nb + k] = w->q[(w->head + nb + k) % w->cfg.cap];
            nb += n;
        }
        w->head = (w->head + nb) % w->cfg.cap;
        w->count -= nb;
        w->inflight = nb;
        w->st.depth = w->count;
        pthread_cond_broadcast(&w->cv_loop);
        pthread_mutex_unlock(&w->mu);
        write_batch(w, nb);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- loop thread ---- */

/* Frees w and its buffers (sync: its mutex and conditions were initialised). */
static void free_all(statewr *w, int sync)
{
    if (sync) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv_writer);
        pthread_cond_destroy(&w->cv_loop);
    }
    free(w->q);
    free(w->res);
    free(w->batch);
    free(w->rows);
    free(w->out);
    free(w);
}

int statewr_start(statewr **out, mmstate *db, const statewr_config *cfg,
                  statewr_result_fn on_result, void *result_ud, statewr_notify_fn notify,
                  void *notify_ud)
{
    *out = NULL;
    if (!db || !on_result)
        return ERR_INVAL;
    statewr *w = calloc(1, sizeof *w);
    if (!w)
        return ERR_NOMEM;
    statewr_config_default(&w->cfg);
    if (cfg)
        w->cfg = *cfg;
    if (w->cfg.cap == 0)
        w->cfg.cap = STATEWR_CAP;
    if (w->cfg.cap > STATEWR_CAP_MAX)
        w->cfg.cap = STATEWR_CAP_MAX;
    if (w->cfg.batch_max == 0 || w->cfg.batch_max > STATEWR_BATCH_MAX)
        w->cfg.batch_max = STATEWR_BATCH_MAX;
    if (w->cfg.batch_max > w->cfg.cap)
        w->cfg.batch_max = w->cfg.cap;
    w->db = db;
    w->on_result = on_result;
    w->result_ud = result_ud;
    w->notify = notify;
    w->notify_ud = notify_ud;
    w->st.cap = w->cfg.cap;
    mmstate_get_stats(db, &w->st.db);
    w->q = calloc(w->cfg.cap, sizeof *w->q);
    w->res = calloc(w->cfg.cap, sizeof *w->res);
    w->batch = calloc(w->cfg.batch_max, sizeof *w->batch);
    w->rows = calloc(w->cfg.batch_max, sizeof *w->rows);
    w->out = calloc(w->cfg.batch_max, sizeof *w->out);
    if (!w->q || !w->res || !w->batch || !w->rows || !w->out) {
        free_all(w, 0);
        return ERR_NOMEM;
    }
    /* the rings go round: resident now, not over the first minutes (lib/prefault.h) */
    prefault(w->q, w->cfg.cap * sizeof *w->q);
    prefault(w->res, w->cfg.cap * sizeof *w->res);
    prefault(w->batch, w->cfg.batch_max * sizeof *w->batch);
    prefault(w->rows, w->cfg.batch_max * sizeof *w->rows);
    prefault(w->out, w->cfg.batch_max * sizeof *w->out);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv_writer, NULL);
    pthread_cond_init(&w->cv_loop, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        free_all(w, 1);
        return ERR_IO;
    }
    *out = w;
    return 0;
}

/* Delivers the waiting results with mu held on entry and exit (released around each
 * callback). */
static size_t deliver(statewr *w)
{
    size_t k = 0;
    while (w->res_count) {
        statewr_result r = w->res[w->res_head];
        w->res_head = (w->res_head + 1) % w->cfg.cap;
        w->res_count--;
        pthread_cond_signal(&w->cv_writer);
        pthread_mutex_unlock(&w->mu);
        w->on_result(w->result_ud, &r);
        k++;
        pthread_mutex_lock(&w->mu);
    }
    return k;
}

/* Waits (mu held) until cond holds, delivering results meanwhile; returns the time waited. */
static uint64_t wait_until(statewr *w, int (*cond)(const statewr *w, unsigned n), unsigned n)
{
    uint64_t t0 = mono_us();
    for (;;) {
        deliver(w);
        if (cond(w, n))
            break;
        pthread_cond_wait(&w->cv_loop, &w->mu);
    }
    return mono_us() - t0;
}

static int has_room(const statewr *w, unsigned n)
{
    return w->cfg.cap - w->count >= n;
}

static int all_written(const statewr *w, unsigned n)
{
    (void)n;
    return w->count == 0 && w->inflight == 0;
}

static void note_wait(statewr *w, uint64_t us)
{
    unsigned u = clamp_us(us);
    if (u > w->st.wait_us_max)
        w->st.wait_us_max = u;
}

/* Copies the n entries e into the queue, waiting for room (counted) when it is full. */
static int enqueue(statewr *w, const entry *e, unsigned n)
{
    if (!w || n == 0 || n > w->cfg.batch_max)
        return ERR_INVAL;
    pthread_mutex_lock(&w->mu);
    if (!has_room(w, n)) {
        w->st.full++;
        note_wait(w, wait_until(w, has_room, n));
    }
    for (unsigned k = 0; k < n; k++)
        w->q[(w->head + w->count + k) % w->cfg.cap] = e[k];
    w->count += n;
    w->st.enqueued += n;
    w->st.depth = w->count;
    if (w->count > w->st.depth_max)
        w->st.depth_max = w->count;
    pthread_cond_signal(&w->cv_writer);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void base(entry *e, statewr_kind k, int64_t now_ms, uint64_t tag, int want)
{
    memset(e, 0, sizeof *e);
    e->kind = k;
    e->now_ms = now_ms;
    e->tag = tag;
    e->want = want;
}

int statewr_order_new(statewr *w, const mmstate_order *o, int64_t now_ms, uint64_t tag, int want)
{
    if (!o)
        return ERR_INVAL;
    entry e;
    base(&e, STATEWR_ORDER_NEW, now_ms, tag, want);
    e.u.order = *o;
    return enqueue(w, &e, 1);
}

int statewr_reserve(statewr *w, const mmstate_order *o, unsigned n, int64_t now_ms, uint64_t tag)
{
    if (!w || !o || n == 0 || n > w->cfg.batch_max)
        return ERR_INVAL;
    entry *e = calloc(n, sizeof *e);
    if (!e)
        return ERR_NOMEM;
    for (unsigned i = 0; i < n; i++) {
        base(&e[i], STATEWR_RESERVE, now_ms, tag, 1);
        e[i].u.order = o[i];
    }
    e[0].group = n;
    int rc = enqueue(w, e, n);
    free(e);
    return rc;
}

int statewr_details(statewr *w, const mmstate_order *o, const char *if_status, int64_t now_ms)
{
    if (!o || !if_status)
        return ERR_INVAL;
    entry e;
    base(&e, STATEWR_DETAILS, now_ms, 0, 0);
    e.u.order = *o;
    snprintf(e.if_status, sizeof e.if_status, "%s", if_status);
    return enqueue(w, &e, 1);
}

static int change(statewr *w, statewr_kind k, const char *link_id, const char *status, int terminal,
                  const char *order_id, int64_t now_ms)
{
    if (!link_id || !status)
        return ERR_INVAL;
    entry e;
    base(&e, k, now_ms, 0, 0);
    snprintf(e.u.upd.link_id, sizeof e.u.upd.link_id, "%s", link_id);
    snprintf(e.u.upd.status, sizeof e.u.upd.status, "%s", status);
    snprintf(e.u.upd.order_id, sizeof e.u.upd.order_id, "%s", order_id ? order_id : "");
    e.u.upd.terminal = terminal;
    return enqueue(w, &e, 1);
}

int statewr_update(statewr *w, const char *link_id, const char *status, int terminal,
                   const char *order_id, int64_t now_ms)
{
    return change(w, STATEWR_UPDATE, link_id, status, terminal, order_id, now_ms);
}

int statewr_set(statewr *w, const char *link_id, const char *status, int terminal,
                const char *order_id, int64_t now_ms)
{
    return change(w, STATEWR_SET, link_id, status, terminal, order_id, now_ms);
}

int statewr_fill(statewr *w, const mmstate_fill *f)
{
    if (!f)
        return ERR_INVAL;
    entry e;
    base(&e, STATEWR_FILL, 0, 0, 0);
    e.u.fill = *f;
    return enqueue(w, &e, 1);
}

int statewr_prune(statewr *w, int64_t now_ms)
{
    entry e;
    base(&e, STATEWR_PRUNE, now_ms, 0, 0);
    return enqueue(w, &e, 1);
}

size_t statewr_poll(statewr *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    size_t k = deliver(w);
    pthread_mutex_unlock(&w->mu);
    return k;
}

static void flush(statewr *w, int counted)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    uint64_t us = wait_until(w, all_written, 0);
    if (counted) {
        w->st.syncs++;
        note_wait(w, us);
    }
    pthread_mutex_unlock(&w->mu);
}

void statewr_sync(statewr *w)
{
    flush(w, 1);
}

void statewr_flush(statewr *w)
{
    flush(w, 0);
}

int statewr_busy(const statewr *w)
{
    statewr *m = (statewr *)w; /* the mutex, not the state */
    pthread_mutex_lock(&m->mu);
    int busy = m->count || m->inflight;
    pthread_mutex_unlock(&m->mu);
    return busy;
}

void statewr_stop(statewr *w)
{
    if (!w)
        return;
    statewr_flush(w);
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv_writer);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    statewr_poll(w); /* nothing was queued after the flush: this delivers nothing new */
    free_all(w, 1);
}

void statewr_get_stats(statewr *w, statewr_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    pthread_mutex_unlock(&w->mu);
}
