/* settings: typed keys from a table; defaults, YAML, --set, flags, dumps. See settings.h. */
#include "settings.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errcode.h"
#include "units.h"

/* ---- finding a key ---------------------------------------------------------------------- */

static int settings_is_map_of(const settings_key *k, const char *name)
{
    size_t n = strlen(k->name);
    return k->type == SETTINGS_MAP && strncmp(name, k->name, n) == 0 && name[n] == '.';
}

const settings_key *settings_find(const settings_table *t, const char *name)
{
    size_t len = strlen(name);
    int item = len > 2 && strcmp(name + len - 2, "[]") == 0;
    for (size_t i = 0; i < t->nkeys; i++) {
        const settings_key *k = &t->keys[i];
        if (k->type == SETTINGS_MAP) {
            if (settings_is_map_of(k, name) || strcmp(k->name, name) == 0)
                return k;
        } else if (item ? strlen(k->name) == len - 2 && strncmp(k->name, name, len - 2) == 0
                        : strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

/* ---- values as text ----------------------------------------------------------------------- */

/* Exact and parseable back: "64MiB", "5GB", "1536". */
static void settings_format_size(uint64_t b, char *buf, size_t n)
{
    static const char *const bin[] = {"KiB", "MiB", "GiB", "TiB"};
    static const char *const dec[] = {"KB", "MB", "GB", "TB"};
    if (b) {
        for (int i = 3; i >= 0; i--) {
            uint64_t u = 1024ull << (10 * i);
            if (b % u == 0) {
                snprintf(buf, n, "%llu%s", (unsigned long long)(b / u), bin[i]);
                return;
            }
        }
        uint64_t u = 1000000000000ull;
        for (int i = 3; i >= 0; i--, u /= 1000)
            if (b % u == 0) {
                snprintf(buf, n, "%llu%s", (unsigned long long)(b / u), dec[i]);
                return;
            }
    }
    snprintf(buf, n, "%llu", (unsigned long long)b);
}

/* The shortest text that reads back as the same double. */
static void settings_format_double(double x, char *buf, size_t n)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static void settings_format_u64(const settings_key *k, uint64_t v, char *buf, size_t n)
{
    if (k->type == SETTINGS_DURATION)
        units_format_duration(v, buf, n);
    else if (k->type == SETTINGS_SIZE)
        settings_format_size(v, buf, n);
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

static uint64_t settings_type_max(const settings_key *k)
{
    if (k->type == SETTINGS_INT && k->width == 4)
        return UINT32_MAX;
    if (k->type == SETTINGS_SIZE && k->width == sizeof(size_t))
        return (uint64_t)SIZE_MAX;
    return UINT64_MAX;
}

static int settings_has_range(const settings_key *k)
{
    if (k->type == SETTINGS_FLOAT)
        return 1;
    return k->min > 0 || k->max > 0;
}

/* The range as people read it: "from 1ms to 60s", "1ms or more". "" when there is none. */
static void settings_range_text(const settings_key *k, char *buf, size_t n)
{
    char lo[64], hi[64];
    buf[0] = '\0';
    if (k->range) {
        snprintf(buf, n, "%s", k->range);
        return;
    }
    if (!settings_has_range(k))
        return;
    if (k->type == SETTINGS_FLOAT) {
        settings_format_double(k->fmin, lo, sizeof lo);
        settings_format_double(k->fmax, hi, sizeof hi);
        snprintf(buf, n, "from %s to %s", lo, hi);
        return;
    }
    settings_format_u64(k, k->min, lo, sizeof lo);
    if (k->max == 0) {
        snprintf(buf, n, "%s or more", lo);
        return;
    }
    settings_format_u64(k, k->max, hi, sizeof hi);
    snprintf(buf, n, "from %s to %s", lo, hi);
}

static int settings_out_of_range(const settings_key *k, const char *value, char *err, size_t errlen)
{
    char r[128];
    settings_range_text(k, r, sizeof r);
    snprintf(err, errlen, "'%.64s' is not %s%s%s", value,
             k->what && k->type == SETTINGS_INT ? k->what : "",
             k->what && k->type == SETTINGS_INT ? " " : "", r);
    return ERR_RANGE;
}

/* ---- storing one value -------------------------------------------------------------------- */

static void settings_store_u64(void *field, size_t width, uint64_t v)
{
    if (width == 4) {
        uint32_t u = (uint32_t)v;
        memcpy(field, &u, sizeof u);
    } else {
        memcpy(field, &v, sizeof v);
    }
}

static uint64_t settings_load_u64(const void *field, size_t width)
{
    if (width == 4) {
        uint32_t u;
        memcpy(&u, field, sizeof u);
        return u;
    }
    uint64_t v;
    memcpy(&v, field, sizeof v);
    return v;
}

static size_t settings_width(const settings_key *k)
{
    if (k->type == SETTINGS_DURATION ||
        ((k->type == SETTINGS_SIZE || k->type == SETTINGS_INT) && k->width == 0))
        return 8;
    return k->width;
}

static int settings_parse_u64(const settings_key *k, const char *value, uint64_t *v, char *err,
                              size_t errlen)
{
    if (k->type == SETTINGS_DURATION) {
        if (units_parse_duration(value, v)) {
            snprintf(err, errlen, "'%.64s' is not a duration (e.g. 250ms, 20s, 10m, 24h)", value);
            return ERR_PARSE;
        }
    } else if (k->type == SETTINGS_SIZE) {
        if (units_parse_bytes(value, v)) {
            snprintf(err, errlen, "'%.64s' is not a size (e.g. 64KiB, 8MiB, 5GB)", value);
            return ERR_PARSE;
        }
    } else {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(value, &end, 10);
        if (!(*value >= '0' && *value <= '9') || *end || errno) {
            snprintf(err, errlen, "'%.64s' is not a whole number", value);
            return ERR_PARSE;
        }
        *v = n;
    }
    uint64_t max = k->max ? k->max : settings_type_max(k);
    if (*v < k->min || *v > max) {
        if (!settings_has_range(k)) { /* past the type: as if no number */
            snprintf(err, errlen, "'%.64s' is too large", value);
            return ERR_RANGE;
        }
        return settings_out_of_range(k, value, err, errlen);
    }
    return 0;
}

static int settings_enum(const settings_key *k, const char *value, unsigned *out, char *err,
                         size_t errlen)
{
    unsigned i;
    for (i = 0; k->choices[i]; i++)
        if (strcmp(value, k->choices[i]) == 0) {
            *out = i;
            return 0;
        }
    int w = snprintf(err, errlen, "'%.64s' is not one of", value);
    for (i = 0; k->choices[i] && w > 0 && (size_t)w < errlen; i++)
        w += snprintf(err + w, errlen - (size_t)w, "%s %s", i ? "," : "", k->choices[i]);
    return ERR_RANGE;
}

static int settings_name_ok(const settings_key *k, const char *name, char *err, size_t errlen)
{
    const char *what = k->what ? k->what : "entry";
    if (!*name || strlen(name) >= SETTINGS_NAME_MAX) {
        snprintf(err, errlen, "%s name must be 1 to %d characters", what, SETTINGS_NAME_MAX - 1);
        return ERR_INVAL;
    }
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_')) {
            snprintf(err, errlen, "%s name '%.64s' may hold only letters, digits and _", what,
                     name);
            return ERR_INVAL;
        }
    return 0;
}

/* A map entry: add, replace by name, or remove with ''. */
static int settings_map_set(const settings *s, const settings_key *k, const char *name,
                            const char *value, char *err, size_t errlen)
{
    if (k->set)
        return k->set(s, k, name, value, err, errlen);
    const char *what = k->what ? k->what : "entry";
    int rc = settings_name_ok(k, name, err, errlen);
    if (rc)
        return rc;
    if (strlen(value) >= k->width) {
        snprintf(err, errlen, "%s longer than %zu characters", what, k->width - 1);
        return ERR_RANGE;
    }
    if (*value && k->check && (rc = k->check(name, value, err, errlen)) != 0)
        return rc;
    char *base = s->obj;
    char(*names)[SETTINGS_NAME_MAX] = (void *)(base + k->off);
    char *values = base + k->off2;
    size_t *n = (size_t *)(void *)(base + k->off_n);
    size_t i;
    for (i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            break;
    if (!*value) {
        if (i < *n) {
            memmove(&names[i], &names[i + 1], (*n - i - 1) * sizeof names[0]);
            memmove(values + i * k->width, values + (i + 1) * k->width, (*n - i - 1) * k->width);
            (*n)--;
        }
        return 0;
    }
    if (i == *n) {
        if (*n == k->cap) {
            snprintf(err, errlen, "too many %ss (at most %zu)", what, k->cap);
            return ERR_FULL;
        }
        (*n)++;
    }
    snprintf(names[i], SETTINGS_NAME_MAX, "%s", name);
    snprintf(values + i * k->width, k->width, "%s", value);
    return 0;
}

static void settings_list_clear(const settings *s, const settings_key *k)
{
    if (k->set) {
        char err[64];
        k->set(s, k, NULL, NULL, err, sizeof err);
        return;
    }
    char *base = s->obj;
    char **items = (char **)(void *)(base + k->off);
    size_t *n = (size_t *)(void *)(base + k->off_n);
    for (size_t i = 0; i < *n; i++) {
        free(items[i]);
        items[i] = NULL;
    }
    *n = 0;
}

static int settings_list_add(const settings *s, const settings_key *k, const char *value, char *err,
                             size_t errlen)
{
    if (k->set)
        return k->set(s, k, NULL, value, err, errlen);
    int rc;
    if (k->check && (rc = k->check(NULL, value, err, errlen)) != 0)
        return rc;
    char *base = s->obj;
    char **items = (char **)(void *)(base + k->off);
    size_t *n = (size_t *)(void *)(base + k->off_n);
    if (*n == k->cap) {
        snprintf(err, errlen, "more than %zu items", k->cap);
        return ERR_FULL;
    }
    char *dup = strdup(value);
    if (!dup) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    items[(*n)++] = dup;
    return 0;
}

/* Sets k from text; name: a map entry's name. */
static int settings_set_key(const settings *s, const settings_key *k, const char *name,
                            const char *value, char *err, size_t errlen)
{
    char *field = (char *)s->obj + k->off;
    uint64_t u;
    double x;
    char *end;
    unsigned e;
    int rc = 0;
    switch (k->type) {
    case SETTINGS_DURATION:
    case SETTINGS_SIZE:
    case SETTINGS_INT:
        if ((rc = settings_parse_u64(k, value, &u, err, errlen)) != 0)
            return rc;
        settings_store_u64(field, settings_width(k), u);
        break;
    case SETTINGS_FLOAT:
        errno = 0;
        x = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(x) || *value == ' ') {
            snprintf(err, errlen, "'%.64s' is not a number", value);
            return ERR_PARSE;
        }
        if (x < k->fmin || x > k->fmax)
            return settings_out_of_range(k, value, err, errlen);
        memcpy(field, &x, sizeof x);
        break;
    case SETTINGS_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(err, errlen, "'%.64s' is not true or false", value);
            return ERR_PARSE;
        }
        *(int *)(void *)field = value[0] == 't';
        break;
    case SETTINGS_ENUM:
        if ((rc = settings_enum(k, value, &e, err, errlen)) != 0)
            return rc;
        memcpy(field, &e, sizeof e);
        break;
    case SETTINGS_STRING:
        if (strlen(value) >= k->width) {
            snprintf(err, errlen, "longer than %zu characters", k->width - 1);
            return ERR_RANGE;
        }
        if (k->check && (rc = k->check(NULL, value, err, errlen)) != 0)
            return rc;
        snprintf(field, k->width, "%s", value);
        break;
    case SETTINGS_LIST:
        rc = settings_list_add(s, k, value, err, errlen);
        break;
    case SETTINGS_MAP:
        if (!name) {
            snprintf(err, errlen, "must be a mapping of NAME: value (e.g. %s.NAME)", k->name);
            return ERR_INVAL;
        }
        rc = settings_map_set(s, k, name, value, err, errlen);
        break;
    }
    if (rc == 0 && k->after)
        rc = k->after(s, k, err, errlen);
    return rc;
}

int settings_set(const settings *s, const char *key, const char *value, char *err, size_t errlen)
{
    const settings_key *k = settings_find(s->t, key);
    if (!k) {
        snprintf(err, errlen, "unknown key (%s)",
                 s->t->keys_hint ? s->t->keys_hint : "see --help-keys");
        return ERR_NOENT;
    }
    const char *name =
        k->type == SETTINGS_MAP && settings_is_map_of(k, key) ? key + strlen(k->name) + 1 : NULL;
    return settings_set_key(s, k, name, value, err, errlen);
}

int settings_set_kv(const settings *s, const char *kv, const char *where, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    char key[256], why[512];
    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
        snprintf(err, errlen, "%s: want KEY=VALUE", where);
        return ERR_INVAL;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    why[0] = '\0';
    int rc = settings_set(s, key, eq + 1, why, sizeof why);
    if (rc)
        snprintf(err, errlen, "%s: key '%s': %s", where, key, why);
    return rc;
}

int settings_init(const settings *s, char *err, size_t errlen)
{
    char why[512];
    for (size_t i = 0; i < s->t->nkeys; i++) {
        const settings_key *k = &s->t->keys[i];
        int rc = 0;
        if (k->type == SETTINGS_MAP && k->map_defaults) {
            for (const char *const *d = k->map_defaults; d[0] && d[1] && rc == 0; d += 2)
                rc = settings_map_set(s, k, d[0], d[1], why, sizeof why);
        } else if (k->def) {
            rc = settings_set_key(s, k, NULL, k->def, why, sizeof why);
        }
        if (rc) {
            snprintf(err, errlen, "default of key '%s': %s", k->name, why);
            return rc;
        }
    }
    return 0;
}

void settings_free(const settings *s)
{
    for (size_t i = 0; i < s->t->nkeys; i++) {
        const settings_key *k = &s->t->keys[i];
        if (k->type == SETTINGS_LIST && !k->set)
            settings_list_clear(s, k);
    }
}

/* ---- files ------------------------------------------------------------------------------ */

typedef struct settings_load_ctx {
    const settings *s;
    unsigned char started[SETTINGS_MAX_KEYS]; /* lists whose sequence began in this file */
} settings_load_ctx;

static int settings_on_yaml(void *ud, const char *key, const char *value, int line, char *err,
                            size_t errlen)
{
    settings_load_ctx *c = ud;
    const settings *s = c->s;
    (void)line;
    const settings_key *k = settings_find(s->t, key);
    size_t len = strlen(key);
    int item = len > 2 && strcmp(key + len - 2, "[]") == 0;
    if (!k) {
        if (item) { /* "duration: [1, 2]", "patterns.x: [a]" */
            char base[256];
            snprintf(base, sizeof base, "%.*s", (int)(len - 2), key);
            if (settings_find(s->t, base)) {
                snprintf(err, errlen, "must be a single value, not a list");
                return ERR_INVAL;
            }
        }
        snprintf(err, errlen, "unknown key (%s)",
                 s->t->keys_hint ? s->t->keys_hint : "see --help-keys");
        return ERR_NOENT;
    }
    if (k->type == SETTINGS_LIST) {
        if (!item) {
            snprintf(err, errlen, "must be a list%s", k->what ? k->what : "");
            return ERR_INVAL;
        }
        size_t idx = (size_t)(k - s->t->keys);
        if (!c->started[idx]) { /* a sequence in a file replaces the list */
            settings_list_clear(s, k);
            c->started[idx] = 1;
        }
        return settings_set_key(s, k, NULL, value, err, errlen);
    }
    if (item) {
        snprintf(err, errlen, "must be a single value, not a list");
        return ERR_INVAL;
    }
    return settings_set(s, key, value, err, errlen);
}

/* text NULL: read the file at name. */
static int settings_load(const settings *s, const char *text, size_t len, const char *name,
                         char *err, size_t errlen)
{
    settings_load_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    if (s->t->nkeys > SETTINGS_MAX_KEYS) {
        snprintf(err, errlen, "%s: more than %d keys in the table", name, SETTINGS_MAX_KEYS);
        return ERR_FULL;
    }
    if (!text)
        return config_load_yaml(name, settings_on_yaml, &c, err, errlen);
    return config_parse_yaml(text, len, name, settings_on_yaml, &c, err, errlen);
}

int settings_load_text(const settings *s, const char *text, size_t len, const char *name, char *err,
                       size_t errlen)
{
    return settings_load(s, text ? text : "", len, name, err, errlen);
}

int settings_load_file(const settings *s, const char *path, char *err, size_t errlen)
{
    return settings_load(s, NULL, 0, path, err, errlen);
}

/* ---- the command line ------------------------------------------------------------------- */

/* The key whose flag is arg ("--duration", or "--duration=5s" with *inline_value set). */
static const settings_key *settings_flag(const settings_table *t, const char *arg,
                                         const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < t->nkeys; i++) {
        const char *f = t->keys[i].flag;
        if (!f)
            continue;
        size_t n = strcspn(f, " ");
        if (strncmp(arg, f, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
            if (arg[n] == '=')
                *inline_value = arg + n + 1;
            return &t->keys[i];
        }
    }
    return NULL;
}

typedef enum arg_kind {
    A_END,
    A_STOP,
    A_CONFIG,
    A_SET,
    A_FLAG,
    A_HELP,
    A_HELP_KEYS,
    A_PRINT
} arg_kind;

/* Classifies argv[*i] and finds its value (moving *i past it). */
static int settings_next_arg(const settings *s, int argc, char **argv, int *i, arg_kind *kind,
                             const settings_key **key, const char **value, char *err, size_t errlen)
{
    const char *a = argv[*i];
    const char *iv = NULL;
    *key = NULL;
    *value = NULL;
    if (strcmp(a, "--") == 0) {
        *kind = A_END;
        return 0;
    }
    if (a[0] != '-' || a[1] == '\0') {
        *kind = A_STOP;
        return 0;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        *kind = A_HELP;
        return 0;
    }
    if (!strcmp(a, "--help-keys")) {
        *kind = A_HELP_KEYS;
        return 0;
    }
    if (!strcmp(a, "--print-config")) {
        *kind = A_PRINT;
        return 0;
    }
    if (!strcmp(a, "-c") || !strcmp(a, "--config"))
        *kind = A_CONFIG;
    else if (!strncmp(a, "--config=", 9)) {
        *kind = A_CONFIG;
        iv = a + 9;
    } else if (!strcmp(a, "--set"))
        *kind = A_SET;
    else if (!strncmp(a, "--set=", 6)) {
        *kind = A_SET;
        iv = a + 6;
    } else if ((*key = settings_flag(s->t, a, &iv)) != NULL)
        *kind = A_FLAG;
    else {
        char opt[80];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(a, "="), a);
        snprintf(err, errlen, "unknown option '%.64s'%s%s%s", opt, s->t->help_hint ? " (" : "",
                 s->t->help_hint ? s->t->help_hint : "", s->t->help_hint ? ")" : "");
        return ERR_INVAL;
    }
    if (iv) {
        *value = iv;
        return 0;
    }
    /* a BOOL flag stands alone ("--fail-fast") unless "true" or "false" follows */
    if (*kind == A_FLAG && (*key)->type == SETTINGS_BOOL &&
        (*i + 1 >= argc || (strcmp(argv[*i + 1], "true") && strcmp(argv[*i + 1], "false")))) {
        *value = "true";
        return 0;
    }
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "option '%.64s' needs a value", a);
        return ERR_INVAL;
    }
    *value = argv[++*i];
    return 0;
}

