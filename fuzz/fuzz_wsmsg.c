/* libFuzzer target for the WebSocket side of bybit-sim (sim_ws_open / sim_ws_message /
 * sim_ws_close). Input: the first byte picks the path (public, private, trade; bit 2: auth
 * first with a correct signature computed here), the rest is split at newlines into
 * messages. Checks: every message the simulator sends is a JSON object (no malformed fault is
 * set here), the secret never appears in one, and the connection closes without leaks. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bybitsign.h"
#include "simharness.h"
#include "fuzzutil.h"

#define KEY    FUZZ_KEY
#define SECRET FUZZ_SECRET

static sim *S;
static int64_t NOW = FUZZ_T0;
static int input_has_secret; /* an echo of the input is not a leak */

static int io_send(void *h, const char *m, size_t n)
{
    (void)h;
    cJSON *j = cJSON_ParseWithLength(m, n);
    if (!cJSON_IsObject(j) || (!input_has_secret && memmem(m, n, SECRET, strlen(SECRET))))
        abort();
    cJSON_Delete(j);
    return 0;
}

static void setup(void)
{
    S = simharness_new(9, NULL, io_send);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!S)
        setup();
    if (!size)
        return 0;
    input_has_secret = memmem(data, size, SECRET, strlen(SECRET)) != NULL;
    static const char *const paths[] = {"/v5/public/linear", "/v5/private", "/v5/trade",
                                        "/v5/private"};
    const char *q = data[0] & 8 ? "max_active_time=30s" : "";
    NOW += 20;
    sim_conn *c = sim_ws_open(S, NULL, paths[data[0] & 3], q, NOW);
    if (!c)
        return 0;
    if (data[0] & 4) {
        char sig[BYBITSIGN_HEX], msg[256];
        int64_t exp = NOW + 5000;
        bybitsign_ws(SECRET, exp, sig);
        snprintf(msg, sizeof msg, "{\"op\":\"auth\",\"args\":[\"%s\",%" PRId64 ",\"%s\"]}", KEY,
                 exp, sig);
        sim_ws_message(S, c, msg, strlen(msg), NOW);
    }
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *m = fuzz_copy(p, n); /* exactly sized: ASan sees reads past the end */
        if (!m)
            break;
        sim_ws_message(S, c, m, n, NOW);
        free(m);
        p += n + 1;
        NOW += 3;
    }
    sim_tick(S, NOW);
    sim_ws_close(S, c, NOW);
    return 0;
}
