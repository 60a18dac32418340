/*
 * orders: the order table, its state machine (one actions[state][event] table), the execId set
 * and the positions. See orders.h for the contract and docs/mmbot-internals.md for the table.
 *
 * Storage is fixed at orders_new: ORDERS_MAX_TRACKED order slots and ORDERS_MAX_FILLS execIds,
 * each found through an open-addressing index (linear probing, backward-shift deletion), so that
 * nothing is allocated per event; every page of it is touched there, so that it is resident
 * from the start.
 */
#include "orders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "prefault.h"

#define ORDER_INDEX_SIZE 1024  /* power of two, >= 2 x ORDERS_MAX_TRACKED */
#define FILL_INDEX_SIZE  16384 /* power of two, >= 2 x ORDERS_MAX_FILLS */

/* ---- a string-keyed open-addressing index over a caller's entries ---- */

typedef const char *(*key_fn)(const void *ctx, uint32_t i);

typedef struct sindex {
    uint32_t *slot; /* entry index + 1; 0: empty */
    size_t mask;
} sindex;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The position of key in the index, or of the empty slot where it would go. */
static size_t sindex_pos(const sindex *x, const char *key, key_fn kf, const void *ctx)
{
    size_t i = (size_t)hash_str(key) & x->mask;
    while (x->slot[i] && strcmp(kf(ctx, x->slot[i] - 1), key) != 0)
        i = (i + 1) & x->mask;
    return i;
}

static long sindex_find(const sindex *x, const char *key, key_fn kf, const void *ctx)
{
    size_t i = sindex_pos(x, key, kf, ctx);
    return x->slot[i] ? (long)(x->slot[i] - 1) : -1;
}

/* The key must not be there yet; the index is never more than half full. */
static void sindex_put(sindex *x, const char *key, uint32_t entry, key_fn kf, const void *ctx)
{
    x->slot[sindex_pos(x, key, kf, ctx)] = entry + 1;
}

static void sindex_del(sindex *x, const char *key, key_fn kf, const void *ctx)
{
    size_t i = sindex_pos(x, key, kf, ctx);
    if (!x->slot[i])
        return;
    /* backward-shift deletion keeps every probe sequence unbroken */
    size_t j = i;
    for (;;) {
        j = (j + 1) & x->mask;
        if (!x->slot[j])
            break;
        size_t home = (size_t)hash_str(kf(ctx, x->slot[j] - 1)) & x->mask;
        /* move j back to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            x->slot[i] = x->slot[j];
            i = j;
        }
    }
    x->slot[i] = 0;
}

/* ---- the table ---- */

struct orders {
    orders_cfg cfg;
    uint64_t seq;
    orders_order ord[ORDERS_MAX_TRACKED];
    unsigned char used[ORDERS_MAX_TRACKED];
    uint32_t ord_slots[ORDER_INDEX_SIZE];
    sindex ord_ix;
    char fill_id[ORDERS_MAX_FILLS][ORDERS_EXEC_ID_MAX + 1];
    size_t fill_head, fill_n; /* ring: the oldest is at (head - n) mod cap */
    uint32_t fill_slots[FILL_INDEX_SIZE];
    sindex fill_ix;
    orders_position pos[ORDERS_MAX_SYMBOLS];
    size_t npos;
    orders_stats st;
    int64_t expire_at; /* no terminal order expires before this (a lower bound; 0: unknown) */
};

static const char *ord_key(const void *ctx, uint32_t i)
{
    return ((const orders *)ctx)->ord[i].link_id;
}

static const char *fill_key(const void *ctx, uint32_t i)
{
    return ((const orders *)ctx)->fill_id[i];
}

static int valid_chars(const char *s, size_t max, int dash_ok)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || (dash_ok && c == '-');
        if (!ok)
            return 0;
    }
    return 1;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return ERR_INVAL;
    memcpy(dst, src ? src : "", n);
    dst[n] = 0;
    return 0;
}

void orders_cfg_default(orders_cfg *c)
{
    memset(c, 0, sizeof *c);
    copy_str(c->prefix, sizeof c->prefix, "mm");
    copy_str(c->run_id, sizeof c->run_id, "0");
    c->max_active = 100;
    c->retention_ms = 60000;
}

int orders_new(const orders_cfg *c, orders **out, char *msg, size_t msg_cap)
{
    *out = NULL;
    const char *bad = NULL;
    if (!valid_chars(c->prefix, ORDERS_PREFIX_MAX, 1))
        bad = "prefix";
    else if (!valid_chars(c->run_id, ORDERS_RUN_ID_MAX, 0))
        bad = "run id";
    else if (c->max_active < 1 || c->max_active >= ORDERS_MAX_TRACKED)
        bad = "max active";
    else if (c->retention_ms < 0)
        bad = "retention";
    if (bad) {
        if (msg_cap)
            snprintf(msg, msg_cap, "orders: bad %s: %s", bad, errcode_str(ERR_INVAL));
        return ERR_INVAL;
    }
    orders *o = calloc(1, sizeof *o);
    if (!o)
        return ERR_NOMEM;
    prefault(o, sizeof *o); /* resident from the start: no growth as the rings fill */
    o->cfg = *c;
    o->ord_ix.slot = o->ord_slots;
    o->ord_ix.mask = ORDER_INDEX_SIZE - 1;
    o->fill_ix.slot = o->fill_slots;
    o->fill_ix.mask = FILL_INDEX_SIZE - 1;
    *out = o;
    return 0;
}

