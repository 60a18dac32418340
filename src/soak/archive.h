/*
 * archive: a run folder as one .tar.gz (the runbook's "Data recovery"), written by `soak
 * archive DIR [-o FILE]` and by `soak run` itself after its verdict when it was interrupted
 * (key `archive`), and by fail-fast through the same archive_write.
 *
 * The archive holds every regular file of the folder (subfolders too, 4 levels at most) under
 * one top folder named like DIR, readable by `tar xzf` (ustar format, gzip by zlib). It is
 * consistent while a run is live: samples.db goes in through SQLite's online backup API (a
 * copy with its WAL folded in, as one file in rollback-journal mode), never as a half-written
 * file; samples.db-wal, samples.db-shm, soak.lock and *.tmp files are left out. A file that
 * grows while it is read (soak.log) goes in at the size it had when it was reached. The
 * archive is written to FILE.tmp and renamed, so FILE is whole or absent.
 *
 * Blocking; call it from the main thread when no loop callback needs to run (it may take
 * seconds for a large folder). Functions return 0 or a negative ERR_* code with a message.
 */
#ifndef SOAK_ARCHIVE_H
#define SOAK_ARCHIVE_H

#include <stddef.h>
#include <time.h>

/* The `archive` key: when `soak run` writes the archive itself. */
typedef enum archive_policy {
    ARCHIVE_NEVER,
    ARCHIVE_ON_INTERRUPT, /* stopped by SIGINT/SIGTERM/SIGHUP, `soak stop`, a start limit, or
                           * fail-fast (the default) */
    ARCHIVE_ALWAYS,
} archive_policy;

#define ARCHIVE_MAX_FILES 4096           /* files in one archive */
#define ARCHIVE_MAX_FILE  077777777777LL /* the largest file ustar holds (8 GiB - 1) */

/* The policy's names for the settings table: "never", "on-interrupt", "always", NULL. */
extern const char *const archive_policy_names[];

/* Pure: does a run that ended so write its archive? interrupted: it was stopped from outside
 * (signal, `soak stop`), by its start limit or by fail-fast. */
int archive_wanted(archive_policy p, int interrupted);

/* The default path of the archive of dir: soak-artifacts-YYYYmmdd-HHMMSS.tar.gz (UTC time t)
 * beside dir, i.e. in dir's parent folder. dir may be relative; the result is as dir is. */
void archive_default_path(const char *dir, time_t t, char *out, size_t n);

/* Writes the archive of the run folder dir into out_path (NULL: archive_default_path at the
 * current time); the path written goes into written (may be NULL). ERR_NOENT: dir is no folder;
 * ERR_IO: a file cannot be read or the archive written (err says which); ERR_FULL: more than
 * ARCHIVE_MAX_FILES files or one over ARCHIVE_MAX_FILE. */
int archive_write(const char *dir, const char *out_path, char *written, size_t wlen, char *err,
                  size_t errlen);

#endif
