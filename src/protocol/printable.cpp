#include "protocol/printable.hpp"

#include <fmt/format.h>

namespace bastion::protocol {

std::string printable(std::string_view s, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++chars) {
    if (chars == max_chars) {
      out += fmt::format("...({} bytes)", s.size());
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (invalid bytes are shown as themselves).
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xc0 && c < 0xe0)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c < 0xf0)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c < 0xf8)
      len = 4, cp = c & 0x07;
    bool ok = len > 1 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      cp = c;
      len = 1;
    }
    out += cp > 0xffff ? fmt::format("\\U{:08x}", cp) : fmt::format("\\u{:04x}", cp);
    i += len;
  }
  return out;
}

}  // namespace bastion::protocol