int settings_args(const settings *s, int argc, char **argv, settings_cli *cli, char *err,
                  size_t errlen)
{
    arg_kind kind;
    const settings_key *k;
    const char *v;
    int rc;
    memset(cli, 0, sizeof *cli);
    cli->rest = argc;
    /* pass 0: help and usage errors; 1: the files, wherever -c stands, so that flags override
     * them; 2: --set and flags in order */
    for (int pass = 0; pass <= 2; pass++) {
        for (int i = 1; i < argc; i++) {
            if ((rc = settings_next_arg(s, argc, argv, &i, &kind, &k, &v, err, errlen)) != 0)
                return rc;
            if (kind == A_END || kind == A_STOP) {
                cli->rest = kind == A_END ? i + 1 : i;
                break;
            }
            if (pass == 0 && (kind == A_HELP || kind == A_HELP_KEYS)) {
                cli->help = kind == A_HELP;
                cli->help_keys = kind == A_HELP_KEYS;
                return 0;
            }
            if (pass == 1 && kind == A_CONFIG && (rc = settings_load_file(s, v, err, errlen)) != 0)
                return rc;
            if (pass != 2)
                continue;
            if (kind == A_PRINT) {
                cli->print_config = 1;
            } else if (kind == A_SET) {
                if ((rc = settings_set_kv(s, v, "--set", err, errlen)) != 0)
                    return rc;
            } else if (kind == A_FLAG) {
                char why[512] = "";
                if ((rc = settings_set_key(s, k, NULL, v, why, sizeof why)) != 0) {
                    snprintf(err, errlen, "%.*s: key '%s': %s", (int)strcspn(k->flag, " "), k->flag,
                             k->name, why);
                    return rc;
                }
            }
        }
    }
    return 0;
}

