/* restc: libcurl multi on the caller's libuv loop, pacing and classification. See restc.h. */
#include "restc.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "bybitsign.h"
#include "errcode.h"
#include "prng.h"
#include "promtext.h"

const double restc_lat_bounds[RESTC_LAT_BUCKETS] = {1,   2,   5,    10,   20,   50,    100,
                                                    200, 500, 1000, 2000, 5000, 10000, 1.0 / 0.0};

static const char *const class_names[] = {
#define RESTC_CLASS_NAME(e, s) s,
#define SPARE_EASY             8 /* idle easy handles kept for the next requests (no init/cleanup) */
    RESTC_CLASSES(RESTC_CLASS_NAME)
#undef RESTC_CLASS_NAME
};

const char *restc_class_name(restc_class c)
{
    return (unsigned)c < RESTC__CLASSES ? class_names[c] : "unknown";
}

/* Where a request is: held (queue, maybe until not_before), in curl, or done. */
enum { RQ_HELD, RQ_CURL };

typedef struct req {
    restc *r;
    uint64_t id;
    int where;
    int post;
    unsigned flags;
    int ep;          /* endpoint slot of a signed request, -1 when not paced */
    uint64_t ep_seq; /* its send order on that endpoint */
    char *path, *query, *body;
    size_t body_len;
    restc_cb cb;
    void *ud;
    unsigned attempts;
    uint64_t not_before; /* uv_now ms before which a retry waits */
    /* the attempt in curl */
    CURL *easy;
    struct curl_slist *hdrs;
    char *url;
    sbuf resp;
    int overflow;
    int sent; /* the connection was made and the request about to leave */
    long h_limit, h_status;
    int64_t h_reset;
    uint64_t t0_ns;
    struct req *prev, *next;
} req;

/* Pacing state of one signed endpoint; budgets in requests (see restc.h). */
typedef struct endpoint {
    char path[128];
    int known;     /* a reply with rate-limit headers was seen */
    long limit;    /* X-Bapi-Limit */
    int64_t reset; /* X-Bapi-Limit-Reset-Timestamp (server ms) */
    long b0;       /* budget at the header, less what was in flight then */
    long spent;    /* requests sent since the header */
    unsigned inflight;
    uint64_t seq;             /* requests sent, ever: the send order */
    uint64_t model_seq;       /* send order of the request whose header the model holds */
    int64_t ring[RESTC_RING]; /* server ms of our latest sends, for the rolling count */
    unsigned ring_n, ring_head;
} endpoint;

typedef struct reqlist {
    req *head, *tail;
    unsigned n;
} reqlist;

typedef struct sockctx {
    uv_poll_t poll;
    curl_socket_t fd;
    restc *r;
    struct sockctx *prev, *next;
} sockctx;