void orders_free(orders *o)
{
    free(o);
}

static const char *const state_names[ORDERS_NSTATES] = {
    "pending-new", "new",    "partially-filled", "pending-amend", "pending-cancel",
    "unknown",     "filled", "cancelled",        "rejected"};

static const char *const event_names[ORDERS_NEVENTS] = {"send",
                                                        "ack",
                                                        "stream-new",
                                                        "stream-partially-filled",
                                                        "stream-filled",
                                                        "stream-cancelled",
                                                        "stream-rejected",
                                                        "amend-sent",
                                                        "amend-ok",
                                                        "amend-refused",
                                                        "cancel-sent",
                                                        "cancel-gone",
                                                        "cancel-refused",
                                                        "ambiguous",
                                                        "query-found",
                                                        "query-not-found",
                                                        "missing",
                                                        "execution"};

static const char *const status_names[] = {"New", "PartiallyFilled", "Filled", "Cancelled",
                                           "Rejected"};

const char *orders_state_name(orders_state s)
{
    return (unsigned)s < ORDERS_NSTATES ? state_names[s] : "invalid";
}

const char *orders_event_name(orders_event e)
{
    return (unsigned)e < ORDERS_NEVENTS ? event_names[e] : "invalid";
}

const char *orders_status_name(orders_status s)
{
    return (unsigned)s <= ORDERS_ST_REJECTED ? status_names[s] : "invalid";
}

int orders_status_parse(const char *name, orders_status *out)
{
    if (!name)
        return ERR_PARSE;
    for (unsigned i = 0; i <= ORDERS_ST_REJECTED; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (orders_status)i;
            return 0;
        }
    }
    if (strcmp(name, "PartiallyFilledCanceled") == 0) {
        *out = ORDERS_ST_CANCELLED;
        return 0;
    }
    return ERR_PARSE;
}

orders_event orders_status_event(orders_status s)
{
    switch (s) {
    case ORDERS_ST_NEW:
        return ORDERS_EV_NEW;
    case ORDERS_ST_PARTIAL:
        return ORDERS_EV_PARTIAL;
    case ORDERS_ST_FILLED:
        return ORDERS_EV_FILLED;
    case ORDERS_ST_CANCELLED:
        return ORDERS_EV_CANCELLED;
    case ORDERS_ST_REJECTED:
    default:
        return ORDERS_EV_REJECTED;
    }
}

int orders_state_terminal(orders_state s)
{
    return s == ORDERS_FILLED || s == ORDERS_CANCELLED || s == ORDERS_REJECTED;
}

int orders_is_ours(const orders *o, const char *link_id)
{
    size_t n = strlen(o->cfg.prefix);
    return link_id && strncmp(link_id, o->cfg.prefix, n) == 0;
}

int orders_is_this_run(const orders *o, const char *link_id)
{
    size_t np = strlen(o->cfg.prefix), nr = strlen(o->cfg.run_id);
    return orders_is_ours(o, link_id) && strncmp(link_id + np, o->cfg.run_id, nr) == 0 &&
           link_id[np + nr] == '-';
}

/* ---- the state machine ---- */

typedef enum act {
    A_BAD,          /* refused: ERR_BADSTATE, nothing changes */
    A_NOP,          /* accepted, nothing changes (duplicate, late, stale) */
    A_CUM,          /* terminal duplicate: only cumExecQty may grow */
    A_SENT,         /* the create leaves: once */
    A_ACK,          /* records orderId only */
    A_LIVE_NEW,     /* -> new */
    A_LIVE_PARTIAL, /* -> partially-filled (cumExecQty never decreases) */
    A_HOLD,         /* pending-cancel: remember the order is live, stay */
    A_AMEND_STREAM, /* pending-amend: the stream confirms the amend, or is older than it */
    A_FILLED,       /* -> filled */
    A_CANCELLED,    /* -> cancelled */
    A_REJECT,       /* -> rejected, unless the order was ever live */
    A_CORRECT,      /* terminal inferred from a reply: the stream's word replaces it; else A_CUM */
    A_CORRECT_BAD,  /* the same; else refused */
    A_AMEND_SENT,   /* -> pending-amend */
    A_AMEND_OK,     /* the amend stands: back to live with the new values */
    A_AMEND_BACK,   /* the amend was refused: back to live with the old values */
    A_CANCEL_SENT,  /* -> pending-cancel */
    A_CANCEL_GONE,  /* 110001/110008: cancelled if it was ever live, else unknown */
    A_CANCEL_BACK,  /* the cancel was refused: back to the state before */
    A_UNKNOWN,      /* -> unknown */
    A_QUERY,        /* a query found it: the cell of its status decides */
    A_NOTFOUND,     /* unknown and not found: cancelled if it was ever live, else rejected */
    A_EXEC,         /* an execution: executed quantity grows; filled when complete */
} act;

