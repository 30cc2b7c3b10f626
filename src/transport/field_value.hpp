#pragma once
// A request field's value by one pass over the fields in arrival order.
// Beast's operator[] searches its ordered index, comparing names
// case-insensitively character by character (~200-750 instructions a look-up,
// callgrind); a request has a handful of fields, and a pass that compares the
// parser's field code, or the length before any character, costs a fraction
// of that. The first field of the name, as operator[] gives.

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/fields.hpp>
#include <cstddef>
#include <string_view>

namespace bastion::transport {

inline std::string_view field_value(const boost::beast::http::fields& f,
                                    boost::beast::http::field name) {
  for (const auto& e : f)
    if (e.name() == name) return e.value();
  return {};
}

// For a name Beast has no code for (Mcp-Session-Id, MCP-Protocol-Version...).
inline std::string_view field_value(const boost::beast::http::fields& f, std::string_view name) {
  for (const auto& e : f) {
    const auto n = e.name_string();
    if (n.size() == name.size() && boost::beast::iequals(n, name)) return e.value();
  }
  return {};
}

// How many fields of a name there are (the framing checks refuse two Hosts).
inline std::size_t field_count(const boost::beast::http::fields& f,
                               boost::beast::http::field name) {
  std::size_t n = 0;
  for (const auto& e : f) n += e.name() == name;
  return n;
}

}  // namespace bastion::transport
