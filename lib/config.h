/*
 * config: read a YAML configuration file as a flat list of keys with their line numbers.
 *
 * Nested mappings become dotted keys ("patterns.error"); items of a sequence are reported one
 * by one under the key with "[]" appended ("command[]"); scalars are passed as written (the
 * program decides their type). Anchors, aliases, tags and multi-document streams are refused:
 * a configuration should read the same to a person as to the program.
 *
 * Keys passed to the callback are shorter than 256 bytes; longer ones are errors.
 * Error messages name the file, the line and the key: "soak.yaml:12: key 'duration': ...".
 * Nothing here prints or exits.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

/* Called per scalar. Return 0 to go on; to refuse, write the reason (without file, line or key)
 * into err and return nonzero: config_* then fails with the full message. */
typedef int (*config_fn)(void *ud, const char *key, const char *value, int line, char *err,
                         size_t errlen);

/* Parses YAML text (need not be NUL-terminated); name is used in messages.
 * Returns 0, or -1 with the message in err. */
int config_parse_yaml(const char *text, size_t len, const char *name, config_fn fn, void *ud,
                      char *err, size_t errlen);
/* Reads and parses a file (at most 1 MiB). Returns 0, or -1 with the message in err. */
int config_load_yaml(const char *path, config_fn fn, void *ud, char *err, size_t errlen);

#endif
