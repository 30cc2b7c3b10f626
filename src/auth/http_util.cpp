// HTTP response helpers shared by the OAuth endpoints and the bearer check.
#include "auth/http_util.hpp"

#include <algorithm>
#include <cctype>

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
