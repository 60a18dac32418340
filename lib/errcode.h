/*
 * errcode: the error codes that library and module functions return, defined once.
 *
 * Functions return 0 on success or a negative ERR_* code; a caller decides what to do (an exit
 * code, a retry, a message) from the code, never from the wording of a message. Where a
 * function also fills a caller's buffer with a message, the message is for a person and may
 * change; the code is the contract.
 *
 * The enum and the message table are built from one X-macro list, as libuv builds its own, so
 * that they cannot drift apart. Add a code at the end of the list; never renumber. Names must
 * not clash with OpenSSL's, since files include both (ERR_STATE is its typedef, hence
 * ERR_BADSTATE).
 * Header only; no state, safe from any thread.
 */
#ifndef ERRCODE_H
#define ERRCODE_H

/* X(NAME, number, message): the message is lower case, without a full stop. */
#define ERRCODE_LIST(X)                                                                            \
    X(ERR_INVAL, 1, "invalid argument")                                                            \
    X(ERR_NOMEM, 2, "out of memory")                                                               \
    X(ERR_IO, 3, "input/output error")                                                             \
    X(ERR_NOENT, 4, "no such file or item")                                                        \
    X(ERR_PARSE, 5, "cannot parse")                                                                \
    X(ERR_RANGE, 6, "value out of range")                                                          \
    X(ERR_FULL, 7, "a cap was reached")                                                            \
    X(ERR_ADDR, 8, "bad address")                                                                  \
    X(ERR_BUSY, 9, "busy or in use")                                                               \
    X(ERR_CONFIG, 10, "bad configuration")                                                         \
    X(ERR_DUP, 11, "duplicate")                                                                    \
    X(ERR_BADSTATE, 12, "not allowed in this state")                                               \
    X(ERR_SYS, 13, "system call failed")                                                           \
    X(ERR_TIMEOUT, 14, "timed out")                                                                \
    X(ERR_NODATA, 15, "no data")                                                                   \
    X(ERR_AUTH, 16, "authentication refused")                                                      \
    X(ERR_REFUSED, 17, "refused by the peer")

typedef enum errcode {
    ERR_OK = 0,
#define ERRCODE_ENUM(name, num, msg) name = -(num),
    ERRCODE_LIST(ERRCODE_ENUM)
#undef ERRCODE_ENUM
} errcode;

/* The message of a code (0 and unknown codes have one too); never NULL, static storage. */
static inline const char *errcode_str(int code)
{
    switch (code) {
    case 0:
        return "ok";
#define ERRCODE_CASE(name, num, msg)                                                               \
    case -(num):                                                                                   \
        return msg;
        ERRCODE_LIST(ERRCODE_CASE)
#undef ERRCODE_CASE
    default:
        return "unknown error";
    }
}

/* The symbolic name of a code ("ERR_IO"), for logs and tests; never NULL. */
static inline const char *errcode_name(int code)
{
    switch (code) {
    case 0:
        return "ERR_OK";
#define ERRCODE_NAME(name, num, msg)                                                               \
    case -(num):                                                                                   \
        return #name;
        ERRCODE_LIST(ERRCODE_NAME)
#undef ERRCODE_NAME
    default:
        return "ERR_UNKNOWN";
    }
}

#endif
