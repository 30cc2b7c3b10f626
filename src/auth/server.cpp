// The OAuth endpoints (token, introspection, revocation, metadata, JWKS) of
// AuthServer. The bearer check on the resource side is in bearer.cpp.
// Over 500 lines for a reason: the three form endpoints share one path that
// must not fork (read the form, read the presented credentials, check them
// on the hashing pool, lockout, audit, fail closed without an audit log),
// and every grant ends in it. The checks themselves live beside it
// (clients, managed_clients, client_assertion, lockout, failure_audit), the
// authorization code flow's grants in signin_tokens.cpp.
#include "auth/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "auth/bearer.hpp"
#include "auth/client_assertion.hpp"
#include "auth/form.hpp"
#include "auth/http_util.hpp"
#include "auth/scopes.hpp"
#include "auth/signin_clients.hpp"

namespace bastion::auth {

FetchFn http_fetch_default();  // token_client.cpp

namespace {

constexpr std::size_t kMaxFormBytes = 16 * 1024;
// Why issue() refused when the audit log could not take the record.
constexpr std::string_view kNoAudit = kAuditUnavailable;

std::string_view path_of(const Request& req) {
  std::string_view t(req.target().data(), req.target().size());
  return t.substr(0, t.find('?'));
}

}  // namespace

// --- AuthServer ---------------------------------------------------------------------

AuthServer::AuthServer(Options options, Clock clock, FetchFn fetch)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      lockout_(options_.lockout, clock_),
      failures_(options_.failure_audit_interval, 4096, clock_) {
  options_.issuer = validate_issuer(options_.issuer);
  auto alg = alg_from_name(options_.algorithm);
  if (!alg) throw std::invalid_argument("auth.algorithm: unsupported '" + options_.algorithm + "'");
  for (const auto& p : options_.trusted_proxies) {
    auto n = IpNetwork::parse(p);
    if (!n) throw std::invalid_argument("auth.trusted_proxies: '" + p + "' is not an address");
    trusted_proxies_.push_back(*n);
  }
  ensure_private_dir(options_.data_dir);
  // A rotated-out key must verify every token it signed: lifetime + skew.
  keys_ = std::make_unique<KeyStore>(options_.data_dir / "keys", *alg,
                                     options_.token_lifetime + options_.clock_skew, clock_,
                                     options_.rsa_bits);
  revoked_ = std::make_unique<RevocationList>(options_.data_dir / "revoked.json",
                                              options_.clock_skew, clock_);
  clients_ = std::make_shared<const ClientRegistry>(
      options_.clients,
      update_client_epochs(options_.data_dir / "clients.json", options_.clients, clock_()));
  std::vector<TrustedIssuer> issuers;
  KeyStore* ks = keys_.get();
  TrustedIssuer own{options_.issuer, [ks](std::string_view kid) { return ks->find(kid); }};
  own.own = true;
  own.admit = [this](AccessToken& t) { return admit_own(t); };
  issuers.push_back(std::move(own));
  for (const auto& x : options_.external_issuers) {
    auto jwks = std::make_shared<ExternalJwks>(ExternalJwksOptions{.url = x.jwks_url},
                                               fetch ? fetch : http_fetch_default(), clock_);
    external_.push_back(jwks);
    TrustedIssuer ext{x.issuer, [jwks](std::string_view kid) { return jwks->find(kid); }};
    ext.require_typ = x.require_typ;
    issuers.push_back(std::move(ext));
  }
  RevocationList* rl = revoked_.get();
  validator_ = std::make_unique<TokenValidator>(
      ValidatorOptions{.audience = options_.effective_audience(),
                       .clock_skew = options_.clock_skew,
                       .max_token_bytes = options_.max_token_bytes,
                       .verified_cache_entries = options_.token_cache},
      std::move(issuers), [rl](std::string_view jti) { return rl->is_revoked(jti); }, clock_);
  managed_ = std::make_unique<ManagedClients>(options_.data_dir / "managed_clients", clock_);
  last_prune_ = clock_();
  init_signin();
  hashing_ = std::make_unique<HashPool>(
      HashPoolOptions{.threads = options_.hash_threads, .queue = options_.hash_queue});
  housekeeper_ = std::jthread([this](std::stop_token st) { housekeeping(st); });
}

AuthServer::~AuthServer() {
  housekeeper_.request_stop();
  hk_cv_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
  hashing_.reset();  // waits for the jobs admitted
  flush_audit();
}

void AuthServer::housekeeping(std::stop_token stop) {
  std::unique_lock lock(hk_mu_);
  while (!stop.stop_requested()) {
    hk_cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    if (stop.stop_requested()) break;
    lock.unlock();
    failures_.flush();
    maybe_prune();
    lock.lock();
  }
}

void AuthServer::flush_audit() { failures_.flush(true); }

void AuthServer::set_audit_sink(AuditSink sink, std::function<bool()> available) {
  audit_ = sink;
  audit_available_ = std::move(available);
  failures_.set_sink(std::move(sink));
}

bool AuthServer::emit(boost::json::object e) const { return audit_ ? audit_(std::move(e)) : true; }

void AuthServer::failed(boost::json::object event, std::string_view client,
                        const Source& source) const {
  event["source"] = source.address;
  if (!client.empty()) event["client_id"] = client;
  failures_.record(std::move(event), client, source.key);
}

std::shared_ptr<const ClientRegistry> AuthServer::clients() const {
  std::lock_guard lock(clients_mu_);
  return clients_;
}

ClientChanges AuthServer::replace_clients(std::vector<ClientConfig> clients) {
  auto epochs = update_client_epochs(options_.data_dir / "clients.json", clients, clock_());
  std::lock_guard lock(clients_mu_);
  ClientChanges ch;
  for (const auto& c : clients) {
    const ClientConfig* old = clients_->find(c.id);
    if (!old)
      ch.added.push_back(c.id);
    else if (old->secret_hash != c.secret_hash || old->scopes != c.scopes ||
             old->default_scopes != c.default_scopes || old->grant_types != c.grant_types)
      ch.changed.push_back(c.id);
    else
      ch.unchanged.push_back(c.id);
  }
  for (const auto& c : clients_->all()) {
    bool kept = std::any_of(clients.begin(), clients.end(),
                            [&](const ClientConfig& n) { return n.id == c.id; });
    if (!kept) ch.removed.push_back(c.id);
  }
  clients_ =
      std::make_shared<const ClientRegistry>(std::move(clients), std::move(epochs), clients_.get());
  return ch;
}

Status AuthServer::admit_own(AccessToken& t) const {
  auto kept = client_allows(t.client_id, t.scopes, t.iat);
  if (!kept) return kept.error();
  t.scopes = std::move(kept.value());
  return ok_status();
}

Result<std::vector<std::string>> AuthServer::client_allows(const std::string& client_id,
                                                           const std::vector<std::string>& scopes,
                                                           std::optional<std::int64_t> iat) const {
  // A revoked client (managed or configured; managed_clients.hpp): none of
  // its tokens is honoured from the next request on.
  if (managed_->revoked(client_id)) return fail("the client was revoked");
  auto reg = clients();
  const ClientConfig* c = reg->find(client_id);
  std::optional<ClientConfig> managed;
  if (!c && (managed = managed_->find(client_id))) c = &*managed;
  if (!c) {
    // Registered and metadata-document clients (sign-in) are its to judge.
    if (signin_ && signin_->client_active(client_id)) return scopes;
    return fail("the client is no longer registered");
  }
  if (iat && *iat <= reg->not_before(c->id))
    return fail("the token predates the client's current secret");
  // A sign-in client with no scopes listed: the user's grant decided.
  if (c->scopes.empty() && !c->redirect_uris.empty()) return scopes;
  // Scopes the client lost since: gone from the token too.
  std::vector<std::string> kept;
  for (const auto& s : scopes)
    if (scopes_cover(c->scopes, s)) kept.push_back(s);
  if (kept.empty() && !scopes.empty()) return fail("the client may no longer hold these scopes");
  return kept;
}

std::optional<protocol::Principal> AuthServer::readmit(const protocol::Principal& p) const {
  if (!p.authenticated || p.issuer != options_.issuer) return p;  // anonymous, or not ours
  auto kept =
      client_allows(p.client_id, p.scopes, p.issued_at ? std::optional(p.issued_at) : std::nullopt);
  if (!kept) return std::nullopt;
  protocol::Principal now = p;
  now.scopes = std::move(kept.value());
  return now;
}

ServerStats AuthServer::stats() const {
  return ServerStats{issued_.load(), revoked_count_.load(), token_errors_.load(),
                     auth_failures_.load(), lockouts_.load()};
}

Source AuthServer::source_of(const Request& req, const Caller& caller) const {
  std::vector<std::string_view> xff;
  if (!trusted_proxies_.empty()) {
    auto [first, last] = req.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it)
      xff.emplace_back(it->value().data(), it->value().size());
  }
  return request_source(caller.peer, xff, trusted_proxies_);
}

