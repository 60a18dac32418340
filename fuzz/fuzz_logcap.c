/*
 * fuzz_logcap: a service's output is outside input. Feeds arbitrary bytes, cut into arbitrary
 * reads on both streams, through the line framing of logcap and the default patterns, as
 * `soak run` does. One logcap lives for the whole fuzzing session (small files, few kept).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logcap.h"
#include "patterns.h"

static char dir[] = "/tmp/fuzz_logcap.XXXXXX";
static logcap *lc;
static patterns *pat;
static uint64_t hits;

static void on_line(void *ud, int stream, const char *line, size_t len, int cont)
{
    (void)ud;
    (void)stream;
    (void)cont;
    hits += patterns_match(pat, line, len) != 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The fuzzer exits through exit(): leave no folder behind. */
static void cleanup(void)
{
    logcap_free(lc);
    patterns_free(pat);
    nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (!mkdtemp(dir))
        abort();
    logcap_opts o;
    logcap_opts_default(&o);
    o.dir = dir;
    o.name = "soak.log";
    o.max_file_bytes = 1 << 20;
    o.max_files = 2;
    o.max_line = 4096;
    o.buffer_bytes = 4 << 20;
    lc = logcap_new(&o, err, sizeof err);
    const char *names[] = {"heartbeat", "reconnect", "error", "ratelimit"};
    const char *exprs[] = {"\\[HB\\] alive", "reconnect", "ERROR|Traceback|Exception",
                           "429|rate limit|too many"};
    pat = patterns_new(names, exprs, 4, err, sizeof err);
    if (!lc || !pat)
        abort();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first bytes choose how the rest is cut into reads and onto which stream */
    size_t i = 0;
    while (i < size) {
        size_t n = 1 + (data[i] % 97);
        int stream = data[i] & 0x80 ? LOGCAP_STDERR : LOGCAP_STDOUT;
        i++;
        if (n > size - i)
            n = size - i;
        logcap_feed(lc, stream, (const char *)data + i, n, on_line, NULL);
        i += n;
    }
    if (size && data[0] == 'F')
        logcap_flush(lc, LOGCAP_STDOUT, on_line, NULL);
    logcap_event ev[16];
    while (logcap_take_events(lc, ev, 16) == 16)
        ;
    return 0;
}
