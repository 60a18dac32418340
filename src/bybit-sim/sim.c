/*
 * sim: the simulator without sockets (see sim.h). Connections are a doubly linked list;
 * public topics are a small fixed table (two symbols × five streams) with a subscriber count
 * each, so the exchange only computes the feeds someone reads; each connection has a bit set
 * of the topics it holds. Private events go to the authenticated private connections of the
 * account that hold the topic.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bybitsign.h"
#include "promtext.h"
#include "ratelimit.h"
#include "simerr.h"

#define SIM_MAX_PUBLIC 32 /* public topics in the table */

enum conn_kind { K_PUBLIC, K_PRIVATE, K_TRADE };

/* private topic bits */
enum { P_ORDER = 1, P_EXEC = 2, P_POSITION = 4, P_WALLET = 8, P_DCP = 16 };

static const struct {
    const char *name;
    unsigned bit;
} private_topics[] = {
    {"order", P_ORDER},   {"execution", P_EXEC}, {"position", P_POSITION},
    {"wallet", P_WALLET}, {"dcp.future", P_DCP},
};

struct sim_conn {
    sim_conn *prev, *next;
    void *h;
    enum conn_kind kind;
    char conn_id[40];
    char key[65]; /* authenticated account, "" before auth */
    uint32_t pub; /* public topic bits */
    unsigned priv;
    int64_t opened_ms, last_rx_ms, idle_ms;
    int closing;
    unsigned ntopics;
    char reqids[SIM_MAX_REQIDS][40]; /* /v5/trade: reqIds seen (a ring) */
    unsigned nreq;
};

struct sim {
    sim_config cfg;
    sim_io io;
    faults *f;
    exch *x;
    rest_ctx rest;
    ratelimit *limits, *iplimits;
    sim_conn *conns;
    unsigned nconns;
    uint64_t conn_seq, msg_seq;
    char pub_names[SIM_MAX_PUBLIC][40];
    unsigned pub_subs[SIM_MAX_PUBLIC];
    unsigned npub;
    int stalled;
    int64_t now_ms; /* the clock of the call in progress (for fault draws in callbacks) */
    /* counters */
    uint64_t ws_opened, ws_refused, ws_closed_slow, ws_dropped, ws_reset, ws_idle_closed;
    uint64_t ws_msgs_in, ws_msgs_out, ws_bytes_out, ws_malformed_sent, ws_bad_in;
    uint64_t http_requests;
    int64_t started_ms;
};

/* ---- helpers ------------------------------------------------------------------------- */

static int pub_index(const sim *s, const char *topic)
{
    for (unsigned i = 0; i < s->npub; i++)
        if (!strcmp(s->pub_names[i], topic))
            return (int)i;
    return -1;
}

/* The bits of the orderbook topics in the public table. */
static uint32_t book_bits(const sim *s)
{
    uint32_t b = 0;
    for (unsigned i = 0; i < s->npub; i++)
        if (!strncmp(s->pub_names[i], "orderbook.", 10))
            b |= 1u << i;
    return b;
}

/* Sends to one connection, unless stalled; a full queue closes it (a slow consumer). */
static void conn_send(sim *s, sim_conn *c, const char *msg, size_t len, int64_t now)
{
    if (c->closing || s->stalled)
        return;
    if (s->f && faults_hit(s->f, FAULT_MALFORMED, now, NULL)) {
        len = len / 2; /* truncated JSON */
        s->ws_malformed_sent++;
    }
    if (s->io.send(c->h, msg, len)) {
        s->ws_closed_slow++;
        c->closing = 1;
        s->io.close(c->h, 1008, "slow consumer: send queue full");
        return;
    }
    s->ws_msgs_out++;
    s->ws_bytes_out += len;
}

static void conn_send_json(sim *s, sim_conn *c, cJSON *j, int64_t now)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (t) {
        conn_send(s, c, t, strlen(t), now);
        free(t);
    }
}

/* ---- exchange callbacks ---------------------------------------------------------------- */

static void on_public(void *ud, const char *topic, const char *msg, size_t len)
{
    sim *s = ud;
    int i = pub_index(s, topic);
    if (i < 0 || !s->pub_subs[i])
        return;
    int64_t now = s->now_ms; /* only used for fault draws */
    for (sim_conn *c = s->conns; c; c = c->next)
        if (c->kind == K_PUBLIC && (c->pub >> i & 1))
            conn_send(s, c, msg, len, now);
}

/* The bit of a private topic, 0 for an unknown one. */
static unsigned private_bit(const char *topic)
{
    for (size_t i = 0; i < sizeof private_topics / sizeof private_topics[0]; i++)
        if (!strcmp(private_topics[i].name, topic))
            return private_topics[i].bit;
    return 0;
}

