/* postcheck: commands after the run whose output is a series. See postcheck.h. */
#include "postcheck.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmdrun.h"
#include "errcode.h"
#include "preflight.h"
#include "runrec.h"
#include "store.h"
#include "units.h"

int postcheck_judge(const cmdrun_result *r, const char *out, double *v, char *why, size_t n)
{
    if (r->spawn_errno || r->timed_out || r->exit_code != 0) {
        cmdrun_describe(r, why, n);
        return ERR_NODATA;
    }
    const char *p = out;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    char *end;
    errno = 0;
    double x = strtod(p, &end);
    const char *q = end;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    if (end == p || *q || errno == ERANGE || !isfinite(x)) {
        char shown[64];
        size_t l = strcspn(p, "\n"), rest = l;
        while (p[rest] == ' ' || p[rest] == '\t' || p[rest] == '\n' || p[rest] == '\r')
            rest++;
        snprintf(shown, sizeof shown, "%.*s%s", (int)(l < 40 ? l : 40), p,
                 l > 40 || p[rest] ? "..." : "");
        if (!*p)
            snprintf(why, n, "printed nothing, not a number");
        else
            snprintf(why, n, "output '%s' is not a number", shown);
        return ERR_NODATA;
    }
    *v = x;
    return 0;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The output on one line for the event: newlines as " | ", cut to the buffer. */
static void one_line(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = in; *p && k + 4 < n; p++) {
        if (*p == '\n') {
            if (p[1])
                k += (size_t)snprintf(out + k, n - k, " | ");
        } else if ((unsigned char)*p >= 0x20 && *p != 0x7f)
            out[k++] = *p;
    }
    out[k] = '\0';
}

int postcheck_run_all(const opts *o, struct store *db, FILE *out)
{
    static char sout[POSTCHECK_OUT_MAX], serr[POSTCHECK_OUT_MAX];
    int missing = 0;
    for (size_t i = 0; i < o->npost_checks; i++) {
        const char *name = o->post_check_names[i];
        cmdrun_result cr;
        char why[256], both[2 * POSTCHECK_OUT_MAX + 2], shown[POSTCHECK_OUT_MAX], key[96];
        char d[32], detail[1600];
        cmdrun_run(o->post_check_cmds[i], o->post_check_timeout_ms, sout, sizeof sout, serr,
                   sizeof serr, &cr);
        double v = 0, t = wall_s();
        int rc = postcheck_judge(&cr, sout, &v, why, sizeof why);
        if (cr.timed_out)
            snprintf(why, sizeof why, "timed out after %s",
                     units_format_duration(o->post_check_timeout_ms, d, sizeof d));
        snprintf(both, sizeof both, "%s%s%s", sout, sout[0] && serr[0] ? "\n" : "", serr);
        preflight_redact(both, sizeof both);
        one_line(both, shown, sizeof shown);
        units_format_duration(cr.duration_ms, d, sizeof d);
        snprintf(key, sizeof key, "post_check.%s", name);
        if (rc == 0) {
            store_begin(db);
            store_metric(db, t, name, "", v);
            store_commit(db);
            snprintf(detail, sizeof detail, "%s: value %g (exit %d, %s): %s", name, v, cr.exit_code,
                     d, shown);
            store_set_run(db, key, "ok");
            if (out)
                fprintf(out, "soak: post-check %s: %g (%s)\n", name, v, d);
        } else {
            missing++;
            snprintf(detail, sizeof detail, "%s: no value: %s (exit %d, %s): %s", name, why,
                     cr.exit_code, d, shown);
            store_set_run(db, key, why);
            if (out)
                fprintf(out, "soak: post-check %s: no value: %s\n", name, why);
        }
        store_event(db, t, STORE_EV_POST_CHECK, 0, detail, rc == 0 ? v : cr.exit_code);
    }
    return missing;
}

int postcheck_provides(struct runrec *rr, const char *name, char *why, size_t n)
{
    char key[96], val[256];
    snprintf(key, sizeof key, "post_check.%s", name);
    if (!rr || runrec_value(rr, key, val, sizeof val) != 1)
        return 0;
    if (!strcmp(val, "ok"))
        why[0] = '\0';
    else
        snprintf(why, n, "post-check '%s': %s", name, val);
    return 1;
}
