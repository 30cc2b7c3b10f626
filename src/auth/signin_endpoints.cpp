// AuthServer's side of the authorization code flow: building the SignIn
// engine from the options, the routes it owns (/oauth2/authorize,
// /oauth2/register, the interaction's pages), client authentication for
// every method at the token endpoint, and the authorization_code and
// refresh_token grants. The endpoints' common parts are in server.cpp.
#include <spdlog/spdlog.h>

#include <future>

#include "auth/basic_interaction.hpp"
#include "auth/bearer.hpp"
#include "auth/client_assertion.hpp"
#include "auth/http_util.hpp"
#include "auth/server.hpp"
#include "auth/signin_clients.hpp"
#include "protocol/peer_address.hpp"

namespace bastion::auth {

namespace {

// Standard base64 with padding (HTTP Basic).
std::optional<std::string> b64std(std::string_view s) {
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

EndpointError client_error(std::string description) {
  return EndpointError{http::status::unauthorized, "invalid_client", std::move(description)};
}

// Waits for a reply that may come from another thread (an interaction or a
// metadata document fetch that completes later).
std::optional<Response> wait_for(const std::function<bool(SignIn::Reply)>& start) {
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = promise->get_future();
  if (!start([promise](Response r) { promise->set_value(std::move(r)); })) return std::nullopt;
  return future.get();
}

}  // namespace

void AuthServer::init_signin() {
  const auto& st = options_.signin;
  if (st.metadata_documents.enabled)
    documents_ = std::make_unique<ClientDocuments>(st.metadata_documents, clock_);
  assertions_ = std::make_unique<RecordStore>(options_.data_dir / "assertions",
                                              RecordStoreOptions{.durable = false}, clock_);
  SignInOptions so;
  so.issuer = options_.issuer;
  // The MCP endpoint is the protected resource; the issuer's origin names it
  // too (the root RFC 9728 document says so).
  so.resources = {options_.effective_audience(), options_.issuer};
  so.access_token_lifetime = options_.token_lifetime;
  so.code_lifetime = st.code_lifetime;
  so.pending_lifetime = st.pending_lifetime;
  so.refresh_idle = st.refresh_token_lifetime;
  so.refresh_max = st.refresh_token_max_lifetime;
  so.data_dir = options_.data_dir;
  so.registration = st.registration;
  SignIn::Hooks h;
  h.mint = [this](AccessToken c) { return mint(std::move(c)); };
  h.revoke_access = [this](const std::string& jti, std::int64_t exp) {
    if (revoked_->revoke(jti, exp)) ++revoked_count_;
  };
  h.configured = [this](std::string_view id) -> std::optional<SignInClient> {
    const ClientConfig* c = clients_.find(id);
    if (!c) return std::nullopt;
    return to_signin_client(*c);
  };
  if (documents_)
    h.metadata_document = [d = documents_.get()](const std::string& url) {
      return d->metadata(url);
    };
  h.audit = [this](boost::json::object e) { emit(std::move(e)); };
  signin_ = std::make_unique<SignIn>(std::move(so), std::move(h), clock_);
  if (!st.test_login.empty()) {
    spdlog::warn(
        "auth.test_login is on: {} user(s) sign in with HTTP Basic credentials and no consent "
        "page. This is for tests, not for production.",
        st.test_login.size());
    signin_->set_interaction(std::make_shared<BasicInteraction>(st.test_login));
  }
}

void AuthServer::set_interaction(std::shared_ptr<Interaction> interaction) {
  signin_->set_interaction(std::move(interaction));
}

Result<MintedToken> AuthServer::mint(AccessToken t) {
  t.iss = options_.issuer;
  t.iat = clock_();
  t.exp = t.iat + options_.token_lifetime.count();
  t.jti = new_jti();
  auto key = keys_->active();
  auto tok = issue_access_token(*key, t);
  if (!tok) return tok.error();
  ++issued_;
  return MintedToken{std::move(tok.value()), std::move(t)};
}

std::optional<Response> AuthServer::signin_route(const Request& req, std::string_view path) {
  // The TCP peer as the transport saw it (it replaces any such field the
  // client sent); "unknown" when the request did not come through it.
  auto peer = req.find(protocol::kPeerAddressField);
  const std::string source =
      peer != req.end() && !peer->value().empty() && peer->value().size() <= 64
          ? std::string(peer->value())
          : std::string("unknown");
  if (path == "/oauth2/authorize")
    return wait_for([&](SignIn::Reply reply) {
      signin_->authorize(req, source, std::move(reply));
      return true;
    });
  if (path == "/oauth2/register") {
    if (!signin_->enabled() || !signin_->registration_enabled())
      return json_response(
          req, http::status::not_found,
          json::object{{"error", "not_found"},
                       {"error_description", "client registration is not enabled on this server"}},
          true);
    return signin_->register_client(req, source);
  }
  if (!signin_->enabled()) return std::nullopt;
  return wait_for([&](SignIn::Reply reply) {
    return signin_->interaction_request(req, source, std::move(reply));
  });
}

std::variant<AuthServer::AuthedClient, EndpointError> AuthServer::authenticate_any_client(
    const Request& req, const Form& f, bool* via_header) {
  *via_header = false;
  std::size_t headers = req.count(http::field::authorization);
  if (headers > 1)
    return EndpointError{http::status::bad_request, "invalid_request",
                         "more than one Authorization header"};
  const std::string* body_id = form_get(f, "client_id");
  const std::string* body_secret = form_get(f, "client_secret");
  const std::string* assertion = form_get(f, "client_assertion");
  const std::string* assertion_type = form_get(f, "client_assertion_type");
  int methods = (headers == 1) + (body_secret != nullptr) + (assertion != nullptr);
  if (methods > 1)
    return EndpointError{http::status::bad_request, "invalid_request",
                         "more than one client authentication method (use one)"};
  std::string id, secret;
  if (headers == 1) {
    *via_header = true;
    std::string_view v(req[http::field::authorization].data(),
                       req[http::field::authorization].size());
    v = trim(v);
    auto sp = v.find(' ');
    if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Basic"))
      return client_error("use HTTP Basic (client_secret_basic) or client_secret_post");
    auto decoded = b64std(trim(v.substr(sp + 1)));
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return client_error("malformed Basic credentials");
    auto hid = form_decode(std::string_view(*decoded).substr(0, colon));
    auto hsecret = form_decode(std::string_view(*decoded).substr(colon + 1));
    if (!hid || !hsecret || hid->empty()) return client_error("malformed Basic credentials");
    if (body_id && *body_id != *hid)
      return EndpointError{http::status::bad_request, "invalid_request",
                           "client_id in the body differs from the Authorization header"};
    id = std::move(*hid);
    secret = std::move(*hsecret);
  } else if (assertion) {
    if (!assertion_type || *assertion_type != kJwtBearerAssertion)
      return client_error("client_assertion_type must be " + std::string(kJwtBearerAssertion));
    auto aid = assertion_client_id(*assertion);
    if (!aid) return client_error(aid.reason());
    if (body_id && *body_id != aid.value())
      return EndpointError{http::status::bad_request, "invalid_request",
                           "client_id differs from the client assertion's"};
    id = aid.value();
  } else {
    if (!body_id)
      return client_error(
          "client authentication required (client_id, with client_secret_basic, "
          "client_secret_post or private_key_jwt for confidential clients)");
    id = *body_id;
    if (body_secret) secret = *body_secret;
  }
  auto found = signin_->find_client(id);
  if (!found) return client_error("client authentication failed");
  AuthedClient out{std::move(found.value()), false};
  const SignInClient& c = out.client;
  AuthMethod m = c.meta.auth_method;
  bool secret_client = m == AuthMethod::kSecretBasic || m == AuthMethod::kSecretPost;
  if (assertion) {
    if (m != AuthMethod::kPrivateKeyJwt)
      return client_error("this client does not authenticate with private_key_jwt");
    std::vector<std::shared_ptr<const Key>> keys;
    if (c.meta.jwks) {
      keys = parse_jwks(*c.meta.jwks);
    } else if (documents_ && !c.meta.jwks_uri.empty()) {
      auto k = documents_->jwks(c.meta.jwks_uri);
      if (!k) return client_error("cannot get the client's keys: " + k.reason());
      keys = std::move(k.value());
    }
    if (keys.empty()) return client_error("the client has no usable public keys");
    auto ok =
        verify_client_assertion(*assertion, c.meta.client_id, keys,
                                AssertionRules{.audiences = {token_endpoint(), options_.issuer},
                                               .now = clock_(),
                                               .skew = options_.clock_skew.count()},
                                assertions_.get());
    if (!ok) return client_error(ok.reason());
    out.confidential = true;
    return out;
  }
  if (!secret.empty() || headers == 1 || body_secret) {
    if (!secret_client) return client_error("this client does not authenticate with a secret");
    if (c.kind == ClientKind::kConfigured) {
      auto ok = clients_.authenticate(id, secret);
      if (!ok) return client_error("client authentication failed");
    } else if (!SignIn::registered_secret_matches(c, secret)) {
      return client_error("client authentication failed");
    }
    out.confidential = true;
    return out;
  }
  if (m != AuthMethod::kNone)
    return client_error(secret_client
                            ? "client_secret is required for this client (client_secret_basic or "
                              "client_secret_post)"
                            : "this client must authenticate with private_key_jwt");
  return out;  // a public client: PKCE binds its codes
}

std::variant<json::object, EndpointError> AuthServer::signin_grant(const Request& req,
                                                                   const Form& f,
                                                                   std::string_view grant) {
  if (!signin_->enabled())
    return EndpointError{http::status::bad_request, "unsupported_grant_type",
                         "sign-in is not configured on this server; only client_credentials is "
                         "supported"};
  bool via_header = false;
  auto who = authenticate_any_client(req, f, &via_header);
  if (auto* e = std::get_if<EndpointError>(&who)) {
    e->basic_challenge = via_header && e->status == http::status::unauthorized;
    return *e;
  }
  const SignInClient& c = std::get<AuthedClient>(who).client;
  return grant == "authorization_code" ? signin_->redeem_code(f, c) : signin_->refresh(f, c);
}

}  // namespace bastion::auth
