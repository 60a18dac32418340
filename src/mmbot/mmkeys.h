/*
 * mmkeys: the API key and secret of mmbot, from the environment or a key file, never from the
 * command line or the settings (which --print-config shows and logs record).
 *
 * Sources, first that applies:
 *   1. key_file (the `key_file` setting) when not empty: a YAML file with `api_key` and
 *      `api_secret`, a regular file of mode 0600 or stricter, owned by the user who runs mmbot;
 *   2. BYBIT_API_KEY and BYBIT_API_SECRET in the environment (both, not empty).
 * Each value is 1 to 127 printable characters without spaces.
 *
 * No message written by this module contains the secret or the key: a bad value is named by
 * what is wrong with it, never shown. The caller keeps an mmkeys in memory only and wipes it
 * with mmkeys_wipe when done (explicit_bzero, which the compiler does not drop).
 * Plain value type; nothing allocated. Functions return 0 or a negative ERR_* code.
 */
#ifndef MM_KEYS_H
#define MM_KEYS_H

#include <stddef.h>

#define MMKEYS_MAX 128 /* a value with its NUL */

typedef struct mmkeys {
    char key[MMKEYS_MAX];
    char secret[MMKEYS_MAX];
    char source[160]; /* "BYBIT_API_KEY/BYBIT_API_SECRET" or "key file 'PATH'": for messages */
} mmkeys;

/* Loads the keys. env_key/env_secret: the environment's values (NULL when unset; passed in so
 * that tests need no setenv). Errors, with a message naming the source and what to do:
 * ERR_NOENT (no key anywhere, or the file is missing), ERR_CONFIG (a group/other-readable file,
 * not a regular file, owned by another user), ERR_PARSE (bad YAML, an unknown key in the file,
 * a bad value), ERR_IO (cannot read). On failure k is wiped. */
int mmkeys_load(mmkeys *k, const char *key_file, const char *env_key, const char *env_secret,
                char *err, size_t errlen);
/* Overwrites the key and the secret with zeros. */
void mmkeys_wipe(mmkeys *k);

#endif
