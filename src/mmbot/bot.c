/* bot: the mechanism of `mmbot run` around the engine. See bot.h. */
#include "bot.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>
#include <uv.h>

#include "engine.h"
#include "errcode.h"
#include "httpd.h"
#include "idpool.h"
#include "mmfault.h"
#include "mmlog.h"
#include "openord.h"
#include "prefault.h"
#include "state.h"
#include "statewr.h"
#include "msg.h"
#include "promtext.h"
#include "restc.h"
#include "watchdog.h"
#include "wsc.h"

#define TICK_MS        100
#define MAX_CMDS       64
#define RECON_TRIES    5    /* start-up: cancel and list again at most this often */
#define SKEW_WARN_FRAC 0.5  /* a clock offset over this share of recv_window is reported */
#define PAUSE_MS       5000 /* quotes pulled this long after a 10016, a 5xx or a maintenance */
#define T2O_BUCKETS    12
#define DETAILS_MAX    128 /* creates with a pooled link id whose row details wait for the tick */
#define STATUS_MAX     256 /* orders whose status change waits for the tick's one commit */

static const double t2o_bounds_ms[T2O_BUCKETS] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
                                                  1,    2,    5,    10,  50,  INFINITY};

typedef enum phase {
    PH_STARTING,  /* time, instruments, positions */
    PH_RECONCILE, /* cancelling an ended run's orders */
    PH_QUOTING,
    PH_SHUTDOWN,
    PH_DONE
} phase;

typedef struct bot bot;

/* What a REST request was for; one per request, freed in its callback. */
typedef enum req_kind {
    RQ_TIME,
    RQ_INSTR,
    RQ_POSITION,
    RQ_WALLET,
    RQ_OPEN,  /* open orders of a symbol: start-up, periodic, shutdown verification */
    RQ_CMD,   /* an engine command */
    RQ_CXALL, /* shutdown cancel-all of a symbol */
    RQ_DCP,
    RQ_RESV, /* start-up: a link id reserved by an ended run, looked up by orderLinkId */
} req_kind;

typedef struct req {
    bot *b;
    req_kind kind;
    size_t sym;
    unsigned gen; /* RQ_OPEN: the listing it is a page of (pg_gen); RQ_RESV: index in resv */
    engine_cmd cmd;
} req;

