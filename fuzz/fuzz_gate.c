/* libFuzzer target for gate_parse: gate expressions come from configuration files. The input is
 * copied into an exactly sized heap buffer (not NUL-terminated) so ASan flags any read past len.
 * What parses must print to canonical text that parses back to the same expr, and that text
 * must be a fixed point (formatting it again gives the same bytes). A failure must leave a
 * message that starts with its column. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy(data, size);
    if (!copy)
        return 0;
    gate_expr e, e2;
    char err[256];
    if (gate_parse(copy, size, &e, err, sizeof err) == 0) {
        char text[GATE_FORMAT_MAX], text2[GATE_FORMAT_MAX], labels[GATE_FORMAT_MAX];
        gate_format(&e, text, sizeof text);
        if (gate_parse(text, strlen(text), &e2, err, sizeof err) != 0)
            abort();
        if (!gate_equal(&e, &e2) || memcmp(&e, &e2, sizeof e) != 0)
            abort();
        gate_format(&e2, text2, sizeof text2);
        if (strcmp(text, text2) != 0)
            abort();
        gate_labels_text(&e, labels, sizeof labels);
        if (e.nlabels && !strstr(text, labels))
            abort();
    } else if (strncmp(err, "column ", 7) != 0) {
        abort();
    }
    free(copy);
    return 0;
}
