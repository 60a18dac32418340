/*
 * httpreq: HTTP/1.1 request framing. See httpreq.h.
 */
#include "httpreq.h"

#include <string.h>
#include <strings.h>

#include "errcode.h"

static int fail(int *status, int code, int rc)
{
    if (status)
        *status = code;
    return rc;
}

static int failw(httpreq_head *h, int *status, int code, int rc, const char *why)
{
    h->why = why;
    return fail(status, code, rc);
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int name_is(const httpreq_hdr *x, const char *name)
{
    return x->nlen == strlen(name) && !strncasecmp(x->name, name, x->nlen);
}

/* val (vlen bytes) holds token (comma separated list, any case) */
static int has_token(const char *val, size_t vlen, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && (val[i] == ' ' || val[i] == '\t' || val[i] == ','))
            i++;
        size_t st = i;
        while (i < vlen && val[i] != ',')
            i++;
        size_t e = i;
        while (e > st && (val[e - 1] == ' ' || val[e - 1] == '\t'))
            e--;
        if (e - st == tl && !strncasecmp(val + st, token, tl))
            return 1;
    }
    return 0;
}

const httpreq_hdr *httpreq_find(const httpreq_head *h, const char *name)
{
    for (int i = 0; i < h->nh; i++)
        if (name_is(&h->h[i], name))
            return &h->h[i];
    return NULL;
}

