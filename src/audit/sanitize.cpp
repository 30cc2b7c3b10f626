// The audit record sanitizer (see sanitize.hpp).
#include "audit/sanitize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cctype>

#include "protocol/json_text.hpp"

namespace bastion::audit {

using boost::beast::iequals;  // ASCII, as the names compared are

namespace json = boost::json;

namespace {

// Names of `name=value` pairs whose value is removed inside any string.
bool credential_param(std::string_view k) {
  return credential_name(k) || iequals(k, "code") || iequals(k, "key") || iequals(k, "sig") ||
         iequals(k, "signature");
}

bool b64url_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Cuts the query string and fragment of every URL or path in `s`: a
// whitespace-separated token whose part before '?' or '#' holds '/' or ':'.
std::string strip_queries(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (space(s[i])) {
      out += s[i++];
      continue;
    }
    std::size_t end = i;
    while (end < s.size() && !space(s[end])) ++end;
    std::string_view tok = s.substr(i, end - i);
    auto q = tok.find_first_of("?#");
    if (q != std::string_view::npos &&
        tok.substr(0, q).find_first_of("/:") != std::string_view::npos)
      tok = tok.substr(0, q);
    out += tok;
    i = end;
  }
  return out;
}

// Replaces JWT/JWS/JWE-shaped runs ("eyJ..." then dot-separated base64url
// segments) with a marker.
std::string strip_jwts(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto at = s.find("eyJ", i);
    if (at == std::string_view::npos) break;
    if (at > 0 && b64url_char(s[at - 1])) {
      out.append(s.substr(i, at + 3 - i));
      i = at + 3;
      continue;
    }
    std::size_t p = at;
    while (p < s.size() && b64url_char(s[p])) ++p;
    if (p - at >= 8 && p < s.size() && s[p] == '.') {
      std::size_t end = p;
      while (end < s.size() && s[end] == '.') {
        ++end;
        while (end < s.size() && b64url_char(s[end])) ++end;
      }
      out.append(s.substr(i, at - i));
      out += "[token removed]";
      i = end;
    } else {
      // Not a token: resume after this run only, not after the dotted
      // segments that follow it, which may hold one ("eyJ.eyJhbGci...": found
      // by fuzz/audit_record). Inside the run no "eyJ" can start a token.
      out.append(s.substr(i, p - i));
      i = p;
    }
  }
  out.append(s.substr(std::min(i, s.size())));
  return out;
}

// "Bearer <x>" / "Basic <x>" (any case): the credential goes.
std::string strip_auth_schemes(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t best = std::string_view::npos, len = 0;
    for (std::string_view scheme : {"bearer ", "basic "}) {
      for (std::size_t j = i; j + scheme.size() <= s.size(); ++j)
        if (iequals(s.substr(j, scheme.size()), scheme) && (j == 0 || !b64url_char(s[j - 1]))) {
          if (j < best) best = j, len = scheme.size();
          break;
        }
    }
    if (best == std::string_view::npos) break;
    std::size_t v = best + len;
    while (v < s.size() && s[v] == ' ') ++v;
    // A credential is a token68 (RFC 7235): prose ("a basic check") and
    // what was already replaced are not.
    std::size_t end = v;
    while (end < s.size() &&
           (b64url_char(s[end]) || std::string_view(".~+/").find(s[end]) != std::string_view::npos))
      ++end;
    while (end < s.size() && s[end] == '=') ++end;
    bool credential = end - v >= 8 && (end == s.size() || space(s[end]) || s[end] == ',' ||
                                       s[end] == '"' || s[end] == '\'');
    out.append(s.substr(i, v - i));
    if (credential)
      out += kRemoved;
    else
      out.append(s.substr(v, end - v));
    i = end;
  }
  out.append(s.substr(std::min(i, s.size())));
  return out;
}

// `name=value` with a credential name: the value goes.
std::string strip_credential_params(std::string_view s) {
  std::string out;
  std::size_t done = 0;  // s[0, done) is in `out`
  for (std::size_t eq = s.find('='); eq != std::string_view::npos;) {
    std::size_t b = eq;
    while (b > done && (b64url_char(s[b - 1]) || s[b - 1] == '.')) --b;
    std::size_t next = eq + 1;
    if (b < eq && credential_param(s.substr(b, eq - b))) {
      std::size_t end = eq + 1;
      while (end < s.size() && !space(s[end]) &&
             std::string_view("&;,\"'").find(s[end]) == std::string_view::npos)
        ++end;
      out.append(s.substr(done, eq + 1 - done));
      if (end > eq + 1) out += kRemoved;
      done = next = end;
    }
    eq = s.find('=', next);
  }
  out.append(s.substr(done));
  return out;
}

