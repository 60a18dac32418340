/*
 * demo-service: a small long-running service to soak (used by `make soak` until mmbot and
 * bybit-sim exist, and by the end-to-end tests to cause each runbook fault on purpose).
 *
 * By default it behaves: prints "[HB] alive" every second, a few log lines, keeps a steady
 * amount of memory and exits 0 on SIGTERM. Flags make it misbehave:
 *   --hb-interval D      heartbeat period in ms (default 1000)
 *   --hang-after S       stop printing heartbeats after S seconds (a hang)
 *   --crash-after S      exit with code 3 after S seconds
 *   --leak-kb-per-s N    allocate and touch N KiB per second, never freed
 *   --zombies N          fork N children that exit at once and are never waited for
 *   --setsid-child       fork a grandchild that calls setsid() and sleeps forever
 *   --daemon             double-fork a daemon that sleeps forever (reparented to init/soak)
 *   --ignore-term        ignore SIGTERM (needs SIGKILL to stop)
 *   --errors-every N     print an ERROR line every N heartbeats
 *   --saw-mb N           GC-like sawtooth: grow by N MiB over --saw-period-ms, free it all,
 *                        again (memory that rises and falls but does not leak)
 *   --saw-period-ms P    period of the sawtooth (default 2000)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        fprintf(stderr, "demo-service: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static void sleep_forever(void)
{
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    long hb_ms = 1000, hang_after = -1, crash_after = -1, leak_kb = 0, zombies = 0, errors = 0;
    long saw_mb = 0, saw_ms = 2000;
    int setsid_child = 0, daemonize = 0, ignore_term = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--hb-interval"))
            hb_ms = arg_long(v), i++;
        else if (!strcmp(a, "--hang-after"))
            hang_after = arg_long(v), i++;
        else if (!strcmp(a, "--crash-after"))
            crash_after = arg_long(v), i++;
        else if (!strcmp(a, "--leak-kb-per-s"))
            leak_kb = arg_long(v), i++;
        else if (!strcmp(a, "--zombies"))
            zombies = arg_long(v), i++;
        else if (!strcmp(a, "--saw-mb"))
            saw_mb = arg_long(v), i++;
        else if (!strcmp(a, "--saw-period-ms"))
            saw_ms = arg_long(v), i++;
        else if (!strcmp(a, "--errors-every"))
            errors = arg_long(v), i++;
        else if (!strcmp(a, "--setsid-child"))
            setsid_child = 1;
        else if (!strcmp(a, "--daemon"))
            daemonize = 1;
        else if (!strcmp(a, "--ignore-term"))
            ignore_term = 1;
        else {
            fprintf(stderr, "demo-service: unknown option '%s'\n", a);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, ignore_term ? SIG_IGN : on_term);
    signal(SIGINT, on_term);

    if (setsid_child && fork() == 0) {
        if (fork() == 0) {
            setsid();
            sleep_forever();
        }
        sleep_forever();
    }
    if (daemonize && fork() == 0) {
        setsid();
        if (fork() == 0)
            sleep_forever();
        _exit(0);
    }
    for (long i = 0; i < zombies; i++)
        if (fork() == 0)
            _exit(0);

    printf("demo-service: started, pid %d\n", (int)getpid());
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *ballast = malloc(8 << 20); /* steady memory */
    if (ballast)
        memset(ballast, 1, 8 << 20);
    long beats = 0;
    /* the sawtooth: chunks allocated one per beat, all freed at the end of a period */
    enum { SAW_MAX = 4096 };
    static char *saw[SAW_MAX];
    long nsaw = 0, saw_beats = saw_ms / (hb_ms ? hb_ms : 1);
    if (saw_beats < 1)
        saw_beats = 1;
    if (saw_beats > SAW_MAX)
        saw_beats = SAW_MAX;
    while (!stop) {
        struct timespec d = {hb_ms / 1000, (hb_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double up = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (crash_after >= 0 && up >= (double)crash_after) {
            fprintf(stderr, "demo-service: ERROR simulated crash after %.1fs\n", up);
            return 3;
        }
        if (saw_mb) {
            if (nsaw == saw_beats) {
                while (nsaw)
                    free(saw[--nsaw]);
            } else {
                size_t n = (size_t)saw_mb * 1048576 / (size_t)saw_beats;
                saw[nsaw] = malloc(n);
                if (saw[nsaw]) {
                    memset(saw[nsaw], 3, n);
                    nsaw++;
                }
            }
        }
        if (leak_kb) {
            size_t n = (size_t)leak_kb * 1024 * (size_t)hb_ms / 1000;
            char *p = malloc(n);
            if (p)
                memset(p, 2, n);
        }
        if (hang_after < 0 || up < (double)hang_after) {
            printf("[HB] alive beat=%ld uptime=%.1fs\n", ++beats, up);
            if (errors && beats % errors == 0)
                fprintf(stderr, "ERROR demo-service: simulated error at beat %ld\n", beats);
        }
    }
    printf("demo-service: [SHUTDOWN] stopping cleanly\n");
    free(ballast);
    return 0;
}