struct bot {
    const mmopts *o;
    int dry_run;
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int;
    uv_timer_t tick, hb, recon, sd_timer, sd_deadline;
    uv_timer_t fault_leak_t, fault_hang_t; /* fault injection (mmfault.h) */
    mmfault *leak;
    engine *eng;
    mmstate *db;
    statewr *wr; /* the writer thread: every state db write after start-up goes through it */
    restc *rc;
    wsc *pub, *priv;
    httpd *http;
    watchdog *wd;
    phase ph;
    int exit_code;
    int64_t start_ms;
    /* start-up */
    unsigned startup_pending; /* requests of step 1 still out */
    unsigned recon_pending, recon_try;
    unsigned recon_ours_left;
    int recon_failed;
    unsigned char instr_inflight[ENGINE_MAX_SYMBOLS];
    int sd_verifying; /* shutdown: 0 cancelling, 1 verifying */
    int clock_synced;
    int64_t clock_offset_ms;
    char health_reason[256];
    char clock_reason[200]; /* kept apart: it holds while the offset does */
    /* shutdown */
    unsigned sd_pending, sd_try, sd_cancelled, sd_left;
    char sd_left_ids[256];
    /* parse buffers (large: kept here, not on the stack) */
    book_update bu;
    msg_trades trades;
    msg_order_list olist;
    msg_exec_list xlist;
    msg_order_list rlist;
    /* open-orders listings, one per symbol (allocated at the first), paged; a reply of an
     * older listing than pg_gen is dropped */
    openord *pg[ENGINE_MAX_SYMBOLS];
    unsigned pg_gen[ENGINE_MAX_SYMBOLS];
    /* metrics */
    uint64_t malformed[2];
    uint64_t t2o_buckets[T2O_BUCKETS], t2o_count;
    double t2o_sum_ms;
    uint64_t rx_mono_ns; /* receive time of the book message being handled; 0: none */
    int64_t last_hb_ms;
    uint64_t db_errors;
    int handles; /* the signals and timers below are initialised */
    /* link ids journalled ahead (idpool.h): the pool, the rows whose details follow at the
     * next tick, and the reserved ids of ended runs being looked up at start-up */
    idpool pool;
    mmstate_order details[DETAILS_MAX];
    size_t ndetails;
    uint64_t path_writes;  /* state db writes on the path of a create (pool drained or none) */
    int resv_inflight;     /* a reservation of link ids is queued and not yet confirmed */
    int path_rc[MAX_CMDS]; /* dispatch: the outcome of each create written on its path */
    struct {
        char link_id[ORDERS_LINK_ID_MAX + 1];
        idpool_rec rec;
    } resv[IDPOOL_RECOVER_MAX];
    size_t nresv;
    uint64_t resv_outcomes[IDPOOL_FAILED + 1];
    /* orders whose status changed since the last tick: written in one commit from the tick
     * (status_flush), not one commit per change on the loop */
    char status_q[STATUS_MAX][ORDERS_LINK_ID_MAX + 1];
    size_t nstatus;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void begin_shutdown(bot *b, const char *why);
static void dispatch(bot *b, const engine_cmd *cmds, size_t n);
static int list_open(bot *b, size_t sym);
static void on_sd_step(uv_timer_t *t);
static void on_recon(uv_timer_t *t);

/* ---- REST plumbing ---- */

static req *req_new(bot *b, req_kind k, size_t sym)
{
    req *r = calloc(1, sizeof *r);
    if (r) {
        r->b = b;
        r->kind = k;
        r->sym = sym;
    }
    return r;
}

static void on_rest(void *ud, const restc_result *res);

static int submit(bot *b, req *r, int post, const char *path, const char *q, unsigned flags)
{
    if (!r)
        return ERR_NOMEM;
    int rc = post ? restc_post(b->rc, path, q, flags, on_rest, r, NULL)
                  : restc_get(b->rc, path, q, flags, on_rest, r, NULL);
    if (rc) {
        mmlog(MMOPTS_LOG_WARN, "rest: cannot submit %s: %s", path, errcode_str(rc));
        free(r);
    }
    return rc;
}

/* A class of answer that pauses quoting: maintenance (10016), 5xx, 429. */
static void maybe_pause(bot *b, const restc_result *res)
{
    if (res->ret_code == 10016 || res->http_status >= 500 || res->http_status == 429) {
        char why[96];
        snprintf(why, sizeof why, "exchange busy (http %ld, retCode %ld)", res->http_status,
                 res->ret_code);
        engine_pause(b->eng, wall_ms() + PAUSE_MS, why);
    }
    if (res->cls == RESTC_BAN) {
        engine_set_banned(b->eng, 1);
        char why[160];
        restc_banned(b->rc, wall_ms(), NULL, why, sizeof why);
        snprintf(b->health_reason, sizeof b->health_reason, "%s", why);
        mmlog(MMOPTS_LOG_ERROR, "rest: %s: backing off for at least 10 minutes", why);
    }
    if (res->cls == RESTC_FATAL && res->ret_code == 10002) {
        snprintf(b->health_reason, sizeof b->health_reason,
                 "clock skew: a request was refused for its timestamp (10002)");
        mmlog(MMOPTS_LOG_ERROR, "rest: request refused for its timestamp (retCode 10002): the "
                                "clock is off by more than recv_window; measuring it again");
        b->clock_synced = 0;
        submit(b, req_new(b, RQ_TIME, 0), 0, "/v5/market/time", NULL, 0);
    }
}

/* The exchange refused the API key at start-up: nothing was placed, so stop at once (exit 2). */
static void key_refused(bot *b, const char *what, long ret_code)
{
    if (b->ph != PH_STARTING && b->ph != PH_RECONCILE)
        return;
    fprintf(stderr,
            "mmbot: API key refused by the exchange (%s, retCode %ld): check BYBIT_API_KEY and "
            "BYBIT_API_SECRET, or key_file\n",
            what, ret_code);
    b->ph = PH_DONE;
    b->exit_code = 2;
    uv_stop(&b->loop);
}

/* Writes the status of every order queued by store_status, as the engine has it now, in one
 * commit (from the tick, at exit, or when the queue is full). A crash loses at most a tick of
 * status changes: start-up goes by the exchange's word, never by these. */
static void status_flush(bot *b)
{
    int64_t now = wall_ms();
    for (size_t i = 0; i < b->nstatus; i++) {
        const char *id = b->status_q[i];
        int terminal;
        const char *st = engine_order_status(b->eng, id, &terminal);
        if (!strcmp(st, "untracked"))
            continue;
        const orders_order *r = orders_get(engine_orders(b->eng), id);
        statewr_update(b->wr, id, st, terminal, r ? r->order_id : NULL, now);
    }
    b->nstatus = 0;
}

/* Queues the status of an order for the tick's commit (once per order per tick). */
static void store_status(bot *b, const char *link_id)
{
    for (size_t i = 0; i < b->nstatus; i++)
        if (!strcmp(b->status_q[i], link_id))
            return;
    if (b->nstatus == STATUS_MAX)
        status_flush(b);
    snprintf(b->status_q[b->nstatus++], sizeof b->status_q[0], "%s", link_id);
}

/* ---- link ids reserved by an ended run (idpool.h) ---- */

static void on_reserved(void *ud, const mmstate_order *o)
{
    bot *b = ud;
    if (b->nresv < IDPOOL_RECOVER_MAX)
        snprintf(b->resv[b->nresv++].link_id, sizeof b->resv[0].link_id, "%s", o->link_id);
}

/* One lookup's answer for reserved id k (found: the exchange's order, or NULL); retires the id
 * once the outcome is known. */
static void resv_answer(bot *b, size_t k, const msg_order *found, int failed)
{
    idpool_outcome oc = idpool_rec_answer(&b->resv[k].rec, found != NULL, failed);
    if (oc == IDPOOL_PENDING)
        return;
    b->resv_outcomes[oc]++;
    const char *id = b->resv[k].link_id;
    int64_t now = wall_ms();
    int rc = 0;
    if (oc == IDPOOL_FOUND) {
        mmstate_order so;
        memset(&so, 0, sizeof so);
        snprintf(so.link_id, sizeof so.link_id, "%s", id);
        snprintf(so.symbol, sizeof so.symbol, "%s", found->symbol);
        snprintf(so.side, sizeof so.side, "%s", found->side == MSG_SELL ? "Sell" : "Buy");
        so.price = book_fx_double(found->px);
        so.qty = book_fx_double(found->qty);
        /* the details, then the status, in this order on the writer (results: on_state) */
        rc = statewr_details(b->wr, &so, "", now);
        if (rc == 0)
            rc = statewr_set(b->wr, id, IDPOOL_STATUS_FOUND, 1, found->order_id, now);
        mmlog(MMOPTS_LOG_INFO,
              "recover: link id %s reserved by an ended run was sent: %s %s on the exchange%s", id,
              found->symbol, msg_order_open(found) ? "open" : "closed",
              msg_order_open(found) ? " (reconciliation cancels it)" : "");
    } else if (oc == IDPOOL_UNSENT) {
        rc = statewr_set(b->wr, id, IDPOOL_STATUS_UNSENT, 1, NULL, now);
        mmlog(MMOPTS_LOG_DEBUG, "recover: link id %s reserved by an ended run was never sent", id);
    } else {
        mmlog(MMOPTS_LOG_WARN,
              "recover: link id %s reserved by an ended run: lookup failed; kept for the next "
              "start",
              id);
    }
    if (rc != 0) {
        b->db_errors++;
        mmlog(MMOPTS_LOG_WARN, "state: cannot queue a write: %s", errcode_str(rc));
    }
}

/* Looks every reserved id of an ended run up on the exchange by orderLinkId, once per symbol. */
static void resv_start(bot *b)
{
    size_t nsym = engine_nsymbols(b->eng);
    if (b->nresv)
        mmlog(MMOPTS_LOG_INFO, "recover: looking up %zu link ids reserved by an ended run",
              b->nresv);
    for (size_t k = 0; k < b->nresv; k++)
        idpool_rec_begin(&b->resv[k].rec, (unsigned)nsym);
    for (size_t k = 0; k < b->nresv; k++) {
        for (size_t i = 0; i < nsym; i++) {
            char q[160];
            snprintf(q, sizeof q, "category=linear&symbol=%s&orderLinkId=%s",
                     engine_symbol(b->eng, i), b->resv[k].link_id);
            req *r = req_new(b, RQ_RESV, i);
            if (r)
                r->gen = (unsigned)k;
            if (submit(b, r, 0, "/v5/order/realtime", q, RESTC_SIGNED | RESTC_RETRY) != 0)
                resv_answer(b, k, NULL, 1);
        }
    }
}

static void on_resv(bot *b, req *r, const restc_result *res)
{
    msg_envelope env;
    if (r->gen >= b->nresv)
        return;
    const char *id = b->resv[r->gen].link_id;
    if (res->cls != RESTC_OK || msg_rest_orders(res->body, res->body_len, &env, &b->rlist) != 0 ||
        env.ret_code != 0) {
        resv_answer(b, r->gen, NULL, 1);
        return;
    }
    const msg_order *found = NULL;
    for (size_t i = 0; i < b->rlist.n && !found; i++)
        if (!strcmp(b->rlist.v[i].link_id, id))
            found = &b->rlist.v[i];
    resv_answer(b, r->gen, found, 0);
}

static void startup_step_done(bot *b)
{
    if (b->ph != PH_STARTING || --b->startup_pending > 0)
        return;
    b->ph = PH_RECONCILE;
    resv_start(b);
    b->recon_try = 0;
    mmlog(MMOPTS_LOG_INFO, "reconcile: listing open orders of %zu symbols",
          engine_nsymbols(b->eng));
    on_recon(&b->recon);
}

_Static_assert(OPENORD_MAX <= ENGINE_RECON_MAX, "a whole listing fits one reconciliation");

/* Asks for the next page of the open-orders listing of a symbol. 0, or the submit's code. */
static int list_page(bot *b, size_t sym)
{
    char q[MSG_CURSOR_MAX * 3 + 128];
    if (openord_query(b->pg[sym], q, sizeof q) != 0)
        return ERR_FULL;
    req *r = req_new(b, RQ_OPEN, sym);
    if (r)
        r->gen = b->pg_gen[sym];
    return submit(b, r, 0, "/v5/order/realtime", q, RESTC_SIGNED | RESTC_RETRY);
}

/* Lists the open orders of a symbol, every page (openord.h); counted as pending in the
 * reconciliation and shutdown phases until its last page is in. 0, or the submit's code (then
 * nothing is pending). */
static int list_open(bot *b, size_t sym)
{
    if (!b->pg[sym] && !(b->pg[sym] = malloc(sizeof *b->pg[sym])))
        return ERR_NOMEM;
    openord_begin(b->pg[sym], engine_symbol(b->eng, sym));
    b->pg_gen[sym]++;
    unsigned *pending = b->ph == PH_RECONCILE  ? &b->recon_pending
                        : b->ph == PH_SHUTDOWN ? &b->sd_pending
                                               : NULL;
    int rc = list_page(b, sym);
    if (rc == 0 && pending)
        (*pending)++;
    return rc;
}

static unsigned count_ours(bot *b, const openord *p)
{
    unsigned n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (orders_is_ours(engine_orders(b->eng), p->v[i].link_id) && msg_order_open(&p->v[i]))
            n++;
    return n;
}

static void on_open_orders(bot *b, req *r, const restc_result *res)
{
    int64_t now = wall_ms();
    if (r->gen != b->pg_gen[r->sym] || !b->pg[r->sym])
        return; /* a page of a listing that a newer one replaced */
    openord *p = b->pg[r->sym];
    char why[200] = "";
    int take = ERR_IO;
    if (res->cls == RESTC_OK)
        take = openord_take(p, res->body, res->body_len, NULL, why, sizeof why);
    if (take == 1) {
        if (list_page(b, r->sym) == 0)
            return; /* the next page is out; the listing stays pending */
        take = ERR_IO;
    }
    int ok = take == 0;
    if (b->ph == PH_SHUTDOWN) {
        if (ok || take == ERR_FULL) {
            unsigned left = take == ERR_FULL ? 1000 : 0; /* not all seen: not verified */
            for (size_t i = 0; i < p->n; i++) {
                const msg_order *m = &p->v[i];
                if (!msg_order_open(m))
                    continue;
                left++;
                size_t used = strlen(b->sd_left_ids);
                if (used + strlen(m->link_id) + 3 < sizeof b->sd_left_ids)
                    snprintf(b->sd_left_ids + used, sizeof b->sd_left_ids - used, "%s%s %s",
                             used ? ", " : "", m->symbol, m->link_id[0] ? m->link_id : m->order_id);
            }
            b->sd_left += left;
        } else {
            b->sd_left += 1000; /* not verified: counts as left */
        }
        if (--b->sd_pending == 0)
            uv_timer_start(&b->sd_timer, on_sd_step, 0, 0);
        return;
    }
    if (!ok) {
        if (why[0])
            mmlog(MMOPTS_LOG_WARN, "reconcile: %s", why);
        else
            mmlog(MMOPTS_LOG_WARN, "reconcile: open orders of %s: %s (retCode %ld)",
                  engine_symbol(b->eng, r->sym), restc_class_name(res->cls), res->ret_code);
        if (b->ph != PH_RECONCILE)
            return;
        b->recon_failed = 1; /* not known: this round cannot end reconciliation */
        if (--b->recon_pending > 0)
            return;
        goto recon_done;
    }
    engine_cmd cmds[MAX_CMDS];
    size_t n = 0;
    int startup = b->ph == PH_RECONCILE;
    engine_reconcile_orders(b->eng, p->v, p->n, engine_symbol(b->eng, r->sym), startup, now, cmds,
                            MAX_CMDS, &n);
    if (n)
        mmlog(MMOPTS_LOG_INFO, "reconcile: %s: %zu orders to cancel%s",
              engine_symbol(b->eng, r->sym), n,
              startup ? " (left by an ended run)" : " (not wanted)");
    dispatch(b, cmds, n);
    if (!startup)
        return;
    b->recon_ours_left += count_ours(b, p);
    if (--b->recon_pending > 0)
        return;
recon_done:
    if (b->recon_ours_left == 0 && !b->recon_failed) {
        engine_reconciled(b->eng);
        b->ph = PH_QUOTING;
        b->health_reason[0] = '\0';
        mmlog(MMOPTS_LOG_INFO, "reconcile: no order of an ended run is open; quoting starts");
        return;
    }
    if (++b->recon_try >= RECON_TRIES) {
        snprintf(b->health_reason, sizeof b->health_reason,
                 "reconciliation failed: %u orders of an ended run still open after %u tries",
                 b->recon_ours_left, b->recon_try);
        mmlog(MMOPTS_LOG_ERROR, "reconcile: %s; not quoting", b->health_reason);
        b->recon_try = 0; /* keep trying slowly: the recon timer lists again */
        return;
    }
    /* list again once the cancels had time to land */
    uv_timer_start(&b->recon, on_recon, 500, b->o->reconcile_interval_ms);
}

static void on_rest(void *ud, const restc_result *res)
{
    req *r = ud;
    bot *b = r->b;
    int64_t now = wall_ms();
    msg_envelope env;
    maybe_pause(b, res);
    switch (r->kind) {
    case RQ_TIME: {
        msg_server_time t;
        if (res->cls == RESTC_OK && msg_rest_time(res->body, res->body_len, &env, &t) == 0 &&
            env.ret_code == 0) {
            int64_t server_ms = msg_server_time_ms(&t);
            int64_t local = now - (int64_t)(res->elapsed_ms / 2);
            b->clock_offset_ms = server_ms - local;
            restc_set_clock_offset(b->rc, b->clock_offset_ms);
            b->clock_synced = 1;
            if (llabs(b->clock_offset_ms) > b->o->exchange.recv_window_ms * SKEW_WARN_FRAC) {
                snprintf(b->clock_reason, sizeof b->clock_reason,
                         "clock skew: local clock off by %" PRId64 " ms (recv_window %u ms); "
                         "requests carry the corrected time",
                         b->clock_offset_ms, b->o->exchange.recv_window_ms);
                mmlog(MMOPTS_LOG_WARN, "%s", b->clock_reason);
            } else {
                b->clock_reason[0] = '\0';
            }
        } else {
            mmlog(MMOPTS_LOG_WARN, "start: server time: %s", restc_class_name(res->cls));
        }
        startup_step_done(b);
        break;
    }
    case RQ_INSTR: {
        static msg_instrument_list il;
        b->instr_inflight[r->sym] = 0;
        if (res->cls == RESTC_OK &&
            msg_rest_instruments(res->body, res->body_len, &env, &il) == 0 && env.ret_code == 0 &&
            il.n > 0) {
            engine_instrument(b->eng, &il.v[0], now);
            if (!il.v[0].trading)
                mmlog(MMOPTS_LOG_WARN, "instrument %s is '%s', not Trading: not quoted",
                      il.v[0].symbol, il.v[0].status);
        } else {
            mmlog(MMOPTS_LOG_WARN, "instrument info of %s: %s (retCode %ld)",
                  engine_symbol(b->eng, r->sym), restc_class_name(res->cls), res->ret_code);
        }
        startup_step_done(b);
        break;
    }
    case RQ_POSITION: {
        static msg_position_list pl;
        if (res->cls == RESTC_FATAL && (res->ret_code == 10003 || res->ret_code == 10004)) {
            key_refused(b, "positions", res->ret_code);
            break;
        }
        if (res->cls == RESTC_OK && msg_rest_positions(res->body, res->body_len, &env, &pl) == 0 &&
            env.ret_code == 0)
            for (size_t i = 0; i < pl.n; i++)
                engine_position(b->eng, &pl.v[i]);
        startup_step_done(b);
        break;
    }
    case RQ_WALLET: {
        static msg_wallet_list wl;
        if (res->cls == RESTC_FATAL && (res->ret_code == 10003 || res->ret_code == 10004)) {
            key_refused(b, "wallet balance", res->ret_code);
            break;
        }
        if (res->cls == RESTC_OK && msg_rest_wallet(res->body, res->body_len, &env, &wl) == 0 &&
            env.ret_code == 0 && wl.n > 0)
            engine_equity(b->eng, wl.v[0].total_equity, now);
        startup_step_done(b);
        break;
    }
    case RQ_OPEN:
        on_open_orders(b, r, res);
        break;
    case RQ_RESV:
        on_resv(b, r, res);
        break;
    case RQ_CMD: {
        msg_ids ids = {{0}, {0}};
        if (res->body_len)
            msg_rest_order_ids(res->body, res->body_len, &env, &ids);
        if (r->cmd.kind == ENGINE_QUERY) {
            if (res->cls == RESTC_OK &&
                msg_rest_orders(res->body, res->body_len, &env, &b->rlist) == 0) {
                const msg_order *found = NULL;
                for (size_t i = 0; i < b->rlist.n && !found; i++)
                    if (!strcmp(b->rlist.v[i].link_id, r->cmd.link_id))
                        found = &b->rlist.v[i];
                engine_query_result(b->eng, r->cmd.link_id, found, now);
                mmlog(MMOPTS_LOG_INFO, "order %s was unknown: %s", r->cmd.link_id,
                      found ? "found on the exchange" : "not on the exchange");
            }
        } else {
            engine_reply(b->eng, &r->cmd, (int)res->cls, res->ret_code, ids.order_id, now);
            if (res->cls != RESTC_OK)
                mmlog(res->cls == RESTC_REJECTED ? MMOPTS_LOG_INFO : MMOPTS_LOG_WARN,
                      "order %s %s: %s (http %ld, retCode %ld)", r->cmd.link_id,
                      r->cmd.kind == ENGINE_CREATE   ? "create"
                      : r->cmd.kind == ENGINE_CANCEL ? "cancel"
                                                     : "amend",
                      restc_class_name(res->cls), res->http_status, res->ret_code);
        }
        if (r->cmd.tracked)
            store_status(b, r->cmd.link_id);
        break;
    }
    case RQ_CXALL: {
        static msg_id_list cl;
        int ok = res->cls == RESTC_OK &&
                 msg_rest_cancel_all(res->body, res->body_len, &env, &cl) == 0 && env.ret_code == 0;
        if (ok)
            b->sd_cancelled += (unsigned)cl.n;
        else
            mmlog(MMOPTS_LOG_WARN, "[SHUTDOWN] cancel-all %s: %s (http %ld, retCode %ld)",
                  engine_symbol(b->eng, r->sym), restc_class_name(res->cls), res->http_status,
                  res->ret_code);
        if (--b->sd_pending == 0)
            uv_timer_start(&b->sd_timer, on_sd_step, 0, 0);
        break;
    }
    case RQ_DCP:
        if (res->cls == RESTC_OK)
            mmlog(MMOPTS_LOG_INFO, "dcp: armed with a %.0f s window",
                  (double)b->o->dcp.time_window_ms / 1000.0);
        else
            mmlog(MMOPTS_LOG_WARN, "dcp: not armed: %s (retCode %ld); running without it",
                  restc_class_name(res->cls), res->ret_code);
        break;
    }
    free(r);
}

/* ---- commands ---- */

static void fx(int64_t v, char *buf, size_t n)
{
    if (msg_fx_format(v, buf, n) < 0)
        snprintf(buf, n, "0");
}

/* The state db row of a CREATE. */
static void create_row(const engine_cmd *c, mmstate_order *so)
{
    memset(so, 0, sizeof *so);
    snprintf(so->link_id, sizeof so->link_id, "%s", c->link_id);
    snprintf(so->symbol, sizeof so->symbol, "%s", c->symbol);
    snprintf(so->side, sizeof so->side, "%s", c->side == ORDERS_SELL ? "Sell" : "Buy");
    snprintf(so->status, sizeof so->status, "pending-new");
    so->price = book_fx_double(c->px);
    so->qty = book_fx_double(c->qty);
}

/* Writes the details of the creates whose link id came from the pool (one transaction, from
 * the tick: off the path of any request). */
static void details_flush(bot *b, int64_t now)
{
    for (size_t i = 0; i < b->ndetails; i++)
        statewr_details(b->wr, &b->details[i], IDPOOL_STATUS_RESERVED, now);
    b->ndetails = 0;
}

/* Tops the pool of link ids up when it is low: the next sequence numbers of the order table,
 * queued as one all-or-none write (from the tick and at start, never on a create's path); the
 * pool takes them when the writer confirms the commit (on_state), one reservation at a time. */
static void pool_refill(bot *b, int64_t now)
{
    if (b->dry_run || b->resv_inflight)
        return;
    const orders *ord = engine_orders(b->eng);
    uint64_t from;
    unsigned want = idpool_want(&b->pool, orders_next_seq(ord), &from);
    static mmstate_order rows[IDPOOL_CAP_MAX];
    unsigned k = 0;
    for (; k < want && k < IDPOOL_CAP_MAX; k++) {
        memset(&rows[k], 0, sizeof rows[k]);
        if (orders_link_id_of(ord, from + k, rows[k].link_id, sizeof rows[k].link_id) != 0)
            break;
        snprintf(rows[k].status, sizeof rows[k].status, "%s", IDPOOL_STATUS_RESERVED);
    }
    if (k == 0)
        return;
    int rc = statewr_reserve(b->wr, rows, k, now, from);
    if (rc != 0) {
        b->db_errors++;
        mmlog(MMOPTS_LOG_WARN, "state: cannot queue a write: %s: link ids not reserved",
              errcode_str(rc));
        return;
    }
    b->resv_inflight = 1;
}

/* The writer thread's word on a write (statewr.h), on the loop: the same reactions as when the
 * loop wrote itself. */
static void on_state(void *ud, const statewr_result *r)
{
    bot *b = ud;
    switch (r->kind) {
    case STATEWR_RESERVE: /* committed (or not): only now may the pool use the ids */
        b->resv_inflight = 0;
        if (r->rc == 0) {
            idpool_added(&b->pool, r->tag, r->n);
            return;
        }
        b->db_errors++;
        mmlog(MMOPTS_LOG_WARN, "state: %s: link ids not reserved", r->err);
        return;
    case STATEWR_ORDER_NEW: /* a create written on its path (dispatch waits for it) */
        if (r->tag < MAX_CMDS)
            b->path_rc[r->tag] = r->rc;
        if (r->rc != 0) {
            b->db_errors++;
            mmlog(MMOPTS_LOG_ERROR, "state: %s: order not sent", r->err);
        }
        return;
    case STATEWR_UPDATE:
        if (r->rc != 0) {
            b->db_errors++;
            mmlog(MMOPTS_LOG_WARN, "state: %s", r->err);
        } else if (r->missing) {
            b->db_errors += r->missing;
            mmlog(MMOPTS_LOG_WARN,
                  "state: %zu orders whose status changed are not in state database", r->missing);
        }
        return;
    case STATEWR_PRUNE:
        mmlog(MMOPTS_LOG_WARN, "state: prune: %s", r->err);
        return;
    case STATEWR_DETAILS:
    case STATEWR_SET:
    case STATEWR_FILL:
        b->db_errors++;
        mmlog(MMOPTS_LOG_WARN, "state: %s", r->err);
        return;
    }
}

/* At exit: the pooled ids no create took were never sent; retired now, so that the next start
 * need not look them up. */
static void pool_retire_unused(bot *b)
{
    uint64_t lo;
    unsigned n = idpool_unused(&b->pool, &lo);
    for (unsigned k = 0; k < n; k++) {
        char id[ORDERS_LINK_ID_MAX + 1];
        if (orders_link_id_of(engine_orders(b->eng), lo + k, id, sizeof id) == 0)
            statewr_set(b->wr, id, IDPOOL_STATUS_UNSENT, 1, NULL, wall_ms());
    }
}

/* How a CREATE's row is made durable before it leaves (dispatch). */
enum { ST_POOLED = 1, ST_WRITE = 0, ST_REFUSE = -1 };

static int create_storage(bot *b, const engine_cmd *c)
{
    uint64_t seq;
    if (orders_link_seq(engine_orders(b->eng), c->link_id, &seq) != 0)
        return ST_WRITE;
    /* not pooled while a reservation that may hold it is out: wait for its word first (the
     * loop blocks, as it does for a write on the path) */
    if (b->resv_inflight && !idpool_has(&b->pool, seq)) {
        b->path_writes++;
        statewr_sync(b->wr);
    }
    int t = idpool_take(&b->pool, seq);
    return t == 1 ? ST_POOLED : t == 0 ? ST_WRITE : ST_REFUSE;
}

static void dispatch(bot *b, const engine_cmd *cmds, size_t n)
{
    int64_t now = wall_ms();
    /* a CREATE whose link id came from the pool is durable already (its details follow at the
     * next tick); the rows of the others are queued, and the loop waits for their commit
     * before any of them leaves (one wait on the path, not one per order; each row has its own
     * outcome in path_rc, from on_state) */
    signed char how[MAX_CMDS];
    size_t nrows = 0;
    if (n > MAX_CMDS)
        n = MAX_CMDS; /* every caller's array holds at most MAX_CMDS */
    for (size_t i = 0; i < n; i++) {
        how[i] = cmds[i].kind == ENGINE_CREATE ? (signed char)create_storage(b, &cmds[i])
                                               : (signed char)ST_POOLED;
        if (cmds[i].kind == ENGINE_CREATE && how[i] == ST_WRITE) {
            mmstate_order so;
            create_row(&cmds[i], &so);
            b->path_rc[i] = statewr_order_new(b->wr, &so, now, i, 1);
            if (b->path_rc[i] == 0) {
                b->path_rc[i] = 1; /* pending: on_state sets the outcome */
                nrows++;
            } else {
                b->db_errors++;
                mmlog(MMOPTS_LOG_ERROR, "state: cannot queue a write: %s: order not sent",
                      errcode_str(b->path_rc[i]));
            }
        }
    }
    if (nrows) {
        b->path_writes++;
        statewr_sync(b->wr);
    }
    for (size_t i = 0; i < n; i++) {
        const engine_cmd *c = &cmds[i];
        req *r = req_new(b, RQ_CMD, 0);
        if (!r) {
            engine_send_failed(b->eng, c, now);
            continue;
        }
        r->cmd = *c;
        char body[512], px[32], qty[32];
        const char *path = NULL;
        unsigned flags = RESTC_SIGNED | RESTC_MUTATES;
        int post = 1;
        switch (c->kind) {
        case ENGINE_CREATE: {
            fx(c->px, px, sizeof px);
            fx(c->qty, qty, sizeof qty);
            mmstate_order so;
            create_row(c, &so);
            if (how[i] == ST_REFUSE) { /* never: the engine assigns each sequence number once */
                mmlog(MMOPTS_LOG_ERROR, "order %s: link id already used: order not sent",
                      c->link_id);
                engine_send_failed(b->eng, c, now);
                free(r);
                continue;
            }
            /* written before the request leaves (ahead of time when pooled): a crash after this
             * line leaves a row that start-up resolves */
            if (how[i] == ST_POOLED) {
                if (b->ndetails == DETAILS_MAX)
                    details_flush(b, now);
                b->details[b->ndetails++] = so;
            } else if (b->path_rc[i] != 0) { /* not stored: counted and logged already */
                engine_send_failed(b->eng, c, now);
                free(r);
                continue;
            }
            snprintf(body, sizeof body,
                     "{\"category\":\"linear\",\"symbol\":\"%s\",\"side\":\"%s\","
                     "\"orderType\":\"Limit\",\"qty\":\"%s\",\"price\":\"%s\","
                     "\"timeInForce\":\"%s\",\"orderLinkId\":\"%s\"}",
                     c->symbol, so.side, qty, px, c->post_only ? "PostOnly" : "GTC", c->link_id);
            path = "/v5/order/create";
            engine_sent(b->eng, c, now);
            break;
        }
        case ENGINE_CANCEL:
            snprintf(body, sizeof body,
                     "{\"category\":\"linear\",\"symbol\":\"%s\",\"orderLinkId\":\"%s\"}",
                     c->symbol, c->link_id);
            path = "/v5/order/cancel";
            break;
        case ENGINE_AMEND:
            fx(c->px, px, sizeof px);
            fx(c->qty, qty, sizeof qty);
            snprintf(body, sizeof body,
                     "{\"category\":\"linear\",\"symbol\":\"%s\",\"orderLinkId\":\"%s\","
                     "\"price\":\"%s\",\"qty\":\"%s\"}",
                     c->symbol, c->link_id, px, qty);
            path = "/v5/order/amend";
            break;
        case ENGINE_QUERY:
            snprintf(body, sizeof body, "category=linear&symbol=%s&orderLinkId=%s", c->symbol,
                     c->link_id);
            path = "/v5/order/realtime";
            flags = RESTC_SIGNED;
            post = 0;
            break;
        }
        int rc = post ? restc_post(b->rc, path, body, flags, on_rest, r, NULL)
                      : restc_get(b->rc, path, body, flags, on_rest, r, NULL);
        if (rc) {
            mmlog(MMOPTS_LOG_WARN, "rest: cannot submit %s for %s: %s", path, c->link_id,
                  errcode_str(rc));
            if (c->kind == ENGINE_CREATE)
                engine_reply(b->eng, c, RESTC_REJECTED, -1, NULL, now);
            else if (c->kind != ENGINE_QUERY)
                engine_send_failed(b->eng, c, now);
            if (c->tracked)
                store_status(b, c->link_id);
            free(r);
            continue;
        }
        if (b->rx_mono_ns && (c->kind == ENGINE_CREATE || c->kind == ENGINE_AMEND)) {
            double ms = (double)(uv_hrtime() - b->rx_mono_ns) / 1e6;
            for (size_t k = 0; k < T2O_BUCKETS; k++)
                if (ms <= t2o_bounds_ms[k])
                    b->t2o_buckets[k]++;
            b->t2o_count++;
            b->t2o_sum_ms += ms;
        }
    }
}

/* Logs the quotes of each symbol when they changed (always in --dry-run, else at debug). */
static void log_quotes(bot *b)
{
    static double last[ENGINE_MAX_SYMBOLS][2];
    mmopts_log_level lv = b->dry_run ? MMOPTS_LOG_INFO : MMOPTS_LOG_DEBUG;
    if (lv < mmlog_level())
        return;
    for (size_t i = 0; i < engine_nsymbols(b->eng) && i < ENGINE_MAX_SYMBOLS; i++) {
        const strategy_quotes *q = engine_quotes(b->eng, i);
        double bid = q->nbids ? q->q[0].price : 0, ask = q->n > q->nbids ? q->q[q->nbids].price : 0;
        if (bid == last[i][0] && ask == last[i][1])
            continue;
        last[i][0] = bid;
        last[i][1] = ask;
        char line[MMLOG_LINE];
        size_t n = (size_t)snprintf(line, sizeof line,
                                    "%squotes %s ref %.8g:", b->dry_run ? "dry run: " : "",
                                    engine_symbol(b->eng, i), q->ref);
        for (size_t k = 0; k < q->n && n < sizeof line; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s %.8g @ %.8g",
                                  q->q[k].side == STRATEGY_SELL ? "Sell" : "Buy", q->q[k].qty,
                                  q->q[k].price);
        if (q->n == 0 && n < sizeof line)
            snprintf(line + n, sizeof line - n, " none (%u levels dropped)", q->dropped);
        mmlog(lv, "%s", line);
    }
}

static void run_tick(bot *b)
{
    if (b->ph != PH_QUOTING && b->ph != PH_RECONCILE)
        return;
    engine_cmd cmds[MAX_CMDS];
    size_t n = 0;
    int64_t now = wall_ms();
    engine_tick(b->eng, now, cmds, MAX_CMDS, &n);
    log_quotes(b);
    dispatch(b, cmds, n);
    char why[ENGINE_REASON_MAX];
    if (engine_killed(b->eng, why, sizeof why))
        begin_shutdown(b, why);
}

static void on_tick(uv_timer_t *t)
{
    bot *b = t->data;
    watchdog_kick(b->wd);
    int64_t now = wall_ms();
    if (!restc_banned(b->rc, now, NULL, NULL, 0))
        engine_set_banned(b->eng, 0);
    for (size_t i = 0; i < engine_nsymbols(b->eng) && b->ph == PH_QUOTING; i++)
        if (engine_instrument_due(b->eng, i, now) && !b->instr_inflight[i]) {
            char q[96];
            snprintf(q, sizeof q, "category=linear&symbol=%s", engine_symbol(b->eng, i));
            if (submit(b, req_new(b, RQ_INSTR, i), 0, "/v5/market/instruments-info", q,
                       RESTC_RETRY) == 0)
                b->instr_inflight[i] = 1;
        }
    run_tick(b);
    if (b->wr) { /* the tick's details and status changes to the writer (one commit), the
                  * writer's word on earlier writes, then the refill */
        details_flush(b, now);
        status_flush(b);
        statewr_poll(b->wr);
        pool_refill(b, now);
    }
}

/* ---- streams ---- */

static void on_public(void *ud, wsc *w, const wsc_msg *m)
{
    bot *b = ud;
    msg_kind k;
    if (m->control)
        return;
    if (msg_ws_kind(m->data, m->len, &k) != 0) {
        b->malformed[0]++;
        return;
    }
    int64_t now = wall_ms();
    if (k == MSG_BOOK) {
        if (msg_book_update(m->data, m->len, &b->bu) != 0) {
            b->malformed[0]++;
            return;
        }
        int resub = 0;
        engine_book(b->eng, &b->bu, now, &resub);
        if (resub) {
            char topic[96];
            snprintf(topic, sizeof topic, "orderbook.50.%s", b->bu.symbol);
            mmlog(MMOPTS_LOG_WARN, "book %s: update id gap or delta before snapshot: resubscribing",
                  b->bu.symbol);
            wsc_resubscribe(w, topic);
        }
        b->rx_mono_ns = m->rx_mono_ns;
        run_tick(b);
        b->rx_mono_ns = 0;
    } else if (k == MSG_TRADE) {
        if (msg_trades_parse(m->data, m->len, &b->trades) != 0) {
            b->malformed[0]++;
            return;
        }
        engine_trades(b->eng, &b->trades, now);
    } else if (k != MSG_OP) {
        b->malformed[0]++;
    }
}

static void on_private(void *ud, wsc *w, const wsc_msg *m)
{
    bot *b = ud;
    (void)w;
    msg_kind k;
    if (m->control)
        return;
    if (msg_ws_kind(m->data, m->len, &k) != 0) {
        b->malformed[1]++;
        return;
    }
    int64_t now = wall_ms();
    if (k == MSG_ORDER) {
        if (msg_ws_orders(m->data, m->len, &b->olist) != 0) {
            b->malformed[1]++;
            return;
        }
        for (size_t i = 0; i < b->olist.n; i++) {
            engine_order_item(b->eng, &b->olist.v[i], now);
            if (b->olist.v[i].link_id[0])
                store_status(b, b->olist.v[i].link_id);
        }
    } else if (k == MSG_EXECUTION) {
        if (msg_ws_executions(m->data, m->len, &b->xlist) != 0) {
            b->malformed[1]++;
            return;
        }
        for (size_t i = 0; i < b->xlist.n; i++) {
            const msg_exec *x = &b->xlist.v[i];
            if (engine_exec_item(b->eng, x, now) != 1)
                continue;
            mmstate_fill f;
            memset(&f, 0, sizeof f);
            snprintf(f.exec_id, sizeof f.exec_id, "%s", x->exec_id);
            snprintf(f.link_id, sizeof f.link_id, "%s", x->link_id);
            snprintf(f.order_id, sizeof f.order_id, "%s", x->order_id);
            snprintf(f.symbol, sizeof f.symbol, "%s", x->symbol);
            snprintf(f.side, sizeof f.side, "%s", x->side == MSG_SELL ? "Sell" : "Buy");
            f.price = book_fx_double(x->exec_px);
            f.qty = book_fx_double(x->exec_qty);
            f.fee = x->exec_fee;
            f.is_maker = x->is_maker;
            f.exec_ms = x->exec_ms;
            int frc = statewr_fill(b->wr, &f);
            if (frc != 0) {
                b->db_errors++;
                mmlog(MMOPTS_LOG_WARN, "state: cannot queue a write: %s", errcode_str(frc));
            }
            mmlog(MMOPTS_LOG_INFO, "fill %s %s %.8g @ %.8g order %s (exec %s)", x->symbol, f.side,
                  f.qty, f.price, x->link_id, x->exec_id);
        }
        run_tick(b);
    } else if (k != MSG_OP && k != MSG_POSITION && k != MSG_WALLET) {
        b->malformed[1]++;
    }
}

static void on_ws_state(void *ud, wsc *w, wsc_state from, wsc_state to, int reason)
{
    bot *b = ud;
    (void)from;
    if (w == b->priv) {
        engine_set_private_live(b->eng, to == WSC_LIVE);
        /* back after a gap: order and execution items of the gap are lost, so compare the
         * exchange's open orders with ours now rather than at the next reconcile_interval */
        if (to == WSC_LIVE && b->ph == PH_QUOTING)
            on_recon(&b->recon);
        if (to == WSC_CLOSED && reason == ERR_AUTH) {
            snprintf(b->health_reason, sizeof b->health_reason,
                     "private stream: authentication refused (check the API key and secret)");
            mmlog(MMOPTS_LOG_ERROR, "%s", b->health_reason);
            key_refused(b, "private stream auth", -1);
        }
    }
    mmlog(to == WSC_LIVE ? MMOPTS_LOG_INFO : MMOPTS_LOG_DEBUG, "ws %s: %s%s%s", wsc_stream(w),
          wsc_state_name(to), reason ? ": " : "", reason ? errcode_str(reason) : "");
}

static void on_ws_log(void *ud, wsc *w, wsc_log_level level, const char *line)
{
    (void)ud;
    static const mmopts_log_level map[] = {MMOPTS_LOG_DEBUG, MMOPTS_LOG_INFO, MMOPTS_LOG_WARN,
                                           MMOPTS_LOG_ERROR};
    mmlog(map[level <= WSC_LOG_ERROR ? level : WSC_LOG_ERROR], "ws %s: %s", wsc_stream(w), line);
}

/* ---- /health and /metrics ---- */

static void process_metrics(sbuf *out)
{
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/self/stat", "r");
    unsigned long utime = 0, stime = 0, vsize = 0;
    long rss = 0;
    unsigned long long start = 0;
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        const char *p = strrchr(buf, ')');
        if (p)
            sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                   "%llu %lu %ld",
                   &utime, &stime, &start, &vsize, &rss);
    }
    unsigned fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            fds += e->d_name[0] != '.';
        closedir(d);
    }
    double boot = 0;
    f = fopen("/proc/stat", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %lf", &boot) == 1)
                break;
        fclose(f);
    }
    promtext_header(out, "process_cpu_seconds_total", "counter", "user and system CPU time");
    promtext_sample(out, "process_cpu_seconds_total", NULL, (double)(utime + stime) / ticks);
    promtext_header(out, "process_resident_memory_bytes", "gauge", "resident memory");
    promtext_sample(out, "process_resident_memory_bytes", NULL, (double)rss * page);
    promtext_header(out, "process_virtual_memory_bytes", "gauge", "virtual memory");
    promtext_sample(out, "process_virtual_memory_bytes", NULL, (double)vsize);
    promtext_header(out, "process_open_fds", "gauge", "open file descriptors");
    promtext_sample(out, "process_open_fds", NULL, fds);
    promtext_header(out, "process_start_time_seconds", "gauge", "start time, Unix seconds");
    promtext_sample(out, "process_start_time_seconds", NULL, boot + (double)start / ticks);
}

