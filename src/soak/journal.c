/* journal: a unit's journal through `journalctl -f -o json`. See journal.h. */
#include "journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errcode.h"
#include "helpers.h"
#include "logfollow.h"

struct journal {
    uv_pipe_t pipe;
    int pipe_open;
    int exited;   /* the output ended and no new child follows */
    int stopping; /* journal_stop was called */
    int timer_on;
    uv_timer_t respawn;
    uv_loop_t *loop;
    unsigned fails; /* children in a row that ended without a record */
    uint64_t records_at_spawn;
    char unit[256];
    char prog[256];
    char cursor[JOURNAL_CURSOR_MAX]; /* __CURSOR of the last record: a new child goes on there */
    pid_t pid;
    pid_t stopped; /* signalled by journal_stop, waited for by journal_free */
    helpers *hp;   /* where the children are registered; NULL: reaped here only */
    logfollow fr;  /* framing of the JSON lines only (never opens anything) */
    journal_line_fn fn;
    void *ud;
    char stream[96];
    char msg[JOURNAL_MSG_MAX];
    char rbuf[65536];
    journal_stats st;
};

int journal_parse_message(const char *json, size_t len, char *out, size_t cap, size_t *outlen,
                          char *cursor, size_t cursor_cap)
{
    *outlen = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ERR_PARSE;
    }
    int rc = 0;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "__CURSOR");
    if (cursor && cursor_cap && cJSON_IsString(c) && c->valuestring &&
        strlen(c->valuestring) < cursor_cap)
        snprintf(cursor, cursor_cap, "%s", c->valuestring);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "MESSAGE");
    if (!m || cJSON_IsNull(m)) {
        rc = ERR_NODATA;
    } else if (cJSON_IsString(m) && m->valuestring) {
        size_t n = strlen(m->valuestring);
        n = n > cap ? cap : n;
        memcpy(out, m->valuestring, n);
        *outlen = n;
    } else if (cJSON_IsArray(m)) {
        size_t n = 0;
        for (cJSON *b = m->child; b; b = b->next) {
            if (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 255 ||
                b->valuedouble != (double)(int)b->valuedouble) {
                rc = ERR_PARSE;
                break;
            }
            if (n < cap)
                out[n++] = (char)(unsigned char)(int)b->valuedouble;
        }
        *outlen = rc ? 0 : n;
    } else {
        rc = ERR_PARSE;
    }
    cJSON_Delete(root);
    return rc;
}

/* One JSON record (a framed line): its MESSAGE, line by line. */
static void jr_on_record(void *ud, const char *line, size_t len, int cont)
{
    journal *j = ud;
    if (cont || len >= JOURNAL_LINE_MAX) { /* a record past the cap: dropped */
        if (!cont)
            j->st.bad++;
        return;
    }
    if (len == 0)
        return;
    j->st.records++;
    size_t n;
    if (journal_parse_message(line, len, j->msg, sizeof j->msg, &n, j->cursor, sizeof j->cursor) !=
        0) {
        j->st.bad++;
        return;
    }
    const char *p = j->msg, *end = j->msg + n;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
        j->st.lines++;
        if (j->fn)
            j->fn(j->ud, j->stream, p, k);
        if (!nl || nl + 1 == end)
            break;
        p = nl + 1;
    }
}

/* A child of ours ended and was reaped (by the program's SIGCHLD handler, through hp, or by
 * jr_reap): its pid is no longer ours to signal. */
static void jr_on_exit(void *ud, pid_t pid, int status)
{
    journal *j = ud;
    (void)status;
    if (pid == j->pid)
        j->pid = 0;
    if (pid == j->stopped)
        j->stopped = 0;
}

/* Reaps the child pid if it ended (never blocks): 1 when it is gone, 0 while it runs. */
static int jr_reap(journal *j, pid_t pid)
{
    if (pid <= 0)
        return 1;
    if (j->hp) {
        int rc = helpers_reap(j->hp, pid);
        if (rc == 1)
            jr_on_exit(j, pid, 0); /* when ECHILD skipped the callback */
        return rc != 0;
    }
    int r = (int)waitpid(pid, NULL, WNOHANG);
    if (r == 0)
        return 0;
    jr_on_exit(j, pid, 0);
    return 1;
}

static void jr_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    journal *j = h->data;
    (void)suggested;
    buf->base = j->rbuf;
    buf->len = sizeof j->rbuf;
}

static int jr_spawn(journal *j, char *err, size_t errlen);

static void jr_on_timer(uv_timer_t *t)
{
    journal *j = t->data;
    char err[256];
    if (!j->stopping && jr_spawn(j, err, sizeof err) != 0)
        j->exited = 1;
}

/* The pipe is closed: a child that ended while soak runs (killed with the service's tree at a
 * restart, or journalctl failing) is followed by a new one, which goes on after the last
 * record read; JOURNAL_RESPAWN_MAX children in a row without a record end the following. */
static void jr_pipe_closed(uv_handle_t *h)
{
    journal *j = h->data;
    if (j->stopping)
        return;
    if (j->pid > 0 && !jr_reap(j, j->pid)) {
        /* its output ended but it runs on: no use; it is still ours (not reaped), so the pid
         * is its own. Reaped later (the SIGCHLD handler through hp, or journal_free) */
        kill(j->pid, SIGTERM);
        if (j->hp)
            helpers_disown(j->hp, j->pid);
        j->pid = 0;
    }
    j->fails = j->st.records > j->records_at_spawn ? 0 : j->fails + 1;
    if (j->fails >= JOURNAL_RESPAWN_MAX) {
        j->exited = 1;
        return;
    }
    j->st.restarts++;
    uv_timer_start(&j->respawn, jr_on_timer, JOURNAL_RESPAWN_MS << (j->fails ? j->fails - 1 : 0),
                   0);
}

