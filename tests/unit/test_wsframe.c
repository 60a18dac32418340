/* wsframe: what a client sends, decoded — masked frames taken, unmasked ones closed with 1002
 * (RFC 6455 5.1), headers split across reads at every byte, 16- and 64-bit lengths, control
 * frames (between fragments, fragmented, too long, close codes), fragment sequences, UTF-8
 * (1007) and the message cap (1009). Every input is fed whole, byte by byte and in odd pieces,
 * and must decode the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "wsframe.h"

static const unsigned char KEY[4] = {0x11, 0x22, 0x33, 0x44};

/* A client frame into out; len_bytes forces the length form (0: the shortest, 2, 8). */
static size_t mkf(unsigned char *out, int fin, int rsv, int op, int masked, const void *p,
                  size_t len, int len_bytes)
{
    size_t h = 0;
    out[h++] = (unsigned char)((fin ? 0x80 : 0) | (rsv << 4) | op);
    unsigned char m = masked ? 0x80 : 0;
    if (!len_bytes)
        len_bytes = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
    if (len_bytes == 0)
        out[h++] = (unsigned char)(m | len);
    else if (len_bytes == 2) {
        out[h++] = m | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(out + h, KEY, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[h + i] = (unsigned char)(((const unsigned char *)p)[i] ^ (masked ? KEY[i % 4] : 0));
    return h + len;
}

static size_t mk(unsigned char *out, int fin, int op, const void *p, size_t len)
{
    return mkf(out, fin, 0, op, 1, p, len, 0);
}

/* What the decoder said about an input. */
typedef struct result {
    char *msgs;         /* every whole message, each followed by '|' */
    size_t mlen, whole; /* bytes in msgs; of those, of whole messages */
    int nmsgs;
    int last_op;     /* opcode of the last message */
    int ctl_op[8];   /* control frames, in order */
    int ctl_code[8]; /* their close codes */
    char ctl_data[8][126];
    size_t ctl_len[8];
    int nctl;
    int err;         /* the error's close code, 0 for none */
    size_t err_used; /* bytes consumed when it came */
} result;

static void result_free(result *r)
{
    free(r->msgs);
    memset(r, 0, sizeof *r);
}

/* Feeds in[0..n) in pieces of chunk bytes (0: whole). */
static void run(const unsigned char *in, size_t n, size_t chunk, size_t max, result *r)
{
    memset(r, 0, sizeof *r);
    r->msgs = malloc(n + 64);
    unsigned char *buf = malloc(n ? n : 1);
    memcpy(buf, in, n);
    wsframe_rx rx;
    wsframe_rx_init(&rx, max);
    size_t off = 0;
    while (off < n && !r->err) {
        size_t end = chunk && off + chunk < n ? off + chunk : n;
        while (off < end && !r->err) {
            wsframe_ev ev;
            size_t used = wsframe_feed(&rx, buf + off, end - off, &ev);
            assert_true(used <= end - off);
            off += used;
            if (ev.kind == WSFRAME_EV_NONE) {
                assert_int_equal(off, end);
            } else if (ev.kind == WSFRAME_EV_DATA) {
                memcpy(r->msgs + r->mlen, ev.data, ev.len);
                r->mlen += ev.len;
                if (ev.msg_end) {
                    r->msgs[r->mlen++] = '|';
                    r->whole = r->mlen;
                    r->nmsgs++;
                    r->last_op = ev.opcode;
                }
            } else if (ev.kind == WSFRAME_EV_CONTROL) {
                assert_true(r->nctl < 8);
                r->ctl_op[r->nctl] = ev.opcode;
                r->ctl_code[r->nctl] = ev.code;
                memcpy(r->ctl_data[r->nctl], ev.data, ev.len);
                r->ctl_len[r->nctl++] = ev.len;
            } else {
                assert_int_equal(ev.kind, WSFRAME_EV_ERROR);
                r->err = ev.code;
                r->err_used = off;
                /* pieces of a message an error cut short: given out, but no message */
                r->mlen = r->whole;
                /* the decoder stays failed */
                wsframe_ev again;
                assert_int_equal(wsframe_feed(&rx, buf + off, n - off, &again), 0);
                assert_int_equal(again.kind, WSFRAME_EV_ERROR);
                assert_int_equal(again.code, ev.code);
            }
        }
    }
    r->msgs[r->mlen] = '\0';
    free(buf);
}

/* Feeds whole, byte by byte and in pieces of 3 and 7: the same outcome each time; r is the
 * whole-input one. */
static void run_all(const unsigned char *in, size_t n, size_t max, result *r)
{
    run(in, n, 0, max, r);
    static const size_t chunks[] = {1, 3, 7};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        result o;
        run(in, n, chunks[i], max, &o);
        assert_int_equal(o.err, r->err);
        assert_int_equal(o.nmsgs, r->nmsgs);
        assert_int_equal(o.mlen, r->mlen);
        assert_memory_equal(o.msgs, r->msgs, r->mlen);
        assert_int_equal(o.nctl, r->nctl);
        for (int k = 0; k < r->nctl; k++) {
            assert_int_equal(o.ctl_op[k], r->ctl_op[k]);
            assert_int_equal(o.ctl_code[k], r->ctl_code[k]);
        }
        if (r->err)
            assert_int_equal(o.err_used, r->err_used);
        result_free(&o);
    }
}

static void test_masked(void **state)
{
    (void)state;
    unsigned char f[256];
    size_t n = mk(f, 1, WSFRAME_TEXT, "{\"op\":\"ping\"}", 13);
    n += mk(f + n, 1, WSFRAME_BINARY, "\x00\xff", 2);
    n += mk(f + n, 1, WSFRAME_TEXT, "", 0);
    result r;
    run_all(f, n, 65536, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.nmsgs, 3);
    assert_int_equal(r.mlen, 13 + 1 + 2 + 1 + 1);
    assert_memory_equal(r.msgs, "{\"op\":\"ping\"}|\x00\xff||", r.mlen);
    assert_int_equal(r.last_op, WSFRAME_TEXT);
    result_free(&r);
}

static void test_unmasked(void **state)
{
    (void)state;
    unsigned char f[256];
    /* a masked message, then the same unmasked: the first is taken, the second is 1002 as
     * soon as its second byte (the mask bit) is in */
    size_t a = mk(f, 1, WSFRAME_TEXT, "{\"op\":\"ping\"}", 13);
    size_t n = a + mkf(f + a, 1, 0, WSFRAME_TEXT, 0, "{\"op\":\"ping\"}", 13, 0);
    result r;
    run_all(f, n, 65536, &r);
    assert_int_equal(r.nmsgs, 1);
    assert_int_equal(r.err, WSFRAME_PROTOCOL);
    assert_int_equal(r.err_used, a + 2);
    result_free(&r);
    /* unmasked control frames and continuations too */
    n = mkf(f, 1, 0, WSFRAME_PING, 0, "x", 1, 0);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, WSFRAME_PROTOCOL);
    assert_int_equal(r.nctl, 0);
    result_free(&r);
    n = mk(f, 0, WSFRAME_TEXT, "ab", 2);
    n += mkf(f + n, 1, 0, WSFRAME_CONT, 0, "cd", 2, 0);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, WSFRAME_PROTOCOL);
    assert_int_equal(r.nmsgs, 0);
    result_free(&r);
    /* a 64-bit unmasked length is refused before its length bytes arrive */
    n = mkf(f, 1, 0, WSFRAME_BINARY, 0, "", 0, 8);
    run(f, 2, 0, 0, &r);
    assert_int_equal(r.err, WSFRAME_PROTOCOL);
    assert_int_equal(r.err_used, 2);
    result_free(&r);
}

