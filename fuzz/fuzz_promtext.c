/* libFuzzer target for promtext_parse: untrusted /metrics bodies. The input is copied into an
 * exactly sized heap buffer (not NUL-terminated) so ASan flags any read past len. Each parsed
 * sample is re-encoded with the writer and parsed again, which must yield one sample. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"
#include "fuzzutil.h"

static int check_sample(void *ud, const promtext_parsed *s)
{
    size_t *total = ud;
    size_t nl = strlen(s->name), ll = strlen(s->labels);
    if (nl == 0 || nl > 1024 || ll > 1024)
        abort();
    *total += nl + ll;

    /* name and value survive a write and a re-parse (labels are already escaped text) */
    sbuf b;
    sbuf_init(&b, 4096);
    if (promtext_sample(&b, s->name, NULL, s->value) == 0) {
        promtext_parse_stats st;
        promtext_parse(b.data, b.len, NULL, NULL, &st);
        if (st.samples != 1 || st.skipped != 0)
            abort();
    }
    sbuf_free(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy(data, size);
    if (!copy)
        return 0;
    size_t total = 0;
    promtext_parse_stats st;
    promtext_parse(copy, size, check_sample, &total, &st);
    free(copy);
    return 0;
}