static void on_private(void *ud, const char *key, const char *topic, cJSON *data, int64_t now)
{
    sim *s = ud;
    unsigned bit = private_bit(topic);
    char *text = NULL;
    for (sim_conn *c = s->conns; c; c = c->next) {
        if (c->kind != K_PRIVATE || !(c->priv & bit) || strcmp(c->key, key))
            continue;
        if (!text) {
            cJSON *m = cJSON_CreateObject();
            char id[48];
            snprintf(id, sizeof id, "%" PRIu64 "%s", ++s->msg_seq, "-sim");
            cJSON_AddStringToObject(m, "id", id);
            cJSON_AddStringToObject(m, "topic", topic);
            cJSON_AddNumberToObject(m, "creationTime", (double)now);
            cJSON_AddItemToObject(m, "data", data);
            data = NULL;
            text = cJSON_PrintUnformatted(m);
            cJSON_Delete(m);
            if (!text)
                break;
        }
        conn_send(s, c, text, strlen(text), now);
    }
    free(text);
    cJSON_Delete(data);
}

static int private_wanted(void *ud, const char *key, const char *topic)
{
    sim *s = ud;
    unsigned bit = private_bit(topic);
    for (sim_conn *c = s->conns; c; c = c->next)
        if (c->kind == K_PRIVATE && (c->priv & bit) && !strcmp(c->key, key))
            return 1;
    return 0;
}

static int wanted(void *ud, const char *topic)
{
    sim *s = ud;
    int i = pub_index(s, topic);
    return i >= 0 && s->pub_subs[i] > 0;
}

/* ---- life ------------------------------------------------------------------------------ */

sim *sim_new(const sim_config *cfg, faults *f, const sim_io *io, int64_t now_ms, char *err,
             size_t errlen)
{
    sim *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->io = *io;
    s->f = f;
    s->started_ms = s->now_ms = now_ms;
    exch_opts eo = cfg->market;
    eo.on_public = on_public;
    eo.on_private = on_private;
    eo.wanted = wanted;
    eo.private_wanted = private_wanted;
    eo.ud = s;
    s->x = exch_new(&eo, now_ms);
    s->limits = ratelimit_new(1000);
    s->iplimits = ratelimit_new(5000);
    if (!s->x || !s->limits || !s->iplimits) {
        snprintf(err, errlen, "out of memory");
        sim_free(s);
        return NULL;
    }
    static const char *const syms[] = {"BTCUSDT", "ETHUSDT"};
    static const char *const streams[] = {"orderbook.1.", "orderbook.50.", "orderbook.200.",
                                          "orderbook.500.", "publicTrade."};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 5; j++) {
            snprintf(s->pub_names[s->npub], sizeof s->pub_names[0], "%s%s", streams[j], syms[i]);
            if (exch_topic_valid(s->x, s->pub_names[s->npub]))
                s->npub++;
        }
    s->rest.x = s->x;
    s->rest.f = f;
    s->rest.limits = s->limits;
    s->rest.iplimits = s->iplimits;
    s->rest.order_limit_per_s = cfg->order_limit_per_s;
    s->rest.query_limit_per_s = cfg->query_limit_per_s;
    s->rest.ip_limit_per_5s = cfg->ip_limit_per_5s;
    s->rest.ip_ban_ms = cfg->ip_ban_ms;
    return s;
}

void sim_free(sim *s)
{
    if (!s)
        return;
    while (s->conns) {
        sim_conn *c = s->conns;
        s->conns = c->next;
        free(c);
    }
    exch_free(s->x);
    ratelimit_free(s->limits);
    ratelimit_free(s->iplimits);
    free(s);
}

int sim_add_account(sim *s, const char *key, const char *secret, double usdt)
{
    return exch_account_add(s->x, key, secret, usdt);
}

exch *sim_exchange(sim *s)
{
    return s->x;
}

/* ---- ticks ------------------------------------------------------------------------------ */

static void close_all(sim *s, int code, const char *reason, int reset)
{
    for (sim_conn *c = s->conns; c; c = c->next) {
        if (c->closing)
            continue;
        c->closing = 1;
        if (reset) {
            s->ws_reset++;
            s->io.reset(c->h);
        } else {
            s->ws_dropped++;
            s->io.close(c->h, code, reason);
        }
    }
}

void sim_tick(sim *s, int64_t now_ms)
{
    fault_params p;
    s->now_ms = now_ms;
    if (s->f) {
        if (faults_edge(s->f, FAULT_WS_DROP, now_ms, &p))
            close_all(s, p.code >= 1000 && p.code <= 4999 ? p.code : 1001, "fault: ws_drop", 0);
        if (faults_edge(s->f, FAULT_WS_RESET, now_ms, &p))
            close_all(s, 0, NULL, 1);
        /* the start of a state fault is an event too (faults.h): it draws its probability,
         * starts an unscheduled one's window and counts it as fired */
        (void)faults_edge(s->f, FAULT_WS_STALL, now_ms, NULL);
        (void)faults_edge(s->f, FAULT_HTTP_403_BAN, now_ms, NULL);
        (void)faults_edge(s->f, FAULT_MAINTENANCE, now_ms, NULL);
        (void)faults_edge(s->f, FAULT_CLOCK_SKEW, now_ms, NULL);
        if (faults_active(s->f, FAULT_MAINTENANCE, now_ms, &p))
            close_all(s, 1001, "service under maintenance", 0);
        if (faults_edge(s->f, FAULT_BOOK_RESET, now_ms, &p))
            exch_book_reset(s->x);
        s->stalled = faults_active(s->f, FAULT_WS_STALL, now_ms, &p);
    }
    exch_tick(s->x, now_ms);
    /* idle connections: nothing from the client for their idle time */
    for (sim_conn *c = s->conns; c; c = c->next)
        if (!c->closing && now_ms - c->last_rx_ms > c->idle_ms) {
            c->closing = 1;
            s->ws_idle_closed++;
            s->io.close(c->h, 1000, "idle timeout");
        }
}