struct restc {
    uv_loop_t *loop;
    restc_config cfg;
    char *base_url, *key, *secret, *ca_file;
    char recv_window[16];
    int https;
    CURLM *multi;
    CURLSH *share;
    uv_timer_t curl_timer; /* curl's timeout */
    uv_timer_t pace_timer; /* held requests: pacing, retries, the asynchronous first step */
    int64_t offset_ms;
    uint64_t next_id;
    reqlist held;   /* waiting for pacing or a retry, FIFO */
    reqlist incurl; /* handed to curl */
    sockctx *socks;
    endpoint eps[RESTC_MAX_ENDPOINTS];
    unsigned neps;
    prng rng;
    int64_t ban_until;
    char ban_reason[160];
    unsigned nconnecting;
    CURL *spare[SPARE_EASY]; /* idle easy handles, detached from the share */
    unsigned nspare;
    restc_stats st;
    int closing, handles_open, in_pump;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void restc_config_default(restc_config *c)
{
    memset(c, 0, sizeof *c);
    c->recv_window_ms = 5000;
    c->limit = 100;
    c->limit_per_host = 30;
    c->request_timeout_ms = 10000;
    c->max_body = 1u << 20;
    c->max_queue = 1024;
    c->pace_reserve = 1;
    c->rate_window_ms = 1000;
    c->pace_guard_ms = 10;
    c->retry_max = 3;
    c->retry_base_ms = 200;
    c->retry_cap_ms = 5000;
}

/* ---- classification --------------------------------------------------------------------- */

restc_class restc_classify(int transport_err, int sent, long http_status, long ret_code,
                           int mutates)
{
    /* what may have landed, for a change, is ambiguous; for a read it is just worth a retry */
    restc_class doubt = mutates && sent ? RESTC_AMBIGUOUS : RESTC_RETRYABLE;
    if (transport_err == ERR_FULL) /* a reply too big: the same again next time */
        return mutates ? RESTC_AMBIGUOUS : RESTC_REJECTED;
    if (transport_err == ERR_BUSY)
        return RESTC_BAN;
    if (transport_err)
        return doubt;
    if (http_status == 403)
        return RESTC_BAN;
    if (http_status == 429 || (http_status >= 500 && http_status <= 599))
        return doubt;
    if (http_status != 200)
        return RESTC_REJECTED;
    switch (ret_code) {
    case 0:
        return RESTC_OK;
    case 10002: /* timestamp outside recv_window: the clock */
    case 10003: /* API key invalid */
    case 10004: /* signature wrong */
        return RESTC_FATAL;
    case 10006: /* rate limit */
    case 10016: /* internal error, service restarting */
    case 10019: /* service restarting */
    case -1:    /* HTTP 200 without an envelope */
        return doubt;
    default:
        return RESTC_REJECTED;
    }
}

/* ---- lists ------------------------------------------------------------------------------ */

static void list_push(reqlist *l, req *q)
{
    q->next = NULL;
    q->prev = l->tail;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->n++;
}

static void list_unlink(reqlist *l, req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        l->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->tail = q->prev;
    q->prev = q->next = NULL;
    l->n--;
}

static void held_push(restc *r, req *q)
{
    q->where = RQ_HELD;
    list_push(&r->held, q);
}

static void curl_link(restc *r, req *q)
{
    q->where = RQ_CURL;
    list_push(&r->incurl, q);
}

static void gauges(restc *r)
{
    restc_stats *s = &r->st;
    s->waiting = r->held.n + r->nconnecting;
    s->pending = r->held.n + r->incurl.n;
    s->in_flight = r->incurl.n;
    if (s->waiting > s->waiting_max)
        s->waiting_max = s->waiting;
    if (s->pending > s->pending_max)
        s->pending_max = s->pending;
    if (s->in_flight > s->in_flight_max)
        s->in_flight_max = s->in_flight;
}

/* ---- pacing ------------------------------------------------------------------------------ */

static int endpoint_of(restc *r, const char *path)
{
    for (unsigned i = 0; i < r->neps; i++)
        if (!strcmp(r->eps[i].path, path))
            return (int)i;
    if (r->neps == RESTC_MAX_ENDPOINTS)
        return ERR_FULL;
    endpoint *e = &r->eps[r->neps];
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    return (int)r->neps++;
}

/* Our own sends of e within the rolling window ending at now (server ms), and the time the
 * oldest of them leaves it. */
static long ep_rolling(const restc *r, const endpoint *e, int64_t now, int64_t *oldest_out)
{
    int64_t from = now - (int64_t)r->cfg.rate_window_ms - (int64_t)r->cfg.pace_guard_ms;
    long n = 0;
    int64_t oldest = INT64_MAX;
    for (unsigned i = 0; i < e->ring_n; i++) {
        int64_t t = e->ring[(e->ring_head + RESTC_RING - 1 - i) % RESTC_RING];
        if (t <= from)
            break; /* newest first: the rest are older */
        n++;
        oldest = t;
    }
    *oldest_out = oldest;
    return n;
}

/* Requests the endpoint may send at server time now, and when it may send next (server ms;
 * INT64_MAX: when a reply comes). Two bounds, both must allow: the exchange's headers (what
 * it counted, less what we sent since; past the reset time a linear recovery over the window,
 * which holds for a sliding-window counter), and our own sends in the last rolling window
 * (which holds for a true rolling window, whatever the reset header means). */
static long ep_budget(const restc *r, endpoint *e, int64_t now, int64_t *next)
{
    long w = r->cfg.rate_window_ms, reserve = (long)r->cfg.pace_reserve, need = 1 + reserve;
    *next = INT64_MAX;
    if (e->known && now >= e->reset + w)
        e->known = 0; /* everything the header counted is out of the window */
    if (!e->known)
        return e->inflight == 0 ? 1 : 0; /* one probe at a time */
    long avail = e->b0 - e->spent, grow = e->limit - e->b0;
    if (now >= e->reset && grow > 0)
        avail += grow * (now - e->reset) / w;
    long cap = e->limit - reserve < RESTC_RING ? e->limit - reserve : RESTC_RING;
    int64_t oldest;
    long roll = cap - ep_rolling(r, e, now, &oldest);
    if (avail >= need && roll >= 1)
        return avail - reserve < roll ? avail - reserve : roll;
    if (avail >= need) { /* only the rolling bound holds it: until the oldest send leaves */
        *next = oldest + w + (int64_t)r->cfg.pace_guard_ms + 1;
        return 0;
    }
    /* when the linear recovery past the reset brings the budget to need */
    long missing = need - (e->b0 - e->spent);
    int64_t dt = grow > 0 ? (missing * w + grow - 1) / grow : w;
    if (dt > w)
        dt = w;
    *next = e->reset + dt + (int64_t)r->cfg.pace_guard_ms;
    return 0;
}

/* A request of e leaves at server time now. */
static void ep_sent(endpoint *e, int64_t now, uint64_t *seq)
{
    e->inflight++;
    e->spent++;
    *seq = ++e->seq;
    e->ring[e->ring_head] = now;
    e->ring_head = (e->ring_head + 1) % RESTC_RING;
    if (e->ring_n < RESTC_RING)
        e->ring_n++;
}

/* A reply of endpoint e (the seq-th request sent) carried rate-limit headers. The newest window
 * wins; within one window the reply of a later request does (the exchange counted more of
 * ours), and the reply of an earlier one only lowers the budget (replies can arrive out of
 * order). Requests still in flight are subtracted: they may not be counted yet. */
static void ep_learn(endpoint *e, uint64_t seq, long limit, long status, int64_t reset)
{
    long cand = status - (long)e->inflight;
    if (e->known && reset < e->reset)
        return;
    if (!e->known || reset > e->reset || seq > e->model_seq || cand < e->b0 - e->spent) {
        e->known = 1;
        e->limit = limit > 0 ? limit : (e->limit > 0 ? e->limit : 1);
        e->reset = reset;
        e->b0 = cand;
        e->spent = 0;
        if (seq > e->model_seq)
            e->model_seq = seq;
    }
}

/* ---- curl glue --------------------------------------------------------------------------- */

static void check_done(restc *r);
static void pump(restc *r);
static void destroy(restc *r);

static void pace_fire(uv_timer_t *t)
{
    pump(t->data);
}

static void sock_closed(uv_handle_t *h)
{
    sockctx *c = h->data;
    restc *r = c->r;
    free(c);
    if (--r->handles_open == 0)
        destroy(r);
}

static void sock_drop(restc *r, sockctx *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        r->socks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, sock_closed);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sockctx *c = p->data;
    restc *r = c->r;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(r->multi, c->fd, flags, &running);
    check_done(r);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    restc *r = userp;
    sockctx *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(r->multi, s, NULL);
            sock_drop(r, c);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->fd = s;
        c->r = r;
        if (uv_poll_init_socket(r->loop, &c->poll, s)) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        r->handles_open++;
        c->next = r->socks;
        if (r->socks)
            r->socks->prev = c;
        r->socks = c;
        curl_multi_assign(r->multi, s, c);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    restc *r = t->data;
    int running;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(r);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    restc *r = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&r->curl_timer);
    else
        uv_timer_start(&r->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    req *q = ud;
    size_t len = size * n;
    if (q->resp.len + len > q->r->cfg.max_body || sbuf_add(&q->resp, p, len)) {
        q->overflow = 1;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    }
    return len;
}

