/* Fuzzes the /proc parsers of proctree on arbitrary bytes: the first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proctree.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    char *buf = fuzz_copy_tail(data, size, &len); /* the first byte picks the parser */
    if (!buf)
        return 0;
    switch (data[0] % 3) {
    case 0: {
        proctree_stat st;
        if (proctree_parse_stat(buf, len, &st) == 0 && (st.pid <= 0 || st.ppid < 0))
            abort();
        break;
    }
    case 1: {
        uint64_t pss;
        (void)proctree_parse_smaps_rollup(buf, len, &pss);
        break;
    }
    default: {
        pid_t out[8];
        int n = proctree_parse_children(buf, len, out, 8);
        for (int i = 0; i < n && i < 8; i++)
            if (out[i] <= 0)
                abort();
        break;
    }
    }
    free(buf);
    return 0;
}
