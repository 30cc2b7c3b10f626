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
// Client authentication (token, introspection, revocation) is where an
// attacker guesses secrets, so it is guarded three ways: failures back off
// per client id and source (lockout.hpp: 429 with Retry-After); a wrong
// secret and an unknown client id cost the same argon2id verification (a
// dummy hash of the same parameters), so ids cannot be told apart by time;
// and every argon2id verification runs on the hashing pool (hash_pool.hpp),
// never on an I/O thread. Fetches (a client metadata document, a jwks_uri)
// never run there: they block the route thread that asked, bounded per
// source and in all (metadata_documents.hpp). Failed authentications reach the audit log
// aggregated (failure_audit.hpp). A token is handed out only once its
// issuance is recorded in the audit log (fail closed: 503 otherwise).
//
// SIGHUP applies auth.clients (replace_clients): a removed client is refused
// at once and its tokens stop validating; a changed secret cuts off the
// tokens issued before the change; changed scopes narrow existing tokens.
//
// Usage:
//   auth::AuthServer as(options);                    // throws on key/dir problems
//   as.handle_async(req, caller, reply);             // false: not one of ours
//   auto who = as.authenticate(req, caller);         // for /mcp
//   if (!who) return who.error();
//
// Thread-safety: every member is safe to call concurrently.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "auth/clients.hpp"
#include "auth/external_jwks.hpp"
#include "auth/failure_audit.hpp"
#include "auth/form.hpp"
#include "auth/hash_pool.hpp"
#include "auth/jwt.hpp"
#include "auth/keystore.hpp"
#include "auth/lockout.hpp"
#include "auth/managed_clients.hpp"
#include "auth/metadata_documents.hpp"
#include "auth/options.hpp"
#include "auth/revocation.hpp"
#include "auth/signin.hpp"
#include "protocol/expected.hpp"
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
  std::uint64_t lockouts = 0;       // 429s for failed client authentication
};

// Why a token was refused when the audit log could not record its issuance.
inline constexpr std::string_view kAuditUnavailable =
    "the audit log cannot record token issuance now";

// What the transport knows about a request that its headers cannot forge.
struct Caller {
  boost::asio::ip::address peer = boost::asio::ip::address_v4::loopback();
};

// What replace_clients changed, by client id.
struct ClientChanges {
  std::vector<std::string> added, removed, changed, unchanged;
};

class AuthServer {
 public:
  // Opens the data directory and keys, starts the external issuers' key
  // fetchers, the hashing pool (Options::hash_threads; 0 = inline, for
  // tests) and a housekeeping thread. Throws on startup failures.
  explicit AuthServer(Options options, Clock clock = system_now, FetchFn fetch = {});
  // Flushes the failure counts to the audit sink and stops the threads.
  ~AuthServer();

  // A response for a path this server owns goes to `reply`, on this thread
  // or, once a secret needed argon2id, on a hashing thread; false when the
  // path is not ours (reply is not called). May block this thread for a
  // client metadata document or JWKS fetch (at most its timeout): call it
  // from a route thread, never an I/O thread.
  using Reply = std::function<void(Response)>;
  bool handle_async(const Request& req, const Caller& caller, Reply reply);
  // The same, waiting for the answer (nullopt when the path is not ours).
  std::optional<Response> handle(const Request& req, const Caller& caller = {});
  // What the token, introspection and revocation endpoints refuse before
  // any work that may wait: a wrong method, a malformed form or
  // credentials, a client or source locked out after failed guesses, an
  // audit log that cannot record. The same response, counters and audit
  // record as handle_async; nullopt when the request needs handle_async.
  // Cheap (a small form parsed, the lockout table's lock) and never blocks,
  // so an I/O thread may call it: a flood of locked-out guesses is refused
  // where it arrives, without the hand-over to a route thread and back
  // that cost more than the refusal itself (two thread wake-ups).
  std::optional<Response> refuse_at_once(const Request& req, const Caller& caller = {});

  // The pool where argon2id runs (client secrets here, the sign-in pages'
  // passwords: login/interaction.hpp). Lives as long as this server.
  HashPool& hashing() { return *hashing_; }

  // Bearer authentication of a resource request: the caller, or the 401/400
  // response to send. With require_auth off, a request without a token gets
  // the anonymous principal.
  protocol::Expected<protocol::Principal, Response> authenticate(const Request& req,
                                                                 const Caller& caller = {}) const;
  // nullopt when `p` holds a scope covering `scope`; else the 403
  // insufficient_scope response.
  std::optional<Response> require_scope(const Request& req, const protocol::Principal& p,
                                        std::string_view scope) const;

  // Issues a token directly (the create_oauth2_test_token tool). `lifetime`
  // is capped at the configured token lifetime; scopes are down-scoped like
  // the token endpoint does; error if nothing remains, or if the audit log
  // cannot record the issuance.
  Result<IssuedToken> issue(std::string_view client_id, std::string_view scope,
                            std::optional<std::chrono::seconds> lifetime = std::nullopt);

  // Where security events go (token issued/denied/revoked, 401/403): one
  // JSON object per event, never a token or secret; failures aggregated
  // (a record may carry `count`). The sink answers whether the record was
  // written; `available` whether records can be written now (the audit
  // log's disk): without it no token is issued. Set before serving.
  using AuditSink = std::function<bool(boost::json::object)>;
  void set_audit_sink(AuditSink sink, std::function<bool()> available = {});

