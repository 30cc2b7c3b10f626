#include "sandbox/spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace bastion::sandbox {

namespace {
std::mutex g_mu;
std::set<pid_t> g_children;

}  // namespace

ProcessHandle spawn_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("empty command");
  int in[2], out[2], err[2], status[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC) ||
      ::pipe2(status, O_CLOEXEC))
    throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));

  // Everything the child needs is prepared before fork: no allocation after.
  std::vector<char*> argv;
  for (auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = ::getpid();

  std::lock_guard lk(g_mu);  // registry and fork stay consistent
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::setpgid(0, 0);
    // Dies with the forking thread; bastion's I/O threads live until exit.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    for (const auto& [res, value] : spec.setup.rlimits) {
      struct rlimit rl {
        value, value
      };
      ::setrlimit(res, &rl);
    }
    for (const auto& procs : spec.setup.cgroup_procs) {
      int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        [[maybe_unused]] auto w = ::write(fd, "0", 1);
        ::close(fd);
      }
    }
    for (int fd : spec.setup.inherit_fds) ::fcntl(fd, F_SETFD, 0);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      int e = errno;
      [[maybe_unused]] auto w = ::write(status[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    [[maybe_unused]] auto w = ::write(status[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(status[1]);
  int child_errno = 0;
  ssize_t n;
  do n = ::read(status[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  ::close(status[0]);
  if (n > 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error(
        fmt::format("cannot run '{}': {}", spec.argv[0], std::strerror(child_errno)));
  }
  g_children.insert(pid);
  return ProcessHandle{pid, in[1], out[0], err[0]};
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

std::vector<pid_t> live_children() {
  std::lock_guard lk(g_mu);
  return {g_children.begin(), g_children.end()};
}

void terminate_all_children(std::chrono::milliseconds grace) {
  for (pid_t p : live_children()) terminate_process(p, grace);
}

}  // namespace bastion::sandbox
