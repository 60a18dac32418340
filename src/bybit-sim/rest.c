/*
 * rest: Bybit v5 REST over the simulated exchange (see rest.h). A table of routes; each
 * handler reads its parameters (query for GET, JSON body for POST), calls the exchange and
 * writes the envelope.
 */
#include "rest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bybitsign.h"
#include "simerr.h"

void rest_out_init(rest_out *out)
{
    memset(out, 0, sizeof *out);
    out->status = 200;
    sbuf_init(&out->body, REST_MAX_REPLY);
    sbuf_init(&out->headers, 4096);
}

void rest_out_free(rest_out *out)
{
    sbuf_free(&out->body);
    sbuf_free(&out->headers);
}

int64_t rest_server_time(const rest_ctx *c, int64_t now_ms)
{
    fault_params p;
    if (c->f && faults_active(c->f, FAULT_CLOCK_SKEW, now_ms, &p))
        return now_ms + p.skew_ms;
    return now_ms;
}

void rest_envelope(rest_out *out, int ret_code, const char *ret_msg, cJSON *result, cJSON *ext,
                   int64_t time_ms)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "retCode", ret_code);
    cJSON_AddStringToObject(j, "retMsg", ret_msg);
    cJSON_AddItemToObject(j, "result", result ? result : cJSON_CreateObject());
    cJSON_AddItemToObject(j, "retExtInfo", ext ? ext : cJSON_CreateObject());
    cJSON_AddNumberToObject(j, "time", (double)time_ms);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    sbuf_reset(&out->body);
    if (!s || sbuf_adds(&out->body, s)) {
        char b[128];
        simhttp_body(SIMHTTP_TOO_LARGE, 0, NULL, b, sizeof b);
        sbuf_reset(&out->body);
        (void)sbuf_adds(&out->body, b);
    }
    free(s);
}

/* A reply outside the envelope, as a proxy or gateway would answer (simerr.h's SIMHTTP_LIST);
 * status 0: the entry's own. */
static void plain(rest_out *out, simhttp h, int status)
{
    char b[256];
    out->status = simhttp_body(h, status, NULL, b, sizeof b);
    sbuf_reset(&out->body);
    (void)sbuf_adds(&out->body, b);
}

/* ---- parameters ----------------------------------------------------------------------- */

/* Value of name in a query "a=1&b=2" into buf; 1 when present. */
static int qget(const char *q, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    const char *p = q;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && p[nl] == '=' && !strncmp(p, name, nl)) {
            size_t vl = seg - nl - 1;
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, p + nl + 1, vl);
            buf[vl] = '\0';
            return 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    buf[0] = '\0';
    return 0;
}

/* A field of a JSON object as a string (numbers and booleans converted); NULL when absent or
 * of another type. buf holds the converted forms. */
static const char *jget(const cJSON *o, const char *name, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v) && v->valuestring) {
        snprintf(buf, len, "%s", v->valuestring);
        return buf;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        snprintf(buf, len, "%.10g", v->valuedouble);
        return buf;
    }
    if (cJSON_IsBool(v)) {
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
        return buf;
    }
    return NULL;
}

/* ---- handlers ------------------------------------------------------------------------- */

typedef struct call {
    rest_ctx *c;
    const rest_in *in;
    const cJSON *body; /* POST: the parsed body (an object) */
    const char *key;   /* signed: the account */
    int64_t now;       /* the true clock (the exchange's) */
    int64_t t;         /* the server time clients see */
    rest_out *out;
} call;

static void ok(call *k, cJSON *result, cJSON *ext)
{
    rest_envelope(k->out, SIMRC_OK, simerr_msg(SIMERR_OK), result, ext, k->t);
}

/* An error envelope; returns its retCode. */
static int err(call *k, simerr e)
{
    rest_envelope(k->out, simerr_code(e), simerr_msg(e), NULL, NULL, k->t);
    return simerr_code(e);
}

/* The result or error of an exchange call. */
static void finish(call *k, int rc, const char *msg, cJSON *result)
{
    if (rc) {
        cJSON_Delete(result);
        rest_envelope(k->out, rc, simerr_msg_or(rc, msg), NULL, NULL, k->t);
    } else {
        ok(k, result, NULL);
    }
}

static int need_linear(call *k, const char *category)
{
    if (!category || strcmp(category, "linear")) {
        err(k, category && *category ? SIMERR_CATEGORY : SIMERR_CATEGORY_EMPTY);
        return 0;
    }
    return 1;
}

