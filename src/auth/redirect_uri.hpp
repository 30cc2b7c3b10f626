// Redirect URIs (OAuth 2.1 §2.3.1, §7.12; RFC 8252 §7 for native apps) and
// PKCE (RFC 7636, S256 only): pure functions shared by registration (config,
// DCR, metadata documents) and the authorization and token endpoints.
//
// What a client may register:
//   https://host/path          any client (exact match at request time)
//   http://127.0.0.1/path      loopback, RFC 8252 §7.3: matches on any port,
//   http://localhost/path      so a port-less URI in a metadata document
//   http://[::1]/path          covers the ephemeral port a native app picks
//   cursor://anything          private-use schemes (RFC 8252 §7.1) for
//                              native apps (not for application_type web)
// Never: a fragment, userinfo, http to a non-loopback host, or schemes a
// browser runs or reads locally (javascript:, data:, file:, blob:, ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/result.hpp"

namespace bastion::auth {

enum class RedirectKind { kHttps, kLoopback, kPrivateUse };

struct RedirectUri {
  RedirectKind kind = RedirectKind::kHttps;
  std::string host;  // what to show the user: host, or "scheme:" for private-use schemes
};

// Checks one URI a client registers. `web` is OpenID Connect's
// application_type "web" (no loopback, no private-use scheme). Errors say why.
Result<RedirectUri> check_redirect_uri(std::string_view uri, bool web = false);

// Whether `requested` (from an authorization or token request) matches the
// registered `registered`: the same string, or for loopback http the same
// scheme, host literal, path and query with any port (RFC 8252 §7.3).
bool redirect_uri_matches(std::string_view registered, std::string_view requested);

// Whether `host` names this machine's loopback interface as RFC 8252 lists
// it: 127.0.0.1, [::1] or localhost.
bool is_loopback_host(std::string_view host);

// Whether `url` is http to a loopback address (127.0.0.0/8, ::1, localhost):
// the only place plain http may fetch keys from unless the operator says
// otherwise, since nobody on the network can answer in its stead.
bool loopback_http_url(std::string_view url);

// RFC 7636 §4.1: code_verifier is 43-128 characters of [A-Za-z0-9-._~].
bool valid_code_verifier(std::string_view verifier);
// An S256 code_challenge: exactly 43 base64url characters (a SHA-256).
bool valid_s256_challenge(std::string_view challenge);
// BASE64URL(SHA256(verifier)) == challenge, in constant time.
bool pkce_s256_matches(std::string_view verifier, std::string_view challenge);
std::string pkce_s256(std::string_view verifier);

}  // namespace bastion::auth
