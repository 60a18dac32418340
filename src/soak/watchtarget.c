/* watchtarget: parsers of pid files, /proc/PID/cgroup, systemctl show and docker inspect. See
 * watchtarget.h. */
#include "watchtarget.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"

static size_t wt_cap(size_t len)
{
    return len > WT_TEXT_MAX ? WT_TEXT_MAX : len;
}

/* Parses a decimal in [lo, hi] from s[0..n) exactly; 0 or -1. */
static int wt_num(const char *s, size_t n, long long lo, long long hi, long long *out)
{
    int neg = 0;
    size_t i = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n || n - i > 18)
        return -1;
    long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void wt_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

int wt_parse_pid(const char *buf, size_t len, pid_t *out)
{
    *out = 0;
    len = wt_cap(len);
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    size_t b = i;
    while (i < len && buf[i] >= '0' && buf[i] <= '9')
        i++;
    size_t e = i;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
        i++;
    if (b == e || (i < len && buf[i] != '\n'))
        return ERR_PARSE;
    long long v;
    if (e - b > 10 || wt_num(buf + b, e - b, 0, 1LL << 40, &v))
        return ERR_PARSE;
    if (v < 1 || v > WT_PID_MAX)
        return ERR_RANGE;
    *out = (pid_t)v;
    return 0;
}

/* Calls fn on each line of buf (without its newline). */
static int wt_lines(const char *buf, size_t len, int (*fn)(void *ud, const char *l, size_t n),
                    void *ud)
{
    len = wt_cap(len);
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t full = nl ? (size_t)(nl - (buf + i)) : len - i, n = full;
        if (n && buf[i + n - 1] == '\r')
            n--;
        int rc = fn(ud, buf + i, n);
        if (rc)
            return rc;
        i += full + 1;
    }
    return 0;
}

static int wt_cg_line(void *ud, const char *l, size_t n)
{
    wt_proc_cgroup *o = ud;
    if (!n)
        return 0;
    const char *c1 = memchr(l, ':', n);
    if (!c1)
        return ERR_PARSE;
    const char *c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - l));
    if (!c2)
        return ERR_PARSE;
    long long id;
    if (wt_num(l, (size_t)(c1 - l), 0, 1 << 20, &id))
        return ERR_PARSE;
    const char *ctl = c1 + 1, *path = c2 + 1;
    size_t nctl = (size_t)(c2 - ctl), npath = n - (size_t)(path - l);
    if (!npath || path[0] != '/')
        return ERR_PARSE;
    if (id == 0 && nctl == 0) {
        wt_copy(o->v2, sizeof o->v2, path, npath);
        return 0;
    }
    /* a v1 list of controllers: memory among them */
    size_t i = 0;
    while (i < nctl) {
        const char *comma = memchr(ctl + i, ',', nctl - i);
        size_t k = comma ? (size_t)(comma - (ctl + i)) : nctl - i;
        if (k == 6 && !memcmp(ctl + i, "memory", 6))
            wt_copy(o->memory, sizeof o->memory, path, npath);
        i += k + 1;
    }
    return 0;
}

int wt_parse_proc_cgroup(const char *buf, size_t len, wt_proc_cgroup *out)
{
    memset(out, 0, sizeof *out);
    int rc = wt_lines(buf, len, wt_cg_line, out);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return out->v2[0] || out->memory[0] ? 0 : ERR_NOENT;
}

