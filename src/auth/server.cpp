// The OAuth endpoints (token, introspection, revocation, metadata, JWKS) of
// AuthServer. The bearer check on the resource side is in bearer.cpp.
#include "auth/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "auth/bearer.hpp"
#include "auth/form.hpp"
#include "auth/http_util.hpp"
#include "auth/scopes.hpp"

namespace bastion::auth {

FetchFn http_fetch_default();  // token_client.cpp

namespace {

constexpr std::size_t kMaxFormBytes = 16 * 1024;

std::string_view path_of(const Request& req) {
  std::string_view t(req.target().data(), req.target().size());
  return t.substr(0, t.find('?'));
}

}  // namespace

// --- AuthServer ---------------------------------------------------------------------

AuthServer::AuthServer(Options options, Clock clock, FetchFn fetch)
    : options_(std::move(options)), clock_(std::move(clock)), clients_(options_.clients) {
  options_.issuer = validate_issuer(options_.issuer);
  auto alg = alg_from_name(options_.algorithm);
  if (!alg) throw std::invalid_argument("auth.algorithm: unsupported '" + options_.algorithm + "'");
  ensure_private_dir(options_.data_dir);
  // A rotated-out key must verify every token it signed: lifetime + skew.
  keys_ = std::make_unique<KeyStore>(options_.data_dir / "keys", *alg,
                                     options_.token_lifetime + options_.clock_skew, clock_,
                                     options_.rsa_bits);
  revoked_ = std::make_unique<RevocationList>(options_.data_dir / "revoked.json",
                                              options_.clock_skew, clock_);
  std::vector<TrustedIssuer> issuers;
  KeyStore* ks = keys_.get();
  issuers.push_back(
      TrustedIssuer{options_.issuer, [ks](std::string_view kid) { return ks->find(kid); }, true});
  if (!options_.external_issuer.empty()) {
    external_ = std::make_shared<ExternalJwks>(options_.external_jwks_url,
                                               fetch ? fetch : http_fetch_default(), clock_);
    auto ext = external_;
    issuers.push_back(TrustedIssuer{options_.external_issuer,
                                    [ext](std::string_view kid) { return ext->find(kid); },
                                    /*strict_rfc9068=*/false});
  }
  RevocationList* rl = revoked_.get();
  validator_ = std::make_unique<TokenValidator>(
      ValidatorOptions{.audience = options_.effective_audience(),
                       .clock_skew = options_.clock_skew,
                       .max_token_bytes = options_.max_token_bytes},
      std::move(issuers), [rl](std::string_view jti) { return rl->is_revoked(jti); }, clock_);
  managed_ = std::make_unique<ManagedClients>(options_.data_dir / "managed_clients", clock_);
  last_prune_ = clock_();
  init_signin();
}

ServerStats AuthServer::stats() const {
  return ServerStats{issued_.load(), revoked_count_.load(), token_errors_.load(),
                     auth_failures_.load()};
}

std::string AuthServer::resource_metadata_url() const {
  return options_.issuer + "/.well-known/oauth-protected-resource" + options_.resource_path;
}

json::object AuthServer::authorization_server_metadata() const {
  json::array scopes{json::string(kScopeAll)};
  for (const auto& c : clients_.all())
    for (const auto& s : c.scopes)
      if (std::find(scopes.begin(), scopes.end(), json::value(s)) == scopes.end())
        scopes.emplace_back(s);
  json::array auth_methods{"client_secret_basic", "client_secret_post"};
  json::array algs{json::string(alg_name(keys_->alg()))};
  if (signin_->enabled()) {
    // The authorization code flow: what MCP clients (Claude, ChatGPT, VS Code,
    // Cursor, the SDKs) look for before they sign in.
    scopes.emplace_back("offline_access");
    json::array token_auth{"none", "client_secret_basic", "client_secret_post", "private_key_jwt"};
    json::object md{
        {"issuer", options_.issuer},
        {"authorization_endpoint", options_.issuer + "/oauth2/authorize"},
        {"token_endpoint", token_endpoint()},
        {"jwks_uri", jwks_uri()},
        {"introspection_endpoint", options_.issuer + "/oauth2/introspect"},
        {"revocation_endpoint", options_.issuer + "/oauth2/revoke"},
        {"grant_types_supported",
         json::array{"authorization_code", "refresh_token", "client_credentials"}},
        {"response_types_supported", json::array{"code"}},
        {"response_modes_supported", json::array{"query"}},
        {"code_challenge_methods_supported", json::array{"S256"}},
        {"authorization_response_iss_parameter_supported", true},
        {"client_id_metadata_document_supported", documents_ != nullptr},
        {"token_endpoint_auth_methods_supported", token_auth},
        {"token_endpoint_auth_signing_alg_values_supported",
         json::array{"ES256", "ES384", "ES512", "RS256", "PS256", "PS384", "PS512", "EdDSA"}},
        {"introspection_endpoint_auth_methods_supported", auth_methods},
        {"revocation_endpoint_auth_methods_supported", token_auth},
        {"scopes_supported", scopes},
        {"access_token_signing_alg_values_supported", algs},
        {"resource_indicators_supported", true},
        {"protected_resources", json::array{options_.effective_audience()}},
        // OpenID Connect discovery fields, so clients that read only that
        // document find the same flow (no ID tokens are issued).
        {"subject_types_supported", json::array{"public"}},
    };
    if (signin_->registration_enabled())
      md["registration_endpoint"] = options_.issuer + "/oauth2/register";
    return md;
  }
  return json::object{
      {"issuer", options_.issuer},
      {"authorization_endpoint", options_.issuer + "/oauth2/authorize"},
      {"token_endpoint", token_endpoint()},
      {"jwks_uri", jwks_uri()},
      {"introspection_endpoint", options_.issuer + "/oauth2/introspect"},
      {"revocation_endpoint", options_.issuer + "/oauth2/revoke"},
      {"grant_types_supported", json::array{"client_credentials"}},
      {"response_types_supported", json::array{}},  // /oauth2/authorize refuses them all
      {"token_endpoint_auth_methods_supported", auth_methods},
      {"introspection_endpoint_auth_methods_supported", auth_methods},
      {"revocation_endpoint_auth_methods_supported", auth_methods},
      {"scopes_supported", scopes},
      {"access_token_signing_alg_values_supported", algs},
      {"protected_resources", json::array{options_.effective_audience()}},
  };
}

json::object AuthServer::protected_resource_metadata(bool for_resource_path) const {
  json::array servers{json::string(options_.issuer)};
  if (!options_.external_issuer.empty()) servers.emplace_back(options_.external_issuer);
  json::array scopes{json::string(kScopeAll)};
  // RFC 9728 §3.3: `resource` is the identifier the well-known path was built from.
  return json::object{
      {"resource", for_resource_path ? options_.effective_audience() : options_.issuer},
      {"authorization_servers", std::move(servers)},
      {"jwks_uri", jwks_uri()},
      {"scopes_supported", std::move(scopes)},
      {"bearer_methods_supported", json::array{"header"}},
      {"resource_signing_alg_values_supported", json::array{}},
      {"resource_name", "Bastion MCP gateway"},
  };
}

void AuthServer::maybe_prune() {
  std::int64_t now = clock_();
  std::int64_t last = last_prune_.load();
  if (now - last < 60 || !last_prune_.compare_exchange_strong(last, now)) return;
  keys_->prune();
  revoked_->prune();
}

std::optional<Response> AuthServer::handle(const Request& req) {
  std::string_view path = path_of(req);
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  auto doc = [&](json::object body) -> Response {
    if (!get) return method_not_allowed(req, "GET");
    Response res = json_response(req, http::status::ok, body, false);
    res.set(http::field::cache_control, "public, max-age=300");
    res.set(http::field::access_control_allow_origin, "*");
    return res;
  };
  if (path == "/oauth2/token" || path == "/oauth2/introspect" || path == "/oauth2/revoke") {
    maybe_prune();
    if (req.method() != http::verb::post) return method_not_allowed(req, "POST");
    if (path == "/oauth2/token") return token(req);
    if (path == "/oauth2/introspect") return introspect(req);
    return revoke(req);
  }
  if (path == "/.well-known/oauth-authorization-server" ||
      path == "/.well-known/openid-configuration")
    return doc(authorization_server_metadata());
  if (path == "/.well-known/jwks.json") {
    Response res = doc(keys_->jwks());
    if (get) res.set(http::field::cache_control, "public, max-age=60");  // rotation shows soon
    return res;
  }
  if (path == "/.well-known/oauth-protected-resource")
    return doc(protected_resource_metadata(false));
  if (path == "/.well-known/oauth-protected-resource" + options_.resource_path)
    return doc(protected_resource_metadata(true));
  if (path == "/hello") return hello(req);
  // /oauth2/authorize, /oauth2/register and the sign-in pages.
  return signin_route(req, path);
}

// --- token endpoint -----------------------------------------------------------

namespace {

// The outcome of client authentication on a form-posting endpoint.
struct ClientAuth {
  const ClientConfig* client = nullptr;
  std::optional<Response> error;
};

struct OAuthError {
  http::status status;
  std::string code;
  std::string description;
  bool basic_challenge = false;
};

}  // namespace

namespace {
Response oauth_error(const Request& req, const OAuthError& e, std::string_view realm) {
  Response res = json_response(
      req, e.status, json::object{{"error", e.code}, {"error_description", e.description}}, true);
  if (e.basic_challenge)
    res.set(http::field::www_authenticate, "Basic realm=\"" + std::string(realm) + "\"");
  return res;
}

// Content type, form parsing and the client-auth-method conflicts: everything
// that makes a request invalid_request before any secret is checked.
std::variant<Form, OAuthError> read_form(const Request& req) {
  std::string_view ct(req[http::field::content_type].data(), req[http::field::content_type].size());
  ct = trim(ct.substr(0, ct.find(';')));
  if (!iequals(ct, "application/x-www-form-urlencoded"))
    return OAuthError{http::status::bad_request, "invalid_request",
                      "Content-Type must be application/x-www-form-urlencoded"};
  if (req.body().size() > kMaxFormBytes)
    return OAuthError{http::status::bad_request, "invalid_request", "request body too large"};
  std::string err;
  auto form = parse_form(req.body(), &err);
  if (!form) return OAuthError{http::status::bad_request, "invalid_request", err};
  return std::move(*form);
}

}  // namespace

namespace {
// A configured client, else a managed one (managed_clients.hpp); a revoked
// id is refused whichever it is.
std::variant<ClientConfig, OAuthError> authenticate_client(const Request& req, const Form& form,
                                                           const ClientRegistry& clients,
                                                           const ManagedClients& managed) {
  std::size_t headers = req.count(http::field::authorization);
  if (headers > 1)
    return OAuthError{http::status::bad_request, "invalid_request",
                      "more than one Authorization header"};
  const std::string* body_id = form_get(form, "client_id");
  const std::string* body_secret = form_get(form, "client_secret");
  std::string id, secret;
  bool via_header = headers == 1;
  if (via_header) {
    auto basic = parse_basic_credentials(std::string_view(req[http::field::authorization].data(),
                                                          req[http::field::authorization].size()));
    if (basic.index() == 1)
      return std::get<1>(basic) == BasicError::kNotBasic
                 ? OAuthError{http::status::unauthorized, "invalid_client",
                              "use HTTP Basic (client_secret_basic) or client_secret_post", true}
                 : OAuthError{http::status::unauthorized, "invalid_client",
                              "malformed Basic credentials", true};
    auto& [hid, hsecret] = std::get<0>(basic);
    if (body_secret)
      return OAuthError{http::status::bad_request, "invalid_request",
                        "client credentials in both the Authorization header and the body "
                        "(use one authentication method)"};
    if (body_id && *body_id != hid)
      return OAuthError{http::status::bad_request, "invalid_request",
                        "client_id in the body differs from the Authorization header"};
    id = std::move(hid);
    secret = std::move(hsecret);
  } else {
    if (!body_id)
      return OAuthError{http::status::unauthorized, "invalid_client",
                        "client authentication required (client_secret_basic or "
                        "client_secret_post)"};
    if (!body_secret)
      return OAuthError{http::status::unauthorized, "invalid_client",
                        "client_secret is required; only confidential clients are supported"};
    id = *body_id;
    secret = *body_secret;
  }
  if (managed.revoked(id))
    return OAuthError{http::status::unauthorized, "invalid_client", "client authentication failed",
                      via_header};
  if (clients.find(id)) {
    auto c = clients.authenticate(id, secret);
    if (c) return *c.value();
  } else if (auto m = managed.authenticate(id, secret)) {
    return std::move(m.value());
  }
  return OAuthError{http::status::unauthorized, "invalid_client", "client authentication failed",
                    via_header};
}
}  // namespace

Result<IssuedToken> AuthServer::issue(std::string_view client_id, std::string_view scope,
                                      std::optional<std::chrono::seconds> lifetime) {
  std::optional<ClientConfig> managed;
  const ClientConfig* c = clients_.find(client_id);
  if (!c && (managed = managed_->find(client_id))) c = &*managed;
  if (!c || managed_->revoked(client_id))
    return fail("unknown client '" + std::string(client_id) + "'");
  std::vector<std::string> granted;
  if (scope.empty()) {
    granted = c->default_scopes.empty() ? c->scopes : c->default_scopes;
  } else {
    for (const auto& s : split_scopes(scope)) {
      if (!valid_scope_token(s)) return fail("malformed scope '" + s + "'");
      if (scopes_cover(c->scopes, s)) granted.push_back(s);
    }
  }
  if (granted.empty())
    return fail(scope.empty() ? "client has no scopes"
                              : "none of the requested scopes is allowed for this client");
  auto life = std::min(lifetime.value_or(options_.token_lifetime), options_.token_lifetime);
  if (life.count() < 1) return fail("lifetime must be positive");
  AccessToken t;
  t.iss = options_.issuer;
  t.sub = c->id;
  t.aud = {options_.effective_audience()};
  t.client_id = c->id;
  t.scopes = std::move(granted);
  t.iat = clock_();
  t.exp = t.iat + life.count();
  t.jti = new_jti();
  auto key = keys_->active();
  auto tok = issue_access_token(*key, t);
  if (!tok) return tok.error();
  ++issued_;
  return IssuedToken{std::move(tok.value()), std::move(t)};
}

Response AuthServer::token(const Request& req) {
  auto error = [&](OAuthError e) {
    ++token_errors_;
    spdlog::debug("auth: token request refused: {} ({})", e.code, e.description);
    emit(json::object{{"event_type", "token_denied"},
                      {"error", e.code},
                      {"error_description", e.description},
                      {"status", static_cast<int>(e.status)}});
    return oauth_error(req, e, options_.realm);
  };
  auto form = read_form(req);
  if (auto* e = std::get_if<OAuthError>(&form)) return error(std::move(*e));
  const Form& f = std::get<Form>(form);
  const std::string* grant = form_get(f, "grant_type");
  if (!grant) return error({http::status::bad_request, "invalid_request", "grant_type is missing"});
  if (*grant == "authorization_code" || *grant == "refresh_token") {
    auto r = signin_grant(req, f, *grant);
    if (auto* e = std::get_if<EndpointError>(&r))
      return error({e->status, e->code, e->description, e->basic_challenge});
    return json_response(req, http::status::ok, std::get<json::object>(r), true);
  }
  auto client = authenticate_client(req, f, clients_, *managed_);
  if (auto* e = std::get_if<OAuthError>(&client)) return error(std::move(*e));
  const ClientConfig* c = &std::get<ClientConfig>(client);
  if (*grant != "client_credentials")
    return error({http::status::bad_request, "unsupported_grant_type",
                  "grant_type must be authorization_code, refresh_token or client_credentials"});
  if (std::find(c->grant_types.begin(), c->grant_types.end(), "client_credentials") ==
      c->grant_types.end())
    return error({http::status::bad_request, "unauthorized_client",
                  "this client may not use the client_credentials grant"});
  if (const std::string* resource = form_get(f, "resource")) {
    // RFC 8707: we serve one resource; accept its identifier or our origin.
    if (*resource != options_.effective_audience() && *resource != options_.issuer &&
        *resource != options_.issuer + "/")
      return error(
          {http::status::bad_request, "invalid_target",
           "unknown resource; this server issues tokens for " + options_.effective_audience()});
  }
  const std::string* scope = form_get(f, "scope");
  if (scope) {
    for (const auto& s : split_scopes(*scope))
      if (!valid_scope_token(s))
        return error({http::status::bad_request, "invalid_scope", "malformed scope"});
  }
  auto issued = issue(c->id, scope ? *scope : "");
  if (!issued) return error({http::status::bad_request, "invalid_scope", issued.reason()});
  spdlog::info("auth: issued token {} to {} (scope \"{}\")", issued->claims.jti, c->id,
               issued->claims.scope_string());
  emit(json::object{{"event_type", "token_issued"},
                    {"client_id", c->id},
                    {"user_id", c->id},
                    {"scope", issued->claims.scope_string()},
                    {"jti", issued->claims.jti},
                    {"expires_in", issued->claims.exp - issued->claims.iat}});
  return json_response(req, http::status::ok,
                       json::object{{"access_token", issued->access_token},
                                    {"token_type", "Bearer"},
                                    {"expires_in", issued->claims.exp - issued->claims.iat},
                                    {"scope", issued->claims.scope_string()}},
                       true);
}

Response AuthServer::introspect(const Request& req) {
  auto form = read_form(req);
  if (auto* e = std::get_if<OAuthError>(&form)) return oauth_error(req, *e, options_.realm);
  const Form& f = std::get<Form>(form);
  auto client = authenticate_client(req, f, clients_, *managed_);
  if (auto* e = std::get_if<OAuthError>(&client)) return oauth_error(req, *e, options_.realm);
  const std::string* token = form_get(f, "token");
  if (!token)
    return oauth_error(req, {http::status::bad_request, "invalid_request", "token is missing"},
                       options_.realm);
  auto v = validator_->validate(*token);
  if (!v || managed_->revoked(v->client_id))
    return json_response(req, http::status::ok, json::object{{"active", false}}, true);
  json::object out{{"active", true},
                   {"scope", v->scope_string()},
                   {"client_id", v->client_id},
                   {"sub", v->sub},
                   {"iss", v->iss},
                   {"exp", v->exp},
                   {"iat", v->iat},
                   {"token_type", "Bearer"}};
  if (v->aud.size() == 1) {
    out["aud"] = v->aud.front();
  } else {
    json::array a;
    for (const auto& x : v->aud) a.emplace_back(x);
    out["aud"] = std::move(a);
  }
  if (!v->jti.empty()) out["jti"] = v->jti;
  if (v->nbf) out["nbf"] = *v->nbf;
  return json_response(req, http::status::ok, out, true);
}

Response AuthServer::revoke(const Request& req) {
  auto form = read_form(req);
  if (auto* e = std::get_if<OAuthError>(&form)) return oauth_error(req, *e, options_.realm);
  const Form& f = std::get<Form>(form);
  // Every kind of client may revoke its own tokens (RFC 7009 §2.1: public
  // clients too), refresh tokens included.
  bool via_header = false;
  auto client = authenticate_any_client(req, f, &via_header);
  if (auto* e = std::get_if<EndpointError>(&client))
    return oauth_error(
        req,
        {e->status, e->code, e->description, via_header && e->status == http::status::unauthorized},
        options_.realm);
  struct {
    std::string id;
  } cid{std::get<AuthedClient>(client).client.meta.client_id};
  const auto* c = &cid;
  const std::string* token = form_get(f, "token");
  if (!token)
    return oauth_error(req, {http::status::bad_request, "invalid_request", "token is missing"},
                       options_.realm);
  Response ok = json_response(req, http::status::ok, json::object{}, true);
  ok.body().clear();
  ok.erase(http::field::content_type);
  ok.prepare_payload();
  // RFC 7009 §2.2: invalid, expired, unknown or already revoked tokens are
  // not an error -- the client's goal (token unusable) is met.
  if (signin_->revoke_refresh_token(*token, c->id)) return ok;
  auto v = validator_->validate(*token);
  if (!v || v->jti.empty()) return ok;
  if (v->client_id != c->id)
    return oauth_error(req,
                       {http::status::bad_request, "unauthorized_client",
                        "the token was issued to another client"},
                       options_.realm);
  if (revoked_->revoke(v->jti, v->exp)) {
    ++revoked_count_;
    spdlog::info("auth: revoked token {} of {}", v->jti, c->id);
    emit(json::object{{"event_type", "token_revoked"}, {"client_id", c->id}, {"jti", v->jti}});
  }
  return ok;
}

}  // namespace bastion::auth
