/*
 * test_logfollow: every cell of the follower's table (state x event: next state and actions,
 * the impossible ones included), the classification of stat results into events, where
 * reading starts, the tail -F sequences of a rename rotation and of a copytruncate, and the
 * line framing with its cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"
#include "logfollow.h"

#define A_FL LOGFOLLOW_A_FLUSH
#define A_RW LOGFOLLOW_A_REWIND
#define A_CL LOGFOLLOW_A_CLOSE
#define A_OP LOGFOLLOW_A_OPEN
#define A_RD LOGFOLLOW_A_READ
#define A_RS LOGFOLLOW_A_RESTAT
#define A_IM LOGFOLLOW_A_IMPOSSIBLE
#define AB   LOGFOLLOW_ABSENT
#define OP   LOGFOLLOW_OPEN
#define DR   LOGFOLLOW_DRAINING

/* The table as the design says it, written out again: a change of the module's table fails. */
static const logfollow_cell want[LOGFOLLOW_NSTATES][LOGFOLLOW_NEVENTS] = {
    /*            appeared       grew          same       shrank                 replaced
                  vanished       eof */
    [AB] = {{OP, A_OP | A_RD}, {AB, A_IM}, {AB, A_IM}, {AB, A_IM}, {AB, A_IM}, {AB, 0}, {AB, A_IM}},
    [OP] = {{OP, A_IM},
            {OP, A_RD},
            {OP, 0},
            {OP, A_FL | A_RW | A_RD},
            {DR, A_RD},
            {DR, A_RD},
            {OP, 0}},
    [DR] = {{DR, A_IM},
            {OP, A_RD},
            {OP, 0},
            {OP, A_FL | A_RW | A_RD},
            {DR, A_RD},
            {DR, A_RD},
            {AB, A_FL | A_CL | A_RS}},
};

typedef struct rec {
    char lines[32][128];
    int cont[32];
    size_t len[32];
    int n;
} rec;

static void on_line(void *ud, const char *line, size_t len, int cont)
{
    rec *r = ud;
    if (r->n >= 32)
        return;
    size_t k = len < 127 ? len : 127;
    memcpy(r->lines[r->n], line, k);
    r->lines[r->n][k] = '\0';
    r->len[r->n] = len;
    r->cont[r->n++] = cont;
}

static logfollow_stat st_of(uint64_t ino, uint64_t size)
{
    logfollow_stat s = {1, 7, ino, size};
    return s;
}

/* Puts lf into state s with an open file of inode 10 read up to offset 5 and "ab" waiting. */
static void put_in(logfollow *lf, logfollow_state s)
{
    if (s == AB)
        return;
    logfollow_stat st = st_of(10, 0);
    assert_int_equal(logfollow_step(lf, LOGFOLLOW_EV_APPEARED), A_OP | A_RD);
    logfollow_opened(lf, &st, 0, UINT64_MAX);
    logfollow_feed(lf, "123\nab", 6);
    if (s == DR)
        assert_int_equal(logfollow_step(lf, LOGFOLLOW_EV_REPLACED), A_RD);
    assert_int_equal(lf->state, s);
}

/* Every cell: the table, and what a step does there (state, actions, flush, rewind). */
static void test_every_cell(void **state)
{
    (void)state;
    for (int s = 0; s < LOGFOLLOW_NSTATES; s++)
        for (int ev = 0; ev < LOGFOLLOW_NEVENTS; ev++) {
            logfollow_cell c = logfollow_cell_of((logfollow_state)s, (logfollow_event)ev);
            char what[64];
            snprintf(what, sizeof what, "%s x %s", logfollow_state_name((logfollow_state)s),
                     logfollow_event_name((logfollow_event)ev));
            if (c.next != want[s][ev].next || c.acts != want[s][ev].acts)
                fail_msg("cell %s: next %d acts %#x", what, c.next, c.acts);

            rec r = {0};
            logfollow lf;
            assert_int_equal(logfollow_init(&lf, 64, on_line, &r), 0);
            put_in(&lf, (logfollow_state)s);
            int lines_before = r.n;
            uint64_t off_before = logfollow_offset(&lf);
            unsigned acts = logfollow_step(&lf, (logfollow_event)ev);
            if (c.acts & A_IM) {
                assert_int_equal(acts, A_IM);
                assert_int_equal(lf.state, s); /* nothing done */
                assert_int_equal(lf.st.impossible, 1);
                assert_int_equal(logfollow_offset(&lf), off_before);
            } else {
                assert_int_equal(lf.state, c.next);
                assert_int_equal(acts, c.acts & ~(unsigned)(A_FL | A_RW)); /* done here */
                assert_int_equal(lf.st.impossible, 0);
                if (c.acts & A_FL) { /* the waiting "ab" came out as a line */
                    assert_int_equal(r.n, lines_before + 1);
                    assert_string_equal(r.lines[r.n - 1], "ab");
                } else {
                    assert_int_equal(r.n, lines_before);
                }
                if (c.acts & A_RW)
                    assert_int_equal(logfollow_offset(&lf), 0);
                else if (c.next != AB)
                    assert_int_equal(logfollow_offset(&lf), off_before);
            }
            logfollow_free(&lf);
        }
    /* out of range */
    logfollow_cell bad = logfollow_cell_of(LOGFOLLOW_NSTATES, LOGFOLLOW_EV_GREW);
    assert_int_equal(bad.acts, A_IM);
    assert_string_equal(logfollow_state_name(LOGFOLLOW_NSTATES), "unknown");
    assert_string_equal(logfollow_event_name(LOGFOLLOW_NEVENTS), "unknown");
}

