// SignIn's token endpoint grants (RFC 6749 §4.1.3 authorization_code, §6
// refresh_token) and the refresh families behind them: rotation, reuse
// detection and revocation (RFC 9700 §4.14.2), the grants a user can list
// and revoke. AuthServer authenticates the client before these run.
#include "auth/signin.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/http_util.hpp"
#include "auth/jwk.hpp"
#include "auth/redirect_uri.hpp"
#include "auth/scopes.hpp"
#include "auth/signin_records.hpp"

namespace bastion::auth {

namespace json = boost::json;
namespace http = signin_http;
using namespace signin_records;

// --- token endpoint ------------------------------------------------------------------

namespace {
EndpointError grant_error(std::string description) {
  return EndpointError{http::status::bad_request, "invalid_grant", std::move(description)};
}
}  // namespace

Result<MintedToken> SignIn::mint_for(const json::object& fam,
                                     const std::vector<std::string>& scopes) {
  AccessToken claims;
  claims.sub = str(fam, "subject");
  claims.client_id = str(fam, "client_id");
  claims.aud = {str(fam, "resource")};
  claims.scopes = scopes;
  return hooks_.mint(claims);
}

// The family's jtis still worth revoking (not expired) plus `t`'s: stored in
// the same write that creates or rotates the family, so that a replayed code
// or a reused refresh token can revoke every access token it led to.
json::array SignIn::jtis_with(const json::object& fam, const MintedToken& t) const {
  json::array jtis;
  std::int64_t now = clock_();
  if (auto* a = fam.if_contains("jtis"); a && a->is_array())
    for (const auto& e : a->get_array())
      if (e.is_object() && num(e.get_object(), "exp") > now) jtis.push_back(e);
  jtis.push_back(json::object{{"jti", t.claims.jti}, {"exp", t.claims.exp}});
  return jtis;
}

json::object SignIn::token_body(const MintedToken& t, const std::string* refresh_token) {
  json::object body{{"access_token", t.token},
                    {"token_type", "Bearer"},
                    {"expires_in", t.claims.exp - t.claims.iat},
                    {"scope", t.claims.scope_string()}};
  if (refresh_token) body["refresh_token"] = *refresh_token;
  registered_client_used(t.claims.client_id);
  if (hooks_.audit)
    hooks_.audit(json::object{{"event_type", "token_issued"},
                              {"client_id", t.claims.client_id},
                              {"user_id", t.claims.sub},
                              {"scope", t.claims.scope_string()},
                              {"jti", t.claims.jti},
                              {"refresh", refresh_token != nullptr},
                              {"expires_in", t.claims.exp - t.claims.iat}});
  return body;
}

SignIn::Grant SignIn::redeem_code(const Form& f, const SignInClient& client) {
  const std::string* code = form_get(f, "code");
  if (!code) return EndpointError{http::status::bad_request, "invalid_request", "code is missing"};
  if (code->size() > 128) return grant_error("unknown authorization code");
  if (!client.meta.has_grant("authorization_code"))
    return EndpointError{http::status::bad_request, "unauthorized_client",
                         "this client may not use the authorization_code grant"};
  auto taken = codes_.take(*code);
  if (taken.state == RecordStore::Taken::State::kAbsent)
    return grant_error("unknown or expired authorization code");
  const json::object& rec = taken.record;
  std::string family = str(rec, "family");
  if (taken.state == RecordStore::Taken::State::kReplayed) {
    // RFC 6749 §4.1.2: a code used twice revokes what it issued.
    revoke_family(family, "authorization code replayed");
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "code_replayed"},
                                {"client_id", str(rec, "client_id")},
                                {"user_id", str(rec, "subject")}});
    return grant_error("authorization code was already used; the tokens it issued are revoked");
  }
  // Bound to the client, the redirect URI and the PKCE challenge.
  if (str(rec, "client_id") != client.meta.client_id)
    return grant_error("the code was issued to another client");
  const std::string* ru = form_get(f, "redirect_uri");
  if (!ru || *ru != str(rec, "redirect_uri"))
    return grant_error("redirect_uri does not match the authorization request");
  const std::string* verifier = form_get(f, "code_verifier");
  if (!verifier)
    return EndpointError{http::status::bad_request, "invalid_grant",
                         "code_verifier is missing (PKCE is required)"};
  if (!pkce_s256_matches(*verifier, str(rec, "code_challenge")))
    return grant_error("code_verifier does not match the code_challenge");
  if (const std::string* r = form_get(f, "resource")) {
    auto canon = resource_for(*r);
    if (!canon || *canon != str(rec, "resource"))
      return EndpointError{http::status::bad_request, "invalid_target",
                           "resource differs from the authorization request"};
  }
  std::vector<std::string> scopes = from_array(rec.if_contains("scopes"));
  // A refresh token only when the user granted offline_access ("Stay signed
  // in"): the client's grant types say what it may hold, not what the user allowed.
  bool with_refresh = client.meta.has_grant("refresh_token") && has(scopes, kOfflineAccess);
  std::string secret = b64url_encode(random_bytes(32));
  std::int64_t now = clock_();
  std::int64_t max_exp = now + options_.refresh_max.count();
  std::int64_t exp = with_refresh ? std::min(now + options_.refresh_idle.count(), max_exp)
                                  : now + options_.access_token_lifetime.count() + 60;
  json::object fam{{"family", family},
                   {"client_id", client.meta.client_id},
                   {"subject", str(rec, "subject")},
                   {"scopes", to_array(scopes)},
                   {"resource", str(rec, "resource")},
                   {"auth_time", num(rec, "auth_time")},
                   {"created", now},
                   {"max_expires", max_exp},
                   {"expires", exp},
                   {"refresh", with_refresh},
                   {"current", with_refresh ? secret_hash(secret) : std::string()},
                   {"previous", json::array{}},
                   {"jtis", json::array{}},
                   {"revoked", false}};
  // Signed first, so the family is written once (one fsync pair per grant)
  // already holding the token's jti.
  auto minted = mint_for(fam, scopes);
  if (!minted)
    return EndpointError{http::status::internal_server_error, "server_error", minted.reason()};
  fam["jtis"] = jtis_with(fam, minted.value());
  auto created = families_.create(family, fam, exp);
  if (!created || !created.value()) {
    if (hooks_.revoke_access) hooks_.revoke_access(minted->claims.jti, minted->claims.exp);
    // A tombstone already there: the code was replayed while this redemption ran.
    if (created) return grant_error("the grant was revoked");
    return EndpointError{http::status::internal_server_error, "server_error",
                         "could not store the grant"};
  }
  std::string rt = family + "." + secret;
  return token_body(minted.value(), with_refresh ? &rt : nullptr);
}

