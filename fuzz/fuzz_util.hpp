// Shared by the libFuzzer targets in fuzz/. A target's job: feed untrusted
// bytes to one parser and check what the parser promises (bounds, round
// trips, error shapes). ASan and UBSan catch memory and UB errors; a broken
// promise is reported with FUZZ_CHECK, which aborts so libFuzzer keeps the
// input as a crash.
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace bastion::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// True when `v` serializes to JSON that any strict reader accepts (strings
// are valid UTF-8): what a message or error body sent to a peer must be.
inline bool wire_json(const boost::json::value& v) {
  boost::json::error_code ec;
  boost::json::parse(boost::json::serialize(v), ec);
  return !ec;
}

// Equal JSON, doubles within a relative 1e-14 (Boost.JSON 1.81's number
// parsing is not correctly rounded, so a double re-read can move by an ulp).
inline bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_json(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      auto* w = y.if_contains(k);
      if (!w || !same_json(v, *w)) return false;
    }
    return true;
  }
  return a == b;
}

// Reads a fuzz input front to back in the simple layouts the targets
// document (a mode byte, fixed-size integers, lines, the rest), so seed files
// can be written by hand. Past the end, integers read as 0 and text as "".
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : rest_(as_text(data, size)) {}
  std::uint8_t u8() {
    if (rest_.empty()) return 0;
    auto v = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return v;
  }
  // Little-endian.
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return static_cast<std::int64_t>(v);
  }
  // Up to the next '\n' (not included).
  std::string_view line() {
    auto at = rest_.find('\n');
    std::string_view head = rest_.substr(0, at);
    rest_ = at == std::string_view::npos ? std::string_view() : rest_.substr(at + 1);
    return head;
  }
  std::string_view rest() {
    std::string_view r = rest_;
    rest_ = {};
    return r;
  }

 private:
  std::string_view rest_;
};

// Splits `text` at the first `sep`; `rest` is empty when there is none.
inline std::string_view take(std::string_view& rest, char sep) {
  auto at = rest.find(sep);
  std::string_view head = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view() : rest.substr(at + 1);
  return head;
}

}  // namespace bastion::fuzz
