/*
 * httpd: GET endpoints served by libwebsockets 4.1 on the caller's libuv loop. See httpd.h.
 *
 * One lws context per server, created with LWS_SERVER_OPTION_LIBUV and the caller's loop as
 * its only foreign loop, and one explicit vhost listening on the requested address. A request
 * is answered in two steps: LWS_CALLBACK_HTTP runs the handler, which fills the body in the
 * per-connection state, and sends the headers; LWS_CALLBACK_HTTP_WRITEABLE then sends the body
 * in chunks of HTTPD_CHUNK bytes until it is all out and ends the transaction (keep-alive is
 * left to lws).
 *
 * Destruction on a foreign loop is asynchronous in lws 4.1: lws_context_destroy() closes the
 * connections and starts uv_close() on lws's own handles, and the context is only freed once
 * the loop has run their close callbacks. lws then writes NULL through info.pcontext, which
 * points at h->ctx; a repeating uv timer owned by h waits for that before it closes itself
 * and frees h. So the caller's loop keeps running (with UV_RUN_DEFAULT it simply returns
 * once everything is closed) and no uv handle of lws or of ours is left dangling.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#define HTTPD_CHUNK     16384 /* bytes of body per lws_write */
#define HTTPD_MAX_PATH  1024  /* longer paths get 414 */
#define HTTPD_MAX_HDR   4096  /* request line + headers; more and lws refuses the request */
#define HTTPD_REAP_MS   2     /* how often httpd_stop's timer checks that lws is done */
#define HTTPD_DEF_CTYPE "text/plain; charset=utf-8"

struct httpd {
    uv_loop_t *loop;
    struct lws_context *ctx; /* set to NULL by lws when its destruction has completed */
    httpd_handler_fn handler;
    void *ud;
    int port;
    uv_timer_t reaper; /* initialised only once httpd_stop (or a failed start) needs it */
    unsigned closing;  /* scratch of reaper_tick: handles of the loop still closing */
    char iface[INET6_ADDRSTRLEN];
};

/* Per connection, zeroed by lws when it binds our protocol. */
typedef struct httpd_conn {
    sbuf body;   /* response being sent; freed when the transaction ends */
    size_t sent; /* bytes of body already passed to lws_write */
    int active;  /* a response is in flight */
} httpd_conn;

static void conn_reset(httpd_conn *c)
{
    sbuf_free(&c->body);
    c->sent = 0;
    c->active = 0;
}

