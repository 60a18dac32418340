/*
 * mm-latency-probe: the exchange end of bench/mm-latency. A minimal Bybit v5 exchange on one
 * loopback port (lib/wsrv), serving only what mmbot needs to start and quote BTCUSDT, and
 * timing, on the monotonic clock, how long a client takes from a book delta sent to the
 * order request that answers it.
 *
 *   mm-latency-probe --mode mmbot|floor [--listen ADDR] [--samples N] [--warmup N]
 *                    [--gap-ms G] [--timeout-ms T] [--max-seconds S] [--out FILE]
 *                    [--slow-us U]
 *
 * One delta in flight at a time: the timestamp is taken right before the delta is handed to
 * wsrv_send; the sample ends when the first POST /v5/order/create or /amend that answers it
 * has been read whole (mode mmbot: of the side the delta forced to move; mode floor: any).
 * The next delta leaves gap-ms after that, or after timeout-ms without an answer (counted).
 *
 * Mode mmbot: each delta moves the mid across one of mmbot's live orders (just above its ask,
 * or just below its bid, whichever keeps the price near 30000), so that order is nearer the
 * reference price than strategy.minimum_spread and must be replaced now, whatever
 * order_refresh_time says. Creates and amends are acknowledged at once and followed by an
 * `order` New item on the private stream, cancels by a Cancelled item, as Bybit does; the open
 * orders are listed by GET /v5/order/realtime. Signatures are not checked. Mode floor: the
 * delta alternates the mid by one tick and any create answers it.
 *
 * Output: "listening on http://IP:PORT" on stdout at start; once N samples are in, one line
 * "mode M samples N timeouts K p50_us … p90_us … p99_us … max_us …" and, with --out, every
 * sample in µs, one a line. Then no more deltas, but it answers until SIGTERM/SIGINT, so that
 * the client can shut down cleanly. --slow-us: every sample over U µs is logged on stderr
 * (with the update id, to find it in the client's log, and the CLOCK_MONOTONIC time it was sent,
 * to find it in a `perf record -k mono` trace). Exit 0 when N samples were taken, 1
 * when stopped or max-seconds (default 300) passed first (the partial results are reported),
 * 2 on bad usage. The default gap (30 ms) keeps mmbot's requests (a cancel and a create per
 * delta, two tokens) under risk.max_orders_per_second 100. Everything is bounded: the order
 * table (PROBE_MAX_ORDERS; a new order takes the oldest slot without an open order), the
 * samples (--samples, at most PROBE_MAX_SAMPLES), message buffers.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "wsrv.h"

#define PROBE_MAX_ORDERS  512
#define PROBE_MAX_SAMPLES 1000000
#define PROBE_MAX_LIST    50 /* orders per realtime reply */
#define PROBE_TICK        0.1
#define PROBE_CENTER      30000.0
#define PROBE_SYMBOL      "BTCUSDT"
#define PROBE_FIELD       64
#define PROBE_MSG         16384

typedef enum { MODE_MMBOT, MODE_FLOOR } probe_mode;
typedef enum { SIDE_NONE, SIDE_BUY, SIDE_SELL } probe_side;

typedef struct probe_order {
    char link[PROBE_FIELD];
    char px[PROBE_FIELD];
    char qty[PROBE_FIELD];
    probe_side side;
    int open;
    int64_t created_ms;
} probe_order;

typedef struct probe {
    uv_loop_t *loop;
    wsrv *srv;
    probe_mode mode;
    uv_timer_t delta_timer, timeout_timer, deadline_timer;
    uv_signal_t sigterm, sigint;
    int stopping, done, exit_code;
    wsrv_conn *pub, *priv;
    int book_ready;  /* a snapshot went to pub */
    double bid, ask; /* the probe's top of book */
    uint64_t u;      /* update id of the book stream */
    probe_order ord[PROBE_MAX_ORDERS];
    size_t next_slot;
    uint64_t order_seq;
    /* the sample in flight */
    int waiting;
    probe_side want; /* mode mmbot: the side that must move */
    uint64_t sent_ns;
    /* results */
    unsigned warmup, nsamples, taken, seen, timeouts;
    unsigned gap_ms, timeout_ms, slow_us;
    double *us;
    const char *out;
} probe;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The string value of "key":"value" in a flat JSON text (the probe's clients send no escapes
 * in the fields it reads). 0, or -1 when absent or longer than n-1 bytes. */
