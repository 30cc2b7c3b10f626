#include "console/options.hpp"

#include <algorithm>

namespace bastion::console {

namespace {

Members read_members(config::Reader& parent, std::string_view key) {
  Members m;
  auto r = parent.child(key);
  if (!r.present()) return m;
  m.users = r.str_list("users");
  m.groups = r.str_list("groups");
  for (const auto& u : m.users)
    if (u.empty() || u.size() > 256) r.fail("users", "a user name must be 1-256 characters");
  for (const auto& g : m.groups)
    if (g.empty() || g.size() > 256) r.fail("groups", "a group name must be 1-256 characters");
  r.finish();
  return m;
}

bool valid_path(std::string_view p) {
  if (p.size() < 2 || p.size() > 64 || p.front() != '/' || p.back() == '/') return false;
  for (char c : p)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_'))
      return false;
  if (p.find("//") != std::string_view::npos) return false;
  // Paths other parts of Bastion own.
  for (std::string_view taken : {"/mcp", "/oauth2", "/signin", "/account", "/.well-known",
                                 "/metrics", "/healthz", "/readyz", "/hello"})
    if (p == taken ||
        (p.size() > taken.size() && p.substr(0, taken.size()) == taken && p[taken.size()] == '/'))
      return false;
  return true;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool member(const Members& m, std::string_view subject, const std::vector<std::string>& groups) {
  if (contains(m.users, subject)) return true;
  for (const auto& g : groups)
    if (contains(m.groups, g)) return true;
  return false;
}

}  // namespace

ConsoleOptions read_console_options(const config::Document& doc) {
  ConsoleOptions o;
  config::Reader r(doc, "/console");
  if (!r.present()) return o;
  o.enabled = r.boolean("enabled", true);
  o.path = r.str("path", "/console");
  if (!valid_path(o.path))
    r.fail("path",
           "must be an absolute path of letters, digits, '-', '_' and '/' without a trailing "
           "slash, outside the paths Bastion already serves (/mcp, /oauth2, /signin, ...)");
  o.admins = read_members(r, "admins");
  o.viewers = read_members(r, "viewers");
  r.finish();
  return o;
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kAdmin:
      return "admin";
    case Role::kViewer:
      return "viewer";
    case Role::kNone:
      break;
  }
  return "none";
}

Role role_of(const ConsoleOptions& o, std::string_view subject,
             const std::vector<std::string>& groups) {
  if (subject.empty()) return Role::kNone;
  if (member(o.admins, subject, groups)) return Role::kAdmin;
  if (member(o.viewers, subject, groups)) return Role::kViewer;
  return Role::kNone;
}

}  // namespace bastion::console
