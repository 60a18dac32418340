/* testutil: temporary folders and resident memory of the unit tests. See testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proctree.h"

char *tu_tmpdir(char *dir, size_t n, const char *name)
{
    int w = snprintf(dir, n, "/tmp/%s.XXXXXX", name);
    if (w < 0 || (size_t)w >= n) {
        if (n)
            dir[0] = '\0';
        errno = ENAMETOOLONG;
        return NULL;
    }
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        return NULL;
    }
    return dir;
}

char *tu_tmpdir_file(char *dir, size_t n, const char *name, char *path, size_t pn, const char *file)
{
    if (pn)
        path[0] = '\0';
    if (!tu_tmpdir(dir, n, name))
        return NULL;
    int w = snprintf(path, pn, "%s/%s", dir, file);
    if (w < 0 || (size_t)w >= pn) {
        if (pn)
            path[0] = '\0';
        rmdir(dir);
        dir[0] = '\0';
        errno = ENAMETOOLONG;
        return NULL;
    }
    return path;
}

static int tu_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc == 0 || errno == ENOENT ? 0 : -1;
}

int tu_rmtree(const char *dir)
{
    if (access(dir, F_OK) != 0 && errno == ENOENT)
        return 0;
    return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int tu_dir_setup(void **state)
{
    tu_dir *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    if (!tu_tmpdir(d->dir, sizeof d->dir, program_invocation_short_name)) {
        free(d);
        return -1;
    }
    *state = d;
    return 0;
}

int tu_dir_teardown(void **state)
{
    tu_dir *d = *state;
    int rc = tu_rmtree(d->dir);
    free(d);
    *state = NULL;
    return rc;
}

long tu_resident_bytes(void)
{
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return -1;
    proctree_stat st;
    int rc = proctree_read_stat(procfd, getpid(), &st);
    close(procfd);
    return rc ? -1 : (long)st.rss_pages * sysconf(_SC_PAGESIZE);
}
