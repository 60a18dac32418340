/* libFuzzer target for csvseries_parse: files recorded by other tools. The input is copied into
 * an exactly sized heap buffer (not NUL-terminated) so ASan flags any read past len. A success
 * must hold only rows that obey the contract (finite, non-negative memory, time not going
 * backwards); a failure must leave no memory behind and a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvseries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
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
        csvseries_free(&s);
    } else if (s.t || s.n || err[0] == '\0') {
        abort();
    }
    free(copy);
    return 0;
}
