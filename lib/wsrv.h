/*
 * wsrv: an HTTP/1.1 and WebSocket (RFC 6455) server on one port, on the caller's libuv loop.
 * Knows nothing about what it serves: requests and WebSocket messages go to callbacks.
 *
 * HTTP/1.1 (see wsrv.c for why not by libwebsockets): every request
 * (any method; body by Content-Length or chunked, read whole, up to max_body bytes, else 413
 * and the connection is closed) is handed to on_request as a wsrv_req. The application answers
 * with wsrv_reply(), at once or later (say from a timer, to add latency); until it does, the
 * connection reads nothing more (pipelined requests wait in its buffer and are answered in
 * order). If the client goes away first, the wsrv_req stays valid and wsrv_reply() just frees
 * it. Refused with a JSON error and a close (httpreq.h): malformed heads (400), two different
 * Content-Length headers or Content-Length with Transfer-Encoding (400), a transfer coding other
 * than chunked (501), heads over 8 KiB (431). Slow or idle clients are bounded by
 * head_timeout_ms and max_conns.
 *
 * WebSocket: an upgrade on any path is offered to on_ws_open, which accepts (0) or refuses
 * (nonzero: 403 in JSON and a close). No subprotocol or extension is negotiated. Text and
 * binary messages, reassembled from fragments up to max_msg bytes (past it the connection is
 * closed with 1009), go to on_ws_message. What the client sends is checked as wsframe.h says:
 * an unmasked frame, RSV bits, a reserved opcode, a bad control frame or fragment sequence is
 * closed with 1002, text that is not UTF-8 with 1007. A message sent while nothing waits for
 * that connection is written at once; the others are queued per connection, at most max_queue
 * bytes (past it wsrv_send fails with ERR_FULL and the application decides, typically
 * wsrv_close). Pings are answered with pongs, a client's close frame with one of the same
 * code, by wsrv.
 *
 * Lifetimes: a wsrv_conn is valid from on_ws_open until on_ws_close returns; the application
 * drops its pointers there. Connections are closed by the peer, by wsrv_close (close frame
 * with a code) or by wsrv_reset (TCP reset: SO_LINGER 0), all ending in on_ws_close, which
 * runs from the loop (never inside wsrv_close or wsrv_reset): after a close frame, once the
 * client has closed too or WSRV_LINGER_MS (2 s) passed; after a reset, at the next loop turn.
 *
 * Errors: functions return 0 or a negative ERR_* code (lib/errcode.h), as stated per function.
 * Threads: one; every function here and every callback run on the loop's thread. Callbacks may
 * call wsrv_send/wsrv_close/wsrv_reset/wsrv_reply, but not wsrv_stop.
 */
#ifndef WSRV_H
#define WSRV_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct wsrv wsrv;
typedef struct wsrv_req wsrv_req;
typedef struct wsrv_conn wsrv_conn;

typedef struct wsrv_callbacks {
    void (*on_request)(void *ud, wsrv_req *req);
    /* path without the query; query as wsrv_req_query gives it (each argument %-decoded,
     * joined by '&'), "" when none */
    int (*on_ws_open)(void *ud, wsrv_conn *c, const char *path, const char *query);
    void (*on_ws_message)(void *ud, wsrv_conn *c, const char *msg, size_t len);
    void (*on_ws_close)(void *ud, wsrv_conn *c);
} wsrv_callbacks;

#define WSRV_HEAD_TIMEOUT_MS 10000 /* default head_timeout_ms */
#define WSRV_MAX_CONNS       1024  /* default max_conns */

typedef struct wsrv_opts {
    size_t max_body;  /* request body cap; default 64 KiB */
    size_t max_msg;   /* WebSocket message cap; default 64 KiB */
    size_t max_queue; /* queued outgoing bytes per WebSocket; default 8 MiB */
} wsrv_opts;

/* What the HTTP side did, since wsrv_start. */
typedef struct wsrv_stats {
    unsigned long long requests;      /* handed to on_request */
    unsigned long long pipelined;     /* of those, read while another was being answered */
    unsigned long long refused;       /* answered by wsrv itself (400, 413, 431, 501) */
    unsigned long long head_timeouts; /* closed: a request not whole within head_timeout_ms */
    unsigned long long idle_closed;   /* closed: idle (no request) for too long */
    unsigned long long evicted;       /* closed to make room for a new connection */
    size_t conns, conns_hwm;          /* HTTP connections open now, and at most */
} wsrv_stats;

