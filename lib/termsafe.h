/*
 * termsafe: text from a service (its log lines, its command, scraped names) made safe to print
 * on an operator's terminal. A service must not be able to move the cursor, retitle the
 * window, recolour the screen or hide text with the bytes it writes, so every byte that a
 * terminal would act on is written as a visible escape instead:
 *   \t \n \r           for tab, newline, carriage return
 *   \\                 for a backslash (so an escape in the output is never ambiguous)
 *   \xNN               for the other C0 controls (ESC is \x1b), DEL, each byte of a C1 control
 *                      (U+0080-U+009F, as UTF-8 or as a raw byte such as 0x9b, CSI) and each
 *                      byte that is not part of valid UTF-8 (overlong, surrogate, past U+10FFFF,
 *                      cut short)
 * Valid UTF-8 otherwise passes unchanged. report.html escapes for HTML (analyze.c); this is the
 * terminal's counterpart.
 *
 * Pure: no allocation, no I/O, thread-safe.
 */
#ifndef TERMSAFE_H
#define TERMSAFE_H

#include <stddef.h>

/* Escapes len bytes of in (NUL bytes included; in may be NULL when len is 0) into out, which
 * always ends NUL-terminated when n > 0; a character's escape is never cut in half: output
 * stops before the first one that does not fit. Returns the length the whole escaped text
 * needs (without the NUL), as snprintf does: >= n means it was cut. At most 4 * len. */
size_t termsafe_escape(const char *in, size_t len, char *out, size_t n);

/* termsafe_escape of a NUL-terminated string (NULL reads as ""). */
size_t termsafe_str(const char *in, char *out, size_t n);

#endif