static int json_str(const char *s, const char *key, char *out, size_t n)
{
    char pat[PROBE_FIELD];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= n)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

/* The value of key=value in a query string ("" when absent). */
static void query_arg(const char *q, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    out[0] = '\0';
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            p += kl + 1;
            size_t l = strcspn(p, "&");
            if (l < n) {
                memcpy(out, p, l);
                out[l] = '\0';
            }
            return;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
}

static const char *side_name(probe_side s)
{
    return s == SIDE_SELL ? "Sell" : "Buy";
}

/* ---- results ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i ? i - 1 : 0];
}

static void report(probe *p)
{
    if (p->out) {
        FILE *f = fopen(p->out, "w");
        if (!f) {
            fprintf(stderr, "mm-latency-probe: cannot write '%s': %s\n", p->out, strerror(errno));
            p->exit_code = 1;
        } else {
            for (unsigned i = 0; i < p->taken; i++)
                fprintf(f, "%.3f\n", p->us[i]);
            fclose(f);
        }
    }
    double *s = malloc((p->taken ? p->taken : 1) * sizeof *s);
    if (!s)
        return;
    memcpy(s, p->us, p->taken * sizeof *s);
    qsort(s, p->taken, sizeof *s, cmp_double);
    printf("mode %s samples %u timeouts %u p50_us %.1f p90_us %.1f p99_us %.1f max_us %.1f\n",
           p->mode == MODE_MMBOT ? "mmbot" : "floor", p->taken, p->timeouts, pct(s, p->taken, 50),
           pct(s, p->taken, 90), pct(s, p->taken, 99), p->taken ? s[p->taken - 1] : NAN);
    fflush(stdout);
    free(s);
}

/* The samples are in: report them, send no more deltas, but go on answering until SIGTERM so
 * that the client can shut down cleanly (mmbot cancels and verifies over REST). */
static void finish(probe *p)
{
    if (p->done)
        return;
    p->done = 1;
    uv_timer_stop(&p->delta_timer);
    uv_timer_stop(&p->timeout_timer);
    uv_timer_stop(&p->deadline_timer);
    report(p);
}

static void stop(probe *p)
{
    if (p->stopping)
        return;
    p->stopping = 1;
    finish(p);
    uv_close((uv_handle_t *)&p->delta_timer, NULL);
    uv_close((uv_handle_t *)&p->timeout_timer, NULL);
    uv_close((uv_handle_t *)&p->deadline_timer, NULL);
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->sigint, NULL);
    wsrv_stop(p->srv);
    p->srv = NULL;
    p->pub = p->priv = NULL;
}

/* ---- orders ---- */

static probe_order *order_find(probe *p, const char *link)
{
    for (size_t i = 0; i < PROBE_MAX_ORDERS; i++)
        if (p->ord[i].link[0] && !strcmp(p->ord[i].link, link))
            return &p->ord[i];
    return NULL;
}

/* The best open order of a side (highest bid, lowest ask): the one mmbot pairs with its first
 * wanted level, so the one whose crossing forces a replacement now. */
static probe_order *order_best(probe *p, probe_side side)
{
    probe_order *best = NULL;
    double best_px = 0;
    for (size_t i = 0; i < PROBE_MAX_ORDERS; i++) {
        probe_order *o = &p->ord[i];
        if (!o->open || o->side != side)
            continue;
        double px = strtod(o->px, NULL);
        if (!best || (side == SIDE_BUY ? px > best_px : px < best_px)) {
            best = o;
            best_px = px;
        }
    }
    return best;
}