/* ---- dumps and help --------------------------------------------------------------------- */

typedef struct sbuf_out {
    char *buf;
    size_t n, used; /* used may pass n: the length that was wanted */
} sbuf_out;

static void out_add(sbuf_out *o, const char *p, size_t len)
{
    if (o->n && o->used < o->n - 1) {
        size_t room = o->n - 1 - o->used;
        memcpy(o->buf + o->used, p, len < room ? len : room);
    }
    o->used += len;
}

static void out_str(sbuf_out *o, const char *p)
{
    out_add(o, p, strlen(p));
}

/* A scalar as YAML: single-quoted (only ' doubles), or double-quoted with escapes when it holds
 * a control character or a Unicode line break, which single quotes would fold. */
static void out_yaml(sbuf_out *o, const char *v)
{
    int dq = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] == 0x85) ||
            (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) ||
            (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf))
            dq = 1;
    if (!dq) {
        out_add(o, "'", 1);
        for (const char *p = v; *p; p++) {
            if (*p == '\'')
                out_add(o, "'", 1);
            out_add(o, p, 1);
        }
        out_add(o, "'", 1);
        return;
    }
    out_add(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            out_add(o, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            out_str(o, esc);
        } else if (p[0] == 0xc2 && p[1] == 0x85) {
            out_str(o, "\\N");
            p++;
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            out_str(o, p[2] == 0xa8 ? "\\L" : "\\P");
            p += 2;
        } else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
            out_str(o, "\\uFEFF");
            p += 2;
        } else {
            out_add(o, (const char *)p, 1);
        }
    }
    out_add(o, "\"", 1);
}

