/* Tests of prefault: the storage is resident after the call, and still zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "prefault.h"
#include "testutil.h"

static void test_pages_become_resident(void **state)
{
    (void)state;
    size_t n = 4u << 20; /* 4 MiB: mmap'd by malloc, untouched until written */
    unsigned char *p = calloc(1, n);
    assert_non_null(p);
    long before = tu_resident_bytes();
    assert_true(before > 0);
    prefault(p, n);
    long grew = tu_resident_bytes() - before;
    if (grew < (long)(n * 9 / 10))
        fail_msg("RSS grew %ld kB for 4096 kB touched", grew / 1024);
    for (size_t i = 0; i < n; i += 509) /* the contents did not change */
        assert_int_equal(p[i], 0);
    assert_int_equal(p[n - 1], 0);
    free(p);
}

static void test_edges(void **state)
{
    (void)state;
    prefault(NULL, 0); /* nothing to touch */
    unsigned char one = 0;
    prefault(&one, 1);
    assert_int_equal(one, 0);
    unsigned char odd[4097 + 3] = {0};
    prefault(odd, sizeof odd); /* the last byte too, past the last whole page */
    assert_int_equal(odd[sizeof odd - 1], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_become_resident),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
