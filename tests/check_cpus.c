/*
 * check_cpus.c: the usable CPU count, from the affinity count and cgroup
 * v1 and v2 quota files laid out in a temporary folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "cpus.h"

static char root[64];

static void
setup(void)
{
    snprintf(root, sizeof root, "/tmp/check_cpus.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void
teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to root/rel, making its folders. */
static void
put(const char *rel, const char *text)
{
    char path[256], cmd[300];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

START_TEST(test_cpus_no_cgroup_files)
{
    ck_assert_uint_eq(cpus_bounded(8, "0::/\n", root), 8);
    ck_assert_uint_eq(cpus_bounded(8, NULL, root), 8);
    ck_assert_uint_eq(cpus_bounded(0, NULL, root), 1);
}
END_TEST

START_TEST(test_cpus_v2_quota_rounds_up_and_smallest_wins)
{
    const char *cg = "0::/kubepods/pod1/c1\n";

    put("kubepods/pod1/c1/cpu.max", "150000 100000\n");
    ck_assert_uint_eq(cpus_bounded(8, cg, root), 2);
    put("kubepods/cpu.max", "50000 100000\n");
    ck_assert_uint_eq(cpus_bounded(8, cg, root), 1);
    put("kubepods/cpu.max", "max 100000\n");
    ck_assert_uint_eq(cpus_bounded(8, cg, root), 2);
    /* a quota above the affinity count does not raise it */
    put("kubepods/pod1/c1/cpu.max", "1600000 100000\n");
    ck_assert_uint_eq(cpus_bounded(8, cg, root), 8);
}
END_TEST

START_TEST(test_cpus_v2_under_unified)
{
    put("unified/user.slice/cpu.max", "100000 100000\n");
    ck_assert_uint_eq(cpus_bounded(4, "1:cpu:/\n0::/user.slice\n", root), 1);
}
END_TEST

START_TEST(test_cpus_v1_quota_and_period)
{
    const char *cg = "5:memory:/x\n4:cpu,cpuacct:/docker/abc\n0::/\n";

    put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
    put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    ck_assert_uint_eq(cpus_bounded(16, cg, root), 3);
    put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    ck_assert_uint_eq(cpus_bounded(16, cg, root), 16);
    /* the memory line's path is not the cpu controller's */
    put("cpu,cpuacct/x/cpu.cfs_quota_us", "100000\n");
    put("cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
    ck_assert_uint_eq(cpus_bounded(16, cg, root), 16);
}
END_TEST

START_TEST(test_cpus_damaged_files_set_no_bound)
{
    const char *cg = "0::/a\n";

    put("a/cpu.max", "garbage\n");
    ck_assert_uint_eq(cpus_bounded(4, cg, root), 4);
    put("a/cpu.max", "100000 0\n");
    ck_assert_uint_eq(cpus_bounded(4, cg, root), 4);
    put("a/cpu.max", "");
    ck_assert_uint_eq(cpus_bounded(4, cg, root), 4);
    ck_assert_uint_eq(cpus_bounded(4, "no colon here", root), 4);
}
END_TEST

START_TEST(test_cpus_usable_is_within_the_online_count)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus_usable();

    ck_assert_uint_ge(n, 1);
    ck_assert_uint_le(n, online < 1 ? 1 : (unsigned)online);
}
END_TEST

static Suite *
cpus_suite(void)
{
    Suite *s = suite_create("cpus");
    TCase *tc = tcase_create("count");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cpus_no_cgroup_files);
    tcase_add_test(tc, test_cpus_v2_quota_rounds_up_and_smallest_wins);
    tcase_add_test(tc, test_cpus_v2_under_unified);
    tcase_add_test(tc, test_cpus_v1_quota_and_period);
    tcase_add_test(tc, test_cpus_damaged_files_set_no_bound);
    tcase_add_test(tc, test_cpus_usable_is_within_the_online_count);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(cpus_suite());
}
