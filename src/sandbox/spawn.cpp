#include "sandbox/spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "sandbox/clone_into.hpp"
#include "sandbox/descriptors.hpp"

namespace bastion::sandbox {

namespace {

std::mutex g_mu;
std::set<pid_t> g_children;
std::atomic<bool> g_clone_into{true};
std::atomic<std::uint64_t> g_born_in_cgroup{0};

// The first of `procs` (cgroup.procs files) on a cgroup2 file system: its
// directory opened for clone3's CLONE_INTO_CGROUP, and its index; {-1, 0}
// when there is none or it cannot be opened (the child then joins by
// writing, which reports the error).
std::pair<int, std::size_t> open_v2_leaf(const std::vector<std::string>& procs) {
  for (std::size_t i = 0; i < procs.size(); ++i) {
    auto slash = procs[i].rfind('/');
    if (slash == std::string::npos || slash == 0) continue;
    std::string dir = procs[i].substr(0, slash);
    struct statfs fs;
    if (::statfs(dir.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) continue;
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) return {fd, i};
  }
  return {-1, 0};
}

// What failed in the child, sent to the parent over a close-on-exec pipe.
enum Step : int {
  kCgroup = 1,
  kRlimit,
  kSetgroups,
  kSetgid,
  kSetuid,
  kDeathSignal,
  kNoNewPrivs,
  kAccess,
  kUserns,
  kUsernsMap,
  kNproc,
  kDescriptors,
  kChdir,
  kExec,
};

struct Failure {
  int step = 0;
  int index = 0;
  int err = 0;
};

[[noreturn]] void fail_child(int fd, Step step, int index, int err) {
  Failure f{step, index, err};
  [[maybe_unused]] auto w = ::write(fd, &f, sizeof f);
  ::_exit(127);
}

// Writes a whole string to a file in the child (no allocation).
int write_file(const char* path, const char* data, std::size_t len) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, data, len);
  int e = n == static_cast<ssize_t>(len) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return e;
}

// argv[0] as an absolute path: execve does no search of its own, and the
// PATH that counts is the one the server is meant to use, not ours.
std::optional<std::string> find_program(const std::string& name, const std::string& search) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = search;
  if (path.empty()) {
    const char* p = std::getenv("PATH");
    path = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  std::size_t start = 0;
  for (;;) {
    auto end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + name;
      struct stat st;
      if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(cand.c_str(), X_OK) == 0)
        return cand;
    }
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

const char* access_verb(int mode) {
  if (mode & W_OK) return "write to";
  if (mode & R_OK) return "read";
  return "reach";
}

std::string describe(const ProcessSpec& spec, const Failure& f) {
  const auto& s = spec.setup;
  auto err = [&] { return std::string(std::strerror(f.err)); };
  std::string who = s.user ? fmt::format("uid {} gid {}", s.user->uid, s.user->gid)
                           : fmt::format("uid {}", ::geteuid());
  switch (f.step) {
    case kCgroup:
      return fmt::format("cannot join cgroup {}: {}", s.cgroup_procs.at(f.index), err());
    case kRlimit:
      return fmt::format("cannot set resource limit {}: {}", s.rlimits.at(f.index).first, err());
    case kSetgroups:
    case kSetgid:
    case kSetuid:
      return fmt::format("cannot switch to {}: {}", who, err());
    case kDeathSignal:
      return "Bastion exited while the server was starting";
    case kNoNewPrivs:
      return fmt::format("cannot set no_new_privs: {}", err());
    case kAccess: {
      const auto& a = s.access.at(f.index);
      return fmt::format(
          "{} cannot {} {}: {}: make it {} by that user (every directory above it must be "
          "searchable), or choose another user with `user:`",
          who, access_verb(a.mode), a.path, err(), a.mode & W_OK ? "writable" : "readable");
    }
    case kUserns:
    case kUsernsMap:
      return fmt::format(
          "cannot create the user namespace that bounds this server's processes (limits.pids): "
          "{}",
          err());
    case kNproc:
      return fmt::format("cannot set RLIMIT_NPROC: {}", err());
    case kDescriptors:
      return fmt::format("cannot set up descriptors: {}", err());
    case kChdir:
      return fmt::format("cannot change to directory {}: {}", spec.cwd, err());
    case kExec:
    default:
      return fmt::format("cannot run '{}': {}", spec.argv[0], err());
  }
}

