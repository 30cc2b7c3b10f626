#include "auth/scopes.hpp"

#include <algorithm>
#include <cctype>

namespace bastion::auth {

bool valid_scope_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

bool valid_server_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string server_scope(std::string_view server) {
  return std::string(kScopeServerPrefix) + std::string(server);
}

std::string tool_scope(std::string_view server, std::string_view tool) {
  return std::string(kScopeToolPrefix) + std::string(server) + "/" + std::string(tool);
}

namespace {
// Splits "mcp:tool:S/T" into S and T; false when malformed.
bool parse_tool_scope(std::string_view s, std::string_view& server, std::string_view& tool) {
  if (s.substr(0, kScopeToolPrefix.size()) != kScopeToolPrefix) return false;
  s.remove_prefix(kScopeToolPrefix.size());
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  server = s.substr(0, slash);
  tool = s.substr(slash + 1);
  return valid_server_name(server) && valid_scope_token(tool);
}
bool parse_server_scope(std::string_view s, std::string_view& server) {
  if (s.substr(0, kScopeServerPrefix.size()) != kScopeServerPrefix) return false;
  server = s.substr(kScopeServerPrefix.size());
  return valid_server_name(server);
}
}  // namespace

bool scope_covers(std::string_view granted, std::string_view requested) {
  if (!valid_scope_token(requested)) return false;
  if (granted == requested) return true;
  std::string_view rs, rt, gs;
  bool req_server = parse_server_scope(requested, rs);
  bool req_tool = parse_tool_scope(requested, rs, rt);
  if (granted == kScopeAll) return req_server || req_tool;
  if (parse_server_scope(granted, gs)) return req_tool && rs == gs;
  return false;
}

bool scopes_cover(const std::vector<std::string>& granted, std::string_view requested) {
  for (const auto& g : granted)
    if (scope_covers(g, requested)) return true;
  return false;
}

bool may_use(const protocol::Principal& p, std::string_view server, std::string_view tool) {
  if (!p.authenticated) return true;
  std::string want = tool_scope(server, tool);
  for (const auto& s : p.scopes) {
    if (s == kScopeAll) return true;
    std::string_view gs;
    if (parse_server_scope(s, gs) && gs == server) return true;
    if (s == want) return true;
  }
  return false;
}

bool may_use_server(const protocol::Principal& p, std::string_view server) {
  if (!p.authenticated) return true;
  for (const auto& s : p.scopes) {
    if (s == kScopeAll) return true;
    std::string_view gs, gt;
    if (parse_server_scope(s, gs) && gs == server) return true;
    if (parse_tool_scope(s, gs, gt) && gs == server) return true;
  }
  return false;
}

std::vector<std::string> scopes_to_request(const boost::json::array& scopes_supported) {
  static constexpr std::string_view kOffline = "offline_access";
  std::vector<std::string> out;
  std::size_t bytes = 0;
  bool offline = false;
  for (const auto& v : scopes_supported) {
    if (!v.is_string()) continue;
    std::string_view s(v.get_string());
    if (!valid_scope_token(s)) continue;
    if (s == kOffline) {
      offline = true;
      continue;
    }
    if (out.size() >= kMaxAdvertisedScopes - 1 ||
        bytes + s.size() + 1 > kMaxAdvertisedScopeBytes - kOffline.size())
      continue;
    if (std::find(out.begin(), out.end(), s) != out.end()) continue;
    out.emplace_back(s);
    bytes += s.size() + 1;
  }
  if (offline) out.emplace_back(kOffline);
  return out;
}

}  // namespace bastion::auth
