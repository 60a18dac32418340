/*
 * httpd: GET endpoints over wsrv (our HTTP and WebSocket server on libuv). See httpd.h.
 *
 * A thin layer: every request is answered at once from the handler's body; methods other than
 * GET and HEAD get 405, paths over HTTPD_MAX_PATH 414, and no WebSocket is accepted.
 */
#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "wsrv.h"

#define HTTPD_MAX_PATH  1024
#define HTTPD_DEF_CTYPE "text/plain; charset=utf-8"

struct httpd {
    wsrv *srv;
    httpd_handler_fn handler;
    httpd_ex_fn handler_ex; /* set by httpd_start_ex instead of handler */
    void *ud;
};

static void on_request(void *ud, wsrv_req *r)
{
    httpd *h = ud;
    const char *m = wsrv_req_method(r), *path = wsrv_req_path(r);
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        wsrv_reply(r, 405, HTTPD_DEF_CTYPE, NULL, "method not allowed\n", 19);
        return;
    }
    if (strlen(path) > HTTPD_MAX_PATH) {
        wsrv_reply(r, 414, HTTPD_DEF_CTYPE, NULL, "uri too long\n", 13);
        return;
    }
    sbuf body;
    int status = 200;
    const char *ctype = HTTPD_DEF_CTYPE;
    sbuf_init(&body, HTTPD_MAX_BODY);
    const char *extra = NULL;
    if (h->handler_ex) {
        const char *auth = wsrv_req_header(r, "authorization");
        httpd_req q = {path, wsrv_req_query(r), auth && auth[0] ? auth : NULL, NULL};
        h->handler_ex(h->ud, &q, &status, &ctype, &body);
        extra = q.extra_headers;
    } else {
        h->handler(h->ud, path, &status, &ctype, &body);
    }
    wsrv_reply(r, status, ctype ? ctype : HTTPD_DEF_CTYPE, extra, body.data ? body.data : "",
               body.len);
    sbuf_free(&body);
}

static int refuse_ws(void *ud, wsrv_conn *c, const char *path, const char *query)
{
    (void)ud, (void)c, (void)path, (void)query;
    return ERR_REFUSED; /* non-zero: the handshake fails */
}

httpd *httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn handler, void *ud, char *err,
                   size_t errlen)
{
    if (!loop || !handler) {
        snprintf(err, errlen, "cannot start http server: no loop or handler");
        return NULL;
    }
    httpd *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "cannot start http server on '%s': out of memory", addr);
        return NULL;
    }
    h->handler = handler;
    h->ud = ud;
    wsrv_callbacks cb = {on_request, refuse_ws, NULL, NULL};
    h->srv = wsrv_start(loop, addr, NULL, &cb, h, err, errlen);
    if (!h->srv) {
        free(h);
        return NULL;
    }
    return h;
}

/* The plain handler of a server started by httpd_start_ex: never called. */
static void ex_unused(void *ud, const char *path, int *status, const char **ctype, sbuf *body)
{
    (void)ud, (void)path, (void)ctype, (void)body;
    *status = 500;
}

httpd *httpd_start_ex(uv_loop_t *loop, const char *addr, httpd_ex_fn handler, void *ud, char *err,
                      size_t errlen)
{
    if (!handler) {
        snprintf(err, errlen, "cannot start http server: no loop or handler");
        return NULL;
    }
    /* no request is read before the loop runs again, so handler_ex is set in time */
    httpd *h = httpd_start(loop, addr, ex_unused, ud, err, errlen);
    if (h)
        h->handler_ex = handler;
    return h;
}

int httpd_port(const httpd *h)
{
    return h ? wsrv_port(h->srv) : -1;
}

void httpd_stop(httpd *h)
{
    if (!h)
        return;
    wsrv_stop(h->srv);
    free(h);
}
