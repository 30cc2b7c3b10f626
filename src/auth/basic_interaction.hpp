// The interim, test-only sign-in step (auth.test_login): the browser (or a
// test) presents HTTP Basic credentials of a configured user on the
// authorization request, and the user is taken to consent to every scope
// they hold. No pages, no consent screen, no session: each authorization
// request asks for the credentials again. It exists so the protocol half of
// the authorization code flow can be tested with real OAuth clients before
// the login and consent pages exist; it is off unless configured, and
// docs/configuration.md says it is not for production.
//
// Thread-safety: safe for concurrent use (immutable after construction,
// a mutex around the verified-password cache).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/interaction.hpp"
#include "auth/result.hpp"
#include "auth/signin_options.hpp"

namespace bastion::auth {

class BasicInteraction : public Interaction {
 public:
  explicit BasicInteraction(std::vector<TestLoginUser> users);

  void begin(const Request& req, std::string_view source, const PendingAuthorization& p,
             const InteractionHost& host, Done done) override;
  bool handle(const Request&, std::string_view, const InteractionHost&, Done) override {
    return false;  // no pages of its own
  }

  // The user whose Basic credentials `req` carries, or an error.
  Result<const TestLoginUser*> check(const Request& req) const;

 private:
  std::vector<TestLoginUser> users_;
  std::string cache_key_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::string> verified_;  // name -> HMAC(password)
};

}  // namespace bastion::auth