SignIn::Grant SignIn::refresh(const Form& f, const SignInClient& client) {
  const std::string* token = form_get(f, "refresh_token");
  if (!token)
    return EndpointError{http::status::bad_request, "invalid_request", "refresh_token is missing"};
  if (!client.meta.has_grant("refresh_token"))
    return EndpointError{http::status::bad_request, "unauthorized_client",
                         "this client may not use the refresh_token grant"};
  auto dot = token->find('.');
  if (dot == std::string::npos || token->size() > 256) return grant_error("unknown refresh token");
  std::string family = token->substr(0, dot);
  std::string presented = secret_hash(std::string_view(*token).substr(dot + 1));
  std::string new_secret = b64url_encode(random_bytes(32));
  std::vector<std::string> scopes;
  enum class Verdict {
    kUnknown,
    kWrongClient,
    kReused,
    kRevoked,
    kOk,
    kBadScope,
    kBadTarget,
    kMintFailed
  };
  Verdict verdict = Verdict::kUnknown;
  json::object snapshot;
  std::optional<MintedToken> minted;
  std::int64_t now = clock_();
  auto upd = families_.update(
      family, [&](std::optional<json::object> cur) -> std::optional<RecordStore::Versioned> {
        if (!cur) return std::nullopt;
        RecordStore::Versioned keep{*cur, num(*cur, "expires")};
        auto* rv = cur->if_contains("revoked");
        if (rv && rv->is_bool() && rv->get_bool()) {
          verdict = Verdict::kRevoked;
          return keep;
        }
        if (same(str(*cur, "current"), presented) && !str(*cur, "current").empty()) {
          if (str(*cur, "client_id") != client.meta.client_id) {
            verdict = Verdict::kWrongClient;
            return keep;
          }
          std::vector<std::string> have = from_array(cur->if_contains("scopes"));
          if (const std::string* s = form_get(f, "scope")) {
            // RFC 6749 §6: a narrower scope is allowed, never a wider one.
            for (const auto& x : split_scopes(*s)) {
              if (!has(have, x) && !scopes_cover(have, x)) {
                verdict = Verdict::kBadScope;
                return keep;
              }
              scopes.push_back(x);
            }
          } else {
            scopes = have;
          }
          if (const std::string* r = form_get(f, "resource")) {
            auto canon = resource_for(*r);
            if (!canon || *canon != str(*cur, "resource")) {
              verdict = Verdict::kBadTarget;
              return keep;
            }
          }
          json::array prev;
          if (auto* p = cur->if_contains("previous"); p && p->is_array()) prev = p->get_array();
          prev.emplace_back(str(*cur, "current"));
          while (prev.size() > kMaxFamilyHistory) prev.erase(prev.begin());
          (*cur)["previous"] = std::move(prev);
          (*cur)["current"] = secret_hash(new_secret);
          std::int64_t exp =
              std::min(now + options_.refresh_idle.count(), num(*cur, "max_expires"));
          (*cur)["expires"] = exp;
          // Signed under the family's lock and recorded in the same write as
          // the rotation: one fsync pair per refresh, and no window in which
          // a concurrent revocation could miss this token.
          auto m = mint_for(*cur, scopes);
          if (!m) {
            verdict = Verdict::kMintFailed;
            snapshot = json::object{{"error", m.reason()}};
            return keep;
          }
          (*cur)["jtis"] = jtis_with(*cur, m.value());
          minted = std::move(m.value());
          verdict = Verdict::kOk;
          snapshot = *cur;
          return RecordStore::Versioned{*cur, exp};
        }
        if (auto* p = cur->if_contains("previous"); p && p->is_array())
          for (const auto& h : p->get_array())
            if (h.is_string() && same(h.get_string(), presented)) {
              verdict = Verdict::kReused;
              snapshot = *cur;
              return keep;
            }
        return keep;
      });
  if (!upd) return EndpointError{http::status::internal_server_error, "server_error", upd.reason()};
  switch (verdict) {
    case Verdict::kUnknown:
      return grant_error("unknown or expired refresh token");
    case Verdict::kRevoked:
      return grant_error("the refresh token was revoked");
    case Verdict::kWrongClient:
      return grant_error("the refresh token was issued to another client");
    case Verdict::kBadScope:
      return EndpointError{http::status::bad_request, "invalid_scope",
                           "a refresh may narrow the scope, never widen it"};
    case Verdict::kBadTarget:
      return EndpointError{http::status::bad_request, "invalid_target",
                           "resource differs from the original grant"};
    case Verdict::kReused:
      revoke_family(family, "refresh token reused");
      if (hooks_.audit)
        hooks_.audit(json::object{{"event_type", "refresh_token_reused"},
                                  {"client_id", str(snapshot, "client_id")},
                                  {"user_id", str(snapshot, "subject")}});
      return grant_error("refresh token was already used; the whole grant is revoked");
    case Verdict::kMintFailed:
      return EndpointError{http::status::internal_server_error, "server_error",
                           str(snapshot, "error")};
    case Verdict::kOk:
      break;
  }
  std::string rt = family + "." + new_secret;
  return token_body(*minted, &rt);
}

