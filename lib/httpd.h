/*
 * httpd: a small HTTP/1.1 server for GET endpoints (/metrics, /health), run by libwebsockets
 * on the caller's libuv loop (LWS_SERVER_OPTION_LIBUV with a foreign loop).
 *
 * The handler is called on the loop thread for every GET and fills the response body; bodies
 * are capped at HTTPD_MAX_BODY bytes. Requests other than GET/HEAD get 405.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <uv.h>

#include "sbuf.h"

#define HTTPD_MAX_BODY (8u * 1024 * 1024)

/* Fills body and sets *status (default 200) and *content_type (default "text/plain;
 * charset=utf-8"; must be a static string). Unknown paths: set *status to 404. */
typedef void (*httpd_handler_fn)(void *ud, const char *path, int *status, const char **content_type,
                                 sbuf *body);

typedef struct httpd httpd;

/* Listens on addr ("127.0.0.1:9464", "[::1]:0", ":9464" means loopback; port 0 picks a free
 * port). Returns NULL with a message in err on failure (bad address, port in use).
 * The server runs on loop. */
httpd *httpd_start(uv_loop_t *loop, const char *addr, httpd_handler_fn handler, void *ud, char *err,
                   size_t errlen);
/* The port actually bound (useful with port 0). */
int httpd_port(const httpd *h);
/* Stops listening, closes connections and frees h; the loop must keep running until the
 * close callbacks have run (a few iterations). Accepts NULL. */
void httpd_stop(httpd *h);

#endif
