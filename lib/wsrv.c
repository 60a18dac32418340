/*
 * wsrv: HTTP and WebSocket on one port with libwebsockets 4.1 on the caller's libuv loop.
 * See wsrv.h.
 *
 * One lws context with LWS_SERVER_OPTION_LIBUV and the caller's loop as foreign loop, one
 * vhost, one protocol that takes both the HTTP callbacks and the WebSocket ones (a WebSocket
 * upgrade without Sec-WebSocket-Protocol binds to the first protocol). The per-session data
 * of that protocol is a wsrv_conn, used as HTTP state or as WebSocket state.
 *
 * HTTP: a request becomes a heap wsrv_req once its body (if any) is in; the application owns
 * it until wsrv_reply. The reply is written from LWS_CALLBACK_HTTP_WRITEABLE in two steps
 * (headers, then the body in chunks), and lws_http_transaction_completed() lets keep-alive go
 * on. When the connection closes before the reply, the request is detached (conn = NULL).
 *
 * WebSocket: outgoing messages are a FIFO of heap blocks with LWS_PRE bytes of headroom, one
 * lws_write per WRITEABLE callback. Closing and resetting are flags acted on in the next
 * WRITEABLE callback, since lws only lets a connection close itself from its own callback.
 *
 * Destruction: as in httpd.c (lws 4.1 on a foreign loop frees its context only after libuv has
 * closed lws's handles), a reaper timer finishes it.
 */
#include "wsrv.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "errcode.h"
#include "sbuf.h"

#define WSRV_CHUNK   16384
#define WSRV_MAX_URI 2048
#define WSRV_MAX_HDR 8192
#define WSRV_REAP_MS 2
#define WSRV_HDRS    12 /* header values cached per request */
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

struct wsrv {
    uv_loop_t *loop;
    struct lws_context *ctx;
    wsrv_callbacks cb;
    wsrv_opts o;
    void *ud;
    int port;
    int stopping;
    uv_timer_t reaper;
    unsigned closing;
    char iface[INET6_ADDRSTRLEN];
};

struct wsrv_conn {
    wsrv *srv;
    struct lws *wsi;
    int is_ws;
    /* HTTP */
    wsrv_req *req;   /* being read, or waiting for its reply */
    int close_after; /* close instead of keep-alive after the reply */
    int in_request;  /* on_request runs inside this connection's lws callback */
    /* WebSocket */
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
    wsrv_conn *conn; /* NULL once the client is gone */
    char method[8];
    char path[WSRV_MAX_URI];
    char query[WSRV_MAX_URI];
    char peer[48];
    sbuf body;
    int too_big;
    int dispatched; /* handed to on_request: the application owns it until wsrv_reply */
    struct {
        char name[48];
        char *value;
    } hdr[WSRV_HDRS];
    int nhdr;
    /* the reply */
    int replied;
    int status;
    sbuf head; /* extra header lines */
    char ctype[64];
    sbuf resp;
    size_t sent;
    int headers_out;
};

/* ---- requests ---------------------------------------------------------------------------- */

static void req_free(wsrv_req *r)
{
    if (!r)
        return;
    sbuf_free(&r->body);
    sbuf_free(&r->head);
    sbuf_free(&r->resp);
    for (int i = 0; i < r->nhdr; i++)
        free(r->hdr[i].value);
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
    for (int i = 0; i < r->nhdr; i++)
        if (!strcmp(r->hdr[i].name, name))
            return r->hdr[i].value;
    if (!r->conn || !r->conn->wsi || r->nhdr >= WSRV_HDRS ||
        strlen(name) + 2 > sizeof r->hdr[0].name)
        return NULL;
    char key[sizeof r->hdr[0].name + 1], val[1024];
    snprintf(key, sizeof key, "%s:", name);
    int n = -1;
    /* the standard headers lws knows by token; the others are "custom" */
    if (!strcmp(name, "content-type"))
        n = lws_hdr_copy(r->conn->wsi, val, sizeof val, WSI_TOKEN_HTTP_CONTENT_TYPE);
    else if (!strcmp(name, "user-agent"))
        n = lws_hdr_copy(r->conn->wsi, val, sizeof val, WSI_TOKEN_HTTP_USER_AGENT);
    else if (!strcmp(name, "authorization"))
        n = lws_hdr_copy(r->conn->wsi, val, sizeof val, WSI_TOKEN_HTTP_AUTHORIZATION);
    else if (lws_hdr_custom_length(r->conn->wsi, key, (int)strlen(key)) >= 0)
        n = lws_hdr_custom_copy(r->conn->wsi, val, sizeof val, key, (int)strlen(key));
    if (n < 0)
        return NULL;
    val[sizeof val - 1] = '\0';
    char *v = strdup(val);
    if (!v)
        return NULL;
    snprintf(r->hdr[r->nhdr].name, sizeof r->hdr[0].name, "%s", name);
    r->hdr[r->nhdr].value = v;
    return r->hdr[r->nhdr++].value;
}

