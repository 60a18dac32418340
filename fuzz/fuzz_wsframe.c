/* libFuzzer target for wsframe (what a WebSocket client sends, decoded by the server). Input:
 * the first byte picks the piece size (1 to 64 bytes per read) and the message cap (bit 7:
 * 100 bytes, else none), the rest is the byte stream. The stream is decoded twice, whole and
 * in pieces; checks: no event reaches past the bytes given, a message never exceeds the cap,
 * a control payload never exceeds 125 bytes, an error is sticky, and both decodings agree on
 * the whole messages, the control frames and the error (pieces of a message cut short by an
 * error may differ: a piece goes out as soon as it is checked). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"
#include "fuzzutil.h"

typedef struct outcome {
    uint64_t msg_bytes, msgs, ctls, ctl_bytes; /* whole messages and control frames */
    uint32_t hash, ctl_hash;                   /* of their bytes, in order */
    int err;
} outcome;

static uint32_t mix(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void decode(const unsigned char *in, size_t n, size_t piece, size_t max, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->hash = o->ctl_hash = 2166136261u;
    unsigned char *buf = (unsigned char *)fuzz_copy(in, n);
    if (!buf)
        abort();
    wsframe_rx rx;
    wsframe_rx_init(&rx, max);
    uint64_t cur = 0;            /* bytes of the message in progress */
    uint32_t cur_hash = o->hash; /* and their hash, from the last whole one's */
    size_t off = 0;
    while (off < n && !o->err) {
        size_t end = piece && off + piece < n ? off + piece : n;
        while (off < end && !o->err) {
            wsframe_ev ev;
            size_t used = wsframe_feed(&rx, buf + off, end - off, &ev);
            if (used > end - off)
                abort();
            switch (ev.kind) {
            case WSFRAME_EV_NONE:
                if (off + used != end)
                    abort();
                break;
            case WSFRAME_EV_DATA:
                if (ev.data < buf + off || ev.data + ev.len > buf + off + used)
                    abort();
                if (ev.opcode != WSFRAME_TEXT && ev.opcode != WSFRAME_BINARY)
                    abort();
                cur += ev.len;
                if (max && cur > max)
                    abort();
                cur_hash = mix(cur_hash, ev.data, ev.len);
                if (ev.msg_end) {
                    o->msgs++;
                    o->msg_bytes += cur;
                    o->hash = mix(cur_hash, (const unsigned char *)"|", 1);
                    cur = 0;
                    cur_hash = o->hash;
                }
                break;
            case WSFRAME_EV_CONTROL:
                if (ev.len > WSFRAME_CTL_MAX || !(ev.opcode & 8))
                    abort();
                o->ctls++;
                o->ctl_bytes += ev.len;
                o->ctl_hash = mix(o->ctl_hash, ev.data, ev.len);
                break;
            case WSFRAME_EV_ERROR: {
                if (ev.code != WSFRAME_PROTOCOL && ev.code != WSFRAME_INVALID &&
                    ev.code != WSFRAME_TOO_BIG)
                    abort();
                o->err = ev.code;
                wsframe_ev again;
                if (wsframe_feed(&rx, buf, n, &again) != 0 || again.kind != WSFRAME_EV_ERROR ||
                    again.code != ev.code)
                    abort();
                break;
            }
            default:
                abort();
            }
            off += used;
        }
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = 1 + (data[0] & 63), max = (data[0] & 0x80) ? 100 : 0;
    outcome whole, pieces;
    decode(data + 1, size - 1, 0, max, &whole);
    decode(data + 1, size - 1, piece, max, &pieces);
    if (memcmp(&whole, &pieces, sizeof whole))
        abort();
    return 0;
}
