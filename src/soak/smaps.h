/*
 * smaps: where a process's memory is, by kind, from /proc/PID/smaps.
 *
 * Each mapping's Rss is added to one kind: heap ("[heap]"), stack ("[stack]", "[stack:TID]"),
 * shared memory (/dev/shm, SysV "/SYSV...", "/memfd:", "[anon_shmem]" and any mapping whose
 * Shmem lines are most of it), file-backed (any other path) and anonymous (no name, "[anon:..]").
 * "[vdso]", "[vvar]", "[vsyscall]" are left out. Reading smaps stalls the target (the kernel holds
 * its mmap lock while it walks the page tables), so callers read it rarely (memory_detail_interval).
 *
 * smaps_parse is pure (fuzzed and unit-tested on text); smaps_read reads a live process.
 * Nothing here prints; no state; any thread.
 */
#ifndef SOAK_SMAPS_H
#define SOAK_SMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kinds, defined once: X(NAME, "json key", "label for a person"). */
#define SMAPS_KINDS(X)                                                                             \
    X(HEAP, "heap", "heap")                                                                        \
    X(ANON, "anon", "anonymous mappings")                                                          \
    X(STACK, "stack", "stacks")                                                                    \
    X(FILE, "file", "file-backed mappings")                                                        \
    X(SHMEM, "shmem", "shared memory")

typedef enum smaps_kind {
#define SMAPS_KIND_ENUM(name, key, label) SMAPS_##name,
    SMAPS_KINDS(SMAPS_KIND_ENUM)
#undef SMAPS_KIND_ENUM
        SMAPS_NKINDS
} smaps_kind;

typedef struct smaps_sums {
    uint64_t bytes[SMAPS_NKINDS]; /* Rss per kind */
    unsigned mappings;            /* mappings seen */
} smaps_sums;

/* "heap", "anon" ...; "" out of range. Static. */
const char *smaps_kind_key(smaps_kind k);
/* "heap", "anonymous mappings" ...; "" out of range. Static. */
const char *smaps_kind_label(smaps_kind k);
/* The kind of one mapping from its pathname field (may be "" or NULL: anonymous) and whether
 * its Shmem lines cover at least half its Rss (shmem_most); -1 for a mapping left out. */
int smaps_classify(const char *name, int shmem_most);

/* Adds the mappings of smaps text buf[0..n) into *out (zeroed by the caller). Malformed lines
 * are skipped. Returns 0, or ERR_PARSE when not one mapping was found. */
int smaps_parse(const char *buf, size_t n, smaps_sums *out);

/* Reads /proc/PID/smaps (proc_root: normally "/proc") into *out (zeroed here). When copy_path
 * is not NULL the text read is also written there (memory_detail: on-leak). Text past
 * SMAPS_MAX_BYTES is not read. Returns 0, ERR_NOENT (the process is gone), ERR_IO, ERR_NOMEM or
 * ERR_PARSE. */
#define SMAPS_MAX_BYTES (64u << 20)
int smaps_read(const char *proc_root, pid_t pid, smaps_sums *out, const char *copy_path);

#endif
