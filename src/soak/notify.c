#include "notify.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "errcode.h"
#include "httpget.h"
#include "sbuf.h"

#define NOTIFY_TEXT_MAX 3500 /* Telegram takes 4096 characters */
#define NOTIFY_BODY_MAX 8192
#define NOTIFY_URL_MAX  1024

/* ---- names -------------------------------------------------------------------------------- */

const char *notify_kind_name(notify_kind k)
{
    static const char *const names[] = {
#define NOTIFY_KIND_NAME(name, str) str,
        NOTIFY_KINDS(NOTIFY_KIND_NAME)
#undef NOTIFY_KIND_NAME
    };
    return (unsigned)k < NOTIFY_NKINDS ? names[k] : "?";
}

const char *notify_chan_name(notify_chan c)
{
    static const char *const names[] = {
#define NOTIFY_CHAN_NAME(name, str) str,
        NOTIFY_CHANNELS(NOTIFY_CHAN_NAME)
#undef NOTIFY_CHAN_NAME
    };
    return (unsigned)c < NOTIFY_NCHANS ? names[c] : "?";
}

int notify_kind_of_event(store_evkind kind, int failure)
{
    switch (kind) {
    case STORE_EV_EXIT:
        return failure ? NOTIFY_CRASH : -1;
    case STORE_EV_HANG:
        return NOTIFY_HANG;
    case STORE_EV_OOM_KILL:
    case STORE_EV_OOM_SUSPECTED:
        return NOTIFY_OOM_KILL;
    case STORE_EV_START_LIMIT:
        return NOTIFY_START_LIMIT;
    case STORE_EV_DISK_LOW:
        return NOTIFY_DISK_LOW;
    default:
        return -1;
    }
}

int notify_parse_kinds(const char *text, unsigned *mask, char *err, size_t errlen)
{
    unsigned m = 0;
    const char *p = text;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t w = strcspn(p, ", ");
        if (!w)
            break;
        int found = 0;
        if (w == 3 && strncmp(p, "all", 3) == 0) {
            m = (1u << NOTIFY_NKINDS) - 1;
            found = 1;
        }
        for (int k = 0; k < NOTIFY_NKINDS && !found; k++)
            if (strlen(notify_kind_name((notify_kind)k)) == w &&
                strncmp(p, notify_kind_name((notify_kind)k), w) == 0) {
                m |= 1u << k;
                found = 1;
            }
        if (!found) {
            int off = snprintf(err, errlen, "unknown event '%.*s'; expected all", (int)w, p);
            for (int k = 0; k < NOTIFY_NKINDS && off > 0 && (size_t)off < errlen; k++)
                off += snprintf(err + off, errlen - (size_t)off, ", %s",
                                notify_kind_name((notify_kind)k));
            return ERR_INVAL;
        }
        p += w;
    }
    *mask = m;
    return 0;
}

/* ---- the gate: rate limit and dedup ------------------------------------------------------- */

void notify_gate_init(notify_gate *g)
{
    memset(g, 0, sizeof *g);
    g->last_sent = -1;
}

static int gate_holds(const notify_gate *g)
{
    for (int k = 0; k < NOTIFY_NKINDS; k++)
        if (g->held[k])
            return 1;
    return 0;
}

int notify_gate_offer(notify_gate *g, notify_kind k, const char *detail, double now,
                      double min_interval)
{
    if (!gate_holds(g) && (g->last_sent < 0 || now - g->last_sent >= min_interval))
        return 1;
    if (!gate_holds(g))
        g->first_held = now;
    if (g->held[k] < UINT_MAX)
        g->held[k]++;
    snprintf(g->last_detail[k], sizeof g->last_detail[k], "%s", detail ? detail : "");
    return 0;
}

int notify_gate_due(const notify_gate *g, double now, double min_interval)
{
    return gate_holds(g) && (g->last_sent < 0 || now - g->last_sent >= min_interval);
}

unsigned notify_gate_take(notify_gate *g, char *buf, size_t n)
{
    unsigned total = 0;
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (int k = 0; k < NOTIFY_NKINDS; k++) {
        if (!g->held[k])
            continue;
        total += g->held[k];
        if (used < n) {
            int w = snprintf(buf + used, n - used, "%s%s x%u, last: %s", used ? "; " : "",
                             notify_kind_name((notify_kind)k), g->held[k], g->last_detail[k]);
            used += w > 0 ? (size_t)w : 0;
        }
        g->held[k] = 0;
        g->last_detail[k][0] = '\0';
    }
    return total;
}