static void test_lengths(void **state)
{
    (void)state;
    size_t big = 70000;
    unsigned char *p = malloc(big), *f = malloc(3 * big + 64);
    for (size_t i = 0; i < big; i++)
        p[i] = (unsigned char)('a' + i % 26);
    /* 125 (7-bit), 126 and 65535 (16-bit), 70000 (64-bit), and 5 in a needless 64-bit form */
    size_t n = mk(f, 1, WSFRAME_TEXT, p, 125);
    n += mk(f + n, 1, WSFRAME_TEXT, p, 126);
    n += mk(f + n, 1, WSFRAME_TEXT, p, 65535);
    n += mk(f + n, 1, WSFRAME_TEXT, p, big);
    n += mkf(f + n, 1, 0, WSFRAME_TEXT, 1, "hello", 5, 8);
    result r;
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.nmsgs, 5);
    assert_int_equal(r.mlen, 125 + 126 + 65535 + big + 5 + 5);
    assert_memory_equal(r.msgs + 125 + 1 + 126 + 1 + 65535 + 1, p, big);
    assert_memory_equal(r.msgs + r.mlen - 6, "hello|", 6);
    result_free(&r);
    /* the cap: 70000 over 65536 is 1009 from the header alone; 65536 whole is fine */
    n = mk(f, 1, WSFRAME_TEXT, p, big);
    run_all(f, n, 65536, &r);
    assert_int_equal(r.err, WSFRAME_TOO_BIG);
    assert_int_equal(r.err_used, 2 + 8 + 4);
    result_free(&r);
    n = mk(f, 1, WSFRAME_TEXT, p, 65536);
    run_all(f, n, 65536, &r);
    assert_int_equal(r.err, 0);
    result_free(&r);
    /* and across fragments: 40000 + 30000 */
    n = mk(f, 0, WSFRAME_TEXT, p, 40000);
    n += mk(f + n, 1, WSFRAME_CONT, p, 30000);
    run_all(f, n, 65536, &r);
    assert_int_equal(r.err, WSFRAME_TOO_BIG);
    assert_int_equal(r.nmsgs, 0);
    result_free(&r);
    /* a 64-bit length with the top bit set */
    unsigned char h[14] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    wsframe_hdr hd;
    assert_int_equal(wsframe_header(h, sizeof h, &hd), ERR_PARSE);
    run_all(h, sizeof h, 0, &r);
    assert_int_equal(r.err, WSFRAME_PROTOCOL);
    result_free(&r);
    h[2] = 0x7f; /* 2^63 - 1 - ...: allowed by the format, over any cap */
    assert_int_equal(wsframe_header(h, sizeof h, &hd), 0);
    assert_true(hd.len == 0x7f00000000000000ull);
    run_all(h, sizeof h, 1 << 20, &r);
    assert_int_equal(r.err, WSFRAME_TOO_BIG);
    result_free(&r);
    free(p);
    free(f);
}

