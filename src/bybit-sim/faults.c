/* faults: schedules, draws and settings of bybit-sim's injected faults. See faults.h. */
#include "faults.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "prng.h"
#include "units.h"

#define FAULT_MAX_DURATION_MS (365LL * 86400000LL)
#define FAULT_MAX_DELAY_MS    60000
#define FAULT_MAX_SKEW_MS     86400000
#define FAULT_ALWAYS_SLOT_MS  1000 /* edge slot of a fault without schedule */

typedef enum fault_sched { SCHED_ALWAYS, SCHED_EVERY, SCHED_START } fault_sched;

/* One kind's settings and its edge state. Plain data: faults_apply_json works on a copy. */
typedef struct fault {
    int set;
    fault_sched sched;
    int64_t every_ms, start_ms, duration_ms;
    double probability;
    int code, status, latency_ms, jitter_ms, skew_ms;
    int64_t set_ms;        /* the schedule counts from here */
    int64_t edge_seen;     /* index of the last activation faults_edge consumed; -1: none */
    int edge_seen_fired;   /* whether that activation's draw succeeded */
    int64_t edge_fired_ms; /* when faults_edge last fired (no schedule, D > 0); INT64_MIN: never */
} fault;

struct faults {
    fault k[FAULT__COUNT];
    prng rng[FAULT__COUNT]; /* one stream per kind */
    uint64_t fired[FAULT__COUNT];
};

static const char *const kind_names[] = {
#define FAULT_NAME(e, s) s,
    FAULT_KINDS(FAULT_NAME)
#undef FAULT_NAME
};

/* The parameters and the kinds they belong to. */
enum { P_CODE, P_STATUS, P_LATENCY, P_JITTER, P_SKEW, P__COUNT };
static const struct {
    const char *key;
    int lo, hi;
    fault_kind kinds[2]; /* FAULT__COUNT: unused slot */
} param_defs[P__COUNT] = {
    {"code", 1000, 4999, {FAULT_WS_DROP, FAULT__COUNT}},
    {"status", 500, 599, {FAULT_HTTP_5XX, FAULT_MAINTENANCE}},
    {"latency_ms", 0, FAULT_MAX_DELAY_MS, {FAULT_REST_LATENCY, FAULT__COUNT}},
    {"jitter_ms", 0, FAULT_MAX_DELAY_MS, {FAULT_REST_LATENCY, FAULT__COUNT}},
    {"skew_ms", -FAULT_MAX_SKEW_MS, FAULT_MAX_SKEW_MS, {FAULT_CLOCK_SKEW, FAULT__COUNT}},
};

/* ---- randomness ---- */

/* Fires with chance p; 0 and 1 need no draw. */
static int rng_chance(prng *s, double p)
{
    if (p >= 1)
        return 1;
    if (p <= 0)
        return 0;
    return prng_unit(s) < p;
}

void faults_reseed(faults *f, uint64_t seed)
{
    for (int k = 0; k < FAULT__COUNT; k++) {
        /* the kind enters the seed through its own splitmix step, so streams are unrelated */
        prng_seed(&f->rng[k], seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(k + 1)));
    }
}

/* ---- lifecycle and names ---- */

faults *faults_new(uint64_t seed, int64_t now_ms)
{
    (void)now_ms; /* schedules count from when each fault is set */
    faults *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    faults_reseed(f, seed);
    return f;
}

void faults_free(faults *f)
{
    free(f);
}

