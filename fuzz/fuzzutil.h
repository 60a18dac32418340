/*
 * fuzzutil: the input preamble every fuzz target shares. libFuzzer's buffer is exactly sized,
 * but a parser often needs its input as char, NUL-terminated, or without a leading byte that
 * picks the case: these make that copy on the heap, exactly sized, so ASan still flags a read
 * one byte past the input.
 *
 * Ownership: the caller frees the copy with free. Failure: NULL when out of memory (the
 * target returns 0: that input is skipped). Threads: any (no state).
 */
#ifndef FUZZ_FUZZUTIL_H
#define FUZZ_FUZZUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A copy of data[0..n) in exactly n bytes (one when n is 0), not NUL-terminated. */
static inline char *fuzz_copy(const void *data, size_t n)
{
    char *copy = malloc(n ? n : 1);
    if (copy && n)
        memcpy(copy, data, n);
    return copy;
}

/* A copy of data[0..n) with a NUL after it (n + 1 bytes): for parsers of C strings. */
static inline char *fuzz_copy_str(const void *data, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    if (n)
        memcpy(copy, data, n);
    copy[n] = '\0';
    return copy;
}

/* The copy of data[1..size) into *len bytes (fuzz_copy) for targets whose first byte picks
 * the case (data[0]): NULL when size is 0 (nothing to pick from) or out of memory. */
static inline char *fuzz_copy_tail(const uint8_t *data, size_t size, size_t *len)
{
    *len = size ? size - 1 : 0;
    return size ? fuzz_copy(data + 1, *len) : NULL;
}

/* An invariant of the target: a crash libFuzzer records when it does not hold. */
#define FUZZ_CHECK(c)                                                                              \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#endif
