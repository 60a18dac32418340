/* httpget: blocking HTTP GET on libcurl easy. See httpget.h for the contract. */
#include "httpget.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "errcode.h"

#define HTTPGET_DEFAULT_TIMEOUT_MS 10000u

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Receives the body; stops the transfer (by returning less than asked) past the cap. */
typedef struct sink {
    sbuf *body;
    size_t got;       /* bytes appended by this fetch */
    size_t max_bytes; /* cap of this fetch */
    int rc;           /* why the sink stopped the transfer, 0 if it did not */
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->max_bytes - s->got) {
        s->rc = ERR_FULL;
        return 0;
    }
    int rc = sbuf_add(s->body, ptr, n);
    if (rc) {
        s->rc = rc; /* ERR_FULL (body's own cap) or ERR_NOMEM */
        return 0;
    }
    s->got += n;
    return n;
}

/* Maps a failed transfer to a negative ERR_* code and a message. */
char *httpget_redact_url(const char *url, char *out, size_t n);
static int fail(CURL *c, CURLcode cc, const sink *s, const char *full_url, unsigned timeout_ms,
                const char *curlerr, char *err, size_t errlen)
{
    long oserr = 0;
    char url[512];
    httpget_redact_url(full_url, url, sizeof url); /* messages never carry credentials */
    const char *why = curlerr[0] ? curlerr : curl_easy_strerror(cc);

    switch (cc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (s->rc == ERR_NOMEM) {
            snprintf(err, errlen, "cannot fetch '%s': out of memory", url);
            return ERR_NOMEM;
        }
        snprintf(err, errlen, "cannot fetch '%s': response body larger than %zu bytes", url,
                 s->max_bytes);
        return ERR_FULL;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen, "cannot fetch '%s': no response within %u ms", url, timeout_ms);
        return ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
        if (oserr <= 0)
            oserr = ECONNREFUSED;
        snprintf(err, errlen, "cannot fetch '%s': %s", url, strerror((int)oserr));
        return ERR_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(err, errlen, "cannot fetch '%s': %s", url, why);
        return ERR_ADDR;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(err, errlen, "cannot fetch '%s': %s", url, why);
        return ERR_INVAL;
    case CURLE_OUT_OF_MEMORY:
        snprintf(err, errlen, "cannot fetch '%s': out of memory", url);
        return ERR_NOMEM;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        snprintf(err, errlen, "cannot fetch '%s': %s", url, why);
        return ERR_PARSE;
    default:
        snprintf(err, errlen, "cannot fetch '%s': %s", url, why);
        return ERR_IO;
    }
}

/* One request: a GET, or a POST of post (post_len bytes, of type ctype) when post is set;
 * method, when set, replaces the verb (PUT, DELETE). */
static int request(const char *method, const char *url, const char *post, size_t post_len,
                   const char *ctype, unsigned timeout_ms, size_t max_bytes, sbuf *body,
                   long *http_status, char *err, size_t errlen)
{
    char curlerr[CURL_ERROR_SIZE] = "";
    sink s = {body, 0, max_bytes, 0};
    size_t len0 = body->len;
    long status = 0;
    CURLcode cc;
    int rc = 0;

    if (http_status)
        *http_status = 0;
    char shown[512];
    httpget_redact_url(url ? url : "", shown, sizeof shown);
    if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))) {
        snprintf(err, errlen, "cannot fetch '%s': only http:// and https:// URLs are allowed",
                 shown);
        return ERR_INVAL;
    }
    if (timeout_ms == 0)
        timeout_ms = HTTPGET_DEFAULT_TIMEOUT_MS;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "cannot fetch '%s': libcurl initialisation failed: %s", shown,
                 curl_easy_strerror(global_rc));
        return ERR_IO;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot fetch '%s': out of memory", shown); /* never the secret */
        return ERR_NOMEM;
    }

    /* any failure to set an option shows up as the transfer's error below */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    struct curl_slist *hdrs = NULL;
    if (post) {
        char h[128];
        snprintf(h, sizeof h, "Content-Type: %s", ctype ? ctype : "application/octet-stream");
        hdrs = curl_slist_append(hdrs, h);
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
    }
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    /* fail early when Content-Length already says too much; the sink catches the rest */
    if (max_bytes < (size_t)INT64_MAX)
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);

    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (http_status)
        *http_status = status;
    if (cc != CURLE_OK) {
        rc = fail(c, cc, &s, url, timeout_ms, curlerr, err, errlen);
        if (body->len > len0) {
            body->len = len0;
            body->data[len0] = '\0';
        }
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    return rc;
}