static void test_split_headers(void **state)
{
    (void)state;
    /* every split of the input in two reads, for 7-, 16- and 64-bit headers */
    unsigned char p[300], f[1024];
    memset(p, 'q', sizeof p);
    size_t n = mk(f, 1, WSFRAME_TEXT, p, 3);
    n += mk(f + n, 1, WSFRAME_TEXT, p, 300);
    n += mkf(f + n, 1, 0, WSFRAME_TEXT, 1, p, 7, 8);
    for (size_t cut = 0; cut <= n; cut++) {
        unsigned char buf[1024];
        memcpy(buf, f, n);
        wsframe_rx rx;
        wsframe_rx_init(&rx, 0);
        size_t off = 0, got = 0;
        int msgs = 0;
        size_t ends[2] = {cut, n};
        for (int part = 0; part < 2; part++)
            while (off < ends[part]) {
                wsframe_ev ev;
                off += wsframe_feed(&rx, buf + off, ends[part] - off, &ev);
                assert_int_not_equal(ev.kind, WSFRAME_EV_ERROR);
                if (ev.kind == WSFRAME_EV_DATA) {
                    for (size_t i = 0; i < ev.len; i++)
                        assert_int_equal(ev.data[i], 'q');
                    got += ev.len;
                    msgs += ev.msg_end;
                }
            }
        assert_int_equal(msgs, 3);
        assert_int_equal(got, 3 + 300 + 7);
    }
}

