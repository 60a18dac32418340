/* preflight: the checks before a run. See preflight.h. */
#include "preflight.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include "cmdrun.h"
#include "errcode.h"
#include "httpget.h"
#include "runlock.h"
#include "sbuf.h"
#include "store.h"
#include "units.h"
#include "wsrv.h"

#define PREFLIGHT_METRICS_MS 2000 /* how long --metrics-url may take to answer */

const char *preflight_status_name(preflight_status s)
{
    static const char *const names[] = {"pass", "warn", "fail"};
    return (unsigned)s < 3 ? names[s] : "fail";
}

preflight_check *preflight_add(preflight_result *r, const char *name, preflight_status s,
                               const char *fmt, ...)
{
    if (s == PREFLIGHT_PASS)
        r->npass++;
    else if (s == PREFLIGHT_WARN)
        r->nwarn++;
    else
        r->nfail++;
    if (r->n >= PREFLIGHT_MAX)
        return NULL;
    preflight_check *c = &r->c[r->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->status = s;
    c->exit_code = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    return c;
}

preflight_status preflight_disk_verdict(uint64_t free_bytes, uint64_t disk_bytes, uint64_t quota,
                                        uint64_t min_free, char *why, size_t n)
{
    char f[32], d[32], q[32], m[32];
    units_format_bytes(free_bytes, f, sizeof f);
    units_format_bytes(disk_bytes, d, sizeof d);
    units_format_bytes(quota, q, sizeof q);
    units_format_bytes(min_free, m, sizeof m);
    if (min_free && disk_bytes && min_free >= disk_bytes) {
        snprintf(why, n,
                 "min_free_disk %s is not less than the disk's size %s: rotated logs would be "
                 "deleted from the start",
                 m, d);
        return PREFLIGHT_WARN;
    }
    if (min_free && free_bytes < min_free) {
        snprintf(why, n, "free %s is below min_free_disk %s: rotated logs will be deleted", f, m);
        return PREFLIGHT_WARN;
    }
    if (free_bytes < quota) {
        snprintf(why, n, "free %s is less than artifacts_quota %s: the disk may fill first", f, q);
        return PREFLIGHT_WARN;
    }
    snprintf(why, n, "free %s of %s (quota %s, min free %s)", f, d, q, m);
    return PREFLIGHT_PASS;
}

preflight_status preflight_limit_verdict(const char *what, uint64_t cur, uint64_t need, char *why,
                                         size_t n)
{
    if (cur == UINT64_MAX) {
        snprintf(why, n, "%s unlimited", what);
        return PREFLIGHT_PASS;
    }
    if (cur < need) {
        snprintf(why, n, "%s is %llu, a run may need %llu", what, (unsigned long long)cur,
                 (unsigned long long)need);
        return PREFLIGHT_WARN;
    }
    snprintf(why, n, "%s %llu", what, (unsigned long long)cur);
    return PREFLIGHT_PASS;
}

preflight_status preflight_clock_verdict(int ret, int status_bits, char *why, size_t n)
{
    if (ret < 0) {
        snprintf(why, n, "the system does not say whether the clock is synchronised");
        return PREFLIGHT_WARN;
    }
    if (ret == TIME_ERROR || (status_bits & STA_UNSYNC)) {
        snprintf(why, n, "the clock is not synchronised (adjtimex): times may jump");
        return PREFLIGHT_WARN;
    }
    snprintf(why, n, "synchronised");
    return PREFLIGHT_PASS;
}

preflight_status preflight_user_verdict(const cmdrun_result *r, char *why, size_t n)
{
    cmdrun_describe(r, why, n);
    if (r->spawn_errno || r->timed_out || (r->exit_code != 0 && r->exit_code != 1))
        return PREFLIGHT_FAIL;
    if (r->exit_code == 1) {
        snprintf(why, n, "exit 1 (a warning)");
        return PREFLIGHT_WARN;
    }
    return PREFLIGHT_PASS;
}

/* ---- redaction ------------------------------------------------------------------------ */

static int looks_secret(const char *name, size_t len)
{
    static const char *const words[] = {"key",    "secret", "token",     "password",
                                        "passwd", "auth",   "signature", "credential"};
    char low[128];
    if (len == 0 || len >= sizeof low)
        return 0;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    low[len] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* Replaces text[at .. at+len) with "***", or with len '*' when the buffer has no room for the
 * text to grow. Returns the length of the replacement. */
static size_t replace_span(char *text, size_t cap, size_t at, size_t len)
{
    size_t total = strlen(text);
    if (len < 3 && total + 3 - len >= cap) {
        memset(text + at, '*', len);
        return len;
    }
    memmove(text + at + 3, text + at + len, total - at - len + 1);
    memcpy(text + at, "***", 3);
    return 3;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

extern char **environ;

size_t preflight_redact(char *text, size_t cap)
{
    size_t count = 0;
    /* the values of secret-looking environment variables, wherever they appear */
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !looks_secret(*e, (size_t)(eq - *e)) || strlen(eq + 1) < 4)
            continue;
        const char *v = eq + 1;
        size_t vl = strlen(v);
        char *p;
        while ((p = strstr(text, v)) != NULL) {
            replace_span(text, cap, (size_t)(p - text), vl);
            count++;
        }
    }
    /* NAME=value and NAME: value where NAME looks like a secret */
    for (size_t i = 0; text[i]; i++) {
        if (text[i] != '=' && text[i] != ':')
            continue;
        size_t s = i;
        while (s > 0 && is_name_char(text[s - 1]))
            s--;
        if (s == i || !looks_secret(text + s, i - s))
            continue;
        size_t v = i + 1;
        while (text[v] == ' ' || text[v] == '"' || text[v] == '\'')
            v++;
        size_t end = v;
        while (text[end] && text[end] != ' ' && text[end] != '\n' && text[end] != '"' &&
               text[end] != '\'' && text[end] != '&' && text[end] != ',')
            end++;
        size_t stars = 0;
        while (v + stars < end && text[v + stars] == '*')
            stars++;
        if (end == v || stars == end - v) /* nothing, or already redacted */
            continue;
        size_t w = replace_span(text, cap, v, end - v);
        count++;
        i = v + w - 1; /* the loop goes on after the replacement */
    }
    return count;
}

/* ---- JSON and printing ----------------------------------------------------------------- */

char *preflight_json(const preflight_result *r)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!o || !arr) {
        cJSON_Delete(o);
        cJSON_Delete(arr);
        return NULL;
    }
    cJSON_AddBoolToObject(o, "ok", r->nfail == 0);
    cJSON_AddNumberToObject(o, "pass", (double)r->npass);
    cJSON_AddNumberToObject(o, "warn", (double)r->nwarn);
    cJSON_AddNumberToObject(o, "fail", (double)r->nfail);
    for (size_t i = 0; i < r->n; i++) {
        const preflight_check *c = &r->c[i];
        cJSON *j = cJSON_CreateObject();
        if (!j)
            break;
        cJSON_AddStringToObject(j, "name", c->name);
        cJSON_AddStringToObject(j, "status", preflight_status_name(c->status));
        cJSON_AddStringToObject(j, "reason", c->reason);
        if (c->exit_code >= 0)
            cJSON_AddNumberToObject(j, "exit_code", c->exit_code);
        cJSON_AddNumberToObject(j, "duration_s", c->duration_s);
        if (c->output[0])
            cJSON_AddStringToObject(j, "output", c->output);
        cJSON_AddItemToArray(arr, j);
    }
    cJSON_AddItemToObject(o, "checks", arr);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

