/*
 * httpd: a small HTTP/1.1 server for GET endpoints (/metrics, /health), over lib/wsrv on the
 * caller's libuv loop (wsrv reads HTTP itself; no libwebsockets here).
 *
 * The handler is called on the loop thread for every GET and fills the response body; bodies
 * are capped at HTTPD_MAX_BODY bytes. Requests other than GET/HEAD get 405; HEAD runs the
 * handler and sends only the headers. Request line plus headers are limited as wsrv.h says
 * (over 8 KiB: 431 and a close). Keep-alive and pipelining are handled by wsrv (answered in
 * order). No WebSocket upgrade is accepted.
 *
 * Threads: every function here, and the loop, run on one thread.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <uv.h>

#include "sbuf.h"

#define HTTPD_MAX_BODY (8u * 1024 * 1024)

/* Fills body and sets *status (default 200) and *content_type (default "text/plain;
 * charset=utf-8"; must be a static string). Unknown paths: set *status to 404.
 * path is the URL path as the client sent it (not normalised: "/a/../b" stays so, and matches
 * no endpoint), without the query string, NUL-terminated, at most 1024 bytes (longer ones get 414 without calling the handler).
 * body is empty, owned by httpd and capped at HTTPD_MAX_BODY (appends past it fail). The
 * handler must not block and must not call httpd_stop. */
typedef void (*httpd_handler_fn)(void *ud, const char *path, int *status, const char **content_type,
                                 sbuf *body);

typedef struct httpd httpd;

/* Listens on addr ("127.0.0.1:9464", "[::1]:0", ":9464" means loopback; port 0 picks a free
 * port; host names are refused). Returns NULL with a message in err on failure (bad
 * address, port in use). The server runs on loop; the caller keeps ownership of loop and
 * ud, which must outlive the server (until its close has completed, see httpd_stop).
 * (wsrv_start's rules). */
httpd *httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn handler, void *ud, char *err,
                   size_t errlen);
/* The port actually bound (useful with port 0); -1 for NULL. */
int httpd_port(const httpd *h);
/* Stops listening, closes connections and frees h; the loop must keep running until the
 * close callbacks have run (a few iterations, as wsrv_stop says). Accepts NULL. h must not be
 * used after. */
void httpd_stop(httpd *h);

/* ---- requests with their query and headers (an addition; httpd_start is unchanged) ---- */

/* One request as httpd_ex_fn sees it. path as for httpd_handler_fn; query "" when none (lws
 * decodes %XX escapes, see wsrv_req_query); authorization: the Authorization header, NULL when absent or empty.
 * The strings live during the call only. The handler may set extra_headers to a static
 * string of lines "Name: value\r\n" (e.g. "WWW-Authenticate: Basic realm=\"soak\"\r\n"). */
typedef struct httpd_req {
    const char *path, *query, *authorization;
    const char *extra_headers; /* out: NULL or a static string */
} httpd_req;

/* Like httpd_handler_fn, with the request's query and Authorization header. */
typedef void (*httpd_ex_fn)(void *ud, httpd_req *req, int *status, const char **content_type,
                            sbuf *body);

/* httpd_start with a handler that sees the query and headers; same rules otherwise. */
httpd *httpd_start_ex(uv_loop_t *loop, const char *addr, httpd_ex_fn handler, void *ud, char *err,
                      size_t errlen);

#endif