static int order_item(const probe_order *o, const char *status, char *buf, size_t n)
{
    int64_t now = wall_ms();
    return snprintf(buf, n,
                    "{\"orderId\":\"p-%s\",\"orderLinkId\":\"%s\",\"symbol\":\"" PROBE_SYMBOL
                    "\",\"side\":\"%s\",\"orderType\":\"Limit\",\"price\":\"%s\",\"qty\":\"%s\","
                    "\"timeInForce\":\"PostOnly\",\"orderStatus\":\"%s\",\"cancelType\":\"%s\","
                    "\"rejectReason\":\"EC_NoError\",\"avgPrice\":\"0\",\"leavesQty\":\"%s\","
                    "\"cumExecQty\":\"0\",\"cumExecValue\":\"0\",\"cumExecFee\":\"0\","
                    "\"reduceOnly\":false,\"createdTime\":\"%" PRId64
                    "\",\"updatedTime\":\"%" PRId64 "\",\"category\":\"linear\"}",
                    o->link, o->link, side_name(o->side), o->px, o->qty, status,
                    strcmp(status, "Cancelled") ? "UNKNOWN" : "CancelByUser",
                    strcmp(status, "Cancelled") ? o->qty : "0", o->created_ms, now);
}

/* Pushes one `order` message with the items of orders[0..n) in status. */
static void push_orders(probe *p, probe_order *const *orders, size_t n, const char *status)
{
    if (!p->priv || n == 0)
        return;
    char msg[PROBE_MSG];
    size_t len = (size_t)snprintf(msg, sizeof msg,
                                  "{\"id\":\"probe-%" PRIu64 "\",\"topic\":\"order\","
                                  "\"creationTime\":%" PRId64 ",\"data\":[",
                                  ++p->order_seq, wall_ms());
    for (size_t i = 0; i < n && len < sizeof msg; i++) {
        if (i)
            msg[len++] = ',';
        len += (size_t)order_item(orders[i], status, msg + len, sizeof msg - len);
    }
    if (len + 3 >= sizeof msg)
        return;
    len += (size_t)snprintf(msg + len, sizeof msg - len, "]}");
    if (wsrv_send(p->priv, msg, len) != 0)
        fprintf(stderr, "mm-latency-probe: cannot push order update: send queue full\n");
}

/* ---- the book and the samples ---- */

static void arm_next(probe *p, unsigned delay_ms);

/* The snapshot of the probe's one-level book (after every subscribe of the book topic). */
static void send_snapshot(probe *p)
{
    char msg[1024];
    int64_t now = wall_ms();
    int len = snprintf(msg, sizeof msg,
                       "{\"topic\":\"orderbook.50." PROBE_SYMBOL "\",\"type\":\"snapshot\","
                       "\"ts\":%" PRId64 ",\"data\":{\"s\":\"" PROBE_SYMBOL
                       "\",\"b\":[[\"%.1f\",\"1.5\"]],\"a\":[[\"%.1f\",\"1.5\"]],"
                       "\"u\":%" PRIu64 ",\"seq\":%" PRIu64 "},\"cts\":%" PRId64 "}",
                       now, p->bid, p->ask, p->u, p->u, now);
    wsrv_send(p->pub, msg, (size_t)len);
}

