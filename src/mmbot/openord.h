/*
 * openord: the open orders of one symbol as GET /v5/order/realtime gives them, page by page
 * (limit OPENORD_PAGE_LIMIT, then nextPageCursor until it is empty), gathered into one bounded
 * list. It is the one definition of that query: the bot sends one request per page from its
 * loop (start-up and periodic reconciliation, shutdown verification), the subcommands (check,
 * cancel-all, orders) one after the other. Pure: it builds the query strings and takes the
 * reply bodies; the caller does the I/O.
 *
 * Use: openord_begin, then while openord_take returns 1: openord_query, send, openord_take.
 *
 * Caps: at most OPENORD_MAX_PAGES pages, so at most OPENORD_MAX orders. A listing that has
 * more ends with ERR_FULL: v[0..n) holds the first OPENORD_MAX, a lower bound that a
 * reconciliation or a verification must not take as the whole.
 *
 * Threads: an openord belongs to one caller. It is large (OPENORD_MAX orders): allocate it.
 */
#ifndef OPENORD_H
#define OPENORD_H

#include <stddef.h>

#include "msg.h"

#define OPENORD_PAGE_LIMIT 50 /* Bybit's largest page */
#define OPENORD_MAX_PAGES  10
#define OPENORD_MAX        (OPENORD_PAGE_LIMIT * OPENORD_MAX_PAGES)

typedef struct openord {
    char symbol[MSG_SYMBOL_MAX + 1];
    char cursor[MSG_CURSOR_MAX + 1]; /* of the next page; "" for the first */
    unsigned pages;                  /* pages taken */
    size_t n;                        /* orders gathered: v[0..n) */
    msg_order v[OPENORD_MAX];
    msg_order_list page; /* parse buffer of one page */
} openord;

/* Starts a listing of symbol (cut to MSG_SYMBOL_MAX): no order, no page taken. */
void openord_begin(openord *p, const char *symbol);

/* The query string of the next page into q (at most n bytes, NUL-terminated):
 * "category=linear&symbol=S&openOnly=0&limit=50[&cursor=C]", the cursor percent-encoded where it
 * holds a character outside [A-Za-z0-9._~%-]. 0, or ERR_FULL when it does not fit in n. */
int openord_query(const openord *p, char *q, size_t n);

/* Takes the reply body of the page asked for last. Returns 1 when another page follows (ask for
 * it with openord_query), 0 when the listing is complete, or: ERR_PARSE (the reply did not
 * parse), ERR_REFUSED (a retCode other than 0, in *ret_code), ERR_FULL (more than
 * OPENORD_MAX_PAGES pages: v holds the first OPENORD_MAX). why (may be NULL) says what failed,
 * naming the symbol. ret_code may be NULL. */
int openord_take(openord *p, const char *body, size_t len, long *ret_code, char *why, size_t n);

/* How many of v[0..n) are open (New, PartiallyFilled), and of those how many carry prefix
 * (NULL or "": none counted in *ours). ours may be NULL. */
size_t openord_count(const openord *p, const char *prefix, size_t *ours);

#endif