/* The value of a scalar key as text (not quoted). */
static void settings_value(const settings *s, const settings_key *k, char *buf, size_t n)
{
    const char *field = (const char *)s->obj + k->off;
    double x;
    unsigned e;
    buf[0] = '\0';
    switch (k->type) {
    case SETTINGS_DURATION:
    case SETTINGS_SIZE:
    case SETTINGS_INT:
        settings_format_u64(k, settings_load_u64(field, settings_width(k)), buf, n);
        break;
    case SETTINGS_FLOAT:
        memcpy(&x, field, sizeof x);
        settings_format_double(x, buf, n);
        break;
    case SETTINGS_BOOL:
        snprintf(buf, n, "%s", *(const int *)(const void *)field ? "true" : "false");
        break;
    case SETTINGS_ENUM:
        memcpy(&e, field, sizeof e);
        snprintf(buf, n, "%s", k->choices[e]);
        break;
    case SETTINGS_STRING:
        if (k->show)
            k->show(field, buf, n);
        else
            snprintf(buf, n, "%s", field);
        break;
    case SETTINGS_LIST:
    case SETTINGS_MAP:
        break;
    }
}

static size_t settings_count(const settings *s, const settings_key *k)
{
    size_t n;
    memcpy(&n, (const char *)s->obj + k->off_n, sizeof n);
    return n;
}