void notify_gate_sent(notify_gate *g, double now)
{
    g->last_sent = now;
}

/* ---- the notifier ------------------------------------------------------------------------- */

typedef struct message {
    notify_chan ch;
    char body[NOTIFY_BODY_MAX];
    size_t len;
} message;

typedef struct result {
    notify_chan ch;
    int ok;
    char why[128];
} result;

struct notifier {
    uv_loop_t *loop;
    const opts *o;
    const runstate *rs;
    char run_dir[1024];
    char host[256];
    unsigned kinds; /* mask of notify.events */
    int enabled[NOTIFY_NCHANS];
    char url[NOTIFY_NCHANS][NOTIFY_URL_MAX]; /* secrets: never printed */
    notify_gate gate[NOTIFY_NCHANS];
    double min_interval_s;
    unsigned timeout_ms, retries;
    notify_result_fn on_result;
    void *ud;
    uv_timer_t timer, soon;
    uv_async_t async;
    /* events to send at the next turn of the loop, when the counters include them */
    int soon_kind[NOTIFY_NCHANS]; /* -1: none */
    char soon_detail[NOTIFY_NCHANS][NOTIFY_DETAIL_MAX];
    int handles_open;
    /* shared with the sender, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* one queue and one sender thread a channel: a hung webhook never holds up Telegram */
    struct sender {
        notifier *n;
        notify_chan ch;
        message *q; /* ring of NOTIFY_QUEUE_MAX */
        size_t qhead, qlen;
        int busy; /* sending one */
        pthread_t thread;
        int started;
    } snd[NOTIFY_NCHANS];
    int finishing; /* no more retries: one try each */
    int stop;
    result res[NOTIFY_QUEUE_MAX]; /* results for the loop thread */
    size_t nres;
    atomic_uint sent, failed;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One try of one message; 0 when the receiver took it (2xx). */
static int send_once(notifier *n, const message *m, char *why, size_t whylen)
{
    sbuf resp;
    sbuf_init(&resp, 4096); /* the answer is not needed: a small cap */
    long status = 0;
    char err[512];
    int rc = httpget_post(n->url[m->ch], m->body, m->len, "application/json", n->timeout_ms, 4096,
                          &resp, &status, err, sizeof err);
    sbuf_free(&resp);
    /* err names the URL, which is the secret here: only the code and the status go out */
    if (rc && rc != ERR_FULL) {
        snprintf(why, whylen, "%s", errcode_str(rc));
        return rc;
    }
    if (status < 200 || status > 299) {
        snprintf(why, whylen, "HTTP %ld", status);
        return ERR_REFUSED;
    }
    return 0;
}

static void push_result(notifier *n, notify_chan ch, int ok, const char *why)
{
    if (ok)
        atomic_fetch_add(&n->sent, 1);
    else
        atomic_fetch_add(&n->failed, 1);
    pthread_mutex_lock(&n->mu);
    if (n->nres < NOTIFY_QUEUE_MAX) {
        result *r = &n->res[n->nres++];
        r->ch = ch;
        r->ok = ok;
        snprintf(r->why, sizeof r->why, "%s", why ? why : "");
    }
    int open = n->handles_open;
    pthread_mutex_unlock(&n->mu);
    if (open)
        uv_async_send(&n->async);
    else if (!ok)
        fprintf(stderr, "soak: notify: %s: message not delivered: %s\n", notify_chan_name(ch), why);
}

static void *sender_main(void *arg)
{
    struct sender *sd = arg;
    notifier *n = sd->n;
    message *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (!sd->qlen && !n->stop)
            pthread_cond_wait(&n->cv, &n->mu);
        if (!sd->qlen && n->stop)
            break;
        *m = sd->q[sd->qhead];
        sd->qhead = (sd->qhead + 1) % NOTIFY_QUEUE_MAX;
        sd->qlen--;
        sd->busy = 1;
        pthread_mutex_unlock(&n->mu);
        char why[128] = "";
        int ok = 0;
        for (unsigned attempt = 0;; attempt++) {
            if (send_once(n, m, why, sizeof why) == 0) {
                ok = 1;
                break;
            }
            pthread_mutex_lock(&n->mu);
            int last = attempt >= n->retries || n->finishing || n->stop;
            if (!last) { /* backoff 1, 2, 4 ... s; a finish cuts it short */
                double wait = (double)(1u << (attempt < 5 ? attempt : 5));
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += (time_t)wait;
                while (!n->finishing && !n->stop &&
                       pthread_cond_timedwait(&n->cv, &n->mu, &until) != ETIMEDOUT)
                    ;
            }
            pthread_mutex_unlock(&n->mu);
            if (last)
                break;
        }
        push_result(n, m->ch, ok, why);
        pthread_mutex_lock(&n->mu);
        sd->busy = 0;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    free(m);
    return NULL;
}

/* The message of text for channel ch, as that channel's API wants it. */
static int build(notifier *n, notify_chan ch, notify_kind k, unsigned count, const char *text,
                 message *m)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return ERR_NOMEM;
    switch (ch) {
    case NOTIFY_CH_TELEGRAM:
        cJSON_AddStringToObject(j, "chat_id", n->o->notify_telegram_chat_id);
        cJSON_AddStringToObject(j, "text", text);
        cJSON_AddBoolToObject(j, "disable_web_page_preview", 1);
        break;
    case NOTIFY_CH_SLACK:
        cJSON_AddStringToObject(j, "text", text);
        break;
    default: {
        cJSON_AddStringToObject(j, "source", "soak");
        cJSON_AddStringToObject(j, "event", notify_kind_name(k));
        cJSON_AddNumberToObject(j, "count", count);
        cJSON_AddStringToObject(j, "host", n->host);
        cJSON_AddStringToObject(j, "run", n->run_dir);
        char rep[1100];
        snprintf(rep, sizeof rep, "%s/report.html", n->run_dir);
        cJSON_AddStringToObject(j, "report", rep);
        cJSON *num = cJSON_AddObjectToObject(j, "numbers");
        cJSON_AddNumberToObject(num, "crashes", n->rs->crashes);
        cJSON_AddNumberToObject(num, "restarts", n->rs->restarts);
        cJSON_AddNumberToObject(num, "hangs", n->rs->hangs);
        cJSON_AddNumberToObject(num, "rss_bytes", (double)n->rs->rss_last);
        cJSON_AddStringToObject(j, "text", text);
        break;
    }
    }
    int rc = cJSON_PrintPreallocated(j, m->body, (int)sizeof m->body, 0) ? 0 : ERR_FULL;
    cJSON_Delete(j);
    m->len = rc ? 0 : strlen(m->body);
    m->ch = ch;
    return rc;
}

