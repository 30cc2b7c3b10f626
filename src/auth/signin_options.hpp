// Settings of the sign-in flow (authorization code, registration, client
// metadata documents, the interim test login): plain structs with a commented
// default per field, read from the `auth` section by read_signin_settings.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace bastion::auth {

struct RegistrationOptions {
  // Dynamic Client Registration (RFC 7591) at /oauth2/register:
  // "open": anyone may register (bounded below); "token": a registration
  // needs Authorization: Bearer <initial access token>; "off": no endpoint.
  std::string mode = "open";
  std::string initial_access_token;  // for "token": read from initial_access_token_file
  std::size_t max_clients = 1000;    // registered clients kept at most
  std::size_t per_source_per_hour = 20;
  std::size_t max_body_bytes = 16 * 1024;
  // A registered client no token was ever issued to is removed this long
  // after it registered, so registrations nobody uses cannot hold the
  // max_clients places for good.
  std::chrono::seconds unused_lifetime{86400};
  // A client tokens were issued to is removed this long after the last one
  // (never sooner than a refresh token could still be used:
  // SignInOptions::refresh_idle).
  std::chrono::seconds idle_lifetime{30 * 86400};
};

// Client ID Metadata Documents: a client_id that is an https URL is fetched.
struct MetadataDocumentOptions {
  bool enabled = true;
  std::chrono::seconds timeout{5};    // connect + TLS + whole response
  std::size_t max_bytes = 64 * 1024;  // larger documents are refused
  int max_redirects = 3;
  std::chrono::seconds min_cache{60};       // even with no-cache: at most one fetch a minute
  std::chrono::seconds max_cache{86400};    // cap on max-age
  std::chrono::seconds default_cache{600};  // no caching headers
  // Addresses (IP literals or CIDR) a fetch may connect to although they are
  // loopback, private, link-local or otherwise non-public. TEST AND PRIVATE
  // DEPLOYMENTS ONLY: a public Bastion must never reach its own network.
  std::vector<std::string> allow_addresses;
  // Extra CA certificates (PEM) trusted besides the system's, for private
  // deployments and tests.
  std::string ca_file;
  // Only client_ids on these hosts are fetched (empty: any host).
  std::vector<std::string> allow_hosts;
};

struct TestLoginUser {
  std::string name;           // becomes the token's `sub`
  std::string password_hash;  // argon2id ($argon2id$...)
  std::vector<std::string> scopes;
};

struct SignInSettings {
  std::chrono::seconds code_lifetime{60};
  std::chrono::seconds pending_lifetime{600};
  // Open sign-ins one source (address, or IPv6 /64) may hold at once (each
  // counts until pending_lifetime has passed).
  std::size_t max_pending_per_source = 50;
  std::chrono::seconds refresh_token_lifetime{14 * 86400};      // idle
  std::chrono::seconds refresh_token_max_lifetime{90 * 86400};  // absolute
  RegistrationOptions registration;
  MetadataDocumentOptions metadata_documents;
  // auth.test_login: the interim HTTP Basic sign-in. Test only; empty = off.
  std::vector<TestLoginUser> test_login;
};

// Reads auth.signin, auth.registration, auth.client_metadata_documents and
// auth.test_login from the auth section's reader into `s` (absent keys keep
// their defaults). Throws config::ConfigError with FILE:LINE:COL and the key.
void read_signin_settings(config::Reader& auth, SignInSettings& s);

}  // namespace bastion::auth
