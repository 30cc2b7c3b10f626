// runtime: docker — `docker run -i --rm` (or `docker exec -i` into a
// container someone else manages) as an unprivileged uid:gid (`--user`,
// this server's own by default, whoever runs Bastion), with all
// capabilities dropped and no-new-privileges, no network unless granted,
// a read-only root file system with a tmpfs /tmp that is also HOME, and
// --pids-limit / --memory from limits. The server's environment goes to the
// docker CLI in its exec environment and is named on its command line
// without values (`-e NAME`), so no value is ever on a command line.
// Killing the CLI does not stop its container: cleanup removes it by name,
// and at start the containers a crashed Bastion left are removed.
#pragma once

#include <cstddef>
#include <string>

#include "sandbox/runtime.hpp"

namespace bastion::sandbox {

class DockerRuntime : public Runtime {
 public:
  DockerRuntime(SandboxOptions opts, const Host& host) : opts_(std::move(opts)), host_(host) {}
  RuntimeKind kind() const override { return RuntimeKind::kDocker; }
  Result<LaunchPlan> plan(const LaunchRequest& req) const override;

 private:
  SandboxOptions opts_;
  const Host& host_;
};

// Removes containers labelled bastion.managed=1 and bastion.instance=<instance>
// (left behind by a bastion that crashed); returns how many. Best effort.
std::size_t remove_stale_containers(const std::string& docker_bin, const std::string& instance);

}  // namespace bastion::sandbox
