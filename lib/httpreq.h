/*
 * httpreq: the HTTP/1.1 request framing of wsrv, as pure functions over a byte buffer (no I/O,
 * no allocation): where one request's head ends, what its headers say, where its body ends
 * (Content-Length or chunked). wsrv reads a connection into a buffer and asks these functions
 * whether a whole request is there; one request is handled at a time, the bytes after it wait.
 *
 * What is refused, with the HTTP status a server should answer (and then close):
 *   - a head over the cap, or more than HTTPREQ_MAX_HDRS header lines: 431;
 *   - a malformed request line or header line, a bare LF, a NUL, a header name with a space:
 *     400;
 *   - Content-Length that is not digits, or two Content-Length headers with different values
 *     (request smuggling), or Content-Length together with Transfer-Encoding: 400;
 *   - a Transfer-Encoding other than "chunked": 501;
 *   - a body (declared or decoded) over the caller's cap: 413;
 *   - a malformed chunked body (bad size, missing CRLF after a chunk): 400.
 * Threads: none of its own; the functions are reentrant.
 */
#ifndef HTTPREQ_H
#define HTTPREQ_H

#include <stddef.h>

#define HTTPREQ_MAX_HDRS 64

typedef struct httpreq_hdr {
    const char *name; /* into the caller's buffer, not NUL-terminated */
    size_t nlen;
    const char *val; /* leading and trailing blanks removed */
    size_t vlen;
} httpreq_hdr;

typedef struct httpreq_head {
    char method[16];
    const char *target; /* request target as sent (path and query), into the buffer */
    size_t target_len;
    int minor;       /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    size_t head_len; /* bytes of the head, the blank line included */
    long long clen;  /* Content-Length; -1 when absent */
    int chunked;     /* Transfer-Encoding: chunked */
    int keep_alive;  /* the connection may carry another request after this one */
    int upgrade_ws;  /* GET with Upgrade: websocket */
    httpreq_hdr h[HTTPREQ_MAX_HDRS];
    int nh;
    const char *why; /* on a refusal: what is wrong, for a person (static storage) */
} httpreq_head;

/* Parses the head at the start of buf (len bytes). Returns 0 with *h filled when the head is
 * complete; ERR_NODATA when more bytes are needed (and len < max_head); otherwise ERR_PARSE,
 * ERR_FULL or ERR_RANGE with *status the HTTP status to answer (400, 431, 501). Empty lines
 * before the request line are skipped (counted in head_len). */
int httpreq_parse_head(const char *buf, size_t len, size_t max_head, httpreq_head *h, int *status);

/* The value of a header by name (case-insensitive), the first one; NULL when absent. */
const httpreq_hdr *httpreq_find(const httpreq_head *h, const char *name);

/* Decodes a chunked body at buf (len bytes, the bytes after the head). Returns 0 when the
 * last chunk and the trailers are in: *used = bytes of the encoded body, *body_len = decoded
 * size; if out is not NULL the decoded bytes are written there (outcap bytes at most, which
 * must be >= max_body). ERR_NODATA: incomplete. ERR_FULL: the decoded size passes max_body
 * (*status 413). ERR_PARSE: malformed (*status 400). */
int httpreq_chunked(const char *buf, size_t len, size_t max_body, char *out, size_t outcap,
                    size_t *used, size_t *body_len, int *status);

/* The value of a hex digit (either case), -1 for another character. */
int httpreq_hexdig(char c);

/* The reason phrase of a status ("OK", "Not Found"); "Unknown" for others; static storage. */
const char *httpreq_reason(int status);

#endif
