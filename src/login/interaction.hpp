// The sign-in pages: Bastion's auth::Interaction (see auth/interaction.hpp
// for the flow and auth/signin.hpp for the protocol half).
//
// Paths (all under the issuer):
//   GET  /signin/assets/bastion.css    the one stylesheet
//   GET  /signin/login[?id=]           the login form (id: a pending authorization)
//   POST /signin/login                 user name + password (+ id, csrf)
//   GET  /signin/consent?id=           the consent page (needs a session)
//   POST /signin/consent               allow / deny (+ remember, scopes, csrf)
//   POST /signin/cancel                "not me / cancel" on the login page: access_denied
//   GET  /signin/, /signin/done        "signed in" (or "not signed in") page
//   POST /signin/logout                ends the session
//   GET  /account                      the user's consents and grants
//   POST /account/revoke               forgets a consent and revokes the client's refresh tokens
//   POST /signin/federated             to an external OpenID provider (federation.cpp)
//   GET  /signin/callback/<provider>   back from it
//
// What holds (each has a test in tests/integration/signin_*.test.mjs):
//   - Every page: CSP without any script source and with frame-ancestors
//     'none', X-Frame-Options DENY, no-store, no-referrer (web/page.hpp).
//   - Every form post: same-origin (Sec-Fetch-Site / Origin) and an HMAC
//     token bound to the browser (pre-login cookie, or the session) and to
//     the action and its object (web/csrf.hpp).
//   - A login always creates a new session id (fixation); a password change
//     or removal of the user ends their sessions; cookies are HttpOnly,
//     SameSite=Lax, Secure with __Host- over https.
//   - Failed logins are throttled per name and per source (throttle.hpp);
//     the answer and its timing do not tell whether a name exists.
//   - A password is checked (argon2id) on the hashing pool (Hooks::hashing),
//     never on the thread that called handle(): a flood of wrong passwords
//     waits there, bounded, or is turned away at once (429/503).
//   - Only the pending id travels through the browser; what the consent page
//     shows comes from the server's record of the request.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/external_jwks.hpp"
#include "auth/hash_pool.hpp"
#include "auth/interaction.hpp"
#include "auth/jwt.hpp"
#include "login/access.hpp"
#include "login/consents.hpp"
#include "login/options.hpp"
#include "login/throttle.hpp"
#include "login/users.hpp"
#include "protocol/form.hpp"
#include "web/cookies.hpp"
#include "web/csrf.hpp"
#include "web/page.hpp"
#include "web/session.hpp"

namespace bastion::login {

class LoginInteraction : public auth::Interaction {
 public:
  struct Hooks {
    // Revokes the refresh token families (and their access tokens) of a
    // user at a client; returns how many. AuthServer::signin().revoke_grants.
    std::function<std::size_t(std::string_view subject, std::string_view client_id)> revoke_grants;
    // The user's live grants (client ids), for the account page.
    std::function<std::vector<std::string>(std::string_view subject)> grant_clients;
    // Security events (login_succeeded, login_failed, consent_granted, ...).
    std::function<void(boost::json::object)> audit;
    // Where passwords are checked: AuthServer's hashing pool (it must
    // outlive every call). Null: on the calling thread (tests, tools).
    auth::HashPool* hashing = nullptr;
  };

  // `data_dir` is the auth data directory: users/, consents/, sessions/ and
  // web.key live there.
  LoginInteraction(std::string issuer, std::filesystem::path data_dir, LoginOptions options,
                   Access access, Hooks hooks, auth::Clock clock = auth::system_now);
  ~LoginInteraction() override;

  void begin(const Request& req, std::string_view source, const auth::PendingAuthorization& p,
             const auth::InteractionHost& host, Done done) override;
  bool handle(const Request& req, std::string_view source, const auth::InteractionHost& host,
              Done done) override;
  // Deletes expired sessions and federated sign-in state.
  void prune() override;

  // Who a browser request comes from, for other pages of this Bastion (the
  // console): the signed-in user and the session id (a CSRF binding), or
  // nullopt. The same checks as the sign-in pages' own (expiry, a local
  // user's password unchanged since the login).
  struct Visitor {
    std::string subject, display_name, session_id;
    std::vector<std::string> groups;
  };
  std::optional<Visitor> visitor(const Request& req) const;
  // The key of this data directory's CSRF tokens (web/csrf.hpp).
  const web::SecretKey& csrf_key() const { return key_; }