/* ---- WebSocket ---------------------------------------------------------------------------- */

/* "30s", "1m", "600s" (Bybit's max_active_time) in ms; -1 when malformed. */
static int64_t parse_active_time(const char *v)
{
    char *e;
    long n = strtol(v, &e, 10);
    if (e == v || n <= 0)
        return -1;
    if (!strcmp(e, "s"))
        return n * 1000L;
    if (!strcmp(e, "m"))
        return n * 60000L;
    return -1;
}

sim_conn *sim_ws_open(sim *s, void *h, const char *path, const char *query, int64_t now_ms)
{
    enum conn_kind kind;
    if (!strcmp(path, "/v5/public/linear"))
        kind = K_PUBLIC;
    else if (!strcmp(path, "/v5/private"))
        kind = K_PRIVATE;
    else if (!strcmp(path, "/v5/trade"))
        kind = K_TRADE;
    else {
        s->ws_refused++;
        return NULL;
    }
    fault_params p;
    if (s->nconns >= s->cfg.ws_max_conns ||
        (s->f && faults_active(s->f, FAULT_MAINTENANCE, now_ms, &p))) {
        s->ws_refused++;
        return NULL;
    }
    int64_t idle = s->cfg.ws_idle_ms;
    const char *mat = query ? strstr(query, "max_active_time=") : NULL;
    if (mat && kind != K_PUBLIC) {
        char v[16];
        size_t n = strcspn(mat + 16, "&");
        snprintf(v, sizeof v, "%.*s", (int)(n < 15 ? n : 15), mat + 16);
        int64_t t = parse_active_time(v);
        if (t < 30000 || t > 600000) {
            s->ws_refused++;
            return NULL;
        }
        idle = t;
    }
    sim_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->kind = kind;
    c->opened_ms = c->last_rx_ms = now_ms;
    c->idle_ms = idle;
    uint64_t id = ++s->conn_seq;
    snprintf(c->conn_id, sizeof c->conn_id, "sim%08" PRIx64 "-%04" PRIx64 "-%c", id,
             (uint64_t)(now_ms & 0xffff),
             kind == K_PUBLIC    ? 'p'
             : kind == K_PRIVATE ? 'v'
                                 : 't');
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->ws_opened++;
    return c;
}

void sim_ws_close(sim *s, sim_conn *c, int64_t now_ms)
{
    if (!c)
        return;
    for (unsigned i = 0; i < s->npub; i++)
        if (c->pub >> i & 1)
            s->pub_subs[i]--;
    if (c->priv & P_DCP && c->key[0])
        exch_dcp_conn(s->x, c->key, -1, now_ms);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c);
}

/* {"success":…,"ret_msg":…,"conn_id":…,"req_id":…,"op":…} */
static void reply_op(sim *s, sim_conn *c, int success, const char *msg, const cJSON *req_id,
                     const char *op, int64_t now)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "success", success);
    cJSON_AddStringToObject(r, "ret_msg", msg);
    cJSON_AddStringToObject(r, "conn_id", c->conn_id);
    if (req_id)
        cJSON_AddItemToObject(r, "req_id", cJSON_Duplicate(req_id, 1));
    cJSON_AddStringToObject(r, "op", op);
    conn_send_json(s, c, r, now);
}

/* A refused op: {"success":false,"ret_msg":<w's text>, ...}. */
static void refuse(sim *s, sim_conn *c, simws w, const cJSON *req_id, const char *op, int64_t now)
{
    reply_op(s, c, 0, simws_msg(w), req_id, op, now);
}

