// clone3(2) with CLONE_INTO_CGROUP (Linux 5.7): a child created directly in
// a cgroup v2 directory, with no migration afterwards. Joining by writing
// cgroup.procs after fork takes the kernel's cgroup_threadgroup_rwsem for
// writing and waits for an RCU grace period: ~10 ms after an idle spell on
// this project's machines, against ~0.4 ms this way (bench/cgroup_join.c,
// bench/results/cold_start.md). A separate room because <linux/sched.h>,
// which defines clone_args, cannot share a translation unit with glibc's
// <sched.h>.
#pragma once

#include <sys/types.h>

namespace bastion::sandbox {

// Like fork(), with the child born in the cgroup of `cgroup_dir` (an open
// directory descriptor on a cgroup2 file system). -1 with errno set when
// it cannot: ENOSYS (an older kernel, or a seccomp filter such as
// Docker's default that refuses clone3), EINVAL, E2BIG, or whatever the
// cgroup refuses (EBUSY when it has controllers enabled for children,
// EACCES ...); the caller then forks and joins by writing cgroup.procs.
// The child is a raw clone: glibc's fork handlers did not run, so it must
// keep to raw system calls until exec (no setxid broadcast, no locks).
pid_t clone_into_cgroup(int cgroup_dir);

}  // namespace bastion::sandbox