std::string AuthServer::resource_metadata_url() const {
  return options_.issuer + "/.well-known/oauth-protected-resource" + options_.resource_path;
}

json::object AuthServer::authorization_server_metadata() const {
  json::array scopes{json::string(kScopeAll)};
  for (const auto& c : clients()->all())
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
  for (const auto& x : options_.external_issuers) servers.emplace_back(x.issuer);
  json::array scopes;
  for (const auto& s : advertised_scopes(signin_->enabled())) scopes.emplace_back(s);
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
  prune();
}

void AuthServer::prune() {
  // On the housekeeping thread: an exception must not end it (nor the process).
  auto guarded = [](std::string_view what, auto&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::warn("auth: pruning {} failed: {}", what, e.what());
    } catch (...) {
      spdlog::warn("auth: pruning {} failed", what);
    }
  };
  guarded("signing keys", [&] { keys_->prune(); });
  guarded("revocations", [&] { revoked_->prune(); });
  if (signin_) guarded("sign-in state", [&] { signin_->prune(); });
  if (assertions_) guarded("client assertion jtis", [&] { assertions_->prune(); });
}

namespace {

struct OAuthError {
  http::status status;
  std::string code;
  std::string description;
  bool basic_challenge = false;
  std::int64_t retry_after = 0;  // seconds, for 429 and 503
};

Response oauth_error(const Request& req, const OAuthError& e, std::string_view realm) {
  Response res = json_response(
      req, e.status, json::object{{"error", e.code}, {"error_description", e.description}}, true);
  if (e.basic_challenge)
    res.set(http::field::www_authenticate, "Basic realm=\"" + std::string(realm) + "\"");
  if (e.retry_after > 0) res.set(http::field::retry_after, std::to_string(e.retry_after));
  return res;
}

// Content type, form parsing: everything that makes a request
// invalid_request before any secret is looked at.
protocol::Expected<Form, OAuthError> read_form(const Request& req) {
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

// The client's credentials as presented, not yet checked: one method of
// client_secret_basic, client_secret_post, private_key_jwt (RFC 7523), or a
// bare client_id (a public client, auth method none).
struct Credentials {
  std::string id, secret;
  std::optional<std::string> assertion;  // private_key_jwt
  bool has_secret = false;               // Basic, or client_secret in the body
  bool via_header = false;
};

protocol::Expected<Credentials, OAuthError> read_credentials(const Request& req,
                                                       const Form& form) {
  std::size_t headers = req.count(http::field::authorization);
  if (headers > 1)
    return OAuthError{http::status::bad_request, "invalid_request",
                      "more than one Authorization header"};
  const std::string* body_id = form_get(form, "client_id");
  const std::string* body_secret = form_get(form, "client_secret");
  const std::string* assertion = form_get(form, "client_assertion");
  const std::string* assertion_type = form_get(form, "client_assertion_type");
  if ((headers == 1) + (body_secret != nullptr) + (assertion != nullptr) > 1)
    return OAuthError{http::status::bad_request, "invalid_request",
                      "more than one client authentication method (use one)"};
  Credentials c;
  c.via_header = headers == 1;
  if (c.via_header) {
    auto basic = parse_basic_credentials(std::string_view(req[http::field::authorization].data(),
                                                          req[http::field::authorization].size()));
    if (!basic)
      return basic.error() == BasicError::kNotBasic
                 ? OAuthError{http::status::unauthorized, "invalid_client",
                              "use HTTP Basic (client_secret_basic), client_secret_post or "
                              "private_key_jwt",
                              true}
                 : OAuthError{http::status::unauthorized, "invalid_client",
                              "malformed Basic credentials", true};
    auto& [hid, hsecret] = basic.value();
    if (body_id && *body_id != hid)
      return OAuthError{http::status::bad_request, "invalid_request",
                        "client_id in the body differs from the Authorization header"};
    c.id = std::move(hid);
    c.secret = std::move(hsecret);
    c.has_secret = true;
  } else if (assertion) {
    if (!assertion_type || *assertion_type != kJwtBearerAssertion)
      return OAuthError{http::status::unauthorized, "invalid_client",
                        "client_assertion_type must be " + std::string(kJwtBearerAssertion)};
    auto aid = assertion_client_id(*assertion);
    if (!aid) return OAuthError{http::status::unauthorized, "invalid_client", aid.reason()};
    if (body_id && *body_id != aid.value())
      return OAuthError{http::status::bad_request, "invalid_request",
                        "client_id differs from the client assertion's"};
    c.id = aid.value();
    c.assertion = *assertion;
  } else {
    if (!body_id)
      return OAuthError{http::status::unauthorized, "invalid_client",
                        "client authentication required (client_id, with client_secret_basic, "
                        "client_secret_post or private_key_jwt for confidential clients)"};
    c.id = *body_id;
    if (body_secret) {
      c.secret = *body_secret;
      c.has_secret = true;
    }
  }
  return c;
}

// An https client_id that no configured client has: a client metadata
// document's (registered ids are never URLs).
bool metadata_document_id(std::string_view id, const ClientRegistry& reg) {
  return is_client_id_url(id) && !reg.find(id);
}

// Whether checking these credentials may fetch: an assertion may need the
// client's jwks_uri, a metadata-document id its document. Neither has a
// secret to hash (see verify_client).
bool may_fetch(const Credentials& cr, const ClientRegistry& reg) {
  return cr.assertion || (!cr.has_secret && metadata_document_id(cr.id, reg));
}

}  // namespace

// One request to a form endpoint between its steps (it may finish on a
// hashing thread, so it owns what it needs).
struct AuthServer::FormCall {
  Endpoint endpoint;
  Request req;
  Form form;
  Credentials creds;
  Source source;
};

bool AuthServer::handle_async(const Request& req, const Caller& caller, Reply reply) {
  std::string_view path = path_of(req);
  if (const std::optional<Endpoint> e = form_endpoint(path)) {
    if (req.method() != http::verb::post) {
      reply(method_not_allowed(req, "POST"));
      return true;
    }
    auto begun = begin_form(*e, req, caller);
    if (!begun) {
      reply(begun.error());
      return true;
    }
    auto call = std::make_shared<FormCall>(std::move(begun.value()));
    auto reg = clients();
    // A configured client's secret verified before answers at once, on this
    // thread.
    if (call->creds.has_secret && !managed_->revoked(call->creds.id))
      if (const ClientConfig* c = reg->cached(call->creds.id, call->creds.secret)) {
        reply(finish_form(*call, AuthedClient{to_signin_client(*c), true}, true));
        return true;
      }
    // What may wait for the network (a client metadata document, a
    // jwks_uri) runs on this thread, a route thread (never an I/O thread),
    // bounded by ClientDocuments' fetch slots; it never costs argon2id. It
    // stays off the hashing pool, so a document a client's server trickles
    // out until the timeout holds up no one's secret check.
    if (documents_ && may_fetch(call->creds, *reg)) {
      bool known = false;
      auto checked = verify_client(*call, *reg, &known);
      reply(finish_form(*call, std::move(checked), known));
      return true;
    }
    // Everything else may cost argon2id (a secret, or the dummy for an
    // unknown id): never on an I/O thread.
    auto admitted = hashing_->submit(call->source.key, [this, call, reg, reply] {
      bool known = false;
      auto checked = verify_client(*call, *reg, &known);
      reply(finish_form(*call, std::move(checked), known));
    });
    if (admitted == HashPool::Admit::kAdmitted) return true;
    // No room to check the secret now: refused without checking, counted as
    // neither success nor failure.
    bool source_busy = admitted == HashPool::Admit::kSourceBusy;
    OAuthError err =
        source_busy
            ? OAuthError{http::status::too_many_requests, "slow_down",
                         "too many client authentications from this address at once", false, 1}
            : OAuthError{http::status::service_unavailable, "temporarily_unavailable",
                         "client authentication is busy; retry shortly", false, 1};
    ++token_errors_;
    failed(json::object{{"event_type", "token_denied"},
                        {"error", err.code},
                        {"error_description", err.description},
                        {"status", static_cast<int>(err.status)}},
           reg->find(call->creds.id) ? call->creds.id : std::string(), call->source);
    reply(oauth_error(req, err, options_.realm));
    return true;
  }
  if (auto r = handle_get(req, caller)) {
    reply(std::move(*r));
    return true;
  }
  // /oauth2/authorize, /oauth2/register and the sign-in pages.
  return signin_route(req, path, source_of(req, caller).key, reply);
}

std::optional<AuthServer::Endpoint> AuthServer::form_endpoint(std::string_view path) {
  if (path == "/oauth2/token") return Endpoint::kToken;
  if (path == "/oauth2/introspect") return Endpoint::kIntrospect;
  if (path == "/oauth2/revoke") return Endpoint::kRevoke;
  return std::nullopt;
}

std::optional<Response> AuthServer::refuse_at_once(const Request& req, const Caller& caller) {
  const std::optional<Endpoint> e = form_endpoint(path_of(req));
  if (!e) return std::nullopt;
  if (req.method() != http::verb::post) return method_not_allowed(req, "POST");
  // begin_form has no effect when it lets a request through: handle_async
  // reads it again (a few microseconds), and refuses it then should a
  // lockout have begun in between.
  auto begun = begin_form(*e, req, caller);
  if (!begun) return std::move(begun.error());
  return std::nullopt;
}

std::optional<Response> AuthServer::handle(const Request& req, const Caller& caller) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Response> out;
  bool done = false;
  bool ours = handle_async(req, caller, [&](Response r) {
    std::lock_guard lock(mu);
    out = std::move(r);
    done = true;
    cv.notify_all();
  });
  if (!ours) return std::nullopt;
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return out;
}

