/* libFuzzer target for mmbot's REST reply parsers and rate-limit headers (msg.h).
 * Input: the whole input goes to every REST parser; each of its lines to msg_rate_header; its
 * first line to msg_fx_parse. Checks: an envelope that parses is the one every endpoint parser
 * reports; lists stay within their caps; a header line is stored only when it is accepted; a
 * fixed-point number that parses formats back to text that parses to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "msg.h"
#include "fuzzutil.h"

static msg_envelope E0, E;
static msg_server_time ST;
static msg_instrument_list IL;
static msg_ids IDS;
static msg_id_list IDL;
static msg_batch BA;
static msg_order_list OL;
static msg_position_list PL;
static msg_wallet_list WL;

/* rc of an endpoint parser against the envelope alone (rc0). */
static int same_env(int rc0, int rc)
{
    if (rc0 == 0 && rc == 0)
        FUZZ_CHECK(E.ret_code == E0.ret_code && E.time_ms == E0.time_ms &&
                   strcmp(E.ret_msg, E0.ret_msg) == 0);
    if (rc0 != 0)
        FUZZ_CHECK(rc != 0); /* a bad envelope fails every endpoint */
    FUZZ_CHECK(rc <= 0);
    return rc;
}

/* On failure an output is unspecified: lists are checked only after a success. */
static void rest(const char *m, size_t n)
{
    int rc0 = msg_rest_envelope(m, n, &E0);
    same_env(rc0, msg_rest_time(m, n, &E, &ST));
    if (same_env(rc0, msg_rest_instruments(m, n, &E, &IL)) == 0) {
        FUZZ_CHECK(IL.n <= MSG_MAX_ITEMS && (E.ret_code == 0 || IL.n == 0));
        for (size_t i = 0; i < IL.n; i++)
            FUZZ_CHECK(IL.v[i].tick > 0 && IL.v[i].qty_step > 0);
    }
    if (same_env(rc0, msg_rest_order_ids(m, n, &E, &IDS)) == 0 && E.ret_code == 0)
        FUZZ_CHECK(IDS.order_id[0] != '\0');
    if (same_env(rc0, msg_rest_cancel_all(m, n, &E, &IDL)) == 0)
        FUZZ_CHECK(IDL.n <= MSG_MAX_IDS);
    if (same_env(rc0, msg_rest_batch(m, n, &E, &BA)) == 0)
        FUZZ_CHECK(BA.n <= MSG_MAX_BATCH);
    if (same_env(rc0, msg_rest_orders(m, n, &E, &OL)) == 0)
        FUZZ_CHECK(OL.n <= MSG_MAX_ITEMS);
    if (same_env(rc0, msg_rest_positions(m, n, &E, &PL)) == 0)
        FUZZ_CHECK(PL.n <= MSG_MAX_ITEMS);
    if (same_env(rc0, msg_rest_wallet(m, n, &E, &WL)) == 0)
        FUZZ_CHECK(WL.n <= MSG_MAX_WALLETS);
}

static void headers(const char *p, size_t size)
{
    const char *e = p + size;
    msg_ratelimit rl;
    memset(&rl, 0, sizeof rl);
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(e - p);
        msg_ratelimit before = rl;
        int rc = msg_rate_header(p, n, &rl);
        FUZZ_CHECK(rc == 0 || rc == ERR_NOENT || rc == ERR_PARSE || rc == ERR_RANGE);
        if (rc)
            FUZZ_CHECK(memcmp(&before, &rl, sizeof rl) == 0);
        else
            FUZZ_CHECK(rl.limit >= 0 && rl.status >= 0 && rl.reset_ms >= 0);
        p += n;
    }
}

static void fx(const char *p, size_t size)
{
    const char *nl = memchr(p, '\n', size);
    size_t n = nl ? (size_t)(nl - p) : size;
    int64_t v, w;
    char buf[32];
    if (msg_fx_parse(p, n, &v) == 0) {
        int len = msg_fx_format(v, buf, sizeof buf);
        FUZZ_CHECK(len > 0);
        FUZZ_CHECK(msg_fx_parse(buf, (size_t)len, &w) == 0 && w == v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *m = fuzz_copy(data, size); /* exactly sized: a read past the input is caught */
    if (!m)
        abort();
    rest(m, size);
    headers(m, size);
    fx(m, size);
    free(m);
    return 0;
}