/* "Name: value" when the name matches (case-insensitive): the value, else NULL. */
static const char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1;
    while (v < line + len && (*v == ' ' || *v == '\t'))
        v++;
    return v;
}

static int64_t parse_i64(const char *v, const char *end)
{
    char buf[32];
    size_t n = (size_t)(end - v);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *e;
    errno = 0;
    long long x = strtoll(buf, &e, 10);
    if (e == buf || errno)
        return -1;
    return x;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    req *q = ud;
    size_t len = size * n;
    const char *v, *end = p + len;
    if (len > 5 && !strncmp(p, "HTTP/", 5)) { /* a new response: forget an earlier one */
        q->h_limit = q->h_status = -1;
        q->h_reset = -1;
    } else if ((v = header_value(p, len, "X-Bapi-Limit-Status")))
        q->h_status = (long)parse_i64(v, end);
    else if ((v = header_value(p, len, "X-Bapi-Limit-Reset-Timestamp")))
        q->h_reset = parse_i64(v, end);
    else if ((v = header_value(p, len, "X-Bapi-Limit")))
        q->h_limit = (long)parse_i64(v, end);
    return len;
}

/* Connected, the request is about to leave (CURLOPT_PREREQFUNCTION). */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    req *q = ud;
    if (!q->sent) {
        q->sent = 1;
        q->r->nconnecting--;
        gauges(q->r);
    }
    return CURL_PREREQFUNC_OK;
}

