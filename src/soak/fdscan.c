/* fdscan: open fds by type. See fdscan.h. */
#include "fdscan.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errcode.h"

static const char *const type_keys[] = {
#define FDSCAN_TYPE_KEY(name, key, label) key,
    FDSCAN_TYPES(FDSCAN_TYPE_KEY)
#undef FDSCAN_TYPE_KEY
};
static const char *const type_labels[] = {
#define FDSCAN_TYPE_LABEL(name, key, label) label,
    FDSCAN_TYPES(FDSCAN_TYPE_LABEL)
#undef FDSCAN_TYPE_LABEL
};

const char *fdscan_type_key(fdscan_type t)
{
    return (unsigned)t < FDSCAN_NTYPES ? type_keys[t] : "";
}

const char *fdscan_type_label(fdscan_type t)
{
    return (unsigned)t < FDSCAN_NTYPES ? type_labels[t] : "";
}

fdscan_type fdscan_classify(const char *target)
{
    if (!target || !*target)
        return FDSCAN_OTHER;
    if (!strncmp(target, "socket:", 7))
        return FDSCAN_SOCKET;
    if (!strncmp(target, "pipe:", 5))
        return FDSCAN_PIPE;
    if (!strncmp(target, "anon_inode:", 11))
        return FDSCAN_ANON;
    if (target[0] == '/' && strncmp(target, "/dev/", 5) != 0)
        return FDSCAN_FILE;
    return FDSCAN_OTHER;
}

int fdscan_pid(const char *proc_root, pid_t pid, fdscan_counts *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%d/fd", proc_root ? proc_root : "/proc", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return ERR_NOENT;
    struct dirent *e;
    unsigned seen = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (++seen > FDSCAN_MAX_FDS) {
            out->n[FDSCAN_OTHER]++;
            continue;
        }
        char lp[320], target[512];
        snprintf(lp, sizeof lp, "%s/%s", path, e->d_name);
        ssize_t k = readlink(lp, target, sizeof target - 1);
        if (k < 0)
            continue; /* closed meanwhile */
        target[k] = '\0';
        out->n[fdscan_classify(target)]++;
    }
    closedir(d);
    return 0;
}