  // Applies a new auth.clients (SIGHUP). Other options need a restart.
  ClientChanges replace_clients(std::vector<ClientConfig> clients);
  // A caller admitted earlier as it stands now: nullopt when its client is
  // gone or revoked, its scopes narrowed to what the client may still hold
  // (the rules a token meets at each request). Anonymous callers and other
  // issuers' come back as they are.
  std::optional<protocol::Principal> readmit(const protocol::Principal& p) const;
  // Writes out the pending failure counts now (shutdown; tests).
  void flush_audit();
  // Deletes expired state now: keys, revocations, sign-in records (pending,
  // codes, families, the interaction's sessions), used private_key_jwt
  // jtis. The housekeeping thread does this once a minute; a part that
  // throws is logged and the others still run.
  void prune();

  // Validates one of our own tokens (or an external issuer's).
  Result<AccessToken> validate(std::string_view token) const { return validator_->validate(token); }

  const Options& options() const { return options_; }
  KeyStore& keys() { return *keys_; }
  const KeyStore& keys() const { return *keys_; }
  std::shared_ptr<const ClientRegistry> clients() const;
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
  const std::vector<std::shared_ptr<ExternalJwks>>& external_keys() const { return external_; }
  ServerStats stats() const;
  // The address limits and audit records use for this request.
  Source source_of(const Request& req, const Caller& caller) const;

  // URLs derived from the issuer.
  std::string token_endpoint() const { return options_.issuer + "/oauth2/token"; }
  std::string jwks_uri() const { return options_.issuer + "/.well-known/jwks.json"; }
  std::string resource_metadata_url() const;
  boost::json::object authorization_server_metadata() const;
  boost::json::object protected_resource_metadata(bool for_resource_path) const;

 private:
  struct FormCall;
  enum class Endpoint { kToken, kIntrospect, kRevoke };
  // The endpoint a form POST to `path` is for, if it is one of them.
  static std::optional<Endpoint> form_endpoint(std::string_view path);

  // The form endpoints in three steps, so the slow middle one can run on
  // the hashing pool: read the request (cheap checks, lockout), check the
  // client's secret, answer.
  protocol::Expected<FormCall, Response> begin_form(Endpoint e, const Request& req,
                                                    const Caller& caller);
  // An authenticated client of any kind (configured, registered, metadata
  // document) and method (none, secret basic/post, private_key_jwt).
  struct AuthedClient {
    SignInClient client;
    bool confidential = false;
  };
  using ClientCheck = protocol::Expected<AuthedClient, EndpointError>;
  // The one client authentication of the form endpoints: may run argon2id
  // (on a hashing thread) or fetch a document or JWKS (on the route thread),
  // never both. `known`: the id exists.
  ClientCheck verify_client(const FormCall& call, const ClientRegistry& reg, bool* known);
  Response finish_form(FormCall& call, ClientCheck checked, bool known);
  Response token(FormCall& call, const AuthedClient& client);
  Response client_credentials(FormCall& call, const ClientConfig& client);
  Response introspect(FormCall& call, const AuthedClient& client);
  Response revoke(FormCall& call, const AuthedClient& client);
  // Sign-in (signin_endpoints.cpp).
  void init_signin();
  Result<MintedToken> mint(AccessToken claims);
  // /oauth2/authorize, /oauth2/register and the interaction's pages; false
  // when `path` is none of them.
  bool signin_route(const Request& req, std::string_view path, const std::string& source,
                    const Reply& reply);
  // The GET documents and /hello.
  std::optional<Response> handle_get(const Request& req, const Caller& caller);
  Response hello(const Request& req, const Caller& caller) const;
  // Our own tokens: the client is still registered, the token is younger
  // than its current secret, and only scopes it may still hold remain.
  Status admit_own(AccessToken& t) const;
  // The part of `scopes` a token of `client_id` issued at `iat` (unknown:
  // not checked) keeps under the clients as they are now; an error saying
  // why when it keeps nothing.
  Result<std::vector<std::string>> client_allows(const std::string& client_id,
                                                 const std::vector<std::string>& scopes,
                                                 std::optional<std::int64_t> iat) const;
  void housekeeping(std::stop_token stop);
  void maybe_prune();
  // An auth failure for the audit log (aggregated per client and source).
  void failed(boost::json::object event, std::string_view client, const Source& source) const;
  bool emit(boost::json::object e) const;
  bool audit_available() const { return !audit_available_ || audit_available_(); }

  Options options_;
  Clock clock_;
  std::vector<IpNetwork> trusted_proxies_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<RevocationList> revoked_;
  mutable std::mutex clients_mu_;
  std::shared_ptr<const ClientRegistry> clients_;
  std::unique_ptr<ManagedClients> managed_;
  std::vector<std::shared_ptr<ExternalJwks>> external_;
  std::unique_ptr<TokenValidator> validator_;
  std::unique_ptr<ClientDocuments> documents_;
  std::unique_ptr<RecordStore> assertions_;  // used private_key_jwt jtis
  std::unique_ptr<SignIn> signin_;
  Lockout lockout_;
  std::atomic<std::uint64_t> issued_{0}, revoked_count_{0}, token_errors_{0}, lockouts_{0};
  mutable std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::int64_t> last_prune_{0};
  AuditSink audit_;
  std::function<bool()> audit_available_;
  mutable FailureAudit failures_;
  std::mutex hk_mu_;
  std::condition_variable_any hk_cv_;
  std::jthread housekeeper_;
  // Last: destroyed first, so no hashing job outlives what it uses.
  std::unique_ptr<HashPool> hashing_;
};

}  // namespace bastion::auth
