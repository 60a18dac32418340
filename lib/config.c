/* config: YAML to flat keys with line numbers, on libyaml's event parser. See config.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "errcode.h"

#define CONFIG_MAX_DEPTH 16
#define CONFIG_MAX_KEY   256
#define CONFIG_MAX_FILE  (1u << 20)
#define CONFIG_MAX_KEYS  4096

/* One mapping key seen in the document, for the duplicate check. */
typedef struct config_seen {
    uint32_t hash;
    int line;
    char *key; /* owned */
} config_seen;

/* One open collection: a mapping (expecting a key or a value) or a sequence. */
typedef struct config_level {
    int is_seq;
    int want_value; /* mapping: the next scalar is a value */
    size_t key_len; /* length of the dotted key prefix at this level */
} config_level;

typedef struct config_state {
    char key[CONFIG_MAX_KEY];
    size_t key_len;
    config_level lv[CONFIG_MAX_DEPTH];
    int depth;
    int key_line;      /* where the key being read was written */
    config_seen *seen; /* every dotted key of the document so far, at most CONFIG_MAX_KEYS */
    size_t nseen, capseen;
} config_state;

static uint32_t config_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Records st->key as given on line; returns 0, the line of its first mention (a duplicate),
 * or a negative ERR_* code (cap, memory). */
static int config_note_key(config_state *st, int line)
{
    uint32_t h = config_hash(st->key);
    for (size_t i = 0; i < st->nseen; i++)
        if (st->seen[i].hash == h && strcmp(st->seen[i].key, st->key) == 0)
            return st->seen[i].line;
    if (st->nseen == CONFIG_MAX_KEYS)
        return ERR_FULL;
    if (st->nseen == st->capseen) {
        size_t cap = st->capseen ? st->capseen * 2 : 32;
        config_seen *n = realloc(st->seen, cap * sizeof *n);
        if (!n)
            return ERR_NOMEM;
        st->seen = n;
        st->capseen = cap;
    }
    char *k = strdup(st->key);
    if (!k)
        return ERR_NOMEM;
    st->seen[st->nseen++] = (config_seen){h, line, k};
    return 0;
}

/* The duplicate check of the key now complete (its value is a scalar that was accepted, or a
 * collection that starts): 0, or a negative code with the message in err. */
static int config_check_dup(config_state *st, const char *name, char *err, size_t errlen)
{
    int first = config_note_key(st, st->key_line);
    if (first > 0) {
        snprintf(err, errlen, "%s:%d: key '%s': given twice (first on line %d)", name, st->key_line,
                 st->key, first);
        return ERR_DUP;
    }
    if (first < 0)
        snprintf(err, errlen, "%s:%d: key '%s': %s", name, st->key_line, st->key,
                 first == ERR_FULL ? "more than 4096 keys in one file" : errcode_str(first));
    return first;
}

static void config_state_free(config_state *st)
{
    for (size_t i = 0; i < st->nseen; i++)
        free(st->seen[i].key);
    free(st->seen);
}

static int config_push_key(config_state *st, const char *k, size_t klen)
{
    size_t base = st->lv[st->depth - 1].key_len;
    size_t need = base + (base ? 1 : 0) + klen;
    if (need >= CONFIG_MAX_KEY)
        return ERR_RANGE; /* too long a key */
    if (base)
        st->key[base++] = '.';
    memcpy(st->key + base, k, klen);
    st->key_len = need;
    st->key[need] = '\0';
    return 0;
}

