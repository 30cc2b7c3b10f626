// A pending authorization settled: the interaction's outcome (a page of its
// own, or a decision) becomes the client's redirect, with an error or with an
// authorization code for the scopes granted. One decision per pending
// authorization, across replicas too.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/jwk.hpp"
#include "auth/scopes.hpp"
#include "auth/signin.hpp"
#include "auth/signin_records.hpp"

namespace bastion::auth {

namespace json = boost::json;
namespace http = signin_http;
using Request = SignIn::Request;
using Response = SignIn::Response;
using namespace signin_records;

bool SignIn::interaction_request(const Request& req, std::string_view source, Reply reply) {
  if (!interaction_) return false;
  auto self_reply = std::make_shared<Reply>(std::move(reply));
  auto req_copy = std::make_shared<Request>(req);
  return interaction_->handle(req, source, *this, [this, req_copy, self_reply](Outcome o) {
    settle(*req_copy, std::move(o), std::move(*self_reply), false);
  });
}

std::optional<PendingAuthorization> SignIn::find_pending(std::string_view id) const {
  if (id.empty() || id.size() > 128) return std::nullopt;
  auto r = pending_.get(id);
  if (!r) return std::nullopt;
  PendingAuthorization p;
  p.id = str(*r, "id");
  if (p.id != id) return std::nullopt;
  p.client_id = str(*r, "client_id");
  p.client_name = str(*r, "client_name");
  p.client_uri = str(*r, "client_uri");
  p.client_kind = static_cast<ClientKind>(num(*r, "client_kind"));
  p.redirect_uri = str(*r, "redirect_uri");
  p.redirect_host = str(*r, "redirect_host");
  auto* lb = r->if_contains("loopback_redirect");
  p.loopback_redirect = lb && lb->is_bool() && lb->get_bool();
  p.scopes = from_array(r->if_contains("scopes"));
  p.resource = str(*r, "resource");
  p.prompt = str(*r, "prompt");
  p.login_hint = str(*r, "login_hint");
  if (r->contains("max_age")) p.max_age = num(*r, "max_age");
  p.state = str(*r, "state");
  p.code_challenge = str(*r, "code_challenge");
  p.nonce = str(*r, "nonce");
  p.created = num(*r, "created");
  p.expires = p.created + options_.pending_lifetime.count();
  return p;
}

void SignIn::settle(const Request& req, Outcome outcome, Reply reply, bool unattended) {
  if (auto* page = std::get_if<Page>(&outcome)) return reply(std::move(page->response));
  auto& s = std::get<Settle>(outcome);
  auto p = find_pending(s.pending_id);
  // One decision per pending authorization: take it (across replicas too).
  auto taken = p ? pending_.take(s.pending_id) : RecordStore::Taken{};
  if (!p || taken.state != RecordStore::Taken::State::kTaken)
    return reply(render_error_page(
        req, http::status::bad_request, "This sign-in has expired",
        "The sign-in request is no longer valid (it expired or was already completed). Start "
        "again from the application."));
  // A denial nobody decided (prompt=none: login_required, consent_required)
  // goes to a client the operator did not configure only as a page.
  const auto* no = std::get_if<Denial>(&s.decision);
  if (no && unattended && !redirects_unattended(p->client_kind)) {
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "authorization_refused"},
                                {"client_id", p->client_id},
                                {"error", no->error},
                                {"reason", no->description}});
    return reply(render_refused_request(req, no->error, no->description));
  }
  reply(finish(req, *p, s.decision, s.headers));
}

Response SignIn::finish(const Request& req, const PendingAuthorization& p, const Decision& d,
                        const ExtraHeaders& headers) {
  auto go = [&](std::vector<std::pair<std::string, std::string>> q) {
    if (!p.state.empty()) q.emplace_back("state", p.state);
    q.emplace_back("iss", options_.issuer);
    Response r = redirect_response(req, with_query(p.redirect_uri, q));
    for (const auto& [k, v] : headers) r.insert(k, v);
    return r;
  };
  auto deny = [&](std::string error, std::string description) {
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "authorization_denied"},
                                {"client_id", p.client_id},
                                {"error", error},
                                {"reason", description}});
    return go({{"error", std::move(error)}, {"error_description", std::move(description)}});
  };
  if (auto* no = std::get_if<Denial>(&d)) {
    std::string e = no->error.empty() ? "access_denied" : no->error;
    static const std::vector<std::string> allowed = {
        "access_denied",        "login_required",          "consent_required",
        "interaction_required", "temporarily_unavailable", "account_selection_required",
        "server_error"};
    if (!has(allowed, e)) e = "access_denied";
    return deny(e, no->description.empty() ? "the user or policy refused" : no->description);
  }
  const auto& yes = std::get<Approval>(d);
  if (yes.subject.empty()) return deny("server_error", "the sign-in produced no user");
  // Re-resolve the client: it may have been removed while the user signed in.
  auto client = find_client(p.client_id);
  if (!client) return deny("unauthorized_client", "the client is no longer registered");
  const SignInClient& c = client.value();
  std::vector<std::string> granted;
  for (const auto& s : yes.scopes) {
    if (!valid_scope_token(s) || has(granted, s)) continue;
    // Never more than asked for (when the request named scopes)...
    if (!p.scopes.empty() && !has(p.scopes, s) && !scopes_cover(p.scopes, s)) continue;
    if (s == kOfflineAccess) {
      if (c.meta.has_grant("refresh_token")) granted.push_back(s);
      continue;
    }
    // ...nor more than a limited client may hold.
    if (c.scope_limited && !scopes_cover(c.scopes, s) && !has(c.scopes, s)) continue;
    granted.push_back(s);
  }
  bool any_resource_scope = std::any_of(granted.begin(), granted.end(),
                                        [](const std::string& s) { return s != kOfflineAccess; });
  if (!any_resource_scope)
    return deny("access_denied", "none of the requested scopes can be granted to this user");
  std::string code = b64url_encode(random_bytes(32));
  std::string family = b64url_encode(random_bytes(16));
  std::int64_t now = clock_();
  json::object rec{{"client_id", p.client_id},
                   {"redirect_uri", p.redirect_uri},
                   {"code_challenge", p.code_challenge},
                   {"resource", p.resource},
                   {"scopes", to_array(granted)},
                   {"subject", yes.subject},
                   {"auth_time", yes.auth_time ? yes.auth_time : now},
                   {"nonce", p.nonce},
                   {"family", family}};
  auto ok = codes_.create(code, rec, now + options_.code_lifetime.count());
  if (!ok || !ok.value()) return deny("server_error", "could not store the authorization code");
  spdlog::info("auth: {} signed in to {} (scope \"{}\")", yes.subject, p.client_id,
               join_scopes(granted));
  if (hooks_.audit)
    hooks_.audit(json::object{{"event_type", "authorization_granted"},
                              {"client_id", p.client_id},
                              {"user_id", yes.subject},
                              {"idp", yes.idp},
                              {"scope", join_scopes(granted)},
                              {"resource", p.resource}});
  return go({{"code", code}});
}

}  // namespace bastion::auth
