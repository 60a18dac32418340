/*
 * proctree-bench: helper of bench/sample-cost.
 *
 *   proctree-bench spawn N        become the root of a tree of N sleeping processes (root, some
 *                                 children, the rest grandchildren); print the root pid once
 *                                 all are up, then sleep until killed
 *   proctree-bench sample PID N   take N samples of PID's tree (PSS off) and print the CPU time
 *                                 per sample
 *   proctree-bench kill PID       kill PID's tree with treekill_run
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "proctree.h"
#include "treekill.h"

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "proctree-bench: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

/* A descendant: die with its parent, say it is up, sleep. */
static void sleeper(int ready)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (write(ready, "x", 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

static int spawn(long n)
{
    int p[2];
    if (pipe(p)) {
        perror("proctree-bench: pipe");
        return 1;
    }
    /* n - 1 descendants: k children, each with about as many grandchildren */
    long rest = n - 1, k = 1;
    while (k * k < rest)
        k++;
    long made = 0;
    for (long c = 0; c < k && made < rest; c++) {
        long grand = (rest - made - 1) / (k - c);
        pid_t pid = fork();
        if (pid < 0) {
            perror("proctree-bench: fork");
            return 1;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (long g = 0; g < grand; g++)
                if (fork() == 0)
                    sleeper(p[1]);
            sleeper(p[1]);
        }
        made += 1 + grand;
    }
    close(p[1]);
    char buf[64];
    long got = 0;
    while (got < rest) {
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r <= 0) {
            fprintf(stderr, "proctree-bench: a descendant did not start\n");
            return 1;
        }
        got += r;
    }
    printf("%d\n", (int)getpid());
    fflush(stdout);
    for (;;)
        pause();
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sample(pid_t root, long n)
{
    proctree *pt = proctree_new("/proc");
    if (!pt) {
        fprintf(stderr, "proctree-bench: cannot open '/proc'\n");
        return 1;
    }
    proctree_sample s;
    for (int i = 0; i < 10; i++) /* warm the caches */
        if (proctree_sample_tree(pt, root, 1, 0, &s)) {
            fprintf(stderr, "proctree-bench: cannot sample pid %d\n", (int)root);
            return 1;
        }
    double t0 = cpu_now();
    for (long i = 0; i < n; i++)
        proctree_sample_tree(pt, root, 1, 0, &s);
    double per = (cpu_now() - t0) / (double)n;
    printf("%u %ld %.6f\n", s.nprocs, n, per * 1e3); /* procs samples ms/sample */
    proctree_free(pt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "spawn") == 0)
        return spawn(arg_long(argv[2], 1, PROCTREE_MAX_PROCS));
    if (argc == 4 && strcmp(argv[1], "sample") == 0)
        return sample((pid_t)arg_long(argv[2], 1, 1L << 30), arg_long(argv[3], 1, 1000000));
    if (argc == 3 && strcmp(argv[1], "kill") == 0) {
        int rc = treekill_run((pid_t)arg_long(argv[2], 1, 1L << 30), 1, 1000);
        return rc < 0 ? 1 : 0;
    }
    fprintf(stderr, "usage: proctree-bench spawn N | sample PID N | kill PID\n");
    return 2;
}
