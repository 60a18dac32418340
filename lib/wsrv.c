/*
 * wsrv: HTTP and WebSocket on one port; HTTP/1.1 on libuv, WebSockets by libwebsockets 4.1 on
 * the caller's libuv loop. See wsrv.h.
 *
 * HTTP is served here, not by lws: lws 4.1 spins forever in lws_http_action() when a request
 * with a body is parsed from its rx buffer list, that is any POST pipelined behind another
 * request on one read (its drain loop re-feeds the buffer list, the request's own head, as the
 * body; once the reply completes the transaction the connection is LRS_DEFERRING_ACTION, where
 * lws_read_h1() consumes nothing, and the loop never ends, nor does the process's loop). So a
 * connection is read into a bounded buffer; httpreq.c says when one whole request is in; the
 * connection then stops reading until the reply is written, and the next request waits in the
 * buffer. A WebSocket upgrade is handed to lws with what was read (lws_adopt_socket_vhost_
 * readbuf on a dup of the socket): lws does the handshake and the frames.
 *
 * Bounds: a request must arrive whole within head_timeout_ms of its first byte (else the
 * connection is closed), an idle keep-alive connection is closed after WSRV_IDLE_MS, and past
 * max_conns HTTP connections the one idle or reading the longest is closed to make room, so a
 * new client is served while others hold connections half open.
 *
 * WebSocket: outgoing messages are a FIFO of heap blocks with LWS_PRE bytes of headroom, one
 * lws_write per WRITEABLE callback. Closing and resetting are flags acted on in the next
 * WRITEABLE callback, since lws only lets a connection close itself from its own callback.
 *
 * Destruction: lws 4.1 on a foreign loop frees its context only after libuv has closed lws's
 * handles; a reaper timer finishes it, and frees the server once the listener and every HTTP
 * connection's handles are closed too.
 */
#include "wsrv.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "errcode.h"
#include "httpreq.h"
#include "sbuf.h"

#define WSRV_MAX_URI   2048
#define WSRV_MAX_HDR   8192
#define WSRV_REAP_MS   2
#define WSRV_HDRS      16    /* header values handed out per request */
#define WSRV_IDLE_MS   60000 /* an idle keep-alive connection is closed after this */
#define WSRV_READ      65536 /* bytes read per callback at most */
#define WSRV_LINGER_MS 2000  /* HC_DRAIN at most; also a reply's write when the server stops */
/* WebSocket messages up to this size are written at once when nothing waits */
#define WSRV_DIRECT_MAX 16384
/* What an lws callback returns to have lws close the connection: lws's convention (any
 * non-zero value), not an error code of lib/errcode.h. */
#define WSRV_LWS_CLOSE (-1)

typedef struct wmsg {
    struct wmsg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE headroom, then the message */
} wmsg;

typedef struct hconn hconn;

struct wsrv {
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    wsrv_callbacks cb;
    wsrv_opts o;
    unsigned head_timeout_ms;
    size_t max_conns;
    void *ud;
    int port;
    int stopping;
    uv_tcp_t listener;
    int listening;       /* listener initialised: to be closed */
    int listener_closed; /* its close callback ran */
    uv_timer_t reaper;
    unsigned closing;
    hconn *conns; /* HTTP connections, newest first */
    size_t nconns;
    size_t nhandles; /* HTTP connection handles not yet closed */
    wsrv_stats st;
    char iface[INET6_ADDRSTRLEN];
};

/* An HTTP connection. */
/* HC_DRAIN: the reply is out and the write side shut down; what the client still sends is read
 * and dropped until it closes or WSRV_LINGER_MS pass (closing with unread input would reset
 * the connection, and the client could lose the reply) */
enum { HC_READ, HC_BUSY, HC_DRAIN, HC_CLOSING };
struct hconn {
    wsrv *srv;
    hconn *prev, *next;
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } io;
    uv_timer_t timer;
    uv_shutdown_t shut;
    int state;
    int reading;
    int writing;       /* a reply's uv_write is in flight */
    int pending_close; /* handles whose close callback has not run */
    char *in;
    size_t inlen, incap;
    uint64_t since; /* loop time of the first byte of the request being read, or of idleness */
    wsrv_req *req;  /* handed to the application, until its reply is written */
    int close_after;
    char peer[48];
};

