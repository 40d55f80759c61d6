/*
 * cpus.h: how many CPUs this process can use, for sizing its threads.
 *
 * The count is the CPUs of the process's affinity mask (what taskset,
 * cpusets and Kubernetes' static CPU manager give it), bounded by its
 * cgroup's CPU quota, rounded up: cgroup v2's cpu.max ("150000 100000" is
 * 1.5 CPUs: 2) or v1's cpu.cfs_quota_us over cpu.cfs_period_us, in the
 * process's own cgroup and each parent up to the mount's root (the
 * smallest quota wins). A container limited to 1 CPU on a 64-CPU node
 * counts 1. Always at least 1.
 */
#ifndef CPUS_H
#define CPUS_H

/* The CPUs this process can use, read from the system. */
unsigned cpus_usable(void);

/* The same from given sources (for tests): ncpu CPUs in the affinity mask,
 * proc_cgroup the text of /proc/self/cgroup, and the cgroup mounts under
 * fsroot (v2 at fsroot or fsroot/unified, v1's cpu controller at
 * fsroot/cpu or fsroot/cpu,cpuacct). */
unsigned cpus_bounded(unsigned ncpu, const char *proc_cgroup,
                      const char *fsroot);

#endif