static void h_time(call *k)
{
    cJSON *r = cJSON_CreateObject();
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, k->t / 1000);
    cJSON_AddStringToObject(r, "timeSecond", s);
    snprintf(s, sizeof s, "%" PRId64 "000000", k->t);
    cJSON_AddStringToObject(r, "timeNano", s);
    ok(k, r, NULL);
}

static void h_instruments(call *k)
{
    char cat[32], sym[32], msg[128] = "";
    qget(k->in->query, "category", cat, sizeof cat);
    if (!need_linear(k, cat))
        return;
    int has = qget(k->in->query, "symbol", sym, sizeof sym);
    cJSON *list = NULL;
    int rc = exch_instruments(k->c->x, has && *sym ? sym : NULL, &list, msg, sizeof msg);
    if (rc) {
        finish(k, rc, msg, list);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "category", "linear");
    cJSON_AddItemToObject(r, "list", list ? list : cJSON_CreateArray());
    cJSON_AddStringToObject(r, "nextPageCursor", "");
    ok(k, r, NULL);
}

static void h_orderbook(call *k)
{
    char cat[32], sym[32], lim[16], msg[128] = "";
    qget(k->in->query, "category", cat, sizeof cat);
    if (!need_linear(k, cat))
        return;
    if (!qget(k->in->query, "symbol", sym, sizeof sym) || !*sym) {
        err(k, SIMERR_SYMBOL);
        return;
    }
    int limit = 25;
    if (qget(k->in->query, "limit", lim, sizeof lim)) {
        char *e;
        long v = strtol(lim, &e, 10);
        if (*e || v < 1 || v > 200) {
            err(k, SIMERR_LIMIT);
            return;
        }
        limit = (int)v;
    }
    cJSON *r = NULL;
    int rc = exch_orderbook(k->c->x, sym, limit, k->now, &r, msg, sizeof msg);
    finish(k, rc, msg, r);
}

/* The fields of a create request (REST body, batch item or WS order entry). */
int rest_order_req(const cJSON *o, exch_order_req *r, char bufs[7][64], char *msg, size_t msglen)
{
    memset(r, 0, sizeof *r);
    const char *side = jget(o, "side", bufs[0], 64), *type = jget(o, "orderType", bufs[1], 64),
               *tif = jget(o, "timeInForce", bufs[2], 64);
    r->symbol = jget(o, "symbol", bufs[3], 64);
    r->qty = jget(o, "qty", bufs[4], 64);
    r->price = jget(o, "price", bufs[5], 64);
    r->link_id = jget(o, "orderLinkId", bufs[6], 64);
    r->reduce_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "reduceOnly"));
    if (!r->symbol || !*r->symbol) {
        return simerr_set(msg, msglen, SIMERR_SYMBOL);
    }
    if (!side || (strcmp(side, "Buy") && strcmp(side, "Sell"))) {
        return simerr_set(msg, msglen, SIMERR_SIDE);
    }
    r->side = side[0] == 'B' ? EXCH_BUY : EXCH_SELL;
    if (!type || (strcmp(type, "Limit") && strcmp(type, "Market"))) {
        return simerr_set(msg, msglen, SIMERR_ORDER_TYPE);
    }
    r->type = type[0] == 'L' ? EXCH_LIMIT : EXCH_MARKET;
    if (!r->qty || !*r->qty) {
        return simerr_set(msg, msglen, SIMERR_QTY_MISSING);
    }
    if (r->type == EXCH_LIMIT && (!r->price || !*r->price)) {
        return simerr_set(msg, msglen, SIMERR_PRICE_MISSING);
    }
    if (!tif)
        r->tif = r->type == EXCH_MARKET ? EXCH_IOC : EXCH_GTC;
    else if (!strcmp(tif, "GTC"))
        r->tif = EXCH_GTC;
    else if (!strcmp(tif, "IOC"))
        r->tif = EXCH_IOC;
    else if (!strcmp(tif, "FOK"))
        r->tif = EXCH_FOK;
    else if (!strcmp(tif, "PostOnly"))
        r->tif = EXCH_POSTONLY;
    else {
        return simerr_set(msg, msglen, SIMERR_TIF);
    }
    return 0;
}

static cJSON *ids_json(const exch_ids *ids)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "orderId", ids->order_id);
    cJSON_AddStringToObject(r, "orderLinkId", ids->link_id);
    return r;
}

