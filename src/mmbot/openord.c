/* openord: the paged open-orders listing of one symbol. See openord.h for the contract. */
#include "openord.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"

void openord_begin(openord *p, const char *symbol)
{
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol ? symbol : "");
    p->cursor[0] = '\0';
    p->pages = 0;
    p->n = 0;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '%';
}

int openord_query(const openord *p, char *q, size_t n)
{
    int len = snprintf(q, n, "category=linear&symbol=%s&openOnly=0&limit=%d", p->symbol,
                       OPENORD_PAGE_LIMIT);
    if (len < 0 || (size_t)len >= n)
        return ERR_FULL;
    size_t at = (size_t)len;
    if (!p->cursor[0])
        return 0;
    static const char hex[] = "0123456789ABCDEF";
    const char *key = "&cursor=";
    size_t kl = strlen(key);
    if (at + kl >= n)
        return ERR_FULL;
    memcpy(q + at, key, kl);
    at += kl;
    for (const unsigned char *c = (const unsigned char *)p->cursor; *c; c++) {
        size_t need = unreserved(*c) ? 1 : 3;
        if (at + need >= n)
            return ERR_FULL;
        if (need == 1) {
            q[at++] = (char)*c;
        } else {
            q[at++] = '%';
            q[at++] = hex[*c >> 4];
            q[at++] = hex[*c & 15];
        }
    }
    q[at] = '\0';
    return 0;
}

int openord_take(openord *p, const char *body, size_t len, long *ret_code, char *why, size_t n)
{
    msg_envelope env;
    if (ret_code)
        *ret_code = 0;
    if (msg_rest_orders(body, len, &env, &p->page) != 0) {
        if (why && n)
            snprintf(why, n, "open orders of %s: cannot parse the reply", p->symbol);
        return ERR_PARSE;
    }
    if (env.ret_code != 0) {
        if (ret_code)
            *ret_code = (long)env.ret_code;
        if (why && n)
            snprintf(why, n, "open orders of %s: %s (retCode %" PRId64 ")", p->symbol, env.ret_msg,
                     env.ret_code);
        return ERR_REFUSED;
    }
    p->pages++;
    for (size_t i = 0; i < p->page.n && p->n < OPENORD_MAX; i++)
        p->v[p->n++] = p->page.v[i];
    int full = p->n == OPENORD_MAX && p->page.n > 0;
    if (!p->page.next_cursor[0] || p->page.n == 0)
        return 0; /* the last page (an empty page ends a listing whatever its cursor says) */
    if (p->pages >= OPENORD_MAX_PAGES || full) {
        if (why && n)
            snprintf(why, n, "open orders of %s: more than %d pages: only the first %zu listed",
                     p->symbol, OPENORD_MAX_PAGES, p->n);
        return ERR_FULL;
    }
    snprintf(p->cursor, sizeof p->cursor, "%s", p->page.next_cursor);
    return 1;
}

size_t openord_count(const openord *p, const char *prefix, size_t *ours)
{
    size_t open = 0, mine = 0;
    size_t pl = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!msg_order_open(&p->v[i]))
            continue;
        open++;
        mine += pl && !strncmp(p->v[i].link_id, prefix, pl);
    }
    if (ours)
        *ours = mine;
    return open;
}