/* What a secret value that is set is shown as. */
#define SECRET_SHOWN "(set, not shown)"

/* A list as YAML flow text: ['a', 'b']; a secret one as a count. */
static void settings_list_text(const settings *s, const settings_key *k, sbuf_out *o)
{
    size_t n = k->off_n || !k->set ? settings_count(s, k) : 0;
    if ((k->flags & SETTINGS_SECRET) && n) {
        char c[64];
        snprintf(c, sizeof c, "(%zu set, not shown)", n);
        out_str(o, c);
        return;
    }
    char *const *items = (char *const *)(const void *)((const char *)s->obj + k->off);
    out_add(o, "[", 1);
    for (size_t i = 0; i < n && !k->set; i++) {
        if (i)
            out_add(o, ", ", 2);
        out_yaml(o, items[i]);
    }
    out_add(o, "]", 1);
}

typedef void (*settings_each_fn)(void *ud, const char *key, const char *value, const char *help);

/* Map entries, then the removed defaults as "" (which removes them), so that a dump loads back
 * the same. */
static void settings_each_map(const settings *s, const settings_key *k, settings_each_fn fn,
                              void *ud)
{
    if (k->set)
        return; /* kept by the program, not here */
    const char *base = s->obj;
    const char(*names)[SETTINGS_NAME_MAX] = (const void *)(base + k->off);
    const char *values = base + k->off2;
    size_t n = settings_count(s, k);
    char key[SETTINGS_NAME_MAX + 128];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s.%s", k->name, names[i]);
        fn(ud, key, values + i * k->width, k->help);
    }
    for (const char *const *d = k->map_defaults; d && d[0] && d[1]; d += 2) {
        size_t j = 0;
        while (j < n && strcmp(names[j], d[0]) != 0)
            j++;
        if (j < n)
            continue;
        snprintf(key, sizeof key, "%s.%s", k->name, d[0]);
        fn(ud, key, "", "default removed");
    }
}

