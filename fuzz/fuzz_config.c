/*
 * Fuzz target of config_parse_yaml, the reader of soak.yaml, with each key and value passed on
 * to opts_set as `soak run --config` does. Must never crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "opts.h"

typedef struct fuzz_ctx {
    opts o;
    int stop_on_error; /* also exercise the path where the callback refuses */
} fuzz_ctx;

static int on_key(void *ud, const char *key, const char *value, int line, char *err, size_t errlen)
{
    fuzz_ctx *c = ud;
    (void)line;
    if (strlen(key) >= errlen) /* keys come bounded from config; check the contract */
        __builtin_trap();
    int rc = opts_set(&c->o, key, value, err, errlen);
    if (memchr(err, '\0', errlen) == NULL) /* the reason must stay NUL-terminated */
        __builtin_trap();
    return c->stop_on_error ? rc : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_ctx c;
    char err[512];
    opts_init(&c.o);
    c.stop_on_error = size & 1;
    err[0] = '\0';
    int rc = config_parse_yaml((const char *)data, size, "fuzz.yaml", on_key, &c, err, sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "fuzz.yaml", 9) != 0))
        __builtin_trap(); /* a failure always comes with a message naming the file */
    opts_free(&c.o);
    return 0;
}