int config_parse_yaml(const char *text, size_t len, const char *name, config_fn fn, void *ud,
                      char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    config_state st;
    int rc = ERR_PARSE, done = 0;
    char why[256];

    memset(&st, 0, sizeof st);
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int docs = 0;
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "%s:%zu: %s", name, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
            goto out;
        }
        int line = (int)ev.start_mark.line + 1;
        config_level *top = st.depth ? &st.lv[st.depth - 1] : NULL;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        if (ev.type == YAML_SCALAR_EVENT) {
            anchor = ev.data.scalar.anchor;
            tag = ev.data.scalar.tag;
        } else if (ev.type == YAML_MAPPING_START_EVENT) {
            anchor = ev.data.mapping_start.anchor;
            tag = ev.data.mapping_start.tag;
        } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
            anchor = ev.data.sequence_start.anchor;
            tag = ev.data.sequence_start.tag;
        }
        if (anchor || tag) {
            snprintf(err, errlen, "%s:%d: %s are not allowed", name, line,
                     anchor ? "anchors" : "tags");
            goto fail_ev;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                snprintf(err, errlen, "%s:%d: only one YAML document is allowed", name, line);
                goto fail_ev;
            }
            break;
        case YAML_ALIAS_EVENT:
            snprintf(err, errlen, "%s:%d: aliases are not allowed", name, line);
            goto fail_ev;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            int is_seq = ev.type == YAML_SEQUENCE_START_EVENT;
            if (st.depth == 0 && is_seq) {
                snprintf(err, errlen, "%s:%d: the top level must be a mapping of keys", name, line);
                goto fail_ev;
            }
            if (top && !top->is_seq && !top->want_value) {
                snprintf(err, errlen, "%s:%d: a key must be a plain scalar", name, line);
                goto fail_ev;
            }
            if (top && top->is_seq) {
                snprintf(err, errlen, "%s:%d: key '%s': nested lists are not supported", name, line,
                         st.key);
                goto fail_ev;
            }
            if (st.depth == CONFIG_MAX_DEPTH) {
                snprintf(err, errlen, "%s:%d: nested too deep", name, line);
                goto fail_ev;
            }
            /* a bad value is reported as such; a key given twice, once its value is read */
            int drc = top ? config_check_dup(&st, name, err, errlen) : 0;
            if (drc) {
                rc = drc;
                goto fail_ev;
            }
            if (top)
                top->want_value = 0;
            st.lv[st.depth].is_seq = is_seq;
            st.lv[st.depth].want_value = 0;
            st.lv[st.depth].key_len = st.depth ? st.key_len : 0;
            st.depth++;
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            st.depth--;
            st.key_len = st.depth ? st.lv[st.depth - 1].key_len : 0;
            st.key[st.key_len] = '\0';
            break;
        case YAML_SCALAR_EVENT: {
            const char *val = (const char *)ev.data.scalar.value;
            size_t vlen = ev.data.scalar.length;
            if (!top) { /* a document that is a bare scalar */
                if (vlen == 0)
                    break; /* empty file */
                snprintf(err, errlen, "%s:%d: the top level must be a mapping of keys", name, line);
                goto fail_ev;
            }
            if (memchr(val, '\0', vlen)) {
                snprintf(err, errlen, "%s:%d: NUL byte in a value", name, line);
                goto fail_ev;
            }
            if (top->is_seq) {
                char k[CONFIG_MAX_KEY];
                if (st.key_len + 2 >= sizeof k) {
                    snprintf(err, errlen, "%s:%d: key '%.64s...': too long", name, line, st.key);
                    goto fail_ev;
                }
                snprintf(k, sizeof k, "%s[]", st.key);
                why[0] = '\0';
                int frc = fn(ud, k, val, line, why, sizeof why);
                if (frc) {
                    snprintf(err, errlen, "%s:%d: key '%s': %s", name, line, st.key, why);
                    rc = frc < 0 ? frc : ERR_CONFIG;
                    goto fail_ev;
                }
            } else if (!top->want_value) {
                if (vlen == 0 || config_push_key(&st, val, vlen)) {
                    snprintf(err, errlen, "%s:%d: key '%.64s': empty or too long", name, line, val);
                    goto fail_ev;
                }
                st.key_line = line;
                top->want_value = 1;
            } else {
                top->want_value = 0;
                why[0] = '\0';
                int frc = fn(ud, st.key, val, line, why, sizeof why);
                if (frc) {
                    snprintf(err, errlen, "%s:%d: key '%s': %s", name, line, st.key, why);
                    rc = frc < 0 ? frc : ERR_CONFIG;
                    goto fail_ev;
                }
                int drc = config_check_dup(&st, name, err, errlen);
                if (drc) {
                    rc = drc;
                    goto fail_ev;
                }
                st.key_len = top->key_len;
                st.key[st.key_len] = '\0';
            }
            break;
        }
        default:
            break;
        }
        /* after a nested collection closes, the parent mapping expects a key again */
        if ((ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) && st.depth) {
            st.lv[st.depth - 1].want_value = 0;
        }
        yaml_event_delete(&ev);
    }
    rc = 0;
    goto out;
fail_ev:
    yaml_event_delete(&ev);
out:
    yaml_parser_delete(&parser);
    config_state_free(&st);
    return rc;
}

int config_load_yaml(const char *path, config_fn fn, void *ud, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
        return e == ENOENT ? ERR_NOENT : ERR_IO;
    }
    char *buf = malloc(CONFIG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "cannot read '%s': out of memory", path);
        return ERR_NOMEM;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr) {
        snprintf(err, errlen, "cannot read '%s': read error", path);
        rc = ERR_IO;
    } else if (n > CONFIG_MAX_FILE) {
        snprintf(err, errlen, "cannot read '%s': larger than 1 MiB", path);
        rc = ERR_FULL;
    } else {
        rc = config_parse_yaml(buf, n, path, fn, ud, err, errlen);
    }
    free(buf);
    return rc;
}
