/* logfollow: tail -F as a pure state table plus line framing. See logfollow.h. */
#include "logfollow.h"

#include <stdlib.h>
#include <string.h>

#include "errcode.h"

#define A_IMP LOGFOLLOW_A_IMPOSSIBLE
#define A_RD  LOGFOLLOW_A_READ

/* actions[state][event]: every change of a follower goes through here. */
static const logfollow_cell actions[LOGFOLLOW_NSTATES][LOGFOLLOW_NEVENTS] = {
    [LOGFOLLOW_ABSENT] =
        {
            [LOGFOLLOW_EV_APPEARED] = {LOGFOLLOW_OPEN, LOGFOLLOW_A_OPEN | A_RD},
            [LOGFOLLOW_EV_GREW] = {LOGFOLLOW_ABSENT, A_IMP},
            [LOGFOLLOW_EV_SAME] = {LOGFOLLOW_ABSENT, A_IMP},
            [LOGFOLLOW_EV_SHRANK] = {LOGFOLLOW_ABSENT, A_IMP},
            [LOGFOLLOW_EV_REPLACED] = {LOGFOLLOW_ABSENT, A_IMP},
            [LOGFOLLOW_EV_VANISHED] = {LOGFOLLOW_ABSENT, 0},
            [LOGFOLLOW_EV_EOF] = {LOGFOLLOW_ABSENT, A_IMP},
        },
    [LOGFOLLOW_OPEN] =
        {
            [LOGFOLLOW_EV_APPEARED] = {LOGFOLLOW_OPEN, A_IMP},
            [LOGFOLLOW_EV_GREW] = {LOGFOLLOW_OPEN, A_RD},
            [LOGFOLLOW_EV_SAME] = {LOGFOLLOW_OPEN, 0},
            /* copytruncate: what waits was the end of the old content */
            [LOGFOLLOW_EV_SHRANK] = {LOGFOLLOW_OPEN, LOGFOLLOW_A_FLUSH | LOGFOLLOW_A_REWIND | A_RD},
            /* rename rotation: the old file first, to its end */
            [LOGFOLLOW_EV_REPLACED] = {LOGFOLLOW_DRAINING, A_RD},
            [LOGFOLLOW_EV_VANISHED] = {LOGFOLLOW_DRAINING, A_RD},
            [LOGFOLLOW_EV_EOF] = {LOGFOLLOW_OPEN, 0},
        },
    [LOGFOLLOW_DRAINING] =
        {
            [LOGFOLLOW_EV_APPEARED] = {LOGFOLLOW_DRAINING, A_IMP},
            /* the path names the open file again (renamed back): nothing to switch to */
            [LOGFOLLOW_EV_GREW] = {LOGFOLLOW_OPEN, A_RD},
            [LOGFOLLOW_EV_SAME] = {LOGFOLLOW_OPEN, 0},
            [LOGFOLLOW_EV_SHRANK] = {LOGFOLLOW_OPEN, LOGFOLLOW_A_FLUSH | LOGFOLLOW_A_REWIND | A_RD},
            [LOGFOLLOW_EV_REPLACED] = {LOGFOLLOW_DRAINING, A_RD},
            [LOGFOLLOW_EV_VANISHED] = {LOGFOLLOW_DRAINING, A_RD},
            /* the old file is read to its end: close it and look at the path again */
            [LOGFOLLOW_EV_EOF] = {LOGFOLLOW_ABSENT,
                                  LOGFOLLOW_A_FLUSH | LOGFOLLOW_A_CLOSE | LOGFOLLOW_A_RESTAT},
        },
};

logfollow_cell logfollow_cell_of(logfollow_state s, logfollow_event ev)
{
    if ((unsigned)s >= LOGFOLLOW_NSTATES || (unsigned)ev >= LOGFOLLOW_NEVENTS) {
        logfollow_cell bad = {LOGFOLLOW_ABSENT, A_IMP};
        return bad;
    }
    return actions[s][ev];
}

const char *logfollow_state_name(logfollow_state s)
{
    static const char *const n[] = {"absent", "open", "draining"};
    return (unsigned)s < LOGFOLLOW_NSTATES ? n[s] : "unknown";
}

const char *logfollow_event_name(logfollow_event ev)
{
    static const char *const n[] = {"appeared", "grew",     "same", "shrank",
                                    "replaced", "vanished", "eof"};
    return (unsigned)ev < LOGFOLLOW_NEVENTS ? n[ev] : "unknown";
}

int logfollow_init(logfollow *lf, size_t line_cap, logfollow_line_fn fn, void *ud)
{
    memset(lf, 0, sizeof *lf);
    if (line_cap == 0)
        line_cap = LOGFOLLOW_LINE_DEFAULT;
    if (line_cap < LOGFOLLOW_LINE_MIN || line_cap > LOGFOLLOW_LINE_MAX)
        return ERR_RANGE;
    lf->buf = malloc(line_cap);
    if (!lf->buf)
        return ERR_NOMEM;
    lf->line_cap = line_cap;
    lf->state = LOGFOLLOW_ABSENT;
    lf->fn = fn;
    lf->ud = ud;
    return 0;
}

