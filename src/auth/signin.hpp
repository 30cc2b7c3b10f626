// The authorization code flow of Bastion's authorization server: the
// authorization endpoint (RFC 6749 §4.1 as OAuth 2.1 tightens it: PKCE S256
// only, exact redirect URIs, RFC 9207 iss, RFC 8707 resource), one-time
// authorization codes, refresh token families with rotation and reuse
// detection, and Dynamic Client Registration (RFC 7591). The user-facing
// step is an Interaction (interaction.hpp); client metadata documents come
// from a ClientDocuments (cimd.hpp). AuthServer (server.hpp) mounts it: it
// routes /oauth2/authorize and /oauth2/register here, authenticates clients
// at the token endpoint, and signs the tokens (the `mint` hook).
//
// State lives in the data directory (RecordStore), so every replica sharing
// it can resume a pending sign-in, redeem a code once, and rotate a refresh
// token once:
//   <data_dir>/pending/   pending authorizations (minutes)
//   <data_dir>/codes/     authorization codes and their used markers (a minute)
//   <data_dir>/refresh/   refresh token families (durable)
//   <data_dir>/registered/ dynamically registered clients (durable; removed
//                          when unused: RegistrationOptions' lifetimes)
//
// A refresh token is "<family>.<secret>": the family record holds the hash
// of the one current secret and of the ones rotated out. Presenting a
// rotated-out secret is reuse (RFC 9700 §4.14.2): the family is revoked
// with every access token it issued. A code presented twice revokes what
// its first redemption issued (RFC 6749 §4.1.2).
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "auth/client_metadata.hpp"
#include "auth/form.hpp"
#include "auth/interaction.hpp"
#include "auth/jwt.hpp"
#include "auth/lru_map.hpp"
#include "auth/options.hpp"
#include "auth/record_store.hpp"
#include "auth/signin_options.hpp"
#include "protocol/expected.hpp"

namespace bastion::auth {

namespace signin_http = boost::beast::http;

// A client that may use the authorization code flow, however Bastion knows it.
struct SignInClient {
  ClientMetadata meta;
  ClientKind kind = ClientKind::kConfigured;
  // Configured clients: argon2id hash (checked by AuthServer). Registered
  // clients: "sha256:" + base64url(SHA-256(secret)) of their 256-bit random
  // secret. Empty for public clients.
  std::string secret_hash;
  // Configured clients may be limited to scopes (auth.clients[].scopes);
  // registered and metadata-document clients are limited only by what the
  // user grants.
  bool scope_limited = false;
  std::vector<std::string> scopes;
};

struct SignInOptions {
  std::string issuer;
  // Resource identifiers (RFC 8707) this server issues tokens for; the first
  // is the canonical one and becomes every token's `aud`.
  std::vector<std::string> resources;
  std::chrono::seconds access_token_lifetime{1800};
  std::chrono::seconds code_lifetime{60};
  std::chrono::seconds pending_lifetime{600};
  // A refresh token unused this long dies; a family never outlives max.
  std::chrono::seconds refresh_idle{14 * 86400};
  std::chrono::seconds refresh_max{90 * 86400};
  // Open sign-ins at most, in all and per source (the rate-limit key of the
  // browser: its address, or its /64 for IPv6). A source's sign-ins count
  // until they expire (pending_lifetime), so one address cannot hold the
  // global limit against everyone else. The per-source count is kept per
  // process.
  std::size_t max_pending = 10000;
  std::size_t max_pending_per_source = 50;
  // Sources whose registrations (per_source_per_hour) are counted at once;
  // a new one pushes out the least recently seen source still below its
  // limit, so a flood of addresses cannot reset a limited one's count.
  std::size_t registration_sources = 10000;
  std::filesystem::path data_dir;
  RegistrationOptions registration;
};

// A signed access token and its claims.
struct MintedToken {
  std::string token;
  AccessToken claims;
};

// An error at the token or registration endpoint (RFC 6749 §5.2, RFC 7591 §3.2.2).
struct EndpointError {
  signin_http::status status = signin_http::status::bad_request;
  std::string code;
  std::string description;
  bool basic_challenge = false;  // a failed HTTP Basic client authentication (RFC 6749 §5.2)
};

// The refresh token family of one sign-in, as `bastion` lists it.
struct GrantInfo {
  std::string family;  // never the token
  std::string client_id, subject;
  std::vector<std::string> scopes;
  std::int64_t created = 0, expires = 0;
  bool revoked = false;
};

class SignIn : public InteractionHost {
 public:
  using Request = signin_http::request<signin_http::string_body>;
  using Response = signin_http::response<signin_http::string_body>;
  using Reply = std::function<void(Response)>;

  struct Hooks {
    // Signs claims (AuthServer fills iss, iat, exp, jti and the key).
    std::function<Result<MintedToken>(AccessToken claims)> mint;
    // Puts an access token's jti on the revocation list until exp.
    std::function<void(const std::string& jti, std::int64_t exp)> revoke_access;
    // A configured client (auth.clients) by id, or nullopt.
    std::function<std::optional<SignInClient>(std::string_view id)> configured;
    // A client metadata document by URL (fetches, caches; may block for
    // the fetch, which counts against `source`). Unset: metadata documents
    // are not supported.
    std::function<Result<ClientMetadata>(const std::string& url, std::string_view source)>
        metadata_document;
    // Security events (one JSON object each; never a token, code or secret).
    std::function<void(boost::json::object)> audit;
  };

  SignIn(SignInOptions options, Hooks hooks, Clock clock = system_now);

