/*
 * settings: one engine for the settings of every program (soak, bybit-sim, mmbot).
 *
 * A program declares its keys once, in a table of settings_key: name (dotted for nested YAML,
 * "exchange.rest_url"), type, default, range or choices, help, the flag that sets it, and where
 * the value lives (an offsetof into the program's struct, or a setter callback for special
 * cases). From that table come the defaults, the YAML file, `--set key=value`, the flags, the
 * checks (every range is checked when a value is set, so a bad value fails at load time with
 * file:line:key), `--print-config`, `--help-keys` and the flags part of `--help`.
 *
 * Precedence: defaults < the YAML file(s) given with -c < flags and --set, in command-line order.
 *
 * Messages (the reason of a refusal is the same from every source):
 *   soak.yaml:12: key 'intreval': unknown key (see examples/soak.yaml for the keys)
 *   soak.yaml:9: key 'interval': given twice (first on line 4)
 *   --set: key 'interval': '0' is not 1ms or more
 *   --duration: key 'duration': 'soon' is not a duration (e.g. 250ms, 20s, 10m, 24h)
 *
 * Types and their storage (the field at `off` in the program's struct):
 *   DURATION  uint64_t milliseconds ("250ms", "1h30m"; a bare number is seconds); range in ms
 *   SIZE      uint64_t or size_t bytes, per `width` ("64MiB", "5GB", "512"); range in bytes
 *   INT       unsigned whole number of `width` bytes (4 or 8); range min..max
 *   FLOAT     double; range fmin..fmax (always checked; NaN and inf are refused)
 *   BOOL      int, 0 or 1 ("true" / "false")
 *   ENUM      unsigned: the index of the value in `choices`
 *   STRING    char[width], NUL-terminated; `check` may refuse a value
 *   LIST      a YAML sequence: char *[cap] of owned strings at `off` and a size_t count at
 *             `off_n`; or a `set` callback per item. In a file, a sequence replaces the list
 *             (an empty one, "[]", leaves it as it is: the reader reports no item); --set and
 *             the flag add one item.
 *   MAP       NAME -> string, written "prefix.NAME: value" or nested under "prefix:": names
 *             char[cap][SETTINGS_NAME_MAX] at `off`, values char[cap][width] at `off2`, count
 *             size_t at `off_n`; '' removes an entry; defaults in `map_defaults`. Or a `set`
 *             callback with the part after "prefix.".
 *
 * Tables are const and may be shared between threads; an object is used by one thread at a
 * time. Functions return 0 or a negative ERR_* code (lib/errcode.h) and write a message for a
 * person into the caller's buffer; they never print (but settings_print_*) and never exit.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SETTINGS_NAME_MAX  64   /* a map entry's name, with its NUL */
#define SETTINGS_MAX_KEYS  256  /* keys in one table */
#define SETTINGS_VALUE_MAX 4096 /* a value as text (a --set, a flag, a dumped value) */

typedef enum settings_type {
    SETTINGS_DURATION,
    SETTINGS_SIZE,
    SETTINGS_INT,
    SETTINGS_FLOAT,
    SETTINGS_BOOL,
    SETTINGS_ENUM,
    SETTINGS_STRING,
    SETTINGS_LIST,
    SETTINGS_MAP,
} settings_type;

/* Key flags. */
#define SETTINGS_SECRET 1u /* values never shown: --print-config gives a count only */
#define SETTINGS_NO_DUMP                                                                           \
    2u /* left out of settings_dump and settings_each (a program records
                             * it apart, e.g. soak's command); --help-keys lists it */

typedef struct settings settings;
typedef struct settings_key settings_key;

/* Special storage of a LIST item or a MAP entry (name: the part after "prefix."; NULL for a
 * list). Returns 0 or an ERR_* code with the reason (without file, line or key) in err. */
typedef int (*settings_set_fn)(const settings *s, const settings_key *k, const char *name,
                               const char *value, char *err, size_t errlen);
/* Extra check of a STRING value or a MAP entry (name NULL for a string); same contract. */
typedef int (*settings_check_fn)(const char *name, const char *value, char *err, size_t errlen);
/* Runs after a value was stored (e.g. a seed copied elsewhere); same contract. */
typedef int (*settings_after_fn)(const settings *s, const settings_key *k, char *err,
                                 size_t errlen);
/* How a STRING is shown in --print-config and the run's record (e.g. a URL's password
 * hidden); writes at most n bytes with the NUL. */
typedef void (*settings_show_fn)(const char *value, char *buf, size_t n);

struct settings_key {
    const char *name; /* YAML key, dotted for nesting; a MAP's prefix */
    settings_type type;
    const char *def;   /* the default as text, parsed like any value; NULL: the program's own */
    const char *help;  /* one line for --help-keys and --print-config */
    const char *flag;  /* "--duration D": the flag and the name of its value; NULL: none */
    size_t off;        /* offsetof the value (LIST: the char *[]; MAP: the names) */
    size_t width;      /* INT, SIZE: sizeof the field; STRING, MAP: capacity of a value */
    uint64_t min, max; /* DURATION, SIZE, INT: the range (max 0: up to the type's limit) */
    double fmin, fmax; /* FLOAT: the range */
    const char *range; /* the range as people read it ("from 1s to 1d"); NULL:
                        * generated ("from 1 to 64", "1ms or more") */
    const char *what;  /* INT: what the number is ("a level"); MAP: an entry ("pattern");
                        * LIST: how it is written, after "must be a list" (", e.g. [a, b]") */
    const char *const *choices;      /* ENUM: the names, NULL-terminated */
    size_t off2;                     /* MAP: offsetof the values */
    size_t off_n;                    /* LIST, MAP: offsetof the size_t count */
    size_t cap;                      /* LIST, MAP: entries at most */
    const char *const *map_defaults; /* MAP: name, value, name, value ..., NULL */
    settings_check_fn check;
    settings_set_fn set; /* LIST, MAP: instead of the storage above */
    settings_after_fn after;
    settings_show_fn show;
    unsigned flags; /* SETTINGS_SECRET */
};

