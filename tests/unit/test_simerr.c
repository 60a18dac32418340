/* Tests of simerr: every retCode bybit-sim answers has its text, the texts are what Bybit and its
 * clients (the npm SDK among them) expect, and the HTTP replies outside the envelope are the
 * bodies and statuses a proxy would send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "simerr.h"

static const int all_codes[] = {
#define CODE(name, num) num,
    SIMRC_LIST(CODE)
#undef CODE
};

/* Every entry has a text and a retCode of the list; every retCode has an entry; no two entries
 * share a text (one text, one meaning). */
static void test_every_code_has_a_message(void **state)
{
    (void)state;
    for (int e = 0; e < SIMERR__COUNT; e++) {
        const char *m = simerr_msg((simerr)e);
        assert_non_null(m);
        assert_true(strlen(m) > 1);
        assert_true(simerr_code_known(simerr_code((simerr)e)));
        for (int f = e + 1; f < SIMERR__COUNT; f++)
            if (strcmp(m, simerr_msg((simerr)f)) == 0)
                fail_msg("entries %d and %d share '%s'", e, f, m);
    }
    for (size_t i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
        int e = simerr_of_code(all_codes[i]);
        if (e < 0)
            fail_msg("retCode %d has no message", all_codes[i]);
        assert_int_equal(simerr_code((simerr)e), all_codes[i]);
    }
    assert_int_equal(simerr_of_code(99999), -1);
    assert_false(simerr_code_known(99999));
    for (int w = 0; w < SIMWS__COUNT; w++)
        assert_true(strlen(simws_msg((simws)w)) > 1);
}

/* The wire texts clients compare, as Bybit sends them (docs/bybit-v5.md). */
static void test_wire_texts(void **state)
{
    (void)state;
    static const struct {
        simerr e;
        int code;
        const char *text;
    } want[] = {
        {SIMERR_OK, 0, "OK"},
        {SIMERR_PARAMS, 10001, "params error"},
        {SIMERR_QTY, 10001, "Qty invalid"},
        {SIMERR_PRICE_DECIMALS, 10001, "Order price has too many decimals."},
        {SIMERR_LINK_DUP, 10001, "OrderLinkedID is duplicate"},
        {SIMERR_TIMESTAMP, 10002,
         "invalid request, please check your timestamp and recv_window param"},
        {SIMERR_KEY, 10003, "API key is invalid."},
        {SIMERR_SIGN, 10004, "error sign! please check your signature"},
        {SIMERR_RATE, 10006, "Too many visits. Exceeded the API Rate Limit."},
        {SIMERR_SYSTEM, 10016, "Internal System Error."},
        {SIMERR_DUP_REQID, 20006, "reqId is duplicated"},
        {SIMERR_NO_ORDER, 110001, "Order does not exist."},
        {SIMERR_BALANCE, 110007, "ab not enough for new order"},
        {SIMERR_FINISHED, 110008, "Order has been filled or canceled"},
        {SIMERR_TOO_MANY, 110020, "The number of active orders exceeds the upper limit"},
        {SIMERR_MIN_VALUE, 110094, "Order does not meet minimum order value 5USDT"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(simerr_code(want[i].e), want[i].code);
        assert_string_equal(simerr_msg(want[i].e), want[i].text);
    }
    /* the generic text of a code is its first entry */
    assert_int_equal(simerr_of_code(10001), SIMERR_PARAMS);
    assert_int_equal(simerr_of_code(10003), SIMERR_KEY);
    /* out of range: a 10001 with a text, never NULL */
    assert_int_equal(simerr_code(SIMERR__COUNT), 10001);
    assert_string_equal(simerr_msg((simerr)-1), "params error");
    assert_string_equal(simws_msg(SIMWS_BAD_SIGN), "Invalid sign");
    assert_string_equal(simws_msg(SIMWS_REPEAT_AUTH), "Repeat auth");
}

static void test_set_and_fallback(void **state)
{
    (void)state;
    char msg[64] = "x";
    assert_int_equal(simerr_set(msg, sizeof msg, SIMERR_NO_ORDER), 110001);
    assert_string_equal(msg, "Order does not exist.");
    char small[6];
    assert_int_equal(simerr_set(small, sizeof small, SIMERR_KEY), 10003);
    assert_string_equal(small, "API k"); /* cut, terminated */
    assert_int_equal(simerr_set(NULL, 0, SIMERR_RATE), 10006);
    assert_string_equal(simerr_msg_or(10001, "Qty invalid"), "Qty invalid");
    assert_string_equal(simerr_msg_or(10001, ""), "params error");
    assert_string_equal(simerr_msg_or(110008, NULL), "Order has been filled or canceled");
    assert_string_equal(simerr_msg_or(424242, NULL), "params error");
}

static void test_http_replies(void **state)
{
    (void)state;
    char b[256];
    assert_int_equal(simhttp_body(SIMHTTP_NOT_FOUND, 0, NULL, b, sizeof b), 404);
    assert_string_equal(b, "{\"retCode\":10001,\"retMsg\":\"path not found\"}");
    assert_int_equal(simhttp_body(SIMHTTP_METHOD, 0, NULL, b, sizeof b), 405);
    assert_string_equal(b, "{\"retCode\":10001,\"retMsg\":\"method not allowed\"}");
    assert_int_equal(simhttp_body(SIMHTTP_BANNED, 0, NULL, b, sizeof b), 403);
    assert_string_equal(b, "access too frequent");
    assert_int_equal(simhttp_body(SIMHTTP_THROTTLED, 0, NULL, b, sizeof b), 429);
    assert_string_equal(b, "Too Many Requests");
    assert_int_equal(simhttp_body(SIMHTTP_SERVER_ERROR, 0, NULL, b, sizeof b), 503);
    assert_string_equal(b, "503 Server Error");
    assert_int_equal(simhttp_body(SIMHTTP_SERVER_ERROR, 502, NULL, b, sizeof b), 502);
    assert_string_equal(b, "502 Server Error");
    assert_int_equal(simhttp_body(SIMHTTP_UNAVAILABLE, 504, NULL, b, sizeof b), 504);
    assert_string_equal(b, "{\"retCode\":10016,\"retMsg\":\"Service Unavailable\"}");
    assert_int_equal(simhttp_body(SIMHTTP_CTL_POST, 0, NULL, b, sizeof b), 405);
    assert_string_equal(b, "{\"error\":\"use POST\"}");
    assert_int_equal(simhttp_status(SIMHTTP_CTL_UNKNOWN), 404);
    /* a reason from elsewhere is escaped into valid JSON */
    const char *why = "bad \"x\"\\ \n\t\x01 end";
    assert_int_equal(simhttp_body(SIMHTTP_CTL_BAD_FAULTS, 0, why, b, sizeof b), 400);
    cJSON *j = cJSON_Parse(b);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, why);
    cJSON_Delete(j);
    /* a small buffer: cut and terminated */
    char s[8];
    simhttp_body(SIMHTTP_CTL_BAD_FAULTS, 0, why, s, sizeof s);
    assert_true(strlen(s) < sizeof s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_message),
        cmocka_unit_test(test_wire_texts),
        cmocka_unit_test(test_set_and_fallback),
        cmocka_unit_test(test_http_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