void logfollow_free(logfollow *lf)
{
    free(lf->buf);
    lf->buf = NULL;
    lf->blen = 0;
}

logfollow_event logfollow_classify(const logfollow *lf, const logfollow_stat *path,
                                   const logfollow_stat *open_file)
{
    if (lf->state == LOGFOLLOW_ABSENT)
        return path->exists ? LOGFOLLOW_EV_APPEARED : LOGFOLLOW_EV_VANISHED;
    if (!path->exists)
        return LOGFOLLOW_EV_VANISHED;
    if (path->dev != lf->dev || path->ino != lf->ino)
        return LOGFOLLOW_EV_REPLACED;
    uint64_t size = open_file && open_file->exists ? open_file->size : path->size;
    if (size > lf->offset)
        return LOGFOLLOW_EV_GREW;
    if (size < lf->offset)
        return LOGFOLLOW_EV_SHRANK;
    return LOGFOLLOW_EV_SAME;
}

static void emit(logfollow *lf, const char *p, size_t n, int cont)
{
    if (cont)
        lf->st.pieces++;
    else
        lf->st.lines++;
    if (lf->fn)
        lf->fn(lf->ud, p, n, cont);
}

void logfollow_flush(logfollow *lf)
{
    if (lf->blen)
        emit(lf, lf->buf, lf->blen, lf->cont);
    lf->blen = 0;
    lf->cont = 0;
}

unsigned logfollow_step(logfollow *lf, logfollow_event ev)
{
    logfollow_cell c = logfollow_cell_of(lf->state, ev);
    if (c.acts & A_IMP) {
        lf->st.impossible++;
        return A_IMP;
    }
    if (c.acts & LOGFOLLOW_A_FLUSH)
        logfollow_flush(lf);
    if (c.acts & LOGFOLLOW_A_REWIND) {
        lf->offset = 0;
        lf->tail_len = 0;
        lf->st.truncations++;
    }
    if (lf->state == LOGFOLLOW_DRAINING && c.next == LOGFOLLOW_ABSENT)
        lf->st.rotations++;
    if (c.next == LOGFOLLOW_ABSENT) {
        lf->dev = lf->ino = 0;
        lf->offset = 0;
        lf->tail_len = 0;
    }
    lf->state = c.next;
    return c.acts & ~(unsigned)(LOGFOLLOW_A_FLUSH | LOGFOLLOW_A_REWIND);
}

void logfollow_opened(logfollow *lf, const logfollow_stat *st, int from_end, uint64_t start_at)
{
    lf->state = LOGFOLLOW_OPEN;
    lf->dev = st->dev;
    lf->ino = st->ino;
    if (start_at != UINT64_MAX)
        lf->offset = start_at <= st->size ? start_at : 0;
    else
        lf->offset = from_end && !lf->opened_once ? st->size : 0;
    lf->opened_once = 1;
    lf->tail_len = 0;
}

void logfollow_open_failed(logfollow *lf)
{
    lf->state = LOGFOLLOW_ABSENT;
    lf->dev = lf->ino = 0;
    lf->offset = 0;
}

void logfollow_feed(logfollow *lf, const char *data, size_t len)
{
    lf->offset += len;
    lf->st.bytes += len;
    if (len >= LOGFOLLOW_TAIL) {
        memcpy(lf->tail, data + len - LOGFOLLOW_TAIL, LOGFOLLOW_TAIL);
        lf->tail_len = LOGFOLLOW_TAIL;
    } else {
        size_t keep = lf->tail_len + len > LOGFOLLOW_TAIL ? LOGFOLLOW_TAIL - len : lf->tail_len;
        memmove(lf->tail, lf->tail + lf->tail_len - keep, keep);
        memcpy(lf->tail + keep, data, len);
        lf->tail_len = keep + len;
    }
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t k = nl ? (size_t)(nl - data) : len;
        int direct = nl && lf->blen == 0 && k <= lf->line_cap;
        if (direct) {
            emit(lf, data, k, lf->cont); /* a whole line in the bytes: no copy */
            data += k;
            len -= k;
        } else {
            while (k) {
                size_t room = lf->line_cap - lf->blen;
                if (room == 0) { /* a full piece and more of the line: the piece goes out */
                    emit(lf, lf->buf, lf->blen, lf->cont);
                    lf->blen = 0;
                    lf->cont = 1;
                    room = lf->line_cap;
                }
                size_t t = k < room ? k : room;
                memcpy(lf->buf + lf->blen, data, t);
                lf->blen += t;
                data += t;
                len -= t;
                k -= t;
            }
            if (nl)
                emit(lf, lf->buf, lf->blen, lf->cont);
        }
        if (!nl)
            break;
        lf->blen = 0;
        lf->cont = 0;
        data++; /* the '\n' */
        len--;
    }
}

uint64_t logfollow_offset(const logfollow *lf)
{
    return lf->offset;
}
