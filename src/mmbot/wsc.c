/*
 * wsc: the WebSocket client of one Bybit v5 stream on libwebsockets 4.1 and the caller's
 * libuv loop. See wsc.h; the state table is wsc_fsm.c.
 *
 * One lws context per wsc, created with LWS_SERVER_OPTION_LIBUV and the caller's loop as its
 * foreign loop (as lib/wsrv.c does for the server), listening nowhere, with one client
 * protocol. Each connection attempt is a new client wsi whose opaque user data points at the
 * wsc; dropping a connection ("abandon") clears that pointer first and asks lws to kill the
 * wsi asynchronously, so whatever lws still reports about an old wsi is ignored and a new
 * attempt never waits for an old one to finish closing.
 *
 * Events from lws callbacks, timers and the API are posted to a small queue and dispatched
 * one at a time through wsc_fsm_step (an action may post further events, e.g. a public
 * stream's empty auth); the state changes before the action runs. One uv timer ("clock") is
 * armed at the nearest deadline: the ack deadline of the current step, the next ping, the
 * stale deadline (last message + stale_timeout) and the backoff timer.
 *
 * Destruction: as in wsrv.c, lws on a foreign loop frees its context only after libuv has
 * closed lws's handles, so a reaper timer finishes it and then frees the wsc.
 */
#include "wsc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "bybitsign.h"
#include "errcode.h"
#include "promtext.h"

#define WSC_EVQ          32   /* events waiting for dispatch (an action posts at most one) */
#define WSC_REAP_MS      2    /* reaper period while the lws context is destroyed */
#define WSC_CONTROL_MAX  4096 /* bigger messages are never taken for an op reply */
#define WSC_MAX_KEY      128
#define WSC_MAX_SECRET   256
#define WSC_MAX_HOST     256
#define WSC_MAX_RETMSG   120
#define WSC_CLOSE_NORMAL 1000
#define WSC_OP_RESERVE   8192 /* queue bytes beyond max_queue for wsc's own ops */

typedef struct wsc_out {
    struct wsc_out *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE headroom, then the message */
} wsc_out;

/* wsc contexts alive in the process; only the first asks lws for OpenSSL's global set-up
 * (see wsc_new). Touched on the loop's thread only. */
static unsigned ssl_global_users;

struct wsc {
    uv_loop_t *loop;
    struct lws_context *ctx;
    wsc_callbacks cb;
    void *ud;

    /* configuration (copied) */
    char url[WSC_MAX_URL], host[WSC_MAX_HOST], path[WSC_MAX_URL], stream[32];
    char hosthdr[WSC_MAX_HOST + 8]; /* Host: header, with the port when not the default */
    int tls, port, is_private;
    char api_key[WSC_MAX_KEY], secret[WSC_MAX_SECRET];
    char topics[WSC_MAX_TOPICS][WSC_MAX_TOPIC];
    size_t ntopics;
    uint64_t hb_ms, stale_ms, ack_ms, expiry_ms;
    double jitter;
    size_t max_msg, max_queue;
    char ca_file[512];

    /* the state machine */
    wsc_state state;
    backoff bo;
    prng rng;
    struct {
        wsc_event ev;
        int reason;
    } evq[WSC_EVQ];
    unsigned evhead, evn;
    int dispatching;

    /* the connection */
    struct lws *wsi; /* NULL when none (or abandoned) */
    int conn_failed; /* the attempt under way already reported its failure */
    char conn_err[128];
    int peer_code; /* close code the peer sent, 0 when none */
    sbuf rx;       /* message being reassembled, max_msg at most */
    wsc_out *qhead, *qtail;
    int want_close; /* write a close frame at the next WRITEABLE */
    unsigned pending_acks;
    int sub_all;         /* the subscription under way covers every topic */
    uint64_t resub_want; /* topics asked for resubscription (bit per topic) */
    unsigned req_seq;

    /* deadlines, monotonic ms; 0: off */
    uv_timer_t clock;
    uint64_t ack_at, ping_at, backoff_at;
    int stale_on;
    uint64_t last_rx_mono, live_since;

    wsc_stats st;