static void one(sbuf *out, const char *name, const char *type, const char *help, double v)
{
    promtext_header(out, name, type, help);
    promtext_sample(out, name, NULL, v);
}

static void bot_metrics(bot *b, sbuf *out)
{
    engine_stats es;
    engine_stats_get(b->eng, &es);
    orders_stats os;
    orders_stats_get(engine_orders(b->eng), &os);
    process_metrics(out);
    one(out, "mmbot_up", "gauge", "1 while quoting", b->ph == PH_QUOTING);
    one(out, "mmbot_open_orders", "gauge", "non-terminal orders of ours", (double)es.open_orders);
    one(out, "mmbot_orders_tracked_max", "gauge", "high-water mark of the order table",
        (double)os.tracked_hwm);
    one(out, "mmbot_orders_created_total", "counter", "create requests sent", (double)es.creates);
    one(out, "mmbot_orders_cancelled_total", "counter", "cancel requests sent", (double)es.cancels);
    one(out, "mmbot_orders_amended_total", "counter", "amend requests sent", (double)es.amends);
    one(out, "mmbot_orders_rejected_total", "counter", "creates refused", (double)es.rejects);
    one(out, "mmbot_orders_unknown_total", "counter", "requests with an ambiguous outcome",
        (double)es.ambiguous);
    one(out, "mmbot_order_queries_total", "counter", "queries of unknown orders",
        (double)es.queries);
    one(out, "mmbot_fills_total", "counter", "fills counted (once per execId)",
        (double)es.fills_new);
    one(out, "mmbot_fills_duplicate_total", "counter", "executions seen again",
        (double)es.fills_dup);
    one(out, "mmbot_fills_remembered_max", "gauge", "high-water mark of the execId set",
        (double)os.fills_hwm);
    one(out, "mmbot_quote_pulls_total", "counter", "times quotes were pulled", (double)es.pulls);
    one(out, "mmbot_paced_total", "counter", "order requests held back by max_orders_per_second",
        (double)es.paced);
    one(out, "mmbot_book_gaps_total", "counter", "book update id gaps (resubscribed)",
        (double)es.book_gaps);
    promtext_header(out, "mmbot_position", "gauge", "position per symbol, base coin");
    for (size_t i = 0; i < engine_nsymbols(b->eng); i++) {
        const orders_position *p =
            orders_position_get(engine_orders(b->eng), engine_symbol(b->eng, i));
        const char *lab[] = {"symbol", engine_symbol(b->eng, i), NULL};
        promtext_sample(out, "mmbot_position", lab, p ? p->size : 0);
    }
    promtext_header(out, "mmbot_malformed_messages_total", "counter",
                    "exchange messages that did not parse (ignored)");
    promtext_sample(out, "mmbot_malformed_messages_total",
                    (const char *[]){"stream", "public", NULL}, (double)b->malformed[0]);
    promtext_sample(out, "mmbot_malformed_messages_total",
                    (const char *[]){"stream", "private", NULL}, (double)b->malformed[1]);
    one(out, "mmbot_state_db_errors_total", "counter", "failed writes to the state db",
        (double)b->db_errors);
    idpool_stats ps;
    idpool_stats_get(&b->pool, &ps);
    one(out, "mmbot_link_id_pool_available", "gauge",
        "orderLinkIds journalled ahead and not used yet", ps.avail);
    one(out, "mmbot_link_id_pool_available_min", "gauge",
        "low-water mark of the journalled orderLinkIds", ps.avail_min);
    one(out, "mmbot_link_id_pool_taken_total", "counter",
        "creates whose orderLinkId was journalled ahead (no write before the request)",
        (double)ps.taken);
    one(out, "mmbot_link_id_pool_fallback_total", "counter",
        "creates whose orderLinkId was not in the pool (written before the request)",
        (double)ps.fallbacks);
    one(out, "mmbot_state_db_path_writes_total", "counter",
        "state db commits on the path of a create request", (double)b->path_writes);
    promtext_header(out, "mmbot_link_id_recovered_total", "counter",
                    "link ids reserved by an ended run, looked up at start, by outcome");
    static const char *const oc_names[] = {"pending", "found", "unsent", "failed"};
    for (int k = IDPOOL_FOUND; k <= IDPOOL_FAILED; k++)
        promtext_sample(out, "mmbot_link_id_recovered_total",
                        (const char *[]){"outcome", oc_names[k], NULL},
                        (double)b->resv_outcomes[k]);
    statewr_stats wst;
    memset(&wst, 0, sizeof wst);
    if (b->wr)
        statewr_get_stats(b->wr, &wst);
    const mmstate_stats ss = wst.db; /* as the writer thread left it after its last batch */
    one(out, "mmbot_state_db_write_seconds_max", "gauge",
        "slowest state db write (on the writer thread)", ss.max_write_us / 1e6);
    one(out, "mmbot_state_db_batch_seconds_max", "gauge",
        "slowest transaction of the writer thread, begin to commit", wst.batch_us_max / 1e6);
    one(out, "mmbot_state_db_batches_total", "counter", "transactions of the writer thread",
        (double)wst.batches);
    one(out, "mmbot_state_queue_depth", "gauge", "state db writes queued for the writer thread",
        wst.depth);
    one(out, "mmbot_state_queue_depth_max", "gauge", "high-water mark of the queued writes",
        wst.depth_max);
    one(out, "mmbot_state_queue_capacity", "gauge", "cap of the queued writes", wst.cap);
    one(out, "mmbot_state_queue_full_total", "counter",
        "writes that found the queue full (the loop waited; none is dropped)", (double)wst.full);
    one(out, "mmbot_state_queue_syncs_total", "counter",
        "times the loop waited for the writer's commit (a create whose id was not pooled)",
        (double)wst.syncs);
    one(out, "mmbot_state_queue_wait_seconds_max", "gauge",
        "longest wait of the loop on the writer thread (queue full or a sync)",
        wst.wait_us_max / 1e6);
    /* where the heap goes: SQLite's own allocations, and malloc's view of the whole heap */
    one(out, "mmbot_sqlite_memory_bytes", "gauge", "memory SQLite holds (page caches, statements)",
        (double)sqlite3_memory_used());
    one(out, "mmbot_sqlite_memory_bytes_max", "gauge", "high-water mark of SQLite's memory",
        (double)sqlite3_memory_highwater(0));
    struct mallinfo2 mi = mallinfo2();
    one(out, "mmbot_heap_in_use_bytes", "gauge", "bytes malloc has handed out and not got back",
        (double)mi.uordblks);
    one(out, "mmbot_state_db_orders", "gauge", "order rows in the state db", ss.orders);
    one(out, "mmbot_state_db_orders_max", "gauge", "high-water mark of the order rows",
        ss.orders_max);
    one(out, "mmbot_state_db_fills", "gauge", "fill rows in the state db", ss.fills);
    one(out, "mmbot_state_db_fills_max", "gauge", "high-water mark of the fill rows", ss.fills_max);
    one(out, "mmbot_state_db_orders_cap", "gauge", "cap of the order rows (terminal ones pruned)",
        ss.orders_cap);
    one(out, "mmbot_state_db_fills_cap", "gauge", "cap of the fill rows (oldest pruned)",
        ss.fills_cap);
    one(out, "mmbot_sqlite_cache_cap_bytes", "gauge", "cap of SQLite's page cache per connection",
        (double)ss.cache_cap_bytes);
    one(out, "mmbot_sqlite_heap_limit_bytes", "gauge", "SQLite's soft heap limit",
        (double)ss.heap_limit);
    one(out, "mmbot_fault_leaked_bytes", "gauge",
        "memory leaked on purpose by fault.leak_bytes_per_s (fault injection; 0 when off)",
        (double)mmfault_leaked(b->leak));
    restc_stats rs;
    restc_get_stats(b->rc, &rs);
    one(out, "mmbot_rest_pending", "gauge", "REST requests accepted and not yet answered",
        rs.pending);
    one(out, "mmbot_rest_pending_max", "gauge", "high-water mark of the pending REST requests",
        rs.pending_max);
    one(out, "mmbot_rest_in_flight_max", "gauge", "high-water mark of the requests handed to curl",
        rs.in_flight_max);
    /* latency_ms: restc's rest stage, then ours */
    restc_metrics(b->rc, out, 1);
    for (size_t k = 0; k < T2O_BUCKETS; k++) {
        char le[32];
        if (isinf(t2o_bounds_ms[k]))
            snprintf(le, sizeof le, "+Inf");
        else
            snprintf(le, sizeof le, "%g", t2o_bounds_ms[k]);
        promtext_sample(out, "latency_ms_bucket",
                        (const char *[]){"stage", "tick_to_order", "le", le, NULL},
                        (double)b->t2o_buckets[k]);
    }
    promtext_sample(out, "latency_ms_sum", (const char *[]){"stage", "tick_to_order", NULL},
                    b->t2o_sum_ms);
    promtext_sample(out, "latency_ms_count", (const char *[]){"stage", "tick_to_order", NULL},
                    (double)b->t2o_count);
    const wsc *ws[2] = {b->pub, b->priv};
    wsc_metrics(ws, b->priv ? 2 : 1, out);
}