std::optional<Response> AuthServer::handle_get(const Request& req, const Caller& caller) {
  std::string_view path = path_of(req);
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  auto doc = [&](json::object body) -> Response {
    if (!get) return method_not_allowed(req, "GET");
    Response res = json_response(req, http::status::ok, body, false);
    res.set(http::field::cache_control, "public, max-age=300");
    res.set(http::field::access_control_allow_origin, "*");
    return res;
  };
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
  if (path == "/hello") return hello(req, caller);
  return std::nullopt;
}

// --- form endpoints: token, introspection, revocation ----------------------------

protocol::Expected<AuthServer::FormCall, Response> AuthServer::begin_form(Endpoint e,
                                                                          const Request& req,
                                                                          const Caller& caller) {
  Source source = source_of(req, caller);
  auto refuse = [&](const OAuthError& err, std::string_view client = {}) {
    if (e == Endpoint::kToken) {
      ++token_errors_;
      spdlog::debug("auth: token request refused: {} ({})", err.code, err.description);
    }
    failed(json::object{{"event_type", "token_denied"},
                        {"error", err.code},
                        {"error_description", err.description},
                        {"status", static_cast<int>(err.status)}},
           client, source);
    return oauth_error(req, err, options_.realm);
  };
  // Fail closed: while the audit log cannot record it, no credential is
  // checked and no token handed out (so guessing cannot go unrecorded).
  // Revocation only makes things safer and still works.
  if (e != Endpoint::kRevoke && !audit_available()) {
    if (e == Endpoint::kToken) ++token_errors_;
    return oauth_error(req,
                       {http::status::service_unavailable, "temporarily_unavailable",
                        std::string(kNoAudit), false, 5},
                       options_.realm);
  }
  auto form = read_form(req);
  if (!form) return refuse(form.error());
  if (e == Endpoint::kToken) {
    const std::string* grant = form_get(form.value(), "grant_type");
    if (!grant)
      return refuse({http::status::bad_request, "invalid_request", "grant_type is missing"});
    if ((*grant == "authorization_code" || *grant == "refresh_token") && !signin_->enabled())
      return refuse({http::status::bad_request, "unsupported_grant_type",
                     "sign-in is not configured on this server; only client_credentials is "
                     "supported"});
  }
  auto creds = read_credentials(req, form.value());
  if (!creds) return refuse(creds.error());
  Credentials& c = creds.value();
  // Only a registered id goes into the audit log: a mistyped one may be a
  // secret pasted into the wrong field.
  std::string known = clients()->find(c.id) ? c.id : std::string();
  if (std::int64_t wait = lockout_.retry_after(c.id, source.key)) {
    ++lockouts_;
    return refuse(
        {http::status::too_many_requests, "slow_down",
         "too many failed client authentications; retry after " + std::to_string(wait) + " s",
         false, wait},
        known);
  }
  return FormCall{e, req, std::move(form.value()), std::move(c), std::move(source)};
}