static void test_classify(void **state)
{
    (void)state;
    logfollow lf;
    assert_int_equal(logfollow_init(&lf, 0, NULL, NULL), 0);
    logfollow_stat none = {0}, p = st_of(10, 100), other = st_of(11, 3);
    assert_int_equal(logfollow_classify(&lf, &none, NULL), LOGFOLLOW_EV_VANISHED);
    assert_int_equal(logfollow_classify(&lf, &p, NULL), LOGFOLLOW_EV_APPEARED);
    logfollow_step(&lf, LOGFOLLOW_EV_APPEARED);
    logfollow_opened(&lf, &p, 1, UINT64_MAX); /* at its end */
    assert_int_equal(logfollow_offset(&lf), 100);
    assert_int_equal(logfollow_classify(&lf, &p, &p), LOGFOLLOW_EV_SAME);
    logfollow_stat grown = st_of(10, 150), shrunk = st_of(10, 20);
    assert_int_equal(logfollow_classify(&lf, &grown, &grown), LOGFOLLOW_EV_GREW);
    assert_int_equal(logfollow_classify(&lf, &shrunk, &shrunk), LOGFOLLOW_EV_SHRANK);
    assert_int_equal(logfollow_classify(&lf, &other, &grown), LOGFOLLOW_EV_REPLACED);
    logfollow_stat otherdev = {1, 8, 10, 100};
    assert_int_equal(logfollow_classify(&lf, &otherdev, &p), LOGFOLLOW_EV_REPLACED);
    assert_int_equal(logfollow_classify(&lf, &none, &p), LOGFOLLOW_EV_VANISHED);
    /* the open file's size decides while the path is the same inode */
    assert_int_equal(logfollow_classify(&lf, &p, &grown), LOGFOLLOW_EV_GREW);
    logfollow_free(&lf);
}

static void test_start_offsets(void **state)
{
    (void)state;
    logfollow lf;
    assert_int_equal(logfollow_init(&lf, 0, NULL, NULL), 0);
    logfollow_stat a = st_of(10, 100), b = st_of(11, 40);
    logfollow_step(&lf, LOGFOLLOW_EV_APPEARED);
    logfollow_opened(&lf, &a, 1, UINT64_MAX);
    assert_int_equal(logfollow_offset(&lf), 100); /* existed at the start: its end */
    logfollow_step(&lf, LOGFOLLOW_EV_REPLACED);
    logfollow_step(&lf, LOGFOLLOW_EV_EOF);
    assert_int_equal(lf.state, AB);
    logfollow_step(&lf, LOGFOLLOW_EV_APPEARED);
    logfollow_opened(&lf, &b, 1, UINT64_MAX);
    assert_int_equal(logfollow_offset(&lf), 0); /* a later file: its start, even if asked */
    logfollow_open_failed(&lf);
    assert_int_equal(lf.state, AB);
    logfollow_step(&lf, LOGFOLLOW_EV_APPEARED);
    logfollow_opened(&lf, &b, 0, 25);
    assert_int_equal(logfollow_offset(&lf), 25); /* where another name left it */
    logfollow_opened(&lf, &b, 0, 41);
    assert_int_equal(logfollow_offset(&lf), 0); /* past its end: it was truncated */
    logfollow_free(&lf);
    assert_int_equal(logfollow_init(&lf, 8, NULL, NULL), ERR_RANGE);
    assert_int_equal(logfollow_init(&lf, LOGFOLLOW_LINE_MAX + 1, NULL, NULL), ERR_RANGE);
}

/* A follower with a file of inode 10 open from its start, and text read from it. */
static void open_with(logfollow *lf, rec *r, const char *text)
{
    assert_int_equal(logfollow_init(lf, 0, on_line, r), 0);
    logfollow_stat st = st_of(10, 0);
    logfollow_step(lf, LOGFOLLOW_EV_APPEARED);
    logfollow_opened(lf, &st, 0, UINT64_MAX);
    logfollow_feed(lf, text, strlen(text));
}

