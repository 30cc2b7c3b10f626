#include "login/access.hpp"

#include <algorithm>
#include <stdexcept>

#include "auth/scopes.hpp"

namespace bastion::login {

namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& at, std::string_view what) {
  throw std::invalid_argument(at + ": " + std::string(what));
}

std::vector<std::string> scope_list(const json::value& v, const std::string& at) {
  if (!v.is_array()) bad(at, "expected a list of scopes");
  std::vector<std::string> out;
  for (const auto& s : v.get_array()) {
    if (!s.is_string() || !auth::valid_scope_token(s.get_string()))
      bad(at,
          "a scope is a string without spaces or quotes (mcp.access, mcp:server:<server>, "
          "mcp:tool:<server>/<tool>)");
    out.emplace_back(s.get_string());
  }
  return out;
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

Access Access::from_json(const json::value& v) {
  Access a;
  if (!v.is_object()) bad("access", "expected a mapping (default_scopes, users, groups)");
  for (const auto& [k, x] : v.get_object()) {
    std::string at = "access." + std::string(k);
    if (k == "default_scopes") {
      a.default_scopes_ = scope_list(x, at);
    } else if (k == "users") {
      if (!x.is_object()) bad(at, "expected a mapping of user name to scopes");
      for (const auto& [name, scopes] : x.get_object())
        a.users_[std::string(name)] = scope_list(scopes, at + "." + std::string(name));
    } else if (k == "groups") {
      if (!x.is_object()) bad(at, "expected a mapping of group name to {members, scopes}");
      for (const auto& [name, g] : x.get_object()) {
        std::string gat = at + "." + std::string(name);
        if (!g.is_object()) bad(gat, "expected a mapping (members, scopes)");
        Group group;
        for (const auto& [gk, gv] : g.get_object()) {
          if (gk == "scopes") {
            group.scopes = scope_list(gv, gat + ".scopes");
          } else if (gk == "members") {
            if (!gv.is_array()) bad(gat + ".members", "expected a list of user names");
            for (const auto& m : gv.get_array()) {
              if (!m.is_string()) bad(gat + ".members", "expected a list of user names");
              group.members.emplace_back(m.get_string());
            }
          } else {
            bad(gat + "." + std::string(gk), "unknown key (members, scopes)");
          }
        }
        a.groups_[std::string(name)] = std::move(group);
      }
    } else {
      bad(at, "unknown key (default_scopes, users, groups)");
    }
  }
  return a;
}

std::vector<std::string> Access::groups_of(std::string_view subject,
                                           const std::vector<std::string>& claimed) const {
  std::vector<std::string> out;
  for (const auto& [name, g] : groups_) {
    bool in = std::find(g.members.begin(), g.members.end(), subject) != g.members.end() ||
              std::find(claimed.begin(), claimed.end(), name) != claimed.end();
    if (in) out.push_back(name);
  }
  return out;
}

std::vector<std::string> Access::scopes_for(std::string_view subject,
                                            const std::vector<std::string>& claimed_groups) const {
  std::vector<std::string> out = default_scopes_;
  if (auto it = users_.find(subject); it != users_.end())
    out.insert(out.end(), it->second.begin(), it->second.end());
  for (const auto& g : groups_of(subject, claimed_groups)) {
    const auto& s = groups_.find(g)->second.scopes;
    out.insert(out.end(), s.begin(), s.end());
  }
  sort_unique(out);
  return out;
}

bool may_grant(const std::vector<std::string>& held, std::string_view requested) {
  if (requested == "offline_access") return true;
  return std::find(held.begin(), held.end(), requested) != held.end() ||
         auth::scopes_cover(held, requested);
}

}  // namespace bastion::login