/* An easy handle for a transfer: an idle one reset to curl's defaults, or a new one. */
static CURL *easy_get(restc *r)
{
    if (r->nspare) {
        CURL *e = r->spare[--r->nspare];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

/* Gives a finished transfer's handle back (kept while fewer than SPARE_EASY are idle). */
static void easy_put(restc *r, CURL *e)
{
    if (!e)
        return;
    curl_easy_setopt(e, CURLOPT_SHARE, NULL); /* an idle handle never holds the share */
    if (r->nspare < SPARE_EASY && !r->closing)
        r->spare[r->nspare++] = e;
    else
        curl_easy_cleanup(e);
}

static void attempt_free(req *q)
{
    easy_put(q->r, q->easy);
    q->easy = NULL;
    curl_slist_free_all(q->hdrs);
    q->hdrs = NULL;
    free(q->url);
    q->url = NULL;
    sbuf_free(&q->resp);
}

static void req_free(req *q)
{
    attempt_free(q);
    free(q->path);
    free(q->query);
    free(q->body);
    free(q);
}

/* Appends "name: value" ("name:" alone when value is empty: curl then drops the header). */
static struct curl_slist *add_header(struct curl_slist *l, int *bad, const char *name,
                                     const char *v)
{
    char line[256];
    snprintf(line, sizeof line, "%s:%s%s", name, v[0] ? " " : "", v);
    struct curl_slist *n = curl_slist_append(l, line);
    if (!n) {
        *bad = 1;
        return l;
    }
    return n;
}

/* Builds the transfer of q (signature and timestamp made now) and hands it to curl. */
static int attempt_start(restc *r, req *q)
{
    size_t ql = q->query ? strlen(q->query) : 0;
    size_t ul = strlen(r->base_url) + strlen(q->path) + ql + 2;
    q->url = malloc(ul);
    q->easy = easy_get(r);
    if (!q->url || !q->easy)
        return ERR_NOMEM;
    snprintf(q->url, ul, "%s%s%s%s", r->base_url, q->path, ql ? "?" : "", ql ? q->query : "");
    sbuf_init(&q->resp, r->cfg.max_body);
    q->overflow = q->sent = 0;
    q->h_limit = q->h_status = -1;
    q->h_reset = -1;
    int bad = 0;
    if (q->post)
        q->hdrs = add_header(q->hdrs, &bad, "Content-Type", "application/json");
    q->hdrs = add_header(q->hdrs, &bad, "Expect", "");
    if (q->flags & RESTC_SIGNED) {
        char ts[32], sig[BYBITSIGN_HEX];
        snprintf(ts, sizeof ts, "%" PRId64, wall_ms() + r->offset_ms);
        const char *payload = q->post ? q->body : (q->query ? q->query : "");
        size_t plen = q->post ? q->body_len : ql;
        if (bybitsign_rest(r->secret, ts, r->key, r->recv_window, payload, plen, sig))
            return ERR_SYS;
        q->hdrs = add_header(q->hdrs, &bad, "X-BAPI-API-KEY", r->key);
        q->hdrs = add_header(q->hdrs, &bad, "X-BAPI-TIMESTAMP", ts);
        q->hdrs = add_header(q->hdrs, &bad, "X-BAPI-SIGN", sig);
        q->hdrs = add_header(q->hdrs, &bad, "X-BAPI-RECV-WINDOW", r->recv_window);
    }
    if (bad)
        return ERR_NOMEM;
    CURL *e = q->easy;
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_SHARE, r->share);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, q);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->cfg.request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* TLS is verified, always; there is deliberately no option to turn it off */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, r->ca_file);
    if (q->post) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    q->attempts++;
    q->t0_ns = uv_hrtime();
    curl_link(r, q);
    r->nconnecting++;
    if (q->ep >= 0)
        ep_sent(&r->eps[q->ep], wall_ms() + r->offset_ms, &q->ep_seq);
    gauges(r);
    if (curl_multi_add_handle(r->multi, e) != CURLM_OK) {
        list_unlink(&r->incurl, q);
        r->nconnecting--;
        if (q->ep >= 0) {
            r->eps[q->ep].inflight--; /* the ring keeps the send: conservative */
        }
        gauges(r);
        return ERR_IO;
    }
    return 0;
}

