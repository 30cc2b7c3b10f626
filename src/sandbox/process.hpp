// runtime: process — no isolation: no namespaces, no seccomp, the whole
// file system as its uid sees it. Only when configured explicitly; Bastion
// warns at start. What still holds: the server is never root (as root
// Bastion switches it to its own uid), no_new_privs, its limits (cgroup or
// RLIMIT_NPROC in its own user namespace), a fixed PATH and a private HOME
// made for this instance and removed after it, and no descriptor of
// Bastion's.
#pragma once

#include "sandbox/runtime.hpp"

namespace bastion::sandbox {

class ProcessRuntime : public Runtime {
 public:
  ProcessRuntime(SandboxOptions opts, const Host& host) : opts_(std::move(opts)), host_(host) {}
  RuntimeKind kind() const override { return RuntimeKind::kProcess; }
  Result<LaunchPlan> plan(const LaunchRequest& req) const override;

 private:
  SandboxOptions opts_;
  const Host& host_;
};

}  // namespace bastion::sandbox
