// The seccomp filter bwrap installs in a server (`bwrap --seccomp FD`):
// system calls no MCP server needs and sandbox escapes use fail with EPERM.
// It is a second wall: the server already runs as an unprivileged host uid
// with no capabilities, so most of these would fail anyway; the filter
// keeps it so if a kernel bug or a misconfiguration hands it a capability
// in its namespaces. Blocked, by family:
//   mounts: mount, umount2, pivot_root, chroot and the whole new mount API
//     (open_tree, open_tree_attr, move_mount, fsopen, fsconfig, fsmount,
//     fspick, mount_setattr), which can clear read-only flags on binds;
//   namespaces: unshare, setns, clone/clone3 asking for a new namespace
//     (clone3 returns ENOSYS so libc falls back to clone, whose flags the
//     filter can see);
//   other processes: ptrace, process_vm_*, pidfd_getfd, process_madvise,
//     kcmp;
//   the kernel: modules, kexec, bpf, perf_event_open, io_uring (it runs
//     system calls the filter never sees), keyrings, userfaultfd,
//     open_by_handle_at, quotactl, acct, swap, reboot, clocks, syslog.
// Calls the installed libseccomp does not know by name are blocked by
// number (they have the same number on every architecture since 5.1).
#pragma once

#include <span>

#include "sandbox/error.hpp"

namespace bastion::sandbox {

struct BlockedSyscall {
  const char* name;
  int number;  // used when libseccomp does not know the name; -1: name only
};

std::span<const BlockedSyscall> blocked_syscalls();

// A memfd (>= 3, close-on-exec) holding the compiled BPF program.
Result<int> seccomp_program_fd();

// Installs the same filter in the calling process (tests; needs
// no_new_privs or CAP_SYS_ADMIN). 0 or an errno.
int install_seccomp_filter();

}  // namespace bastion::sandbox
