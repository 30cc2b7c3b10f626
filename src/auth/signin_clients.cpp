#include "auth/signin_clients.hpp"

#include <algorithm>

namespace bastion::auth {

namespace json = boost::json;

namespace {

json::object as_metadata(const ClientConfig& c) {
  json::array ru, gt;
  for (const auto& r : c.redirect_uris) ru.emplace_back(r);
  for (const auto& g : c.grant_types) gt.emplace_back(g);
  json::object o{{"client_id", c.id},
                 {"redirect_uris", std::move(ru)},
                 {"grant_types", std::move(gt)},
                 {"token_endpoint_auth_method", c.token_endpoint_auth_method.empty()
                                                    ? "client_secret_basic"
                                                    : c.token_endpoint_auth_method}};
  if (!c.client_name.empty()) o["client_name"] = c.client_name;
  if (c.jwks) o["jwks"] = *c.jwks;
  if (!c.jwks_uri.empty()) o["jwks_uri"] = c.jwks_uri;
  return o;
}

}  // namespace

std::string check_client_config(const ClientConfig& c) {
  auto m = parse_client_metadata(as_metadata(c), MetadataSource::kConfiguration);
  if (!m) return split_metadata_error(m.reason()).second;
  for (const auto& g : c.grant_types)
    if (g != "client_credentials" && g != "authorization_code" && g != "refresh_token")
      return "grant type '" + g + "' is not supported";
  if (m->has_grant("client_credentials") && m->auth_method == AuthMethod::kNone)
    return "a client_credentials client must authenticate (it has no user behind it)";
  return "";
}

SignInClient to_signin_client(const ClientConfig& c) {
  SignInClient s;
  auto m = parse_client_metadata(as_metadata(c), MetadataSource::kConfiguration);
  if (m) s.meta = std::move(m.value());
  s.meta.client_id = c.id;
  if (s.meta.client_name.empty()) s.meta.client_name = c.id;
  s.kind = ClientKind::kConfigured;
  s.secret_hash = c.secret_hash;
  s.scope_limited = !c.scopes.empty();  // no scopes listed: the user's grant decides
  s.scopes = c.scopes;
  return s;
}

}  // namespace bastion::auth
