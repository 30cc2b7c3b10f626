// The bearer check on the resource side (RFC 6750): AuthServer::authenticate,
// require_scope and the seed's /hello resource, with their 400/401/403
// challenges. The OAuth endpoints are in server.cpp.
#include "auth/bearer.hpp"

#include <ctime>

#include "auth/http_util.hpp"
#include "auth/scopes.hpp"
#include "protocol/iso8601.hpp"

namespace bastion::auth {

namespace {

// Quoted-string safe text for WWW-Authenticate parameters.
std::string quote_safe(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) out += c;
  return out;
}

}  // namespace

bool valid_b64token(std::string_view t) {
  if (t.empty()) return false;
  // ASCII only, by hand: std::isalnum consults the locale for every byte of
  // every bearer token (1.3% of an OAuth tools/call in bench/results/profile.md).
  auto token_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  std::size_t i = 0;
  for (; i < t.size(); ++i)
    if (!token_char(t[i])) break;
  if (i == 0) return false;
  for (; i < t.size(); ++i)
    if (t[i] != '=') return false;
  return true;
}

std::vector<std::string> advertised_scopes(bool signin_enabled) {
  if (signin_enabled) return {std::string(kScopeAll), "offline_access"};
  return {std::string(kScopeAll)};
}

Response bearer_challenge(const Request& req, http::status status, std::string_view realm,
                          const std::string& metadata_url, std::string_view error,
                          std::string_view description, std::string_view scope) {
  std::string h =
      "Bearer realm=\"" + std::string(realm) + "\", resource_metadata=\"" + metadata_url + "\"";
  json::object body;
  if (!error.empty()) {
    h += ", error=\"" + std::string(error) + "\"";
    body["error"] = error;
  }
  if (!description.empty()) {
    h += ", error_description=\"" + quote_safe(description) + "\"";
    body["error_description"] = description;
  }
  if (body.empty()) body["error"] = "unauthorized";
  if (!scope.empty()) {
    h += ", scope=\"" + quote_safe(scope) + "\"";
    body["scope"] = scope;
  }
  Response res = json_response(req, status, body, true);
  res.set(http::field::www_authenticate, h);
  return res;
}

Response audit_unavailable_response(const Request& req) {
  Response res = json_response(
      req, http::status::service_unavailable,
      json::object{
          {"error", "temporarily_unavailable"},
          {"error_description", "the audit log cannot record this request now; retry later"}},
      true);
  res.set(http::field::retry_after, "5");
  return res;
}

protocol::Expected<protocol::Principal, Response> AuthServer::authenticate(
    const Request& req, const Caller& caller) const {
  std::size_t n = req.count(http::field::authorization);
  auto refuse = [&](http::status status, std::string_view error,
                    std::string_view description) -> Response {
    ++auth_failures_;
    // Fail closed: a refusal that cannot be recorded tells nothing about the
    // credentials (no unrecorded probing while the audit disk is full).
    if (!audit_available()) return audit_unavailable_response(req);
    // Anyone can send these: aggregated per source (no client is known).
    std::string_view target(req.target().data(), req.target().size());
    failed(json::object{{"event_type", "auth_failure"},
                        {"status", static_cast<int>(status)},
                        {"path", target.substr(0, target.find('?'))},
                        {"error", error.empty() ? std::string_view("no_credentials") : error},
                        {"reason", description}},
           {}, source_of(req, caller));
    // The scope hint on 401 (MCP scope selection): what a client should ask
    // for to reach everything it may (and, with sign-in, to stay signed in);
    // the user's grant and the client's limits narrow it at the authorization
    // server.
    std::string hint = status == http::status::unauthorized
                           ? join_scopes(advertised_scopes(signin_->enabled()))
                           : std::string();
    return bearer_challenge(req, status, options_.realm, resource_metadata_url(), error,
                            description, hint);
  };
  if (n == 0) {
    if (!options_.require_auth) return protocol::Principal::anonymous();
    // RFC 6750 §3.1: no error code when no credentials
    return refuse(http::status::unauthorized, "", "");
  }
  if (n > 1)
    return refuse(http::status::bad_request, "invalid_request",
                  "more than one Authorization header");
  std::string_view v(req[http::field::authorization].data(),
                     req[http::field::authorization].size());
  v = trim(v);
  auto sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Bearer")) {
    if (!options_.require_auth) return protocol::Principal::anonymous();
    return refuse(http::status::unauthorized, "", "");
  }
  std::string_view token = trim(v.substr(sp + 1));
  if (!valid_b64token(token))
    return refuse(http::status::unauthorized, "invalid_token", "malformed bearer token");
  auto t = validator_->validate(token);
  if (!t) return refuse(http::status::unauthorized, "invalid_token", t.reason());
  return t->principal();
}

std::optional<Response> AuthServer::require_scope(const Request& req, const protocol::Principal& p,
                                                  std::string_view scope) const {
  if (!p.authenticated && !options_.require_auth) return std::nullopt;
  if (scopes_cover(p.scopes, scope) || p.has_scope(kScopeAll) || p.has_scope(scope))
    return std::nullopt;
  ++auth_failures_;
  if (!audit_available() || !emit(json::object{{"event_type", "access_denied"},
                                               {"status", 403},
                                               {"client_id", p.client_id},
                                               {"user_id", p.subject},
                                               {"scope_needed", scope}}))
    return audit_unavailable_response(req);
  return bearer_challenge(req, http::status::forbidden, options_.realm, resource_metadata_url(),
                          "insufficient_scope", "the token lacks the scope this request needs",
                          scope);
}

Response AuthServer::hello(const Request& req, const Caller& caller) const {
  if (req.method() != http::verb::get) return method_not_allowed(req, "GET");
  // The seed's demo resource always wants a token, whatever require_auth says.
  if (req.count(http::field::authorization) == 0) {
    ++auth_failures_;
    return bearer_challenge(req, http::status::unauthorized, options_.realm,
                            resource_metadata_url(), "", "");
  }
  auto who = authenticate(req, caller);
  if (!who) return who.error();
  const auto& p = who.value();
  if (!p.authenticated)
    return bearer_challenge(req, http::status::unauthorized, options_.realm,
                            resource_metadata_url(), "", "");
  return json_response(req, http::status::ok,
                       json::object{{"message", "Hello from Bastion!"},
                                    {"authenticated_client", p.client_id},
                                    {"timestamp", protocol::iso8601_utc(clock_())}},
                       true);
}

}  // namespace bastion::auth