typedef struct settings_table {
    const char *prog; /* "soak": the first word of usage lines */
    const settings_key *keys;
    size_t nkeys;          /* at most SETTINGS_MAX_KEYS */
    const char *keys_hint; /* after "unknown key": "see examples/soak.yaml for the keys" */
    const char *help_hint; /* after "unknown option": "see 'soak run --help'" */
} settings_table;

/* A table bound to one object. ctx is the program's, for its callbacks (bybit-sim: faults). */
struct settings {
    const settings_table *t;
    void *obj;
    void *ctx;
};

/* Applies every default (keys with def NULL are left as they are: the program sets them
 * before). Returns 0, or an ERR_* code when a default is refused (a bug of the table: tests
 * call this). */
int settings_init(const settings *s, char *err, size_t errlen);
/* Frees the strings of LIST keys stored in the object; the object stays valid (lists empty).
 * Safe twice. */
void settings_free(const settings *s);

/* The key that owns a name ("interval", "patterns.oom", "command[]"): NULL when unknown. */
const settings_key *settings_find(const settings_table *t, const char *name);

/* Sets one key from text: key is "name", "prefix.NAME" for a map, "name" of a list (adds one
 * item). The reason only (without key) in err. Returns 0, ERR_NOENT (unknown key), ERR_PARSE
 * (not a value of the type), ERR_RANGE (outside the range or the choices), ERR_FULL (a cap),
 * ERR_NOMEM, or a callback's code. On failure the object is as it was (an `after` callback
 * aside). */
int settings_set(const settings *s, const char *key, const char *value, char *err, size_t errlen);
/* "key=value" from a source named where ("--set"): message "--set: key 'k': reason", or
 * "--set: want KEY=VALUE" (the text is not repeated: it may hold a secret). Same codes, and
 * ERR_INVAL for the form. */
int settings_set_kv(const settings *s, const char *kv, const char *where, char *err, size_t errlen);
/* Loads YAML text or a file over the object; the message names file, line and key. Returns 0
 * or an ERR_* code (settings_set's, or config_load_yaml's: ERR_DUP for a key given twice). On
 * failure the keys before the failing one are applied. */
int settings_load_text(const settings *s, const char *text, size_t len, const char *name, char *err,
                       size_t errlen);
int settings_load_file(const settings *s, const char *path, char *err, size_t errlen);

/* What the command line asked for besides settings. */
typedef struct settings_cli {
    int help, help_keys, print_config; /* -h/--help, --help-keys, --print-config were given */
    int rest;                          /* index in argv of the first argument that is no
                                        * option (after "--" when given); argc if none */
} settings_cli;
/* Reads argv[1..]: -c/--config FILE (every file first, in order, wherever it stands), then
 * --set KEY=VALUE and the table's flags in order ("--flag V" or "--flag=V"; a BOOL key's flag
 * alone means true, "--flag true|false" and "--flag=false" also work). Stops at "--" or
 * at the first argument that is no option. -h/--help and --help-keys stop at once, before any
 * file is read. Returns 0, or an ERR_* code with the message in err: ERR_INVAL for a usage
 * error ("unknown option '--x' (see ...)", "option '--seed' needs a value"), else a setting's
 * (the message names file:line:key, or the flag or --set and the key). */
int settings_args(const settings *s, int argc, char **argv, settings_cli *cli, char *err,
                  size_t errlen);

/* Every key with its value, as YAML that settings_load_text reads back to the same values:
 * "key: 'value'" (double-quoted with escapes where needed), lists as "key: ['a', 'b']", map
 * entries as "prefix.NAME: 'value'" and removed defaults as "prefix.NAME: ''". Secret keys are
 * a comment with their count. with_help adds "  # help" to each line (--print-config).
 * Returns the length written (truncated to n - 1; n == 0 writes nothing). */
size_t settings_dump(const settings *s, char *buf, size_t n, int with_help);
/* Calls fn for each key in table order (map entries one by one; removed map defaults with ""
 * and help "default removed"; lists as "[...]" flow text; secrets as "(N set, not shown)"). */
void settings_each(const settings *s,
                   void (*fn)(void *ud, const char *key, const char *value, const char *help),
                   void *ud);

/* --help-keys: one line per key, "  KEY  VALUE  HELP (RANGE)", the key at the third column;
 * values are the object's (call it on defaults). Maps show "prefix.NAME". */
void settings_print_keys(const settings *s, FILE *out);
/* The flags part of --help: -c, --set, each key's flag with its default, --print-config,
 * --help-keys, -h. */
void settings_print_flags(const settings *s, FILE *out);

#endif