    /* destruction */
    int freeing, clock_closed;
    uv_timer_t reaper;
    unsigned closing_handles;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t secs_ms(double s, double dflt)
{
    if (!(s > 0))
        s = dflt;
    if (s > 86400.0 * 365)
        s = 86400.0 * 365;
    uint64_t ms = (uint64_t)(s * 1000.0 + 0.5);
    return ms ? ms : 1;
}

static void logf_(wsc *w, wsc_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(wsc *w, wsc_log_level lvl, const char *fmt, ...)
{
    if (!w->cb.on_log || w->freeing)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    w->cb.on_log(w->ud, w, lvl, line);
}

/* Names the exchange and configuration use: [A-Za-z0-9._-] (keys and topics). */
static int plain_name(const char *s, size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++)
        if (n + 1 >= max || !(isalnum((unsigned char)s[n]) || strchr("._-", s[n])))
            return 0;
    return 1;
}

int wsc_parse_url(const char *url, int *tls, char *host, size_t hostlen, int *port, char *path,
                  size_t pathlen)
{
    const char *p;
    if (!url)
        return ERR_CONFIG;
    if (!strncmp(url, "wss://", 6)) {
        *tls = 1;
        p = url + 6;
    } else if (!strncmp(url, "ws://", 5)) {
        *tls = 0;
        p = url + 5;
    } else
        return ERR_CONFIG;
    const char *hs = p, *he;
    if (*p == '[') { /* [ipv6] */
        he = strchr(p, ']');
        if (!he)
            return ERR_CONFIG;
        hs = p + 1;
        p = he + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?')
            p++;
        he = p;
    }
    size_t hl = (size_t)(he - hs);
    if (!hl || hl >= hostlen)
        return ERR_CONFIG;
    for (const char *c = hs; c < he; c++)
        if (!(isalnum((unsigned char)*c) || strchr(".-_:", *c)))
            return ERR_CONFIG;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = *tls ? 443 : 80;
    if (*p == ':') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1 || v < 1 || v > 65535)
            return ERR_CONFIG;
        *port = (int)v;
        p = e;
    }
    if (*p && *p != '/' && *p != '?')
        return ERR_CONFIG;
    int n = snprintf(path, pathlen, "%s%s", *p == '/' ? "" : "/", p);
    if (n < 0 || (size_t)n >= pathlen)
        return ERR_CONFIG;
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return ERR_CONFIG;
    return 0;
}

/* ---- the send queue -------------------------------------------------------------------- */

static void queue_flush(wsc *w, int count_dropped)
{
    for (wsc_out *m = w->qhead, *n; m; m = n) {
        n = m->next;
        if (count_dropped)
            w->st.sends_dropped++;
        free(m);
    }
    w->qhead = w->qtail = NULL;
    w->st.queued = 0;
}

/* reserve: bytes over max_queue that wsc's own ops may use, so that a caller who fills the
 * queue does not starve the pings */
static int queue_push(wsc *w, const char *msg, size_t len, size_t reserve)
{
    if (!w->wsi)
        return ERR_BADSTATE;
    if (w->st.queued + len > w->max_queue + reserve)
        return ERR_FULL;
    wsc_out *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, msg, len);
    if (w->qtail)
        w->qtail->next = m;
    else
        w->qhead = m;
    w->qtail = m;
    w->st.queued += len;
    if (w->st.queued > w->st.queued_hwm)
        w->st.queued_hwm = w->st.queued;
    lws_callback_on_writable(w->wsi);
    return 0;
}

/* ---- connections ----------------------------------------------------------------------- */

/* Forgets the current wsi: lws kills it soon, and nothing it reports reaches w any more. */
static void abandon(wsc *w)
{
    if (w->wsi) {
        lws_set_opaque_user_data(w->wsi, NULL);
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        w->wsi = NULL;
    }
    queue_flush(w, 1);
    sbuf_reset(&w->rx);
    w->want_close = 0;
    w->pending_acks = 0;
}

static void timers_off(wsc *w)
{
    w->ack_at = w->ping_at = w->backoff_at = 0;
    w->stale_on = 0;
}

static void post(wsc *w, wsc_event ev, int reason);

static void do_connect(wsc *w)
{
    abandon(w);
    timers_off(w);
    w->resub_want = 0;
    w->conn_failed = 0;
    w->conn_err[0] = '\0';
    w->peer_code = 0;
    w->live_since = 0;
    w->ack_at = mono_ms() + w->ack_ms;
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = w->ctx;
    i.address = w->host;
    i.port = w->port;
    i.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0; /* certificate and host name verified */
    i.path = w->path;
    i.host = w->hosthdr;
    i.origin = w->hosthdr;
    i.alpn = "http/1.1"; /* the WebSocket upgrade of RFC 6455, never HTTP/2 */
    i.protocol = NULL;
    i.local_protocol_name = "wsc";
    i.opaque_user_data = w;
    i.ietf_version_or_minus_one = -1;
    logf_(w, WSC_LOG_INFO, "connecting to '%s'", w->url);
    struct lws *wsi = lws_client_connect_via_info(&i);
    if (w->conn_failed) /* reported from inside the call */
        return;
    if (!wsi) {
        w->conn_failed = 1;
        snprintf(w->conn_err, sizeof w->conn_err, "cannot start the connection");
        post(w, WSC_EV_CONNECT_FAILED, ERR_IO);
        return;
    }
    w->wsi = wsi;
}

