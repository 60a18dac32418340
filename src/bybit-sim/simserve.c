/* simserve: a simulator on a socket (wsrv <-> sim, delayed replies, the tick). See simserve.h. */
#include "simserve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct delayed {
    uv_timer_t timer;
    wsrv_req *req;
    rest_out out;
    struct delayed *prev, *next;
    simserve *v;
} delayed;

struct simserve {
    uv_loop_t *loop;
    sim *s;
    wsrv *srv;
    uv_timer_t tick;
    delayed *waiting;
    simserve_stats st;
    int stopping;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- I/O of the sim ---- */

static int io_send(void *h, const char *msg, size_t len)
{
    return wsrv_send(h, msg, len);
}

static size_t io_queued(void *h)
{
    return wsrv_queued(h);
}

static void io_close(void *h, int code, const char *reason)
{
    wsrv_close(h, code, reason);
}

static void io_reset(void *h)
{
    wsrv_reset(h);
}

const sim_io simserve_io = {io_send, io_queued, io_close, io_reset};

/* ---- HTTP ---- */

static void send_out(wsrv_req *r, rest_out *out)
{
    wsrv_reply(r, out->status, "application/json", out->headers.len ? out->headers.data : NULL,
               out->body.data ? out->body.data : "", out->body.len);
}

static void delayed_closed(uv_handle_t *h)
{
    delayed *d = h->data;
    rest_out_free(&d->out);
    free(d);
}

static void delayed_fire(uv_timer_t *t)
{
    delayed *d = t->data;
    simserve *v = d->v;
    send_out(d->req, &d->out);
    if (d->prev)
        d->prev->next = d->next;
    else
        v->waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
    v->st.held--;
    uv_close((uv_handle_t *)&d->timer, delayed_closed);
}

static void on_request(void *ud, wsrv_req *r)
{
    simserve *v = ud;
    rest_in in;
    size_t blen;
    memset(&in, 0, sizeof in);
    in.method = wsrv_req_method(r);
    in.path = wsrv_req_path(r);
    in.query = wsrv_req_query(r);
    in.body = wsrv_req_body(r, &blen);
    in.body_len = blen;
    in.peer = wsrv_req_peer(r);
    in.api_key = wsrv_req_header(r, "x-bapi-api-key");
    in.timestamp = wsrv_req_header(r, "x-bapi-timestamp");
    in.sign = wsrv_req_header(r, "x-bapi-sign");
    in.recv_window = wsrv_req_header(r, "x-bapi-recv-window");
    rest_out out;
    rest_out_init(&out);
    sim_http(v->s, &in, now_ms(), &out);
    v->st.requests++;
    /* only a reply held back by the latency fault needs a heap record and a timer */
    delayed *d = out.delay_ms > 0 && v->st.held < SIMSERVE_MAX_DELAYED && !v->stopping
                     ? calloc(1, sizeof *d)
                     : NULL;
    if (!d) {
        send_out(r, &out);
        rest_out_free(&out);
        return;
    }
    d->out = out; /* the buffers move into d */
    d->req = r;
    d->v = v;
    uv_timer_init(v->loop, &d->timer);
    d->timer.data = d;
    d->next = v->waiting;
    if (v->waiting)
        v->waiting->prev = d;
    v->waiting = d;
    if (++v->st.held > v->st.held_max)
        v->st.held_max = v->st.held;
    uv_timer_start(&d->timer, delayed_fire, (uint64_t)d->out.delay_ms, 0);
}

/* ---- WebSocket ---- */

static int on_ws_open(void *ud, wsrv_conn *c, const char *path, const char *query)
{
    simserve *v = ud;
    sim_conn *sc = sim_ws_open(v->s, c, path, query, now_ms());
    if (!sc)
        return -1;
    wsrv_conn_set_user(c, sc);
    return 0;
}

static void on_ws_message(void *ud, wsrv_conn *c, const char *msg, size_t len)
{
    simserve *v = ud;
    sim_conn *sc = wsrv_conn_user(c);
    if (sc)
        sim_ws_message(v->s, sc, msg, len, now_ms());
}

static void on_ws_close(void *ud, wsrv_conn *c)
{
    simserve *v = ud;
    sim_conn *sc = wsrv_conn_user(c);
    if (sc)
        sim_ws_close(v->s, sc, now_ms());
    wsrv_conn_set_user(c, NULL);
}

/* ---- life ---- */

static void on_tick(uv_timer_t *t)
{
    simserve *v = t->data;
    sim_tick(v->s, now_ms());
}

simserve *simserve_start(uv_loop_t *loop, sim *s, const char *addr, const wsrv_opts *wo,
                         uint64_t tick_ms, char *err, size_t errlen)
{
    simserve *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    v->loop = loop;
    v->s = s;
    wsrv_callbacks cb = {on_request, on_ws_open, on_ws_message, on_ws_close};
    v->srv = wsrv_start(loop, addr, wo, &cb, v, err, errlen);
    if (!v->srv) {
        free(v);
        return NULL;
    }
    uv_timer_init(loop, &v->tick);
    v->tick.data = v;
    if (tick_ms)
        uv_timer_start(&v->tick, on_tick, tick_ms, tick_ms);
    return v;
}

int simserve_adopt(simserve *v, int fd)
{
    return wsrv_adopt(v->srv, fd);
}

void simserve_set_http_limits(simserve *v, unsigned head_timeout_ms, size_t max_conns)
{
    wsrv_set_limits(v->srv, head_timeout_ms, max_conns);
}

int simserve_port(const simserve *v)
{
    return wsrv_port(v->srv);
}

void simserve_stats_get(const simserve *v, simserve_stats *st)
{
    *st = v->st;
}

static void tick_closed(uv_handle_t *h)
{
    free(h->data);
}

void simserve_stop(simserve *v)
{
    if (!v || v->stopping)
        return;
    v->stopping = 1;
    /* answer what waits on the latency fault, then close everything */
    while (v->waiting) {
        delayed *d = v->waiting;
        uv_timer_stop(&d->timer);
        delayed_fire(&d->timer);
    }
    wsrv_stop(v->srv);
    v->srv = NULL;
    uv_timer_stop(&v->tick);
    uv_close((uv_handle_t *)&v->tick, tick_closed);
}
