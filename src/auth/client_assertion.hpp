// private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core
// §9): the client signs a short JWT with its own key; we check it with the
// public keys it registered (jwks) or publishes (jwks_uri).
//
// Rules: asymmetric algorithms only (an HS256 assertion would make the
// public JWKS a shared secret); iss and sub are the client_id; aud names the
// token endpoint or the issuer; exp required, in the future, and at most
// `max_lifetime` ahead; jti required and never seen before for this client
// (kept until exp in the data directory, so replicas share it).
//
// Thread-safety: pure functions; the replay store is process-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/record_store.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

inline constexpr std::string_view kJwtBearerAssertion =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// The client_id an assertion claims (its `sub`, which must equal `iss`),
// without verifying anything: to find the keys to verify it with.
Result<std::string> assertion_client_id(std::string_view assertion);

struct AssertionRules {
  std::vector<std::string> audiences;  // token endpoint URL, issuer
  std::int64_t now = 0;
  std::int64_t skew = 60;
  std::int64_t max_lifetime = 600;
};

// Verifies `assertion` for `client_id` with `keys`; records its jti in
// `replay` (nullptr: no replay check, for tests of the other rules).
Status verify_client_assertion(std::string_view assertion, std::string_view client_id,
                               const std::vector<std::shared_ptr<const Key>>& keys,
                               const AssertionRules& rules, RecordStore* replay);

}  // namespace bastion::auth