int wsrv_reply(wsrv_req *r, int status, const char *ctype, const char *extra_headers,
               const char *body, size_t len)
{
    wsrv_conn *c = r->conn;
    if (!c || !c->wsi || r->replied) {
        if (c)
            c->req = NULL;
        req_free(r);
        return ERR_BADSTATE;
    }
    r->replied = 1;
    r->status = status < 100 || status > 999 ? 500 : status;
    snprintf(r->ctype, sizeof r->ctype, "%s", ctype ? ctype : "application/json");
    sbuf_init(&r->head, 8192);
    sbuf_init(&r->resp, (size_t)-1 / 2);
    if ((extra_headers && sbuf_adds(&r->head, extra_headers)) ||
        (len && sbuf_add(&r->resp, body, len))) {
        r->status = 500;
        sbuf_reset(&r->head);
        sbuf_reset(&r->resp);
    }
    if (!strcmp(r->method, "HEAD"))
        r->sent = r->resp.len;
    if (!c->in_request) /* else written when on_request returns (dispatch) */
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Writes the reply's headers (step 1) or its next body chunk; ends the transaction after the
 * last one. Returns what the lws callback should return. */
static int http_write(wsrv_conn *c)
{
    wsrv_req *r = c->req;
    if (!r || !r->replied)
        return 0;
    if (!r->headers_out) {
        /* headers and, when it fits, the whole body in one write: one send() and one
         * WRITEABLE round (epoll_ctl in, epoll_ctl out) per reply instead of two */
        unsigned char buf[LWS_PRE + WSRV_MAX_HDR + WSRV_CHUNK];
        unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + WSRV_MAX_HDR - 1;
        if (lws_add_http_common_headers(c->wsi, (unsigned)r->status, r->ctype,
                                        (lws_filepos_t)r->resp.len, &p, end))
            return WSRV_LWS_CLOSE;
        /* extra header lines "Name: value\r\n" */
        const char *h = r->head.data ? r->head.data : "";
        while (*h) {
            const char *eol = strstr(h, "\r\n"), *colon = strchr(h, ':');
            if (!eol || !colon || colon > eol)
                break;
            char name[128];
            size_t nl = (size_t)(colon - h) + 1;
            if (nl < sizeof name) {
                memcpy(name, h, nl);
                name[nl] = '\0';
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                if (lws_add_http_header_by_name(c->wsi, (const unsigned char *)name,
                                                (const unsigned char *)v, (int)(eol - v), &p, end))
                    return WSRV_LWS_CLOSE;
            }
            h = eol + 2;
        }
        if (c->close_after &&
            lws_add_http_header_by_token(c->wsi, WSI_TOKEN_CONNECTION,
                                         (const unsigned char *)"close", 5, &p, end))
            return WSRV_LWS_CLOSE;
        size_t rest = r->resp.len - r->sent;
        if (rest <= WSRV_CHUNK) {
            if (lws_finalize_http_header(c->wsi, &p, end))
                return WSRV_LWS_CLOSE;
            if (rest) /* an empty body has no storage at all */
                memcpy(p, r->resp.data + r->sent, rest);
            p += rest;
            r->sent += rest;
            if (lws_write(c->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
                return WSRV_LWS_CLOSE;
        } else if (lws_finalize_write_http_header(c->wsi, start, &p, end))
            return WSRV_LWS_CLOSE;
        r->headers_out = 1;
        if (r->sent < r->resp.len) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    } else if (r->sent < r->resp.len) {
        unsigned char buf[LWS_PRE + WSRV_CHUNK];
        size_t n = r->resp.len - r->sent;
        if (n > WSRV_CHUNK)
            n = WSRV_CHUNK;
        int last = r->sent + n == r->resp.len;
        memcpy(buf + LWS_PRE, r->resp.data + r->sent, n);
        if (lws_write(c->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
            return WSRV_LWS_CLOSE;
        r->sent += n;
        if (!last) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    }
    c->req = NULL;
    req_free(r);
    if (c->close_after)
        return WSRV_LWS_CLOSE;
    return lws_http_transaction_completed(c->wsi) ? WSRV_LWS_CLOSE : 0;
}

static const struct {
    enum lws_token_indexes tok;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},   {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_PATCH_URI, "PATCH"},
};

/* Hands r to the application. A reply given before on_request returns is written at once,
 * from the lws callback that read the request (as lws_return_http_status does), rather than
 * in a WRITEABLE round of its own: one loop turn and two epoll_ctl less per request. Returns
 * what the lws callback should return. */
static int dispatch(wsrv_conn *c, wsrv_req *r)
{
    wsrv *s = c->srv;
    c->in_request = 1;
    r->dispatched = 1;
    s->cb.on_request(s->ud, r);
    c->in_request = 0;
    if (c->req == r && r->replied)
        return http_write(c);
    return 0;
}

/* A new request: method, path, query, peer; the body follows for POST/PUT/PATCH. */
static int http_begin(wsrv_conn *c, const char *uri, size_t urilen)
{
    wsrv *s = c->srv;
    if (c->req) { /* a request while the previous one waits: not expected from lws */
        c->req->conn = NULL;
        c->req = NULL;
    }
    wsrv_req *r = calloc(1, sizeof *r);
    if (!r)
        return WSRV_LWS_CLOSE;
    r->conn = c;
    c->req = r;
    c->close_after = 0;
    sbuf_init(&r->body, s->o.max_body);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(c->wsi, methods[i].tok) > 0) {
            snprintf(r->method, sizeof r->method, "%s", methods[i].name);
            break;
        }
    if (!r->method[0])
        snprintf(r->method, sizeof r->method, "?");
    if (urilen >= sizeof r->path)
        urilen = sizeof r->path - 1;
    memcpy(r->path, uri ? uri : "/", uri ? urilen : 1);
    r->path[uri ? urilen : 1] = '\0';
    /* the arguments, joined by '&' in their order */
    size_t qn = 0;
    for (int i = 0;; i++) {
        char frag[WSRV_MAX_URI];
        int n = lws_hdr_copy_fragment(c->wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (qn + (size_t)n + 2 >= sizeof r->query)
            break;
        if (qn)
            r->query[qn++] = '&';
        memcpy(r->query + qn, frag, (size_t)n);
        qn += (size_t)n;
    }
    r->query[qn] = '\0';
    lws_get_peer_simple(c->wsi, r->peer, sizeof r->peer);
    int has_body =
        !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH");
    if (has_body) {
        char cl[32];
        if (lws_hdr_copy(c->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            unsigned long long v = strtoull(cl, NULL, 10);
            if (v > s->o.max_body) {
                c->close_after = 1;
                const char *msg = "{\"retCode\":10001,\"retMsg\":\"request body too large\"}";
                return wsrv_reply(r, 413, NULL, NULL, msg, strlen(msg)) ? WSRV_LWS_CLOSE : 0;
            }
            if (v > 0)
                return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
        }
    }
    return dispatch(c, r);
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
        if (!c)
            return WSRV_LWS_CLOSE;
        c->srv = s;
        c->wsi = wsi;
        return http_begin(c, in, in ? strnlen(in, WSRV_MAX_URI) : 0);
    case LWS_CALLBACK_HTTP_BODY:
        if (c && c->req && !c->req->replied && !c->req->too_big && sbuf_add(&c->req->body, in, len))
            c->req->too_big = 1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!c || !c->req)
            return WSRV_LWS_CLOSE;
        if (c->req->replied) /* answered early (413): the body was only drained */
            return 0;
        if (c->req->too_big) {
            c->close_after = 1;
            const char *msg = "{\"retCode\":10001,\"retMsg\":\"request body too large\"}";
            return wsrv_reply(c->req, 413, NULL, NULL, msg, strlen(msg)) ? WSRV_LWS_CLOSE : 0;
        }
        return dispatch(c, c->req);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c ? http_write(c) : WSRV_LWS_CLOSE;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && c->req) {
            if (c->req->replied || !c->req->dispatched) /* ours: written, or body unfinished */
                req_free(c->req);
            else
                c->req->conn = NULL; /* the application still holds it */
            c->req = NULL;
        }
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

/* ---- start and stop (as httpd.c) --------------------------------------------------------- */

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
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, reaper_closed);
}

static void destroy(wsrv *s)
{
    s->stopping = 1;
    if (s->ctx)
        lws_context_destroy(s->ctx);
    if (!s->ctx) {
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
    s->loop = loop;
    s->cb = *cb;
    s->ud = ud;
    s->o.max_body = o && o->max_body ? o->max_body : 64 * 1024;
    s->o.max_msg = o && o->max_msg ? o->max_msg : 64 * 1024;
    s->o.max_queue = o && o->max_queue ? o->max_queue : 8u * 1024 * 1024;

    lws_set_log_level(getenv("WSRV_DEBUG") ? 0x3f : 0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = (void *[]){loop};
    info.pcontext = &s->ctx;
    info.user = s;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.max_http_header_data = WSRV_MAX_HDR;
    info.max_http_header_pool = 1024; /* concurrent connections parsing headers */
    info.fd_limit_per_thread = 8192;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on '%s': cannot create libwebsockets context", addr);
        free(s);
        return NULL;
    }
    info.port = port;
    info.iface = s->iface;
    info.protocols = wsrv_protocols;
    info.vhost_name = "wsrv";
    info.keepalive_timeout = 60;
    if (!v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    struct lws_vhost *vh = lws_create_vhost(s->ctx, &info);
    if (!vh) {
        snprintf(err, errlen, "cannot listen on '%s': address in use or not available", addr);
        destroy(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(vh);
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
