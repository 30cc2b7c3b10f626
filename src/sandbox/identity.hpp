// Which host user a server runs as. Bastion never runs a server as root: as
// root it switches the child to an unprivileged uid and gid (setgroups,
// setgid, setuid) before anything of the server runs, so what the server
// does is what that uid may do on the host — seen as that uid from the
// host, not merely a different uid inside a namespace. By default every
// server gets its own uid from a range, so servers cannot signal, trace or
// read each other's /proc, and RLIMIT_NPROC and file ownership are per
// server. As any other user Bastion cannot switch: servers run as Bastion's
// own uid and the sandbox (namespaces, seccomp) is what separates them.
// Docker containers always get the identity (`--user`), whoever runs Bastion.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sandbox/error.hpp"

namespace bastion::sandbox {

// gateway.sandbox: who servers run as.
struct IdentityOptions {
  // auto: one uid per server from `uid_first`..`uid_first + uid_count - 1`
  // (as root, and always for docker); else NAME, UID or UID:GID.
  std::string user = "auto";
  std::uint32_t uid_first = 1000000000;  // far above login users and subordinate-uid ranges
  std::uint32_t uid_count = 1000000;
};

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;  // the child calls setgroups/setgid/setuid
  std::string description;   // for the "started ... under" log line
};

// The OS behind identity decisions, replaceable in tests.
struct IdentityHost {
  uid_t euid = 0;
  gid_t egid = 0;
  // NAME -> (uid, primary gid); nullopt when there is no such user.
  std::function<std::optional<std::pair<uid_t, gid_t>>(const std::string&)> lookup;
  static IdentityHost system();
};

// `user` is the server's `user:` (empty: the gateway default). `key` names
// the server uniquely on this host (instance/name): an automatic uid is a
// hash of it, stable across restarts so files a server wrote stay its own.
// `container`: for docker, where the daemon switches users for us.
Result<Identity> resolve_identity(const IdentityOptions& opts, const std::string& user,
                                  const std::string& key, bool container, const IdentityHost& host);

// "1000000000-1000999999" -> (first, count); nullopt when malformed.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_uid_range(const std::string& s);

}  // namespace bastion::sandbox