static void enqueue(notifier *n, notify_chan ch, notify_kind k, unsigned count, const char *text)
{
    struct sender *sd = &n->snd[ch];
    pthread_mutex_lock(&n->mu);
    int full = sd->qlen == NOTIFY_QUEUE_MAX;
    message *m = full ? NULL : &sd->q[(sd->qhead + sd->qlen) % NOTIFY_QUEUE_MAX];
    int rc = m ? build(n, ch, k, count, text, m) : ERR_FULL;
    if (rc == 0) {
        sd->qlen++;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    if (rc)
        push_result(n, ch, 0, full ? "queue full: message dropped" : "message too large");
}

static void fmt_duration(double s, char *buf, size_t n)
{
    unsigned long t = s > 0 ? (unsigned long)s : 0;
    if (t >= 3600)
        snprintf(buf, n, "%luh%02lum", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(buf, n, "%lus", t);
}

/* "soak: crash on HOST", what happened, the key numbers, where the report is. */
static void compose(notifier *n, const char *headline, const char *body, char *out, size_t len)
{
    char el[32];
    uint64_t end = n->rs->end_ms > n->rs->start_ms ? n->rs->end_ms : uv_now(n->loop);
    double elapsed = end > n->rs->start_ms ? (double)(end - n->rs->start_ms) / 1000.0 : 0;
    fmt_duration(elapsed, el, sizeof el);
    /* the service's name only: its arguments may hold what is not ours to send */
    char prog[128];
    size_t w = strcspn(n->rs->command, " ");
    snprintf(prog, sizeof prog, "%.*s", (int)w, n->rs->command);
    const char *base = strrchr(prog, '/');
    snprintf(out, len,
             "soak: %s on %s\n%s\nservice %s, run %s\nelapsed %s; crashes %u, hangs %u, restarts "
             "%u; RSS %.1f MB\nreport: %s/report.html",
             headline, n->host, body, base ? base + 1 : prog, n->run_dir, el, n->rs->crashes,
             n->rs->hangs, n->rs->restarts, (double)n->rs->rss_last / 1e6, n->run_dir);
}

static void on_async(uv_async_t *h)
{
    notifier *n = h->data;
    result res[NOTIFY_QUEUE_MAX];
    pthread_mutex_lock(&n->mu);
    size_t nres = n->nres;
    memcpy(res, n->res, nres * sizeof res[0]);
    n->nres = 0;
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < nres; i++)
        if (n->on_result)
            n->on_result(n->ud, res[i].ch, res[i].ok, res[i].why);
}

static void flush_due(notifier *n, double now)
{
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        if (!n->enabled[c] || !notify_gate_due(&n->gate[c], now, n->min_interval_s))
            continue;
        char held[1500], text[NOTIFY_TEXT_MAX];
        unsigned count = notify_gate_take(&n->gate[c], held, sizeof held);
        compose(n, "events held back by the rate limit", held, text, sizeof text);
        enqueue(n, (notify_chan)c, NOTIFY_CRASH, count, text);
        notify_gate_sent(&n->gate[c], now);
    }
}

