/* libFuzzer target for faults_apply_json: POST /sim/faults bodies come from the network. The
 * input is copied into an exactly sized heap buffer and parsed with cJSON_ParseWithLength.
 * A body that applies must give faults_to_json whose "faults" object applies again to a fresh
 * set with the same result (the settings round trip); a body that fails must leave the set as
 * it was (all or nothing) and say why. The schedules are then exercised at a few times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"
#include "fuzzutil.h"

#define T0 1700000000000LL

static char *settings(const faults *f)
{
    cJSON *j = faults_to_json(f, T0);
    if (!j)
        abort();
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "faults"));
    cJSON_Delete(j);
    if (!s)
        abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy(data, size);
    if (!copy)
        return 0;
    cJSON *body = cJSON_ParseWithLength(copy, size);
    free(copy);
    if (!body)
        return 0;
    faults *f = faults_new(1, T0);
    char err[256];
    /* something set first, so that a failing body has a state to keep */
    if (faults_set_key(f, "ws_drop.every", "30s", T0, err, sizeof err))
        abort();
    char *before = settings(f);
    err[0] = '\0';
    if (faults_apply_json(f, body, T0, err, sizeof err) == 0) {
        char *a = settings(f);
        cJSON *again = cJSON_Parse(a);
        faults *g = faults_new(1, T0);
        if (!again || faults_apply_json(g, again, T0, err, sizeof err) != 0)
            abort();
        char *b = settings(g);
        if (strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
        cJSON_Delete(again);
        faults_free(g);
        for (int k = 0; k < FAULT__COUNT; k++)
            for (int64_t t = T0 - 1000; t < T0 + 200000; t += 9973) {
                fault_params p;
                faults_hit(f, (fault_kind)k, t, &p);
                faults_edge(f, (fault_kind)k, t, &p);
                faults_active(f, (fault_kind)k, t, &p);
            }
    } else {
        char *after = settings(f);
        if (!err[0] || strcmp(before, after) != 0)
            abort();
        free(after);
    }
    free(before);
    cJSON_Delete(body);
    faults_free(f);
    return 0;
}
