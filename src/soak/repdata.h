/*
 * repdata: the data of the report (report.c draws it): the run's time range, every sample
 * folded into REPDATA_NCOL columns per drawn series (min and max of each column, so a
 * one-sample spike still shows), the timeline's event counts per lane and column and the
 * restart marks, and the first and last crashes and hangs — as the supervisor judged them
 * (runrec.h) — with their last log lines (logscan.h). Read through runrec; bounded whatever
 * the length of the run (a fixed struct plus REPDATA_CRASH_HEAD + REPDATA_CRASH_TAIL notes).
 * Drawing only: nothing here feeds the analysis. One repdata per thread.
 */
#ifndef SOAK_REPDATA_H
#define SOAK_REPDATA_H

#include <stdint.h>

#include "logscan.h"
#include "runrec.h"
#include "store.h"

#define REPDATA_NCOL       1000 /* columns of a chart (its plot area's pixels) */
#define REPDATA_CRASH_HEAD 10   /* crashes kept with their log lines: the first ... */
#define REPDATA_CRASH_TAIL 10   /* ... and the last */

/* The series drawn; repdata_series_col gives the samples column of each. */
enum {
    REPDATA_RSS,
    REPDATA_PSS,
    REPDATA_CPU,
    REPDATA_FDS,
    REPDATA_THREADS,
    REPDATA_PROCS,
    REPDATA_ZOMBIES,
    REPDATA_ART,
    REPDATA_FREE,
    REPDATA_ZOMBIES_PERSISTENT,
    REPDATA_NSER
};
extern const store_col repdata_series_col[REPDATA_NSER];

typedef struct repdata {
    double t0, t1; /* x range (Unix s): run start to run end */
    int64_t nsamples;
    double mn[REPDATA_NSER][REPDATA_NCOL], mx[REPDATA_NSER][REPDATA_NCOL]; /* NAN: none */
    unsigned char restart_col[REPDATA_NCOL];
    unsigned tl[STORE_NLANES][REPDATA_NCOL];
    logscan_note *crashes; /* oldest first; owned, released by repdata_free */
    int ncrash;            /* entries in crashes */
    int64_t ncrash_all;    /* crashes and hangs in the run */
} repdata;

/* Fills *d (about 150 KB: allocate it) from the run rr of folder dir. Returns 0, or ERR_IO
 * (the database could not be read) / ERR_NOMEM with a message in err; *d is then to be
 * released all the same. */
int repdata_load(repdata *d, runrec *rr, const char *dir, char *err, size_t errlen);
void repdata_free(repdata *d);
/* 1 when column c of sample m is drawn (by the report and the live view): a sample without a
 * tree (procs 0: the service stopped, or between restarts) is not a measurement of the tree, so
 * its service columns and its process count are not drawn (no drop to 0 after the stop); the
 * disk columns always are. 0 also when the value is NULL. */
int repdata_drawn(const store_sample *m, store_col c);
/* The column of time t, clamped to the chart. */
int repdata_col_of(const repdata *d, double t);

#endif
