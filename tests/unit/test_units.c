/* Tests of units: durations and sizes as users write them, and the formatted forms. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "units.h"

static uint64_t dur_ok(const char *s)
{
    uint64_t ms = 12345;
    int rc = units_parse_duration(s, &ms);
    if (rc != 0)
        fail_msg("duration '%s' refused: %d", s, rc);
    return ms;
}

static void dur_bad(const char *s, int want)
{
    uint64_t ms = 777;
    int rc = units_parse_duration(s, &ms);
    if (rc != want)
        fail_msg("duration '%s': got %d, want %d", s, rc, want);
    assert_int_equal(ms, 777); /* nothing stored on failure */
}

static uint64_t bytes_ok(const char *s)
{
    uint64_t v = 12345;
    int rc = units_parse_bytes(s, &v);
    if (rc != 0)
        fail_msg("size '%s' refused: %d", s, rc);
    return v;
}

static void bytes_bad(const char *s, int want)
{
    uint64_t v = 777;
    int rc = units_parse_bytes(s, &v);
    if (rc != want)
        fail_msg("size '%s': got %d, want %d", s, rc, want);
    assert_int_equal(v, 777);
}

static void test_duration_units(void **state)
{
    (void)state;
    assert_int_equal(dur_ok("250ms"), 250);
    assert_int_equal(dur_ok("20s"), 20000);
    assert_int_equal(dur_ok("10m"), 600000);
    assert_int_equal(dur_ok("24h"), 86400000);
    assert_int_equal(dur_ok("7d"), 7ull * 86400000);
    assert_int_equal(dur_ok("0s"), 0);
}

static void test_duration_compound_and_fractions(void **state)
{
    (void)state;
    assert_int_equal(dur_ok("1h30m"), 5400000);
    assert_int_equal(dur_ok("1d1h1m1s1ms"), 90061001);
    assert_int_equal(dur_ok("1.5h"), 5400000);
    assert_int_equal(dur_ok("0.25s"), 250);
    assert_int_equal(dur_ok("90"), 90000); /* a bare number is seconds */
    assert_int_equal(dur_ok("0"), 0);
}

static void test_duration_rejects(void **state)
{
    (void)state;
    dur_bad("", ERR_PARSE);
    dur_bad("10x", ERR_PARSE);
    dur_bad("-1s", ERR_PARSE);
    dur_bad("1h30", ERR_PARSE); /* ambiguous: 30 what? */
    dur_bad("s", ERR_PARSE);
    dur_bad("ms", ERR_PARSE);
    dur_bad(" 5s", ERR_PARSE);
    dur_bad("5s ", ERR_PARSE);
    dur_bad("5 s", ERR_PARSE);
    dur_bad("1e3s", ERR_PARSE);
    dur_bad("0x10s", ERR_PARSE);
    dur_bad("inf", ERR_PARSE);
    dur_bad("nan", ERR_PARSE);
    dur_bad("1..5s", ERR_PARSE);
    dur_bad("5sec", ERR_PARSE);
    assert_int_equal(units_parse_duration(NULL, &(uint64_t){0}), ERR_INVAL);
}

static void test_duration_overflow(void **state)
{
    (void)state;
    dur_bad("99999999999999999999d", ERR_RANGE);
    dur_bad("200000000000000000h", ERR_RANGE);
    dur_bad("100000000000d100000000000d", ERR_RANGE);
}

static void test_duration_format(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(units_format_duration(0, buf, sizeof buf), "0s");
    assert_string_equal(units_format_duration(250, buf, sizeof buf), "250ms");
    assert_string_equal(units_format_duration(20000, buf, sizeof buf), "20s");
    assert_string_equal(units_format_duration(5400000, buf, sizeof buf), "1h30m");
    assert_string_equal(units_format_duration(86400000, buf, sizeof buf), "1d");
    assert_string_equal(units_format_duration(90061001, buf, sizeof buf), "1d1h1m1s1ms");
    /* a short buffer still gets a NUL-terminated prefix */
    char tiny[4];
    units_format_duration(90061001, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
}

static void test_duration_round_trip(void **state)
{
    (void)state;
    static const uint64_t fixed[] = {
        0,       1,        999,      1000,      1001,     59999,          60000,          3599999,
        3600000, 86399999, 86400000, 604800000, 90061001, 31536000000ull, 123456789012ull};
    char buf[64];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        units_format_duration(fixed[i], buf, sizeof buf);
        uint64_t back = dur_ok(buf);
        if (back != fixed[i])
            fail_msg("%llu ms -> '%s' -> %llu", (unsigned long long)fixed[i], buf,
                     (unsigned long long)back);
    }
    /* a spread of values up to about 35 years, from a fixed linear congruential sequence */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 5000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t ms = (x >> 24) % (1ull << 40);
        units_format_duration(ms, buf, sizeof buf);
        uint64_t back = dur_ok(buf);
        if (back != ms)
            fail_msg("%llu ms -> '%s' -> %llu", (unsigned long long)ms, buf,
                     (unsigned long long)back);
    }
}

