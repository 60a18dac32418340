/*
 * sim-fanout: N WebSocket clients on bybit-sim's public stream, the delivery lag of the book.
 *
 *   sim-fanout --port P [--host 127.0.0.1] [--clients 100] [--seconds 10] [--warmup 1]
 *              [--topic orderbook.50.BTCUSDT] [--path /v5/public/linear] [--server-pid PID]
 *
 * Raw sockets and a minimal client side of RFC 6455: the upgrade request, masked text frames
 * for the subscription and a {"op":"ping"} every 20 s (the server closes a public connection
 * idle for 10 minutes), unmasked server frames read (text; ping answered with a masked pong;
 * close ends the client). One epoll loop for every client.
 *
 * For every message of the topic (snapshots and deltas) that arrives in the measured window:
 * - lag = arrival (CLOCK_REALTIME, ns) - "ts" (the server's CLOCK_REALTIME in ms, taken when it
 *   built the message). ts is truncated to the ms, so this lag reads 0 to 1 ms high (0.5 ms on
 *   average); it includes the server's tick work, its fan-out to every client, the kernel and
 *   this reader.
 * - spread = arrival at this client - arrival of the same u at the first client (CLOCK_MONOTONIC
 *   ns, same process): the cost of the fan-out itself, at sub-us resolution.
 * - u continuity per client: a delta whose u is not the previous u + 1 is a gap (a snapshot
 *   resets the count).
 *
 * Output, one line: clients= connected= msgs= msgs_per_s= lag_p50_us= lag_p99_us=
 * lag_max_us= spread_p50_us= spread_p99_us= spread_max_us= gaps= snapshots= closed= bytes_per_s=
 * and, with --server-pid (the server on this machine), server_cpu_pct= (its user + system CPU
 * time over the measured window, /proc/PID/stat) and server_cpu_us_per_msg= (that time over the
 * messages delivered to all clients): what the fan-out costs the server.
 * Exit status 1 if a client failed to connect, was closed, or saw a gap.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define HIST_US 1000000 /* 1 us buckets up to 1 s, then one overflow bucket */
#define RBUF    (256 * 1024)
#define URING   4096 /* first arrival of the last u values */

typedef struct client {
    int fd;
    int upgraded;
    int closed;
    unsigned char *rb;
    size_t rlen;
    uint64_t last_u;
    int have_u;
} client;

static struct {
    const char *host, *path, *topic;
    int port, nclients, server_pid;
    double seconds, warmup;
    struct sockaddr_in sa;
} g;

static uint64_t *lag_hist, *spread_hist;
static uint64_t nlag, nspread, msgs, gaps, snapshots, closed, bytes, lag_neg;
static struct {
    uint64_t u;
    int64_t first_ns;
} uring[URING];

static int64_t clk_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Writes a masked client frame (opcode op) with payload p. */
static int send_frame(int fd, int op, const char *p, size_t n)
{
    unsigned char f[1024];
    size_t h = 0;
    if (n > sizeof f - 14)
        return -1;
    f[h++] = (unsigned char)(0x80 | op);
    if (n < 126)
        f[h++] = (unsigned char)(0x80 | n);
    else {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    }
    unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = (unsigned char)p[i] ^ mask[i & 3];
    return write(fd, f, h + n) == (ssize_t)(h + n) ? 0 : -1;
}

static void hist_add(uint64_t *h, int64_t us)
{
    h[us < 0 ? 0 : us < HIST_US ? us : HIST_US]++;
}

static long long num_after(const char *m, size_t n, const char *key)
{
    const char *end = m + n;
    size_t kl = strlen(key);
    for (const char *p = m; p + kl < end; p++)
        if (*p == '"' && !memcmp(p, key, kl))
            return strtoll(p + kl, NULL, 10);
    return -1;
}

/* A text message of client c, arrived at (realtime, monotonic) ns. */
static void on_text(client *c, const char *m, size_t n, int64_t rt, int64_t mono, int counted)
{
    char want[80];
    int wl = snprintf(want, sizeof want, "{\"topic\":\"%s\"", g.topic);
    if (n < (size_t)wl || memcmp(m, want, (size_t)wl))
        return; /* the subscribe reply, a pong */
    /* the server writes topic, type, ts, data{..., u, seq}, cts in that order */
    int snapshot = n > (size_t)wl + 20 && !memcmp(m + wl, ",\"type\":\"snapshot\"", 18);
    long long ts = num_after(m, n, "\"ts\":");
    /* u is near the end: search the last 80 bytes */
    size_t off = n > 80 ? n - 80 : 0;
    long long u = num_after(m + off, n - off, "\"u\":");
    if (snapshot) {
        snapshots++;
    } else if (c->have_u && (uint64_t)u != c->last_u + 1) {
        gaps++;
    }
    c->last_u = (uint64_t)u;
    c->have_u = 1;
    int k = (int)((uint64_t)u % URING);
    if (uring[k].u != (uint64_t)u) {
        uring[k].u = (uint64_t)u;
        uring[k].first_ns = mono;
    }
    if (!counted)
        return;
    msgs++;
    bytes += n;
    int64_t lag = rt - (int64_t)ts * 1000000;
    if (lag < 0)
        lag_neg++;
    hist_add(lag_hist, lag / 1000);
    nlag++;
    hist_add(spread_hist, (mono - uring[k].first_ns) / 1000);
    nspread++;
}

