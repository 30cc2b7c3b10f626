// AuthServer's side of the authorization code flow: building the SignIn
// engine from the options, the routes it owns (/oauth2/authorize,
// /oauth2/register, the interaction's pages, called without blocking) and
// the tokens it mints. Client authentication for every method and the
// grants at the token endpoint are in server.cpp (one path for all).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/basic_interaction.hpp"
#include "auth/bearer.hpp"
#include "auth/client_assertion.hpp"
#include "auth/http_util.hpp"
#include "auth/server.hpp"
#include "auth/signin_clients.hpp"
#include "protocol/peer_address.hpp"

namespace bastion::auth {

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
  so.max_pending_per_source = st.max_pending_per_source;
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
    auto reg = clients();
    const ClientConfig* c = reg->find(id);
    if (!c) return std::nullopt;
    return to_signin_client(*c);
  };
  if (documents_)
    h.metadata_document = [d = documents_.get()](const std::string& url, std::string_view source) {
      return d->metadata(url, source);
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
  // Fail closed: no token is handed out while the audit log cannot record
  // its issuance (the token endpoint answers 503).
  if (!audit_available()) return fail(std::string(kAuditUnavailable));
  t.iss = options_.issuer;
  // Never at or before the client's current secret took effect (admit_own).
  t.iat = std::max(clock_(), clients()->not_before(t.client_id) + 1);
  t.exp = t.iat + options_.token_lifetime.count();
  t.jti = new_jti();
  auto key = keys_->active();
  auto tok = issue_access_token(*key, t);
  if (!tok) return tok.error();
  ++issued_;
  return MintedToken{std::move(tok.value()), std::move(t)};
}

bool AuthServer::signin_route(const Request& req, std::string_view path, const std::string& source,
                              const Reply& reply) {
  if (path == "/oauth2/authorize") {
    signin_->authorize(req, source, reply);
    return true;
  }
  if (path == "/oauth2/register") {
    if (!signin_->enabled() || !signin_->registration_enabled())
      reply(json_response(
          req, http::status::not_found,
          json::object{{"error", "not_found"},
                       {"error_description", "client registration is not enabled on this server"}},
          true));
    else
      reply(signin_->register_client(req, source));
    return true;
  }
  if (!signin_->enabled()) return false;
  return signin_->interaction_request(req, source, reply);
}

}  // namespace bastion::auth
