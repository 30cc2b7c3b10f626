// The Runtime seam: how a server is started, chosen once per server from
// its configuration (make_runtime) and asked for a launch plan at every
// start. bwrap, docker and process implement it; tests can implement it
// too, or give the real ones a fake Host.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/error.hpp"
#include "sandbox/host.hpp"
#include "sandbox/options.hpp"
#include "sandbox/spawn.hpp"

namespace bastion::sandbox {

struct LaunchRequest {
  std::string name;                        // the server's name
  std::vector<std::string> argv;           // its command
  std::map<std::string, std::string> env;  // its own variables (env: and secrets:)
  std::set<std::string> secret_vars;       // which of them hold secrets
  std::string cwd;
};

// What a runtime decided for one start. `cleanup` undoes host-side state
// (cgroup, private HOME, container) once the child is gone; owned_fds are
// closed by the caller after spawn.
struct LaunchPlan {
  ProcessSpec spec;
  std::vector<std::string> enforced;  // for the log line: "pids.max=256 (cgroup v1)", ...
  std::vector<int> owned_fds;
  std::function<void()> cleanup;
};

// Thread-safe: plan() may run for several starts at once.
class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual RuntimeKind kind() const = 0;
  std::string_view name() const { return to_string(kind()); }
  // Everything needed to start one instance, or why it must not start
  // (a bind that would expose a secret, a limit that cannot hold, ...).
  virtual Result<LaunchPlan> plan(const LaunchRequest& req) const = 0;
};

// `host` must outlive the runtime (Host::system() does).
std::shared_ptr<const Runtime> make_runtime(const SandboxOptions& opts, const Host& host);

}  // namespace bastion::sandbox
