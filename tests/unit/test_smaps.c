/* Tests of smaps: each mapping's Rss goes to the kind a person would name (heap, anonymous,
 * stack, file-backed, shared memory), vdso and the like are left out, and a live process is
 * read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "smaps.h"

static const char text[] =
    "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "Rss:                  12 kB\n"
    "Shmem_Clean:           0 kB\n"
    "7f1000000000-7f1000100000 rw-p 00000000 00:00 0 \n"
    "Rss:                1000 kB\n"
    "7f2000000000-7f2000100000 r-xp 00000000 08:01 42   /usr/lib/libc.so.6\n"
    "Rss:                 200 kB\n"
    "7f3000000000-7f3000100000 rw-s 00000000 00:05 7    /dev/shm/cache\n"
    "Rss:                  64 kB\n"
    "Shmem_Dirty:          64 kB\n"
    "7f4000000000-7f4000100000 rw-s 00000000 00:01 9    /memfd:ring (deleted)\n"
    "Rss:                  16 kB\n"
    "7f5000000000-7f5000001000 rw-p 00000000 00:00 0    [anon:malloc arena]\n"
    "Rss:                   4 kB\n"
    "7ffd10000000-7ffd10021000 rw-p 00000000 00:00 0    [stack]\n"
    "Rss:                  24 kB\n"
    "7ffd20000000-7ffd20002000 r-xp 00000000 00:00 0    [vdso]\n"
    "Rss:                   8 kB\n";

static void test_parse_by_kind(void **state)
{
    (void)state;
    smaps_sums s;
    memset(&s, 0, sizeof s);
    assert_int_equal(smaps_parse(text, strlen(text), &s), 0);
    assert_int_equal(s.bytes[SMAPS_HEAP], 12 * 1024);
    assert_int_equal(s.bytes[SMAPS_ANON], 1004 * 1024);
    assert_int_equal(s.bytes[SMAPS_FILE], 200 * 1024);
    assert_int_equal(s.bytes[SMAPS_SHMEM], 80 * 1024);
    assert_int_equal(s.bytes[SMAPS_STACK], 24 * 1024);
    assert_int_equal(s.mappings, 8);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(smaps_classify("[heap]", 0), SMAPS_HEAP);
    assert_int_equal(smaps_classify("[stack:1234]", 0), SMAPS_STACK);
    assert_int_equal(smaps_classify("", 0), SMAPS_ANON);
    assert_int_equal(smaps_classify(NULL, 0), SMAPS_ANON);
    assert_int_equal(smaps_classify("", 1), SMAPS_SHMEM); /* anonymous shared */
    assert_int_equal(smaps_classify("/SYSV00000000", 0), SMAPS_SHMEM);
    assert_int_equal(smaps_classify("/usr/bin/x", 0), SMAPS_FILE);
    assert_int_equal(smaps_classify("[vvar]", 0), -1);
    assert_string_equal(smaps_kind_label(SMAPS_ANON), "anonymous mappings");
    assert_string_equal(smaps_kind_key(SMAPS_NKINDS), "");
}

static void test_garbage(void **state)
{
    (void)state;
    smaps_sums s;
    memset(&s, 0, sizeof s);
    assert_int_equal(smaps_parse("Rss: 4 kB\nnot a header\n", 22, &s), ERR_PARSE);
    assert_int_equal(s.bytes[SMAPS_ANON], 0);
    /* a header cut short, a huge number: no crash, no overflow */
    static const char odd[] = "00-ff rw-p 0 00:00 0\nRss: 99999999999999999999999 kB\n";
    memset(&s, 0, sizeof s);
    assert_int_equal(smaps_parse(odd, strlen(odd), &s), 0);
    assert_true(s.bytes[SMAPS_ANON] > 0);
}

static void test_read_self(void **state)
{
    (void)state;
    smaps_sums s;
    char copy[] = "/tmp/test_smaps.XXXXXX";
    int fd = mkstemp(copy);
    assert_true(fd >= 0);
    close(fd);
    /* touch 8 MiB of heap-or-anonymous memory: it must show */
    char *p = malloc(8 << 20);
    assert_non_null(p);
    memset(p, 1, 8 << 20);
    assert_int_equal(smaps_read("/proc", getpid(), &s, copy), 0);
    assert_true(s.bytes[SMAPS_HEAP] + s.bytes[SMAPS_ANON] >= (8u << 20));
    assert_true(s.bytes[SMAPS_FILE] > 0); /* the program itself */
    FILE *f = fopen(copy, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strchr(line, '-'));
    fclose(f);
    unlink(copy);
    free(p);
    assert_int_equal(smaps_read("/proc", 0x7ffffff0, &s, NULL), ERR_NOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_by_kind),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
