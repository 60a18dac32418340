/* libFuzzer target for termsafe_escape: any bytes a service writes, read where libFuzzer put
 * them (an exactly sized buffer: ASan flags a read past len). The escaped text must hold no
 * byte a terminal acts on (no C0 control, no DEL, no C1 control, only valid UTF-8), its length
 * must be what the call returned, and a cut output must be a prefix of the whole one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "termsafe.h"

static void check_safe(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f)
            abort();
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || i + k > n)
            abort();
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                abort();
        if (c == 0xc2 && s[i + 1] < 0xa0)
            abort(); /* U+0080-U+009F */
        i += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer's buffer is exactly sized: ASan flags a read past size */
    const char *in = (const char *)data;
    size_t cap = 4 * size + 1;
    char *out = malloc(cap);
    char small[17];
    if (!out)
        return 0;
    size_t need = termsafe_escape(in, size, out, cap);
    if (need >= cap || strlen(out) != need || need > 4 * size)
        abort();
    check_safe((const unsigned char *)out, need);
    size_t got = termsafe_escape(in, size, small, sizeof small);
    if (got != need || strncmp(small, out, strlen(small)) != 0)
        abort();
    check_safe((const unsigned char *)small, strlen(small));
    free(out);
    return 0;
}
