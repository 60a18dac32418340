/*
 * logcap: capture a service's output streams into a rotated, compressed, size-capped log.
 *
 * The caller (the event loop thread) feeds raw bytes per stream; logcap cuts them into lines,
 * prefixes each line with a UTC timestamp and the stream name, and queues the formatted lines
 * for a writer thread. Output lines look like
 *     2026-11-28T20:52:02.123Z out the line as the service wrote it
 * (stream names "out" and "err"; a line longer than max_line is cut into pieces and the
 * continuation pieces carry "out+" / "err+").
 *
 * Nothing here blocks the caller on the disk: the queue holds at most buffer_bytes; a line that
 * does not fit is dropped and its bytes are counted (logcap_stats.dropped_bytes).
 *
 * The writer thread appends to DIR/NAME (e.g. soak.log). When the file would pass
 * max_file_bytes it is cut at a line end: close (fsync only when gzip_level is 0), rename to
 * DIR/STEM-YYYYmmddTHHMMSS.mmmZ.log (STEM is NAME without ".log"), reopen. A compressor thread then
 * gzips each rotated file to
 * "<rotated>.gz" (readable by zcat) and removes the plain copy. At most max_files rotated
 * files are kept (the current file is not counted); the oldest go first. The log files
 * together (current + rotated) are kept under the quota (logcap_set_quota): when a write would
 * pass it, the oldest rotated files are deleted; when none is left, the line is dropped and
 * counted. The current file itself is never deleted, so a quota smaller than max_file_bytes
 * ends in dropped lines, not in a truncated file. While a file is being compressed its
 * temporary "<rotated>.gz.tmp" is not counted (at most one at a time).
 *
 * Rotation never splits a line: the file is cut before a line that would take it past
 * max_file_bytes (a file may be exactly max_file_bytes long); a single line larger than
 * max_file_bytes is written whole into a fresh file of its own. Rotated names are unique:
 * when the millisecond is taken, "-1", "-2", ... is added before ".log"; their chronological
 * order is the timestamp, then the suffix.
 *
 * The compressor works through the list of rotated files (oldest first), so its backlog is
 * bounded by max_files and no rotated file stays plain unless gzip fails for it (an ERROR
 * event; the plain file still counts and is deleted in order). It never blocks the writer or
 * the owner: it runs at SCHED_IDLE, and while the writer takes more than 4 MiB/s (a flood)
 * rotated files wait plain, so that gzip takes no CPU from the service on a small machine;
 * what is left is compressed when the flood ends or at logcap_free.
 *
 * On start, rotated files of this STEM already in DIR (plain or .gz, e.g. from an earlier run)
 * count toward max_files and the quota; files past max_files are deleted at once, plain ones
 * are compressed, stale "*.gz.tmp" files are removed. Other files in DIR are left alone.
 *
 * Threads: logcap_feed, logcap_flush, logcap_take_events, logcap_stats and logcap_free must be
 * called from one thread (the owner). logcap_set_quota and logcap_cleanup may be called from
 * the owner thread at any time. Nothing here prints or exits.
 */
#ifndef LOGCAP_H
#define LOGCAP_H

#include <stddef.h>
#include <stdint.h>

enum { LOGCAP_STDOUT = 0, LOGCAP_STDERR = 1, LOGCAP_NSTREAMS = 2 };

typedef struct logcap_opts {
    const char *dir;         /* folder of the log files; must exist */
    const char *name;        /* file name of the current log, e.g. "soak.log" */
    uint64_t max_file_bytes; /* rotate when the current file would pass this (default 64 MiB) */
    unsigned max_files;      /* rotated files kept (default 5); 0 keeps none */
    uint64_t quota_bytes;    /* cap of all log files together (0: no cap) */
    size_t buffer_bytes;     /* cap of the queue between owner and writer (default 16 MiB) */
    size_t max_line;         /* longer lines are cut into pieces (default 64 KiB) */
    int gzip_level;          /* 1..9 (default 1); 0: keep rotated files uncompressed */
} logcap_opts;

/* Called for every complete line, on the owner thread, before it is queued (the line is not
 * NUL-terminated and excludes the newline; continuation pieces are passed too, with cont=1). */
typedef void (*logcap_line_fn)(void *ud, int stream, const char *line, size_t len, int cont);