static int wt_unit_line(void *ud, const char *l, size_t n)
{
    wt_unit *u = ud;
    if (!n)
        return 0;
    const char *eq = memchr(l, '=', n);
    if (!eq || eq == l)
        return ERR_PARSE;
    size_t nk = (size_t)(eq - l);
    const char *v = eq + 1;
    size_t nv = n - nk - 1;
    long long x;
#define KEY(s) (nk == sizeof(s) - 1 && !memcmp(l, s, nk))
    if (KEY("Id"))
        wt_copy(u->id, sizeof u->id, v, nv);
    else if (KEY("ControlGroup"))
        wt_copy(u->cgroup, sizeof u->cgroup, v, nv);
    else if (KEY("ActiveState"))
        wt_copy(u->active_state, sizeof u->active_state, v, nv);
    else if (KEY("SubState"))
        wt_copy(u->sub_state, sizeof u->sub_state, v, nv);
    else if (KEY("Result"))
        wt_copy(u->result, sizeof u->result, v, nv);
    else if (KEY("MainPID")) {
        if (wt_num(v, nv, 0, WT_PID_MAX, &x))
            return ERR_PARSE;
        u->main_pid = (pid_t)x;
    } else if (KEY("ExecMainCode")) {
        if (wt_num(v, nv, 0, 255, &x))
            return ERR_PARSE;
        u->exec_main_code = (int)x;
    } else if (KEY("ExecMainStatus")) {
        if (wt_num(v, nv, 0, 1000000, &x)) /* an exit code or a signal number */
            return ERR_PARSE;
        u->exec_main_status = (int)x;
    } else if (KEY("NRestarts")) {
        if (wt_num(v, nv, 0, 1LL << 50, &x))
            return ERR_PARSE;
        u->n_restarts = x;
    }
#undef KEY
    return 0;
}

int wt_parse_systemctl_show(const char *buf, size_t len, wt_unit *out)
{
    memset(out, 0, sizeof *out);
    out->n_restarts = -1;
    int rc = wt_lines(buf, len, wt_unit_line, out);
    if (rc) {
        memset(out, 0, sizeof *out);
        out->n_restarts = -1;
        return rc;
    }
    if (!out->cgroup[0] || out->cgroup[0] != '/')
        return ERR_NOENT;
    return 0;
}

int wt_unit_exit(const wt_unit *u, int *code, int *signal)
{
    *code = -1;
    *signal = 0;
    switch (u->exec_main_code) {
    case 1: /* CLD_EXITED */
        *code = u->exec_main_status;
        return 1;
    case 2: /* CLD_KILLED */
    case 3: /* CLD_DUMPED */
        *signal = u->exec_main_status;
        return 1;
    default:
        return 0;
    }
}

static void wt_json_str(const cJSON *o, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && v->valuestring)
        wt_copy(dst, cap, v->valuestring, strlen(v->valuestring));
}

int wt_parse_inspect(const char *buf, size_t len, wt_container *out)
{
    memset(out, 0, sizeof *out);
    len = wt_cap(len);
    cJSON *root = cJSON_ParseWithLength(buf, len);
    if (!root)
        return ERR_PARSE;
    int rc = ERR_PARSE;
    const cJSON *c = root;
    if (cJSON_IsArray(root)) {
        if (cJSON_GetArraySize(root) == 0) {
            rc = ERR_NOENT;
            goto out;
        }
        c = cJSON_GetArrayItem(root, 0);
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "State");
    if (!cJSON_IsObject(c) || !cJSON_IsObject(st))
        goto out;
    wt_json_str(c, "Id", out->id, sizeof out->id);
    wt_json_str(c, "Name", out->name, sizeof out->name);
    wt_json_str(st, "Status", out->status, sizeof out->status);
    wt_json_str(st, "CgroupPath", out->cgroup, sizeof out->cgroup);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(st, "Pid");
    if (!cJSON_IsNumber(pid) || pid->valuedouble < 0 || pid->valuedouble > WT_PID_MAX) {
        rc = cJSON_IsNumber(pid) ? ERR_RANGE : ERR_PARSE;
        goto out;
    }
    out->pid = (pid_t)pid->valuedouble;
    out->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running"));
    out->oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "OOMKilled"));
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
    if (cJSON_IsNumber(ec) && ec->valuedouble >= -1e6 && ec->valuedouble <= 1e6)
        out->exit_code = (int)ec->valuedouble;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