// Client authentication for every method and every kind of client
// (configured, registered, metadata document): on a hashing thread, or on
// the route thread when it may fetch (may_fetch), never both a fetch and
// argon2id.
AuthServer::ClientCheck AuthServer::verify_client(const FormCall& call, const ClientRegistry& reg,
                                                  bool* known) {
  const Credentials& cr = call.creds;
  auto bad = [](std::string description) {
    return EndpointError{http::status::unauthorized, "invalid_client", std::move(description)};
  };
  // A metadata-document client holds no shared secret (client_metadata.hpp),
  // so a secret sent with its https client_id is wrong whatever the document
  // says: refused without fetching it, and without a dummy hash (whether a
  // document exists is public).
  if (documents_ && cr.has_secret && metadata_document_id(cr.id, reg)) {
    *known = false;
    return bad("client authentication failed");
  }
  // A revoked id (managed_clients.hpp) is refused whatever it presents, at
  // the cost of a wrong secret.
  if (managed_->revoked(cr.id)) {
    *known = true;
    if (cr.has_secret) (void)reg.authenticate(std::string(), cr.secret);
    return bad("client authentication failed");
  }
  auto found = signin_->find_client(cr.id, call.source.key);
  *known = static_cast<bool>(found);
  if (!found && !cr.assertion && managed_->find(cr.id)) {
    // A client an operator created at run time: client_credentials with a secret.
    *known = true;
    if (!cr.has_secret) return bad("client_secret is required for this client");
    auto m = managed_->authenticate(cr.id, cr.secret);
    if (!m) return bad("client authentication failed");
    return AuthedClient{to_signin_client(m.value()), true};
  }
  if (!found) {
    // An unknown id costs what a wrong secret costs: ids cannot be told
    // apart by time (the registry checks a dummy hash of the same cost).
    if (cr.has_secret) (void)reg.authenticate(cr.id, cr.secret);
    return bad("client authentication failed");
  }
  AuthedClient out{std::move(found.value()), false};
  const SignInClient& c = out.client;
  AuthMethod m = c.meta.auth_method;
  bool secret_client = m == AuthMethod::kSecretBasic || m == AuthMethod::kSecretPost;
  if (cr.assertion) {
    if (m != AuthMethod::kPrivateKeyJwt)
      return bad("this client does not authenticate with private_key_jwt");
    std::vector<std::shared_ptr<const Key>> keys;
    if (c.meta.jwks) {
      keys = parse_jwks(*c.meta.jwks);
    } else if (documents_ && !c.meta.jwks_uri.empty()) {
      auto k = documents_->jwks(c.meta.jwks_uri, call.source.key);
      if (!k) return bad("cannot get the client's keys: " + k.reason());
      keys = std::move(k.value());
    }
    if (keys.empty()) return bad("the client has no usable public keys");
    auto ok =
        verify_client_assertion(*cr.assertion, c.meta.client_id, keys,
                                AssertionRules{.audiences = {token_endpoint(), options_.issuer},
                                               .now = clock_(),
                                               .skew = options_.clock_skew.count()},
                                assertions_.get());
    if (!ok) return bad(ok.reason());
    out.confidential = true;
    return out;
  }
  if (cr.has_secret) {
    if (!secret_client) return bad("this client does not authenticate with a secret");
    if (c.kind == ClientKind::kConfigured) {
      if (!reg.authenticate(cr.id, cr.secret)) return bad("client authentication failed");
    } else if (!SignIn::registered_secret_matches(c, cr.secret)) {
      return bad("client authentication failed");
    }
    out.confidential = true;
    return out;
  }
  if (m != AuthMethod::kNone)
    return bad(secret_client ? "client_secret is required for this client (client_secret_basic "
                               "or client_secret_post)"
                             : "this client must authenticate with private_key_jwt");
  return out;  // a public client: PKCE binds its codes
}