/* Sends one delta that moves the top of book to new_bid / new_bid + 2 ticks. */
static void send_delta(probe *p, double new_bid)
{
    char msg[1024];
    int64_t now = wall_ms();
    double old_bid = p->bid, old_ask = p->ask;
    p->bid = new_bid;
    p->ask = new_bid + 2 * PROBE_TICK;
    p->u++;
    int len =
        snprintf(msg, sizeof msg,
                 "{\"topic\":\"orderbook.50." PROBE_SYMBOL "\",\"type\":\"delta\",\"ts\":%" PRId64
                 ",\"data\":{\"s\":\"" PROBE_SYMBOL "\",\"b\":[[\"%.1f\",\"0\"],[\"%.1f\","
                 "\"1.5\"]],\"a\":[[\"%.1f\",\"0\"],[\"%.1f\",\"1.5\"]],\"u\":%" PRIu64
                 ",\"seq\":%" PRIu64 "},\"cts\":%" PRId64 "}",
                 now, old_bid, p->bid, old_ask, p->ask, p->u, p->u, now);
    p->waiting = 1;
    p->sent_ns = uv_hrtime();
    if (wsrv_send(p->pub, msg, (size_t)len) != 0) {
        p->waiting = 0;
        arm_next(p, p->gap_ms);
    }
}

static void on_timeout(uv_timer_t *t);

static void on_delta_timer(uv_timer_t *t)
{
    probe *p = t->data;
    if (p->done)
        return;
    if (!p->pub || !p->book_ready) {
        arm_next(p, 100);
        return;
    }
    double tick2 = 2 * PROBE_TICK;
    if (p->mode == MODE_FLOOR) {
        p->want = SIDE_NONE;
        send_delta(p, p->bid > PROBE_CENTER ? p->bid - PROBE_TICK : p->bid + PROBE_TICK);
    } else {
        probe_order *bid = order_best(p, SIDE_BUY), *ask = order_best(p, SIDE_SELL);
        if (!bid || !ask) { /* mmbot not quoting both sides yet */
            arm_next(p, 50);
            return;
        }
        double mid = (p->bid + p->ask) / 2;
        if (mid <= PROBE_CENTER) { /* up: the mid goes just above mmbot's ask */
            p->want = SIDE_SELL;
            send_delta(p, strtod(ask->px, NULL) + tick2 - PROBE_TICK);
        } else { /* down: just below its bid */
            p->want = SIDE_BUY;
            send_delta(p, strtod(bid->px, NULL) - tick2 - PROBE_TICK);
        }
    }
    if (p->waiting)
        uv_timer_start(&p->timeout_timer, on_timeout, p->timeout_ms, 0);
}

static void arm_next(probe *p, unsigned delay_ms)
{
    if (!p->done)
        uv_timer_start(&p->delta_timer, on_delta_timer, delay_ms, 0);
}

static void on_timeout(uv_timer_t *t)
{
    probe *p = t->data;
    if (!p->waiting)
        return;
    p->waiting = 0;
    if (p->seen >= p->warmup)
        p->timeouts++;
    p->seen++;
    arm_next(p, p->gap_ms);
}

/* An order request arrived at arrival_ns: the sample ends when it answers the delta. */
static void order_arrived(probe *p, probe_side side, uint64_t arrival_ns)
{
    if (!p->waiting || (p->want != SIDE_NONE && side != p->want))
        return;
    p->waiting = 0;
    uv_timer_stop(&p->timeout_timer);
    double us = (double)(arrival_ns - p->sent_ns) / 1e3;
    if (p->seen++ >= p->warmup && p->taken < p->nsamples)
        p->us[p->taken++] = us;
    if (p->slow_us && us > p->slow_us)
        fprintf(stderr,
                "mm-latency-probe: slow sample %u (update %" PRIu64 ", %s, at %" PRId64
                " ms, sent at %" PRIu64 " ns monotonic): %.1f us\n",
                p->seen, p->u, p->want == SIDE_NONE ? "any" : side_name(p->want), wall_ms(),
                p->sent_ns, us);
    if (p->taken >= p->nsamples) {
        finish(p);
        return;
    }
    arm_next(p, p->gap_ms);
}

/* ---- REST ---- */

