/*
 * mmfault: fault injection, for tests of a supervisor (soak's orphan, memory and heartbeat
 * gates) — never for trading. The `fault.*` settings (off by default) make mmbot misbehave on
 * purpose: leave its orders behind at shutdown, leak memory, or hang. This module holds the
 * two that need state: the leak (memory allocated, touched so that RSS grows, and kept) and
 * the hang (the calling thread stops).
 *
 * Caps: at most MMFAULT_LEAK_MAX bytes are leaked; a hang lasts at most MMFAULT_HANG_MAX_S
 * seconds, then returns (a supervisor is expected to have killed the process long before).
 *
 * Threads: an mmfault belongs to one thread.
 */
#ifndef MMFAULT_H
#define MMFAULT_H

#include <stdint.h>

#define MMFAULT_LEAK_MAX   (256ull << 20) /* bytes */
#define MMFAULT_HANG_MAX_S 3600

typedef struct mmfault mmfault;

/* A leak of bytes_per_s. Returns NULL when out of memory. The caller owns it (mmfault_free). */
mmfault *mmfault_new(uint64_t bytes_per_s);
/* Leaks what elapsed_ms is worth at the rate (each allocation filled, so it is resident), up to
 * MMFAULT_LEAK_MAX in all. 0, or ERR_NOMEM (nothing more is leaked this call), or ERR_FULL once
 * the cap is reached. */
int mmfault_leak(mmfault *f, uint64_t elapsed_ms);
/* Bytes leaked so far. 0 for NULL. */
uint64_t mmfault_leaked(const mmfault *f);
/* Gives everything back (at exit, so that a leak checker stays quiet). NULL is accepted. */
void mmfault_free(mmfault *f);

/* Stops the calling thread for max_s seconds (at most MMFAULT_HANG_MAX_S): it sleeps, signals
 * or not, and returns only then. */
void mmfault_hang(unsigned max_s);

#endif
