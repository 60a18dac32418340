/*
 * journal: follows a systemd unit's journal (logs.journal_unit) through a child process,
 * `journalctl -f -o json -u NAME -n 0`, whose stdout is read on the libuv loop. Each JSON line
 * is parsed (journal_parse_message) and its MESSAGE handed on as log lines, under the stream
 * name "journal:NAME".
 *
 * The child is soak's own helper, not part of the service: journal_start_helpers registers
 * each child in a helpers register (helpers.h) the moment it is forked, so the stop of the
 * service's tree, the sampling of it and the count of reaped orphans leave it out, and the
 * program's SIGCHLD handler hands its exit back here (never as the service's). It runs in a
 * process group of its own (a Ctrl-C on the terminal is soak's to handle) with
 * PR_SET_PDEATHSIG (SIGTERM), so it never outlives soak; journal_stop sends it SIGTERM and
 * journal_free waits up to 200 ms for it, then SIGKILL and 200 ms more (a child still there
 * is left to helpers_stop_all). A child that ends before journal_stop (it died, or was
 * killed) is started again after JOURNAL_RESPAWN_MS (doubling while they fail), as
 * `journalctl -f --after-cursor CURSOR` of the last record read, so nothing is read twice or
 * lost; JOURNAL_RESPAWN_MAX children in a row that give no record (no journalctl, no access)
 * end the following (journal_exited).
 *
 * Caps: a JSON line longer than JOURNAL_LINE_MAX is dropped (counted in journal_stats.bad);
 * a MESSAGE longer than JOURNAL_MSG_MAX is cut there. Threads: the loop's thread only.
 */
#ifndef SOAK_JOURNAL_H
#define SOAK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "helpers.h"

#define JOURNAL_LINE_MAX    (256u * 1024u) /* one JSON record */
#define JOURNAL_MSG_MAX     (64u * 1024u)  /* its MESSAGE */
#define JOURNAL_CURSOR_MAX  512            /* a __CURSOR longer than this is not kept */
#define JOURNAL_RESPAWN_MS  1000           /* a child that ended is started again after this */
#define JOURNAL_RESPAWN_MAX 3 /* children in a row without a record: the following ends */

/* Takes the MESSAGE field of one `journalctl -o json` record (a string, or an array of byte
 * values 0..255 when it is not valid UTF-8) into out (at most cap bytes, not NUL-terminated;
 * *outlen its length), and its __CURSOR into cursor (NUL-terminated, when cursor is not NULL
 * and it fits cursor_cap; left as it was otherwise). Returns 0, ERR_NODATA (no MESSAGE, or
 * null), ERR_PARSE (not a JSON object, or MESSAGE of another type or with a value out of
 * 0..255). Pure. */
int journal_parse_message(const char *json, size_t len, char *out, size_t cap, size_t *outlen,
                          char *cursor, size_t cursor_cap);

/* A line of the journal (not NUL-terminated): a MESSAGE with newlines gives several. */
typedef void (*journal_line_fn)(void *ud, const char *stream, const char *line, size_t len);

typedef struct journal_stats {
    uint64_t lines;    /* lines handed on */
    uint64_t records;  /* JSON records read */
    uint64_t bad;      /* records not parsed, too long, or without MESSAGE */
    uint64_t restarts; /* children started again after one ended */
} journal_stats;

typedef struct journal journal;

/* Starts `PROG -f -o json -u UNIT -n 0` (prog NULL: "journalctl", found on PATH). Returns 0
 * with *out to stop with journal_stop and free with journal_free once the loop has run the
 * close callbacks; or ERR_NOMEM / ERR_SYS with a message in err (nothing left running). A
 * program that cannot be run is not an error here: its exit is seen as the end of the pipe
 * and journal_exited becomes 1. */
int journal_start(uv_loop_t *loop, const char *unit, const char *prog, journal_line_fn fn, void *ud,
                  journal **out, char *err, size_t errlen);
/* journal_start, with every child registered in hp (helpers.h; it must outlive j) before
 * anything else can run: ERR_FULL (with err) when hp has no room. hp NULL: journal_start
 * (the children are reaped here only). */
int journal_start_helpers(uv_loop_t *loop, const char *unit, const char *prog, helpers *hp,
                          journal_line_fn fn, void *ud, journal **out, char *err, size_t errlen);
/* Reads what is waiting, stops the child (SIGTERM) and closes the pipe (asynchronously).
 * Accepts NULL. */
void journal_stop(journal *j);
/* 1 once the following has ended for good (JOURNAL_RESPAWN_MAX children gave nothing). */
int journal_exited(const journal *j);
const char *journal_stream(const journal *j); /* "journal:UNIT" */
void journal_stats_get(const journal *j, journal_stats *out);
/* Reaps the stopped child (waiting 200 ms at most) and frees j (after journal_stop and the
 * loop's close callbacks). Accepts NULL. */
void journal_free(journal *j);

#endif