/* A WebSocket connection: lws's per-session data. */
struct wsrv_conn {
    wsrv *srv;
    struct lws *wsi;
    int is_ws;
    void *user;
    int opened;      /* on_ws_open accepted it: on_ws_close is owed */
    int established; /* the 101 is out: messages may be written */
    wmsg *head, *tail;
    size_t queued;
    sbuf rx;
    int closing, resetting, close_code;
    char close_reason[124];
    char peer[48];
};

struct wsrv_req {
    hconn *conn; /* NULL once the client is gone */
    char method[16];
    char path[WSRV_MAX_URI];
    char query[WSRV_MAX_URI];
    char peer[48];
    char *head; /* a copy of the request head; the header table points into it */
    httpreq_head h;
    struct {
        const httpreq_hdr *x;
        char *value; /* NUL-terminated copy, up to 1023 bytes */
    } hv[WSRV_HDRS];
    int nhv;
    sbuf body;
    int replied;
};

/* ---- requests ---------------------------------------------------------------------------- */

static void req_free(wsrv_req *r)
{
    if (!r)
        return;
    sbuf_free(&r->body);
    for (int i = 0; i < r->nhv; i++)
        free(r->hv[i].value);
    free(r->head);
    free(r);
}

const char *wsrv_req_method(const wsrv_req *r)
{
    return r->method;
}

const char *wsrv_req_path(const wsrv_req *r)
{
    return r->path;
}

const char *wsrv_req_query(const wsrv_req *r)
{
    return r->query;
}

const char *wsrv_req_peer(const wsrv_req *r)
{
    return r->peer;
}

const char *wsrv_req_body(const wsrv_req *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

const char *wsrv_req_header(wsrv_req *r, const char *name)
{
    const httpreq_hdr *x = httpreq_find(&r->h, name);
    if (!x)
        return NULL;
    for (int i = 0; i < r->nhv; i++)
        if (r->hv[i].x == x)
            return r->hv[i].value;
    if (r->nhv >= WSRV_HDRS)
        return NULL;
    size_t n = x->vlen < 1023 ? x->vlen : 1023;
    char *v = malloc(n + 1);
    if (!v)
        return NULL;
    memcpy(v, x->val, n);
    v[n] = '\0';
    r->hv[r->nhv].x = x;
    r->hv[r->nhv].value = v;
    return r->hv[r->nhv++].value;
}

/* %XX decoded in place, as lws did for each argument (but %00 is kept as it is: no NUL enters
 * a string); returns the new length */
static size_t pct_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int a, b;
        if (s[i] == '%' && i + 2 < n && (a = httpreq_hexdig(s[i + 1])) >= 0 &&
            (b = httpreq_hexdig(s[i + 2])) >= 0 && (a || b)) {
            s[o++] = (char)(a * 16 + b);
            i += 2;
        } else
            s[o++] = s[i];
    }
    return o;
}

/* ---- HTTP connections -------------------------------------------------------------------- */

static void hc_closed(uv_handle_t *h)
{
    hconn *c = h->data;
    if (--c->pending_close)
        return;
    c->srv->nhandles--;
    free(c->in);
    free(c);
}

/* Closes the connection now; a request the application holds is detached (its reply only
 * frees it). */
static void hc_close(hconn *c)
{
    if (c->state == HC_CLOSING)
        return;
    wsrv *s = c->srv;
    c->state = HC_CLOSING;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->nconns--;
    if (c->req) {
        c->req->conn = NULL;
        c->req = NULL;
    }
    c->pending_close = 2;
    uv_close(&c->io.h, hc_closed);
    uv_close((uv_handle_t *)&c->timer, hc_closed);
}

static void hc_process(hconn *c);

static void hc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    hconn *c = h->data;
    (void)hint;
    if (c->incap - c->inlen < WSRV_READ / 4 && c->incap < c->srv->o.max_body + 2 * WSRV_MAX_HDR) {
        size_t ncap = c->incap ? c->incap * 2 : 16384;
        if (ncap > c->srv->o.max_body + 2 * WSRV_MAX_HDR)
            ncap = c->srv->o.max_body + 2 * WSRV_MAX_HDR;
        char *n = realloc(c->in, ncap);
        if (n) {
            c->in = n;
            c->incap = ncap;
        }
    }
    size_t room = c->incap - c->inlen;
    *buf = uv_buf_init(c->in ? c->in + c->inlen : NULL,
                       (unsigned)(room > WSRV_READ ? WSRV_READ : room));
}