/* Parses whole frames out of c->rb. -1 when the connection is to end. */
static int on_data(client *c, int64_t rt, int64_t mono, int counted)
{
    size_t pos = 0;
    if (!c->upgraded) {
        c->rb[c->rlen] = 0;
        char *e = strstr((char *)c->rb, "\r\n\r\n");
        if (!e)
            return c->rlen > 4096 ? -1 : 0;
        if (strncmp((char *)c->rb, "HTTP/1.1 101", 12))
            return -1;
        c->upgraded = 1;
        pos = (size_t)(e + 4 - (char *)c->rb);
        char sub[200];
        int n = snprintf(sub, sizeof sub,
                         "{\"req_id\":\"b\",\"op\":\"subscribe\",\"args\":[\"%s\"]}", g.topic);
        if (send_frame(c->fd, 1, sub, (size_t)n))
            return -1;
    }
    for (;;) {
        unsigned char *f = c->rb + pos;
        size_t avail = c->rlen - pos;
        if (avail < 2)
            break;
        int op = f[0] & 15;
        uint64_t len = f[1] & 127;
        size_t h = 2;
        if (f[1] & 0x80)
            return -1; /* servers do not mask */
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)f[2] << 8 | f[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            h = 10;
        }
        if (len > RBUF - 16)
            return -1;
        if (avail < h + len)
            break;
        const char *p = (const char *)f + h;
        if (op == 1 || op == 0)
            on_text(c, p, (size_t)len, rt, mono, counted);
        else if (op == 9)
            send_frame(c->fd, 10, p, (size_t)len);
        else if (op == 8)
            return -1;
        pos += h + (size_t)len;
    }
    memmove(c->rb, c->rb + pos, c->rlen - pos);
    c->rlen -= pos;
    return 0;
}

