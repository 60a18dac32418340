/*
 * testutil: what unit tests share around a test: a fresh temporary folder, and its removal
 * with everything in it, and this process's resident memory. Linked into every unit test
 * (tests/CMakeLists.txt).
 *
 * Ownership: the caller's buffers; nothing is kept. Failures are returned, never asserted,
 * so a cmocka setup can return -1 and a test can assert. Threads: any.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <stddef.h>

/* Makes a new folder "/tmp/NAME.XXXXXX" (mkdtemp, mode 0700) and writes its path into dir
 * (cap n, NUL-terminated). Returns dir, or NULL (errno set; ENAMETOOLONG when it does not
 * fit n) with dir left empty. */
char *tu_tmpdir(char *dir, size_t n, const char *name);

/* tu_tmpdir, then the path of FILE in it into path (cap pn): for a test whose one file (a
 * database) lives in a fresh folder. Returns path, or NULL (errno set) with both left empty. */
char *tu_tmpdir_file(char *dir, size_t n, const char *name, char *path, size_t pn,
                     const char *file);

/* Removes dir and everything below it, depth first, without a shell; symbolic links are
 * removed, never followed. Returns 0, or -1 when something could not be removed (a folder
 * that does not exist counts as removed). */
int tu_rmtree(const char *dir);

/* The fixture of a test that needs a fresh folder and nothing else, for
 * cmocka_unit_test_setup_teardown(test, tu_dir_setup, tu_dir_teardown): *state is a tu_dir
 * whose folder is "/tmp/PROGRAM.XXXXXX" (PROGRAM: the test's own name). tu_dir_setup returns
 * 0, or -1 (out of memory, no folder); tu_dir_teardown removes the folder with everything in
 * it, frees *state and returns what tu_rmtree returned. */
typedef struct tu_dir {
    char dir[64];
} tu_dir;
int tu_dir_setup(void **state);
int tu_dir_teardown(void **state);

/* The resident memory of this process in bytes (its /proc stat, read by lib/proctree), -1
 * when it cannot be read: for tests that a table is (or is not) resident. */
long tu_resident_bytes(void);

#endif