Response AuthServer::finish_form(FormCall& call, ClientCheck checked, bool known) {
  if (!checked) {
    const EndpointError* e = &checked.error();
    std::int64_t wait = lockout_.failure(call.creds.id, call.source.key);
    if (call.endpoint == Endpoint::kToken) ++token_errors_;
    OAuthError err{e->status, e->code, e->description,
                   call.creds.via_header && e->status == http::status::unauthorized};
    json::object ev{{"event_type", "token_denied"},
                    {"error", err.code},
                    {"error_description", err.description},
                    {"status", static_cast<int>(err.status)}};
    if (wait > 0) ev["backoff_s"] = wait;
    // Only a known id goes into the audit log: a mistyped one may be a
    // secret pasted into the wrong field.
    failed(std::move(ev), known ? call.creds.id : std::string(), call.source);
    return oauth_error(call.req, err, options_.realm);
  }
  const AuthedClient& a = checked.value();
  lockout_.success(a.client.meta.client_id, call.source.key);
  switch (call.endpoint) {
    case Endpoint::kToken:
      return token(call, a);
    case Endpoint::kIntrospect:
      return introspect(call, a);
    case Endpoint::kRevoke:
      return revoke(call, a);
  }
  return oauth_error(call.req, {http::status::internal_server_error, "server_error", "?"},
                     options_.realm);
}

