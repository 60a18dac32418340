/*
 * simharness: a bybit-sim without sockets for the fuzz targets (fuzz_rest, fuzz_wsmsg): one
 * account FUZZ_KEY / FUZZ_SECRET, generous limits, and a fake transport whose sends go to the
 * caller's check (or nowhere). Aborts when the simulator cannot be built.
 */
#ifndef SIMHARNESS_H
#define SIMHARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define FUZZ_KEY    "fuzzkey"
#define FUZZ_SECRET "fuzz-secret-value"
#define FUZZ_T0     1800000000000

/* send: called for every message sent to a connection (NULL: dropped); returns 0. f may be
 * NULL (no faults). The simulator lives until the process ends. */
sim *simharness_new(uint64_t seed, faults *f, int (*send)(void *h, const char *m, size_t n));
/* The same simulator with the caller's transport (simserve_io for the real server) and clock
 * start t0 (ms). */
sim *simharness_new_io(uint64_t seed, faults *f, const sim_io *io, int64_t t0);

#endif