static void json_str(sbuf *out, const char *s)
{
    sbuf_add(out, "\"", 1);
    for (; *s; s++) {
        char esc[8];
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = *s;
            sbuf_add(out, esc, 2);
        } else if ((unsigned char)*s < ' ') {
            int n = snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
            sbuf_add(out, esc, (size_t)n);
        } else {
            sbuf_add(out, s, 1);
        }
    }
    sbuf_add(out, "\"", 1);
}

static void bot_health(bot *b, sbuf *out)
{
    int64_t now = wall_ms();
    const char *status = "ok";
    char reason[320] = "";
    char killed[ENGINE_REASON_MAX];
    wsc_state ps = wsc_get_state(b->pub), vs = b->priv ? wsc_get_state(b->priv) : WSC_IDLE;
    if (engine_killed(b->eng, killed, sizeof killed)) {
        status = "down";
        snprintf(reason, sizeof reason, "%s", killed);
    } else if (b->ph == PH_SHUTDOWN || b->ph == PH_DONE) {
        status = "down";
        snprintf(reason, sizeof reason, "shutting down");
    } else {
        for (size_t i = 0; i < engine_nsymbols(b->eng) && !reason[0]; i++) {
            engine_gate g = engine_can_quote(b->eng, i, now);
            if (g != ENGINE_GATE_OK) {
                status = "degraded";
                snprintf(reason, sizeof reason, "%s: %s", engine_symbol(b->eng, i),
                         engine_gate_name(g));
            }
        }
        const char *extra[] = {b->health_reason, b->clock_reason};
        for (size_t i = 0; i < 2; i++) {
            if (!extra[i][0])
                continue;
            status = "degraded";
            size_t n = strlen(reason);
            snprintf(reason + n, sizeof reason - n, "%s%s", n ? "; " : "", extra[i]);
        }
        if (ps != WSC_LIVE && vs != WSC_LIVE && b->priv)
            status = "down";
    }
    engine_stats es;
    engine_stats_get(b->eng, &es);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "{\"status\":\"%s\",\"last_heartbeat\":%.3f,\"ws_public\":\"%s\","
                     "\"ws_private\":\"%s\",\"open_orders\":%zu,\"reason\":",
                     status, (double)b->last_hb_ms / 1000.0, wsc_state_name(ps),
                     b->priv ? wsc_state_name(vs) : "off", es.open_orders);
    sbuf_add(out, head, (size_t)n);
    json_str(out, reason);
    sbuf_add(out, "}\n", 2);
}

