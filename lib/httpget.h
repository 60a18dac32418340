/*
 * httpget: a blocking HTTP GET with a timeout and a size cap, for scraping a service's
 * /metrics from a worker thread (libcurl easy interface). Thread-safe.
 */
#ifndef HTTPGET_H
#define HTTPGET_H

#include <stddef.h>

#include "sbuf.h"

/* Fetches url into body (appended). Returns 0, or a negative errno with a message in err,
 * e.g. "cannot fetch 'URL': Connection refused". A body larger than max_bytes is an error. */
int httpget_fetch(const char *url, unsigned timeout_ms, size_t max_bytes, sbuf *body,
                  long *http_status, char *err, size_t errlen);

#endif
