/*
 * mmlog: mmbot's log lines on stderr, one line each, in the form
 *   2026-12-01T08:55:00.123Z INFO  [HB] alive uptime=60s open_orders=2 ...
 * with a level filter (log.level, LOG_LEVEL). Lines are written with one write(2) each, so
 * lines from the watchdog thread never interleave with the loop's. A line is cut at
 * MMLOG_LINE bytes. Control characters in the text are written as '?', so that nothing an
 * exchange sends can move a terminal's cursor or forge a line.
 *
 * Callers never pass a secret: keys and signatures are not logged anywhere in mmbot.
 * Threads: mmlog() may be called from any thread; mmlog_set_level() before threads start.
 */
#ifndef MM_LOG_H
#define MM_LOG_H

#include "mmopts.h"

#define MMLOG_LINE 1024

void mmlog_set_level(mmopts_log_level level);
mmopts_log_level mmlog_level(void);
/* The file descriptor lines go to (2 by default). */
void mmlog_set_fd(int fd);
void mmlog(mmopts_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
