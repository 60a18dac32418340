/*
 * fuzz_logfollow: a followed log file is outside input, and so is what a stat shows of it.
 * The first byte picks the line cap; then each op byte is a stat result (the path: exists or
 * not, same or another inode, a size) fed through logfollow_classify and logfollow_step as
 * follow.c does, or a read of arbitrary bytes, or an EOF. Checked on every step: the state
 * stays in range, an impossible cell changes nothing, no emitted line is longer than the cap or
 * holds a newline, lines and pieces add up. The rest of some inputs goes to the journal's JSON
 * parser (journal_parse_message), which must never write past its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "logfollow.h"

typedef struct chk {
    size_t cap;
    uint64_t lines, pieces;
} chk;

static void on_line(void *ud, const char *line, size_t len, int cont)
{
    chk *c = ud;
    if (len > c->cap || memchr(line, '\n', len))
        abort();
    if (cont)
        c->pieces++;
    else
        c->lines++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (data[0] == 'J') { /* the journal's parser */
        char out[64], cur[32];
        size_t n = 0;
        journal_parse_message((const char *)data + 1, size - 1, out, sizeof out, &n, cur,
                              sizeof cur);
        if (n > sizeof out)
            abort();
        return 0;
    }
    chk c = {LOGFOLLOW_LINE_MIN + data[0] % 64, 0, 0};
    logfollow lf;
    if (logfollow_init(&lf, c.cap, on_line, &c) != 0)
        abort();
    int have_fd = 0;
    uint64_t ino = 1, fsize = 0;
    size_t i = 1;
    while (i < size) {
        uint8_t op = data[i++];
        logfollow_state before = lf.state;
        uint64_t off_before = logfollow_offset(&lf);
        unsigned acts;
        if ((op & 3) == 0 && i < size) { /* a read of up to 32 bytes */
            size_t n = op >> 3;
            if (n > size - i)
                n = size - i;
            if (have_fd) {
                logfollow_feed(&lf, (const char *)data + i, n);
                if (logfollow_offset(&lf) > fsize)
                    fsize = logfollow_offset(&lf);
            }
            i += n;
            continue;
        }
        if ((op & 3) == 1) { /* EOF */
            acts = logfollow_step(&lf, LOGFOLLOW_EV_EOF);
        } else { /* a stat: exists?, the same inode?, a size */
            logfollow_stat ps = {(op & 4) != 0, 1, (op & 8) ? ino + 1 : ino, 0};
            uint64_t sz = (uint64_t)(op >> 4) * 7;
            ps.size = sz;
            logfollow_stat fs = {1, 1, lf.ino, have_fd ? fsize : 0};
            if ((op & 3) == 3)
                fs.size = sz; /* the open file itself changed */
            logfollow_event ev = logfollow_classify(&lf, &ps, have_fd ? &fs : NULL);
            if ((unsigned)ev >= LOGFOLLOW_NEVENTS)
                abort();
            acts = logfollow_step(&lf, ev);
            if ((acts & LOGFOLLOW_A_OPEN) && ps.exists) {
                if (op & 8)
                    ino++;
                logfollow_stat st = {1, 1, ino, ps.size};
                logfollow_opened(&lf, &st, op & 1, (op & 2) ? UINT64_MAX : ps.size / 2);
                have_fd = 1;
                fsize = ps.size;
            } else if (acts & LOGFOLLOW_A_OPEN) {
                logfollow_open_failed(&lf);
            }
        }
        if ((unsigned)lf.state >= LOGFOLLOW_NSTATES)
            abort();
        if ((acts & LOGFOLLOW_A_IMPOSSIBLE) &&
            (lf.state != before || logfollow_offset(&lf) != off_before))
            abort();
        if (acts & LOGFOLLOW_A_CLOSE)
            have_fd = 0;
        if (lf.state == LOGFOLLOW_ABSENT)
            have_fd = 0;
    }
    logfollow_flush(&lf);
    if (c.lines != lf.st.lines || c.pieces != lf.st.pieces || lf.blen != 0)
        abort();
    logfollow_free(&lf);
    return 0;
}