int preflight_write_json(const preflight_result *r, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    char *js = preflight_json(r);
    if (!js) {
        snprintf(err, errlen, "cannot write '%s/%s': out of memory", dir, PREFLIGHT_JSON);
        return ERR_NOMEM;
    }
    snprintf(path, sizeof path, "%s/%s", dir, PREFLIGHT_JSON);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(js, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(js);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        return ERR_IO;
    }
    return 0;
}

int preflight_record(const preflight_result *r, struct store *db, double t)
{
    int rc = 0;
    char d[420];
    for (size_t i = 0; i < r->n; i++) {
        const preflight_check *c = &r->c[i];
        if (c->status == PREFLIGHT_PASS)
            continue;
        snprintf(d, sizeof d, "%s %s: %s", preflight_status_name(c->status), c->name, c->reason);
        rc |= store_event(db, t, STORE_EV_PREFLIGHT, 0, d, c->status);
        if (c->status == PREFLIGHT_FAIL && !strcmp(c->name, "command"))
            rc |= store_event(db, t, STORE_EV_START_FAILED, 0, c->reason, 0);
    }
    return rc ? -1 : 0;
}

void preflight_print(const preflight_result *r, int only_problems, FILE *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const preflight_check *c = &r->c[i];
        if (only_problems && c->status == PREFLIGHT_PASS)
            continue;
        fprintf(out, "  %-4s  %-20s %s\n", preflight_status_name(c->status), c->name, c->reason);
    }
    for (size_t i = 0; i < r->n; i++) {
        const preflight_check *c = &r->c[i];
        if (c->status != PREFLIGHT_FAIL || !c->output[0])
            continue;
        fprintf(out, "  output of %s:\n", c->name);
        const char *p = c->output;
        while (*p) {
            size_t l = strcspn(p, "\n");
            fprintf(out, "    | %.*s\n", (int)l, p);
            p += l;
            if (*p)
                p++;
        }
    }
    fprintf(out, "  pre-flight: %zu pass, %zu warn, %zu fail\n", r->npass, r->nwarn, r->nfail);
}