// At most kMaxRecordString bytes, cut on a UTF-8 boundary.
void cap(std::string& s) {
  if (s.size() <= kMaxRecordString) return;
  std::size_t total = s.size();
  std::size_t n = kMaxRecordString;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s += fmt::format("...[cut, {} bytes]", total);
}

// What a byte may need: a rule looks at it (suspect(); 'J' only as the end
// of "eyJ", as 'J' is rarer in names and ids than 'e'), or JSON escapes it
// (as protocol::append_json_string does: controls, '"' and '\\').
enum : unsigned char { kRuleByte = 1, kEscapeByte = 2 };
constexpr std::array<unsigned char, 256> kByteNeeds = [] {
  std::array<unsigned char, 256> t{};
  for (unsigned char c : std::string_view("?#= J")) t[c] = kRuleByte;
  for (int c = 0; c < 0x20; ++c) t[c] = kEscapeByte;
  t['"'] = t['\\'] = kEscapeByte;
  return t;
}();

// Whether `s` holds a byte that needs any of `needs`: one pass, four bytes a
// step while none of them needs anything (the usual value).
bool needs_any(std::string_view s, unsigned char needs) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto& t = kByteNeeds;
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 4 <= s.size() && ((t[p[i]] | t[p[i + 1]] | t[p[i + 2]] | t[p[i + 3]]) & needs) == 0) {
      i += 4;
      continue;
    }
    if ((t[p[i]] & needs) != 0 && (s[i] != 'J' || (i >= 2 && s.substr(i - 2, 2) == "ey")))
      return true;
    ++i;
  }
  return false;
}

// Whether any rule could change `s`: one pass, so the usual record (names,
// ids, counts) costs a scan of its strings and nothing more.
bool suspect(std::string_view s) { return s.size() > kMaxRecordString || needs_any(s, kRuleByte); }

void sanitize_value(json::value& v) {
  if (v.is_string()) {
    auto& str = v.get_string();
    if (auto s = sanitized(std::string_view(str.data(), str.size()))) v = json::string(*s);
  } else if (v.is_object()) {
    sanitize_event(v.get_object());
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) sanitize_value(e);
  }
}

}  // namespace

// Member names whose value is a credential or a header, whatever it holds.
// ("secret" alone is a secret's name in secret_used records, so only the
// *_secret forms count.) ASCII case is ignored: the name is lowered once
// and compared as bytes (every record's every member passes here).
bool credential_name(std::string_view k) {
  static constexpr std::array<std::string_view, 10> kExact = {
      "authorization", "proxy-authorization", "cookie",  "set-cookie", "headers",
      "query",         "assertion",           "api_key", "apikey",     "secret_value"};
  static constexpr std::array<std::string_view, 3> kSuffixes = {"token", "_secret", "password"};
  // The longest name or suffix compared is 19 bytes: only the last 19 of a
  // longer name can match anything.
  static constexpr std::size_t kLongest = 19;
  const bool whole = k.size() <= kLongest;
  if (!whole) k = k.substr(k.size() - kLongest);
  std::array<char, kLongest> buf;
  for (std::size_t i = 0; i < k.size(); ++i) {
    char c = k[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view lower(buf.data(), k.size());
  if (whole && std::find(kExact.begin(), kExact.end(), lower) != kExact.end()) return true;
  return std::any_of(kSuffixes.begin(), kSuffixes.end(),
                     [&](std::string_view s) { return lower.ends_with(s); });
}

std::optional<std::string> sanitized(std::string_view sv) {
  if (!suspect(sv)) return std::nullopt;
  std::string s = strip_credential_params(strip_auth_schemes(strip_jwts(strip_queries(sv))));
  cap(s);
  if (s == sv) return std::nullopt;
  return s;
}

bool copied_as_is(std::string_view s) {
  return s.size() <= kMaxRecordString && !needs_any(s, kRuleByte | kEscapeByte);
}

void append_sanitized_json(std::string& out, std::string_view s) {
  if (copied_as_is(s)) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  std::optional<std::string> changed = sanitized(s);
  protocol::append_json_string(out, changed ? *changed : s);
}

std::string sanitize_string(std::string_view s) {
  std::optional<std::string> changed = sanitized(s);
  return changed ? std::move(*changed) : std::string(s);
}

void sanitize_event(json::object& event) {
  for (auto& kv : event) {
    if (credential_name(kv.key())) {
      kv.value() = kRemoved;
      continue;
    }
    sanitize_value(kv.value());
  }
}

}  // namespace bastion::audit