static void ws_ping(sim *s, sim_conn *c, const cJSON *req_id, int64_t now)
{
    if (c->kind == K_PUBLIC) {
        reply_op(s, c, 1, "pong", req_id, "ping", now);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    if (req_id)
        cJSON_AddItemToObject(r, "req_id", cJSON_Duplicate(req_id, 1));
    cJSON_AddStringToObject(r, "op", "pong");
    cJSON *args = cJSON_AddArrayToObject(r, "args");
    char t[32];
    snprintf(t, sizeof t, "%" PRId64, rest_server_time(&s->rest, now));
    cJSON_AddItemToArray(args, cJSON_CreateString(t));
    cJSON_AddStringToObject(r, "conn_id", c->conn_id);
    conn_send_json(s, c, r, now);
}

static void ws_auth(sim *s, sim_conn *c, const cJSON *m, const cJSON *req_id, int64_t now)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(m, "args");
    const cJSON *k = cJSON_GetArrayItem(args, 0), *e = cJSON_GetArrayItem(args, 1),
                *sig = cJSON_GetArrayItem(args, 2);
    if (c->key[0]) {
        refuse(s, c, SIMWS_REPEAT_AUTH, req_id, "auth", now);
        return;
    }
    if (!cJSON_IsString(k) || !cJSON_IsString(sig) || !(cJSON_IsNumber(e) || cJSON_IsString(e))) {
        refuse(s, c, SIMWS_PARAMS, req_id, "auth", now);
        return;
    }
    /* a number far out of range (1e300) must not reach a cast to int64_t: that is undefined */
    int64_t expires = cJSON_IsNumber(e) ? (isfinite(e->valuedouble) && e->valuedouble >= 0 &&
                                                   e->valuedouble < 1e15
                                               ? (int64_t)e->valuedouble
                                               : -1)
                                        : (int64_t)rest_digits(e->valuestring, 15);
    const char *secret = exch_account_secret(s->x, k->valuestring);
    char want[BYBITSIGN_HEX];
    if (!secret) {
        refuse(s, c, SIMWS_BAD_KEY, req_id, "auth", now);
        return;
    }
    if (expires <= rest_server_time(&s->rest, now)) {
        refuse(s, c, SIMWS_EXPIRED, req_id, "auth", now);
        return;
    }
    if (bybitsign_ws(secret, expires, want) || !bybitsign_equal(want, sig->valuestring)) {
        refuse(s, c, SIMWS_BAD_SIGN, req_id, "auth", now);
        return;
    }
    snprintf(c->key, sizeof c->key, "%s", k->valuestring);
    reply_op(s, c, 1, "", req_id, "auth", now);
}

static void ws_subscribe(sim *s, sim_conn *c, const cJSON *m, const cJSON *req_id, int sub,
                         int64_t now)
{
    const char *op = sub ? "subscribe" : "unsubscribe";
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(m, "args"), *a;
    if (c->kind == K_TRADE || !cJSON_IsArray(args) || cJSON_GetArraySize(args) < 1) {
        refuse(s, c, SIMWS_PARAMS, req_id, op, now);
        return;
    }
    if (c->kind == K_PRIVATE && !c->key[0]) {
        refuse(s, c, SIMWS_NOT_AUTHORIZED, req_id, op, now);
        return;
    }
    /* validate all first: a request with one bad topic changes nothing */
    uint32_t pub = 0;
    unsigned priv = 0;
    cJSON_ArrayForEach(a, args)
    {
        char msg[160];
        int ok = 0;
        if (cJSON_IsString(a)) {
            if (c->kind == K_PUBLIC) {
                int i = pub_index(s, a->valuestring);
                if (i >= 0) {
                    pub |= 1u << i;
                    ok = 1;
                }
            } else if (private_bit(a->valuestring)) {
                priv |= private_bit(a->valuestring);
                ok = 1;
            }
        }
        if (!ok) {
            snprintf(msg, sizeof msg, "%s%.80s", simws_msg(SIMWS_NO_HANDLER),
                     cJSON_IsString(a) ? a->valuestring : "(not a string)");
            reply_op(s, c, 0, msg, req_id, op, now);
            return;
        }
    }
    if (sub) {
        uint32_t newpub = pub & ~c->pub;
        unsigned newpriv = priv & ~c->priv;
        unsigned add = (unsigned)__builtin_popcount(newpub) + (unsigned)__builtin_popcount(newpriv);
        if (c->ntopics + add > s->cfg.ws_max_topics) {
            refuse(s, c, SIMWS_TOO_MANY_TOPICS, req_id, op, now);
            return;
        }
        if (pub & c->pub || priv & c->priv) {
            refuse(s, c, SIMWS_SUBSCRIBED, req_id, op, now);
            return;
        }
        c->ntopics += add;
        c->priv |= newpriv;
        /* the book topics get their bit once their snapshot went out below: a stream's first
         * snapshot is also published (on_public) and would reach c twice */
        c->pub |= newpub & ~book_bits(s);
        for (unsigned i = 0; i < s->npub; i++)
            if (newpub >> i & 1)
                s->pub_subs[i]++;
        if (newpriv & P_DCP)
            exch_dcp_conn(s->x, c->key, +1, now);
        reply_op(s, c, 1, "", req_id, op, now);
        /* a snapshot first for every new book topic */
        for (unsigned i = 0; i < s->npub; i++)
            if (newpub >> i & 1 && !strncmp(s->pub_names[i], "orderbook.", 10)) {
                char *snap = exch_book_snapshot_msg(s->x, s->pub_names[i], now);
                if (snap) {
                    conn_send(s, c, snap, strlen(snap), now);
                    free(snap);
                }
                c->pub |= 1u << i;
            }
    } else {
        uint32_t gone = pub & c->pub;
        unsigned gonep = priv & c->priv;
        for (unsigned i = 0; i < s->npub; i++)
            if (gone >> i & 1)
                s->pub_subs[i]--;
        if (gonep & P_DCP)
            exch_dcp_conn(s->x, c->key, -1, now);
        c->pub &= ~gone;
        c->priv &= ~gonep;
        c->ntopics -= (unsigned)__builtin_popcount(gone) + (unsigned)__builtin_popcount(gonep);
        reply_op(s, c, 1, "", req_id, op, now);
    }
}

