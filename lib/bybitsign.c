/* bybitsign: Bybit v5 HMAC-SHA256 signatures (see bybitsign.h). */
#include "bybitsign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "errcode.h"

static void to_hex(const unsigned char *d, unsigned n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int bybitsign_hmac_hex(const char *secret, const void *msg, size_t len, char out[BYBITSIGN_HEX])
{
    unsigned char md[32];
    unsigned n = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, len, md, &n) || n != 32)
        return ERR_SYS;
    to_hex(md, n, out);
    return 0;
}

int bybitsign_rest(const char *secret, const char *timestamp, const char *api_key,
                   const char *recv_window, const void *payload, size_t payload_len,
                   char out[BYBITSIGN_HEX])
{
    size_t a = strlen(timestamp), b = strlen(api_key), c = strlen(recv_window);
    if (a >= 128 || b >= 128 || c >= 128)
        return ERR_RANGE;
    /* one buffer and the one-shot HMAC(): the streaming HMAC_CTX calls are deprecated in
     * OpenSSL 3, and a request is small (bodies are capped by the callers) */
    size_t total = a + b + c + payload_len;
    char stackbuf[4096], *m = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!m)
        return ERR_NOMEM;
    memcpy(m, timestamp, a);
    memcpy(m + a, api_key, b);
    memcpy(m + a + b, recv_window, c);
    if (payload_len)
        memcpy(m + a + b + c, payload, payload_len);
    int rc = bybitsign_hmac_hex(secret, m, total, out);
    if (m != stackbuf)
        free(m);
    return rc;
}

int bybitsign_ws(const char *secret, int64_t expires_ms, char out[BYBITSIGN_HEX])
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "GET/realtime%" PRId64, expires_ms);
    return bybitsign_hmac_hex(secret, msg, (size_t)n, out);
}

int bybitsign_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    unsigned char d = 0;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}
