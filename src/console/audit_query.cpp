#include "console/audit_query.hpp"

#include <cctype>
#include <charconv>

#include "protocol/form.hpp"

namespace bastion::console {

namespace json = boost::json;

namespace {

std::string_view str_view(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

bool digits(std::string_view s, std::size_t from, std::size_t n) {
  if (s.size() < from + n) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A filter value: printable ASCII, bounded.
bool plain(std::string_view v) {
  if (v.size() > 200) return false;
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::string normalize_time(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  // YYYY-MM-DD
  if (!digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2))
    return {};
  if (s.size() == 10) return std::string(s);
  // THH:MM
  if (s.size() < 16 || s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2))
    return {};
  if (s.size() == 16) return std::string(s);
  if (s.size() < 19 || s[16] != ':' || !digits(s, 17, 2)) return {};
  if (s.size() == 19) return std::string(s);
  if (s[19] != '.' || s.size() > 29 || !digits(s, 20, s.size() - 20) || s.size() == 20) return {};
  return std::string(s);
}

bool AuditQuery::matches(const json::object& r) const {
  std::string_view ts = str_view(r, "ts");
  // ISO 8601 strings of one format compare as times; a prefix bound ("2026-12-02")
  // compares below every time of that day.
  if (!from.empty() && ts < std::string_view(from)) return false;
  if (!to.empty() && ts >= std::string_view(to)) return false;
  if (!event.empty() && str_view(r, "event_type") != event) return false;
  if (!server.empty() && str_view(r, "server") != server) return false;
  if (!tool.empty() && str_view(r, "tool_name") != tool && str_view(r, "name") != tool &&
      str_view(r, "tool") != tool)
    return false;
  if (!client.empty() && str_view(r, "client_id") != client) return false;
  return true;
}

std::variant<AuditQuery, std::string> parse_audit_query(std::string_view target) {
  auto form =
      protocol::parse_query(target, protocol::FormLimits{.max_bytes = 4096, .max_fields = 16});
  if (!form) return std::string("query: malformed or too large");
  AuditQuery q;
  for (const auto& [k, v] : form->fields) {
    if (form->all(k).size() > 1) return k + ": given more than once";
    if (!plain(v)) return k + ": too long or not printable";
    if (k == "from" || k == "to") {
      if (v.empty()) continue;
      std::string t = normalize_time(v);
      if (t.empty()) return k + ": not an ISO 8601 UTC time (2026-12-02T15:04:05Z)";
      (k == "from" ? q.from : q.to) = t;
    } else if (k == "event") {
      q.event = v;
    } else if (k == "server") {
      q.server = v;
    } else if (k == "tool") {
      q.tool = v;
    } else if (k == "client") {
      q.client = v;
    } else if (k == "before" || k == "limit") {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size())
        return k + ": not a non-negative integer";
      if (k == "before") {
        q.before = n;
      } else {
        if (n < 1 || n > kMaxAuditLimit)
          return k + ": must be 1.." + std::to_string(kMaxAuditLimit);
        q.limit = n;
      }
    } else {
      return k + ": unknown parameter";
    }
  }
  return q;
}

}  // namespace bastion::console
