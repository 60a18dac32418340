/* libFuzzer target for csvseries_parse: files recorded by other tools. The input is copied into
 * an exactly sized heap buffer (not NUL-terminated) so ASan flags any read past len. A success
 * must hold only rows that obey the contract (finite, non-negative memory, time not going
 * backwards); a failure must leave no memory behind and a message. The same bytes streamed
 * from a file (csvseries_stream, through a memfd) must give the same rows and counts. */
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvseries.h"
#include "fuzzutil.h"

typedef struct streamed {
    const csvseries *want; /* NULL: the parse failed */
    size_t n;
} streamed;

static int check_row(void *ud, const csvseries_row *r)
{
    streamed *st = ud;
    const csvseries *w = st->want;
    if (!w || st->n >= w->n || r->t != w->t[st->n] || r->rss != w->rss[st->n])
        abort();
    if (isnan(r->cpu) != isnan(w->cpu[st->n]) || isnan(r->pss) != isnan(w->pss[st->n]))
        abort();
    st->n++;
    return 0;
}

/* csvseries_stream of the same bytes agrees with csvseries_parse (ok: parse's result). */
static void check_stream(const uint8_t *data, size_t size, int ok, const csvseries *want)
{
    int fd = memfd_create("fuzz_csv", 0);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t k = write(fd, data + off, size - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    streamed st = {ok ? want : NULL, 0};
    csvseries_info info;
    int rc = off == size ? csvseries_stream(path, check_row, &st, &info, err, sizeof err) : 0;
    close(fd);
    if (off != size)
        return;
    if ((rc == 0) != ok || (ok && (info.n != want->n || st.n != want->n ||
                                   info.skipped != want->skipped || info.format != want->format)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy(data, size);
    if (!copy)
        return 0;
    csvseries s;
    char err[256];
    if (csvseries_parse(copy, size, &s, err, sizeof err) == 0) {
        if (s.n == 0 || !s.t || !s.rss || !s.cpu || !s.pss)
            abort();
        for (size_t i = 0; i < s.n; i++) {
            if (!isfinite(s.t[i]) || !isfinite(s.rss[i]) || s.rss[i] < 0)
                abort();
            if (i && s.t[i] < s.t[i - 1])
                abort();
            if (!isnan(s.cpu[i]) && !(isfinite(s.cpu[i]) && s.cpu[i] >= 0))
                abort();
            if (!isnan(s.pss[i]) && !(isfinite(s.pss[i]) && s.pss[i] >= 0))
                abort();
        }
        check_stream(data, size, 1, &s);
        csvseries_free(&s);
    } else if (s.t || s.n || err[0] == '\0') {
        abort();
    } else {
        check_stream(data, size, 0, &s);
    }
    free(copy);
    return 0;
}