static void hc_timer(uv_timer_t *t)
{
    hconn *c = t->data;
    if (c->state == HC_DRAIN || (c->state == HC_BUSY && c->srv->stopping)) {
        hc_close(c);
        return;
    }
    if (c->state != HC_READ)
        return;
    if (c->inlen)
        c->srv->st.head_timeouts++;
    else
        c->srv->st.idle_closed++;
    hc_close(c);
}

static void hc_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    hconn *c = st->data;
    (void)buf;
    if (c->state == HC_CLOSING)
        return;
    if (n < 0) {
        hc_close(c); /* EOF, reset, or no room (a request over the cap is refused before) */
        return;
    }
    if (c->state == HC_DRAIN) {
        c->inlen = 0;
        return;
    }
    if (!n)
        return;
    if (!c->inlen) { /* the first byte of a request: its time starts */
        c->since = uv_now(c->srv->loop);
        uv_timer_start(&c->timer, hc_timer, c->srv->head_timeout_ms, 0);
    }
    c->inlen += (size_t)n;
    hc_process(c);
}

static void hc_read_on(hconn *c, int on)
{
    if (on && !c->reading && (c->state == HC_READ || c->state == HC_DRAIN))
        c->reading = uv_read_start(&c->io.s, hc_alloc, hc_read) == 0;
    else if (!on && c->reading) {
        uv_read_stop(&c->io.s);
        c->reading = 0;
    }
}

static void hc_shut(uv_shutdown_t *r, int status)
{
    hconn *c = r->data;
    if (status < 0 && c->state != HC_CLOSING)
        hc_close(c);
}

typedef struct hwrite {
    uv_write_t w;
    hconn *c;
    char data[];
} hwrite;

static void hc_written(uv_write_t *w, int status)
{
    hwrite *hw = (hwrite *)w;
    hconn *c = hw->c;
    free(hw);
    c->writing = 0;
    if (c->state == HC_CLOSING)
        return;
    if (status < 0 || c->srv->stopping) {
        hc_close(c);
        return;
    }
    if (c->close_after) { /* FIN after the reply, then drain: no reset to lose it */
        c->state = HC_DRAIN;
        c->inlen = 0;
        c->shut.data = c;
        if (uv_shutdown(&c->shut, &c->io.s, hc_shut)) {
            hc_close(c);
            return;
        }
        uv_timer_start(&c->timer, hc_timer, WSRV_LINGER_MS, 0);
        hc_read_on(c, 1);
        return;
    }
    /* keep-alive: the next request, maybe waiting in the buffer already */
    c->state = HC_READ;
    if (c->inlen) {
        c->srv->st.pipelined++;
        c->since = uv_now(c->srv->loop);
        uv_timer_start(&c->timer, hc_timer, c->srv->head_timeout_ms, 0);
    } else {
        c->since = uv_now(c->srv->loop);
        uv_timer_start(&c->timer, hc_timer, WSRV_IDLE_MS, 0);
    }
    hc_read_on(c, 1);
    hc_process(c);
}

/* Writes a whole response and frees r. */
static int hc_respond(hconn *c, int status, const char *ctype, const char *extra, const char *body,
                      size_t len, int head_only)
{
    char top[512];
    int tn = snprintf(
        top, sizeof top, "HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n%s", status,
        httpreq_reason(status), ctype, len, c->close_after ? "connection: close\r\n" : "");
    if (tn < 0 || (size_t)tn >= sizeof top)
        return ERR_RANGE;
    /* extra header lines "Name: value\r\n", only well-formed ones */
    size_t xl = 0;
    if (extra) {
        const char *h = extra;
        while (*h) {
            const char *eol = strstr(h, "\r\n"), *colon = strchr(h, ':');
            if (!eol || !colon || colon > eol || colon == h)
                break;
            h = eol + 2;
        }
        xl = (size_t)(h - extra);
    }
    size_t blen = head_only ? 0 : len;
    hwrite *hw = malloc(sizeof *hw + (size_t)tn + xl + 2 + blen);
    if (!hw)
        return ERR_NOMEM;
    hw->c = c;
    char *p = hw->data;
    memcpy(p, top, (size_t)tn);
    p += tn;
    if (xl)
        memcpy(p, extra, xl);
    p += xl;
    memcpy(p, "\r\n", 2);
    p += 2;
    if (blen)
        memcpy(p, body, blen);
    p += blen;
    uv_buf_t b = uv_buf_init(hw->data, (unsigned)(p - hw->data));
    c->state = HC_BUSY;
    hc_read_on(c, 0);
    uv_timer_stop(&c->timer);
    if (uv_write(&hw->w, &c->io.s, &b, 1, hc_written)) {
        free(hw);
        hc_close(c);
        return ERR_IO;
    }
    c->writing = 1;
    if (c->srv->stopping) /* a last reply: it gets WSRV_LINGER_MS to go out */
        uv_timer_start(&c->timer, hc_timer, WSRV_LINGER_MS, 0);
    return 0;
}

