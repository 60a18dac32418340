/*
 * logfollow: the pure logic of following one log file as `tail -F` does, and the line framing
 * of what is read from it. No I/O: the caller (src/soak/follow.c) stats the path and the open
 * file, reads the bytes and hands both in; this module says what to do next.
 *
 * One logfollow per followed path. Its state is one of
 *     ABSENT    no file open (the path does not exist, or was never opened)
 *     OPEN      the file the path names is open and read as it grows
 *     DRAINING  the path names another file, or none (rename rotation, deletion): the OLD open
 *               file is read to its end before it is closed and the path is opened again
 * and every change goes through one table, actions[state][event] (logfollow_cell), with events
 * from what a stat of the path and an fstat of the open file show (logfollow_classify):
 *     APPEARED  the path exists and nothing is open
 *     GREW      the open file is the path's and is longer than what was read
 *     SAME      the open file is the path's and nothing new is in it
 *     SHRANK    the open file is the path's and is shorter than what was read (copytruncate):
 *               it is read again from its start
 *     REPLACED  the path names another inode than the open file (rename rotation)
 *     VANISHED  the path does not exist (deleted, or renamed and not created again yet)
 *     EOF       a read of the open file returned nothing more (the caller reports it)
 * Cells that cannot happen (e.g. GREW with nothing open) keep the state and return
 * LOGFOLLOW_A_IMPOSSIBLE, so a caller's bug is visible rather than acted on.
 *
 * Where reading starts: a file opened by logfollow_opened(..., from_end=1) is read from its
 * current end (what a file already held when soak started is not read again, as `tail -F -n0`);
 * every other file (one that appears later, the new file after a rotation) from its start.
 *
 * Framing: bytes are cut at '\n' ("\r" is kept as written). A partial last line waits for the
 * rest; a partial line longer than line_cap is emitted in pieces of line_cap bytes, the pieces
 * after the first with cont=1 (as logcap does for stdout). When a file is left (switch after a
 * rotation, truncation) a waiting partial line is emitted as a line of its own.
 *
 * Caps: line_cap is LOGFOLLOW_LINE_MIN..LOGFOLLOW_LINE_MAX (default 64 KiB); the partial line
 * buffer is line_cap bytes, allocated by logfollow_init. Threads: one thread per logfollow.
 */
#ifndef LOGFOLLOW_H
#define LOGFOLLOW_H

#include <stddef.h>
#include <stdint.h>

#define LOGFOLLOW_LINE_DEFAULT (64u * 1024u)
#define LOGFOLLOW_LINE_MIN     16u
#define LOGFOLLOW_LINE_MAX     (1024u * 1024u)
#define LOGFOLLOW_TAIL         64u /* last bytes read, kept to recognise a copy (copytruncate) */

typedef enum logfollow_state {
    LOGFOLLOW_ABSENT,
    LOGFOLLOW_OPEN,
    LOGFOLLOW_DRAINING,
    LOGFOLLOW_NSTATES
} logfollow_state;

typedef enum logfollow_event {
    LOGFOLLOW_EV_APPEARED,
    LOGFOLLOW_EV_GREW,
    LOGFOLLOW_EV_SAME,
    LOGFOLLOW_EV_SHRANK,
    LOGFOLLOW_EV_REPLACED,
    LOGFOLLOW_EV_VANISHED,
    LOGFOLLOW_EV_EOF,
    LOGFOLLOW_NEVENTS
} logfollow_event;

/* Actions a step asks of the caller, in this order. */
enum {
    LOGFOLLOW_A_FLUSH = 1u << 0,      /* done by logfollow_step: the partial line was emitted */
    LOGFOLLOW_A_REWIND = 1u << 1,     /* done by logfollow_step: the read offset is 0 again */
    LOGFOLLOW_A_CLOSE = 1u << 2,      /* caller: close the open file */
    LOGFOLLOW_A_OPEN = 1u << 3,       /* caller: open the path, then call logfollow_opened */
    LOGFOLLOW_A_READ = 1u << 4,       /* caller: read from logfollow_offset, feed, report EOF */
    LOGFOLLOW_A_RESTAT = 1u << 5,     /* caller: stat the path again at once (after a switch) */
    LOGFOLLOW_A_IMPOSSIBLE = 1u << 6, /* the event cannot happen in this state; nothing done */
};