/* User + system CPU seconds of process pid (/proc/PID/stat fields 14 and 15); -1 if unknown. */
static double proc_cpu_s(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    p++;
    unsigned long long v[13];
    for (int i = 0; i < 13; i++) { /* fields 3 (state, skipped as 0) to 15 */
        while (*p == ' ')
            p++;
        char *e;
        v[i] = i ? strtoull(p, &e, 10) : 0;
        if (!i)
            for (e = p; *e && *e != ' '; e++)
                ;
        if (e == p)
            return -1;
        p = e;
    }
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(v[11] + v[12]) / (double)hz : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: sim-fanout --port P [--host 127.0.0.1] [--clients 100]\n"
                    "                  [--seconds 10] [--warmup 1] [--topic orderbook.50.BTCUSDT]\n"
                    "                  [--path /v5/public/linear] [--server-pid PID]\n");
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
    g.path = "/v5/public/linear";
    g.topic = "orderbook.50.BTCUSDT";
    g.nclients = 100;
    g.seconds = 10;
    g.warmup = 1;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--port"))
            g.port = (int)num_arg(v, 1, 65535);
        else if (!strcmp(a, "--host"))
            g.host = v;
        else if (!strcmp(a, "--clients"))
            g.nclients = (int)num_arg(v, 1, 10000);
        else if (!strcmp(a, "--seconds"))
            g.seconds = real_arg(v, 0.001, 7200);
        else if (!strcmp(a, "--warmup"))
            g.warmup = real_arg(v, 0, 600);
        else if (!strcmp(a, "--topic") && strlen(v) < 60)
            g.topic = v;
        else if (!strcmp(a, "--path"))
            g.path = v;
        else if (!strcmp(a, "--server-pid"))
            g.server_pid = (int)num_arg(v, 1, 1 << 22);
        else
            usage();
    }
    if (g.port <= 0 || g.port > 65535 || g.nclients < 1 || g.nclients > 10000 || g.seconds <= 0 ||
        g.seconds > 7200 || g.warmup < 0 || g.warmup > 600)
        usage();
    g.sa.sin_family = AF_INET;
    g.sa.sin_port = htons((uint16_t)g.port);
    if (inet_pton(AF_INET, g.host, &g.sa.sin_addr) != 1)
        usage();
    lag_hist = calloc(HIST_US + 1, sizeof(uint64_t));
    spread_hist = calloc(HIST_US + 1, sizeof(uint64_t));
    client *cl = calloc((size_t)g.nclients, sizeof *cl);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!lag_hist || !spread_hist || !cl || ep < 0)
        return 3;
    int connected = 0;
    for (int i = 0; i < g.nclients; i++) {
        client *c = &cl[i];
        c->rb = malloc(RBUF + 1);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char req[512];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         g.path, g.host, g.port);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c->rb || c->fd < 0 || connect(c->fd, (struct sockaddr *)&g.sa, sizeof g.sa) ||
            write(c->fd, req, (size_t)n) != n || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
            if (c->fd >= 0)
                close(c->fd);
            c->fd = -1;
            c->closed = 1;
            continue;
        }
        connected++;
    }
    int64_t t0 = clk_ns(CLOCK_MONOTONIC);
    int64_t t_measure = t0 + (int64_t)(g.warmup * 1e9);
    int64_t t_end = t_measure + (int64_t)(g.seconds * 1e9);
    int64_t next_ping = t0 + 20000000000LL;
    int live = connected;
    struct epoll_event evs[256];
    double cpu0 = -1, cpu1 = -1;
    int64_t cpu_t0 = 0;
    while (live > 0) {
        int64_t mono = clk_ns(CLOCK_MONOTONIC);
        if (mono >= t_end)
            break;
        if (g.server_pid && !cpu_t0 && mono >= t_measure) {
            cpu0 = proc_cpu_s(g.server_pid);
            cpu_t0 = mono;
        }
        if (mono >= next_ping) {
            static const char ping[] = "{\"req_id\":\"p\",\"op\":\"ping\"}";
            for (int i = 0; i < g.nclients; i++)
                if (!cl[i].closed && cl[i].upgraded)
                    send_frame(cl[i].fd, 1, ping, sizeof ping - 1);
            next_ping += 20000000000LL;
        }
        int n = epoll_wait(ep, evs, 256, 50);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            client *c = evs[i].data.ptr;
            if (c->closed)
                continue;
            ssize_t r = read(c->fd, c->rb + c->rlen, RBUF - c->rlen);
            int64_t rt = clk_ns(CLOCK_REALTIME), mn = clk_ns(CLOCK_MONOTONIC);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0 || (c->rlen += (size_t)r, on_data(c, rt, mn, mn >= t_measure) < 0)) {
                close(c->fd);
                c->closed = 1;
                closed++;
                live--;
            }
        }
    }
    double win = 0;
    if (g.server_pid && cpu_t0) {
        cpu1 = proc_cpu_s(g.server_pid);
        win = (double)(clk_ns(CLOCK_MONOTONIC) - cpu_t0) / 1e9;
    }
    printf("clients=%d connected=%d seconds=%.1f msgs=%" PRIu64 " msgs_per_s=%.0f"
           " lag_p50_us=%" PRIu64 " lag_p99_us=%" PRIu64 " lag_max_us=%" PRIu64
           " spread_p50_us=%" PRIu64 " spread_p99_us=%" PRIu64 " spread_max_us=%" PRIu64
           " gaps=%" PRIu64 " snapshots=%" PRIu64 " closed=%" PRIu64 " lag_negative=%" PRIu64
           " bytes_per_s=%.0f",
           g.nclients, connected, g.seconds, msgs, (double)msgs / g.seconds,
           loadgen_pct(lag_hist, HIST_US + 1, nlag, 0.5),
           loadgen_pct(lag_hist, HIST_US + 1, nlag, 0.99),
           loadgen_pct(lag_hist, HIST_US + 1, nlag, 1.0),
           loadgen_pct(spread_hist, HIST_US + 1, nspread, 0.5),
           loadgen_pct(spread_hist, HIST_US + 1, nspread, 0.99),
           loadgen_pct(spread_hist, HIST_US + 1, nspread, 1.0), gaps, snapshots, closed, lag_neg,
           (double)bytes / g.seconds);
    if (g.server_pid) {
        if (cpu0 < 0 || cpu1 < 0 || win <= 0)
            fprintf(stderr, "sim-fanout: cannot read the CPU time of pid %d\n", g.server_pid);
        else
            printf(" server_cpu_pct=%.1f server_cpu_us_per_msg=%.2f", 100 * (cpu1 - cpu0) / win,
                   msgs ? (cpu1 - cpu0) * 1e6 / (double)msgs : 0.0);
    }
    printf("\n");
    for (int i = 0; i < g.nclients; i++)
        if (cl[i].fd >= 0 && !cl[i].closed)
            close(cl[i].fd);
    return connected < g.nclients || closed || gaps ? 1 : 0;
}