static const char *next_req_id(wsc *w, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s-%u", w->stream, what, ++w->req_seq);
    return buf;
}

static void send_internal(wsc *w, const char *msg, size_t len)
{
    int rc = queue_push(w, msg, len, WSC_OP_RESERVE);
    if (rc)
        logf_(w, WSC_LOG_WARN, "cannot queue an op on '%s': %s", w->url, errcode_str(rc));
}

static void do_auth(wsc *w)
{
    uint64_t now = mono_ms();
    w->st.connects++;
    w->last_rx_mono = now;
    w->stale_on = 1;
    w->ping_at = now + w->hb_ms;
    logf_(w, WSC_LOG_INFO, "connected to '%s'", w->url);
    if (!w->is_private) {
        post(w, WSC_EV_AUTH_OK, 0);
        return;
    }
    int64_t expires = wall_ms() + (int64_t)w->expiry_ms;
    char sig[BYBITSIGN_HEX], rid[64], msg[512];
    if (bybitsign_ws(w->secret, expires, sig)) {
        logf_(w, WSC_LOG_ERROR, "cannot sign the auth op for '%s'", w->url);
        post(w, WSC_EV_AUTH_FAILED, ERR_AUTH);
        return;
    }
    int n = snprintf(msg, sizeof msg,
                     "{\"req_id\":\"%s\",\"op\":\"auth\",\"args\":[\"%s\",%" PRId64 ",\"%s\"]}",
                     next_req_id(w, "auth", rid, sizeof rid), w->api_key, expires, sig);
    memset(sig, 0, sizeof sig);
    w->ack_at = now + w->ack_ms;
    send_internal(w, msg, (size_t)n);
    memset(msg, 0, sizeof msg);
}

/* Sends op ("subscribe"/"unsubscribe") for the topics in mask, WSC_SUB_BATCH per request;
 * returns the number of requests. */
static unsigned send_topics(wsc *w, const char *op, uint64_t mask)
{
    unsigned reqs = 0;
    size_t i = 0;
    while (i < w->ntopics) {
        char msg[64 + WSC_SUB_BATCH * (WSC_MAX_TOPIC + 3)], rid[64];
        int n = snprintf(msg, sizeof msg, "{\"req_id\":\"%s\",\"op\":\"%s\",\"args\":[",
                         next_req_id(w, op[0] == 's' ? "sub" : "unsub", rid, sizeof rid), op);
        unsigned k = 0;
        for (; i < w->ntopics && k < WSC_SUB_BATCH; i++)
            if (mask >> i & 1)
                n += snprintf(msg + n, sizeof msg - (size_t)n, "%s\"%s\"", k++ ? "," : "",
                              w->topics[i]);
        if (!k)
            break;
        n += snprintf(msg + n, sizeof msg - (size_t)n, "]}");
        send_internal(w, msg, (size_t)n);
        reqs++;
    }
    return reqs;
}

static uint64_t all_topics(const wsc *w)
{
    return w->ntopics >= 64 ? ~0ull : (1ull << w->ntopics) - 1;
}

static void do_subscribe(wsc *w)
{
    w->sub_all = 1;
    w->resub_want = 0; /* a subscription of everything covers every request */
    w->pending_acks = send_topics(w, "subscribe", all_topics(w));
    w->ack_at = mono_ms() + w->ack_ms;
    if (!w->pending_acks)
        post(w, WSC_EV_SUBSCRIBED, 0);
}

static void do_resubscribe(wsc *w)
{
    uint64_t mask = w->resub_want & all_topics(w);
    w->resub_want = 0;
    w->sub_all = mask == all_topics(w);
    logf_(w, WSC_LOG_INFO, "resubscribing %d topic(s) on '%s'", __builtin_popcountll(mask), w->url);
    w->pending_acks = send_topics(w, "unsubscribe", mask);
    w->pending_acks += send_topics(w, "subscribe", mask);
    w->ack_at = mono_ms() + w->ack_ms;
    if (!w->pending_acks)
        post(w, WSC_EV_SUBSCRIBED, 0);
}

static void do_live(wsc *w)
{
    w->ack_at = 0;
    if (!w->live_since)
        w->live_since = mono_ms();
    logf_(w, WSC_LOG_INFO, "live on '%s' with %zu topic(s)", w->url, w->ntopics);
    if (w->resub_want)
        post(w, WSC_EV_RESUBSCRIBE, 0);
}