Result<IssuedToken> AuthServer::issue(std::string_view client_id, std::string_view scope,
                                      std::optional<std::chrono::seconds> lifetime) {
  auto reg = clients();
  std::optional<ClientConfig> managed;
  const ClientConfig* c = reg->find(client_id);
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
  // Fail closed: a token nobody could account for is not handed out.
  if (!audit_available()) return fail(std::string(kNoAudit));
  AccessToken t;
  t.iss = options_.issuer;
  t.sub = c->id;
  t.aud = {options_.effective_audience()};
  t.client_id = c->id;
  t.scopes = std::move(granted);
  // Tokens issued at or before the client's current secret took effect are
  // refused (admit_own); one issued in that same second is dated just after.
  t.iat = std::max(clock_(), reg->not_before(c->id) + 1);
  t.exp = t.iat + life.count();
  t.jti = new_jti();
  auto key = keys_->active();
  auto tok = issue_access_token(*key, t);
  if (!tok) return tok.error();
  if (!emit(json::object{{"event_type", "token_issued"},
                         {"client_id", c->id},
                         {"user_id", c->id},
                         {"scope", t.scope_string()},
                         {"jti", t.jti},
                         {"expires_in", t.exp - t.iat}}))
    return fail(std::string(kNoAudit));
  ++issued_;
  return IssuedToken{std::move(tok.value()), std::move(t)};
}

