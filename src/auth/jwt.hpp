// JWT access tokens (RFC 9068) and their validation (RFC 8725 best practice).
//
// Tokens: header {alg, typ:"at+jwt", kid}; claims iss, sub, aud, client_id,
// scope (space-separated), iat, exp, jti (128 random bits), nbf optional.
//
// Validation picks the key by kid among trusted issuers, verifies with the
// key's pinned alg, then checks typ, iss (the issuer that owns the key), aud,
// exp (required), nbf and iat with bounded skew, size, and the revocation list.
//
// Thread-safety: TokenValidator and ExternalJwks are safe for concurrent use.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/jws.hpp"
#include "auth/options.hpp"
#include "protocol/principal.hpp"

namespace bastion::auth {

struct AccessToken {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  std::string client_id;
  std::vector<std::string> scopes;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::optional<std::int64_t> nbf;
  std::string jti;

  std::string scope_string() const;  // "a b c"
  protocol::Principal principal() const;
};

// A new random jti: 128 bits, base64url.
std::string new_jti();

// Signs `claims` as an RFC 9068 access token with `key` (kid in the header).
Result<std::string> issue_access_token(const Key& key, const AccessToken& claims);

// Splits a space-separated scope string (RFC 6749 §3.3); empty parts ignored.
std::vector<std::string> split_scopes(std::string_view s);
std::string join_scopes(const std::vector<std::string>& scopes);

// One issuer we accept tokens from.
struct TrustedIssuer {
  std::string issuer;  // exact `iss`
  // Finds the verification key for a kid (nullptr: not ours / unknown).
  std::function<std::shared_ptr<const Key>(std::string_view kid)> find_key;
  // Our own tokens must be RFC 9068 (typ at+jwt, client_id, iat, jti). An
  // external IdP may use typ "JWT" and azp instead of client_id.
  bool strict_rfc9068 = true;
};

struct ValidatorOptions {
  std::string audience;  // required in `aud`
  std::chrono::seconds clock_skew{60};
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
};

class TokenValidator {
 public:
  TokenValidator(ValidatorOptions options, std::vector<TrustedIssuer> issuers,
                 std::function<bool(std::string_view jti)> is_revoked = {},
                 Clock clock = system_now);

  Result<AccessToken> validate(std::string_view token) const;

 private:
  ValidatorOptions options_;
  std::vector<TrustedIssuer> issuers_;
  std::function<bool(std::string_view)> is_revoked_;
  Clock clock_;
};

// Fetches a URL and returns the body (or an error). Injected so tests serve
// JWKS from memory or 127.0.0.1; the default uses a tiny Beast HTTP client.
using FetchFn = std::function<Result<std::string>(const std::string& url)>;

// An external issuer's key set, fetched lazily and refreshed when an unknown
// kid shows up (at most once per `min_refresh` to stop kid-spraying from
// turning into fetch storms).
class ExternalJwks {
 public:
  ExternalJwks(std::string url, FetchFn fetch, Clock clock = system_now,
               std::chrono::seconds min_refresh = std::chrono::seconds(60));

  std::shared_ptr<const Key> find(std::string_view kid);
  // Forces a fetch now; returns the number of usable keys or the error.
  Result<std::size_t> refresh();
  std::size_t size() const;

 private:
  Result<std::size_t> refresh_locked(std::int64_t now);

  std::string url_;
  FetchFn fetch_;
  Clock clock_;
  std::chrono::seconds min_refresh_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Key>> keys_;
  std::int64_t last_fetch_ = 0;
  bool fetched_ = false;
};

// Parses a JWKS document: asymmetric signature keys with a kid and an alg we
// support (keys with no alg get the curve's alg for EC/OKP, RS256 for RSA).
// Keys that cannot be used are skipped, not fatal.
std::vector<std::shared_ptr<const Key>> parse_jwks(const json::value& jwks);

}  // namespace bastion::auth
