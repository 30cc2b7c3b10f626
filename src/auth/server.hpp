// Bastion's OAuth2 authorization server and bearer-token gate, as pure
// functions of a Beast request: no sockets here, the HTTP server mounts them.
// The endpoints are in server.cpp, the bearer check (authenticate,
// require_scope, /hello) in bearer.cpp.
//
//   POST /oauth2/token                        client_credentials (RFC 6749 §4.4)
//   POST /oauth2/introspect                   RFC 7662
//   POST /oauth2/revoke                       RFC 7009
//   GET  /.well-known/oauth-authorization-server   RFC 8414
//   GET  /.well-known/openid-configuration    same document (seed compatibility)
//   GET  /.well-known/jwks.json               public keys (never HS256 secrets)
//   GET  /.well-known/oauth-protected-resource[/mcp]  RFC 9728
//   GET  /hello                               the seed's protected demo resource
//   GET  /oauth2/authorize                    authorization code + PKCE (signin.hpp), when a
//                                             sign-in step (Interaction) is configured
//   POST /oauth2/register                     RFC 7591 Dynamic Client Registration
//   POST /oauth2/token                        also authorization_code and refresh_token, with
//                                             client auth none, client_secret_basic/post and
//                                             private_key_jwt (signin_endpoints.cpp)
//
// Errors follow RFC 6749 §5.2 (token endpoint) and RFC 6750 §3 (resources).
//
// Usage:
//   auth::AuthServer as(options);            // throws on key/dir problems
//   if (auto r = as.handle(req)) return *r;  // one of ours
//   auto who = as.authenticate(req);         // for /mcp
//   if (auto* resp = std::get_if<auth::Response>(&who)) return *resp;
//
// Thread-safety: every member is safe to call concurrently.
#pragma once

#include <atomic>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include "auth/clients.hpp"
#include "auth/form.hpp"
#include "auth/jwt.hpp"
#include "auth/keystore.hpp"
#include "auth/managed_clients.hpp"
#include "auth/metadata_documents.hpp"
#include "auth/options.hpp"
#include "auth/revocation.hpp"
#include "auth/signin.hpp"
#include "protocol/principal.hpp"

namespace bastion::auth {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct IssuedToken {
  std::string access_token;
  AccessToken claims;
};

struct ServerStats {
  std::uint64_t tokens_issued = 0;
  std::uint64_t tokens_revoked = 0;
  std::uint64_t token_errors = 0;   // token endpoint error responses
  std::uint64_t auth_failures = 0;  // 401/403 from authenticate / require_scope
};

class AuthServer {
 public:
  // Opens the data directory and keys. `fetch` loads the external issuer's
  // JWKS (default: http_fetch, plain http only). Throws on startup failures.
  explicit AuthServer(Options options, Clock clock = system_now, FetchFn fetch = {});

  // The response for a path this server owns, nullopt otherwise.
  std::optional<Response> handle(const Request& req);

  // Bearer authentication of a resource request: the caller, or the 401/400
  // response to send. With require_auth off, a request without a token gets
  // the anonymous principal.
  std::variant<protocol::Principal, Response> authenticate(const Request& req) const;
  // nullopt when `p` holds a scope covering `scope`; else the 403
  // insufficient_scope response.
  std::optional<Response> require_scope(const Request& req, const protocol::Principal& p,
                                        std::string_view scope) const;

  // Issues a token directly (the create_oauth2_test_token tool). `lifetime`
  // is capped at the configured token lifetime; scopes are down-scoped like
  // the token endpoint does; error if nothing remains.
  Result<IssuedToken> issue(std::string_view client_id, std::string_view scope,
                            std::optional<std::chrono::seconds> lifetime = std::nullopt);
  // Where security events go (token issued/denied/revoked, 401/403): one
  // JSON object per event, never a token or secret. Set before serving.
  using AuditSink = std::function<void(boost::json::object)>;
  void set_audit_sink(AuditSink sink) { audit_ = std::move(sink); }

  // Validates one of our own tokens (or an external issuer's).
  Result<AccessToken> validate(std::string_view token) const { return validator_->validate(token); }

  const Options& options() const { return options_; }
  KeyStore& keys() { return *keys_; }
  const KeyStore& keys() const { return *keys_; }
  const ClientRegistry& clients() const { return clients_; }
  // Clients created and revoked at run time (the console); revocations of
  // configured clients too.
  ManagedClients& managed_clients() { return *managed_; }
  // The authorization code flow (never null).
  SignIn& signin() { return *signin_; }
  const SignIn& signin() const { return *signin_; }
  // The user-facing step of sign-in (login, consent). Set before serving;
  // auth.test_login sets the interim one.
  void set_interaction(std::shared_ptr<Interaction> interaction);
  const RevocationList& revocations() const { return *revoked_; }
  ServerStats stats() const;

  // URLs derived from the issuer.
  std::string token_endpoint() const { return options_.issuer + "/oauth2/token"; }
  std::string jwks_uri() const { return options_.issuer + "/.well-known/jwks.json"; }
  std::string resource_metadata_url() const;
  boost::json::object authorization_server_metadata() const;
  boost::json::object protected_resource_metadata(bool for_resource_path) const;

 private:
  Response token(const Request& req);
  Response introspect(const Request& req);
  Response revoke(const Request& req);
  Response hello(const Request& req) const;
  void maybe_prune();
  // Sign-in (signin_endpoints.cpp).
  void init_signin();
  Result<MintedToken> mint(AccessToken claims);
  std::optional<Response> signin_route(const Request& req, std::string_view path);
  // A token request for authorization_code or refresh_token.
  std::variant<boost::json::object, EndpointError> signin_grant(const Request& req, const Form& f,
                                                                std::string_view grant);
  // Client authentication for every method (none, secret basic/post,
  // private_key_jwt) and every kind of client; via_header tells a failure
  // that needs a Basic challenge.
  struct AuthedClient {
    SignInClient client;
    bool confidential = false;
  };
  std::variant<AuthedClient, EndpointError> authenticate_any_client(const Request& req,
                                                                    const Form& f,
                                                                    bool* via_header);

  Options options_;
  Clock clock_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<RevocationList> revoked_;
  ClientRegistry clients_;
  std::unique_ptr<ManagedClients> managed_;
  std::shared_ptr<ExternalJwks> external_;
  std::unique_ptr<TokenValidator> validator_;
  std::unique_ptr<ClientDocuments> documents_;
  std::unique_ptr<RecordStore> assertions_;  // used private_key_jwt jtis
  std::unique_ptr<SignIn> signin_;
  std::atomic<std::uint64_t> issued_{0}, revoked_count_{0}, token_errors_{0};
  mutable std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::int64_t> last_prune_{0};
  AuditSink audit_;
  void emit(boost::json::object e) const {
    if (audit_) audit_(std::move(e));
  }
};

}  // namespace bastion::auth
