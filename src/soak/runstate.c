/* runstate: the live picture of a run. See runstate.h. */
#include "runstate.h"

#include <string.h>

void runstate_init(runstate *r)
{
    memset(r, 0, sizeof *r);
    r->state = RS_STARTING;
    r->heartbeat_age_s = -1;
}

const char *runstate_state_name(rs_state s)
{
    static const char *const names[] = {"starting", "running", "stopping", "backoff", "done"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
