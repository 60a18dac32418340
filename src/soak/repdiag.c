/* repdiag: the Diagnosis section of report.html. See repdiag.h. */
#include "repdiag.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose.h"
#include "markup.h"

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int sev_rank(const char *s)
{
    for (int i = DIAG_OK; i <= DIAG_FAIL; i++)
        if (s && !strcmp(s, diagnose_sev_name((diagnose_sev)i)))
            return i;
    return DIAG_OK;
}

int repdiag_exists(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/diagnosis.json", dir);
    return access(path, R_OK) == 0;
}

int repdiag_write(FILE *f, const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/diagnosis.json", dir);
    fputs("<h2 id=\"diagnosis\">Diagnosis</h2>\n", f);
    FILE *in = fopen(path, "re");
    char *buf = in ? malloc(1 << 22) : NULL;
    size_t n = buf ? fread(buf, 1, (1 << 22) - 1, in) : 0;
    if (in)
        fclose(in);
    cJSON *j = NULL;
    if (buf) {
        buf[n] = '\0';
        j = cJSON_Parse(buf);
        free(buf);
    }
    if (!j) {
        fputs("<p class=\"na\">no diagnosis (run <code>soak diagnose ", f);
        markup_escape(f, dir);
        fputs("</code>; soak run writes one when the verdict fails)</p>\n", f);
        return ferror(f) ? -1 : 0;
    }
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "sections");
    for (int want = DIAG_FAIL; want >= DIAG_OK; want--) {
        const cJSON *s;
        cJSON_ArrayForEach(s, secs)
        {
            const char *sev = str(s, "severity");
            if (sev_rank(sev) != want)
                continue;
            const cJSON *num = cJSON_GetObjectItemCaseSensitive(s, "number");
            int nn = cJSON_IsNumber(num) ? num->valueint : 0;
            fprintf(f, "<h3 id=\"diag-%d\">%d. ", nn, nn);
            markup_escape(f, str(s, "title"));
            fprintf(f, ": <span class=\"%s\">",
                    want == DIAG_FAIL   ? "fail"
                    : want == DIAG_WARN ? "nodata"
                                        : "pass");
            markup_escape(f, sev);
            fputs("</span></h3>\n<ul>\n", f);
            const cJSON *fd;
            cJSON_ArrayForEach(fd, cJSON_GetObjectItemCaseSensitive(s, "findings"))
            {
                fputs("<li><b>", f);
                markup_escape(f, str(fd, "severity"));
                fputs("</b> ", f);
                markup_escape(f, str(fd, "finding"));
                const cJSON *ev = cJSON_GetObjectItemCaseSensitive(fd, "evidence");
                if (cJSON_GetArraySize(ev) > 0) {
                    fputs("<pre>", f);
                    const cJSON *l;
                    cJSON_ArrayForEach(l, ev)
                    {
                        markup_escape(f, cJSON_IsString(l) ? l->valuestring : "");
                        fputc('\n', f);
                    }
                    fputs("</pre>", f);
                }
                const char *adv = str(fd, "advice"), *key = str(fd, "key");
                if (adv) {
                    fputs("<br><i>advice:</i> ", f);
                    markup_escape(f, adv);
                    if (key) {
                        fputs(" (key <code>", f);
                        markup_escape(f, key);
                        fputs("</code>)", f);
                    }
                }
                fputs("</li>\n", f);
            }
            fputs("</ul>\n", f);
        }
    }
    cJSON_Delete(j);
    return ferror(f) ? -1 : 1;
}