#define ROW(send, ack, snew, spart, sfill, scanc, srej, amsent, amok, amref, cxsent, cxgone,       \
            cxref, ambig, qfound, qnot, miss, exec)                                                \
    {                                                                                              \
        send, ack, snew, spart, sfill, scanc, srej, amsent, amok, amref, cxsent, cxgone, cxref,    \
            ambig, qfound, qnot, miss, exec                                                        \
    }

/* clang-format off */
static const unsigned char actions[ORDERS_NSTATES][ORDERS_NEVENTS] = {
    /*               send    ack    new             partial         filled    cancelled    rejected       amd-sent      amd-ok      amd-ref       cx-sent        cx-gone        cx-ref         ambig      q-found  q-not       missing    exec */
    [ORDERS_PENDING_NEW] =
        ROW(A_SENT, A_ACK, A_LIVE_NEW,     A_LIVE_PARTIAL, A_FILLED, A_CANCELLED, A_REJECT,      A_BAD,        A_BAD,      A_BAD,        A_CANCEL_SENT, A_BAD,         A_BAD,         A_UNKNOWN, A_QUERY, A_NOP,      A_UNKNOWN, A_EXEC),
    [ORDERS_NEW] =
        ROW(A_BAD,  A_ACK, A_NOP,          A_LIVE_PARTIAL, A_FILLED, A_CANCELLED, A_BAD,         A_AMEND_SENT, A_NOP,      A_NOP,        A_CANCEL_SENT, A_BAD,         A_BAD,         A_NOP,     A_QUERY, A_NOP,      A_UNKNOWN, A_EXEC),
    [ORDERS_PARTIAL] =
        ROW(A_BAD,  A_ACK, A_NOP,          A_LIVE_PARTIAL, A_FILLED, A_CANCELLED, A_BAD,         A_AMEND_SENT, A_NOP,      A_NOP,        A_CANCEL_SENT, A_BAD,         A_BAD,         A_NOP,     A_QUERY, A_NOP,      A_UNKNOWN, A_EXEC),
    [ORDERS_PENDING_AMEND] =
        ROW(A_BAD,  A_ACK, A_AMEND_STREAM, A_AMEND_STREAM, A_FILLED, A_CANCELLED, A_BAD,         A_BAD,        A_AMEND_OK, A_AMEND_BACK, A_CANCEL_SENT, A_BAD,         A_BAD,         A_UNKNOWN, A_QUERY, A_NOP,      A_UNKNOWN, A_EXEC),
    [ORDERS_PENDING_CANCEL] =
        ROW(A_BAD,  A_ACK, A_HOLD,         A_HOLD,         A_FILLED, A_CANCELLED, A_REJECT,      A_BAD,        A_AMEND_OK, A_AMEND_BACK, A_BAD,         A_CANCEL_GONE, A_CANCEL_BACK, A_UNKNOWN, A_QUERY, A_NOP,      A_UNKNOWN, A_EXEC),
    [ORDERS_UNKNOWN] =
        ROW(A_BAD,  A_ACK, A_LIVE_NEW,     A_LIVE_PARTIAL, A_FILLED, A_CANCELLED, A_REJECT,      A_BAD,        A_NOP,      A_NOP,        A_BAD,         A_NOP,         A_NOP,         A_NOP,     A_QUERY, A_NOTFOUND, A_NOP,     A_EXEC),
    [ORDERS_FILLED] =
        ROW(A_BAD,  A_ACK, A_NOP,          A_NOP,          A_CUM,    A_CUM,       A_BAD,         A_BAD,        A_NOP,      A_NOP,        A_BAD,         A_NOP,         A_NOP,         A_NOP,     A_QUERY, A_NOP,      A_NOP,     A_EXEC),
    [ORDERS_CANCELLED] =
        ROW(A_BAD,  A_ACK, A_NOP,          A_NOP,          A_CORRECT, A_CORRECT,  A_BAD,         A_BAD,        A_NOP,      A_NOP,        A_BAD,         A_NOP,         A_NOP,         A_NOP,     A_QUERY, A_NOP,      A_NOP,     A_EXEC),
    [ORDERS_REJECTED] =
        ROW(A_BAD,  A_ACK, A_CORRECT_BAD,  A_CORRECT_BAD,  A_CORRECT_BAD, A_CORRECT_BAD, A_NOP,  A_BAD,        A_NOP,      A_NOP,        A_BAD,         A_NOP,         A_NOP,         A_NOP,     A_QUERY, A_NOP,      A_NOP,     A_EXEC),
};
/* clang-format on */

/* Keeps the counts of tracked and active (non-terminal) orders as slots fill, empty and change
 * state (dtracked: +1 a slot filled, -1 emptied; was/is: whether the order counted as active
 * before and after), and their high-water marks: no scan of the table on any event. */
static void count_change(orders *o, int dtracked, int was_active, int is_active)
{
    o->st.tracked = (size_t)((long)o->st.tracked + dtracked);
    o->st.active = (size_t)((long)o->st.active + is_active - was_active);
    if (o->st.tracked > o->st.tracked_hwm)
        o->st.tracked_hwm = o->st.tracked;
    if (o->st.active > o->st.active_hwm)
        o->st.active_hwm = o->st.active;
}

