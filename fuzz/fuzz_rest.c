/* libFuzzer target for the REST side of bybit-sim (sim_http: the Bybit v5 endpoints, /sim/...,
 * /metrics). Input: lines "method\npath\nquery\napi_key\ntimestamp\nrecv_window\nbody..." (the
 * body is the rest, newlines included). When the first byte is 'S' the harness signs the
 * request itself with the account's secret and the current time, so the fuzzer reaches the
 * endpoints behind the signature check. Checks: every reply has a status in 100..599 and a
 * body; replies with status 200 on /v5/ are JSON objects with retCode, retMsg, result,
 * retExtInfo and time; the secret never appears in a reply. */
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
static faults *F;
static int64_t NOW = FUZZ_T0;

static void setup(void)
{
    F = faults_new(7, NOW);
    S = simharness_new(7, F, NULL);
}

/* The next line of [*p, end) into a NUL-terminated buf. */
static void line(const char **p, const char *end, char *buf, size_t cap)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = nl ? nl + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!S)
        setup();
    const char *p = (const char *)data, *end = p + size;
    int self_sign = size && p[0] == 'S';
    if (self_sign)
        p++;
    char method[16], path[256], query[1024], key[80], ts[40], rw[40];
    line(&p, end, method, sizeof method);
    line(&p, end, path, sizeof path);
    line(&p, end, query, sizeof query);
    line(&p, end, key, sizeof key);
    line(&p, end, ts, sizeof ts);
    line(&p, end, rw, sizeof rw);
    size_t blen = (size_t)(end - p);
    char *body = fuzz_copy_str(p, blen);
    if (!body)
        return 0;
    NOW += 7;
    char sign[BYBITSIGN_HEX] = "";
    if (self_sign) {
        snprintf(key, sizeof key, "%s", KEY);
        snprintf(ts, sizeof ts, "%" PRId64, NOW);
        snprintf(rw, sizeof rw, "5000");
        int get = !strcmp(method, "GET");
        bybitsign_rest(SECRET, ts, key, rw, get ? query : body, get ? strlen(query) : blen, sign);
    }
    rest_in in = {method, path, query, body, blen, "127.0.0.1", key, ts, sign, rw};
    rest_out out;
    rest_out_init(&out);
    sim_http(S, &in, NOW, &out);
    if (out.status < 100 || out.status > 599 || !out.body.data)
        abort();
    int echo = memmem(data, size, SECRET, strlen(SECRET)) != NULL; /* not a leak */
    if (!echo &&
        (strstr(out.body.data, SECRET) || (out.headers.data && strstr(out.headers.data, SECRET))))
        abort();
    if (out.status == 200 && !strncmp(path, "/v5/", 4)) {
        cJSON *j = cJSON_Parse(out.body.data);
        if (!cJSON_IsObject(j) || !cJSON_IsNumber(cJSON_GetObjectItem(j, "retCode")) ||
            !cJSON_IsString(cJSON_GetObjectItem(j, "retMsg")) ||
            !cJSON_GetObjectItem(j, "result") || !cJSON_GetObjectItem(j, "retExtInfo") ||
            !cJSON_IsNumber(cJSON_GetObjectItem(j, "time")))
            abort();
        cJSON_Delete(j);
    }
    rest_out_free(&out);
    free(body);
    if ((NOW / 7) % 16 == 0)
        sim_tick(S, NOW);
    return 0;
}
