/* libFuzzer target for mmbot's WebSocket message parsers (msg.h) and the book (book.h).
 * Input: messages separated by newlines. Each goes to msg_ws_kind and every WS parser; book
 * updates that parse are applied to one book per input, in order. Checks: an update that
 * parses is within its caps (levels, prices > 0, sizes >= 0); after every apply the book's
 * sides are strictly sorted, within the depth, without zero sizes, and book_crossed() agrees
 * with the tops; parsed strings end within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "errcode.h"
#include "msg.h"
#include "fuzzutil.h"

static book B;
static book_update U;
static msg_trades TR;
static msg_op_reply OP;
static msg_order_list OL;
static msg_exec_list XL;
static msg_position_list PL;
static msg_wallet_list WL;

#define ENDS(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

static void check_book(void)
{
    for (int s = 0; s < 2; s++) {
        size_t n;
        const book_level *l = book_levels(&B, (book_side)s, &n);
        FUZZ_CHECK(n <= B.depth);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(l[i].sz > 0 && l[i].px > 0);
            if (i)
                FUZZ_CHECK(s == BOOK_BID ? l[i - 1].px > l[i].px : l[i - 1].px < l[i].px);
        }
    }
    book_level bid = {0, 0}, ask = {0, 0};
    if (book_best(&B, BOOK_BID, &bid) == 0 && book_best(&B, BOOK_ASK, &ask) == 0)
        FUZZ_CHECK(book_crossed(&B) == (bid.px >= ask.px));
    int64_t v;
    if (book_microprice(&B, &v) == 0)
        FUZZ_CHECK(v >= bid.px && v <= ask.px);
}

static void one(const char *m, size_t n)
{
    msg_kind k;
    if (msg_ws_kind(m, n, &k) == 0)
        FUZZ_CHECK((unsigned)k <= MSG_OP);
    if (msg_book_update(m, n, &U) == 0) {
        FUZZ_CHECK(U.n[0] <= BOOK_MAX_LEVELS && U.n[1] <= BOOK_MAX_LEVELS && U.symbol[0]);
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < U.n[s]; i++)
                FUZZ_CHECK(U.lv[s][i].px > 0 && U.lv[s][i].sz >= 0);
        if (B.state == BOOK_EMPTY && B.u == 0 && strcmp(B.symbol, U.symbol) != 0)
            FUZZ_CHECK(book_init(&B, U.symbol, U.depth) == 0);
        book_result r;
        int rc = book_apply(&B, &U, 0, &r);
        FUZZ_CHECK(rc == 0 || strcmp(B.symbol, U.symbol) != 0);
        check_book();
    }
    if (msg_trades_parse(m, n, &TR) == 0) {
        FUZZ_CHECK(TR.n <= MSG_MAX_TRADES);
        for (size_t i = 0; i < TR.n; i++)
            ENDS(TR.v[i].id);
    }
    if (msg_op_parse(m, n, &OP) == 0) {
        ENDS(OP.ret_msg);
        ENDS(OP.conn_id);
    }
    if (msg_ws_orders(m, n, &OL) == 0) {
        FUZZ_CHECK(OL.n <= MSG_MAX_ITEMS);
        for (size_t i = 0; i < OL.n; i++)
            ENDS(OL.v[i].link_id);
    }
    if (msg_ws_executions(m, n, &XL) == 0)
        FUZZ_CHECK(XL.n <= MSG_MAX_ITEMS);
    if (msg_ws_positions(m, n, &PL) == 0)
        FUZZ_CHECK(PL.n <= MSG_MAX_ITEMS);
    if (msg_ws_wallets(m, n, &WL) == 0)
        FUZZ_CHECK(WL.n <= MSG_MAX_WALLETS && (WL.n == 0 || WL.v[0].ncoins <= MSG_MAX_COINS));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (book_init(&B, "BTCUSDT", 50))
        abort();
    const char *p = (const char *)data, *e = p + size;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        char *m = fuzz_copy(p, n); /* exactly sized: a read past the message is caught */
        if (!m)
            abort();
        one(m, n);
        free(m);
        p += n + (nl != NULL);
    }
    return 0;
}
