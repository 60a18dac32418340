/*
 * book: the local L2 book of one symbol (see book.h). Two sorted arrays of levels per book;
 * every update goes through the transition table below.
 */
#include "book.h"

#include <string.h>

#include "errcode.h"

/* The sequence rules, one cell per (state, event). The result names the action: RESET
 * replaces the book, APPLIED applies the delta, GAP clears the book, the others change no
 * level. */
static const book_transition table[BOOK_NSTATES][BOOK_NEVENTS] = {
    [BOOK_EMPTY] =
        {
            [BOOK_EV_SNAPSHOT] = {BOOK_LIVE, BOOK_RESET},
            [BOOK_EV_DELTA] = {BOOK_RESYNC, BOOK_NO_SNAPSHOT},
            /* impossible (no last u to miss): as a delta */
            [BOOK_EV_DELTA_GAP] = {BOOK_RESYNC, BOOK_NO_SNAPSHOT},
        },
    [BOOK_LIVE] =
        {
            [BOOK_EV_SNAPSHOT] = {BOOK_LIVE, BOOK_RESET},
            [BOOK_EV_DELTA] = {BOOK_LIVE, BOOK_APPLIED},
            [BOOK_EV_DELTA_GAP] = {BOOK_RESYNC, BOOK_GAP},
        },
    [BOOK_RESYNC] =
        {
            [BOOK_EV_SNAPSHOT] = {BOOK_LIVE, BOOK_RESET},
            [BOOK_EV_DELTA] = {BOOK_RESYNC, BOOK_IGNORED},
            [BOOK_EV_DELTA_GAP] = {BOOK_RESYNC, BOOK_IGNORED},
        },
};

int book_init(book *b, const char *symbol, unsigned depth)
{
    if (!b || !symbol)
        return ERR_INVAL;
    size_t n = strlen(symbol);
    if (n == 0 || n > BOOK_SYMBOL_MAX || depth == 0 || depth > BOOK_MAX_LEVELS)
        return ERR_INVAL;
    memset(b, 0, sizeof *b);
    memcpy(b->symbol, symbol, n + 1);
    b->depth = depth;
    b->state = BOOK_EMPTY;
    return 0;
}

book_transition book_next(book_state s, book_event e)
{
    if ((unsigned)s >= BOOK_NSTATES || (unsigned)e >= BOOK_NEVENTS)
        return (book_transition){BOOK_RESYNC, BOOK_IGNORED};
    return table[s][e];
}

book_event book_classify(const book *b, const book_update *up)
{
    if (up->snapshot)
        return BOOK_EV_SNAPSHOT;
    if (b->state == BOOK_EMPTY || up->u == b->u + 1)
        return BOOK_EV_DELTA;
    return BOOK_EV_DELTA_GAP;
}

/* Whether price a stands before price b on side s. */
static inline int before(book_side s, int64_t a, int64_t b)
{
    return s == BOOK_BID ? a > b : a < b;
}

/* Inserts, replaces or (sz == 0) removes one level of side s. */
static void upsert(book *b, book_side s, book_level l)
{
    book_level *v = b->lv[s];
    size_t n = b->n[s], lo = 0, hi = n;
    while (lo < hi) { /* first index whose price is not before l.px */
        size_t mid = lo + (hi - lo) / 2;
        if (before(s, v[mid].px, l.px))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && v[lo].px == l.px) {
        if (l.sz > 0) {
            v[lo].sz = l.sz;
        } else {
            memmove(v + lo, v + lo + 1, (n - lo - 1) * sizeof *v);
            b->n[s] = n - 1;
        }
        return;
    }
    if (l.sz == 0)
        return;
    if (n == b->depth) { /* full: the far end goes, or the new level is the far end */
        b->stats.trimmed++;
        if (lo == n)
            return;
        n--;
    }
    memmove(v + lo + 1, v + lo, (n - lo) * sizeof *v);
    v[lo] = l;
    b->n[s] = n + 1;
}

static int valid(const book *b, const book_update *up)
{
    if (strcmp(b->symbol, up->symbol) != 0)
        return 0;
    for (int s = 0; s < 2; s++) {
        if (up->n[s] > BOOK_MAX_LEVELS)
            return 0;
        for (size_t i = 0; i < up->n[s]; i++)
            if (up->lv[s][i].px <= 0 || up->lv[s][i].sz < 0)
                return 0;
    }
    return 1;
}

static int is_crossed(const book *b)
{
    return b->n[BOOK_BID] && b->n[BOOK_ASK] && b->lv[BOOK_BID][0].px >= b->lv[BOOK_ASK][0].px;
}

