/*
 * httpget: one blocking HTTP GET (or POST), for scraping a service's /metrics from a worker
 * thread and for sending notifications.
 *
 * Built on the libcurl easy interface. Safe to call from several threads at once: libcurl's
 * global state is set up once (pthread_once) and every call uses its own easy handle. No
 * signals are used (CURLOPT_NOSIGNAL), redirects are not followed, and only http:// and
 * https:// URLs are accepted.
 */
#ifndef HTTPGET_H
#define HTTPGET_H

#include <stddef.h>

#include "sbuf.h"

/* Fetches url within timeout_ms (the whole transfer, connection included; 0 means 10 s) and
 * appends the response body to body.
 *
 * Returns 0 once a complete response arrived, whatever its status: *http_status (may be NULL)
 * holds it and the caller decides what a 404 or a 500 means. On failure returns a negative
 * ERR_* code (lib/errcode.h), writes a message to err (lower case, no full stop, e.g. "cannot
 * fetch 'http://127.0.0.1:9/metrics': Connection refused"; the URL in it redacted as by
 * httpget_redact_url) and leaves body as it was:
 *   ERR_INVAL    bad URL or a scheme other than http/https
 *   ERR_FULL     the body is longer than max_bytes, or than body's own cap allows
 *   ERR_TIMEOUT  no complete response within timeout_ms
 *   ERR_REFUSED  the connection failed: the service is not listening (the message gives the
 *                system's reason)
 *   ERR_ADDR     the host name does not resolve
 *   ERR_NOMEM, ERR_PARSE (TLS or HTTP protocol error), ERR_IO (anything else)
 * *http_status is 0 when no status line was received. */
int httpget_fetch(const char *url, unsigned timeout_ms, size_t max_bytes, sbuf *body,
                  long *http_status, char *err, size_t errlen);

/* The same for a POST of len bytes of data with the Content-Type content_type (a webhook, a
 * bot API): same timeout, cap, status, codes and messages. The message names the URL
 * (redacted of user:password only): a caller whose URL is itself a secret keeps the code and
 * drops the message. */
int httpget_post(const char *url, const char *data, size_t len, const char *content_type,
                 unsigned timeout_ms, size_t max_bytes, sbuf *body, long *http_status, char *err,
                 size_t errlen);

/* A DELETE (a Pushgateway group); the answer's body is dropped. Same codes and messages. */
int httpget_delete(const char *url, unsigned timeout_ms, long *http_status, char *err,
                   size_t errlen);

/* Copies url into out (cut to n - 1) with any user:password@ part replaced by "***@" and the
 * value of every query or fragment parameter whose name looks like a secret replaced by "***":
 * a name holding token, key, secret, passw(ord), signature or auth in any case, also inside a
 * longer name (api_key, access_token, X-Amz-Signature): "?api_key=***&limit=5". For messages
 * and records (secrets never reach logs or reports; docs/soak-run.md). Returns out. */
char *httpget_redact_url(const char *url, char *out, size_t n);

#endif