static void on_http(void *ud, const char *path, int *status, const char **ctype, sbuf *body)
{
    bot *b = ud;
    if (!strcmp(path, "/metrics")) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        bot_metrics(b, body);
    } else if (!strcmp(path, "/health")) {
        *ctype = "application/json";
        bot_health(b, body);
    } else {
        *status = 404;
        sbuf_add(body, "not found\n", 10);
    }
}

/* ---- heartbeat, periodic reconciliation ---- */

static void on_hb(uv_timer_t *t)
{
    bot *b = t->data;
    int64_t now = wall_ms();
    b->last_hb_ms = now;
    engine_stats es;
    engine_stats_get(b->eng, &es);
    restc_stats rs;
    restc_get_stats(b->rc, &rs);
    const orders_position *p = orders_position_get(engine_orders(b->eng), engine_symbol(b->eng, 0));
    mmlog(MMOPTS_LOG_INFO,
          "[HB] alive uptime=%.0fs open_orders=%zu fills=%" PRIu64 " position=%.8g "
          "ws_public=%s ws_private=%s rest_waiting=%u gate=%s",
          (double)(now - b->start_ms) / 1000.0, es.open_orders, es.fills_new, p ? p->size : 0.0,
          wsc_state_name(wsc_get_state(b->pub)),
          b->priv ? wsc_state_name(wsc_get_state(b->priv)) : "off", rs.waiting,
          engine_gate_name(engine_can_quote(b->eng, 0, now)));
    if (b->wr)
        statewr_prune(b->wr, now);
}