int httpget_fetch(const char *url, unsigned timeout_ms, size_t max_bytes, sbuf *body,
                  long *http_status, char *err, size_t errlen)
{
    return request(NULL, url, NULL, 0, NULL, timeout_ms, max_bytes, body, http_status, err, errlen);
}

int httpget_post(const char *url, const char *data, size_t len, const char *content_type,
                 unsigned timeout_ms, size_t max_bytes, sbuf *body, long *http_status, char *err,
                 size_t errlen)
{
    return request(NULL, url, data ? data : "", len, content_type, timeout_ms, max_bytes, body,
                   http_status, err, errlen);
}

int httpget_delete(const char *url, unsigned timeout_ms, long *http_status, char *err,
                   size_t errlen)
{
    sbuf body;
    sbuf_init(&body, 4096);
    int rc =
        request("DELETE", url, NULL, 0, NULL, timeout_ms, 4096, &body, http_status, err, errlen);
    sbuf_free(&body);
    return rc;
}

/* Words that make a query parameter's name look like a secret (any case, anywhere in the
 * name: api_key, access_token, X-Amz-Signature, oauth ...). docs/soak-run.md states the rule. */
static const char *const redact_words[] = {"token", "key", "secret", "passw", "signature", "auth"};

static int redact_name(const char *name, size_t len)
{
    for (size_t w = 0; w < sizeof redact_words / sizeof redact_words[0]; w++) {
        size_t k = strlen(redact_words[w]);
        for (size_t i = 0; i + k <= len; i++)
            if (strncasecmp(name + i, redact_words[w], k) == 0)
                return 1;
    }
    return 0;
}

/* Appends k bytes of p to out (cut to n - 1). */
static void redact_put(char *out, size_t n, size_t *used, const char *p, size_t k)
{
    if (*used + 1 >= n)
        return;
    if (k > n - 1 - *used)
        k = n - 1 - *used;
    memcpy(out + *used, p, k);
    *used += k;
    out[*used] = '\0';
}

char *httpget_redact_url(const char *url, char *out, size_t n)
{
    if (n == 0)
        return out;
    out[0] = '\0';
    size_t used = 0;
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t hostpart = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hostpart);
    /* the last @ of the authority ends the userinfo */
    for (const char *p = at; p && p < host + hostpart;
         p = memchr(p + 1, '@', (size_t)(host + hostpart - p - 1)))
        at = p;
    const char *rest = url;
    if (at) {
        redact_put(out, n, &used, url, (size_t)(host - url));
        redact_put(out, n, &used, "***", 3);
        rest = at;
    }
    /* the path as it is; then each name=value of the query and of the fragment */
    size_t path = strcspn(rest, "?#");
    redact_put(out, n, &used, rest, path);
    for (const char *p = rest + path; *p;) {
        redact_put(out, n, &used, p, 1); /* '?', '#', '&' or ';' */
        p++;
        size_t item = strcspn(p, "&;#");
        const char *eq = memchr(p, '=', item);
        if (eq && redact_name(p, (size_t)(eq - p))) {
            redact_put(out, n, &used, p, (size_t)(eq - p) + 1);
            redact_put(out, n, &used, "***", 3);
        } else {
            redact_put(out, n, &used, p, item);
        }
        p += item;
    }
    return out;
}