/* A terminal order may expire from terminal_ms + retention on: orders_expire scans from then. */
static void note_terminal(orders *o, const orders_order *r)
{
    if (orders_state_terminal(r->state) && r->terminal_ms + o->cfg.retention_ms < o->expire_at)
        o->expire_at = r->terminal_ms + o->cfg.retention_ms;
}

static int qty_ge(double a, double b)
{
    return a >= b - 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

static int same_num(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

/* Raises cum_qty from a payload; 1 when it grew. */
static int take_cum(orders_order *r, const orders_update *u)
{
    if (u && u->cum_qty > r->cum_qty && !same_num(u->cum_qty, r->cum_qty)) {
        r->cum_qty = u->cum_qty;
        return 1;
    }
    return 0;
}

static void take_id(orders_order *r, const orders_update *u)
{
    if (u && u->order_id && u->order_id[0] && !r->order_id[0])
        copy_str(r->order_id, sizeof r->order_id, u->order_id);
}

static void go_terminal(orders_order *r, orders_state s, int inferred, int64_t now_ms)
{
    r->state = s;
    r->terminal_ms = now_ms;
    if (inferred)
        r->flags |= ORDERS_F_INFERRED;
    else
        r->flags &= ~(unsigned)ORDERS_F_INFERRED;
}

/* The stream's price and qty are the order's (an amend may have changed them). */
static void take_values(orders_order *r, const orders_update *u)
{
    if (u && u->price > 0)
        r->price = u->price;
    if (u && u->qty > 0)
        r->qty = u->qty;
    r->amend_price = r->amend_qty = 0;
}

static orders_state live_state(const orders_order *r)
{
    return r->cum_qty > 0 ? ORDERS_PARTIAL : ORDERS_NEW;
}

static int is_live_state(orders_state s)
{
    return s == ORDERS_NEW || s == ORDERS_PARTIAL;
}

/* The payload carries the price/qty the pending amend asked for. */
static int amend_confirmed(const orders_order *r, const orders_update *u)
{
    if (!u)
        return 0;
    if (r->amend_price > 0)
        return u->price > 0 && same_num(u->price, r->amend_price);
    return r->amend_qty > 0 && u->qty > 0 && same_num(u->qty, r->amend_qty);
}

static void apply_amend(orders_order *r)
{
    if (r->amend_price > 0)
        r->price = r->amend_price;
    if (r->amend_qty > 0)
        r->qty = r->amend_qty;
    r->amend_price = r->amend_qty = 0;
}

/* Runs one cell. Returns 0 or 1 (accepted; whether anything changed is judged by the caller) or
 * a negative code (refused). The execution quantity of ORDERS_EV_EXEC comes in exec_qty. */
static int run(orders *o, orders_order *r, orders_event ev, const orders_update *u, double exec_qty,
               int64_t now_ms, int depth)
{
    act a = (act)actions[r->state][ev];
    switch (a) {
    case A_BAD:
        return ERR_BADSTATE;
    case A_NOP:
        return 1;
    case A_CUM:
        return take_cum(r, u) ? 0 : 1;
    case A_SENT:
        if (r->flags & ORDERS_F_SENT)
            return ERR_BADSTATE; /* a create is never sent twice */
        r->flags |= ORDERS_F_SENT;
        r->sent_ms = now_ms;
        return 0;
    case A_ACK: {
        int had = r->order_id[0] != 0;
        take_id(r, u);
        return had || !r->order_id[0] ? 1 : 0;
    }
    case A_LIVE_NEW:
        take_id(r, u);
        take_cum(r, u);
        take_values(r, u);
        r->flags |= ORDERS_F_LIVE;
        r->state = live_state(r); /* a New older than a fill does not undo it */
        return 0;
    case A_LIVE_PARTIAL: {
        int grew = take_cum(r, u);
        take_id(r, u);
        take_values(r, u);
        r->flags |= ORDERS_F_LIVE;
        if (r->state == ORDERS_PARTIAL && !grew)
            return 1;
        r->state = ORDERS_PARTIAL;
        return 0;
    }
    case A_HOLD: {
        int grew = take_cum(r, u);
        int was = (r->flags & ORDERS_F_LIVE) != 0;
        take_id(r, u);
        r->flags |= ORDERS_F_LIVE;
        if (r->prev == ORDERS_PENDING_NEW || is_live_state(r->prev))
            r->prev = live_state(r);
        return grew || !was ? 0 : 1;
    }
    case A_AMEND_STREAM:
        take_id(r, u);
        take_cum(r, u);
        r->flags |= ORDERS_F_LIVE;
        if (amend_confirmed(r, u)) {
            apply_amend(r);
            r->state = live_state(r);
        } else {
            r->prev = live_state(r); /* older than the amend: keep waiting for its answer */
        }
        return 0;
    case A_FILLED:
        take_id(r, u);
        take_cum(r, u);
        if (r->cum_qty < r->qty)
            r->cum_qty = r->qty;
        r->flags |= ORDERS_F_LIVE;
        go_terminal(r, ORDERS_FILLED, 0, now_ms);
        return 0;
    case A_CANCELLED:
        take_id(r, u);
        take_cum(r, u);
        go_terminal(r, ORDERS_CANCELLED, 0, now_ms);
        return 0;
    case A_REJECT:
        if (r->flags & ORDERS_F_LIVE)
            return ERR_BADSTATE;
        take_id(r, u);
        go_terminal(r, ORDERS_REJECTED, 0, now_ms);
        return 0;
    case A_CORRECT:
    case A_CORRECT_BAD:
        if (!(r->flags & ORDERS_F_INFERRED)) {
            if (a == A_CORRECT_BAD)
                return ERR_BADSTATE;
            return take_cum(r, u) ? 0 : 1;
        }
        r->flags &= ~(unsigned)ORDERS_F_INFERRED;
        r->terminal_ms = 0;
        if (ev == ORDERS_EV_NEW || ev == ORDERS_EV_PARTIAL) {
            take_cum(r, u);
            take_id(r, u);
            r->flags |= ORDERS_F_LIVE;
            r->state = ev == ORDERS_EV_PARTIAL ? ORDERS_PARTIAL : live_state(r);
            return 0;
        }
        r->state = ORDERS_PARTIAL; /* not terminal for the moment; the cell below decides */
        return run(o, r, ev, u, exec_qty, now_ms, depth + 1);
    case A_AMEND_SENT:
        if (!u || (u->price <= 0 && u->qty <= 0))
            return ERR_INVAL;
        r->amend_price = u->price > 0 ? u->price : 0;
        r->amend_qty = u->qty > 0 ? u->qty : 0;
        r->prev = r->state;
        r->state = ORDERS_PENDING_AMEND;
        return 0;
    case A_AMEND_OK:
    case A_AMEND_BACK:
        if (r->state == ORDERS_PENDING_AMEND) {
            if (a == A_AMEND_OK)
                apply_amend(r);
            r->amend_price = r->amend_qty = 0;
            r->state = live_state(r);
            return 0;
        }
        if (r->prev == ORDERS_PENDING_AMEND) { /* a cancel went out meanwhile */
            if (a == A_AMEND_OK)
                apply_amend(r);
            r->amend_price = r->amend_qty = 0;
            r->prev = live_state(r);
            return 0;
        }
        return 1;
    case A_CANCEL_SENT:
        if (r->state == ORDERS_PENDING_NEW && !(r->flags & ORDERS_F_SENT))
            return ERR_BADSTATE; /* nothing left: there is nothing to cancel */
        r->prev = r->state;
        r->state = ORDERS_PENDING_CANCEL;
        return 0;
    case A_CANCEL_GONE:
        if (r->flags & ORDERS_F_LIVE) {
            go_terminal(r, ORDERS_CANCELLED, 1, now_ms);
        } else {
            /* never seen live: it may not be live yet (acknowledged before the state change) */
            r->prev = ORDERS_PENDING_CANCEL;
            r->state = ORDERS_UNKNOWN;
        }
        return 0;
    case A_CANCEL_BACK:
        r->state = r->prev;
        return 0;
    case A_UNKNOWN:
        if (r->state == ORDERS_PENDING_NEW && !(r->flags & ORDERS_F_SENT))
            return ERR_BADSTATE; /* nothing left, so nothing can be in doubt */
        r->prev = r->state;
        r->state = ORDERS_UNKNOWN;
        return 0;
    case A_QUERY: {
        if (!u || depth > 0)
            return ERR_INVAL;
        orders_event sev = orders_status_event(u->status);
        return run(o, r, sev, u, exec_qty, now_ms, depth + 1);
    }
    case A_NOTFOUND:
        go_terminal(r, (r->flags & ORDERS_F_LIVE) ? ORDERS_CANCELLED : ORDERS_REJECTED, 1, now_ms);
        return 0;
    case A_EXEC:
        r->exec_qty += exec_qty;
        if (r->exec_qty > r->cum_qty)
            r->cum_qty = r->exec_qty;
        if (orders_state_terminal(r->state)) {
            if (r->state == ORDERS_REJECTED && (r->flags & ORDERS_F_INFERRED)) {
                /* a fill proves the order lived */
                r->flags &= ~(unsigned)ORDERS_F_INFERRED;
                r->flags |= ORDERS_F_LIVE;
                r->terminal_ms = 0;
                r->prev = ORDERS_UNKNOWN;
                r->state = ORDERS_UNKNOWN;
            } else {
                return 0;
            }
        }
        r->flags |= ORDERS_F_LIVE;
        if (qty_ge(r->cum_qty, r->qty)) {
            go_terminal(r, ORDERS_FILLED, 0, now_ms);
        } else if (r->state == ORDERS_PENDING_NEW || r->state == ORDERS_NEW) {
            r->state = ORDERS_PARTIAL;
        } else if (r->state == ORDERS_PENDING_AMEND || r->state == ORDERS_PENDING_CANCEL) {
            if (r->prev == ORDERS_PENDING_NEW || is_live_state(r->prev))
                r->prev = ORDERS_PARTIAL;
        }
        return 0;
    }
    return ERR_BADSTATE;
}

static orders_order *find(const orders *o, const char *link_id)
{
    if (!link_id || !link_id[0])
        return NULL;
    long i = sindex_find(&o->ord_ix, link_id, ord_key, o);
    return i < 0 ? NULL : (orders_order *)&o->ord[i];
}

/* Runs an event through the table: a refusal restores the record as it was, an accepted
 * event that left the record as it was counts as a duplicate. */
static int dispatch(orders *o, orders_order *r, orders_event ev, const orders_update *u,
                    double exec_qty, int64_t now_ms)
{
    orders_order before;
    memcpy(&before, r, sizeof before);
    o->st.events++;
    int rc = run(o, r, ev, u, exec_qty, now_ms, 0);
    if (rc < 0) {
        memcpy(r, &before, sizeof before);
        o->st.refused++;
        return rc;
    }
    if (memcmp(&before, r, sizeof before) == 0)
        o->st.duplicates++;
    else
        r->updated_ms = now_ms;
    count_change(o, 0, !orders_state_terminal(before.state), !orders_state_terminal(r->state));
    note_terminal(o, r);
    return 0;
}

int orders_event_apply(orders *o, const char *link_id, orders_event ev, const orders_update *u,
                       int64_t now_ms)
{
    if ((unsigned)ev >= ORDERS_NEVENTS || ev == ORDERS_EV_EXEC)
        return ERR_INVAL;
    if (ev == ORDERS_EV_QUERY_FOUND && !u)
        return ERR_INVAL;
    orders_order *r = find(o, link_id);
    if (!r)
        return ERR_NOENT;
    return dispatch(o, r, ev, u, 0, now_ms);
}

/* ---- slots ---- */

static void drop_slot(orders *o, size_t i)
{
    count_change(o, -1, !orders_state_terminal(o->ord[i].state), 0);
    sindex_del(&o->ord_ix, o->ord[i].link_id, ord_key, o);
    o->used[i] = 0;
    memset(&o->ord[i], 0, sizeof o->ord[i]);
}

size_t orders_expire(orders *o, int64_t now_ms)
{
    size_t n = 0;
    if (now_ms < o->expire_at)
        return 0; /* nothing is old enough yet: no scan */
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        if (!o->used[i] || !orders_state_terminal(o->ord[i].state))
            continue;
        if (now_ms - o->ord[i].terminal_ms >= o->cfg.retention_ms) {
            drop_slot(o, i);
            n++;
        } else if (o->ord[i].terminal_ms + o->cfg.retention_ms < next) {
            next = o->ord[i].terminal_ms + o->cfg.retention_ms;
        }
    }
    o->expire_at = next;
    o->st.dropped_terminal += n;
    return n;
}

/* A free slot for a new order: expires old terminal ones, then drops the oldest terminal one
 * if needed. -1 (ERR_FULL counted) when max_active are live or no slot can be freed. */
static long take_slot(orders *o, int64_t now_ms)
{
    orders_expire(o, now_ms);
    if (o->st.active >= o->cfg.max_active) {
        o->st.full_refusals++;
        return -1;
    }
    long oldest = -1;
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        if (!o->used[i])
            return (long)i;
        if (orders_state_terminal(o->ord[i].state) &&
            (oldest < 0 || o->ord[i].terminal_ms < o->ord[oldest].terminal_ms))
            oldest = (long)i;
    }
    if (oldest < 0) {
        o->st.full_refusals++;
        return -1;
    }
    drop_slot(o, (size_t)oldest);
    o->st.dropped_terminal++;
    return oldest;
}