/* Listens on addr ("127.0.0.1:0": a free port). Sets SIGPIPE to ignored if it has its default
 * action (replies are written with write(2); a client gone away must not end the process).
 * NULL with a message in err on failure. loop and ud must outlive the server (until
 * wsrv_stop's close has completed). */
wsrv *wsrv_start(uv_loop_t *loop, const char *addr, const wsrv_opts *o, const wsrv_callbacks *cb,
                 void *ud, char *err, size_t errlen);
/* Splits "ip:port", "[ip6]:port" or ":port" (loopback) into ip (NUL-terminated, iplen bytes at
 * most), port (0..65535) and *v6; host names are refused. Returns 0, or ERR_ADDR (not such an
 * address, a host name, a port out of range, an ip longer than iplen - 1). For checking a
 * configured address before wsrv_start, which uses the same rules. */
int wsrv_parse_addr(const char *addr, char *ip, size_t iplen, int *port, int *v6);
/* Serves fd (a connected stream socket, say one end of a socketpair) as if it had been
 * accepted: for tests and fuzzing. wsrv owns fd from then on (closes it). Returns 0;
 * ERR_BADSTATE (stopping), ERR_FULL (max_conns busy), ERR_NOMEM, ERR_SYS (fd not usable; the
 * caller keeps it). */
int wsrv_adopt(wsrv *s, int fd);
/* The bounds on slow and idle HTTP clients, 0 for a default. head_timeout_ms: a request must
 * arrive whole (head and body) within it of its first byte, and a new connection must start
 * one within it; else the connection is closed (default WSRV_HEAD_TIMEOUT_MS). max_conns:
 * HTTP connections at most; past it the one idle or reading for the longest is closed to serve
 * the new one (default WSRV_MAX_CONNS). Applies to what happens next. */
void wsrv_set_limits(wsrv *s, unsigned head_timeout_ms, size_t max_conns);
void wsrv_get_stats(const wsrv *s, wsrv_stats *out);
/* The port bound; -1 for NULL. */
int wsrv_port(const wsrv *s);
/* Closes every connection (on_ws_close runs for each), forgets pending requests (a later
 * wsrv_reply on them only frees them) and frees s asynchronously, like httpd_stop: the loop
 * must run on until the close completes. Accepts NULL. */
void wsrv_stop(wsrv *s);

/* ---- HTTP requests ---- */

const char *wsrv_req_method(const wsrv_req *r); /* "GET", "POST", … */
const char *wsrv_req_path(const wsrv_req *r);   /* without the query string */
/* The query string, "" when none. The arguments (split at '&') are joined again with '&' in
 * order, empty ones dropped, each with its %XX escapes decoded (as lws did), except %00 and
 * malformed ones, kept as they are (so a signature over a query with escapes cannot be checked
 * byte for byte). */
const char *wsrv_req_query(const wsrv_req *r);
/* A request header by lower-case name without the colon ("x-bapi-api-key"); NULL if absent.
 * Values are truncated to 1023 bytes. The string lives as long as r. */
const char *wsrv_req_header(wsrv_req *r, const char *name);
const char *wsrv_req_body(const wsrv_req *r, size_t *len); /* NUL-terminated; "" when none */
const char *wsrv_req_peer(const wsrv_req *r);              /* client IP */

/* Answers and frees r. extra_headers: NULL or lines "Name: value\r\n". ctype NULL means
 * "application/json". Returns 0, or ERR_BADSTATE when the client is gone or r was answered
 * already (r is freed all the same). */
int wsrv_reply(wsrv_req *r, int status, const char *ctype, const char *extra_headers,
               const char *body, size_t len);

/* ---- WebSocket connections ---- */

void wsrv_conn_set_user(wsrv_conn *c, void *user);
void *wsrv_conn_user(const wsrv_conn *c);
const char *wsrv_conn_peer(const wsrv_conn *c);
/* Queues a text message. Returns 0; ERR_FULL past max_queue; ERR_NOMEM; ERR_BADSTATE when the
 * connection is closing, reset or gone (also when a direct write fails: it is then reset). */
int wsrv_send(wsrv_conn *c, const char *msg, size_t len);
size_t wsrv_queued(const wsrv_conn *c); /* bytes waiting */
/* Closes soon with a close frame (code, reason up to 120 bytes); queued messages not yet
 * handed to the socket are dropped. wsrv_send fails with ERR_BADSTATE from then on. */
void wsrv_close(wsrv_conn *c, int code, const char *reason);
/* Closes the TCP connection with a reset, without a close frame. */
void wsrv_reset(wsrv_conn *c);

#endif
