// auth.login: the sign-in pages' settings.
//
//   auth:
//     login:
//       session_lifetime: 43200        # seconds a browser stays signed in (default 12 h)
//       remember_consent: 7776000      # seconds a remembered consent lasts (default 90 days)
//       local_users: true              # the user name/password form (bastion user add)
//       throttle: {per_user: 5, per_source: 20, window: 900}
//
// Its presence (or auth.access) turns the sign-in pages on.
#pragma once

#include <chrono>
#include <vector>

#include "config/config.hpp"
#include "login/federation_options.hpp"
#include "login/throttle.hpp"

namespace bastion::login {

struct LoginOptions {
  std::chrono::seconds session_lifetime{12 * 3600};
  std::chrono::seconds remember_consent{90 * 86400};
  bool local_users = true;
  ThrottleOptions throttle;
  std::vector<ProviderOptions> providers;
  // Paths of this Bastion a login without a pending authorization may
  // return to (`/signin/login?return=/console/tools`): each a path prefix
  // set by the code (the console's), never by a request. Anything else
  // lands on /account.
  std::vector<std::string> return_paths;
};

// Reads auth.login (an absent section: the defaults). Throws
// config::ConfigError with FILE:LINE:COL and the key.
LoginOptions read_login_options(config::Reader section);

}  // namespace bastion::login