typedef enum logcap_event_kind {
    LOGCAP_EV_ROTATED,    /* path: the rotated file; bytes: its size */
    LOGCAP_EV_COMPRESSED, /* path: the .gz written; bytes: its size */
    LOGCAP_EV_DELETED,    /* path: a rotated file removed (max_files, quota or cleanup) */
    LOGCAP_EV_DROPPED,    /* bytes: log bytes dropped since the last such event */
    LOGCAP_EV_ERROR,      /* path: the file; detail: strerror text (write, rename, gzip) */
} logcap_event_kind;

typedef struct logcap_event {
    logcap_event_kind kind;
    uint64_t bytes;
    char path[256];
    char detail[128]; /* reason: "max_files", "quota", "cleanup", "queue full", errors */
} logcap_event;

typedef struct logcap_stats {
    uint64_t lines[LOGCAP_NSTREAMS];    /* complete lines seen per stream */
    uint64_t bytes_in[LOGCAP_NSTREAMS]; /* raw bytes fed per stream */
    uint64_t bytes_written;             /* formatted bytes written to disk, all files */
    uint64_t dropped_bytes;             /* raw line bytes dropped (queue full, quota, write
                                           errors): each dropped line or piece counts its
                                           length + 1 (its newline) */
    uint64_t dropped_lines;             /* dropped lines (a cut piece counts as one) */
    uint64_t rotations;
    uint64_t files_deleted;
    uint64_t log_bytes;      /* current size of all log files (current + rotated) */
    size_t queue_bytes;      /* bytes waiting for the writer now */
    size_t queue_high_water; /* most bytes ever waiting */
} logcap_stats;

typedef struct logcap logcap;

/* Fills o with the defaults above (dir and name are left NULL). */
void logcap_opts_default(logcap_opts *o);

/* Opens (appends to) DIR/NAME, lists rotated files already there, starts the threads.
 * Zero max_file_bytes, buffer_bytes or max_line take the defaults. The caller keeps o and its
 * strings (they are copied). Returns a logcap to release with logcap_free, or NULL on failure
 * with a message in err (e.g. "cannot open 'x/soak.log': ..."); nothing is left running. */
logcap *logcap_new(const logcap_opts *o, char *err, size_t errlen);

/* Feeds raw bytes of a stream. Complete lines are handed to on_line (may be NULL) and queued;
 * an incomplete tail is kept (at most max_line bytes) until more bytes come. Bytes are kept as
 * they are ("\r" stays before the newline). A line of exactly max_line bytes is not cut. All
 * lines of one call share one timestamp (the time the bytes arrived). What was queued is
 * handed to the writer before returning. Never blocks on the disk. */
void logcap_feed(logcap *lc, int stream, const char *data, size_t len, logcap_line_fn on_line,
                 void *ud);
/* Ends a stream (EOF): a kept incomplete tail is emitted as a line. */
void logcap_flush(logcap *lc, int stream, logcap_line_fn on_line, void *ud);
/* Queues a line written by the supervisor itself (stream name given, e.g. "soak"; cut to 32
 * bytes, spaces become '_'). Text with newlines becomes several lines; on_line is not called. */
void logcap_note(logcap *lc, const char *stream_name, const char *text);

/* Queues one line read elsewhere (a followed log file, src/soak/follow.h) under a stream name
 * ("file:bot.log"; cut to 32 bytes, spaces become '_'), as it was read: not NUL-terminated,
 * without its newline; cont=1 marks a continuation piece (the name gets a '+'), and a line
 * longer than max_line is cut into pieces the same way. The per-stream counters of stats are
 * not changed (the caller counts); on_line is not called. */
void logcap_put(logcap *lc, const char *stream_name, const char *line, size_t len, int cont);

/* Moves up to max pending events into out; returns how many. Events past an internal cap of
 * 1024 are dropped (the DROPPED/ROTATED counters in stats stay exact). DROPPED events are
 * aggregated: at most one per second per reason ("queue full", "quota") while dropping, and
 * whatever is pending is reported at each call. */
size_t logcap_take_events(logcap *lc, logcap_event *out, size_t max);
void logcap_stats_get(logcap *lc, logcap_stats *out);

/* Sets the quota of the log files (0: none). Thread-safe. */
void logcap_set_quota(logcap *lc, uint64_t quota_bytes);
/* Asks the writer to delete rotated files, oldest first, until at least need_bytes are freed
 * or none is left (used when free disk space runs low). Asynchronous; DELETED events follow. */
void logcap_cleanup(logcap *lc, uint64_t need_bytes);

/* Writes everything queued, finishes compression, joins the threads, closes the file and
 * frees lc. Blocks until done. Kept incomplete lines are not written: call logcap_flush
 * first to keep them. Accepts NULL. */
void logcap_free(logcap *lc);

#endif
