/*
 * wsframe: RFC 6455 framing of what a client sends, pure. See wsframe.h.
 *
 * A header is collected in rx->hb until it is whole (its size is known from its first two
 * bytes), the checks that need only those two bytes (mask, RSV, opcode, control frame rules)
 * run as soon as they are in. Payload is unmasked in the caller's buffer; data goes out piece
 * by piece, control payload (125 bytes at most) is collected and goes out whole.
 */
#include "wsframe.h"

#include <string.h>

#include "errcode.h"

int wsframe_header(const unsigned char *p, size_t n, wsframe_hdr *h)
{
    if (n < 2)
        return ERR_NODATA;
    memset(h, 0, sizeof *h);
    h->fin = (p[0] >> 7) & 1;
    h->rsv = (p[0] >> 4) & 7;
    h->opcode = p[0] & 0x0f;
    h->masked = (p[1] >> 7) & 1;
    size_t l7 = p[1] & 0x7f, ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
    size_t need = 2 + ext + (h->masked ? 4 : 0);
    if (n < need)
        return ERR_NODATA;
    if (!ext)
        h->len = l7;
    for (size_t i = 0; i < ext; i++)
        h->len = h->len << 8 | p[2 + i];
    if (h->len >> 63)
        return ERR_PARSE;
    if (h->masked)
        memcpy(h->key, p + 2 + ext, 4);
    h->hlen = need;
    return 0;
}

size_t wsframe_server_header(unsigned char *out, int opcode, uint64_t len)
{
    out[0] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

int wsframe_close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void wsframe_rx_init(wsframe_rx *rx, size_t max_msg)
{
    memset(rx, 0, sizeof *rx);
    rx->max_msg = max_msg;
}

/* UTF-8, one byte at a time across calls (need, lo, hi: what the next byte must be). Returns
 * n when p[0..n) is fine so far, else the index of the first byte that cannot be. */
static size_t u8_check(int *need, unsigned char *lo, unsigned char *hi, const unsigned char *p,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = p[i];
        if (*need) {
            if (b < *lo || b > *hi)
                return i;
            *lo = 0x80;
            *hi = 0xbf;
            (*need)--;
            continue;
        }
        if (b < 0x80)
            continue;
        *lo = 0x80;
        *hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf)
            *need = 1;
        else if (b >= 0xe0 && b <= 0xef) {
            *need = 2;
            if (b == 0xe0)
                *lo = 0xa0; /* overlong */
            else if (b == 0xed)
                *hi = 0x9f; /* surrogates */
        } else if (b >= 0xf0 && b <= 0xf4) {
            *need = 3;
            if (b == 0xf0)
                *lo = 0x90; /* overlong */
            else if (b == 0xf4)
                *hi = 0x8f; /* past U+10FFFF */
        } else
            return i;
    }
    return n;
}

static size_t fail(wsframe_rx *rx, wsframe_ev *ev, int code, size_t used)
{
    rx->failed = code;
    ev->kind = WSFRAME_EV_ERROR;
    ev->code = code;
    return used;
}

/* Bytes the header needs, from what is collected (2 until the first two are in). */
static size_t hdr_need(const wsframe_rx *rx)
{
    if (rx->hn < 2)
        return 2;
    size_t l7 = rx->hb[1] & 0x7f;
    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((rx->hb[1] & 0x80) ? 4 : 0);
}

/* What the first two bytes alone refuse: 0 or a close code. */
static int check_first(const wsframe_rx *rx)
{
    unsigned char b0 = rx->hb[0], b1 = rx->hb[1];
    int op = b0 & 0x0f, fin = b0 >> 7;
    if (!(b1 & 0x80) || (b0 & 0x70))
        return WSFRAME_PROTOCOL;
    if (op & 8) {
        if (op > WSFRAME_PONG || !fin || (b1 & 0x7f) > WSFRAME_CTL_MAX)
            return WSFRAME_PROTOCOL;
        return 0;
    }
    if (op > WSFRAME_BINARY)
        return WSFRAME_PROTOCOL;
    if (op == WSFRAME_CONT ? !rx->msg_op : rx->msg_op != 0)
        return WSFRAME_PROTOCOL;
    return 0;
}

