// The default runtime: bubblewrap. The server runs as an unprivileged host
// uid (identity.hpp) in new user, pid, ipc, uts and cgroup namespaces
// (network too unless granted), with no capabilities (--cap-drop ALL),
// no_new_privs, no way to make further user namespaces (--disable-userns),
// the seccomp filter (seccomp.hpp), a read-only view of /usr and a few
// files of /etc, /proc with /proc/sys read-only, a private /tmp that is
// also its HOME, and only the binds binds.hpp allows. bwrap gets exactly
// the server's environment and passes it on: no value is ever on its
// command line.
#pragma once

#include <string>
#include <vector>

#include "sandbox/binds.hpp"
#include "sandbox/runtime.hpp"

namespace bastion::sandbox {

class BwrapRuntime : public Runtime {
 public:
  BwrapRuntime(SandboxOptions opts, const Host& host) : opts_(std::move(opts)), host_(host) {}
  RuntimeKind kind() const override { return RuntimeKind::kBwrap; }
  Result<LaunchPlan> plan(const LaunchRequest& req) const override;

 private:
  SandboxOptions opts_;
  const Host& host_;
};

// bwrap's arguments for these binds and options (no seccomp descriptor:
// -1), up to and including "--"; pure, for tests.
std::vector<std::string> bwrap_arguments(const SandboxOptions& opts, const std::vector<Bind>& binds,
                                         const std::string& cwd, int seccomp_fd);

}  // namespace bastion::sandbox