static void jr_close(journal *j)
{
    if (!j->pipe_open)
        return;
    j->pipe_open = 0;
    uv_read_stop((uv_stream_t *)&j->pipe);
    uv_close((uv_handle_t *)&j->pipe, jr_pipe_closed);
}

static void jr_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    journal *j = st->data;
    if (n > 0) {
        logfollow_feed(&j->fr, buf->base, (size_t)n);
    } else if (n < 0) {
        logfollow_flush(&j->fr);
        jr_close(j);
    }
}

/* Starts one journalctl with its stdout on a new pipe. */
static int jr_spawn(journal *j, char *err, size_t errlen)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot follow the journal of '%s': %s", j->unit, strerror(errno));
        return ERR_SYS;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot follow the journal of '%s': %s", j->unit, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return ERR_SYS;
    }
    if (pid == 0) {
        /* the child: only calls that are safe after fork, then exec */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        setpgid(0, 0); /* a Ctrl-C on soak's terminal is soak's to handle: it stops this */
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fds[1], 1);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {j->prog, "-f", "-o", "json", "-u", j->unit, "-n", "0", NULL};
        if (j->cursor[0]) { /* after a restart: from the record after the last one read */
            argv[6] = "--after-cursor";
            argv[7] = j->cursor;
        }
        execvp(j->prog, argv);
        _exit(127);
    }
    close(fds[1]);
    if (j->hp && helpers_add(j->hp, pid, jr_on_exit, j) != 0) { /* never left uncounted */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fds[0]);
        snprintf(err, errlen, "cannot follow the journal of '%s': too many helper processes",
                 j->unit);
        return ERR_FULL;
    }
    j->pid = pid;
    j->records_at_spawn = j->st.records;
    uv_pipe_init(j->loop, &j->pipe, 0);
    j->pipe.data = j;
    j->pipe_open = 1;
    if (uv_pipe_open(&j->pipe, fds[0]) != 0) {
        close(fds[0]);
        jr_close(j);
    } else {
        uv_read_start((uv_stream_t *)&j->pipe, jr_alloc, jr_on_read);
    }
    return 0;
}

int journal_start(uv_loop_t *loop, const char *unit, const char *prog, journal_line_fn fn, void *ud,
                  journal **out, char *err, size_t errlen)
{
    return journal_start_helpers(loop, unit, prog, NULL, fn, ud, out, err, errlen);
}

int journal_start_helpers(uv_loop_t *loop, const char *unit, const char *prog, helpers *hp,
                          journal_line_fn fn, void *ud, journal **out, char *err, size_t errlen)
{
    *out = NULL;
    journal *j = calloc(1, sizeof *j);
    if (!j || logfollow_init(&j->fr, JOURNAL_LINE_MAX, jr_on_record, j) != 0) {
        free(j);
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    j->fn = fn;
    j->ud = ud;
    j->loop = loop;
    j->hp = hp;
    snprintf(j->stream, sizeof j->stream, "journal:%s", unit);
    snprintf(j->unit, sizeof j->unit, "%s", unit);
    snprintf(j->prog, sizeof j->prog, "%s", prog && prog[0] ? prog : "journalctl");
    uv_timer_init(loop, &j->respawn);
    j->respawn.data = j;
    j->timer_on = 1;
    int rc = jr_spawn(j, err, errlen);
    if (rc) {
        uv_close((uv_handle_t *)&j->respawn, NULL);
        j->timer_on = 0;
        /* the timer's close callback runs on the loop; j is freed after it by the caller */
        j->exited = 1;
        j->stopping = 1;
        *out = j;
        return rc;
    }
    *out = j;
    return 0;
}

void journal_stop(journal *j)
{
    if (!j)
        return;
    j->stopping = 1;
    if (j->timer_on) {
        uv_timer_stop(&j->respawn);
        uv_close((uv_handle_t *)&j->respawn, NULL);
        j->timer_on = 0;
    }
    if (j->pipe_open) {
        int fd = -1;
        if (uv_fileno((uv_handle_t *)&j->pipe, &fd) == 0) {
            for (int i = 0; i < 64; i++) { /* what is waiting, bounded */
                ssize_t n = read(fd, j->rbuf, sizeof j->rbuf);
                if (n <= 0)
                    break;
                logfollow_feed(&j->fr, j->rbuf, (size_t)n);
            }
        }
        logfollow_flush(&j->fr);
        jr_close(j);
    }
    if (j->pid > 0) { /* a child whose pipe is still open, or is closing */
        kill(j->pid, SIGTERM);
        j->stopped = j->pid;
        j->pid = 0;
    }
}

int journal_exited(const journal *j)
{
    return j ? j->exited : 1;
}

const char *journal_stream(const journal *j)
{
    return j->stream;
}

void journal_stats_get(const journal *j, journal_stats *out)
{
    *out = j->st;
}

void journal_free(journal *j)
{
    if (!j)
        return;
    /* reaped here unless a SIGCHLD handler of the program did it: 200 ms at most for
     * SIGTERM, then SIGKILL and 200 ms more; a child still there is left to hp's stop */
    for (int i = 0; j->stopped > 0 && i < 40; i++) {
        if (jr_reap(j, j->stopped))
            break;
        if (i == 19)
            kill(j->stopped, SIGKILL);
        usleep(10000);
    }
    if (j->hp && j->stopped > 0)
        helpers_disown(j->hp, j->stopped);
    logfollow_free(&j->fr);
    free(j);
}
