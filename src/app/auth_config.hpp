// The `auth` section of the configuration, read in one pass and in one
// place: the authorization server's options (auth/options.hpp) and the
// sign-in pages' (auth.login, auth.access), for the server, its SIGHUP
// re-read, `bastion check-config` and the `bastion client` commands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "auth/options.hpp"
#include "config/config.hpp"
#include "login/access.hpp"
#include "login/options.hpp"

namespace bastion::app {

struct AuthSection {
  // data_dir defaults to <data_dir>/auth; issuer is "" when auth.issuer is
  // not set: the server then uses the address it is bound to (local_issuer).
  auth::Options options;
  // auth.login (or auth.access) turns the sign-in pages on.
  std::optional<login::LoginOptions> login;
  login::Access access;
};

// Whether auth.login and auth.access are read (kSkip: only accepted as
// keys, for commands that never show a sign-in page).
enum class SignInPages { kRead, kSkip };

// nullopt when the file has no auth section. Unknown keys and bad values
// throw config::ConfigError naming FILE:LINE:COL and the key.
std::optional<AuthSection> read_auth_section(const config::Document& doc,
                                             const std::filesystem::path& data_dir,
                                             SignInPages pages = SignInPages::kRead);

// The issuer of a server listening on host:port when auth.issuer is not set:
// right for local use (a wildcard address becomes 127.0.0.1); behind a proxy
// auth.issuer must name the public URL.
std::string local_issuer(std::string host, std::uint16_t port);

}  // namespace bastion::app