/* A string field of o, or NULL. */
static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* /v5/trade: order.create / order.amend / order.cancel, replied in Bybit's shape. */
static void ws_trade(sim *s, sim_conn *c, const cJSON *m, const char *op, int64_t now)
{
    const cJSON *reqid = cJSON_GetObjectItemCaseSensitive(m, "reqId");
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(m, "header");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(m, "args");
    const cJSON *a0 = cJSON_GetArrayItem(args, 0);
    int code = 0;
    char msg[200] = "";
    exch_ids ids = {{0}, {0}};
    ratelimit_state st = {0, 0, 0};
    const char *rid = cJSON_IsString(reqid) ? reqid->valuestring : "";
    if (!c->key[0]) {
        code = simerr_set(msg, sizeof msg, SIMERR_NOT_AUTHORIZED);
    } else if (*rid) {
        for (unsigned i = 0; i < c->nreq && i < SIM_MAX_REQIDS; i++)
            if (!strcmp(c->reqids[i], rid))
                code = simerr_set(msg, sizeof msg, SIMERR_DUP_REQID);
        if (!code) {
            snprintf(c->reqids[c->nreq % SIM_MAX_REQIDS], sizeof c->reqids[0], "%.39s", rid);
            c->nreq++;
        }
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(hdr, "X-BAPI-TIMESTAMP");
    const cJSON *rw = cJSON_GetObjectItemCaseSensitive(hdr, "X-BAPI-RECV-WINDOW");
    if (!code && cJSON_IsString(ts)) {
        long long t = rest_digits(ts->valuestring, 15),
                  w = cJSON_IsString(rw) ? rest_digits(rw->valuestring, 15) : 5000;
        int64_t srv = rest_server_time(&s->rest, now);
        if (t < 0 || w < 0)
            code = simerr_set(msg, sizeof msg, SIMERR_WS_TIMESTAMP);
        else if (w < 1 || w > REST_RECV_WINDOW_MAX)
            code = simerr_set(msg, sizeof msg, SIMERR_RECV_WINDOW);
        else if (!(srv - w <= t && t < srv + 1000))
            code = simerr_set(msg, sizeof msg, SIMERR_WS_TIMESTAMP);
    }
    const char *path = !strcmp(op, "order.create")   ? "/v5/order/create"
                       : !strcmp(op, "order.amend")  ? "/v5/order/amend"
                       : !strcmp(op, "order.cancel") ? "/v5/order/cancel"
                                                     : NULL;
    if (!code && !path) {
        code = simerr_code(SIMERR_WS_OP);
        snprintf(msg, sizeof msg, "%s %.60s", simerr_msg(SIMERR_WS_OP), op);
    }
    if (!code && !cJSON_IsObject(a0))
        code = simerr_set(msg, sizeof msg, SIMERR_WS_ARGS);
    if (!code) {
        char key[RATELIMIT_KEY];
        snprintf(key, sizeof key, "%.64s %s", c->key, path);
        if (!ratelimit_take(s->limits, key, s->cfg.order_limit_per_s, now, &st))
            code = simerr_set(msg, sizeof msg, SIMERR_RATE);
    }
    if (!code) {
        /* the single arg holds what a REST body holds */
        const char *cat = jstr(a0, "category"), *symbol = jstr(a0, "symbol");
        const char *order_id = jstr(a0, "orderId"), *link = jstr(a0, "orderLinkId");
        if (!cat || strcmp(cat, "linear")) {
            code = simerr_set(msg, sizeof msg, SIMERR_CATEGORY);
        } else if (path[10] == 'c' && path[11] == 'r') { /* create */
            char rb[7][64];
            exch_order_req r;
            code = rest_order_req(a0, &r, rb, msg, sizeof msg);
            if (!code)
                code = exch_create(s->x, c->key, &r, now, &ids, msg, sizeof msg);
        } else if (path[10] == 'a') {
            code = symbol ? exch_amend(s->x, c->key, symbol, order_id, link, jstr(a0, "qty"),
                                       jstr(a0, "price"), now, &ids, msg, sizeof msg)
                          : simerr_set(msg, sizeof msg, SIMERR_SYMBOL);
        } else {
            code = symbol ? exch_cancel(s->x, c->key, symbol, order_id, link, now, &ids, msg,
                                        sizeof msg)
                          : simerr_set(msg, sizeof msg, SIMERR_SYMBOL);
        }
    }
    if (!code)
        simerr_set(msg, sizeof msg, SIMERR_OK);
    else if (!msg[0]) /* the exchange writes its text; a generic one should it not */
        snprintf(msg, sizeof msg, "%s", simerr_msg_or(code, NULL));
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "reqId", rid);
    cJSON_AddNumberToObject(r, "retCode", code);
    cJSON_AddStringToObject(r, "retMsg", msg);
    cJSON_AddStringToObject(r, "op", op);
    cJSON *d = cJSON_AddObjectToObject(r, "data");
    if (!code) {
        cJSON_AddStringToObject(d, "orderId", ids.order_id);
        cJSON_AddStringToObject(d, "orderLinkId", ids.link_id);
    }
    cJSON_AddObjectToObject(r, "retExtInfo");
    cJSON *h = cJSON_AddObjectToObject(r, "header");
    char v[32];
    snprintf(v, sizeof v, "%u", st.limit ? st.limit : s->cfg.order_limit_per_s);
    cJSON_AddStringToObject(h, "X-Bapi-Limit", v);
    snprintf(v, sizeof v, "%u", st.remaining);
    cJSON_AddStringToObject(h, "X-Bapi-Limit-Status", v);
    snprintf(v, sizeof v, "%" PRId64, st.reset_ms);
    cJSON_AddStringToObject(h, "X-Bapi-Limit-Reset-Timestamp", v);
    snprintf(v, sizeof v, "%" PRId64, rest_server_time(&s->rest, now));
    cJSON_AddStringToObject(h, "Timenow", v);
    cJSON_AddStringToObject(r, "connId", c->conn_id);
    conn_send_json(s, c, r, now);
}