static void do_ping(wsc *w)
{
    char msg[128], rid[64];
    int n = snprintf(msg, sizeof msg, "{\"req_id\":\"%s\",\"op\":\"ping\"}",
                     next_req_id(w, "ping", rid, sizeof rid));
    w->ping_at = mono_ms() + w->hb_ms;
    send_internal(w, msg, (size_t)n);
}

static const char *why(const wsc *w, wsc_event ev, char *buf, size_t len)
{
    switch (ev) {
    case WSC_EV_CONNECT_FAILED:
        snprintf(buf, len, "connect failed: %s", w->conn_err[0] ? w->conn_err : "unknown");
        break;
    case WSC_EV_STALE:
        snprintf(buf, len, "stale: no message for %.3g s", (double)w->stale_ms / 1000);
        break;
    case WSC_EV_ACK_TIMEOUT:
        snprintf(buf, len, "no answer within %.3g s", (double)w->ack_ms / 1000);
        break;
    default:
        if (w->peer_code)
            snprintf(buf, len, "connection lost: close code %d", w->peer_code);
        else
            snprintf(buf, len, "connection lost");
    }
    return buf;
}

static void do_retry(wsc *w, wsc_event ev)
{
    char reason[192], line[96];
    uint64_t now = mono_ms();
    uint64_t live = w->live_since ? now - w->live_since : 0;
    abandon(w);
    timers_off(w);
    w->live_since = 0;
    unsigned attempt = 0;
    uint64_t d = wsc_fsm_delay(&w->bo, &w->rng, w->jitter, live, &attempt);
    w->st.reconnects++;
    w->st.attempt = attempt;
    w->st.next_delay_ms = d;
    w->backoff_at = now + d;
    logf_(w, WSC_LOG_WARN, "disconnected from '%s': %s", w->url, why(w, ev, reason, sizeof reason));
    wsc_fsm_reconnect_line(line, sizeof line, attempt, d);
    logf_(w, WSC_LOG_WARN, "%s", line);
}

static void act(wsc *w, wsc_action a, wsc_event ev)
{
    switch (a) {
    case WSC_A_NONE:
    case WSC_A_DELIVER: /* messages are delivered by on_frame, which reads the table itself */
        break;
    case WSC_A_CONNECT:
        do_connect(w);
        break;
    case WSC_A_AUTH:
        do_auth(w);
        break;
    case WSC_A_SUBSCRIBE:
        do_subscribe(w);
        break;
    case WSC_A_LIVE:
        do_live(w);
        break;
    case WSC_A_PING:
        do_ping(w);
        break;
    case WSC_A_RESUBSCRIBE:
        do_resubscribe(w);
        break;
    case WSC_A_MARK:
        if (w->sub_all)
            w->resub_want = 0; /* the subscription under way brings every snapshot */
        break;
    case WSC_A_RETRY:
        do_retry(w, ev);
        break;
    case WSC_A_FAIL:
        abandon(w);
        timers_off(w);
        w->live_since = 0;
        break;
    case WSC_A_CLOSE:
        timers_off(w);
        w->ack_at = mono_ms() + w->ack_ms;
        queue_flush(w, 1);
        w->want_close = 1;
        if (w->wsi)
            lws_callback_on_writable(w->wsi);
        else
            post(w, WSC_EV_CLOSED, 0);
        break;
    case WSC_A_ABORT:
    case WSC_A_CLOSED:
        abandon(w);
        timers_off(w);
        w->live_since = 0;
        logf_(w, WSC_LOG_INFO, "closed '%s'", w->url);
        break;
    case WSC_A_CANCEL:
        timers_off(w);
        break;
    case WSC__NACTIONS:
        break;
    }
}

static void arm(wsc *w);

static void dispatch(wsc *w)
{
    if (w->dispatching)
        return;
    w->dispatching = 1;
    while (w->evn) {
        wsc_event ev = w->evq[w->evhead].ev;
        int reason = w->evq[w->evhead].reason;
        w->evhead = (w->evhead + 1) % WSC_EVQ;
        w->evn--;
        wsc_cell c = wsc_fsm_step(w->state, ev);
        wsc_state from = w->state;
        if (c.next != from) {
            w->state = c.next;
            w->st.state = c.next;
            w->st.last_reason = reason;
            if (w->cb.on_state && !w->freeing)
                w->cb.on_state(w->ud, w, from, c.next, reason);
        }
        act(w, c.action, ev);
    }
    w->dispatching = 0;
    arm(w);
}

static void post(wsc *w, wsc_event ev, int reason)
{
    if (w->evn >= WSC_EVQ) /* cannot happen: each action posts at most one event */
        return;
    unsigned i = (w->evhead + w->evn) % WSC_EVQ;
    w->evq[i].ev = ev;
    w->evq[i].reason = reason;
    w->evn++;
    dispatch(w);
}