/* ---- the checks ------------------------------------------------------------------------ */

static void check_disk(const opts *o, const char *dir, preflight_result *r)
{
    struct statvfs v;
    char why[320];
    if (statvfs(dir, &v) != 0) {
        preflight_add(r, "disk", PREFLIGHT_WARN, "cannot read the free space of '%s': %s", dir,
                      strerror(errno));
        return;
    }
    uint64_t fr = (uint64_t)v.f_bavail * v.f_frsize, total = (uint64_t)v.f_blocks * v.f_frsize;
    preflight_status s =
        preflight_disk_verdict(fr, total, o->artifacts_quota, o->min_free_disk, why, sizeof why);
    preflight_add(r, "disk", s, "%s", why);
}

static void check_limit(preflight_result *r, const char *name, const char *what, int resource,
                        uint64_t need)
{
    struct rlimit l;
    char why[320];
    uint64_t cur = getrlimit(resource, &l) == 0
                       ? (l.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)l.rlim_cur)
                       : 0;
    preflight_add(r, name, preflight_limit_verdict(what, cur, need, why, sizeof why), "%s", why);
}

static void check_limits(preflight_result *r)
{
    check_limit(r, "limits.nofile", "RLIMIT_NOFILE", RLIMIT_NOFILE, PREFLIGHT_NOFILE_MIN);
    check_limit(r, "limits.nproc", "RLIMIT_NPROC", RLIMIT_NPROC, PREFLIGHT_NPROC_MIN);
}

static void check_clock(preflight_result *r)
{
    struct timex tx;
    char why[320];
    memset(&tx, 0, sizeof tx); /* modes 0: read only */
    int ret = adjtimex(&tx);
    preflight_add(r, "clock", preflight_clock_verdict(ret, tx.status, why, sizeof why), "%s", why);
}

static void check_folder(const char *dir, preflight_result *r)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/.preflight-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        preflight_add(r, "folder", PREFLIGHT_FAIL, "cannot write in '%s': %s", dir,
                      strerror(errno));
        return;
    }
    int ok = write(fd, "ok\n", 3) == 3;
    int e = errno;
    close(fd);
    unlink(path);
    if (!ok)
        preflight_add(r, "folder", PREFLIGHT_FAIL, "cannot write in '%s': %s", dir, strerror(e));
    else
        preflight_add(r, "folder", PREFLIGHT_PASS, "'%s' is writable", dir);
}

