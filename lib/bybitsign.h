/*
 * bybitsign: the signatures of the Bybit v5 API (HMAC-SHA256, lowercase hex), for both the
 * client side (mmbot) and the checking side (bybit-sim).
 *
 * REST: hex(HMAC_SHA256(secret, timestamp + api_key + recv_window + payload)), where payload is
 * the query string exactly as sent (GET) or the raw body bytes (POST).
 * WS auth: hex(HMAC_SHA256(secret, "GET/realtime" + expires_ms)).
 *
 * Functions return 0 or a negative ERR_* code (lib/errcode.h). Nothing here prints; only
 * bybitsign_rest allocates, and only for a message over 4 KiB, freed before it returns.
 * Secrets are only read. Safe from any thread.
 */
#ifndef BYBITSIGN_H
#define BYBITSIGN_H

#include <stddef.h>
#include <stdint.h>

#define BYBITSIGN_HEX 65 /* 64 hex digits and a NUL */

/* hex(HMAC_SHA256(secret, msg)) into out. Returns 0, or ERR_SYS when OpenSSL fails. */
int bybitsign_hmac_hex(const char *secret, const void *msg, size_t len, char out[BYBITSIGN_HEX]);
/* The REST signature. Each string part must be shorter than 128 bytes; payload has any length
 * (it is copied after the parts). Returns 0, or ERR_RANGE (a part of 128 bytes or more),
 * ERR_NOMEM, ERR_SYS (OpenSSL failed). */
int bybitsign_rest(const char *secret, const char *timestamp, const char *api_key,
                   const char *recv_window, const void *payload, size_t payload_len,
                   char out[BYBITSIGN_HEX]);
/* The WS auth signature for an expiry in ms. Returns 0, or ERR_SYS when OpenSSL fails. */
int bybitsign_ws(const char *secret, int64_t expires_ms, char out[BYBITSIGN_HEX]);
/* 1 when the two NUL-terminated strings are equal, compared in time independent of where they
 * differ (for equal lengths); 0 otherwise. */
int bybitsign_equal(const char *a, const char *b);

#endif
