#include "sandbox/descriptors.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace bastion::sandbox {
namespace {

// In a child: opens stray descriptors the way a careless library would (no
// O_CLOEXEC), closes all but `keep`, and reports by exit code whether
// exactly 0-2 and `keep` survived.
int survivors_ok(int (*closer)(const int*, std::size_t)) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int sv[2];
    ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int p[2];
    ::pipe(p);
    int keep_fd = ::open("/dev/null", O_RDONLY);
    int high = ::dup2(sv[0], 700);
    (void)high;
    int keep[] = {keep_fd};
    if (closer(keep, 1) != 0) ::_exit(2);
    for (int fd = 3; fd < 1024; ++fd) {
      bool open = ::fcntl(fd, F_GETFD) >= 0;
      if (open != (fd == keep_fd)) ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST(Descriptors, CloseRangeLeavesOnlyWhatIsKept) { EXPECT_EQ(survivors_ok(close_fds_except), 0); }

TEST(Descriptors, TheFallbackWithoutCloseRangeDoesTheSame) {
  EXPECT_EQ(survivors_ok(close_fds_except_fallback), 0);
}

TEST(Descriptors, SetCloexecAndOpenFds) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  EXPECT_FALSE(::fcntl(p[0], F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(set_cloexec(p[0]));
  EXPECT_TRUE(::fcntl(p[0], F_GETFD) & FD_CLOEXEC);
  auto fds = open_fds();
  EXPECT_TRUE(std::find(fds.begin(), fds.end(), p[0]) != fds.end());
  EXPECT_TRUE(std::find(fds.begin(), fds.end(), 0) != fds.end());
  ::close(p[0]);
  ::close(p[1]);
  EXPECT_FALSE(set_cloexec(p[0]));
}

}  // namespace
}  // namespace bastion::sandbox
