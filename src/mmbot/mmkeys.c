/* mmkeys: API keys from the environment or a mode-0600 key file. See mmkeys.h. */
#include "mmkeys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "errcode.h"

void mmkeys_wipe(mmkeys *k)
{
    explicit_bzero(k->key, sizeof k->key);
    explicit_bzero(k->secret, sizeof k->secret);
}

/* 1..127 printable characters without spaces. */
static int value_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= MMKEYS_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~')
            return 0;
    return 1;
}

typedef struct file_ctx {
    mmkeys *k;
    int have_key, have_secret;
} file_ctx;

static int on_key(void *ud, const char *key, const char *value, int line, char *err, size_t errlen)
{
    file_ctx *c = ud;
    (void)line;
    char *dst;
    if (!strcmp(key, "api_key")) {
        dst = c->k->key;
        c->have_key = 1;
    } else if (!strcmp(key, "api_secret")) {
        dst = c->k->secret;
        c->have_secret = 1;
    } else {
        snprintf(err, errlen, "unknown key (a key file has api_key and api_secret)");
        return ERR_PARSE;
    }
    if (!value_ok(value)) {
        snprintf(err, errlen, "want 1 to 127 printable characters without spaces (not shown)");
        return ERR_PARSE;
    }
    snprintf(dst, MMKEYS_MAX, "%s", value);
    return 0;
}

static int load_file(mmkeys *k, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot read key file '%s': %s", path, strerror(e));
        return e == ENOENT ? ERR_NOENT : ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key file '%s' is not a regular file", path);
        return ERR_CONFIG;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "key file '%s' can be read by others (mode %04o): run chmod 600 '%s'",
                 path, (unsigned)(st.st_mode & 07777), path);
        return ERR_CONFIG;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "key file '%s' belongs to another user (uid %u)", path,
                 (unsigned)st.st_uid);
        return ERR_CONFIG;
    }
    file_ctx c = {k, 0, 0};
    int rc = config_load_yaml(path, on_key, &c, err, errlen);
    if (rc)
        return rc == ERR_NOENT || rc == ERR_IO ? rc : ERR_PARSE;
    if (!c.have_key || !c.have_secret) {
        snprintf(err, errlen, "key file '%s' has no %s", path,
                 !c.have_key ? "api_key" : "api_secret");
        return ERR_PARSE;
    }
    snprintf(k->source, sizeof k->source, "key file '%.140s'", path);
    return 0;
}

int mmkeys_load(mmkeys *k, const char *key_file, const char *env_key, const char *env_secret,
                char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    int rc;
    if (key_file && *key_file) {
        rc = load_file(k, key_file, err, errlen);
    } else if (env_key && *env_key && env_secret && *env_secret) {
        rc = 0;
        if (!value_ok(env_key) || !value_ok(env_secret)) {
            snprintf(err, errlen,
                     "%s: want 1 to 127 printable characters without spaces (not shown)",
                     !value_ok(env_key) ? "BYBIT_API_KEY" : "BYBIT_API_SECRET");
            rc = ERR_PARSE;
        } else {
            snprintf(k->key, sizeof k->key, "%s", env_key);
            snprintf(k->secret, sizeof k->secret, "%s", env_secret);
            snprintf(k->source, sizeof k->source, "BYBIT_API_KEY/BYBIT_API_SECRET");
        }
    } else {
        snprintf(err, errlen,
                 "no API keys: set BYBIT_API_KEY and BYBIT_API_SECRET, or key_file to a file of "
                 "mode 0600 with api_key and api_secret%s",
                 (env_key && *env_key) || (env_secret && *env_secret)
                     ? " (only one of the two variables is set)"
                     : "");
        rc = ERR_NOENT;
    }
    if (rc)
        mmkeys_wipe(k);
    return rc;
}
