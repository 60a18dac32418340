/*
 * faults: the scriptable faults of bybit-sim, deterministic for a seed.
 *
 * One fault per kind at most (setting a kind again replaces it). Each fault has a schedule that
 * says when it is *active*, and a probability applied per opportunity while it is active:
 *   - every E [duration D]: active during [k·E, k·E + D) for k = 1, 2, … counted from the moment
 *     the fault was set (D defaults to 0: an instant, which only the edge query sees);
 *   - start S [duration D]: active once, during [S, S + D) from the moment it was set;
 *   - neither: always active (then a probability < 1 is what makes it occasional);
 *   - probability P (default 1): each faults_hit() while active fires with chance P.
 * Kinds fall in two groups, and the server asks accordingly:
 *   - events (ws_drop, ws_reset, book_reset; and the start of ws_stall, http_403_ban,
 *     maintenance): faults_edge() once per server tick; it fires at most once per activation
 *     (for an always-active fault with probability P: at most once per second, with chance P).
 *   - states and per-request faults (ws_stall, rest_latency, http_429, http_5xx, http_403_ban,
 *     retcode_10006, retcode_10016, maintenance, malformed, clock_skew): faults_hit() per
 *     request or frame (per WS frame for malformed and ws_stall; per REST request for the
 *     others); fires while active with chance P. Stall, ban and maintenance last for their
 *     duration: the server asks faults_active() for them (no probability draw).
 *
 * Parameters (all optional; each belongs to the kinds named, elsewhere it is an error): code
 * (ws_drop: WS close code 1000..4999, default 1001 "going away"; 1006 is not sendable, use
 * ws_reset for an abrupt end), status (http_5xx: 500..599, default 503; maintenance: 0, the
 * default, means REST answers retCode 10016, 500..599 means that HTTP status, e.g. 503),
 * latency_ms and jitter_ms (rest_latency, 0..60000: delay = latency_ms + uniform[0, jitter_ms];
 * faults_hit draws the jitter and puts the whole delay in p->latency_ms), skew_ms (clock_skew,
 * signed, at most one day either way: the server clock is that far off while active).
 *
 * Schedule details: every must be more than 0; every and start exclude each other; durations
 * are at most 365 days. A scheduled activation whose edge draw failed (P < 1) is not active.
 * A fault with no schedule is always active for faults_hit; for faults_active it is always
 * active when its duration is 0 (a permanent clock skew), and with a duration D > 0 it is
 * active during D after each firing of faults_edge (an occasional stall, ban or maintenance).
 *
 * Config keys (bybit-sim.yaml, under "faults.KIND."): every, start, duration (durations with a
 * unit: "30s", "250ms"), probability, code, status, latency_ms, jitter_ms, skew_ms. The first
 * key of a kind creates it with the defaults; each key re-anchors its schedule at now_ms.
 * JSON for POST /sim/faults: {"KIND": {same keys; durations as strings with a unit or numbers
 * of seconds}, …}: each KIND given replaces that fault (its schedule counts from now_ms);
 * {"KIND": null} removes one; {"clear": true} removes all first. The object under "faults" of
 * faults_to_json is such a body.
 *
 * Randomness: a splitmix64/xoshiro stream per kind, seeded from the seed and the kind, so two
 * runs with the same seed, configuration and call sequence fire identically.
 *
 * Threads: one. Nothing here allocates after faults_new() but faults_to_json (its result);
 * error messages go to caller buffers.
 */
#ifndef FAULTS_H
#define FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FAULT_KINDS(X)                                                                             \
    X(WS_DROP, "ws_drop")                                                                          \
    X(WS_RESET, "ws_reset")                                                                        \
    X(WS_STALL, "ws_stall")                                                                        \
    X(REST_LATENCY, "rest_latency")                                                                \
    X(HTTP_429, "http_429")                                                                        \
    X(HTTP_5XX, "http_5xx")                                                                        \
    X(HTTP_403_BAN, "http_403_ban")                                                                \
    X(RETCODE_10006, "retcode_10006")                                                              \
    X(RETCODE_10016, "retcode_10016")                                                              \
    X(MAINTENANCE, "maintenance")                                                                  \
    X(MALFORMED, "malformed")                                                                      \
    X(BOOK_RESET, "book_reset")                                                                    \
    X(CLOCK_SKEW, "clock_skew")

typedef enum fault_kind {
#define FAULT_ENUM(e, s) FAULT_##e,
    FAULT_KINDS(FAULT_ENUM)
#undef FAULT_ENUM
        FAULT__COUNT
} fault_kind;

typedef struct fault_params {
    int code;         /* ws_drop close code */
    int status;       /* http_5xx / maintenance HTTP status */
    int latency_ms;   /* rest_latency */
    int jitter_ms;    /* rest_latency */
    int skew_ms;      /* clock_skew */
    int64_t until_ms; /* when the current activation ends (INT64_MAX: not before removal) */
} fault_params;

typedef struct faults faults;

/* New set with no fault; NULL on allocation failure. now_ms is the simulator's start. */
faults *faults_new(uint64_t seed, int64_t now_ms);
void faults_free(faults *f); /* accepts NULL */
/* Seeds every kind's stream again from seed (the configuration's seed, known after the file is
 * read). Settings and counters are kept. */
void faults_reseed(faults *f, uint64_t seed);

/* The kind of a name ("ws_drop"), or -1. And the name of a kind (static string). */
int faults_kind(const char *name);
const char *faults_name(fault_kind k);

/* One config key below "faults." ("ws_drop.every", value "30s"). 0, or ERR_INVAL
 * (lib/errcode.h) with the reason in err (no file/line: the caller's config callback adds
 * them), an unknown kind or key included. */
int faults_set_key(faults *f, const char *key, const char *value, int64_t now_ms, char *err,
                   size_t errlen);
/* The body of POST /sim/faults, parsed. All or nothing: on error nothing changes. 0, or ERR_INVAL
 * with the reason in err. */
int faults_apply_json(faults *f, const cJSON *body, int64_t now_ms, char *err, size_t errlen);
/* Removes every fault (counters are kept). */
void faults_clear(faults *f);

/* Per opportunity: fires (1) or not (0); on 1 fills p (may be NULL) and counts it as fired.
 * A kind that is not set never fires; neither do kinds out of range. */
int faults_hit(faults *f, fault_kind k, int64_t now_ms, fault_params *p);
/* Once per activation (see above): 1 when a new activation has begun since the last call and
 * its draw (chance P) succeeded; several activations missed between calls fire once. */
int faults_edge(faults *f, fault_kind k, int64_t now_ms, fault_params *p);
/* Whether a state fault (ws_stall, http_403_ban, maintenance, clock_skew) is in an activation
 * now; no draw, not counted. p->until_ms tells when it ends. */
int faults_active(const faults *f, fault_kind k, int64_t now_ms, fault_params *p);

/* How many times each kind fired (hit or edge returned 1). */
uint64_t faults_fired(const faults *f, fault_kind k);
/* The current settings as JSON (for GET /sim/faults and /sim/stats), NULL on allocation
 * failure; caller frees: {"faults": {KIND: {settings}} (a body POST /sim/faults takes),
 * "active": [KIND active now (faults_active)], "fired": {KIND: count, for every kind}}. */
cJSON *faults_to_json(const faults *f, int64_t now_ms);

#endif
