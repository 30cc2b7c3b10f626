// HTTP response helpers shared by the OAuth endpoints and the bearer check.
#include "auth/http_util.hpp"

#include <algorithm>
#include <cctype>

#include "auth/form.hpp"
#include "auth/jwk.hpp"

namespace bastion::auth {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {

// Standard base64 with padding (HTTP Basic).
std::optional<std::string> b64std_decode(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  std::string t(s);
  std::size_t pad = 0;
  while (!t.empty() && t.back() == '=' && pad < 2) {
    t.pop_back();
    ++pad;
  }
  for (char& c : t) {
    if (c == '-' || c == '_' || c == '=') return std::nullopt;
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return b64url_decode(t);
}

}  // namespace

std::variant<BasicCredentials, BasicError> parse_basic_credentials(std::string_view v) {
  v = trim(v);
  auto sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Basic"))
    return BasicError::kNotBasic;
  auto decoded = b64std_decode(trim(v.substr(sp + 1)));
  auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return BasicError::kMalformed;
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
  auto id = form_decode(std::string_view(*decoded).substr(0, colon));
  auto secret = form_decode(std::string_view(*decoded).substr(colon + 1));
  if (!id || !secret || id->empty()) return BasicError::kMalformed;
  return BasicCredentials{std::move(*id), std::move(*secret)};
}

Response json_response(const Request& req, http::status status, const json::value& body,
                       bool no_store) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  if (no_store) {
    res.set(http::field::cache_control, "no-store");
    res.set(http::field::pragma, "no-cache");
  }
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

Response method_not_allowed(const Request& req, std::string_view allow) {
  Response res = json_response(
      req, http::status::method_not_allowed,
      json::object{{"error", "invalid_request"},
                   {"error_description", "method not allowed; use " + std::string(allow)}},
      true);
  res.set(http::field::allow, allow);
  return res;
}

}  // namespace bastion::auth