static void h_create(call *k)
{
    char b[8][64], msg[160] = "";
    if (!need_linear(k, jget(k->body, "category", b[7], 64)))
        return;
    exch_order_req r;
    int rc = rest_order_req(k->body, &r, b, msg, sizeof msg);
    exch_ids ids = {{0}, {0}};
    if (!rc)
        rc = exch_create(k->c->x, k->key, &r, k->now, &ids, msg, sizeof msg);
    finish(k, rc, msg, rc ? NULL : ids_json(&ids));
}

static void h_batch(call *k)
{
    char cat[64], msg[160] = "";
    if (!need_linear(k, jget(k->body, "category", cat, sizeof cat)))
        return;
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(k->body, "request");
    int n = cJSON_GetArraySize(req);
    if (!cJSON_IsArray(req) || n < 1 || n > 10) {
        err(k, SIMERR_BATCH_SIZE);
        return;
    }
    cJSON *list = cJSON_CreateArray(), *ext = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, req)
    {
        char b[7][64];
        exch_order_req r;
        memset(&r, 0, sizeof r); /* a non-object item leaves it unset: no garbage link id */
        exch_ids ids = {{0}, {0}};
        msg[0] = '\0';
        int rc = cJSON_IsObject(it) ? rest_order_req(it, &r, b, msg, sizeof msg)
                                    : simerr_set(msg, sizeof msg, SIMERR_BATCH_ITEM);
        if (!rc)
            rc = exch_create(k->c->x, k->key, &r, k->now, &ids, msg, sizeof msg);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "category", "linear");
        cJSON_AddStringToObject(o, "symbol", !rc && r.symbol ? r.symbol : "");
        cJSON_AddStringToObject(o, "orderId", ids.order_id);
        cJSON_AddStringToObject(o, "orderLinkId", rc ? (r.link_id ? r.link_id : "") : ids.link_id);
        char ts[32];
        snprintf(ts, sizeof ts, "%" PRId64, k->now);
        cJSON_AddStringToObject(o, "createAt", rc ? "" : ts);
        cJSON_AddItemToArray(list, o);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "code", rc);
        cJSON_AddStringToObject(e, "msg", rc ? simerr_msg_or(rc, msg) : simerr_msg(SIMERR_OK));
        cJSON_AddItemToArray(ext, e);
    }
    cJSON *res = cJSON_CreateObject(), *x = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "list", list);
    cJSON_AddItemToObject(x, "list", ext);
    ok(k, res, x);
}

/* amend and cancel: the same order lookup (symbol, and orderId or orderLinkId) */
static void modify(call *k, int amend)
{
    char b[6][64], msg[160] = "";
    if (!need_linear(k, jget(k->body, "category", b[0], 64)))
        return;
    const char *sym = jget(k->body, "symbol", b[1], 64), *oid = jget(k->body, "orderId", b[2], 64),
               *lid = jget(k->body, "orderLinkId", b[3], 64);
    if (!sym || !*sym) {
        err(k, SIMERR_SYMBOL);
        return;
    }
    if ((!oid || !*oid) && (!lid || !*lid)) {
        err(k, SIMERR_IDS_MISSING);
        return;
    }
    exch_ids ids = {{0}, {0}};
    int rc = amend ? exch_amend(k->c->x, k->key, sym, oid, lid, jget(k->body, "qty", b[4], 64),
                                jget(k->body, "price", b[5], 64), k->now, &ids, msg, sizeof msg)
                   : exch_cancel(k->c->x, k->key, sym, oid, lid, k->now, &ids, msg, sizeof msg);
    finish(k, rc, msg, rc ? NULL : ids_json(&ids));
}

static void h_amend(call *k)
{
    modify(k, 1);
}

static void h_cancel(call *k)
{
    modify(k, 0);
}