static void on_timer(uv_timer_t *t)
{
    notifier *n = t->data;
    flush_due(n, mono_s());
}

static void on_soon(uv_timer_t *t)
{
    notifier *n = t->data;
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        if (n->soon_kind[c] < 0)
            continue;
        char text[NOTIFY_TEXT_MAX];
        compose(n, notify_kind_name((notify_kind)n->soon_kind[c]), n->soon_detail[c], text,
                sizeof text);
        enqueue(n, (notify_chan)c, (notify_kind)n->soon_kind[c], 1, text);
        n->soon_kind[c] = -1;
    }
}

void notifier_event(notifier *n, store_evkind kind, int failure, const char *detail)
{
    if (!n)
        return;
    int k = notify_kind_of_event(kind, failure);
    if (k < 0 || !(n->kinds & (1u << k)))
        return;
    double t = mono_s();
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        if (!n->enabled[c] ||
            !notify_gate_offer(&n->gate[c], (notify_kind)k, detail, t, n->min_interval_s))
            continue;
        /* composed at the next turn: the supervisor counts this crash right after */
        n->soon_kind[c] = k;
        snprintf(n->soon_detail[c], sizeof n->soon_detail[c], "%s", detail ? detail : "");
        notify_gate_sent(&n->gate[c], t);
        if (n->handles_open)
            uv_timer_start(&n->soon, on_soon, 0, 0);
    }
}

static int check_url(const char *key, const char *url, char *err, size_t errlen)
{
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        snprintf(err, errlen, "%s: not an http:// or https:// URL", key); /* never the URL */
        return ERR_CONFIG;
    }
    if (strlen(url) >= NOTIFY_URL_MAX) {
        snprintf(err, errlen, "%s: URL longer than %d bytes", key, NOTIFY_URL_MAX - 1);
        return ERR_CONFIG;
    }
    return 0;
}

/* Stops the senders, waits for them (a try in flight ends by its own timeout) and frees n. */
static void join_all(notifier *n, unsigned *sent, unsigned *failed)
{
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        if (n->snd[c].started)
            pthread_join(n->snd[c].thread, NULL);
        free(n->snd[c].q);
    }
    if (sent)
        *sent = atomic_load(&n->sent);
    if (failed)
        *failed = atomic_load(&n->failed);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    memset(n->url, 0, sizeof n->url);
    free(n);
}