static void test_control(void **state)
{
    (void)state;
    unsigned char f[1024];
    result r;
    /* a ping and a pong between the fragments of a message, then a close 1000 with a reason */
    size_t n = mk(f, 0, WSFRAME_TEXT, "ab", 2);
    n += mk(f + n, 1, WSFRAME_PING, "p1", 2);
    n += mk(f + n, 0, WSFRAME_CONT, "cd", 2);
    n += mk(f + n, 1, WSFRAME_PONG, "", 0);
    n += mk(f + n, 1, WSFRAME_CONT, "ef", 2);
    n += mk(f + n, 1, WSFRAME_CLOSE,
            "\x03\xe8"
            "bye",
            5);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.msgs, "abcdef|");
    assert_int_equal(r.nctl, 3);
    assert_int_equal(r.ctl_op[0], WSFRAME_PING);
    assert_int_equal(r.ctl_len[0], 2);
    assert_memory_equal(r.ctl_data[0], "p1", 2);
    assert_int_equal(r.ctl_op[1], WSFRAME_PONG);
    assert_int_equal(r.ctl_op[2], WSFRAME_CLOSE);
    assert_int_equal(r.ctl_code[2], 1000);
    assert_memory_equal(r.ctl_data[2] + 2, "bye", 3);
    result_free(&r);
    /* a close without a code; a 125-byte ping */
    unsigned char p[126];
    memset(p, 'x', sizeof p);
    n = mk(f, 1, WSFRAME_PING, p, 125);
    n += mk(f + n, 1, WSFRAME_CLOSE, "", 0);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.nctl, 2);
    assert_int_equal(r.ctl_len[0], 125);
    assert_int_equal(r.ctl_code[1], WSFRAME_NO_STATUS);
    result_free(&r);
    /* refused: a fragmented ping, a 126-byte one (16-bit form), a 1-byte close, close codes
     * that may not be sent, a close reason that is not UTF-8 */
    struct {
        int fin, op;
        const char *p;
        size_t len;
        int want;
    } bad[] = {
        {0, WSFRAME_PING, "x", 1, WSFRAME_PROTOCOL},
        {1, WSFRAME_PING, (const char *)p, 126, WSFRAME_PROTOCOL},
        {1, WSFRAME_CLOSE, "\x03", 1, WSFRAME_PROTOCOL},
        {1, WSFRAME_CLOSE, "\x03\xe7", 2, WSFRAME_PROTOCOL}, /* 999 */
        {1, WSFRAME_CLOSE, "\x03\xed", 2, WSFRAME_PROTOCOL}, /* 1005 */
        {1, WSFRAME_CLOSE, "\x03\xee", 2, WSFRAME_PROTOCOL}, /* 1006 */
        {1, WSFRAME_CLOSE, "\x13\x88", 2, WSFRAME_PROTOCOL}, /* 5000 */
        {1, WSFRAME_CLOSE, "\x03\xe8\xc3\x28", 4, WSFRAME_INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = mk(f, bad[i].fin, bad[i].op, bad[i].p, bad[i].len);
        run_all(f, n, 0, &r);
        assert_int_equal(r.err, bad[i].want);
        assert_int_equal(r.nctl, 0);
        result_free(&r);
    }
    /* codes that may be sent */
    assert_true(wsframe_close_code_ok(1000) && wsframe_close_code_ok(1011) &&
                wsframe_close_code_ok(3000) && wsframe_close_code_ok(4999));
    assert_false(wsframe_close_code_ok(1004) || wsframe_close_code_ok(1015) ||
                 wsframe_close_code_ok(2999) || wsframe_close_code_ok(0));
}