static long parse_ret_code(const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "retCode");
    long v = cJSON_IsNumber(rc) ? (long)rc->valuedouble : -1;
    cJSON_Delete(j);
    return v;
}

static void record_latency(restc *r, double ms)
{
    for (int i = 0; i < RESTC_LAT_BUCKETS; i++)
        if (ms <= restc_lat_bounds[i])
            r->st.lat_buckets[i]++;
    r->st.lat_count++;
    r->st.lat_sum_ms += ms;
}

static uint64_t retry_delay(restc *r, unsigned attempt)
{
    uint64_t d = r->cfg.retry_base_ms;
    for (unsigned i = 1; i < attempt && d < r->cfg.retry_cap_ms; i++)
        d *= 2;
    if (d > r->cfg.retry_cap_ms)
        d = r->cfg.retry_cap_ms;
    /* jitter: a uniform draw in [d/2, d] */
    return d / 2 + (uint64_t)(prng_unit(&r->rng) * (double)(d - d / 2));
}

/* Delivers the result and frees q (q is unlinked from every list). */
static void deliver(restc *r, req *q, restc_result *res)
{
    res->id = q->id;
    res->attempts = q->attempts;
    if (!res->body) {
        res->body = "";
        res->body_len = 0;
    }
    if ((unsigned)res->cls < RESTC__CLASSES)
        r->st.by_class[res->cls]++;
    gauges(r);
    q->cb(q->ud, res);
    req_free(q);
}

static void fail_unsent(restc *r, req *q, int err)
{
    restc_result res;
    memset(&res, 0, sizeof res);
    res.err = err;
    res.ret_code = res.limit = res.limit_status = -1;
    res.limit_reset_ms = -1;
    res.cls = restc_classify(err, 0, 0, -1, q->flags & RESTC_MUTATES);
    if (err == ERR_BUSY)
        res.ban_until_ms = r->ban_until;
    deliver(r, q, &res);
}

/* One transfer of q ended with cc. */
static void finish(restc *r, req *q, CURLcode cc)
{
    restc_result res;
    memset(&res, 0, sizeof res);
    long status = 0;
    curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(r->multi, q->easy);
    easy_put(r, q->easy); /* before the callback, which may close r (and the share) */
    q->easy = NULL;
    list_unlink(&r->incurl, q);
    if (!q->sent)
        r->nconnecting--;
    double ms = (double)(uv_hrtime() - q->t0_ns) / 1e6;
    record_latency(r, ms);
    res.elapsed_ms = ms;
    res.curl_code = (int)cc;
    res.sent = q->sent;
    res.http_status = cc == CURLE_OK || q->overflow ? status : 0; /* a reply came */
    res.limit = q->h_limit;
    res.limit_status = q->h_status;
    res.limit_reset_ms = q->h_reset;
    if (q->overflow)
        res.err = ERR_FULL;
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        res.err = ERR_TIMEOUT;
    else if (cc != CURLE_OK)
        res.err = ERR_IO;
    res.body = q->resp.data ? q->resp.data : "";
    res.body_len = q->resp.len;
    res.ret_code = -1;
    if (!res.err && res.http_status == 200) {
        res.ret_code = parse_ret_code(res.body, res.body_len);
        if (res.ret_code < 0)
            res.err = ERR_PARSE;
    }
    if (q->ep >= 0) {
        endpoint *e = &r->eps[q->ep];
        e->inflight--;
        if (q->h_status >= 0 && q->h_reset > 0)
            ep_learn(e, q->ep_seq, q->h_limit, q->h_status, q->h_reset);
    }
    res.cls = restc_classify(res.err == ERR_PARSE ? 0 : res.err, q->sent, res.http_status,
                             res.ret_code, q->flags & RESTC_MUTATES);
    if (res.cls == RESTC_BAN) {
        int64_t until = wall_ms() + RESTC_BAN_MIN_MS;
        if (until > r->ban_until)
            r->ban_until = until;
        char why[64];
        size_t k = 0;
        for (size_t i = 0; i < res.body_len && k + 1 < sizeof why; i++)
            if (res.body[i] >= 0x20 && res.body[i] < 0x7f && res.body[i] != '"')
                why[k++] = res.body[i];
        why[k] = '\0';
        snprintf(r->ban_reason, sizeof r->ban_reason, "http 403 on %s: %s", q->path,
                 k ? why : "forbidden");
        res.ban_until_ms = r->ban_until;
    }
    if (res.cls == RESTC_RETRYABLE && (q->flags & RESTC_RETRY) && q->attempts <= r->cfg.retry_max &&
        !r->closing) {
        attempt_free(q);
        q->not_before = uv_now(r->loop) + retry_delay(r, q->attempts);
        r->st.retries++;
        held_push(r, q);
        gauges(r);
        return;
    }
    deliver(r, q, &res);
}