/* Runs the handler (or answers 405/414 itself) and sends the response headers. */
static int on_request(struct lws *wsi, httpd_conn *c, const char *uri, size_t urilen)
{
    httpd *h = lws_context_user(lws_get_context(wsi));
    unsigned char hdr[LWS_PRE + 1024];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    int is_head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    int status = 200;
    const char *ctype = HTTPD_DEF_CTYPE;

    conn_reset(c);
    sbuf_init(&c->body, HTTPD_MAX_BODY);
    if (!is_get && !is_head) {
        status = 405;
        (void)sbuf_adds(&c->body, "method not allowed\n");
    } else if (!uri || urilen > HTTPD_MAX_PATH) {
        status = 414;
        (void)sbuf_adds(&c->body, "uri too long\n");
    } else {
        char path[HTTPD_MAX_PATH + 1];
        memcpy(path, uri, urilen);
        path[urilen] = '\0';
        h->handler(h->ud, path, &status, &ctype, &c->body);
        if (status < 100 || status > 999)
            status = 500;
        if (!ctype)
            ctype = HTTPD_DEF_CTYPE;
    }
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, (lws_filepos_t)c->body.len, &p,
                                    end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (is_head)
        c->sent = c->body.len;
    c->active = 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Sends the next chunk of body; ends the transaction after the last one. */
static int on_writeable(struct lws *wsi, httpd_conn *c)
{
    unsigned char buf[LWS_PRE + HTTPD_CHUNK];

    if (!c->active)
        return 0;
    if (c->sent < c->body.len) {
        size_t n = c->body.len - c->sent;
        if (n > HTTPD_CHUNK)
            n = HTTPD_CHUNK;
        int last = c->sent + n == c->body.len;
        memcpy(buf + LWS_PRE, c->body.data + c->sent, n);
        if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
            return -1;
        c->sent += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    conn_reset(c);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int httpd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    httpd_conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!c)
            return -1;
        return on_request(wsi, c, in, in ? strnlen(in, len ? len : HTTPD_MAX_PATH + 1) : 0);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c)
            return -1;
        return on_writeable(wsi, c);
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* request bodies (of a 405'd POST) are ignored */
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c)
            conn_reset(c);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols httpd_protocols[] = {
    {"http", httpd_callback, sizeof(httpd_conn), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Splits "ip:port", "[ip6]:port" or ":port" (loopback); 0 or -EINVAL. */
static int parse_addr(const char *addr, char *ip, size_t iplen, int *port, int *v6)
{
    const char *colon, *host = addr;
    size_t hostlen;

    if (!addr || !*addr)
        return -EINVAL;
    if (*addr == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return -EINVAL;
        host = addr + 1;
        hostlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return -EINVAL;
        hostlen = (size_t)(colon - addr);
    }
    if (hostlen == 0) {
        host = "127.0.0.1";
        hostlen = strlen(host);
    }
    if (hostlen >= iplen)
        return -EINVAL;
    memcpy(ip, host, hostlen);
    ip[hostlen] = '\0';

    unsigned char sa[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, ip, sa) == 1)
        *v6 = 0;
    else if (inet_pton(AF_INET6, ip, sa) == 1)
        *v6 = 1;
    else
        return -EINVAL;

    const char *d = colon + 1;
    long v = 0;
    if (!*d)
        return -EINVAL;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return -EINVAL;
        v = v * 10 + (*d - '0');
        if (v > 65535)
            return -EINVAL;
    }
    *port = (int)v;
    return 0;
}

static void reaper_closed(uv_handle_t *t)
{
    free(t->data);
}

/* uv_walk callback: counts handles other than the reaper whose close has not finished. */
static void count_closing(uv_handle_t *handle, void *arg)
{
    httpd *h = arg;
    if (handle != (uv_handle_t *)&h->reaper && uv_is_closing(handle))
        h->closing++;
}

static void reaper_tick(uv_timer_t *t)
{
    httpd *h = t->data;
    if (h->ctx) {
        /* lws 4.1 on a foreign loop does not finish by itself: after the first
         * lws_context_destroy() it uv_close()s its sockets and its timer and idle handles,
         * which live inside the context, and the context may only be freed (by a further
         * lws_context_destroy()) once libuv has run all those close callbacks. Freeing it
         * earlier leaves libuv with dangling handles and, as the evlib plugin is unloaded
         * then, close callbacks pointing into unmapped code. lws gives no public signal for
         * "handles closed", so wait until no handle of the loop is mid-close. */
        h->closing = 0;
        uv_walk(h->loop, count_closing, h);
        if (h->closing)
            return;
        lws_context_destroy(h->ctx);
        if (h->ctx)
            return;
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, reaper_closed);
}

/* Starts the asynchronous destruction of h->ctx and frees h once lws is done. */
static void httpd_destroy(httpd *h)
{
    if (h->ctx)
        lws_context_destroy(h->ctx);
    if (!h->ctx) {
        free(h);
        return;
    }
    uv_timer_init(h->loop, &h->reaper);
    h->reaper.data = h;
    uv_timer_start(&h->reaper, reaper_tick, HTTPD_REAP_MS, HTTPD_REAP_MS);
}

httpd *httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn handler, void *ud, char *err,
                   size_t errlen)
{
    struct lws_context_creation_info info;
    int port = 0, v6 = 0;
    httpd *h;

    if (!loop || !handler) {
        snprintf(err, errlen, "cannot start http server: no loop or handler");
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "cannot start http server on '%s': out of memory", addr);
        return NULL;
    }
    if (parse_addr(addr, h->iface, sizeof h->iface, &port, &v6)) {
        snprintf(err, errlen, "cannot listen on '%s': bad address (want ip:port)",
                 addr ? addr : "");
        free(h);
        return NULL;
    }
    h->loop = loop;
    h->handler = handler;
    h->ud = ud;

    lws_set_log_level(0, NULL); /* library code stays quiet */

    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = (void *[]){loop};
    info.pcontext = &h->ctx;
    info.user = h;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.max_http_header_data = HTTPD_MAX_HDR;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        snprintf(err, errlen, "cannot listen on '%s': cannot create libwebsockets context", addr);
        free(h);
        return NULL;
    }

    info.port = port;
    info.iface = h->iface;
    info.protocols = httpd_protocols;
    info.vhost_name = "httpd";
    if (!v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    struct lws_vhost *vh = lws_create_vhost(h->ctx, &info);
    if (!vh) {
        snprintf(err, errlen, "cannot listen on '%s': address in use or not available", addr);
        httpd_destroy(h);
        return NULL;
    }
    h->port = lws_get_vhost_listen_port(vh);
    return h;
}

int httpd_port(const httpd *h)
{
    return h ? h->port : -1;
}

void httpd_stop(httpd *h)
{
    if (h)
        httpd_destroy(h);
}
