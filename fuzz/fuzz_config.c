/*
 * Fuzz target of the settings engine (lib/settings over lib/config's YAML reader): the input is
 * loaded as a YAML file over a table with a key of every type (duration, size, int, float,
 * bool, enum, string, list, map, a setter-callback map), and over soak's own table as
 * `soak run --config` does. Must never crash, read out of bounds or leak; a failure always
 * comes with an ERR_* code and a message naming the file; a load that succeeds dumps to YAML
 * that loads back to the same dump (what --print-config and the run's record promise).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "opts.h"
#include "settings.h"

typedef struct fobj {
    uint64_t dur, size;
    size_t size2;
    unsigned small;
    uint64_t big;
    double ratio;
    int flag;
    unsigned mode;
    char text[32];
    size_t nitems;
    char *items[8];
    size_t nmap;
    char map_names[4][SETTINGS_NAME_MAX];
    char map_values[4][24];
    unsigned callbacks;
} fobj;

static const char *const modes[] = {"a", "b", "c", NULL};
static const char *const map_defaults[] = {"x", "1", "y", "2", NULL};

static int check_text(const char *name, const char *v, char *err, size_t errlen)
{
    (void)name;
    if (strchr(v, '!')) {
        snprintf(err, errlen, "no '!' allowed");
        return ERR_PARSE;
    }
    return 0;
}

static int set_cb(const settings *s, const settings_key *k, const char *name, const char *value,
                  char *err, size_t errlen)
{
    (void)k, (void)name;
    ((fobj *)s->obj)->callbacks++;
    if (value && value[0] == '-') {
        snprintf(err, errlen, "refused");
        return ERR_RANGE;
    }
    return 0;
}

#define F(f) offsetof(fobj, f)
static const settings_key keys[] = {
    {.name = "dur",
     .type = SETTINGS_DURATION,
     .def = "1s",
     .min = 1,
     .max = 86400000,
     .off = F(dur)},
    {.name = "a.size", .type = SETTINGS_SIZE, .def = "1KiB", .width = 8, .min = 1, .off = F(size)},
    {.name = "a.size2",
     .type = SETTINGS_SIZE,
     .def = "0",
     .width = sizeof(size_t),
     .off = F(size2)},
    {.name = "a.b.small",
     .type = SETTINGS_INT,
     .def = "3",
     .width = 4,
     .min = 1,
     .max = 64,
     .what = "a count",
     .off = F(small)},
    {.name = "big", .type = SETTINGS_INT, .def = "0", .width = 8, .off = F(big)},
    {.name = "ratio",
     .type = SETTINGS_FLOAT,
     .def = "0.5",
     .fmin = -1,
     .fmax = 1e6,
     .off = F(ratio)},
    {.name = "flag", .type = SETTINGS_BOOL, .def = "false", .off = F(flag)},
    {.name = "mode", .type = SETTINGS_ENUM, .def = "a", .choices = modes, .off = F(mode)},
    {.name = "text",
     .type = SETTINGS_STRING,
     .def = "",
     .width = 32,
     .check = check_text,
     .off = F(text)},
    {.name = "items",
     .type = SETTINGS_LIST,
     .def = "first",
     .off = F(items),
     .off_n = F(nitems),
     .cap = 8},
    {.name = "map",
     .type = SETTINGS_MAP,
     .off = F(map_names),
     .off2 = F(map_values),
     .off_n = F(nmap),
     .cap = 4,
     .width = 24,
     .what = "entry",
     .map_defaults = map_defaults},
    {.name = "cb", .type = SETTINGS_MAP, .set = set_cb},
};
static const settings_table table = {"fuzz", keys, sizeof keys / sizeof keys[0], NULL, NULL};

static char dump1[64 * 1024], dump2[64 * 1024];

/* Loads data over a fresh object of t; on success checks the dump round trip. */
static void fuzz_table(const settings_table *t, void *obj, void *obj2, const uint8_t *data,
                       size_t size, void (*reset)(void *))
{
    char err[512];
    settings s = {t, obj, NULL}, s2 = {t, obj2, NULL};
    reset(obj);
    err[0] = '\0';
    int rc = settings_load_text(&s, (const char *)data, size, "fuzz.yaml", err, sizeof err);
    if (rc > 0 || (rc < 0 && (strcmp(errcode_name(rc), "ERR_UNKNOWN") == 0 ||
                              strncmp(err, "fuzz.yaml", 9) != 0)))
        __builtin_trap(); /* a failure always comes with a code and a message naming the file */
    if (memchr(err, '\0', sizeof err) == NULL)
        __builtin_trap();
    if (rc == 0) {
        size_t n = settings_dump(&s, dump1, sizeof dump1, 1);
        if (n < sizeof dump1 - 1) { /* not truncated */
            reset(obj2);
            if (settings_load_text(&s2, dump1, n, "dump.yaml", err, sizeof err) != 0)
                __builtin_trap(); /* a dump always loads */
            settings_dump(&s2, dump2, sizeof dump2, 1);
            if (strcmp(dump1, dump2) != 0)
                __builtin_trap(); /* ... to the same values */
            settings_free(&s2);
        }
    }
    settings_free(&s);
}

/* The defaults, from settings_init (the table's defaults always load). */
static void reset_fobj(void *p)
{
    char err[256];
    settings s = {&table, p, NULL};
    memset(p, 0, sizeof(fobj));
    if (settings_init(&s, err, sizeof err) != 0)
        __builtin_trap();
}

/* soak's defaults compile patterns (slow): made once and copied (they hold no list). */
static void reset_opts(void *p)
{
    static opts def;
    static int ready;
    if (!ready) {
        opts_init(&def);
        ready = 1;
    }
    memcpy(p, &def, sizeof def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fobj a, b;
    static opts oa, ob;
    fuzz_table(&table, &a, &b, data, size, reset_fobj);
    settings so = opts_settings(&oa);
    fuzz_table(so.t, &oa, &ob, data, size, reset_opts);
    return 0;
}