static void check_done(restc *r)
{
    CURLMsg *m;
    int left;
    int any = 0;
    while (!r->closing && (m = curl_multi_info_read(r->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        req *q = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        CURLcode cc = m->data.result;
        finish(r, q, cc);
        any = 1;
    }
    if (any && !r->closing)
        pump(r);
}

/* Sends what may leave now, fails what must, and sets the pace timer for the rest. */
static void pump(restc *r)
{
    if (r->in_pump || r->closing)
        return;
    r->in_pump = 1;
    uint64_t now = uv_now(r->loop);
    int64_t wnow = wall_ms(), snow = wnow + r->offset_ms;
    int64_t wake = INT64_MAX; /* uv ms */
    int started = 0;
    req *q = r->held.head;
    while (q && !r->closing) {
        req *nx = q->next;
        if (r->ban_until > wnow) {
            list_unlink(&r->held, q);
            fail_unsent(r, q, ERR_BUSY);
            q = nx;
            continue;
        }
        if (q->not_before > now) {
            if ((int64_t)q->not_before < wake)
                wake = (int64_t)q->not_before;
            q = nx;
            continue;
        }
        if (q->ep >= 0) {
            int64_t next;
            if (ep_budget(r, &r->eps[q->ep], snow, &next) <= 0) {
                if (next != INT64_MAX) {
                    int64_t w = (int64_t)now + (next - snow);
                    if (w < wake)
                        wake = w;
                }
                q = nx;
                continue;
            }
        }
        list_unlink(&r->held, q);
        int rc = attempt_start(r, q);
        if (rc) {
            attempt_free(q);
            fail_unsent(r, q, rc);
        } else {
            started = 1;
        }
        q = nx;
    }
    if (!r->closing) {
        if (wake != INT64_MAX) {
            uint64_t d = wake > (int64_t)now ? (uint64_t)(wake - (int64_t)now) : 1;
            uv_timer_start(&r->pace_timer, pace_fire, d, 0);
        } else if (!r->held.head) {
            uv_timer_stop(&r->pace_timer);
        }
    }
    gauges(r);
    r->in_pump = 0;
    if (started && !r->closing) {
        int running;
        /* kick curl so that the new transfers start without waiting for its timer */
        curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(r);
    }
}

/* ---- life --------------------------------------------------------------------------------- */

static void destroy(restc *r)
{
    if (r->secret) {
        volatile char *s = r->secret;
        for (size_t i = 0; s[i]; i++)
            s[i] = 0;
    }
    while (r->nspare)
        curl_easy_cleanup(r->spare[--r->nspare]);
    if (r->share)
        curl_share_cleanup(r->share); /* every easy handle is gone by now */
    free(r->secret);
    free(r->key);
    free(r->base_url);
    free(r->ca_file);
    free(r);
}

static void timer_closed(uv_handle_t *h)
{
    restc *r = h->data;
    if (--r->handles_open == 0)
        destroy(r);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

restc *restc_new(uv_loop_t *loop, const restc_config *cfg, char *err, size_t errlen)
{
    restc_config d;
    restc_config_default(&d);
    if (!loop || !cfg || !cfg->base_url ||
        (strncmp(cfg->base_url, "http://", 7) && strncmp(cfg->base_url, "https://", 8))) {
        snprintf(err, errlen, "bad base url '%s': want http://HOST[:PORT] or https://...",
                 cfg && cfg->base_url ? cfg->base_url : "");
        return NULL;
    }
    if ((cfg->api_key && strlen(cfg->api_key) > RESTC_MAX_KEY) ||
        (cfg->api_secret && strlen(cfg->api_secret) > RESTC_MAX_KEY)) {
        snprintf(err, errlen, "api key or secret longer than %d bytes", RESTC_MAX_KEY);
        return NULL;
    }
    if (cfg->api_key && cfg->api_key[0] && (!cfg->api_secret || !cfg->api_secret[0])) {
        snprintf(err, errlen, "an api key without a secret");
        return NULL;
    }
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "cannot start libcurl: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    restc *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->loop = loop;
    r->cfg = *cfg;
    /* zero means the default, so that a partly filled config works */
#define DEFAULT(f)                                                                                 \
    if (!r->cfg.f)                                                                                 \
    r->cfg.f = d.f
    DEFAULT(recv_window_ms);
    DEFAULT(limit);
    DEFAULT(limit_per_host);
    DEFAULT(request_timeout_ms);
    DEFAULT(max_body);
    DEFAULT(max_queue);
    DEFAULT(rate_window_ms);
    DEFAULT(retry_base_ms);
    DEFAULT(retry_cap_ms);
#undef DEFAULT
    r->base_url = strdup(cfg->base_url);
    r->key = dup_or_empty(cfg->api_key);
    r->secret = dup_or_empty(cfg->api_secret);
    r->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
    r->cfg.base_url = r->cfg.api_key = r->cfg.api_secret = r->cfg.ca_file = NULL;
    r->multi = curl_multi_init();
    r->share = curl_share_init();
    if (!r->base_url || !r->key || !r->secret || (cfg->ca_file && !r->ca_file) || !r->multi ||
        !r->share) {
        if (r->multi)
            curl_multi_cleanup(r->multi);
        destroy(r); /* cleans the share up */
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t bl = strlen(r->base_url);
    while (bl > 0 && r->base_url[bl - 1] == '/')
        r->base_url[--bl] = '\0';
    r->https = !strncmp(r->base_url, "https://", 8);
    snprintf(r->recv_window, sizeof r->recv_window, "%u", r->cfg.recv_window_ms);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)r->cfg.limit);
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->cfg.limit_per_host);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->cfg.limit); /* keep-alive cache */
    uv_timer_init(loop, &r->curl_timer);
    uv_timer_init(loop, &r->pace_timer);
    r->curl_timer.data = r->pace_timer.data = r;
    r->handles_open = 2;
    prng_seed(&r->rng, cfg->seed ? cfg->seed : (uint64_t)wall_ms() ^ (uint64_t)uv_hrtime());
    return r;
}

