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
#include "logfollow.h"

struct journal {
    uv_pipe_t pipe;
    int pipe_open;
    int exited;
    pid_t pid;
    pid_t stopped; /* signalled by journal_stop, waited for by journal_free */
    logfollow fr;  /* framing of the JSON lines only (never opens anything) */
    journal_line_fn fn;
    void *ud;
    char stream[96];
    char msg[JOURNAL_MSG_MAX];
    char rbuf[65536];
    journal_stats st;
};

int journal_parse_message(const char *json, size_t len, char *out, size_t cap, size_t *outlen)
{
    *outlen = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ERR_PARSE;
    }
    int rc = 0;
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
    if (journal_parse_message(line, len, j->msg, sizeof j->msg, &n) != 0) {
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

static void jr_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    journal *j = h->data;
    (void)suggested;
    buf->base = j->rbuf;
    buf->len = sizeof j->rbuf;
}

static void jr_closed(uv_handle_t *h)
{
    (void)h;
}

static void jr_close(journal *j)
{
    if (!j->pipe_open)
        return;
    j->pipe_open = 0;
    uv_read_stop((uv_stream_t *)&j->pipe);
    uv_close((uv_handle_t *)&j->pipe, jr_closed);
}

static void jr_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    journal *j = st->data;
    if (n > 0) {
        logfollow_feed(&j->fr, buf->base, (size_t)n);
    } else if (n < 0) {
        logfollow_flush(&j->fr);
        j->exited = 1;
        jr_close(j);
    }
}

int journal_start(uv_loop_t *loop, const char *unit, const char *prog, journal_line_fn fn, void *ud,
                  journal **out, char *err, size_t errlen)
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
    snprintf(j->stream, sizeof j->stream, "journal:%s", unit);
    if (!prog || !prog[0])
        prog = "journalctl";
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot follow the journal of '%s': %s", unit, strerror(errno));
        logfollow_free(&j->fr);
        free(j);
        return ERR_SYS;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot follow the journal of '%s': %s", unit, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        logfollow_free(&j->fr);
        free(j);
        return ERR_SYS;
    }
    if (pid == 0) {
        /* the child: only calls that are safe after fork, then exec */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fds[1], 1);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {(char *)prog, "-f", "-o", "json", "-u", (char *)unit, "-n", "0", NULL};
        execvp(prog, argv);
        _exit(127);
    }
    close(fds[1]);
    j->pid = pid;
    uv_pipe_init(loop, &j->pipe, 0);
    j->pipe.data = j;
    if (uv_pipe_open(&j->pipe, fds[0]) != 0) {
        close(fds[0]);
        j->exited = 1;
        uv_close((uv_handle_t *)&j->pipe, jr_closed);
    } else {
        j->pipe_open = 1;
        uv_read_start((uv_stream_t *)&j->pipe, jr_alloc, jr_on_read);
    }
    *out = j;
    return 0;
}

void journal_stop(journal *j)
{
    if (!j)
        return;
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
    if (j->pid > 0 && !j->exited) { /* an ended child may be reaped already: no stray kill */
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
    /* reaped here unless a SIGCHLD handler of the program did it (ECHILD): 200 ms at most */
    for (int i = 0; j->stopped > 0 && i < 20; i++) {
        pid_t r = waitpid(j->stopped, NULL, WNOHANG);
        if (r != 0)
            break;
        usleep(10000);
    }
    logfollow_free(&j->fr);
    free(j);
}
