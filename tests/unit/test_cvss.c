/* lib/cvss: base scores of published vectors (NVD / FIRST calculator), the rating bands, and
 * refusal of what is not a v3 vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cvss.h"
#include "errcode.h"

static double score_of(const char *v)
{
    double s = -1;
    char err[128];
    int rc = cvss3_base_score(v, &s, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", v, err);
    return s;
}

static void test_published_scores(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        double score;
    } known[] = {
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0}, /* CVE-2021-44228 log4shell */
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
        {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5}, /* CVE-2014-0160 heartbleed */
        {"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2}, /* CVE-2021-23337 lodash */
        {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8}, /* CVE-2021-4034 pkexec */
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1}, /* the usual reflected XSS */
        {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N", 5.9},
        {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3},
        {"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 6.5},
        {"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8},
        {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0}, /* no impact: 0 */
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        double s = score_of(known[i].v);
        if (s < known[i].score - 1e-9 || s > known[i].score + 1e-9)
            fail_msg("%s: got %.1f, published %.1f", known[i].v, s, known[i].score);
    }
}

static void test_order_and_extra_metrics(void **state)
{
    (void)state;
    /* any order; temporal and environmental metrics are ignored for the base score */
    assert_true(score_of("CVSS:3.1/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N/S:U") == 9.8);
    assert_true(score_of("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C/CR:H") == 9.8);
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "AV:N/AC:L/Au:N/C:P/I:P/A:P", /* CVSS v2 */
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",          /* A missing */
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /* twice */
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",      /* bad value */
        "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
        "CVSS:3.1/AV",
        "CVSS:3.1/",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double s = 42;
        char err[128] = "";
        assert_int_equal(cvss3_base_score(bad[i], &s, err, sizeof err), ERR_INVAL);
        assert_true(s == 42);
        assert_true(err[0] != '\0');
    }
    double s;
    assert_int_equal(cvss3_base_score(NULL, &s, NULL, 0), ERR_INVAL);
}

static void test_ratings(void **state)
{
    (void)state;
    assert_int_equal(cvss_rating_of(10.0), CVSS_CRITICAL);
    assert_int_equal(cvss_rating_of(9.0), CVSS_CRITICAL);
    assert_int_equal(cvss_rating_of(8.9), CVSS_HIGH);
    assert_int_equal(cvss_rating_of(7.0), CVSS_HIGH);
    assert_int_equal(cvss_rating_of(6.9), CVSS_MEDIUM);
    assert_int_equal(cvss_rating_of(4.0), CVSS_MEDIUM);
    assert_int_equal(cvss_rating_of(3.9), CVSS_LOW);
    assert_int_equal(cvss_rating_of(0.1), CVSS_LOW);
    assert_int_equal(cvss_rating_of(0.0), CVSS_NONE);
    assert_string_equal(cvss_rating_name(CVSS_HIGH), "HIGH");
    cvss_rating r;
    assert_int_equal(cvss_rating_parse("Moderate", &r), 0);
    assert_int_equal(r, CVSS_MEDIUM);
    assert_int_equal(cvss_rating_parse("info", &r), 0);
    assert_int_equal(r, CVSS_NONE);
    assert_int_equal(cvss_rating_parse("severe", &r), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_scores),
        cmocka_unit_test(test_order_and_extra_metrics),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_ratings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