static int check_order_args(const char *symbol, double price, double qty)
{
    if (!symbol || !symbol[0] || strlen(symbol) > ORDERS_SYMBOL_MAX || !(price >= 0) ||
        !(qty > 0) || !isfinite(price) || !isfinite(qty))
        return ERR_INVAL;
    return 0;
}

/* The orderLinkId of sequence number seq: its length, or -1 when it does not fit 36 chars. */
static int format_link(const orders *o, uint64_t seq, char *id, size_t cap)
{
    int n = snprintf(id, cap, "%s%s-%llu", o->cfg.prefix, o->cfg.run_id, (unsigned long long)seq);
    return n < 0 || n > ORDERS_LINK_ID_MAX || (size_t)n >= cap ? -1 : n;
}

uint64_t orders_next_seq(const orders *o)
{
    return o->seq + 1;
}

int orders_link_id_of(const orders *o, uint64_t seq, char *out, size_t cap)
{
    char id[ORDERS_LINK_ID_MAX + 8];
    int n = seq ? format_link(o, seq, id, sizeof id) : -1;
    if (n < 0)
        return ERR_RANGE;
    if (cap <= (size_t)n)
        return ERR_INVAL;
    memcpy(out, id, (size_t)n + 1);
    return 0;
}

int orders_link_seq(const orders *o, const char *link_id, uint64_t *seq)
{
    if (!orders_is_this_run(o, link_id))
        return ERR_INVAL;
    const char *p = link_id + strlen(o->cfg.prefix) + strlen(o->cfg.run_id) + 1;
    uint64_t v = 0;
    if (!*p || *p == '0')
        return ERR_INVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return ERR_INVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *seq = v;
    return 0;
}

