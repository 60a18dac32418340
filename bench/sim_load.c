/*
 * sim-load: REST load on bybit-sim (or anything that answers the same endpoints).
 *
 *   sim-load --port P [--host 127.0.0.1] [--conns 8] [--seconds 10] [--warmup 1]
 *            [--threads 1] [--key K] (secret: $SIM_SECRET, default S) [--mode pairs|time] [--rate
 * R]
 *
 * mode pairs (default): every keep-alive connection loops create -> (reply) -> cancel ->
 * (reply): POST /v5/order/create (a PostOnly Buy limit at 50000, far below the simulator's
 * market) then POST /v5/order/cancel of the orderId it returned, each request signed (Bybit v5
 * HMAC-SHA256 via lib/bybitsign). One request in flight per connection (pipelining depth 1).
 * mode time: GET /v5/market/time in the same loop (unsigned), the wrk-comparable case.
 *
 * --rate R: at most R pairs (or GETs) started per second in all (paced per thread; a
 * connection whose pair is done waits for the next slot), for a load below saturation; 0 (the
 * default) runs flat out. Latency is from the actual send, so it is only meaningful while the
 * server keeps up with the rate (pairs_per_s reads R).
 *
 * Bounded: warm-up seconds (not counted), then the measured seconds; then no new request is
 * sent, and what is in flight gets at most 2 s. One epoll loop per thread, connections split
 * between threads.
 *
 * Output, one line: pairs= pairs_per_s= reqs= reqs_per_s= p50_us= p90_us= p99_us= max_us=
 * errors= (replies with retCode != 0 or HTTP status != 200) http_errors= io_errors= ...,
 * and a line per distinct retCode seen besides 0. Exit status 1 when any error was seen.
 */

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bybitsign.h"
#include "loadgen.h"

#define HIST_US   200000 /* latency histogram: 1 us buckets up to 200 ms, then one overflow */
#define BUF_SIZE  16384
#define MAX_CODES 16

enum mode { M_PAIRS, M_TIME };
enum step { S_CREATE, S_CANCEL };

typedef struct conn {
    int fd;
    int id;
    enum step step;
    char order_id[64];
    uint64_t seq;
    int64_t sent_ns;
    char rbuf[BUF_SIZE];
    size_t rlen;
    char wbuf[4096];
    size_t wlen, woff;
    struct conn *wnext; /* in the worker's queue of connections waiting for a --rate slot */
} conn;

typedef struct worker {
    pthread_t th;
    int idx;
    int nconns;
    conn *c;
    int ep;
    /* --rate: the next request slot (CLOCK_MONOTONIC ns), the interval and the waiting FIFO */
    int64_t next_slot, interval;
    conn *whead, *wtail;
    /* results of the measured window */
    uint64_t pairs, reqs, errors, http_errors, io_errors, reconnects;
    uint64_t *hist; /* HIST_US + 1 */
    struct {
        long code;
        uint64_t n;
        char msg[80];
    } codes[MAX_CODES];
    int ncodes;
} worker;

