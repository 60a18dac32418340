/*
 * forking-service: runs a command as a SysV-style daemon does (nginx, redis with `daemonize
 * yes`), for the tests of `soak run`'s forking mode (docs/soak-run.md).
 *
 *   forking-service [--pid-file PATH] [--pid-file-delay MS] [--fail N] -- COMMAND ARGS
 *
 * It double-forks (fork, setsid, fork) and exits 0 at once; the daemon left in the background
 * keeps stdout and stderr (stdin is /dev/null), writes its pid to PATH a little later (100 ms by
 * default, as nginx's master writes its pid file after the command has exited) and then
 * executes COMMAND, which keeps that pid. --fail N exits with code N at once, without forking
 * (a daemon that cannot start).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A whole non-negative number, or -1. */
static long whole(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 ? v : -1;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "forking-service: %s\nusage: forking-service [--pid-file PATH] [--pid-file-delay MS] "
            "[--fail N] -- COMMAND ARGS\n",
            why);
    return 2;
}

/* The daemon: its pid file, then the command. */
static void daemon_run(const char *pid_file, long delay_ms, char **cmd)
{
    if (!freopen("/dev/null", "r", stdin))
        _exit(1);
    struct timespec d = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
    FILE *f = pid_file ? fopen(pid_file, "w") : NULL;
    if (pid_file && (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)) {
        fprintf(stderr, "forking-service: cannot write '%s'\n", pid_file);
        _exit(1);
    }
    execvp(cmd[0], cmd);
    fprintf(stderr, "forking-service: cannot run '%s'\n", cmd[0]);
    _exit(127);
}

int main(int argc, char **argv)
{
    const char *pid_file = NULL;
    long delay_ms = 100, fail = -1;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (i + 1 >= argc)
            return usage("an option needs a value");
        if (!strcmp(argv[i], "--pid-file"))
            pid_file = argv[i + 1];
        else if (!strcmp(argv[i], "--pid-file-delay"))
            delay_ms = whole(argv[i + 1]);
        else if (!strcmp(argv[i], "--fail"))
            fail = whole(argv[i + 1]);
        else
            return usage("unknown option");
        if (delay_ms < 0 || (fail < 0 && !strcmp(argv[i], "--fail")))
            return usage("not a whole number");
    }
    if (fail >= 0) {
        fprintf(stderr, "forking-service: failing with code %ld\n", fail);
        return (int)fail;
    }
    if (i + 1 >= argc)
        return usage("no command");
    pid_t p = fork();
    if (p != 0)
        return p < 0; /* the command: done once the daemon is on its way */
    setsid();
    if (fork() != 0)
        _exit(0); /* the middle process */
    daemon_run(pid_file, delay_ms, argv + i + 1);
    return 1;
}