static void settings_each_key(const settings *s, int all, settings_each_fn fn, void *ud)
{
    char v[SETTINGS_VALUE_MAX];
    for (size_t i = 0; i < s->t->nkeys; i++) {
        const settings_key *k = &s->t->keys[i];
        if (!all && (k->flags & SETTINGS_NO_DUMP))
            continue;
        if (k->type == SETTINGS_MAP) {
            settings_each_map(s, k, fn, ud);
            continue;
        }
        if (k->type == SETTINGS_LIST) {
            sbuf_out o = {v, SETTINGS_VALUE_MAX, 0};
            settings_list_text(s, k, &o);
            v[o.used < SETTINGS_VALUE_MAX ? o.used : SETTINGS_VALUE_MAX - 1] = '\0';
        } else {
            settings_value(s, k, v, SETTINGS_VALUE_MAX);
            if ((k->flags & SETTINGS_SECRET) && v[0]) /* a webhook URL, a password */
                snprintf(v, sizeof v, "%s", SECRET_SHOWN);
        }
        fn(ud, k->name, v, k->help);
    }
}

void settings_each(const settings *s, settings_each_fn fn, void *ud)
{
    settings_each_key(s, 0, fn, ud);
}

typedef struct dump_ctx {
    const settings *s;
    sbuf_out o;
    int with_help;
} dump_ctx;

