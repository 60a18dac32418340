/*
 * report: DIR/report.html, one self-contained page (no network, no external script or style)
 * that opens in any browser: the verdict table first, then charts (RSS and PSS with the fitted
 * trend and the warm-up shaded; CPU; fds and threads; processes and zombies; disk use), a
 * timeline of events (restarts, crashes, hangs, rotations, disk-low ...) and the last log lines
 * before each crash.
 *
 * Inputs, all in DIR: samples.db (samples, events, run), verdict.json and
 * resources.analysis.json (written by analyze.c; see docs/soak-analyze.md for their fields),
 * and soak.log for the lines before each crash. Missing JSON files leave their part out.
 * Charts are downsampled for drawing only (min and max per pixel column, so spikes stay
 * visible), so a 7-day run at 1 Hz stays readable and the file small.
 */
#ifndef SOAK_REPORT_H
#define SOAK_REPORT_H

#include <stddef.h>

/* Writes DIR/report.html (through a temporary file, renamed at the end). Returns 0, or -1
 * with a message in err. */
int report_write(const char *dir, char *err, size_t errlen);

#endif
