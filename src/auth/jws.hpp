// JWS compact serialization (RFC 7515): signs a payload with a Key and
// verifies a token against one. The key decides the algorithm: a header `alg`
// that differs from the key's (incl. "none") is rejected, as are unknown
// `crit` parameters, duplicate header members and oversize or malformed tokens.
//
// Thread-safety: the functions are reentrant.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwk.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

inline constexpr std::size_t kDefaultMaxTokenBytes = 8192;

// Signs `payload`; the protected header is `header` plus alg (and kid when the
// key has one and the header does not). Members are emitted in insertion order.
Result<std::string> jws_sign(const Key& key, std::string_view payload, json::object header = {});

struct JwsVerifyOptions {
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
  // Header parameters listed in `crit` that the caller understands and checks
  // itself. Anything else in `crit` fails verification (RFC 7515 §4.1.11).
  std::initializer_list<std::string_view> understood_crit = {};
  // For detached content (RFC 7515 Appendix F): the payload segment in the
  // token must be empty and this payload is signed instead.
  std::optional<std::string_view> detached_payload;
};

struct VerifiedJws {
  json::object header;
  std::string payload;  // decoded bytes
};

// Verifies a compact JWS with `key`. Rejects: oversize tokens, anything but
// three base64url segments, a header that is not a JSON object or repeats a
// member, missing or differing alg (incl. "none"), unknown crit, bad
// signature.
Result<VerifiedJws> jws_verify(std::string_view token, const Key& key,
                               const JwsVerifyOptions& options = {});

// Decodes the protected header without verifying anything (to pick a key by
// kid). Same size and shape checks as jws_verify.
Result<json::object> jws_peek_header(std::string_view token,
                                     std::size_t max_token_bytes = kDefaultMaxTokenBytes);

}  // namespace bastion::auth
