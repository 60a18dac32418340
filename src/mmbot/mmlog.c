/* mmlog: timestamped, level-filtered log lines on stderr. See mmlog.h. */
#include "mmlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static mmopts_log_level min_level = MMOPTS_LOG_INFO;
static int log_fd = 2;

void mmlog_set_level(mmopts_log_level level)
{
    min_level = level;
}

mmopts_log_level mmlog_level(void)
{
    return min_level;
}

void mmlog_set_fd(int fd)
{
    log_fd = fd;
}

void mmlog(mmopts_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    if (level < min_level)
        return;
    char line[MMLOG_LINE];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level <= MMOPTS_LOG_ERROR ? level : 3]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
            line[i] = '?';
    line[len++] = '\n';
    if (write(log_fd, line, len) < 0) {
        /* nowhere left to say it */
    }
}