static void h_cancel_all(call *k)
{
    char b[3][64], msg[160] = "";
    if (!need_linear(k, jget(k->body, "category", b[0], 64)))
        return;
    const char *sym = jget(k->body, "symbol", b[1], 64),
               *settle = jget(k->body, "settleCoin", b[2], 64);
    if ((!sym || !*sym) && (!settle || strcmp(settle, "USDT"))) {
        err(k, SIMERR_SYMBOL_OR_SETTLE);
        return;
    }
    cJSON *list = NULL;
    int rc =
        exch_cancel_all(k->c->x, k->key, sym && *sym ? sym : NULL, k->now, &list, msg, sizeof msg);
    if (rc) {
        finish(k, rc, msg, list);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddItemToObject(r, "list", list ? list : cJSON_CreateArray());
    cJSON_AddStringToObject(r, "success", "1");
    ok(k, r, NULL);
}

static void h_realtime(call *k)
{
    char cat[32], sym[32], oid[64], lid[64], lim[16], cur[128], oo[8], msg[160] = "";
    qget(k->in->query, "category", cat, sizeof cat);
    if (!need_linear(k, cat))
        return;
    qget(k->in->query, "symbol", sym, sizeof sym);
    qget(k->in->query, "orderId", oid, sizeof oid);
    qget(k->in->query, "orderLinkId", lid, sizeof lid);
    qget(k->in->query, "cursor", cur, sizeof cur);
    int limit = 20, open_only = 0;
    if (qget(k->in->query, "limit", lim, sizeof lim)) {
        char *e;
        long v = strtol(lim, &e, 10);
        if (*e || v < 1 || v > 50) {
            err(k, SIMERR_LIMIT);
            return;
        }
        limit = (int)v;
    }
    if (qget(k->in->query, "openOnly", oo, sizeof oo)) {
        if (strcmp(oo, "0") && strcmp(oo, "1") && strcmp(oo, "2")) {
            err(k, SIMERR_OPEN_ONLY);
            return;
        }
        open_only = oo[0] - '0';
    }
    cJSON *list = NULL;
    char *next = NULL;
    int rc = exch_orders(k->c->x, k->key, *sym ? sym : NULL, oid, lid, open_only, limit, cur, &list,
                         &next, msg, sizeof msg);
    if (rc) {
        free(next);
        finish(k, rc, msg, list);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "category", "linear");
    cJSON_AddItemToObject(r, "list", list ? list : cJSON_CreateArray());
    cJSON_AddStringToObject(r, "nextPageCursor", next ? next : "");
    free(next);
    ok(k, r, NULL);
}

static void h_positions(call *k)
{
    char cat[32], sym[32], settle[16], msg[160] = "";
    qget(k->in->query, "category", cat, sizeof cat);
    if (!need_linear(k, cat))
        return;
    int has = qget(k->in->query, "symbol", sym, sizeof sym) && *sym;
    if (!has && !(qget(k->in->query, "settleCoin", settle, sizeof settle) && *settle)) {
        err(k, SIMERR_SYMBOL_OR_SETTLE);
        return;
    }
    cJSON *list = NULL;
    int rc = exch_positions(k->c->x, k->key, has ? sym : NULL, &list, msg, sizeof msg);
    if (rc) {
        finish(k, rc, msg, list);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "category", "linear");
    cJSON_AddItemToObject(r, "list", list ? list : cJSON_CreateArray());
    cJSON_AddStringToObject(r, "nextPageCursor", "");
    ok(k, r, NULL);
}

static void h_wallet(call *k)
{
    char at[32], msg[160] = "";
    qget(k->in->query, "accountType", at, sizeof at);
    if (strcmp(at, "UNIFIED") && strcmp(at, "CONTRACT")) {
        err(k, SIMERR_ACCOUNT_TYPE);
        return;
    }
    cJSON *r = NULL;
    int rc = exch_wallet(k->c->x, k->key, &r, msg, sizeof msg);
    finish(k, rc, msg, r);
}

static void h_dcp(call *k)
{
    char b[2][64], msg[160] = "";
    const char *w = jget(k->body, "timeWindow", b[0], 64),
               *prod = jget(k->body, "product", b[1], 64);
    if (prod && strcmp(prod, "DERIVATIVES") && strcmp(prod, "OPTIONS") && strcmp(prod, "SPOT")) {
        err(k, SIMERR_PRODUCT);
        return;
    }
    char *e = NULL;
    long v = w ? strtol(w, &e, 10) : -1;
    if (!w || *e) {
        err(k, SIMERR_WINDOW);
        return;
    }
    int rc = exch_dcp_arm(k->c->x, k->key, (int)v, msg, sizeof msg);
    finish(k, rc, msg, rc ? NULL : cJSON_CreateObject());
}

enum { LIM_NONE, LIM_ORDER, LIM_QUERY };

static const struct route {
    const char *method, *path;
    int signed_, limit;
    void (*fn)(call *k);
} routes[] = {
    {"GET", "/v5/market/time", 0, LIM_NONE, h_time},
    {"GET", "/v5/market/instruments-info", 0, LIM_NONE, h_instruments},
    {"GET", "/v5/market/orderbook", 0, LIM_NONE, h_orderbook},
    {"POST", "/v5/order/create", 1, LIM_ORDER, h_create},
    {"POST", "/v5/order/amend", 1, LIM_ORDER, h_amend},
    {"POST", "/v5/order/cancel", 1, LIM_ORDER, h_cancel},
    {"POST", "/v5/order/cancel-all", 1, LIM_ORDER, h_cancel_all},
    {"POST", "/v5/order/create-batch", 1, LIM_ORDER, h_batch},
    {"GET", "/v5/order/realtime", 1, LIM_QUERY, h_realtime},
    {"GET", "/v5/position/list", 1, LIM_QUERY, h_positions},
    {"GET", "/v5/account/wallet-balance", 1, LIM_QUERY, h_wallet},
    {"POST", "/v5/order/disconnected-cancel-all", 1, LIM_QUERY, h_dcp},
};

/* ---- the pipeline ----------------------------------------------------------------------- */

static int banned(rest_ctx *c, const char *ip, int64_t now)
{
    for (int i = 0; i < REST_MAX_BANS; i++)
        if (c->bans[i].until_ms > now && !strcmp(c->bans[i].ip, ip))
            return 1;
    return 0;
}

static void ban(rest_ctx *c, const char *ip, int64_t until)
{
    int slot = 0;
    for (int i = 0; i < REST_MAX_BANS; i++)
        if (c->bans[i].until_ms < c->bans[slot].until_ms)
            slot = i;
    snprintf(c->bans[slot].ip, sizeof c->bans[slot].ip, "%s", ip);
    c->bans[slot].until_ms = until;
}

long long rest_digits(const char *s, int maxd)
{
    if (!s || !*s)
        return -1;
    long long v = 0;
    int n = 0;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= maxd)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int rest_json_nul(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s[i])
            return 1;
        if (!in_str) {
            in_str = s[i] == '"';
            continue;
        }
        if (s[i] == '"')
            in_str = 0;
        else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                return 1;
            i++; /* the escaped character: \" does not end the string */
        }
    }
    return 0;
}