int book_apply(book *b, const book_update *up, int64_t now_ms, book_result *res)
{
    if (!b || !up || !res || !valid(b, up))
        return ERR_INVAL;
    book_transition t = table[b->state][book_classify(b, up)];
    b->state = t.next;
    *res = t.result;
    switch (t.result) {
    case BOOK_RESET:
    case BOOK_APPLIED:
        if (t.result == BOOK_RESET) {
            b->n[BOOK_BID] = b->n[BOOK_ASK] = 0;
            b->stats.snapshots++;
        } else {
            b->stats.deltas++;
        }
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < up->n[s]; i++)
                upsert(b, (book_side)s, up->lv[s][i]);
        b->u = up->u;
        b->seq = up->seq;
        b->ts_ms = up->ts_ms;
        b->updated_ms = now_ms;
        b->crossed = is_crossed(b);
        if (b->crossed)
            b->stats.crossed++;
        break;
    case BOOK_GAP:
    case BOOK_NO_SNAPSHOT:
        b->n[BOOK_BID] = b->n[BOOK_ASK] = 0;
        b->crossed = 0;
        b->u = 0;
        b->stats.gaps++;
        break;
    case BOOK_IGNORED:
    default:
        b->stats.ignored++;
        break;
    }
    return 0;
}

int book_best(const book *b, book_side side, book_level *out)
{
    if (!b || !out || (unsigned)side > BOOK_ASK)
        return ERR_INVAL;
    if (b->state != BOOK_LIVE || b->n[side] == 0)
        return ERR_NODATA;
    *out = b->lv[side][0];
    return 0;
}

/* Both tops of a live, uncrossed book. */
static int tops(const book *b, book_level *bid, book_level *ask)
{
    if (!b)
        return ERR_INVAL;
    if (b->state != BOOK_LIVE || !b->n[BOOK_BID] || !b->n[BOOK_ASK])
        return ERR_NODATA;
    if (b->crossed)
        return ERR_BADSTATE;
    *bid = b->lv[BOOK_BID][0];
    *ask = b->lv[BOOK_ASK][0];
    return 0;
}

static int64_t mid_of(book_level bid, book_level ask)
{
    return bid.px + (ask.px - bid.px) / 2;
}

int book_mid(const book *b, int64_t *out)
{
    book_level bid, ask;
    int rc = out ? tops(b, &bid, &ask) : ERR_INVAL;
    if (rc == 0)
        *out = mid_of(bid, ask);
    return rc;
}

int book_microprice(const book *b, int64_t *out)
{
    book_level bid, ask;
    int rc = out ? tops(b, &bid, &ask) : ERR_INVAL;
    if (rc)
        return rc;
    __int128 den = (__int128)bid.sz + ask.sz;
    __int128 num = (__int128)bid.px * ask.sz + (__int128)ask.px * bid.sz;
    *out = den == 0 ? mid_of(bid, ask) : (int64_t)((num + den / 2) / den);
    return 0;
}

int book_spread(const book *b, int64_t *out)
{
    book_level bid, ask;
    int rc = out ? tops(b, &bid, &ask) : ERR_INVAL;
    if (rc == 0)
        *out = ask.px - bid.px;
    return rc;
}

int64_t book_age(const book *b, int64_t now_ms)
{
    if (!b || b->state != BOOK_LIVE)
        return INT64_MAX;
    return now_ms > b->updated_ms ? now_ms - b->updated_ms : 0;
}

const book_level *book_levels(const book *b, book_side side, size_t *n)
{
    if (!b || (unsigned)side > BOOK_ASK || b->state != BOOK_LIVE) {
        if (n)
            *n = 0;
        return b && (unsigned)side <= BOOK_ASK ? b->lv[side] : NULL;
    }
    if (n)
        *n = b->n[side];
    return b->lv[side];
}

int book_crossed(const book *b)
{
    return b && b->state == BOOK_LIVE && b->crossed;
}

int book_ready(const book *b)
{
    return b && b->state == BOOK_LIVE && !b->crossed && b->n[BOOK_BID] && b->n[BOOK_ASK];
}

const char *book_state_name(book_state s)
{
    static const char *const names[BOOK_NSTATES] = {"empty", "live", "resync"};
    return (unsigned)s < BOOK_NSTATES ? names[s] : "unknown";
}

const char *book_result_name(book_result r)
{
    static const char *const names[BOOK_NRESULTS] = {"applied", "reset", "gap", "no-snapshot",
                                                     "ignored"};
    return (unsigned)r < BOOK_NRESULTS ? names[r] : "unknown";
}
