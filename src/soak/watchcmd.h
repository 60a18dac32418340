/*
 * watchcmd: the command line of `soak watch [-c soak.yaml] [options] TARGET`: the target's
 * flags (--pid, --pid-file, --cgroup, --unit, --container; exactly one), --on-hang, and every
 * setting of `soak run` (opts.h: -c, --set, the table's flags). Attaches to the target (watch.h)
 * and runs the soak over it (run_watch). The `command` setting is ignored: nothing is started.
 */
#ifndef SOAK_WATCHCMD_H
#define SOAK_WATCHCMD_H

/* argv[0] is "watch". Returns the exit code of run.h (2 for usage errors, 3 when the target
 * cannot be attached to: "soak: no such process 12345"). Prints on stdout/stderr. */
int watchcmd_main(int argc, char **argv);

#endif
