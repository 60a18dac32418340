/*
 * slowpass: the rare, costly look at the service's tree that soak run takes every
 * memory_detail_interval, once at start and once at stop: /proc/PID/smaps of the largest
 * processes summed by kind (smaps.h), the fds of the whole tree by type (fdscan.h), and the
 * zombies with the parent that holds them (pid and command line). One row of samples.db's
 * memdetail table per pass (store_memdetail_add).
 *
 * Blocking (it reads /proc; smaps stalls each target for a moment): the caller keeps it rare.
 * Bounded: SLOWPASS_MAX_PROCS processes looked at, SLOWPASS_TOP of them read in full. No state;
 * loop thread (it writes through the caller's store).
 */
#ifndef SOAK_SLOWPASS_H
#define SOAK_SLOWPASS_H

#include <sys/types.h>

#include "store.h"

#define SLOWPASS_MAX_PROCS 1024
#define SLOWPASS_TOP       3

/* Looks at the tree below root (root itself not counted) and fills *out (t and phase from the
 * caller). with_smaps 0: the fds and zombies only (cheap: no target is stalled; procs stays 0).
 * copy_path not NULL: the largest process's smaps text is also written there (memory_detail).
 * proc_root: normally "/proc". Returns 0, or ERR_NOENT when the tree is empty (out then holds
 * zeros). */
int slowpass_take(const char *proc_root, pid_t root, double t, const char *phase, int with_smaps,
                  const char *copy_path, store_memdetail *out);

#endif