int faults_kind(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < FAULT__COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *faults_name(fault_kind k)
{
    return (unsigned)k < FAULT__COUNT ? kind_names[k] : "unknown";
}

static void fault_defaults(fault *ft, fault_kind k, int64_t now_ms)
{
    memset(ft, 0, sizeof *ft);
    ft->set = 1;
    ft->sched = SCHED_ALWAYS;
    ft->probability = 1;
    ft->code = 1001;
    ft->status = k == FAULT_HTTP_5XX ? 503 : 0;
    ft->set_ms = now_ms;
    ft->edge_seen = -1;
    ft->edge_fired_ms = INT64_MIN;
}

/* ---- settings ---- */

/* A value from the config (text) or from JSON (text or number). */
typedef struct fval {
    const char *s; /* NULL: a number in d */
    double d;
} fval;

static int fval_duration(const fval *v, int64_t *out, char *err, size_t errlen)
{
    uint64_t ms;
    if (v->s) {
        int rc = units_parse_duration(v->s, &ms);
        if (rc == ERR_RANGE || (rc == 0 && ms > (uint64_t)FAULT_MAX_DURATION_MS)) {
            snprintf(err, errlen, "'%.64s' is longer than 365 days", v->s);
            return ERR_INVAL;
        }
        if (rc) {
            snprintf(err, errlen, "'%.64s' is not a duration (e.g. 250ms, 30s, 10m)", v->s);
            return ERR_INVAL;
        }
    } else {
        if (!isfinite(v->d) || v->d < 0) {
            snprintf(err, errlen, "%g is not a duration in seconds", v->d);
            return ERR_INVAL;
        }
        if (v->d * 1000 > (double)FAULT_MAX_DURATION_MS) {
            snprintf(err, errlen, "%g seconds is longer than 365 days", v->d);
            return ERR_INVAL;
        }
        ms = (uint64_t)llround(v->d * 1000);
    }
    *out = (int64_t)ms;
    return 0;
}

static int fval_number(const fval *v, double *out, char *err, size_t errlen)
{
    if (!v->s) {
        *out = v->d;
    } else {
        char *end;
        errno = 0;
        *out = strtod(v->s, &end);
        if (!*v->s || *end || errno || end == v->s) {
            snprintf(err, errlen, "'%.64s' is not a number", v->s);
            return ERR_INVAL;
        }
    }
    if (!isfinite(*out)) {
        snprintf(err, errlen, "not a finite number");
        return ERR_INVAL;
    }
    return 0;
}

static int fval_int(const fval *v, int lo, int hi, int *out, char *err, size_t errlen)
{
    double d;
    if (v->s) {
        char *end;
        errno = 0;
        long n = strtol(v->s, &end, 10);
        if (!*v->s || *end || errno) {
            snprintf(err, errlen, "'%.64s' is not a whole number", v->s);
            return ERR_INVAL;
        }
        d = (double)n;
    } else {
        d = v->d;
        if (!isfinite(d) || d != floor(d)) {
            snprintf(err, errlen, "%g is not a whole number", d);
            return ERR_INVAL;
        }
    }
    if (d < lo || d > hi) {
        snprintf(err, errlen, "%.0f is not from %d to %d", d, lo, hi);
        return ERR_INVAL;
    }
    *out = (int)d;
    return 0;
}

static int param_applies(int p, fault_kind k)
{
    return param_defs[p].kinds[0] == k || param_defs[p].kinds[1] == k;
}

/* Sets one key of ft (a fault of kind k). On error ft may be partly changed: callers work on a
 * copy. */
static int fault_set_field(fault *ft, fault_kind k, const char *key, const fval *v, char *err,
                           size_t errlen)
{
    if (strcmp(key, "every") == 0 || strcmp(key, "start") == 0) {
        int every = key[0] == 'e';
        fault_sched other = every ? SCHED_START : SCHED_EVERY;
        if (ft->sched == other) {
            snprintf(err, errlen, "'every' and 'start' exclude each other");
            return ERR_INVAL;
        }
        int64_t ms;
        if (fval_duration(v, &ms, err, errlen))
            return ERR_INVAL;
        if (every && ms == 0) {
            snprintf(err, errlen, "every must be more than 0");
            return ERR_INVAL;
        }
        ft->sched = every ? SCHED_EVERY : SCHED_START;
        *(every ? &ft->every_ms : &ft->start_ms) = ms;
        return 0;
    }
    if (strcmp(key, "duration") == 0)
        return fval_duration(v, &ft->duration_ms, err, errlen);
    if (strcmp(key, "probability") == 0) {
        double p;
        if (fval_number(v, &p, err, errlen))
            return ERR_INVAL;
        if (p < 0 || p > 1) {
            snprintf(err, errlen, "probability %g is not from 0 to 1", p);
            return ERR_INVAL;
        }
        ft->probability = p;
        return 0;
    }
    for (int p = 0; p < P__COUNT; p++) {
        if (strcmp(key, param_defs[p].key) != 0)
            continue;
        if (!param_applies(p, k)) {
            snprintf(err, errlen, "'%s' does not apply to %s", key, kind_names[k]);
            return ERR_INVAL;
        }
        int *dst[P__COUNT] = {&ft->code, &ft->status, &ft->latency_ms, &ft->jitter_ms,
                              &ft->skew_ms};
        return fval_int(v, param_defs[p].lo, param_defs[p].hi, dst[p], err, errlen);
    }
    snprintf(err, errlen,
             "unknown fault key '%.64s' (every, start, duration, probability, code, status, "
             "latency_ms, jitter_ms, skew_ms)",
             key);
    return ERR_INVAL;
}

static void unknown_kind(const char *name, char *err, size_t errlen)
{
    int w = snprintf(err, errlen, "unknown fault kind '%.64s' (", name);
    for (int k = 0; k < FAULT__COUNT && w > 0 && (size_t)w < errlen; k++)
        w += snprintf(err + w, errlen - (size_t)w, "%s%s", k ? ", " : "", kind_names[k]);
    if (w > 0 && (size_t)w < errlen)
        snprintf(err + w, errlen - (size_t)w, ")");
}

int faults_set_key(faults *f, const char *key, const char *value, int64_t now_ms, char *err,
                   size_t errlen)
{
    const char *dot = strchr(key, '.');
    char name[32];
    size_t n = dot ? (size_t)(dot - key) : strlen(key);
    if (n >= sizeof name) {
        unknown_kind(key, err, errlen);
        return ERR_INVAL;
    }
    memcpy(name, key, n);
    name[n] = '\0';
    int k = faults_kind(name);
    if (k < 0) {
        unknown_kind(name, err, errlen);
        return ERR_INVAL;
    }
    if (!dot || !dot[1]) {
        snprintf(err, errlen, "want faults.%s.KEY (every, start, duration, probability, ...)",
                 name);
        return ERR_INVAL;
    }
    fault ft = f->k[k];
    if (!ft.set)
        fault_defaults(&ft, (fault_kind)k, now_ms);
    fval v = {value, 0};
    if (fault_set_field(&ft, (fault_kind)k, dot + 1, &v, err, errlen))
        return ERR_INVAL;
    ft.set_ms = now_ms;
    ft.edge_seen = -1;
    ft.edge_seen_fired = 0;
    ft.edge_fired_ms = INT64_MIN;
    f->k[k] = ft;
    return 0;
}

/* One kind's object of POST /sim/faults into ft (already at the defaults). */
static int fault_from_json(fault *ft, fault_kind k, const cJSON *obj, char *err, size_t errlen)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *key = it->string ? it->string : "";
        fval v = {NULL, 0};
        char why[200];
        if (cJSON_IsString(it) && it->valuestring)
            v.s = it->valuestring;
        else if (cJSON_IsNumber(it))
            v.d = it->valuedouble;
        else {
            snprintf(err, errlen, "%s.%.64s: must be a number or a string", kind_names[k], key);
            return ERR_INVAL;
        }
        if (fault_set_field(ft, k, key, &v, why, sizeof why)) {
            snprintf(err, errlen, "%s.%.64s: %s", kind_names[k], key, why);
            return ERR_INVAL;
        }
    }
    return 0;
}