static void reply(probe *p, wsrv_req *r, int status, long ret_code, const char *result)
{
    char body[PROBE_MSG + 256];
    int64_t now = wall_ms();
    int n = snprintf(body, sizeof body,
                     "{\"retCode\":%ld,\"retMsg\":\"%s\",\"result\":%s,\"retExtInfo\":{},"
                     "\"time\":%" PRId64 "}",
                     ret_code, ret_code ? "error" : "OK", result, now);
    if (n < 0 || (size_t)n >= sizeof body)
        n = snprintf(body, sizeof body, "{\"retCode\":10016,\"retMsg\":\"too long\"}");
    /* a budget so large that the client's pacing never holds a request back */
    char hdr[256];
    snprintf(hdr, sizeof hdr,
             "X-Bapi-Limit: 100000\r\nX-Bapi-Limit-Status: 99999\r\n"
             "X-Bapi-Limit-Reset-Timestamp: %" PRId64 "\r\n",
             now + 1000);
    (void)p;
    wsrv_reply(r, status, NULL, hdr, body, (size_t)n);
}

/* The ids of an order, as create, amend and cancel answer them (orderId is "p-" + link). */
static void reply_ids(probe *p, wsrv_req *r, const char *link)
{
    char res[256];
    snprintf(res, sizeof res, "{\"orderId\":\"p-%s\",\"orderLinkId\":\"%s\"}", link, link);
    reply(p, r, 200, 0, res);
}

/* The open order an amend or cancel body names (its link id into link, PROBE_FIELD bytes);
 * NULL, after answering 110001, when there is none. */
static probe_order *open_order_of(probe *p, wsrv_req *r, const char *body, char *link)
{
    link[0] = '\0';
    json_str(body, "orderLinkId", link, PROBE_FIELD);
    probe_order *o = order_find(p, link);
    if (!o || !o->open) {
        reply(p, r, 200, 110001, "{}");
        return NULL;
    }
    return o;
}

static void rest_create(probe *p, wsrv_req *r, const char *body, uint64_t arrival_ns)
{
    char link[PROBE_FIELD] = "", side[PROBE_FIELD] = "", px[PROBE_FIELD] = "",
         qty[PROBE_FIELD] = "";
    json_str(body, "orderLinkId", link, sizeof link);
    json_str(body, "side", side, sizeof side);
    json_str(body, "price", px, sizeof px);
    json_str(body, "qty", qty, sizeof qty);
    probe_side sd = !strcmp(side, "Sell") ? SIDE_SELL : SIDE_BUY;
    reply_ids(p, r, link);
    if (p->mode == MODE_MMBOT && link[0]) {
        /* the next slot round the ring that holds no open order (the oldest closed one);
         * when all are open, the next one is reused */
        size_t k = 0;
        while (k < PROBE_MAX_ORDERS && p->ord[(p->next_slot + k) % PROBE_MAX_ORDERS].open)
            k++;
        size_t at = (p->next_slot + (k < PROBE_MAX_ORDERS ? k : 0)) % PROBE_MAX_ORDERS;
        probe_order *o = &p->ord[at];
        p->next_slot = (at + 1) % PROBE_MAX_ORDERS;
        memset(o, 0, sizeof *o);
        snprintf(o->link, sizeof o->link, "%s", link);
        snprintf(o->px, sizeof o->px, "%s", px);
        snprintf(o->qty, sizeof o->qty, "%s", qty);
        o->side = sd;
        o->open = 1;
        o->created_ms = wall_ms();
        push_orders(p, &o, 1, "New");
    }
    order_arrived(p, sd, arrival_ns);
}

static void rest_amend(probe *p, wsrv_req *r, const char *body, uint64_t arrival_ns)
{
    char link[PROBE_FIELD];
    probe_order *o = open_order_of(p, r, body, link);
    if (!o)
        return;
    json_str(body, "price", o->px, sizeof o->px);
    json_str(body, "qty", o->qty, sizeof o->qty);
    reply_ids(p, r, link);
    push_orders(p, &o, 1, "New");
    order_arrived(p, o->side, arrival_ns);
}

