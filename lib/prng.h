/*
 * prng: a small, fast, seeded pseudo-random generator (xoshiro256**, seeded through
 * splitmix64) for simulations that must replay identically for a seed. Not for secrets.
 * The state is a plain value: copy it to fork a stream. Nothing here allocates.
 */
#ifndef PRNG_H
#define PRNG_H

#include <stdint.h>

typedef struct prng {
    uint64_t s[4];
} prng;

/* Seeds the four words with successive splitmix64 outputs of seed (any seed is fine). */
void prng_seed(prng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t prng_next(prng *r);
/* Uniform in [0, 1), 53 bits. */
double prng_unit(prng *r);

#endif