int faults_apply_json(faults *f, const cJSON *body, int64_t now_ms, char *err, size_t errlen)
{
    if (!cJSON_IsObject(body)) {
        snprintf(err, errlen, "the body must be a JSON object of fault kinds");
        return ERR_INVAL;
    }
    fault next[FAULT__COUNT];
    memcpy(next, f->k, sizeof next);
    const cJSON *clear = cJSON_GetObjectItemCaseSensitive(body, "clear");
    if (clear) {
        if (!cJSON_IsBool(clear)) {
            snprintf(err, errlen, "clear: must be true or false");
            return ERR_INVAL;
        }
        if (cJSON_IsTrue(clear))
            for (int k = 0; k < FAULT__COUNT; k++)
                next[k].set = 0;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        const char *name = it->string ? it->string : "";
        if (strcmp(name, "clear") == 0)
            continue;
        int k = faults_kind(name);
        if (k < 0) {
            unknown_kind(name, err, errlen);
            return ERR_INVAL;
        }
        if (cJSON_IsNull(it)) {
            next[k].set = 0;
            continue;
        }
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "%s: must be an object of settings, or null to remove it", name);
            return ERR_INVAL;
        }
        fault ft;
        fault_defaults(&ft, (fault_kind)k, now_ms);
        if (fault_from_json(&ft, (fault_kind)k, it, err, errlen))
            return ERR_INVAL;
        next[k] = ft;
    }
    memcpy(f->k, next, sizeof next);
    return 0;
}