void SignIn::revoke_family(const std::string& family, std::string_view why) {
  std::vector<std::pair<std::string, std::int64_t>> jtis;
  auto upd = families_.update(
      family, [&](std::optional<json::object> cur) -> std::optional<RecordStore::Versioned> {
        // Not there (yet): a code replayed while its first redemption is
        // still running. The tombstone makes that redemption's create fail.
        if (!cur)
          return RecordStore::Versioned{
              json::object{
                  {"family", family}, {"revoked", true}, {"current", ""}, {"revoked_because", why}},
              clock_() + 3600};
        if (auto* a = cur->if_contains("jtis"); a && a->is_array())
          for (const auto& e : a->get_array())
            if (e.is_object())
              jtis.emplace_back(str(e.get_object(), "jti"), num(e.get_object(), "exp"));
        (*cur)["revoked"] = true;
        (*cur)["current"] = "";
        (*cur)["revoked_because"] = why;
        // Keep the tombstone as long as a rotated-out token could be presented.
        return RecordStore::Versioned{*cur, std::max(num(*cur, "expires"), clock_() + 3600)};
      });
  (void)upd;
  for (const auto& [jti, exp] : jtis)
    if (hooks_.revoke_access && !jti.empty()) hooks_.revoke_access(jti, exp);
  spdlog::warn("auth: revoked a grant and {} access token(s): {}", jtis.size(), why);
}

bool SignIn::revoke_refresh_token(std::string_view token, std::string_view client_id) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 256) return false;
  std::string family(token.substr(0, dot));
  auto fam = families_.get(family);
  if (!fam) return false;
  std::string presented = secret_hash(token.substr(dot + 1));
  if (!same(str(*fam, "current"), presented) || str(*fam, "client_id") != client_id) return false;
  revoke_family(family, "revoked by the client");
  return true;
}

std::vector<GrantInfo> SignIn::grants() const {
  std::vector<GrantInfo> out;
  for (const auto& f : families_.list()) {
    GrantInfo g;
    g.family = str(f, "family");
    g.client_id = str(f, "client_id");
    g.subject = str(f, "subject");
    g.scopes = from_array(f.if_contains("scopes"));
    g.created = num(f, "created");
    g.expires = num(f, "expires");
    auto* r = f.if_contains("revoked");
    g.revoked = r && r->is_bool() && r->get_bool();
    out.push_back(std::move(g));
  }
  return out;
}

std::size_t SignIn::revoke_grants(std::string_view subject, std::string_view client_id) {
  std::size_t n = 0;
  for (const auto& g : grants()) {
    if (g.revoked) continue;
    if (!subject.empty() && g.subject != subject) continue;
    if (!client_id.empty() && g.client_id != client_id) continue;
    revoke_family(g.family, "revoked by the user or administrator");
    ++n;
  }
  return n;
}

}  // namespace bastion::auth
