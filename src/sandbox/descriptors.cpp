#include "sandbox/descriptors.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>

#ifndef SYS_close_range
#define SYS_close_range 436  // the same number on every architecture
#endif

namespace bastion::sandbox {

namespace {

bool kept(int fd, const int* keep, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (keep[i] == fd) return true;
  return false;
}

// Closes [first, last] with close_range, or reports ENOSYS.
int close_range_or_enosys(unsigned first, unsigned last) {
  if (first > last) return 0;
  if (::syscall(SYS_close_range, first, last, 0) == 0) return 0;
  return errno;
}

struct LinuxDirent64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

// Parses a decimal descriptor number; -1 for "." and "..".
int parse_fd(const char* s) {
  if (*s < '0' || *s > '9') return -1;
  int v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

// Closes through /proc/self/fd. Closing while reading the directory is safe
// for procfs (it lists the table as it is at each getdents call), and every
// pass only closes, so it ends; one more pass checks nothing is left.
int close_via_proc(const int* keep, std::size_t n) {
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno;
  alignas(8) char buf[4096];
  for (;;) {
    long got = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got < 0) {
      int e = errno;
      ::close(dir);
      return e;
    }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      int fd = parse_fd(d->d_name);
      if (fd >= 3 && fd != dir && !kept(fd, keep, n)) ::close(fd);
    }
  }
  ::close(dir);
  return 0;
}

int close_by_number(const int* keep, std::size_t n) {
  struct rlimit rl;
  rlim_t top = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) top = rl.rlim_cur;
  if (top > (1u << 20)) top = 1u << 20;
  for (rlim_t fd = 3; fd < top; ++fd)
    if (!kept(static_cast<int>(fd), keep, n)) ::close(static_cast<int>(fd));
  return 0;
}

}  // namespace

bool set_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  return (flags & FD_CLOEXEC) || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

void mark_inherited_cloexec() {
  constexpr unsigned kCloseRangeCloexec = 1u << 2;  // CLOSE_RANGE_CLOEXEC, Linux 5.11
  if (::syscall(SYS_close_range, 3u, ~0u, kCloseRangeCloexec) == 0) return;
  for (int fd : open_fds())
    if (fd >= 3) set_cloexec(fd);
}

int close_fds_except(const int* keep, std::size_t n) {
  // The gaps between the kept descriptors, in ascending order.
  unsigned first = 3;
  for (std::size_t i = 0; i <= n; ++i) {
    unsigned last = i < n ? static_cast<unsigned>(keep[i]) - 1 : ~0u;
    int e = close_range_or_enosys(first, last);
    if (e == ENOSYS || e == EINVAL) return close_fds_except_fallback(keep, n);
    if (e) return e;
    if (i < n) first = static_cast<unsigned>(keep[i]) + 1;
  }
  return 0;
}

int close_fds_except_fallback(const int* keep, std::size_t n) {
  if (close_via_proc(keep, n) == 0) return 0;
  return close_by_number(keep, n);
}

std::vector<int> open_fds() {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = parse_fd(e.path().filename().c_str());
    if (fd >= 0) out.push_back(fd);
  }
  std::sort(out.begin(), out.end());
  // The directory iterator's own descriptor is gone by now.
  out.erase(std::remove_if(out.begin(), out.end(), [](int fd) { return ::fcntl(fd, F_GETFD) < 0; }),
            out.end());
  return out;
}

}  // namespace bastion::sandbox