void sim_ws_message(sim *s, sim_conn *c, const char *msg, size_t len, int64_t now_ms)
{
    s->ws_msgs_in++;
    s->now_ms = now_ms;
    c->last_rx_ms = now_ms;
    if (c->closing || s->stalled) /* a stalled server answers nothing, pings included */
        return;
    /* a NUL in a string would be cut short by cJSON: refused as a parameter error */
    int nul = rest_json_nul(msg, len);
    cJSON *m = nul ? NULL : cJSON_ParseWithLength(msg, len);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(m, "op");
    const cJSON *req_id = cJSON_GetObjectItemCaseSensitive(m, "req_id");
    if (!cJSON_IsObject(m) || !cJSON_IsString(op)) {
        s->ws_bad_in++;
        if (c->kind == K_TRADE) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "reqId", "");
            simerr e = nul ? SIMERR_NUL : SIMERR_WS_NOT_JSON;
            cJSON_AddNumberToObject(r, "retCode", simerr_code(e));
            cJSON_AddStringToObject(r, "retMsg", simerr_msg(e));
            cJSON_AddStringToObject(r, "op", "");
            cJSON_AddStringToObject(r, "connId", c->conn_id);
            conn_send_json(s, c, r, now_ms);
        } else {
            refuse(s, c, SIMWS_NOT_JSON, NULL, "", now_ms);
        }
        cJSON_Delete(m);
        return;
    }
    const char *o = op->valuestring;
    if (!strcmp(o, "ping"))
        ws_ping(s, c, req_id, now_ms);
    else if (!strcmp(o, "auth") && c->kind != K_PUBLIC)
        ws_auth(s, c, m, req_id, now_ms);
    else if (!strcmp(o, "subscribe") || !strcmp(o, "unsubscribe"))
        ws_subscribe(s, c, m, req_id, o[0] == 's', now_ms);
    else if (c->kind == K_TRADE)
        ws_trade(s, c, m, o, now_ms);
    else {
        char t[120];
        snprintf(t, sizeof t, "%s %.60s", simws_msg(SIMWS_UNKNOWN_OP), o);
        s->ws_bad_in++;
        reply_op(s, c, 0, t, req_id, o, now_ms);
    }
    cJSON_Delete(m);
}

/* ---- /sim/..., /metrics ---------------------------------------------------------------------- */

static void json_reply(rest_out *out, int status, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    out->status = status;
    sbuf_reset(&out->body);
    if (!t || sbuf_adds(&out->body, t)) {
        char b[64];
        out->status = simhttp_body(SIMHTTP_CTL_TOO_LARGE, 0, NULL, b, sizeof b);
        sbuf_reset(&out->body);
        (void)sbuf_adds(&out->body, b);
    }
    free(t);
}

/* A /sim/ endpoint's error ({"error":...} with its status); detail: the text of an entry that
 * has none (SIMHTTP_CTL_BAD_FAULTS). */
static void error_reply(rest_out *out, simhttp h, const char *detail)
{
    char b[512];
    out->status = simhttp_body(h, 0, detail, b, sizeof b);
    sbuf_reset(&out->body);
    (void)sbuf_adds(&out->body, b);
}

