/*
 * cpus.c: the usable CPU count of cpus.h.
 *
 * A quota file that is missing, unreadable or says "max" (v2) or -1 (v1)
 * sets no bound. Paths are built in fixed buffers; a cgroup path too long
 * for them is treated as the mount's root.
 */
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpus.h"

#define CPUS_PATH_MAX 512

/* Reads up to two integers from a file ("max" reads as none); their
 * number, 0 when the file cannot be read. */
static int
cpus_read(const char *path, long long *a, long long *b)
{
    FILE *f = fopen(path, "r");
    int n;

    if (!f)
        return 0;
    n = fscanf(f, "%lld %lld", a, b);
    fclose(f);
    return n < 0 ? 0 : n;
}

/* The CPUs a quota of q per period p allows, rounded up; UINT_MAX for
 * none. */
static unsigned
cpus_of_quota(long long q, long long p)
{
    long long n;

    if (q <= 0 || p <= 0)
        return UINT_MAX;
    n = (q + p - 1) / p;
    return n > (long long)UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* The quota in folder dir: v2's cpu.max, else v1's pair of files. */
static unsigned
cpus_quota_at(const char *dir)
{
    char path[CPUS_PATH_MAX + 32];
    long long q, p;

    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (cpus_read(path, &q, &p) == 2)
        return cpus_of_quota(q, p);
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (cpus_read(path, &q, &p) != 1 || q <= 0)
        return UINT_MAX;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (cpus_read(path, &p, &q) != 1)
        return UINT_MAX;
    return cpus_of_quota(q, p);
}

/* The smallest quota from mount/cgpath up to mount itself. */
static unsigned
cpus_quota_up(const char *mount, const char *cgpath)
{
    char dir[CPUS_PATH_MAX];
    unsigned best = UINT_MAX, q;
    char *slash;
    int n = snprintf(dir, sizeof dir, "%s%s", mount, cgpath);

    if (n < 0 || (size_t)n >= sizeof dir)
        snprintf(dir, sizeof dir, "%s", mount);
    for (;;) {
        q = cpus_quota_at(dir);
        best = q < best ? q : best;
        slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < strlen(mount))
            return best;
        *slash = '\0';
    }
}

/* The cgroup path of the line of proc_cgroup whose controllers field is
 * v2's empty one (want NULL) or names want, copied to out; false if none. */
static bool
cpus_cgroup_path(const char *proc_cgroup, const char *want, char *out,
                 size_t outlen)
{
    const char *line = proc_cgroup;

    while (line && *line) {
        const char *c1 = strchr(line, ':'), *c2, *end;

        end = strchr(line, '\n');
        end = end ? end : line + strlen(line);
        c2 =
            c1 && c1 < end ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (c2 && (want ? (size_t)(c2 - c1 - 1) == strlen(want) &&
                              memcmp(c1 + 1, want, strlen(want)) == 0
                        : c2 == c1 + 1)) {
            snprintf(out, outlen, "%.*s", (int)(end - c2 - 1), c2 + 1);
            return true;
        }
        line = *end ? end + 1 : NULL;
    }
    return false;
}

unsigned
cpus_bounded(unsigned ncpu, const char *proc_cgroup, const char *fsroot)
{
    static const char *const v2[] = {"", "/unified"};
    static const char *const v1[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
    char path[CPUS_PATH_MAX], mount[CPUS_PATH_MAX];
    unsigned n = ncpu < 1 ? 1 : ncpu, q;

    if (proc_cgroup && cpus_cgroup_path(proc_cgroup, NULL, path, sizeof path))
        for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
            snprintf(mount, sizeof mount, "%s%s", fsroot, v2[i]);
            q = cpus_quota_up(mount, path);
            n = q < n ? q : n;
        }
    for (size_t i = 0; proc_cgroup && i < sizeof v1 / sizeof v1[0]; i++)
        if (cpus_cgroup_path(proc_cgroup, v1[i], path, sizeof path)) {
            snprintf(mount, sizeof mount, "%s/%s", fsroot, v1[i]);
            q = cpus_quota_up(mount, path);
            n = q < n ? q : n;
        }
    return n < 1 ? 1 : n;
}

/* The text of /proc/self/cgroup (free()), or NULL. */
static char *
cpus_proc_cgroup(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char *text = NULL;
    size_t cap = 0;

    if (!f)
        return NULL;
    if (getdelim(&text, &cap, '\0', f) < 0) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

unsigned
cpus_usable(void)
{
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned ncpu = online < 1 ? 1 : (unsigned)online, n;
    char *proc_cgroup = cpus_proc_cgroup();

    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        ncpu = (unsigned)CPU_COUNT(&set);
    n = cpus_bounded(ncpu, proc_cgroup, "/sys/fs/cgroup");
    free(proc_cgroup);
    return n;
}