static void rest_cancel(probe *p, wsrv_req *r, const char *body)
{
    char link[PROBE_FIELD];
    probe_order *o = open_order_of(p, r, body, link);
    if (!o)
        return;
    o->open = 0;
    reply_ids(p, r, link);
    push_orders(p, &o, 1, "Cancelled");
}

static void rest_cancel_all(probe *p, wsrv_req *r)
{
    char res[PROBE_MSG];
    size_t len = (size_t)snprintf(res, sizeof res, "{\"list\":[");
    probe_order *done[PROBE_MAX_LIST];
    size_t n = 0;
    for (size_t i = 0; i < PROBE_MAX_ORDERS && n < PROBE_MAX_LIST; i++) {
        probe_order *o = &p->ord[i];
        if (!o->open)
            continue;
        o->open = 0;
        done[n] = o;
        len += (size_t)snprintf(res + len, sizeof res - len,
                                "%s{\"orderId\":\"p-%s\",\"orderLinkId\":\"%s\"}", n ? "," : "",
                                o->link, o->link);
        n++;
    }
    snprintf(res + len, sizeof res - len, "],\"success\":\"1\"}");
    reply(p, r, 200, 0, res);
    push_orders(p, done, n, "Cancelled");
}

static void rest_open_orders(probe *p, wsrv_req *r)
{
    char link[PROBE_FIELD];
    query_arg(wsrv_req_query(r), "orderLinkId", link, sizeof link);
    char res[PROBE_MSG];
    size_t len = (size_t)snprintf(res, sizeof res, "{\"category\":\"linear\",\"list\":[");
    size_t n = 0;
    for (size_t i = 0; i < PROBE_MAX_ORDERS && n < PROBE_MAX_LIST; i++) {
        probe_order *o = &p->ord[i];
        if (!o->open || (link[0] && strcmp(link, o->link)))
            continue;
        if (n++)
            res[len++] = ',';
        len += (size_t)order_item(o, "New", res + len, sizeof res - len);
    }
    snprintf(res + len, sizeof res - len, "],\"nextPageCursor\":\"\"}");
    reply(p, r, 200, 0, res);
}