/* A whole control frame: its event, or the error it is. */
static size_t control_done(wsframe_rx *rx, wsframe_ev *ev, size_t used)
{
    ev->kind = WSFRAME_EV_CONTROL;
    ev->opcode = rx->h.opcode;
    ev->data = rx->ctl;
    ev->len = rx->ctl_len;
    if (rx->h.opcode == WSFRAME_CLOSE) {
        ev->code = WSFRAME_NO_STATUS;
        if (rx->ctl_len == 1)
            return fail(rx, ev, WSFRAME_PROTOCOL, used);
        if (rx->ctl_len >= 2) {
            unsigned code = (unsigned)rx->ctl[0] << 8 | rx->ctl[1];
            int need = 0;
            unsigned char lo = 0x80, hi = 0xbf;
            if (!wsframe_close_code_ok(code))
                return fail(rx, ev, WSFRAME_PROTOCOL, used);
            size_t rl = rx->ctl_len - 2;
            if (u8_check(&need, &lo, &hi, rx->ctl + 2, rl) != rl || need)
                return fail(rx, ev, WSFRAME_INVALID, used);
            ev->code = (int)code;
        }
    }
    return used;
}

size_t wsframe_feed(wsframe_rx *rx, unsigned char *p, size_t n, wsframe_ev *ev)
{
    memset(ev, 0, sizeof *ev);
    if (rx->failed)
        return fail(rx, ev, rx->failed, 0);
    size_t i = 0;
    for (;;) {
        if (!rx->in_payload) {
            for (;;) {
                size_t need = hdr_need(rx);
                if (rx->hn == need)
                    break;
                if (i == n)
                    return i; /* the header goes on in the next read */
                size_t k = need - rx->hn < n - i ? need - rx->hn : n - i;
                memcpy(rx->hb + rx->hn, p + i, k);
                int first = rx->hn < 2;
                rx->hn += k;
                i += k;
                int code = first && rx->hn >= 2 ? check_first(rx) : 0;
                if (code)
                    return fail(rx, ev, code, i);
            }
            if (wsframe_header(rx->hb, rx->hn, &rx->h))
                return fail(rx, ev, WSFRAME_PROTOCOL, i);
            if (!(rx->h.opcode & 8)) {
                if (rx->h.opcode != WSFRAME_CONT) {
                    rx->msg_op = rx->h.opcode;
                    rx->msg_len = 0;
                    rx->u8_need = 0;
                }
                if (rx->max_msg && rx->h.len > rx->max_msg - rx->msg_len)
                    return fail(rx, ev, WSFRAME_TOO_BIG, i);
            } else
                rx->ctl_len = 0;
            rx->in_payload = 1;
            rx->got = 0;
        }
        uint64_t left = rx->h.len - rx->got;
        size_t k = (uint64_t)(n - i) < left ? n - i : (size_t)left;
        unsigned char *d = p + i;
        for (size_t j = 0; j < k; j++)
            d[j] ^= rx->h.key[(rx->got + j) & 3];
        rx->got += k;
        i += k;
        int frame_end = rx->got == rx->h.len;
        if (frame_end) {
            rx->in_payload = 0;
            rx->hn = 0;
        }
        if (rx->h.opcode & 8) {
            memcpy(rx->ctl + rx->ctl_len, d, k);
            rx->ctl_len += k;
            if (frame_end)
                return control_done(rx, ev, i);
            return i; /* k == n - i: all consumed */
        }
        rx->msg_len += k;
        int msg_end = frame_end && rx->h.fin;
        if (rx->msg_op == WSFRAME_TEXT) {
            /* the bad byte is the last one consumed, however the input was cut */
            size_t ok = u8_check(&rx->u8_need, &rx->u8_lo, &rx->u8_hi, d, k);
            if (ok != k)
                return fail(rx, ev, WSFRAME_INVALID, i - k + ok + 1);
            if (msg_end && rx->u8_need)
                return fail(rx, ev, WSFRAME_INVALID, i);
        }
        if (!k && !msg_end) {
            if (i == n)
                return i;
            continue; /* an empty piece: nothing to tell */
        }
        ev->kind = WSFRAME_EV_DATA;
        ev->opcode = rx->msg_op;
        ev->data = d;
        ev->len = k;
        ev->msg_end = msg_end;
        if (msg_end)
            rx->msg_op = 0;
        return i;
    }
}
