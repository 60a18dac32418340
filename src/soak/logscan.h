/*
 * logscan: finds soak's notes of events ("TS soak KIND: DETAIL", as soak run writes them into
 * soak.log) in a run folder's logs and keeps the lines just before each: what the service
 * printed before it crashed or hung. Used by the report (report.c) and by `soak diagnose`.
 *
 * The logs are DIR's rotated soak-YYYYmmddTHHMMSS.mmmZ*.log[.gz] (read through zlib, which
 * reads plain files as they are) oldest first, then soak.log; a file that exists both plain
 * and compressed (being compressed) is read plain. Only the files around a note's time are
 * read (a rotated file's name holds the time it was cut), so a week of logs costs no more than
 * the files that matter. Bounded: at most LOGSCAN_MAX_FILES files, LOGSCAN_CTX_LINES lines
 * kept per note, lines cut at LOGSCAN_LINE_SHOW - 1 bytes. Reads only; prints nothing; one
 * call per thread.
 */
#ifndef SOAK_LOGSCAN_H
#define SOAK_LOGSCAN_H

#include <stddef.h>

#define LOGSCAN_CTX_LINES 20  /* lines kept before each note */
#define LOGSCAN_LINE_SHOW 512 /* bytes of a line kept, with its NUL */

typedef struct logscan_note {
    /* in: the event, as stored (detail may have been cut at sizeof detail - 1 bytes) */
    double t;
    char kind[16];
    char detail[256];
    /* out */
    int found;                                            /* the note was found in a log */
    char file[96];                                        /* the file it was found in */
    int nlines;                                           /* context lines, oldest first */
    char lines[LOGSCAN_CTX_LINES + 1][LOGSCAN_LINE_SHOW]; /* + the note itself, last */
} logscan_note;

/* Finds notes[0..n) (in time order) in DIR's logs and fills their out fields; a note not found
 * within 30 s of its time is given up on (found 0: its log was deleted, or it was not written).
 * Returns 0 (also when there are no logs) or ERR_NOMEM. */
int logscan_find(const char *dir, logscan_note *notes, int n);

/* "YYYY-mm-ddTHH:MM:SS[.mmm]" (at least 19 characters of s[0..n)) to Unix seconds, or -1. */
double logscan_parse_iso(const char *s, size_t n);

#endif