static void check_lock(const char *dir, int holds_lock, preflight_result *r)
{
    if (holds_lock) {
        preflight_add(r, "lock", PREFLIGHT_PASS, "this run holds '%s/%s'", dir, RUNLOCK_FILE);
        return;
    }
    int held = runlock_held(dir);
    runlock_owner ow;
    if (held == 1 && runlock_read_pid(dir, &ow) == 0)
        preflight_add(r, "lock", PREFLIGHT_FAIL, "'%s' is in use by a running soak (pid %d)", dir,
                      (int)ow.pid);
    else if (held == 1)
        preflight_add(r, "lock", PREFLIGHT_FAIL, "'%s' is in use by a running soak", dir);
    else if (held < 0)
        preflight_add(r, "lock", PREFLIGHT_WARN, "cannot test the lock of '%s'", dir);
    else
        preflight_add(r, "lock", PREFLIGHT_PASS, "no other soak runs into '%s'", dir);
}

static void check_leftovers(const char *dir, preflight_result *r)
{
    pid_t pids[16];
    size_t n = runlock_leftovers(dir, pids, sizeof pids / sizeof pids[0]);
    if (n == 0) {
        preflight_add(r, "leftovers", PREFLIGHT_PASS, "no process left from an earlier run");
        return;
    }
    char list[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used + 12 < sizeof list; i++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? " " : "", (int)pids[i]);
    preflight_add(r, "leftovers", PREFLIGHT_WARN,
                  "%zu process%s left from an earlier run of this folder: pid %s (soak kill-tree "
                  "PID)",
                  n, n == 1 ? "" : "es", list);
}

static void check_listen(const char *addr, preflight_result *r)
{
    char ip[64];
    int port, v6;
    if (wsrv_parse_addr(addr, ip, sizeof ip, &port, &v6) != 0) {
        preflight_add(r, "listen", PREFLIGHT_FAIL, "'%s' is not ADDR:PORT", addr);
        return;
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, rc = -1, e = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (v6) {
            struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
            if (inet_pton(AF_INET6, ip, &a.sin6_addr) == 1)
                rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        } else {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            if (inet_pton(AF_INET, ip[0] ? ip : "127.0.0.1", &a.sin_addr) == 1)
                rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        }
        e = errno;
        close(fd);
    } else
        e = errno;
    if (rc != 0)
        preflight_add(r, "listen", PREFLIGHT_FAIL, "cannot listen on '%s': %s", addr,
                      strerror(e ? e : EADDRNOTAVAIL));
    else
        preflight_add(r, "listen", PREFLIGHT_PASS, "'%s' is free", addr);
}

static void check_metrics(const char *url, preflight_result *r)
{
    sbuf b;
    long status = 0;
    char err[512], shown[OPTS_STR];
    sbuf_init(&b, 1 << 20);
    int rc = httpget_fetch(url, PREFLIGHT_METRICS_MS, 1 << 20, &b, &status, err, sizeof err);
    sbuf_free(&b);
    httpget_redact_url(url, shown, sizeof shown);
    if (rc != 0)
        preflight_add(r, "metrics", PREFLIGHT_WARN,
                      "%s (fine when the service serves it once started)", err);
    else if (status != 200)
        preflight_add(r, "metrics", PREFLIGHT_WARN, "'%s' answers HTTP %ld", shown, status);
    else
        preflight_add(r, "metrics", PREFLIGHT_PASS, "'%s' answers", shown);
}

/* Finds argv0 as execvp would (a name with a slash as it is, else along PATH). */
static int command_found(const char *argv0, char *where, size_t n)
{
    if (strchr(argv0, '/')) {
        snprintf(where, n, "%s", argv0);
        return access(argv0, X_OK) == 0 ? 0 : -errno;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int e = -ENOENT;
    while (*path) {
        size_t l = strcspn(path, ":");
        char cand[PATH_MAX];
        snprintf(cand, sizeof cand, "%.*s%s%s", (int)l, path, l ? "/" : "", argv0);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(cand, X_OK) == 0) {
                snprintf(where, n, "%s", cand);
                return 0;
            }
            e = -EACCES;
        }
        path += l;
        if (*path)
            path++;
    }
    return e;
}