/* Checks key, time and signature. 0, or the retCode (the envelope is written). */
static int check_signature(call *k)
{
    const rest_in *in = k->in;
    if (!in->api_key || !*in->api_key)
        return err(k, SIMERR_KEY);
    const char *secret = exch_account_secret(k->c->x, in->api_key);
    if (!secret)
        return err(k, SIMERR_KEY);
    /* both decimal digits only: no sign, no blanks, no overflow (strtoll would saturate, and
     * a huge window would make any timestamp pass) */
    const char *rw = in->recv_window && *in->recv_window ? in->recv_window : "5000";
    long long ts = rest_digits(in->timestamp, 15), win = rest_digits(rw, 15);
    if (ts < 0 || win < 0)
        return err(k, SIMERR_TIMESTAMP);
    if (win < 1 || win > REST_RECV_WINDOW_MAX)
        return err(k, SIMERR_RECV_WINDOW);
    if (!(k->t - win <= ts && ts < k->t + 1000)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s req_timestamp[%lld],server_timestamp[%" PRId64 "],recv_window[%lld]",
                 simerr_msg(SIMERR_TIMESTAMP_WINDOW), ts, k->t, win);
        rest_envelope(k->out, simerr_code(SIMERR_TIMESTAMP_WINDOW), msg, NULL, NULL, k->t);
        return simerr_code(SIMERR_TIMESTAMP_WINDOW);
    }
    const char *payload = strcmp(in->method, "GET") ? (in->body ? in->body : "") : in->query;
    size_t plen = strcmp(in->method, "GET") ? in->body_len : strlen(in->query);
    char want[BYBITSIGN_HEX];
    if (bybitsign_rest(secret, in->timestamp, in->api_key, rw, payload, plen, want) || !in->sign ||
        !bybitsign_equal(want, in->sign))
        return err(k, SIMERR_SIGN);
    return 0;
}

