/* errcode: every code has its own message and name; unknown codes are named as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "errcode.h"

static void test_codes_distinct(void **state)
{
    (void)state;
    static const int codes[] = {
#define C(name, num, msg) name,
        ERRCODE_LIST(C)
#undef C
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(errcode_str(codes[i]), "unknown error");
        assert_int_equal(strncmp(errcode_name(codes[i]), "ERR_", 4), 0);
        for (size_t j = i + 1; j < n; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(errcode_str(codes[i]), errcode_str(codes[j]));
        }
    }
}

static void test_known_messages(void **state)
{
    (void)state;
    assert_string_equal(errcode_str(0), "ok");
    assert_string_equal(errcode_str(ERR_ADDR), "bad address");
    assert_string_equal(errcode_name(ERR_IO), "ERR_IO");
    assert_string_equal(errcode_str(-9999), "unknown error");
    assert_string_equal(errcode_name(12345), "ERR_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_distinct),
        cmocka_unit_test(test_known_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