/* One stat result; exists 0 means the stat failed with ENOENT (the other fields are unused). */
typedef struct logfollow_stat {
    int exists;
    uint64_t dev, ino, size;
} logfollow_stat;

typedef struct logfollow_cell {
    logfollow_state next;
    unsigned acts;
} logfollow_cell;

/* A line (not NUL-terminated, without its '\n'); cont=1 for the pieces after the first of a
 * line cut at line_cap. */
typedef void (*logfollow_line_fn)(void *ud, const char *line, size_t len, int cont);

typedef struct logfollow_stats {
    uint64_t lines;     /* lines emitted (a cut line counts once) */
    uint64_t pieces;    /* continuation pieces emitted */
    uint64_t bytes;     /* bytes fed */
    uint64_t rotations; /* switches to a new file after REPLACED or VANISHED */
    uint64_t truncations;
    uint64_t impossible; /* impossible cells hit */
} logfollow_stats;

typedef struct logfollow {
    logfollow_state state;
    uint64_t dev, ino; /* of the open file */
    uint64_t offset;   /* next byte to read in the open file */
    int opened_once;   /* a file was opened before: later files are read from their start */
    char *buf;         /* partial line, line_cap bytes */
    size_t blen, line_cap;
    int cont; /* the next piece continues a cut line */
    /* the last bytes read from the open file (up to LOGFOLLOW_TAIL; reset when the file is
     * left or rewound): after a copytruncate the caller may look for the copy whose bytes
     * before logfollow_offset are these, and feed the rest of it before the rewind */
    char tail[LOGFOLLOW_TAIL];
    size_t tail_len;
    logfollow_line_fn fn;
    void *ud;
    logfollow_stats st;
} logfollow;

/* The table's cell (for tests and for logfollow_step). */
logfollow_cell logfollow_cell_of(logfollow_state s, logfollow_event ev);
const char *logfollow_state_name(logfollow_state s);
const char *logfollow_event_name(logfollow_event ev);

/* Sets lf up in ABSENT; line_cap 0 takes the default. Returns 0, ERR_RANGE (cap out of
 * LOGFOLLOW_LINE_MIN..MAX) or ERR_NOMEM. Release with logfollow_free. */
int logfollow_init(logfollow *lf, size_t line_cap, logfollow_line_fn fn, void *ud);
/* Frees the buffer (lf may be zeroed or already freed). */
void logfollow_free(logfollow *lf);

/* The event from a stat of the path and (when a file is open) an fstat of it. */
logfollow_event logfollow_classify(const logfollow *lf, const logfollow_stat *path,
                                   const logfollow_stat *open_file);
/* Applies the table: changes the state, does FLUSH and REWIND itself, and returns the
 * actions left to the caller (bits above). */
unsigned logfollow_step(logfollow *lf, logfollow_event ev);
/* The caller opened the path (after LOGFOLLOW_A_OPEN) and fstat gave st: reading starts at
 * its end when from_end and no file was opened before, else at its start. start_at, when
 * not UINT64_MAX, overrides both (a file already read up to there under another name). */
void logfollow_opened(logfollow *lf, const logfollow_stat *st, int from_end, uint64_t start_at);
/* The caller could not open the path after LOGFOLLOW_A_OPEN (e.g. it vanished again): back to
 * ABSENT. */
void logfollow_open_failed(logfollow *lf);

/* Bytes read at logfollow_offset: cut into lines for fn; the offset moves on by len. */
void logfollow_feed(logfollow *lf, const char *data, size_t len);
/* Emits a waiting partial line as a line (end of following). */
void logfollow_flush(logfollow *lf);
uint64_t logfollow_offset(const logfollow *lf);

#endif