static cJSON *stats_json(sim *s, int64_t now)
{
    exch_stats es;
    exch_get_stats(s->x, &es);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "uptime_s", (double)(now - s->started_ms) / 1000.0);
    cJSON *w = cJSON_AddObjectToObject(j, "connections");
    unsigned n[3] = {0, 0, 0};
    for (sim_conn *c = s->conns; c; c = c->next)
        n[c->kind]++;
    cJSON_AddNumberToObject(w, "public", n[K_PUBLIC]);
    cJSON_AddNumberToObject(w, "private", n[K_PRIVATE]);
    cJSON_AddNumberToObject(w, "trade", n[K_TRADE]);
    cJSON_AddNumberToObject(w, "opened_total", (double)s->ws_opened);
    cJSON_AddNumberToObject(w, "refused_total", (double)s->ws_refused);
    cJSON_AddNumberToObject(w, "dropped_total", (double)s->ws_dropped);
    cJSON_AddNumberToObject(w, "reset_total", (double)s->ws_reset);
    cJSON_AddNumberToObject(w, "idle_closed_total", (double)s->ws_idle_closed);
    cJSON_AddNumberToObject(w, "slow_closed_total", (double)s->ws_closed_slow);
    cJSON *m = cJSON_AddObjectToObject(j, "messages");
    cJSON_AddNumberToObject(m, "received", (double)s->ws_msgs_in);
    cJSON_AddNumberToObject(m, "sent", (double)s->ws_msgs_out);
    cJSON_AddNumberToObject(m, "bytes_sent", (double)s->ws_bytes_out);
    cJSON_AddNumberToObject(m, "malformed_sent", (double)s->ws_malformed_sent);
    cJSON_AddNumberToObject(m, "bad_received", (double)s->ws_bad_in);
    cJSON *r = cJSON_AddObjectToObject(j, "rest");
    cJSON_AddNumberToObject(r, "requests", (double)s->rest.requests);
    cJSON_AddNumberToObject(r, "signed_ok", (double)s->rest.signed_ok);
    cJSON_AddNumberToObject(r, "signature_errors", (double)s->rest.sig_errors);
    cJSON_AddNumberToObject(r, "rate_limited", (double)s->rest.limited);
    cJSON_AddNumberToObject(r, "faulted", (double)s->rest.faulted);
    cJSON_AddNumberToObject(r, "not_found", (double)s->rest.not_found);
    cJSON *o = cJSON_AddObjectToObject(j, "orders");
    cJSON_AddNumberToObject(o, "open", es.open_orders);
    cJSON_AddNumberToObject(o, "created", (double)es.orders_created);
    cJSON_AddNumberToObject(o, "cancelled", (double)es.orders_cancelled);
    cJSON_AddNumberToObject(o, "rejected", (double)es.orders_rejected);
    cJSON_AddNumberToObject(o, "filled", (double)es.orders_filled);
    cJSON_AddNumberToObject(o, "fills", (double)es.fills);
    /* a status change the lifecycle table refused: a bug of the simulator when not 0 */
    cJSON_AddNumberToObject(o, "refused_transitions", (double)es.refused_transitions);
    cJSON_AddNumberToObject(j, "public_trades", (double)es.public_trades);
    cJSON_AddNumberToObject(j, "book_messages", (double)es.book_messages);
    cJSON_AddNumberToObject(j, "accounts", es.accounts);
    cJSON *fj = cJSON_AddObjectToObject(j, "faults_fired");
    if (s->f)
        for (int k = 0; k < FAULT__COUNT; k++)
            cJSON_AddNumberToObject(fj, faults_name((fault_kind)k),
                                    (double)faults_fired(s->f, (fault_kind)k));
    return j;
}

