#include "gateway/trace_context.hpp"

#include <algorithm>

#include "protocol/era.hpp"

namespace bastion::gateway {

namespace {

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/' || c == '@';
}

bool valid_member(std::string_view m) {
  // Optional whitespace around a member.
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) m.remove_suffix(1);
  if (m.empty()) return true;
  auto eq = m.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq > 256) return false;
  auto key = m.substr(0, eq), value = m.substr(eq + 1);
  if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) return false;
  if (!std::all_of(key.begin(), key.end(), key_char)) return false;
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

}  // namespace

bool valid_tracestate(std::string_view v) {
  if (v.size() > 512) return false;
  int members = 0;
  for (std::size_t start = 0;;) {
    auto comma = v.find(',', start);
    auto m = v.substr(start, comma == std::string_view::npos ? v.npos : comma - start);
    if (!valid_member(m)) return false;
    if (++members > 32) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

void sanitize_trace_context(boost::json::object& meta) {
  using protocol::meta_key::kTraceparent;
  using protocol::meta_key::kTracestate;
  auto* tp = meta.if_contains(kTraceparent);
  bool parent_ok = tp && tp->is_string() && protocol::valid_traceparent(tp->get_string());
  if (tp && !parent_ok) meta.erase(kTraceparent);
  auto* ts = meta.if_contains(kTracestate);
  if (ts && !(parent_ok && ts->is_string() && valid_tracestate(ts->get_string())))
    meta.erase(kTracestate);
}

}  // namespace bastion::gateway
