/* Tests of fdscan: link targets by type, and the fds of this process counted by type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "errcode.h"
#include "fdscan.h"

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(fdscan_classify("socket:[12345]"), FDSCAN_SOCKET);
    assert_int_equal(fdscan_classify("pipe:[99]"), FDSCAN_PIPE);
    assert_int_equal(fdscan_classify("anon_inode:[eventfd]"), FDSCAN_ANON);
    assert_int_equal(fdscan_classify("/var/log/x.log"), FDSCAN_FILE);
    assert_int_equal(fdscan_classify("/tmp/x (deleted)"), FDSCAN_FILE);
    assert_int_equal(fdscan_classify("/dev/null"), FDSCAN_OTHER);
    assert_int_equal(fdscan_classify(""), FDSCAN_OTHER);
    assert_int_equal(fdscan_classify(NULL), FDSCAN_OTHER);
    assert_string_equal(fdscan_type_label(FDSCAN_FILE), "regular files");
    assert_string_equal(fdscan_type_key(FDSCAN_NTYPES), "");
}

static void test_self(void **state)
{
    (void)state;
    fdscan_counts before = {{0}}, after = {{0}};
    assert_int_equal(fdscan_pid("/proc", getpid(), &before), 0);
    int p[2], sv[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    FILE *f[3];
    for (int i = 0; i < 3; i++) {
        f[i] = tmpfile();
        assert_non_null(f[i]);
    }
    assert_int_equal(fdscan_pid("/proc", getpid(), &after), 0);
    assert_int_equal(after.n[FDSCAN_PIPE] - before.n[FDSCAN_PIPE], 2);
    assert_int_equal(after.n[FDSCAN_SOCKET] - before.n[FDSCAN_SOCKET], 2);
    assert_int_equal(after.n[FDSCAN_FILE] - before.n[FDSCAN_FILE], 3);
    for (int i = 0; i < 3; i++)
        fclose(f[i]);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    fdscan_counts none = {{0}};
    assert_int_equal(fdscan_pid("/proc", 0x7ffffff0, &none), ERR_NOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
