/* mmkeys: keys come from a mode-0600 file or the environment; every refusal says what to do
 * and never shows the secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "errcode.h"
#include "mmkeys.h"
#include "testutil.h"

#define SECRET "s3cr3t-Value-42"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    if (!tu_tmpdir(dir, sizeof dir, "test_mmkeys"))
        return -1;
    snprintf(path, sizeof path, "%s/keys.yaml", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static void write_keys(const char *text, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_from_file(void **state)
{
    (void)state;
    mmkeys k;
    char err[512] = "";
    write_keys("api_key: AbCkey1\napi_secret: " SECRET "\n", 0600);
    assert_int_equal(mmkeys_load(&k, path, "envkey", "envsecret", err, sizeof err), 0);
    assert_string_equal(k.key, "AbCkey1"); /* the file wins over the environment */
    assert_string_equal(k.secret, SECRET);
    assert_non_null(strstr(k.source, "key file"));
    mmkeys_wipe(&k);
    assert_string_equal(k.secret, "");
}

static void test_from_env(void **state)
{
    (void)state;
    mmkeys k;
    char err[512];
    assert_int_equal(mmkeys_load(&k, "", "envkey", SECRET, err, sizeof err), 0);
    assert_string_equal(k.key, "envkey");
    assert_string_equal(k.source, "BYBIT_API_KEY/BYBIT_API_SECRET");
}

static void test_refusals(void **state)
{
    (void)state;
    mmkeys k;
    char err[512];
    write_keys("api_key: k\napi_secret: " SECRET "\n", 0644);
    assert_int_equal(mmkeys_load(&k, path, NULL, NULL, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "can be read by others (mode 0644): run chmod 600"));
    assert_null(strstr(err, SECRET));

    write_keys("api_key: k\napi_secret: " SECRET "\nextra: 1\n", 0600);
    assert_int_equal(mmkeys_load(&k, path, NULL, NULL, err, sizeof err), ERR_PARSE);
    assert_non_null(strstr(err, ":3: key 'extra': unknown key"));

    write_keys("api_key: k\n", 0600);
    assert_int_equal(mmkeys_load(&k, path, NULL, NULL, err, sizeof err), ERR_PARSE);
    assert_non_null(strstr(err, "has no api_secret"));

    write_keys("api_key: k\napi_secret: 'has space " SECRET "'\n", 0600);
    assert_int_equal(mmkeys_load(&k, path, NULL, NULL, err, sizeof err), ERR_PARSE);
    assert_null(strstr(err, SECRET));
    assert_string_equal(k.key, ""); /* wiped on failure */

    assert_int_equal(mmkeys_load(&k, "/nonexistent/keys.yaml", NULL, NULL, err, sizeof err),
                     ERR_NOENT);
    assert_int_equal(mmkeys_load(&k, dir, NULL, NULL, err, sizeof err), ERR_CONFIG);

    assert_int_equal(mmkeys_load(&k, NULL, NULL, NULL, err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, "no API keys: set BYBIT_API_KEY and BYBIT_API_SECRET"));
    assert_int_equal(mmkeys_load(&k, NULL, "onlykey", "", err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, "only one of the two variables is set"));
    assert_int_equal(mmkeys_load(&k, NULL, "k", "bad\x01" SECRET, err, sizeof err), ERR_PARSE);
    assert_non_null(strstr(err, "BYBIT_API_SECRET"));
    assert_null(strstr(err, SECRET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
