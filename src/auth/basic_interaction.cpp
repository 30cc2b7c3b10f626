#include "auth/basic_interaction.hpp"

#include <openssl/crypto.h>

#include "auth/clients.hpp"
#include "auth/form.hpp"
#include "auth/http_util.hpp"
#include "auth/jwk.hpp"
#include "auth/jwt.hpp"
#include "auth/scopes.hpp"

namespace bastion::auth {

namespace http = interaction_http;

namespace {

Page basic_challenge(const Interaction::Request& req, std::string_view why) {
  http::response<http::string_body> res{http::status::unauthorized, req.version()};
  res.set(http::field::www_authenticate,
          "Basic realm=\"Bastion sign-in (test login)\", charset=\"UTF-8\"");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() =
      "Sign in with the user name and password of a test_login user: " + std::string(why) + "\n";
  res.prepare_payload();
  return Page{std::move(res)};
}

}  // namespace

BasicInteraction::BasicInteraction(std::vector<TestLoginUser> users)
    : users_(std::move(users)), cache_key_(random_bytes(32)) {}

Result<const TestLoginUser*> BasicInteraction::check(const Request& req) const {
  if (req.count(http::field::authorization) != 1) return fail("no credentials");
  std::string_view h(req[http::field::authorization].data(),
                     req[http::field::authorization].size());
  auto basic = parse_basic(h);
  if (!basic)
    return fail(basic.error() == BasicError::kNotBasic ? "not Basic credentials"
                                                       : "malformed credentials");
  const std::string& name = basic->id;
  const std::string& password = basic->secret;
  const TestLoginUser* user = nullptr;
  for (const auto& u : users_)
    if (u.name == name) user = &u;
  if (!user || password.empty() || password.size() > 1024)
    return fail("wrong user name or password");
  std::string tag = hmac_sha256(cache_key_, password);
  {
    std::lock_guard lock(mu_);
    auto it = verified_.find(user->name);
    if (it != verified_.end() && CRYPTO_memcmp(it->second.data(), tag.data(), tag.size()) == 0)
      return user;
  }
  if (!verify_secret(user->password_hash, password)) return fail("wrong user name or password");
  std::lock_guard lock(mu_);
  verified_[user->name] = tag;
  return user;
}

void BasicInteraction::begin(const Request& req, std::string_view, const PendingAuthorization& p,
                             const InteractionHost&, Done done) {
  auto user = check(req);
  if (!user) {
    if (p.prompt == "none")
      return done(Settle{p.id, Denial{"login_required", "the user is not signed in"}, {}});
    return done(basic_challenge(req, user.reason()));
  }
  const TestLoginUser& u = *user.value();
  Approval a;
  a.subject = u.name;
  a.display_name = u.name;
  a.idp = "test_login";
  a.auth_time = 0;  // AuthServer uses now
  // Consent to what was asked that the user holds; everything they hold when nothing was named.
  if (p.scopes.empty()) {
    a.scopes = u.scopes;
  } else {
    for (const auto& s : p.scopes)
      if (s == "offline_access" || scopes_cover(u.scopes, s) ||
          std::find(u.scopes.begin(), u.scopes.end(), s) != u.scopes.end())
        a.scopes.push_back(s);
  }
  done(Settle{p.id, std::move(a), {}});
}

}  // namespace bastion::auth