void restc_set_clock_offset(restc *r, int64_t offset_ms)
{
    r->offset_ms = offset_ms;
}

static int submit(restc *r, int post, const char *path, const char *data, unsigned flags,
                  restc_cb cb, void *ud, uint64_t *id)
{
    if (!r || !path || path[0] != '/' || !cb)
        return ERR_INVAL;
    if (r->closing)
        return ERR_BADSTATE;
    if ((flags & RESTC_SIGNED) && !r->key[0])
        return ERR_INVAL;
    size_t pl = strlen(path), dl = data ? strlen(data) : 0;
    if (pl >= sizeof r->eps[0].path || (!post && strlen(r->base_url) + pl + dl + 2 > RESTC_MAX_URL))
        return ERR_RANGE;
    if (r->held.n + r->incurl.n >= r->cfg.max_queue) {
        r->st.refused_full++;
        return ERR_FULL;
    }
    int ep = -1;
    if (flags & RESTC_SIGNED) {
        ep = endpoint_of(r, path);
        if (ep < 0)
            return ep;
    }
    req *q = calloc(1, sizeof *q);
    if (!q)
        return ERR_NOMEM;
    q->r = r;
    q->post = post;
    q->flags = flags;
    q->ep = ep;
    q->cb = cb;
    q->ud = ud;
    q->path = strdup(path);
    if (post) {
        q->body = strdup(data ? data : "");
        q->body_len = dl;
    } else if (data && dl) {
        q->query = strdup(data);
    }
    if (!q->path || (post && !q->body) || (!post && dl && !q->query)) {
        req_free(q);
        return ERR_NOMEM;
    }
    q->id = ++r->next_id;
    if (id)
        *id = q->id;
    held_push(r, q);
    gauges(r);
    uv_timer_start(&r->pace_timer, pace_fire, 0, 0); /* the first step runs from the loop */
    return 0;
}

int restc_get(restc *r, const char *path, const char *query, unsigned flags, restc_cb cb, void *ud,
              uint64_t *id)
{
    return submit(r, 0, path, query, flags, cb, ud, id);
}

int restc_post(restc *r, const char *path, const char *json, unsigned flags, restc_cb cb, void *ud,
               uint64_t *id)
{
    return submit(r, 1, path, json ? json : "{}", flags, cb, ud, id);
}

int restc_banned(const restc *r, int64_t now_ms, int64_t *until_ms, char *reason, size_t n)
{
    if (!r || r->ban_until <= now_ms)
        return 0;
    if (until_ms)
        *until_ms = r->ban_until;
    if (reason && n)
        snprintf(reason, n, "%s", r->ban_reason);
    return 1;
}