int orders_add(orders *o, const char *symbol, orders_side side, double price, double qty,
               int64_t now_ms, char *link, size_t link_cap)
{
    if (check_order_args(symbol, price, qty))
        return ERR_INVAL;
    char id[ORDERS_LINK_ID_MAX + 8];
    int n = format_link(o, o->seq + 1, id, sizeof id);
    if (n < 0)
        return ERR_RANGE; /* the sequence outgrew the room the prefix and run id leave */
    if (link && link_cap <= (size_t)n)
        return ERR_INVAL;
    long i = take_slot(o, now_ms);
    if (i < 0)
        return ERR_FULL;
    o->seq++;
    orders_order *r = &o->ord[i];
    memset(r, 0, sizeof *r);
    copy_str(r->link_id, sizeof r->link_id, id);
    copy_str(r->symbol, sizeof r->symbol, symbol);
    r->side = side;
    r->price = price;
    r->qty = qty;
    r->state = r->prev = ORDERS_PENDING_NEW;
    r->created_ms = r->updated_ms = now_ms;
    o->used[i] = 1;
    sindex_put(&o->ord_ix, r->link_id, (uint32_t)i, ord_key, o);
    count_change(o, 1, 0, 1);
    if (link)
        copy_str(link, link_cap, id);
    return 0;
}