static void test_bytes_units(void **state)
{
    (void)state;
    assert_int_equal(bytes_ok("512"), 512);
    assert_int_equal(bytes_ok("0"), 0);
    assert_int_equal(bytes_ok("512B"), 512);
    assert_int_equal(bytes_ok("64KiB"), 65536);
    assert_int_equal(bytes_ok("64K"), 64000);
    assert_int_equal(bytes_ok("10MB"), 10000000);
    assert_int_equal(bytes_ok("16MiB"), 16777216);
    assert_int_equal(bytes_ok("5GB"), 5000000000ull);
    assert_int_equal(bytes_ok("1GiB"), 1073741824ull);
    assert_int_equal(bytes_ok("1.5GiB"), 1610612736ull);
    assert_int_equal(bytes_ok("2TB"), 2000000000000ull);
    assert_int_equal(bytes_ok("1TiB"), 1099511627776ull);
    /* a space before the unit, as units_format_bytes writes it */
    assert_int_equal(bytes_ok("1 MiB"), 1048576);
}

static void test_bytes_case(void **state)
{
    (void)state;
    assert_int_equal(bytes_ok("64kib"), 65536);
    assert_int_equal(bytes_ok("64kb"), 64000);
    assert_int_equal(bytes_ok("10mb"), 10000000);
    assert_int_equal(bytes_ok("5gb"), 5000000000ull);
    assert_int_equal(bytes_ok("1gIb"), 1073741824ull);
    assert_int_equal(bytes_ok("3k"), 3000);
}

static void test_bytes_rejects(void **state)
{
    (void)state;
    bytes_bad("", ERR_PARSE);
    bytes_bad("abc", ERR_PARSE);
    bytes_bad("MiB", ERR_PARSE);
    bytes_bad("-5", ERR_PARSE);
    bytes_bad("-5MB", ERR_PARSE);
    bytes_bad(" 5MB", ERR_PARSE);
    bytes_bad("5MB ", ERR_PARSE);
    bytes_bad("5XB", ERR_PARSE);
    bytes_bad("5iB", ERR_PARSE);
    bytes_bad("5MiBB", ERR_PARSE);
    bytes_bad("5 MiB trailing", ERR_PARSE);
    bytes_bad("1e3", ERR_PARSE);
    bytes_bad("0x10", ERR_PARSE);
    bytes_bad("5s", ERR_PARSE);
    assert_int_equal(units_parse_bytes(NULL, &(uint64_t){0}), ERR_INVAL);
}

static void test_bytes_large(void **state)
{
    (void)state;
    bytes_bad("20000PB", ERR_RANGE);
    bytes_bad("99999999999999999999999", ERR_RANGE);
    /* past 2^63 but below the cap: either exact or refused, never a wrong number */
    uint64_t v = 0;
    int rc = units_parse_bytes("10000PB", &v);
    assert_true(rc == ERR_RANGE || (rc == 0 && v == 10000000000000000000ull));
    rc = units_parse_bytes("9500PB", &v);
    assert_true(rc == ERR_RANGE || (rc == 0 && v == 9500000000000000000ull));
    /* exactly 2^63, where llround would stop */
    assert_int_equal(bytes_ok("8192PiB"), 1ull << 63);
}

static void test_bytes_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(units_format_bytes(0, buf, sizeof buf), "0 B");
    assert_string_equal(units_format_bytes(512, buf, sizeof buf), "512 B");
    assert_string_equal(units_format_bytes(1023, buf, sizeof buf), "1023 B");
    assert_string_equal(units_format_bytes(1024, buf, sizeof buf), "1.0 KiB");
    assert_string_equal(units_format_bytes(1610612736ull, buf, sizeof buf), "1.5 GiB");
    assert_string_equal(units_format_bytes(64ull << 20, buf, sizeof buf), "64.0 MiB");
    /* what is formatted parses back (exactly, for values with one decimal) */
    static const uint64_t exact[] = {0, 512, 1024, 1536, 64ull << 20, 1610612736ull, 5ull << 40};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        units_format_bytes(exact[i], buf, sizeof buf);
        assert_int_equal(bytes_ok(buf), exact[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_compound_and_fractions),
        cmocka_unit_test(test_duration_rejects),
        cmocka_unit_test(test_duration_overflow),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_round_trip),
        cmocka_unit_test(test_bytes_units),
        cmocka_unit_test(test_bytes_case),
        cmocka_unit_test(test_bytes_rejects),
        cmocka_unit_test(test_bytes_large),
        cmocka_unit_test(test_bytes_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
