/*
 * wsc: mmbot's WebSocket client for one Bybit v5 stream (public or private), run by
 * libwebsockets 4.1 on the caller's libuv loop. One wsc = one connection that keeps itself
 * alive: it connects, authenticates (private), subscribes the caller's topics, pings every
 * heartbeat_interval, reconnects with capped exponential backoff and jitter when the
 * connection is lost or stale, and does it all again after every reconnect. The connection
 * state machine is the pure table of wsc_fsm.h; this file is the mechanism around it.
 *
 * Messages are delivered raw (bytes + length, reassembled from fragments, at most max_msg
 * bytes; a larger one closes the connection, is counted and the client reconnects) with the
 * receive time, to on_message; the caller parses them. wsc itself looks only at the small
 * replies that carry an "op" (auth, subscribe, unsubscribe, ping/pong) to drive its state
 * machine; those are delivered too, flagged control. Unparsable frames are delivered as they
 * came.
 *
 * Resubscribe (wsc_resubscribe, when the caller saw a gap in `u` or a book reset): sends
 * unsubscribe then subscribe for the topic (or all topics) on the live connection, without a
 * reconnect; Bybit and bybit-sim answer a book subscription with a fresh snapshot, which the
 * caller's book must take as a reset. Until every ack is in the state is subscribing.
 *
 * TLS: wss:// verifies the server's certificate and host name against the system's CA store
 * (or ca_file); there is no option to turn verification off.
 *
 * Secrets: api_secret is copied, used only to sign the auth op, never logged, and wiped on
 * wsc_free. Log lines name the URL and the exchange's ret_msg, never a key or a signature.
 *
 * Threads: one. Every function here and every callback run on the loop's thread. Callbacks may
 * call wsc_send, wsc_resubscribe, wsc_stats_get and wsc_stop, but not wsc_free.
 * Host names are resolved by libwebsockets with a blocking getaddrinfo on connect (4.1 has no
 * asynchronous resolver in Debian's build); use an IP or a local resolver cache where that
 * matters.
 */
#ifndef WSC_H
#define WSC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sbuf.h"
#include "wsc_fsm.h"

#define WSC_MAX_TOPICS     32  /* topics per connection */
#define WSC_MAX_TOPIC      128 /* bytes of one topic name, NUL included */
#define WSC_MAX_URL        512 /* bytes of the URL, NUL included */
#define WSC_SUB_BATCH      10  /* topics per subscribe request (Bybit's limit for linear) */
#define WSC_DEFAULT_MAXMSG (1u << 20)

typedef struct wsc wsc;

/* One received message. data is valid during the callback only; data[len] is '\0'. */
typedef struct wsc_msg {
    const char *data;
    size_t len;
    int64_t rx_ms;       /* wall clock (UTC ms) when the last fragment arrived */
    uint64_t rx_mono_ns; /* monotonic clock (uv_hrtime) at the same moment */
    int control;         /* 1: a reply to wsc's own op (auth, subscribe, ping) */
} wsc_msg;

typedef enum wsc_log_level {
    WSC_LOG_DEBUG,
    WSC_LOG_INFO,
    WSC_LOG_WARN,
    WSC_LOG_ERROR
} wsc_log_level;

typedef struct wsc_callbacks {
    void (*on_message)(void *ud, wsc *w, const wsc_msg *m);
    /* every state change; reason is 0 or the ERR_* code that caused it: ERR_AUTH (the
     * exchange refused the auth op: wrong key or secret, expired), ERR_REFUSED (a
     * subscription refused), ERR_TIMEOUT (stale or an ack not in time), ERR_IO (connection
     * lost or connect failed), ERR_FULL (a message over max_msg). May be NULL. */
    void (*on_state)(void *ud, wsc *w, wsc_state from, wsc_state to, int reason);
    /* one line, lower case, no prefix (the caller adds the stream's name); may be NULL.
     * Each reconnect gives exactly "reconnect attempt N in D s" at WSC_LOG_WARN. */
    void (*on_log)(void *ud, wsc *w, wsc_log_level level, const char *line);
} wsc_callbacks;

/* The configuration. Times in seconds (the runbook's and the YAML's units). Zero or NULL
 * fields take the default named; wsc_new copies everything it keeps. */
