/*
 * cntrend: leak verdicts for counts — open fds and threads — with the memory method
 * (lib/leakstat: segments at restarts, lower envelope, warm-up left out, Theil-Sen with Sen's
 * interval) and the same keys as memory (leak_window, leak_min_span, warmup, leak_rule), in
 * units per hour. Used by analyze (the fds and threads gates) and by diagnose (section 1).
 *
 * Memory: two leakstat_streams (bounded, LEAKSTAT_STREAM_CAP samples each). Loop or any one
 * thread; nothing printed.
 */
#ifndef SOAK_CNTREND_H
#define SOAK_CNTREND_H

#include "leakstat.h"
#include "opts.h"

/* The series, defined once: X(NAME, "gate series name", "label"). */
#define CNTREND_SERIES(X)                                                                          \
    X(FDS, "fd_growth_per_hour", "open fds")                                                       \
    X(THREADS, "thread_growth_per_hour", "threads")

typedef enum cntrend_which {
#define CNTREND_ENUM(name, series, label) CNTREND_##name,
    CNTREND_SERIES(CNTREND_ENUM)
#undef CNTREND_ENUM
        CNTREND_N
} cntrend_which;

typedef struct cntrend_input {
    leakstat_stream s[CNTREND_N];
    int seg[CNTREND_N];
    int failed; /* ERR_NOMEM once a sample was lost */
} cntrend_input;

typedef struct cntrend {
    int ok;           /* the analysis ran */
    int insufficient; /* too little data for a verdict */
    int leak;         /* growth above the threshold by leak_rule */
    int below;        /* growth shown to be under the threshold (the gate's pass) */
    double slope_ph, lo_ph, hi_ph, threshold_ph; /* per hour */
    double first, last, max;                     /* first, last and largest value kept */
} cntrend;

/* "fd_growth_per_hour" ...; "" out of range. Static. */
const char *cntrend_series_name(cntrend_which w);
/* The series of a gate name, or -1. */
int cntrend_series_index(const char *name);

/* leakstat's options from o's leak keys (leak_window, leak_min_span, warmup) and a threshold
 * in units per second: the one reading of those keys, for memory, fds and threads. */
void cntrend_leak_opts(const opts *o, double threshold_per_s, leakstat_opts *lo);

/* 0 or ERR_NOMEM (nothing held then). */
int cntrend_input_init(cntrend_input *in);
void cntrend_input_free(cntrend_input *in);
/* One sample while the service ran: the counts and the restart count (a new segment). */
void cntrend_input_add(cntrend_input *in, double t, double fds, double threads, double restarts);

/* The verdict of series w against threshold_ph (per hour) with o's leak keys. Returns 0 (out
 * filled; insufficient when there is not enough data), ERR_NOMEM or ERR_INVAL. */
int cntrend_eval(const cntrend_input *in, cntrend_which w, const opts *o, double threshold_ph,
                 cntrend *out);

#endif