static void on_recon(uv_timer_t *t)
{
    bot *b = t->data;
    if (b->ph != PH_QUOTING && b->ph != PH_RECONCILE)
        return;
    if (b->ph == PH_RECONCILE) {
        if (b->recon_pending)
            return; /* a round is out */
        b->recon_ours_left = 0;
        b->recon_failed = 0;
    }
    for (size_t i = 0; i < engine_nsymbols(b->eng); i++)
        if (list_open(b, i) != 0 && b->ph == PH_RECONCILE)
            b->recon_failed = 1;
}

/* ---- shutdown ---- */

static void sd_finish(bot *b, int code)
{
    b->ph = PH_DONE;
    b->exit_code = code;
    uv_stop(&b->loop);
}

static void sd_cancel_all(bot *b)
{
    b->sd_pending = 0;
    for (size_t i = 0; i < engine_nsymbols(b->eng); i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"category\":\"linear\",\"symbol\":\"%s\"}",
                 engine_symbol(b->eng, i));
        b->sd_pending++;
        if (submit(b, req_new(b, RQ_CXALL, i), 1, "/v5/order/cancel-all", body,
                   RESTC_SIGNED | RESTC_RETRY) != 0)
            b->sd_pending--;
    }
    if (b->sd_pending == 0)
        uv_timer_start(&b->sd_timer, on_sd_step, 0, 0);
}