int orders_adopt(orders *o, const char *link_id, const char *order_id, const char *symbol,
                 orders_side side, double price, double qty, double cum_qty, orders_status status,
                 int64_t now_ms)
{
    if (!orders_is_ours(o, link_id) || !valid_chars(link_id, ORDERS_LINK_ID_MAX, 1) ||
        check_order_args(symbol, price, qty) ||
        (order_id && strlen(order_id) > ORDERS_ORDER_ID_MAX))
        return ERR_INVAL;
    if (find(o, link_id))
        return ERR_DUP;
    long i = take_slot(o, now_ms);
    if (i < 0)
        return ERR_FULL;
    orders_order *r = &o->ord[i];
    memset(r, 0, sizeof *r);
    copy_str(r->link_id, sizeof r->link_id, link_id);
    copy_str(r->order_id, sizeof r->order_id, order_id);
    copy_str(r->symbol, sizeof r->symbol, symbol);
    r->side = side;
    r->price = price;
    r->qty = qty;
    r->cum_qty = cum_qty > 0 ? cum_qty : 0;
    r->flags = ORDERS_F_SENT | ORDERS_F_ADOPTED;
    r->state = r->prev = ORDERS_UNKNOWN; /* the found status decides, through the table */
    r->created_ms = r->sent_ms = r->updated_ms = now_ms;
    o->used[i] = 1;
    sindex_put(&o->ord_ix, r->link_id, (uint32_t)i, ord_key, o);
    orders_update u = {.order_id = order_id, .cum_qty = cum_qty, .status = status};
    run(o, r, ORDERS_EV_QUERY_FOUND, &u, 0, now_ms, 0);
    count_change(o, 1, 0, !orders_state_terminal(r->state));
    note_terminal(o, r);
    return 0;
}

/* ---- fills and positions ---- */

static orders_position *position_of(orders *o, const char *symbol, int create)
{
    for (size_t i = 0; i < o->npos; i++)
        if (strcmp(o->pos[i].symbol, symbol) == 0)
            return &o->pos[i];
    if (!create || o->npos >= ORDERS_MAX_SYMBOLS || strlen(symbol) > ORDERS_SYMBOL_MAX)
        return NULL;
    orders_position *p = &o->pos[o->npos++];
    memset(p, 0, sizeof *p);
    copy_str(p->symbol, sizeof p->symbol, symbol);
    return p;
}

static void fill_remember(orders *o, const char *exec_id)
{
    if (o->fill_n == ORDERS_MAX_FILLS) { /* forget the oldest */
        size_t old = o->fill_head;       /* when full, the oldest is where the next one goes */
        sindex_del(&o->fill_ix, o->fill_id[old], fill_key, o);
        o->fill_n--;
        o->st.fills_forgotten++;
    }
    size_t at = o->fill_head;
    copy_str(o->fill_id[at], sizeof o->fill_id[at], exec_id);
    sindex_put(&o->fill_ix, o->fill_id[at], (uint32_t)at, fill_key, o);
    o->fill_head = (o->fill_head + 1) % ORDERS_MAX_FILLS;
    o->fill_n++;
    o->st.fills_seen = o->fill_n;
    if (o->fill_n > o->st.fills_hwm)
        o->st.fills_hwm = o->fill_n;
}

int orders_fill_seen(const orders *o, const char *exec_id)
{
    return exec_id && exec_id[0] && sindex_find(&o->fill_ix, exec_id, fill_key, o) >= 0;
}

int orders_fill_seen_add(orders *o, const char *exec_id)
{
    if (!exec_id || !exec_id[0] || strlen(exec_id) > ORDERS_EXEC_ID_MAX)
        return ERR_INVAL;
    if (orders_fill_seen(o, exec_id))
        return ERR_DUP;
    fill_remember(o, exec_id);
    return 0;
}

