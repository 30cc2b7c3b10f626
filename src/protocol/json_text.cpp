#include "protocol/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace bastion::protocol {

namespace json = boost::json;

namespace {

// Bytes a JSON string cannot hold as they are: controls, '"' and '\\'.
constexpr std::array<bool, 256> kEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

// Whether any of the 8 bytes of `w` is one kEscape marks: below 0x20, '"'
// or '\\' (the exact "has a zero byte" and "has a byte less than n" tests
// of Bit Twiddling Hacks; a borrow can only follow a byte that matched).
constexpr bool escapes_in_word(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  return (((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
          ((backslash - kOnes) & ~backslash)) &
         kHigh;
}

// Past the bytes that need no escape, 8 at a time: most text has none.
const char* skip_plain_words(const char* p, const char* end) {
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (escapes_in_word(w)) break;
    p += 8;
  }
  return p;
}

// The first byte from `p` on that needs an escape, or `end`.
const char* next_escape(const char* p, const char* end) {
  p = skip_plain_words(p, end);
  while (p != end && !kEscape[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
  }
}

void append_string(std::string& out, json::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
  // Room for the common case, a string with nothing to escape, in one go.
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  for (const char* q; (q = next_escape(p, end)) != end; p = q + 1) {
    out.append(p, static_cast<std::size_t>(q - p));
    append_escape(out, static_cast<unsigned char>(*q));
  }
  out.append(p, static_cast<std::size_t>(end - p));
  out.push_back('"');
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  std::array<char, 32> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  std::string_view text(buf.data(), ptr - buf.data());
  out += text;
  // An integral double stays a floating-point number for readers that tell
  // them apart (1.0 is not written as 1).
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  append_string(out, json::string_view(s.data(), s.size()));
}

void append_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64: {
      std::array<char, 24> buf;
      auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_int64());
      out.append(buf.data(), static_cast<std::size_t>(ptr - buf.data()));
      return;
    }
    case json::kind::uint64: {
      std::array<char, 24> buf;
      auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_uint64());
      out.append(buf.data(), static_cast<std::size_t>(ptr - buf.data()));
      return;
    }
    case json::kind::double_:
      append_double(out, v.get_double());
      return;
    case json::kind::string:
      append_string(out, v.get_string());
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, e);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object:
      append_json(out, v.get_object());
      return;
  }
}

void append_json(std::string& out, const json::object& o) {
  out.push_back('{');
  bool first = true;
  for (const auto& kv : o) {
    if (!first) out.push_back(',');
    first = false;
    append_string(out, kv.key());
    out.push_back(':');
    append_json(out, kv.value());
  }
  out.push_back('}');
}

namespace {

template <class Json>
std::string text_of(const Json& j) {
  std::string out;
  // Most messages fit; fewer regrowths for the rest. 999 characters are a
  // 1,000-byte block, a 1,008-byte glibc chunk: served from the per-thread
  // cache or a small bin. From 1,001 bytes on the chunk is 1,024 bytes or
  // more, a large-bin request whenever the per-thread cache is empty (it
  // consolidates the fastbins and takes the arena lock first), once per
  // response.
  out.reserve(999);
  append_json(out, j);
  return out;
}

}  // namespace

std::string json_text(const json::value& v) { return text_of(v); }

std::string json_text(const json::object& o) { return text_of(o); }

}  // namespace bastion::protocol
