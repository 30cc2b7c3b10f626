// JWT access tokens (RFC 9068) and their validation (RFC 8725 best practice).
//
// Tokens: header {alg, typ:"at+jwt", kid}; claims iss, sub, aud, client_id,
// scope (space-separated), iat, exp, jti (128 random bits), nbf optional.
//
// Validation picks the key by kid among trusted issuers, verifies with the
// key's pinned alg, then checks typ, iss (the issuer that owns the key), aud,
// exp, iat and jti (required), nbf, with bounded skew and checked arithmetic,
// size, and the revocation list. Header and claims are parsed with
// protocol::parse_json: a duplicate member is an error, never "last wins".
// An external issuer's key set is in external_jwks.hpp.
//
// Thread-safety: TokenValidator is safe for concurrent use.
#pragma once

#include <functional>
#include <memory>
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

// The latest NumericDate accepted anywhere (9999-12-31T23:59:59Z): bounds
// every time computation, so none can overflow.
inline constexpr std::int64_t kMaxNumericDate = 253402300799;

// One issuer we accept tokens from. Every issuer's tokens are held to RFC 9068
// (iss, aud, sub, client_id, iat, exp, jti, typ at+jwt); `require_typ` is the
// one opt-out, for providers that do not set the type.
struct TrustedIssuer {
  std::string issuer;  // exact `iss`
  // Finds the verification key for a kid (nullptr: not ours / unknown).
  std::function<std::shared_ptr<const Key>(std::string_view kid)> find_key;
  // Our own issuer: HS256 keys are trusted only here.
  bool own = false;
  // false: a token without `typ` or with typ "JWT" is accepted too (never any
  // other type). Every claim is still required.
  bool require_typ = true;
  // Last word on a token whose signature and claims passed: our own tokens
  // must belong to a client that is still registered and may still hold
  // their scopes (it may narrow t.scopes). Unset: nothing more to check.
  std::function<Status(AccessToken& t)> admit;
};

struct ValidatorOptions {
  std::string audience;  // required in `aud`
  std::chrono::seconds clock_skew{60};
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
  // Tokens remembered after a successful validation (by SHA-256 digest, LRU),
  // so a repeated token skips the signature check; expiry, revocation and the
  // key are still checked on every use. 0 turns the cache off.
  std::size_t verified_cache_entries = 10000;
};

class VerifiedTokenCache;

class TokenValidator {
 public:
  TokenValidator(ValidatorOptions options, std::vector<TrustedIssuer> issuers,
                 std::function<bool(std::string_view jti)> is_revoked = {},
                 Clock clock = system_now);

  Result<AccessToken> validate(std::string_view token) const;
  // Forgets every remembered token (the next use of each is verified again).
  void clear_cache() const;
  std::size_t cached_tokens() const;

 private:
  struct VerifiedBy {
    std::size_t issuer = 0;
    std::string kid;
    std::shared_ptr<const Key> key;
  };
  // The full check but the issuer's admit; `by` says which issuer and key
  // verified it (cached with the token).
  Result<AccessToken> validate_uncached(std::string_view token, VerifiedBy* by) const;
  // The issuer's last word (admit), on every use.
  Result<AccessToken> admit(std::size_t issuer, AccessToken t) const;

  ValidatorOptions options_;
  std::vector<TrustedIssuer> issuers_;
  std::function<bool(std::string_view)> is_revoked_;
  Clock clock_;
  std::shared_ptr<VerifiedTokenCache> cache_;
};

// Reads the NumericDate claim `name` (RFC 7519 §2): nullopt when absent; an
// error unless it is an integral number in [0, kMaxNumericDate] (fractions,
// negatives, strings, huge values and non-finite numbers are refused).
Result<std::optional<std::int64_t>> numeric_date(const json::object& claims, std::string_view name);

}  // namespace bastion::auth
