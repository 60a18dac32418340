/*
 * config: read a YAML configuration file as a flat list of keys with their line numbers.
 *
 * Nested mappings become dotted keys ("patterns.error"); items of a sequence are reported one
 * by one under the key with "[]" appended ("command[]"); scalars are passed as written (the
 * program decides their type). Anchors, aliases, tags and multi-document streams are refused:
 * a configuration should read the same to a person as to the program.
 *
 * A key given twice is an error naming both lines ("soak.yaml:9: key 'interval': given twice
 * (first on line 4)"); so is a mapping given twice, and "a: {b: 1}" next to "a.b: 2" (both are
 * the key 'a.b'). At most 4096 keys per file.
 *
 * Keys passed to the callback are shorter than 256 bytes; longer ones are errors.
 * Error messages name the file, the line and the key: "soak.yaml:12: key 'duration': ...".
 * Functions return 0 or a negative ERR_* code (lib/errcode.h). Nothing here prints or exits.
 * lib/settings.h builds typed settings on this reader; programs use that.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

/* Called per scalar. Return 0 to go on; to refuse, write the reason (without file, line or key)
 * into err and return a negative ERR_* code (returned as is) or a positive number (returned as
 * ERR_CONFIG): config_* then fails with the full message. */
typedef int (*config_fn)(void *ud, const char *key, const char *value, int line, char *err,
                         size_t errlen);

/* Parses YAML text (need not be NUL-terminated); name is used in messages.
 * Returns 0, or with the message in err: ERR_PARSE (not YAML, or YAML this reader refuses),
 * ERR_DUP (a key given twice), ERR_FULL (too many keys), ERR_NOMEM, or the callback's code. */
int config_parse_yaml(const char *text, size_t len, const char *name, config_fn fn, void *ud,
                      char *err, size_t errlen);
/* Reads and parses a file (at most 1 MiB). Returns 0, or with the message in err: ERR_NOENT
 * (no such file), ERR_IO (cannot open or read), ERR_FULL (larger than 1 MiB), ERR_NOMEM, or
 * what config_parse_yaml returns. */
int config_load_yaml(const char *path, config_fn fn, void *ud, char *err, size_t errlen);

#endif