/* ---- timers ---------------------------------------------------------------------------- */

static void on_clock(uv_timer_t *t)
{
    wsc *w = t->data;
    uint64_t now = mono_ms();
    if (w->ack_at && now >= w->ack_at) {
        w->ack_at = 0;
        post(w, WSC_EV_ACK_TIMEOUT, ERR_TIMEOUT);
    }
    if (w->stale_on && now >= w->last_rx_mono + w->stale_ms) {
        w->stale_on = 0;
        post(w, WSC_EV_STALE, ERR_TIMEOUT);
    }
    if (w->ping_at && now >= w->ping_at) {
        w->ping_at = now + w->hb_ms;
        post(w, WSC_EV_PING_DUE, 0);
    }
    if (w->backoff_at && now >= w->backoff_at) {
        w->backoff_at = 0;
        post(w, WSC_EV_BACKOFF_TIMER, 0);
    }
    arm(w);
}

static void arm(wsc *w)
{
    if (w->freeing)
        return;
    uint64_t next = 0;
    uint64_t cand[4] = {w->ack_at, w->ping_at, w->backoff_at,
                        w->stale_on ? w->last_rx_mono + w->stale_ms : 0};
    for (int i = 0; i < 4; i++)
        if (cand[i] && (!next || cand[i] < next))
            next = cand[i];
    if (!next) {
        uv_timer_stop(&w->clock);
        return;
    }
    uint64_t now = mono_ms();
    uv_timer_start(&w->clock, on_clock, next > now ? next - now : 0, 0);
}

/* ---- received messages ----------------------------------------------------------------- */

/* An op reply (the caller's data messages carry a topic and no op): 1 with op and success
 * filled, 0 otherwise. */
static int control_reply(const char *data, size_t len, char *op, size_t oplen, int *success,
                         char *retmsg, size_t rlen)
{
    if (len > WSC_CONTROL_MAX || !memmem(data, len, "\"op\"", 4))
        return 0;
    cJSON *j = cJSON_ParseWithLength(data, len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "op");
    if (!cJSON_IsObject(j) || !cJSON_IsString(o) || cJSON_GetObjectItemCaseSensitive(j, "topic")) {
        cJSON_Delete(j);
        return 0;
    }
    snprintf(op, oplen, "%s", o->valuestring);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "success");
    *success = !s || cJSON_IsTrue(s); /* a private pong has no success field */
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "ret_msg");
    retmsg[0] = '\0';
    if (cJSON_IsString(m)) {
        size_t k = 0;
        for (const char *c = m->valuestring; *c && k + 1 < rlen; c++)
            retmsg[k++] = isprint((unsigned char)*c) ? *c : '?';
        retmsg[k] = '\0';
    }
    cJSON_Delete(j);
    return 1;
}

static void on_frame(wsc *w, const char *data, size_t len)
{
    uint64_t mono_ns = uv_hrtime();
    w->last_rx_mono = mono_ns / 1000000u;
    w->st.last_msg_ms = wall_ms();
    char op[32], retmsg[WSC_MAX_RETMSG];
    int success = 0;
    int control = control_reply(data, len, op, sizeof op, &success, retmsg, sizeof retmsg);
    wsc_cell c = wsc_fsm_step(w->state, WSC_EV_MESSAGE); /* never changes the state */
    if (c.action == WSC_A_DELIVER) {
        w->st.msgs_in++;
        w->st.bytes_in += len;
        if (w->cb.on_message && !w->freeing) {
            wsc_msg m = {data, len, w->st.last_msg_ms, mono_ns, control};
            w->cb.on_message(w->ud, w, &m);
        }
    }
    if (!control || !w->wsi)
        return;
    if (!strcmp(op, "auth")) {
        if (success)
            post(w, WSC_EV_AUTH_OK, 0);
        else {
            logf_(w, WSC_LOG_ERROR, "auth refused by '%s': %s", w->url,
                  retmsg[0] ? retmsg : "no reason given");
            post(w, WSC_EV_AUTH_FAILED, ERR_AUTH);
        }
    } else if (!strcmp(op, "subscribe") || !strcmp(op, "unsubscribe")) {
        if (!success && op[0] == 's') {
            logf_(w, WSC_LOG_ERROR, "subscription refused by '%s': %s", w->url,
                  retmsg[0] ? retmsg : "no reason given");
            post(w, WSC_EV_SUBSCRIBE_FAILED, ERR_REFUSED);
            return;
        }
        if (!success)
            logf_(w, WSC_LOG_WARN, "unsubscribe refused by '%s': %s", w->url, retmsg);
        if (w->state == WSC_SUBSCRIBING && w->pending_acks && !--w->pending_acks)
            post(w, WSC_EV_SUBSCRIBED, 0);
    }
}

