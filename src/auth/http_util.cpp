// HTTP response helpers shared by the OAuth endpoints and the bearer check.
#include "auth/http_util.hpp"

#include <algorithm>
#include <cctype>

#include "auth/form.hpp"
#include "protocol/base64.hpp"
#include "protocol/form.hpp"

namespace bastion::auth {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

BasicResult parse_basic(std::string_view v) {
  v = trim(v);
  auto sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Basic"))
    return BasicError::kNotBasic;
  auto decoded = protocol::base64_decode(trim(v.substr(sp + 1)));
  auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return BasicError::kMalformed;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicResult parse_basic_credentials(std::string_view v) {
  auto basic = parse_basic(v);
  if (!basic) return basic;
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
  auto id = protocol::form_decode(basic->id);
  auto secret = protocol::form_decode(basic->secret);
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
