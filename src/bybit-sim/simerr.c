/*
 * simerr: the tables of bybit-sim's error texts (see simerr.h), expanded from the lists.
 */
#include "simerr.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *text;
} errs[SIMERR__COUNT] = {
#define SIMERR_ROW(name, rc, text) {rc, text},
    SIMERR_LIST(SIMERR_ROW)
#undef SIMERR_ROW
};

static const int codes[] = {
#define SIMRC_ROW(name, num) num,
    SIMRC_LIST(SIMRC_ROW)
#undef SIMRC_ROW
};

static const char *const ws_texts[SIMWS__COUNT] = {
#define SIMWS_ROW(name, text) text,
    SIMWS_LIST(SIMWS_ROW)
#undef SIMWS_ROW
};

static const struct {
    int status, form;
    simerr err;
    const char *text;
} https[SIMHTTP__COUNT] = {
#define SIMHTTP_ROW(name, status, form, err, text) {status, form, err, text},
    SIMHTTP_LIST(SIMHTTP_ROW)
#undef SIMHTTP_ROW
};

int simerr_code(simerr e)
{
    return (unsigned)e < SIMERR__COUNT ? errs[e].code : SIMRC_PARAM;
}

const char *simerr_msg(simerr e)
{
    return (unsigned)e < SIMERR__COUNT ? errs[e].text : errs[SIMERR_PARAMS].text;
}

int simerr_of_code(int code)
{
    for (int i = 0; i < SIMERR__COUNT; i++)
        if (errs[i].code == code)
            return i;
    return -1;
}

int simerr_code_known(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

const char *simerr_msg_or(int code, const char *msg)
{
    if (msg && *msg)
        return msg;
    int e = simerr_of_code(code);
    return simerr_msg(e >= 0 ? (simerr)e : SIMERR_PARAMS);
}

int simerr_set(char *msg, size_t msglen, simerr e)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", simerr_msg(e));
    return simerr_code(e);
}

const char *simws_msg(simws w)
{
    return (unsigned)w < SIMWS__COUNT ? ws_texts[w] : ws_texts[SIMWS_PARAMS];
}

int simhttp_status(simhttp h)
{
    return (unsigned)h < SIMHTTP__COUNT ? https[h].status : 500;
}

/* s as the inside of a JSON string into buf from k on; the new length (cut at n - 1). */
static size_t json_escape(char *buf, size_t n, size_t k, const char *s)
{
    for (; *s && k + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            if (k + 2 >= n)
                break;
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c < 0x20 && strchr("\b\f\n\r\t", c)) { /* as cJSON prints them */
            if (k + 2 >= n)
                break;
            buf[k++] = '\\';
            buf[k++] = "btnfr"[strchr("\b\t\n\f\r", c) - "\b\t\n\f\r"];
        } else if (c < 0x20) {
            if (k + 6 >= n)
                break;
            snprintf(buf + k, n - k, "\\u%04x", c);
            k += 6;
        } else {
            buf[k++] = (char)c;
        }
    }
    buf[k] = '\0';
    return k;
}

int simhttp_body(simhttp h, int status, const char *detail, char *buf, size_t buflen)
{
    if ((unsigned)h >= SIMHTTP__COUNT)
        h = SIMHTTP_CTL_UNKNOWN;
    if (status <= 0)
        status = https[h].status;
    if (!buf || !buflen)
        return status;
    const char *text = https[h].text;
    if (detail && !*text)
        text = detail;
    switch (https[h].form) {
    case SIMHTTP_STATUS:
        snprintf(buf, buflen, "%d %s", status, text);
        break;
    case SIMHTTP_RETCODE:
        snprintf(buf, buflen, "{\"retCode\":%d,\"retMsg\":\"%s\"}", simerr_code(https[h].err),
                 simerr_msg(https[h].err));
        break;
    case SIMHTTP_ERROR: {
        size_t k = (size_t)snprintf(buf, buflen, "{\"error\":\"");
        if (k >= buflen)
            break;
        k = json_escape(buf, buflen, k, text);
        if (k + 3 <= buflen)
            snprintf(buf + k, buflen - k, "\"}");
        break;
    }
    default:
        snprintf(buf, buflen, "%s", text);
        break;
    }
    return status;
}
