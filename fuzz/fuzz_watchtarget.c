/* Fuzzes the parsers of what soak watch reads from outside (watchtarget.h: pid files,
 * /proc/PID/cgroup, systemctl show, docker/podman inspect; cgsample's keyed files) on arbitrary
 * bytes: the first byte picks the parser. Checks the invariants a caller relies on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgsample.h"
#include "watchtarget.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    char *buf = fuzz_copy_tail(data, size, &len); /* the first byte picks the parser */
    if (!buf)
        return 0;
    switch (data[0] % 5) {
    case 0: {
        pid_t p;
        if (wt_parse_pid(buf, len, &p) == 0 && (p < 1 || p > WT_PID_MAX))
            abort();
        break;
    }
    case 1: {
        wt_proc_cgroup c;
        int rc = wt_parse_proc_cgroup(buf, len, &c);
        if (rc == 0 && ((c.v2[0] && c.v2[0] != '/') || (c.memory[0] && c.memory[0] != '/')))
            abort();
        if (rc == 0 && !c.v2[0] && !c.memory[0])
            abort();
        if (strnlen(c.v2, sizeof c.v2) == sizeof c.v2)
            abort();
        break;
    }
    case 2: {
        wt_unit u;
        int code, sig;
        if (wt_parse_systemctl_show(buf, len, &u) == 0 && u.cgroup[0] != '/')
            abort();
        if (wt_unit_exit(&u, &code, &sig) == 1 && code < 0 && sig == 0 && u.exec_main_code == 1)
            abort();
        if (strnlen(u.cgroup, sizeof u.cgroup) == sizeof u.cgroup ||
            strnlen(u.result, sizeof u.result) == sizeof u.result)
            abort();
        break;
    }
    case 3: {
        wt_container c;
        if (wt_parse_inspect(buf, len, &c) == 0 && (c.pid < 0 || c.pid > WT_PID_MAX))
            abort();
        if (strnlen(c.cgroup, sizeof c.cgroup) == sizeof c.cgroup)
            abort();
        break;
    }
    case 4: {
        int64_t v = -7;
        int rc = cgsample_parse_keyed(buf, len, "oom_kill", &v);
        if (rc == 0 && v < 0)
            abort();
        break;
    }
    }
    free(buf);
    return 0;
}
