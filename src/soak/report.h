/*
 * report: DIR/report.html, one self-contained page (no network, no external script or style,
 * no JavaScript: tooltips are SVG <title>s) that opens in any browser; dark mode follows
 * prefers-color-scheme. The sections, in this order (report_write lists them in one table,
 * sections[], which also makes the table of contents):
 *   - the command, run dates, outcome, then the table of contents;
 *   - the verdict table (gate, expression, value, threshold, status coloured) with its reason
 *     first; a failing gate links to its evidence (the chart or the crashes);
 *   - the leak summary (growth MB/h with its interval, threshold, leak yes/no, series used,
 *     RSS start/end/max, CPU, peaks) and the per-segment slopes;
 *   - inline SVG charts over elapsed time: RSS and PSS with each segment's fitted trend and
 *     its warm-up shaded; CPU; fds and threads; processes and zombies; artifacts folder;
 *     free disk. Restarts are dashed vertical lines; a sample without a tree (after the stop)
 *     is not drawn for the tree's series (repdata_drawn), so nothing drops to 0 at the end;
 *   - a timeline and a table of lifecycle events (first and last 200, "N more" between),
 *     with every event kind counted (rotations, compressions, pattern matches only counted);
 *   - for each crash (an exit the supervisor judged a failure: not one of a stop soak or the
 *     user asked for) and hang, the last 20 log lines
 *     before soak's note of it, found in soak.log or a rotated soak-*.log[.gz] (first 10 and
 *     last 10 crashes when there are more).
 *
 * Inputs, all in DIR: samples.db (required: run, samples, events), verdict.json and
 * resources.analysis.json (written by analyze; see docs/soak-analyze.md for their fields) and
 * the logs. A missing or unreadable JSON file leaves its part out and says "not analyzed";
 * missing logs leave a crash without its lines and say so.
 *
 * Bounded: samples are streamed from SQLite and folded into 1000 columns per chart (min and
 * max of each column, so a one-sample spike stays visible); drawing only, nothing here feeds
 * the analysis. Memory stays at a few MB and the file at a few hundred KB whatever the length
 * of the run (604,800 samples: about 0.3 s, 6 MB RSS, 220 KB of HTML). Log lines are cut at
 * 511 bytes for display. All text from the run (command, details, log lines) is escaped.
 */
#ifndef SOAK_REPORT_H
#define SOAK_REPORT_H

#include <stddef.h>

/* Writes DIR/report.html through DIR/report.html.tmp, renamed when complete, so a reader
 * never sees half a page and an earlier report survives a failure. Returns 0, or a negative
 * ERR_* (lib/errcode.h) with a message in err and no temporary file left behind: ERR_NOENT /
 * ERR_PARSE no soak run there (a missing or foreign samples.db), ERR_IO a read of it or the
 * writing of the page failed ("cannot write 'DIR/report.html.tmp': ..."), ERR_NOMEM. Reads
 * DIR only (samples.db read-only, so a live run can be reported); prints nothing. Crashes and
 * hangs are the events the supervisor judged failures (runrec.h), their log lines found by
 * logscan.h. */
int report_write(const char *dir, char *err, size_t errlen);

/* The charts of the report (the "Resources" charts and the events timeline), drawn by the same
 * code as report.html, for the live view (liveapi.h): samples from DIR/samples.db, the trend and
 * warm-up from ANALYSIS_DIR/resources.analysis.json when it is there (NULL: DIR). On success
 * *html is a malloc'd NUL-terminated HTML fragment (the caller frees it) of *len bytes, a few
 * hundred KB at most whatever the length of the run. Returns 0, or the errors of report_write
 * with *html NULL. Reads only; one call per thread at a time (it may run in a worker thread). */
int report_charts(const char *dir, const char *analysis_dir, char **html, size_t *len, char *err,
                  size_t errlen);

/* A chart of one scraped series (name, its points without labels) over the run's time axis,
 * drawn like the others: for the live page's picker. As report_charts otherwise. */
int report_metric_chart(const char *dir, const char *name, char **html, size_t *len, char *err,
                        size_t errlen);
/* The report's style sheet (static), which the charts' classes need: the live page has it. */
const char *report_style(void);

#endif