  // The user-facing step. Without one, /oauth2/authorize shows an error page
  // and the flow is not advertised.
  void set_interaction(std::shared_ptr<Interaction> interaction);
  bool enabled() const { return interaction_ != nullptr; }
  bool registration_enabled() const { return options_.registration.mode != "off"; }

  // GET or POST /oauth2/authorize. Replies on this thread or, when a client
  // metadata document or the interaction needs time, on another.
  void authorize(const Request& req, std::string_view source, Reply reply);
  // A request for the interaction's own paths; false when none claims it.
  bool interaction_request(const Request& req, std::string_view source, Reply reply);
  // POST /oauth2/register.
  Response register_client(const Request& req, std::string_view source);

  // The client behind client_id: configured, registered, or a metadata
  // document (fetched now if not cached: may block; the fetch counts
  // against `source`, the requester's rate-limit key). Errors say why.
  Result<SignInClient> find_client(std::string_view client_id, std::string_view source = {});
  // Checks a registered client's secret (constant time).
  static bool registered_secret_matches(const SignInClient& c, std::string_view secret);

  // Token endpoint grants, for a client AuthServer has authenticated:
  // the token response body, or the error.
  using Grant = protocol::Expected<boost::json::object, EndpointError>;
  Grant redeem_code(const Form& form, const SignInClient& client);
  Grant refresh(const Form& form, const SignInClient& client);
  // RFC 7009 for refresh tokens: revokes the family when `token` is one of
  // this client's refresh tokens. True when it was a refresh token at all.
  bool revoke_refresh_token(std::string_view token, std::string_view client_id);

  // Whether a token issued to client_id may still be honoured: registered
  // clients must still exist; metadata-document clients always may.
  bool client_active(std::string_view client_id) const;

  // Grants (refresh families) by user and client, and their revocation
  // (`bastion` and the account pages use these).
  std::vector<GrantInfo> grants() const;
  std::size_t revoke_grants(std::string_view subject, std::string_view client_id);

  // Registered clients, and removal (`bastion client rm`): removes the
  // client and revokes its refresh families.
  std::vector<boost::json::object> registered_clients() const;
  bool remove_registered_client(std::string_view client_id);

  // The canonical resource for a requested one, or nullopt when it names no
  // resource of ours (RFC 8707 invalid_target).
  std::optional<std::string> resource_for(std::string_view requested) const;

  // Deletes expired pending authorizations, codes, families and registered
  // clients, the interaction's expired state, and forgets expired
  // per-source counts.
  void prune();

  // InteractionHost
  std::optional<PendingAuthorization> find_pending(std::string_view id) const override;
  const std::string& issuer() const override { return options_.issuer; }

  const SignInOptions& options() const { return options_; }

 private:
  // `unattended`: the outcome came while /oauth2/authorize was answered,
  // before the user acted on any page (a denial then is no one's decision).
  void settle(const Request& req, Outcome outcome, Reply reply, bool unattended);
  Response finish(const Request& req, const PendingAuthorization& p, const Decision& d,
                  const ExtraHeaders& headers);
  void revoke_family(const std::string& family, std::string_view why);
  Result<MintedToken> mint_for(const boost::json::object& family,
                               const std::vector<std::string>& scopes);
  boost::json::array jtis_with(const boost::json::object& family, const MintedToken& t) const;
  boost::json::object token_body(const MintedToken& t, const std::string* refresh_token);
  bool registration_rate_ok(std::string_view source);
  // A token was issued to `client_id`: a registered client now lives
  // idle_lifetime from now (stored at most once a day per client).
  void registered_client_used(std::string_view client_id);
  // Takes one of `source`'s slots for open sign-ins until `expires`; false
  // when it holds max_pending_per_source already.
  bool pending_slot(std::string_view source, std::int64_t now, std::int64_t expires);
  void prune_pending_slots(std::int64_t now);

  SignInOptions options_;
  Hooks hooks_;
  Clock clock_;
  std::shared_ptr<Interaction> interaction_;
  mutable std::mutex interaction_mu_;  // interaction_ for prune() (the housekeeping thread)
  RecordStore pending_, codes_, families_, registered_;
  std::atomic<std::int64_t> pending_count_at_{0};
  std::atomic<std::size_t> pending_count_{0};
  std::mutex rate_mu_;
  LruMap<std::vector<std::int64_t>> registrations_;  // source -> times of its registrations
  std::mutex slots_mu_;
  // source -> expiry times of its open sign-ins (pruned in prune()).
  std::unordered_map<std::string, std::vector<std::int64_t>> pending_slots_;
  std::int64_t slots_swept_at_ = 0;
};

// The self-contained HTML error page shown when the client cannot be told
// by redirect (unknown client, bad redirect URI, expired sign-in).
SignIn::Response render_error_page(const SignIn::Request& req, signin_http::status status,
                                   std::string_view title, std::string_view detail);

// RFC 9700 §4.11.2: whether Bastion may send the browser to a client of this
// kind on its own, with no decision of the user in between (a protocol error,
// a silent prompt=none answer). Only to clients the operator configured: a
// DCR or metadata-document client chose its redirect URI itself, so an
// error would make Bastion an open redirector to it.
bool redirects_unattended(ClientKind kind);

// The page shown instead of an error redirect that may not go out unattended
// (400; 503 for temporarily_unavailable, 500 for server_error).
SignIn::Response render_refused_request(const SignIn::Request& req, std::string_view error,
                                        std::string_view description);

// A no-store redirect to `location`: 303 after a POST, 302 otherwise.
SignIn::Response redirect_response(const SignIn::Request& req, const std::string& location);

// redirect_uri with params appended to its query (RFC 6749 §4.1.2: keep the
// URI's own query), form-encoded.
std::string with_query(std::string_view uri,
                       const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace bastion::auth
