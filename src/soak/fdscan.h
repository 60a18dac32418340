/*
 * fdscan: what a process's open file descriptors are, by type, from readlink of
 * /proc/PID/fd/N: sockets ("socket:[N]"), pipes ("pipe:[N]"), anon inodes ("anon_inode:..."),
 * regular files (a path, devices under /dev excepted) and other (devices, the rest).
 * fdscan_classify is pure (unit-tested); fdscan_pid reads a live process. Bounded: at most
 * FDSCAN_MAX_FDS fds are read per process (the rest are counted as other). Nothing here
 * prints; any thread.
 */
#ifndef SOAK_FDSCAN_H
#define SOAK_FDSCAN_H

#include <sys/types.h>

#define FDSCAN_MAX_FDS 65536

/* The types, defined once: X(NAME, "json key", "label for a person"). */
#define FDSCAN_TYPES(X)                                                                            \
    X(SOCKET, "sockets", "sockets")                                                                \
    X(PIPE, "pipes", "pipes")                                                                      \
    X(FILE, "files", "regular files")                                                              \
    X(ANON, "anon_inodes", "anon inodes")                                                          \
    X(OTHER, "other", "other fds")

typedef enum fdscan_type {
#define FDSCAN_TYPE_ENUM(name, key, label) FDSCAN_##name,
    FDSCAN_TYPES(FDSCAN_TYPE_ENUM)
#undef FDSCAN_TYPE_ENUM
        FDSCAN_NTYPES
} fdscan_type;

typedef struct fdscan_counts {
    unsigned n[FDSCAN_NTYPES];
} fdscan_counts;

/* "sockets" ...; "" out of range. Static. */
const char *fdscan_type_key(fdscan_type t);
/* "regular files" ...; "" out of range. Static. */
const char *fdscan_type_label(fdscan_type t);
/* The type of a link target (NULL or "": other). */
fdscan_type fdscan_classify(const char *target);
/* Adds the fds of pid (proc_root normally "/proc") into *out. Returns 0, ERR_NOENT (gone or
 * not ours to read). */
int fdscan_pid(const char *proc_root, pid_t pid, fdscan_counts *out);

#endif