/* Position arithmetic: average entry price of the open size, realised PnL when it shrinks. */
static void position_add(orders_position *p, orders_side side, double price, double qty, double fee)
{
    double d = side == ORDERS_BUY ? qty : -qty;
    p->fees += fee;
    p->fills++;
    if (p->size == 0 || (p->size > 0) == (d > 0)) {
        double n = fabs(p->size) + qty;
        p->avg_price = (fabs(p->size) * p->avg_price + qty * price) / n;
        p->size += d;
        return;
    }
    double closed = fmin(qty, fabs(p->size));
    p->realised_pnl += closed * (price - p->avg_price) * (p->size > 0 ? 1 : -1);
    p->size += d;
    if (same_num(p->size, 0)) {
        p->size = 0;
        p->avg_price = 0;
    } else if ((p->size > 0) == (d > 0)) {
        p->avg_price = price; /* it crossed zero: the rest opened at this price */
    }
}

int orders_fill_apply(orders *o, const orders_fill *f, int64_t now_ms)
{
    if (!f || !f->exec_id || !f->exec_id[0] || strlen(f->exec_id) > ORDERS_EXEC_ID_MAX ||
        !f->symbol || !f->symbol[0] || strlen(f->symbol) > ORDERS_SYMBOL_MAX || !(f->qty > 0) ||
        !isfinite(f->qty) || !isfinite(f->price) || !isfinite(f->fee))
        return ERR_INVAL;
    if (orders_fill_seen(o, f->exec_id)) {
        o->st.fill_dups++;
        return ERR_DUP;
    }
    orders_position *p = position_of(o, f->symbol, 1);
    if (!p)
        return ERR_FULL;
    fill_remember(o, f->exec_id);
    position_add(p, f->side, f->price, f->qty, f->fee);
    o->st.fills++;
    orders_order *r = find(o, f->link_id);
    if (r)
        dispatch(o, r, ORDERS_EV_EXEC, NULL, f->qty, now_ms);
    return 0;
}

int orders_position_set(orders *o, const orders_position *p)
{
    if (!p || !p->symbol[0] || !isfinite(p->size) || !isfinite(p->avg_price))
        return ERR_INVAL;
    orders_position *q = position_of(o, p->symbol, 1);
    if (!q)
        return ERR_FULL;
    *q = *p;
    return 0;
}

const orders_order *orders_get(const orders *o, const char *link_id)
{
    return find(o, link_id);
}

const orders_order *orders_at(const orders *o, size_t i)
{
    return i < ORDERS_MAX_TRACKED && o->used[i] ? &o->ord[i] : NULL;
}

const orders_position *orders_position_get(const orders *o, const char *symbol)
{
    return symbol ? position_of((orders *)o, symbol, 0) : NULL;
}

void orders_stats_get(const orders *o, orders_stats *out)
{
    *out = o->st;
}

/* ---- reconciliation ---- */

static int push(orders_recon *out, size_t cap, size_t *n, int *full, orders_recon r)
{
    if (*n >= cap) {
        *full = 1;
        return 0;
    }
    out[(*n)++] = r;
    return 1;
}

int orders_reconcile(const orders *o, const orders_open *open, size_t n_open, const char *symbol,
                     int startup, int64_t grace_ms, int64_t now_ms, orders_recon *out, size_t cap,
                     size_t *n_out)
{
    unsigned char seen[ORDERS_MAX_TRACKED] = {0};
    size_t n = 0;
    int full = 0;
    for (size_t k = 0; k < n_open; k++) {
        const orders_open *e = &open[k];
        if (!orders_is_ours(o, e->link_id))
            continue; /* never touch an order that is not ours */
        const orders_order *r = find(o, e->link_id);
        orders_recon rc = {.link_id = e->link_id,
                           .order_id = e->order_id,
                           .symbol = e->symbol,
                           .status = e->status};
        if (!r) {
            rc.kind = startup || !orders_is_this_run(o, e->link_id) ? ORDERS_RC_CANCEL_ENDED
                                                                    : ORDERS_RC_ADOPT;
            push(out, cap, &n, &full, rc);
            continue;
        }
        seen[r - o->ord] = 1;
        if (r->state == ORDERS_PENDING_NEW || r->state == ORDERS_UNKNOWN ||
            (r->state == ORDERS_REJECTED && (r->flags & ORDERS_F_INFERRED))) {
            rc.kind = ORDERS_RC_UPDATE;
            push(out, cap, &n, &full, rc);
        } else if (orders_state_terminal(r->state)) {
            rc.kind = ORDERS_RC_CANCEL_UNWANTED;
            push(out, cap, &n, &full, rc);
        }
    }
    for (size_t i = 0; i < ORDERS_MAX_TRACKED; i++) {
        const orders_order *r = &o->ord[i];
        if (!o->used[i] || seen[i] || orders_state_terminal(r->state))
            continue;
        if (symbol && strcmp(symbol, r->symbol) != 0)
            continue;
        if (r->state == ORDERS_PENDING_NEW &&
            (!(r->flags & ORDERS_F_SENT) || now_ms - r->sent_ms < grace_ms))
            continue;
        orders_recon rc = {.kind = ORDERS_RC_MISSING,
                           .link_id = r->link_id,
                           .order_id = r->order_id[0] ? r->order_id : NULL,
                           .symbol = r->symbol,
                           .status = ORDERS_ST_NEW};
        push(out, cap, &n, &full, rc);
    }
    *n_out = n;
    return full ? ERR_FULL : 0;
}