/* The shutdown's steps: cancel-all (all symbols) -> verify (all symbols) -> done or again. */
static void on_sd_step(uv_timer_t *t)
{
    bot *b = t->data;
    if (!b->sd_verifying) {
        b->sd_verifying = 1;
        b->sd_left = 0;
        b->sd_left_ids[0] = '\0';
        b->sd_pending = 0;
        for (size_t i = 0; i < engine_nsymbols(b->eng); i++)
            if (list_open(b, i) != 0)
                b->sd_left += 1000; /* not verified */
        if (b->sd_pending == 0)
            uv_timer_start(&b->sd_timer, on_sd_step, 0, 0);
        return;
    }
    b->sd_verifying = 0;
    if (b->sd_left == 0) {
        mmlog(MMOPTS_LOG_INFO, "[SHUTDOWN] Cancelled %u orders", b->sd_cancelled);
        mmlog(MMOPTS_LOG_INFO, "[SHUTDOWN] verified: no open order left");
        mmlog(MMOPTS_LOG_INFO, "shutdown complete");
        sd_finish(b, engine_killed(b->eng, NULL, 0) ? 1 : 0);
        return;
    }
    if (++b->sd_try > b->o->shutdown.cancel_retries) {
        mmlog(MMOPTS_LOG_ERROR, "[SHUTDOWN] Cancelled %u orders; still open after %u tries: %s",
              b->sd_cancelled, b->sd_try,
              b->sd_left >= 1000 ? "(could not verify)" : b->sd_left_ids);
        sd_finish(b, 1);
        return;
    }
    mmlog(MMOPTS_LOG_WARN, "[SHUTDOWN] %s left open: cancelling again (try %u of %u)",
          b->sd_left >= 1000 ? "orders may be" : b->sd_left_ids, b->sd_try + 1,
          b->o->shutdown.cancel_retries + 1);
    sd_cancel_all(b);
}

static void on_sd_deadline(uv_timer_t *t)
{
    bot *b = t->data;
    mmlog(MMOPTS_LOG_ERROR, "[SHUTDOWN] not verified within %.0f s: exiting with orders maybe left",
          (double)b->o->shutdown.timeout_ms / 1000.0);
    sd_finish(b, 1);
}

static void begin_shutdown(bot *b, const char *why)
{
    if (b->ph == PH_SHUTDOWN || b->ph == PH_DONE)
        return;
    b->ph = PH_SHUTDOWN;
    engine_set_stopping(b->eng);
    mmlog(MMOPTS_LOG_INFO, "[SHUTDOWN] %s", why);
    if (b->o->fault.skip_cancel_on_shutdown && !b->dry_run) {
        engine_stats es;
        engine_stats_get(b->eng, &es);
        mmlog(MMOPTS_LOG_WARN,
              "[SHUTDOWN] fault.skip_cancel_on_shutdown: not cancelling, %zu orders left open "
              "(fault injection)",
              es.open_orders);
        mmlog(MMOPTS_LOG_INFO, "shutdown complete");
        sd_finish(b, 0);
        return;
    }
    if (b->dry_run) {
        mmlog(MMOPTS_LOG_INFO, "shutdown complete");
        sd_finish(b, 0);
        return;
    }
    mmlog(MMOPTS_LOG_INFO, "[SHUTDOWN] Cancelling all active orders...");
    uv_timer_start(&b->sd_deadline, on_sd_deadline, b->o->shutdown.timeout_ms, 0);
    b->sd_verifying = 0;
    sd_cancel_all(b);
}

static void on_signal(uv_signal_t *s, int signum)
{
    bot *b = s->data;
    if (b->ph == PH_SHUTDOWN) {
        mmlog(MMOPTS_LOG_WARN, "[SHUTDOWN] %s again: still cancelling (shutdown.timeout bounds it)",
              strsignal(signum));
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "%s received", strsignal(signum));
    begin_shutdown(b, why);
}

/* ---- fault injection (fault.*: tests of a supervisor, mmfault.h) ---- */

#define FAULT_LEAK_MS 100

static void on_fault_leak(uv_timer_t *t)
{
    bot *b = t->data;
    if (mmfault_leak(b->leak, FAULT_LEAK_MS) == ERR_FULL) {
        mmlog(MMOPTS_LOG_WARN, "fault: leak_bytes_per_s: %llu bytes leaked, the cap: stopping",
              (unsigned long long)mmfault_leaked(b->leak));
        uv_timer_stop(t);
    }
}

static void on_fault_hang(uv_timer_t *t)
{
    bot *b = t->data;
    mmlog(MMOPTS_LOG_WARN,
          "fault: hang_after_s: the loop stops now, for up to %d s; the watchdog is off "
          "(fault injection)",
          MMFAULT_HANG_MAX_S);
    watchdog_stop(b->wd); /* off: the supervisor's heartbeat watchdog is to catch this */
    b->wd = NULL;
    mmfault_hang(MMFAULT_HANG_MAX_S);
}

static void fault_start(bot *b)
{
    const mmopts *o = b->o;
    uv_timer_init(&b->loop, &b->fault_leak_t);
    uv_timer_init(&b->loop, &b->fault_hang_t);
    b->fault_leak_t.data = b->fault_hang_t.data = b;
    if (o->fault.skip_cancel_on_shutdown)
        mmlog(MMOPTS_LOG_WARN, "fault: skip_cancel_on_shutdown: SIGTERM will leave the orders "
                               "open (fault injection, for tests)");
    if (o->fault.leak_bytes_per_s && (b->leak = mmfault_new(o->fault.leak_bytes_per_s))) {
        mmlog(MMOPTS_LOG_WARN,
              "fault: leak_bytes_per_s: leaking %u bytes a second (fault "
              "injection, for tests)",
              o->fault.leak_bytes_per_s);
        uv_timer_start(&b->fault_leak_t, on_fault_leak, FAULT_LEAK_MS, FAULT_LEAK_MS);
    }
    if (o->fault.hang_after_s) {
        mmlog(MMOPTS_LOG_WARN,
              "fault: hang_after_s: the loop stops in %u s (fault injection, "
              "for tests)",
              o->fault.hang_after_s);
        uv_timer_start(&b->fault_hang_t, on_fault_hang, (uint64_t)o->fault.hang_after_s * 1000, 0);
    }
}

/* ---- start and end ---- */

static void on_known_exec(void *ud, const char *exec_id)
{
    engine_fill_seen(ud, exec_id);
}

static void on_guard(uv_timer_t *t)
{
    mmlog(MMOPTS_LOG_WARN, "exit: handles still open after 3 s: leaving anyway");
    uv_stop(t->loop); /* something did not close in time: leave anyway */
}