/* A request wsrv refuses itself: answered, then the connection is closed. */
static void hc_refuse(hconn *c, int status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"retCode\":10001,\"retMsg\":\"%s\"}", why);
    c->srv->st.refused++;
    c->close_after = 1;
    c->inlen = 0;
    if (hc_respond(c, status, "application/json", NULL, body, (size_t)n, 0))
        hc_close(c);
}

/* Gives the connection to lws: the upgrade request and whatever followed it. */
static void hc_handoff(hconn *c)
{
    wsrv *s = c->srv;
    uv_os_fd_t fd;
    if (uv_fileno(&c->io.h, &fd) == 0 && !s->stopping) {
        int d = dup(fd);
        if (d >= 0) /* on failure lws closes d */
            (void)lws_adopt_socket_vhost_readbuf(s->vh, d, c->in, c->inlen);
    }
    c->inlen = 0;
    hc_close(c);
}

static void hc_process(hconn *c)
{
    wsrv *s = c->srv;
    if (c->state != HC_READ || !c->inlen)
        return;
    httpreq_head h;
    int status = 400;
    int rc = httpreq_parse_head(c->in, c->inlen, WSRV_MAX_HDR, &h, &status);
    if (rc == ERR_NODATA) {
        hc_read_on(c, 1);
        return;
    }
    if (rc) {
        hc_refuse(c, status, h.why ? h.why : "bad request");
        return;
    }
    size_t used = h.head_len, blen = 0;
    const char *body = NULL;
    char *decoded = NULL;
    if (h.chunked) {
        size_t bused = 0;
        decoded = malloc(s->o.max_body ? s->o.max_body : 1);
        if (!decoded) {
            hc_refuse(c, 500, "out of memory");
            return;
        }
        rc = httpreq_chunked(c->in + h.head_len, c->inlen - h.head_len, s->o.max_body, decoded,
                             s->o.max_body, &bused, &blen, &status);
        if (rc == ERR_NODATA) {
            free(decoded);
            hc_read_on(c, 1);
            return;
        }
        if (rc) {
            free(decoded);
            hc_refuse(c, status,
                      status == 413 ? "request body too large" : "malformed chunked body");
            return;
        }
        body = decoded;
        used += bused;
    } else if (h.clen > 0) {
        if ((unsigned long long)h.clen > s->o.max_body) {
            hc_refuse(c, 413, "request body too large");
            return;
        }
        if (c->inlen - h.head_len < (size_t)h.clen) {
            hc_read_on(c, 1);
            return;
        }
        body = c->in + h.head_len;
        blen = (size_t)h.clen;
        used += blen;
    }
    if (h.upgrade_ws) {
        free(decoded);
        /* what lws would refuse with an HTML 403 of HTTP/1.0: refused here, in JSON */
        const httpreq_hdr *key = httpreq_find(&h, "sec-websocket-key"),
                          *ver = httpreq_find(&h, "sec-websocket-version");
        if (!key || key->vlen != 24 || !ver || ver->vlen != 2 || memcmp(ver->val, "13", 2)) {
            hc_refuse(c, 400,
                      "bad websocket handshake (want Sec-WebSocket-Key and "
                      "Sec-WebSocket-Version: 13)");
            return;
        }
        hc_handoff(c);
        return;
    }

    wsrv_req *r = calloc(1, sizeof *r);
    char *head = r ? malloc(h.head_len) : NULL;
    if (!head) {
        free(r);
        free(decoded);
        hc_refuse(c, 500, "out of memory");
        return;
    }
    memcpy(head, c->in, h.head_len);
    /* the header table, moved to the copy */
    r->h = h;
    for (int i = 0; i < h.nh; i++) {
        r->h.h[i].name = head + (h.h[i].name - c->in);
        r->h.h[i].val = head + (h.h[i].val - c->in);
    }
    r->h.target = head + (h.target - c->in);
    r->head = head;
    snprintf(r->method, sizeof r->method, "%s", h.method);
    /* path and query; the arguments %-decoded one by one and joined by '&' */
    const char *t = r->h.target, *qm = memchr(t, '?', h.target_len);
    size_t pl = qm ? (size_t)(qm - t) : h.target_len;
    if (pl >= sizeof r->path)
        pl = sizeof r->path - 1;
    memcpy(r->path, t, pl);
    r->path[pl] = '\0';
    if (qm) {
        size_t ql = h.target_len - (size_t)(qm + 1 - t), qn = 0, i = 0;
        const char *q = qm + 1;
        while (i < ql) {
            size_t st = i;
            while (i < ql && q[i] != '&')
                i++;
            size_t fl = i - st;
            if (fl && qn + fl + 2 < sizeof r->query) {
                if (qn)
                    r->query[qn++] = '&';
                memcpy(r->query + qn, q + st, fl);
                qn += pct_decode(r->query + qn, fl);
            }
            i++;
        }
        r->query[qn] = '\0';
    }
    snprintf(r->peer, sizeof r->peer, "%s", c->peer);
    sbuf_init(&r->body, s->o.max_body ? s->o.max_body : 1);
    if (blen && sbuf_add(&r->body, body, blen)) {
        req_free(r);
        free(decoded);
        hc_refuse(c, 500, "out of memory");
        return;
    }
    free(decoded);
    r->conn = c;
    c->req = r;
    c->close_after = !h.keep_alive || s->stopping;
    /* one request at a time: the rest waits in the buffer until the reply is written */
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    c->state = HC_BUSY;
    hc_read_on(c, 0);
    uv_timer_stop(&c->timer);
    s->st.requests++;
    s->cb.on_request(s->ud, r);
}

