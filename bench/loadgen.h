/*
 * loadgen: small pieces the load clients of bench/ share (sim-load, sim-fanout): strict
 * parsing of numeric arguments and percentiles of a 1-µs histogram. Nothing here prints.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>

/* A whole decimal number in [lo, hi], the whole string; 0, or -1 (garbage, out of range). */
int loadgen_long(const char *s, long lo, long hi, long *out);
/* A finite decimal number in [lo, hi], the whole string; 0, or -1. */
int loadgen_double(const char *s, double lo, double hi, double *out);
/* The p-quantile (0..1) of a histogram of nbins buckets holding total counts: the index of the
 * bucket it falls in (0 when total is 0). */
uint64_t loadgen_pct(const uint64_t *h, size_t nbins, uint64_t total, double p);

#endif