/* ---- the lws callback ------------------------------------------------------------------- */

static int ws_write_next(wsc *w, struct lws *wsi)
{
    if (w->want_close) {
        /* the close frame written by hand, as wsrv.c does: lws 4.1 on libuv drops the
         * connection before sending the frame lws_close_reason() prepares */
        unsigned char buf[LWS_PRE + 2];
        buf[LWS_PRE] = (unsigned char)(WSC_CLOSE_NORMAL >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(WSC_CLOSE_NORMAL & 0xff);
        (void)lws_write(wsi, buf + LWS_PRE, 2, (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE */);
        w->want_close = 0;
        return -1;
    }
    wsc_out *m = w->qhead;
    if (!m)
        return 0;
    if (lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    w->qhead = m->next;
    if (!w->qhead)
        w->qtail = NULL;
    w->st.queued -= m->len;
    free(m);
    if (w->qhead)
        lws_callback_on_writable(wsi);
    return 0;
}

/* wsi is ending (lws closes it): nothing it reports from now on reaches w. */
static void detach(wsc *w, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, NULL);
    if (w->wsi == wsi)
        w->wsi = NULL;
}

static int wsc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    (void)user;
    wsc *w = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!w)
            return 0;
        detach(w, wsi);
        w->conn_failed = 1;
        snprintf(w->conn_err, sizeof w->conn_err, "%.*s", in ? (int)strnlen(in, 120) : 7,
                 in ? (const char *)in : "unknown");
        post(w, WSC_EV_CONNECT_FAILED, ERR_IO);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!w)
            return -1;
        w->wsi = wsi;
        post(w, WSC_EV_CONNECTED, 0);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!w || w->wsi != wsi)
            return 0;
        if (sbuf_add(&w->rx, in, len)) {
            w->st.too_big++;
            logf_(w, WSC_LOG_WARN, "message over %zu bytes from '%s': closing", w->max_msg, w->url);
            detach(w, wsi);
            sbuf_reset(&w->rx);
            post(w, WSC_EV_CLOSED, ERR_FULL);
            return -1;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            on_frame(w, w->rx.data ? w->rx.data : "", w->rx.len);
            sbuf_reset(&w->rx);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!w || w->wsi != wsi)
            return 0;
        return ws_write_next(w, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (w && len >= 2 && in) {
            const unsigned char *b = in;
            w->peer_code = b[0] << 8 | b[1];
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!w)
            return 0;
        detach(w, wsi);
        /* the end of a graceful stop is no error */
        post(w, WSC_EV_CLOSED, w->state == WSC_CLOSING ? 0 : ERR_IO);
        return 0;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols wsc_protocols[] = {
    {"wsc", wsc_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- life ------------------------------------------------------------------------------ */

static int cfg_error(char *err, size_t errlen, int *code, int c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int cfg_error(char *err, size_t errlen, int *code, int c, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    if (code)
        *code = c;
    return c;
}

static void wipe_free(wsc *w)
{
    sbuf_free(&w->rx);
    memset(w->secret, 0, sizeof w->secret);
    free(w);
}

wsc *wsc_new(uv_loop_t *loop, const wsc_config *cfg, const wsc_callbacks *cb, void *ud, char *err,
             size_t errlen, int *code)
{
    if (!loop || !cfg || !cb) {
        cfg_error(err, errlen, code, ERR_INVAL, "wsc: no loop, configuration or callbacks");
        return NULL;
    }
    wsc *w = calloc(1, sizeof *w);
    if (!w) {
        cfg_error(err, errlen, code, ERR_NOMEM, "wsc: out of memory");
        return NULL;
    }
    w->loop = loop;
    w->cb = *cb;
    w->ud = ud;
    w->is_private = cfg->is_private ? 1 : 0;
    snprintf(w->stream, sizeof w->stream, "%s",
             cfg->stream && *cfg->stream ? cfg->stream
             : w->is_private             ? "private"
                                         : "public");
    const char *url = cfg->url ? cfg->url : "";
    if (strlen(url) >= sizeof w->url ||
        wsc_parse_url(url, &w->tls, w->host, sizeof w->host, &w->port, w->path, sizeof w->path)) {
        cfg_error(err, errlen, code, ERR_CONFIG,
                  "wsc: bad url '%.200s': want ws://host[:port]/path or wss://…", url);
        goto fail;
    }
    snprintf(w->url, sizeof w->url, "%s", url);
    int v6 = strchr(w->host, ':') != NULL;
    if (w->port == (w->tls ? 443 : 80))
        snprintf(w->hosthdr, sizeof w->hosthdr, v6 ? "[%s]" : "%s", w->host);
    else
        snprintf(w->hosthdr, sizeof w->hosthdr, v6 ? "[%s]:%d" : "%s:%d", w->host, w->port);
    if (!cfg->ntopics || cfg->ntopics > WSC_MAX_TOPICS || !cfg->topics) {
        cfg_error(err, errlen, code, ERR_CONFIG, "wsc: '%s': want 1 to %d topics, not %zu",
                  w->stream, WSC_MAX_TOPICS, cfg->ntopics);
        goto fail;
    }
    for (size_t i = 0; i < cfg->ntopics; i++) {
        if (!plain_name(cfg->topics[i], WSC_MAX_TOPIC)) {
            cfg_error(err, errlen, code, ERR_CONFIG, "wsc: bad topic '%.140s': want [A-Za-z0-9._-]",
                      cfg->topics[i] ? cfg->topics[i] : "");
            goto fail;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(w->topics[k], cfg->topics[i])) {
                cfg_error(err, errlen, code, ERR_CONFIG, "wsc: topic '%s' given twice",
                          cfg->topics[i]);
                goto fail;
            }
        snprintf(w->topics[i], sizeof w->topics[i], "%s", cfg->topics[i]);
    }
    w->ntopics = cfg->ntopics;
    if (w->is_private) {
        if (!plain_name(cfg->api_key, sizeof w->api_key)) {
            cfg_error(err, errlen, code, ERR_CONFIG, "wsc: '%s': missing or bad api key",
                      w->stream);
            goto fail;
        }
        if (!cfg->api_secret || !*cfg->api_secret || strlen(cfg->api_secret) >= sizeof w->secret) {
            cfg_error(err, errlen, code, ERR_CONFIG, "wsc: '%s': missing or too long api secret",
                      w->stream);
            goto fail;
        }
        snprintf(w->api_key, sizeof w->api_key, "%s", cfg->api_key);
        snprintf(w->secret, sizeof w->secret, "%s", cfg->api_secret);
    }
    if (cfg->ca_file && strlen(cfg->ca_file) >= sizeof w->ca_file) {
        cfg_error(err, errlen, code, ERR_CONFIG, "wsc: ca file path too long");
        goto fail;
    }
    if (cfg->ca_file)
        snprintf(w->ca_file, sizeof w->ca_file, "%s", cfg->ca_file);
    w->hb_ms = secs_ms(cfg->heartbeat_interval, 20);
    w->stale_ms = secs_ms(cfg->stale_timeout, 60);
    w->ack_ms = secs_ms(cfg->ack_timeout, 10);
    w->expiry_ms = secs_ms(cfg->auth_expiry, 10);
    w->jitter = cfg->jitter < 0 ? 0 : cfg->jitter == 0 ? 0.2 : cfg->jitter > 1 ? 1 : cfg->jitter;
    w->max_msg = cfg->max_msg ? cfg->max_msg : WSC_DEFAULT_MAXMSG;
    w->max_queue = cfg->max_queue ? cfg->max_queue : 256 * 1024;
    wsc_fsm_backoff_init(&w->bo, secs_ms(cfg->initial_reconnect_delay, 1),
                         secs_ms(cfg->max_reconnect_delay, 60), secs_ms(cfg->healthy_after, 60));
    prng_seed(&w->rng, cfg->seed ? cfg->seed : uv_hrtime() ^ (uint64_t)(uintptr_t)w);
    sbuf_init(&w->rx, w->max_msg);
    w->state = WSC_IDLE;
    w->st.state = WSC_IDLE;

    lws_set_log_level(getenv("WSC_DEBUG") ? 0x3f : 0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* OpenSSL's global set-up once per process: with it in a second live context, lws 4.1
     * leaks that context's TLS store (the system CAs) when it is destroyed. OpenSSL 3 sets
     * itself up on first use anyway; the flag only makes lws do it early. */
    info.options = LWS_SERVER_OPTION_LIBUV |
                   (ssl_global_users++ == 0 ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = (void *[]){loop};
    info.pcontext = &w->ctx;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = wsc_protocols;
    info.client_ssl_ca_filepath = w->ca_file[0] ? w->ca_file : NULL;
    unsigned to = (unsigned)((w->ack_ms + 999) / 1000);
    info.timeout_secs = to ? to : 1;
    info.connect_timeout_secs = info.timeout_secs;
    info.fd_limit_per_thread = 64;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        ssl_global_users--;
        cfg_error(err, errlen, code, ERR_SYS, "wsc: '%s': cannot create libwebsockets context",
                  w->stream);
        goto fail;
    }
    uv_timer_init(loop, &w->clock);
    w->clock.data = w;
    return w;
fail:
    wipe_free(w);
    return NULL;
}

int wsc_start(wsc *w)
{
    if (w->state != WSC_IDLE && w->state != WSC_CLOSED)
        return ERR_BADSTATE;
    post(w, WSC_EV_START, 0);
    return 0;
}

int wsc_stop(wsc *w)
{
    post(w, WSC_EV_STOP, 0);
    return 0;
}

int wsc_send(wsc *w, const char *msg, size_t len)
{
    if (w->state != WSC_LIVE || !w->wsi) {
        w->st.sends_refused++;
        return ERR_BADSTATE;
    }
    int rc = queue_push(w, msg, len, 0);
    if (rc)
        w->st.sends_refused++;
    return rc;
}

int wsc_resubscribe(wsc *w, const char *topic)
{
    uint64_t mask = 0;
    if (!topic)
        mask = all_topics(w);
    else {
        for (size_t i = 0; i < w->ntopics; i++)
            if (!strcmp(w->topics[i], topic))
                mask = 1ull << i;
        if (!mask)
            return ERR_NOENT;
    }
    if (w->state == WSC_LIVE || w->state == WSC_SUBSCRIBING) {
        w->resub_want |= mask;
        post(w, WSC_EV_RESUBSCRIBE, 0);
    }
    return 0;
}

void wsc_stats_get(const wsc *w, wsc_stats *out)
{
    *out = w->st;
}

wsc_state wsc_get_state(const wsc *w)
{
    return w->state;
}

const char *wsc_stream(const wsc *w)
{
    return w->stream;
}

int wsc_metrics(const wsc *const *ws, size_t n, sbuf *b)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"ws_reconnect_attempts_total", "counter", "WebSocket reconnect attempts scheduled"},
        {"ws_messages_received_total", "counter", "WebSocket messages received"},
        {"ws_received_bytes_total", "counter", "bytes of WebSocket messages received"},
        {"ws_oversized_messages_total", "counter",
         "WebSocket messages over the cap (each closed the connection)"},
        {"ws_send_queue_bytes", "gauge", "bytes waiting to be sent"},
        {"ws_send_queue_bytes_max", "gauge", "high-water mark of ws_send_queue_bytes"},
        {"ws_connected", "gauge", "1 when the stream is live"},
        {"ws_last_message_timestamp_seconds", "gauge", "wall clock of the last message"},
    };
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        int rc = promtext_header(b, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; !rc && i < n; i++) {
            const wsc_stats *s = &ws[i]->st;
            const char *labels[] = {"stream", ws[i]->stream, NULL};
            double v[] = {(double)s->reconnects,
                          (double)s->msgs_in,
                          (double)s->bytes_in,
                          (double)s->too_big,
                          (double)s->queued,
                          (double)s->queued_hwm,
                          s->state == WSC_LIVE ? 1.0 : 0.0,
                          (double)s->last_msg_ms / 1000.0};
            rc = promtext_sample(b, fam[f].name, labels, v[f]);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- destruction (as wsrv.c) ------------------------------------------------------------ */

static void reaper_closed(uv_handle_t *h)
{
    wipe_free(h->data);
}

static void count_closing(uv_handle_t *handle, void *arg)
{
    wsc *w = arg;
    if (handle != (uv_handle_t *)&w->reaper && uv_is_closing(handle))
        w->closing_handles++;
}

static void reaper_tick(uv_timer_t *t)
{
    wsc *w = t->data;
    if (!w->clock_closed)
        return;
    if (w->ctx) {
        w->closing_handles = 0;
        uv_walk(w->loop, count_closing, w);
        if (w->closing_handles)
            return;
        lws_context_destroy(w->ctx);
        if (w->ctx)
            return;
        ssl_global_users--;
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, reaper_closed);
}

static void clock_closed(uv_handle_t *h)
{
    wsc *w = h->data;
    w->clock_closed = 1;
}

void wsc_free(wsc *w)
{
    if (!w || w->freeing)
        return;
    w->freeing = 1; /* no callback from here on */
    abandon(w);
    timers_off(w);
    w->state = w->st.state = WSC_CLOSED;
    uv_timer_stop(&w->clock);
    uv_close((uv_handle_t *)&w->clock, clock_closed);
    if (w->ctx)
        lws_context_destroy(w->ctx);
    uv_timer_init(w->loop, &w->reaper);
    w->reaper.data = w;
    uv_timer_start(&w->reaper, reaper_tick, WSC_REAP_MS, WSC_REAP_MS);
}
