/*
 * simopts: every setting of bybit-sim, with its default, its YAML key, its flag and --set.
 *
 * One table (simopts.c, read by lib/settings) lists each key once with its type, range and
 * help, so the YAML file, `--set key=value`, the flags, --help, --help-keys, --print-config and
 * `examples/bybit-sim.yaml` cannot drift apart. The market's defaults are exch_opts_default's.
 * Keys under "faults." are handed to faults_set_key.
 * Precedence: defaults < configuration file < --listen, --seed, --account and --set, in
 * command-line order. A key given twice in a file is an error naming both lines.
 *
 * Account secrets never appear in an error message or in --print-config: an error about an
 * account names its key, --print-config gives their number. Functions return 0 or a negative
 * ERR_* code (lib/errcode.h). Nothing here prints (but simopts_print_*) or exits.
 */
#ifndef SIMOPTS_H
#define SIMOPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "exchange.h"
#include "faults.h"
#include "settings.h"

#define SIMOPTS_DEFAULT_USDT 100000.0

typedef struct simopts_account {
    char key[65], secret[65];
    double usdt;
} simopts_account;

typedef struct simopts {
    char listen[64]; /* "127.0.0.1:0" default: HOST:PORT, port 0 picks a free one */
    uint64_t seed;   /* 1; also market.seed, and faults_reseed when a faults set is given */
    simopts_account accounts[EXCH_MAX_ACCOUNTS];
    size_t naccounts;
    exch_opts market;           /* filled with exch_opts_default, then keys market.* below */
    unsigned order_limit_per_s; /* 10: per account, per endpoint (create, amend, cancel,
                                 * cancel-all, create-batch), rolling 1 s; 0 = no limit */
    unsigned ip_limit_per_5s;  /* 0 = off; else over it: HTTP 403 "access too frequent" and a ban */
    uint64_t ip_ban_ms;        /* 600000 */
    uint64_t ws_idle_ms;       /* 600000: public idle disconnect (private: ?max_active_time) */
    unsigned ws_max_conns;     /* 2000 */
    unsigned ws_max_topics;    /* per connection, 100 */
    size_t ws_max_queue;       /* bytes queued for one slow WS client before it is closed, 8 MiB */
    size_t max_body;           /* REST body cap, 64 KiB */
    uint64_t http_head_ms;     /* a request must arrive whole within this, 10 s */
    unsigned http_max_conns;   /* HTTP connections at most (the oldest idle one goes), 1024 */
    uint64_t book_interval_ms; /* 20 */
} simopts;

/* Fills o with the defaults (no account). */
void simopts_default(simopts *o);

/* Loads a YAML file over o; keys under "faults." go to faults_set_key(f, ..., now_ms) (f may
 * be NULL: then such keys are errors). 0, or an ERR_* code with "file:line: key 'k': reason" in
 * err. On error the keys before the failing one are applied. */
int simopts_load(simopts *o, faults *f, const char *path, int64_t now_ms, char *err, size_t errlen);
/* "--set key=value" (same keys as the file; "accounts=KEY:SECRET[:USDT]" adds one account).
 * 0, or an ERR_* code with "--set: key 'k': reason" in err. */
int simopts_set(simopts *o, faults *f, const char *kv, int64_t now_ms, char *err, size_t errlen);
/* The command line (settings_args): -c files first, then flags and --set in order. */
int simopts_args(simopts *o, faults *f, int argc, char **argv, int64_t now_ms, settings_cli *cli,
                 char *err, size_t errlen);
/* "--account KEY:SECRET[:USDT_BALANCE]" and YAML list items accounts[] in the same form; the
 * default balance is 100000 USDT. Key and secret: 1..64 printable characters without spaces or
 * ':'. Errors: ERR_PARSE (bad form), ERR_RANGE (balance), ERR_DUP (same key twice), ERR_FULL
 * (more than EXCH_MAX_ACCOUNTS); o unchanged then. */
int simopts_add_account(simopts *o, const char *spec, char *err, size_t errlen);
/* Usage text of every key with its default and meaning (for --help and the example check):
 * one line per key, "  KEY  DEFAULT  HELP", the key starting at the third column; fault keys
 * as "  faults.KIND.KEY ...". */
void simopts_print_keys(FILE *out);
/* The flags part of --help, with o's values as defaults. */
void simopts_print_flags(const simopts *o, FILE *out);
/* --print-config: every key with o's value as YAML that loads back (accounts: their number only;
 * faults are not kept in o and not printed). */
void simopts_print_config(const simopts *o, FILE *out);

#endif
