/*
 * sbuf: a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * The contents are always NUL-terminated. Every append either succeeds whole or fails with
 * ERR_FULL (the cap would be exceeded) or ERR_NOMEM (lib/errcode.h) and leaves the buffer as it
 * was, so a caller can report "truncated" instead of silently losing the tail.
 */
#ifndef SBUF_H
#define SBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sbuf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard maximum of len */
} sbuf;

/* Sets up an empty buffer that will never hold more than max bytes. Allocates nothing. */
void sbuf_init(sbuf *b, size_t max);
/* Releases the storage; the buffer is empty and usable again. Accepts NULL. */
void sbuf_free(sbuf *b);
/* Empties the buffer and keeps its storage. */
void sbuf_reset(sbuf *b);

/* Appends; 0 on success, ERR_FULL past the maximum, ERR_NOMEM; sbuf_printf and sbuf_vprintf
 * also ERR_INVAL when the format fails (vsnprintf < 0). On failure nothing is appended. */
int sbuf_add(sbuf *b, const void *data, size_t len);
int sbuf_adds(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_vprintf(sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Hands the storage to the caller (free() it) and leaves the buffer empty. May return NULL
 * when nothing was ever appended. */
char *sbuf_steal(sbuf *b);

#endif
