#include "pii/log_sanitize.hpp"

#include <fmt/format.h>

#include <vector>

#include "pii/mask.hpp"

namespace bastion::pii {

namespace {

// Length of the UTF-8 character at s[i], or 0 when the bytes there are not
// well-formed UTF-8.
std::size_t utf8_len(std::string_view s, std::size_t i, char32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned b0 = p[i];
  std::size_t len;
  char32_t c;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    c = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    c = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (p[i + k] & 0x3F);
  }
  if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}

// Characters a log line must not carry raw beyond the C0 controls: C1
// controls, bidi controls (they reorder what a reader sees) and the Unicode
// line and paragraph separators (some viewers break lines there).
bool unsafe_char(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

// Bytes [i, i + n) of a terminal escape sequence starting at the ESC at s[i]:
// CSI (ESC [ ... final), OSC/DCS/APC/PM (up to BEL or ESC \, bounded), or a
// two-byte escape.
std::size_t escape_sequence_len(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  if (i + 1 >= n) return 1;
  const auto c = static_cast<unsigned char>(s[i + 1]);
  std::size_t j = i + 2;
  if (c == '[') {
    while (j < n && s[j] >= 0x30 && s[j] <= 0x3F) ++j;
    while (j < n && s[j] >= 0x20 && s[j] <= 0x2F) ++j;
    if (j < n && s[j] >= 0x40 && s[j] <= 0x7E) ++j;
    return j - i;
  }
  if (c == ']' || c == 'P' || c == '_' || c == '^') {
    while (j < n && j - i < 4096) {
      if (s[j] == '\a') return j + 1 - i;
      if (s[j] == '\x1b' && j + 1 < n && s[j + 1] == '\\') return j + 2 - i;
      ++j;
    }
    return j - i;
  }
  return c >= 0x20 && c <= 0x7E ? 2 : 1;
}

// Length of the control sequence or unsafe character at s[i], or 0.
std::size_t control_at(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b == 0x1B) return escape_sequence_len(s, i);
  if (b < 0x20 || b == 0x7F) return 1;
  if (b < 0x80) return 0;
  char32_t cp;
  std::size_t len = utf8_len(s, i, &cp);
  return len && unsafe_char(cp) ? len : 0;
}

}  // namespace

std::string escape_log_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x20 && b < 0x7F) {
      if (b == '\\') out += '\\';
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    if (b < 0x80) {
      switch (b) {
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
          out += fmt::format("\\x{:02x}", b);
      }
      ++i;
      continue;
    }
    char32_t cp;
    const std::size_t len = utf8_len(s, i, &cp);
    if (!len) {
      out += fmt::format("\\x{:02x}", b);
      ++i;
    } else if (unsafe_char(cp)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string sanitize_log_line(std::string_view line, const PiiScanner& scanner) {
  bool controls = false;
  for (std::size_t i = 0; i < line.size() && !controls; ++i) controls = control_at(line, i) != 0;
  std::vector<Finding> found;
  if (!controls) {
    found = scanner.scan(line);
  } else {
    // Controls as spaces (offsets unchanged), and controls taken out (with a
    // map back): a value split by an escape and a value glued to a word by
    // one are both found.
    std::string spaced(line), joined;
    std::vector<std::size_t> at;  // joined byte -> line byte
    joined.reserve(line.size());
    at.reserve(line.size());
    for (std::size_t i = 0; i < line.size();) {
      if (std::size_t n = control_at(line, i)) {
        for (std::size_t k = 0; k < n; ++k) spaced[i + k] = ' ';
        i += n;
        continue;
      }
      joined += line[i];
      at.push_back(i);
      ++i;
    }
    found = scanner.scan(spaced);
    for (Finding f : scanner.scan(joined)) {
      if (f.begin >= f.end) continue;
      std::string_view seen = f.normalized.empty()
                                  ? std::string_view(joined).substr(f.begin, f.end - f.begin)
                                  : std::string_view(f.normalized);
      std::string value(seen);
      f.begin = at[f.begin];
      f.end = at[f.end - 1] + 1;
      if (line.substr(f.begin, f.end - f.begin) != value) f.normalized = std::move(value);
      found.push_back(std::move(f));
    }
    found = resolve_overlaps(std::move(found));
  }
  if (found.empty()) return escape_log_text(line);
  return escape_log_text(mask_text(line, found));
}

std::string sanitize_log_line(std::string_view line) {
  static const PiiScanner scanner;
  return sanitize_log_line(line, scanner);
}

}  // namespace bastion::pii
