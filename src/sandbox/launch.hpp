// How an upstream server is confined: the module's front door. A server's
// configuration (SandboxOptions) becomes a Runtime once (make_runtime); at
// every start the Runtime makes a LaunchPlan — the real command line,
// environment and pre-exec setup — and says what it enforced (the reason
// goes to the log and audit):
//   bwrap    bwrap.hpp: namespaces, seccomp, only the binds it needs
//   docker   docker.hpp: docker run/exec as an unprivileged user
//   process  process.hpp: no isolation (only when configured explicitly)
// Mechanisms, one file each: identity (who the server runs as), binds
// (what it sees), environment, seccomp, cgroups, rlimits, descriptors,
// spawn (fork/exec); contain composes the ones bwrap and process share.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/docker.hpp"
#include "sandbox/host.hpp"
#include "sandbox/options.hpp"
#include "sandbox/runtime.hpp"

namespace bastion::sandbox {

// Whether bwrap can create namespaces here (probed once).
bool bwrap_available();

// Removes the empty cgroup leaves of Bastions that no longer run, under
// `cgroup_root`; returns how many.
std::size_t remove_stale_cgroups(const std::string& cgroup_root, const Host& host);

// For `doctor`: what starting this server would enforce, or why it would
// be refused — without starting it (a cgroup leaf is made and removed).
Result<std::vector<std::string>> preflight(const SandboxOptions& opts, const Host& host,
                                           const LaunchRequest& req);

}  // namespace bastion::sandbox