static void test_sequence(void **state)
{
    (void)state;
    unsigned char f[256];
    result r;
    struct {
        int fin1, op1, fin2, op2, rsv2;
    } bad[] = {
        {1, WSFRAME_CONT, 1, WSFRAME_TEXT, 0},   /* continuation with nothing started */
        {0, WSFRAME_TEXT, 1, WSFRAME_TEXT, 0},   /* a new message before the last ended */
        {0, WSFRAME_BINARY, 1, WSFRAME_TEXT, 0}, /* the same, other opcode */
        {1, WSFRAME_TEXT, 1, 0x3, 0},            /* reserved opcodes */
        {1, WSFRAME_TEXT, 1, 0x7, 0},
        {1, WSFRAME_TEXT, 1, 0xB, 0},
        {1, WSFRAME_TEXT, 1, 0xF, 0},
        {1, WSFRAME_TEXT, 1, WSFRAME_TEXT, 4}, /* RSV1 (no permessage-deflate) */
        {1, WSFRAME_TEXT, 1, WSFRAME_TEXT, 1}, /* RSV3 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = mk(f, bad[i].fin1, bad[i].op1, "ab", 2);
        n += mkf(f + n, bad[i].fin2, bad[i].rsv2, bad[i].op2, 1, "cd", 2, 0);
        run_all(f, n, 0, &r);
        assert_int_equal(r.err, WSFRAME_PROTOCOL);
        result_free(&r);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    unsigned char f[256];
    result r;
    /* a 4-byte character split across fragments: fine */
    size_t n = mk(f, 0, WSFRAME_TEXT, "a\xf0\x9f", 3);
    n += mk(f + n, 1, WSFRAME_CONT, "\x98\x80z", 3);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.msgs, "a\xf0\x9f\x98\x80z|");
    result_free(&r);
    /* not UTF-8 in text: 1007; in binary: taken */
    static const char *bad[] = {
        "\x7b\xc3\x28\x7d", /* the hostile client's: a lead byte, then no continuation */
        "\xc0\x80",         /* overlong */
        "\xe0\x80\x80",     /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xff",             /* never in UTF-8 */
        "ok\xe2\x82",       /* cut short at the end of the message */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = mk(f, 1, WSFRAME_TEXT, bad[i], strlen(bad[i]));
        run_all(f, n, 0, &r);
        assert_int_equal(r.err, WSFRAME_INVALID);
        assert_int_equal(r.nmsgs, 0);
        result_free(&r);
        n = mk(f, 1, WSFRAME_BINARY, bad[i], strlen(bad[i]));
        run_all(f, n, 0, &r);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.nmsgs, 1);
        result_free(&r);
    }
    /* cut short at the end of a fragment is fine until the message ends */
    n = mk(f, 0, WSFRAME_TEXT, "\xe2\x82", 2);
    n += mk(f + n, 1, WSFRAME_CONT, "\xac", 1);
    run_all(f, n, 0, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.msgs, "\xe2\x82\xac|");
    result_free(&r);
}

static void test_server_header(void **state)
{
    (void)state;
    static const uint64_t lens[] = {0, 125, 126, 65535, 65536, 1ull << 40};
    static const size_t hl[] = {2, 2, 4, 4, 10, 10};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char h[WSFRAME_HDR_MAX];
        assert_int_equal(wsframe_server_header(h, WSFRAME_TEXT, lens[i]), hl[i]);
        wsframe_hdr hd;
        assert_int_equal(wsframe_header(h, hl[i], &hd), 0);
        assert_true(hd.len == lens[i]);
        assert_int_equal(hd.fin, 1);
        assert_int_equal(hd.opcode, WSFRAME_TEXT);
        assert_int_equal(hd.masked, 0);
        assert_int_equal(hd.hlen, hl[i]);
        assert_int_equal(wsframe_header(h, hl[i] - 1, &hd), ERR_NODATA);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masked),  cmocka_unit_test(test_unmasked),
        cmocka_unit_test(test_lengths), cmocka_unit_test(test_split_headers),
        cmocka_unit_test(test_control), cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_utf8),    cmocka_unit_test(test_server_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
