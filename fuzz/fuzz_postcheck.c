/* libFuzzer target for what a user's command prints: the post-check's number
 * (postcheck_judge) and the redaction of check output (preflight_redact), both outside input.
 * A value that is accepted is finite; redaction stays inside its buffer, keeps it
 * NUL-terminated, and leaves no trace of a secret-named environment variable's value. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdrun.h"
#include "postcheck.h"
#include "preflight.h"
#include "fuzzutil.h"

#define SECRET "s3cr3tv4lue"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        setenv("FUZZ_API_SECRET", SECRET, 1);
        init = 1;
    }
    if (size > 8192)
        return 0;
    char *text = fuzz_copy_str(data, size);
    if (!text)
        return 0;
    cmdrun_result r = {.exit_code = 0};
    double v;
    char why[256];
    if (postcheck_judge(&r, text, &v, why, sizeof why) == 0 && !isfinite(v))
        abort();
    size_t len = strlen(text);
    preflight_redact(text, len + 1);
    if (strlen(text) > len || strstr(text, SECRET))
        abort();
    free(text);
    return 0;
}