Response AuthServer::token(FormCall& call, const AuthedClient& a) {
  const std::string& grant = *form_get(call.form, "grant_type");
  const std::string& id = a.client.meta.client_id;
  auto error = [&](OAuthError e) {
    ++token_errors_;
    failed(json::object{{"event_type", "token_denied"},
                        {"error", e.code},
                        {"error_description", e.description},
                        {"status", static_cast<int>(e.status)}},
           id, call.source);
    return oauth_error(call.req, e, options_.realm);
  };
  if (grant == "client_credentials") {
    // Only configured, authenticated clients: there is no user behind it.
    auto reg = clients();
    std::optional<ClientConfig> managed;
    const ClientConfig* c = nullptr;
    if (a.client.kind == ClientKind::kConfigured && a.confidential) {
      c = reg->find(id);
      if (!c && (managed = managed_->find(id))) c = &*managed;
    }
    if (!c ||
        std::find(c->grant_types.begin(), c->grant_types.end(), grant) == c->grant_types.end())
      return error({http::status::bad_request, "unauthorized_client",
                    "this client may not use the client_credentials grant"});
    return client_credentials(call, *c);
  }
  if (grant == "authorization_code" || grant == "refresh_token") {
    auto r = grant == "authorization_code" ? signin_->redeem_code(call.form, a.client)
                                           : signin_->refresh(call.form, a.client);
    if (!r) {
      const EndpointError& e = r.error();
      if (e.description == kNoAudit)
        return error({http::status::service_unavailable, "temporarily_unavailable",
                      std::string(kNoAudit), false, 5});
      return error({e.status, e.code, e.description, e.basic_challenge});
    }
    return json_response(call.req, http::status::ok, r.value(), true);
  }
  return error({http::status::bad_request, "unsupported_grant_type",
                "grant_type must be authorization_code, refresh_token or client_credentials"});
}

