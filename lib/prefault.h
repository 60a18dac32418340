/*
 * prefault: makes fixed storage resident when it is allocated, not as it fills.
 *
 * A table allocated once at its cap (calloc) costs no RSS until its pages are first written, so
 * a bounded ring that fills slowly (mmbot's 8192 execIds take hours under heavy trading) shows
 * in a soak as hours of memory growth, up to the cap, that a leak detector cannot tell from a
 * leak until it stops. Touching every page at allocation puts the whole cap in RSS at once (a
 * flat line from the start, and no page fault on the event path later).
 *
 * prefault writes one byte of every 4 KiB page of [p, p + n) (a zero where it was zero: the
 * contents do not change; volatile, so that the compiler cannot drop it). p may be NULL when n
 * is 0. Any thread; no allocation, no failure.
 */
#ifndef PREFAULT_H
#define PREFAULT_H

#include <stddef.h>

/* Touches every page of the n bytes at p, which are zero (freshly calloc'd). */
void prefault(void *p, size_t n);

#endif
