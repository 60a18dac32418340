/* statusline: live progress on stderr. See statusline.h. */
#include "statusline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "units.h"

struct statusline {
    int redraw; /* 1: terminal line redrawn in place */
    uint64_t duration_ms;
    uint64_t last_plain_ms;
    int drawn;
};

statusline *statusline_new(opts_status mode, uint64_t duration_ms)
{
    if (mode == OPTS_STATUS_OFF)
        return NULL;
    statusline *sl = calloc(1, sizeof *sl);
    if (!sl)
        return NULL;
    sl->redraw = mode == OPTS_STATUS_LINE || (mode == OPTS_STATUS_AUTO && isatty(2));
    sl->duration_ms = duration_ms;
    return sl;
}

void statusline_format(const runstate *rs, uint64_t now_ms, uint64_t duration_ms, int bar,
                       char *buf, size_t n)
{
    char el[32], du[32], rss[32], growth[48], hb[32] = "-";
    uint64_t elapsed = now_ms - rs->start_ms;
    units_format_duration(elapsed / 1000 * 1000, el, sizeof el);
    units_format_duration(duration_ms, du, sizeof du);
    units_format_bytes(rs->tree.rss_bytes, rss, sizeof rss);
    double hours = (double)elapsed / 3.6e6;
    if (elapsed >= 10000 && rs->rss_first) {
        double mb = ((double)rs->tree.rss_bytes - (double)rs->rss_first) / 1048576.0;
        snprintf(growth, sizeof growth, "%+.1f MiB/h", mb / hours);
    } else {
        snprintf(growth, sizeof growth, "- MiB/h");
    }
    if (rs->heartbeat_age_s >= 0)
        snprintf(hb, sizeof hb, "%.0fs", rs->heartbeat_age_s);
    char bars[24] = "";
    if (bar) {
        double frac = duration_ms ? (double)elapsed / (double)duration_ms : 0;
        if (frac > 1)
            frac = 1;
        int filled = (int)(frac * 20);
        bars[0] = '[';
        for (int i = 0; i < 20; i++)
            bars[1 + i] = i < filled ? '#' : '.';
        bars[21] = ']';
        bars[22] = ' ';
        bars[23] = '\0';
    }
    snprintf(buf, n, "%s%s/%s %s | rss %s (%s) | cpu %.0f%% | procs %u | restarts %u | hb %s", bars,
             el, du, runstate_state_name(rs->state), rss, growth, rs->cpu_percent, rs->tree.nprocs,
             rs->restarts, hb);
}

void statusline_update(statusline *sl, const runstate *rs, uint64_t now_ms)
{
    if (!sl)
        return;
    char line[256];
    if (sl->redraw) {
        statusline_format(rs, now_ms, sl->duration_ms, 1, line, sizeof line);
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
        sl->drawn = 1;
    } else if (sl->last_plain_ms == 0 || now_ms - sl->last_plain_ms >= 60000) {
        sl->last_plain_ms = now_ms;
        statusline_format(rs, now_ms, sl->duration_ms, 0, line, sizeof line);
        fprintf(stderr, "soak: %s\n", line);
    }
}

void statusline_free(statusline *sl)
{
    if (!sl)
        return;
    if (sl->drawn)
        fputc('\n', stderr);
    free(sl);
}