Response AuthServer::client_credentials(FormCall& call, const ClientConfig& c) {
  auto error = [&](OAuthError e) {
    ++token_errors_;
    spdlog::debug("auth: token request refused: {} ({})", e.code, e.description);
    failed(json::object{{"event_type", "token_denied"},
                        {"client_id", c.id},
                        {"error", e.code},
                        {"error_description", e.description},
                        {"status", static_cast<int>(e.status)}},
           c.id, call.source);
    return oauth_error(call.req, e, options_.realm);
  };
  const Form& f = call.form;
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
  auto issued = issue(c.id, scope ? *scope : "");
  if (!issued) {
    if (issued.reason() == kNoAudit)
      return error({http::status::service_unavailable, "temporarily_unavailable",
                    std::string(kNoAudit), false, 5});
    return error({http::status::bad_request, "invalid_scope", issued.reason()});
  }
  spdlog::info("auth: issued token {} to {} (scope \"{}\")", issued->claims.jti, c.id,
               issued->claims.scope_string());
  return json_response(call.req, http::status::ok,
                       json::object{{"access_token", issued->access_token},
                                    {"token_type", "Bearer"},
                                    {"expires_in", issued->claims.exp - issued->claims.iat},
                                    {"scope", issued->claims.scope_string()}},
                       true);
}

Response AuthServer::introspect(FormCall& call, const AuthedClient& a) {
  // Resource servers introspect: configured clients that authenticated.
  if (a.client.kind != ClientKind::kConfigured || !a.confidential)
    return oauth_error(
        call.req,
        {http::status::unauthorized, "invalid_client",
         "introspection is for configured confidential clients", call.creds.via_header},
        options_.realm);
  const std::string* token = form_get(call.form, "token");
  if (!token)
    return oauth_error(call.req, {http::status::bad_request, "invalid_request", "token is missing"},
                       options_.realm);
  auto v = validator_->validate(*token);
  if (!v) return json_response(call.req, http::status::ok, json::object{{"active", false}}, true);
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
  return json_response(call.req, http::status::ok, out, true);
}

// Every kind of client may revoke its own tokens (RFC 7009 §2.1: public
// clients too), refresh tokens included.
Response AuthServer::revoke(FormCall& call, const AuthedClient& a) {
  struct {
    const std::string& id;
  } c{a.client.meta.client_id};
  const std::string* token = form_get(call.form, "token");
  if (!token)
    return oauth_error(call.req, {http::status::bad_request, "invalid_request", "token is missing"},
                       options_.realm);
  Response ok = json_response(call.req, http::status::ok, json::object{}, true);
  ok.body().clear();
  ok.erase(http::field::content_type);
  ok.prepare_payload();
  // RFC 7009 §2.2: invalid, expired, unknown or already revoked tokens are
  // not an error -- the client's goal (token unusable) is met.
  if (signin_->revoke_refresh_token(*token, c.id)) return ok;
  auto v = validator_->validate(*token);
  if (!v || v->jti.empty()) return ok;
  if (v->client_id != c.id)
    return oauth_error(call.req,
                       {http::status::bad_request, "unauthorized_client",
                        "the token was issued to another client"},
                       options_.realm);
  // Revoking makes things safer: it happens even when the audit log cannot
  // record it (the attempt to record it is still made).
  if (revoked_->revoke(v->jti, v->exp)) {
    ++revoked_count_;
    spdlog::info("auth: revoked token {} of {}", v->jti, c.id);
    emit(json::object{{"event_type", "token_revoked"}, {"client_id", c.id}, {"jti", v->jti}});
  }
  return ok;
}

}  // namespace bastion::auth
