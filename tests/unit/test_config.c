/* Tests of config: YAML to flat keys with lines, and the messages that name file, line, key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "errcode.h"

#define MAX_KV 32

typedef struct kv {
    int n;
    char key[MAX_KV][300];
    char value[MAX_KV][128];
    int line[MAX_KV];
    const char *refuse_key; /* refuse this key with "bad value" */
} kv;

static int collect(void *ud, const char *key, const char *value, int line, char *err, size_t errlen)
{
    kv *c = ud;
    if (c->refuse_key && strcmp(key, c->refuse_key) == 0) {
        snprintf(err, errlen, "bad value '%s'", value);
        return 1;
    }
    if (c->n < MAX_KV) {
        snprintf(c->key[c->n], sizeof c->key[0], "%s", key);
        snprintf(c->value[c->n], sizeof c->value[0], "%s", value);
        c->line[c->n] = line;
    }
    c->n++;
    return 0;
}

/* Parses a copy in an exactly sized heap buffer (no NUL), so ASan sees any read past len. */
static int parse(const char *text, kv *c, char *err, size_t errlen)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    err[0] = '\0';
    int rc = config_parse_yaml(copy, len, "t.yaml", collect, c, err, errlen);
    free(copy);
    return rc;
}

static void parse_ok(const char *text, kv *c)
{
    char err[512];
    int rc = parse(text, c, err, sizeof err);
    if (rc != 0)
        fail_msg("refused: %s", err);
}

static void parse_fails(const char *text, const char *want_err)
{
    kv c = {0};
    char err[512];
    assert_int_equal(parse(text, &c, err, sizeof err), ERR_PARSE);
    if (!strstr(err, want_err))
        fail_msg("message '%s' does not contain '%s'", err, want_err);
}

static void expect(const kv *c, int i, const char *key, const char *value, int line)
{
    assert_true(i < c->n);
    assert_string_equal(c->key[i], key);
    assert_string_equal(c->value[i], value);
    assert_int_equal(c->line[i], line);
}

static void test_flat_keys_and_lines(void **state)
{
    (void)state;
    kv c = {0};
    parse_ok("# comment\n"
             "duration: 24h\n"
             "\n"
             "heartbeat: '\\[HB\\] alive'  # trailing comment\n"
             "empty: ''\n",
             &c);
    assert_int_equal(c.n, 3);
    expect(&c, 0, "duration", "24h", 2);
    expect(&c, 1, "heartbeat", "\\[HB\\] alive", 4);
    expect(&c, 2, "empty", "", 5);
}

static void test_nested_mappings(void **state)
{
    (void)state;
    kv c = {0};
    parse_ok("patterns:\n"
             "  error: 'ERROR'\n"
             "  deep:\n"
             "    x: 1\n"
             "    y: 2\n"
             "  after: 3\n"
             "top: 4\n",
             &c);
    assert_int_equal(c.n, 5);
    expect(&c, 0, "patterns.error", "ERROR", 2);
    expect(&c, 1, "patterns.deep.x", "1", 4);
    expect(&c, 2, "patterns.deep.y", "2", 5);
    expect(&c, 3, "patterns.after", "3", 6);
    expect(&c, 4, "top", "4", 7);
}

static void test_sequences(void **state)
{
    (void)state;
    kv c = {0};
    parse_ok("command: [python3, 'cli/run bot.py']\n"
             "more:\n"
             "  - a\n"
             "  - b\n"
             "nested:\n"
             "  list: [z]\n"
             "last: 1\n",
             &c);
    assert_int_equal(c.n, 6);
    expect(&c, 0, "command[]", "python3", 1);
    expect(&c, 1, "command[]", "cli/run bot.py", 1);
    expect(&c, 2, "more[]", "a", 3);
    expect(&c, 3, "more[]", "b", 4);
    expect(&c, 4, "nested.list[]", "z", 6);
    expect(&c, 5, "last", "1", 7);
}

static void test_flow_mapping(void **state)
{
    (void)state;
    kv c = {0};
    parse_ok("a: {b: 1, c: 2}\nd: 3\n", &c);
    assert_int_equal(c.n, 3);
    expect(&c, 0, "a.b", "1", 1);
    expect(&c, 1, "a.c", "2", 1);
    expect(&c, 2, "d", "3", 2);
}

static void test_callback_refusal_message(void **state)
{
    (void)state;
    kv c = {.refuse_key = "restart"};
    char err[512];
    assert_int_equal(parse("duration: 1h\n\nrestart: sometimes\n", &c, err, sizeof err),
                     ERR_CONFIG);
    assert_string_equal(err, "t.yaml:3: key 'restart': bad value 'sometimes'");
    /* nested key, and a sequence item (named without the []) */
    kv c2 = {.refuse_key = "a.b"};
    assert_int_equal(parse("a:\n  b: x\n", &c2, err, sizeof err), ERR_CONFIG);
    assert_string_equal(err, "t.yaml:2: key 'a.b': bad value 'x'");
    kv c3 = {.refuse_key = "command[]"};
    assert_int_equal(parse("x: 1\ncommand:\n  - ok\n", &c3, err, sizeof err), ERR_CONFIG);
    assert_string_equal(err, "t.yaml:3: key 'command': bad value 'ok'");
}