static void metrics(sim *s, int64_t now, rest_out *out)
{
    sbuf *b = &out->body;
    exch_stats es;
    exch_get_stats(s->x, &es);
    unsigned n[3] = {0, 0, 0};
    for (sim_conn *c = s->conns; c; c = c->next)
        n[c->kind]++;
    static const char *const kinds[] = {"public", "private", "trade"};
    promtext_header(b, "bybit_sim_ws_connections", "gauge", "open WebSocket connections");
    for (int k = 0; k < 3; k++) {
        const char *l[] = {"kind", kinds[k], NULL};
        promtext_sample(b, "bybit_sim_ws_connections", l, n[k]);
    }
    struct {
        const char *name, *type, *help;
        double v;
    } m[] = {
        {"bybit_sim_uptime_seconds", "gauge", "seconds since start",
         (double)(now - s->started_ms) / 1e3},
        {"bybit_sim_ws_opened_total", "counter", "WebSocket connections accepted",
         (double)s->ws_opened},
        {"bybit_sim_ws_refused_total", "counter", "WebSocket upgrades refused",
         (double)s->ws_refused},
        {"bybit_sim_ws_dropped_total", "counter", "connections closed by a fault or maintenance",
         (double)s->ws_dropped},
        {"bybit_sim_ws_reset_total", "counter", "connections reset by a fault",
         (double)s->ws_reset},
        {"bybit_sim_ws_slow_closed_total", "counter", "connections closed for a full send queue",
         (double)s->ws_closed_slow},
        {"bybit_sim_ws_messages_received_total", "counter", "WebSocket messages received",
         (double)s->ws_msgs_in},
        {"bybit_sim_ws_messages_sent_total", "counter", "WebSocket messages sent",
         (double)s->ws_msgs_out},
        {"bybit_sim_ws_sent_bytes_total", "counter", "WebSocket payload bytes sent",
         (double)s->ws_bytes_out},
        {"bybit_sim_rest_requests_total", "counter", "REST requests", (double)s->rest.requests},
        {"bybit_sim_rest_signature_errors_total", "counter",
         "signed requests refused (10002-10004)", (double)s->rest.sig_errors},
        {"bybit_sim_rest_rate_limited_total", "counter", "requests over a rate limit",
         (double)s->rest.limited},
        {"bybit_sim_orders_open", "gauge", "open orders of all accounts", es.open_orders},
        {"bybit_sim_orders_created_total", "counter", "orders acknowledged",
         (double)es.orders_created},
        {"bybit_sim_orders_cancelled_total", "counter", "orders cancelled",
         (double)es.orders_cancelled},
        {"bybit_sim_fills_total", "counter", "executions of account orders", (double)es.fills},
        {"bybit_sim_public_trades_total", "counter", "public trades", (double)es.public_trades},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        promtext_header(b, m[i].name, m[i].type, m[i].help);
        promtext_sample(b, m[i].name, NULL, m[i].v);
    }
    if (s->f) {
        promtext_header(b, "bybit_sim_faults_fired_total", "counter", "faults fired, by kind");
        for (int k = 0; k < FAULT__COUNT; k++) {
            const char *l[] = {"kind", faults_name((fault_kind)k), NULL};
            promtext_sample(b, "bybit_sim_faults_fired_total", l,
                            (double)faults_fired(s->f, (fault_kind)k));
        }
    }
}

void sim_http(sim *s, const rest_in *in, int64_t now_ms, rest_out *out)
{
    const char *path = in->path ? in->path : "", *method = in->method ? in->method : "";
    s->http_requests++;
    if (strncmp(path, "/sim/", 5) && strcmp(path, "/metrics") && strcmp(path, "/health")) {
        rest_handle(&s->rest, in, now_ms, out);
        return;
    }
    out->status = 200;
    if (!strcmp(path, "/health")) {
        json_reply(out, 200, cJSON_CreateObject());
    } else if (!strcmp(path, "/metrics") && !strcmp(method, "GET")) {
        metrics(s, now_ms, out);
        out->status = 200;
    } else if (!strcmp(path, "/sim/orders") && !strcmp(method, "GET")) {
        char acct[80] = "";
        const char *a = strstr(in->query ? in->query : "", "account=");
        if (a) {
            size_t n = strcspn(a + 8, "&");
            snprintf(acct, sizeof acct, "%.*s", (int)(n < 79 ? n : 79), a + 8);
        }
        cJSON *list = exch_open_orders_all(s->x, *acct ? acct : NULL);
        if (!list) {
            error_reply(out, SIMHTTP_CTL_NOMEM, NULL);
            return;
        }
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "count", cJSON_GetArraySize(list));
        cJSON_AddItemToObject(j, "list", list);
        json_reply(out, 200, j);
    } else if (!strcmp(path, "/sim/stats") && !strcmp(method, "GET")) {
        json_reply(out, 200, stats_json(s, now_ms));
    } else if (!strcmp(path, "/sim/faults")) {
        if (!s->f) {
            error_reply(out, SIMHTTP_CTL_NO_FAULTS, NULL);
        } else if (!strcmp(method, "GET")) {
            json_reply(out, 200, faults_to_json(s->f, now_ms));
        } else if (!strcmp(method, "POST")) {
            cJSON *body = cJSON_ParseWithLength(in->body ? in->body : "", in->body_len);
            char err[256];
            if (!cJSON_IsObject(body)) {
                error_reply(out, SIMHTTP_CTL_NOT_OBJECT, NULL);
            } else if (faults_apply_json(s->f, body, now_ms, err, sizeof err)) {
                error_reply(out, SIMHTTP_CTL_BAD_FAULTS, err);
            } else {
                json_reply(out, 200, faults_to_json(s->f, now_ms));
            }
            cJSON_Delete(body);
        } else {
            error_reply(out, SIMHTTP_CTL_GET_POST, NULL);
        }
    } else if (!strcmp(path, "/sim/reset")) {
        if (strcmp(method, "POST")) {
            error_reply(out, SIMHTTP_CTL_POST, NULL);
            return;
        }
        exch_reset(s->x, now_ms);
        ratelimit_clear(s->limits);
        ratelimit_clear(s->iplimits);
        memset(s->rest.bans, 0, sizeof s->rest.bans);
        if (s->f)
            faults_clear(s->f);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "reset", 1);
        json_reply(out, 200, j);
    } else {
        error_reply(out, SIMHTTP_CTL_UNKNOWN, NULL);
    }
}
