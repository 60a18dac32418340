/*
 * forking-service: a service that forks into the background as SysV-style daemons do (nginx,
 * redis with `daemonize yes`), for the tests of `soak run`'s forking mode (docs/soak-run.md).
 *
 * The command double-forks (fork, setsid, fork) and exits 0 at once; the daemon left in the
 * background keeps stdout and stderr, holds some memory, prints "[HB] alive" and writes its
 * pid to the pid file (when one is given) a little after the command has exited, as nginx's
 * master does. It exits 0 on SIGTERM.
 *   --pid-file PATH       where the daemon writes its pid
 *   --pid-file-delay MS   wait this long before writing it (default 100)
 *   --mem-mb N            memory the daemon allocates and touches (default 16)
 *   --workers N           children the daemon forks, which sleep until it is gone (default 0)
 *   --hb-interval MS      heartbeat period (default 200)
 *   --crash-file PATH     the daemon exits with code 3 once this file exists
 *   --fail N              the command exits with code N at once, without forking
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static long arg_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0) {
        fprintf(stderr, "forking-service: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A worker: sleeps until its daemon is gone. */
static void worker(void)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    while (!stop && getppid() != 1)
        sleep_ms(100);
    _exit(0);
}

static int daemon_main(const char *pid_file, long delay_ms, long mem_mb, long workers, long hb_ms,
                       const char *crash_file)
{
    signal(SIGTERM, on_term);
    char *mem = malloc((size_t)mem_mb << 20);
    if (mem)
        memset(mem, 0x5a, (size_t)mem_mb << 20);
    for (long i = 0; i < workers; i++)
        if (fork() == 0)
            worker();
    sleep_ms(delay_ms);
    if (pid_file) {
        FILE *f = fopen(pid_file, "w");
        if (!f) {
            fprintf(stderr, "forking-service: cannot write '%s'\n", pid_file);
            return 1;
        }
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    printf("forking-service: daemon pid %d running\n", (int)getpid());
    fflush(stdout);
    struct stat st;
    while (!stop) {
        if (crash_file && stat(crash_file, &st) == 0) {
            printf("forking-service: crash file found, exiting 3\n");
            fflush(stdout);
            return 3;
        }
        printf("[HB] alive\n");
        fflush(stdout);
        sleep_ms(hb_ms);
    }
    printf("forking-service: SIGTERM, exiting\n");
    fflush(stdout);
    if (pid_file)
        unlink(pid_file);
    free(mem);
    return 0;
}

int main(int argc, char **argv)
{
    const char *pid_file = NULL, *crash_file = NULL;
    long delay_ms = 100, mem_mb = 16, workers = 0, hb_ms = 200, fail = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "forking-service: '%s' needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--pid-file"))
            pid_file = v;
        else if (!strcmp(a, "--pid-file-delay"))
            delay_ms = arg_long(v);
        else if (!strcmp(a, "--mem-mb"))
            mem_mb = arg_long(v);
        else if (!strcmp(a, "--workers"))
            workers = arg_long(v);
        else if (!strcmp(a, "--hb-interval"))
            hb_ms = arg_long(v);
        else if (!strcmp(a, "--crash-file"))
            crash_file = v;
        else if (!strcmp(a, "--fail"))
            fail = arg_long(v);
        else {
            fprintf(stderr, "forking-service: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (fail >= 0) {
        fprintf(stderr, "forking-service: failing with code %ld\n", fail);
        return (int)fail;
    }
    pid_t p = fork();
    if (p < 0)
        return 1;
    if (p > 0)
        return 0; /* the command: done once the daemon is on its way */
    setsid();
    p = fork();
    if (p < 0)
        _exit(1);
    if (p > 0)
        _exit(0); /* the middle process */
    if (!freopen("/dev/null", "r", stdin))
        _exit(1);
    _exit(daemon_main(pid_file, delay_ms, mem_mb, workers, hb_ms, crash_file));
}