int notifier_new(uv_loop_t *loop, const opts *o, const runstate *rs, const char *run_dir,
                 notify_result_fn on_result, void *ud, notifier **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *token = getenv("TELEGRAM_BOT_TOKEN");
    const char *hook =
        o->notify_webhook_url[0] ? o->notify_webhook_url : getenv("SOAK_WEBHOOK_URL");
    const char *slack =
        o->notify_slack_url[0] ? o->notify_slack_url : getenv("SOAK_SLACK_WEBHOOK_URL");
    int tg = o->notify_telegram_chat_id[0] != '\0';
    if (!tg && !(hook && *hook) && !(slack && *slack))
        return 0;
    if (tg && !(token && *token)) {
        snprintf(err, errlen,
                 "notify.telegram.chat_id is set but TELEGRAM_BOT_TOKEN is not in "
                 "the environment");
        return ERR_CONFIG;
    }
    unsigned kinds;
    int rc = notify_parse_kinds(o->notify_events, &kinds, err, errlen);
    if (rc)
        return ERR_CONFIG;
    notifier *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    n->loop = loop;
    n->o = o;
    n->rs = rs;
    n->kinds = kinds;
    n->on_result = on_result;
    n->ud = ud;
    n->min_interval_s = (double)o->notify_min_interval_ms / 1000.0;
    n->timeout_ms = (unsigned)(o->notify_timeout_ms > UINT_MAX ? UINT_MAX : o->notify_timeout_ms);
    n->retries = o->notify_retries;
    char *abs = realpath(run_dir, NULL);
    snprintf(n->run_dir, sizeof n->run_dir, "%s", abs ? abs : run_dir);
    free(abs);
    if (gethostname(n->host, sizeof n->host - 1))
        snprintf(n->host, sizeof n->host, "unknown host");
    if (tg) {
        if (check_url("notify.telegram.base_url", o->notify_telegram_base_url, err, errlen))
            goto bad;
        int w = snprintf(n->url[NOTIFY_CH_TELEGRAM], NOTIFY_URL_MAX, "%s/bot%s/sendMessage",
                         o->notify_telegram_base_url, token);
        if (w < 0 || w >= NOTIFY_URL_MAX) {
            snprintf(err, errlen, "notify.telegram.base_url: too long with the token");
            goto bad;
        }
        n->enabled[NOTIFY_CH_TELEGRAM] = 1;
    }
    if (hook && *hook) {
        if (check_url("notify.webhook.url", hook, err, errlen))
            goto bad;
        snprintf(n->url[NOTIFY_CH_WEBHOOK], NOTIFY_URL_MAX, "%s", hook);
        n->enabled[NOTIFY_CH_WEBHOOK] = 1;
    }
    if (slack && *slack) {
        if (check_url("notify.slack.url", slack, err, errlen))
            goto bad;
        snprintf(n->url[NOTIFY_CH_SLACK], NOTIFY_URL_MAX, "%s", slack);
        n->enabled[NOTIFY_CH_SLACK] = 1;
    }
    for (int c = 0; c < NOTIFY_NCHANS; c++)
        notify_gate_init(&n->gate[c]);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        struct sender *sd = &n->snd[c];
        sd->n = n;
        sd->ch = (notify_chan)c;
        if (!n->enabled[c])
            continue;
        sd->q = calloc(NOTIFY_QUEUE_MAX, sizeof *sd->q);
        if (!sd->q || pthread_create(&sd->thread, NULL, sender_main, sd)) {
            snprintf(err, errlen, sd->q ? "cannot start a notification thread" : "out of memory");
            int rc2 = sd->q ? ERR_SYS : ERR_NOMEM;
            join_all(n, NULL, NULL);
            return rc2;
        }
        sd->started = 1;
    }
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_timer_start(&n->timer, on_timer, 1000, 1000);
    uv_unref((uv_handle_t *)&n->timer);
    uv_timer_init(loop, &n->soon);
    n->soon.data = n;
    for (int c = 0; c < NOTIFY_NCHANS; c++)
        n->soon_kind[c] = -1;
    uv_async_init(loop, &n->async, on_async);
    n->async.data = n;
    uv_unref((uv_handle_t *)&n->async);
    n->handles_open = 1;
    *out = n;
    return 0;
bad:
    memset(n->url, 0, sizeof n->url);
    free(n);
    return ERR_CONFIG;
}

