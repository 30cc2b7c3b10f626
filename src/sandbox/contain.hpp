// The steps bwrap and process runtimes share, composed in one place
// (nsjail's contain.cc): who the server runs as, its cgroup, how its
// processes are bounded, its rlimits — and the child setup that applies
// them. Docker has the daemon do all of this.
#pragma once

#include <string>
#include <vector>

#include "sandbox/cgroups.hpp"
#include "sandbox/host.hpp"
#include "sandbox/identity.hpp"
#include "sandbox/options.hpp"
#include "sandbox/rlimits.hpp"
#include "sandbox/spawn.hpp"

namespace bastion::sandbox {

struct Containment {
  Identity identity;
  CgroupLeaf cgroup;
  PidsBound pids = PidsBound::kNone;
  RlimitPlan rlimits;
  std::vector<std::string> enforced;
};

// Decides and prepares (makes the cgroup leaf). On error nothing is left
// behind. undo() removes what it made.
Result<Containment> contain(const SandboxOptions& opts, const Host& host,
                            const std::string& server);
void undo(const Containment& c, const Host& host);

// Fills the child setup: cgroups, rlimits, user switch, no_new_privs, the
// per-namespace RLIMIT_NPROC.
void apply(const Containment& c, const SandboxOptions& opts, ChildSetup& setup);

// Creates the missing read_write directories (owned by the server's user
// when Bastion is root). Error naming the path.
Result<Done> prepare_writable(const std::vector<std::string>& paths, const Identity& id);

}  // namespace bastion::sandbox
