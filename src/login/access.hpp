// Who may use what: the configuration maps users and groups to scopes
// (auth.access). A signed-in user may grant a client at most the scopes
// this gives them; the consent page offers nothing else.
//
//   auth:
//     access:
//       default_scopes: []                   # every signed-in user (default: none)
//       users:                               # subject -> scopes
//         alice: [mcp.access]
//         "corp|00u1abc": ["mcp:server:weather"]   # a federated user: <provider>|<sub>
//       groups:
//         engineering:
//           members: [bob, carol]            # local users (federated users get groups from claims)
//           scopes: ["mcp:server:github", "mcp:tool:db/query"]
//
// Thread-safety: immutable after parsing.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace bastion::login {

struct Group {
  std::vector<std::string> members;
  std::vector<std::string> scopes;
};

class Access {
 public:
  // Reads auth.access (absent: nobody holds anything). Throws
  // config::ConfigError with FILE:LINE:COL and the key.
  static Access read(config::Reader section);

  // The groups of `subject`: those whose members name it, plus `claimed`
  // (a federated user's groups, already mapped by the provider settings)
  // that this configuration defines. Sorted, unique.
  std::vector<std::string> groups_of(std::string_view subject,
                                     const std::vector<std::string>& claimed = {}) const;
  // Every scope `subject` holds: defaults, its own, its groups'. Sorted, unique.
  std::vector<std::string> scopes_for(std::string_view subject,
                                      const std::vector<std::string>& claimed_groups = {}) const;

  const std::vector<std::string>& default_scopes() const { return default_scopes_; }

 private:
  std::vector<std::string> default_scopes_;
  std::map<std::string, std::vector<std::string>, std::less<>> users_;
  std::map<std::string, Group, std::less<>> groups_;
};

// Whether a user holding `held` may grant `requested` (offline_access is
// always grantable: it only asks for a refresh token).
bool may_grant(const std::vector<std::string>& held, std::string_view requested);

}  // namespace bastion::login