void notifier_close_handles(notifier *n)
{
    if (!n || !n->handles_open)
        return;
    pthread_mutex_lock(&n->mu);
    n->handles_open = 0;
    pthread_mutex_unlock(&n->mu);
    on_async(&n->async); /* results that came in before */
    on_soon(&n->soon);   /* events of the last turn */
    uv_close((uv_handle_t *)&n->timer, NULL);
    uv_close((uv_handle_t *)&n->soon, NULL);
    uv_close((uv_handle_t *)&n->async, NULL);
}

void notifier_finish(notifier *n, const char *verdict_text, unsigned *sent, unsigned *failed)
{
    if (!n)
        return;
    if (n->kinds & (1u << NOTIFY_END))
        for (int c = 0; c < NOTIFY_NCHANS; c++) {
            if (!n->enabled[c])
                continue;
            char held[1500], body[2400], text[NOTIFY_TEXT_MAX];
            unsigned count = notify_gate_take(&n->gate[c], held, sizeof held);
            snprintf(body, sizeof body, "%s%s%s", verdict_text ? verdict_text : "",
                     count ? "\nalso, held back by the rate limit: " : "", count ? held : "");
            compose(n, "the run ended", body, text, sizeof text);
            enqueue(n, (notify_chan)c, NOTIFY_END, count + 1, text);
        }
    /* one try each from now on; the senders work in parallel, so two timeouts (the try in
     * flight, then the end message) bound the wait whatever is queued */
    pthread_mutex_lock(&n->mu);
    n->finishing = 1;
    pthread_cond_broadcast(&n->cv);
    double deadline = mono_s() + 2.0 * (double)n->timeout_ms / 1000.0 + 0.5;
    for (;;) {
        int pending = 0;
        for (int c = 0; c < NOTIFY_NCHANS; c++)
            pending |= n->snd[c].qlen || n->snd[c].busy;
        if (!pending || mono_s() >= deadline)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&n->cv, &n->mu, &until);
    }
    unsigned dropped = 0;
    for (int c = 0; c < NOTIFY_NCHANS; c++) {
        dropped += (unsigned)n->snd[c].qlen;
        n->snd[c].qlen = 0; /* past the deadline: what is left is not sent */
    }
    pthread_mutex_unlock(&n->mu);
    if (dropped) {
        atomic_fetch_add(&n->failed, dropped);
        fprintf(stderr, "soak: notify: %u message%s not sent: the receivers were too slow\n",
                dropped, dropped == 1 ? "" : "s");
    }
    join_all(n, sent, failed); /* a try still in flight counts itself before its thread ends */
}

void notify_verdict_text(const char *run_dir, int exit_code, char *buf, size_t n)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/verdict.json", run_dir);
    snprintf(buf, n, "verdict: %s (exit code %d; no verdict.json)", exit_code ? "FAIL" : "PASS",
             exit_code);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cJSON *v = cJSON_Parse(text);
    const cJSON *gates = cJSON_GetObjectItemCaseSensitive(v, "gates");
    if (!cJSON_IsArray(gates)) {
        cJSON_Delete(v);
        return;
    }
    int pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "pass"));
    size_t used = (size_t)snprintf(buf, n, "verdict: %s", pass ? "PASS" : "FAIL");
    int ngates = 0, nfailed = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, gates)
    {
        ngates++;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "status");
        const cJSON *opt = cJSON_GetObjectItemCaseSensitive(g, "optional");
        int failed_gate =
            cJSON_IsString(st) && (strcmp(st->valuestring, "fail") == 0 ||
                                   (strcmp(st->valuestring, "no-data") == 0 && !cJSON_IsTrue(opt)));
        if (!failed_gate || used >= n)
            continue;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *expr = cJSON_GetObjectItemCaseSensitive(g, "expression");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(g, "value");
        char value[48] = "no data";
        if (cJSON_IsNumber(val))
            snprintf(value, sizeof value, "%.6g", val->valuedouble);
        int w = snprintf(buf + used, n - used, "%s %s = %s (want %s)", nfailed ? ";" : ":",
                         cJSON_IsString(name) ? name->valuestring : "?", value,
                         cJSON_IsString(expr) ? expr->valuestring : "?");
        used += w > 0 ? (size_t)w : 0;
        nfailed++;
    }
    if (!nfailed && used < n)
        snprintf(buf + used, n - used, " (%d gates)", ngates);
    cJSON_Delete(v);
}