static void test_syntax_error_names_line(void **state)
{
    (void)state;
    kv c = {0};
    char err[512];
    assert_int_equal(parse("a: 1\nb: c: d\n", &c, err, sizeof err), ERR_PARSE);
    assert_true(strncmp(err, "t.yaml:2: ", 10) == 0);
    assert_int_equal(parse("a: 1\nb: 2\nc: [1, 2\n", &c, err, sizeof err), ERR_PARSE);
    assert_true(strncmp(err, "t.yaml:", 7) == 0);
    assert_int_equal(parse("a: 1\n\tb: 2\n", &c, err, sizeof err), ERR_PARSE);
    assert_true(strncmp(err, "t.yaml:2: ", 10) == 0);
}

static void test_refused_constructs(void **state)
{
    (void)state;
    parse_fails("a: 1\nb: *x\n", "t.yaml:2: aliases are not allowed");
    parse_fails("a: 1\n---\nb: 2\n", "t.yaml:2: only one YAML document");
    parse_fails("- a\n- b\n", "t.yaml:1: the top level must be a mapping");
    parse_fails("just a scalar\n", "t.yaml:1: the top level must be a mapping");
    parse_fails("a:\n  - [x, y]\n", "t.yaml:2: key 'a': nested lists are not supported");
    parse_fails("a:\n  - {x: 1}\n", "t.yaml:2: key 'a'");
    parse_fails("? [x]\n: 1\n", "t.yaml:1: a key must be a plain scalar");
    parse_fails("'': 1\n", "t.yaml:1: key '': empty or too long");
}

static void test_anchors_and_tags_refused(void **state)
{
    (void)state;
    /* config.h: anchors and tags are refused, not only aliases */
    parse_fails("a: &x 1\n", "t.yaml:1:");
    parse_fails("a: !!str 5\n", "t.yaml:1:");
    parse_fails("a: &m {b: 1}\n", "t.yaml:1:");
}

static void test_empty_documents(void **state)
{
    (void)state;
    kv c = {0};
    parse_ok("", &c);
    parse_ok("# only a comment\n\n", &c);
    parse_ok("---\n", &c);
    parse_ok("---\na: 1\n...\n", &c);
    assert_int_equal(c.n, 1);
    expect(&c, 0, "a", "1", 2);
}

static void test_key_too_long(void **state)
{
    (void)state;
    char text[700];
    char key[300];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(text, sizeof text, "ok: 1\n%s: 1\n", key);
    parse_fails(text, "t.yaml:2: key 'kkkk");
    parse_fails(text, "empty or too long");
    /* each part fits, the dotted whole does not */
    char k150[151];
    memset(k150, 'p', 150);
    k150[150] = '\0';
    snprintf(text, sizeof text, "%s:\n  %s: 1\n", k150, k150);
    parse_fails(text, "t.yaml:2: key 'pppp");
    /* a key of 255 bytes still fits */
    char k255[256];
    memset(k255, 'q', 255);
    k255[255] = '\0';
    snprintf(text, sizeof text, "%s: v\n", k255);
    kv c = {0};
    parse_ok(text, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.key[0], k255);
}

static void test_nul_in_value_refused(void **state)
{
    (void)state;
    static const char text[] = "a: \"x\\0y\"\n";
    kv c = {0};
    char err[256];
    assert_int_equal(
        config_parse_yaml(text, sizeof text - 1, "t.yaml", collect, &c, err, sizeof err),
        ERR_PARSE);
    assert_non_null(strstr(err, "t.yaml:1:"));
    assert_int_equal(c.n, 0);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "a: 1\nb:\n  c: 2\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    kv c = {0};
    char err[512];
    assert_int_equal(config_load_yaml(path, collect, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 2);
    expect(&c, 1, "b.c", "2", 3);
    kv r = {.refuse_key = "b.c"};
    assert_int_equal(config_load_yaml(path, collect, &r, err, sizeof err), ERR_CONFIG);
    char want[512];
    snprintf(want, sizeof want, "%s:3: key 'b.c': bad value '2'", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(config_load_yaml(path, collect, &c, err, sizeof err), ERR_NOENT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_keys_and_lines),
        cmocka_unit_test(test_nested_mappings),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_flow_mapping),
        cmocka_unit_test(test_callback_refusal_message),
        cmocka_unit_test(test_syntax_error_names_line),
        cmocka_unit_test(test_refused_constructs),
        cmocka_unit_test(test_anchors_and_tags_refused),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_key_too_long),
        cmocka_unit_test(test_nul_in_value_refused),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