int wsrv_reply(wsrv_req *r, int status, const char *ctype, const char *extra_headers,
               const char *body, size_t len)
{
    hconn *c = r->conn;
    if (!c || r->replied || c->state != HC_BUSY || c->req != r) {
        if (c && c->req == r)
            c->req = NULL;
        req_free(r);
        return ERR_BADSTATE;
    }
    r->replied = 1;
    c->req = NULL;
    int head_only = !strcmp(r->method, "HEAD");
    if (status < 100 || status > 999)
        status = 500;
    int rc = hc_respond(c, status, ctype ? ctype : "application/json", extra_headers,
                        body ? body : "", body ? len : 0, head_only);
    if (rc == ERR_RANGE || rc == ERR_NOMEM)
        rc = hc_respond(c, 500, "application/json", NULL, "", 0, 0);
    req_free(r);
    if (rc)
        hc_close(c);
    return 0;
}

/* Past max_conns: the connection idle or reading for the longest goes. Returns 0 if there is
 * room now. */
static int make_room(wsrv *s)
{
    if (s->nconns < s->max_conns)
        return 0;
    hconn *old = NULL;
    for (hconn *c = s->conns; c; c = c->next)
        if (c->state == HC_READ && (!old || c->since <= old->since))
            old = c;
    if (!old)
        return ERR_FULL;
    s->st.evicted++;
    hc_close(old);
    return 0;
}

static hconn *hc_new(wsrv *s)
{
    hconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->state = HC_READ;
    c->io.h.data = c;
    c->timer.data = c;
    c->shut.data = c;
    return c;
}

static void hc_start(wsrv *s, hconn *c)
{
    uv_timer_init(s->loop, &c->timer);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->nhandles++;
    if (s->nconns > s->st.conns_hwm)
        s->st.conns_hwm = s->nconns;
    c->since = uv_now(s->loop);
    /* a connection that sends nothing is bounded like a slow head */
    uv_timer_start(&c->timer, hc_timer, s->head_timeout_ms, 0);
    hc_read_on(c, 1);
}

static void on_accept(uv_stream_t *l, int status)
{
    wsrv *s = l->data;
    if (status < 0)
        return;
    hconn *c = hc_new(s);
    if (!c)
        return;
    uv_tcp_init(s->loop, &c->io.tcp);
    if (uv_accept(l, &c->io.s) || s->stopping || make_room(s)) {
        s->st.refused++;
        c->pending_close = 1;
        s->nhandles++;
        uv_close(&c->io.h, hc_closed);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (!uv_tcp_getpeername(&c->io.tcp, (struct sockaddr *)&ss, &sl)) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
    }
    uv_tcp_nodelay(&c->io.tcp, 1);
    hc_start(s, c);
}