static void check_command(const opts *o, preflight_result *r)
{
    char where[PATH_MAX];
    int rc = command_found(o->argv[0], where, sizeof where);
    if (rc != 0)
        preflight_add(r, "command", PREFLIGHT_FAIL, "cannot run '%s': %s", o->argv[0],
                      strerror(-rc));
    else
        preflight_add(r, "command", PREFLIGHT_PASS, "'%s' is %s", o->argv[0], where);
}

static void check_user(const opts *o, size_t i, preflight_result *r)
{
    static char out[PREFLIGHT_OUT_MAX], errb[PREFLIGHT_OUT_MAX];
    cmdrun_result cr;
    char name[80], why[320];
    snprintf(name, sizeof name, "user.%s", o->preflight_names[i]);
    cmdrun_run(o->preflight_cmds[i], o->preflight_timeout_ms, out, sizeof out, errb, sizeof errb,
               &cr);
    preflight_status s = preflight_user_verdict(&cr, why, sizeof why);
    if (cr.timed_out) {
        char d[32];
        snprintf(why, sizeof why, "timed out after %s",
                 units_format_duration(o->preflight_timeout_ms, d, sizeof d));
    }
    preflight_check *c = preflight_add(r, name, s, "%s", why);
    if (!c)
        return;
    c->exit_code = cr.exit_code;
    c->duration_s = (double)cr.duration_ms / 1000.0;
    snprintf(c->output, sizeof c->output, "%s%s%s", out, out[0] && errb[0] ? "\n" : "", errb);
    size_t l = strlen(c->output);
    while (l && (c->output[l - 1] == '\n' || c->output[l - 1] == ' '))
        c->output[--l] = '\0';
    preflight_redact(c->output, sizeof c->output);
}

/* A folder that does not exist yet: can its nearest existing parent take it? */
static int check_folder_to_be(const char *dir, char *base, size_t n, preflight_result *r)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        snprintf(base, n, "%s", dir);
        return 0;
    }
    snprintf(base, n, "%s", dir);
    for (;;) {
        char *slash = strrchr(base, '/');
        if (!slash) {
            snprintf(base, n, ".");
            if (stat(base, &st) != 0)
                st.st_mode = 0;
            break;
        }
        *slash = '\0';
        if (!base[0])
            snprintf(base, n, "/");
        if (stat(base, &st) == 0)
            break;
    }
    if (!S_ISDIR(st.st_mode))
        preflight_add(r, "folder", PREFLIGHT_FAIL, "cannot create '%s': '%s' is not a folder", dir,
                      base);
    else if (access(base, W_OK) != 0)
        preflight_add(r, "folder", PREFLIGHT_FAIL, "cannot create '%s': '%s': %s", dir, base,
                      strerror(errno));
    else
        preflight_add(r, "folder", PREFLIGHT_PASS, "'%s' can be created", dir);
    return 1;
}

int preflight_run(const opts *o, const char *dir, int holds_lock, preflight_result *r)
{
    char base[PATH_MAX];
    memset(r, 0, sizeof *r);
    if (!check_folder_to_be(dir, base, sizeof base, r))
        check_folder(dir, r);
    check_lock(dir, holds_lock, r);
    check_leftovers(dir, r);
    check_disk(o, base, r);
    check_limits(r);
    check_clock(r);
    if (o->listen[0])
        check_listen(o->listen, r);
    if (o->metrics_url[0])
        check_metrics(o->metrics_url, r);
    if (o->argc > 0)
        check_command(o, r);
    for (size_t i = 0; i < o->npreflight; i++)
        check_user(o, i, r);
    return r->nfail ? ERR_BADSTATE : 0;
}
