#include "login/access.hpp"

#include <algorithm>

#include "auth/scopes.hpp"

namespace bastion::login {

namespace {

std::vector<std::string> scope_list(config::Reader& r, std::string_view key) {
  auto out = r.str_list(key);
  for (const auto& s : out)
    if (!auth::valid_scope_token(s))
      r.fail(key,
             "a scope is a string without spaces or quotes (mcp.access, mcp:server:<server>, "
             "mcp:tool:<server>/<tool>)");
  return out;
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

Access Access::read(config::Reader r) {
  Access a;
  a.default_scopes_ = scope_list(r, "default_scopes");
  config::Reader users = r.child("users");
  for (const auto& name : users.keys()) a.users_[name] = scope_list(users, name);
  users.finish();
  config::Reader groups = r.child("groups");
  for (const auto& name : groups.keys()) {
    config::Reader g = groups.child(name);
    if (!g.present()) groups.fail(name, "must be a mapping (members, scopes)");
    Group group;
    group.members = g.str_list("members");
    group.scopes = scope_list(g, "scopes");
    g.finish();
    a.groups_[name] = std::move(group);
  }
  groups.finish();
  r.finish();
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
