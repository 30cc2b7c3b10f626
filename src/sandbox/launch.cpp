#include "sandbox/launch.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "sandbox/bwrap.hpp"
#include "sandbox/docker.hpp"
#include "sandbox/process.hpp"

namespace bastion::sandbox {

std::string_view to_string(RuntimeKind k) {
  switch (k) {
    case RuntimeKind::kBwrap:
      return "bwrap";
    case RuntimeKind::kDocker:
      return "docker";
    case RuntimeKind::kProcess:
      return "process";
  }
  return "?";
}

std::optional<RuntimeKind> parse_runtime(std::string_view s) {
  if (s == "bwrap") return RuntimeKind::kBwrap;
  if (s == "docker") return RuntimeKind::kDocker;
  if (s == "process") return RuntimeKind::kProcess;
  return std::nullopt;
}

std::shared_ptr<const Runtime> make_runtime(const SandboxOptions& opts, const Host& host) {
  switch (opts.runtime) {
    case RuntimeKind::kDocker:
      return std::make_shared<DockerRuntime>(opts, host);
    case RuntimeKind::kProcess:
      return std::make_shared<ProcessRuntime>(opts, host);
    case RuntimeKind::kBwrap:
      break;
  }
  return std::make_shared<BwrapRuntime>(opts, host);
}

bool bwrap_available() { return Host::system().bwrap; }

std::size_t remove_stale_cgroups(const std::string& cgroup_root, const Host& host) {
  if (!host.cgroup_fs) return 0;
  auto layout = CgroupLayout::detect(cgroup_root, *host.cgroup_fs);
  std::size_t n = remove_stale_cgroup_leaves(
      layout, *host.cgroup_fs, [](pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; });
  if (n) spdlog::info("removed {} cgroup(s) left by an earlier bastion", n);
  return n;
}

Result<std::vector<std::string>> preflight(const SandboxOptions& opts, const Host& host,
                                           const LaunchRequest& req) {
  auto plan = make_runtime(opts, host)->plan(req);
  if (!plan.ok()) return plan.error();
  for (int fd : plan->owned_fds) ::close(fd);
  if (plan->cleanup && opts.runtime != RuntimeKind::kDocker) plan->cleanup();
  return plan->enforced;
}

}  // namespace bastion::sandbox
