/*
 * wsframe: the server side of RFC 6455 framing, as pure functions (bytes in, verdict out; no
 * I/O, no allocation, no time). wsrv reads a WebSocket connection and feeds every byte it gets
 * to wsframe_feed, in pieces of any size (a header split across reads is collected here); what
 * comes out is message data (unmasked in place), whole control frames, or the close code the
 * connection must end with.
 *
 * Refused (a WSFRAME_EV_ERROR event with the code to close with, after which the decoder
 * stays failed):
 *   - 1002 (protocol error): a frame without the mask bit (RFC 6455 5.1: a client MUST mask,
 *     a server MUST close), RSV bits set (no extension is negotiated), a reserved opcode, a
 *     fragmented control frame or one over 125 bytes, a 64-bit length with the top bit set, a
 *     continuation with no message started or a new message before the last one ended, a
 *     close frame with a 1-byte payload or a code that may not be sent (5.5.1, 7.4);
 *   - 1007 (invalid data): a text message, or a close reason, that is not UTF-8 (8.1), caught
 *     at the first bad byte, also across fragments;
 *   - 1009 (too big): a data message over max_msg bytes, caught from the frame header.
 * Threads: none of its own; a decoder belongs to one connection and one thread.
 */
#ifndef WSFRAME_H
#define WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSFRAME_HDR_MAX 14  /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WSFRAME_CTL_MAX 125 /* a control frame's payload at most (5.5) */

/* opcodes (5.2) */
enum {
    WSFRAME_CONT = 0x0,
    WSFRAME_TEXT = 0x1,
    WSFRAME_BINARY = 0x2,
    WSFRAME_CLOSE = 0x8,
    WSFRAME_PING = 0x9,
    WSFRAME_PONG = 0xA
};

/* close codes (7.4.1) */
#define WSFRAME_NORMAL     1000
#define WSFRAME_GOING_AWAY 1001
#define WSFRAME_PROTOCOL   1002
#define WSFRAME_NO_STATUS  1005 /* a close frame without a code: never sent */
#define WSFRAME_INVALID    1007
#define WSFRAME_TOO_BIG    1009

/* One frame header. */
typedef struct wsframe_hdr {
    int fin, rsv, opcode, masked;
    uint64_t len;         /* payload bytes */
    unsigned char key[4]; /* the mask key, when masked */
    size_t hlen;          /* bytes of the header */
} wsframe_hdr;

/* Parses the frame header at p (n bytes available). Returns 0 and fills *h; ERR_NODATA when n
 * is short of the whole header (give it more bytes); ERR_PARSE for a 64-bit length with the
 * top bit set (*h is then partly filled). Says nothing about whether the frame is allowed:
 * that is wsframe_feed's business. */
int wsframe_header(const unsigned char *p, size_t n, wsframe_hdr *h);

/* Writes the header of an unmasked server frame (FIN set) of len payload bytes into out
 * (WSFRAME_HDR_MAX bytes at least); returns its length (2, 4 or 10). */
size_t wsframe_server_header(unsigned char *out, int opcode, uint64_t len);

/* Whether a close code may be sent in a close frame (1000-1003, 1007-1011, 3000-4999). */
int wsframe_close_code_ok(unsigned code);

enum { WSFRAME_EV_NONE, WSFRAME_EV_DATA, WSFRAME_EV_CONTROL, WSFRAME_EV_ERROR };

typedef struct wsframe_ev {
    int kind;
    /* DATA: the message's opcode (TEXT or BINARY, also for its continuations); CONTROL:
     * CLOSE, PING or PONG */
    int opcode;
    /* DATA: a piece of the message, unmasked in the caller's buffer (len may be 0);
     * CONTROL: the whole payload, in the decoder (valid until the next wsframe_feed) */
    const unsigned char *data;
    size_t len;
    int msg_end; /* DATA: the last piece of the message */
    /* CONTROL CLOSE: the peer's code (WSFRAME_NO_STATUS when it sent none) */
    /* ERROR: the code to close the connection with */
    int code;
} wsframe_ev;

/* The decoder of one connection's input (what the client sends). */
typedef struct wsframe_rx {
    size_t max_msg;
    int failed; /* the code of the error given, 0 while fine */
    unsigned char hb[WSFRAME_HDR_MAX];
    size_t hn;      /* header bytes collected */
    int in_payload; /* the header is whole: payload bytes follow */
    wsframe_hdr h;
    uint64_t got;               /* payload bytes of this frame seen */
    int msg_op;                 /* opcode of the data message in progress, 0 when none */
    uint64_t msg_len;           /* its bytes so far */
    int u8_need;                /* UTF-8: continuation bytes still owed (text messages) */
    unsigned char u8_lo, u8_hi; /* the range of the next continuation byte */
    unsigned char ctl[WSFRAME_CTL_MAX];
    size_t ctl_len;
} wsframe_rx;

/* Sets up a decoder: data messages up to max_msg bytes (0: no cap below 2^63). */
void wsframe_rx_init(wsframe_rx *rx, size_t max_msg);

/* Consumes bytes of p[0..n) until one event, which it writes to *ev, and returns how many
 * bytes it consumed (call again with the rest). With n consumed and nothing to tell,
 * ev->kind is WSFRAME_EV_NONE. Masked payload is unmasked in place (p is written). After an
 * ERROR event every later call returns 0 with the same ERROR. */
size_t wsframe_feed(wsframe_rx *rx, unsigned char *p, size_t n, wsframe_ev *ev);

#endif