  // Shared with federation.cpp.
  struct Signed {
    std::string subject;       // "alice" or "corp|<sub>"
    std::string display_name;  // shown on pages
    std::string idp;           // "local" or the provider's name
    std::vector<std::string> groups;
    std::int64_t auth_time = 0;
  };
  // One browser request being answered.
  struct Ctx {
    const Request& req;
    std::string_view source;
    const auth::InteractionHost& host;
    std::vector<std::string> set_cookies;  // put on whatever answers this request
    std::string browser;                   // the pre-login browser id, once known
  };

 private:
  using Response = web::Response;

  std::string url(std::string_view path) const { return base_ + std::string(path); }
  std::string stylesheet() const { return url("/signin/assets/bastion.css"); }

  // Browser state.
  std::string browser_id(const Ctx& c) const;
  std::optional<web::Session> session(const Request& req) const;
  std::optional<Signed> signed_in(const web::Session& s) const;
  std::vector<std::string> scopes_of(const Signed& u) const;

  // Where a login without a pending authorization returns to: the `return`
  // of the query or form when options_.return_paths allows it, else "".
  std::string return_to(const Ctx& c, const protocol::FormData* form) const;

  // Steps after the user is known.
  auth::Outcome after_login(Ctx& c, const auth::PendingAuthorization& p, const Signed& u,
                            const std::string& session_id, bool fresh_login);
  // A new session for `u` (the browser's old one, if any, destroyed).
  std::optional<web::Session> new_session(Ctx& c, const Signed& u);

  // Pages.
  Response login_page(Ctx& c, const auth::PendingAuthorization* p, std::string_view error,
                      std::string_view user, web::http::status status);
  Response consent_page(Ctx& c, const auth::PendingAuthorization& p, const Signed& u,
                        const std::string& session_id);
  Response error_page(const Ctx& c, web::http::status status, std::string_view title,
                      std::string_view text);
  Response signed_in_page(Ctx& c, std::string_view heading, std::string_view text);
  Response account_page(Ctx& c, const web::Session& s, const Signed& u, std::string_view flash);

  // Handlers.
  // Answers through `done`: at once when the form is refused, else once the
  // password was checked on the hashing pool (finish_login).
  void post_login(Ctx& c, const Done& done);
  // Checks the password (argon2id) and signs the user in.
  auth::Outcome finish_login(Ctx& c, const protocol::FormData& form,
                             const std::optional<auth::PendingAuthorization>& p,
                             const std::string& name, const std::string& password);
  auth::Outcome get_consent(Ctx& c);
  auth::Outcome post_consent(Ctx& c);
  auth::Outcome post_cancel(Ctx& c);
  auth::Outcome post_logout(Ctx& c);
  auth::Outcome post_revoke(Ctx& c);

  // Federated login (federation.cpp).
  struct Provider {
    ProviderOptions o;
    mutable std::mutex mu;   // guards the fields below; never held across network I/O
    std::mutex discovering;  // held by the one thread fetching the discovery document
    std::int64_t discovered_at = 0;
    std::string authorization_endpoint, token_endpoint, jwks_uri;
    std::shared_ptr<auth::ExternalJwks> jwks;
  };
  void init_providers();
  Provider* provider(std::string_view name) const;
  auth::Status discover(Provider& p) const;
  std::vector<std::string> provider_origins() const;
  web::Html provider_buttons(const Ctx& c, std::string_view pending_id) const;
  auth::Outcome post_federated(Ctx& c);
  auth::Outcome federated_callback(Ctx& c, std::string_view provider);

  void audit(boost::json::object e) const;
  static auth::ExtraHeaders cookie_headers(const Ctx& c);

  std::string issuer_, base_, origin_;
  LoginOptions options_;
  Access access_;
  Hooks hooks_;
  auth::Clock clock_;
  web::CookiePolicy cookies_;
  web::SecretKey key_;
  UserStore users_;
  ConsentStore consents_;
  web::SessionStore sessions_;
  Throttle throttle_;
  mutable auth::RecordStore federation_;  // state of sign-ins at a provider (minutes)
  std::vector<std::unique_ptr<Provider>> providers_;
};

}  // namespace bastion::login