void faults_clear(faults *f)
{
    for (int k = 0; k < FAULT__COUNT; k++)
        f->k[k].set = 0;
}

/* ---- schedules ---- */

/* The latest activation that has begun by now: 1 with its index and start, or 0 (none yet).
 * A fault without schedule has one activation per second, for faults_edge. */
static int fault_activation(const fault *ft, int64_t now_ms, int64_t *idx, int64_t *start)
{
    if (now_ms < ft->set_ms)
        return 0;
    int64_t el = now_ms - ft->set_ms;
    switch (ft->sched) {
    case SCHED_EVERY:
        if (el < ft->every_ms)
            return 0;
        *idx = el / ft->every_ms;
        *start = ft->set_ms + *idx * ft->every_ms;
        return 1;
    case SCHED_START:
        if (el < ft->start_ms)
            return 0;
        *idx = 1;
        *start = ft->set_ms + ft->start_ms;
        return 1;
    case SCHED_ALWAYS:
        *idx = el / FAULT_ALWAYS_SLOT_MS;
        *start = ft->set_ms + *idx * FAULT_ALWAYS_SLOT_MS;
        return 1;
    }
    return 0;
}

/* Whether a scheduled fault is inside an activation now (edge draws that failed excluded). */
static int fault_in_window(const fault *ft, int64_t now_ms, int64_t *until)
{
    int64_t idx, start;
    if (!fault_activation(ft, now_ms, &idx, &start))
        return 0;
    if (idx == ft->edge_seen && !ft->edge_seen_fired)
        return 0;
    *until = start + ft->duration_ms;
    return now_ms < *until;
}

static void fault_fill(const fault *ft, int64_t until, fault_params *p)
{
    if (!p)
        return;
    p->code = ft->code;
    p->status = ft->status;
    p->latency_ms = ft->latency_ms;
    p->jitter_ms = ft->jitter_ms;
    p->skew_ms = ft->skew_ms;
    p->until_ms = until;
}

int faults_hit(faults *f, fault_kind k, int64_t now_ms, fault_params *p)
{
    if ((unsigned)k >= FAULT__COUNT || !f->k[k].set)
        return 0;
    const fault *ft = &f->k[k];
    int64_t until = INT64_MAX;
    if (ft->sched != SCHED_ALWAYS && !fault_in_window(ft, now_ms, &until))
        return 0;
    if (ft->sched == SCHED_ALWAYS && now_ms < ft->set_ms)
        return 0;
    if (!rng_chance(&f->rng[k], ft->probability))
        return 0;
    fault_fill(ft, until, p);
    if (p && k == FAULT_REST_LATENCY && ft->jitter_ms > 0)
        p->latency_ms += (int)(prng_next(&f->rng[k]) % ((uint64_t)ft->jitter_ms + 1));
    f->fired[k]++;
    return 1;
}