void restc_get_stats(const restc *r, restc_stats *st)
{
    *st = r->st;
}

int restc_metrics(const restc *r, sbuf *b, int latency_header)
{
    int rc = 0;
    char le[32];
    if (latency_header)
        rc |= promtext_header(b, "latency_ms", "histogram", "latency in milliseconds by stage");
    for (int i = 0; i < RESTC_LAT_BUCKETS; i++) {
        if (i == RESTC_LAT_BUCKETS - 1)
            snprintf(le, sizeof le, "+Inf");
        else
            snprintf(le, sizeof le, "%g", restc_lat_bounds[i]);
        const char *lb[] = {"stage", "rest", "le", le, NULL};
        rc |= promtext_sample(b, "latency_ms_bucket", lb, (double)r->st.lat_buckets[i]);
    }
    const char *stage[] = {"stage", "rest", NULL};
    rc |= promtext_sample(b, "latency_ms_sum", stage, r->st.lat_sum_ms);
    rc |= promtext_sample(b, "latency_ms_count", stage, (double)r->st.lat_count);
    rc |= promtext_header(b, "http_pool_requests_waiting", "gauge",
                          "REST requests held by pacing or waiting for a pool connection");
    rc |= promtext_sample(b, "http_pool_requests_waiting", NULL, r->st.waiting);
    rc |= promtext_header(b, "http_pool_requests_waiting_high_water", "gauge",
                          "highest http_pool_requests_waiting since start");
    rc |= promtext_sample(b, "http_pool_requests_waiting_high_water", NULL, r->st.waiting_max);
    rc |= promtext_header(b, "rest_requests_total", "counter", "REST requests answered, by class");
    for (int c = 0; c < RESTC__CLASSES; c++) {
        const char *lb[] = {"class", class_names[c], NULL};
        rc |= promtext_sample(b, "rest_requests_total", lb, (double)r->st.by_class[c]);
    }
    rc |= promtext_header(b, "rest_retries_total", "counter", "REST retries after backoff");
    rc |= promtext_sample(b, "rest_retries_total", NULL, (double)r->st.retries);
    /* headroom: what the exchange's last X-Bapi-Limit-Status left, less what we sent since */
    for (int fam = 0; fam < 2; fam++) {
        const char *name = fam ? "bybit_ratelimit_limit" : "bybit_ratelimit_remaining";
        rc |= promtext_header(b, name, "gauge",
                              fam ? "X-Bapi-Limit of a signed endpoint (requests per window)"
                                  : "requests left in the rate-limit window, per signed endpoint");
        for (unsigned i = 0; i < r->neps; i++) {
            const endpoint *e = &r->eps[i];
            if (!e->known)
                continue;
            const char *lb[] = {"endpoint", e->path, NULL};
            long left = e->b0 - e->spent;
            rc |= promtext_sample(b, name, lb,
                                  fam ? (double)e->limit : (double)(left > 0 ? left : 0));
        }
    }
    return rc ? ERR_FULL : 0; /* the sbuf's cap (or its memory) */
}

void restc_close(restc *r)
{
    if (!r || r->closing)
        return;
    r->closing = 1;
    while (r->held.head) {
        req *q = r->held.head;
        list_unlink(&r->held, q);
        attempt_free(q);
        fail_unsent(r, q, ERR_BADSTATE);
    }
    while (r->incurl.head) {
        req *q = r->incurl.head;
        curl_multi_remove_handle(r->multi, q->easy);
        list_unlink(&r->incurl, q);
        if (!q->sent)
            r->nconnecting--;
        if (q->ep >= 0)
            r->eps[q->ep].inflight--;
        restc_result res;
        memset(&res, 0, sizeof res);
        res.err = ERR_BADSTATE;
        res.sent = q->sent;
        res.ret_code = res.limit = res.limit_status = -1;
        res.limit_reset_ms = -1;
        res.cls = restc_classify(ERR_BADSTATE, q->sent, 0, -1, q->flags & RESTC_MUTATES);
        deliver(r, q, &res);
    }
    curl_multi_cleanup(r->multi);
    r->multi = NULL;
    while (r->socks)
        sock_drop(r, r->socks);
    uv_timer_stop(&r->curl_timer);
    uv_timer_stop(&r->pace_timer);
    uv_close((uv_handle_t *)&r->curl_timer, timer_closed);
    uv_close((uv_handle_t *)&r->pace_timer, timer_closed);
}
