// console: the operators' web console and its JSON admin API (console.hpp).
//
//   console:
//     enabled: true          # default: true when the section is present; no section: off
//     path: /console         # where the pages and /console/api live
//     admins:                # may act (restart, approve, revoke, reload, create clients)
//       users: [alice]
//       groups: [ops]
//     viewers:               # may look; a user in neither list is refused (403)
//       users: [bob]
//       groups: [engineering]
//
// Safe default: without a `console:` section there is no console at all,
// and a console only ever lets in users these lists name (nobody, when
// they are empty). It needs the sign-in pages (auth.login): operators sign
// in through Bastion's own authorization server.
//
// Thread-safety: values and free functions only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace bastion::console {

struct Members {
  std::vector<std::string> users;   // subjects: "alice", "corp|00u1abc"
  std::vector<std::string> groups;  // group names (auth.access groups or a provider's claims)
};

struct ConsoleOptions {
  bool enabled = false;
  std::string path = "/console";  // no trailing slash
  Members admins;
  Members viewers;
};

// Reads /console; throws config::ConfigError (FILE:LINE:COL) on a bad value.
ConsoleOptions read_console_options(const config::Document& doc);

enum class Role { kNone, kViewer, kAdmin };
std::string_view to_string(Role r);

// The role of a signed-in user: admin if named (or a group of theirs is)
// under admins, else viewer if under viewers, else none.
Role role_of(const ConsoleOptions& o, std::string_view subject,
             const std::vector<std::string>& groups);

}  // namespace bastion::console