/* A decimal Content-Length: digits only, at most 18 of them. -1 when malformed. */
static long long parse_clen(const char *v, size_t n)
{
    if (!n || n > 18)
        return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

int httpreq_parse_head(const char *buf, size_t len, size_t max_head, httpreq_head *h, int *status)
{
    memset(h, 0, sizeof *h);
    h->clen = -1;
    size_t lim = len < max_head ? len : max_head;
    size_t p = 0;
    /* RFC 9112 2.2: a server should ignore at least one empty line before the request line */
    while (p + 1 < lim && buf[p] == '\r' && buf[p + 1] == '\n')
        p += 2;
    /* the end of the head: the first CRLF CRLF */
    size_t end = 0;
    for (size_t i = p; i + 3 < lim; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = i + 4;
            break;
        }
    for (size_t i = p; i < (end ? end : lim); i++) {
        if (!buf[i])
            return failw(h, status, 400, ERR_PARSE, "malformed request: NUL byte in the head");
        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
            return failw(h, status, 400, ERR_PARSE, "malformed request: bare LF");
    }
    if (!end)
        return len >= max_head ? failw(h, status, 431, ERR_FULL, "request head too large")
                               : ERR_NODATA;
    h->head_len = end;

    /* request line: method SP target SP HTTP/1.x CRLF */
    const char *l = buf + p;
    const char *eol = memchr(l, '\r', end - p);
    size_t ll = (size_t)(eol - l);
    const char *sp1 = memchr(l, ' ', ll);
    if (!sp1 || sp1 == l || (size_t)(sp1 - l) >= sizeof h->method)
        return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
    for (const char *c = l; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
    memcpy(h->method, l, (size_t)(sp1 - l));
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(eol - t));
    if (!sp2 || sp2 == t || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
        (sp2[8] != '0' && sp2[8] != '1'))
        return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f)
            return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
    h->target = t;
    h->target_len = (size_t)(sp2 - t);
    h->minor = sp2[8] - '0';

    /* header lines */
    const char *q = eol + 2;
    const char *stop = buf + end - 2; /* the final CRLF */
    while (q < stop) {
        const char *e = memchr(q, '\r', (size_t)(stop - q) + 1);
        if (!e || e == q)
            return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
        if (*q == ' ' || *q == '\t') /* obsolete line folding */
            return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
        const char *colon = memchr(q, ':', (size_t)(e - q));
        if (!colon || colon == q)
            return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
        for (const char *c = q; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return failw(h, status, 400, ERR_PARSE, "malformed request line or header");
        if (h->nh >= HTTPREQ_MAX_HDRS)
            return failw(h, status, 431, ERR_FULL, "too many header lines");
        const char *v = colon + 1, *ve = e;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        httpreq_hdr *x = &h->h[h->nh++];
        x->name = q;
        x->nlen = (size_t)(colon - q);
        x->val = v;
        x->vlen = (size_t)(ve - v);
        q = e + 2;
    }

    /* what the headers mean for the framing */
    int te = 0, conn_close = 0, conn_keep = 0, upgrade = 0, conn_upgrade = 0;
    for (int i = 0; i < h->nh; i++) {
        const httpreq_hdr *x = &h->h[i];
        if (name_is(x, "content-length")) {
            long long v = parse_clen(x->val, x->vlen);
            if (v < 0)
                return failw(h, status, 400, ERR_PARSE, "bad content-length");
            if (h->clen >= 0 && v != h->clen)
                return failw(h, status, 400, ERR_PARSE, "conflicting content-length headers");
            h->clen = v;
        } else if (name_is(x, "transfer-encoding")) {
            if (te || x->vlen != 7 || strncasecmp(x->val, "chunked", 7))
                return failw(h, status, 501, ERR_RANGE,
                             "transfer-encoding not supported (only chunked)");
            te = 1;
        } else if (name_is(x, "connection")) {
            conn_close |= has_token(x->val, x->vlen, "close");
            conn_keep |= has_token(x->val, x->vlen, "keep-alive");
            conn_upgrade |= has_token(x->val, x->vlen, "upgrade");
        } else if (name_is(x, "upgrade"))
            upgrade |= has_token(x->val, x->vlen, "websocket");
    }
    if (te && h->clen >= 0)
        return failw(h, status, 400, ERR_PARSE,
                     "both content-length and transfer-encoding (request smuggling)");
    h->chunked = te;
    h->keep_alive = h->minor == 1 ? !conn_close : conn_keep && !conn_close;
    h->upgrade_ws = upgrade && conn_upgrade && !strcmp(h->method, "GET");
    return 0;
}

int httpreq_hexdig(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int httpreq_chunked(const char *buf, size_t len, size_t max_body, char *out, size_t outcap,
                    size_t *used, size_t *body_len, int *status)
{
    size_t p = 0, total = 0;
    for (;;) {
        /* chunk-size [; ext] CRLF */
        const char *e = memchr(buf + p, '\r', len - p);
        if (!e || (size_t)(e - buf) + 1 >= len)
            return len - p > 1024 ? fail(status, 400, ERR_PARSE) : ERR_NODATA;
        if (e[1] != '\n')
            return fail(status, 400, ERR_PARSE);
        size_t sz = 0, i = p;
        int digits = 0;
        for (; buf + i < e && httpreq_hexdig(buf[i]) >= 0; i++, digits++) {
            if (digits >= 8)
                return fail(status, 413, ERR_FULL);
            sz = sz * 16 + (size_t)httpreq_hexdig(buf[i]);
        }
        if (!digits || (buf + i < e && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t'))
            return fail(status, 400, ERR_PARSE);
        for (const char *c = buf + i; c < e; c++)
            if (!*c || *c == '\n')
                return fail(status, 400, ERR_PARSE);
        p = (size_t)(e - buf) + 2;
        if (sz == 0)
            break;
        if (sz > max_body || total + sz > max_body)
            return fail(status, 413, ERR_FULL);
        if (len - p < sz + 2)
            return ERR_NODATA;
        if (buf[p + sz] != '\r' || buf[p + sz + 1] != '\n')
            return fail(status, 400, ERR_PARSE);
        if (out && total + sz <= outcap)
            memcpy(out + total, buf + p, sz);
        total += sz;
        p += sz + 2;
    }
    /* trailer lines, then an empty line */
    for (;;) {
        const char *e = memchr(buf + p, '\r', len - p);
        if (!e || (size_t)(e - buf) + 1 >= len)
            return len - p > 4096 ? fail(status, 400, ERR_PARSE) : ERR_NODATA;
        if (e[1] != '\n')
            return fail(status, 400, ERR_PARSE);
        int empty = e == buf + p;
        p = (size_t)(e - buf) + 2;
        if (empty)
            break;
    }
    *used = p;
    *body_len = total;
    return 0;
}

const char *httpreq_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}