static struct {
    const char *host, *key, *secret;
    int port, conns, threads;
    double seconds, warmup, rate;
    enum mode mode;
    struct sockaddr_in sa;
    int64_t t_measure, t_end; /* CLOCK_MONOTONIC ns */
} g;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int conn_open(worker *w, conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&g.sa, sizeof g.sa)) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->rlen = 0;
    c->step = S_CREATE;
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Builds the next request of c into wbuf. */
static int build(worker *w, conn *c)
{
    if (g.mode == M_TIME) {
        c->wlen =
            (size_t)snprintf(c->wbuf, sizeof c->wbuf,
                             "GET /v5/market/time HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g.host, g.port);
        return 0;
    }
    char body[512], ts[32], sig[BYBITSIGN_HEX];
    int blen;
    const char *path;
    if (c->step == S_CREATE) {
        path = "/v5/order/create";
        blen = snprintf(body, sizeof body,
                        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\","
                        "\"orderType\":\"Limit\",\"qty\":\"0.001\",\"price\":\"50000.0\","
                        "\"timeInForce\":\"PostOnly\",\"orderLinkId\":\"L%d-%d-%" PRIu64 "\"}",
                        (int)getpid() % 100000, w->idx * 100000 + c->id, c->seq++);
    } else {
        path = "/v5/order/cancel";
        blen = snprintf(body, sizeof body,
                        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"orderId\":\"%s\"}",
                        c->order_id);
    }
    snprintf(ts, sizeof ts, "%" PRId64, wall_ms());
    if (bybitsign_rest(g.secret, ts, g.key, "5000", body, (size_t)blen, sig))
        return -1;
    int n = snprintf(c->wbuf, sizeof c->wbuf,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "X-BAPI-API-KEY: %s\r\nX-BAPI-TIMESTAMP: %s\r\nX-BAPI-SIGN: %s\r\n"
                     "X-BAPI-RECV-WINDOW: 5000\r\nContent-Length: %d\r\n\r\n%s",
                     path, g.host, g.port, g.key, ts, sig, blen, body);
    if (n <= 0 || (size_t)n >= sizeof c->wbuf)
        return -1;
    c->wlen = (size_t)n;
    return 0;
}

static int send_next(worker *w, conn *c)
{
    if (build(w, c))
        return -1;
    c->sent_ns = mono_ns();
    c->woff = 0;
    while (c->woff < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* a 1 KB request into an empty socket buffer: never short here */
        c->woff += (size_t)n;
    }
    return 0;
}

static void count_code(worker *w, long code, const char *body)
{
    for (int i = 0; i < w->ncodes; i++)
        if (w->codes[i].code == code) {
            w->codes[i].n++;
            return;
        }
    if (w->ncodes == MAX_CODES)
        return;
    w->codes[w->ncodes].code = code;
    w->codes[w->ncodes].n = 1;
    const char *m = strstr(body, "\"retMsg\":\"");
    snprintf(w->codes[w->ncodes].msg, sizeof w->codes[0].msg, "%.*s",
             m ? (int)strcspn(m + 10, "\"") : 0, m ? m + 10 : "");
    w->ncodes++;
}

/* One whole reply in rbuf: returns its total length (headers and body), 0 if incomplete,
 * -1 if malformed. *status, *body and *blen describe it. */
static ssize_t parse_reply(conn *c, int *status, const char **body, size_t *blen)
{
    c->rbuf[c->rlen < BUF_SIZE ? c->rlen : BUF_SIZE - 1] = '\0';
    char *eoh = strstr(c->rbuf, "\r\n\r\n");
    if (!eoh)
        return c->rlen >= BUF_SIZE - 1 ? -1 : 0;
    if (strncmp(c->rbuf, "HTTP/1.", 7))
        return -1;
    char *send;
    long st = strtol(c->rbuf + 9, &send, 10); /* "HTTP/1.1 200 OK" */
    if (send == c->rbuf + 9 || st < 100 || st > 999)
        return -1;
    *status = (int)st;
    long cl = -1;
    for (char *l = strstr(c->rbuf, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n"))
        if (!strncasecmp(l + 2, "content-length:", 15))
            cl = strtol(l + 17, NULL, 10);
    if (cl < 0)
        return -1;
    size_t total = (size_t)(eoh + 4 - c->rbuf) + (size_t)cl;
    if (total >= BUF_SIZE)
        return -1;
    if (c->rlen < total)
        return 0;
    *body = eoh + 4;
    *blen = (size_t)cl;
    return (ssize_t)total;
}

/* A reply arrived: account it and send the next request (unless the run is over). -1 on a
 * connection-level failure. */
static int on_reply(worker *w, conn *c, int status, const char *body, size_t blen)
{
    int64_t now = mono_ns();
    int counted = now >= g.t_measure && c->sent_ns >= g.t_measure && now <= g.t_end;
    int ok = status == 200;
    long code = -1;
    char save = ((char *)body)[blen];
    ((char *)body)[blen] = '\0';
    if (ok && g.mode == M_PAIRS) {
        const char *rc = strstr(body, "\"retCode\":");
        code = rc ? strtol(rc + 10, NULL, 10) : -1;
        ok = code == 0;
        if (ok && c->step == S_CREATE) {
            const char *id = strstr(body, "\"orderId\":\"");
            size_t n = id ? strcspn(id + 11, "\"") : 0;
            if (!id || n == 0 || n >= sizeof c->order_id)
                ok = 0;
            else {
                memcpy(c->order_id, id + 11, n);
                c->order_id[n] = '\0';
            }
        }
    }
    if (counted) {
        int64_t us = (now - c->sent_ns) / 1000;
        w->hist[us < HIST_US ? us : HIST_US]++;
        w->reqs++;
        if (!ok) {
            w->errors++;
            if (status != 200)
                w->http_errors++;
            else
                count_code(w, code, body);
        }
        if (ok && g.mode == M_PAIRS && c->step == S_CANCEL)
            w->pairs++;
    }
    ((char *)body)[blen] = save;
    if (g.mode == M_PAIRS)
        c->step = (ok && c->step == S_CREATE) ? S_CANCEL : S_CREATE;
    if (now >= g.t_end)
        return 1; /* done: no new request */
    if (w->interval && (g.mode == M_TIME || c->step == S_CREATE)) {
        /* paced: a new pair (or GET) waits for its slot */
        if (now < w->next_slot) {
            c->wnext = NULL;
            if (w->wtail)
                w->wtail->wnext = c;
            else
                w->whead = c;
            w->wtail = c;
            return 0;
        }
        w->next_slot += w->interval;
    }
    return send_next(w, c) ? -1 : 0;
}

/* Sends the waiting connections whose slots have come; the ms to wait for the next one. */
static int release_waiting(worker *w)
{
    int64_t now = mono_ns();
    while (w->whead && now >= w->next_slot) {
        conn *c = w->whead;
        w->whead = c->wnext;
        if (!w->whead)
            w->wtail = NULL;
        w->next_slot += w->interval;
        if (c->fd >= 0 && send_next(w, c)) {
            w->io_errors++;
            conn_close(c);
        }
    }
    if (!w->whead)
        return 100;
    int64_t ms = (w->next_slot - now + 999999) / 1000000;
    return ms < 1 ? 1 : (int)ms;
}

static void *run(void *arg)
{
    worker *w = arg;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    int live = 0;
    for (int i = 0; i < w->nconns; i++) {
        conn *c = &w->c[i];
        c->id = i;
        if (conn_open(w, c) || send_next(w, c)) {
            w->io_errors++;
            conn_close(c);
            continue;
        }
        live++;
    }
    int64_t hard_end = g.t_end + 2000000000LL;
    if (g.rate > 0) {
        w->interval = (int64_t)(1e9 * g.threads / g.rate);
        w->next_slot = mono_ns() + w->interval;
    }
    struct epoll_event evs[256];
    while (live > 0) {
        int64_t now = mono_ns();
        if (now >= hard_end)
            break;
        if (now >= g.t_end) /* paced connections waiting for a slot are done */
            for (; w->whead; w->whead = w->whead->wnext) {
                conn_close(w->whead);
                live--;
                w->wtail = NULL;
            }
        if (live <= 0)
            break;
        int n = epoll_wait(w->ep, evs, 256, w->interval ? release_waiting(w) : 100);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            ssize_t r = read(c->fd, c->rbuf + c->rlen, BUF_SIZE - 1 - c->rlen);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            int rc = r <= 0 ? -1 : 0;
            if (!rc) {
                c->rlen += (size_t)r;
                int status;
                const char *body;
                size_t blen;
                ssize_t used;
                while (!rc && (used = parse_reply(c, &status, &body, &blen)) != 0) {
                    if (used < 0) {
                        rc = -1;
                        break;
                    }
                    rc = on_reply(w, c, status, body, blen);
                    memmove(c->rbuf, c->rbuf + used, c->rlen - (size_t)used);
                    c->rlen -= (size_t)used;
                }
            }
            if (rc == 1) { /* finished */
                conn_close(c);
                live--;
            } else if (rc < 0) {
                conn_close(c);
                if (mono_ns() < g.t_end) { /* count it, reconnect and go on */
                    w->io_errors++;
                    w->reconnects++;
                    if (!conn_open(w, c) && !send_next(w, c))
                        continue;
                    w->io_errors++;
                }
                live--;
            }
        }
    }
    for (int i = 0; i < w->nconns; i++)
        conn_close(&w->c[i]);
    close(w->ep);
    return NULL;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: sim-load --port P [--host 127.0.0.1] [--conns 8] [--seconds 10]\n"
        "                [--warmup 1] [--threads 1] [--key K] (secret: $SIM_SECRET, default S)\n"
        "                [--mode pairs|time] [--rate PAIRS_PER_S]\n");
    exit(2);
}

/* A numeric argument, or the usage text and exit 2. */
static long num_arg(const char *v, long lo, long hi)
{
    long x;
    if (loadgen_long(v, lo, hi, &x))
        usage();
    return x;
}

static double real_arg(const char *v, double lo, double hi)
{
    double x;
    if (loadgen_double(v, lo, hi, &x))
        usage();
    return x;
}

int main(int argc, char **argv)
{
    g.host = "127.0.0.1";
    g.key = "K";
    g.secret = "S";
    g.conns = 8;
    g.threads = 1;
    g.seconds = 10;
    g.warmup = 1;
    /* the secret from the environment, never from argv (ps shows argv) */
    if (getenv("SIM_SECRET") && *getenv("SIM_SECRET"))
        g.secret = getenv("SIM_SECRET");
    for (int i = 1; i + 1 <= argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--port"))
            g.port = (int)num_arg(v, 1, 65535);
        else if (!strcmp(a, "--host"))
            g.host = v;
        else if (!strcmp(a, "--conns"))
            g.conns = (int)num_arg(v, 1, 100000);
        else if (!strcmp(a, "--threads"))
            g.threads = (int)num_arg(v, 1, 1024);
        else if (!strcmp(a, "--seconds"))
            g.seconds = real_arg(v, 0.001, 3600);
        else if (!strcmp(a, "--rate"))
            g.rate = real_arg(v, 0, 1e9);
        else if (!strcmp(a, "--warmup"))
            g.warmup = real_arg(v, 0, 600);
        else if (!strcmp(a, "--key"))
            g.key = v;
        else if (!strcmp(a, "--mode") && (!strcmp(v, "pairs") || !strcmp(v, "time")))
            g.mode = !strcmp(v, "pairs") ? M_PAIRS : M_TIME;
        else
            usage();
    }
    if (g.port <= 0 || g.port > 65535 || g.conns < 1 || g.threads < 1 || g.threads > g.conns ||
        g.seconds <= 0 || g.seconds > 3600 || g.warmup < 0 || g.warmup > 600)
        usage();
    g.sa.sin_family = AF_INET;
    g.sa.sin_port = htons((uint16_t)g.port);
    if (inet_pton(AF_INET, g.host, &g.sa.sin_addr) != 1)
        usage();

    worker *w = calloc((size_t)g.threads, sizeof *w);
    int64_t t0 = mono_ns();
    g.t_measure = t0 + (int64_t)(g.warmup * 1e9);
    g.t_end = g.t_measure + (int64_t)(g.seconds * 1e9);
    for (int t = 0; t < g.threads; t++) {
        w[t].idx = t;
        w[t].nconns = g.conns / g.threads + (t < g.conns % g.threads);
        w[t].c = calloc((size_t)w[t].nconns, sizeof(conn));
        w[t].hist = calloc(HIST_US + 1, sizeof(uint64_t));
        if (!w[t].c || !w[t].hist) {
            fprintf(stderr, "sim-load: out of memory\n");
            return 3;
        }
        for (int i = 0; i < w[t].nconns; i++)
            w[t].c[i].fd = -1;
        pthread_create(&w[t].th, NULL, run, &w[t]);
    }
    uint64_t pairs = 0, reqs = 0, errors = 0, http_errors = 0, io_errors = 0, reconnects = 0;
    uint64_t *hist = calloc(HIST_US + 1, sizeof(uint64_t));
    for (int t = 0; t < g.threads; t++) {
        pthread_join(w[t].th, NULL);
        pairs += w[t].pairs;
        reqs += w[t].reqs;
        errors += w[t].errors;
        http_errors += w[t].http_errors;
        io_errors += w[t].io_errors;
        reconnects += w[t].reconnects;
        for (int i = 0; i <= HIST_US; i++)
            hist[i] += w[t].hist[i];
    }
    printf("mode=%s conns=%d threads=%d seconds=%.1f pairs=%" PRIu64
           " pairs_per_s=%.0f reqs=%" PRIu64 " reqs_per_s=%.0f p50_us=%" PRIu64 " p90_us=%" PRIu64
           " p99_us=%" PRIu64 " max_us=%" PRIu64 " errors=%" PRIu64 " http_errors=%" PRIu64
           " io_errors=%" PRIu64 " reconnects=%" PRIu64 "\n",
           g.mode == M_PAIRS ? "pairs" : "time", g.conns, g.threads, g.seconds, pairs,
           (double)pairs / g.seconds, reqs, (double)reqs / g.seconds,
           loadgen_pct(hist, HIST_US + 1, reqs, 0.50), loadgen_pct(hist, HIST_US + 1, reqs, 0.90),
           loadgen_pct(hist, HIST_US + 1, reqs, 0.99), loadgen_pct(hist, HIST_US + 1, reqs, 1.0),
           errors, http_errors, io_errors, reconnects);
    for (int t = 0; t < g.threads; t++)
        for (int i = 0; i < w[t].ncodes; i++)
            printf("retCode=%ld count=%" PRIu64 " retMsg=\"%s\"\n", w[t].codes[i].code,
                   w[t].codes[i].n, w[t].codes[i].msg);
    return errors || io_errors ? 1 : 0;
}
