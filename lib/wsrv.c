/*
 * wsrv: HTTP and WebSocket on one port, both served here on libuv. See wsrv.h.
 *
 * Neither is served by libwebsockets. lws 4.1 spins forever in lws_http_action() when a request
 * with a body is parsed from its rx buffer list, that is any POST pipelined behind another
 * request on one read (its drain loop re-feeds the buffer list, the request's own head, as the
 * body; once the reply completes the transaction the connection is LRS_DEFERRING_ACTION, where
 * lws_read_h1() consumes nothing, and the loop never ends, nor does the process's loop). And
 * lws 4.1's server accepts unmasked client frames without telling its callbacks (RFC 6455 5.1
 * wants a close with 1002), with no option to refuse them. So a connection is read into a
 * bounded buffer; httpreq.c says when one whole request is in; the connection then stops
 * reading until the reply is written, and the next request waits in the buffer. A WebSocket
 * upgrade is answered here (101 with Sec-WebSocket-Accept) and the connection then carries
 * frames: wsframe.c decodes what the client sends (mask, opcodes, lengths, fragments, UTF-8),
 * this file answers pings and closes, reassembles messages and writes the server's frames.
 *
 * Bounds: a request must arrive whole within head_timeout_ms of its first byte (else the
 * connection is closed), an idle keep-alive connection is closed after WSRV_IDLE_MS, and past
 * max_conns HTTP connections the one idle or reading the longest is closed to make room, so a
 * new client is served while others hold connections half open. WebSocket connections are not
 * counted in max_conns (the application bounds them).
 *
 * WebSocket writes: a message goes out at once with uv_try_write (header and payload as two
 * buffers, no copy) when nothing waits; what the socket does not take is copied into a FIFO of
 * heap blocks, written by one uv_write at a time (up to WSRV_BATCH blocks each), bounded by
 * max_queue. Closing: the close frame goes after what is being written (queued blocks not yet
 * handed to libuv are dropped), then FIN, then the connection reads and drops input until the
 * client closes or WSRV_LINGER_MS pass (closing with unread input would reset the connection,
 * and the client could lose the close frame). on_ws_close runs when the connection is finally
 * closed, from a libuv callback (never from inside wsrv_send, wsrv_close or wsrv_reset). Every
 * change of a WebSocket's state goes through ws_post and wsconn.h's table.
 *
 * Destruction: the server is freed once the listener and every connection's handles are
 * closed; a reaper timer checks.
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

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "errcode.h"
#include "httpreq.h"
#include "sbuf.h"
#include "wsconn.h"
#include "wsframe.h"

#define WSRV_MAX_URI   2048
#define WSRV_MAX_HDR   8192
#define WSRV_REAP_MS   2
#define WSRV_HDRS      16    /* header values handed out per request */
#define WSRV_IDLE_MS   60000 /* an idle keep-alive connection is closed after this */
#define WSRV_READ      65536 /* bytes read per callback at most */
#define WSRV_LINGER_MS 2000  /* HC_DRAIN at most; also a reply's write when the server stops */
#define WSRV_BATCH     64    /* WebSocket blocks per uv_write at most */
/* RFC 6455 1.3: appended to Sec-WebSocket-Key before the SHA-1 of Sec-WebSocket-Accept */
#define WSRV_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* An outgoing WebSocket block: frames (or their tails) ready to write. */
typedef struct wmsg {
    struct wmsg *next;
    size_t len;
    unsigned char data[];
} wmsg;

typedef struct hconn hconn;

struct wsrv {
    uv_loop_t *loop;
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
    hconn *conns; /* HTTP connections, newest first */
    size_t nconns;
    hconn *wsconns;  /* WebSocket connections */
    size_t nhandles; /* connection handles not yet closed */
    wsrv_stats st;
    char iface[INET6_ADDRSTRLEN];
};

/* A connection: HTTP until an upgrade, then HC_WS. */
/* HC_DRAIN: the reply is out and the write side shut down; what the client still sends is read
 * and dropped until it closes or WSRV_LINGER_MS pass (closing with unread input would reset
 * the connection, and the client could lose the reply) */
enum { HC_READ, HC_BUSY, HC_DRAIN, HC_CLOSING, HC_WS };
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
    int in_ws_list; /* linked in srv->wsconns, not srv->conns */
    int reading;
    int writing;       /* a reply's uv_write is in flight */
    int pending_close; /* handles whose close callback has not run */
    char *in;
    size_t inlen, incap;
    uint64_t since; /* loop time of the first byte of the request being read, or of idleness */
    wsrv_req *req;  /* handed to the application, until its reply is written */
    int close_after;
    wsrv_conn *ws; /* HC_WS: the WebSocket, freed with the connection */
    char peer[48];
};

