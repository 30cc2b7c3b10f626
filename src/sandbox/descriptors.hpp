// Descriptor hygiene: no descriptor of Bastion's reaches a server.
// Two layers: everything Bastion opens is close-on-exec (sockets, pipes,
// memfds, files), and the child, between fork and exec, closes every
// descriptor above stdio except the ones it is meant to keep — so a
// descriptor some library opened without O_CLOEXEC, or one another thread
// opened between socket() and fcntl(), still never crosses exec.
#pragma once

#include <cstddef>
#include <vector>

namespace bastion::sandbox {

// Sets FD_CLOEXEC; false (errno set) when fcntl fails.
bool set_cloexec(int fd);

// In a forked child: closes every descriptor >= 3 that is not in `keep`
// (ascending, each >= 3). Async-signal-safe, allocates nothing:
// close_range(2) where the kernel has it (5.9+), else the entries of
// /proc/self/fd read with getdents64 into a stack buffer, else close() on
// every number below the soft RLIMIT_NOFILE. Returns 0 or an errno.
int close_fds_except(const int* keep, std::size_t n);

// The same without close_range, for tests of the fallback.
int close_fds_except_fallback(const int* keep, std::size_t n);

// Marks every descriptor >= 3 close-on-exec: the ones this process
// inherited from its parent (call it first thing in main()).
void mark_inherited_cloexec();

// The descriptors open in this process, ascending (tests, `doctor`).
std::vector<int> open_fds();

}  // namespace bastion::sandbox