static void on_request(void *ud, wsrv_req *r)
{
    uint64_t arrival_ns = uv_hrtime();
    probe *p = ud;
    const char *path = wsrv_req_path(r);
    size_t blen;
    const char *body = wsrv_req_body(r, &blen);
    char res[1024];
    if (!strcmp(path, "/v5/order/create")) {
        rest_create(p, r, body, arrival_ns);
    } else if (!strcmp(path, "/v5/order/amend")) {
        rest_amend(p, r, body, arrival_ns);
    } else if (!strcmp(path, "/v5/order/cancel")) {
        rest_cancel(p, r, body);
    } else if (!strcmp(path, "/v5/order/cancel-all")) {
        rest_cancel_all(p, r);
    } else if (!strcmp(path, "/v5/order/realtime")) {
        rest_open_orders(p, r);
    } else if (!strcmp(path, "/v5/market/time")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(res, sizeof res, "{\"timeSecond\":\"%lld\",\"timeNano\":\"%lld\"}",
                 (long long)ts.tv_sec, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        reply(p, r, 200, 0, res);
    } else if (!strcmp(path, "/v5/market/instruments-info")) {
        reply(p, r, 200, 0,
              "{\"category\":\"linear\",\"list\":[{\"symbol\":\"" PROBE_SYMBOL "\","
              "\"status\":\"Trading\",\"priceFilter\":{\"minPrice\":\"0.1\","
              "\"maxPrice\":\"1999999.8\",\"tickSize\":\"0.1\"},\"lotSizeFilter\":{"
              "\"minOrderQty\":\"0.001\",\"maxOrderQty\":\"100\",\"qtyStep\":\"0.001\","
              "\"minNotionalValue\":\"5\"}}],\"nextPageCursor\":\"\"}");
    } else if (!strcmp(path, "/v5/position/list")) {
        reply(p, r, 200, 0,
              "{\"category\":\"linear\",\"list\":[{\"symbol\":\"" PROBE_SYMBOL "\",\"side\":\"\","
              "\"size\":\"0\",\"avgPrice\":\"0\",\"positionValue\":\"0\",\"markPrice\":\"30000\","
              "\"unrealisedPnl\":\"0\",\"cumRealisedPnl\":\"0\",\"positionIdx\":0}],"
              "\"nextPageCursor\":\"\"}");
    } else if (!strcmp(path, "/v5/account/wallet-balance")) {
        reply(
            p, r, 200, 0,
            "{\"list\":[{\"accountType\":\"UNIFIED\",\"totalEquity\":\"100000\","
            "\"totalWalletBalance\":\"100000\",\"totalAvailableBalance\":\"100000\","
            "\"coin\":[{\"coin\":\"USDT\",\"walletBalance\":\"100000\",\"equity\":\"100000\"}]}]}");
    } else {
        reply(p, r, 404, 10001, "{}");
    }
}

/* ---- WebSocket ---- */

static int kind_pub, kind_priv; /* addresses used as the connections' user tags */

static int on_ws_open(void *ud, wsrv_conn *c, const char *path, const char *query)
{
    probe *p = ud;
    (void)query;
    if (!strcmp(path, "/v5/public/linear")) {
        wsrv_conn_set_user(c, &kind_pub);
        p->pub = c;
        p->book_ready = 0;
        return 0;
    }
    if (!strcmp(path, "/v5/private")) {
        wsrv_conn_set_user(c, &kind_priv);
        p->priv = c;
        return 0;
    }
    return 1;
}

static void on_ws_message(void *ud, wsrv_conn *c, const char *msg, size_t len)
{
    probe *p = ud;
    char text[PROBE_MSG];
    if (len >= sizeof text)
        return;
    memcpy(text, msg, len);
    text[len] = '\0';
    char op[PROBE_FIELD] = "", rid[PROBE_FIELD] = "";
    json_str(text, "op", op, sizeof op);
    json_str(text, "req_id", rid, sizeof rid);
    int is_pub = wsrv_conn_user(c) == &kind_pub;
    char out[512];
    int n;
    if (!strcmp(op, "ping"))
        n = is_pub ? snprintf(out, sizeof out,
                              "{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"probe\","
                              "\"req_id\":\"%s\",\"op\":\"ping\"}",
                              rid)
                   : snprintf(out, sizeof out,
                              "{\"req_id\":\"%s\",\"op\":\"pong\",\"args\":[\"%" PRId64
                              "\"],\"conn_id\":\"probe\"}",
                              rid, wall_ms());
    else if (!strcmp(op, "auth") || !strcmp(op, "subscribe") || !strcmp(op, "unsubscribe"))
        n = snprintf(out, sizeof out,
                     "{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"probe\",\"req_id\":\"%s\","
                     "\"op\":\"%s\"}",
                     rid, op);
    else
        return;
    wsrv_send(c, out, (size_t)n);
    if (is_pub && !strcmp(op, "subscribe") && strstr(text, "orderbook.")) {
        p->u++;
        send_snapshot(p);
        if (!p->book_ready) {
            p->book_ready = 1;
            arm_next(p, 500);
        }
    }
}

static void on_ws_close(void *ud, wsrv_conn *c)
{
    probe *p = ud;
    if (p->pub == c)
        p->pub = NULL, p->book_ready = 0;
    if (p->priv == c)
        p->priv = NULL;
}

static void on_deadline(uv_timer_t *t)
{
    probe *p = t->data;
    fprintf(stderr, "mm-latency-probe: time is up with %u of %u samples\n", p->taken, p->nsamples);
    p->exit_code = 1;
    stop(p);
}

static void on_signal(uv_signal_t *h, int signum)
{
    probe *p = h->data;
    (void)signum;
    if (!p->done)
        p->exit_code = 1;
    stop(p);
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int usage(const char *why)
{
    fprintf(
        stderr,
        "mm-latency-probe: %s\n"
        "usage: mm-latency-probe --mode mmbot|floor [--listen ADDR] [--samples N] "
        "[--warmup N] [--gap-ms G] [--timeout-ms T] [--max-seconds S] [--out FILE] [--slow-us U]\n",
        why);
    return 2;
}

int main(int argc, char **argv)
{
    static probe p;
    const char *listen = "127.0.0.1:0", *mode = NULL;
    unsigned max_s = 300;
    p.nsamples = 2000;
    p.warmup = 100;
    p.gap_ms = 20;
    p.timeout_ms = 500;
    p.bid = PROBE_CENTER - PROBE_TICK;
    p.ask = PROBE_CENTER + PROBE_TICK;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!v)
            return usage("an option without its value");
        if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--listen"))
            listen = v;
        else if (!strcmp(a, "--out"))
            p.out = v;
        else if (!strcmp(a, "--samples"))
            bad = parse_uint(v, 1, PROBE_MAX_SAMPLES, &p.nsamples);
        else if (!strcmp(a, "--warmup"))
            bad = parse_uint(v, 0, PROBE_MAX_SAMPLES, &p.warmup);
        else if (!strcmp(a, "--gap-ms"))
            bad = parse_uint(v, 0, 60000, &p.gap_ms);
        else if (!strcmp(a, "--timeout-ms"))
            bad = parse_uint(v, 1, 60000, &p.timeout_ms);
        else if (!strcmp(a, "--slow-us"))
            bad = parse_uint(v, 1, 60000000, &p.slow_us);
        else if (!strcmp(a, "--max-seconds"))
            bad = parse_uint(v, 1, 86400, &max_s);
        else
            return usage("unknown option");
        if (bad)
            return usage("a value out of range");
    }
    if (!mode || (strcmp(mode, "mmbot") && strcmp(mode, "floor")))
        return usage("--mode must be mmbot or floor");
    p.mode = !strcmp(mode, "mmbot") ? MODE_MMBOT : MODE_FLOOR;
    p.us = calloc(p.nsamples, sizeof *p.us);
    if (!p.us) {
        fprintf(stderr, "mm-latency-probe: cannot allocate %u samples: out of memory\n",
                p.nsamples);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    p.loop = uv_default_loop();
    char err[256];
    wsrv_callbacks cb = {on_request, on_ws_open, on_ws_message, on_ws_close};
    wsrv_opts wo = {64 * 1024, 64 * 1024, 8u << 20};
    p.srv = wsrv_start(p.loop, listen, &wo, &cb, &p, err, sizeof err);
    if (!p.srv) {
        fprintf(stderr, "mm-latency-probe: cannot listen on '%s': %s\n", listen, err);
        return 1;
    }
    uv_timer_init(p.loop, &p.delta_timer);
    uv_timer_init(p.loop, &p.timeout_timer);
    uv_timer_init(p.loop, &p.deadline_timer);
    p.delta_timer.data = p.timeout_timer.data = p.deadline_timer.data = &p;
    uv_signal_init(p.loop, &p.sigterm);
    uv_signal_init(p.loop, &p.sigint);
    p.sigterm.data = p.sigint.data = &p;
    uv_signal_start(&p.sigterm, on_signal, SIGTERM);
    uv_signal_start(&p.sigint, on_signal, SIGINT);
    uv_timer_start(&p.deadline_timer, on_deadline, (uint64_t)max_s * 1000, 0);
    printf("listening on http://127.0.0.1:%d\n", wsrv_port(p.srv));
    fflush(stdout);
    uv_run(p.loop, UV_RUN_DEFAULT);
    uv_loop_close(p.loop);
    free(p.us);
    return p.exit_code;
}
