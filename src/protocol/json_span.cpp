#include "protocol/json_span.hpp"

#include <cstddef>
#include <cstring>

namespace bastion::protocol {

namespace {

constexpr std::size_t kNone = std::string_view::npos;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && is_ws(t[i])) ++i;
  return i;
}

// Past the string whose opening quote is at t[i]; kNone when unterminated.
// `escaped` (optional) is set when the string holds a backslash. memchr
// finds each candidate quote (most of a result's bytes are inside strings);
// a quote ends the string unless an odd run of backslashes precedes it.
std::size_t skip_string(std::string_view t, std::size_t i, bool* escaped) {
  const std::size_t body = i + 1;
  std::size_t from = body;
  for (;;) {
    if (from >= t.size()) return kNone;
    const void* q = std::memchr(t.data() + from, '"', t.size() - from);
    if (!q) return kNone;
    const std::size_t end = static_cast<const char*>(q) - t.data();
    std::size_t slashes = 0;
    while (end - slashes > body && t[end - slashes - 1] == '\\') ++slashes;
    if (slashes % 2 == 0) {
      if (escaped && std::memchr(t.data() + body, '\\', end - body)) *escaped = true;
      return end + 1;
    }
    from = end + 1;
  }
}

// Past the value starting at t[i]; kNone when it does not end in `t`.
std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return kNone;
  if (t[i] == '"') return skip_string(t, i, nullptr);
  if (t[i] == '{' || t[i] == '[') {
    // Brackets are counted, not matched: the parser already matched them.
    std::size_t depth = 0;
    while (i < t.size()) {
      char c = t[i];
      if (c == '"') {
        i = skip_string(t, i, nullptr);
        if (i == kNone) return kNone;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kNone;
  }
  // A number, true, false or null: up to the next delimiter.
  std::size_t j = i;
  while (j < t.size() && !is_ws(t[j]) && t[j] != ',' && t[j] != '}' && t[j] != ']' && t[j] != '"' &&
         t[j] != '{' && t[j] != '[' && t[j] != ':')
    ++j;
  return j == i ? kNone : j;
}

}  // namespace

std::optional<std::string_view> member_text(std::string_view t, std::string_view key) {
  std::size_t i = skip_ws(t, 0);
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  i = skip_ws(t, i + 1);
  if (i < t.size() && t[i] == '}') return std::nullopt;  // {}: no member at all
  std::optional<std::string_view> found;
  for (;;) {
    if (i >= t.size() || t[i] != '"') return std::nullopt;
    bool escaped = false;
    const std::size_t key_end = skip_string(t, i, &escaped);
    if (key_end == kNone || escaped) return std::nullopt;
    const std::string_view k = t.substr(i + 1, key_end - i - 2);
    i = skip_ws(t, key_end);
    if (i >= t.size() || t[i] != ':') return std::nullopt;
    i = skip_ws(t, i + 1);
    const std::size_t value_end = skip_value(t, i);
    if (value_end == kNone) return std::nullopt;
    if (k == key) {
      if (found) return std::nullopt;  // a duplicate: which one counts is the reader's guess
      found = t.substr(i, value_end - i);
    }
    i = skip_ws(t, value_end);
    if (i >= t.size()) return std::nullopt;
    if (t[i] == '}') break;
    if (t[i] != ',') return std::nullopt;
    i = skip_ws(t, i + 1);
  }
  if (skip_ws(t, i + 1) != t.size()) return std::nullopt;  // trailing bytes
  // Two memchr scans: find_first_of would test the set once per byte.
  if (found && (found->find('\n') != std::string_view::npos ||
                found->find('\r') != std::string_view::npos))
    return std::nullopt;
  return found;
}

}  // namespace bastion::protocol