int faults_edge(faults *f, fault_kind k, int64_t now_ms, fault_params *p)
{
    if ((unsigned)k >= FAULT__COUNT || !f->k[k].set)
        return 0;
    fault *ft = &f->k[k];
    int64_t idx, start;
    if (!fault_activation(ft, now_ms, &idx, &start) || idx <= ft->edge_seen)
        return 0;
    ft->edge_seen = idx;
    ft->edge_seen_fired = rng_chance(&f->rng[k], ft->probability);
    if (!ft->edge_seen_fired)
        return 0;
    int64_t until;
    if (ft->sched == SCHED_ALWAYS) {
        ft->edge_fired_ms = now_ms;
        until = ft->duration_ms ? now_ms + ft->duration_ms : INT64_MAX;
    } else {
        until = start + ft->duration_ms;
    }
    fault_fill(ft, until, p);
    f->fired[k]++;
    return 1;
}

int faults_active(const faults *f, fault_kind k, int64_t now_ms, fault_params *p)
{
    if ((unsigned)k >= FAULT__COUNT || !f->k[k].set)
        return 0;
    const fault *ft = &f->k[k];
    int64_t until = INT64_MAX;
    if (ft->sched != SCHED_ALWAYS) {
        if (!fault_in_window(ft, now_ms, &until))
            return 0;
    } else if (now_ms < ft->set_ms) {
        return 0;
    } else if (ft->duration_ms) {
        if (ft->edge_fired_ms == INT64_MIN || now_ms >= ft->edge_fired_ms + ft->duration_ms)
            return 0;
        until = ft->edge_fired_ms + ft->duration_ms;
    }
    fault_fill(ft, until, p);
    return 1;
}

uint64_t faults_fired(const faults *f, fault_kind k)
{
    return (unsigned)k < FAULT__COUNT ? f->fired[k] : 0;
}

/* ---- JSON out ---- */

static int add_duration(cJSON *o, const char *key, int64_t ms)
{
    char buf[64];
    return cJSON_AddStringToObject(o, key, units_format_duration((uint64_t)ms, buf, sizeof buf)) !=
           NULL;
}

static cJSON *fault_json(const fault *ft, fault_kind k)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = 1;
    if (ft->sched == SCHED_EVERY)
        ok &= add_duration(o, "every", ft->every_ms);
    if (ft->sched == SCHED_START)
        ok &= add_duration(o, "start", ft->start_ms);
    if (ft->duration_ms)
        ok &= add_duration(o, "duration", ft->duration_ms);
    ok &= cJSON_AddNumberToObject(o, "probability", ft->probability) != NULL;
    const int vals[P__COUNT] = {ft->code, ft->status, ft->latency_ms, ft->jitter_ms, ft->skew_ms};
    for (int p = 0; p < P__COUNT; p++) {
        if (!param_applies(p, k))
            continue;
        if (p == P_STATUS && k == FAULT_MAINTENANCE && vals[p] == 0)
            continue; /* 0 is "retCode 10016", not a status to send back */
        ok &= cJSON_AddNumberToObject(o, param_defs[p].key, vals[p]) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *faults_to_json(const faults *f, int64_t now_ms)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *set = cJSON_AddObjectToObject(root, "faults");
    cJSON *active = cJSON_AddArrayToObject(root, "active");
    cJSON *fired = cJSON_AddObjectToObject(root, "fired");
    if (!root || !set || !active || !fired)
        goto fail;
    for (int k = 0; k < FAULT__COUNT; k++) {
        if (f->k[k].set) {
            cJSON *o = fault_json(&f->k[k], (fault_kind)k);
            if (!o)
                goto fail;
            cJSON_AddItemToObject(set, kind_names[k], o);
            if (faults_active(f, (fault_kind)k, now_ms, NULL)) {
                cJSON *s = cJSON_CreateString(kind_names[k]);
                if (!s)
                    goto fail;
                cJSON_AddItemToArray(active, s);
            }
        }
        if (!cJSON_AddNumberToObject(fired, kind_names[k], (double)f->fired[k]))
            goto fail;
    }
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}