void rest_handle(rest_ctx *c, const rest_in *in, int64_t now_ms, rest_out *out)
{
    call k = {c, in, NULL, NULL, now_ms, rest_server_time(c, now_ms), out};
    fault_params fp;
    const char *peer = in->peer ? in->peer : "";
    c->requests++;
    out->status = 200;

    /* the IP layer: bans and the per-IP limit, before anything else */
    if (banned(c, peer, now_ms) || (c->f && faults_active(c->f, FAULT_HTTP_403_BAN, now_ms, &fp))) {
        c->faulted++;
        plain(out, SIMHTTP_BANNED, 0);
        return;
    }
    if (c->ip_limit_per_5s && c->iplimits &&
        !ratelimit_take(c->iplimits, peer, c->ip_limit_per_5s, now_ms, NULL)) {
        ban(c, peer, now_ms + c->ip_ban_ms);
        c->limited++;
        plain(out, SIMHTTP_BANNED, 0);
        return;
    }
    /* faults of the REST layer */
    if (c->f) {
        if (faults_active(c->f, FAULT_MAINTENANCE, now_ms, &fp)) {
            c->faulted++;
            if (fp.status >= 500 && fp.status <= 599) /* faults.h: that HTTP status */
                plain(out, SIMHTTP_UNAVAILABLE, fp.status);
            else
                err(&k, SIMERR_MAINTENANCE);
            return;
        }
        /* faults_hit has drawn the jitter already: latency_ms is the whole delay */
        if (faults_hit(c->f, FAULT_REST_LATENCY, now_ms, &fp))
            out->delay_ms = fp.latency_ms;
        if (faults_hit(c->f, FAULT_HTTP_429, now_ms, &fp)) {
            c->faulted++;
            plain(out, SIMHTTP_THROTTLED, 0);
            return;
        }
        if (faults_hit(c->f, FAULT_HTTP_5XX, now_ms, &fp)) {
            c->faulted++;
            plain(out, SIMHTTP_SERVER_ERROR, fp.status >= 500 && fp.status <= 599 ? fp.status : 0);
            return;
        }
    }

    /* routing */
    const struct route *rt = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(routes[i].path, in->path ? in->path : "")) {
            path_known = 1;
            if (!strcmp(routes[i].method, in->method ? in->method : ""))
                rt = &routes[i];
        }
    if (!rt) {
        if (path_known) {
            plain(out, SIMHTTP_METHOD, 0);
        } else {
            c->not_found++;
            plain(out, SIMHTTP_NOT_FOUND, 0);
        }
        return;
    }

    /* Bybit's order: the signature (over the raw body), then the body, then the limits */
    if (rt->signed_ && check_signature(&k)) {
        c->sig_errors++;
        return;
    }
    cJSON *body = NULL;
    if (!strcmp(rt->method, "POST")) {
        if (rest_json_nul(in->body ? in->body : "", in->body_len)) {
            err(&k, SIMERR_NUL);
            return;
        }
        body = cJSON_ParseWithLength(in->body ? in->body : "", in->body_len);
        if (!cJSON_IsObject(body)) {
            cJSON_Delete(body);
            err(&k, SIMERR_BODY);
            return;
        }
        k.body = body;
    }
    simerr code = SIMERR_OK; /* a limit or a retCode fault answers instead of the handler */
    if (rt->signed_) {
        c->signed_ok++;
        k.key = in->api_key;
        /* the per-account, per-endpoint limit, with its headers on every signed reply */
        unsigned lim = rt->limit == LIM_ORDER ? c->order_limit_per_s : c->query_limit_per_s;
        char key[RATELIMIT_KEY];
        snprintf(key, sizeof key, "%.64s %s", in->api_key, rt->path);
        ratelimit_state st;
        int allowed = ratelimit_take(c->limits, key, lim, now_ms, &st);
        (void)sbuf_printf(&out->headers,
                          "X-Bapi-Limit: %u\r\nX-Bapi-Limit-Status: %u\r\n"
                          "X-Bapi-Limit-Reset-Timestamp: %" PRId64 "\r\n",
                          lim, st.remaining, st.reset_ms);
        if (!allowed) {
            c->limited++;
            code = SIMERR_RATE;
        } else if (c->f && faults_hit(c->f, FAULT_RETCODE_10006, now_ms, &fp)) {
            c->faulted++;
            code = SIMERR_RATE;
        }
    }
    if (code == SIMERR_OK && c->f && faults_hit(c->f, FAULT_RETCODE_10016, now_ms, &fp)) {
        c->faulted++;
        code = SIMERR_SYSTEM;
    }
    if (code != SIMERR_OK)
        err(&k, code);
    else
        rt->fn(&k);
    cJSON_Delete(body);
}
