/*
 * follow: the log files a service writes itself (logs.follow, --follow-log) and a unit's
 * journal (logs.journal_unit), followed as `tail -F` does, on the libuv loop of `soak run` and
 * `soak watch`. Every line goes to the caller's line handler (the same one as stdout's: patterns
 * and the heartbeat watchdog) and, when a logcap is given, into soak.log under the stream name
 * "file:NAME" (NAME: the file's base name; the path as given when two followed files share a
 * base name) or "journal:UNIT".
 *
 * The tail -F logic is lib/logfollow.h (a pure table); this module does the I/O around it:
 *  - wakeups: inotify through a uv_fs_event_t on each followed file's folder (creates, renames
 *    and writes are seen at once), plus a stat poll every poll_ms as the fallback for
 *    filesystems without inotify (NFS, some FUSE) and as a safety net;
 *  - globs (glob(3): *, ?, [...]) are expanded again at every poll and folder event: a file
 *    that appears later is picked up. A plain path is followed even while it does not exist;
 *  - where reading starts: files that exist when follow_new runs are read from their END
 *    (tail -F -n0: soak follows what is written during the run); files that appear later and
 *    the new file after a rotation are read from their start. A glob match that is a file
 *    already read under another name (bot.log renamed to bot.log.1, both matched by a glob)
 *    goes on from where that reading stopped, so no line is read twice;
 *  - rename rotation: the old file is read to its end before the new one is opened; a file
 *    that shrinks (copytruncate) is read again from its start. What was written before the
 *    truncation but not read yet is taken from the copy when one is found: a regular file
 *    of the same folder, written in the last 2 minutes, whose bytes just before the read
 *    offset are the last 64 bytes read (at most 4 MiB from it, 256 folder entries looked at).
 *    Lines written between the copy and the truncation are in neither file: the rotator's
 *    loss, as for every reader.
 *
 * Caps: FOLLOW_MAX_FILES files (a glob match past it is not followed, and counted), one folder
 * watch per folder up to FOLLOW_MAX_DIRS (others are polled only), FOLLOW_READ_PER_WAKEUP bytes
 * read per file per wakeup (more is read at the next turn of the loop, so a flood of one file
 * does not stall the loop), lines of at most line_cap bytes (default 64 KiB; longer ones are
 * cut into pieces, the stream name of a continuation gets a '+').
 *
 * Threads: the loop's thread only. Functions return 0 or a negative ERR_* code with a message
 * in err; nothing here prints or exits.
 */
#ifndef SOAK_FOLLOW_H
#define SOAK_FOLLOW_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "helpers.h"
#include "logcap.h"
#include "sbuf.h"

#define FOLLOW_MAX_FILES       64
#define FOLLOW_MAX_PATTERNS    16
#define FOLLOW_MAX_DIRS        16
#define FOLLOW_READ_PER_WAKEUP (256u * 1024u)

typedef struct follow_opts {
    const char *const *paths; /* paths or globs; relative ones to the working directory */
    size_t npaths;            /* at most FOLLOW_MAX_PATTERNS */
    uint64_t poll_ms;         /* the stat poll (0: 1000) */
    size_t line_cap;          /* 0: 64 KiB */
    const char *journal_unit; /* NULL or "": no journal */
    const char *journalctl;   /* NULL: "journalctl" on PATH */
    logcap *copy;             /* NULL: lines are not copied into the log */
    /* every line (stream: LOGCAP_NSTREAMS, i.e. none of stdout/stderr) */
    logcap_line_fn on_line;
    void *ud;
    helpers *helpers; /* the journal's children are registered there (helpers.h); NULL: not */
} follow_opts;

typedef struct follow follow;

/* Starts following (files that exist now are opened at their end). The strings of o are
 * copied. Returns 0 with *out (NULL when nothing is to be followed), or ERR_RANGE (too many
 * paths, a path too long), ERR_NOMEM, ERR_SYS (the journal's child could not be started)
 * with a message in err. After ERR_SYS *out is set and already stopped: follow_free it after
 * the loop has run, as after follow_stop. */
int follow_new(uv_loop_t *loop, const follow_opts *o, follow **out, char *err, size_t errlen);
/* Reads what the files hold now (up to 64 x FOLLOW_READ_PER_WAKEUP per file), emits waiting
 * partial lines, stops the journal's child, closes the files and starts closing the handles
 * (the loop must run once more before follow_free). Accepts NULL. */
void follow_stop(follow *f);
/* Looks at every file now and reads what is new (one wakeup's worth per file): called before
 * the heartbeat is judged, so that a heartbeat already written is not missed when soak was
 * slow to wake up. Accepts NULL. */
void follow_read_now(follow *f);
/* Frees f after follow_stop and the loop's close callbacks. Accepts NULL. */
void follow_free(follow *f);

/* Appends the samples of soak_log_lines_total for the followed files and the journal
 * ({stream="file:NAME"}, {stream="journal:UNIT"}), without the header (the caller writes it
 * with the stdout and stderr samples). Accepts NULL (nothing written). Returns 0 or -1. */
int follow_metrics(const follow *f, sbuf *b);

typedef struct follow_file_info {
    char stream[80]; /* "file:bot.log" */
    uint64_t lines, rotations, truncations;
    int open;           /* a file is open */
    uint64_t recovered; /* bytes read from a copytruncate's copy */
} follow_file_info;
/* Files followed now (and their counters), for tests and the status: fills up to max. */
size_t follow_files(const follow *f, follow_file_info *out, size_t max);
/* Glob matches refused because FOLLOW_MAX_FILES were reached (counted at every expansion,
 * so a match left out stays visible as a growing count). */
uint64_t follow_skipped(const follow *f);

#endif