typedef struct wsc_config {
    const char *url;     /* ws://host[:port]/path[?query] or wss://…; required */
    const char *stream;  /* label for logs and the metrics' {stream}; default "public"/"private" */
    int is_private;      /* 1: authenticate before subscribing */
    const char *api_key; /* private: required */
    const char *api_secret;         /* private: required; copied and wiped on free */
    const char *const *topics;      /* ntopics names, each < WSC_MAX_TOPIC bytes */
    size_t ntopics;                 /* 1..WSC_MAX_TOPICS */
    double heartbeat_interval;      /* ping period; 20 */
    double stale_timeout;           /* no message this long: reconnect; 60 */
    double initial_reconnect_delay; /* 1 */
    double max_reconnect_delay;     /* 60 */
    double healthy_after;           /* live this long: delays start again from initial; 60 */
    double ack_timeout;             /* connect, auth reply, each subscribe reply, close; 10 */
    double jitter;                  /* delays drawn in [d*(1-jitter), d]; 0.2; <0: none */
    double auth_expiry;             /* the auth op's expires = now + this; 10 */
    size_t max_msg;                 /* biggest message taken; 1 MiB */
    size_t max_queue;               /* bytes waiting to be sent; 256 KiB */
    const char *ca_file;            /* wss: PEM bundle instead of the system store */
    uint64_t seed;                  /* jitter stream; 0: from the clock */
} wsc_config;

/* What /health and /metrics show. Counters only grow over the life of the wsc. */
typedef struct wsc_stats {
    wsc_state state;
    int last_reason;        /* reason of the last state change (see on_state) */
    uint64_t msgs_in;       /* messages delivered */
    uint64_t bytes_in;      /* their bytes */
    uint64_t reconnects;    /* attempts scheduled: ws_reconnect_attempts_total{stream} */
    uint64_t connects;      /* connections that reached connected */
    uint64_t too_big;       /* messages over max_msg (each closed the connection) */
    uint64_t sends_refused; /* wsc_send refused: not live or queue full */
    uint64_t sends_dropped; /* queued messages dropped when a connection went away */
    size_t queued;          /* bytes waiting to be sent now */
    size_t queued_hwm;      /* their high-water mark */
    int64_t last_msg_ms;    /* wall clock of the last message; 0 before any */
    unsigned attempt;       /* the current run of attempts since the last reset */
    uint64_t next_delay_ms; /* the delay of the last attempt scheduled */
} wsc_stats;

/* Checks cfg (URL, topics, key and secret for private, caps) and creates the client on loop,
 * idle: nothing is sent before wsc_start. NULL with a message in err ("wsc: bad url 'x': …")
 * and, when code is not NULL, the ERR_* code in *code (ERR_CONFIG, ERR_NOMEM, ERR_SYS). cb and
 * ud must outlive the wsc; loop must run until wsc_free's close has completed. */
wsc *wsc_new(uv_loop_t *loop, const wsc_config *cfg, const wsc_callbacks *cb, void *ud, char *err,
             size_t errlen, int *code);

/* Starts connecting (from idle or closed). 0, or ERR_BADSTATE when already started. */
int wsc_start(wsc *w);

/* Closes gracefully: a close frame, then closed once the peer answers or ack_timeout has
 * passed; from backoff or connecting at once. Timers stop; nothing reconnects. 0 always. */
int wsc_stop(wsc *w);

/* Stops, then frees w asynchronously (libwebsockets on a foreign loop frees its context only
 * after libuv closed its handles): the loop must run on until it is done. No callback runs
 * after wsc_free. Accepts NULL. */
void wsc_free(wsc *w);

/* Queues a text message (a copy) for the live connection. 0; ERR_BADSTATE when not live (the
 * caller waits for live or goes over REST); ERR_FULL past max_queue; ERR_NOMEM. wsc's own ops
 * (pings, auth, subscriptions) may use 8 KiB more, so a full queue does not starve pings.
 * Messages still queued when the connection drops are dropped (stats: sends_dropped). */
int wsc_send(wsc *w, const char *msg, size_t len);

/* Asks for a fresh subscription of topic (one of the configured ones) or of all (NULL):
 * unsubscribe + subscribe on the live connection, a snapshot follows for book topics. While
 * subscribing, the request is kept and sent once live; in other states it is not needed (the
 * next connection subscribes everything) and ignored. 0, or ERR_NOENT for an unknown topic. */
int wsc_resubscribe(wsc *w, const char *topic);

void wsc_stats_get(const wsc *w, wsc_stats *out);
wsc_state wsc_get_state(const wsc *w);
const char *wsc_stream(const wsc *w); /* the label */

/* Appends the Prometheus samples of n clients, one family after the other, each with its
 * HELP/TYPE lines and one sample per client labelled {stream="…"}: ws_reconnect_attempts_total,
 * ws_messages_received_total, ws_received_bytes_total, ws_oversized_messages_total,
 * ws_send_queue_bytes, ws_send_queue_bytes_max (high-water mark), ws_connected (1 when live),
 * ws_last_message_timestamp_seconds. 0, or the sbuf's error (ERR_FULL, ERR_NOMEM). */
int wsc_metrics(const wsc *const *ws, size_t n, sbuf *b);

/* ---- helpers, public for tests ---- */

/* Splits a ws:// or wss:// URL into host (without brackets), port (default 80 or 443) and
 * path with query ("/" when none); *tls is 1 for wss. 0, or ERR_CONFIG. */
int wsc_parse_url(const char *url, int *tls, char *host, size_t hostlen, int *port, char *path,
                  size_t pathlen);

#endif
