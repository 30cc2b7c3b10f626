// What this machine allows, probed once: runtimes consult a Host instead of
// the OS, so tests can describe another machine (a fake cgroup tree, no
// bwrap, no user namespaces, another euid).
#pragma once

#include <string>
#include <vector>

#include "sandbox/cgroups.hpp"
#include "sandbox/identity.hpp"

namespace bastion::sandbox {

struct Host {
  IdentityHost identity;         // euid, user lookup
  bool bwrap = false;            // bwrap makes its namespaces as a server's user would
  bool user_namespaces = false;  // a server's user may unshare(CLONE_NEWUSER)
  CgroupFs* cgroup_fs = nullptr;
  std::vector<std::string> home_dirs;

  // This machine, probed on first use (as an unprivileged user when Bastion
  // is root, since that is who will run bwrap). Thread-safe.
  static const Host& system();
};

}  // namespace bastion::sandbox
