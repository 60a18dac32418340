/*
 * notify: the runbook's escalation level 2 ("Telegram alert sent"): a message to a person when
 * the service crashes, hangs or is OOM-killed, when soak gives up at the start limit, when the
 * disk runs low, when fail-fast stops a run, and at the end of the run with its verdict.
 *
 * Channels: Telegram's Bot API (sendMessage: POST {base_url}/bot{TOKEN}/sendMessage with a
 * JSON body; the token from TELEGRAM_BOT_TOKEN, never from a file or argv), a generic JSON
 * webhook, and a Slack-compatible {"text": ...} webhook. The webhook URLs may come from the
 * environment (SOAK_WEBHOOK_URL, SOAK_SLACK_WEBHOOK_URL), since they carry a secret.
 *
 * Limits, per channel: at most one message per `notify.min_interval`. An event that comes
 * sooner is held and counted, and the held events go out together as one summary when the
 * interval has passed ("crash x9 since 12:01:07, last: exit 1"), so a crash loop of any length
 * gives a bounded number of messages. At most NOTIFY_QUEUE_MAX messages wait to be sent; past
 * that a message is dropped and counted as failed. Each message is tried 1 + notify.retries
 * times with a backoff of 1, 2, 4 ... s, each try bounded by notify.timeout.
 *
 * Never in the way: messages are sent by a thread of their own (not the libuv pool, where a
 * hung webhook would hold a thread the sampler needs), so a slow or failing receiver never
 * delays sampling or the run; failures are counted (soak_notifications_failed_total) and
 * logged with the channel's name and the reason's code only: tokens and webhook URLs never
 * appear in a log, an event, a report or an error message.
 *
 * Threading: notifier_* calls come from the loop thread; the sender thread only sends.
 */
#ifndef SOAK_NOTIFY_H
#define SOAK_NOTIFY_H

#include <stddef.h>
#include <uv.h>

#include "opts.h"
#include "runstate.h"
#include "store.h"

/* What a message is about, defined once: X(NAME, "name in notify.events and the webhook"). */
#define NOTIFY_KINDS(X)                                                                            \
    X(CRASH, "crash")                                                                              \
    X(HANG, "hang")                                                                                \
    X(OOM_KILL, "oom_kill")                                                                        \
    X(START_LIMIT, "start_limit")                                                                  \
    X(DISK_LOW, "disk_low")                                                                        \
    X(FAIL_FAST, "fail_fast")                                                                      \
    X(END, "end")

typedef enum notify_kind {
#define NOTIFY_KIND_ENUM(name, str) NOTIFY_##name,
    NOTIFY_KINDS(NOTIFY_KIND_ENUM)
#undef NOTIFY_KIND_ENUM
        NOTIFY_NKINDS
} notify_kind;

#define NOTIFY_CHANNELS(X)                                                                         \
    X(TELEGRAM, "telegram")                                                                        \
    X(WEBHOOK, "webhook")                                                                          \
    X(SLACK, "slack")

typedef enum notify_chan {
#define NOTIFY_CHAN_ENUM(name, str) NOTIFY_CH_##name,
    NOTIFY_CHANNELS(NOTIFY_CHAN_ENUM)
#undef NOTIFY_CHAN_ENUM
        NOTIFY_NCHANS
} notify_chan;

#define NOTIFY_QUEUE_MAX  32
#define NOTIFY_DETAIL_MAX 240

const char *notify_kind_name(notify_kind k);
const char *notify_chan_name(notify_chan c);
/* The kind a stored event is about, or -1 when it is not one to tell anyone of (failure: the
 * event's failure flag; an exit is a crash only when the supervisor judged it one). */
int notify_kind_of_event(store_evkind kind, int failure);
/* Parses a comma-separated list of kind names into a mask (bit = 1u << kind); "all" is every
 * kind. Returns 0 or ERR_INVAL naming the unknown name in err. */
int notify_parse_kinds(const char *text, unsigned *mask, char *err, size_t errlen);

/* ---- the rate limit and the dedup of one channel: pure, time as an argument ------------- */
typedef struct notify_gate {
    double last_sent; /* < 0: never */
    unsigned held[NOTIFY_NKINDS];
    double first_held; /* time of the oldest held event */
    char last_detail[NOTIFY_NKINDS][NOTIFY_DETAIL_MAX];
} notify_gate;

void notify_gate_init(notify_gate *g);
/* An event at now: 1 when it is to be sent now (the channel was quiet for min_interval; the
 * caller sends and calls notify_gate_sent), 0 when it is held for the next summary. */
int notify_gate_offer(notify_gate *g, notify_kind k, const char *detail, double now,
                      double min_interval);
/* Events are held and min_interval has passed since the last message: a summary is due. */
int notify_gate_due(const notify_gate *g, double now, double min_interval);
/* The held events as text ("crash x9, last: ...; hang x1, last: ..."), and forgets them.
 * Returns the number of events it summed up (0: nothing held, buf ""). */
unsigned notify_gate_take(notify_gate *g, char *buf, size_t n);
void notify_gate_sent(notify_gate *g, double now);

/* ---- the notifier of a run ------------------------------------------------------------- */
typedef struct notifier notifier;

/* Result of one message, for the loop thread: sent, or failed (after every try). */
typedef void (*notify_result_fn)(void *ud, notify_chan ch, int ok, const char *why);

/* A notifier for the channels o configures (none configured: *out is NULL and 0 is returned).
 * rs (read on the loop thread for the key numbers) and run_dir must outlive it. Returns 0 or
 * ERR_CONFIG (a channel half configured: a chat_id without TELEGRAM_BOT_TOKEN; a URL that is
 * not http(s)), ERR_NOMEM, ERR_SYS (no thread), with the reason in err. */
int notifier_new(uv_loop_t *loop, const opts *o, const runstate *rs, const char *run_dir,
                 notify_result_fn on_result, void *ud, notifier **out, char *err, size_t errlen);
/* A stored event; tells the channels if it is a kind of notify.events. Loop thread. */
void notifier_event(notifier *n, store_evkind kind, int failure, const char *detail);
/* Closes the loop handles (call before the loop's last run); the sender keeps going. */
void notifier_close_handles(notifier *n);
/* The end of the run, after the loop has ended: what is held, plus text (the verdict), to
 * every channel; then waits for the sender to finish, at most one notify.timeout per message
 * still queued (a hung receiver cannot hold soak's exit longer). Then frees n. NULL is fine. */
void notifier_finish(notifier *n, const char *verdict_text, unsigned *sent, unsigned *failed);

/* The verdict of the run in run_dir for the end message, from its verdict.json: "verdict:
 * PASS (9 gates)" or "verdict: FAIL: crashes = 3 (want last(crashes) == 0); ...". Without a
 * verdict.json: the exit code. Writes at most n bytes. */
void notify_verdict_text(const char *run_dir, int exit_code, char *buf, size_t n);

#endif