static void settings_dump_one(void *ud, const char *key, const char *value, const char *help)
{
    dump_ctx *c = ud;
    const settings_key *k = settings_find(c->s->t, key);
    if (k && k->type == SETTINGS_LIST) {
        if ((k->flags & SETTINGS_SECRET) && settings_count(c->s, k))
            out_str(&c->o, "# "); /* a count, as a comment: it does not load back */
        out_str(&c->o, key);
        out_str(&c->o, ": ");
        settings_list_text(c->s, k, &c->o); /* the full list, not value's bounded copy */
    } else {
        if (k && (k->flags & SETTINGS_SECRET) && strcmp(value, SECRET_SHOWN) == 0)
            out_str(&c->o, "# "); /* as a comment: it does not load back */
        out_str(&c->o, key);
        out_str(&c->o, ": ");
        out_yaml(&c->o, value);
    }
    if (c->with_help && help) {
        out_str(&c->o, "  # ");
        out_str(&c->o, help);
    }
    out_add(&c->o, "\n", 1);
}

size_t settings_dump(const settings *s, char *buf, size_t n, int with_help)
{
    dump_ctx c = {s, {buf, n, 0}, with_help};
    if (!n)
        return 0;
    settings_each(s, settings_dump_one, &c);
    size_t len = c.o.used < n ? c.o.used : n - 1;
    buf[len] = '\0';
    return len;
}

