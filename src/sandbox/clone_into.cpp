#include "sandbox/clone_into.hpp"

#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <csignal>

namespace bastion::sandbox {

pid_t clone_into_cgroup(int cgroup_dir) {
#if defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
  assert(cgroup_dir >= 0);  // the caller clones into a leaf it has open
  struct clone_args args {};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<__u64>(cgroup_dir);
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
#else
  (void)cgroup_dir;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace bastion::sandbox
