// How one server is to be confined, as read from its configuration (and
// the gateway-wide sandbox settings). Plain data; runtime.hpp turns it into
// a Runtime once, and the Runtime into a launch plan at every start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/identity.hpp"
#include "sandbox/rlimits.hpp"

namespace bastion::sandbox {

enum class RuntimeKind {
  kBwrap,    // namespaces, seccomp, a read-only view of only what the server needs
  kDocker,   // docker run (or exec) with no network, read-only root, no capabilities
  kProcess,  // no isolation (only when configured explicitly)
};

std::string_view to_string(RuntimeKind k);
std::optional<RuntimeKind> parse_runtime(std::string_view s);

struct SandboxOptions {
  RuntimeKind runtime = RuntimeKind::kBwrap;
  bool network = false;                 // grant network access
  std::vector<std::string> read_only;   // host paths visible read-only (same path inside)
  std::vector<std::string> read_write;  // host paths visible read-write (created when missing)
  bool seccomp = true;                  // bwrap: block dangerous syscalls
  Limits limits;
  std::string user;  // this server's `user:`; empty: identity.user
  // docker runtime
  std::string image;      // docker run IMAGE ...
  std::string container;  // docker exec -i CONTAINER ... (the seed's mode)
  std::string docker_bin = "docker";
  std::string instance = "default";  // label value bastion.instance=<instance>
  // gateway-wide (gateway.sandbox) and from the rest of the configuration
  IdentityOptions identity;
  std::string cgroup_root = "/sys/fs/cgroup";
  // Never visible to a server in whole or in part: data_dir, the audit
  // directory, secret files, the configuration files.
  std::vector<std::string> protected_paths;
};

}  // namespace bastion::sandbox