int wsrv_adopt(wsrv *s, int fd)
{
    if (!s || s->stopping || fd < 0)
        return ERR_BADSTATE;
    if (make_room(s))
        return ERR_FULL;
    hconn *c = hc_new(s);
    if (!c)
        return ERR_NOMEM;
    if (uv_pipe_init(s->loop, &c->io.pipe, 0) || uv_pipe_open(&c->io.pipe, fd)) {
        c->pending_close = 1;
        s->nhandles++;
        uv_close(&c->io.h, hc_closed);
        return ERR_SYS;
    }
    snprintf(c->peer, sizeof c->peer, "local");
    hc_start(s, c);
    return 0;
}

void wsrv_set_limits(wsrv *s, unsigned head_timeout_ms, size_t max_conns)
{
    s->head_timeout_ms = head_timeout_ms ? head_timeout_ms : WSRV_HEAD_TIMEOUT_MS;
    s->max_conns = max_conns ? max_conns : WSRV_MAX_CONNS;
}

void wsrv_get_stats(const wsrv *s, wsrv_stats *out)
{
    *out = s->st;
    out->conns = s->nconns;
}

/* ---- WebSocket ------------------------------------------------------------------------- */

void wsrv_conn_set_user(wsrv_conn *c, void *user)
{
    c->user = user;
}

void *wsrv_conn_user(const wsrv_conn *c)
{
    return c->user;
}

const char *wsrv_conn_peer(const wsrv_conn *c)
{
    return c->peer;
}

size_t wsrv_queued(const wsrv_conn *c)
{
    return c->queued;
}

