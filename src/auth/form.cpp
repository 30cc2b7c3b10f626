// application/x-www-form-urlencoded decoding and encoding.
#include "auth/form.hpp"

#include <cctype>

#include "protocol/base64.hpp"

namespace bastion::auth {

const std::string* form_get(const Form& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return &v;
  return nullptr;
}

std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
        return std::nullopt;
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string form_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string basic_authorization(std::string_view id, std::string_view secret) {
  return "Basic " + protocol::base64_encode(form_encode(id) + ":" + form_encode(secret));
}

std::optional<Form> parse_form(std::string_view body, std::string* error) {
  Form out;
  std::size_t i = 0;
  while (i <= body.size()) {
    auto amp = body.find('&', i);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view part = body.substr(i, amp - i);
    i = amp + 1;
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto name = form_decode(part.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!name || !value) {
      if (error) *error = "malformed form encoding";
      return std::nullopt;
    }
    // RFC 6749 §3.2: no parameter more than once (even an empty one).
    if (form_get(out, *name)) {
      if (error) *error = "parameter '" + *name + "' is repeated";
      return std::nullopt;
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  // RFC 6749 §3.1: parameters without a value are treated as omitted.
  std::erase_if(out, [](const auto& kv) { return kv.second.empty(); });
  return out;
}

}  // namespace bastion::auth