typedef struct keys_ctx {
    const settings *s;
    FILE *out;
} keys_ctx;

static void settings_key_line(void *ud, const char *key, const char *value, const char *help)
{
    keys_ctx *c = ud;
    const settings_key *k = settings_find(c->s->t, key);
    char r[128] = "";
    if (k)
        settings_range_text(k, r, sizeof r);
    fprintf(c->out, "  %-30s %-12s %s%s%s%s\n", key, *value ? value : "''", help, *r ? " (" : "", r,
            *r ? ")" : "");
}

void settings_print_keys(const settings *s, FILE *out)
{
    keys_ctx c = {s, out};
    settings_each_key(s, 1, settings_key_line, &c);
}

void settings_print_flags(const settings *s, FILE *out)
{
    char val[256], flag[96];
    fprintf(out, "  -c, --config FILE          YAML settings (%s)\n",
            s->t->keys_hint ? s->t->keys_hint : "see --help-keys");
    fprintf(out, "      --set KEY=VALUE        set any key, after the file (repeatable)\n");
    for (size_t i = 0; i < s->t->nkeys; i++) {
        const settings_key *k = &s->t->keys[i];
        if (!k->flag)
            continue;
        snprintf(flag, sizeof flag, "%s", k->flag);
        if (k->type == SETTINGS_LIST) {
            fprintf(out, "      %-22s %s (repeatable)\n", flag, k->help);
            continue;
        }
        settings_value(s, k, val, sizeof val);
        fprintf(out, "      %-22s %s (default %s)\n", flag, k->help, *val ? val : "''");
    }
    fprintf(out, "      --print-config         print every key with its value and exit\n");
    fprintf(out, "      --help-keys            every key with its default, range and meaning\n");
    fprintf(out, "  -h, --help                 this text\n");
}