/* RotatingFileHandler: lines to the old file after the last read, rename, new file. */
static void test_rename_rotation(void **state)
{
    (void)state;
    rec r = {0};
    logfollow lf;
    open_with(&lf, &r, "1\n2\n");
    /* "3\n4" were written to the old file, then it was renamed and bot.log created */
    logfollow_stat fresh = st_of(11, 2), oldnow = st_of(10, 7);
    logfollow_event ev = logfollow_classify(&lf, &fresh, &oldnow);
    assert_int_equal(ev, LOGFOLLOW_EV_REPLACED);
    assert_int_equal(logfollow_step(&lf, ev), A_RD);
    logfollow_feed(&lf, "3\n4", 3);
    assert_int_equal(logfollow_step(&lf, LOGFOLLOW_EV_EOF), A_CL | A_RS);
    assert_int_equal(lf.st.rotations, 1);
    ev = logfollow_classify(&lf, &fresh, NULL);
    assert_int_equal(ev, LOGFOLLOW_EV_APPEARED);
    logfollow_step(&lf, ev);
    logfollow_opened(&lf, &fresh, 0, UINT64_MAX);
    logfollow_feed(&lf, "5\n", 2);
    assert_int_equal(r.n, 5);
    for (int i = 0; i < 5; i++) {
        char w[4];
        snprintf(w, sizeof w, "%d", i + 1);
        assert_string_equal(r.lines[i], w); /* each once, in order; "4" flushed at the switch */
    }
    logfollow_free(&lf);
}

static void test_copytruncate(void **state)
{
    (void)state;
    rec r = {0};
    logfollow lf;
    open_with(&lf, &r, "a\nb\n");
    logfollow_stat t = st_of(10, 2); /* copied, truncated, "c\n" written */
    logfollow_event ev = logfollow_classify(&lf, &t, &t);
    assert_int_equal(ev, LOGFOLLOW_EV_SHRANK);
    assert_int_equal(logfollow_step(&lf, ev), A_RD);
    assert_int_equal(logfollow_offset(&lf), 0);
    logfollow_feed(&lf, "c\n", 2);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.lines[2], "c");
    assert_int_equal(lf.st.truncations, 1);
    logfollow_free(&lf);
}

static void test_framing(void **state)
{
    (void)state;
    rec r = {0};
    logfollow lf;
    assert_int_equal(logfollow_init(&lf, 16, on_line, &r), 0);
    logfollow_feed(&lf, "one\ntw", 6);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.lines[0], "one");
    logfollow_feed(&lf, "o\r\n\n", 4); /* a partial line waited; "\r" kept; an empty line */
    assert_int_equal(r.n, 3);
    assert_string_equal(r.lines[1], "two\r");
    assert_int_equal(r.len[2], 0);
    /* exactly the cap: one line, not cut */
    logfollow_feed(&lf, "0123456789abcdef\n", 17);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.len[3], 16);
    assert_int_equal(r.cont[3], 0);
    /* 40 bytes: pieces of 16, 16 and 8, the later two marked as continuations */
    logfollow_feed(&lf, "0123456789abcdef0123456789ABCDEF", 32);
    assert_int_equal(r.n, 5); /* the first piece is out, the second waits for more */
    logfollow_feed(&lf, "xxxxxxxx\nz", 10);
    assert_int_equal(r.n, 7);
    assert_string_equal(r.lines[4], "0123456789abcdef");
    assert_int_equal(r.cont[4], 0);
    assert_string_equal(r.lines[5], "0123456789ABCDEF");
    assert_int_equal(r.cont[5], 1);
    assert_string_equal(r.lines[6], "xxxxxxxx");
    assert_int_equal(r.cont[6], 1);
    assert_int_equal(lf.st.lines, 5);
    assert_int_equal(lf.st.pieces, 2);
    /* the tail "z" waits; a flush emits it as a line of its own */
    logfollow_flush(&lf);
    assert_int_equal(r.n, 8);
    assert_string_equal(r.lines[7], "z");
    assert_int_equal(r.cont[7], 0);
    logfollow_flush(&lf); /* nothing waiting: nothing */
    assert_int_equal(r.n, 8);
    assert_int_equal(logfollow_offset(&lf), 6 + 4 + 17 + 32 + 10);
    logfollow_free(&lf);
    logfollow_free(&lf); /* twice is harmless */
}

/* Byte by byte gives the same lines as one read. */
static void test_framing_bytewise(void **state)
{
    (void)state;
    const char *text = "alpha\nbeta gamma delta epsilon\n\nzeta";
    rec a = {0}, b = {0};
    logfollow la, lb;
    assert_int_equal(logfollow_init(&la, 16, on_line, &a), 0);
    assert_int_equal(logfollow_init(&lb, 16, on_line, &b), 0);
    logfollow_feed(&la, text, strlen(text));
    for (size_t i = 0; i < strlen(text); i++)
        logfollow_feed(&lb, text + i, 1);
    logfollow_flush(&la);
    logfollow_flush(&lb);
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.lines[i], b.lines[i]);
        assert_int_equal(a.cont[i], b.cont[i]);
    }
    assert_int_equal(a.n, 5); /* alpha, "beta gamma delta", " epsilon"(+), "", zeta */
    assert_string_equal(a.lines[2], " epsilon");
    assert_int_equal(a.cont[2], 1);
    logfollow_free(&la);
    logfollow_free(&lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),       cmocka_unit_test(test_classify),
        cmocka_unit_test(test_start_offsets),    cmocka_unit_test(test_rename_rotation),
        cmocka_unit_test(test_copytruncate),     cmocka_unit_test(test_framing),
        cmocka_unit_test(test_framing_bytewise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
