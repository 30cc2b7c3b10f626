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

// Whether two names of the same length are equal but for the case of ASCII
// letters: bytes that differ must be one letter in its two cases. Inline and
// equal bytes skipped, where boost::beast::iequals lowers every byte in a
// call of its own (~300 instructions for MCP-Protocol-Version).
inline bool same_name(std::string_view a, std::string_view b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    const auto folded = static_cast<unsigned char>(x | 0x20);
    if (folded != (y | 0x20) || static_cast<unsigned char>(folded - 'a') > 'z' - 'a') return false;
  }
  return true;
}

// For a name Beast has no code for (Mcp-Session-Id, MCP-Protocol-Version...).
inline std::string_view field_value(const boost::beast::http::fields& f, std::string_view name) {
  for (const auto& e : f) {
    const auto n = e.name_string();
    if (n.size() == name.size() && same_name(n, name)) return e.value();
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

// The same for a name Beast has no code for (a Modern request's Mcp-Method,
// Mcp-Name and Mcp-Param-* headers).
inline std::size_t field_count(const boost::beast::http::fields& f, std::string_view name) {
  std::size_t n = 0;
  for (const auto& e : f) {
    const auto s = e.name_string();
    n += s.size() == name.size() && same_name(s, name);
  }
  return n;
}

}  // namespace bastion::transport