/* A WebSocket. Its state changes only through ws_post (wsconn.h's table). */
struct wsrv_conn {
    wsrv *srv;
    hconn *hc;
    wsconn_state state;
    int opened; /* on_ws_open accepted it: on_ws_close is owed */
    void *user;
    wsframe_rx rx;
    sbuf msg;          /* the data message being reassembled, up to max_msg */
    wmsg *head, *tail; /* blocks not yet handed to libuv */
    size_t queued;     /* bytes waiting: in those blocks and in the write in flight */
    uv_write_t w;      /* the write in flight, when nflight */
    wmsg *flight[WSRV_BATCH];
    int nflight;
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

static void ws_free(wsrv_conn *w);
static void ws_read(hconn *c, ssize_t n);
static void ws_post(wsrv_conn *w, wsconn_event ev, int code, const char *reason);

/* Takes c off its list (HTTP connections are counted in nconns, WebSockets are not). */
static void hc_unlink(hconn *c)
{
    wsrv *s = c->srv;
    hconn **head = c->in_ws_list ? &s->wsconns : &s->conns;
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (!c->in_ws_list)
        s->nconns--;
}

static void hc_closed(uv_handle_t *h)
{
    hconn *c = h->data;
    if (--c->pending_close)
        return;
    c->srv->nhandles--;
    if (c->ws)
        ws_free(c->ws);
    free(c->in);
    free(c);
}

/* Closes the connection now; a request the application holds is detached (its reply only
 * frees it). */
static void hc_close(hconn *c)
{
    if (c->state == HC_CLOSING)
        return;
    c->state = HC_CLOSING;
    hc_unlink(c);
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
    if (c->state == HC_WS) { /* a close's deadline, or a reset's loop turn */
        ws_post(c->ws, WSCONN_EV_TIMER, 0, NULL);
        return;
    }
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
    if (c->state == HC_WS) {
        ws_read(c, n);
        return;
    }
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
    if (on && !c->reading && (c->state == HC_READ || c->state == HC_DRAIN || c->state == HC_WS))
        c->reading = uv_read_start(&c->io.s, hc_alloc, hc_read) == 0;
    else if (!on && c->reading) {
        uv_read_stop(&c->io.s);
        c->reading = 0;
    }
}

static void hc_shut(uv_shutdown_t *r, int status)
{
    hconn *c = r->data;
    if (status < 0 && c->state == HC_WS)
        ws_post(c->ws, WSCONN_EV_WRITE_FAILED, 0, NULL);
    else if (status < 0 && c->state != HC_CLOSING)
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

/* Path (without the query) and query of a request target; the arguments of the query
 * %-decoded one by one and joined by '&', empty ones dropped. */
static void split_target(const char *t, size_t tlen, char *path, size_t pathcap, char *query,
                         size_t querycap)
{
    const char *qm = memchr(t, '?', tlen);
    size_t pl = qm ? (size_t)(qm - t) : tlen;
    if (pl >= pathcap)
        pl = pathcap - 1;
    memcpy(path, t, pl);
    path[pl] = '\0';
    query[0] = '\0';
    if (!qm)
        return;
    size_t ql = tlen - (size_t)(qm + 1 - t), qn = 0, i = 0;
    const char *q = qm + 1;
    while (i < ql) {
        size_t st = i;
        while (i < ql && q[i] != '&')
            i++;
        size_t fl = i - st;
        if (fl && qn + fl + 2 < querycap) {
            if (qn)
                query[qn++] = '&';
            memcpy(query + qn, q + st, fl);
            qn += pct_decode(query + qn, fl);
        }
        i++;
    }
    query[qn] = '\0';
}

static int ws_upgrade(hconn *c, const httpreq_head *h, size_t used);

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
        /* a handshake RFC 6455 4.2.1 does not allow: refused in JSON */
        const httpreq_hdr *key = httpreq_find(&h, "sec-websocket-key"),
                          *ver = httpreq_find(&h, "sec-websocket-version");
        if (!key || key->vlen != 24 || !ver || ver->vlen != 2 || memcmp(ver->val, "13", 2)) {
            hc_refuse(c, 400,
                      "bad websocket handshake (want Sec-WebSocket-Key and "
                      "Sec-WebSocket-Version: 13)");
            return;
        }
        if (ws_upgrade(c, &h, used))
            hc_refuse(c, 403, "websocket refused");
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
    split_target(r->h.target, h.target_len, r->path, sizeof r->path, r->query, sizeof r->query);
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

/* Drops the blocks not yet handed to libuv. */
static void queue_drop(wsrv_conn *w)
{
    for (wmsg *m = w->head, *n; m; m = n) {
        n = m->next;
        w->queued -= m->len;
        free(m);
    }
    w->head = w->tail = NULL;
}

static void ws_free(wsrv_conn *w)
{
    queue_drop(w);
    for (int i = 0; i < w->nflight; i++)
        free(w->flight[i]);
    sbuf_free(&w->msg);
    free(w);
}

/* END: on_ws_close, then the connection is closed. */
static void ws_do_end(wsrv_conn *w)
{
    if (w->opened && w->srv->cb.on_ws_close) {
        w->opened = 0;
        w->srv->cb.on_ws_close(w->srv->ud, w);
    }
    w->opened = 0;
    queue_drop(w);
    hc_close(w->hc);
}

static void ws_flush(wsrv_conn *w);

/* DRAIN: the close frame is out: FIN, then input is dropped until EOF or WSRV_LINGER_MS. */
static void ws_do_drain(wsrv_conn *w)
{
    hconn *c = w->hc;
    c->shut.data = c;
    if (uv_shutdown(&c->shut, &c->io.s, hc_shut)) {
        ws_post(w, WSCONN_EV_WRITE_FAILED, 0, NULL);
        return;
    }
    uv_timer_start(&c->timer, hc_timer, WSRV_LINGER_MS, 0);
}

/* RESET: SO_LINGER 0 (close() sends RST and no FIN), the end at the next loop turn. */
static void ws_do_reset(wsrv_conn *w)
{
    queue_drop(w);
    uv_os_fd_t fd;
    struct linger lg = {1, 0};
    if (uv_fileno(&w->hc->io.h, &fd) == 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    uv_timer_start(&w->hc->timer, hc_timer, 0, 0);
}

static void ws_written(uv_write_t *req, int status)
{
    wsrv_conn *w = req->data;
    for (int i = 0; i < w->nflight; i++) {
        w->queued -= w->flight[i]->len;
        free(w->flight[i]);
    }
    w->nflight = 0;
    if (w->hc->state != HC_WS || w->state == WSCONN_GONE || w->state == WSCONN_RESET)
        return; /* being closed: what is left goes with it */
    if (status < 0)
        ws_post(w, WSCONN_EV_WRITE_FAILED, 0, NULL);
    else if (w->head)
        ws_flush(w);
    else
        ws_post(w, WSCONN_EV_WRITTEN, 0, NULL); /* in closing: the close frame is out */
}

/* Hands the queued blocks to libuv, unless a write is in flight already. */
static void ws_flush(wsrv_conn *w)
{
    if (w->nflight || !w->head)
        return;
    uv_buf_t b[WSRV_BATCH];
    int n = 0;
    while (w->head && n < WSRV_BATCH) {
        wmsg *m = w->head;
        w->head = m->next;
        m->next = NULL;
        w->flight[n] = m;
        b[n] = uv_buf_init((char *)m->data, (unsigned)m->len);
        n++;
    }
    if (!w->head)
        w->tail = NULL;
    w->nflight = n;
    w->w.data = w;
    if (uv_write(&w->w, &w->hc->io.s, b, (unsigned)n, ws_written)) {
        for (int i = 0; i < n; i++) {
            w->queued -= w->flight[i]->len;
            free(w->flight[i]);
        }
        w->nflight = 0;
        ws_post(w, WSCONN_EV_WRITE_FAILED, 0, NULL);
    }
}

/* Queues a copy of a[0..an) then b[0..bn) as one block. */
static int ws_queue(wsrv_conn *w, const void *a, size_t an, const void *b, size_t bn)
{
    wmsg *m = malloc(sizeof *m + an + bn);
    if (!m)
        return ERR_NOMEM;
    m->next = NULL;
    m->len = an + bn;
    if (an)
        memcpy(m->data, a, an);
    if (bn)
        memcpy(m->data + an, b, bn);
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
    w->queued += m->len;
    return 0;
}

/* One frame: written at once when nothing waits and the socket takes it, else (what is left
 * of it) queued. Returns 0, ERR_NOMEM, or ERR_IO (the direct write failed). */
static int ws_frame(wsrv_conn *w, int opcode, const void *p, size_t len)
{
    unsigned char h[WSFRAME_HDR_MAX];
    size_t hl = wsframe_server_header(h, opcode, len), done = 0;
    if (!w->head && !w->nflight) {
        uv_buf_t b[2] = {uv_buf_init((char *)h, (unsigned)hl),
                         uv_buf_init((char *)p, (unsigned)len)};
        int r = uv_try_write(&w->hc->io.s, b, len ? 2 : 1);
        if (r >= 0 && (size_t)r == hl + len)
            return 0;
        if (r < 0 && r != UV_EAGAIN)
            return ERR_IO;
        done = r > 0 ? (size_t)r : 0;
    }
    int rc = done < hl ? ws_queue(w, h + done, hl - done, p, len)
                       : ws_queue(w, NULL, 0, (const char *)p + (done - hl), len - (done - hl));
    if (!rc)
        ws_flush(w);
    return rc;
}

int wsrv_send(wsrv_conn *c, const char *msg, size_t len)
{
    if (c->state != WSCONN_OPEN)
        return ERR_BADSTATE;
    if (c->queued + len > c->srv->o.max_queue)
        return ERR_FULL;
    int rc = ws_frame(c, WSFRAME_TEXT, msg, len);
    if (rc == ERR_IO) {
        ws_post(c, WSCONN_EV_WRITE_FAILED, 0, NULL);
        return ERR_BADSTATE;
    }
    return rc;
}

/* SEND_CLOSE: what is queued and not yet handed to libuv is dropped, the close frame (code 0:
 * none; reason up to 120 bytes) goes after what is being written. */
static void ws_send_close(wsrv_conn *w, int code, const char *reason)
{
    queue_drop(w);
    unsigned char p[2 + 120];
    size_t n = 0;
    if (code) {
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > 120)
            rl = 120;
        p[0] = (unsigned char)(code >> 8);
        p[1] = (unsigned char)code;
        if (rl)
            memcpy(p + 2, reason, rl);
        n = 2 + rl;
    }
    /* the deadline of the whole close: a client that reads nothing does not hold it */
    uv_timer_start(&w->hc->timer, hc_timer, WSRV_LINGER_MS, 0);
    if (ws_frame(w, WSFRAME_CLOSE, p, n))
        ws_post(w, WSCONN_EV_WRITE_FAILED, 0, NULL);
    else if (!w->head && !w->nflight)
        ws_post(w, WSCONN_EV_WRITTEN, 0, NULL); /* written at once */
}

/* Every state change of a WebSocket goes through here: the cell of wsconn_table, then its
 * action. code and reason: the close frame's, for SEND_CLOSE. */
static void ws_post(wsrv_conn *w, wsconn_event ev, int code, const char *reason)
{
    wsconn_cell cell = wsconn_step(w->state, ev);
    w->state = cell.next;
    switch (cell.action) {
    case WSCONN_A_SEND_CLOSE:
        ws_send_close(w, code, reason);
        break;
    case WSCONN_A_DRAIN:
        ws_do_drain(w);
        break;
    case WSCONN_A_RESET:
        ws_do_reset(w);
        break;
    case WSCONN_A_END:
        ws_do_end(w);
        break;
    default: /* NONE */
        break;
    }
}

void wsrv_close(wsrv_conn *c, int code, const char *reason)
{
    ws_post(c, WSCONN_EV_CLOSE, code, reason);
}

void wsrv_reset(wsrv_conn *c)
{
    ws_post(c, WSCONN_EV_RESET, 0, NULL);
}

/* What the client sent: decoded, messages handed out, pings answered, closes answered. */
static void ws_input(wsrv_conn *w, unsigned char *p, size_t n)
{
    wsrv *s = w->srv;
    size_t off = 0;
    while (w->state == WSCONN_OPEN) {
        wsframe_ev ev;
        off += wsframe_feed(&w->rx, p + off, n - off, &ev);
        switch (ev.kind) {
        case WSFRAME_EV_NONE:
            return;
        case WSFRAME_EV_ERROR:
            ws_post(w, WSCONN_EV_BAD_INPUT, ev.code,
                    ev.code == WSFRAME_TOO_BIG   ? "message too large"
                    : ev.code == WSFRAME_INVALID ? "invalid utf-8"
                                                 : "protocol error");
            return;
        case WSFRAME_EV_CONTROL:
            if (ev.opcode == WSFRAME_PING) {
                if (ws_frame(w, WSFRAME_PONG, ev.data, ev.len)) {
                    ws_post(w, WSCONN_EV_WRITE_FAILED, 0, NULL);
                    return;
                }
            } else if (ev.opcode == WSFRAME_CLOSE) /* echoed: 7.1.5, 5.5.1 */
                ws_post(w, WSCONN_EV_PEER_CLOSE, ev.code == WSFRAME_NO_STATUS ? 0 : ev.code, "");
            break;
        case WSFRAME_EV_DATA:
            if (ev.len && sbuf_add(&w->msg, ev.data, ev.len)) {
                ws_post(w, WSCONN_EV_BAD_INPUT, WSFRAME_TOO_BIG, "message too large");
                return;
            }
            if (ev.msg_end) {
                if (s->cb.on_ws_message)
                    s->cb.on_ws_message(s->ud, w, w->msg.data ? w->msg.data : "", w->msg.len);
                sbuf_reset(&w->msg);
            }
            break;
        }
    }
}

static void ws_read(hconn *c, ssize_t n)
{
    wsrv_conn *w = c->ws;
    if (n < 0) {
        ws_post(w, WSCONN_EV_EOF, 0, NULL); /* EOF or an error */
        return;
    }
    size_t len = c->inlen + (size_t)n;
    c->inlen = 0; /* the decoder keeps what it needs of a split header */
    if (w->state == WSCONN_OPEN)
        ws_input(w, (unsigned char *)c->in, len);
}

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key GUID)), 28 characters and a NUL. */
static void ws_accept_key(const char *key, size_t klen, char out[29])
{
    unsigned char in[64], md[SHA_DIGEST_LENGTH];
    size_t gl = strlen(WSRV_WS_GUID);
    memcpy(in, key, klen);
    memcpy(in + klen, WSRV_WS_GUID, gl);
    SHA1(in, klen + gl, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* The upgrade request (used bytes of c->in, key and version checked): offered to on_ws_open;
 * accepted, the 101 goes out and c carries frames from then on (what followed the request
 * is the first of them). Returns 0, or ERR_REFUSED (refused, or the server is stopping: c is
 * still an HTTP connection), ERR_NOMEM. */
static int ws_upgrade(hconn *c, const httpreq_head *h, size_t used)
{
    wsrv *s = c->srv;
    if (s->stopping || !s->cb.on_ws_open)
        return ERR_REFUSED;
    wsrv_conn *w = calloc(1, sizeof *w);
    if (!w)
        return ERR_NOMEM;
    w->srv = s;
    w->hc = c;
    w->state = WSCONN_OPEN;
    wsframe_rx_init(&w->rx, s->o.max_msg);
    sbuf_init(&w->msg, s->o.max_msg);
    snprintf(w->peer, sizeof w->peer, "%s", c->peer);
    const httpreq_hdr *key = httpreq_find(h, "sec-websocket-key");
    char accept[29], resp[160];
    ws_accept_key(key->val, key->vlen, accept);
    int rn = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      accept);
    /* the 101 waits in the queue while on_ws_open runs: a message it sends goes after it */
    char path[WSRV_MAX_URI], query[WSRV_MAX_URI];
    split_target(h->target, h->target_len, path, sizeof path, query, sizeof query);
    if (ws_queue(w, resp, (size_t)rn, NULL, 0)) {
        ws_free(w);
        return ERR_NOMEM;
    }
    c->ws = w;
    if (s->cb.on_ws_open(s->ud, w, path, query)) {
        c->ws = NULL;
        ws_free(w);
        return ERR_REFUSED;
    }
    w->opened = 1;
    /* from the HTTP list to the WebSocket one: no longer an HTTP connection */
    hc_unlink(c);
    c->in_ws_list = 1;
    c->next = s->wsconns;
    if (s->wsconns)
        s->wsconns->prev = c;
    s->wsconns = c;
    c->state = HC_WS;
    uv_timer_stop(&c->timer);
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    ws_flush(w);
    if (w->state == WSCONN_OPEN && c->inlen) {
        size_t len = c->inlen;
        c->inlen = 0;
        ws_input(w, (unsigned char *)c->in, len);
    }
    if (c->state == HC_WS)
        hc_read_on(c, 1);
    return 0;
}

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

static void reaper_tick(uv_timer_t *t)
{
    wsrv *s = t->data;
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
    while (s->wsconns) /* on_ws_close runs for each, now */
        ws_post(s->wsconns->ws, WSCONN_EV_STOP, 0, NULL);
    if (s->listening)
        uv_close((uv_handle_t *)&s->listener, listener_closed);
    else
        s->listener_closed = 1;
    if (s->listener_closed && !s->nhandles) {
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

    struct sockaddr_storage sa;
    int bad = v6 ? uv_ip6_addr(s->iface, port, (struct sockaddr_in6 *)&sa)
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