int wsrv_send(wsrv_conn *c, const char *msg, size_t len)
{
    if (!c->wsi || c->closing || c->resetting)
        return ERR_BADSTATE;
    if (c->queued + len > c->srv->o.max_queue)
        return ERR_FULL;
    if (!c->head && c->established && len <= WSRV_DIRECT_MAX && !lws_partial_buffered(c->wsi)) {
        /* nothing waits: written at once, without a WRITEABLE round (two epoll_ctl and a
         * loop turn per message and connection, the cost of a fan-out). If the socket takes
         * only part of it, lws keeps the rest and sends it when writable; later messages
         * queue here until then (lws_partial_buffered), so lws holds at most one. */
        unsigned char buf[LWS_PRE + WSRV_DIRECT_MAX];
        memcpy(buf + LWS_PRE, msg, len);
        if (lws_write(c->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) {
            wsrv_reset(c);
            return ERR_BADSTATE;
        }
        return 0;
    }
    wmsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, msg, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void queue_free(wsrv_conn *c)
{
    for (wmsg *m = c->head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    c->head = c->tail = NULL;
    c->queued = 0;
}

void wsrv_close(wsrv_conn *c, int code, const char *reason)
{
    if (!c->wsi || c->closing || c->resetting)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    queue_free(c);
    lws_callback_on_writable(c->wsi);
}

void wsrv_reset(wsrv_conn *c)
{
    if (!c->wsi || c->resetting)
        return;
    c->resetting = 1;
    queue_free(c);
    lws_callback_on_writable(c->wsi);
}

static int ws_writeable(wsrv_conn *c)
{
    if (c->resetting) {
        /* SO_LINGER 0: close() sends RST and no FIN */
        struct linger lg = {1, 0};
        lws_sockfd_type fd = lws_get_socket_fd(c->wsi);
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return WSRV_LWS_CLOSE;
    }
    if (c->closing) {
        /* the close frame written by hand: lws 4.1 on libuv drops the connection before
         * sending the frame that lws_close_reason() prepared */
        unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
        size_t rl = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        buf[LWS_PRE + 1] = (unsigned char)c->close_code;
        memcpy(buf + LWS_PRE + 2, c->close_reason, rl);
        (void)lws_write(c->wsi, buf + LWS_PRE, 2 + rl,
                        (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE, not exported */);
        return WSRV_LWS_CLOSE;
    }
    wmsg *m = c->head;
    if (!m)
        return 0;
    if (lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return WSRV_LWS_CLOSE;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued -= m->len;
    free(m);
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void ws_closed(wsrv_conn *c)
{
    if (c->opened && c->srv->cb.on_ws_close)
        c->srv->cb.on_ws_close(c->srv->ud, c);
    c->opened = 0;
    queue_free(c);
    sbuf_free(&c->rx);
    c->wsi = NULL;
}

/* ---- the lws callback ------------------------------------------------------------------- */

static int wsrv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    wsrv_conn *c = user;
    wsrv *s = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        /* plain HTTP is served by wsrv itself; lws only sees WebSocket upgrades */
        return WSRV_LWS_CLOSE;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && !c->is_ws)
            c->wsi = NULL;
        break;

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* the upgrade request, before the 101: a refusal here fails the handshake */
        if (!c)
            return WSRV_LWS_CLOSE;
        memset(c, 0, sizeof *c);
        c->srv = s;
        c->wsi = wsi;
        c->is_ws = 1;
        sbuf_init(&c->rx, s->o.max_msg);
        lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
        char path[WSRV_MAX_URI] = "", query[WSRV_MAX_URI] = "";
        if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
            path[0] = '\0';
        size_t qn = 0;
        for (int i = 0;; i++) {
            char frag[512];
            int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
            if (n < 0 || qn + (size_t)n + 2 >= sizeof query)
                break;
            if (qn)
                query[qn++] = '&';
            memcpy(query + qn, frag, (size_t)n);
            qn += (size_t)n;
        }
        query[qn] = '\0';
        char *q = strchr(path, '?');
        if (q)
            *q = '\0';
        if (s->stopping || !s->cb.on_ws_open || s->cb.on_ws_open(s->ud, c, path, query)) {
            sbuf_free(&c->rx);
            c->wsi = NULL;
            return WSRV_LWS_CLOSE;
        }
        c->opened = 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        if (!c || !c->opened)
            return WSRV_LWS_CLOSE;
        c->established = 1;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c || !c->opened || c->closing || c->resetting)
            return 0;
        if (sbuf_add(&c->rx, in, len)) {
            wsrv_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
            return 0;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (s->cb.on_ws_message)
                s->cb.on_ws_message(s->ud, c, c->rx.data ? c->rx.data : "", c->rx.len);
            sbuf_reset(&c->rx);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c && c->is_ws ? ws_writeable(c) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c && c->is_ws)
            ws_closed(c);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols wsrv_protocols[] = {
    {"wsrv", wsrv_callback, sizeof(wsrv_conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- start and stop --------------------------------------------------------------------- */

int wsrv_parse_addr(const char *addr, char *ip, size_t iplen, int *port, int *v6)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon)
        return ERR_ADDR;
    const char *host = addr;
    size_t hostlen = (size_t)(colon - addr);
    if (*addr == '[') {
        if (hostlen < 2 || addr[hostlen - 1] != ']')
            return ERR_ADDR;
        host++;
        hostlen -= 2;
    }
    if (hostlen == 0) {
        host = "127.0.0.1";
        hostlen = strlen(host);
    }
    if (hostlen >= iplen)
        return ERR_ADDR;
    memcpy(ip, host, hostlen);
    ip[hostlen] = '\0';
    unsigned char sa[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, ip, sa) == 1)
        *v6 = 0;
    else if (inet_pton(AF_INET6, ip, sa) == 1)
        *v6 = 1;
    else
        return ERR_ADDR;
    char *e;
    long v = strtol(colon + 1, &e, 10);
    if (!colon[1] || *e || v < 0 || v > 65535)
        return ERR_ADDR;
    *port = (int)v;
    return 0;
}

static void reaper_closed(uv_handle_t *t)
{
    free(t->data);
}

static void listener_closed(uv_handle_t *h)
{
    wsrv *s = h->data;
    s->listener_closed = 1;
}

static void count_closing(uv_handle_t *handle, void *arg)
{
    wsrv *s = arg;
    if (handle != (uv_handle_t *)&s->reaper && uv_is_closing(handle))
        s->closing++;
}

static void reaper_tick(uv_timer_t *t)
{
    wsrv *s = t->data;
    if (s->ctx) {
        s->closing = 0;
        uv_walk(s->loop, count_closing, s);
        if (s->closing)
            return;
        lws_context_destroy(s->ctx);
        if (s->ctx)
            return;
    }
    if (!s->listener_closed || s->nhandles)
        return;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, reaper_closed);
}

static void destroy(wsrv *s)
{
    s->stopping = 1;
    /* a reply being written gets WSRV_LINGER_MS to go out (the latency fault's held replies,
     * answered by simserve_stop just before); every other connection closes now */
    for (hconn *c = s->conns, *n; c; c = n) {
        n = c->next;
        if (c->writing)
            uv_timer_start(&c->timer, hc_timer, WSRV_LINGER_MS, 0);
        else
            hc_close(c);
    }
    if (s->listening)
        uv_close((uv_handle_t *)&s->listener, listener_closed);
    else
        s->listener_closed = 1;
    if (s->ctx)
        lws_context_destroy(s->ctx);
    if (!s->ctx && s->listener_closed && !s->nhandles) {
        free(s);
        return;
    }
    uv_timer_init(s->loop, &s->reaper);
    s->reaper.data = s;
    uv_timer_start(&s->reaper, reaper_tick, WSRV_REAP_MS, WSRV_REAP_MS);
}

wsrv *wsrv_start(uv_loop_t *loop, const char *addr, const wsrv_opts *o, const wsrv_callbacks *cb,
                 void *ud, char *err, size_t errlen)
{
    int port = 0, v6 = 0;
    if (!loop || !cb || !cb->on_request) {
        snprintf(err, errlen, "cannot start server: no loop or request handler");
        return NULL;
    }
    wsrv *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "cannot start server on '%s': out of memory", addr);
        return NULL;
    }
    if (wsrv_parse_addr(addr, s->iface, sizeof s->iface, &port, &v6)) {
        snprintf(err, errlen, "cannot listen on '%s': bad address (want ip:port)",
                 addr ? addr : "");
        free(s);
        return NULL;
    }
    /* libuv writes with write(2): a client gone away must not kill the process with SIGPIPE */
    struct sigaction sa_pipe;
    if (!sigaction(SIGPIPE, NULL, &sa_pipe) && sa_pipe.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    s->loop = loop;
    s->cb = *cb;
    s->ud = ud;
    s->o.max_body = o && o->max_body ? o->max_body : 64 * 1024;
    s->o.max_msg = o && o->max_msg ? o->max_msg : 64 * 1024;
    s->o.max_queue = o && o->max_queue ? o->max_queue : 8u * 1024 * 1024;
    wsrv_set_limits(s, 0, 0);

    lws_set_log_level(getenv("WSRV_DEBUG") ? 0x3f : 0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* VALIDATE_UTF8: a text frame that is not UTF-8 is closed with 1007 (RFC 6455 8.1) */
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = (void *[]){loop};
    info.pcontext = &s->ctx;
    info.user = s;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.max_http_header_data = WSRV_MAX_HDR;
    info.max_http_header_pool = 1024; /* concurrent WebSocket handshakes */
    info.fd_limit_per_thread = 8192;
    info.timeout_secs = 10;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on '%s': cannot create libwebsockets context", addr);
        free(s);
        return NULL;
    }
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* connections come from wsrv's listener */
    info.protocols = wsrv_protocols;
    info.vhost_name = "wsrv";
    info.keepalive_timeout = 60;
    s->vh = lws_create_vhost(s->ctx, &info);
    struct sockaddr_storage sa;
    int bad = !s->vh;
    if (!bad)
        bad = v6 ? uv_ip6_addr(s->iface, port, (struct sockaddr_in6 *)&sa)
                 : uv_ip4_addr(s->iface, port, (struct sockaddr_in *)&sa);
    if (!bad) {
        uv_tcp_init(loop, &s->listener);
        s->listener.data = s;
        s->listening = 1;
        bad = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, v6 ? UV_TCP_IPV6ONLY : 0) ||
              uv_listen((uv_stream_t *)&s->listener, 1024, on_accept);
    }
    if (bad) {
        snprintf(err, errlen, "cannot listen on '%s': address in use or not available", addr);
        destroy(s);
        return NULL;
    }
    struct sockaddr_storage got;
    int gl = sizeof got;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &gl);
    s->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                              : ((struct sockaddr_in *)&got)->sin_port);
    return s;
}

int wsrv_port(const wsrv *s)
{
    return s ? s->port : -1;
}

void wsrv_stop(wsrv *s)
{
    if (s)
        destroy(s);
}
