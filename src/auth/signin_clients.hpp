// Configured clients (auth.clients) as the sign-in flow sees them: the
// checks their sign-in settings must pass at startup, and the conversion to
// a SignInClient. Kept apart from options.cpp so both read the same rules as
// registered and metadata-document clients (client_metadata.hpp).
#pragma once

#include <string>

#include "auth/options.hpp"
#include "auth/signin.hpp"

namespace bastion::auth {

// "" when `c` is consistent; otherwise what is wrong (for a config error).
std::string check_client_config(const ClientConfig& c);

SignInClient to_signin_client(const ClientConfig& c);

}  // namespace bastion::auth
