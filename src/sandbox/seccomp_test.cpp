#include "sandbox/seccomp.hpp"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace bastion::sandbox {
namespace {

// Runs `body` in a child with the filter installed; the child's exit code
// is body's result (0 = as expected).
int in_filtered_child(int (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (install_seccomp_filter() != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

// The raw system call with junk arguments: the filter answers before the
// kernel looks at them.
int blocked(long nr) {
  errno = 0;
  long r = ::syscall(nr, -1, 0, 0, 0, 0);
  return r == -1 && errno == EPERM ? 0 : 1;
}

TEST(Seccomp, TheNewMountApiIsBlockedByNumber) {
  // mount_setattr could clear MOUNT_ATTR_RDONLY on /usr and the binds.
  for (long nr :
       {442L /* mount_setattr */, 428L /* open_tree */, 429L /* move_mount */, 430L /* fsopen */,
        431L /* fsconfig */, 432L /* fsmount */, 433L /* fspick */, 467L /* open_tree_attr */}) {
    static long current;
    current = nr;
    EXPECT_EQ(in_filtered_child([] { return blocked(current); }), 0) << "syscall " << nr;
  }
}

TEST(Seccomp, MountsNamespacesAndOtherProcessesAreBlocked) {
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_mount); }), 0);
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_unshare); }), 0);
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_setns); }), 0);
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_ptrace); }), 0);
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_io_uring_setup); }), 0);
  EXPECT_EQ(in_filtered_child([] { return blocked(SYS_bpf); }), 0);
}

TEST(Seccomp, CloneAskingForANamespaceFailsAndClone3FallsBack) {
  EXPECT_EQ(in_filtered_child([] {
              errno = 0;
              long r = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
              if (r == 0) ::_exit(0);
              return r == -1 && errno == EPERM ? 0 : 1;
            }),
            0);
  EXPECT_EQ(in_filtered_child([] {
              errno = 0;
              long r = ::syscall(435 /* clone3 */, nullptr, 0);
              return r == -1 && errno == ENOSYS ? 0 : 1;
            }),
            0);
}

TEST(Seccomp, OrdinaryWorkStillRuns) {
  EXPECT_EQ(in_filtered_child([] {
              pid_t p = ::fork();  // threads and processes: glibc falls back from clone3
              if (p == 0) ::_exit(7);
              int st = 0;
              ::waitpid(p, &st, 0);
              int fd = ::open("/proc/self/status", O_RDONLY);
              return WEXITSTATUS(st) == 7 && fd >= 0 ? 0 : 1;
            }),
            0);
}

TEST(Seccomp, TheProgramIsExportedToAnFdAboveStdio) {
  auto fd = seccomp_program_fd();
  ASSERT_TRUE(fd.ok()) << fd.reason();
  EXPECT_GE(fd.value(), 3);
  EXPECT_TRUE(::fcntl(fd.value(), F_GETFD) & FD_CLOEXEC);
  char buf[8];
  EXPECT_EQ(::read(fd.value(), buf, sizeof buf), 8);  // BPF instructions are 8 bytes
  ::close(fd.value());
}

}  // namespace
}  // namespace bastion::sandbox