int bot_run(const mmopts *o, const mmkeys *keys, int dry_run)
{
    bot *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "mmbot: out of memory\n");
        return 3;
    }
    prefault(b, sizeof *b); /* parse buffers and queues resident from the start */
    b->o = o;
    b->dry_run = dry_run;
    b->start_ms = wall_ms();
    b->last_hb_ms = b->start_ms;
    mmlog_set_level(o->log_level);
    char err[512];
    int code = 3;
    uv_loop_init(&b->loop);

    mmstate_config sc;
    mmstate_config_default(&sc);
    sc.path = o->state_db;
    if (mmstate_open(&b->db, &sc, err, sizeof err) != 0) {
        fprintf(stderr, "mmbot: %s\n", err);
        goto out;
    }
    b->eng = engine_new(o, mmstate_run_id(b->db), dry_run, err, sizeof err);
    if (!b->eng) {
        fprintf(stderr, "mmbot: %s\n", err);
        goto out;
    }
    mmstate_load_exec_ids(b->db, ORDERS_MAX_FILLS, on_known_exec, b->eng, NULL);
    int more = 0;
    mmstate_load_reserved(b->db, IDPOOL_STATUS_RESERVED, IDPOOL_RECOVER_MAX, on_reserved, b, &more);
    if (more)
        mmlog(MMOPTS_LOG_WARN,
              "recover: more than %d link ids reserved by ended runs; the rest at the next start",
              IDPOOL_RECOVER_MAX);
    /* the loads are done: from here on the writer thread owns the handle */
    code = statewr_start(&b->wr, b->db, NULL, on_state, b, NULL, NULL);
    if (code != 0) {
        fprintf(stderr, "mmbot: cannot start the state database writer '%s': %s\n", o->state_db,
                errcode_str(code));
        code = 3;
        goto out;
    }
    code = 3;
    idpool_init(&b->pool, IDPOOL_CAP, IDPOOL_LOW_WATER);
    pool_refill(b, wall_ms());
    statewr_flush(b->wr); /* the first ids are committed before the loop starts */

    restc_config rcfg;
    restc_config_default(&rcfg);
    rcfg.base_url = o->exchange.rest_url;
    rcfg.api_key = keys ? keys->key : NULL;
    rcfg.api_secret = keys ? keys->secret : NULL;
    rcfg.recv_window_ms = o->exchange.recv_window_ms;
    rcfg.limit = o->connection_pool.limit;
    rcfg.limit_per_host = o->connection_pool.limit_per_host;
    rcfg.request_timeout_ms = (unsigned)o->connection_pool.request_timeout_ms;
    b->rc = restc_new(&b->loop, &rcfg, err, sizeof err);
    if (!b->rc) {
        fprintf(stderr, "mmbot: %s\n", err);
        goto out;
    }

    /* streams */
    char topics[2 * ENGINE_MAX_SYMBOLS][64];
    const char *tp[2 * ENGINE_MAX_SYMBOLS];
    size_t nt = 0;
    for (size_t i = 0; i < engine_nsymbols(b->eng); i++) {
        snprintf(topics[nt], sizeof topics[nt], "orderbook.50.%s", engine_symbol(b->eng, i));
        tp[nt] = topics[nt];
        nt++;
        snprintf(topics[nt], sizeof topics[nt], "publicTrade.%s", engine_symbol(b->eng, i));
        tp[nt] = topics[nt];
        nt++;
    }
    wsc_callbacks pcb = {on_public, on_ws_state, on_ws_log};
    wsc_config wc = {0};
    wc.url = o->exchange.ws_public_url;
    wc.stream = "public";
    wc.topics = tp;
    wc.ntopics = nt;
    wc.heartbeat_interval = (double)o->websocket.heartbeat_interval_ms / 1000.0;
    wc.stale_timeout = (double)o->websocket.stale_timeout_ms / 1000.0;
    wc.initial_reconnect_delay = (double)o->websocket.initial_reconnect_delay_ms / 1000.0;
    wc.max_reconnect_delay = (double)o->websocket.max_reconnect_delay_ms / 1000.0;
    int wcode;
    b->pub = wsc_new(&b->loop, &wc, &pcb, b, err, sizeof err, &wcode);
    if (!b->pub) {
        fprintf(stderr, "mmbot: %s\n", err);
        goto out;
    }
    if (keys) {
        static const char *const ptopics[] = {"order", "execution", "position", "wallet",
                                              "dcp.future"};
        wsc_callbacks vcb = {on_private, on_ws_state, on_ws_log};
        wsc_config vc = wc;
        vc.url = o->exchange.ws_private_url;
        vc.stream = "private";
        vc.is_private = 1;
        vc.api_key = keys->key;
        vc.api_secret = keys->secret;
        vc.topics = ptopics;
        vc.ntopics = o->dcp.enabled ? 5 : 4;
        b->priv = wsc_new(&b->loop, &vc, &vcb, b, err, sizeof err, &wcode);
        if (!b->priv) {
            fprintf(stderr, "mmbot: %s\n", err);
            goto out;
        }
    }
    if (o->http_listen[0]) {
        b->http = httpd_start(&b->loop, o->http_listen, on_http, b, err, sizeof err);
        if (!b->http) {
            fprintf(stderr, "mmbot: %s\n", err);
            goto out;
        }
        char host[64];
        snprintf(host, sizeof host, "%s", o->http_listen);
        char *colon = strrchr(host, ':');
        if (colon)
            *colon = '\0';
        mmlog(MMOPTS_LOG_INFO, "http: /health and /metrics on http://%s:%d", host,
              httpd_port(b->http));
    }
    b->wd = watchdog_start(o->watchdog_timeout_ms, 2, "mmbot");

    b->handles = 1;
    uv_signal_init(&b->loop, &b->sig_term);
    uv_signal_init(&b->loop, &b->sig_int);
    b->sig_term.data = b->sig_int.data = b;
    uv_signal_start(&b->sig_term, on_signal, SIGTERM);
    uv_signal_start(&b->sig_int, on_signal, SIGINT);
    uv_timer_init(&b->loop, &b->tick);
    uv_timer_init(&b->loop, &b->hb);
    uv_timer_init(&b->loop, &b->recon);
    uv_timer_init(&b->loop, &b->sd_timer);
    uv_timer_init(&b->loop, &b->sd_deadline);
    b->tick.data = b->hb.data = b->recon.data = b->sd_timer.data = b->sd_deadline.data = b;
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_start(&b->hb, on_hb, o->hb_interval_ms, o->hb_interval_ms);
    uv_timer_start(&b->recon, on_recon, o->reconcile_interval_ms, o->reconcile_interval_ms);
    fault_start(b);

    mmlog(MMOPTS_LOG_INFO, "mmbot: %s%zu symbols, REST %s, state %s (run %" PRIu64 ")",
          dry_run ? "dry run (no order is sent), " : "", engine_nsymbols(b->eng),
          o->exchange.rest_url, o->state_db, mmstate_run_id(b->db));
    wsc_start(b->pub);
    if (b->priv)
        wsc_start(b->priv);

    /* start-up requests */
    b->ph = PH_STARTING;
    b->startup_pending = 1 + (unsigned)engine_nsymbols(b->eng) + (keys ? 2 : 0);
    submit(b, req_new(b, RQ_TIME, 0), 0, "/v5/market/time", NULL, RESTC_RETRY);
    for (size_t i = 0; i < engine_nsymbols(b->eng); i++) {
        char q[96];
        snprintf(q, sizeof q, "category=linear&symbol=%s", engine_symbol(b->eng, i));
        submit(b, req_new(b, RQ_INSTR, i), 0, "/v5/market/instruments-info", q, RESTC_RETRY);
    }
    if (keys) {
        submit(b, req_new(b, RQ_POSITION, 0), 0, "/v5/position/list", "category=linear",
               RESTC_SIGNED | RESTC_RETRY);
        submit(b, req_new(b, RQ_WALLET, 0), 0, "/v5/account/wallet-balance", "accountType=UNIFIED",
               RESTC_SIGNED | RESTC_RETRY);
        if (o->dcp.enabled) {
            char body[96];
            snprintf(body, sizeof body, "{\"timeWindow\":%u,\"product\":\"DERIVATIVES\"}",
                     (unsigned)(o->dcp.time_window_ms / 1000));
            submit(b, req_new(b, RQ_DCP, 0), 1, "/v5/order/disconnected-cancel-all", body,
                   RESTC_SIGNED | RESTC_RETRY);
        }
    } else if (dry_run) {
        engine_reconciled(b->eng);
    }

    uv_run(&b->loop, UV_RUN_DEFAULT);
    code = b->exit_code;

out:
    watchdog_stop(b->wd);
    if (b->handles) {
        uv_handle_t *own[] = {(uv_handle_t *)&b->sig_term,    (uv_handle_t *)&b->sig_int,
                              (uv_handle_t *)&b->tick,        (uv_handle_t *)&b->hb,
                              (uv_handle_t *)&b->recon,       (uv_handle_t *)&b->sd_timer,
                              (uv_handle_t *)&b->sd_deadline, (uv_handle_t *)&b->fault_leak_t,
                              (uv_handle_t *)&b->fault_hang_t};
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
            uv_close(own[i], NULL);
    }
    restc_close(b->rc);
    httpd_stop(b->http);
    /* the clients close their handles asynchronously: run until they are gone, at most 3 s */
    uv_timer_t guard;
    uv_timer_init(&b->loop, &guard);
    uv_timer_start(&guard, on_guard, 3000, 0);
    uv_unref((uv_handle_t *)&guard);
    wsc_free(b->pub);
    wsc_free(b->priv);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&b->loop, UV_RUN_NOWAIT);
    uv_loop_close(&b->loop);
    if (b->wr && b->eng) {
        details_flush(b, wall_ms());
        status_flush(b);
        pool_retire_unused(b);
    }
    statewr_stop(b->wr); /* drains the queue: every write above is committed */
    engine_free(b->eng);
    mmstate_close(b->db);
    mmfault_free(b->leak);
    for (size_t i = 0; i < ENGINE_MAX_SYMBOLS; i++)
        free(b->pg[i]);
    free(b);
    return code;
}
