/* Tests of termsafe: what a service writes reaches the operator's terminal as visible text,
 * never as an escape sequence the terminal would act on (a retitled window, colours, a moved
 * cursor), and readable text passes unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "termsafe.h"

static void expect(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = termsafe_escape(in, len, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_plain_text_unchanged(void **state)
{
    (void)state;
    expect("GET /health 200 in 3 ms", 23, "GET /health 200 in 3 ms");
    expect("café €5 😀", strlen("café €5 😀"), "café €5 😀");
    expect("", 0, "");
}

static void test_escape_sequences_are_visible(void **state)
{
    (void)state;
    /* the examples: a window title (OSC ... BEL) and colour codes */
    const char *title = "\033]0;pwned\007";
    expect(title, strlen(title), "\\x1b]0;pwned\\x07");
    const char *red = "\033[31mred\033[0m";
    expect(red, strlen(red), "\\x1b[31mred\\x1b[0m");
    expect("a\tb\nc\rd", 7, "a\\tb\\nc\\rd");
    expect("nul\0byte", 8, "nul\\x00byte");
    expect("del\x7f", 4, "del\\x7f");
    expect("back\\slash", 10, "back\\\\slash");
}

static void test_c1_and_bad_utf8(void **state)
{
    (void)state;
    expect("\xc2\x9b"
           "2J",
           4, "\\xc2\\x9b2J"); /* CSI as UTF-8 (U+009B) */
    expect("\x9b"
           "2J",
           3, "\\x9b2J");                                  /* CSI as a raw 8-bit byte */
    expect("\xc0\xaf", 2, "\\xc0\\xaf");                   /* overlong '/' */
    expect("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");          /* a surrogate */
    expect("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
    expect("\xe2\x82", 2, "\\xe2\\x82");                   /* cut short */
    expect("\xc2\xa0", 2, "\xc2\xa0");                     /* U+00A0 is not a control */
}

static void test_cut_output(void **state)
{
    (void)state;
    char out[8];
    /* "ab" + "\x1b" needs 6 bytes; "cd" would pass 7: an escape is never cut in half */
    size_t n = termsafe_escape("ab\033cd", 5, out, 6);
    assert_int_equal(n, 8);
    assert_string_equal(out, "ab");
    n = termsafe_escape("ab\033cd", 5, out, sizeof out);
    assert_int_equal(n, 8);
    assert_string_equal(out, "ab\\x1bc");
    assert_int_equal(termsafe_escape("abc", 3, NULL, 0), 3);
    char s[64];
    assert_int_equal(termsafe_str(NULL, s, sizeof s), 0);
    assert_string_equal(s, "");
    termsafe_str("x\033y", s, sizeof s);
    assert_string_equal(s, "x\\x1by");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_escape_sequences_are_visible),
        cmocka_unit_test(test_c1_and_bad_utf8),
        cmocka_unit_test(test_cut_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
