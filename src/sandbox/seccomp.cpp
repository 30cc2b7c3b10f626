#include "sandbox/seccomp.hpp"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace bastion::sandbox {

namespace {

constexpr BlockedSyscall kBlocked[] = {
    {"mount", -1},
    {"umount2", -1},
    {"pivot_root", -1},
    {"chroot", -1},
    {"open_tree", 428},
    {"move_mount", 429},
    {"fsopen", 430},
    {"fsconfig", 431},
    {"fsmount", 432},
    {"fspick", 433},
    {"mount_setattr", 442},
    {"open_tree_attr", 467},
    {"unshare", -1},
    {"setns", -1},
    {"ptrace", -1},
    {"process_vm_readv", -1},
    {"process_vm_writev", -1},
    {"pidfd_getfd", 438},
    {"process_madvise", 440},
    {"kcmp", -1},
    {"kexec_load", -1},
    {"kexec_file_load", -1},
    {"bpf", -1},
    {"perf_event_open", -1},
    {"init_module", -1},
    {"finit_module", -1},
    {"delete_module", -1},
    {"io_uring_setup", 425},
    {"io_uring_enter", 426},
    {"io_uring_register", 427},
    {"reboot", -1},
    {"swapon", -1},
    {"swapoff", -1},
    {"keyctl", -1},
    {"add_key", -1},
    {"request_key", -1},
    {"userfaultfd", -1},
    {"open_by_handle_at", -1},
    {"name_to_handle_at", -1},
    {"acct", -1},
    {"settimeofday", -1},
    {"clock_settime", -1},
    {"clock_adjtime", -1},
    {"adjtimex", -1},
    {"syslog", -1},
    {"quotactl", -1},
    {"quotactl_fd", 443},
    {"lookup_dcookie", -1},
    {"fanotify_init", -1},
    {"iopl", -1},
    {"ioperm", -1},
    {"vhangup", -1},
};

// (CLONE_NEWTIME exists only for clone3 and unshare: in clone(2) its bit is
// part of the exit signal.)
constexpr unsigned long kNewNamespaceFlags[] = {CLONE_NEWNS,    CLONE_NEWUTS, CLONE_NEWIPC,
                                                CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
                                                CLONE_NEWCGROUP};

struct Ctx {
  scmp_filter_ctx ctx = nullptr;
  Ctx() = default;
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  ~Ctx() {
    if (ctx) seccomp_release(ctx);
  }
};

Result<std::unique_ptr<Ctx>> build() {
  auto c = std::make_unique<Ctx>();
  c->ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!c->ctx) return Error{"seccomp_init failed"};
  for (const auto& b : kBlocked) {
    int nr = seccomp_syscall_resolve_name(b.name);
    if (nr == __NR_SCMP_ERROR) nr = b.number;
    if (nr < 0) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(c->ctx, SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0)
      return Error{fmt::format("seccomp: cannot block {}: {}", b.name, std::strerror(-rc))};
  }
  // clone(2) asking for any new namespace: EPERM. clone3 passes its flags in
  // memory the filter cannot read: ENOSYS makes libc fall back to clone.
  // (One rule per flag: a rule matches when (flags & FLAG) == FLAG.)
  int clone_nr = seccomp_syscall_resolve_name("clone");
  if (clone_nr != __NR_SCMP_ERROR)
    for (unsigned long flag : kNewNamespaceFlags)
      if (int rc = seccomp_rule_add(c->ctx, SCMP_ACT_ERRNO(EPERM), clone_nr, 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
          rc != 0)
        return Error{fmt::format("seccomp: cannot filter clone: {}", std::strerror(-rc))};
  int clone3_nr = seccomp_syscall_resolve_name("clone3");
  if (clone3_nr == __NR_SCMP_ERROR) clone3_nr = 435;
  if (int rc = seccomp_rule_add(c->ctx, SCMP_ACT_ERRNO(ENOSYS), clone3_nr, 0); rc != 0)
    return Error{fmt::format("seccomp: cannot block clone3: {}", std::strerror(-rc))};
  return c;
}

}  // namespace

std::span<const BlockedSyscall> blocked_syscalls() { return kBlocked; }

Result<int> seccomp_program_fd() {
  auto c = build();
  if (!c.ok()) return c.error();
  int fd = ::memfd_create("bastion-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error{fmt::format("memfd_create: {}", std::strerror(errno))};
  if (fd < 3) {  // never one of stdio: the child puts its pipes there
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    fd = high;
    if (fd < 0) return Error{fmt::format("fcntl: {}", std::strerror(errno))};
  }
  if (int rc = seccomp_export_bpf(c.value()->ctx, fd); rc != 0) {
    ::close(fd);
    return Error{fmt::format("cannot export the seccomp filter: {}", std::strerror(-rc))};
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

int install_seccomp_filter() {
  auto c = build();
  if (!c.ok()) return EINVAL;
  int rc = seccomp_load(c.value()->ctx);
  return rc == 0 ? 0 : -rc;
}

}  // namespace bastion::sandbox
