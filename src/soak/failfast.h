/*
 * failfast: `--fail-fast`, the decision to stop a live run as soon as a gate can no longer pass
 * (docs/soak-run.md, "Fail fast"; the memory rule: docs/leak-verdict.md, "Repeated looks").
 *
 * Pure: samples go in one at a time with their own time, a decision comes out; no I/O, no
 * clock. The live run (src/soak/run.c) and `soak analyze --samples FILE --replay-fail-fast`
 * feed it the same way, so the replay says what the live run would have done.
 *
 * Which gates can stop a run (every other gate, the duration gate first, never does):
 *   memory_growth (last(memory_growth_mb_per_hour) < X): a leak proven by the sequential rule:
 *     at each look (every look_s) the end-of-run method (lib/leakstat; with find_restarts,
 *     restarts found in the series too) on the samples so far, at confidence conf (0.999),
 *     must say "leak", not "warming up", and the growth it proves (lower end of the interval
 *     times the span used) must be more than cycle_bytes (what the longest plausible cycle
 *     can explain); confirm consecutive looks in a row must say so. A look that fails resets
 *     the count.
 *   max(COL) < / <= / == X: once a sample is past X (max never comes back);
 *   min(COL) > / >= / == X: once a sample is under X; count(COL) < / <= X: once reached;
 *   crashes, hangs (last or max, < / <= / == X): once the counter is past X (they only grow);
 *   zombies: the same as max, but only once zombies stayed past X for zombie_grace_s.
 * Caps: FAILFAST_MAX_GATES gates (more are ignored), memory kept in a bounded leakstat_stream
 * (FAILFAST_STREAM_CAP points: 28 bytes each). Not thread-safe per failfast.
 */
#ifndef SOAK_FAILFAST_H
#define SOAK_FAILFAST_H

#include <stddef.h>

#include "gate.h"
#include "leakstat.h"
#include "store.h"

#define FAILFAST_MAX_GATES  64
#define FAILFAST_STREAM_CAP 2048
#define FAILFAST_NAME       64

typedef struct failfast_opts {
    double window_s;       /* leak_window (rolling minimum), s */
    double min_span_s;     /* leak_min_span, s */
    double warmup_s;       /* < 0: detected; else left out of each segment */
    double cycle_bytes;    /* growth a cycle can explain (fail_fast_cycle, default 128 MB) */
    double conf;           /* confidence of each look (default 0.999) */
    unsigned confirm;      /* consecutive positive looks (default 10) */
    double look_s;         /* between looks: <= 0: min(60, window_s / 30) */
    double zombie_grace_s; /* fail_fast_zombie_grace (default 300) */
    int find_restarts;     /* 1: the series has no restart marks (an import): find them in it
                              (leakstat_find_restarts); 0 (default): the restarts column */
} failfast_opts;

/* conf 0.999, confirm 10, cycle 128 MB, grace 300 s, window 1800 s, min span 1800 s,
 * warm-up detected, look every min(60, window / 30) s. */
void failfast_opts_default(failfast_opts *o);

typedef struct failfast_gate {
    char name[FAILFAST_NAME];
    gate_expr e;
    int kind; /* internal: how it can be decided */
    int col;  /* the samples column it reads, or -1 */
    double acc, first, since;
    int have;
} failfast_gate;

typedef struct failfast {
    failfast_opts o;
    failfast_gate g[FAILFAST_MAX_GATES];
    size_t ngates;
    double threshold_bps; /* of the memory gate; <= 0: none */
    leakstat_stream mem;
    leakstat_result *res; /* scratch of a look */
    double t0, last_look;
    size_t nsamples;
    unsigned streak; /* consecutive positive memory looks */
    size_t looks;    /* memory looks so far */
    int decided;     /* 1: stop; gate and elapsed_s say why and when */
    char gate[FAILFAST_NAME];
    double elapsed_s;
} failfast;

/* Sets up f for the gates names[i] = exprs[i] (as in soak.yaml; an expression that does not
 * parse is ignored: the configuration checked them already). f is large (~30 KB plus the
 * stream): the caller owns it and frees it with failfast_free. Returns 0 or ERR_NOMEM (nothing
 * then held). */
int failfast_init(failfast *f, const failfast_opts *o, const char *const *names,
                  const char *const *exprs, size_t n);
/* failfast_init with what soak.yaml says: leak_window, leak_min_span, warmup,
 * fail_fast_zombie_grace, fail_fast_cycle and the gates (o must outlive the call only).
 * find_restarts as failfast_opts. Returns 0 or ERR_NOMEM. */
struct opts;
int failfast_init_opts(failfast *f, const struct opts *o, int find_restarts);
void failfast_free(failfast *f);

/* One sample: v[c] the value of column c (NAN where missing; v[STORE_COL_t] its time, s;
 * v[STORE_COL_restarts] numbers the service's lives), crashes and hangs so far (NAN: unknown).
 * Returns 1 when the run must stop (f->gate, f->elapsed_s set; later calls return 1 at once),
 * 0 to go on, ERR_NOMEM (the sample is lost, f stays valid). */
int failfast_add(failfast *f, const double *v, double crashes, double hangs);

#endif