// Bastion's half of the user namespace handshake: once the child says it
// made its namespace, its maps (the server's own uid and gid, nothing else),
// then the go. A child that failed before (its failure is on the status
// pipe) closes `ready` without a byte; one whose maps cannot be written
// gets no go and fails itself (kUsernsMap), which the status pipe reports.
// Returns the errno of a map that could not be written, else 0.
int write_userns_maps(pid_t pid, int ready, int go, const std::string& uid_map,
                      const std::string& gid_map) {
  char b;
  ssize_t r;
  do r = ::read(ready, &b, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1) return 0;
  const std::string dir = fmt::format("/proc/{}/", pid);
  int e = write_file((dir + "setgroups").c_str(), "deny", 4);
  if (!e) e = write_file((dir + "uid_map").c_str(), uid_map.data(), uid_map.size());
  if (!e) e = write_file((dir + "gid_map").c_str(), gid_map.data(), gid_map.size());
  if (e) return e;
  b = 'g';
  while (::write(go, &b, 1) < 0 && errno == EINTR) {
  }
  return 0;
}

}  // namespace

Result<ProcessHandle> spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error{"empty command"};
  const auto& setup = spec.setup;
  for (int fd : setup.inherit_fds)
    if (fd < 3) return Error{fmt::format("descriptor {} cannot be passed on: it is stdio", fd)};
  auto program = find_program(spec.argv[0], spec.search_path);
  if (!program)
    return Error{fmt::format("cannot run '{}': not found in PATH ({})", spec.argv[0],
                             spec.search_path.empty() ? "Bastion's" : spec.search_path)};

  // Everything the child needs is prepared before fork: no allocation after.
  std::vector<char*> argv;
  for (auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  uid_t final_uid = setup.user ? setup.user->uid : ::geteuid();
  gid_t final_gid = setup.user ? setup.user->gid : ::getegid();
  std::string uid_map = fmt::format("{} {} 1\n", final_uid, final_uid);
  std::string gid_map = fmt::format("{} {} 1\n", final_gid, final_gid);
  pid_t parent = ::getpid();

  int in[2], out[2], err[2], status[2];
  if (::pipe2(in, O_CLOEXEC)) return Error{fmt::format("pipe: {}", std::strerror(errno))};
  if (::pipe2(out, O_CLOEXEC)) {
    int e = errno;
    ::close(in[0]), ::close(in[1]);
    return Error{fmt::format("pipe: {}", std::strerror(e))};
  }
  if (::pipe2(err, O_CLOEXEC)) {
    int e = errno;
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return Error{fmt::format("pipe: {}", std::strerror(e))};
  }
  if (::pipe2(status, O_CLOEXEC)) {
    int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    return Error{fmt::format("pipe: {}", std::strerror(e))};
  }
  // The user namespace's handshake: the child says it made the namespace,
  // Bastion answers once it wrote the maps.
  int userns_ready[2] = {-1, -1}, userns_go[2] = {-1, -1};
  if (setup.nproc_userns &&
      (::pipe2(userns_ready, O_CLOEXEC) != 0 || ::pipe2(userns_go, O_CLOEXEC) != 0)) {
    int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], status[0], status[1],
                   userns_ready[0], userns_ready[1]})
      if (fd >= 0) ::close(fd);
    return Error{fmt::format("pipe: {}", std::strerror(e))};
  }
  // Kept across the descriptor sweep: the inherited ones, and the status
  // and handshake pipes (close-on-exec: gone once exec succeeds).
  std::vector<int> keep = setup.inherit_fds;
  keep.push_back(status[1]);
  if (setup.nproc_userns) {
    keep.push_back(userns_ready[1]);
    keep.push_back(userns_go[0]);
  }
  if (setup.hold_before_exec_fd >= 0) keep.push_back(setup.hold_before_exec_fd);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  int high = keep.back() + 1;

  // A v2 leaf is entered at birth (clone3); anything else is joined by the
  // child writing cgroup.procs. `born_in` is the index of the one entered.
  auto [leaf_fd, leaf_index] = g_clone_into.load(std::memory_order_relaxed)
                                   ? open_v2_leaf(setup.cgroup_procs)
                                   : std::pair<int, std::size_t>{-1, 0};
  std::size_t born_in = setup.cgroup_procs.size();

  std::lock_guard lk(g_mu);  // registry and fork stay consistent
  pid_t pid = -1;
  if (leaf_fd >= 0) {
    pid = clone_into_cgroup(leaf_fd);
    if (pid >= 0) born_in = leaf_index;
    if (pid > 0) {
      ::close(leaf_fd);
      g_born_in_cgroup.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (pid < 0) {
    if (leaf_fd >= 0) ::close(leaf_fd);  // ENOSYS, EBUSY, ...: fork and write
    pid = ::fork();
  }
  if (pid < 0) {
    int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], status[0], status[1],
                   userns_ready[0], userns_ready[1], userns_go[0], userns_go[1]})
      if (fd >= 0) ::close(fd);
    return Error{fmt::format("fork: {}", std::strerror(e))};
  }
  if (pid == 0) {
    int sfd = status[1];
    ::setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    // 1. stdio on the pipes (moved clear of 0-2 first, in case Bastion was
    // started with one of them closed), then nothing else but `keep`. First,
    // before RLIMIT_NOFILE is lowered: with more connections open than the
    // server's open_files limit, Bastion's descriptors are numbered above it
    // and F_DUPFD to such a number would fail (EINVAL) after the limit.
    int s0 = ::fcntl(in[0], F_DUPFD, high);
    int s1 = ::fcntl(out[1], F_DUPFD, high);
    int s2 = ::fcntl(err[1], F_DUPFD, high);
    if (s0 < 0 || s1 < 0 || s2 < 0) fail_child(sfd, kDescriptors, 0, errno);
    if (::dup2(s0, 0) < 0 || ::dup2(s1, 1) < 0 || ::dup2(s2, 2) < 0)
      fail_child(sfd, kDescriptors, 1, errno);
    for (int fd : setup.inherit_fds)
      if (::fcntl(fd, F_SETFD, 0) != 0) fail_child(sfd, kDescriptors, 2, errno);
    if (int e = close_fds_except(keep.data(), keep.size())) fail_child(sfd, kDescriptors, 3, e);
    // 2. cgroups, while we still have Bastion's rights (the one clone3
    // created us in is joined already).
    for (std::size_t i = 0; i < setup.cgroup_procs.size(); ++i)
      if (i != born_in)
        if (int e = write_file(setup.cgroup_procs[i].c_str(), "0", 1))
        fail_child(sfd, kCgroup, static_cast<int>(i), e);
    // 3. resource limits.
    for (std::size_t i = 0; i < setup.rlimits.size(); ++i) {
      struct rlimit rl {
        setup.rlimits[i].second, setup.rlimits[i].second
      };
      if (::setrlimit(setup.rlimits[i].first, &rl) != 0)
        fail_child(sfd, kRlimit, static_cast<int>(i), errno);
    }
    // 4. the server's user; no supplementary groups of Bastion's survive.
    // Raw system calls: glibc's wrappers broadcast the change to every
    // thread it knows of and take its thread-list lock, and after a raw
    // clone3 that list (and the lock's state) is the parent's. The child
    // has one thread, whose credentials are all there is to change.
    if (setup.user) {
      const auto uid = setup.user->uid;
      const auto gid = setup.user->gid;
      if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail_child(sfd, kSetgroups, 0, errno);
      if (::syscall(SYS_setresgid, gid, gid, gid) != 0) fail_child(sfd, kSetgid, 0, errno);
      if (::syscall(SYS_setresuid, uid, uid, uid) != 0) fail_child(sfd, kSetuid, 0, errno);
      if (::getuid() != setup.user->uid || ::geteuid() != setup.user->uid ||
          ::getgid() != setup.user->gid)
        fail_child(sfd, kSetuid, 0, EPERM);
    }
    // After the uid change, which clears it. Dies with the forking thread;
    // bastion's I/O threads live until exit.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) fail_child(sfd, kDeathSignal, 0, 0);
    if (setup.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      fail_child(sfd, kNoNewPrivs, 0, errno);
    // 5. what the server needs, as the server's user.
    for (std::size_t i = 0; i < setup.access.size(); ++i)
      if (::access(setup.access[i].path.c_str(), setup.access[i].mode) != 0)
        fail_child(sfd, kAccess, static_cast<int>(i), errno);
    // 6. a user namespace whose process count is this server's alone. Made
    // as the server's user (it owns it) and still not dumpable: Bastion
    // writes the maps from outside (the child could only write its own
    // after making itself dumpable, which would let any process of the
    // server's uid trace this copy of Bastion until exec).
    if (setup.nproc_userns) {
      if (::unshare(CLONE_NEWUSER) != 0) fail_child(sfd, kUserns, 0, errno);
      char b = 'u';
      if (::write(userns_ready[1], &b, 1) != 1) fail_child(sfd, kUsernsMap, 0, errno);
      ssize_t r;
      do r = ::read(userns_go[0], &b, 1);
      while (r < 0 && errno == EINTR);
      if (r != 1) fail_child(sfd, kUsernsMap, 1, r < 0 ? errno : EPIPE);
      struct rlimit rl {
        setup.nproc_userns, setup.nproc_userns
      };
      if (::setrlimit(RLIMIT_NPROC, &rl) != 0) fail_child(sfd, kNproc, 0, errno);
    }
    if (setup.hold_before_exec_fd >= 0) {
      char b;
      while (::read(setup.hold_before_exec_fd, &b, 1) < 0 && errno == EINTR) {
      }
    }
    // 7.
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) fail_child(sfd, kChdir, 0, errno);
    ::execve(program->c_str(), argv.data(), envp.data());
    fail_child(sfd, kExec, 0, errno);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(status[1]);
  int maps_err = 0;
  if (setup.nproc_userns) {
    ::close(userns_ready[1]);
    ::close(userns_go[0]);
    maps_err = write_userns_maps(pid, userns_ready[0], userns_go[1], uid_map, gid_map);
    ::close(userns_ready[0]);
    ::close(userns_go[1]);
  }
  Failure f;
  ssize_t n;
  do n = ::read(status[0], &f, sizeof f);
  while (n < 0 && errno == EINTR);
  ::close(status[0]);
  if (n > 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    ::waitpid(pid, nullptr, 0);
    if (f.step == kUsernsMap && maps_err) f.err = maps_err;  // why Bastion gave no go
    return Error{describe(spec, f)};
  }
  g_children.insert(pid);
  return ProcessHandle{pid, in[1], out[0], err[0]};
}

ProcessHandle spawn_process(const ProcessSpec& spec) {
  auto r = spawn(spec);
  if (!r.ok()) throw std::runtime_error(r.reason());
  return r.value();
}

int wait_process(pid_t pid) {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  std::lock_guard lk(g_mu);
  g_children.erase(pid);
  return status;
}

void terminate_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  {
    std::lock_guard lk(g_mu);
    if (!g_children.count(pid)) return;
  }
  ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Whatever else is left in the group (grandchildren) goes too.
  ::kill(-pid, SIGKILL);
  std::lock_guard lk(g_mu);
  g_children.erase(pid);
}

void set_clone_into_cgroup(bool enabled) { g_clone_into.store(enabled); }

std::uint64_t children_born_in_cgroup() { return g_born_in_cgroup.load(); }

std::vector<pid_t> live_children() {
  std::lock_guard lk(g_mu);
  return {g_children.begin(), g_children.end()};
}

void terminate_all_children(std::chrono::milliseconds grace) {
  for (pid_t p : live_children()) terminate_process(p, grace);
}

}  // namespace bastion::sandbox
